"""Presenting decoded dumps: filters, rows with addresses, and the table,
jsonl, csv and npz writers behind ``ptebits decode``.  Everything works
chunk by chunk; only ``npz`` keeps the whole dump (and refuses one that
would not fit).
"""
from __future__ import annotations

import csv
import json
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Set, TextIO, Tuple

import numpy as np

from .codec import Kind, _as_kind
from .errors import InvalidValueError
from .outfiles import atomic_output
from .explain import summary as row_summary
from .pagemap import PM_BITS, pagemap_row_text, pagemap_rows
from .schema import csv_header, iter_rows

__all__ = ["Filters", "FLAG_FILTERS", "chunk_rows", "TableWriter", "JsonlWriter", "CsvWriter",
           "NpzWriter", "atomic_output", "npz_limit_entries"]

#: --flag names: uffd-wp in any form, soft-dirty in any form, ...
FLAG_FILTERS: Dict[str, Callable[[Any], np.ndarray]] = {
    "uffd_wp": lambda d: d.uffd_wp_any,
    "soft_dirty": lambda d: d.soft_dirty | d.swp_soft_dirty,
    "exclusive": lambda d: d.swp_exclusive,
    "dirty": lambda d: d.dirty,
    "young": lambda d: d.young,
    "write": lambda d: d.write,
    "nx": lambda d: d.nx,
    "special": lambda d: d.special,
    "global": lambda d: d.global_,
    "pkey": lambda d: d.pkey != 0,
    "canonical": lambda d: d.canonical,
    "non_canonical": lambda d: ~d.canonical,
}
_PAGEMAP_FLAGS = {"uffd_wp", "soft_dirty", "exclusive"}


def _parse_int(text: str, what: str) -> int:
    try:
        return int(text.strip().replace("_", ""), 0)
    except ValueError:
        raise InvalidValueError("%s %r is not a number (decimal, or hex with 0x)"
                                % (what, text)) from None


class Filters:
    """Which entries to show: ``kinds`` (names), ``flags`` (all must hold)
    and a PFN range [start, end)."""

    def __init__(self, kinds: Optional[str] = None, flags: Optional[str] = None,
                 pfn_range: Optional[str] = None):
        self.kinds: Optional[Set[int]] = None
        if kinds:
            self.kinds = {int(_as_kind(k.strip())) for k in kinds.split(",") if k.strip()}
        self.flags: List[str] = []
        if flags:
            for f in flags.split(","):
                name = f.strip().replace("-", "_")
                if name not in FLAG_FILTERS:
                    raise InvalidValueError("unknown --flag %r; flags: %s"
                                            % (f, ", ".join(FLAG_FILTERS)))
                self.flags.append(name)
        self.pfn_range: Optional[Tuple[int, int]] = None
        if pfn_range:
            parts = pfn_range.split("-")
            if len(parts) != 2:
                raise InvalidValueError("--pfn-range %r: use START-END (END exclusive), e.g. "
                                        "0x1000-0x2000" % pfn_range)
            lo, hi = (_parse_int(p, "--pfn-range bound") for p in parts)
            if hi <= lo:
                raise InvalidValueError("--pfn-range %r is empty (END is exclusive)" % pfn_range)
            self.pfn_range = (lo, hi)

    @property
    def active(self) -> bool:
        return bool(self.kinds or self.flags or self.pfn_range)

    def mask(self, d: Any) -> Optional[np.ndarray]:
        """Entries of a decoded chunk that pass every filter (None: all)."""
        if not self.active:
            return None
        keep = np.ones(d.kind.shape, dtype=bool)
        if self.kinds:
            keep &= np.isin(d.kind, list(self.kinds))
        pagemap = hasattr(d, "pm_flags")
        for name in self.flags:
            if pagemap:
                if name not in _PAGEMAP_FLAGS:
                    raise InvalidValueError("--flag %s does not apply to pagemap dumps (they "
                                            "have: %s)" % (name, ", ".join(sorted(_PAGEMAP_FLAGS))))
                keep &= getattr(d, name)
            else:
                keep &= FLAG_FILTERS[name](d)
        if self.pfn_range:
            lo, hi = self.pfn_range
            has = np.isin(d.kind, [int(Kind.PRESENT), int(Kind.PROTNONE), int(Kind.MIGRATION),
                                   int(Kind.DEVICE), int(Kind.HWPOISON)])
            keep &= has & (d.pfn >= np.uint64(lo)) & (d.pfn < np.uint64(hi))
        return keep.reshape(-1)


# ----------------------------------------------------------------- rows

