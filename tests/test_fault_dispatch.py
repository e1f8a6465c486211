"""The fault model against the kernel, branch by branch.

Every test is named after the kernel function whose branch it walks, in
the decision order of handle_pte_fault() of each profile:
linux-5.12-uffd-wp-v2 (5.12.9 + the seed patch v2 05/24 + the rest of the
v2 series) and linux-6.18 (6.18.35).  The PTE a fault installs is compared
bit for bit with a value built here from the fact sheet's constants
(``reference``: PAGE_SHARED = 0x8000000000000027 and friends, typed from
the sheet and shared with no ptebits code), including the sheet's worked
examples of 7a and 7b.

Kernel source checked beyond the fact sheet (6.18 mm/memory.c as in
Debian's linux-source-6.12, which has the same code for these paths):
do_fault_around() clamps the window to the VMA by moving its start
(from_pte = max(ALIGN_DOWN(pte_off, nr), pte_off - vma_off)) and ends it
at min(from + nr, PTRS_PER_PTE, VMA end); filemap_map_pages() stops at EOF
and skips non-none PTEs; handle_pte_marker() tests POISONED before GUARD
before UFFD_WP.  5.12's do_swap_page() drops FAULT_FLAG_WRITE when it
reuses the page, so a uffd-wp swap entry comes back read-only and the
*retried* write sends the WP message; 6.18 keeps FAULT_FLAG_WRITE (the
page is not made writable under userfaultfd_pte_wp) and calls do_wp_page()
in the same fault.
"""
from __future__ import annotations

from typing import Any, List

import numpy as np
import pytest

import reference as ref
from ptebits.errors import InvalidValueError
from ptebits.fault import AddressSpace, Handler, Outcome

V2 = "linux-5.12-uffd-wp-v2"
V618 = "linux-6.18"
BOTH = pytest.mark.parametrize("profile", [V2, V618])
ONLY_V2 = pytest.mark.parametrize("profile", [V2])
ONLY_618 = pytest.mark.parametrize("profile", [V618])

# -------------------------------------------------- test references
PFN = 0x12345                  # first PFN the model hands out (spec's worked examples)
ZERO_PFN = 0x777               # the model's zero page in these tests
PAGE_SHARED = ref.PAGE_SHARED  # 0x8000000000000027
PAGE_COPY = ref.PAGE_COPY      # 0x8000000000000025 = PAGE_READONLY
PAGE_NONE = ref.PAGE_NONE      # 0x120
RW, DIRTY, ACCESSED = ref.RW, ref.DIRTY, ref.ACCESSED
SPECIAL, UFFD_WP, SOFT_DIRTY = ref.SPECIAL, ref.UFFD_WP, ref.SOFT_DIRTY
SAVED_DIRTY = ref.SAVED_DIRTY_618            # 6.18 bit 58
V2_SPECIAL_PTE = 0x4                         # §5: UFFD_WP_SWP_PTE_SPECIAL
UFFD_WP_MARKER = 0xFFFFFFFFFFFFFC00          # §5: make_pte_marker(PTE_MARKER_UFFD_WP)
POISONED_MARKER = 0xFFFFFFFFFFFFFA00
GUARD_MARKER = 0xFFFFFFFFFFFFF600
EMPTY_MARKER = 0xFFFFFFFFFFFFFE00
SWP_UFFD_WP, SWP_EXCLUSIVE, SWP_SOFT_DIRTY = ref.SWP_UFFD_WP, ref.SWP_EXCLUSIVE, ref.SWP_SOFT_DIRTY


def dirty(profile: str) -> int:
    """pte_mkdirty() of a writable PTE: 5.12 (MEM_SOFT_DIRTY on, §8) sets
    soft-dirty with dirty; 6.18 has no soft-dirty on these machines."""
    return DIRTY | SOFT_DIRTY if profile == V2 else DIRTY


def dirty_ro(profile: str) -> int:
    """pte_mkdirty() of a read-only PTE: 6.18 moves it to SAVED_DIRTY (§1)."""
    return DIRTY | SOFT_DIRTY if profile == V2 else SAVED_DIRTY


def pte(pfn: int, prot: int, *bits: int) -> int:
    out = (pfn << ref.PAGE_SHIFT) | prot
    for b in bits:
        out |= b
    return out


def new_mm(profile: str, npages: int = 8, **kw: Any) -> AddressSpace:
    return AddressSpace(npages, profile=profile, first_pfn=PFN, zero_pfn=ZERO_PFN, **kw)


def mapped(profile: str, memory: str) -> AddressSpace:
    """Pages 0-3 of an 8-page address space mapped as ``memory``."""
    mm = new_mm(profile)
    mm.mmap(0, 4, memory)
    return mm


def fault(mm: AddressSpace, page: int, access: str, **kw: Any) -> Any:
    return mm.dispatch([page], access, trace=True, **kw)


def first(batch: Any) -> str:
    return str(Handler(int(batch.handler[0])))


def last(batch: Any) -> str:
    return str(Handler(int(batch.last[0])))


def outcome(batch: Any) -> str:
    return str(Outcome(int(batch.outcome[0])))


def kinds(batch: Any) -> List[Any]:
    return [(m["kind"], m["write"]) for m in batch.message_list()]


def vma_soft_dirty(profile: str) -> int:
    """pagemap bit 55 on every entry of a fresh mapping where MEM_SOFT_DIRTY
    is on (5.12 profile): mmap_region() sets VM_SOFTDIRTY (spec 6)."""
    return ref.PM_SOFT_DIRTY if profile == V2 else 0


def missing_path(profile: str) -> List[str]:
    """6.18 enters a none PTE through do_pte_missing(); 5.12 inlines it."""
    return ["do_pte_missing"] if profile == V618 else []


def type_of(profile: str, kind: str, sub: Any = None) -> int:
    return next(t for t, (k, s) in ref.ref_profile(profile).type_table.items()
                if k == kind and (sub is None or s == sub))


# ============================================== none PTE: do_anonymous_page

@BOTH
def test_do_anonymous_page_read_maps_the_zero_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    b = fault(mm, 0, "read")
    assert int(mm.pte[0]) == pte(ZERO_PFN, PAGE_COPY, SPECIAL)    # pte_mkspecial(zero pfn)
    assert (first(b), outcome(b)) == ("do_anonymous_page", "done")
    assert b.path(0) == ["handle_pte_fault"] + missing_path(profile) + ["do_anonymous_page"]
    # live finding 1: present, PFN shown, not exclusive, not file
    assert int(mm.pagemap(0, 1)[0]) == ref.PM_PRESENT | vma_soft_dirty(profile) | ZERO_PFN


@BOTH
def test_do_anonymous_page_write_maps_a_new_dirty_writable_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    b = fault(mm, 1, "write")
    assert int(mm.pte[1]) == pte(PFN, PAGE_COPY, RW, dirty(profile))
    assert (first(b), outcome(b), int(b.passes[0])) == ("do_anonymous_page", "done", 1)
    soft = ref.PM_SOFT_DIRTY if profile == V2 else 0
    assert int(mm.pagemap(1, 1)[0]) == ref.PM_PRESENT | ref.PM_MMAP_EXCLUSIVE | soft | PFN


@BOTH
@pytest.mark.parametrize("access", ["read", "write"])
def test_do_anonymous_page_missing_sends_missing(profile: str, access: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "MISSING")
    b = fault(mm, 2, access)
    assert (first(b), outcome(b)) == ("handle_userfault_missing", "wait")
    assert "do_anonymous_page" in b.path(0)
    assert kinds(b) == [("MISSING", access == "write")]
    assert int(mm.pte[2]) == 0                   # the fault waits on a none PTE


# ======================================================== none PTE: do_fault

@BOTH
def test_do_read_fault_maps_the_page_cache_page(profile: str) -> None:
    mm = mapped(profile, "shmem")
    b = fault(mm, 0, "read")
    # shmem has no write-notify: a read maps PAGE_SHARED, writable and clean
    assert int(mm.pte[0]) == pte(PFN, PAGE_SHARED)
    # fault-around found nothing in the cache: __do_fault -> shmem_fault
    assert b.path(0) == ["handle_pte_fault"] + missing_path(profile) + \
        ["do_fault", "do_read_fault"]
    assert int(mm.objects[0].cache[0]) == PFN
    assert int(mm.pagemap(0, 1)[0]) == ref.PM_PRESENT | ref.PM_FILE | \
        ref.PM_MMAP_EXCLUSIVE | vma_soft_dirty(profile) | PFN   # live finding 2


