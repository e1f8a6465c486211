"""Threads and the fault model: dispatch(threads=k) splits the faults by
partitions that cannot affect each other (an anonymous VMA; the VMAs of
one shmem object) and must give exactly what one thread gives -- PTEs,
page caches, new PFNs, handlers, traces, messages in order, counts; and
separate address spaces may be driven from many Python threads at once."""
from __future__ import annotations

import threading
from typing import Any, Dict, List

import numpy as np
import pytest

from ptebits import AddressSpace, InvalidValueError

PROFILES = ["linux-6.18", "linux-5.12-uffd-wp-v2"]


def build(profile: str) -> AddressSpace:
    """Five VMAs in four partitions: a shmem object mapped shared and
    private (one partition), two anonymous VMAs, MAP_SHARED|MAP_ANONYMOUS."""
    mm = AddressSpace(4096, profile=profile)
    obj = mm.mmap(0, 1024, "shmem").object
    mm.mmap(1024, 512, "shmem_private", object=obj, offset=0)
    mm.mmap(1536, 1024, "anon")
    mm.mmap(2560, 512, "shared_anon")
    mm.mmap(3072, 1000, "anon")             # pages 4072.. are unmapped: SIGSEGV
    mm.register(0, 1024, "MISSING|WP")
    mm.register(1536, 1024, "WP")
    return mm


def run(mm: AddressSpace, seed: int, threads: Any) -> List[Any]:
    rng = np.random.default_rng(seed)
    pages = rng.integers(0, 4096, 20000)
    access = rng.integers(0, 2, 20000).astype(np.uint8)
    a = mm.dispatch(pages, access, resolve="all", threads=threads)
    mm.writeprotect(0, 1024)
    mm.writeprotect(1536, 1024)
    mm.dontneed(0, 512)
    b = mm.dispatch(pages[::-1].copy(), access, resolve="WP|MISSING+WP", trace=True,
                    threads=threads)
    return [mm.pte.copy(), mm.objects[0].cache.copy(), mm.objects[1].cache.copy(),
            mm.next_pfn, a.handler, a.last, a.outcome, a.passes, a.counts, a.outcomes,
            b.handler, b.trace, b.counts, b.outcomes,
            {k: v.copy() for k, v in a.messages.items()},
            {k: v.copy() for k, v in b.messages.items()}]


def same(x: Any, y: Any) -> bool:
    if isinstance(x, dict):
        return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, np.ndarray):
        return x.dtype == y.dtype and np.array_equal(x, y)
    return bool(x == y)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("threads", [2, 3, 8, None])
@pytest.mark.parametrize("seed", [1, 2])
def test_threaded_dispatch_equals_one_thread(profile: str, threads: Any, seed: int) -> None:
    one = run(build(profile), seed, 1)
    many = run(build(profile), seed, threads)
    for i, (x, y) in enumerate(zip(one, many)):
        assert same(x, y), i


def test_one_partition_runs_in_the_calling_thread() -> None:
    mm = AddressSpace(64)
    mm.mmap(0, 64, "anon")
    b = mm.dispatch(np.arange(64), "write", threads=4)
    assert b._native is not None            # the one-thread path (its buffers can be reused)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_threads_must_be_a_positive_count(bad: Any) -> None:
    mm = AddressSpace(4)
    mm.mmap(0, 4, "anon")
    with pytest.raises(InvalidValueError, match="threads"):
        mm.dispatch([0], "read", threads=bad)


def test_many_python_threads_on_separate_address_spaces() -> None:
    """The C core is reentrant and releases the GIL: eight threads, each
    with its own address space, give what one thread gives."""
    want = {p: run(build(p), 7, 1) for p in PROFILES}
    got: Dict[int, List[Any]] = {}
    errors: List[BaseException] = []

    def work(i: int) -> None:
        try:
            got[i] = run(build(PROFILES[i % 2]), 7, 1 + i % 3)
        except BaseException as e:          # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(got) == 8
    for i, res in got.items():
        assert all(same(x, y) for x, y in zip(want[PROFILES[i % 2]], res)), i
