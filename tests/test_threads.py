"""Threads (README "Threads"): the array calls of the codec split large
inputs into contiguous chunks decoded by several threads at once, and give
exactly the single-thread result; many Python threads may call ptebits at
once on separate arrays, and share read-only inputs.

Each entry's decode depends on that entry alone, so the split cannot change
a result: the tests below check that it does not, around every chunk and
block boundary, at every level, with out= buffers and read-only inputs.
"""
from __future__ import annotations

import glob
import os
import re
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List

import numpy as np
import pytest

import ptebits
from ptebits import _parallel
from ptebits.bench import make_page_table
from ptebits.errors import InvalidValueError

from conftest import MAIN_PROFILES

A = _parallel.CHUNK_ALIGN
BLOCK = 512                  # test reference: decode.c's PB_BLOCK (entries per block)
LEVELS = ptebits.LEVELS
CSRC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "csrc")

#: Sizes around the block and chunk boundaries, and odd ones.
SIZES = (0, 1, 7, BLOCK - 1, BLOCK, BLOCK + 1, A - 1, A, A + 1, 2 * A - 1, 2 * A + 7,
         3 * A + 1, 5 * A - 3, 8 * A + BLOCK + 3)
COUNTS = (2, 3, 4, 8)


def _table(n: int, seed: int = 1, profile: str = "linux-6.18") -> np.ndarray:
    """A page table in the benchmark's mix (runs of every kind), with every
    fourth entry replaced by random bits (bad entries, odd shapes, every
    path of the upper-level decoders)."""
    raw = make_page_table(n, seed=seed, profile=profile) if n else np.zeros(0, np.uint64)
    rng = np.random.default_rng(seed)
    raw[::4] = rng.integers(0, 1 << 64, size=raw[::4].size, dtype=np.uint64)
    return raw


def _columns(d: Any) -> Dict[str, np.ndarray]:
    names = ("kind", "pfn", "flags", "swp_type", "swp_offset", "aux") \
        if isinstance(d, ptebits.Decoded) else ("kind", "pfn", "pm_flags", "swp_type",
                                                 "swp_offset", "aux")
    return {name: getattr(d, name) for name in names}


def _assert_same(got: Any, want: Any) -> None:
    if isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
        return
    for name, col in _columns(want).items():
        assert getattr(got, name).shape == col.shape, name
        np.testing.assert_array_equal(getattr(got, name), col, err_msg=name)


# ------------------------------------------------------------ threads=

CALLS: Dict[str, Callable[..., Any]] = {
    "decode": lambda raw, **kw: ptebits.decode(raw, **kw),
    "classify": lambda raw, **kw: ptebits.classify(raw, **kw),
    "decode_pagemap": lambda raw, **kw: ptebits.decode_pagemap(raw, **kw),
    "pte_to_pagemap": lambda raw, **kw: ptebits.pte_to_pagemap(raw, **kw),
}


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("bad", [0, -1, -(1 << 70), 2.0, float("nan"), "2", True, [2],
                                 np.float64(2)])
def test_threads_must_be_a_positive_integer(call: str, bad: Any) -> None:
    with pytest.raises(InvalidValueError, match=r"threads"):
        CALLS[call](np.zeros(3, np.uint64), threads=bad)


@pytest.mark.parametrize("call", sorted(CALLS))
@pytest.mark.parametrize("good", [None, 1, 2, np.int64(3), np.uint8(64), 1000])
def test_threads_takes_none_and_any_positive_integer(call: str, good: Any) -> None:
    raw = _table(3 * A + 5)
    _assert_same(CALLS[call](raw, threads=good), CALLS[call](raw, threads=1))


# ---------------------------------------------------------- the chunks

@pytest.mark.parametrize("n", SIZES + (10 ** 6 + 3,))
@pytest.mark.parametrize("threads", (None, 1) + COUNTS + (1000,))
def test_chunks_cover_the_input_in_order_on_aligned_starts(n: int, threads: Any) -> None:
    chunks = _parallel.plan(n, threads, "decode")
    assert chunks[0][0] == 0 and chunks[-1][1] == n
    assert all(a < b for a, b in chunks) or chunks == [(0, 0)]
    assert all(prev[1] == nxt[0] for prev, nxt in zip(chunks, chunks[1:]))
    assert all(a % A == 0 for a, _ in chunks)
    assert len(chunks) <= min(_parallel.MAX_THREADS, threads or _parallel.available_cpus())