@BOTH
def test_do_shared_fault_maps_the_page_cache_page_dirty(profile: str) -> None:
    mm = new_mm(profile)
    mm.mmap(0, 4, "shared_anon")              # MAP_SHARED|MAP_ANONYMOUS is shmem too
    b = fault(mm, 3, "write")
    assert int(mm.pte[3]) == pte(PFN, PAGE_SHARED, dirty(profile))
    assert (first(b), outcome(b)) == ("do_shared_fault", "done")
    assert int(mm.objects[0].cache[3]) == PFN


@BOTH
def test_do_cow_fault_copies_a_private_file_page(profile: str) -> None:
    mm = mapped(profile, "shmem_private")
    b = fault(mm, 0, "write")
    # the page cache page PFN is read first, the anonymous copy is PFN + 1
    assert int(mm.objects[0].cache[0]) == PFN
    assert int(mm.pte[0]) == pte(PFN + 1, PAGE_COPY, RW, dirty(profile))
    assert (first(b), outcome(b)) == ("do_cow_fault", "done")
    soft = ref.PM_SOFT_DIRTY if profile == V2 else 0
    assert int(mm.pagemap(0, 1)[0]) == ref.PM_PRESENT | ref.PM_MMAP_EXCLUSIVE | soft | (PFN + 1)


@BOTH
def test_shmem_fault_past_eof_is_sigbus(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.truncate(0, 2)
    b = fault(mm, 3, "read")
    assert (first(b), outcome(b)) == ("sigbus", "sigbus")
    assert b.path(0)[-2:] == ["do_read_fault", "sigbus"]
    assert int(mm.pte[3]) == 0


@BOTH
@pytest.mark.parametrize("access, handler", [("read", "do_read_fault"),
                                             ("write", "do_shared_fault")])
def test_shmem_get_folio_missing_sends_missing(profile: str, access: str, handler: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "MISSING")
    b = fault(mm, 1, access)
    assert (first(b), outcome(b)) == ("handle_userfault_missing", "wait")
    assert handler in b.path(0)
    assert kinds(b) == [("MISSING", access == "write")]
    assert int(mm.objects[0].cache[1]) == 0 and int(mm.pte[1]) == 0


def minor_setup(profile: str) -> AddressSpace:
    """Object pages 0-2 in the page cache through pages 0-3; pages 4-7 map
    the same object, registered MINOR."""
    mm = new_mm(profile)
    obj = mm.memfd(4)
    mm.mmap(0, 4, "shmem", object=obj)
    mm.mmap(4, 4, "shmem", object=obj)
    mm.dispatch([0, 1, 2], "write")           # PFN, PFN+1, PFN+2
    mm.register(4, 4, "MINOR")
    return mm


@BOTH
@pytest.mark.parametrize("access", ["read", "write"])
def test_shmem_get_folio_minor_sends_minor_for_a_cached_page(profile: str, access: str) -> None:
    mm = minor_setup(profile)
    b = fault(mm, 5, access)
    assert (first(b), outcome(b)) == ("handle_userfault_minor", "wait")
    assert kinds(b) == [("MINOR", access == "write")]
    assert int(mm.pte[5]) == 0


@BOTH
def test_shmem_get_folio_minor_vma_allocates_a_hole_without_message(profile: str) -> None:
    mm = minor_setup(profile)
    b = fault(mm, 7, "read")                  # object page 3: not in the cache
    assert (first(b), outcome(b), kinds(b)) == ("do_read_fault", "done", [])
    assert int(mm.pte[7]) == pte(PFN + 3, PAGE_SHARED)


# ============================================= should_fault_around / windows

def cached_object(profile: str, npages: int = 1100, objpages: int = 40,
                  **kw: Any) -> AddressSpace:
    """Object pages 0..objpages-1 all in the page cache (written through a
    mapping at page 1000)."""
    mm = new_mm(profile, npages, **kw)
    obj = mm.memfd(objpages)
    mm.mmap(1000, objpages, "shmem", object=obj)
    mm.dispatch(np.arange(1000, 1000 + objpages), "write")
    return mm


def present_pages(mm: AddressSpace, lo: int, hi: int) -> List[int]:
    return [p for p in range(lo, hi) if int(mm.pte[p]) & ref.PRESENT]


@BOTH
def test_do_fault_around_maps_the_aligned_16_page_window(profile: str) -> None:
    mm = cached_object(profile)
    mm.mmap(0, 32, "shmem", object=0)
    b = fault(mm, 5, "read")
    assert first(b) == "do_fault_around"
    assert present_pages(mm, 0, 32) == list(range(16))          # live finding 12
    # each page maps its own page cache page with vm_page_prot, clean
    for p in range(16):
        assert int(mm.pte[p]) == pte(PFN + p, PAGE_SHARED)


@BOTH
def test_do_fault_around_window_is_clamped_to_the_vma(profile: str) -> None:
    mm = cached_object(profile)
    mm.mmap(200, 10, "shmem", object=0, offset=3)     # pages 192..207 hold no other VMA
    b = fault(mm, 201, "read")
    assert first(b) == "do_fault_around"
    # the window starts at the VMA (from_pte = max(aligned, VMA start)) and
    # ends with it
    assert present_pages(mm, 190, 220) == list(range(200, 210))
    assert int(mm.pte[200]) == pte(PFN + 3, PAGE_SHARED)


@BOTH
def test_do_fault_around_window_is_clamped_to_the_page_table_page(profile: str) -> None:
    mm = cached_object(profile)
    mm.mmap(500, 30, "shmem", object=0)               # crosses the table at page 512
    fault(mm, 513, "read")
    assert present_pages(mm, 490, 540) == list(range(512, 528))
    mm2 = cached_object(profile)
    mm2.mmap(500, 30, "shmem", object=0)
    fault(mm2, 510, "read")                           # window 496..511, VMA from 500
    assert present_pages(mm2, 490, 540) == list(range(500, 512))


@BOTH
def test_do_fault_around_stops_at_eof_and_skips_non_none_ptes(profile: str) -> None:
    mm = cached_object(profile)
    mm.mmap(0, 32, "shmem", object=0)
    mm.dispatch([2], "read", resolve=None)            # maps 0..15
    mm.dontneed(0, 16)
    mm.pte[3] = GUARD_MARKER if profile == V618 else ref.mk_swp(0, 9)   # not none
    mm.truncate(0, 10)                                # EOF at object page 10
    b = fault(mm, 4, "read")
    assert first(b) == "do_fault_around"
    assert present_pages(mm, 0, 32) == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert int(mm.pte[3]) == (GUARD_MARKER if profile == V618 else ref.mk_swp(0, 9))


@BOTH
def test_do_fault_around_maps_only_pages_in_the_page_cache(profile: str) -> None:
    mm = new_mm(profile, 64)
    obj = mm.memfd(32)
    mm.mmap(0, 32, "shmem", object=obj)
    mm.mmap(32, 32, "shmem", object=obj)
    mm.dispatch([33, 36], "write")                    # object pages 1 and 4 cached
    b = fault(mm, 2, "read")
    # object page 2 is a hole: fault-around maps 1 and 4, then __do_fault
    assert first(b) == "do_read_fault" and "do_fault_around" not in b.path(0)
    assert present_pages(mm, 0, 32) == [1, 2, 4]


@BOTH
@pytest.mark.parametrize("mode", ["WP", "MINOR"])
def test_should_fault_around_is_off_for_wp_and_minor_vmas(profile: str, mode: str) -> None:
    mm = cached_object(profile)
    mm.mmap(0, 32, "shmem", object=0)
    mm.register(0, 32, mode)
    b = fault(mm, 5, "read", resolve="MINOR")
    assert "do_fault_around" not in b.path(0)
    assert present_pages(mm, 0, 32) == [5]                   # uffd_disable_fault_around
    if mode == "MINOR":
        assert kinds(b) == [("MINOR", False)]
    mm.unregister(0, 32)
    fault(mm, 20, "read")
    assert present_pages(mm, 0, 32) == [5] + list(range(16, 32))


@BOTH
def test_should_fault_around_is_off_for_one_page_fault_around_bytes(profile: str) -> None:
    mm = cached_object(profile, fault_around_bytes=4096)
    mm.mmap(0, 32, "shmem", object=0)
    b = fault(mm, 5, "read")
    assert first(b) == "do_read_fault" and present_pages(mm, 0, 32) == [5]


# ============================================= present PTE: handle_pte_fault

@BOTH
def test_handle_pte_fault_spurious_fault_changes_nothing(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "write")
    before = int(mm.pte[0])
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b), int(mm.pte[0])) == ("spurious", "done", before)


