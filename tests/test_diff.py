"""ptebits.diff: two dumps of the same table compared entry by entry, in
bounded memory, whatever the formats and chunk sizes on each side.

The scenarios are the ones the diff exists for (Linux 6.18, the default
profile):

* a uffd-wp'd page of a shmem VMA is zapped: the present PTE with
  _PAGE_UFFD_WP (bit 10) becomes the uffd-wp PTE marker
  (zap_install_uffd_wp_if_needed) -- present -> marker;
* a swapped-out page is faulted back in: swap -> present;
* UFFDIO_WRITEPROTECT with mode 0 un-protects a page: bit 10 is cleared,
  nothing else -- present -> present.
"""
from __future__ import annotations

import gzip
import io
import json
import tracemalloc
from typing import Any, List, Tuple

import numpy as np
import pytest

import ptebits
from ptebits.diff import (Change, DiffSummary, bit_label, diff_dumps, diff_to_jsonl,
                          format_diff_summary, format_side_by_side, write_jsonl)
from ptebits.dumps import open_dump
from ptebits.explain import summary as row_summary
from ptebits.schema import iter_rows

PROFILE = ptebits.get_profile("linux-6.18")
K = ptebits.Kind


# --------------------------------------------------------------- helpers

def write_raw(path: Any, values: np.ndarray) -> str:
    np.asarray(values, dtype="<u8").tofile(str(path))
    return str(path)


def write_hex(path: Any, values: np.ndarray, *, prefix: str = "") -> str:
    with open(str(path), "w") as f:
        f.write("# a hex dump\n")
        for v in np.asarray(values, dtype=np.uint64).tolist():
            f.write("%s%016x\n" % (prefix, v))
    return str(path)


def write_gdb(path: Any, values: np.ndarray, base: int = 0xffff888012345000) -> str:
    """gdb x/Ngx output: two values a line (so its chunks are one entry
    longer than asked whenever chunk_entries is odd)."""
    vals = np.asarray(values, dtype=np.uint64).tolist()
    with open(str(path), "w") as f:
        for i in range(0, len(vals), 2):
            words = "\t".join("0x%016x" % v for v in vals[i:i + 2])
            f.write("0x%x:\t%s\n" % (base + 8 * i, words))
    return str(path)


def write_npy(path: Any, values: np.ndarray) -> str:
    np.save(str(path), np.asarray(values, dtype=np.uint64))
    return str(path)


WRITERS = {"raw": write_raw, "hex": write_hex, "gdb": write_gdb, "npy": write_npy}
SUFFIX = {"raw": ".bin", "hex": ".txt", "gdb": ".gdb", "npy": ".npy"}


def scenario(n: int = 2048) -> Tuple[np.ndarray, np.ndarray, dict]:
    """A page table before and after: the three known changes at fixed
    places, everything else identical (a realistic mix, not just holes)."""
    a = np.zeros(n, dtype=np.uint64)
    a[100:140] = ptebits.encode_present(np.arange(0x1000, 0x1028), "PAGE_SHARED")
    a[200:220] = ptebits.encode_swap(1, np.arange(0x500, 0x514))
    a[300:310] = ptebits.encode_present(np.arange(0x2000, 0x200a), "PAGE_READONLY")
    wp = ptebits.pte_mkuffd_wp(ptebits.encode_present(0x3333, "PAGE_SHARED"))
    a[400] = wp                                      # will be zapped
    a[401] = ptebits.encode_swap(2, 0x777)           # will be swapped in
    a[402] = wp                                      # will be un-write-protected
    a[403] = ptebits.encode_marker(uffd_wp=True)     # stays a marker
    b = a.copy()
    b[400] = ptebits.encode_marker(uffd_wp=True)
    b[401] = ptebits.encode_present(0x4444, "PAGE_SHARED")
    b[402] = ptebits.pte_clear_uffd_wp(int(a[402]))
    return a, b, {400: ("present", "marker"), 401: ("swap", "present"),
                  402: ("present", "present")}


