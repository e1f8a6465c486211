"""The dump reader and its companions, at library level (issue 5):
``ptebits.dumps`` (open_dump / DumpSource.chunks / read_dump, every format,
gzip and xz, stdin, offset and count in entries, entry_addr and va,
torn and empty inputs, bad lines, missing files), ``ptebits.summary``
(DumpSummary, PfnCounter) and ``ptebits.report`` (filters, npz limit,
atomic output).

Every dump is written with known contents (tests/dumpfiles.py) and read
back with chunk sizes that do not divide it; the decoded columns must be
ptebits.decode's (ptebits.decode_pagemap's for pagemap files) of the same
values.
"""
from __future__ import annotations

import io
import json
import os
import sys
import types
from typing import Any, List, Optional

import numpy as np
import pytest

import ptebits
from ptebits import dumps
from ptebits.dumps import detect_format, open_dump, read_dump, va_of
from ptebits.errors import DumpFormatError, FileError, InvalidValueError
from ptebits.report import Filters, NpzWriter, atomic_output
from ptebits.summary import DumpSummary, PfnCounter

from dumpfiles import (FORMAT_CASES, N, PAGEMAP, VALUES, compress, crash_text, dump_bytes,
                       entry_addrs, expected_va, gdb_text, npy_bytes, pfn_runs_reference,
                       raw_bytes, run_buckets, values_for, write_dump)

V618, V512 = "linux-6.18", "linux-5.12-uffd-wp-v2"
COLUMNS = ("kind", "pfn", "flags", "swp_type", "swp_offset", "aux")
PM_COLUMNS = ("kind", "pfn", "pm_flags", "swp_type", "swp_offset", "aux")


def _stdin(monkeypatch: Any, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


class Read:
    """Everything read_dump yielded, copied out of the reused buffers."""

    def __init__(self, chunks: Any):
        self.starts: List[int] = []
        self.sizes: List[int] = []
        raw, index, va, addr, cols = [], [], [], [], {}
        self.addr_none = []
        for c in chunks:
            self.starts.append(c.start)
            self.sizes.append(len(c))
            raw.append(c.raw.copy())
            index.append(c.index.copy())
            va.append(c.va.copy())
            self.addr_none.append(c.entry_addr is None)
            if c.entry_addr is not None:
                addr.append(c.entry_addr.copy())
            names = PM_COLUMNS if hasattr(c.decoded, "pm_flags") else COLUMNS
            for name in names:
                cols.setdefault(name, []).append(getattr(c.decoded, name).reshape(-1).copy())
        cat = (lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dtype=dt))
        self.raw = cat(raw, np.uint64)
        self.index = cat(index, np.uint64)
        self.va = cat(va, np.uint64)
        self.entry_addr = cat(addr, np.uint64) if addr else None
        self.cols = {name: np.concatenate(p) for name, p in cols.items()}


def _check_columns(read: Read, values: np.ndarray, pagemap: bool,
                   profile: str = V618) -> None:
    want = (ptebits.decode_pagemap(values.copy(), profile=profile) if pagemap
            else ptebits.decode(values.copy(), profile=profile))
    for name in (PM_COLUMNS if pagemap else COLUMNS):
        got = read.cols.get(name, np.zeros(0, dtype=getattr(want, name).dtype))
        np.testing.assert_array_equal(got, getattr(want, name).reshape(-1), err_msg=name)


# ===================================================== every format, round trip

@pytest.mark.parametrize("comp", [None, "gz", "xz"], ids=["plain", "gz", "xz"])
@pytest.mark.parametrize("case", list(FORMAT_CASES))
def test_every_format_round_trips_from_a_file(tmp_path: Any, case: str,
                                              comp: Optional[str]) -> None:
    """Write known entries in the format, read them back chunk by chunk
    (513 entries a chunk: 1536 = 2 x 513 + 510), compare raw values,
    decoded fields, index, entry_addr (gdb/crash: where the dump says the
    entry lives) and va (index x 4 KiB)."""
    fmt, _, _, _ = FORMAT_CASES[case]
    values = values_for(case)
    path = write_dump(tmp_path, case, comp)
    with open_dump(path) as src:
        assert (src.format, src.detected) == (fmt, True)
        assert src.compression == {None: None, "gz": "gzip", "xz": "xz"}[comp]
        if fmt == "npy" or (fmt in ("raw", "pagemap") and comp is None):
            assert src.entries == values.size          # known before reading
        else:
            assert src.entries is None                 # streamed
    read = Read(read_dump(path, chunk_entries=513))
    np.testing.assert_array_equal(read.raw, values)
    assert read.raw.dtype == np.uint64
    _check_columns(read, values, fmt == "pagemap")
    np.testing.assert_array_equal(read.index, np.arange(values.size, dtype=np.uint64))
    assert read.va.tolist() == [expected_va(i) for i in range(values.size)]
    addrs = entry_addrs(case, values.size)
    if addrs is None:
        assert all(read.addr_none) and read.entry_addr is None
    else:
        assert read.entry_addr is not None and read.entry_addr.tolist() == addrs
    assert read.starts == [sum(read.sizes[:k]) for k in range(len(read.sizes))]
    if fmt not in ("hex", "gdb", "crash"):
        assert read.sizes[:-1] == [513] * (len(read.sizes) - 1) and read.sizes[-1] <= 513