@BOTH
def test_ptep_set_access_flags_sets_accessed_and_dirty(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "write")
    full = int(mm.pte[0])
    mm.pte[0] = full & ~ACCESSED
    b = fault(mm, 0, "read")
    assert (first(b), int(mm.pte[0])) == ("set_access_flags", full)
    mm.pte[0] = full & ~(DIRTY | ACCESSED)
    b = fault(mm, 0, "write")                          # pte_mkdirty + pte_mkyoung
    assert (first(b), int(mm.pte[0])) == ("set_access_flags", full | (DIRTY | ACCESSED))


@BOTH
@pytest.mark.parametrize("prot, access", [("r", "write"), ("none", "read"), ("rw", "exec")])
def test_access_error_is_sigsegv(profile: str, prot: str, access: str) -> None:
    mm = new_mm(profile)
    mm.mmap(0, 4, "anon", prot=prot)
    b = fault(mm, 0, access)
    assert (first(b), outcome(b), b.path(0)) == ("access_error", "sigsegv", ["access_error"])
    assert int(mm.pte[0]) == 0


@BOTH
def test_access_error_outside_every_vma_is_sigsegv(profile: str) -> None:
    mm = mapped(profile, "anon")
    b = fault(mm, 6, "read")
    assert (first(b), outcome(b)) == ("access_error", "sigsegv")


@BOTH
def test_do_wp_page_copy_for_the_zero_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "read")
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b)) == ("wp_page_copy", "done")
    assert b.path(0) == ["handle_pte_fault", "do_wp_page", "wp_page_copy"]
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, dirty(profile))


@BOTH
def test_do_wp_page_copy_of_a_private_file_page(profile: str) -> None:
    mm = mapped(profile, "shmem_private")
    mm.dispatch([0], "read")
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY)      # the page cache page, read-only
    b = fault(mm, 0, "write")
    assert first(b) == "wp_page_copy"
    assert int(mm.pte[0]) == pte(PFN + 1, PAGE_COPY, RW, dirty(profile))
    assert int(mm.objects[0].cache[0]) == PFN         # the cache keeps its page


@BOTH
def test_wp_page_reuse_of_an_exclusive_anonymous_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "write")
    mm.pte[0] = pte(PFN, PAGE_COPY)                   # read-only, clean: a wp fault
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b)) == ("wp_page_reuse", "done")
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, dirty(profile))


@ONLY_618
def test_wp_page_reuse_of_a_shared_page_under_write_notify(profile: str) -> None:
    # 6.18: a uffd-wp VMA wants write-notify, so vm_page_prot is read-only
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.dispatch([0], "read")
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY)
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b), kinds(b)) == ("wp_page_reuse", "done", [])
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, DIRTY)


@ONLY_V2
def test_do_read_fault_without_write_notify_in_a_wp_vma(profile: str) -> None:
    # 5.12: no write-notify for uffd-wp, the read maps PAGE_SHARED
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.dispatch([0], "read")
    assert int(mm.pte[0]) == pte(PFN, PAGE_SHARED)
    assert first(fault(mm, 0, "write")) == "set_access_flags"


def written_and_protected(profile: str, memory: str) -> AddressSpace:
    """Page 0 of a WP-registered ``memory`` VMA written, then write-protected."""
    mm = mapped(profile, memory)
    mm.register(0, 4, "WP")
    mm.dispatch([0], "write")
    mm.writeprotect(0, 1)
    return mm


@BOTH
@pytest.mark.parametrize("memory", ["anon", "shmem"])
def test_do_wp_page_handle_userfault_wp_sends_one_message(profile: str, memory: str) -> None:
    mm = written_and_protected(profile, memory)
    protected = int(mm.pte[0])
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b)) == ("handle_userfault_wp", "wait")
    assert b.path(0) == ["handle_pte_fault", "do_wp_page", "handle_userfault_wp"]
    assert kinds(b) == [("WP", True)] and int(mm.pte[0]) == protected
    b = fault(mm, 0, "write", resolve="WP")            # un-protect, then the write completes
    assert (outcome(b), int(b.passes[0]), kinds(b)) == ("done", 2, [("WP", True)])
    assert int(mm.pte[0]) & RW and not int(mm.pte[0]) & UFFD_WP


@ONLY_618
def test_do_wp_page_wp_async_clears_uffd_wp_without_message(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP", ["WP_ASYNC"])
    mm.dispatch([0], "write")
    mm.writeprotect(0, 1)
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP, SAVED_DIRTY)
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b), kinds(b)) == ("wp_page_reuse", "done", [])
    assert b.path(0) == ["handle_pte_fault", "do_wp_page", "wp_page_reuse", "wp_async"]
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, DIRTY)   # live finding 11


@ONLY_V2
def test_register_wp_async_does_not_exist_in_the_v2_series(profile: str) -> None:
    mm = mapped(profile, "anon")
    with pytest.raises(InvalidValueError, match="WP_ASYNC does not exist"):
        mm.register(0, 4, "WP", ["WP_ASYNC"])


# =========================================================== do_numa_page

@BOTH
def test_change_prot_numa_and_do_numa_page_of_a_writable_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "write")
    mm.numa_hint(0, 1)
    if profile == V2:
        # pte_modify(PAGE_NONE) keeps A/D/soft-dirty; 5.12 keeps RW as savedwrite
        assert int(mm.pte[0]) == ref.pfn_pte(PFN, PAGE_NONE | DIRTY | SOFT_DIRTY) | RW
    else:
        # 6.18: RW goes, DIRTY moves to SAVED_DIRTY (pte_modify of a writable PTE)
        assert int(mm.pte[0]) == ref.pfn_pte(PFN, PAGE_NONE) | SAVED_DIRTY
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b), b.path(0)) == ("do_numa_page", "done",
                                                 ["handle_pte_fault", "do_numa_page"])
    # 5.12: pte_savedwrite; 6.18: can_change_pte_writable of an exclusive anon page
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, dirty(profile))


@BOTH
def test_change_prot_numa_spec_worked_example(profile: str) -> None:
    # §2: pte_modify(0x8000000012345027, PAGE_NONE) = 0x000FFFFFEDCBA120; back to
    # PAGE_SHARED gives 0x8000000012345027 again (a clean shmem page)
    mm = mapped(profile, "shmem")
    mm.dispatch([0], "read")
    assert int(mm.pte[0]) == 0x8000000012345027
    mm.numa_hint(0, 1)
    savedwrite = RW if profile == V2 else 0
    assert int(mm.pte[0]) == 0x000FFFFFEDCBA120 | savedwrite
    b = fault(mm, 0, "read")
    assert first(b) == "do_numa_page" and int(mm.pte[0]) == 0x8000000012345027


@BOTH
def test_change_prot_numa_skips_the_zero_page(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "read")
    mm.numa_hint(0, 1)
    assert int(mm.pte[0]) == pte(ZERO_PFN, PAGE_COPY, SPECIAL)


@pytest.mark.parametrize("profile", [V2 + "+no_numa_balancing", V618 + "+no_numa_balancing"])
def test_change_prot_numa_needs_numa_balancing(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.dispatch([0], "write")
    with pytest.raises(InvalidValueError, match="numa_hint"):
        mm.numa_hint(0, 1)


# =============================================== swap-format PTEs: do_swap_page

@BOTH
def test_do_swap_page_migration_entry_waits(profile: str) -> None:
    mm = mapped(profile, "anon")
    entry = ref.mk_swp(type_of(profile, "migration", "write"), PFN)
    mm.pte[0] = entry
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b)) == ("migration_entry_wait", "retry")
    assert b.path(0)[-2:] == ["do_swap_page", "migration_entry_wait"]
    assert ("do_swap_pte" in b.path(0)) == (profile == V2)
    assert int(mm.pte[0]) == entry


