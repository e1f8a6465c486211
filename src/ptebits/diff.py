"""Compare two dumps of the same table entry by entry, in bounded memory.

Typical inputs are the same page-table page (or range) dumped before and
after something happened: a snapshot, a migration, a userfaultfd session,
a swap-out.  Both dumps are streamed side by side (:func:`ptebits.dumps.read_dump`)
and compared one aligned piece at a time: the two readers may hand out
chunks of different sizes (a hex file and a raw file, say), so each step
compares the longest run both current chunks still hold, and only then
reads further on the side that ran out.  Nothing holds more than one chunk
per side, whatever the dump sizes.

An entry *changed* when its raw value differs: another kind, or the same
kind with any field or bit changed.  The counting is vectorised per piece
(compare, ``np.flatnonzero``, ``np.bincount`` over ``kind_a * NK + kind_b``);
Python objects are made only for the changed entries a caller asks to see.

    >>> d = diff_dumps("before.bin", "after.txt")          # doctest: +SKIP
    >>> format_side_by_side(d, sys.stdout, limit=50)       # doctest: +SKIP
    >>> format_diff_summary(d.finish(), sys.stdout)        # doctest: +SKIP
"""
from __future__ import annotations

from typing import (Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, TextIO,
                    Tuple)

import numpy as np

from . import _core
from ._core import lib
from .codec import level_name
from .dumps import CHUNK_ENTRIES, LEVEL_SHIFT, DumpSource, open_dump, read_dump
from .errors import InvalidValueError
from .explain import summary as row_summary
from .profiles import get_profile
from .schema import iter_rows

__all__ = ["Change", "ChangeChunk", "DiffSummary", "DumpDiff", "diff_dumps",
           "format_side_by_side", "format_diff_summary", "diff_to_jsonl", "write_jsonl",
           "bit_label"]

NK = int(lib.PB_KIND_COUNT)
KIND_NAMES: Tuple[str, ...] = _core.kind_names()
_PRESENT_KINDS = ("present", "protnone")
_SWAP_FORMAT = ("swap", "migration", "device", "hwpoison", "marker", "bad")
_BIT_BLOCK = 1 << 16             # entries per np.unpackbits step (4 MiB of bits)


# ------------------------------------------------------------ results

class Change(NamedTuple):
    """One entry that differs (or exists on one side only).

    ``raw_*``, ``kind_*`` and ``row_*`` (the schema row, see
    :func:`ptebits.schema.iter_rows`) are None on the side the entry is
    missing from; ``summary_*`` is then ``""``.
    """
    index: int
    raw_a: Optional[int]
    raw_b: Optional[int]
    kind_a: Optional[str]
    kind_b: Optional[str]
    summary_a: str
    summary_b: str
    row_a: Optional[Dict[str, Any]]
    row_b: Optional[Dict[str, Any]]


class ChangeChunk:
    """The changed entries of one aligned piece, as arrays (copies: they
    stay valid after the readers move on).

    ``index`` (int64), ``raw_a``/``raw_b`` (uint64), ``kind_a``/``kind_b``
    (uint8) and ``dec_a``/``dec_b`` (the decoded entries, a ``Decoded`` or
    ``PagemapDecoded`` subset); the ``*_b`` (or ``*_a``) members are None
    for entries only in A (or only in B).
    """

    __slots__ = ("index", "raw_a", "raw_b", "kind_a", "kind_b", "dec_a", "dec_b")

    def __init__(self, index: np.ndarray, dec_a: Any, dec_b: Any):
        self.index = index
        self.dec_a, self.dec_b = dec_a, dec_b
        self.raw_a = None if dec_a is None else dec_a.raw
        self.raw_b = None if dec_b is None else dec_b.raw
        self.kind_a = None if dec_a is None else dec_a.kind
        self.kind_b = None if dec_b is None else dec_b.kind

    def __len__(self) -> int:
        return int(self.index.size)

    def changes(self) -> Iterator[Change]:
        """One :class:`Change` per entry, with schema rows and summaries."""
        n = len(self)
        rows_a = _rows(self.dec_a) if self.dec_a is not None else iter([None] * n)
        rows_b = _rows(self.dec_b) if self.dec_b is not None else iter([None] * n)
        prof_a = None if self.dec_a is None else self.dec_a.profile
        prof_b = None if self.dec_b is None else self.dec_b.profile
        for i, ra, rb in zip(self.index.tolist(), rows_a, rows_b):
            yield Change(i,
                         None if ra is None else int(ra["raw"], 16),
                         None if rb is None else int(rb["raw"], 16),
                         None if ra is None else ra["kind"],
                         None if rb is None else rb["kind"],
                         "" if ra is None else _row_text(ra, prof_a, self.dec_a),
                         "" if rb is None else _row_text(rb, prof_b, self.dec_b),
                         ra, rb)


