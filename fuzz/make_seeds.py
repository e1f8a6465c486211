"""Write the seed corpus of fuzz_codec (fuzz/corpus/codec/): the worked
examples of the spec vectors (tests/data), one file per profile, the four
headline values on their own, a realistic page-table page and a tiled-mode
input.  Run from the repository root with ptebits installed:

    python fuzz/make_seeds.py

Input layout (fuzz/fuzz_common.h): byte 0 = kernel bit | mode << 1,
byte 1 = PB_CFG_* knob bits, then little-endian uint64 entries.
"""
from __future__ import annotations

import json
import os
import struct
from typing import Iterable

import ptebits
from ptebits.bench import make_page_table
from ptebits.profiles import KNOBS

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "tests", "data")
OUT = os.path.join(HERE, "corpus", "codec")

#: mode bits: kind (bits 0-3) and level (bits 4-6) of the array encoder
#: checks; 127 with a 3-byte tail adds the tiled large-array decode.
TILED = 127


def header(profile: str, mode: int = 0) -> bytes:
    prof = ptebits.get_profile(profile)
    config = sum(KNOBS[k][0] for k, on in prof.knobs.items() if on)
    return bytes([(1 if prof.is_6_18 else 0) | mode << 1, config])


def seed(name: str, profile: str, values: Iterable[int], mode: int = 0,
         tail: bytes = b"") -> None:
    body = b"".join(struct.pack("<Q", v) for v in values) + tail
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(header(profile, mode) + body)


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(DATA, "spec_vectors.json")) as f:
        spec = json.load(f)
    with open(os.path.join(DATA, "level_vectors.json")) as f:
        levels = json.load(f)
    by_profile: dict = {}
    for vec in spec["vectors"]:
        for prof in vec["profiles"]:
            by_profile.setdefault(prof, []).append(int(vec["raw"], 16))
    for vec in levels["decode"] + levels["encode"]:
        profs = vec["profiles"]
        for prof in (["linux-6.18", "linux-5.12-uffd-wp-v2"] if profs == "both" else profs):
            by_profile.setdefault(prof, []).append(int(vec["raw"], 16))
    for prof, values in sorted(by_profile.items()):
        # mode 0x11: the array encoder makes present entries at the pmd level
        seed("spec-%s.bin" % prof, prof, sorted(set(values)), mode=0x11)
    seed("marker-uffd-wp-6.18.bin", "linux-6.18", [0xfffffffffffffc00])
    seed("special-0x4-5.12.bin", "linux-5.12-uffd-wp-v2", [0x4])
    seed("present-uffd-wp-6.18.bin", "linux-6.18", [0x8000000012345425], mode=1)
    seed("migration-write-6.18.bin", "linux-6.18", [0xF7FFFFFFFDB97400], mode=4)
    seed("page-table-page-6.18.bin", "linux-6.18", make_page_table(512, seed=7).tolist(),
         mode=3)
    seed("tiled-6.18.bin", "linux-6.18",
         make_page_table(64, seed=11).tolist(), mode=TILED, tail=b"big")


if __name__ == "__main__":
    main()
