#!/usr/bin/env bash
# Carry one planned run of runs.yml across stops (a laptop, a Colab session that times out, a machine handed
# back between working sessions): its code frozen at one commit, its state outside the work tree, at the
# lowest CPU priority. An unfinished run resumes from its last resume state (state.pt) and ends bit-for-bit
# where an uninterrupted run on the same CPU would.
#
#   workflow/carry-run.sh start  DIR RUN_ID [PROFILE]   freeze this checkout's commit into DIR/code (first time
#                                                       only), then start or resume the run in the background
#   workflow/carry-run.sh status DIR                    epochs done, the process, the last log lines
#   workflow/carry-run.sh publish DIR                   record it: its progress while unfinished
#                                                       (resemote publish --in-progress), else the finished run
#
# DIR holds code/ (the frozen clone), venv/, data/<dataset>/ (copied from this checkout's data/ on the first
# start), runs/<RUN_ID>/ (the run directory), cache/, logs/ (one log per start, headed by machine and commit)
# and pid. RUN_ID is the plan's id of the run (`resemote book --profile PROFILE --dry-run` lists them).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
usage() { echo "usage: $0 start DIR RUN_ID [PROFILE] | status DIR | publish DIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"

running() { [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null; }
run_dir() { find "$dir/runs" -mindepth 1 -maxdepth 1 -type d ! -name '_*' 2>/dev/null | head -n 1; }

case "$cmd" in
start)
  [ $# -ge 3 ] || usage
  rid="$3"; profile="${4:-paper}"
  if running; then echo "already running (pid $(cat "$dir/pid")); see $0 status $dir"; exit 0; fi
  if [ ! -d "$dir/code/.git" ]; then
    [ -z "$(git -C "$here" status --porcelain --untracked-files=no)" ] || {
      echo "carry-run: $here has uncommitted changes; commit them first (the run must name one clean commit)" >&2
      exit 2; }
    git clone --quiet "$here" "$dir/code"
    git -C "$dir/code" checkout --quiet --detach "$(git -C "$here" rev-parse HEAD)"
  fi
  if [ ! -x "$dir/venv/bin/python" ]; then
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/python" -m pip install --quiet --upgrade pip
    "$dir/venv/bin/python" -m pip install --quiet -e "$dir/code[dev]"
    "$dir/venv/bin/python" -m ipykernel install --sys-prefix --name python3 >/dev/null
  fi
  dataset="${rid%%-*}"
  if [ ! -d "$dir/data/$dataset" ]; then
    [ -d "$here/data/$dataset" ] || { echo "carry-run: expected the dataset at $here/data/$dataset (data/README.md)" >&2; exit 2; }
    mkdir -p "$dir/data" && cp -a "$here/data/$dataset" "$dir/data/"
  fi
  mkdir -p "$dir/logs"
  log="$dir/logs/$(date -u +%Y%m%dT%H%M%SZ).log"
  { echo "start $(date -u +%FT%TZ) on $(hostname): $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)," \
         "$(nproc) cores; commit $(git -C "$dir/code" rev-parse --short=12 HEAD); $rid, profile $profile"; } > "$log"
  cd "$dir/code"
  # the engine's train job, as the frozen commit names it (resemote.book.jobs before the book's modules were renamed)
  jobs=resemote.book.engine_jobs; [ -f resemote/book/engine_jobs.py ] || jobs=resemote.book.jobs
  RESEMOTE_CACHE="$dir/cache" nohup nice -n 19 "$dir/venv/bin/python" -m "$jobs" train "$rid" \
    --profile "$profile" --runs "$dir/runs" --data "$dir/data" >> "$log" 2>&1 &
  echo $! > "$dir/pid"
  echo "started $rid (pid $!), log $log"
  ;;
status)
  d="$(run_dir)"; [ -n "$d" ] || { echo "carry-run: no run directory under $dir/runs" >&2; exit 2; }
  done_=0; [ ! -f "$d/history.csv" ] || done_=$(( $(wc -l < "$d/history.csv") - 1 ))
  total=$(sed -n 's/^ *"epochs": \([0-9]*\),*/\1/p' "$d/params.json" | head -n 1)
  state=$([ -f "$d/metrics.json" ] && echo finished || echo unfinished)
  echo "$(basename "$d"): epoch $done_ of $total, $state; $(running && echo "running (pid $(cat "$dir/pid"))" || echo "not running")"
  last="$(ls -1 "$dir"/logs/*.log 2>/dev/null | tail -n 1)"
  [ -z "$last" ] || { echo "last log: $last"; tail -n 3 "$last"; }
  ;;
publish)
  d="$(run_dir)"; [ -n "$d" ] || { echo "carry-run: no run directory under $dir/runs" >&2; exit 2; }
  cd "$here"
  if [ -f "$d/metrics.json" ]; then .venv/bin/python -m resemote publish "$d"
  else .venv/bin/python -m resemote publish "$d" --in-progress; fi
  ;;
*) usage ;;
esac