@pytest.mark.parametrize("comp", [None, "gz", "xz"], ids=["plain", "gz", "xz"])
@pytest.mark.parametrize("case", [c for c in FORMAT_CASES if c != "pagemap"])
def test_every_format_round_trips_from_stdin(monkeypatch: Any, case: str,
                                             comp: Optional[str]) -> None:
    """``-`` is stdin: the same entries, auto-detected, decompressed on the fly."""
    fmt = FORMAT_CASES[case][0]
    _stdin(monkeypatch, dump_bytes(case, comp))
    with open_dump("-") as src:
        assert (src.name, src.format, src.detected) == ("<stdin>", fmt, True)
        assert src.compression == {None: None, "gz": "gzip", "xz": "xz"}[comp]
        read = Read(read_dump("-", source=src, chunk_entries=700))
    np.testing.assert_array_equal(read.raw, VALUES)
    _check_columns(read, VALUES, False)
    addrs = entry_addrs(case, N)
    assert (read.entry_addr.tolist() if read.entry_addr is not None else None) == addrs
    assert read.va.tolist() == [expected_va(i) for i in range(N)]


@pytest.mark.parametrize("comp", [None, "gz"], ids=["plain", "gz"])
def test_pagemap_from_stdin_needs_the_format_given(monkeypatch: Any, comp: Optional[str]) -> None:
    """A pagemap file is told from a raw one by its name; stdin has none."""
    _stdin(monkeypatch, dump_bytes("pagemap", comp))
    with open_dump("-", "pagemap") as src:
        assert (src.format, src.detected) == ("pagemap", False)
        read = Read(read_dump("-", source=src, chunk_entries=1000))
    np.testing.assert_array_equal(read.raw, PAGEMAP)
    _check_columns(read, PAGEMAP, True)


def test_pagemap_rows_use_pagemap_bits() -> None:
    """kernel-facts §6: a 6.18 uffd-wp marker reads 0x420000000000003F in
    pagemap: PM_SWAP | PM_UFFD_WP, type 31 offset 1 -> kind marker."""
    d = ptebits.decode_pagemap(np.array([0x420000000000003F, 0x8100000000012345, 0],
                                        dtype=np.uint64))
    assert [str(ptebits.Kind(k)) for k in d.kind] == ["marker", "present", "none"]
    assert d.swap.tolist() == [True, False, False]
    assert d.uffd_wp.tolist() == [True, False, False]
    assert d.present.tolist() == [False, True, False]
    assert (int(d.swp_type[0]), int(d.swp_offset[0]), int(d.pfn[1])) == (31, 1, 0x12345)


def test_npy_of_an_empty_array_is_zero_entries(tmp_path: Any) -> None:
    path = tmp_path / "empty.npy"
    path.write_bytes(npy_bytes([], "<u8"))
    with open_dump(str(path)) as src:
        assert (src.format, src.entries) == ("npy", 0)
        assert list(src.chunks()) == []


@pytest.mark.parametrize("dtype,why", [("<f8", "not a 64-bit integer"),
                                       ("<u4", "not a 64-bit integer"),
                                       ("|u1", "not a 64-bit integer")])
def test_npy_of_another_dtype_is_refused(tmp_path: Any, dtype: str, why: str) -> None:
    path = tmp_path / "bad.npy"
    np.save(str(path), np.arange(4).astype(dtype))
    with pytest.raises(DumpFormatError, match=why) as info:
        open_dump(str(path))
    assert str(path) in str(info.value)


def test_npy_in_fortran_order_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "f.npy"
    np.save(str(path), np.asfortranarray(np.arange(8, dtype=np.uint64).reshape(2, 4)))
    with pytest.raises(DumpFormatError, match="Fortran"):
        open_dump(str(path))


def test_truncated_npy_is_an_error(tmp_path: Any) -> None:
    data = npy_bytes(VALUES[:100])
    path = tmp_path / "cut.npy"
    path.write_bytes(data[:-8 * 10])                 # ten whole entries missing
    with open_dump(str(path)) as src:
        with pytest.raises(DumpFormatError, match="ends after 90 of its 100 entries"):
            list(src.chunks(chunk_entries=32))


# ============================================================ detection

@pytest.mark.parametrize("head,name,fmt", [
    (b"", "", "raw"),                                    # empty input is raw
    (raw_bytes([0x8000000012345027]), "x.bin", "raw"),
    (raw_bytes([0x8000000012345027]), "pagemap", "pagemap"),
    (raw_bytes([0x8000000012345027]), "1234.pagemap", "pagemap"),
    (npy_bytes([1, 2]), "x.bin", "npy"),
    (b"0x8000000012345027\n", "", "hex"),
    (b"# only a comment\n", "", "hex"),
    (b"fffffffffffffc00\n", "", "hex"),
    (gdb_text([1, 2]).encode(), "", "gdb"),
    (gdb_text([1, 2], symbol="init_top_pgt").encode(), "", "gdb"),
    (crash_text([1, 2]).encode(), "", "crash"),
    (crash_text([1, 2], prompt=False).encode(), "", "crash"),
])
def test_detect_format(head: bytes, name: str, fmt: str) -> None:
    assert detect_format(head, name) == fmt


