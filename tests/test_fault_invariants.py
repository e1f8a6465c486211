"""The fault model's invariants under random sequences of faults and
page-table operations (hypothesis stateful testing).

One state machine drives two address spaces side by side, one per
profile (linux-6.18 and linux-5.12-uffd-wp-v2), through the same steps:
read and write faults (with and without a userfaultfd resolution policy),
UFFDIO_WRITEPROTECT on and off, MADV_DONTNEED, hole punch, MADV_REMOVE,
ftruncate down and up, MADV_PAGEOUT, mprotect r / rw, NUMA hinting,
UFFDIO_UNREGISTER and munmap, over anonymous memory, shmem (memfd
MAP_SHARED and MAP_PRIVATE) and MAP_SHARED|MAP_ANONYMOUS, registered for
WP, MISSING|WP or MINOR|WP, with WP_UNPOPULATED / WP_ASYNC on 6.18.

After every step, in both profiles:

(a) a shadow set of write-protected pages, changed only by what the kernel
    defines as setting or clearing uffd-wp, equals the pages whose PTE holds
    uffd-wp in some form (present bit 10, swap bit 2, 6.18 marker, v2
    special PTE).  It is *kept* by a zap of a file VMA (MADV_DONTNEED, hole
    punch, MADV_REMOVE, truncation: markers / special PTEs, spec 7a-7b and
    9), by swap-out and swap-in, mprotect and NUMA hinting; it is *dropped*
    by UFFDIO_WRITEPROTECT off, a zap of an anonymous VMA, munmap,
    UFFDIO_UNREGISTER on 6.18 (userfaultfd_clear_vma un-protects first), a
    write that completes, and a UFFDIO_COPY / CONTINUE without MODE_WP
    over a marker (mfill_atomic_install_pte overwrites pte_none_mostly()
    entries).  On the v2 series UFFDIO_UNREGISTER touches no PTE: the stale
    bits are the kernel's own leftovers, cleaned lazily, so those pages are
    left out of the comparison (never out of the other invariants);
(b) every PTE the model wrote is canonical for its profile, and unmapped
    pages hold none;
(c) a write to a write-protected page of a WP-registered VMA sends exactly
    one WP message (WAIT on it without a resolution policy, completes after
    it with resolve WP) -- unless WP_ASYNC is on, the VMA forbids the write
    (SIGSEGV, no message), the page is past EOF (SIGBUS), or user space's
    answer to a MISSING/MINOR message of the same fault dropped or added the
    protection; reads never send WP;
(d) dispatch is deterministic: replaying the step log on fresh address
    spaces gives the same PTEs, VMAs, page caches, handlers, outcomes and
    messages.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Set, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition,
                                 rule)

import ptebits
from ptebits.errors import InvalidValueError
from ptebits.fault import AddressSpace, Outcome

V618 = "linux-6.18"
V2 = "linux-5.12-uffd-wp-v2"
PROFILES = (V618, V2)
MAX_PAGES = 8

#: (memory kind, registration) pairs the kernel accepts (MINOR needs shmem)
LAYOUTS = [(mem, reg) for mem in ("anon", "shmem", "shmem_private", "shared_anon")
           for reg in ("WP", "MISSING|WP", "MINOR|WP")
           if not (mem == "anon" and reg.startswith("MINOR"))]
RESOLVE = [None, "WP", "all", "WP|MISSING+WP|MINOR+WP", "MISSING|MINOR"]
MEMFD_KINDS = ("shmem", "shmem_private")          # a file descriptor to truncate / punch


class Twin:
    """One profile's address space with its shadow state and step log."""

    def __init__(self, profile: str, npages: int, memory: str, mode: str,
                 features: Tuple[str, ...]):
        self.profile = profile
        self.is_618 = profile == V618
        self.features = features if self.is_618 else ()
        self.log: List[Tuple[str, tuple, dict]] = []
        self.results: List[Dict[str, np.ndarray]] = []
        self.mm = AddressSpace(npages, profile=profile)
        self.call("mmap", 0, npages, memory)
        self.call("register", 0, npages, mode, self.features)
        self.wp: Set[int] = set()           # the shadow: write-protected pages
        self.stale: Set[int] = set()        # v2: left over by UFFDIO_UNREGISTER

    def call(self, name: str, *args: Any, **kw: Any) -> Any:
        self.log.append((name, args, kw))
        return getattr(self.mm, name)(*args, **kw)

    def call_failing(self, name: str, *args: Any) -> None:
        """An operation the model refuses -- possibly after it changed the
        VMAs before the one it refuses, as madvise does: logged for the replay."""
        self.log.append((name, args, {"_fails": True}))
        with pytest.raises(InvalidValueError):
            getattr(self.mm, name)(*args)

    def dispatch(self, pages: List[int], access: List[str], resolve: Optional[str]) -> Any:
        batch = self.call("dispatch", pages, access, resolve=resolve)
        self.results.append(_batch_arrays(batch))
        return batch


