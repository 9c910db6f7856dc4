#!/usr/bin/env bash
# The GPU tests and GPU benchmarks in one go, sized for about 4 minutes on one
# H100. Run from the repository root on a machine with a CUDA build of torch:
#
#     bash benchmarks/gpu.sh          # tests + skorch overhead at ML-20M shape
#     bash benchmarks/gpu.sh scale    # then the scale benchmark (issue 6), ~5 more min
#
# skorch must be importable. With the device tool (whose image has torch,
# scikit-learn, pandas, scipy and pytest but not skorch), carry a wheel folder:
#     echo /.whl/ >> .git/info/exclude
#     python3 -m pip download --no-deps -d .whl skorch==1.4.0 safetensors==0.8.0
# and pass carry=[".whl"]; this script installs what it finds there.
# Results land in benchmarks/results/ (and are copied to $OUT when set).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
python3 - <<'PY'
import torch
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PY

# 1. The GPU paths of the test suite (skipped on CPU-only machines).
python3 -m pytest -q -p no:cacheprovider tests/test_models.py tests/test_neural.py \
    tests/test_bpmf.py tests/test_persistence.py tests/test_variational.py -k "gpu or cuda"

# 2. skorch overhead at MovieLens-20M shape: MSE and BPR epochs, plain loop vs ours,
#    and the full-catalog top-10 for all 138k users.
shape="--rows 20000000 --users 138493 --items 26744 --batch-sizes 65536 1048576 --epochs 3"
python3 benchmarks/skorch_overhead.py --device cuda --loss mse $shape
python3 benchmarks/skorch_overhead.py --device cuda --loss bpr $shape

# 3. Optional: how an MF epoch, ranking and memory grow up to 2x10^7 rows.
if [ "${1:-}" = "scale" ]; then
    python3 benchmarks/scale.py --device cuda --sizes 1e6 1e7 2e7
fi

if [ -n "${OUT:-}" ]; then
    cp benchmarks/results/*cuda*.json "$OUT"/ 2>/dev/null || true
fi