@pytest.mark.parametrize("forced,case,expect", [
    ("raw", "hex", None),                               # the text read as bytes
    ("hex", "raw", "1: not a 64-bit hex value"),
    ("crash", "gdb", "2: not a crash rd -64 line"),     # line 1 is the (gdb) prompt
    ("gdb", "crash", "2: not a gdb x/Ngx line"),
    ("hex", "gdb", "2: not a 64-bit hex value"),
])
def test_forced_format_overrides_detection(tmp_path: Any, forced: str, case: str,
                                           expect: Optional[str]) -> None:
    path = write_dump(tmp_path, case, values=VALUES[:16])
    with open_dump(path, forced) as src:
        assert (src.format, src.detected) == (forced, False)
        if expect is None:
            data = open(path, "rb").read()
            got = np.concatenate([c.raw.copy() for c in src.chunks()])
            assert got.tolist() == np.frombuffer(data[:len(data) // 8 * 8], "<u8").tolist()
            return
        with pytest.raises(DumpFormatError) as info:
            list(src.chunks())
        assert "%s:%s" % (path, expect) in str(info.value)


def test_unknown_format_is_refused() -> None:
    with pytest.raises(InvalidValueError, match="unknown dump format 'elf'.*raw, npy, hex"):
        open_dump("-", "elf")


# ======================================================= offset and count

@pytest.mark.parametrize("case", ["raw", "npy-big-endian-i8", "hex", "gdb-symbol", "crash",
                                  "pagemap"])
@pytest.mark.parametrize("comp", [None, "gz"], ids=["plain", "gz"])
def test_offset_and_count_are_in_entries_across_chunks(tmp_path: Any, case: str,
                                                       comp: Optional[str]) -> None:
    """Any offset and count, with small chunks: exactly values[offset:offset+count],
    index from offset, entry_addr and va of those entries."""
    values = values_for(case)
    path = write_dump(tmp_path, case, comp)
    n = values.size
    for offset, count, chunk in [(0, None, 7), (1, 5, 3), (5, 10, 4), (6, 7, 7),
                                 (511, 3, 2), (100, 513, 64), (n - 1, None, 5), (n, None, 3),
                                 (n + 10, 5, 3), (3, 0, 3), (0, n + 50, 1000), (2, None, 1)]:
        read = Read(read_dump(path, offset=offset, count=count, chunk_entries=chunk))
        stop = n if count is None else min(n, offset + count)
        want = values[offset:stop]
        np.testing.assert_array_equal(read.raw, want, err_msg=str((offset, count, chunk)))
        _check_columns(read, want, case == "pagemap")
        assert read.index.tolist() == list(range(offset, max(offset, stop)))
        assert read.va.tolist() == [expected_va(i) for i in range(offset, max(offset, stop))]
        addrs = entry_addrs(case, len(want), offset)
        assert (None if read.entry_addr is None else read.entry_addr.tolist()) == \
            (addrs if want.size else None)
        if read.starts:
            assert read.starts[0] == offset
        assert all(s <= chunk + 1 for s in read.sizes)     # a text line holds at most 2


def test_offset_and_count_from_stdin(monkeypatch: Any) -> None:
    """Pipes cannot seek: the reader skips by reading."""
    _stdin(monkeypatch, raw_bytes(VALUES))
    read = Read(read_dump("-", offset=700, count=300, chunk_entries=128))
    np.testing.assert_array_equal(read.raw, VALUES[700:1000])
    assert read.index.tolist() == list(range(700, 1000))


@pytest.mark.parametrize("kwargs", [{"offset": -1}, {"count": -1}, {"chunk_entries": 0}])
def test_negative_offset_count_or_empty_chunks_are_refused(tmp_path: Any, kwargs: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    with open_dump(path) as src:
        with pytest.raises(InvalidValueError):
            list(src.chunks(**kwargs))


@pytest.mark.parametrize("chunk", [1, 3, 5, 511, 512, 513, 1000, 1535, 1536, 1537, 4096])
def test_streaming_with_chunk_sizes_that_do_not_divide_the_input(tmp_path: Any,
                                                                 chunk: int) -> None:
    path = write_dump(tmp_path, "raw", "xz")
    read = Read(read_dump(path, chunk_entries=chunk))
    np.testing.assert_array_equal(read.raw, VALUES)
    _check_columns(read, VALUES, False)
    assert read.sizes == [min(chunk, N - s) for s in range(0, N, chunk)]


def test_chunks_reuse_the_buffer_so_copy_what_you_keep(tmp_path: Any) -> None:
    """README: buffers are reused between chunks (memory stays bounded)."""
    path = write_dump(tmp_path, "raw")
    with open_dump(path) as src:
        views = [c.raw for c in src.chunks(chunk_entries=512)]
    assert len(views) == 3
    assert views[0].base is views[2].base or np.shares_memory(views[0], views[2])


# ============================================================== va and levels

@pytest.mark.parametrize("level,span", [("pte", 1 << 12), ("pmd", 1 << 21), ("pud", 1 << 30),
                                        ("p4d", 1 << 39), ("pgd", 1 << 39)])
def test_va_of_each_level(level: str, span: int) -> None:
    index = np.arange(0, 1024, 7, dtype=np.uint64)
    got = va_of(index, level, 0x10000000, la57=False)
    assert got.tolist() == [expected_va(int(i), 0x10000000, level) for i in index]
    assert got[1] - got[0] == 7 * span


@pytest.mark.parametrize("level,base,index,va", [
    # the last user page, then the first kernel-half address, sign-extended
    ("pte", 0x7FFFFFFFF000, 0, 0x00007FFFFFFFF000),
    ("pte", 0x7FFFFFFFF000, 1, 0xFFFF800000000000),
    ("pte", 0x7FFFFFFFF000, 2, 0xFFFF800000001000),
    ("pmd", 0x7FFFFFE00000, 1, 0xFFFF800000000000),
    ("pud", 0x7FFFC0000000, 1, 0xFFFF800000000000),
    ("pud", 0x7FFFC0000000, 2, 0xFFFF800040000000),
    ("pgd", 0, 256, 0xFFFF800000000000),              # PGD slot 256: the kernel half
    ("pgd", 0, 511, 0xFFFFFF8000000000),
    # a kernel base given sign-extended stays canonical
    ("pte", 0xFFFF888012345000, 3, 0xFFFF888012348000),
    ("pmd", 0xFFFFFFFF80000000, 2, 0xFFFFFFFF80400000),
])
def test_va_is_sign_extended_into_the_kernel_half(level: str, base: int, index: int,
                                                  va: int) -> None:
    assert int(va_of(np.array([index], dtype=np.uint64), level, base, la57=False)[0]) == va


def test_va_with_5_level_paging_is_57_bits() -> None:
    got = va_of(np.array([0, 1], dtype=np.uint64), "pte", 0x00FFFFFFFFFFF000, la57=True)
    assert got.tolist() == [0x00FFFFFFFFFFF000, 0xFF00000000000000]
    assert int(va_of(np.array([256], dtype=np.uint64), "pgd", 0, la57=True)[0]) == \
        0xFF00000000000000                          # a PGD entry maps 2^48 bytes


def test_read_dump_va_with_base_va_and_offset(tmp_path: Any) -> None:
    """va is base-va + input index x span, also for entries after --offset."""
    path = write_dump(tmp_path, "raw")
    base = 0x800000000000 - 300 * 4096
    read = Read(read_dump(path, base_va=base, offset=250, count=100, chunk_entries=33))
    assert read.va.tolist() == [expected_va(i, base) for i in range(250, 350)]
    assert read.va[49] == 0x7FFFFFFFF000 and read.va[50] == 0xFFFF800000000000


def test_read_dump_va_under_la57_profile(tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    read = Read(read_dump(path, profile="linux-6.18+la57", base_va=0x00FFFFFFFFFFE000))
    assert read.va.tolist() == [0x00FFFFFFFFFFE000, 0x00FFFFFFFFFFF000, 0xFF00000000000000,
                                0xFF00000000001000]


@pytest.mark.parametrize("level", ["pmd", "pud"])
def test_read_dump_upper_levels_step_va_by_the_level_span(tmp_path: Any, level: str) -> None:
    """A PMD entry maps 2 MiB, a PUD entry 1 GiB; the columns are
    ptebits.decode(..., level=LEVEL)'s."""
    values = VALUES[:6].copy()
    path = write_dump(tmp_path, "raw", values=values)
    span = {"pmd": 1 << 21, "pud": 1 << 30}[level]
    base = 0x800000000000 - 3 * span
    read = Read(read_dump(path, level=level, base_va=base, chunk_entries=4))
    assert read.va.tolist() == [expected_va(i, base, level) for i in range(6)]
    assert read.va[2] == 0x800000000000 - span and read.va[3] == 0xFFFF800000000000
    np.testing.assert_array_equal(read.raw, values)
    want = ptebits.decode(values, level=level)
    for name in COLUMNS:
        np.testing.assert_array_equal(read.cols[name], getattr(want, name), err_msg=name)


def test_unknown_level_is_refused(tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    with pytest.raises(InvalidValueError, match="level='pte2' is not a page-table level"):
        list(read_dump(path, level="pte2"))


def test_level_names_are_read_in_any_case(tmp_path: Any) -> None:
    """level="PMD" reads as "pmd", as decode() reads it."""
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    upper, lower = list(read_dump(path, level="PMD")), list(read_dump(path, level="pmd"))
    assert [c.level for c in upper] == [c.level for c in lower]
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(upper[0].decoded, name),
                                      getattr(lower[0].decoded, name), err_msg=name)


# ============================================================ torn inputs

def test_torn_raw_file_names_the_trailing_bytes(tmp_path: Any) -> None:
    path = tmp_path / "torn.bin"
    path.write_bytes(raw_bytes(VALUES[:100]) + b"\x01\x02\x03")
    with pytest.raises(DumpFormatError) as info:
        open_dump(str(path))                        # the size is known: refused at once
    msg = str(info.value)
    assert str(path) in msg and "803 bytes" in msg and "not a multiple of 8" in msg
    assert "3 trailing bytes after 100 complete entries" in msg
    assert info.value.path == str(path)


def test_torn_raw_file_allow_partial_decodes_complete_entries(tmp_path: Any) -> None:
    path = tmp_path / "torn.bin"
    path.write_bytes(raw_bytes(VALUES[:100]) + b"\xff")
    with pytest.warns(UserWarning, match="ignoring 1 trailing byte after 100 complete entries"):
        read = Read(read_dump(str(path), allow_partial=True, chunk_entries=30))
    np.testing.assert_array_equal(read.raw, VALUES[:100])
    _check_columns(read, VALUES[:100], False)


@pytest.mark.parametrize("comp", [None, "gz", "xz"], ids=["stdin", "stdin-gz", "stdin-xz"])
@pytest.mark.parametrize("entries,tail,chunk", [(100, 5, 30), (100, 7, 50), (0, 3, 8),
                                                (1536, 1, 512), (10, 4, 1)])
def test_torn_stream_size_unknown_in_advance(monkeypatch: Any, comp: Optional[str], entries: int,
                                             tail: int, chunk: int) -> None:
    """stdin and compressed streams: the tail shows up only at the end; the
    complete entries before it come out, then the error names the tail."""
    data = raw_bytes(VALUES[:entries]) + bytes(range(tail))   # a NUL: not text
    _stdin(monkeypatch, compress(data, comp))
    got = []
    with pytest.raises(DumpFormatError) as info:
        for c in read_dump("-", chunk_entries=chunk):
            got.append(c.raw.copy())
    assert "%d trailing byte%s after %d complete entries" % (tail, "s" if tail > 1 else "",
                                                             entries) in str(info.value)
    assert "<stdin>" in str(info.value)
    assert sum(g.size for g in got) == entries
    _stdin(monkeypatch, compress(data, comp))
    with pytest.warns(UserWarning, match="ignoring %d trailing byte" % tail):
        read = Read(read_dump("-", allow_partial=True, chunk_entries=chunk))
    np.testing.assert_array_equal(read.raw, VALUES[:entries])


@pytest.mark.parametrize("comp", ["gz", "xz"])
def test_torn_compressed_file(tmp_path: Any, comp: str) -> None:
    path = tmp_path / ("torn.bin." + comp)
    path.write_bytes(compress(raw_bytes(VALUES[:64]) + b"\x00\x01", comp))
    with open_dump(str(path)) as src:
        assert src.entries is None
        with pytest.raises(DumpFormatError, match="2 trailing bytes after 64 complete entries"):
            list(src.chunks(chunk_entries=10))
    with pytest.warns(UserWarning, match="ignoring 2 trailing bytes after 64 complete entries"):
        read = Read(read_dump(str(path), allow_partial=True, chunk_entries=10))
    np.testing.assert_array_equal(read.raw, VALUES[:64])


def test_torn_pagemap_file(tmp_path: Any) -> None:
    path = tmp_path / "1.pagemap"
    path.write_bytes(raw_bytes(PAGEMAP[:9]) + b"\x01")
    with pytest.raises(DumpFormatError, match="1 trailing byte after 9 complete entries"):
        open_dump(str(path))


# ============================================================ empty inputs

@pytest.mark.parametrize("data,fmt", [
    (b"", "raw"), (compress(b"", "gz"), "raw"), (compress(b"", "xz"), "raw"),
    (b"# nothing here\n\n", "hex"), (b"(gdb) x/0gx 0xffff888012345000\n(gdb) \n", "hex"),
])
def test_empty_inputs_are_zero_entries(tmp_path: Any, monkeypatch: Any, data: bytes,
                                       fmt: str) -> None:
    path = tmp_path / "empty"
    path.write_bytes(data)
    for name in (str(path), "-"):
        _stdin(monkeypatch, data)
        with open_dump(name) as src:
            assert src.format == fmt
            assert list(src.chunks()) == []
        summ = DumpSummary(ptebits.get_profile(V618))
        for c in read_dump(name):
            summ.add(c.decoded)
        res = summ.result()
        assert res["entries"] == 0 and sum(res["kinds"].values()) == 0
        assert (res["distinct_pfns"], res["longest_pfn_run"]) == (0, 0)


def test_empty_raw_file_knows_it_holds_zero_entries(tmp_path: Any) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    with open_dump(str(path)) as src:
        assert (src.format, src.entries) == ("raw", 0)


# ============================================================ bad text lines

@pytest.mark.parametrize("fmt,text,line,bad", [
    ("hex", "0x1\n0x2\n0xzz\n", 3, "0xzz"),
    ("hex", "# c\n1\n2 3\n", 3, "2 3"),
    ("hex", "0x10000000000000000\n", 1, "0x10000000000000000"),
    ("gdb", gdb_text([1, 2, 3, 4]) + "0xffff888012345020:\t0x00000000000000zz\n", 5,
     "0x00000000000000zz"),
    ("gdb", gdb_text([1, 2]) + "0xffff888012345010:\t0x00000000000000001\n", 4,
     "0x00000000000000001"),
    ("gdb", gdb_text([1, 2]) + "Cannot access memory at address 0xffff888012345010\n", 4,
     "Cannot access memory at address 0xffff888012345010"),
    ("crash", crash_text([1, 2]) + "ffff888012345010:  000000000000000\n", 4,
     "ffff888012345010:  000000000000000"),
    ("crash", crash_text([1, 2]) + "rd: invalid kernel virtual address: 0  type: \"64-bit KVADDR\"\n",
     4, "rd: invalid kernel virtual address"),
])
def test_bad_text_lines_name_file_line_and_text(tmp_path: Any, fmt: str, text: str, line: int,
                                                bad: str) -> None:
    path = tmp_path / ("bad." + fmt)
    path.write_text(text)
    with open_dump(str(path)) as src:
        assert src.format == fmt
        with pytest.raises(DumpFormatError) as info:
            list(src.chunks(chunk_entries=1))
    msg = str(info.value)
    assert msg.startswith("%s:%d: not " % (path, line)), msg
    assert bad in msg
    assert (info.value.path, info.value.line) == (str(path), line)


@pytest.mark.parametrize("second", ["0fffffffffdb96g4", "0fffffffffdb960", "0fffffffffffdb9604"])
def test_crash_line_with_a_bad_second_value_is_an_error(tmp_path: Any, second: str) -> None:
    path = tmp_path / "bad.crash"
    path.write_text(crash_text([0, 0x8000000012345027]) .replace("crash> \n", "") +
                    "ffff888012345010:  fffffffffffffc00 %s   ................\n" % second)
    with open_dump(str(path)) as src:
        with pytest.raises(DumpFormatError, match=r":3: not a crash rd -64 line"):
            list(src.chunks())


def test_crash_ascii_column_that_looks_like_hex_is_not_a_value(tmp_path: Any) -> None:
    """Bytes '0'..'9', 'a'..'f' print as hex digits in the ASCII column."""
    values = [0x3030303030303030, 0x6666666666666666, 0x3131313131313131]
    path = tmp_path / "digits.crash"
    path.write_text(crash_text(values))
    assert "   00000000ffffffff\n" in path.read_text()
    with open_dump(str(path)) as src:
        got = [int(v) for c in src.chunks() for v in c.raw]
    assert got == values


# ==================================================== missing, unreadable

def test_missing_file(tmp_path: Any) -> None:
    path = tmp_path / "nowhere.bin"
    with pytest.raises(FileError, match="nowhere.bin: no such file") as info:
        open_dump(str(path))
    assert isinstance(info.value, OSError)


def test_directory(tmp_path: Any) -> None:
    with pytest.raises(FileError, match="is a directory"):
        open_dump(str(tmp_path))


def test_unreadable_file(tmp_path: Any, monkeypatch: Any) -> None:
    """Permission denied, as an ordinary user sees it (the tests may run as
    root, which reads anything: the open is made to fail instead)."""
    path = tmp_path / "secret.bin"
    path.write_bytes(raw_bytes([1]))

    def no_access(name: Any, *args: Any, **kwargs: Any) -> Any:
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return open(name, *args, **kwargs)
    monkeypatch.setattr(dumps, "open", no_access, raising=False)
    with pytest.raises(FileError, match="secret.bin: permission denied"):
        open_dump(str(path))


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path: Any) -> None:
    path = tmp_path / "secret.bin"
    path.write_bytes(raw_bytes([1]))
    path.chmod(0)
    with pytest.raises(FileError, match="permission denied"):
        open_dump(str(path))


# ================================================================ summary

def _summary(values: np.ndarray, chunk: int, profile: str = V618, pagemap: bool = False,
             **kwargs: Any) -> dict:
    summ = DumpSummary(ptebits.get_profile(profile), **kwargs)
    for i in range(0, values.size, chunk):
        part = values[i:i + chunk].copy()
        summ.add(ptebits.decode_pagemap(part, profile=profile) if pagemap
                 else ptebits.decode(part, profile=profile))
    return summ.result()


@pytest.mark.parametrize("chunk", [1, 7, 100, 512, 1536, 5000])
def test_summary_counts_add_up_and_match_a_reference(chunk: int) -> None:
    res = _summary(VALUES, chunk)
    d = ptebits.decode(VALUES)
    assert res["entries"] == N == sum(res["kinds"].values())
    assert res["kinds"] == d.counts()
    kinds = d.kind.tolist()
    names = [str(ptebits.Kind(k)) for k in kinds]
    # swap types of every swap-format entry (swap, migration, ..., marker, bad)
    swap_format = {"swap", "migration", "device", "hwpoison", "marker", "bad"}
    want_types: dict = {}
    for name, t in zip(names, d.swp_type.tolist()):
        if name in swap_format:
            want_types[str(t)] = want_types.get(str(t), 0) + 1
    assert {t: v["count"] for t, v in res["swap_types"].items()} == want_types
    assert res["swap_types"]["31"]["meaning"] == "pte marker"
    # distinct PFNs: exact, against a Python set
    pfn_kinds = {"present", "protnone", "migration", "device", "hwpoison"}
    pfns = {p for name, p in zip(names, d.pfn.tolist()) if name in pfn_kinds}
    assert (res["distinct_pfns"], res["distinct_pfns_exact"]) == (len(pfns), True)
    # runs of contiguous PFNs, against the plain-Python reference
    runs = pfn_runs_reference(kinds, d.pfn.tolist())
    assert res["pfn_runs"] == run_buckets(runs)
    assert res["longest_pfn_run"] == max(runs)
    # flags
    assert res["flags"]["uffd_wp"] == int(np.count_nonzero(d.uffd_wp_any))
    assert res["flags"]["nx"] == int(np.count_nonzero(d.nx))
    assert res["flags"]["exclusive"] == int(np.count_nonzero(d.swp_exclusive))
    assert res["flags"]["young"] == int(np.count_nonzero(d.young))
    assert res["flags"]["dirty"] == int(np.count_nonzero(d.dirty))
    json.dumps(res)                                    # JSON-ready


def test_summary_uffd_wp_counts_every_form_under_6_18() -> None:
    """Present bit 10, swap bit 2, the marker; not bits that merely look alike."""
    p = V618
    values = np.array([
        ptebits.encode_present(0x10, "PAGE_SHARED", profile=p) | (1 << 10),   # _PAGE_UFFD_WP
        ptebits.encode_swap(1, 0x22, uffd_wp=True, profile=p),                # _PAGE_SWP_UFFD_WP
        ptebits.encode_marker(uffd_wp=True, profile=p),                       # PTE_MARKER_UFFD_WP
        ptebits.encode_migration(0x30, uffd_wp=True, profile=p),              # swap bit 2
        ptebits.encode_marker(guard=True, profile=p),                         # not uffd-wp
        ptebits.encode_present(0x11, "PAGE_SHARED", profile=p),
        ptebits.encode_swap(1, 0x23, profile=p),
        0,
    ], dtype=np.uint64)
    res = _summary(values, 3, p)
    assert res["flags"]["uffd_wp"] == 4
    d = ptebits.decode(values, profile=p)
    assert d.uffd_wp_any.tolist() == [True, True, True, True, False, False, False, False]


def test_summary_uffd_wp_counts_the_v2_special_pte() -> None:
    """linux-5.12-uffd-wp-v2: raw 0x4 is the uffd-wp special PTE (kernel-facts §5)."""
    p = V512
    values = np.array([0x4, 0x4, ptebits.encode_present(0x10, "PAGE_SHARED", profile=p) | 1 << 10,
                       ptebits.encode_swap(3, 9, uffd_wp=True, profile=p), 0, 0x8],
                      dtype=np.uint64)
    res = _summary(values, 4, p)
    assert res["kinds"]["uffd_wp_special"] == 2
    assert res["flags"]["uffd_wp"] == 4
    # the same bits under 6.18: 0x4 is a type-0 swap entry with SWP_UFFD_WP
    assert _summary(values, 4, V618)["kinds"]["uffd_wp_special"] == 0


def test_summary_distinct_pfns_switches_to_a_labelled_estimate() -> None:
    values = VALUES
    exact = _summary(values, 100)
    est = _summary(values, 100, pfn_exact_limit=50)
    assert exact["distinct_pfns_exact"] is True and est["distinct_pfns_exact"] is False
    assert abs(est["distinct_pfns"] - exact["distinct_pfns"]) <= 0.05 * exact["distinct_pfns"]


def test_pfn_counter_exact_up_to_its_limit() -> None:
    c = PfnCounter(exact_limit=1000)
    c.add(np.arange(600, dtype=np.uint64))
    c.add(np.arange(400, 1000, dtype=np.uint64))      # 200 already seen
    assert (c.is_exact, c.count()) == (True, 1000)
    c.add(np.array([5, 999], dtype=np.uint64))
    assert (c.is_exact, c.count()) == (True, 1000)
    c.add(np.array([1000], dtype=np.uint64))
    assert c.is_exact is False


def test_pfn_counter_hyperloglog_within_3_percent_on_3m_pfns() -> None:
    """~3M distinct PFNs (strided, shuffled, in chunks, with repeats) past a
    1000-PFN exact limit: the estimate is within 3% (the standard error of
    2^14 registers is about 0.8%)."""
    rng = np.random.default_rng(20211027)
    distinct = 3_000_000
    pfns = rng.permutation(np.arange(distinct, dtype=np.uint64) * np.uint64(3) +
                           np.uint64(0x100000))
    c = PfnCounter(exact_limit=1000)
    for i in range(0, distinct, 1 << 19):
        c.add(pfns[i:i + (1 << 19)])
    c.add(pfns[:200_000])                              # repeats do not count again
    assert c.is_exact is False
    assert abs(c.count() - distinct) <= 0.03 * distinct, c.count()


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 16, 64, 511, 512, 100000])
def test_pfn_runs_equal_a_plain_python_reference(chunk: int) -> None:
    """Runs across chunk boundaries, runs broken by holes, by other kinds
    and by jumps, runs longer than a chunk, all-hole chunks."""
    p = V618
    rng = np.random.default_rng(chunk)
    parts = []
    pfn = 0x1000
    for _ in range(120):
        r = rng.random()
        length = int(rng.integers(1, 40)) if rng.random() < 0.9 else int(rng.integers(500, 700))
        if r < 0.45:
            parts.append(ptebits.encode_present(np.arange(pfn, pfn + length, dtype=np.uint64),
                                                "PAGE_SHARED", profile=p))
            pfn += length if rng.random() < 0.5 else int(rng.integers(2, 100))
        elif r < 0.55:
            parts.append(ptebits.encode_migration(np.arange(pfn, pfn + length, dtype=np.uint64),
                                                  profile=p))
            pfn += length
        elif r < 0.65:
            parts.append(ptebits.encode_present(np.arange(pfn, pfn + length, dtype=np.uint64),
                                                "PAGE_NONE", profile=p))
            pfn += length
        elif r < 0.8:
            parts.append(np.zeros(length, dtype=np.uint64))
        else:
            parts.append(ptebits.encode_swap(1, np.arange(1, length + 1, dtype=np.uint64),
                                             profile=p))
    values = np.concatenate(parts).astype(np.uint64)
    d = ptebits.decode(values, profile=p)
    runs = pfn_runs_reference(d.kind.tolist(), d.pfn.tolist())
    assert max(runs) >= 500
    res = _summary(values, chunk, p)
    assert res["pfn_runs"] == run_buckets(runs)
    assert res["longest_pfn_run"] == max(runs)
    assert sum(res["pfn_runs"].values()) == len(runs)


def test_summary_of_pagemap_words_uses_pagemap_bits() -> None:
    words = np.array([0x420000000000003F, 0x8100000000012345, 0x8100000000012346, 0,
                      0x4200000000000021], dtype=np.uint64)
    res = _summary(words, 2, pagemap=True)
    assert res["entries"] == 5 == sum(res["kinds"].values())
    assert {k: v for k, v in res["kinds"].items() if v} == {"none": 1, "present": 2,
                                                          "swap": 1, "marker": 1}
    assert res["pagemap_flags"]["uffd_wp"] == 2 and res["pagemap_flags"]["swap"] == 2
    assert res["pagemap_flags"]["present"] == 2 and res["pagemap_flags"]["exclusive"] == 2
    assert "flags" not in res
    assert {t: v["count"] for t, v in res["swap_types"].items()} == {"1": 1, "31": 1}
    assert (res["distinct_pfns"], res["pfn_runs"]["2-15"], res["longest_pfn_run"]) == (2, 1, 2)


def test_summary_matched_counts_only_the_kept_entries() -> None:
    summ = DumpSummary(ptebits.get_profile(V618))
    d = ptebits.decode(VALUES)
    keep = Filters(kinds="swap,marker").mask(d)
    summ.add(d, keep)
    res = summ.result()
    assert res["matched_by_filters"] == int(np.count_nonzero(
        np.isin(d.kind, [int(ptebits.Kind.SWAP), int(ptebits.Kind.MARKER)])))
    assert res["entries"] == N                         # every entry is still counted


# ================================================================ filters

def test_filter_kinds() -> None:
    d = ptebits.decode(VALUES)
    keep = Filters(kinds="swap, marker").mask(d)
    assert keep.tolist() == [str(ptebits.Kind(k)) in ("swap", "marker") for k in d.kind]
    with pytest.raises(InvalidValueError, match="unknown kind 'swapp'"):
        Filters(kinds="swap,swapp")


@pytest.mark.parametrize("profile", [V618, V512])
def test_filter_flag_uffd_wp_is_any_form(profile: str) -> None:
    d = ptebits.decode(VALUES, profile=profile)
    keep = Filters(flags="uffd_wp").mask(d)
    assert keep.tolist() == d.uffd_wp_any.tolist()
    assert Filters(flags="uffd-wp").mask(d).tolist() == keep.tolist()
    special = ptebits.decode(np.array([4, 0], dtype=np.uint64), profile=V512)
    assert Filters(flags="uffd_wp").mask(special).tolist() == [True, False]


def test_filter_unknown_flag_lists_the_flags() -> None:
    with pytest.raises(InvalidValueError) as info:
        Filters(flags="uffd_wp,sticky")
    msg = str(info.value)
    assert "'sticky'" in msg
    for name in ("uffd_wp", "soft_dirty", "exclusive", "dirty", "young", "write", "nx",
                 "special", "global", "pkey", "canonical", "non_canonical"):
        assert name in msg


def test_filter_pfn_range_end_is_exclusive() -> None:
    values = ptebits.encode_present(np.arange(0x100, 0x110, dtype=np.uint64), "PAGE_SHARED")
    values = np.concatenate([values, np.array([ptebits.encode_migration(0x105),
                                               ptebits.encode_swap(1, 0x105), 0],
                                              dtype=np.uint64)])
    d = ptebits.decode(values)
    keep = Filters(pfn_range="0x104-0x108").mask(d)
    assert np.flatnonzero(keep).tolist() == [4, 5, 6, 7, 16]     # not the swap offset 0x105
    assert Filters(pfn_range="260-264").mask(d).tolist() == keep.tolist()


@pytest.mark.parametrize("text", ["0x108-0x104", "5-5", "abc", "1-2-3", "0x10-", "-5", "x-y",
                                  "0x10..0x20"])
def test_filter_bad_pfn_ranges(text: str) -> None:
    with pytest.raises(InvalidValueError, match="pfn-range"):
        Filters(pfn_range=text)


def test_filters_on_pagemap_words() -> None:
    d = ptebits.decode_pagemap(np.array([0x420000000000003F, 0x8100000000012345, 0],
                                        dtype=np.uint64))
    assert Filters(flags="uffd_wp").mask(d).tolist() == [True, False, False]
    assert Filters(kinds="marker").mask(d).tolist() == [True, False, False]
    assert Filters(pfn_range="0x12345-0x12346").mask(d).tolist() == [False, True, False]
    with pytest.raises(InvalidValueError, match="does not apply to pagemap"):
        Filters(flags="dirty").mask(d)


# ==================================================== npz writer and output

def test_npz_writer_refuses_past_its_limit_naming_alternatives(tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    w = NpzWriter(limit=1000)
    with pytest.raises(InvalidValueError) as info:
        for c in read_dump(path, chunk_entries=512):
            w.add(c, None)
    msg = str(info.value)
    assert "1000" in msg
    for alt in ("jsonl", "csv", "--summary", "--offset/--count"):
        assert alt in msg


def test_npz_writer_round_trip(tmp_path: Any) -> None:
    path = write_dump(tmp_path, "gdb")
    w = NpzWriter(limit=10 ** 6)
    for c in read_dump(path, chunk_entries=500):
        w.add(c, None)
    out = tmp_path / "out.npz"
    with open(out, "wb") as f:
        w.save(f, {"profile": V618})
    z = np.load(str(out))
    d = ptebits.decode(VALUES)
    np.testing.assert_array_equal(z["raw"], VALUES)
    for name in COLUMNS:
        np.testing.assert_array_equal(z[name], getattr(d, name), err_msg=name)
    assert z["index"].tolist() == list(range(N))
    assert z["entry_addr"].tolist() == entry_addrs("gdb", N)
    assert z["va"].tolist() == [expected_va(i) for i in range(N)]
    assert json.loads(str(z["meta"]))["profile"] == V618


def test_atomic_output_leaves_no_file_when_the_writer_fails(tmp_path: Any) -> None:
    target = tmp_path / "rows.jsonl"
    target.write_text("the previous output\n")
    with pytest.raises(DumpFormatError):
        with atomic_output(str(target)) as f:
            f.write("half" * 10000)
            raise DumpFormatError("boom")
    assert target.read_text() == "the previous output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]
    with atomic_output(str(target)) as f:
        f.write("new\n")
    assert target.read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rows.jsonl"]


def test_atomic_output_into_a_missing_directory() -> None:
    with pytest.raises(FileError, match="/nonexistent/x.jsonl: cannot write there"):
        with atomic_output("/nonexistent/x.jsonl"):
            pass


def test_read_dump_is_exported_as_the_readme_says() -> None:
    """README "Decoding dumps": ``for chunk in ptebits.read_dump("pgtable.bin")``."""
    assert ptebits.read_dump is read_dump
