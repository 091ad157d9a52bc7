#!/usr/bin/env bash
# One prepared run for a machine with a CUDA GPU and CuPy (no network needed; MNIST from
# $TINYGAN_DATA or --data-dir). From the repository root:
#     TINYGAN_DATA=/path/to/data OUT=/tmp/gpu bash benchmarks/gpu_check.sh
# 1. the CuPy parity tests, 2. the training-step benchmark on CuPy (and PyTorch CUDA when
# installed) at batch 64 and 128, 3. the default MNIST training on CuPy, evaluated.
set -uo pipefail
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-.}
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python -m pytest -q -m gpu tests/test_cupy_parity.py 2>&1 | tail -5 | tee "$OUT/parity.txt"
python benchmarks/bench_train_step.py --backend cupy --batch 64 128 --blocks 5 --steps-per-block 20 2>&1 | tee "$OUT/bench.txt"
python benchmarks/bench_layers.py --backend cupy 2>&1 | tee "$OUT/bench_layers.txt"
/usr/bin/time -v python examples/train_mnist.py --backend cupy --out "$OUT/mnist" --overwrite --no-progress \
    ${MNIST_ARGS:-} 2>&1 | tail -30 | tee "$OUT/train.txt"
