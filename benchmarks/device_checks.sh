#!/usr/bin/env bash
# One GPU session's checks, in the order they matter: the CUDA tests, the GPU tensor-product
# benchmark against e3nn, then the whole suite with the GPU present. Logs go to $OUT (or
# ./device_out). Wheels in .whl/ (ase, e3nn 0.6, ...) are installed first where present.
#
#     bash benchmarks/device_checks.sh
set -u
OUT=${OUT:-device_out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH=src:${PYTHONPATH:-} PYTHONUNBUFFERED=1 SYMMETRIES_CACHE=${SYMMETRIES_CACHE:-/tmp/symmetries-cache}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, e3nn, triton, numba; print('torch', torch.__version__, 'e3nn', e3nn.__version__, 'triton', triton.__version__, 'numba', numba.__version__)"
timeout "${CUDA_TESTS_S:-240}" python3 -m pytest -q -m cuda -p no:cacheprovider 2>&1 | tee "$OUT/cuda_tests.log" | tail -25
if [ "${BENCH_S:-200}" -gt 0 ]; then  # BENCH_S=0 skips it
    timeout "${BENCH_S:-200}" python3 benchmarks/gpu_tensor_product.py --out "$OUT" 2>&1 | tee "$OUT/gpu_tensor_product.log"
fi
if [ "${SUITE_S:-150}" -gt 0 ]; then  # SUITE_S=0 skips it
    timeout "${SUITE_S:-150}" python3 -m pytest -q -n 12 -m "not slow and not cuda" -p no:cacheprovider 2>&1 | tee "$OUT/suite.log" | tail -25
fi
