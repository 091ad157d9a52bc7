#!/usr/bin/env bash
# Several trainings in one prepared run (a GPU makes each a couple of minutes), several at
# a time on the one GPU if PARALLEL says so. Each is evaluated by its own script at the end
# of training (eval.json); a CryptoPunks run named in VA_RUNS also gets its vector addition
# measured; one table of the punk runs (benchmarks/punk_table.py) at the end. Needs no
# network: the data come from $TINYGAN_DATA/mnist and $TINYGAN_DATA/cryptopunks. From the
# repository root:
#     TINYGAN_DATA=/path/to/data OUT=/tmp/runs bash benchmarks/gpu_runs.sh
# RUNS lists the runs, one "name|script|flags" per line (default: the CryptoPunks default
# on seeds 0, 1, 2); PARALLEL runs that many at a time (default 1: wall times are then
# each run's alone); RUN_LIMIT stops a run after that many seconds (default: no limit);
# BACKEND=numpy runs the same on the CPU. Each run's log is OUT/<name>.log and its folder
# OUT/<name> (without the checkpoint when KEEP_CKPT=0).
set -uo pipefail
OUT=${OUT:-gpu_runs_out}
BACKEND=${BACKEND:-cupy}
PARALLEL=${PARALLEL:-1}
RUN_LIMIT=${RUN_LIMIT:-0}
KEEP_CKPT=${KEEP_CKPT:-1}
VA_RUNS=${VA_RUNS:-}
: "${TINYGAN_DATA:?set TINYGAN_DATA to the folder that holds mnist/ and cryptopunks/}"
mkdir -p "$OUT"
export PYTHONPATH=${PYTHONPATH:-.} PYTHONUNBUFFERED=1 CUPY_TF32=0
# one process's host arrays (data, evaluation) on two threads, so that runs side by side
# do not fight over the cores
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-2}
RUNS=${RUNS:-"s0|examples/train_cryptopunks.py|--seed 0
s1|examples/train_cryptopunks.py|--seed 1
s2|examples/train_cryptopunks.py|--seed 2"}

one_run() {   # name script flags
    local name=$1 script=$2 flags=$3 data limit=()
    case "$script" in *mnist*) data="$TINYGAN_DATA/mnist" ;; *) data="$TINYGAN_DATA/cryptopunks" ;; esac
    [ "$RUN_LIMIT" -gt 0 ] && limit=(timeout "$RUN_LIMIT")
    # shellcheck disable=SC2086
    "${limit[@]}" python benchmarks/run_measured.py "$script" --backend "$BACKEND" \
        --data-dir "$data" --out "$OUT/$name" --overwrite --no-progress $flags > "$OUT/$name.log" 2>&1
    echo "exit $? (run $name)" >> "$OUT/$name.log"
    if [ -f "$OUT/$name/eval.json" ] && [[ " $VA_RUNS " == *" $name "* ]]; then
        python examples/vector_addition.py --backend "$BACKEND" --checkpoint "$OUT/$name/checkpoint.npz" \
            --out "$OUT/$name/va_s2" --auto --strength 2 --data-dir "$data" >> "$OUT/$name.log" 2>&1
    fi
    rm -f "$OUT/$name/checkpoint.npz.tmp"
    [ "$KEEP_CKPT" = 0 ] && rm -f "$OUT/$name/checkpoint.npz"
    { echo "== $name: $script $flags"; tail -6 "$OUT/$name.log"; } >> "$OUT/runs.txt"
}

punk_runs=()
while IFS= read -r line; do
    [ -z "$line" ] && continue
    IFS='|' read -r name script flags <<< "$line"
    [ -f "$script" ] || { echo "run $name: no script $script" >&2; exit 2; }
    [[ "$script" == *mnist* ]] || punk_runs+=("$OUT/$name")
    while [ "$(jobs -rp | wc -l)" -ge "$PARALLEL" ]; do wait -n; done
    echo "start $name $(date +%T)" | tee -a "$OUT/runs.txt"
    one_run "$name" "$script" "$flags" &
done <<< "$RUNS"
wait
cat "$OUT/runs.txt"
done_runs=()
for r in "${punk_runs[@]}"; do [ -f "$r/eval.json" ] && done_runs+=("$r"); done
if [ ${#done_runs[@]} -gt 0 ]; then
    python benchmarks/punk_table.py "${done_runs[@]}" | tee "$OUT/table.md"
fi
