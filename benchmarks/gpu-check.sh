#!/usr/bin/env bash
# Issue 13 on one GPU machine, in one go (about 9 minutes on an H100/H200 with torch already installed):
# set up, unpack FER2013, record the machine, `resemote bench` at FER2013 size, then C1 on real FER2013 with
# the paper protocol for 80 epochs (seed 0, then seeds 1 and 2 while time is left), and a summary of the
# issue's targets, each measured and met or not. Every record lands in OUT; weights never do.
#
#   bash benchmarks/gpu-check.sh FER2013_ZIP OUT       (or set FER2013_ZIP and OUT)
#
#   FER2013_ZIP  fer2013.zip, made by `cd data/fer2013 && zip -0 -qr /path/fer2013.zip train test`; "-" uses
#                $DATA (default data/fer2013) as it is
#   OUT          the folder for the records: summary.json (targets, runs, steps, machine), log.txt (everything
#                printed), nvidia-smi.txt, bench.json, bench-eager.json, runs.tar (runs/<name>/{params.json,
#                metrics.json,history.csv}) - six files, as the device tool returns at most eight
#
# Knobs (environment), for a CPU try or another budget:
#   DEVICE=cuda EPOCHS=80 SEEDS="0 1 2" MODEL=C1 BUDGET=540 (seconds, the whole script)
#   COMPILE_MODE=reduce-overhead (torch.compile of the training step, CUDA graphs; "none": eager)
#   BENCH_IMAGES=28709 BENCH_EPOCHS=2 BENCH_WORKERS=8 BENCH_TIMEOUT=150 BENCH_EXTRA="" (more bench options)
#   STATE_INTERVAL=60 LIMIT_TRAIN=0 LIMIT_TEST=0 (a stratified subset of FER2013; 0: all)
#   DATA=data/fer2013 RUNS=/tmp/resemote-gpu-runs (run directories, weights included) PYTHON=python3
#   INSTALL=1 (0: no `pip install -e .`, e.g. in a venv that has the package already)
#   RESEMOTE_GIT_COMMIT (the commit the copy was sent from, where the copy has no .git)
# A CPU try: DEVICE=cpu EPOCHS=1 SEEDS="0 1" LIMIT_TRAIN=320 LIMIT_TEST=160 BENCH_IMAGES=64 BENCH_EPOCHS=1 \
#   BENCH_WORKERS=0 BENCH_EXTRA="--repeats 5 --inference-batch 32" PYTHON=.venv/bin/python \
#   bash benchmarks/gpu-check.sh /tmp/fer2013.zip /tmp/gpu-check-out
#
# Each step runs under `timeout` (SIGINT first: a training run stops cleanly and stays resumable), inside
# what is left of BUDGET; a failed or stopped step is recorded and the script goes on to the next.
set -u
set -o pipefail

ZIP=${1:-${FER2013_ZIP:-}}
OUT=${2:-${OUT:-}}
if [ -z "$ZIP" ] || [ -z "$OUT" ]; then
    echo "usage: bash benchmarks/gpu-check.sh FER2013_ZIP OUT   (FER2013_ZIP '-': use \$DATA as it is)" >&2
    exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 2
[ "$ZIP" = "-" ] || ZIP=$(cd "$(dirname "$ZIP")" 2>/dev/null && pwd)/$(basename "$ZIP")
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 2

DEVICE=${DEVICE:-cuda}
EPOCHS=${EPOCHS:-80}
SEEDS=${SEEDS:-0 1 2}
MODEL=${MODEL:-C1}
BUDGET=${BUDGET:-540}
COMPILE_MODE=${COMPILE_MODE:-reduce-overhead}
BENCH_IMAGES=${BENCH_IMAGES:-28709}
BENCH_EPOCHS=${BENCH_EPOCHS:-2}
BENCH_WORKERS=${BENCH_WORKERS:-8}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-150}
BENCH_EXTRA=${BENCH_EXTRA:-}
STATE_INTERVAL=${STATE_INTERVAL:-60}
LIMIT_TRAIN=${LIMIT_TRAIN:-0}
LIMIT_TEST=${LIMIT_TEST:-0}
DATA=${DATA:-data/fer2013}
RUNS=${RUNS:-/tmp/resemote-gpu-runs}
PY=${PYTHON:-python3}
INSTALL=${INSTALL:-1}
RESERVE=25  # seconds kept for the records and the summary

T0=$(date +%s)
WORK=$(mktemp -d /tmp/resemote-gpu-check.XXXXXX)
STEPS=$WORK/steps.tsv
: >"$STEPS"
mkdir -p "$RUNS" "$WORK/records/runs"
exec > >(tee -a "$OUT/log.txt") 2>&1
TEE=$!
# per-batch progress bars at most every 30 s (the log is what comes back)
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
COMPILE_ARGS=()
[ "$COMPILE_MODE" = "none" ] || COMPILE_ARGS=(--compile-mode "$COMPILE_MODE")

