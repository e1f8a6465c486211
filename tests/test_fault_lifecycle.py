"""The seed's uffd-wp life cycle end to end, and dispatch at scale.

The seed patch (v2 05/24) exists for one story: a write-protected shmem
page loses its PTE (hole punch's early unmap, MADV_DONTNEED, swap-out), the
uffd-wp bit survives as a leftover (the v2 special PTE 0x4; a 6.18 uffd-wp
marker), the next read maps the page read-only with uffd-wp and sends no
message, the write then sends exactly one WP message.  A leftover found in
a VMA that is no longer uffd-wp is cleared by the fault that finds it.
"""
from __future__ import annotations

import tracemalloc
from typing import Any, Dict

import numpy as np
import pytest

import reference as ref
from ptebits.fault import AddressSpace, Handler, Outcome

V2 = "linux-5.12-uffd-wp-v2"
V618 = "linux-6.18"
BOTH = pytest.mark.parametrize("profile", [V2, V618])

# test references (fact sheet §1, §5)
PAGE_COPY = ref.PAGE_COPY                   # 0x8000000000000025: read-only user page
UFFD_WP = ref.UFFD_WP                       # bit 10
LEFTOVER = {V2: 0x4,                        # UFFD_WP_SWP_PTE_SPECIAL
            V618: 0xFFFFFFFFFFFFFC00}       # make_pte_marker(PTE_MARKER_UFFD_WP)
#: the function that meets the leftover first, and the one that clears it
SPECIAL_PATH = {V2: ("uffd_wp_handle_special", "uffd_wp_clear_special"),
                V618: ("pte_marker_handle_uffd_wp", "pte_marker_clear")}
ZAPS = ("punch", "dontneed", "pageout")


def zap(mm: AddressSpace, how: str, page: int) -> None:
    if how == "punch":                     # fallocate(PUNCH_HOLE|KEEP_SIZE)
        v = mm.vma_at(page)
        mm.punch(v.object, v.pgoff + page - v.start, 1)
    elif how == "dontneed":
        mm.dontneed(page, 1)
    else:
        mm.pageout(page, 1)


def protected_shmem_page(profile: str) -> AddressSpace:
    mm = AddressSpace(4, profile=profile)
    mm.mmap(0, 4, "shmem")
    mm.register(0, 4, "WP")
    mm.dispatch([0], "write")
    mm.writeprotect(0, 1)
    return mm


@BOTH
@pytest.mark.parametrize("how", ZAPS)
def test_uffd_wp_survives_a_zap_of_a_shmem_page(profile: str, how: str) -> None:
    mm = protected_shmem_page(profile)
    old_pfn = ref.pte_pfn(int(mm.pte[0]))
    assert int(mm.pte[0]) & UFFD_WP

    zap(mm, how, 0)
    assert int(mm.pte[0]) == LEFTOVER[profile]

    # read it back: installed read-only with uffd-wp, no message
    b = mm.dispatch([0], "read", trace=True)
    assert b.message_list() == []
    assert (str(Outcome(int(b.outcome[0]))), int(b.passes[0])) == ("done", 1)
    assert str(Handler(int(b.handler[0]))) == SPECIAL_PATH[profile][0]
    pfn = int(mm.objects[0].cache[0])
    # DONTNEED keeps the page in the cache; punch frees it; pageout swaps it
    assert (pfn == old_pfn) == (how == "dontneed")
    assert int(mm.pte[0]) == (pfn << ref.PAGE_SHIFT) | PAGE_COPY | UFFD_WP
    pm = int(mm.pagemap(0, 1)[0])
    assert pm & ref.PM_PRESENT and bool(pm & ref.PM_UFFD_WP) == (profile == V618)

    # write it: exactly one WP message, the page stays write-protected
    b = mm.dispatch([0], "write")
    assert b.message_list() == [{"fault": 0, "page": 0, "kind": "WP", "write": True}]
    assert str(Outcome(int(b.outcome[0]))) == "wait"
    assert int(mm.pte[0]) == (pfn << ref.PAGE_SHIFT) | PAGE_COPY | UFFD_WP

    # the handler un-protects: the write completes, still one message
    b = mm.dispatch([0], "write", resolve="WP")
    assert b.message_counts()["WP"] == 1
    assert str(Outcome(int(b.outcome[0]))) == "done"
    assert int(mm.pte[0]) & ref.RW and not int(mm.pte[0]) & UFFD_WP
    b = mm.dispatch([0], "write")
    assert b.message_list() == []


@BOTH
@pytest.mark.parametrize("how", ZAPS)
def test_a_write_to_the_zapped_page_sends_exactly_one_wp(profile: str, how: str) -> None:
    mm = protected_shmem_page(profile)
    zap(mm, how, 0)
    b = mm.dispatch([0], "write", trace=True)
    # first pass installs read-only (no message), the retried write sends WP
    assert [m["kind"] for m in b.message_list()] == ["WP"]
    assert int(b.passes[0]) == 2
    assert SPECIAL_PATH[profile][0] in b.path(0) and "handle_userfault_wp" in b.path(0)