class DiffSummary:
    """What a diff found; complete once the diff has been read to the end
    (:meth:`DumpDiff.finish`).

    ``compared`` entries were present in both dumps, ``changed`` of them
    differ; ``matrix[ka, kb]`` counts changed entries by (kind in A, kind in
    B) and adds up to ``changed``; ``only_in_a``/``only_in_b`` count the
    entries past the end of the shorter dump (``only_start`` is the first
    such index, ``only_kinds`` their kinds).  ``bits_set``/``bits_cleared``
    ``[kind, bit]`` count, over the entries that changed without changing
    kind, how often each raw bit went 0→1 and 1→0.
    """

    def __init__(self, profile: Any, *, name_a: str = "A", name_b: str = "B",
                 format_a: str = "", format_b: str = "", level: str = "pte"):
        self.profile = profile
        self.name_a, self.name_b = name_a, name_b
        self.format_a, self.format_b = format_a, format_b
        self.level = level
        self.compared = 0
        self.changed = 0
        self.matrix = np.zeros((NK, NK), dtype=np.int64)
        self.only_in_a = 0
        self.only_in_b = 0
        self.only_start: Optional[int] = None
        self.only_kinds = np.zeros(NK, dtype=np.int64)
        self.bits_set = np.zeros((NK, 64), dtype=np.int64)
        self.bits_cleared = np.zeros((NK, 64), dtype=np.int64)
        self.complete = False

    @property
    def unchanged(self) -> int:
        return self.compared - self.changed

    @property
    def identical(self) -> bool:
        """No entry changed and neither dump is longer."""
        return self.changed == 0 and self.only_in_a == 0 and self.only_in_b == 0

    def transitions(self, *, include_zero: bool = False) -> Dict[Tuple[str, str], int]:
        """``{(kind_a, kind_b): count}``, most frequent first (ties in kind
        order); kept-kind transitions such as ``("present", "present")``
        are included."""
        order = np.argsort(-self.matrix.reshape(-1), kind="stable")
        out: Dict[Tuple[str, str], int] = {}
        for flat in order.tolist():
            n = int(self.matrix.reshape(-1)[flat])
            if n or include_zero:
                out[(KIND_NAMES[flat // NK], KIND_NAMES[flat % NK])] = n
        return out

    def bit_changes(self, kind: Any) -> List[Tuple[int, str, int]]:
        """For entries that changed but stayed ``kind``: ``(bit, "set" or
        "cleared", count)``, most frequent first."""
        k = KIND_NAMES.index(kind) if isinstance(kind, str) else int(kind)
        got = [(b, "set", int(self.bits_set[k, b])) for b in range(64) if self.bits_set[k, b]]
        got += [(b, "cleared", int(self.bits_cleared[k, b]))
                for b in range(64) if self.bits_cleared[k, b]]
        return sorted(got, key=lambda t: (-t[2], t[0], t[1]))

    def as_dict(self) -> Dict[str, Any]:
        """A JSON-ready summary (``--summary --output jsonl``)."""
        res: Dict[str, Any] = {
            "a": {"file": self.name_a, "format": self.format_a},
            "b": {"file": self.name_b, "format": self.format_b},
            "profile": self.profile.name, "level": self.level,
            "compared": self.compared, "changed": self.changed, "unchanged": self.unchanged,
            "transitions": [{"a": ka, "b": kb, "count": n}
                            for (ka, kb), n in self.transitions().items()],
            "only_in_a": self.only_in_a, "only_in_b": self.only_in_b,
            "complete": self.complete,
        }
        if self.only_start is not None:
            res["only_start"] = self.only_start
            res["only_kinds"] = {KIND_NAMES[k]: int(n) for k, n in enumerate(self.only_kinds)
                                 if n}
        same = {}
        for k in range(NK):
            bits = self.bit_changes(k)
            if bits:
                same[KIND_NAMES[k]] = [{"bit": b, "name": bit_label(k, b, self.profile, self.level),
                                        "change": how, "count": n} for b, how, n in bits]
        if same:
            res["bit_changes"] = same
        return res

    def __repr__(self) -> str:
        return "<DiffSummary compared=%d changed=%d only_in_a=%d only_in_b=%d>" % (
            self.compared, self.changed, self.only_in_a, self.only_in_b)


# ------------------------------------------------------------- the diff

class DumpDiff:
    """A diff in progress (from :func:`diff_dumps`).  Single pass:

    * iterate it for :class:`Change` objects (only changed entries, plus
      entries only in one dump when ``extra=True``);
    * or :meth:`chunks` for :class:`ChangeChunk` arrays;
    * then :meth:`finish` to read the rest without making per-entry
      objects, and get the complete :class:`DiffSummary` (``summary``).

    Stopping early (a ``limit``) and calling :meth:`finish` is fine: the
    counts are kept per piece, before any entry is handed out.  The files
    are closed when the diff ends, on :meth:`close`, or on leaving a
    ``with`` block.
    """

    def __init__(self, src_a: DumpSource, src_b: DumpSource, profile: Any, level: str,
                 offset: int, count: Optional[int], chunk_entries: int, extra: bool):
        self.src_a, self.src_b = src_a, src_b
        self.profile = profile
        self.level = level
        self.extra = extra
        self.summary = DiffSummary(profile, name_a=src_a.name, name_b=src_b.name,
                                   format_a=src_a.format, format_b=src_b.format, level=level)
        self._detail = True
        self._started = False
        kw = dict(profile=profile, level=level, offset=offset, count=count,
                  chunk_entries=chunk_entries)
        self._gen = self._walk(read_dump(src_a.path, source=src_a, **kw),
                               read_dump(src_b.path, source=src_b, **kw))

    # -- facts for the caller's notes
    @property
    def format_a(self) -> str:
        return self.src_a.format

    @property
    def format_b(self) -> str:
        return self.src_b.format

    @property
    def name_a(self) -> str:
        return self.src_a.name

    @property
    def name_b(self) -> str:
        return self.src_b.name

    # -- iteration
    def chunks(self) -> Iterator[ChangeChunk]:
        """The changes piece by piece, as arrays."""
        self._start()
        for cc in self._gen:
            yield cc

    def __iter__(self) -> Iterator[Change]:
        for cc in self.chunks():
            yield from cc.changes()

    def finish(self) -> DiffSummary:
        """Read whatever is left (counting only) and return the summary."""
        self._started = True
        self._detail = False
        for _ in self._gen:
            pass
        return self.summary

    def close(self) -> None:
        self._gen.close()
        self.src_a.close()
        self.src_b.close()

    def __enter__(self) -> "DumpDiff":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> None:
        if self._started:
            raise InvalidValueError("a DumpDiff is read once: iterate it (or its chunks()) "
                                    "once, then call finish()")
        self._started = True

    # -- the walk
    def _walk(self, it_a: Iterator[Any], it_b: Iterator[Any]) -> Iterator[ChangeChunk]:
        s = self.summary
        try:
            ca = next(it_a, None)
            cb = next(it_b, None)
            pa = pb = 0
            while ca is not None and cb is not None:
                na, nb = len(ca) - pa, len(cb) - pb
                if na <= 0:
                    ca, pa = next(it_a, None), 0
                    continue
                if nb <= 0:
                    cb, pb = next(it_b, None), 0
                    continue
                n = min(na, nb)
                got = self._compare(ca, pa, cb, pb, n)
                pa += n
                pb += n
                if got is not None and self._detail:
                    yield got
            # the longer dump's tail: only in one of them
            for side, cur, pos, it in (("a", ca, pa, it_a), ("b", cb, pb, it_b)):
                while cur is not None:
                    if len(cur) > pos:
                        got = self._only(side, cur, pos)
                        if got is not None and self._detail:
                            yield got
                    cur, pos = next(it, None), 0
            s.complete = True
        finally:
            self.src_a.close()
            self.src_b.close()

    def _compare(self, ca: Any, pa: int, cb: Any, pb: int, n: int) -> Optional[ChangeChunk]:
        s = self.summary
        if ca.start + pa != cb.start + pb:          # cannot happen: both start at offset
            raise AssertionError("diff lost alignment at %d/%d" % (ca.start + pa, cb.start + pb))
        ra = ca.raw.reshape(-1)[pa:pa + n]
        rb = cb.raw.reshape(-1)[pb:pb + n]
        sel = np.flatnonzero(ra != rb)
        s.compared += n
        if not sel.size:
            return None
        s.changed += int(sel.size)
        ka = ca.decoded.kind.reshape(-1)[pa:pa + n][sel]
        kb = cb.decoded.kind.reshape(-1)[pb:pb + n][sel]
        s.matrix += np.bincount(ka.astype(np.intp) * NK + kb, minlength=NK * NK).reshape(NK, NK)
        same = ka == kb
        if same.any():
            _count_bits(s, ka[same], ra[sel][same], rb[sel][same])
        if not self._detail:
            return None
        return ChangeChunk((ca.start + pa + sel).astype(np.int64),
                           _take(ca.decoded, pa + sel), _take(cb.decoded, pb + sel))

    def _only(self, side: str, c: Any, pos: int) -> Optional[ChangeChunk]:
        s = self.summary
        kinds = c.decoded.kind.reshape(-1)[pos:]
        n = int(kinds.size)
        if s.only_start is None:
            s.only_start = c.start + pos
        if side == "a":
            s.only_in_a += n
        else:
            s.only_in_b += n
        s.only_kinds += np.bincount(kinds, minlength=NK)[:NK]
        if not (self._detail and self.extra):
            return None
        idx = np.arange(pos, pos + n)
        dec = _take(c.decoded, idx)
        index = (c.start + idx).astype(np.int64)
        return ChangeChunk(index, dec, None) if side == "a" else ChangeChunk(index, None, dec)


def _count_bits(s: DiffSummary, kinds: np.ndarray, ra: np.ndarray, rb: np.ndarray) -> None:
    """Per kind and bit, how many same-kind changes set or cleared it."""
    x = ra ^ rb
    set_ = np.ascontiguousarray(x & rb, dtype="<u8")
    clr = np.ascontiguousarray(x & ra, dtype="<u8")
    for k in np.flatnonzero(np.bincount(kinds, minlength=NK)).tolist():
        m = kinds == k
        for words, acc in ((set_[m], s.bits_set), (clr[m], s.bits_cleared)):
            for lo in range(0, words.size, _BIT_BLOCK):
                part = words[lo:lo + _BIT_BLOCK].view(np.uint8).reshape(-1, 8)
                acc[k] += np.unpackbits(part, axis=1, bitorder="little").sum(
                    axis=0, dtype=np.int64)


def _take(d: Any, idx: np.ndarray) -> Any:
    """A copy of some entries of a decoded chunk (Decoded or PagemapDecoded)."""
    if hasattr(d, "pm_flags"):
        from .pagemap import PagemapDecoded, _COLUMNS as PM_COLUMNS
        return PagemapDecoded(d.profile, d.raw.reshape(-1)[idx].copy(),
                              [getattr(d, name).reshape(-1)[idx] for name, _ in PM_COLUMNS])
    return d[idx]


def _rows(d: Any) -> Iterator[Dict[str, Any]]:
    if hasattr(d, "pm_flags"):
        from .pagemap import pagemap_rows
        return pagemap_rows(d)
    return iter_rows(d)


def _row_text(row: Dict[str, Any], profile: Any, decoded: Any) -> str:
    from .pagemap import pagemap_row_text
    if hasattr(decoded, "pm_flags"):             # a pagemap row
        return pagemap_row_text(row)
    return row_summary(row, profile, raw=False, level=getattr(decoded, "level", "pte"))


def diff_dumps(a_path: str, b_path: str, *, fmt_a: str = "auto", fmt_b: str = "auto",
               profile: Any = None, level: str = "pte", offset: int = 0,
               count: Optional[int] = None, chunk_entries: int = CHUNK_ENTRIES,
               extra: bool = False, allow_partial: bool = False) -> DumpDiff:
    """Compare two dumps of the same table, entry ``i`` of A with entry
    ``i`` of B, from ``offset`` for at most ``count`` entries.

    Formats are detected (``"auto"``) or given per side and may differ (a
    raw dump against a hex one).  Pagemap files compare only with pagemap
    files.  The files are opened now (a missing file raises
    :class:`ptebits.FileError` here) and read as the returned
    :class:`DumpDiff` is iterated.  ``extra=True`` also yields the entries
    past the end of the shorter dump (the missing side None).
    """
    prof = get_profile(profile)
    level = level_name(level)
    if offset < 0 or (count is not None and count < 0):
        raise InvalidValueError("offset and count are entry numbers >= 0 (got offset=%d, "
                                "count=%s)" % (offset, count))
    if chunk_entries < 1:
        raise InvalidValueError("chunk_entries must be >= 1")
    src_a = open_dump(a_path, fmt_a, allow_partial=allow_partial)
    try:
        src_b = open_dump(b_path, fmt_b, allow_partial=allow_partial)
    except BaseException:
        src_a.close()
        raise
    if (src_a.format == "pagemap") != (src_b.format == "pagemap"):
        pm, other = (src_a, src_b) if src_a.format == "pagemap" else (src_b, src_a)
        src_a.close()
        src_b.close()
        raise InvalidValueError("%s holds pagemap words and %s page-table entries (%s): they "
                                "cannot be compared entry by entry" % (pm.name, other.name,
                                                                       other.format))
    return DumpDiff(src_a, src_b, prof, level, offset, count, chunk_entries, extra)


# -------------------------------------------------------------- output

def bit_label(kind: Any, bit: int, profile: Any, level: str = "pte") -> str:
    """What raw bit ``bit`` means in an entry of ``kind`` under ``profile``
    at ``level`` (``"uffd_wp"``, ``"pfn"``, ``"swp_offset"``...), or ``""``."""
    name = kind if isinstance(kind, str) else KIND_NAMES[int(kind)]
    low = {0: "present", 1: "rw", 2: "user", 3: "pwt", 4: "pcd", 5: "accessed", 63: "nx"}
    if name == "table":                          # an upper-level entry pointing to a table
        return low.get(bit, "pse" if bit == 7 else "pfn" if 12 <= bit <= 51 else "")
    if name in _PRESENT_KINDS:
        huge = level != "pte"                    # a PMD/PUD leaf: PSE at 7, PAT at 12
        fixed = dict(low)
        fixed.update({6: "dirty", 7: "pse" if huge else "pat",
                      8: "global" if name == "present" else "protnone", 9: "special"})
        if huge:
            fixed[12] = "pat"
            if 13 <= bit < LEVEL_SHIFT.get(level, 12):   # below a huge page's PFN
                return ""
        if bit in fixed:
            return fixed[bit]
        for mask_name in ("uffd_wp", "soft_dirty", "saved_dirty", "devmap"):
            if profile.mask(mask_name) == 1 << bit:
                return mask_name
        if 59 <= bit <= 62 and profile.mask("pkey_mask") >> bit & 1:
            return "pkey"
        if 12 <= bit <= 51:
            return "pfn"
        return ""
    if name in _SWAP_FORMAT:
        for mask_name in ("swp_soft_dirty", "swp_uffd_wp", "swp_exclusive"):
            if profile.mask(mask_name) == 1 << bit:
                return mask_name
        if bit >= 59:
            return "swp_type"
        if 9 <= bit <= 58:
            return "swp_offset"
    return ""


def _raw_text(v: Optional[int]) -> str:
    return "%-18s" % "-" if v is None else "0x%016x" % v


def format_side_by_side(changes: Iterable[Change], out: TextIO, limit: Optional[int] = None,
                        *, width: int = 52) -> int:
    """Write changed entries side by side, one line each: index, raw A,
    raw B, then the decode of A → the decode of B (A's decode padded to
    ``width`` so the arrows line up).  ``limit`` stops after that many and
    says more follow.  Returns the number of lines written."""
    w = out.write
    w("%12s  %-18s  %-18s  %s\n" % ("index", "a", "b", "decoded: a \u2192 b"))
    shown = 0
    it = iter(changes)
    for c in it:
        if limit is not None and shown >= limit:
            w("%12s  (more changes not shown: limit %d; see the summary)\n" % ("...", limit))
            break
        left = c.summary_a or "(only in b)"
        right = c.summary_b or "(only in a)"
        w("%12d  %s  %s  %-*s \u2192 %s\n" % (c.index, _raw_text(c.raw_a), _raw_text(c.raw_b),
                                          width, left, right))
        shown += 1
    return shown


def format_diff_summary(summary: DiffSummary, out: TextIO, *, bits_shown: int = 6) -> None:
    """The human summary: files, counts, transitions (most frequent first,
    with the bits that flipped in kept-kind changes), entries only in one
    dump."""
    s = summary
    w = out.write
    w("a: %s (%s)\nb: %s (%s)\n" % (s.name_a, s.format_a, s.name_b, s.format_b))
    w("compared %d entr%s under %s, level %s: %d changed, %d unchanged%s\n" % (
        s.compared, "y" if s.compared == 1 else "ies", s.profile.name, s.level, s.changed,
        s.unchanged, "" if s.complete else " (incomplete: the diff was not read to the end)"))
    trans = s.transitions()
    if trans:
        w("transitions (a \u2192 b):\n")
        for (ka, kb), n in trans.items():
            line = "  %s \u2192 %s: %d" % (ka, kb, n)
            if ka == kb:
                bits = s.bit_changes(ka)
                labels = [bit_label(ka, b, s.profile, s.level) for b, _, _ in bits]
                shown = ", ".join("bit %d%s %s %d" % (b, " (%s)" % lab if lab else "", how, cnt)
                                  for (b, how, cnt), lab in zip(bits[:bits_shown], labels))
                if len(bits) > bits_shown:
                    shown += ", +%d more" % (len(bits) - bits_shown)
                line += "  (%s)" % shown
            w(line + "\n")
    for side, n in (("a", s.only_in_a), ("b", s.only_in_b)):
        if n:
            kinds = ", ".join("%s %d" % (KIND_NAMES[k], c) for k, c in
                              enumerate(s.only_kinds.tolist()) if c)
            w("only in %s: %d (entries %d-%d: %s)\n" % (
                side.upper(), n, s.only_start, (s.only_start or 0) + n - 1, kinds))


def diff_to_jsonl(changes: Iterable[Change]) -> Iterator[Dict[str, Any]]:
    """One JSON-ready object per change: ``index``, ``a`` and ``b`` (the
    schema rows of each side, null on the side the entry is missing from)."""
    for c in changes:
        yield {"index": c.index, "a": c.row_a, "b": c.row_b}


def write_jsonl(changes: Iterable[Change], out: TextIO, limit: Optional[int] = None) -> int:
    """Write :func:`diff_to_jsonl` rows, one per line; returns how many."""
    import json
    n = 0
    for row in diff_to_jsonl(changes):
        if limit is not None and n >= limit:
            break
        out.write(json.dumps(row, separators=(", ", ": ")) + "\n")
        n += 1
    return n