def chunk_rows(chunk: Any, keep: Optional[np.ndarray],
               hide_none: bool = False) -> Iterator[Dict[str, Any]]:
    """One row per kept entry of a decoded chunk: ``index``, ``entry_addr``
    (gdb/crash dumps), ``va``, then the schema row."""
    d = chunk.decoded
    kind = d.kind.reshape(-1)
    sel_mask = np.ones(kind.size, dtype=bool) if keep is None else keep.copy()
    if hide_none:
        sel_mask &= kind != int(Kind.NONE)
    sel = np.flatnonzero(sel_mask)
    if not sel.size:
        return
    va = chunk.va[sel].tolist()
    addr = None if chunk.entry_addr is None else chunk.entry_addr[sel].tolist()
    if hasattr(d, "pm_flags"):
        body = pagemap_rows(d, sel.tolist())
    else:
        body = iter_rows(d if sel.size == kind.size else d[sel])
    for n, row in enumerate(body):
        head: Dict[str, Any] = {"index": chunk.start + int(sel[n])}
        if addr is not None:
            head["entry_addr"] = "0x%016x" % addr[n]
        head["va"] = "0x%016x" % va[n]
        head.update(row)
        yield head


# -------------------------------------------------------------- writers

class TableWriter:
    """Human rows: index, address, raw value and a one-line decode."""

    def __init__(self, out: TextIO, profile: Any, *, with_addr: bool, level: str = "pte"):
        self.out = out
        self.profile = profile
        self.with_addr = with_addr
        self.level = level
        out.write("%12s  %s%-18s  %-18s  %s\n" % (
            "index", "%-18s  " % "entry_addr" if with_addr else "", "va", "raw", "decoded"))

    def write(self, rows: Iterator[Dict[str, Any]]) -> None:
        w = self.out.write
        for row in rows:
            addr = "%s  " % row["entry_addr"] if self.with_addr else ""
            text = pagemap_row_text(row) if self.level == "pagemap" else \
                row_summary(row, self.profile, raw=False, level=self.level)
            w("%12d  %s%s  %s  %s\n" % (row["index"], addr, row["va"], row["raw"], text))


class JsonlWriter:
    def __init__(self, out: TextIO):
        self.out = out

    def write(self, rows: Iterator[Dict[str, Any]]) -> None:
        w = self.out.write
        for row in rows:
            w(json.dumps(row, separators=(", ", ": ")) + "\n")


class CsvWriter:
    """A fixed header; empty cells where a field does not apply."""

    def __init__(self, out: TextIO, *, pagemap: bool, level: str = "pte"):
        fields = ("index", "entry_addr", "va") + (
            ("raw", "kind") + tuple(PM_BITS) + ("pfn", "swp_type", "swp_offset") if pagemap
            else csv_header(level))
        self.writer = csv.DictWriter(out, fieldnames=fields, restval="", lineterminator="\n")
        self.writer.writeheader()

    def write(self, rows: Iterator[Dict[str, Any]]) -> None:
        for row in rows:
            self.writer.writerow(row)


def npz_limit_entries() -> int:
    """Entries an npz output may hold: the columns (about 48 bytes an entry
    with index and address) must fit in half of the memory available."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
    except OSError:
        pass
    return (avail or (4 << 30)) // 2 // 48


class NpzWriter:
    """Collects the kept entries' columns and saves them with np.savez."""

    def __init__(self, limit: Optional[int] = None):
        self.limit = npz_limit_entries() if limit is None else limit
        self.parts: Dict[str, List[np.ndarray]] = {}
        self.count = 0

    def add(self, chunk: Any, keep: Optional[np.ndarray]) -> None:
        d = chunk.decoded
        sel = slice(None) if keep is None else keep
        n = int(chunk.raw.size if keep is None else np.count_nonzero(keep))
        self.count += n
        if self.count > self.limit:
            raise InvalidValueError(
                "npz output of more than %d entries would not fit in memory; use "
                "--output jsonl or csv (streamed), --summary, or --offset/--count to take a "
                "part" % self.limit)
        cols = {"index": chunk.index, "raw": chunk.raw, "va": chunk.va}
        if chunk.entry_addr is not None:
            cols["entry_addr"] = chunk.entry_addr
        for name in ("kind", "pfn", "flags", "pm_flags", "swp_type", "swp_offset", "aux"):
            if hasattr(d, name) and name in getattr(d, "__slots__", ()):
                cols[name] = getattr(d, name)
        for name, col in cols.items():
            self.parts.setdefault(name, []).append(np.array(col.reshape(-1)[sel], copy=True))

    EMPTY = {"index": np.uint64, "raw": np.uint64, "va": np.uint64, "kind": np.uint8,
             "pfn": np.uint64, "flags": np.uint64, "swp_type": np.uint8,
             "swp_offset": np.uint64, "aux": np.uint16}

    def save(self, f: IO[bytes], meta: Dict[str, Any]) -> None:
        arrays = {name: np.concatenate(p) for name, p in self.parts.items()}
        if not arrays:                       # an empty dump: empty columns
            arrays = {name: np.zeros(0, dtype=dt) for name, dt in self.EMPTY.items()}
        arrays["meta"] = np.array(json.dumps(meta))
        np.savez(f, **arrays)
