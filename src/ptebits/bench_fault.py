"""Dispatch throughput: the C fault model against baselines measured in
the same run (``ptebits bench``, ``benchmarks/bench_dispatch.py``).

Workloads (:data:`DISPATCH_MIXES`): one fault per page of an address space
of ``faults`` pages, in sequential and in (seeded) random page order.  The
baselines are numpy copying the PTE array (memory bandwidth) and
:func:`python_dispatch_baseline`, a deliberately plain pure-Python
dispatcher of the same decisions for the paths these workloads take, named
as such; it runs on a subsample and must install the same PTEs and take the
same handlers as the C model (checked in every run).
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from ._core import lib, vma_page_prot
from .codec import encode_marker
from .fault import DEFAULT_FAULT_AROUND_BYTES, PAGE_SIZE, AddressSpace
from .profiles import Profile, get_profile

__all__ = ["DISPATCH_MIXES", "build_mix", "python_dispatch_baseline", "run_dispatch_bench",
           "format_dispatch_report", "DISPATCH_TARGETS", "DEFAULT_FAULTS"]

DEFAULT_FAULTS = 10 * 1024 * 1024
#: targets of the fault-model issue (ratios in the same run; never asserted in tests)
DISPATCH_TARGETS = {"sequential_vs_copy_max": 5.0, "speedup_vs_python_min": 50.0}

#: name -> (what it exercises, access, resolve)
DISPATCH_MIXES: Dict[str, Tuple[str, str, Optional[str]]] = {
    "present_spurious": ("read of present young pages: spurious", "read", None),
    "anon_first_touch": ("write to none anon PTEs: do_anonymous_page", "write", None),
    "shmem_read_fault_around": ("read of a populated page cache, 64 KiB fault-around",
                                "read", None),
    "shmem_read_no_fault_around": ("the same with fault_around_bytes = 4096", "read", None),
    "marker_read": ("read of uffd-wp markers / special PTEs in a uffd-wp shmem VMA",
                    "read", None),
    "wp_write_resolve": ("write to uffd-wp pages, WP message resolved by un-protect",
                         "write", "WP"),
}


def build_mix(mix: str, n: int, profile: Profile) -> AddressSpace:
    """The address space a mix starts from (built with the model itself)."""
    fab = PAGE_SIZE if mix == "shmem_read_no_fault_around" else DEFAULT_FAULT_AROUND_BYTES
    mm = AddressSpace(n, profile=profile, fault_around_bytes=fab)
    if mix in ("present_spurious", "anon_first_touch"):
        mm.mmap(0, n, "anon")
        if mix == "present_spurious":
            mm.dispatch(np.arange(n, dtype=np.uint64), "write")
        return mm
    if mix == "wp_write_resolve":
        mm.mmap(0, n, "anon")
        mm.register(0, n, "WP")
        mm.dispatch(np.arange(n, dtype=np.uint64), "write")
        mm.writeprotect(0, n, True)
        return mm
    mm.mmap(0, n, "shmem")
    obj = mm.objects[0]
    obj.cache[:n] = np.arange(n, dtype=np.uint64) + np.uint64(0x200000)
    if mix == "marker_read":
        mm.register(0, n, "WP")
        mm.writeprotect(0, n, True)        # none PTEs of a file VMA: marker / special
    return mm


# ------------------------------------------------ pure-Python baseline

def python_dispatch_baseline(mm: AddressSpace, pages: List[int], access: str,
                             resolve: Optional[str]) -> List[int]:
    """A deliberately plain pure-Python dispatcher (a benchmark baseline,
    not used by ptebits itself): the decisions of handle_pte_fault for the
    paths of :data:`DISPATCH_MIXES`, on Python lists copied from ``mm``.
    Returns the first-pass handler of each fault; updates ``mm.pte``."""
    L = lib
    prof = mm.profile
    v618 = prof.is_6_18
    uffd_bit = prof.mask("uffd_wp")
    saved_dirty = prof.mask("saved_dirty")
    soft_dirty = prof.mask("soft_dirty")
    special = prof.special_pte or -1
    marker = encode_marker(uffd_wp=True, profile=prof) if prof.has_markers else -1
    vma = mm.vmas[0]
    flags = vma.flags
    prot = vma_page_prot(prof.handle, flags)
    pte = [int(x) for x in mm.pte]
    cache = [int(x) for x in mm.objects[0].cache] if mm.objects else []
    next_pfn = mm.next_pfn
    zero_pfn = mm.zero_pfn
    fa = mm.fault_around_pages
    RW, A, D, P = L.PB_PAGE_RW, L.PB_PAGE_ACCESSED, L.PB_PAGE_DIRTY, L.PB_PAGE_PRESENT
    write = access == "write"
    anon = bool(flags & L.PB_VMA_ANON)
    wp_vma = bool(flags & L.PB_VMA_UFFD_WP)
    no_fa = bool(flags & (L.PB_VMA_UFFD_WP | L.PB_VMA_UFFD_MINOR)) or fa <= 1
    out = []

    def mkdirty(e: int) -> int:
        e |= D | soft_dirty
        if saved_dirty and not e & RW:
            e = (e & ~D) | saved_dirty
        return e

    def mkwrite(e: int) -> int:
        e |= RW
        if saved_dirty and e & saved_dirty:
            e = (e & ~saved_dirty) | D
        return e

    def mkuffd_wp(e: int) -> int:
        e = (e | uffd_bit) & ~RW
        if saved_dirty and e & D:
            e = (e & ~D) | saved_dirty
        return e

    def pfn_pte(pfn: int) -> int:
        return (pfn << 12) | prot

    for page in pages:
        first = None
        for _ in range(8):
            e = pte[page]
            if e & P:
                if write and not e & RW:
                    if wp_vma and e & uffd_bit:
                        first = first or L.PB_H_USERFAULT_WP
                        if resolve == "WP":            # UFFDIO_WRITEPROTECT off
                            e = (e & ~(uffd_bit | RW)) | (prot & RW)
                            if v618 and anon:          # an exclusive anon page
                                e = mkwrite(e)
                            pte[page] = e
                            continue
                        break
                    first = first or L.PB_H_WP_PAGE_REUSE
                    pte[page] = mkwrite(mkdirty(e | A))
                    break
                n = mkdirty(e) if write else e
                n |= A
                first = first or (L.PB_H_SPURIOUS if n == e else L.PB_H_SET_ACCESS_FLAGS)
                pte[page] = n
                break
            if e == 0:
                if anon:
                    first = first or L.PB_H_DO_ANONYMOUS_PAGE
                    if write:
                        pte[page] = mkwrite(mkdirty(pfn_pte(next_pfn)))
                        next_pfn += 1
                    else:
                        pte[page] = pfn_pte(zero_pfn) | L.PB_PAGE_SPECIAL
                    break
                if not write and not no_fa:
                    table = page & ~511
                    start = max(page & ~(fa - 1), vma.start, table)
                    for q in range(start, min(start + fa, vma.end, table + 512, len(cache))):
                        if pte[q] == 0 and cache[q]:
                            pte[q] = pfn_pte(cache[q])
                    if pte[page]:
                        first = first or L.PB_H_DO_FAULT_AROUND
                        break
                first = first or L.PB_H_DO_READ_FAULT
                pte[page] = pfn_pte(cache[page])
                break
            if e == marker or e == special:
                first = first or (L.PB_H_PTE_MARKER_HANDLE_UFFD_WP if v618
                                  else L.PB_H_UFFD_WP_HANDLE_SPECIAL)
                n = pfn_pte(cache[page])
                if not v618:
                    n &= ~RW
                pte[page] = mkuffd_wp(n)
                break
            raise NotImplementedError("the Python baseline has no path for %#x" % e)
        out.append(first)
    mm.pte[:] = np.array(pte, dtype=np.uint64)
    return out


# -------------------------------------------------------------- driver

def _median_time(fn: Callable[[], Any], before: Callable[[], Any]) -> float:
    before()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run_dispatch_bench(faults: int = DEFAULT_FAULTS, *, repeats: int = 5, seed: int = 1,
                       profile: Any = None, sample: int = 20000,
                       mixes: Optional[List[str]] = None,
                       progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Faults/s of every mix in both page orders, the copy of the PTE array
    and the Python baseline, as one dict (the ``dispatch`` part of
    ``ptebits bench --json``)."""
    prof = profile if isinstance(profile, Profile) else get_profile(profile)
    rng = np.random.default_rng(seed)
    order = {"sequential": np.arange(faults, dtype=np.uint64),
             "random": rng.permutation(faults).astype(np.uint64)}
    copy_dst = np.empty(faults, dtype=np.uint64)
    results: Dict[str, Any] = {}
    copy_times: List[float] = []
    checks: Dict[str, bool] = {}
    for mix in mixes or list(DISPATCH_MIXES):
        what, access, resolve = DISPATCH_MIXES[mix]
        if progress:
            progress("dispatch %s (%d faults)" % (mix, faults))
        mm = build_mix(mix, faults, prof)
        state = mm.snapshot()
        row: Dict[str, Any] = {"what": what}
        for oname, pages in order.items():
            out = None
            times = []
            for _ in range(repeats):
                mm.restore(state)
                t0 = time.perf_counter()
                out = mm.dispatch(pages, access, resolve=resolve, out=out)
                times.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                np.copyto(copy_dst, mm.pte)
                copy_times.append(time.perf_counter() - t0)
            med = statistics.median(times)
            row[oname] = {"median_s": med, "faults_per_s": faults / med,
                          "handlers": {k: v for k, v in out.counts.items() if v},
                          "messages": int(out.messages["kind"].size)}
        del mm, state
        # the Python baseline on a subsample of the same mix, checked against C
        n = min(sample, faults)
        small_py, small_c = build_mix(mix, n, prof), build_mix(mix, n, prof)
        pages = list(range(n))
        t0 = time.perf_counter()
        py_handlers = python_dispatch_baseline(small_py, pages, access, resolve)
        py_time = time.perf_counter() - t0
        c_batch = small_c.dispatch(np.arange(n, dtype=np.uint64), access, resolve=resolve)
        checks[mix] = (np.array_equal(small_py.pte, small_c.pte) and
                       [int(h) for h in c_batch.handler] == py_handlers)
        row["python_sample"] = {"faults": n, "seconds": py_time, "faults_per_s": n / py_time}
        results[mix] = row
    copy_med = statistics.median(copy_times)
    for row in results.values():
        for oname in order:
            row[oname]["ratio_to_copy"] = row[oname]["median_s"] / copy_med
        row["speedup_vs_python"] = row["sequential"]["faults_per_s"] / \
            row["python_sample"]["faults_per_s"]
    seq = [r["sequential"]["ratio_to_copy"] for r in results.values()]
    spd = [r["speedup_vs_python"] for r in results.values()]
    return {
        "profile": prof.name, "faults": faults, "repeats": repeats, "seed": seed,
        "copy_median_s": copy_med, "mixes": results, "checks": checks,
        "targets": dict(DISPATCH_TARGETS),
        "targets_met": {"sequential_vs_copy_max": max(seq) <= DISPATCH_TARGETS[
            "sequential_vs_copy_max"],
            "speedup_vs_python_min": min(spd) >= DISPATCH_TARGETS["speedup_vs_python_min"]},
    }


