"""Dump readers: page-table dumps of any size as a stream of uint64 chunks.

Formats: ``raw`` (little-endian u64, a page-table page is 512 entries),
``npy``, ``hex`` (one value per line), ``gdb`` (``x/Ngx`` output), ``crash``
(``rd -64`` output) and ``pagemap`` (a /proc/PID/pagemap file: pagemap
words, not PTEs).  ``-`` is stdin; ``.gz`` and ``.xz`` inputs are
decompressed on the fly.  Binary inputs are read through one reused buffer,
so memory stays bounded whatever the file size.

Errors say where: a size that is not a multiple of 8 names the trailing
bytes; a bad text line names the file and line number.
"""
from __future__ import annotations

import gzip
import io
import lzma
import os
import re
import sys
import warnings
import zlib
from typing import IO, Any, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from .errors import DumpFormatError, FileError, InvalidTypeError, InvalidValueError

__all__ = ["FORMATS", "LEVELS", "CHUNK_ENTRIES", "DumpChunk", "DumpSource", "DecodedChunk",
           "open_dump", "read_dump", "va_of", "detect_format", "parse_raw", "parse_hex",
           "load_dump"]

FORMATS = ("raw", "npy", "hex", "gdb", "crash", "pagemap")
CHUNK_ENTRIES = 1 << 20          # 8 MiB of raw input per chunk
BINARY_FORMATS = ("raw", "npy", "pagemap")

_HEX_LINE = re.compile(r"^(?:0[xX])?([0-9a-fA-F]{1,16})$")
# gdb x/Ngx:   0xffff888012345000 <sym+16>:\t0x0000000000000000\t0x8000000012345067
_GDB_LINE = re.compile(r"^\s*0[xX]([0-9a-fA-F]+)(?:\s+<[^>]*>)?:\s*((?:0[xX][0-9a-fA-F]+\s*)+)$")
# crash rd -64:  ffff888012345000:  0000000000000000 8000000012345067   ........g.E.....
# one or two 16-digit values, then nothing or the ASCII column after 2+ spaces
_CRASH_LINE = re.compile(r"^\s*([0-9a-fA-F]+):\s+([0-9a-fA-F]{16}(?: [0-9a-fA-F]{16})?)"
                         r"(?:\s{2,}.*)?$")
_PROMPTS = ("(gdb)", "crash>")
_NPY_MAGIC = b"\x93NUMPY"
_GZIP_MAGIC = b"\x1f\x8b"
_XZ_MAGIC = b"\xfd7zXZ\x00"


class DumpChunk(NamedTuple):
    """A run of consecutive entries of a dump.

    ``start`` is the input index of ``raw[0]``; ``entry_addr`` holds the
    address each entry lives at when the dump says so (gdb, crash), else
    None.  Binary formats reuse one buffer: a chunk is valid until the next
    one is read, so copy what you keep.
    """
    start: int
    raw: np.ndarray
    entry_addr: Optional[np.ndarray]


# ------------------------------------------------------------- opening

def _open_binary(path: str) -> Tuple[IO[bytes], str]:
    if path == "-":
        return sys.stdin.buffer, "<stdin>"
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise FileError("%s: is a directory, not a dump file" % path) from None
    except PermissionError:
        raise FileError("%s: permission denied" % path) from None
    except OSError as e:
        raise FileError("%s: cannot read: %s" % (path, e.strerror or e)) from None
    if os.path.isdir(path):
        f.close()
        raise FileError("%s: is a directory, not a dump file" % path)
    return f, path


def _whole_number(value: Any, name: str, *, bits: int = 63) -> int:
    """An entry number, count or address argument: an integer 0 to 2^bits-1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise InvalidTypeError("%s must be an integer, got %r (%s)"
                               % (name, value, type(value).__name__))
    v = int(value)
    if v < 0 or v >> bits:
        raise InvalidValueError("%s=%d is %s" % (name, v, "negative" if v < 0 else
                                                 "too large (at most 2^%d-1)" % bits))
    return v


def _read_exact(f: IO[bytes], n: int) -> bytes:
    parts = []
    while n > 0:
        b = f.read(n)
        if not b:
            break
        parts.append(b)
        n -= len(b)
    return b"".join(parts)


class _Peekable(io.RawIOBase):
    """A stream with its first bytes read ahead (format detection on pipes)."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        readinto = getattr(self._rest, "readinto", None)
        if readinto is not None:            # no intermediate copy for big reads
            return readinto(view) or 0
        data = self._rest.read(len(view))
        view[:len(data)] = data
        return len(data)