def reference(a: np.ndarray, b: np.ndarray) -> dict:
    """What the diff must find, computed on whole in-memory arrays."""
    n = min(a.size, b.size)
    sel = np.flatnonzero(a[:n] != b[:n])
    ka = ptebits.classify(np.ascontiguousarray(a[:n]), profile=PROFILE)[sel]
    kb = ptebits.classify(np.ascontiguousarray(b[:n]), profile=PROFILE)[sel]
    trans: dict = {}
    for x, y in zip(ka.tolist(), kb.tolist()):
        key = (str(K(x)), str(K(y)))
        trans[key] = trans.get(key, 0) + 1
    return {"compared": n, "changed": sel.size, "index": sel.tolist(), "transitions": trans,
            "only_in_a": max(0, a.size - b.size), "only_in_b": max(0, b.size - a.size)}


def run_diff(pa: str, pb: str, **kw: Any) -> Tuple[List[Change], DiffSummary]:
    d = diff_dumps(pa, pb, profile=PROFILE, **kw)
    changes = list(d)
    return changes, d.finish()


# ------------------------------------------------------- known changes

def test_known_changes_between_two_raw_dumps(tmp_path: Any) -> None:
    a, b, expected = scenario()
    changes, s = run_diff(write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b))
    assert [c.index for c in changes] == sorted(expected)          # unchanged ones not reported
    for c in changes:
        assert (c.kind_a, c.kind_b) == expected[c.index]
        assert c.raw_a == int(a[c.index]) and c.raw_b == int(b[c.index])
        # the one-line summaries are explain's, of the schema rows
        assert c.summary_a == row_summary(c.row_a, PROFILE, raw=False)
        assert c.summary_b == row_summary(c.row_b, PROFILE, raw=False)
    zap, swapin, unwp = changes
    assert zap.row_a["uffd_wp"] == 1 and zap.row_b["marker_uffd_wp"] == 1
    assert "UFFD_WP" in zap.summary_b and zap.summary_b.startswith("marker")
    assert swapin.row_a["swp_type"] == 2 and swapin.row_b["pfn"] == 0x4444
    assert unwp.row_a["uffd_wp"] == 1 and unwp.row_b["uffd_wp"] == 0
    assert unwp.raw_a ^ unwp.raw_b == 1 << 10

    assert (s.compared, s.changed, s.unchanged) == (a.size, 3, a.size - 3)
    assert s.only_in_a == s.only_in_b == 0 and s.complete and not s.identical
    assert s.transitions() == {("present", "marker"): 1, ("swap", "present"): 1,
                               ("present", "present"): 1}
    # the kept-kind change is explained bit by bit: bit 10 cleared, nothing else
    assert s.bit_changes("present") == [(10, "cleared", 1)]
    assert bit_label("present", 10, PROFILE) == "uffd_wp"


def test_identical_dumps_report_nothing(tmp_path: Any) -> None:
    a, _, _ = scenario()
    changes, s = run_diff(write_raw(tmp_path / "a.bin", a), write_hex(tmp_path / "a.txt", a))
    assert changes == []
    assert s.identical and s.changed == 0 and s.compared == a.size
    assert s.transitions() == {}


# ------------------------------------------- formats and chunk boundaries

@pytest.mark.parametrize("fmt_a,fmt_b", [("raw", "raw"), ("raw", "hex"), ("hex", "raw"),
                                         ("npy", "gdb"), ("gdb", "hex")])
@pytest.mark.parametrize("chunk_entries", [1, 5, 7, 64, 1 << 20])
def test_mixed_formats_and_chunk_sizes_agree_with_the_reference(
        tmp_path: Any, fmt_a: str, fmt_b: str, chunk_entries: int) -> None:
    rng = np.random.default_rng(20211027)
    a, b, _ = scenario(1000)
    # many more changes, in runs that straddle every chunk size above
    for start in rng.integers(0, 990, size=25).tolist():
        b[start:start + rng.integers(1, 10)] ^= np.uint64(1 << 10)
    b[4:6] = ptebits.encode_swap(3, 0x99)                 # across a 5-entry boundary
    b[63:65] = ptebits.encode_marker(uffd_wp=True)        # across a 64-entry boundary
    pa = WRITERS[fmt_a](tmp_path / ("a" + SUFFIX[fmt_a]), a)
    pb = WRITERS[fmt_b](tmp_path / ("b" + SUFFIX[fmt_b]), b)
    ref = reference(a, b)
    changes, s = run_diff(pa, pb, chunk_entries=chunk_entries)
    assert (s.format_a, s.format_b) == (fmt_a, fmt_b)      # auto-detected
    assert [c.index for c in changes] == ref["index"]
    assert [(c.raw_a, c.raw_b) for c in changes] == [(int(a[i]), int(b[i]))
                                                     for i in ref["index"]]
    assert s.compared == ref["compared"] and s.changed == ref["changed"]
    assert s.transitions() == ref["transitions"]
    # every changed entry is in exactly one transition
    assert sum(s.transitions().values()) == s.changed == int(s.matrix.sum())


