"""Where splitting a call over threads starts to pay: the measurement behind
``ptebits._parallel.MIN_ENTRIES_PER_THREAD``.

For each array call and each input size (powers of two), times one thread
against every CPU this process may use (``threads=`` given explicitly, so the
automatic threshold does not interfere), median of interleaved repeats, and
prints the ratio; then the pool's hand-off cost, each call's cost per entry,
and the break-even size per thread (hand-off / cost per entry, the size at
which a perfectly scaling split would just pay).

    python benchmarks/bench_thread_threshold.py [--repeats 31] [--max-log2 22]
"""
from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Dict, List

import numpy as np

import ptebits
from ptebits import _parallel
from ptebits.bench import make_page_table


def _median_time(fn: Callable[[], object], inner: int) -> float:
    t0 = time.perf_counter()
    for _ in range(inner):
        fn()
    return (time.perf_counter() - t0) / inner


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=31)
    ap.add_argument("--min-log2", type=int, default=13)
    ap.add_argument("--max-log2", type=int, default=22)
    args = ap.parse_args()
    cpus = _parallel.available_cpus()
    if cpus < 2:
        raise SystemExit("one CPU available: nothing to split over")
    full = make_page_table(1 << args.max_log2)
    pm = ptebits.pte_to_pagemap(full)
    print("1 thread vs %d threads, median of %d interleaved repeats; ratio < 1: "
          "threads faster" % (cpus, args.repeats))
    print("%-16s" % "entries" + "".join("%10d" % (1 << k)
                                        for k in range(args.min_log2, args.max_log2 + 1)))
    found: Dict[str, int] = {}
    cost: Dict[str, float] = {}
    for op in _parallel.MIN_ENTRIES_PER_THREAD:
        ratios: List[float] = []
        for k in range(args.min_log2, args.max_log2 + 1):
            n = 1 << k
            raw, words = full[:n], pm[:n]
            level = "pmd" if op.endswith("_level") else "pte"
            if op.startswith("decode") and op != "decode_pagemap":
                out = ptebits.decode(raw, level=level)
                call = lambda t: ptebits.decode(raw, level=level, out=out, threads=t)  # noqa: E731
            elif op.startswith("classify"):
                kinds = ptebits.classify(raw, level=level)
                call = lambda t: ptebits.classify(raw, level=level, out=kinds, threads=t)  # noqa: E731
            elif op == "decode_pagemap":
                call = lambda t: ptebits.decode_pagemap(words, threads=t)  # noqa: E731
            else:
                call = lambda t: ptebits.pte_to_pagemap(raw, threads=t)  # noqa: E731
            inner = max(1, (1 << 20) // n)          # ~a few ms per sample
            one, many = [], []
            call(1), call(cpus)
            for _ in range(args.repeats):
                one.append(_median_time(lambda: call(1), inner))
                many.append(_median_time(lambda: call(cpus), inner))
            ratio = statistics.median(many) / statistics.median(one)
            cost[op] = statistics.median(one) / n          # the largest n wins
            ratios.append(ratio)
            if op not in found and ratio < 0.9:
                found[op] = n // cpus
        print("%-16s" % op + "".join("%10.2f" % r for r in ratios))
    # the break-even point with perfect scaling: the pool's hand-off cost over
    # the one-thread cost of an entry
    handoff = statistics.median(
        [_median_time(lambda: _parallel.run(2 * _parallel.CHUNK_ALIGN, 2, "decode",
                                            lambda a, b: None), 50) for _ in range(9)]) - \
        statistics.median([_median_time(lambda: _parallel.run(2 * _parallel.CHUNK_ALIGN, 1,
                                                               "decode", lambda a, b: None), 50)
                           for _ in range(9)])
    print()
    print("hand-off to the pool: %.1f us" % (handoff * 1e6))
    for op, per in _parallel.MIN_ENTRIES_PER_THREAD.items():
        print("%-16s %5.2f ns/entry; break-even %6d entries/thread; 2 threads < 0.9x from "
              "%s entries/thread; set: %d" % (op, cost[op] * 1e9, handoff / cost[op],
                                              found.get(op, "never"), per))


if __name__ == "__main__":
    main()