def _tokens(resolve: Optional[str]) -> List[str]:
    """The answers of a resolution policy ("all" = WP|MISSING|MINOR)."""
    return ("WP|MISSING|MINOR" if resolve == "all" else resolve or "").split("|")


def _batch_arrays(batch: Any) -> Dict[str, np.ndarray]:
    out = {k: getattr(batch, k).copy() for k in ("handler", "last", "outcome", "passes")}
    out.update({"msg_" + k: v.copy() for k, v in batch.messages.items()})
    return out


def _replay(twin: Twin) -> Tuple[AddressSpace, List[Dict[str, np.ndarray]]]:
    mm = AddressSpace(len(twin.mm), profile=twin.profile)
    results = []
    for name, args, kw in twin.log:
        if kw.get("_fails"):
            with pytest.raises(InvalidValueError):
                getattr(mm, name)(*args)
            continue
        out = getattr(mm, name)(*args, **kw)
        if name == "dispatch":
            results.append(_batch_arrays(out))
    return mm, results


class FaultModelInvariants(RuleBasedStateMachine):
    """Both profiles, one VMA of one memory kind, every step checked."""

    def __init__(self) -> None:
        super().__init__()
        self.twins: List[Twin] = []

    @initialize(layout=st.sampled_from(LAYOUTS), npages=st.integers(2, MAX_PAGES),
                features=st.sampled_from([(), ("WP_UNPOPULATED",), ("WP_ASYNC",),
                                          ("WP_UNPOPULATED", "WP_ASYNC")]))
    def setup(self, layout: Tuple[str, str], npages: int, features: Tuple[str, ...]) -> None:
        self.memory, self.mode = layout
        self.npages = npages
        self.file = self.memory != "anon"
        self.twins = [Twin(p, npages, self.memory, self.mode, features) for p in PROFILES]
        self.unmaps = 0     # one munmap and one unregister a run: the rest of the
        self.unregisters = 0    # run still has protected, mapped pages to work on

    # ------------------------------------------------------------ helpers
    def _vma(self, twin: Twin, page: int) -> Any:
        return next((v for v in twin.mm.vmas if v.start <= page < v.end), None)

    def _mapped(self, start: int, count: int) -> bool:
        return all(self._vma(self.twins[0], pg) is not None for pg in range(start, start + count))

    def _past_eof(self, twin: Twin, page: int) -> bool:
        v = self._vma(twin, page)
        if v is None or v.anonymous:
            return False
        return v.pgoff + page - v.start >= twin.mm.objects[v.object].size

    def _clamp(self, start: int, count: int) -> Tuple[int, int]:
        start = min(start, self.npages - 1)
        return start, min(count, self.npages - start)

    def _range_op(self, name: str, start: int, count: int, *args: Any) -> bool:
        """Run a range operation in both profiles; False (after checking
        the error) when the range is not all mapped."""
        start, count = self._clamp(start, count)
        if not self._mapped(start, count):
            for t in self.twins:
                t.call_failing(name, start, count, *args)
            return False
        for t in self.twins:
            t.call(name, start, count, *args)
        return True

    # --------------------------------------------------------------- faults
    @rule(faults=st.lists(st.tuples(st.integers(0, MAX_PAGES - 1),
                                    st.sampled_from(["read", "write"])), min_size=1, max_size=4),
          resolve=st.sampled_from(RESOLVE))
    def fault(self, faults: List[Tuple[int, str]], resolve: Optional[str]) -> None:
        self._fault(faults, resolve)

    # faults are most of what happens to memory: two more rules give them weight
    @rule(page=st.integers(0, MAX_PAGES - 1), resolve=st.sampled_from(RESOLVE))
    def write(self, page: int, resolve: Optional[str]) -> None:
        self._fault([(page, "write")], resolve)

    @rule(page=st.integers(0, MAX_PAGES - 1), resolve=st.sampled_from(RESOLVE))
    def read(self, page: int, resolve: Optional[str]) -> None:
        self._fault([(page, "read")], resolve)

    def _fault(self, faults: List[Tuple[int, str]], resolve: Optional[str]) -> None:
        pages = [min(p, self.npages - 1) for p, _ in faults]
        access = [a for _, a in faults]
        for t in self.twins:
            batch = t.dispatch(pages, access, resolve)
            msgs = batch.message_list()
            for i, (page, acc) in enumerate(zip(pages, access)):
                self._check_fault(t, batch, [m for m in msgs if m["fault"] == i], i, page,
                                  acc, resolve)

    def _check_fault(self, t: Twin, batch: Any, msgs: List[Dict[str, Any]], i: int, page: int,
                     acc: str, resolve: Optional[str]) -> None:
        v = self._vma(t, page)
        outcome = Outcome(int(batch.outcome[i]))
        where = "%s: %s fault %d on page %d (%s, resolve=%s), messages %s" % (
            t.profile, acc, i, page, v, resolve, msgs)
        assert outcome not in (Outcome.REFAULT, Outcome.RETRY), where
        if v is None or (acc == "write" and "w" not in v.prot):
            assert outcome == Outcome.SIGSEGV and not msgs, where       # bad_area / access_error
            return
        if self._past_eof(t, page):
            assert outcome == Outcome.SIGBUS and not msgs, where        # shmem_get_folio: EINVAL
            return
        # every message matches the VMA's registration
        for m in msgs:
            assert m["kind"] in v.uffd.split("|"), where
        wp_msgs = [m for m in msgs if m["kind"] == "WP"]
        assert len(wp_msgs) <= 1, where
        if acc == "read":
            assert not wp_msgs, where
        # what user space's answers did: a MISSING/MINOR message followed by
        # another message or by the end of the wait was answered (COPY/CONTINUE)
        waits_on = msgs[-1] if outcome == Outcome.WAIT else None
        if outcome == Outcome.WAIT:
            assert msgs, where
        wp_now = page in t.wp
        for m in msgs:
            if m is waits_on or m["kind"] == "WP":
                continue
            wp_now = self._fill_keeps_wp(t, v, m["kind"], resolve)
            if wp_now is None:                  # v2: bit 10 on a writable PTE
                t.stale.add(page)
                t.wp.discard(page)
        if page in t.stale:
            return
        if acc == "write":
            blocked = waits_on is not None and waits_on["kind"] != "WP"
            asynchronous = "WP_ASYNC" in v.features
            if not blocked:
                expect = int(wp_now and not asynchronous)
                assert len(wp_msgs) == expect, where + ": expected %d WP message(s)" % expect
                if expect and "WP" not in _tokens(resolve):
                    assert waits_on is wp_msgs[0], where        # waits for user space
                if outcome == Outcome.DONE:
                    wp_now = False                              # the page is writable now
            if outcome == Outcome.DONE:
                assert not wp_now, where
        if wp_now:
            t.wp.add(page)
        else:
            t.wp.discard(page)

    def _fill_keeps_wp(self, t: Twin, v: Any, kind: str,
                       resolve: Optional[str]) -> Optional[bool]:
        """Whether UFFDIO_COPY (MISSING) / UFFDIO_CONTINUE (MINOR) as the
        policy answers installs a write-protected PTE: with MODE_WP.

        The v2 series' mcopy_atomic_install_pte (mmots base of April 2021)
        sets uffd-wp only in a VM_WRITE VMA, with pte_mkuffd_wp(), which on
        5.12 x86 sets bit 10 and nothing else: in a MAP_SHARED shmem VMA,
        whose vm_page_prot is PAGE_SHARED (no write-notify for uffd-wp
        before 5.19), the PTE is writable *and* has bit 10, so a write
        completes without a message (None: uffd-wp present, not enforced).
        6.18 write-protects (pte_mkuffd_wp clears RW; uffd-wp VMAs are
        write-notify)."""
        with_wp = kind + "+WP" in _tokens(resolve)
        if t.is_618 or kind != "MISSING" or not with_wp:
            return with_wp
        if "w" not in v.prot:
            return False
        return None if v.shared else True

    # ----------------------------------------------------- userfaultfd ops
    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4), on=st.booleans())
    def writeprotect(self, start: int, count: int, on: bool) -> None:
        self._writeprotect(start, count, on)

    @rule(page=st.integers(0, MAX_PAGES - 1))
    def protect(self, page: int) -> None:
        """Protecting is what the rest is about: a rule of its own for weight."""
        self._writeprotect(page, 1, True)

    def _writeprotect(self, start: int, count: int, on: bool) -> None:
        start, count = self._clamp(start, count)
        pages = range(start, start + count)
        registered = all(self._vma(self.twins[0], p) is not None and
                         "WP" in self._vma(self.twins[0], p).uffd.split("|") for p in pages)
        for t in self.twins:
            if not registered:
                t.call_failing("writeprotect", start, count, on)
                continue
            kinds = ptebits.decode(t.mm.pte[start:start + count].copy(), profile=t.profile).kind
            v = self._vma(t, start)
            # userfaultfd_wp_use_markers(): file VMAs; anon only with WP_UNPOPULATED (6.4+)
            markers = self.file or "WP_UNPOPULATED" in v.features
            t.call("writeprotect", start, count, on)
            t.stale.difference_update(pages)       # the bits are now exactly on / off
            for p, kind in zip(pages, kinds):
                if on and (kind != ptebits.Kind.NONE or markers):
                    t.wp.add(p)
                elif not on:
                    t.wp.discard(p)

    @precondition(lambda self: self.unregisters < 1)
    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, MAX_PAGES))
    def unregister(self, start: int, count: int) -> None:
        self.unregisters += 1
        start, count = self._clamp(start, count)
        if self._range_op("unregister", start, count):
            for t in self.twins:
                for p in range(start, start + count):
                    if not t.is_618 and p in t.wp:
                        t.stale.add(p)      # v2: only the VMA flags change
                    t.wp.discard(p)         # 6.18: uffd_wp_range(..., false) first

    # ----------------------------------------------------- page-table ops
    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4))
    def dontneed(self, start: int, count: int) -> None:
        start, count = self._clamp(start, count)
        if self._range_op("dontneed", start, count) and not self.file:
            for t in self.twins:        # anonymous zap: nothing is left behind
                t.wp.difference_update(range(start, start + count))
                t.stale.difference_update(range(start, start + count))

    @precondition(lambda self: self.memory in MEMFD_KINDS)
    @rule(offset=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4))
    def punch(self, offset: int, count: int) -> None:
        for t in self.twins:            # unmap_mapping_range: markers kept
            t.call("punch", 0, offset, count)

    @precondition(lambda self: self.memory in ("shmem", "shared_anon"))
    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4))
    def remove(self, start: int, count: int) -> None:
        start, count = self._clamp(start, count)
        writable = self._mapped(start, count) and all(
            "w" in self._vma(self.twins[0], p).prot
            for p in range(start, start + count))
        if not writable:
            for t in self.twins:
                t.call_failing("remove", start, count)
            return
        for t in self.twins:
            t.call("remove", start, count)

    @precondition(lambda self: self.memory in MEMFD_KINDS)
    @rule(size=st.integers(0, MAX_PAGES + 2))
    def truncate(self, size: int) -> None:
        for t in self.twins:            # shmem_setattr: unmap_mapping_range keeps markers
            t.call("truncate", 0, size)

    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4))
    def pageout(self, start: int, count: int) -> None:
        self._range_op("pageout", start, count)

    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4),
          prot=st.sampled_from(["r", "rw"]))
    def mprotect(self, start: int, count: int, prot: str) -> None:
        start, count = self._clamp(start, count)
        kinds = [ptebits.decode(t.mm.pte.copy(), profile=t.profile).kind for t in self.twins]
        if not self._range_op("mprotect", start, count, prot):
            return
        if "w" in prot:
            self._v2_unenforced(start, count, kinds)

    def _v2_unenforced(self, start: int, count: int, kinds: List[np.ndarray]) -> None:
        """5.12's change_pte_range (mprotect) and do_numa_page rebuild a present
        PTE with pte_modify(pte, vm_page_prot), which takes RW from PAGE_SHARED
        and keeps bit 10.  Before write-notify for uffd-wp VMAs (6.18
        vma_wants_writenotify) a shared VMA's protected page thus becomes
        writable: uffd-wp kept in the PTE, no longer enforced (left out of the
        comparison like unregister's leftovers)."""
        if self.memory not in ("shmem", "shared_anon"):
            return                      # private VMAs: PAGE_COPY has no RW
        for t, kind in zip(self.twins, kinds):
            for p in range(start, start + count) if not t.is_618 else ():
                if p in t.wp and kind[p] in (ptebits.Kind.PRESENT, ptebits.Kind.PROTNONE):
                    t.wp.discard(p)
                    t.stale.add(p)

    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 4))
    def numa_hint(self, start: int, count: int) -> None:
        start, count = self._clamp(start, count)
        if self._range_op("numa_hint", start, count):
            kinds = [ptebits.decode(t.mm.pte.copy(), profile=t.profile).kind
                     for t in self.twins]
            self._v2_unenforced(start, count, kinds)     # the hinting fault restores RW

    @precondition(lambda self: self.unmaps < 1)
    @rule(start=st.integers(0, MAX_PAGES - 1), count=st.integers(1, 3))
    def munmap(self, start: int, count: int) -> None:
        self.unmaps += 1
        start, count = self._clamp(start, count)
        if self._range_op("munmap", start, count):
            for t in self.twins:        # unmap_vmas: ZAP_FLAG_DROP_MARKER
                t.wp.difference_update(range(start, start + count))
                t.stale.difference_update(range(start, start + count))

    # ----------------------------------------------------------- invariants
    @invariant()
    def uffd_wp_is_where_the_kernel_keeps_it(self) -> None:
        for t in self.twins:
            d = ptebits.decode(t.mm.pte.copy(), profile=t.profile)
            held = {int(p) for p in np.flatnonzero(d.uffd_wp_any)} - t.stale
            assert held == t.wp, "%s: uffd-wp in the PTEs of pages %s, the kernel keeps it on %s" \
                % (t.profile, sorted(held), sorted(t.wp))

    @invariant()
    def every_pte_is_canonical_and_unmapped_pages_are_none(self) -> None:
        for t in self.twins:
            d = ptebits.decode(t.mm.pte.copy(), profile=t.profile)
            bad = np.flatnonzero(~d.canonical)
            assert not bad.size, "%s: not canonical: %s" % (
                t.profile, [(int(p), hex(int(t.mm.pte[p]))) for p in bad])
            for p in range(self.npages):
                if self._vma(t, p) is None:
                    assert t.mm.pte[p] == 0, (t.profile, p, hex(int(t.mm.pte[p])))

    def teardown(self) -> None:
        for t in self.twins:
            mm, results = _replay(t)
            assert np.array_equal(mm.pte, t.mm.pte), t.profile
            assert mm.vmas == t.mm.vmas, t.profile
            assert [(o.size, o.cache.tolist()) for o in mm.objects] == \
                [(o.size, o.cache.tolist()) for o in t.mm.objects], t.profile
            assert mm.next_pfn == t.mm.next_pfn, t.profile
            assert len(results) == len(t.results)
            for a, b in zip(results, t.results):
                assert a.keys() == b.keys()
                for k in a:
                    assert np.array_equal(a[k], b[k]), (t.profile, k)


#: The suite's run is short and the same every time (derandomized); the
#: longer random run sets PTEBITS_STATEFUL_EXAMPLES (README "Stateful tests").
_LONG = os.environ.get("PTEBITS_STATEFUL_EXAMPLES")
FaultModelInvariants.TestCase.settings = settings(
    max_examples=int(_LONG or 150),
    stateful_step_count=int(os.environ.get("PTEBITS_STATEFUL_STEPS", 30)),
    derandomize=not _LONG, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestFaultModelInvariants = FaultModelInvariants.TestCase


def test_mprotect_to_the_same_protection_changes_no_pte() -> None:
    """v2, MAP_SHARED shmem registered WP: a write-protected page's PTE is
    read-only with bit 10; mprotect(PROT_READ|PROT_WRITE) of the already
    read-write VMA leaves it alone, so the next write still sends one WP."""
    mm = AddressSpace(2, profile=V2)
    mm.mmap(0, 2, "shmem")
    mm.register(0, 2, "WP")
    mm.dispatch([0], "write")
    mm.writeprotect(0, 1, True)
    before = int(mm.pte[0])
    mm.mprotect(0, 1, "rw")
    assert int(mm.pte[0]) == before
    assert mm.dispatch([0], "write").message_counts()["WP"] == 1
