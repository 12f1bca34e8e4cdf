#!/usr/bin/env bash
# The built book as a reader sees it: every page of _build/html/book opened in headless Chromium at a given
# width (default 1280 px); prints, per page, each element that has to scroll sideways (tables wider than the
# article, long code lines) with its content width against the width it is shown in. A page with no line
# after its name fits. Needs `chromium` (apt-get install chromium) and a built book (`make book`).
# Usage: bash benchmarks/book_layout.sh [WIDTH]
set -euo pipefail
width=${1:-1280}
cd "$(dirname "$0")/../_build/html/book" 2>/dev/null || { echo "no built book under _build/html/book: run make book" >&2; exit 2; }
probe='<script>window.addEventListener("load", () => setTimeout(() => {
  const out = [], art = document.querySelector("article") || document.body;
  for (const el of art.querySelectorAll("*")) {
    const cs = getComputedStyle(el);
    if ((cs.overflowX === "auto" || cs.overflowX === "scroll") && el.scrollWidth > el.clientWidth + 1)
      out.push("  scrolls: " + el.tagName.toLowerCase() + " " + el.scrollWidth + " px in " + el.clientWidth
               + " px: " + (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 70));
  }
  const p = document.createElement("pre"); p.id = "layout-report";
  p.textContent = "LAYOUT\n" + out.join("\n") + "\nEND"; document.body.appendChild(p);
}, 500));</script>'
for f in *.html runs/*.html data/*.html; do
  [ -f "$f" ] || continue
  t="$(dirname "$f")/.layout-$(basename "$f")"
  { cat "$f"; echo "$probe"; } > "$t"
  echo "$f"
  timeout 60 chromium --headless=new --no-sandbox --disable-gpu --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE localhost" \
    --virtual-time-budget=8000 --window-size="$width,1000" --dump-dom "file://$PWD/$t" 2>/dev/null \
    | sed -n '/layout-report">LAYOUT$/,/^END/p' | sed '1d;$d' | sed '/^$/d; s/&gt;/>/g; s/&lt;/</g; s/&amp;/\&/g' || true
  rm -f "$t"
done
