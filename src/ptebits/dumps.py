"""Dump readers: raw little-endian u64 files and hex text, as uint64 arrays.

Errors say where: a size that is not a multiple of 8 names the trailing
bytes; a bad text line names the file and line number.
"""
from __future__ import annotations

import os
import re
import sys
import warnings
from typing import BinaryIO, Optional, Tuple

import numpy as np

from .errors import DumpFormatError, FileError, InvalidValueError

__all__ = ["FORMATS", "read_bytes", "detect_format", "parse_raw", "parse_hex", "load_dump"]

FORMATS = ("raw", "hex")
_HEX_LINE = re.compile(r"^(?:0[xX])?([0-9a-fA-F]{1,16})$")


def read_bytes(path: str) -> bytes:
    """The whole input: a file path, or ``-`` for stdin."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise FileError("%s: no such file" % path) from None
    except IsADirectoryError:
        raise FileError("%s: is a directory, not a dump file" % path) from None
    except PermissionError:
        raise FileError("%s: permission denied" % path) from None
    except OSError as e:
        raise FileError("%s: cannot read: %s" % (path, e.strerror or e)) from None


def detect_format(data: bytes) -> str:
    """``hex`` when the data is UTF-8 text without NUL bytes, ``raw``
    otherwise.  Every real PTE has zero bytes (a PFN below 2^40 leaves bytes
    5 and 6 clear, a none PTE is all zeros), so a raw dump never passes for
    text; a text file that is not a clean hex dump is then reported line by
    line instead of being decoded as garbage.  Empty input is raw (zero
    entries)."""
    if not data:
        return "raw"
    head = data[:65536]
    if b"\0" in head:
        return "raw"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.start < len(head) - 3:          # not just a character cut at the end
            return "raw"
    return "hex"


def parse_raw(data: bytes, name: str = "<input>", *, allow_partial: bool = False) -> np.ndarray:
    """Little-endian u64 entries (a page-table page is 512 of them)."""
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
    """One hex value per line, ``0x`` optional; blank lines and ``#``
    comments (whole-line or trailing) are ignored."""
    values = []
    for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        m = _HEX_LINE.match(text)
        if not m:
            raise DumpFormatError("%s:%d: not a 64-bit hex value: %r" % (name, lineno, line.strip()),
                                  path=name, line=lineno)
        values.append(int(m.group(1), 16))
    return np.array(values, dtype=np.uint64)


def load_dump(path: str, fmt: str = "auto", *, allow_partial: bool = False
              ) -> Tuple[np.ndarray, str]:
    """The entries of a dump and the format used (``auto`` detects it)."""
    if fmt not in FORMATS + ("auto",):
        raise InvalidValueError("unknown dump format %r; formats: %s, auto"
                                % (fmt, ", ".join(FORMATS)))
    data = read_bytes(path)
    name = "<stdin>" if path == "-" else path
    chosen = detect_format(data) if fmt == "auto" else fmt
    if chosen == "hex":
        return parse_hex(data, name), chosen
    return parse_raw(data, name, allow_partial=allow_partial), chosen