def test_changes_straddling_chunks_of_different_sizes(tmp_path: Any) -> None:
    """A gdb dump read 5 entries at a time comes in chunks of 6 (two values
    a line), a raw one in chunks of 5: every piece is re-aligned."""
    a = np.zeros(60, dtype=np.uint64)
    b = a.copy()
    changed = [4, 5, 6, 11, 12, 29, 30, 35, 59]
    b[changed] = ptebits.encode_present(np.arange(1, len(changed) + 1) + 0x100, "PAGE_SHARED")
    pa = write_raw(tmp_path / "a.bin", a)
    pb = write_gdb(tmp_path / "b.gdb", b)
    with open_dump(pb) as src:
        assert [c.raw.size for c in src.chunks(chunk_entries=5)][:2] == [6, 6]
    d = diff_dumps(pa, pb, chunk_entries=5)
    pieces = list(d.chunks())
    assert [i for p in pieces for i in p.index.tolist()] == changed
    assert len(pieces) > 3                           # a piece per aligned run with changes
    s = d.finish()
    assert s.changed == len(changed) and s.transitions() == {("none", "present"): 9}


def test_offset_and_count(tmp_path: Any) -> None:
    a, b, expected = scenario()
    pa, pb = write_raw(tmp_path / "a.bin", a), write_hex(tmp_path / "b.txt", b)
    changes, s = run_diff(pa, pb, offset=401, count=10, chunk_entries=3)
    assert [c.index for c in changes] == [401, 402]          # input indexes, not relative
    assert s.compared == 10 and s.changed == 2
    changes, s = run_diff(pa, pb, offset=1000)
    assert changes == [] and s.compared == a.size - 1000


def test_upper_level_tables(tmp_path: Any) -> None:
    """A PMD page: a table pointer moved to another PTE page (table -> table,
    PFN bits), a hole filled by a 2M page (none -> present)."""
    a = np.zeros(512, dtype=np.uint64)
    a[3] = 0x0000000012345067                    # _PAGE_TABLE | pfn 0x12345
    b = a.copy()
    b[3] = 0x0000000012346067
    b[4] = 0x80000000122000e7                    # PSE: a 2M leaf
    changes, s = run_diff(write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b),
                          level="pmd")
    assert [(c.index, c.kind_a, c.kind_b) for c in changes] == [
        (3, "table", "table"), (4, "none", "present")]
    assert s.level == "pmd" and s.transitions() == {("table", "table"): 1,
                                                    ("none", "present"): 1}
    assert s.bit_changes("table") == [(12, "cleared", 1), (13, "set", 1)]
    assert bit_label("table", 13, PROFILE, "pmd") == "pfn"
    assert bit_label("present", 7, PROFILE, "pmd") == "pse"
    assert bit_label("present", 12, PROFILE, "pmd") == "pat"
    assert bit_label("present", 21, PROFILE, "pmd") == "pfn"
    assert bit_label("present", 7, PROFILE) == "pat"


# ------------------------------------------------------ different lengths

def test_a_longer_than_b(tmp_path: Any) -> None:
    a, b, expected = scenario(1100)
    b = b[:1000]
    a[1050] = ptebits.encode_swap(1, 5)
    pa, pb = write_raw(tmp_path / "a.bin", a), write_hex(tmp_path / "b.txt", b)
    changes, s = run_diff(pa, pb, chunk_entries=64)
    assert [c.index for c in changes] == sorted(expected)    # tails are counted, not listed
    assert (s.compared, s.only_in_a, s.only_in_b, s.only_start) == (1000, 100, 0, 1000)
    assert s.only_kinds[int(K.NONE)] == 99 and s.only_kinds[int(K.SWAP)] == 1
    assert sum(s.transitions().values()) == s.changed == 3
    out = io.StringIO()
    format_diff_summary(s, out)
    assert "only in A: 100 (entries 1000-1099: none 99, swap 1)" in out.getvalue()

    # extra=True lists them too, with the missing side None
    changes, _ = run_diff(pa, pb, chunk_entries=64, extra=True)
    tail = [c for c in changes if c.index >= 1000]
    assert [c.index for c in tail] == list(range(1000, 1100))
    assert all(c.raw_b is None and c.kind_b is None and c.row_b is None and c.summary_b == ""
               for c in tail)
    assert tail[50].kind_a == "swap" and tail[50].raw_a == int(a[1050])


