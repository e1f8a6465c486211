"""Splitting one array call of the C core over threads.

The C entry points are pure functions over a range of entries, and cffi
releases the GIL for every call, so a large array can be cut into
contiguous chunks that threads decode at once.  Each entry's result
depends on that entry alone: any split gives the same columns, bit for
bit, and every output element is written by exactly one chunk.

Chunks start on multiples of :data:`CHUNK_ALIGN` entries, so that every
chunk but the last is made of whole blocks of decode.c's blocked decode,
and so that, on cache-line aligned outputs (what ptebits allocates), no two
threads write one cache line of any column.  Nothing here touches cffi:
``_core`` passes the per-chunk call as a function of ``(start, stop)``.
"""
from __future__ import annotations

import operator
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Callable, List, Optional, Tuple, TypeVar

from .errors import InvalidValueError

__all__ = ["CHUNK_ALIGN", "MIN_ENTRIES_PER_THREAD", "available_cpus", "check_threads",
           "plan", "run", "run_each"]

T = TypeVar("T")

#: Chunks start on multiples of this many entries: 8 of decode.c's 512-entry
#: blocks, and 4096 bytes of the narrowest (uint8) column, so chunk starts
#: keep every column's 64-byte (cache line) and 32-byte (AVX2 stream)
#: alignment.
CHUNK_ALIGN = 4096

#: With ``threads=None``, the fewest entries each thread must get before a
#: call is split.  Measured on the project's 2-vCPU VM with
#: benchmarks/bench_thread_threshold.py: handing a chunk to the pool costs
#: ~23 us, and one thread takes ~2.3 (decode), 0.8 (classify), 4.3 and 1.7
#: (the upper levels' plain loops), 8.3 (decode_pagemap, fresh outputs) and
#: 3.1 ns (pte_to_pagemap) an entry, so a perfectly scaling split breaks even
#: at ~10K, 29K, 5K, 13K, 3K and 7K entries per thread.  Two threads do not
#: scale perfectly (memory bandwidth, first touch of new outputs), and on a
#: quiet moment of that shared machine became clearly faster (< 0.8x) at
#: 64K (decode), 256K (classify), 32K (decode_level), 64K (classify_level)
#: and 128K (decode_pagemap) entries per thread: the values below, about
#: four times the break-even, within a factor of two of those.  Names are the
#: ``op`` arguments of :func:`run`.
MIN_ENTRIES_PER_THREAD = {
    "decode": 1 << 16,
    "classify": 1 << 17,
    "decode_level": 1 << 15,
    "classify_level": 1 << 16,
    "decode_pagemap": 1 << 16,
    "pte_to_pagemap": 1 << 16,
}

#: More threads than this are never started for one call (the pool's size).
MAX_THREADS = 64


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, e.g. under
    ``taskset`` or a container's cpuset), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):     # no sched_getaffinity (not Linux)
        return max(1, os.cpu_count() or 1)


def check_threads(threads: object) -> Optional[int]:
    """``threads=`` as given to a public function: None (automatic) or a
    positive integer; anything else is an InvalidValueError naming it."""
    if threads is None:
        return None
    if isinstance(threads, bool):
        raise InvalidValueError("threads=%r is not a thread count; pass a positive integer, "
                                "or None for automatic" % (threads,))
    try:
        count = operator.index(threads)     # int and numpy integers, not 2.0 or "2"
    except TypeError:
        raise InvalidValueError("threads must be a positive integer or None (automatic), "
                                "got %r (%s)" % (threads, type(threads).__name__)) from None
    if count < 1:
        raise InvalidValueError("threads=%d: need at least 1 (threads=1 runs in the calling "
                                "thread; None picks the CPUs this process may use)" % count)
    return count


def plan(n: int, threads: Optional[int], op: str) -> List[Tuple[int, int]]:
    """The ``(start, stop)`` chunks of a call over n entries.

    ``threads=None``: one chunk per available CPU, but only as many as give
    each at least ``MIN_ENTRIES_PER_THREAD[op]`` entries.  ``threads=k``: up
    to k chunks (never more than :data:`MAX_THREADS`) of at least one
    :data:`CHUNK_ALIGN` each, however small the input: an explicit count is
    taken at its word.  The chunks cover ``range(n)`` in order, without gaps
    or overlaps; n == 0 gives one empty chunk.
    """
    if threads is None:
        per_thread = MIN_ENTRIES_PER_THREAD[op]
        wanted = n // per_thread
        if wanted >= 2:                       # the syscall only when it matters
            wanted = min(wanted, available_cpus())
    else:
        wanted = min(threads, -(-n // CHUNK_ALIGN))
    wanted = min(wanted, MAX_THREADS)
    if wanted <= 1:
        return [(0, n)]
    size = -(-n // wanted)                    # ceil, then up to a chunk start
    size = -(-size // CHUNK_ALIGN) * CHUNK_ALIGN
    return [(start, min(start + size, n)) for start in range(0, n, size)]


_pool: Optional[ThreadPoolExecutor] = None
_pool_pid = 0
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The shared pool; its threads start on demand, up to MAX_THREADS.  A
    forked child gets a new one (the parent's worker threads are not there)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = ThreadPoolExecutor(max_workers=MAX_THREADS,
                                       thread_name_prefix="ptebits")
            _pool_pid = os.getpid()
        return _pool


def run_each(works: List[Callable[[], T]]) -> List[T]:
    """Call every function, the first in the calling thread and the others
    in the pool, as :func:`run` does with its chunks; results in order."""
    if len(works) <= 1:
        return [w() for w in works]
    return run(len(works), len(works), "", lambda a, b: works[a](), plan_=[
        (i, i + 1) for i in range(len(works))])


def run(n: int, threads: Optional[int], op: str, work: Callable[[int, int], T],
        plan_: Optional[List[Tuple[int, int]]] = None) -> List[T]:
    """Call ``work(start, stop)`` for every chunk of :func:`plan`, the first
    in the calling thread and the others in the pool; returns their results
    in chunk order.  Returns only when every chunk has finished, so the
    outputs are complete (and no chunk is still writing) when it does."""
    chunks = plan_ or plan(n, threads, op)
    if len(chunks) == 1:
        return [work(*chunks[0])]
    pool = _executor()
    futures: List[Future] = [pool.submit(work, a, b) for a, b in chunks[1:]]
    try:
        first = work(*chunks[0])
        rest = [f.result() for f in futures]
    except BaseException:
        # a failure or Ctrl-C: drop the chunks not started, and let the
        # running ones finish before the caller sees the exception (and
        # perhaps reuses the buffers they write)
        for f in futures:
            f.cancel()
        wait(futures)
        raise
    return [first] + rest