def test_threads_1_is_one_call_and_an_explicit_count_splits_small_inputs() -> None:
    assert _parallel.plan(10 * A, 1, "decode") == [(0, 10 * A)]
    assert _parallel.plan(A + 1, 4, "decode") == [(0, A), (A, A + 1)]
    assert _parallel.plan(A, 4, "decode") == [(0, A)]
    assert len(_parallel.plan(10 * A, 4, "decode")) == 4


def test_automatic_count_splits_only_inputs_large_enough_to_pay(monkeypatch: Any) -> None:
    monkeypatch.setattr(_parallel, "available_cpus", lambda: 4)
    for op, per_thread in _parallel.MIN_ENTRIES_PER_THREAD.items():
        assert _parallel.plan(2 * per_thread - 1, None, op) == [(0, 2 * per_thread - 1)]
        assert len(_parallel.plan(2 * per_thread, None, op)) == 2
        assert len(_parallel.plan(100 * per_thread, None, op)) == 4   # never more than CPUs
    monkeypatch.setattr(_parallel, "available_cpus", lambda: 1)
    assert _parallel.plan(10 ** 8, None, "decode") == [(0, 10 ** 8)]


def test_available_cpus_is_the_affinity_mask() -> None:
    assert _parallel.available_cpus() == len(os.sched_getaffinity(0))


# --------------------------------------------- same result, any split

@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("n", SIZES)
def test_decode_and_classify_split_give_the_one_thread_result(level: str, n: int) -> None:
    raw = _table(n, seed=n)
    want = ptebits.decode(raw, level=level, threads=1)
    want_kind = ptebits.classify(raw, level=level, threads=1)
    np.testing.assert_array_equal(want_kind, want.kind)
    for threads in COUNTS + (None,):
        _assert_same(ptebits.decode(raw, level=level, threads=threads), want)
        _assert_same(ptebits.classify(raw, level=level, threads=threads), want_kind)


