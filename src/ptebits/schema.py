"""The documented fields of a decoded entry: per-field views over the
compact columns of :class:`ptebits.Decoded`, and rows for jsonl/csv output.

Each field names the kinds it applies to and whether the profile has it; a
view is 0/False where the field does not apply, and output rows omit it.
Every page-table level has its own field list (:func:`fields_for`):
:data:`FIELDS` are the PTE's; PMD, PUD, P4D and PGD entries carry the
fields that mean something there (README "Levels").
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from . import _core
from ._core import lib

__all__ = ["Field", "FIELDS", "FIELD_NAMES", "field_view", "iter_rows", "CSV_HEADER",
           "LEVELS", "fields_for", "field_names", "csv_header", "applicable_fields"]

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

# ------------------------------------------------------------ upper levels

LEVELS: Tuple[str, ...] = _core.level_names()
HUGE_KINDS = PRESENT_KINDS                      # huge leaves: present, PROT_NONE
TABLE_KINDS = (K.PB_KIND_TABLE,)
UPPER_PRESENT = HUGE_KINDS + TABLE_KINDS
UPPER_SWAP_FORMAT = (K.PB_KIND_MIGRATION, K.PB_KIND_HWPOISON, K.PB_KIND_MARKER, K.PB_KIND_BAD)
UPPER_SWAP_FLAGGED = (K.PB_KIND_MIGRATION, K.PB_KIND_HWPOISON, K.PB_KIND_BAD)
PSE = K.PB_PAGE_PSE


def _raw_bit(mask: int, value: Optional[int] = None) -> Callable[[Any], np.ndarray]:
    """A kernel predicate on the raw value (p?d_present, p?d_leaf...)."""
    want = mask if value is None else value
    return lambda d: (d.raw & np.uint64(mask)) == np.uint64(want)


def _raw_any(mask: int) -> Callable[[Any], np.ndarray]:
    return lambda d: (d.raw & np.uint64(mask)) != 0


def _la57(prof: Any) -> bool:
    return bool(prof.mask("config") & K.PB_CFG_LA57)


def _predicates(level: str) -> List[Field]:
    """The kernel's p?d_none/p?d_present/... of a level (pgtable.h)."""
    P, PN = K.PB_PAGE_PRESENT, K.PB_PAGE_PROTNONE
    none = lambda d: d.kind == K.PB_KIND_NONE  # noqa: E731
    if level == "pmd":
        return [
            Field("pmd_none", "bit", ALL_KINDS, _always, none,
                  "pmd_none(): zero apart from Accessed/Dirty"),
            Field("pmd_present", "bit", ALL_KINDS, _always, _raw_any(P | PN | PSE),
                  "pmd_present(): PRESENT, PROTNONE or PSE (a huge PMD being split "
                  "or changed keeps PSE)"),
            Field("pmd_protnone", "bit", ALL_KINDS, _always,
                  lambda d: _raw_bit(P | PN, PN)(d) & bool(d.profile.mask("protnone_test")),
                  "pmd_protnone() (always 0 without NUMA_BALANCING)"),
            Field("pmd_leaf", "bit", ALL_KINDS, _always, _raw_any(PSE), "pmd_leaf(): PSE"),
        ]
    if level == "pud":
        return [
            Field("pud_none", "bit", ALL_KINDS, _always, none,
                  "pud_none(): zero apart from Accessed/Dirty"),
            Field("pud_present", "bit", ALL_KINDS, _always, _raw_any(P),
                  "pud_present(): PRESENT only (a PROT_NONE 1 GiB leaf is not)"),
            Field("pud_leaf", "bit", ALL_KINDS, _always,
                  lambda d: _raw_any(PSE)(d) if d.profile.is_6_18 else _raw_bit(PSE | P)(d),
                  "pud_leaf(): PSE (6.18); PSE and PRESENT (5.12's pud_large)"),
        ]
    p4d = [
        Field("p4d_none", "bit", ALL_KINDS, _always, none,
              "p4d_none(): zero apart from Accessed/Dirty"),
        Field("p4d_present", "bit", ALL_KINDS, _always, _raw_any(P), "p4d_present(): PRESENT"),
    ]
    if level == "p4d":
        return p4d
    # pgd: real with 5-level paging; with 4-level paging the top table holds
    # p4d entries (pgd_none() is 0 and pgd_present() 1 for all of them)
    not_la57 = lambda prof: not _la57(prof)  # noqa: E731
    return [
        Field("pgd_none", "bit", ALL_KINDS, _la57, none, "pgd_none(): zero (5-level paging)"),
        Field("pgd_present", "bit", ALL_KINDS, _la57, _raw_any(P),
              "pgd_present(): PRESENT (5-level paging)"),
    ] + [f._replace(has=not_la57, doc=f.doc + " (4-level paging: the PGD is the P4D)")
         for f in p4d]