def test_b_longer_than_a_and_an_empty_dump(tmp_path: Any) -> None:
    a, b, _ = scenario(600)
    pa = write_raw(tmp_path / "a.bin", a[:512])
    pb = write_raw(tmp_path / "b.bin", b)
    _, s = run_diff(pa, pb, chunk_entries=100)
    assert (s.compared, s.changed, s.only_in_a, s.only_in_b) == (512, 3, 0, 88)
    out = io.StringIO()
    format_diff_summary(s, out)
    assert "only in B: 88 (entries 512-599" in out.getvalue()

    empty = write_raw(tmp_path / "empty.bin", np.zeros(0, dtype=np.uint64))
    changes, s = run_diff(empty, pb, extra=True)
    assert s.compared == 0 and s.only_in_b == 600 and len(changes) == 600
    assert all(c.raw_a is None for c in changes)


# ------------------------------------------------------------- output

def test_side_by_side_and_summary_text(tmp_path: Any) -> None:
    a, b, _ = scenario()
    d = diff_dumps(write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b))
    out = io.StringIO()
    assert format_side_by_side(d, out) == 3
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["index", "a", "b"]
    assert len(lines) == 4
    assert lines[1].split()[:3] == ["400", "0x%016x" % a[400], "0x%016x" % b[400]]
    assert "\u2192 marker UFFD_WP" in lines[1]
    assert lines[2].split()[0] == "401" and "swap type=2 offset=0x777" in lines[2]
    text = io.StringIO()
    format_diff_summary(d.finish(), text)
    t = text.getvalue()
    assert "compared 2048 entries under linux-6.18, level pte: 3 changed, 2045 unchanged" in t
    assert "present \u2192 marker: 1" in t and "swap \u2192 present: 1" in t
    assert "present \u2192 present: 1" in t and "bit 10 (uffd_wp) cleared 1" in t
    assert "only in" not in t


def test_limit_then_finish_counts_everything(tmp_path: Any) -> None:
    a = np.zeros(3000, dtype=np.uint64)
    b = a.copy()
    b[::3] = ptebits.encode_marker(uffd_wp=True)
    d = diff_dumps(write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b),
                   chunk_entries=256)
    out = io.StringIO()
    assert format_side_by_side(d, out, limit=5) == 5
    assert "more changes not shown: limit 5" in out.getvalue().splitlines()[-1]
    s = d.finish()
    assert s.complete and s.changed == 1000 and s.transitions() == {("none", "marker"): 1000}
    with pytest.raises(ptebits.InvalidValueError):   # a diff is read once
        list(d)


def test_incomplete_summary_says_so(tmp_path: Any) -> None:
    a, b, _ = scenario()
    d = diff_dumps(write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b),
                   chunk_entries=16)
    next(iter(d))
    out = io.StringIO()
    format_diff_summary(d.summary, out)
    assert "incomplete" in out.getvalue() and not d.summary.complete
    d.close()


def test_jsonl_rows_are_the_schema_rows_of_each_side(tmp_path: Any) -> None:
    a, b, expected = scenario()
    d = diff_dumps(write_hex(tmp_path / "a.txt", a, prefix="0x"), write_raw(tmp_path / "b.bin", b))
    rows = list(diff_to_jsonl(d))
    assert [r["index"] for r in rows] == sorted(expected)
    for r in rows:
        i = r["index"]
        assert set(r) == {"index", "a", "b"}
        assert r["a"] == next(iter_rows(ptebits.decode(a[i:i + 1], profile=PROFILE)))
        assert r["b"] == next(iter_rows(ptebits.decode(b[i:i + 1], profile=PROFILE)))
        json.dumps(r)
    s = d.finish()
    blob = json.loads(json.dumps(s.as_dict()))
    assert blob["changed"] == 3 and blob["compared"] == a.size
    assert {(t["a"], t["b"]): t["count"] for t in blob["transitions"]} == {
        ("present", "marker"): 1, ("swap", "present"): 1, ("present", "present"): 1}
    assert blob["bit_changes"]["present"] == [{"bit": 10, "name": "uffd_wp",
                                               "change": "cleared", "count": 1}]

    d = diff_dumps(write_raw(tmp_path / "a.bin", a[:410]), write_raw(tmp_path / "b2.bin", b),
                   extra=True)
    out = io.StringIO()
    assert write_jsonl(d, out, limit=4) == 4
    last = json.loads(out.getvalue().splitlines()[-1])
    assert last["index"] == 410 and last["a"] is None and last["b"]["kind"] == "none"


