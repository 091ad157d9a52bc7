#!/usr/bin/env bash
# One prepared run for a machine with a CUDA GPU and CuPy; needs no network and no tool a
# bare CUDA image lacks. The data come from $TINYGAN_DATA (mnist/ and cryptopunks/ inside:
# carry them with the tree on a machine without network). From the repository root:
#     TINYGAN_DATA=/path/to/data OUT=/tmp/gpu bash benchmarks/gpu_check.sh
# 1. the CuPy tests on real CuPy (parity of every op, a whole step, the scripts),
# 2. the training-step benchmark, tinygan on CuPy against PyTorch CUDA eager, TF32 off in both,
# 3. the default MNIST training on CuPy, evaluated; 4. the default CryptoPunks training.
# Each training reports its wall time, peak host memory and CuPy's GPU memory.
set -uo pipefail
OUT=${OUT:-gpu_check_out}
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-.} PYTHONUNBUFFERED=1 CUPY_TF32=0
: "${TINYGAN_DATA:?set TINYGAN_DATA to the folder that holds mnist/ and cryptopunks/}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python -c "import cupy, numpy; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__)" | tee -a "$OUT/gpu.txt"
python -m pytest -q -p no:cacheprovider -m gpu tests/test_cupy_parity.py tests/test_cupy_path.py 2>&1 | tail -15 | tee "$OUT/parity.txt"
python benchmarks/bench_train_step.py --backend cupy --batch 64 128 --blocks 5 --steps-per-block 20 2>&1 | tee "$OUT/bench.txt"
python benchmarks/run_measured.py examples/train_mnist.py --backend cupy --out "$OUT/mnist" --overwrite \
    --no-progress ${MNIST_ARGS:-} 2>&1 | tail -8 | tee "$OUT/train_mnist.txt"
python benchmarks/run_measured.py examples/train_cryptopunks.py --backend cupy --out "$OUT/punks" --overwrite \
    --no-progress ${PUNKS_ARGS:-} 2>&1 | tail -8 | tee "$OUT/train_punks.txt"
