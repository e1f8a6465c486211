"""The documented fields of a decoded entry: per-field views over the
compact columns of :class:`ptebits.Decoded`, and rows for jsonl/csv output.

Each field names the kinds it applies to and whether the profile has it; a
view is 0/False where the field does not apply, and output rows omit it.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from . import _core
from ._core import lib

__all__ = ["Field", "FIELDS", "FIELD_NAMES", "field_view", "iter_rows", "CSV_HEADER"]

K = lib
PRESENT_KINDS = (K.PB_KIND_PRESENT, K.PB_KIND_PROTNONE)
PFN_KINDS = PRESENT_KINDS + (K.PB_KIND_MIGRATION, K.PB_KIND_DEVICE, K.PB_KIND_HWPOISON)
SWAP_FORMAT = (K.PB_KIND_SWAP, K.PB_KIND_MIGRATION, K.PB_KIND_DEVICE, K.PB_KIND_HWPOISON,
               K.PB_KIND_MARKER, K.PB_KIND_BAD)
SWAP_FLAGGED = (K.PB_KIND_SWAP, K.PB_KIND_MIGRATION, K.PB_KIND_DEVICE, K.PB_KIND_HWPOISON,
                K.PB_KIND_BAD)
ALL_KINDS = tuple(range(K.PB_KIND_COUNT))


class Field(NamedTuple):
    name: str
    type: str                    # "int", "bit" or "str"
    kinds: Tuple[int, ...]       # kinds the field applies to
    has: Callable[[Any], bool]   # profile -> whether the profile has it
    view: Callable[[Any], np.ndarray]  # Decoded -> values (before masking by kind)
    doc: str


def _flag_bit(mask: int, value: Optional[int] = None) -> Callable[[Any], np.ndarray]:
    want = mask if value is None else value
    return lambda d: (d.flags & np.uint64(mask)) == np.uint64(want)


def _profile_bit(name: str) -> Callable[[Any], np.ndarray]:
    return lambda d: (d.flags & np.uint64(d.profile.mask(name))) != 0


def _aux_bit(bit: int) -> Callable[[Any], np.ndarray]:
    return lambda d: (d.aux & np.uint16(bit)) != 0


def _marker_bit(bit: int) -> Callable[[Any], np.ndarray]:
    return _aux_bit(bit << K.PB_AUX_MARKER_SHIFT)


def _always(_: Any) -> bool:
    return True


def _has(name: str) -> Callable[[Any], bool]:
    return lambda prof: prof.mask(name) != 0


PRESENT = K.PB_PAGE_PRESENT
FIELDS: Tuple[Field, ...] = (
    Field("pfn", "int", PFN_KINDS, _always, lambda d: d.pfn,
          "page frame number (L1TF inversion undone; swp_offset_pfn() for pfn entries)"),
    Field("rw", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_RW), "_PAGE_RW (bit 1)"),
    Field("user", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_USER), "_PAGE_USER (bit 2)"),
    Field("pwt", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_PWT), "_PAGE_PWT (bit 3)"),
    Field("pcd", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_PCD), "_PAGE_PCD (bit 4)"),
    Field("accessed", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_ACCESSED),
          "_PAGE_ACCESSED (bit 5)"),
    Field("dirty_hw", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_DIRTY),
          "_PAGE_DIRTY (bit 6), the hardware dirty bit"),
    Field("pat", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_PAT), "_PAGE_PAT (bit 7)"),
    Field("global", "bit", PRESENT_KINDS, _always,
          _flag_bit(PRESENT | K.PB_PAGE_GLOBAL), "_PAGE_GLOBAL (bit 8, with PRESENT)"),
    Field("protnone", "bit", PRESENT_KINDS, _always,
          _flag_bit(PRESENT | K.PB_PAGE_PROTNONE, K.PB_PAGE_PROTNONE),
          "_PAGE_PROTNONE (bit 8, without PRESENT)"),
    Field("special", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_SPECIAL),
          "_PAGE_SPECIAL (bit 9)"),
    Field("uffd_wp", "bit", PRESENT_KINDS, _has("uffd_wp"), _profile_bit("uffd_wp"),
          "_PAGE_UFFD_WP (bit 10)"),
    Field("soft_dirty", "bit", PRESENT_KINDS, _has("soft_dirty"), _profile_bit("soft_dirty"),
          "_PAGE_SOFT_DIRTY (bit 11, MEM_SOFT_DIRTY)"),
    Field("devmap", "bit", PRESENT_KINDS, _has("devmap"), _profile_bit("devmap"),
          "_PAGE_DEVMAP (bit 58, 5.12)"),
    Field("saved_dirty", "bit", PRESENT_KINDS, _has("saved_dirty"), _profile_bit("saved_dirty"),
          "_PAGE_SAVED_DIRTY (bit 58, 6.18)"),
    Field("pkey", "int", PRESENT_KINDS, _has("pkey_mask"),
          lambda d: (d.flags & np.uint64(K.PB_PAGE_PKEY_MASK)) >> np.uint64(K.PB_PAGE_BIT_PKEY_BIT0),
          "protection key (bits 59-62)"),
    Field("nx", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_NX), "_PAGE_NX (bit 63)"),
    Field("write", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_RW), "pte_write()"),
    Field("dirty", "bit", PRESENT_KINDS, _always, _profile_bit("dirty_bits"),
          "pte_dirty() (6.18: Dirty or SavedDirty)"),
    Field("young", "bit", PRESENT_KINDS, _always, _flag_bit(K.PB_PAGE_ACCESSED), "pte_young()"),
    Field("pte_none", "bit", ALL_KINDS, _always, lambda d: d.kind == K.PB_KIND_NONE,
          "pte_none(): zero apart from Accessed/Dirty"),
    Field("pte_present", "bit", ALL_KINDS, _always,
          lambda d: (d.kind == K.PB_KIND_PRESENT) | (d.kind == K.PB_KIND_PROTNONE),
          "pte_present(): PRESENT or PROTNONE"),
    Field("pte_protnone", "bit", ALL_KINDS, _always,
          lambda d: (d.kind == K.PB_KIND_PROTNONE) & bool(d.profile.mask("protnone_test")),
          "pte_protnone() (always 0 without NUMA_BALANCING)"),
    Field("canonical", "bit", ALL_KINDS, _always, _aux_bit(K.PB_AUX_CANONICAL),
          "re-encoding the decoded fields gives the raw value"),
    Field("swp_type", "int", SWAP_FORMAT, _always, lambda d: d.swp_type, "swap type (bits 59-63)"),
    Field("swp_offset", "int", SWAP_FORMAT, _always, lambda d: d.swp_offset,
          "swap offset (50 bits, stored inverted)"),
    Field("swp_soft_dirty", "bit", SWAP_FLAGGED, _has("swp_soft_dirty"),
          _aux_bit(K.PB_AUX_SWP_SOFT_DIRTY), "_PAGE_SWP_SOFT_DIRTY (bit 1)"),
    Field("swp_uffd_wp", "bit", SWAP_FLAGGED, _has("swp_uffd_wp"),
          _aux_bit(K.PB_AUX_SWP_UFFD_WP), "_PAGE_SWP_UFFD_WP (bit 2)"),
    Field("swp_exclusive", "bit", SWAP_FLAGGED, _has("swp_exclusive"),
          _aux_bit(K.PB_AUX_SWP_EXCLUSIVE), "_PAGE_SWP_EXCLUSIVE (bit 3, 6.18)"),
    Field("sub", "str", (K.PB_KIND_MIGRATION, K.PB_KIND_DEVICE), _always,
          lambda d: d.aux & np.uint16(K.PB_AUX_SUB_MASK),
          "migration: read|read_exclusive|write; device: private_read|private_write|exclusive"),
    Field("mig_young", "bit", (K.PB_KIND_MIGRATION,), _has("mig_young"),
          _aux_bit(K.PB_AUX_MIG_YOUNG), "SWP_MIG_YOUNG (6.18)"),
    Field("mig_dirty", "bit", (K.PB_KIND_MIGRATION,), _has("mig_dirty"),
          _aux_bit(K.PB_AUX_MIG_DIRTY), "SWP_MIG_DIRTY (6.18)"),
    Field("marker", "int", (K.PB_KIND_MARKER,), _always,
          lambda d: (d.aux >> np.uint16(K.PB_AUX_MARKER_SHIFT)) & np.uint16(K.PB_PTE_MARKER_MASK),
          "PTE marker bits (6.18)"),
    Field("marker_uffd_wp", "bit", (K.PB_KIND_MARKER,), _always,
          _marker_bit(K.PB_PTE_MARKER_UFFD_WP), "PTE_MARKER_UFFD_WP"),
    Field("marker_poisoned", "bit", (K.PB_KIND_MARKER,), _always,
          _marker_bit(K.PB_PTE_MARKER_POISONED), "PTE_MARKER_POISONED"),
    Field("marker_guard", "bit", (K.PB_KIND_MARKER,), _always,
          _marker_bit(K.PB_PTE_MARKER_GUARD), "PTE_MARKER_GUARD"),
)

#: Views that are not output columns but handy in the API.
EXTRA_VIEWS: Dict[str, Tuple[Tuple[int, ...], Callable[[Any], np.ndarray]]] = {
    # uffd-wp in any form: _PAGE_UFFD_WP on present entries, else the aux bit
    "uffd_wp_any": (ALL_KINDS, lambda d: _aux_bit(K.PB_AUX_UFFD_WP_ANY)(d) | (
        _profile_bit("uffd_wp")(d) & ((d.kind == K.PB_KIND_PRESENT) |
                                      (d.kind == K.PB_KIND_PROTNONE)))),
}

FIELD_NAMES: Tuple[str, ...] = tuple(f.name for f in FIELDS)
_BY_NAME = {f.name: f for f in FIELDS}
CSV_HEADER: Tuple[str, ...] = ("raw", "kind") + FIELD_NAMES


def _kind_mask(d: Any, kinds: Tuple[int, ...]) -> Optional[np.ndarray]:
    if kinds == ALL_KINDS:
        return None
    mask = np.zeros(d.kind.shape, dtype=bool)
    for k in kinds:
        mask |= d.kind == k
    return mask


def field_view(d: Any, name: str) -> Optional[np.ndarray]:
    """The values of one field for every entry (0/False where it does not
    apply, or where the profile does not have it); None if no such field."""
    if name in _BY_NAME:
        f = _BY_NAME[name]
        kinds, view, has = f.kinds, f.view, f.has(d.profile)
    elif name in EXTRA_VIEWS:
        (kinds, view), has = EXTRA_VIEWS[name], True
    else:
        return None
    values = view(d)
    if not has:
        return np.zeros_like(values)
    mask = _kind_mask(d, kinds)
    if mask is None:
        return values
    return np.where(mask, values, np.zeros((), dtype=values.dtype))


def applicable_fields(profile: Any) -> Dict[int, List[Field]]:
    """For each kind, the fields a row of that kind carries under profile."""
    return {k: [f for f in FIELDS if k in f.kinds and f.has(profile)] for k in ALL_KINDS}


def iter_rows(d: Any, start: int = 0, stop: Optional[int] = None) -> Iterator[Dict[str, Any]]:
    """One dict per entry, in schema order: ``raw`` as ``"0x%016x"``, ``kind``,
    then every field that applies (integers as ints, bits as 0/1, ``sub`` as
    a name)."""
    stop = d.kind.size if stop is None else stop
    kinds_names = _core.kind_names()
    per_kind = applicable_fields(d.profile)
    sl = slice(start, stop)
    raw = d.raw.reshape(-1)[sl].tolist()
    kind = d.kind.reshape(-1)[sl].tolist()
    cols = {f.name: f.view(d).reshape(-1)[sl].tolist() for f in FIELDS if f.has(d.profile)}
    for i, k in enumerate(kind):
        row: Dict[str, Any] = {"raw": "0x%016x" % raw[i], "kind": kinds_names[k]}
        for f in per_kind[k]:
            v = cols[f.name][i]
            if f.type == "bit":
                row[f.name] = int(bool(v))
            elif f.type == "str":
                row[f.name] = _core.sub_name(k, int(v))
            else:
                row[f.name] = int(v)
        yield row
