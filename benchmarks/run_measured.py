"""Run an example script and report its wall time, the host's peak resident memory and,
on the CuPy backend, the GPU memory that CuPy's pool held (its high-water mark). Needs no
tool a bare CUDA image lacks (no GNU time).

    python benchmarks/run_measured.py examples/train_mnist.py --backend cupy --out runs/m
"""
import resource
import runpy
import sys
import time


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(sys.argv) >= 2 else 2
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    t0 = time.perf_counter()
    try:
        rc = runpy.run_path(script, run_name="__main__")
    except SystemExit as e:
        rc = e.code
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: KiB
    line = f"[run_measured] {script}: exit {rc if isinstance(rc, int) else 0}, wall {wall:.1f} s, peak host RSS {rss:.0f} MB"
    cupy = sys.modules.get("cupy")
    if cupy is not None:
        line += f", CuPy pool high-water {cupy.get_default_memory_pool().total_bytes() / 2**20:.0f} MiB"
    print(line, flush=True)
    return rc if isinstance(rc, int) else 0


if __name__ == "__main__":
    sys.exit(main())