left() { echo $((BUDGET - ($(date +%s) - T0))); }

# step NAME LIMIT CMD...: CMD under `timeout` within what is left of BUDGET; its exit status and seconds go
# to $STEPS; the script goes on whatever happens. STDOUT_TO=FILE sends CMD's stdout there.
step() {
    local name=$1 limit=$2 rc t
    shift 2
    local avail=$(($(left) - RESERVE))
    ((limit > avail)) && limit=$avail
    if ((limit < 10)); then
        echo "== $name: skipped, the budget is spent"
        printf '%s\tskipped\t0\n' "$name" >>"$STEPS"
        return 124
    fi
    echo "== $name (at $(($(date +%s) - T0)) s, limit ${limit} s): $*"
    t=$(date +%s)
    if [ -n "${STDOUT_TO:-}" ]; then
        timeout -s INT -k 20 "$limit" "$@" >"$STDOUT_TO"
    else
        timeout -s INT -k 20 "$limit" "$@"
    fi
    rc=$?
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(($(date +%s) - t))" >>"$STEPS"
    echo "== $name: exit $rc after $(($(date +%s) - t)) s$( ((rc == 124 || rc == 130 || rc == 137)) && echo ' (stopped at its time limit)')"
    return $rc
}

echo "== gpu-check: $(date -u +%FT%TZ), repo $REPO, out $OUT, work $WORK, budget ${BUDGET} s"
cat >"$WORK/settings.json" <<EOF
{"device": "$DEVICE", "model": "$MODEL", "epochs": $EPOCHS, "seeds": "$SEEDS", "budget_s": $BUDGET,
 "compile_mode": "$COMPILE_MODE", "bench_images": $BENCH_IMAGES, "bench_epochs": $BENCH_EPOCHS,
 "bench_workers": $BENCH_WORKERS, "bench_extra": "$BENCH_EXTRA", "state_interval_s": $STATE_INTERVAL,
 "limit_train": $LIMIT_TRAIN, "limit_test": $LIMIT_TEST, "runs": "$RUNS"}
EOF

# --- the machine -------------------------------------------------------------------------------------------
if command -v nvidia-smi >/dev/null; then
    { nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit \
        --format=csv; } >"$OUT/nvidia-smi.txt" 2>&1
    head -n 15 "$OUT/nvidia-smi.txt"
else
    echo "no nvidia-smi on this machine" | tee "$OUT/nvidia-smi.txt"
fi

# the package: an editable install where pip can make one offline; PYTHONPATH serves either way
if [ "$INSTALL" = 1 ]; then
    step install 120 "$PY" -m pip install --quiet --no-deps --no-build-isolation --no-cache-dir -e . ||
        echo "   (pip could not install the package; it runs from $REPO through PYTHONPATH)"
fi

# what the package imports at run time: nothing can be downloaded on the GPU machine, so say what is missing
"$PY" - "$WORK/env.json" <<'EOF'
import importlib, json, platform, subprocess, sys
need = ["torch", "torchvision", "numpy", "PIL", "safetensors", "tqdm", "yaml"]
missing = []
for m in need:
    try:
        importlib.import_module(m)
    except Exception as e:  # noqa: BLE001
        missing.append(f"{m} ({type(e).__name__})")
env = {"python": platform.python_version(), "platform": platform.platform(), "missing_packages": missing}
try:
    import torch
    env.update(torch=torch.__version__, cuda=torch.version.cuda, cuda_available=torch.cuda.is_available(),
               cudnn=torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None)
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        env.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), sm_count=p.multi_processor_count,
                   capability=f"{p.major}.{p.minor}")
    try:
        import triton
        env["triton"] = triton.__version__
    except Exception:  # noqa: BLE001
        env["triton"] = None
except Exception as e:  # noqa: BLE001
    env["torch_error"] = str(e)
try:
    from resemote.training import git_commit
    env["resemote_commit"] = git_commit()
except Exception as e:  # noqa: BLE001
    env["resemote_import_error"] = f"{type(e).__name__}: {e}"
json.dump(env, open(sys.argv[1], "w"), indent=2)
print("== environment:", json.dumps(env))
if missing:
    print("== MISSING packages: " + ", ".join(missing) + ". This machine cannot download: carry them as wheels "
          "(see the device tool's README, 'a Python package missing there'); safetensors and torch are required "
          "for training, torchvision for the bench baseline, yaml only for the book.")
if env.get("resemote_commit", "unknown") in ("unknown", "") or str(env.get("resemote_commit")).endswith("-dirty"):
    print("== NOTE: the runs will record commit", repr(env.get("resemote_commit")), "- `resemote publish` needs a "
          "clean commit: set RESEMOTE_GIT_COMMIT to the commit this copy was sent from")
EOF

