#!/usr/bin/env bash
# The GPU call on one GPU machine, in one command of at most 9 minutes: as many of FER2013's paper-budget runs as
# the GPU can finish, several side by side, and every record back in five files.
#
#   bash benchmarks/gpu-check.sh FER2013_ZIP OUT       (or set FER2013_ZIP and OUT)
#
# 1. the machine (nvidia-smi, torch, CUDA), the CUDA MPS server where the image allows it (else each process
#    its own CUDA context), FER2013 unpacked and decoded once into the cache;
# 2. calibrate (resemote/perf/gpucalib.py): each network of runs.yml's `gpu` priority list, its training step timed
#    alone and with k processes side by side, within CALIB_BUDGET seconds;
# 3. plan and launch (resemote/perf/gpuplan.py, benchmarks/gpu_check.py launch): with the time left, the runs
#    predicted to finish, k side by side (one `resemote train` each); a run predicted not to finish is not
#    started; at the budget's end a run still going gets SIGINT (it stops cleanly, resumable) and is recorded
#    as unfinished, never as a result;
# 4. `resemote bench` in the time kept for it (BENCH_RESERVE);
# 5. OUT: runs.tar.gz (runs/<id>/{params.json,metrics.json,history.csv,train.log} of every run started,
#    finished or not; no weights), summary.json (each target measured and met or not; calibration, plan, and
#    every run's predicted and actual times), bench.json, nvidia-smi.txt, log.txt. At home:
#    `resemote publish runs.tar.gz` records the finished runs in results/runs/.
#
#   FER2013_ZIP  fer2013.zip, made by `cd data/fer2013 && zip -0 -qr /path/fer2013.zip train test`; "-" uses
#                $DATA (default data/fer2013) as it is
#
# Knobs (environment):
#   DEVICE=cuda BUDGET=530 (seconds, the whole script) CALIB_BUDGET=90 CALIB_LEVELS="1 2 4 8" CALIB_SECONDS=1
#   CALIB_WARMUP=3 (untimed steps per network and process first) CALIB_LIMIT=CALIB_BUDGET+90 (the hard stop)
#   MAX_K= (at most this many side by side) MIN_K=1 (at least: a rehearsal of the side-by-side path)
#   EPOCHS= (every run's; default the plan's 80) MPS=auto (0: never)
#   COMPILE_MODE=none (eager; e.g. reduce-overhead: every run and the calibration compile the step)
#   STATE_INTERVAL=60 BENCH=1 (0: no bench) BENCH_RESERVE=90 (seconds kept for it; 0: only time left over)
#   BENCH_IMAGES=28709 BENCH_EPOCHS=1 BENCH_WORKERS=8 BENCH_EXTRA="" LIMIT_TRAIN=0 LIMIT_TEST=0 (a subset)
#   DATA=data/fer2013 RUNS=/tmp/resemote-gpu-runs (run directories, weights included) PYTHON=python3
#   INSTALL=0 (1: `pip install -e .` first) RESEMOTE_GIT_COMMIT (the commit the copy was sent from: it has no .git)
# The CPU rehearsal (benchmarks/README.md): DEVICE=cpu EPOCHS=1 LIMIT_TRAIN=64 LIMIT_TEST=32 CALIB_LEVELS="1 2" ...
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
BUDGET=${BUDGET:-530}
CALIB_BUDGET=${CALIB_BUDGET:-90}
CALIB_LEVELS=${CALIB_LEVELS:-1 2 4 8}
CALIB_SECONDS=${CALIB_SECONDS:-1}
CALIB_WARMUP=${CALIB_WARMUP:-3}
CALIB_LIMIT=${CALIB_LIMIT:-$((CALIB_BUDGET + 90))}  # the hard stop: a network being timed at CALIB_BUDGET finishes
MAX_K=${MAX_K:-}
MIN_K=${MIN_K:-1}
EPOCHS=${EPOCHS:-}
MPS=${MPS:-auto}
COMPILE_MODE=${COMPILE_MODE:-none}
STATE_INTERVAL=${STATE_INTERVAL:-60}
BENCH=${BENCH:-1}
BENCH_RESERVE=${BENCH_RESERVE:-90}
BENCH_IMAGES=${BENCH_IMAGES:-28709}
BENCH_EPOCHS=${BENCH_EPOCHS:-1}
BENCH_WORKERS=${BENCH_WORKERS:-8}
BENCH_EXTRA=${BENCH_EXTRA:-}
LIMIT_TRAIN=${LIMIT_TRAIN:-0}
LIMIT_TEST=${LIMIT_TEST:-0}
DATA=${DATA:-data/fer2013}
RUNS=${RUNS:-/tmp/resemote-gpu-runs}
PY=${PYTHON:-python3}
INSTALL=${INSTALL:-0}
RESERVE=35  # seconds kept at the end: SIGINT's grace, packing and the summary
GRACE=25