@pytest.mark.parametrize("profile, kind, sub, handler, result", [
    (V2, "device", "private_read", "device_private", "retry"),
    (V2, "device", "private_write", "device_private", "retry"),
    (V2, "hwpoison", None, "swap_hwpoison", "hwpoison"),
    (V618 + "+memory_failure+device_private", "device", "private_write", "device_private",
     "retry"),
    (V618 + "+memory_failure+device_private", "device", "exclusive", "device_exclusive",
     "retry"),
    (V618 + "+memory_failure+device_private", "hwpoison", None, "swap_hwpoison", "hwpoison"),
])
def test_do_swap_page_non_swap_entries(profile: str, kind: str, sub: Any, handler: str,
                                       result: str) -> None:
    mm = mapped(profile, "anon")
    mm.pte[0] = ref.mk_swp(type_of(profile, kind, sub), PFN)
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b)) == (handler, result)


@pytest.mark.parametrize("profile", [V2, V618, V618 + "+memory_failure+device_private"])
def test_do_swap_page_dispatches_every_swap_type(profile: str) -> None:
    """non_swap_entry(): types from MAX_SWAPFILES up are migration, device,
    hwpoison or (6.18) marker entries; every type of every profile has a
    branch, so print_bad_pte's SIGBUS needs a marker with no known bit."""
    expect = {"migration": "migration_entry_wait", "hwpoison": "swap_hwpoison",
              "marker": "handle_pte_marker"}
    rp = ref.ref_profile(profile)
    for t, (kind, sub) in sorted(rp.type_table.items()):
        mm = new_mm(profile)
        mm.mmap(0, 4, "anon")
        mm.pte[0] = ref.mk_swp(t, 1 if kind == "marker" else 5)
        b = fault(mm, 0, "read", retry=False)
        if kind == "swap":
            # the model's swap device is type 0; another type has no device:
            # get_swap_device() fails and the fault returns 0
            want = ("do_swap_page", "done" if t == 0 else "retry")
        elif kind == "device":
            want = ("device_exclusive" if sub == "exclusive" else "device_private", "retry")
        elif kind == "marker":
            want = ("pte_marker_clear", "refault")     # a uffd-wp marker, VMA not wp
        else:
            want = (expect[kind], "hwpoison" if kind == "hwpoison" else "retry")
        assert (first(b), outcome(b)) == want, (t, kind, sub)


@BOTH
def test_do_swap_page_swap_in_by_a_read(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.pte[0] = ref.mk_swp(0, 7)                     # not exclusive, no flags
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b)) == ("do_swap_page", "done")
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY)


@BOTH
def test_do_swap_page_swap_in_by_a_write(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.pte[0] = ref.mk_swp(0, 7)
    b = fault(mm, 0, "write")
    assert outcome(b) == "done"
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, dirty(profile))
    # 5.12 reuse_swap_page(): writable in do_swap_page; 6.18 without the
    # exclusive bit: do_wp_page reuses the page in the same fault
    assert first(b) == ("do_swap_page" if profile == V2 else "wp_page_reuse")


@ONLY_618
@pytest.mark.parametrize("access", ["read", "write"])
def test_do_swap_page_exclusive_entry_maps_writable(profile: str, access: str) -> None:
    mm = mapped(profile, "anon")
    mm.pte[0] = ref.mk_swp(0, 7) | SWP_EXCLUSIVE
    b = fault(mm, 0, access)
    assert (first(b), outcome(b)) == ("do_swap_page", "done")
    assert b.path(0) == ["handle_pte_fault", "do_swap_page"]
    want = pte(PFN, PAGE_COPY, RW) | (DIRTY if access == "write" else 0)
    assert int(mm.pte[0]) == want


@ONLY_V2
def test_do_swap_page_soft_dirty_entry(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.pte[0] = ref.mk_swp(0, 7) | SWP_SOFT_DIRTY
    fault(mm, 0, "read")
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, SOFT_DIRTY)


def wp_swap_entry(profile: str) -> AddressSpace:
    """Page 0 of a WP-registered anon VMA holds a uffd-wp swap entry of
    swap device 0 (6.18: exclusive, as try_to_unmap_one writes it)."""
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP")
    excl = SWP_EXCLUSIVE if profile == V618 else 0
    mm.pte[0] = ref.mk_swp(0, 7) | SWP_UFFD_WP | excl
    return mm


@BOTH
def test_do_swap_page_uffd_wp_entry_read_keeps_uffd_wp(profile: str) -> None:
    mm = wp_swap_entry(profile)
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b), kinds(b)) == ("do_swap_page", "done", [])
    # 6.18: exclusive, but userfaultfd_pte_wp keeps it read-only
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP)


@BOTH
def test_do_swap_page_uffd_wp_entry_write_sends_wp(profile: str) -> None:
    mm = wp_swap_entry(profile)
    b = fault(mm, 0, "write")
    assert (last(b), outcome(b), kinds(b)) == ("handle_userfault_wp", "wait", [("WP", True)])
    if profile == V2:
        # reuse_swap_page(): dirty, FAULT_FLAG_WRITE dropped, then the swp
        # uffd-wp bit write-protects: the access faults again and do_wp_page
        # sends WP on the second pass
        assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP, DIRTY, SOFT_DIRTY)
        assert (first(b), int(b.passes[0])) == ("do_swap_page", 2)
    else:
        # pte_mkuffd_wp, not made writable, do_wp_page in the same fault
        assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP)
        assert (first(b), int(b.passes[0])) == ("handle_userfault_wp", 1)
    assert "do_swap_page" in b.path(0) and "do_wp_page" in b.path(0)


