"""Dumps with known contents in every format ``ptebits decode`` reads
(issue 5): raw little-endian u64, ``.npy`` (uint64, int64, either byte
order, any shape), hex text, gdb ``x/Ngx`` output, crash ``rd -64``
output and /proc/PID/pagemap files; plain, gzip or xz.

The text layouts are the tools' own: gdb prints two giant words a line,
``0xADDR <sym+off>:`` then tab-separated ``0x%016lx`` values, after the
``(gdb) x/Ngx ...`` prompt line; crash prints ``ADDR:  %016lx %016lx``
then three spaces and the 16 bytes as ASCII (``.`` for the unprintable),
after the ``crash> rd -64 ADDR N`` prompt line.  Used by test_dumps.py and
test_cli_dumps.py; not a test module.
"""
from __future__ import annotations

import gzip
import io
import lzma
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

import ptebits
from ptebits.bench import make_page_table

#: One entry of each interesting shape (kernel-facts worked examples), then
#: a realistic synthetic page table: 1536 entries, three PTE pages.
SHAPES = [0x0, 0x8000000012345027, 0xFFFFFFFFFFFFFC00, 0x0FFFFFFFFFDB9604, 0x20,
          0xF7FFE7FFFDB97400, 0x000FFFFFEDCBA120, 0x4, 0x8400000012345425,
          0xFFFFFFFFFFFFFE00, 0xFFFFFFFFFFFFFFFF]
N = 1536
VALUES = np.concatenate([np.array(SHAPES, dtype=np.uint64),
                         make_page_table(N - len(SHAPES), seed=5)])
assert VALUES.size == N and VALUES.dtype == np.uint64
#: What pagemap reports for those PTEs (anonymous, exclusive pages).
PAGEMAP = ptebits.pte_to_pagemap(VALUES[len(SHAPES):], file=False, exclusive=True)
PAGEMAP = np.concatenate([np.array([0x420000000000003F, 0x0, 0x8100000000012345],
                                   dtype=np.uint64), PAGEMAP])[:N]
#: Where gdb and crash say the first entry lives.
ENTRY_BASE = 0xFFFF888012345000
SYMBOL_BASE = 0xFFFFFFFF82A01000


def raw_bytes(values: Any) -> bytes:
    return np.asarray(values, dtype=np.uint64).astype("<u8").tobytes()


def npy_bytes(values: Any, dtype: str = "<u8", shape: Optional[Tuple[int, ...]] = None) -> bytes:
    """``np.save`` of the values' bits as ``dtype`` (int64 keeps the bits)."""
    arr = np.asarray(values, dtype=np.uint64).view(np.int64 if "i" in dtype else np.uint64)
    arr = arr.astype(dtype)
    if shape is not None:
        arr = arr.reshape(shape)
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def hex_text(values: Sequence[int]) -> str:
    """One value a line, in the spellings README allows: 0x or not, upper or
    lower case, blank lines, # comments of their own and after a value."""
    lines = ["# %d page-table entries" % len(values), ""]
    for i, v in enumerate(values):
        v = int(v)
        spelling = ("0x%016x" % v, "%x" % v, "0X%X" % v, "  0x%x\t" % v)[i % 4]
        if i % 97 == 5:
            lines.append("# comment before entry %d" % i)
        if i % 50 == 7:
            lines.append("")
        lines.append(spelling + ("   # entry %d" % i if i % 31 == 3 else ""))
    return "\n".join(lines) + "\n"


def gdb_text(values: Sequence[int], base: int = ENTRY_BASE, symbol: Optional[str] = None,
             prompt: bool = True) -> str:
    """``(gdb) x/Ngx ADDR`` output: two giant words a line, the address (and
    ``<symbol+offset>`` when gdb knows one), a colon, tab-separated values."""
    lines = []
    if prompt:
        lines.append("(gdb) x/%dgx %s" % (len(values), "&" + symbol if symbol else "%#x" % base))
    for off in range(0, len(values), 2):
        addr = base + 8 * off
        where = "%#x" % addr
        if symbol:
            where += " <%s>" % symbol if off == 0 else " <%s+%d>" % (symbol, 8 * off)
        words = "\t".join("0x%016x" % int(v) for v in values[off:off + 2])
        lines.append("%s:\t%s" % (where, words))
    if prompt:
        lines.append("(gdb) ")
    return "\n".join(lines) + "\n"


def _ascii(value: int) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in value.to_bytes(8, "little"))


def crash_text(values: Sequence[int], base: int = ENTRY_BASE, prompt: bool = True) -> str:
    """``crash> rd -64 ADDR N`` output: the address, a colon, two spaces, two
    16-digit values, three spaces and the 16 bytes as ASCII (a short last
    line is padded so the ASCII column lines up)."""
    lines = []
    if prompt:
        lines.append("crash> rd -64 %x %d" % (base, len(values)))
    for off in range(0, len(values), 2):
        pair = [int(v) for v in values[off:off + 2]]
        cells = " ".join("%016x" % v for v in pair).ljust(33)
        lines.append("%x:  %s   %s" % (base + 8 * off, cells, "".join(_ascii(v) for v in pair)))
    if prompt:
        lines.append("crash> ")
    return "\n".join(lines) + "\n"