_BY_NAME = {f.name: f for f in FIELDS}


def _like(name: str, kinds: Tuple[int, ...], doc: Optional[str] = None) -> Field:
    """A PTE field reused at an upper level: the same view, other kinds."""
    f = _BY_NAME[name]
    return f._replace(kinds=kinds, doc=doc if doc is not None else f.doc)


def _upper_fields(level: str) -> Tuple[Field, ...]:
    lv = LEVELS.index(level)
    leafy = level in ("pmd", "pud")
    shift = _core.leaf_shift(lv)
    present = UPPER_PRESENT if leafy else TABLE_KINDS
    pfn_kinds = UPPER_PRESENT + (K.PB_KIND_MIGRATION, K.PB_KIND_HWPOISON) if leafy \
        else TABLE_KINDS
    fields: List[Field] = [
        Field("pfn", "int", pfn_kinds, _always, lambda d: d.pfn,
              "huge leaf: its first PFN (%s_pfn(): aligned, L1TF inversion undone); table: "
              "the next-level table's PFN; migration/hwpoison: swp_offset_pfn()" % level
              if leafy else "the next-level table's PFN (%s_pfn())" % level)]
    if leafy:
        size = 1 << shift
        fields.append(Field("page_size", "int", HUGE_KINDS + (K.PB_KIND_MIGRATION,
                                                              K.PB_KIND_HWPOISON), _always,
                            lambda d: np.full(d.kind.shape, size, dtype=np.uint64),
                            "bytes the leaf maps: %d (%s)" % (size, "2 MiB" if level == "pmd"
                                                              else "1 GiB")))
    for name, mask, doc in (("rw", K.PB_PAGE_RW, "_PAGE_RW (bit 1)"),
                            ("user", K.PB_PAGE_USER, "_PAGE_USER (bit 2)"),
                            ("pwt", K.PB_PAGE_PWT, "_PAGE_PWT (bit 3)"),
                            ("pcd", K.PB_PAGE_PCD, "_PAGE_PCD (bit 4)"),
                            ("accessed", K.PB_PAGE_ACCESSED, "_PAGE_ACCESSED (bit 5)"),
                            ("dirty_hw", K.PB_PAGE_DIRTY,
                             "_PAGE_DIRTY (bit 6; the CPU ignores it in table pointers)")):
        fields.append(Field(name, "bit", present, _always, _flag_bit(mask), doc))
    fields.append(Field("pse", "bit", present, _always, _flag_bit(PSE),
                        "_PAGE_PSE (bit 7): set in huge leaves" if leafy else
                        "_PAGE_PSE (bit 7): reserved here (p4d_bad)"))
    if leafy:
        fields += [
            Field("pat", "bit", HUGE_KINDS, _always, _flag_bit(K.PB_PAGE_PAT_LARGE),
                  "_PAGE_PAT_LARGE (bit 12)"),
            _like("global", HUGE_KINDS),
            _like("protnone", HUGE_KINDS),
            Field("invert_4k", "bit", (K.PB_KIND_PROTNONE,), _always,
                  _aux_bit(K.PB_AUX_INVERT_4K),
                  "bits 12..%d inverted with the PFN (hugetlbfs' pte_modify form)"
                  % (shift - 1)),
            _like("special", HUGE_KINDS),
            _like("uffd_wp", HUGE_KINDS),
            _like("soft_dirty", HUGE_KINDS),
            Field("devmap", "bit", HUGE_KINDS, _has("devmap"), _profile_bit("devmap"),
                  "_PAGE_DEVMAP (bit 58, 5.12: %s_devmap())" % level),
            _like("saved_dirty", HUGE_KINDS),
            _like("pkey", HUGE_KINDS),
        ]
    fields.append(Field("nx", "bit", present, _always, _flag_bit(K.PB_PAGE_NX),
                        "_PAGE_NX (bit 63)"))
    if leafy:
        fields += [
            _like("write", HUGE_KINDS, "%s_write()" % level),
            _like("dirty", HUGE_KINDS, "%s_dirty() (6.18: Dirty or SavedDirty)" % level),
            _like("young", HUGE_KINDS, "%s_young()" % level),
        ]
    fields += _predicates(level)
    fields.append(Field("canonical", "bit", ALL_KINDS, _always, _aux_bit(K.PB_AUX_CANONICAL),
                        "re-encoding the decoded fields at this level gives the raw value"))
    swap_kinds = UPPER_SWAP_FORMAT if leafy else (K.PB_KIND_BAD,)
    fields += [
        _like("swp_type", swap_kinds),
        _like("swp_offset", swap_kinds),
    ]
    if leafy:
        fields += [
            _like("swp_soft_dirty", UPPER_SWAP_FLAGGED, "pmd_swp_soft_dirty (bit 1)"),
            _like("swp_uffd_wp", UPPER_SWAP_FLAGGED, "pmd_swp_uffd_wp (bit 2)"),
            _like("sub", (K.PB_KIND_MIGRATION,), "migration: read|read_exclusive|write"),
            _like("mig_young", (K.PB_KIND_MIGRATION,)),
            _like("mig_dirty", (K.PB_KIND_MIGRATION,)),
            _like("marker", (K.PB_KIND_MARKER,), "hugetlbfs PTE marker bits (6.18)"),
            _like("marker_uffd_wp", (K.PB_KIND_MARKER,)),
            _like("marker_poisoned", (K.PB_KIND_MARKER,)),
        ]
    return tuple(fields)