# --- the data ----------------------------------------------------------------------------------------------
if [ "$ZIP" != "-" ]; then
    if [ -d "$DATA/train" ] && [ -d "$DATA/test" ]; then
        echo "== $DATA is there already: used as it is (remove it to unpack $ZIP again)"
    elif [ -f "$ZIP" ]; then
        mkdir -p "$DATA"
        step unzip 120 "$PY" -m zipfile -e "$ZIP" "$DATA"
    else
        echo "== no zip at $ZIP, and no $DATA/train, $DATA/test"
    fi
fi
ROOT=$DATA
if ((LIMIT_TRAIN > 0)); then
    ROOT=$WORK/fer2013-subset
    STDOUT_TO=$WORK/subset.json step subset 120 "$PY" benchmarks/gpu_check.py subset "$DATA" "$ROOT" \
        --train "$LIMIT_TRAIN" --test "$LIMIT_TEST"
    echo "   subset of $DATA in $ROOT: $(cat "$WORK/subset.json" 2>/dev/null)"
fi
STDOUT_TO=$WORK/stats.json step stats 60 "$PY" -m resemote stats --dataset fer2013 --root "$ROOT" --json &&
    "$PY" -c "import json,sys; s=json.load(open(sys.argv[1])); print('   FER2013 at', sys.argv[2], {k: sum(v.values()) for k, v in s['splits'].items()})" "$WORK/stats.json" "$ROOT"

# --- speed: our path against the released-code-style pipeline, and inference --------------------------------
# shellcheck disable=SC2086  # BENCH_EXTRA is a list of options
STDOUT_TO=$OUT/bench.json step bench "$BENCH_TIMEOUT" "$PY" -m resemote bench --device "$DEVICE" --model "$MODEL" \
    --images "$BENCH_IMAGES" --epochs "$BENCH_EPOCHS" --workers "$BENCH_WORKERS" ${COMPILE_ARGS[@]+"${COMPILE_ARGS[@]}"} $BENCH_EXTRA --json

# --- the paper's FER2013 runs: seed 0, then the next seeds while the last run's time is still left ----------
last=0
for seed in $SEEDS; do
    name=fer2013-$MODEL-s$seed
    limit=$(($(left) - RESERVE))
    if ((last > 0 && limit < last + 10)); then
        echo "== train-$name: not started, $limit s left and the last run took $last s"
        printf '%s\tnot started\t0\n' "train-$name" >>"$STEPS"
        continue
    fi
    t=$(date +%s)
    step "train-$name" "$limit" "$PY" -m resemote train --dataset fer2013 --root "$ROOT" --model "$MODEL" \
        --epochs "$EPOCHS" --seed "$seed" --device "$DEVICE" --state-interval "$STATE_INTERVAL" \
        ${COMPILE_ARGS[@]+"${COMPILE_ARGS[@]}"} --out "$RUNS/$name"
    last=$(($(date +%s) - t))
    mkdir -p "$WORK/records/runs/$name"
    for f in params.json metrics.json history.csv; do
        [ -f "$RUNS/$name/$f" ] && cp "$RUNS/$name/$f" "$WORK/records/runs/$name/"
    done
done

# what CUDA graphs bought: the eager step alone, where time is left (fast path only, a third of FER2013)
if [ "$COMPILE_MODE" != "none" ]; then
    # shellcheck disable=SC2086
    STDOUT_TO=$OUT/bench-eager.json step bench-eager 60 "$PY" -m resemote bench --device "$DEVICE" --model "$MODEL" \
        --images $((BENCH_IMAGES / 3 > 2 ? BENCH_IMAGES / 3 : 2)) --epochs 1 --no-baseline $BENCH_EXTRA --json
fi

# --- the records ---------------------------------------------------------------------------------------------
tar -cf "$OUT/runs.tar" -C "$WORK/records" runs
eager=()
[ -s "$OUT/bench-eager.json" ] && eager=(--bench-eager "$OUT/bench-eager.json")
echo "== summary ($(($(date +%s) - T0)) s)"
"$PY" benchmarks/gpu_check.py summary --out "$OUT/summary.json" --bench "$OUT/bench.json" ${eager[@]+"${eager[@]}"} \
    --runs "$WORK/records/runs" --steps "$STEPS" --settings "$WORK/settings.json" --env "$WORK/env.json" \
    --stats "$WORK/stats.json" || echo "== the summary failed; the other records are in $OUT"
[ -s "$OUT/bench-eager.json" ] || rm -f "$OUT/bench-eager.json"
rm -rf "$WORK"  # the subset and copies of what is in $OUT; the run directories stay in $RUNS
echo "== done in $(($(date +%s) - T0)) s; records: $(cd "$OUT" && ls | tr '\n' ' ')"
exec >&- 2>&-
wait "$TEE" 2>/dev/null  # log.txt complete before the files are collected