@ONLY_V2
def test_do_swap_page_uffd_wp_entry_write_refaults_without_retry(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP")
    mm.pte[0] = ref.mk_swp(0, 7) | SWP_UFFD_WP
    b = fault(mm, 0, "write", retry=False)
    assert (first(b), outcome(b), kinds(b)) == ("do_swap_page", "refault", [])


# ================================================ 6.18: handle_pte_marker

@ONLY_618
@pytest.mark.parametrize("marker, result", [(GUARD_MARKER, "sigsegv"),
                                            (POISONED_MARKER, "hwpoison"),
                                            (EMPTY_MARKER, "sigbus"),
                                            (POISONED_MARKER & GUARD_MARKER, "hwpoison")])
@pytest.mark.parametrize("access", ["read", "write"])
def test_handle_pte_marker_guard_poisoned_and_empty(profile: str, marker: int, result: str,
                                                    access: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.pte[0] = marker
    b = fault(mm, 0, access)
    assert (first(b), outcome(b)) == ("handle_pte_marker", result)
    assert int(mm.pte[0]) == marker


def test_handle_pte_marker_guard_is_sigsegv() -> None:
    mm = new_mm(V618)
    mm.mmap(0, 4, "anon")
    mm.pte[1] = GUARD_MARKER                     # MADV_GUARD_INSTALL
    b = fault(mm, 1, "read")
    assert (first(b), outcome(b)) == ("handle_pte_marker", "sigsegv")
    assert b.path(0) == ["handle_pte_fault", "do_swap_page", "handle_pte_marker"]


@ONLY_618
@pytest.mark.parametrize("memory", ["shmem", "shmem_private"])
def test_pte_marker_handle_uffd_wp_read_installs_read_only_uffd_wp(profile: str,
                                                                   memory: str) -> None:
    mm = new_mm(profile)
    mm.mmap(0, 1, memory)
    mm.register(0, 1, "WP")
    mm.pte[0] = UFFD_WP_MARKER
    b = fault(mm, 0, "read", retry=False)
    # §7b worked example: 0x8000000012345425
    assert int(mm.pte[0]) == 0x8000000012345425 == pte(PFN, PAGE_COPY, UFFD_WP)
    assert (first(b), outcome(b), kinds(b)) == ("pte_marker_handle_uffd_wp", "done", [])
    assert b.path(0) == ["handle_pte_fault", "do_pte_missing", "do_fault", "do_read_fault",
                         "do_swap_page", "handle_pte_marker", "pte_marker_handle_uffd_wp"]


@ONLY_618
def test_pte_marker_handle_uffd_wp_write_installs_read_only_and_refaults(profile: str) -> None:
    mm = new_mm(profile)
    mm.mmap(0, 1, "shmem")
    mm.register(0, 1, "WP")
    mm.pte[0] = UFFD_WP_MARKER
    b = fault(mm, 0, "write", retry=False)
    # §7b: 0x8400000012345425 (read-only, bit 10, SAVED_DIRTY instead of DIRTY)
    assert int(mm.pte[0]) == 0x8400000012345425 == pte(PFN, PAGE_COPY, UFFD_WP, SAVED_DIRTY)
    assert (first(b), outcome(b), kinds(b)) == ("pte_marker_handle_uffd_wp", "refault", [])
    assert "do_shared_fault" in b.path(0)
    b = fault(mm, 0, "write", retry=False)         # the retried access
    assert (first(b), outcome(b), kinds(b)) == ("handle_userfault_wp", "wait", [("WP", True)])


@ONLY_618
def test_pte_marker_handle_uffd_wp_in_an_anon_vma_maps_the_zero_page(profile: str) -> None:
    # WP_UNPOPULATED markers in an anonymous VMA: do_anonymous_page
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP", ["WP_UNPOPULATED"])
    mm.writeprotect(0, 2)
    assert [int(x) for x in mm.pte[:3]] == [UFFD_WP_MARKER, UFFD_WP_MARKER, 0]
    b = fault(mm, 0, "read")
    assert int(mm.pte[0]) == pte(ZERO_PFN, PAGE_COPY, SPECIAL, UFFD_WP)
    assert first(b) == "pte_marker_handle_uffd_wp" and "do_anonymous_page" in b.path(0)
    assert int(mm.pagemap(0, 1)[0]) == ref.PM_PRESENT | ref.PM_UFFD_WP | ZERO_PFN
    b = fault(mm, 1, "write")                       # installs read-only, then WP
    assert (outcome(b), kinds(b), int(b.passes[0])) == ("wait", [("WP", True)], 2)
    assert int(mm.pte[1]) == pte(PFN, PAGE_COPY, UFFD_WP, SAVED_DIRTY)


@ONLY_618
@pytest.mark.parametrize("memory", ["shmem", "anon"])
def test_pte_marker_clear_clears_a_leftover_in_an_unregistered_vma(profile: str,
                                                                   memory: str) -> None:
    mm = new_mm(profile)
    mm.mmap(0, 4, memory)
    mm.pte[0] = UFFD_WP_MARKER
    b = fault(mm, 0, "read", retry=False)
    assert (first(b), outcome(b), int(mm.pte[0])) == ("pte_marker_clear", "refault", 0)
    assert b.path(0)[-3:] == ["handle_pte_marker", "pte_marker_handle_uffd_wp",
                              "pte_marker_clear"]
    mm.pte[0] = UFFD_WP_MARKER
    b = fault(mm, 0, "read")                         # retried: the none PTE faults in
    assert (first(b), last(b), int(b.passes[0])) == ("pte_marker_clear",
                                                     "do_anonymous_page" if memory == "anon"
                                                     else "do_read_fault", 2)
    assert int(mm.pte[0]) & ref.PRESENT and not int(mm.pte[0]) & UFFD_WP


# ========================================= v2: do_swap_pte and the special PTE

@ONLY_V2
def test_uffd_wp_handle_special_read_installs_read_only_uffd_wp(profile: str) -> None:
    # the spec's worked example (7a): PAGE_SHARED shmem, PFN 0x12345
    mm = new_mm(profile, 4)
    mm.mmap(0, 1, "shmem")
    mm.register(0, 1, "WP")
    mm.pte[0] = V2_SPECIAL_PTE
    b = fault(mm, 0, "read", retry=False)
    assert int(mm.pte[0]) == 0x8000000012345425 == pte(PFN, PAGE_SHARED & ~RW, UFFD_WP)
    assert (first(b), outcome(b), kinds(b)) == ("uffd_wp_handle_special", "done", [])
    assert b.path(0) == ["handle_pte_fault", "do_fault", "do_read_fault", "do_swap_pte",
                         "uffd_wp_handle_special"]


@ONLY_V2
def test_uffd_wp_handle_special_write_installs_read_only_and_refaults(profile: str) -> None:
    mm = new_mm(profile, 4)
    mm.mmap(0, 1, "shmem")
    mm.register(0, 1, "WP")
    mm.pte[0] = V2_SPECIAL_PTE
    b = fault(mm, 0, "write", retry=False)
    # 7a: 0x8000000012345C65 with MEM_SOFT_DIRTY: maybe_mkwrite(pte_mkdirty()),
    # then pte_mkuffd_wp(pte_wrprotect())
    assert int(mm.pte[0]) == 0x8000000012345C65 == \
        pte(PFN, PAGE_SHARED & ~RW, UFFD_WP, DIRTY, SOFT_DIRTY)
    assert (first(b), outcome(b), kinds(b)) == ("uffd_wp_handle_special", "refault", [])
    assert "do_shared_fault" in b.path(0)
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b), kinds(b)) == ("handle_userfault_wp", "wait", [("WP", True)])


@ONLY_V2
def test_uffd_wp_handle_special_cow_write_in_a_private_file_vma(profile: str) -> None:
    mm = new_mm(profile, 4)
    mm.mmap(0, 1, "shmem_private")
    mm.register(0, 1, "WP")
    mm.pte[0] = V2_SPECIAL_PTE
    b = fault(mm, 0, "write", retry=False)
    assert "do_cow_fault" in b.path(0) and outcome(b) == "refault"
    # the anonymous copy (PFN + 1), PAGE_COPY, dirty, read-only + uffd-wp
    assert int(mm.pte[0]) == pte(PFN + 1, PAGE_COPY, UFFD_WP, DIRTY, SOFT_DIRTY)


@ONLY_V2
@pytest.mark.parametrize("memory, register", [("shmem", None), ("anon", None),
                                              ("anon", "WP")])
def test_uffd_wp_clear_special_clears_a_leftover_in_an_unregistered_vma(
        profile: str, memory: str, register: Any) -> None:
    """!userfaultfd_wp(vma) || vma_is_anonymous(vma): clear, return 0."""
    mm = new_mm(profile, 4)
    mm.mmap(0, 4, memory)
    if register:
        mm.register(0, 4, register)
    mm.pte[0] = V2_SPECIAL_PTE
    b = fault(mm, 0, "write", retry=False)
    assert (first(b), outcome(b), int(mm.pte[0])) == ("uffd_wp_clear_special", "refault", 0)
    assert b.path(0) == ["handle_pte_fault", "do_swap_pte", "uffd_wp_handle_special",
                         "uffd_wp_clear_special"]
    mm.pte[0] = V2_SPECIAL_PTE
    b = fault(mm, 0, "write")
    assert (outcome(b), int(b.passes[0]), kinds(b)) == ("done", 2, [])
    assert int(mm.pte[0]) & RW and not int(mm.pte[0]) & UFFD_WP


@ONLY_V2
@pytest.mark.parametrize("value", [0x24, 0x6, 0xC])
def test_pte_swp_uffd_wp_special_is_exact_equality(profile: str, value: int) -> None:
    # 0x24 is pte_none (A ignored); 0x6 and 0xC are swap entries, not special
    mm = new_mm(profile, 4)
    mm.mmap(0, 1, "shmem")
    mm.register(0, 1, "WP")
    mm.pte[0] = value
    b = fault(mm, 0, "read", retry=False)
    assert "uffd_wp_handle_special" not in b.path(0)


# ================================================= resolve policies, retry

@BOTH
def test_handle_userfault_missing_resolved_by_uffdio_copy(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "MISSING")
    b = mm.dispatch([0, 1, 0], ["read", "write", "write"], resolve="MISSING")
    assert b.message_list() == [{"fault": 0, "page": 0, "kind": "MISSING", "write": False},
                                {"fault": 1, "page": 1, "kind": "MISSING", "write": True}]
    assert [str(Outcome(o)) for o in b.outcome] == ["done"] * 3
    # mfill_atomic_install_pte: PAGE_COPY, dirty, writable
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, RW, dirty(profile))
    assert int(mm.pte[1]) == pte(PFN + 1, PAGE_COPY, RW, dirty(profile))


