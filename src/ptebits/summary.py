"""Summaries of decoded dumps of any size, accumulated chunk by chunk in
bounded memory: counts per kind, per swap type and per flag, distinct PFNs
(exact up to a bound, then a labelled HyperLogLog estimate) and runs of
contiguous PFNs.  Every input entry is counted; the per-kind counts add up
to the total.
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import numpy as np

from ._core import lib
from .codec import Kind

__all__ = ["DumpSummary", "PfnCounter", "format_summary"]

_PFN_KINDS = (lib.PB_KIND_PRESENT, lib.PB_KIND_PROTNONE, lib.PB_KIND_MIGRATION,
              lib.PB_KIND_DEVICE, lib.PB_KIND_HWPOISON)
_SWAP_FORMAT = (lib.PB_KIND_SWAP, lib.PB_KIND_MIGRATION, lib.PB_KIND_DEVICE,
                lib.PB_KIND_HWPOISON, lib.PB_KIND_MARKER, lib.PB_KIND_BAD)
RUN_BUCKETS = ((1, 1), (2, 15), (16, 511), (512, None))


def _mask_of(kind: np.ndarray, kinds: Any) -> np.ndarray:
    lut = np.zeros(256, dtype=bool)
    lut[list(kinds)] = True
    return lut[kind]


class PfnCounter:
    """Distinct PFNs: an exact sorted set while it holds at most
    ``exact_limit`` values (8 bytes each), then a HyperLogLog estimate
    (2^14 registers, about 0.8% standard error)."""

    P = 14

    def __init__(self, exact_limit: int = 1 << 22):
        self.exact_limit = exact_limit
        self.exact: Optional[np.ndarray] = np.zeros(0, dtype=np.uint64)
        self.registers: Optional[np.ndarray] = None

    def add(self, pfns: np.ndarray) -> None:
        if not pfns.size:
            return
        if self.exact is not None:
            merged = np.union1d(self.exact, pfns)
            if merged.size <= self.exact_limit:
                self.exact = merged
                return
            self.registers = np.zeros(1 << self.P, dtype=np.uint8)
            self._hll_add(merged)
            self.exact = None
            return
        self._hll_add(np.unique(pfns))

    @staticmethod
    def _hash(x: np.ndarray) -> np.ndarray:
        # splitmix64 finaliser: a well-mixed 64-bit hash of each PFN
        with np.errstate(over="ignore"):
            z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            return z ^ (z >> np.uint64(31))

    def _hll_add(self, pfns: np.ndarray) -> None:
        assert self.registers is not None
        h = self._hash(pfns)
        idx = (h >> np.uint64(64 - self.P)).astype(np.intp)
        w = (h << np.uint64(self.P)) | np.uint64(1 << (self.P - 1))  # never zero
        # rank = leading zeros of w + 1, by a six-step binary search
        rank = np.ones(w.shape, dtype=np.uint8)
        for shift in (32, 16, 8, 4, 2, 1):
            top_zero = (w >> np.uint64(64 - shift)) == 0
            rank += (top_zero * shift).astype(np.uint8)
            w = np.where(top_zero, w << np.uint64(shift), w)
        np.maximum.at(self.registers, idx, rank)

    @property
    def is_exact(self) -> bool:
        return self.exact is not None

    def count(self) -> int:
        if self.exact is not None:
            return int(self.exact.size)
        assert self.registers is not None
        m = float(1 << self.P)
        alpha = 0.7213 / (1 + 1.079 / m)
        est = alpha * m * m / float(np.sum(np.ldexp(1.0, -self.registers.astype(np.int32))))
        zeros = int(np.count_nonzero(self.registers == 0))
        if est <= 2.5 * m and zeros:
            est = m * np.log(m / zeros)        # linear counting for small sets
        return int(round(est))


class DumpSummary:
    """Counts over every entry of a dump, fed one decoded chunk at a time."""

    def __init__(self, profile: Any, *, pfn_exact_limit: int = 1 << 22):
        self.profile = profile
        self.total = 0
        self.matched: Optional[int] = None
        self.kinds = np.zeros(lib.PB_KIND_COUNT + 8, dtype=np.int64)
        self.swap_types = np.zeros(lib.PB_SWP_NTYPES, dtype=np.int64)
        self.flags: Dict[str, int] = {k: 0 for k in (
            "uffd_wp", "soft_dirty", "exclusive", "dirty", "young", "nx", "pkey")}
        self.pkeys = np.zeros(16, dtype=np.int64)
        self.pfns = PfnCounter(pfn_exact_limit)
        self.runs = np.zeros(len(RUN_BUCKETS), dtype=np.int64)
        self.longest_run = 0
        self._run = 0                   # length of the run still open at the chunk end
        self._last_pfn: Optional[int] = None
        self.pagemap = False
        self.pm_flags: Dict[str, int] = {}

    # ---------------------------------------------------------------- add
    def add(self, decoded: Any, matched: Optional[np.ndarray] = None) -> None:
        """Count one chunk (``matched``: the entries a filter kept)."""
        kind = decoded.kind.reshape(-1)
        n = int(kind.size)
        self.total += n
        if matched is not None:
            self.matched = (self.matched or 0) + int(np.count_nonzero(matched))
        counts = np.bincount(kind, minlength=self.kinds.size)[:self.kinds.size]
        self.kinds += counts
        if counts[lib.PB_KIND_NONE] == n and not hasattr(decoded, "pm_flags"):
            # a hole: no flags, no PFNs; it ends any open run of PFNs
            if self._run:
                self._close_run(self._run)
                self._run = 0
            self._last_pfn = None
            return
        if hasattr(decoded, "pm_flags"):
            self._add_pagemap(decoded, kind)
            return
        swapish = _mask_of(kind, _SWAP_FORMAT)
        self.swap_types += np.bincount(decoded.swp_type.reshape(-1)[swapish],
                                       minlength=lib.PB_SWP_NTYPES)
        for name, view in (("uffd_wp", "uffd_wp_any"), ("dirty", "dirty"), ("young", "young"),
                           ("nx", "nx"), ("exclusive", "swp_exclusive")):
            self.flags[name] += int(np.count_nonzero(getattr(decoded, view)))
        self.flags["soft_dirty"] += int(np.count_nonzero(decoded.soft_dirty |
                                                         decoded.swp_soft_dirty))
        pkey = decoded.pkey.reshape(-1)
        self.flags["pkey"] += int(np.count_nonzero(pkey))
        self.pkeys += np.bincount(pkey.astype(np.intp), minlength=16)[:16]
        has_pfn = _mask_of(kind, _PFN_KINDS)
        self._add_pfns(decoded.pfn.reshape(-1), has_pfn)

    def _add_pagemap(self, decoded: Any, kind: np.ndarray) -> None:
        self.pagemap = True
        for name in ("present", "swap", "file", "exclusive", "soft_dirty", "uffd_wp", "guard"):
            self.pm_flags[name] = self.pm_flags.get(name, 0) + int(
                np.count_nonzero(getattr(decoded, name)))
        swapped = decoded.swap.reshape(-1)
        self.swap_types += np.bincount(decoded.swp_type.reshape(-1)[swapped],
                                       minlength=lib.PB_SWP_NTYPES)
        self._add_pfns(decoded.pfn.reshape(-1), decoded.present.reshape(-1))

    def _add_pfns(self, pfn: np.ndarray, has_pfn: np.ndarray) -> None:
        self.pfns.add(pfn[has_pfn])
        n = pfn.size
        if not n:
            return
        # runs of contiguous PFNs in entry order: entry i continues a run when
        # it and entry i-1 both map a PFN and pfn[i] == pfn[i-1] + 1; a run
        # still open at the end of a chunk is carried into the next one
        cont = np.zeros(n, dtype=bool)
        cont[1:] = has_pfn[1:] & has_pfn[:-1] & (pfn[1:] == pfn[:-1] + np.uint64(1))
        cont[0] = bool(has_pfn[0]) and self._run > 0 and self._last_pfn is not None \
            and int(pfn[0]) == self._last_pfn + 1
        starts = np.flatnonzero(has_pfn & ~cont)
        ends = np.flatnonzero(has_pfn & ~np.append(cont[1:], False))
        open_at_end = bool(has_pfn[-1])
        if cont[0]:
            first_end = int(ends[0])
            ends = ends[1:]
            if first_end == n - 1:           # the carried run spans this chunk
                self._run += n
                self._last_pfn = int(pfn[-1])
                return
            self._close_run(self._run + first_end + 1)
        elif self._run:
            self._close_run(self._run)
        self._run = 0
        lengths = (ends - starts + 1).astype(np.int64)
        if open_at_end and lengths.size:
            self._run = int(lengths[-1])
            lengths = lengths[:-1]
        for b, (lo, hi) in enumerate(RUN_BUCKETS):
            sel = lengths >= lo if hi is None else (lengths >= lo) & (lengths <= hi)
            self.runs[b] += int(np.count_nonzero(sel))
        if lengths.size:
            self.longest_run = max(self.longest_run, int(lengths.max()))
        self._last_pfn = int(pfn[-1]) if open_at_end else None

    def _close_run(self, length: int) -> None:
        for b, (lo, hi) in enumerate(RUN_BUCKETS):
            if length >= lo and (hi is None or length <= hi):
                self.runs[b] += 1
        self.longest_run = max(self.longest_run, length)

    def finish(self) -> "DumpSummary":
        """Close the run still open at the end of the input."""
        if self._run:
            self._close_run(self._run)
            self._run = 0
        return self

    # ------------------------------------------------------------- output
    def result(self) -> Dict[str, Any]:
        """The summary as plain data (JSON-ready)."""
        self.finish()
        names = [str(k) for k in Kind]
        kinds = {names[k]: int(self.kinds[k]) for k in range(len(names))}
        out: Dict[str, Any] = {
            "profile": self.profile.name,
            "entries": self.total,
            "kinds": kinds,
            "swap_types": {"%d" % t: {"count": int(c), "meaning": self.profile.type_name(t)}
                           for t, c in enumerate(self.swap_types) if c},
            "distinct_pfns": self.pfns.count(),
            "distinct_pfns_exact": self.pfns.is_exact,
            "pfn_runs": {("%d" % lo if hi == lo else "%d+" % lo if hi is None
                          else "%d-%d" % (lo, hi)): int(c)
                         for (lo, hi), c in zip(RUN_BUCKETS, self.runs)},
            "longest_pfn_run": self.longest_run,
        }
        if self.pagemap:
            out["pagemap_flags"] = dict(self.pm_flags)
        else:
            out["flags"] = dict(self.flags)
            out["pkeys"] = {"%d" % k: int(c) for k, c in enumerate(self.pkeys) if c and k}
        if self.matched is not None:
            out["matched_by_filters"] = self.matched
        assert sum(kinds.values()) == self.total, "per-kind counts must add up"
        return out


def format_summary(res: Dict[str, Any]) -> str:
    """The human rendering of :meth:`DumpSummary.result`."""
    lines = ["%d entries (profile %s)" % (res["entries"], res["profile"])]
    if "matched_by_filters" in res:
        lines.append("  matched by the filters: %d" % res["matched_by_filters"])
    width = max(len(k) for k in res["kinds"])
    lines.append("  by kind:")
    for k, c in res["kinds"].items():
        if c:
            lines.append("    %-*s %12d  %5.1f%%" % (width, k, c,
                                                    100.0 * c / max(1, res["entries"])))
    if res["swap_types"]:
        lines.append("  by swap type:")
        for t, d in res["swap_types"].items():
            lines.append("    %3s %-26s %12d" % (t, d["meaning"], d["count"]))
    flags = res.get("flags") or res.get("pagemap_flags") or {}
    if flags:
        lines.append("  flags:" + "".join("  %s %d" % kv for kv in flags.items()))
    if res.get("pkeys"):
        lines.append("  protection keys:" + "".join("  %s: %d" % kv for kv in res["pkeys"].items()))
    lines.append("  distinct PFNs: %d%s" % (res["distinct_pfns"], "" if res["distinct_pfns_exact"]
                                            else " (estimate, HyperLogLog, ~1% error)"))
    lines.append("  runs of contiguous PFNs:" + "".join(
        "  %s: %d" % kv for kv in res["pfn_runs"].items()) +
        "  (longest %d)" % res["longest_pfn_run"])
    return "\n".join(lines)
