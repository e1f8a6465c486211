"""Fuzzing the dump readers (ptebits.dumps): whatever bytes a dump file
holds, reading it either gives uint64 entries or raises DumpFormatError
saying where (the file, and for text formats the line) — never another
exception, never a hang.  Valid text lines in every format read back as the
values and addresses they were written from.

Property-based (hypothesis): the readers are regular expressions and
fixed-size binary framing, where random structure finds what coverage
guidance would (the C core has libFuzzer, tests/test_fuzz.py).
"""
from __future__ import annotations

import gzip
import lzma
import os
import signal
import struct
import tempfile
import warnings
from contextlib import contextmanager
from typing import Iterator, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ptebits
from ptebits import dumps
from ptebits.errors import DumpFormatError

FORMATS = ("auto",) + dumps.FORMATS
TEXT_FORMATS = ("hex", "gdb", "crash")
HANG_SECONDS = 20           # one example; far above the milliseconds it takes
FUZZ = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow,
                                                         HealthCheck.function_scoped_fixture])

u64 = st.integers(min_value=0, max_value=(1 << 64) - 1)


@contextmanager
def no_hang(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fails the example if it runs longer than ``seconds``."""
    def expire(signum: int, frame: object) -> None:
        raise TimeoutError("reading a dump took more than %d s: a hang" % seconds)
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _write(data: bytes, suffix: str = ".dump") -> str:
    fd, path = tempfile.mkstemp(suffix=suffix, prefix="ptebits-fuzz-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return path


def read_all(path: str, fmt: str, *, allow_partial: bool = False,
             chunk_entries: int = dumps.CHUNK_ENTRIES, offset: int = 0,
             count: Optional[int] = None) -> Tuple[np.ndarray, Optional[np.ndarray]]:
    """Every entry of a dump (and the entry addresses, if the format has
    them), through the streaming reader."""
    raws: List[np.ndarray] = []
    addrs: List[np.ndarray] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # --allow-partial's note
        with dumps.open_dump(path, fmt, allow_partial=allow_partial) as src:
            for chunk in src.chunks(offset, count, chunk_entries):
                assert chunk.raw.dtype == np.uint64 and chunk.raw.ndim == 1
                raws.append(chunk.raw.copy())
                if chunk.entry_addr is not None:
                    assert chunk.entry_addr.shape == chunk.raw.shape
                    addrs.append(chunk.entry_addr.copy())
    raw = np.concatenate(raws) if raws else np.zeros(0, dtype=np.uint64)
    return raw, (np.concatenate(addrs) if addrs else None)


def outcome(path: str, fmt: str, **kwargs: object) -> object:
    """The entries read, or the DumpFormatError raised (anything else fails)."""
    with no_hang():
        try:
            return read_all(path, fmt, **kwargs)[0]  # type: ignore[arg-type]
        except DumpFormatError as e:
            assert e.path, "DumpFormatError without the file's name: %s" % e
            assert str(e).startswith(e.path), "message does not start with the file: %s" % e
            return e


@pytest.fixture
def tmpfiles() -> Iterator[List[str]]:
    made: List[str] = []
    yield made
    for p in made:
        os.unlink(p)


# ------------------------------------------- arbitrary bytes, every format

@FUZZ
@given(data=st.binary(max_size=600), fmt=st.sampled_from(FORMATS), partial=st.booleans())
@example(data=b"\x93NUMPY\x01\x00\x10\x00{}", fmt="auto", partial=False)
@example(data=b"\x93NUMPY\x03\x00" + b"\xff" * 20, fmt="npy", partial=False)
@example(data=b"0x1\n\xff\xfe\n", fmt="hex", partial=False)
@example(data=b"1234567", fmt="raw", partial=True)
def test_any_bytes_read_as_entries_or_a_dump_format_error(
        tmpfiles: List[str], data: bytes, fmt: str, partial: bool) -> None:
    path = _write(data)
    tmpfiles.append(path)
    got = outcome(path, fmt, allow_partial=partial)
    if isinstance(got, DumpFormatError):
        return
    assert isinstance(got, np.ndarray)
    if fmt in ("raw", "pagemap") or (fmt == "auto" and b"\0" in data and
                                     not data.startswith(b"\x93NUMPY")):
        # binary framing: little-endian u64, a torn tail only with allow_partial
        assert partial or len(data) % 8 == 0
        assert got.tolist() == [v for (v,) in struct.iter_unpack(
            "<Q", data[:len(data) // 8 * 8])]


@FUZZ
@given(data=st.binary(max_size=400), compression=st.sampled_from(["gzip", "xz"]),
       cut=st.integers(min_value=0, max_value=64), fmt=st.sampled_from(FORMATS))
def test_compressed_dumps_read_like_the_plain_bytes_or_name_the_file(
        tmpfiles: List[str], data: bytes, compression: str, cut: int, fmt: str) -> None:
    """A compressed dump reads exactly like its plain bytes; a truncated or
    corrupt one raises DumpFormatError naming the file."""
    packed = gzip.compress(data) if compression == "gzip" else lzma.compress(data)
    plain = _write(data)
    whole = _write(packed, ".gz" if compression == "gzip" else ".xz")
    torn = _write(packed[:max(6, len(packed) - cut)] + b"\x00" * (cut % 3))
    tmpfiles.extend([plain, whole, torn])
    expect = outcome(plain, fmt)
    got = outcome(whole, fmt)
    if isinstance(expect, np.ndarray):
        assert isinstance(got, np.ndarray) and got.tolist() == expect.tolist()
    else:
        assert isinstance(got, DumpFormatError)
    outcome(torn, fmt)                           # entries or a DumpFormatError


@pytest.mark.parametrize("head", [b"\x1f\x8b", b"\x1f\x8b\x08\x00garbage",
                                  b"\xfd7zXZ\x00", b"\xfd7zXZ\x00corrupt xz data"])
def test_corrupt_compressed_input_is_a_dump_format_error(tmpfiles: List[str],
                                                         head: bytes) -> None:
    path = _write(head)
    tmpfiles.append(path)
    with pytest.raises(DumpFormatError, match=r"^%s: corrupt or truncated (gzip|xz) data"
                       % path):
        read_all(path, "auto")


# ------------------------------------------------------ text, line by line

def hex_line(v: int, style: int) -> str:
    return ["%x" % v, "0x%x" % v, "0X%016X" % v, "  0x%x  # note" % v][style]


def gdb_line(addr: int, values: List[int]) -> str:
    return "0x%x <pgd+%d>:\t%s" % (addr, len(values), "\t".join("0x%016x" % v for v in values))


def crash_line(addr: int, values: List[int]) -> str:
    return "%x:  %s   ........" % (addr, " ".join("%016x" % v for v in values))


@st.composite
def text_dumps(draw: st.DrawFn) -> Tuple[str, List[str], List[int], List[int]]:
    """A text dump of one format: its lines, and the values and addresses
    they hold (blank lines, comments and prompts hold none)."""
    fmt = draw(st.sampled_from(TEXT_FORMATS))
    lines: List[str] = []
    values: List[int] = []
    addrs: List[int] = []
    for _ in range(draw(st.integers(0, 12))):
        what = draw(st.integers(0, 5))
        if what == 0:
            lines.append(draw(st.sampled_from(["", "   ", "# comment", "(gdb) x/4gx $pgd",
                                               "crash> rd -64 ffff888012345000 4"])))
            if fmt == "hex" and lines[-1].startswith(("(gdb)", "crash>")):
                lines[-1] = "# " + lines[-1]
            continue
        if fmt == "hex":
            v = draw(u64)
            lines.append(hex_line(v, draw(st.integers(0, 3))))
            values.append(v)
            addrs.append(0)
            continue
        vals = draw(st.lists(u64, min_size=1, max_size=2 if fmt == "crash" else 4))
        addr = draw(st.integers(0, (1 << 64) - 8 * len(vals))) & ~7
        lines.append(gdb_line(addr, vals) if fmt == "gdb" else crash_line(addr, vals))
        values += vals
        addrs += [addr + 8 * k for k in range(len(vals))]
    return fmt, lines, values, addrs


@FUZZ
@given(dump=text_dumps(), newline=st.sampled_from(["\n", "\r\n"]))
def test_valid_text_lines_read_back_as_their_values_and_addresses(
        tmpfiles: List[str], dump: Tuple[str, List[str], List[int], List[int]],
        newline: str) -> None:
    fmt, lines, values, addrs = dump
    path = _write(newline.join(lines).encode())
    tmpfiles.append(path)
    with no_hang():
        raw, entry_addr = read_all(path, fmt)
    assert raw.tolist() == values
    if fmt == "hex":
        assert entry_addr is None
    else:
        assert (entry_addr.tolist() if entry_addr is not None else []) == addrs


@FUZZ
@given(dump=text_dumps(), junk=st.text(max_size=30), where=st.integers(0, 12))
@example(dump=("hex", ["0x1"], [1], [0]), junk="0x10000000000000000", where=1)
@example(dump=("gdb", [], [], []), junk="0x1 <sym>:\t0x1234567890abcdef0", where=0)
@example(dump=("crash", [], [], []), junk="ffff8880:  0123456789abcdef 01234567", where=0)
@example(dump=("gdb", [], [], []), junk="0xfffffffffffffff8:\t0x1\t0x2", where=0)
@example(dump=("gdb", [], [], []), junk="0x10000000000000000:\t0x1", where=0)
@example(dump=("crash", [], [], []), junk="fffffffffffffff8:  %s %s" % ("0" * 16, "1" * 16),
         where=0)
def test_a_bad_line_is_named_by_file_and_number(
        tmpfiles: List[str], dump: Tuple[str, List[str], List[int], List[int]],
        junk: str, where: int) -> None:
    """One line of text inserted into a valid dump: the dump reads with that
    line's values, or the error names this very line (file:line: text)."""
    fmt, lines, _, _ = dump
    junk = junk.replace("\r", " ").replace("\n", " ").replace("\x0b", " ") \
        .replace("\x0c", " ").replace("\x1c", " ").replace("\x1d", " ") \
        .replace("\x1e", " ").replace("\x85", " ").replace("\u2028", " ") \
        .replace("\u2029", " ")
    where = min(where, len(lines))
    lines = lines[:where] + [junk] + lines[where:]
    path = _write("\n".join(lines).encode())
    tmpfiles.append(path)
    got = outcome(path, fmt)
    if isinstance(got, DumpFormatError):
        assert got.line == where + 1
        assert str(got).startswith("%s:%d: not " % (path, where + 1))
        assert repr(junk) in str(got)


@FUZZ
@given(values=st.lists(u64, max_size=40), offset=st.integers(0, 50),
       count=st.one_of(st.none(), st.integers(0, 50)), chunk=st.integers(1, 9),
       fmt=st.sampled_from(["raw", "hex", "npy"]))
def test_offset_count_and_chunk_size_slice_the_entries(
        tmpfiles: List[str], values: List[int], offset: int, count: Optional[int],
        chunk: int, fmt: str) -> None:
    arr = np.array(values, dtype=np.uint64)
    if fmt == "raw":
        data = arr.astype("<u8").tobytes()
    elif fmt == "hex":
        data = "".join("%#x\n" % v for v in values).encode()
    else:
        path = _write(b"", ".npy")
        np.save(path, arr)
        with open(path, "rb") as f:
            data = f.read()
        os.unlink(path)
    path = _write(data)
    tmpfiles.append(path)
    with no_hang():
        raw, _ = read_all(path, fmt, chunk_entries=chunk, offset=offset, count=count)
    end = None if count is None else offset + count
    assert raw.tolist() == values[offset:end]


# ----------------------------------------- the in-memory helpers, detection

@FUZZ
@given(data=st.binary(max_size=300))
def test_parse_raw_parse_hex_and_detect_format_take_any_bytes(data: bytes) -> None:
    with no_hang():
        assert dumps.detect_format(data, "x") in dumps.FORMATS
        try:
            raw = dumps.parse_raw(data)
            assert len(data) % 8 == 0 and raw.size == len(data) // 8
        except DumpFormatError as e:
            assert len(data) % 8 and e.path == "<input>"
        try:
            values = dumps.parse_hex(data)
            assert values.dtype == np.uint64
        except DumpFormatError as e:
            assert e.line is not None and str(e).startswith("<input>:%d: " % e.line)


@FUZZ
@given(data=st.binary(max_size=200), level=st.sampled_from(ptebits.LEVELS),
       profile=st.sampled_from(["linux-6.18", "linux-5.12-uffd-wp-v2"]),
       fmt=st.sampled_from(FORMATS))
def test_read_dump_decodes_whatever_the_reader_accepts(
        tmpfiles: List[str], data: bytes, level: str, profile: str, fmt: str) -> None:
    """read_dump on top of the readers: every accepted entry is decoded
    (pagemap files as pagemap words), nothing else escapes."""
    path = _write(data)
    tmpfiles.append(path)
    with no_hang():
        try:
            total = 0
            for chunk in ptebits.read_dump(path, fmt, profile=profile, level=level,
                                           chunk_entries=7):
                assert len(chunk.decoded.kind) == len(chunk) == chunk.raw.size
                assert chunk.va.shape == chunk.raw.shape
                total += len(chunk)
        except DumpFormatError:
            return
    assert total == outcome(path, fmt).size  # type: ignore[union-attr]


@pytest.mark.parametrize("fmt,line", [
    ("gdb", "0xfffffffffffffff8:\t0x1\t0x2"),           # the second entry at 2^64
    ("gdb", "0x10000000000000000 <x>:\t0x1"),           # a 65-bit address
    ("crash", "fffffffffffffff8:  %s %s" % ("0" * 16, "1" * 16)),
    ("crash", "10000000000000000:  %s" % ("0" * 16)),
])
def test_lines_whose_addresses_pass_2_to_the_64_are_bad_lines(
        tmpfiles: List[str], fmt: str, line: str) -> None:
    """Found by the fuzzing above: such lines used to escape as OverflowError."""
    path = _write(("%s\n" % line).encode())
    tmpfiles.append(path)
    with pytest.raises(DumpFormatError, match=r"^%s:1: not a %s" % (path, "gdb" if fmt == "gdb"
                                                                    else "crash")):
        read_all(path, fmt)
