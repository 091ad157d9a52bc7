#!/usr/bin/env bash
# The prepared GPU run whose outputs are in this folder (run from the repository root with the
# data in .data/ and the two classifier caches, digit_classifier.npz and punk_classifier.npz,
# in .gpu/cache/, both carried with the tree to a machine without network). DEADLINE: seconds
# after which unfinished trainings are stopped.
set -uo pipefail
T0=$(date +%s)
DEADLINE=${DEADLINE:-480}
OUT=${OUT:-/tmp/gout}
W=${WORK:-/tmp/gwork}/work   # outside $OUT: only the archives travel back
rm -rf "$W"
mkdir -p "$W" ~/.cache/tinygan
cp -r .gpu/cache/* ~/.cache/tinygan/
export PYTHONPATH=. PYTHONUNBUFFERED=1 CUPY_TF32=0 TINYGAN_DATA=${TINYGAN_DATA:-.data}
BACKEND=${BACKEND:-cupy}
STEPS_M=${STEPS_M:-}     # empty on the GPU: the defaults
STEPS_P=${STEPS_P:-}
{
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python -c "import cupy, numpy; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__)"
python -c "import torch; print('PyTorch', torch.__version__)"
} > "$W/gpu.txt" 2>&1
if [ "$BACKEND" = cupy ]; then
    python benchmarks/bench_train_step.py --backend cupy --batch 64 128 --blocks 3 --steps-per-block 20 \
        --forms fast plain > "$W/bench.txt" 2>&1
    echo "bench done $(( $(date +%s) - T0 )) s" >> "$W/timeline.txt"
    python -m pytest -q -p no:cacheprovider -m gpu tests/test_cupy_parity.py tests/test_cupy_path.py \
        > "$W/parity.txt" 2>&1 &
fi
RUNS="m_s0|examples/train_mnist.py|--seed 0 $STEPS_M
p_s2|examples/train_cryptopunks.py|--seed 2 $STEPS_P
m_s1|examples/train_mnist.py|--seed 1 $STEPS_M
m_s2|examples/train_mnist.py|--seed 2 $STEPS_M
p_lrg2_s1|examples/train_cryptopunks.py|--seed 1 --lr-g 2e-4 $STEPS_P
m8k_s0|examples/train_mnist.py|--seed 0 --steps ${STEPS_M8:-8000} --eval-every ${EVERY_M8:-1000}
p_lc2_s0|examples/train_cryptopunks.py|--seed 0 --lambda-cont 2 $STEPS_P
p20_s0|examples/train_cryptopunks.py|--seed 0 --n-cat 20 $STEPS_P
p20_lc077_s0|examples/train_cryptopunks.py|--seed 0 --n-cat 20 --lambda-cat 0.77 $STEPS_P
p_lc2_s1|examples/train_cryptopunks.py|--seed 1 --lambda-cont 2 $STEPS_P"
RUNS="$RUNS" OUT="$W/runs" PARALLEL=${PARALLEL:-4} KEEP_CKPT=0 VA_RUNS="p_s2" BACKEND=$BACKEND \
    setsid bash benchmarks/gpu_runs.sh > "$W/gpu_runs.txt" 2>&1 &
PID=$!
while kill -0 $PID 2>/dev/null && [ $(( $(date +%s) - T0 )) -lt "$DEADLINE" ]; do
    sleep 5
    echo "$(( $(date +%s) - T0 )) s: $(ls "$W"/runs/*.log 2>/dev/null | wc -l) started, $(grep -l '^exit' "$W"/runs/*.log 2>/dev/null | wc -l) ended" >> "$W/timeline.txt"
    [ "$BACKEND" = cupy ] && nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader >> "$W/timeline.txt"
done
if kill -0 $PID 2>/dev/null; then
    echo "deadline: stopping what is still running" >> "$W/timeline.txt"
    kill -TERM -- -$PID 2>/dev/null
    sleep 3
    kill -KILL -- -$PID 2>/dev/null
fi
wait
echo "end $(( $(date +%s) - T0 )) s" >> "$W/timeline.txt"
find "$W" -name checkpoint.npz -delete
find "$W" -name "*.npz" -size +5M -delete
find "$W" -type d -name samples -prune -exec rm -rf {} +
cd "$W/.."
tar -czf "$OUT/data.tar.gz" --exclude='*.png' work
find work/runs -path 'work/runs/m*' -name '*.png' | tar -czf "$OUT/img_m.tar.gz" -T -
find work/runs -path 'work/runs/p_*' -name '*.png' | tar -czf "$OUT/img_p.tar.gz" -T -
find work/runs -path 'work/runs/p20*' -name '*.png' | tar -czf "$OUT/img_p20.tar.gz" -T -
cd - > /dev/null
ls -la "$OUT"
tail -5 "$W/timeline.txt"; cat "$W/runs/runs.txt" 2>/dev/null | tail -60; cat "$W/parity.txt" 2>/dev/null | tail -5