class _Decompressed(io.RawIOBase):
    """A gzip or xz stream whose corrupt or truncated data raises
    DumpFormatError naming the file, not the codec's own exception."""

    ERRORS = (gzip.BadGzipFile, EOFError, lzma.LZMAError, zlib.error)

    def __init__(self, inner: IO[bytes], name: str, compression: str):
        self._inner = inner
        self._name = name
        self._compression = compression

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        try:
            return self._inner.readinto(b)  # type: ignore[attr-defined]
        except self.ERRORS as e:
            raise DumpFormatError("%s: corrupt or truncated %s data: %s"
                                  % (self._name, self._compression, e),
                                  path=self._name) from None

    def close(self) -> None:
        self._inner.close()
        super().close()


def detect_format(head: bytes, name: str = "") -> str:
    """The format of a dump from its first bytes (and its name for
    pagemap files, which look like any raw file).

    NUL-free UTF-8 text is one of the text formats, told apart by its first
    data line; every real raw dump holds zero bytes (a PFN below 2^40 leaves
    bytes 5 and 6 clear, a none PTE is all zeros).  Empty input is raw.
    """
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if b"\0" not in head and head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError as e:
            text = None if e.start < len(head) - 3 else head[:e.start].decode("utf-8")
        if text is not None:
            for line in text.splitlines():
                s = line.strip()
                if not s or s.startswith("#") or s.startswith(_PROMPTS):
                    continue
                if _GDB_LINE.match(s):
                    return "gdb"
                if _CRASH_LINE.match(s):
                    return "crash"
                return "hex"
            return "hex"
    if "pagemap" in os.path.basename(name):
        return "pagemap"
    return "raw"