_LEVEL_FIELDS: Dict[str, Tuple[Field, ...]] = {
    level: FIELDS if level == "pte" else _upper_fields(level) for level in LEVELS}
_LEVEL_BY_NAME = {level: {f.name: f for f in fields} for level, fields in _LEVEL_FIELDS.items()}


def _level_key(level: str) -> str:
    if level not in _LEVEL_FIELDS:
        from .errors import InvalidValueError
        raise InvalidValueError("level=%r is not a page-table level; levels are: %s"
                                % (level, ", ".join(LEVELS)))
    return level


def fields_for(level: str = "pte") -> Tuple[Field, ...]:
    """The fields of one level's entries, in output order."""
    return _LEVEL_FIELDS[_level_key(level)]


def field_names(level: str = "pte") -> Tuple[str, ...]:
    return tuple(f.name for f in fields_for(level))


def csv_header(level: str = "pte") -> Tuple[str, ...]:
    """The csv header of a level: raw, kind, then every field of the level."""
    return ("raw", "kind") + field_names(level)


FIELD_NAMES: Tuple[str, ...] = tuple(f.name for f in FIELDS)
CSV_HEADER: Tuple[str, ...] = ("raw", "kind") + FIELD_NAMES


def _kind_mask(d: Any, kinds: Tuple[int, ...]) -> Optional[np.ndarray]:
    if kinds == ALL_KINDS:
        return None
    mask = np.zeros(d.kind.shape, dtype=bool)
    for k in kinds:
        mask |= d.kind == k
    return mask


#: Every field of any level, for the views of fields another level has.
_ANY_LEVEL: Dict[str, Field] = {}
for _fields in _LEVEL_FIELDS.values():
    for _f in _fields:
        _ANY_LEVEL.setdefault(_f.name, _f)
_ZERO_DTYPE = {"bit": np.bool_, "int": np.uint64, "str": np.uint16}


def field_view(d: Any, name: str) -> Optional[np.ndarray]:
    """The values of one field for every entry (0/False where it does not
    apply, or where the profile does not have it; all 0/False for a field
    of another level, e.g. ``pte_none`` of PMD entries); None if no such
    field."""
    by_name = _LEVEL_BY_NAME[getattr(d, "level", "pte")]
    if name in by_name:
        f = by_name[name]
        kinds, view, has = f.kinds, f.view, f.has(d.profile)
    elif name in EXTRA_VIEWS:
        (kinds, view), has = EXTRA_VIEWS[name], True
    elif name in _ANY_LEVEL:
        return np.zeros(d.kind.shape, dtype=_ZERO_DTYPE[_ANY_LEVEL[name].type])
    else:
        return None
    values = view(d)
    if not has:
        return np.zeros_like(values)
    mask = _kind_mask(d, kinds)
    if mask is None:
        return values
    return np.where(mask, values, np.zeros((), dtype=values.dtype))


def applicable_fields(profile: Any, level: str = "pte") -> Dict[int, List[Field]]:
    """For each kind, the fields a row of that kind carries under profile."""
    fields = fields_for(level)
    return {k: [f for f in fields if k in f.kinds and f.has(profile)] for k in ALL_KINDS}


def iter_rows(d: Any, start: int = 0, stop: Optional[int] = None) -> Iterator[Dict[str, Any]]:
    """One dict per entry, in schema order: ``raw`` as ``"0x%016x"``, ``kind``,
    then every field that applies (integers as ints, bits as 0/1, ``sub`` as
    a name)."""
    stop = d.kind.size if stop is None else stop
    kinds_names = _core.kind_names()
    level = getattr(d, "level", "pte")
    fields = fields_for(level)
    per_kind = applicable_fields(d.profile, level)
    sl = slice(start, stop)
    raw = d.raw.reshape(-1)[sl].tolist()
    kind = d.kind.reshape(-1)[sl].tolist()
    cols = {f.name: f.view(d).reshape(-1)[sl].tolist() for f in fields if f.has(d.profile)}
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