T0=$(date +%s)
WORK=$(mktemp -d /tmp/resemote-gpu-check.XXXXXX)
STEPS=$WORK/steps.tsv
: >"$STEPS"
mkdir -p "$RUNS"
exec > >(tee -a "$OUT/log.txt") 2>&1
TEE=$!
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30 PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
COMPILE_ARGS=()
[ "$COMPILE_MODE" = "none" ] || COMPILE_ARGS=(--compile-mode "$COMPILE_MODE")
PLAN_ARGS=()
[ -n "$EPOCHS" ] && PLAN_ARGS+=(--epochs "$EPOCHS")
[ -n "$MAX_K" ] && PLAN_ARGS+=(--max-k "$MAX_K")
((MIN_K > 1)) && PLAN_ARGS+=(--min-k "$MIN_K")

left() { echo $((BUDGET - ($(date +%s) - T0))); }

# step NAME LIMIT CMD...: CMD under `timeout` (SIGINT first) within what is left of BUDGET; its exit status and
# seconds go to $STEPS; the script goes on whatever happens. STDOUT_TO=FILE sends CMD's stdout there.
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

SHARING=contexts
mps_quit() {
    if [ "$SHARING" = mps ]; then
        echo quit | nvidia-cuda-mps-control >/dev/null 2>&1
        SHARING=contexts
    fi
}
trap mps_quit EXIT

echo "== gpu-check: $(date -u +%FT%TZ), repo $REPO, out $OUT, work $WORK, budget ${BUDGET} s"
cat >"$WORK/settings.json" <<EOF
{"device": "$DEVICE", "budget_s": $BUDGET, "calib_budget_s": $CALIB_BUDGET, "calib_levels": "$CALIB_LEVELS",
 "calib_seconds": $CALIB_SECONDS, "calib_warmup": $CALIB_WARMUP, "max_k": "${MAX_K}", "min_k": $MIN_K, "epochs": "${EPOCHS:-plan}", "mps": "$MPS",
 "compile_mode": "$COMPILE_MODE", "state_interval_s": $STATE_INTERVAL, "bench_reserve_s": $BENCH_RESERVE,
 "bench_images": $BENCH_IMAGES, "bench_epochs": $BENCH_EPOCHS, "bench_workers": $BENCH_WORKERS,
 "bench_extra": "$BENCH_EXTRA", "limit_train": $LIMIT_TRAIN, "limit_test": $LIMIT_TEST, "runs": "$RUNS"}
EOF

# --- the machine -------------------------------------------------------------------------------------------
if command -v nvidia-smi >/dev/null; then
    { nvidia-smi; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm,power.limit \
        --format=csv; } >"$OUT/nvidia-smi.txt" 2>&1
    head -n 15 "$OUT/nvidia-smi.txt"
else
    echo "no nvidia-smi on this machine" | tee "$OUT/nvidia-smi.txt"
fi
if [ "$INSTALL" = 1 ]; then
    step install 120 "$PY" -m pip install --quiet --no-deps --no-build-isolation --no-cache-dir -e . ||
        echo "   (pip could not install the package; it runs from $REPO through PYTHONPATH)"
fi

# what the package imports at run time: nothing can be downloaded on the GPU machine, so say what is missing
"$PY" - "$WORK/env.json" <<'EOF'
import importlib, json, platform, sys
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
except Exception as e:  # noqa: BLE001
    env["torch_error"] = str(e)
try:
    from resemote.env import git_commit
    env["resemote_commit"] = git_commit()
except Exception as e:  # noqa: BLE001
    env["resemote_import_error"] = f"{type(e).__name__}: {e}"
json.dump(env, open(sys.argv[1], "w"), indent=2)
print("== environment:", json.dumps(env))
if missing:
    print("== MISSING packages: " + ", ".join(missing) + ". This machine cannot download: carry them as wheels "
          "(the device tool's README); torch, safetensors and yaml are required, torchvision for the bench.")
if env.get("resemote_commit", "unknown") in ("unknown", "") or str(env.get("resemote_commit")).endswith("-dirty"):
    print("== NOTE: the runs will record commit", repr(env.get("resemote_commit")), "- `resemote publish` needs a "
          "clean commit: set RESEMOTE_GIT_COMMIT to the commit this copy was sent from")
EOF

# the CUDA MPS server, where the image has it and a client can start under it: kernels of the processes side
# by side then run at once instead of taking turns; else each process keeps its own CUDA context
if [ "$DEVICE" = cuda ] && [ "$MPS" != 0 ] && command -v nvidia-cuda-mps-control >/dev/null; then
    export CUDA_MPS_PIPE_DIRECTORY=$WORK/mps-pipe CUDA_MPS_LOG_DIRECTORY=$WORK/mps-log
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    if nvidia-cuda-mps-control -d && timeout 60 "$PY" -c "import torch; torch.zeros(1, device='cuda').sum().item()"; then
        SHARING=mps
        echo "== CUDA MPS server started: the runs share the GPU through it"
    else
        echo quit | nvidia-cuda-mps-control >/dev/null 2>&1
        unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
        echo "== CUDA MPS not usable here ($(tail -n 2 "$WORK/mps-log/control.log" 2>/dev/null | tr '\n' ' ')): separate CUDA contexts"
    fi