@BOTH
def test_handle_userfault_missing_resolved_by_uffdio_copy_mode_wp(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "MISSING|WP")
    b = fault(mm, 0, "read", resolve="MISSING+WP|WP")
    assert kinds(b) == [("MISSING", False)] and outcome(b) == "done"
    # 5.12: writable -> pte_mkuffd_wp instead of pte_mkwrite; 6.18 pte_mkuffd_wp
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP, dirty_ro(profile))
    b = fault(mm, 1, "write", resolve="MISSING+WP|WP")   # live finding 13: MISSING and WP
    assert kinds(b) == [("MISSING", True), ("WP", True)]
    assert (outcome(b), int(b.passes[0])) == ("done", 3)
    b = fault(mm, 2, "write", resolve="MISSING|WP")      # plain copy: MISSING only
    assert kinds(b) == [("MISSING", True)]


@ONLY_618
def test_handle_userfault_minor_resolved_by_uffdio_continue(profile: str) -> None:
    mm = minor_setup(profile)
    mm.register(4, 4, "MINOR|WP")
    b = fault(mm, 4, "read", resolve="MINOR+WP|WP")
    assert kinds(b) == [("MINOR", False)]
    assert int(mm.pte[4]) == pte(PFN, PAGE_COPY, UFFD_WP, SAVED_DIRTY)   # vm_page_prot RO
    b = fault(mm, 5, "write", resolve="MINOR+WP|WP")
    assert kinds(b) == [("MINOR", True), ("WP", True)] and outcome(b) == "done"
    b = fault(mm, 6, "write", resolve="MINOR")
    assert kinds(b) == [("MINOR", True)] and outcome(b) == "done"
    assert int(mm.pte[6]) == pte(PFN + 2, PAGE_COPY, RW, DIRTY)


@ONLY_V2
def test_handle_userfault_minor_resolved_by_uffdio_continue_v2(profile: str) -> None:
    mm = minor_setup(profile)
    b = fault(mm, 6, "write", resolve="MINOR")
    assert kinds(b) == [("MINOR", True)] and outcome(b) == "done"
    assert int(mm.pte[6]) == pte(PFN + 2, PAGE_SHARED, dirty(profile))
    # UFFDIO_CONTINUE_MODE_WP came after the series: the policy cannot
    # answer, the fault keeps waiting
    b = fault(mm, 5, "read", resolve="MINOR+WP")
    assert (outcome(b), kinds(b), int(mm.pte[5])) == ("wait", [("MINOR", False)], 0)