# --------------------------------------------------------- other inputs

def test_compressed_input_and_pagemap_pairs(tmp_path: Any) -> None:
    a, b, expected = scenario()
    gz = tmp_path / "b.bin.gz"
    with gzip.open(str(gz), "wb") as f:
        f.write(b.astype("<u8").tobytes())
    changes, s = run_diff(write_raw(tmp_path / "a.bin", a), str(gz), chunk_entries=100)
    assert [c.index for c in changes] == sorted(expected) and s.format_b == "raw"

    pm_a = ptebits.pte_to_pagemap(a, profile=PROFILE)
    pm_b = ptebits.pte_to_pagemap(b, profile=PROFILE)
    pa = write_raw(tmp_path / "before.pagemap", pm_a)
    pb = write_raw(tmp_path / "after.pagemap", pm_b)
    changes, s = run_diff(pa, pb)
    assert s.format_a == s.format_b == "pagemap"
    assert [c.index for c in changes] == np.flatnonzero(pm_a != pm_b).tolist()
    assert changes and all(c.summary_a and c.summary_b for c in changes)
    assert sum(s.transitions().values()) == s.changed


def test_pagemap_against_ptes_is_refused(tmp_path: Any) -> None:
    a, _, _ = scenario()
    pm = write_raw(tmp_path / "self.pagemap", ptebits.pte_to_pagemap(a, profile=PROFILE))
    with pytest.raises(ptebits.InvalidValueError, match="pagemap words"):
        diff_dumps(write_raw(tmp_path / "a.bin", a), pm)


def test_errors_name_the_file(tmp_path: Any) -> None:
    pa = write_raw(tmp_path / "a.bin", np.zeros(8, dtype=np.uint64))
    with pytest.raises(ptebits.FileError, match="missing.bin"):
        diff_dumps(pa, str(tmp_path / "missing.bin"))
    (tmp_path / "torn.bin").write_bytes(b"\0" * 13)
    with pytest.raises(ptebits.DumpFormatError, match="torn.bin"):
        diff_dumps(pa, str(tmp_path / "torn.bin"))
    bad = tmp_path / "bad.txt"
    bad.write_text("0\nzz\n")
    d = diff_dumps(pa, str(bad))
    with pytest.raises(ptebits.DumpFormatError, match="bad.txt:2"):
        d.finish()
    with pytest.raises(ptebits.InvalidValueError):
        diff_dumps(pa, pa, level="pte5")
    with pytest.raises(ptebits.UnknownProfileError):
        diff_dumps(pa, pa, profile="linux-2.4")
    with pytest.raises(ptebits.InvalidValueError):
        diff_dumps(pa, pa, chunk_entries=0)


# -------------------------------------------------------- bounded memory

def test_memory_stays_bounded_by_the_chunk_size(tmp_path: Any) -> None:
    """2^20 entries a side (8 MiB files), read 2^14 at a time: the peak of
    what numpy and Python allocate is a few chunks, not the dumps."""
    n = 1 << 20
    rng = np.random.default_rng(5)
    a = np.zeros(n, dtype=np.uint64)
    a[rng.integers(0, n, 200000)] = ptebits.encode_present(0x1234, "PAGE_SHARED")
    b = a.copy()
    flip = rng.integers(0, n, 50000)
    b[flip] = ptebits.encode_marker(uffd_wp=True)
    pa, pb = write_raw(tmp_path / "a.bin", a), write_raw(tmp_path / "b.bin", b)
    ref = reference(a, b)
    del a, b
    tracemalloc.start()
    try:
        s = diff_dumps(pa, pb, chunk_entries=1 << 14).finish()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert s.changed == ref["changed"] and s.transitions() == ref["transitions"]
    assert peak < 3 << 20, "peak %d bytes for two 8 MiB dumps" % peak
