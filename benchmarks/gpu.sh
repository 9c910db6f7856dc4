#!/usr/bin/env bash
# The GPU tests and GPU benchmarks in one go, each stage under its own time
# limit (at most 9.5 minutes for the default stages on one H100/H200). Run from
# the repository root on a machine with a CUDA build of torch:
#
#     bash benchmarks/gpu.sh                  # tests, sequential, scale
#     bash benchmarks/gpu.sh tests            # only the named stages
#     bash benchmarks/gpu.sh scale overhead
#
# Stages:
#   tests     the GPU paths of the test suite (tests/test_gpu.py and the
#             tests named gpu/cuda elsewhere; all skipped on CPU-only machines)
#   syncs     (not run unless named) benchmarks/gpu_syncs.py at 2x10^7 rows: epoch times of MF seeded
#             and unseeded and of the plain loop, and where each waits for the
#             device (synchronising calls by call site)
#   scale     benchmarks/scale.py --device cuda from 10^5 to 10^8 interactions
#             (issue 6: epoch time and its ratio to the plain torch loop,
#             ranking time, GPU and host memory; one timed epoch after a
#             warm-up one); results are written after each size, so a stage
#             stopped by its limit keeps what it measured
#   sequential  benchmarks/sequential_speed.py: SASRec's epoch time and peak
#             GPU memory at ML-1M shape (6,040 users, 3,706 items, 1M rows,
#             synthetic browsing sequences) and at 10x that (issue 16)
#   overhead  benchmarks/skorch_overhead.py at MovieLens-20M shape (MSE);
#             not run unless named
# Limits (seconds) from the environment: TESTS_LIMIT (60), SYNCS_LIMIT (120),
# SCALE_LIMIT (360), SEQUENTIAL_LIMIT (150), OVERHEAD_LIMIT (120).
#
# skorch must be importable. With the device tool (whose image has torch,
# scikit-learn, pandas, scipy, safetensors and pytest but not skorch), carry a
# wheel folder:
#     echo /.whl/ >> .git/info/exclude
#     python3 -m pip download --no-deps -d .whl skorch==1.4.0
# and pass carry=[".whl"]; this script installs what it finds there.
# Results land in benchmarks/results/; when $OUT is set, they and the log
# (gpu.log) are copied there after each stage.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
python3 - <<'PY' || exit 1
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY

stages=("$@")
[ ${#stages[@]} -eq 0 ] && stages=(tests sequential scale)
log="${OUT:-benchmarks/results}/gpu.log"

collect() {
    if [ -n "${OUT:-}" ]; then
        cp benchmarks/results/*cuda*.json benchmarks/results/*cuda*.png "$OUT"/ 2>/dev/null || true
    fi
}

# run LIMIT_S COMMAND...: one stage's command under its time limit.
run() {
    local limit=$1
    shift
    echo "== $(date +%T) $* (limit ${limit}s)"
    timeout "$limit" "$@"
    local status=$?
    echo "== $(date +%T) exit $status"
    collect
}

for stage in "${stages[@]}"; do
    case "$stage" in
    scale)
        run "${SCALE_LIMIT:-360}" python3 benchmarks/scale.py --device cuda \
            --sizes 1e5 1e6 1e7 2e7 1e8 --epochs 2
        ;;
    tests)
        run "${TESTS_LIMIT:-60}" python3 -m pytest -q -p no:cacheprovider -rs \
            tests/test_gpu.py tests/test_models.py tests/test_neural.py \
            tests/test_bpmf.py tests/test_persistence.py tests/test_variational.py \
            tests/test_scale.py tests/test_sequential.py \
            -k "gpu or cuda"
        ;;
    sequential)
        run "${SEQUENTIAL_LIMIT:-150}" python3 -m benchmarks.sequential_speed \
            --data synthetic --scale 1 10 --device cuda --epochs 3
        ;;
    syncs)
        run "${SYNCS_LIMIT:-120}" python3 benchmarks/gpu_syncs.py --rows 2e7
        ;;
    overhead)
        run "${OVERHEAD_LIMIT:-120}" python3 benchmarks/skorch_overhead.py \
            --device cuda --loss mse --rows 20000000 --users 138493 --items 26744 \
            --batch-sizes 65536 --epochs 3
        ;;
    *)
        echo "unknown stage: $stage (tests, sequential, syncs, scale, overhead)" >&2
        exit 2
        ;;
    esac
done 2>&1 | tee -a "$log"