@BOTH
def test_dispatch_retry_false_reports_each_pass(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.writeprotect(0, 4)                       # none PTEs become marker / special
    b = mm.dispatch([0, 1], "write", retry=False)
    assert [str(Outcome(o)) for o in b.outcome] == ["refault", "refault"]
    assert list(b.passes) == [1, 1] and b.message_list() == []
    assert b.counts["handle_userfault_wp"] == 0
    b = mm.dispatch([0, 1], "write", retry=False)
    assert [str(Outcome(o)) for o in b.outcome] == ["wait", "wait"]
    assert b.message_counts() == {"WP": 2, "MISSING": 0, "MINOR": 0}


@BOTH
def test_dispatch_counts_every_pass_and_outcome(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.writeprotect(0, 4)
    b = mm.dispatch([0, 1, 2], "write", resolve="WP")
    special = "uffd_wp_handle_special" if profile == V2 else "pte_marker_handle_uffd_wp"
    assert b.counts[special] == 3 and b.counts["handle_userfault_wp"] == 3
    assert b.outcomes["done"] == 3 and list(b.passes) == [3, 3, 3]
    assert b.message_counts()["WP"] == 3
    assert special in b.summary()


# ============================================== UFFDIO_WRITEPROTECT (ranges)

@BOTH
def test_change_pte_range_uffd_wp_of_present_pages(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.mmap(4, 4, "anon")
    mm.register(0, 8, "WP")
    mm.dispatch([0, 4], "write")           # shmem PFN, anon PFN+1
    mm.dispatch([1, 5], "read")            # shmem PFN+2 clean, anon zero page
    mm.writeprotect(0, 2)
    mm.writeprotect(4, 2)
    d = dirty_ro(profile)
    assert int(mm.pte[0]) == pte(PFN, PAGE_COPY, UFFD_WP, d)
    assert int(mm.pte[1]) == pte(PFN + 2, PAGE_COPY, UFFD_WP)
    assert int(mm.pte[4]) == pte(PFN + 1, PAGE_COPY, UFFD_WP, d)
    assert int(mm.pte[5]) == pte(ZERO_PFN, PAGE_COPY, SPECIAL, UFFD_WP)
    mm.writeprotect(0, 2, on=False)
    mm.writeprotect(4, 2, on=False)
    # 5.12: newprot = vm_get_page_prot(flags) (shared: RW again; private: RO,
    # left to the fault); 6.18: clear bit 10, MM_CP_TRY_CHANGE_WRITABLE makes
    # dirty shared and exclusive anon pages writable
    assert int(mm.pte[0]) == pte(PFN, PAGE_SHARED, dirty(profile))
    assert int(mm.pte[1]) == pte(PFN + 2, PAGE_SHARED if profile == V2 else PAGE_COPY)
    # (pte_mkwrite moves SAVED_DIRTY back to DIRTY)
    assert int(mm.pte[4]) == (pte(PFN + 1, PAGE_COPY, RW, DIRTY) if profile == V618 else
                              pte(PFN + 1, PAGE_COPY, DIRTY, SOFT_DIRTY))
    assert int(mm.pte[5]) == pte(ZERO_PFN, PAGE_COPY, SPECIAL)


@BOTH
def test_change_pte_range_uffd_wp_of_none_ptes_in_a_file_vma(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.writeprotect(0, 2)
    leftover = V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER
    assert [int(x) for x in mm.pte[:4]] == [leftover, leftover, 0, 0]
    # pagemap: v2 reports the special like none (0, but for VM_SOFTDIRTY);
    # 6.18 0x420000000000003F
    want = vma_soft_dirty(profile) if profile == V2 else 0x420000000000003F
    assert int(mm.pagemap(0, 1)[0]) == want
    mm.writeprotect(0, 1, on=False)           # resolve: the leftover goes
    assert [int(x) for x in mm.pte[:2]] == [0, leftover]


@BOTH
def test_change_pte_range_uffd_wp_skips_anon_none_ptes(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP")
    mm.writeprotect(0, 4)
    assert not mm.pte[:4].any()                # live finding 5
    b = fault(mm, 0, "write")
    assert (outcome(b), kinds(b)) == ("done", [])


@ONLY_618
def test_change_pte_range_uffd_wp_unpopulated_installs_anon_markers(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP", ["WP_UNPOPULATED"])
    mm.writeprotect(0, 4)
    assert [int(x) for x in mm.pte[:4]] == [UFFD_WP_MARKER] * 4
    b = fault(mm, 0, "write")
    assert kinds(b) == [("WP", True)]


@BOTH
def test_change_pte_range_uffd_wp_of_swap_entries_sets_bit_2(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP")
    swap = ref.mk_swp(0, 7)
    mm.pte[0] = swap
    mm.writeprotect(0, 1)
    assert int(mm.pte[0]) == swap | SWP_UFFD_WP
    mm.writeprotect(0, 1, on=False)
    assert int(mm.pte[0]) == swap


@BOTH
def test_change_pte_range_makes_write_migration_entries_readable(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.register(0, 4, "WP")
    write_mig = ref.mk_swp(type_of(profile, "migration", "write"), PFN)
    # 6.18: an anonymous folio gets a read-exclusive entry
    read_sub = "read" if profile == V2 else "read_exclusive"
    read_mig = ref.mk_swp(type_of(profile, "migration", read_sub), PFN)
    mm.pte[0] = write_mig | SWP_UFFD_WP
    mm.mprotect(0, 1, "r")
    # §9: 5.12 keeps swap bit 2; 6.18 rebuilds the entry and drops it
    assert int(mm.pte[0]) == read_mig | (SWP_UFFD_WP if profile == V2 else 0)
    mm.mprotect(0, 1, "rw")
    mm.pte[1] = write_mig
    mm.writeprotect(1, 1)                     # UFFDIO_WRITEPROTECT sets bit 2 afterwards
    assert int(mm.pte[1]) == read_mig | SWP_UFFD_WP


@ONLY_618
@pytest.mark.parametrize("marker", [GUARD_MARKER, POISONED_MARKER])
def test_change_pte_range_leaves_guard_and_poisoned_markers(profile: str, marker: int) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.pte[0] = marker
    mm.writeprotect(0, 1)
    mm.writeprotect(0, 1, on=False)
    assert int(mm.pte[0]) == marker


@BOTH
def test_mwriteprotect_range_needs_a_wp_registration(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "MISSING")
    with pytest.raises(InvalidValueError, match="not registered for WP"):
        mm.writeprotect(0, 1)


# ================================================= zap_pte_range flavours

def wp_shmem_and_anon(profile: str) -> AddressSpace:
    """Pages 0-3 shmem, 4-7 anon, all WP-registered; pages 0, 1, 4, 5 written,
    0 and 4 write-protected."""
    mm = mapped(profile, "shmem")
    mm.mmap(4, 4, "anon")
    mm.register(0, 8, "WP")
    mm.dispatch([0, 1, 4, 5], "write")
    mm.writeprotect(0, 1)
    mm.writeprotect(4, 1)
    return mm


@BOTH
def test_zap_pte_range_dontneed_keeps_file_uffd_wp_and_drops_anon(profile: str) -> None:
    mm = wp_shmem_and_anon(profile)
    mm.dontneed(0, 8)
    leftover = V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER
    assert [int(x) for x in mm.pte] == [leftover, 0, 0, 0, 0, 0, 0, 0]
    assert int(mm.objects[0].cache[0]) == PFN          # the page stays in the cache


@BOTH
def test_zap_pte_range_punch_without_even_cows_keeps_private_cow_pages(profile: str) -> None:
    mm = new_mm(profile)
    obj = mm.memfd(4)
    mm.mmap(0, 4, "shmem_private", object=obj)
    mm.register(0, 4, "WP")
    mm.dispatch([0], "read")                     # the page cache page PFN
    mm.dispatch([1], "write")                    # cache PFN+1, CoW copy PFN+2
    mm.writeprotect(0, 2)
    cow = int(mm.pte[1])
    assert cow == pte(PFN + 2, PAGE_COPY, UFFD_WP, dirty_ro(profile))
    mm.punch(obj, 0, 2)
    leftover = V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER
    assert [int(x) for x in mm.pte[:2]] == [leftover, cow]   # live finding 14
    assert [int(x) for x in mm.objects[obj].cache[:2]] == [0, 0]


@BOTH
def test_zap_pte_range_truncate_with_even_cows_keeps_uffd_wp(profile: str) -> None:
    mm = new_mm(profile)
    obj = mm.memfd(4)
    mm.mmap(0, 4, "shmem_private", object=obj)
    mm.register(0, 4, "WP")
    mm.dispatch([0, 1], "write")                 # CoW copies PFN+1, PFN+3
    mm.writeprotect(0, 1)
    mm.truncate(obj, 0)
    leftover = V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER
    # §9: the first unmap has no zap flag, so uffd-wp stays as a leftover
    assert [int(x) for x in mm.pte[:2]] == [leftover, 0]
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b)) == ("sigbus", "sigbus")
    assert int(mm.pte[0]) == leftover            # live finding 8


@BOTH
def test_unmap_vmas_munmap_drops_markers(profile: str) -> None:
    mm = wp_shmem_and_anon(profile)
    mm.dontneed(0, 1)
    mm.munmap(0, 4)
    assert not mm.pte.any() or [int(x) for x in mm.pte[:4]] == [0, 0, 0, 0]
    b = fault(mm, 0, "read")
    assert (first(b), outcome(b)) == ("access_error", "sigsegv")


@BOTH
def test_zap_pte_range_of_a_swap_entry_with_uffd_wp_in_a_file_vma(profile: str) -> None:
    mm = mapped(profile, "shmem_private")
    mm.register(0, 4, "WP")
    mm.pte[0] = ref.mk_swp(0, 7) | SWP_UFFD_WP      # a swapped-out CoW page
    mm.dontneed(0, 1)
    assert int(mm.pte[0]) == (V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER)


# ============================================================ MADV_PAGEOUT

@BOTH
def test_try_to_unmap_one_pageout(profile: str) -> None:
    mm = wp_shmem_and_anon(profile)
    mm.pageout(0, 8)
    leftover = V2_SPECIAL_PTE if profile == V2 else UFFD_WP_MARKER
    # shmem: the swap slot lives in the page cache; the PTE is a leftover or none
    assert [int(x) for x in mm.pte[:4]] == [leftover, 0, 0, 0]
    cache = [int(x) for x in mm.objects[0].cache[:2]]
    assert all(c and c not in (PFN, PFN + 2) for c in cache)     # both swapped
    # anon: real swap entries (type 0, slots 3 and 4 after the two shmem ones);
    # 6.18 adds the exclusive bit, 5.12 soft-dirty (written pages)
    extra = SWP_EXCLUSIVE if profile == V618 else SWP_SOFT_DIRTY
    assert int(mm.pte[4]) == ref.mk_swp(0, 3) | SWP_UFFD_WP | extra
    assert int(mm.pte[5]) == ref.mk_swp(0, 4) | extra
    pm = [int(x) for x in mm.pagemap(4, 2)]
    if profile == V618:
        assert pm == [ref.PM_SWAP | ref.PM_UFFD_WP | 3 << 5, ref.PM_SWAP | 4 << 5]
    else:
        assert pm == [ref.PM_SWAP | ref.PM_SOFT_DIRTY | 3 << 5,
                      ref.PM_SWAP | ref.PM_SOFT_DIRTY | 4 << 5]


@BOTH
def test_shmem_swapin_reads_back_read_only_uffd_wp(profile: str) -> None:
    mm = wp_shmem_and_anon(profile)
    mm.pageout(0, 2)
    b = fault(mm, 0, "read")
    assert "shmem_swapin" in b.path(0) and kinds(b) == []
    new_pfn = int(mm.objects[0].cache[0])
    prot = PAGE_COPY if profile == V618 else PAGE_SHARED & ~RW
    assert int(mm.pte[0]) == pte(new_pfn, prot, UFFD_WP)
    b = fault(mm, 1, "read")                     # not write-protected: plain read
    assert int(mm.pte[1]) & UFFD_WP == 0


# ============================================================ unregister

@BOTH
def test_userfaultfd_unregister(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.dispatch([0], "write")
    mm.writeprotect(0, 2)                       # page 0 present, page 1 leftover
    mm.pte[2] = ref.mk_swp(0, 7) | SWP_UFFD_WP
    protected = int(mm.pte[0])
    mm.unregister(0, 4)
    if profile == V618:
        # uffd_wp_range(resolve) first: bit 10, bit 2 and markers go; the
        # dirty shared page is made writable (MM_CP_TRY_CHANGE_WRITABLE)
        assert [int(x) for x in mm.pte[:3]] == [pte(PFN, PAGE_SHARED, DIRTY), 0,
                                                ref.mk_swp(0, 7)]
    else:
        # 5.12: only the VMA flags change
        assert [int(x) for x in mm.pte[:3]] == [protected, V2_SPECIAL_PTE,
                                                ref.mk_swp(0, 7) | SWP_UFFD_WP]
        b = fault(mm, 1, "read", retry=False)   # the next fault clears the special
        assert (first(b), outcome(b), int(mm.pte[1])) == ("uffd_wp_clear_special",
                                                          "refault", 0)
        b = fault(mm, 0, "write")               # a stale bit 10 sends nothing
        assert (first(b), kinds(b), outcome(b)) == ("wp_page_reuse", [], "done")


@ONLY_V2
@pytest.mark.parametrize("how", ["dontneed", "pageout"])
def test_pte_install_uffd_wp_if_needed_v2_ignores_the_registration(profile: str,
                                                                   how: str) -> None:
    """§9: the v2 helper checks only that the VMA is file-backed, so a stale
    bit-10 PTE zapped or swapped out after unregister leaves a special."""
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "WP")
    mm.dispatch([0], "write")
    mm.writeprotect(0, 1)
    mm.unregister(0, 4)
    getattr(mm, how)(0, 1)
    assert int(mm.pte[0]) == V2_SPECIAL_PTE
    b = fault(mm, 0, "read")
    assert (first(b), int(b.passes[0])) == ("uffd_wp_clear_special", 2)
    assert not int(mm.pte[0]) & UFFD_WP


# ============================================================== mprotect

@BOTH
@pytest.mark.parametrize("memory", ["anon", "shmem"])
def test_change_protection_keeps_uffd_wp(profile: str, memory: str) -> None:
    mm = written_and_protected(profile, memory)
    mm.mprotect(0, 1, "r")
    assert int(mm.pte[0]) & UFFD_WP and not int(mm.pte[0]) & RW
    b = fault(mm, 0, "write")
    assert (first(b), outcome(b), kinds(b)) == ("access_error", "sigsegv", [])
    mm.mprotect(0, 1, "rw")
    if profile == V2 and memory == "shmem":
        # 5.12 has no write-notify for uffd-wp VMAs: pte_modify() to
        # vm_page_prot = PAGE_SHARED makes the PTE writable with bit 10 still
        # set, and the write goes through without a message (fixed in 6.1 by
        # "mm/userfaultfd: enable writenotify while userfaultfd-wp is enabled")
        assert int(mm.pte[0]) == pte(PFN, PAGE_SHARED, UFFD_WP, DIRTY, SOFT_DIRTY)
        b = fault(mm, 0, "write")
        assert (first(b), kinds(b)) == ("spurious", [])
        return
    assert int(mm.pte[0]) & UFFD_WP and not int(mm.pte[0]) & RW
    b = fault(mm, 0, "write")                   # live finding 9
    assert kinds(b) == [("WP", True)]


# ============================================ UFFDIO_COPY / UFFDIO_CONTINUE

@BOTH
def test_mfill_atomic_pte_errors(profile: str) -> None:
    mm = mapped(profile, "anon")
    mm.mmap(4, 4, "shmem")
    with pytest.raises(InvalidValueError, match="uffd_copy of page 0"):
        mm.uffd_copy(0)                         # not registered
    mm.register(0, 8, "MISSING")
    mm.uffd_copy(0)
    with pytest.raises(InvalidValueError, match="uffd_copy of page 0"):
        mm.uffd_copy(0)                         # -EEXIST: already mapped
    mm.truncate(0, 2)                           # the shmem VMA's object
    with pytest.raises(InvalidValueError, match="uffd_copy of page 6"):
        mm.uffd_copy(6)                         # past EOF
    mm.uffd_copy(5)
    with pytest.raises(InvalidValueError, match="uffd_continue of page 1"):
        mm.uffd_continue(1)                     # anonymous: no MINOR
    with pytest.raises(InvalidValueError):
        mm.uffd_copy(8)                         # outside the address space


@BOTH
def test_mfill_atomic_pte_copy_over_a_uffd_wp_leftover(profile: str) -> None:
    mm = mapped(profile, "shmem")
    mm.register(0, 4, "MISSING|WP")
    mm.writeprotect(0, 1)
    mm.uffd_copy(0)                             # pte_none_mostly / v2 13/24
    assert int(mm.pte[0]) == pte(PFN, PAGE_SHARED if profile == V2 else PAGE_COPY,
                                 RW, dirty(profile))


@BOTH
def test_mfill_atomic_pte_continue_errors(profile: str) -> None:
    mm = minor_setup(profile)
    with pytest.raises(InvalidValueError, match="uffd_continue of page 7"):
        mm.uffd_continue(7)                     # no page in the cache
    mm.uffd_continue(4)
    with pytest.raises(InvalidValueError, match="uffd_continue of page 4"):
        mm.uffd_continue(4)                     # already mapped
    if profile == V2:
        with pytest.raises(InvalidValueError, match="uffd_continue of page 5"):
            mm.uffd_continue(5, wp=True)        # UFFDIO_CONTINUE_MODE_WP is 6.x
    else:
        mm.uffd_continue(5, wp=True)
        assert int(mm.pte[5]) == pte(PFN + 1, PAGE_SHARED & ~RW, UFFD_WP, SAVED_DIRTY)


# ====================================== a batch is its faults one by one

def _busy_space(profile: str, **kw: Any) -> AddressSpace:
    """Every kind of VMA and PTE side by side: written, read (zero page),
    swapped-out, NUMA-hinted, read-only and PROT_NONE anonymous memory, a populated shmem mapping, a
    uffd-wp registered one with write-protected and zapped pages, second
    mappings of a populated object (none PTEs over cached pages) registered
    for WP (no fault-around) and for MINOR, and pages outside every VMA."""
    mm = new_mm(profile, 1200, **kw)
    mm.mmap(0, 64, "anon")
    mm.dispatch(np.arange(0, 40), "write")
    mm.dispatch(np.arange(40, 52), "read")
    mm.pageout(0, 10)                              # swap entries
    mm.numa_hint(20, 5)                            # PROT_NONE PTEs
    mm.mmap(64, 32, "anon")
    mm.dispatch(np.arange(64, 90), "write")
    mm.mprotect(64, 32, "r")
    mm.mmap(128, 16, "anon", prot="none")
    obj = mm.memfd(64)
    mm.mmap(200, 64, "shmem", object=obj)
    mm.dispatch(np.arange(200, 240), "write")
    obj2 = mm.memfd(64)
    mm.mmap(300, 64, "shmem", object=obj2)
    mm.dispatch(np.arange(300, 350), "write")
    mm.register(300, 64, "WP")
    mm.writeprotect(300, 20, True)
    mm.dontneed(305, 5)
    mm.mmap(400, 48, "shmem", object=obj)          # pages 0-39 of obj are cached
    mm.register(400, 48, "WP")
    mm.mmap(460, 48, "shmem", object=obj)
    mm.register(460, 48, "MINOR")
    return mm


@BOTH
@pytest.mark.parametrize("resolve", [None, "WP"])
@pytest.mark.parametrize("fault_around_bytes", [65536, 4096])
def test_a_batch_gives_what_its_faults_give_one_by_one(profile: str, resolve: Any,
                                                       fault_around_bytes: int) -> None:
    """The dispatch loop completes present PTEs that an access may use as
    they are by itself and hands every other fault to the whole path; a
    fault dispatched alone always takes the whole path.  4,000 faults in
    random order over every kind of VMA and PTE give, in one batch, the
    handlers, outcomes, passes, traces, messages and PTEs they give one by
    one."""
    rng = np.random.default_rng(len(profile) + (resolve is None) + fault_around_bytes)
    pages = rng.choice(np.r_[0:100, 120:150, 190:270, 290:370, 390:520], 4000)
    access = rng.choice(np.array([0, 0, 0, 1, 1, 2], dtype=np.uint8), 4000)
    batch_mm = _busy_space(profile, fault_around_bytes=fault_around_bytes)
    single_mm = _busy_space(profile, fault_around_bytes=fault_around_bytes)
    batch = batch_mm.dispatch(pages, access, resolve=resolve, trace=True)
    singles = [single_mm.dispatch([p], [a], resolve=resolve, trace=True)
               for p, a in zip(pages, access)]
    for name in ("handler", "last", "outcome", "passes", "trace"):
        one_by_one = np.concatenate([getattr(s, name) for s in singles])
        bad = np.flatnonzero(getattr(batch, name) != one_by_one)
        assert not bad.size, "%s differs at fault %d (page %d, access %d)" % (
            name, bad[0], pages[bad[0]], access[bad[0]])
    assert np.array_equal(batch_mm.pte, single_mm.pte)
    msgs = [(int(p), int(k)) for s in singles
            for p, k in zip(s.messages["page"], s.messages["kind"])]
    assert list(zip(batch.messages["page"].tolist(), batch.messages["kind"].tolist())) == msgs
    taken = {h for h in batch.counts if batch.counts[h]}
    assert taken >= {"spurious", "set_access_flags", "wp_page_copy", "do_anonymous_page",
                     "do_read_fault", "do_swap_page", "do_numa_page", "handle_userfault_wp",
                     "handle_userfault_minor", "access_error"}, taken