def format_dispatch_report(res: Dict[str, Any]) -> str:
    lines = ["fault dispatch: %d faults over %d PTEs, profile %s, median of %d repeats; "
             "numpy copy of the PTE array %.1f ms" % (
                 res["faults"], res["faults"], res["profile"], res["repeats"],
                 res["copy_median_s"] * 1e3),
             "  %-28s %12s %9s %12s %9s %10s" % ("mix", "seq faults/s", "x copy",
                                                 "rand faults/s", "x copy", "x python")]
    for mix, r in res["mixes"].items():
        s, q = r["sequential"], r["random"]
        lines.append("  %-28s %12.3g %9.2f %12.3g %9.2f %10.0f%s" % (
            mix, s["faults_per_s"], s["ratio_to_copy"], q["faults_per_s"],
            q["ratio_to_copy"], r["speedup_vs_python"],
            "" if res["checks"][mix] else "  PYTHON BASELINE DISAGREES"))
    t, met = res["targets"], res["targets_met"]
    lines.append("  targets: sequential <= %.0fx copy: %s; >= %.0fx the Python "
                 "dispatcher: %s" % (t["sequential_vs_copy_max"],
                                     "met" if met["sequential_vs_copy_max"] else "NOT met",
                                     t["speedup_vs_python_min"],
                                     "met" if met["speedup_vs_python_min"] else "NOT met"))
    return "\n".join(lines)