else
    echo "== no CUDA MPS (device $DEVICE, MPS=$MPS, nvidia-cuda-mps-control $(command -v nvidia-cuda-mps-control >/dev/null && echo found || echo absent)): separate contexts"
fi

# --- the data ----------------------------------------------------------------------------------------------
if [ "$ZIP" != "-" ]; then
    if [ -d "$DATA/train" ] && [ -d "$DATA/test" ]; then
        echo "== $DATA is there already: used as it is (remove it to unpack $ZIP again)"
    elif [ -f "$ZIP" ]; then
        mkdir -p "$DATA"
        step unzip 240 "$PY" -m zipfile -e "$ZIP" "$DATA"
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
# the counts, and every image decoded once into the cache that each run then only maps
STDOUT_TO=$WORK/stats.json step stats 120 "$PY" -m resemote stats --dataset fer2013 --root "$ROOT" --decode --json &&
    "$PY" -c "import json,sys; s=json.load(open(sys.argv[1])); print('   FER2013 at', sys.argv[2], {k: sum(v.values()) for k, v in s['splits'].items()})" "$WORK/stats.json" "$ROOT"

# --- calibrate, plan, run side by side -----------------------------------------------------------------------
# shellcheck disable=SC2086  # CALIB_LEVELS is a list
step calibrate "$CALIB_LIMIT" "$PY" benchmarks/gpu_check.py calibrate ${PLAN_ARGS[@]+"${PLAN_ARGS[@]}"} \
    --out "$WORK/calibration.json" --root "$ROOT" --device "$DEVICE" --levels $CALIB_LEVELS \
    --seconds "$CALIB_SECONDS" --warmup "$CALIB_WARMUP" --budget "$CALIB_BUDGET" --sharing "$SHARING" ${COMPILE_ARGS[@]+"${COMPILE_ARGS[@]}"}
RUN_BUDGET=$(($(left) - RESERVE - BENCH_RESERVE - GRACE - 15))  # 15: the launcher's own start and stop
if [ -s "$WORK/calibration.json" ] && ((RUN_BUDGET > 10)); then
    step launch $((RUN_BUDGET + GRACE + 15)) "$PY" benchmarks/gpu_check.py launch ${PLAN_ARGS[@]+"${PLAN_ARGS[@]}"} \
        --calibration "$WORK/calibration.json" --budget "$RUN_BUDGET" --root "$ROOT" --runs "$RUNS" \
        --log "$WORK/launch.json" --device "$DEVICE" --state-interval "$STATE_INTERVAL" --grace "$GRACE" \
        --python "$PY" ${COMPILE_ARGS[@]+"${COMPILE_ARGS[@]}"}
else
    echo "== launch: nothing started (calibration $( [ -s "$WORK/calibration.json" ] && echo written || echo missing), ${RUN_BUDGET} s left for runs)"
fi
mps_quit

# --- speed: our path against the released-code-style pipeline, and inference --------------------------------
if [ "$BENCH" = 1 ] && (($(left) - RESERVE >= 30)); then
    # shellcheck disable=SC2086  # BENCH_EXTRA is a list of options
    STDOUT_TO=$OUT/bench.json step bench $(($(left) - RESERVE)) "$PY" -m resemote bench --device "$DEVICE" \
        --images "$BENCH_IMAGES" --epochs "$BENCH_EPOCHS" --workers "$BENCH_WORKERS" \
        ${COMPILE_ARGS[@]+"${COMPILE_ARGS[@]}"} $BENCH_EXTRA --json
    [ -s "$OUT/bench.json" ] || rm -f "$OUT/bench.json"
else
    echo "== bench: skipped (BENCH=$BENCH, $(($(left) - RESERVE)) s left)"
fi

# --- the records ---------------------------------------------------------------------------------------------
echo "== pack and summary ($(($(date +%s) - T0)) s)"
"$PY" benchmarks/gpu_check.py pack --runs "$RUNS" --out "$OUT/runs.tar.gz" || echo "== packing failed"
"$PY" benchmarks/gpu_check.py summary --out "$OUT/summary.json" --started "$T0" --runs "$RUNS" \
    --steps "$STEPS" --settings "$WORK/settings.json" --env "$WORK/env.json" --stats "$WORK/stats.json" \
    --calibration "$WORK/calibration.json" --launch "$WORK/launch.json" \
    $( [ -s "$OUT/bench.json" ] && echo --bench "$OUT/bench.json") || echo "== the summary failed; the other records are in $OUT"
rm -rf "$WORK"  # the subset and copies of what is in $OUT; the run directories stay in $RUNS
echo "== done in $(($(date +%s) - T0)) s; records: $(cd "$OUT" && ls | tr '\n' ' ')"
exec >&- 2>&-
wait "$TEE" 2>/dev/null  # log.txt complete before the files are collected