@BOTH
@pytest.mark.parametrize("how", ZAPS)
def test_a_leftover_in_an_unregistered_vma_is_cleared_on_fault(profile: str, how: str) -> None:
    mm = protected_shmem_page(profile)
    zap(mm, how, 0)
    mm.unregister(0, 4)
    if profile == V618:
        # 6.18 removes the markers of the range at unregister; one left
        # behind anyway (the kernel's lazy path) is cleared by the fault
        assert int(mm.pte[0]) == 0
        mm.pte[0] = LEFTOVER[profile]
    else:
        assert int(mm.pte[0]) == LEFTOVER[profile]     # v2: only the VMA flags change
    b = mm.dispatch([0], "write", trace=True)
    handle, clear = SPECIAL_PATH[profile]
    assert str(Handler(int(b.handler[0]))) == clear
    assert handle in b.path(0) and clear in b.path(0)
    assert b.message_list() == [] and int(b.passes[0]) == 2
    assert int(mm.pte[0]) & ref.RW and not int(mm.pte[0]) & UFFD_WP


# ------------------------------------------------------------- at scale

N_FAULTS = 10_485_760          # 10 Mi faults
N_PAGES = 10_485_760           # over 10 Mi PTEs (80 MiB)
WP_START = 8 << 20             # the WP-registered shmem VMA
WP_PAGES = 1 << 18             # a write-protected stretch of it


def big_address_space(profile: str) -> AddressSpace:
    """Anon [0, 4Mi), shmem [4Mi, 8Mi), WP-registered shmem [8Mi, 10Mi)
    with its first WP_PAGES none PTEs write-protected (markers / specials)."""
    mm = AddressSpace(N_PAGES, profile=profile)
    mm.mmap(0, WP_START // 2, "anon")
    mm.mmap(WP_START // 2, WP_START // 2, "shmem")
    mm.mmap(WP_START, N_PAGES - WP_START, "shmem")
    mm.register(WP_START, N_PAGES - WP_START, "WP")
    mm.writeprotect(WP_START, WP_PAGES)
    return mm


def workload() -> Dict[str, np.ndarray]:
    """Every page once in a scattered order (a stride coprime to the size),
    reads and writes mixed by a seeded generator."""
    pages = (np.arange(N_FAULTS, dtype=np.uint64) * np.uint64(7919)) % np.uint64(N_PAGES)
    access = np.random.default_rng(20210427).integers(0, 2, N_FAULTS, dtype=np.uint8)
    return {"pages": pages, "access": access}


@BOTH
def test_dispatch_of_10m_faults_is_bounded_and_deterministic(profile: str) -> None:
    work = workload()
    input_bytes = work["pages"].nbytes + work["access"].nbytes
    results = []
    for _ in range(2):
        mm = big_address_space(profile)
        tracemalloc.start()
        try:
            b = mm.dispatch(work["pages"], work["access"], resolve="WP")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # arrays only: a few bytes per fault (4 uint8 results and the message
        # buffers); one Python object per fault would be tens of bytes each
        assert peak < input_bytes, "dispatch allocated %d bytes for %d faults" % (
            peak, N_FAULTS)
        results.append((mm, b))
    (mm1, b1), (mm2, b2) = results
    assert len(b1) == N_FAULTS
    for name in ("handler", "last", "outcome", "passes"):
        assert np.array_equal(getattr(b1, name), getattr(b2, name)), name
    for name in ("fault", "page", "kind"):
        assert np.array_equal(b1.messages[name], b2.messages[name]), name
    assert np.array_equal(mm1.pte, mm2.pte)
    assert all(np.array_equal(a.cache, c.cache) for a, c in zip(mm1.objects, mm2.objects))
    assert b1.counts == b2.counts and b1.outcomes == b2.outcomes
    # the mix did what it says: every fault completed, each write to a
    # protected page sent one WP, every page is mapped
    assert b1.outcomes["done"] == N_FAULTS
    special = "uffd_wp_handle_special" if profile == V2 else "pte_marker_handle_uffd_wp"
    assert b1.counts[special] == WP_PAGES
    assert b1.message_counts()["WP"] == _writes_to_wp_pages(work)
    assert b1.counts["do_anonymous_page"] > 0 and b1.counts["do_shared_fault"] > 0
    assert int(np.count_nonzero(mm1.pte & np.uint64(ref.PRESENT))) == N_PAGES


def _writes_to_wp_pages(work: Dict[str, Any]) -> int:
    in_wp = (work["pages"] >= WP_START) & (work["pages"] < WP_START + WP_PAGES)
    return int(np.count_nonzero(in_wp & (work["access"] == 1)))
