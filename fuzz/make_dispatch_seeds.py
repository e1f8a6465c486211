"""Write the seed corpus of fuzz_dispatch (fuzz/corpus/dispatch/): the uffd-wp
life cycle of the spec and the live findings as op sequences over shmem,
private memfd, shared anonymous and anonymous VMAs, in both profiles, plus
one input whose PTEs are raw values.  Run from anywhere:

    python fuzz/make_dispatch_seeds.py

Input layout: fuzz/fuzz_dispatch.c (byte 0 = kernel bit | raw-PTE mode << 1,
byte 1 = PB_CFG_* knob bits, then little-endian uint64 entries).
"""
from __future__ import annotations

import os
import struct
from typing import List, Tuple

import ptebits
from ptebits._core import lib
from ptebits.profiles import KNOBS

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "dispatch")

RW = lib.PB_VMA_READ | lib.PB_VMA_WRITE
KINDS = {"anon": lib.PB_VMA_ANON | RW, "shmem": lib.PB_VMA_SHARED | RW,
         "shmem_private": RW, "shared_anon": lib.PB_VMA_SHARED | RW}
WP = lib.PB_VMA_UFFD_WP
ALL = lib.PB_RESOLVE_WP | lib.PB_RESOLVE_MISSING | lib.PB_RESOLVE_MINOR


def layout(npages: int, nvmas: int = 1, swap_type: int = 0) -> int:
    # 16-page fault-around (k=4), 512-entry page tables (k=7), PFNs from 0x12345
    return ((npages - 1) | (nvmas - 1) << 6 | 4 << 9 | 7 << 12 | swap_type << 16
            | 0x12344 << 21 | 0x776 << 41)


def vma(npages: int, flags: int, gap: int = 0, obj: int = 0) -> int:
    return (npages - 1) | gap << 4 | flags << 8 | obj << 20


def obj(size: int, cache: List[int]) -> List[int]:
    return [size | (len(cache) - size - 1) << 5] + cache


def fault(pages: List[Tuple[int, int]], resolve: int = 0) -> int:
    e = (len(pages) - 1) << 4 | resolve << 7 | 1 << 12 | 1 << 13 | 3 << 62  # retry, trace
    for i, (page, write) in enumerate(pages):
        e |= (page | write << 5) << (14 + 6 * i)
    return e


def other(op: int, first: int = 0, count: int = 1, arg: int = 0) -> int:
    return op | first << 8 | count << 16 | arg << 24


WRITEPROTECT, ZAP, SWAP_OUT, MPROTECT, NUMA, COPY, CONTINUE, PAGEMAP, EOF = range(4, 13)


def header(profile: str, raw: bool = False) -> bytes:
    prof = ptebits.get_profile(profile)
    config = sum(KNOBS[k][0] for k, on in prof.knobs.items() if on)
    return bytes([(1 if prof.is_6_18 else 0) | int(raw) << 1, config])


def write_seed(name: str, profile: str, entries: List[int], raw: bool = False) -> None:
    body = b"".join(struct.pack("<Q", e & (2**64 - 1)) for e in entries)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(header(profile, raw) + body)


def life_cycle(kind: str) -> List[int]:
    """write 0-1, wp 0, zap by DONTNEED, read back, write (one WP), swap out,
    read, write with resolve, NUMA hint, mprotect r and back, pagemap."""
    cache = [] if kind == "anon" else [0, 0, 0, 0]
    return ([layout(4), vma(4, KINDS[kind] | WP)] + obj(4, cache or [0]) +
            [fault([(0, 1), (1, 1)]), other(WRITEPROTECT, 0, 2, 1), other(ZAP, 0, 2, 0),
             fault([(0, 0), (1, 0)]), fault([(0, 1)]), fault([(0, 1)], lib.PB_RESOLVE_WP),
             other(WRITEPROTECT, 0, 4, 1), other(SWAP_OUT, 0, 4), fault([(0, 0), (2, 1)], ALL),
             other(NUMA, 0, 4), fault([(1, 0)]), other(MPROTECT, 0, 1, 1),
             fault([(0, 1)]), other(MPROTECT, 0, 1, 3), fault([(0, 1)], ALL),
             other(EOF, 0, 0) | 1 << 32, fault([(2, 0), (3, 1)]), other(ZAP, 0, 4, 2),
             other(PAGEMAP, 0, 4), other(ZAP, 0, 4, 3)])


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    for profile, tag in (("linux-6.18", "6.18"), ("linux-5.12-uffd-wp-v2", "v2")):
        for kind in KINDS:
            write_seed("life-cycle-%s-%s.bin" % (kind, tag), profile, life_cycle(kind))
        # MISSING|WP and MINOR|WP shmem next to an anon VMA, COPY/CONTINUE by hand
        two = ([layout(8, 2), vma(4, KINDS["shmem"] | WP | lib.PB_VMA_UFFD_MINOR),
                vma(3, KINDS["anon"] | WP | lib.PB_VMA_UFFD_MISSING, gap=1)] +
               obj(4, [0x2000, 0, 0, 0]) +
               [fault([(0, 0), (1, 1), (5, 1), (6, 0)]), other(CONTINUE, 0, 0, 1),
                other(COPY, 5, 0, 1), other(COPY, 6, 0, 0),
                fault([(0, 1), (5, 1), (6, 1)], ALL | lib.PB_RESOLVE_COPY_WP)])
        write_seed("missing-minor-%s.bin" % tag, profile, two)
    # raw PTEs: the headline values of every kind over a shmem VMA
    raw = ([layout(8), vma(8, KINDS["shmem"] | WP)] + obj(8, [0] * 8) +
           [0x8000000012345425, 0xFFFFFFFFFFFFFC00, 0x4, 0x4200000000000020,
            0xFFFFFFFFFFFFF600, 0x0000000000000120, 0xFFFFFFFFFFFFFFFF, 0] +
           [fault([(i, i & 1) for i in range(8)], ALL), other(WRITEPROTECT, 0, 8, 1),
            other(ZAP, 0, 8, 0), other(SWAP_OUT, 0, 8), fault([(i, 1) for i in range(8)])])
    write_seed("raw-ptes-6.18.bin", "linux-6.18", raw, raw=True)
    write_seed("raw-ptes-v2.bin", "linux-5.12-uffd-wp-v2", raw, raw=True)


if __name__ == "__main__":
    main()
