"""Benchmark workloads and baselines, shared by ``ptebits bench`` and
``benchmarks/``.

The baselines here are deliberately plain second implementations, named as
such: :func:`numpy_decode_baseline` (vectorized numpy, must produce the C
core's columns exactly: checked in every run) and
:func:`python_decode_baseline` (a per-entry pure-Python loop, timed on a
subsample).  Memory bandwidth is measured as numpy copying the same array.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from . import __version__
from ._core import lib
from ._parallel import available_cpus, check_threads
from .codec import Decoded, classify, decode, encode_marker, encode_migration, \
    encode_present, encode_swap
from .profiles import Profile, get_profile

__all__ = ["MIX", "make_page_table", "numpy_decode_baseline", "python_decode_baseline",
           "run_codec_bench", "scaling_counts", "TARGETS"]

#: The synthetic workload: share of entries per kind, laid out in runs (a
#: process's page tables: mapped stretches, holes, swapped-out ranges).
MIX: Dict[str, float] = {
    "none": 0.40,                  # holes inside mapped page-table pages
    "present_anon_rw": 0.25,       # PAGE_SHARED-like, dirty + young
    "present_file_ro": 0.12,       # read-only file pages
    "present_uffd_wp": 0.05,       # write-protected by userfaultfd (bit 10, read-only)
    "protnone": 0.03,              # NUMA-hinting PTEs (pte_modify to PAGE_NONE)
    "swap": 0.10,                  # swapped out (types 0-1, some uffd-wp / exclusive)
    "migration": 0.01,             # under migration
    "marker_uffd_wp": 0.035,       # uffd-wp markers over unpopulated/zapped pages
    "marker_guard": 0.005,         # guard regions
}
MEAN_RUN = 24            # mean run length in entries (geometric)
DEFAULT_ENTRIES = 16 * 1024 * 1024
DEFAULT_SEED = 20211027

#: Acceptance targets (ratios measured in the same run; never asserted in tests).
TARGETS = {"decode_vs_copy_max": 3.0, "classify_vs_copy_max": 1.5,
           "decode_speedup_vs_numpy_min": 20.0}


def make_page_table(n: int = DEFAULT_ENTRIES, *, seed: int = DEFAULT_SEED,
                    profile: Any = None) -> np.ndarray:
    """A realistic synthetic PTE array of n entries, deterministic for a seed.

    The array is a sequence of runs (geometric lengths, mean :data:`MEAN_RUN`)
    whose kinds are drawn from :data:`MIX`.  Within a run PFNs are contiguous
    and the swap area and uffd-wp state are the run's, as a VMA range is
    faulted, swapped out or write-protected together; the swap-exclusive bit
    is per page (90%).  Every value is made by ptebits' own encoders.
    """
    prof = get_profile(profile)
    rng = np.random.default_rng(seed)
    names = list(MIX)
    weights = np.array([MIX[k] for k in names])
    lengths = []
    total = 0
    while total < n:
        batch = rng.geometric(1.0 / MEAN_RUN, size=max(16, (n - total) // MEAN_RUN + 16))
        lengths.append(batch)
        total += int(batch.sum())
    run_len = np.concatenate(lengths)
    run_len = run_len[:int(np.searchsorted(np.cumsum(run_len), n)) + 1]
    run_len[-1] -= int(run_len.sum()) - n
    runs = len(run_len)
    run_kind = rng.choice(len(names), size=runs, p=weights / weights.sum())
    run_pfn = rng.integers(0x1000, 1 << 30, size=runs, dtype=np.uint64)
    run_type = rng.integers(0, 2, size=runs, dtype=np.uint64)
    run_wp = rng.random(runs) < 0.2
    run_start = np.concatenate([[0], np.cumsum(run_len)[:-1]])
    kinds = np.repeat(run_kind, run_len)
    within = np.arange(n, dtype=np.uint64) - np.repeat(run_start, run_len).astype(np.uint64)
    pfn = np.repeat(run_pfn, run_len) + within
    swp_type = np.repeat(run_type, run_len)
    wp = np.repeat(run_wp, run_len)
    out = np.zeros(n, dtype=np.uint64)
    for i, name in enumerate(names):
        sel = kinds == i
        m = int(sel.sum())
        if not m or name == "none":
            continue
        if name == "present_anon_rw":
            vals = encode_present(pfn[sel], lib.PB_PAGE_SHARED | lib.PB_PAGE_DIRTY, profile=prof)
        elif name == "present_file_ro":
            vals = encode_present(pfn[sel], lib.PB_PAGE_READONLY, profile=prof)
        elif name == "present_uffd_wp":
            vals = encode_present(pfn[sel], lib.PB_PAGE_READONLY | prof.mask("uffd_wp"),
                                  profile=prof)
        elif name == "protnone":
            vals = encode_present(pfn[sel], lib.PB_PAGE_NONE, profile=prof)
        elif name == "swap":
            vals = encode_swap(swp_type[sel], pfn[sel] & np.uint64((1 << 24) - 1),
                               uffd_wp=wp[sel],
                               exclusive=(rng.random(m) < 0.9) & bool(prof.mask("swp_exclusive")),
                               profile=prof)
        elif name == "migration":
            vals = encode_migration(pfn[sel], write=wp[sel], profile=prof)
        elif name == "marker_uffd_wp":
            vals = (np.full(m, encode_marker(uffd_wp=True, profile=prof), dtype=np.uint64)
                    if prof.has_markers else np.full(m, prof.special_pte or 0, np.uint64))
        else:  # marker_guard; the v2 profile has no guard regions: holes instead
            vals = (np.full(m, encode_marker(guard=True, profile=prof), dtype=np.uint64)
                    if prof.has_markers else np.zeros(m, np.uint64))
        out[sel] = vals
    return out


# ----------------------------------------------------------- baselines

def _layout(prof: Profile) -> Dict[str, Any]:
    lay = {k: np.uint64(prof.mask(k)) for k in (
        "uffd_wp", "dirty_bits", "swp_soft_dirty", "swp_uffd_wp", "swp_exclusive",
        "special_pte", "swp_pfn_mask", "mig_young", "mig_dirty", "pfn_limit_swp")}
    lay["type_kind"] = np.array(prof._layout["type_kind"], dtype=np.uint8)
    lay["type_sub"] = np.array(prof._layout["type_sub"], dtype=np.uint16)
    return lay


def numpy_decode_baseline(raw: np.ndarray, profile: Any = None) -> Dict[str, np.ndarray]:
    """BASELINE: the decode written plainly in numpy (whole-array passes and
    temporaries).  Returns the same six columns as :func:`ptebits.decode`."""
    prof = get_profile(profile)
    L = _layout(prof)
    u = np.uint64
    P, PN = u(lib.PB_PAGE_PRESENT), u(lib.PB_PAGE_PROTNONE)
    AD = u(lib.PB_PAGE_ACCESSED | lib.PB_PAGE_DIRTY)
    PFN = u(lib.PB_PTE_PFN_MASK)
    is_none = (raw & ~AD) == 0
    is_present = (raw & P) != 0
    is_protnone = ~is_present & ((raw & PN) != 0)
    is_special = (raw == L["special_pte"]) & ~is_none if L["special_pte"] else np.zeros_like(is_none)
    swapfmt = ~(is_none | is_present | is_protnone | is_special)
    swp_type = (raw >> u(lib.PB_SWP_TYPE_SHIFT)).astype(np.uint8)
    offset = (~raw << u(lib.PB_SWP_TYPE_BITS)) >> u(lib.PB_SWP_OFFSET_SHIFT)
    kind = L["type_kind"][swp_type]
    bad_marker = (kind == lib.PB_KIND_MARKER) & ((offset == 0) | ((offset & ~u(7)) != 0))
    kind = np.where(bad_marker, np.uint8(lib.PB_KIND_BAD), kind)
    kind = np.where(swapfmt, kind, np.uint8(lib.PB_KIND_NONE))
    kind = np.where(is_present, np.uint8(lib.PB_KIND_PRESENT), kind)
    kind = np.where(is_protnone, np.uint8(lib.PB_KIND_PROTNONE), kind)
    kind = np.where(is_special, np.uint8(lib.PB_KIND_UFFD_WP_SPECIAL), kind).astype(np.uint8)

    presentish = is_present | is_protnone
    pfnkind = (kind == lib.PB_KIND_MIGRATION) | (kind == lib.PB_KIND_DEVICE) | \
        (kind == lib.PB_KIND_HWPOISON)
    is_marker = kind == lib.PB_KIND_MARKER
    is_swap = kind == lib.PB_KIND_SWAP
    inv = np.where(is_protnone, ~u(0), u(0))
    pfn = np.where(presentish, ((raw ^ inv) & PFN) >> u(12),
                   np.where(pfnkind, offset & L["swp_pfn_mask"], u(0)))
    flags = np.where(presentish, raw & ~PFN, u(0))
    swp_type_col = np.where(swapfmt, swp_type, np.uint8(0)).astype(np.uint8)
    swp_offset_col = np.where(swapfmt, offset, u(0))

    a = np.uint16
    sd = (raw & L["swp_soft_dirty"]) != 0
    uw = (raw & L["swp_uffd_wp"]) != 0
    ex = (raw & L["swp_exclusive"]) != 0
    swpflags = (sd * a(lib.PB_AUX_SWP_SOFT_DIRTY) | uw * a(lib.PB_AUX_SWP_UFFD_WP | lib.PB_AUX_UFFD_WP_ANY)
                | ex * a(lib.PB_AUX_SWP_EXCLUSIVE)).astype(np.uint16)
    aux = np.zeros(raw.shape, dtype=np.uint16)
    aux = np.where(swapfmt & ~is_marker, swpflags, aux)
    marker_bits = ((offset & u(7)) << u(lib.PB_AUX_MARKER_SHIFT)).astype(np.uint16)
    marker_aux = marker_bits | ((offset & u(1)) != 0) * a(lib.PB_AUX_UFFD_WP_ANY) | \
        uw * a(lib.PB_AUX_UFFD_WP_ANY)
    aux = np.where(is_marker, marker_aux, aux)
    mig = kind == lib.PB_KIND_MIGRATION
    aux = aux | np.where(pfnkind, L["type_sub"][swp_type], a(0)).astype(np.uint16)
    aux = aux | (mig & ((offset & L["mig_young"]) != 0)) * a(lib.PB_AUX_MIG_YOUNG)
    aux = aux | (mig & ((offset & L["mig_dirty"]) != 0)) * a(lib.PB_AUX_MIG_DIRTY)
    aux = np.where(presentish, a(0), aux)
    aux = np.where(is_special, a(lib.PB_AUX_UFFD_WP_ANY), aux)

    # canonical: re-encoding reproduces bits 0-8 only for the flag bits the
    # kind carries, and the offset only within the kind's field widths
    low = raw & u(0x1ff)
    swp_ok = L["swp_soft_dirty"] | L["swp_uffd_wp"]
    canon = is_present | is_protnone | is_special | (raw == 0)
    canon |= is_swap & ((low & ~(swp_ok | L["swp_exclusive"])) == 0)
    pfn_fields = L["swp_pfn_mask"] | L["mig_young"] | L["mig_dirty"]
    canon |= mig & ((low & ~swp_ok) == 0) & ((offset & ~pfn_fields) == 0) & \
        ((offset & L["swp_pfn_mask"]) < L["pfn_limit_swp"])
    dev_or_hwp = (kind == lib.PB_KIND_DEVICE) | (kind == lib.PB_KIND_HWPOISON)
    low_ok_dev = np.where(kind == lib.PB_KIND_DEVICE, (low & ~swp_ok) == 0, low == 0)
    canon |= dev_or_hwp & low_ok_dev & ((offset & ~L["swp_pfn_mask"]) == 0) & \
        (offset < L["pfn_limit_swp"])
    canon |= is_marker & (low == 0)
    aux = aux | canon * a(lib.PB_AUX_CANONICAL)
    return {"kind": kind, "pfn": pfn, "flags": flags, "swp_type": swp_type_col,
            "swp_offset": swp_offset_col, "aux": aux.astype(np.uint16)}


def python_decode_baseline(values: List[int], profile: Any = None) -> List[Tuple[int, ...]]:
    """BASELINE: a per-entry pure-Python loop computing (kind, pfn, flags,
    swp_type, swp_offset) for each value."""
    prof = get_profile(profile)
    type_kind = list(prof._layout["type_kind"])
    special = prof.special_pte
    pfn_mask = prof.mask("swp_pfn_mask")
    P, PN, PFN, AD = lib.PB_PAGE_PRESENT, lib.PB_PAGE_PROTNONE, lib.PB_PTE_PFN_MASK, \
        lib.PB_PAGE_ACCESSED | lib.PB_PAGE_DIRTY
    M64 = (1 << 64) - 1
    pfn_kinds = (lib.PB_KIND_MIGRATION, lib.PB_KIND_DEVICE, lib.PB_KIND_HWPOISON)
    out = []
    for v in values:
        if not v & ~AD:
            out.append((lib.PB_KIND_NONE, 0, 0, 0, 0))
        elif v & P:
            out.append((lib.PB_KIND_PRESENT, (v & PFN) >> 12, v & ~PFN & M64, 0, 0))
        elif v & PN:
            out.append((lib.PB_KIND_PROTNONE, ((v ^ M64) & PFN) >> 12, v & ~PFN & M64, 0, 0))
        elif v == special:
            out.append((lib.PB_KIND_UFFD_WP_SPECIAL, 0, 0, 0, 0))
        else:
            t = v >> 59
            off = ((~v & M64) << 5 & M64) >> 14
            k = type_kind[t]
            if k == lib.PB_KIND_MARKER and (off == 0 or off & ~7):
                k = lib.PB_KIND_BAD
            out.append((k, off & pfn_mask if k in pfn_kinds else 0, 0, t, off))
    return out


# -------------------------------------------------------------- runner

def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def scaling_counts(max_threads: Optional[int] = None) -> List[int]:
    """The thread counts the scaling part times: 2 up to ``max_threads``
    (default: the CPUs this process may use); empty on one CPU."""
    top = available_cpus() if max_threads is None else check_threads(max_threads)
    return list(range(2, (top or 1) + 1))


def run_codec_bench(entries: int = DEFAULT_ENTRIES, *, repeats: int = 7,
                    seed: int = DEFAULT_SEED, profile: Any = None,
                    python_sample: int = 100_000, max_threads: Optional[int] = None,
                    progress: Optional[Callable[[str], None]] = None) -> Dict[str, Any]:
    """Run the codec benchmark; returns the figures (see README for the keys).

    decode and classify are timed with one thread (``threads=1``, the
    figures compared with the baselines) and, for thread scaling, with 2 up
    to ``max_threads`` threads (default: the CPUs this process may use), all
    interleaved in the same repeats.
    """
    say = progress or (lambda msg: None)
    counts = scaling_counts(max_threads)
    prof = get_profile(profile)
    say("building a %d-entry page table (seed %d)" % (entries, seed))
    raw = make_page_table(entries, seed=seed, profile=prof)
    raw.setflags(write=False)
    copy_dst = np.empty_like(raw)
    dec = Decoded.empty(prof, raw.shape)
    kinds = np.empty(raw.shape, dtype=np.uint8)

    say("checking the C columns against the numpy baseline")
    decode(raw, profile=prof, out=dec, threads=1)
    ref = numpy_decode_baseline(raw, prof)
    mismatched = [name for name, col in ref.items()
                  if not np.array_equal(col, getattr(dec, name))]
    sample_n = min(python_sample, entries)
    sample = raw[:sample_n].tolist()
    py = python_decode_baseline(sample, prof)
    py_cols = np.array(py, dtype=np.uint64).reshape(-1, 5) if py else np.zeros((0, 5), np.uint64)
    python_ok = all(np.array_equal(py_cols[:, i], getattr(dec, name)[:sample_n].astype(np.uint64))
                    for i, name in enumerate(("kind", "pfn", "flags", "swp_type", "swp_offset")))

    # every thread count must give the one-thread columns, bit for bit
    dec_n = Decoded.empty(prof, raw.shape)
    kinds_n = np.empty(raw.shape, dtype=np.uint8)
    classify(raw, profile=prof, out=kinds, threads=1)
    threads_differ = []
    for n in counts:
        decode(raw, profile=prof, out=dec_n, threads=n)
        classify(raw, profile=prof, out=kinds_n, threads=n)
        if not (all(np.array_equal(col, getattr(dec_n, name))
                    for name, col in dec.columns().items())
                and np.array_equal(kinds, kinds_n)):
            threads_differ.append(n)

    # warm every buffer once, then interleave the repeats
    np.copyto(copy_dst, raw)
    times: Dict[str, List[float]] = {"copy": [], "decode": [], "classify": [], "numpy_decode": []}
    # thread scaling: seconds per thread count (str, as JSON keys are)
    ttimes: Dict[str, Dict[str, List[float]]] = {
        job: {str(n): [] for n in counts} for job in ("decode", "classify")}
    for r in range(repeats):
        say("repeat %d/%d" % (r + 1, repeats))
        times["copy"].append(_timed(lambda: np.copyto(copy_dst, raw)))
        times["decode"].append(_timed(lambda: decode(raw, profile=prof, out=dec, threads=1)))
        times["classify"].append(_timed(lambda: classify(raw, profile=prof, out=kinds,
                                                         threads=1)))
        for n in counts:
            ttimes["decode"][str(n)].append(
                _timed(lambda: decode(raw, profile=prof, out=dec_n, threads=n)))
            ttimes["classify"][str(n)].append(
                _timed(lambda: classify(raw, profile=prof, out=kinds_n, threads=n)))
        times["numpy_decode"].append(_timed(lambda: numpy_decode_baseline(raw, prof)))
    py_times = [_timed(lambda: python_decode_baseline(sample, prof)) for _ in range(3)]

    med = {k: statistics.median(v) for k, v in times.items()}
    # time with n threads over time with one (median_s["decode"]), both
    # medians of the same interleaved repeats
    tmed = {job: {n: statistics.median(v) for n, v in per.items()}
            for job, per in ttimes.items()}
    scaling = {"cpus": available_cpus(), "threads": counts,
               "ratio_to_1_thread": {job: {n: t / med[job] for n, t in per.items()}
                                     for job, per in tmed.items()},
               "median_s": tmed, "all_s": ttimes}
    py_rate = sample_n / statistics.median(py_times) if sample_n else 0.0
    rate = {k: entries / t if t else float("inf") for k, t in med.items()}
    ratios = {
        "decode_vs_copy": med["decode"] / med["copy"],
        "classify_vs_copy": med["classify"] / med["copy"],
        "decode_speedup_vs_numpy": med["numpy_decode"] / med["decode"],
        "decode_speedup_vs_python": rate["decode"] / py_rate if py_rate else float("inf"),
    }
    met = {
        "decode_vs_copy": ratios["decode_vs_copy"] <= TARGETS["decode_vs_copy_max"],
        "classify_vs_copy": ratios["classify_vs_copy"] <= TARGETS["classify_vs_copy_max"],
        "decode_speedup_vs_numpy":
            ratios["decode_speedup_vs_numpy"] >= TARGETS["decode_speedup_vs_numpy_min"],
    }
    return {
        "ptebits_version": __version__,
        "benchmark": "codec",
        "profile": prof.name,
        "entries": entries,
        "seed": seed,
        "repeats": repeats,
        "threads": 1,
        "decode_form": decode_form(),
        "thread_scaling": scaling,
        "mix": dict(MIX),
        "counts": dec.counts(),
        "python_sample": sample_n,
        "median_s": med,
        "all_s": times,
        "entries_per_s": {"copy": rate["copy"], "decode": rate["decode"],
                          "classify": rate["classify"], "numpy_decode": rate["numpy_decode"],
                          "python_decode": py_rate},
        "copy_bandwidth_gb_s": 2 * raw.nbytes / med["copy"] / 1e9,
        "ratios": ratios,
        "targets": dict(TARGETS),
        "targets_met": met,
        "checks": {"numpy_columns_identical": not mismatched,
                   "numpy_mismatched_columns": mismatched,
                   "python_sample_identical": python_ok,
                   "threaded_columns_identical": not threads_differ,
                   "threads_mismatched": threads_differ},
        "machine": {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
                    "numpy": np.__version__, "platform": platform.platform()},
    }


def decode_form() -> str:
    """How decode() runs on this CPU: "avx512" (eight entries per vector) or
    "scalar" (no AVX-512F, or PTEBITS_NO_AVX512 set)."""
    return "avx512" if lib.pb_decode_vector_isa() == lib.PB_ISA_AVX512 else "scalar"


def format_report(res: Dict[str, Any]) -> str:
    """The human report of :func:`run_codec_bench`."""
    m, r, t, met = res["median_s"], res["ratios"], res["targets"], res["targets_met"]
    ok = lambda b: "ok" if b else "MISSED"  # noqa: E731
    lines = [
        "ptebits %s codec benchmark: %d entries (%.0f MiB), profile %s, seed %d, "
        "median of %d interleaved repeats, 1 thread unless said, decode form %s" % (
            res["ptebits_version"], res["entries"], res["entries"] * 8 / 2**20, res["profile"],
            res["seed"], res["repeats"], res["decode_form"]),
        "  mix: " + ", ".join("%s %d" % kv for kv in res["counts"].items() if kv[1]),
        "",
        "  %-28s %10s %14s" % ("", "median", "entries/s"),
        "  %-28s %9.1fms %14.3g" % ("numpy copy (bandwidth)", m["copy"] * 1e3,
                                    res["entries_per_s"]["copy"]),
        "  %-28s %9.1fms %14.3g" % ("ptebits.decode (C)", m["decode"] * 1e3,
                                    res["entries_per_s"]["decode"]),
        "  %-28s %9.1fms %14.3g" % ("ptebits.classify (C)", m["classify"] * 1e3,
                                    res["entries_per_s"]["classify"]),
        "  %-28s %9.1fms %14.3g" % ("numpy decoder (baseline)", m["numpy_decode"] * 1e3,
                                    res["entries_per_s"]["numpy_decode"]),
        "  %-28s %10s %14.3g" % ("pure-Python loop (baseline)", "-",
                                 res["entries_per_s"]["python_decode"]),
        "",
        "  copy bandwidth %.2f GB/s (read + write)" % res["copy_bandwidth_gb_s"],
        "  decode   / copy   = %5.2fx  (target <= %.1fx) %s" % (
            r["decode_vs_copy"], t["decode_vs_copy_max"], ok(met["decode_vs_copy"])),
        "  classify / copy   = %5.2fx  (target <= %.1fx) %s" % (
            r["classify_vs_copy"], t["classify_vs_copy_max"], ok(met["classify_vs_copy"])),
        "  numpy decoder / decode = %5.1fx faster (target >= %.0fx) %s" % (
            r["decode_speedup_vs_numpy"], t["decode_speedup_vs_numpy_min"],
            ok(met["decode_speedup_vs_numpy"])),
        "  Python loop   / decode = %5.0fx faster (entries/s, %d-entry sample)" % (
            r["decode_speedup_vs_python"], res["python_sample"]),
        "  check: numpy decoder columns identical to C: %s; Python sample identical: %s" % (
            "yes" if res["checks"]["numpy_columns_identical"] else
            "NO (%s)" % ", ".join(res["checks"]["numpy_mismatched_columns"]),
            "yes" if res["checks"]["python_sample_identical"] else "NO"),
    ]
    return "\n".join(lines + _scaling_lines(res))


def _scaling_lines(res: Dict[str, Any]) -> List[str]:
    """The thread-scaling part of the report."""
    sc, m = res["thread_scaling"], res["median_s"]
    tm, ratio = sc["median_s"], sc["ratio_to_1_thread"]
    if not sc["threads"]:
        return ["", "  thread scaling: not measured (one CPU available to this process, "
                "or --max-threads 1)"]
    lines = ["", "  thread scaling on %d CPU%s (time with N threads / time with 1 thread, "
             "same run; < 1 is faster):" % (sc["cpus"], "" if sc["cpus"] == 1 else "s"),
             "  %-10s %12s %12s" % ("threads", "decode", "classify"),
             "  %-10d %9.1fms %9.1fms" % (1, m["decode"] * 1e3, m["classify"] * 1e3)]
    for n in sc["threads"]:
        lines.append("  %-10d %9.1fms %9.1fms   decode %.2fx, classify %.2fx" % (
            n, tm["decode"][str(n)] * 1e3, tm["classify"][str(n)] * 1e3,
            ratio["decode"][str(n)], ratio["classify"][str(n)]))
    lines.append("  check: every thread count gives the one-thread columns: %s" % (
        "yes" if res["checks"]["threaded_columns_identical"] else
        "NO (threads %s)" % ", ".join(map(str, res["checks"]["threads_mismatched"]))))
    return lines
