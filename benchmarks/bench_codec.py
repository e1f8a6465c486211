"""The codec benchmark: ``ptebits bench --only codec``.

    python benchmarks/bench_codec.py [--json] [--entries N] [--repeats R] ...

Prints ratios against baselines measured in the same run (numpy copy of the
same bytes, a plain-numpy decoder, a pure-Python loop).
"""
import sys

from ptebits.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "--only", "codec"] + sys.argv[1:]))
