"""The /proc/PID/pagemap codec: decode pagemap words, and compute the word
the kernel reports for a PTE (``pte_to_pagemap_entry``, fs/proc/task_mmu.c).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._core import lib
from ._parallel import check_threads
from .codec import Kind, ProfileLike, _profile, _raw_input
from .errors import FieldRangeError, InvalidTypeError

__all__ = ["PagemapDecoded", "decode_pagemap", "pte_to_pagemap", "pagemap_rows", "pagemap_row_text", "PM_BITS"]

#: pagemap flag bits by name (bit numbers from ptebits.h).
PM_BITS: Dict[str, int] = {
    "soft_dirty": lib.PB_PM_BIT_SOFT_DIRTY,
    "exclusive": lib.PB_PM_BIT_MMAP_EXCLUSIVE,
    "uffd_wp": lib.PB_PM_BIT_UFFD_WP,
    "guard": lib.PB_PM_BIT_GUARD_REGION,
    "file": lib.PB_PM_BIT_FILE,
    "swap": lib.PB_PM_BIT_SWAP,
    "present": lib.PB_PM_BIT_PRESENT,
}

_COLUMNS: Tuple[Tuple[str, Any], ...] = (
    ("kind", np.uint8), ("pfn", np.uint64), ("pm_flags", np.uint16),
    ("swp_type", np.uint8), ("swp_offset", np.uint64), ("aux", np.uint16))


class PagemapDecoded:
    """Decoded pagemap words.  ``kind`` is what the entry is, as far as
    pagemap tells: present, none, or for swapped entries the profile's
    meaning of the swap type (swap slot, migration, device, hwpoison,
    marker).  ``pm_flags`` holds bits 55-63 shifted down by 55; views such
    as ``d.present``, ``d.swap``, ``d.uffd_wp``, ``d.guard`` are derived."""

    __slots__ = ("profile", "raw") + tuple(n for n, _ in _COLUMNS)

    def __init__(self, profile: Any, raw: np.ndarray, cols: Any):
        self.profile = profile
        self.raw = raw
        for (name, _), col in zip(_COLUMNS, cols):
            setattr(self, name, col)

    def __len__(self) -> int:
        return len(self.kind)

    def __getattr__(self, name: str) -> np.ndarray:
        if name in PM_BITS:
            bit = PM_BITS[name] - lib.PB_PM_FLAGS_SHIFT
            return (self.pm_flags >> np.uint16(bit)) & np.uint16(1) != 0
        if name == "marker":
            return (self.aux >> np.uint16(lib.PB_AUX_MARKER_SHIFT)) & np.uint16(
                lib.PB_PTE_MARKER_MASK)
        raise AttributeError("PagemapDecoded has no field %r" % name)

    def counts(self) -> Dict[str, int]:
        hist = np.bincount(self.kind.ravel(), minlength=lib.PB_KIND_COUNT)
        return {str(Kind(k)): int(hist[k]) for k in range(lib.PB_KIND_COUNT)}


def decode_pagemap(words: Any, *, profile: ProfileLike = None,
                   threads: Optional[int] = None) -> PagemapDecoded:
    """Decode /proc/PID/pagemap words (uint64 array) under a profile.
    ``threads`` as for :func:`ptebits.decode` (the result never depends on it)."""
    threads = check_threads(threads)
    prof = _profile(profile)
    arr = _raw_input(words, "words")
    cols = [_core.empty_aligned(arr.shape, dt) for _, dt in _COLUMNS]
    _core.decode_pagemap(prof.handle, arr, cols, threads)
    return PagemapDecoded(prof, arr, cols)


def pte_to_pagemap(raw: Any, *, file: Any = False, exclusive: Any = False,
                   show_pfn: bool = True, vma_soft_dirty: bool = False,
                   profile: ProfileLike = None, threads: Optional[int] = None) -> Any:
    """The pagemap word the kernel reports for each PTE.

    ``file`` (the page is not anonymous) and ``exclusive`` (mapped once) are
    facts about the page behind the entry, scalars or arrays; ``show_pfn``
    is whether the reader had CAP_SYS_ADMIN (else frames read as 0).
    ``threads`` as for :func:`ptebits.decode` (the result never depends on it).
    """
    threads = check_threads(threads)
    prof = _profile(profile)
    show_pfn = _core.as_flag(show_pfn, "show_pfn")
    vma_soft_dirty = _core.as_flag(vma_soft_dirty, "vma_soft_dirty")
    if vma_soft_dirty and not prof.mask("soft_dirty"):
        raise FieldRangeError("pte_to_pagemap: vma_soft_dirty=True cannot happen under %s: "
                              "VM_SOFTDIRTY is 0 without CONFIG_MEM_SOFT_DIRTY" % prof.name,
                              field="vma_soft_dirty", value=True)
    scalar = isinstance(raw, (int, np.integer))
    arr = _core.as_u64_input(raw, "raw") if not isinstance(raw, np.ndarray) else _raw_input(raw)
    flat = np.ascontiguousarray(arr.reshape(-1))
    facts = (_core.as_u64_input(file, "file", limit_bits=1) * np.uint64(lib.PB_PMIN_FILE)
             | _core.as_u64_input(exclusive, "exclusive", limit_bits=1)
             * np.uint64(lib.PB_PMIN_EXCLUSIVE))
    fixed = (lib.PB_PMIN_SHOW_PFN if show_pfn else 0) | \
            (lib.PB_PMIN_VMA_SOFTDIRTY if vma_soft_dirty else 0)
    try:
        facts8 = np.ascontiguousarray(np.broadcast_to(facts | np.uint64(fixed), arr.shape),
                                      dtype=np.uint8).reshape(-1)
    except ValueError:
        raise InvalidTypeError("file/exclusive must be scalars or broadcast to raw's shape %s"
                               % (arr.shape,)) from None
    out = _core.empty_aligned(flat.shape, np.uint64)
    _core.pte_to_pagemap(prof.handle, flat, facts8, out, threads)
    return int(out[0]) if scalar else out.reshape(arr.shape)


def pagemap_rows(d: Any, sel: Optional[Sequence[int]] = None) -> Iterator[Dict[str, Any]]:
    """Rows of pagemap words: raw, kind, the flag bits, and the PFN or the
    swap type/offset."""
    names = _core.kind_names()
    raw = d.raw.reshape(-1)
    for i in range(raw.size) if sel is None else sel:
        word = int(raw[i])
        kind = int(d.kind[i])
        row: Dict[str, Any] = {"raw": "0x%016x" % word, "kind": names[kind]}
        for name, bit in PM_BITS.items():
            row[name] = (word >> bit) & 1
        if row["present"]:
            row["pfn"] = int(d.pfn[i])
        elif row["swap"]:
            row["swp_type"] = int(d.swp_type[i])
            row["swp_offset"] = int(d.swp_offset[i])
        yield row


def pagemap_row_text(row: Dict[str, Any]) -> str:
    """A one-line rendering of a pagemap row: kind, set bits, PFN or swap."""
    parts = [row["kind"]] + [k for k in PM_BITS if row.get(k)]
    if "pfn" in row:
        parts.append("pfn=%#x" % row["pfn"])
    if "swp_type" in row:
        parts.append("type=%d offset=%#x" % (row["swp_type"], row["swp_offset"]))
    return " ".join(parts)


#: the pagemap bits a scenario result reports per page, by their result key
SCENARIO_BITS = (("present", "present"), ("swapped", "swap"), ("file", "file"),
                 ("exclusive", "exclusive"), ("uffd_wp", "uffd_wp"), ("guard", "guard"))


def scenario_pages(words: np.ndarray, profile: ProfileLike = None) -> List[Dict[str, Any]]:
    """Pagemap words as the scenario result format's pages (shared by the
    model and the live runner): page, class (the Kind of the word), the
    word itself, and its bits as 0/1."""
    d = decode_pagemap(words, profile=profile)
    cols = {key: getattr(d, attr) for key, attr in SCENARIO_BITS}
    return [dict({"page": i, "class": str(Kind(int(d.kind[i]))),
                  "pagemap": "0x%016x" % int(words[i])},
                 **{k: int(v[i]) for k, v in cols.items()})
            for i in range(len(words))]
