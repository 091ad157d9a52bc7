#!/usr/bin/env bash
# Several CryptoPunks trainings in one prepared run (a GPU makes each a couple of minutes),
# each evaluated (examples/evaluate_punks.py, at the end of training) and its vector
# addition measured; one table of them all (benchmarks/punk_table.py). Needs no network:
# the data come from $TINYGAN_DATA/cryptopunks (punks.png and attributes.csv). From the
# repository root:
#     TINYGAN_DATA=/path/to/data OUT=/tmp/punks bash benchmarks/gpu_punks.sh
# RUNS lists the runs, one "name|flags" per line (default: the punk recipe of
# docs/08-cryptopunks.md on seeds 0, 1, 2); BACKEND=numpy runs the same on the CPU.
# SCRIPT=examples/train_mnist.py runs MNIST trainings instead (evaluated by the script
# itself; no vector addition, no table; $TINYGAN_DATA/mnist).
set -uo pipefail
OUT=${OUT:-gpu_punks_out}
BACKEND=${BACKEND:-cupy}
SCRIPT=${SCRIPT:-examples/train_cryptopunks.py}
: "${TINYGAN_DATA:?set TINYGAN_DATA to the folder that holds cryptopunks/ (or mnist/)}"
case "$SCRIPT" in *mnist*) DATA="$TINYGAN_DATA/mnist" ;; *) DATA="$TINYGAN_DATA/cryptopunks" ;; esac
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-.} PYTHONUNBUFFERED=1 CUPY_TF32=0
RUNS=${RUNS:-"s0|--g-average 0.99 --seed 0
s1|--g-average 0.99 --seed 1
s2|--g-average 0.99 --seed 2"}
done_runs=()
while IFS= read -r line; do
    [ -z "$line" ] && continue
    name=${line%%|*}
    flags=${line#*|}
    echo "== $name: $flags" | tee -a "$OUT/runs.txt"
    # shellcheck disable=SC2086
    python benchmarks/run_measured.py "$SCRIPT" --backend "$BACKEND" \
        --data-dir "$DATA" --out "$OUT/$name" --overwrite --no-progress $flags \
        > "$OUT/$name.log" 2>&1
    tail -22 "$OUT/$name.log" | tee -a "$OUT/runs.txt"
    if [ -f "$OUT/$name/eval.json" ] && [ "$DATA" = "$TINYGAN_DATA/cryptopunks" ]; then
        done_runs+=("$OUT/$name")
        python examples/vector_addition.py --backend "$BACKEND" --checkpoint "$OUT/$name/checkpoint.npz" \
            --out "$OUT/$name/va_s2" --auto --strength 2 --data-dir "$TINYGAN_DATA/cryptopunks" 2>&1 \
            | grep -E "direction|error" | tee -a "$OUT/runs.txt"
    fi
    rm -f "$OUT/$name/checkpoint.npz.tmp"
done <<< "$RUNS"
if [ ${#done_runs[@]} -gt 0 ]; then
    python benchmarks/punk_table.py "${done_runs[@]}" | tee "$OUT/table.md"
fi