class DumpSource:
    """An opened dump: ``format`` (chosen or given), ``detected`` (auto),
    ``compression`` (None, "gzip" or "xz") and ``entries`` (the entry count
    where known in advance, else None).  Iterate with :meth:`chunks`."""

    def __init__(self, path: str, fmt: str = "auto", *, allow_partial: bool = False):
        if fmt not in FORMATS + ("auto",):
            raise InvalidValueError("unknown dump format %r; formats: %s, auto"
                                    % (fmt, ", ".join(FORMATS)))
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str):     # open() would take an int as a file descriptor
            raise InvalidTypeError("path must be a file name (str or os.PathLike) or '-' for "
                                   "stdin, got %r (%s)" % (path, type(path).__name__))
        self.path = path
        raw_f, self.name = _open_binary(path)
        self._closers: List[IO[bytes]] = [raw_f]
        self.allow_partial = allow_partial
        head = _read_exact(raw_f, 8)
        self.compression: Optional[str] = None
        stream: IO[bytes] = _Peekable(head, raw_f)  # type: ignore[assignment]
        if head.startswith(_GZIP_MAGIC) or head.startswith(_XZ_MAGIC[:6]):
            self.compression = "gzip" if head.startswith(_GZIP_MAGIC) else "xz"
            inner_raw = io.BufferedReader(stream)  # type: ignore[arg-type]
            codec = (gzip.GzipFile(fileobj=inner_raw) if self.compression == "gzip"
                     else lzma.LZMAFile(inner_raw))
            stream = _Decompressed(codec, self.name, self.compression)  # type: ignore
            self._closers.append(stream)
        ahead = _read_exact(stream, 65536)
        self._stream: IO[bytes] = io.BufferedReader(_Peekable(ahead, stream),  # type: ignore
                                                    buffer_size=1 << 16)
        inner = self.name[:-3] if self.compression == "gzip" and self.name.endswith(".gz") else \
            self.name[:-3] if self.compression == "xz" and self.name.endswith(".xz") else self.name
        self.detected = fmt == "auto"
        self.format = detect_format(ahead, inner) if fmt == "auto" else fmt
        self.entries: Optional[int] = None
        self._npy_dtype: Optional[np.dtype] = None
        if self.format == "npy":
            self._read_npy_header()
        elif self.format in ("raw", "pagemap") and self.compression is None and path != "-":
            size = os.fstat(raw_f.fileno()).st_size
            if size % 8:
                if not allow_partial:
                    raise self._torn(size)
                self._end_partial(size)      # warns now: the tail is never read
            self.entries = size // 8

    def _torn(self, size: int) -> DumpFormatError:
        tail = size % 8
        return DumpFormatError("%s: size %d bytes is not a multiple of 8: %d trailing byte%s "
                               "after %d complete entries (--allow-partial decodes those)"
                               % (self.name, size, tail, "s" if tail > 1 else "", size // 8),
                               path=self.name)

    def _read_npy_header(self) -> None:
        f = self._stream
        try:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        except ValueError as e:
            raise DumpFormatError("%s: not a readable .npy file: %s" % (self.name, e),
                                  path=self.name) from None
        if dtype.kind not in "iu" or dtype.itemsize != 8:
            raise DumpFormatError("%s: .npy dtype %s is not a 64-bit integer; page-table "
                                  "dumps are uint64" % (self.name, dtype.str), path=self.name)
        if fortran and len(shape) > 1:
            raise DumpFormatError("%s: Fortran-ordered %s array; save it in C order"
                                  % (self.name, shape), path=self.name)
        self._npy_dtype = dtype
        self.entries = int(np.prod(shape, dtype=np.int64))

    def close(self) -> None:
        for f in reversed(self._closers):
            if f is not sys.stdin.buffer:
                try:
                    f.close()
                except OSError:
                    pass

    def __enter__(self) -> "DumpSource":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------- chunks

    def chunks(self, offset: int = 0, count: Optional[int] = None,
               chunk_entries: int = CHUNK_ENTRIES) -> Iterator[DumpChunk]:
        """The entries from ``offset`` (in entries), at most ``count``."""
        offset = _whole_number(offset, "offset")
        count = None if count is None else _whole_number(count, "count")
        if _whole_number(chunk_entries, "chunk_entries", bits=32) < 1:
            raise InvalidValueError("chunk_entries must be >= 1")
        if self.format in BINARY_FORMATS:
            return self._binary_chunks(offset, count, chunk_entries)
        return self._text_chunks(offset, count, chunk_entries)

    def _binary_chunks(self, offset: int, count: Optional[int],
                       chunk_entries: int) -> Iterator[DumpChunk]:
        f = self._stream
        limit = self.entries                 # known for plain files and .npy
        skip = offset * 8
        while skip > 0:                      # pipes and compressed streams cannot seek
            n = len(f.read(min(skip, 1 << 20)))
            if not n:
                break
            skip -= n
        buf = bytearray(chunk_entries * 8)
        view = memoryview(buf)
        dtype = self._npy_dtype if self._npy_dtype is not None else np.dtype("<u8")
        start = offset
        remaining = count
        while remaining is None or remaining > 0:
            want = chunk_entries if remaining is None else min(chunk_entries, remaining)
            if limit is not None:
                want = min(want, max(0, limit - start))
            if want <= 0:
                break
            got = 0
            while got < want * 8:
                n = f.readinto(view[got:want * 8])  # type: ignore[attr-defined]
                if not n:
                    break
                got += n
            whole = got // 8
            tail = got % 8                   # only at the end of the input
            if whole:
                arr = np.frombuffer(buf, dtype=dtype, count=whole)
                if dtype != np.dtype(np.uint64):
                    # int64 or big-endian .npy: same bits, native uint64
                    arr = arr.astype(dtype.newbyteorder("<"), copy=False).view(np.uint64)
                yield DumpChunk(start, arr, None)
                start += whole
                if remaining is not None:
                    remaining -= whole
            if tail:
                self._end_partial(start * 8 + tail)
                return
            if got < want * 8:
                break
        if self.format == "npy" and self.entries is not None and count is None \
                and start < self.entries:
            raise DumpFormatError("%s: .npy data ends after %d of its %d entries"
                                  % (self.name, start, self.entries), path=self.name)

    def _end_partial(self, size: int) -> None:
        if not self.allow_partial:
            raise self._torn(size)
        tail = size % 8
        warnings.warn("%s: ignoring %d trailing byte%s after %d complete entries"
                      % (self.name, tail, "s" if tail > 1 else "", size // 8), stacklevel=3)

    def _text_chunks(self, offset: int, count: Optional[int],
                     chunk_entries: int) -> Iterator[DumpChunk]:
        fmt = self.format
        # undecodable bytes become U+FFFD, so a binary file given as text
        # fails on its first line with that line shown
        text = io.TextIOWrapper(self._stream, encoding="utf-8", errors="replace")  # type: ignore
        values: List[int] = []
        addrs: List[int] = []
        index = 0                            # entries seen, before offset/count
        start = offset
        emitted = 0
        for lineno, line in enumerate(text, 1):
            got = self._parse_line(fmt, line, lineno)
            if not got:
                continue
            for addr, value in got:
                if index >= offset and (count is None or emitted < count):
                    values.append(value)
                    addrs.append(addr)
                    emitted += 1
                index += 1
            if len(values) >= chunk_entries:
                yield self._text_chunk(start, values, addrs, fmt)
                start += len(values)
                values, addrs = [], []
            if count is not None and emitted >= count:
                break
        if values:
            yield self._text_chunk(start, values, addrs, fmt)

    @staticmethod
    def _text_chunk(start: int, values: List[int], addrs: List[int], fmt: str) -> DumpChunk:
        raw = np.array(values, dtype=np.uint64)
        addr = np.array(addrs, dtype=np.uint64) if fmt in ("gdb", "crash") else None
        return DumpChunk(start, raw, addr)

    def _parse_line(self, fmt: str, line: str, lineno: int) -> List[Tuple[int, int]]:
        s = line.split("#", 1)[0].strip() if fmt == "hex" else line.strip()
        if not s or s.startswith("#") or s.startswith(_PROMPTS):
            return []
        if fmt == "hex":
            m = _HEX_LINE.match(s)
            if m:
                return [(0, int(m.group(1), 16))]
        elif fmt == "gdb":
            m = _GDB_LINE.match(s)
            if m:
                base = int(m.group(1), 16)
                words = m.group(2).split()
                # 64-bit values at 64-bit addresses (the last one included)
                if all(len(w) <= 18 for w in words) and (base + 8 * len(words) - 8) >> 64 == 0:
                    return [(base + 8 * k, int(w, 16)) for k, w in enumerate(words)]
        else:
            m = _CRASH_LINE.match(s)
            if m:
                base = int(m.group(1), 16)
                words = m.group(2).split()
                if (base + 8 * len(words) - 8) >> 64 == 0:
                    return [(base + 8 * k, int(w, 16)) for k, w in enumerate(words)]
        what = {"hex": "a 64-bit hex value", "gdb": "a gdb x/Ngx line (0xADDR: 0x... 0x...)",
                "crash": "a crash rd -64 line (ADDR:  VALUE VALUE)"}[fmt]
        raise DumpFormatError("%s:%d: not %s: %r" % (self.name, lineno, what, line.rstrip("\n")),
                              path=self.name, line=lineno)


def open_dump(path: str, fmt: str = "auto", *, allow_partial: bool = False) -> DumpSource:
    """Open a dump for streaming (see :class:`DumpSource`)."""
    return DumpSource(path, fmt, allow_partial=allow_partial)


# ---------------------------------------------------- whole-input helpers

def parse_raw(data: bytes, name: str = "<input>", *, allow_partial: bool = False) -> np.ndarray:
    """Little-endian u64 entries of an in-memory raw dump."""
    tail = len(data) % 8
    if tail and not allow_partial:
        raise DumpFormatError("%s: size %d bytes is not a multiple of 8: %d trailing byte%s "
                              "after %d complete entries" % (name, len(data), tail,
                                                             "s" if tail > 1 else "",
                                                             len(data) // 8), path=name)
    if tail:
        warnings.warn("%s: ignoring %d trailing byte%s after %d complete entries"
                      % (name, tail, "s" if tail > 1 else "", len(data) // 8), stacklevel=2)
    return np.frombuffer(data, dtype="<u8", count=len(data) // 8).astype(np.uint64, copy=False)


def parse_hex(data: bytes, name: str = "<input>") -> np.ndarray:
    """One hex value per line (``0x`` optional; blank lines and ``#``
    comments ignored) of an in-memory text dump."""
    src = DumpSource.__new__(DumpSource)
    src.name = name
    values = []
    for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        values += [v for _, v in src._parse_line("hex", line, lineno)]
    return np.array(values, dtype=np.uint64)


def load_dump(path: str, fmt: str = "auto", *, allow_partial: bool = False,
              offset: int = 0, count: Optional[int] = None) -> Tuple[np.ndarray, str]:
    """A whole dump in memory (small dumps) and the format used."""
    with open_dump(path, fmt, allow_partial=allow_partial) as src:
        parts = [c.raw.copy() for c in src.chunks(offset, count)]
        raw = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
        return raw, src.format


# ------------------------------------------------------------ decoding

#: log2 of the bytes one entry maps, per level (4-level paging; with la57
#: a PGD entry maps 2^48 bytes and addresses are 57 bits wide).
LEVEL_SHIFT = {"pte": 12, "pmd": 21, "pud": 30, "p4d": 39, "pgd": 39}
LEVELS = tuple(LEVEL_SHIFT)


def va_of(index: np.ndarray, level: str, base_va: int, la57: bool) -> np.ndarray:
    """The canonical virtual address each entry maps: base_va plus the entry
    number times the level's span, sign-extended from bit 47 (bit 56 with
    5-level paging)."""
    shift = LEVEL_SHIFT[level] + (9 if level == "pgd" and la57 else 0)
    bits = 57 if la57 else 48
    va = (np.uint64(base_va) + (index.astype(np.uint64) << np.uint64(shift)))
    va &= np.uint64((1 << bits) - 1)
    sign = (va >> np.uint64(bits - 1)) & np.uint64(1)
    return va | (sign * np.uint64(((1 << 64) - 1) ^ ((1 << bits) - 1)))


class DecodedChunk:
    """A chunk of a dump with its decoded columns: ``start``, ``raw``,
    ``entry_addr`` (or None), ``decoded`` (:class:`ptebits.Decoded`, or
    :class:`ptebits.PagemapDecoded` for pagemap dumps), ``index`` and
    ``va`` (computed on demand)."""

    __slots__ = ("start", "raw", "entry_addr", "decoded", "level", "base_va", "la57")

    def __init__(self, chunk: DumpChunk, decoded: Any, level: str, base_va: int, la57: bool):
        self.start, self.raw, self.entry_addr = chunk
        self.decoded = decoded
        self.level = level
        self.base_va = base_va
        self.la57 = la57

    def __len__(self) -> int:
        return int(self.raw.size)

    @property
    def index(self) -> np.ndarray:
        return np.arange(self.start, self.start + self.raw.size, dtype=np.uint64)

    @property
    def va(self) -> np.ndarray:
        level = "pte" if self.level == "pagemap" else self.level
        return va_of(self.index, level, self.base_va, self.la57)


def read_dump(path: str, fmt: str = "auto", *, profile: Any = None, level: str = "pte",
              offset: int = 0, count: Optional[int] = None, base_va: int = 0,
              chunk_entries: int = CHUNK_ENTRIES, allow_partial: bool = False,
              source: Optional[DumpSource] = None) -> Iterator[DecodedChunk]:
    """Decode a dump of any size chunk by chunk, in bounded memory.

    Yields :class:`DecodedChunk` objects; the raw buffer and the decoded
    columns are reused from one chunk to the next, so copy what you keep.
    A ``pagemap`` dump yields pagemap-decoded chunks.
    """
    from .codec import decode, level_name
    from .pagemap import decode_pagemap
    from .profiles import get_profile

    prof = get_profile(profile)
    level = level_name(level)
    base_va = _whole_number(base_va, "base_va", bits=64)
    src = source or open_dump(path, fmt, allow_partial=allow_partial)
    la57 = bool(prof.knobs.get("la57"))
    try:
        out = None
        for chunk in src.chunks(offset, count, chunk_entries):
            if src.format == "pagemap":
                yield DecodedChunk(chunk, decode_pagemap(chunk.raw, profile=prof), "pagemap",
                                   base_va, la57)
                continue
            if out is not None and out.kind.shape != chunk.raw.shape:
                out = None
            kwargs = {} if level == "pte" else {"level": level}
            out = decode(chunk.raw, profile=prof, out=out, **kwargs)
            yield DecodedChunk(chunk, out, level, base_va, la57)
    finally:
        if source is None:
            src.close()
