"""The fault-dispatch benchmark: ``ptebits bench --only dispatch``.

    python benchmarks/bench_dispatch.py [--json] [--faults N] [--repeats R] [--profile P]

Six mixes of 10Mi faults over 10Mi PTEs (ptebits.bench_fault.DISPATCH_MIXES),
sequential and random page order, against numpy copying the PTE array and a
plain pure-Python dispatcher (on a subsample, checked equal to the C model),
all measured in the same run.
"""
import sys

from ptebits.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "dispatch"] + sys.argv[1:]))