def compress(data: bytes, comp: Optional[str]) -> bytes:
    if comp == "gz":
        return gzip.compress(data)
    if comp == "xz":
        return lzma.compress(data)
    assert comp is None
    return data


#: case id -> (format ptebits should detect, file suffix, builder of the
#: bytes from the values, entry_addr of entry 0 or None)
FORMAT_CASES = {
    "raw": ("raw", ".bin", raw_bytes, None),
    "npy-u8": ("npy", ".npy", lambda v: npy_bytes(v, "<u8"), None),
    "npy-i8": ("npy", ".npy", lambda v: npy_bytes(v, "<i8"), None),
    "npy-big-endian-u8": ("npy", ".npy", lambda v: npy_bytes(v, ">u8"), None),
    "npy-big-endian-i8": ("npy", ".npy", lambda v: npy_bytes(v, ">i8"), None),
    "npy-2d": ("npy", ".npy", lambda v: npy_bytes(v, "<u8", (len(v) // 512, 512)), None),
    "hex": ("hex", ".txt", lambda v: hex_text(v).encode(), None),
    "gdb": ("gdb", ".gdb", lambda v: gdb_text(v).encode(), ENTRY_BASE),
    "gdb-symbol": ("gdb", ".gdb", lambda v: gdb_text(v, SYMBOL_BASE, "init_top_pgt").encode(),
                   SYMBOL_BASE),
    "crash": ("crash", ".crash", lambda v: crash_text(v).encode(), ENTRY_BASE),
    "pagemap": ("pagemap", ".pagemap", raw_bytes, None),
}


def values_for(case: str) -> np.ndarray:
    """The entries a case's dump holds (pagemap words for pagemap)."""
    return PAGEMAP if FORMAT_CASES[case][0] == "pagemap" else VALUES


def dump_bytes(case: str, comp: Optional[str] = None,
               values: Optional[np.ndarray] = None) -> bytes:
    vals = values_for(case) if values is None else values
    return compress(FORMAT_CASES[case][2](vals), comp)


def write_dump(directory: Any, case: str, comp: Optional[str] = None,
               values: Optional[np.ndarray] = None, stem: str = "dump") -> str:
    """Write a case's dump under ``directory``; its path."""
    suffix = FORMAT_CASES[case][1] + ("." + comp if comp else "")
    path = os.path.join(str(directory), stem + suffix)
    with open(path, "wb") as f:
        f.write(dump_bytes(case, comp, values))
    return path


def entry_addrs(case: str, n: int, start: int = 0) -> Optional[List[int]]:
    base = FORMAT_CASES[case][3]
    return None if base is None else [base + 8 * i for i in range(start, start + n)]


def canonical_va(va: int, bits: int = 48) -> int:
    """Sign-extend an address from bit ``bits - 1`` (a canonical address)."""
    va &= (1 << bits) - 1
    return va | (((1 << 64) - 1) ^ ((1 << bits) - 1)) if va >> (bits - 1) else va


LEVEL_SPAN = {"pte": 1 << 12, "pmd": 1 << 21, "pud": 1 << 30, "p4d": 1 << 39, "pgd": 1 << 39}


def expected_va(index: int, base_va: int = 0, level: str = "pte") -> int:
    """base-va + index x the level's span, sign-extended (4-level paging)."""
    return canonical_va(base_va + index * LEVEL_SPAN[level])


def pfn_runs_reference(kinds: Sequence[int], pfns: Sequence[int]) -> List[int]:
    """Lengths of the runs of contiguous PFNs in entry order, plain Python:
    an entry continues a run when it and the one before both map a PFN
    (present, protnone, migration, device, hwpoison) and its PFN is one
    more."""
    has_pfn = {int(ptebits.Kind[k.upper()]) for k in
               ("present", "protnone", "migration", "device", "hwpoison")}
    runs: List[int] = []
    current = 0
    last: Optional[int] = None
    for k, p in zip(kinds, pfns):
        if k in has_pfn:
            if current and last is not None and p == last + 1:
                current += 1
            else:
                if current:
                    runs.append(current)
                current = 1
            last = p
        else:
            if current:
                runs.append(current)
            current, last = 0, None
    if current:
        runs.append(current)
    return runs


RUN_BUCKETS = (("1", 1, 1), ("2-15", 2, 15), ("16-511", 16, 511), ("512+", 512, None))


def run_buckets(runs: Sequence[int]) -> dict:
    return {name: sum(1 for r in runs if r >= lo and (hi is None or r <= hi))
            for name, lo, hi in RUN_BUCKETS}