@pytest.mark.parametrize("profile", MAIN_PROFILES)
@pytest.mark.parametrize("n", SIZES)
def test_pagemap_codec_split_gives_the_one_thread_result(profile: str, n: int) -> None:
    raw = _table(n, seed=n, profile=profile)
    rng = np.random.default_rng(n)
    file, excl = rng.random(n) < 0.5, rng.random(n) < 0.5
    want = ptebits.pte_to_pagemap(raw, file=file, exclusive=excl, profile=profile, threads=1)
    words = np.concatenate([want[: n // 2],
                            rng.integers(0, 1 << 64, n - n // 2, dtype=np.uint64)])
    want_dec = ptebits.decode_pagemap(words, profile=profile, threads=1)
    for threads in COUNTS + (None,):
        _assert_same(ptebits.pte_to_pagemap(raw, file=file, exclusive=excl, profile=profile,
                                            threads=threads), want)
        _assert_same(ptebits.decode_pagemap(words, profile=profile, threads=threads),
                     want_dec)


@pytest.mark.parametrize("shape", [(3, A + 1), (2, 3, BLOCK + 5), (5 * A - 3, 1)])
def test_any_shape_splits_over_the_flattened_entries(shape: Any) -> None:
    raw = _table(int(np.prod(shape)), seed=7).reshape(shape)
    want = ptebits.decode(raw, threads=1)
    got = ptebits.decode(raw, threads=4)
    assert got.shape == shape
    _assert_same(got, want)
    _assert_same(ptebits.classify(raw, threads=4), want.kind)
    _assert_same(ptebits.decode_pagemap(raw, threads=4), ptebits.decode_pagemap(raw, threads=1))
    _assert_same(ptebits.pte_to_pagemap(raw, threads=4), ptebits.pte_to_pagemap(raw, threads=1))


@pytest.mark.parametrize("n", (BLOCK + 1, 3 * A + 1))
def test_out_buffers_are_rewritten_entirely_on_reuse(n: int) -> None:
    """Every element of a reused out= is written by exactly one chunk: stale
    contents (here all ones) never survive a split decode."""
    first, second = _table(n, seed=1), _table(n, seed=2)
    out = ptebits.decode(first, threads=3)
    for col in _columns(out).values():
        col.fill(np.iinfo(col.dtype).max)
    got = ptebits.decode(second, out=out, threads=3)
    assert got is out and got.raw is second
    _assert_same(got, ptebits.decode(second, threads=1))
    kinds = np.full(n, 0xFF, np.uint8)
    assert ptebits.classify(second, out=kinds, threads=4) is kinds
    _assert_same(kinds, got.kind)
    ptebits.decode(first, level="pmd", out=out, threads=4)
    _assert_same(out, ptebits.decode(first, level="pmd", threads=1))


def test_out_buffers_need_not_be_cache_line_aligned() -> None:
    """out= arrays of the caller's own, at odd addresses: chunk starts then
    share cache lines between threads, which costs speed, not correctness."""
    n = 4 * A + 3
    raw = _table(n, seed=3)
    want = ptebits.decode(raw, threads=1)
    cols = []
    for name, col in _columns(want).items():
        buf = np.empty(col.nbytes + col.itemsize, np.uint8)[col.itemsize:]
        cols.append(buf.view(col.dtype))
    out = ptebits.Decoded(want.profile, raw, cols)
    _assert_same(ptebits.decode(raw, out=out, threads=4), want)


def test_read_only_inputs_are_decoded_in_place_by_every_thread() -> None:
    raw = _table(6 * A + 11, seed=4)
    raw.setflags(write=False)
    want = ptebits.decode(raw, threads=1)
    got = ptebits.decode(raw, threads=4)
    assert got.raw is raw
    _assert_same(got, want)
    _assert_same(ptebits.classify(raw, threads=4), want.kind)
    _assert_same(ptebits.decode_pagemap(raw, threads=4), ptebits.decode_pagemap(raw, threads=1))
    _assert_same(ptebits.pte_to_pagemap(raw, threads=4), ptebits.pte_to_pagemap(raw, threads=1))
    # an array over immutable memory (bytes, a read-only mapping of a dump)
    mm = np.frombuffer(raw.tobytes(), dtype=np.uint64)
    assert not mm.flags.writeable
    _assert_same(ptebits.decode(mm, threads=4), want)


# ------------------------------------------- many Python threads at once

def _work(seed: int, n: int) -> List[Any]:
    raw = _table(n, seed=seed)
    return [ptebits.decode(raw, threads=1), ptebits.classify(raw, level="pmd", threads=1),
            ptebits.decode_pagemap(raw, threads=1), ptebits.pte_to_pagemap(raw, threads=1)]


def test_many_python_threads_on_separate_arrays_get_the_one_thread_results() -> None:
    sizes = [0, 1, A - 1, A + 1, 3 * A + 7, 300_001, 2 * A, 1_100_003]   # some split
    inputs = [_table(n, seed=100 + i) for i, n in enumerate(sizes)]
    wants = [_work(100 + i, n) for i, n in enumerate(sizes)]

    def job(i: int, round_: int) -> List[Any]:
        raw, threads = inputs[i], (1, 2, 4, None)[(i + round_) % 4]
        outs = [ptebits.decode(raw, threads=threads)]
        kinds = np.empty(raw.shape, np.uint8)
        outs.append(ptebits.classify(raw, level="pmd", out=kinds, threads=threads))
        outs.append(ptebits.decode_pagemap(raw, threads=threads))
        outs.append(ptebits.pte_to_pagemap(raw, threads=threads))
        # and once more into the same out=, by the same Python thread
        outs[0] = ptebits.decode(raw, out=outs[0], threads=threads)
        return outs

    with ThreadPoolExecutor(max_workers=12) as pool:
        futures = [(i, pool.submit(job, i, r)) for r in range(6) for i in range(len(sizes))]
        for i, fut in futures:
            for got, want in zip(fut.result(timeout=120), wants[i]):
                _assert_same(got, want)


def test_many_python_threads_share_one_read_only_input() -> None:
    raw = _table(1_000_003, seed=9)
    raw.setflags(write=False)
    want = ptebits.decode(raw, threads=1)

    def job(k: int) -> Any:
        return ptebits.decode(raw, level="pte", threads=(1, 2, 3, None)[k % 4])

    with ThreadPoolExecutor(max_workers=8) as pool:
        for got in pool.map(job, range(16), timeout=120):
            _assert_same(got, want)


# ---------------------------------------------------------- the runner

def test_a_failing_chunk_raises_after_every_chunk_finished() -> None:
    done: List[int] = []

    def work(a: int, b: int) -> int:
        if a == A:
            raise OSError("chunk %d failed" % a)
        time.sleep(0.05)
        done.append(a)
        return a

    with pytest.raises(OSError, match="chunk 4096 failed"):
        _parallel.run(4 * A, 4, "decode", work)
    assert sorted(done) == [0, 2 * A, 3 * A]
    assert _parallel.run(4 * A, 4, "decode", lambda a, b: (a, b)) == \
        [(0, A), (A, 2 * A), (2 * A, 3 * A), (3 * A, 4 * A)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_a_forked_child_gets_its_own_pool() -> None:
    """The parent's pool threads do not exist in a child: a child that
    reused the pool would wait for ever for its chunks."""
    raw = _table(4 * A, seed=5)
    want = ptebits.decode(raw, threads=4)             # the parent's pool is up, idle
    pid = os.fork()
    if pid == 0:                                      # child: exit status tells
        signal.alarm(30)
        try:
            # one chunk for the pool: a copied pool would count a parent's
            # idle thread as ready and start none
            got = ptebits.decode(raw, threads=2)
            same = all(np.array_equal(getattr(got, k), v) for k, v in _columns(want).items())
            os._exit(0 if same else 1)
        except BaseException:
            os._exit(2)
    deadline = time.monotonic() + 60
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("the forked child hung decoding with threads=4")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


# ------------------------------------------------ what makes it safe

def test_every_c_call_releases_the_gil(tmp_path: Any) -> None:
    """cffi wraps every C function of the module the same way; the wrapper it
    generates for each one runs the call between Py_BEGIN_ALLOW_THREADS and
    Py_END_ALLOW_THREADS, so other Python threads run meanwhile."""
    cffi = pytest.importorskip("cffi")
    del cffi
    sys.path.insert(0, CSRC)
    try:
        import ptebits_build
    finally:
        sys.path.remove(CSRC)
    target = str(tmp_path / "native.c")
    ptebits_build.ffibuilder.emit_c_code(target)
    with open(target) as f:
        source = f.read()
    bodies = {m.group(1): m.group(2) for m in re.finditer(
        r"static PyObject \*\n_cffi_f_(\w+)\((.*?\n)}\n", source, re.S)}
    for name in ("pb_decode_array", "pb_classify_array", "pb_decode_level_array",
                 "pb_classify_level_array", "pb_pagemap_decode_array",
                 "pb_pte_to_pagemap_array"):
        assert name in bodies
    for name, body in bodies.items():
        call = body.index(" %s(" % name)
        assert body.rindex("Py_BEGIN_ALLOW_THREADS", 0, call) < call < \
            body.index("Py_END_ALLOW_THREADS", call), name


# live.c drives a real kernel (faults caught with signal handlers, one
# access at a time); it is not part of the codec and is not called from
# threads by ptebits.
NOT_CODEC = {"live.c"}


def test_the_c_codec_keeps_no_mutable_static_state() -> None:
    """Reentrancy: no static or global variable the codec could write, so
    threads calling it at once cannot disturb each other."""
    files = [p for p in sorted(glob.glob(os.path.join(CSRC, "*.[ch]")))
             if os.path.basename(p) not in NOT_CODEC]
    assert any(p.endswith("decode.c") for p in files)
    problems = []
    for path in files:
        with open(path) as f:
            text = re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S)
        for line in text.splitlines():
            words = line.split()
            if not words or words[0] not in ("static", "extern", "_Thread_local", "__thread"):
                continue
            decl = line.split("=")[0]
            paren = decl.find("(")
            if paren >= 0 and not decl[paren + 1:].lstrip().startswith("*"):
                continue                      # a function, not a (*pointer) to one
            # every pointer level and the object itself must be const
            stars = decl.split("*")
            if "const" not in stars[0] or any("const" not in s for s in stars[1:]):
                problems.append("%s: %s" % (os.path.basename(path), line.strip()))
    assert not problems, "mutable static state in the C codec:\n" + "\n".join(problems)


# ---------------------------------------------------------- the bench

def test_bench_reports_thread_scaling_against_one_thread_of_the_same_run() -> None:
    """README "Benchmarks": thread_scaling holds, for each count 2..N, the
    time with N threads over the time with one, from the same repeats, and
    the threaded columns are checked against one thread.  No speed asserted."""
    from ptebits.bench import format_report, run_codec_bench
    res = run_codec_bench(3 * A + 5, repeats=2, python_sample=100, max_threads=3)
    sc = res["thread_scaling"]
    assert sc["cpus"] == _parallel.available_cpus() and sc["threads"] == [2, 3]
    for job in ("decode", "classify"):
        assert set(sc["ratio_to_1_thread"][job]) == {"2", "3"}
        assert [len(v) for v in sc["all_s"][job].values()] == [2, 2]
        for n, ratio in sc["ratio_to_1_thread"][job].items():
            assert ratio == pytest.approx(sc["median_s"][job][n] / res["median_s"][job])
    assert res["checks"]["threaded_columns_identical"] is True
    assert "thread scaling on" in format_report(res)
    one = run_codec_bench(1000, repeats=1, python_sample=10, max_threads=1)
    assert one["thread_scaling"]["threads"] == []
    assert "thread scaling: not measured" in format_report(one)


def test_bench_max_threads_below_one_is_a_usage_error(capsys: Any) -> None:
    from ptebits.cli import main
    assert main(["bench", "--entries", "100", "--max-threads", "0"]) == 2
    assert "--max-threads" in capsys.readouterr().err
