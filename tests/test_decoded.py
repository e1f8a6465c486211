"""The Decoded result: compact columns, per-field views derived on demand,
counts, ``out=`` reuse, multi-dimensional input, and the output rows of
ptebits.schema.iter_rows, which carry exactly the fields that apply to the
entry's kind under the profile (e.g. no SAVED_DIRTY in 5.12, no DEVMAP in
6.18, no soft-dirty in 6.18 because the machines' config lacks
MEM_SOFT_DIRTY: kernel-facts §0, §1, §3).
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

import ptebits
from ptebits.schema import CSV_HEADER, FIELD_NAMES, iter_rows

from conftest import MAIN_PROFILES

V618, V512 = "linux-6.18", "linux-5.12-uffd-wp-v2"

#: One entry of each interesting shape, with what it is under 6.18.
SAMPLE = np.array([
    0x0,                    # none
    0x60,                   # none (A/D only)
    0x8000000012345127,     # present, GLOBAL, RW
    0x000FFFFFEDCBA120,     # PROT_NONE pfn 0x12345 (bit 8 = PROTNONE, not GLOBAL)
    0x8000000012345425,     # present RO + uffd-wp
    0x0FFFFFFFFFDB9606,     # swap(1, 0x1234) + uffd-wp + soft-dirty bit
    0xF7FFE7FFFDB97400,     # 6.18 write migration, young+dirty
    0xFFFFFFFFFFFFFC00,     # 6.18 uffd-wp marker
    0xFFFFFFFFFFFFF600,     # 6.18 guard marker
    0x4,                    # 5.12 special / 6.18 bogus swap
    0xFFFFFFFFFFFFFE00,     # 6.18 empty marker (bad)
], dtype=np.uint64)


def _rows(raw: np.ndarray, profile: str) -> List[Dict[str, Any]]:
    return list(iter_rows(ptebits.decode(raw, profile=profile)))


# --------------------------------------------------------------- columns

def test_columns_are_compact_numpy_arrays_of_the_input_shape() -> None:
    d = ptebits.decode(SAMPLE)
    dtypes = {name: col.dtype for name, col in d.columns().items()}
    assert dtypes == {"kind": np.uint8, "pfn": np.uint64, "flags": np.uint64,
                      "swp_type": np.uint8, "swp_offset": np.uint64, "aux": np.uint16}
    for col in d.columns().values():
        assert col.shape == SAMPLE.shape
    assert len(d) == SAMPLE.size and d.shape == SAMPLE.shape
    assert d.raw is SAMPLE                      # nothing copied
    assert d.profile == ptebits.get_profile(V618)


def test_kind_column_holds_kind_values() -> None:
    d = ptebits.decode(SAMPLE)
    kinds = [str(ptebits.Kind(k)) for k in d.kind]
    assert kinds == ["none", "none", "present", "protnone", "present", "swap", "migration",
                     "marker", "marker", "swap", "bad"]
    assert d.kind_is("marker").tolist() == [k == "marker" for k in kinds]
    assert d.kind_is("none", ptebits.Kind.BAD).sum() == 3


def test_present_bit_views() -> None:
    """§1: RW, GLOBAL only with PRESENT, PROTNONE only without it, bit 10 uffd-wp."""
    d = ptebits.decode(SAMPLE)
    assert d.rw.tolist() == [False, False, True, False, False, False, False, False, False,
                             False, False]      # bit 1 of the swap entry is not RW
    assert d.global_.tolist() == [i == 2 for i in range(SAMPLE.size)]
    assert getattr(d, "global").tolist() == d.global_.tolist()
    assert d.protnone.tolist() == [i == 3 for i in range(SAMPLE.size)]
    assert d.uffd_wp.tolist() == [i == 4 for i in range(SAMPLE.size)]
    assert d.pfn.tolist()[2:5] == [0x12345] * 3
    assert d.write.tolist()[2:5] == [True, False, False]


def test_swap_views_apply_only_to_swap_format_entries() -> None:
    """§3: swp_uffd_wp is bit 2 of swap-format entries; 6.18 ignores bit 1."""
    d = ptebits.decode(SAMPLE)
    assert d.swp_uffd_wp.tolist() == [i in (5, 9) for i in range(SAMPLE.size)]
    assert not d.swp_soft_dirty.any()           # no MEM_SOFT_DIRTY in 6.18
    assert d.swp_type.tolist()[5:] == [1, 30, 31, 31, 0, 31]
    assert d.swp_offset[5] == 0x1234 and d.swp_offset[6] == 0xC00012345
    d512 = ptebits.decode(SAMPLE, profile=V512)
    assert d512.swp_soft_dirty.tolist() == [i == 5 for i in range(SAMPLE.size)]


def test_sub_and_migration_views() -> None:
    """§4: a 6.18 write-migration entry with SWP_MIG_YOUNG/DIRTY."""
    d = ptebits.decode(SAMPLE)
    rows = list(iter_rows(d))
    assert rows[6]["sub"] == "write"
    assert d.mig_young.tolist() == d.mig_dirty.tolist() == [i == 6 for i in range(SAMPLE.size)]
    assert [r.get("sub") for r in rows].count(None) == SAMPLE.size - 1
    # the view is a numeric code per sub-kind, the row has its name
    mig = np.array([ptebits.encode_migration(1, write=w, exclusive=e)
                    for w, e in ((False, False), (False, True), (True, False))], dtype=np.uint64)
    dm = ptebits.decode(mig)
    assert len(set(dm.sub.tolist())) == 3
    assert [r["sub"] for r in iter_rows(dm)] == ["read", "read_exclusive", "write"]
    assert d.sub[6] == dm.sub[2]


def test_marker_views() -> None:
    """§5: marker bits of type-31 entries; the empty marker is bad, not a marker."""
    d = ptebits.decode(SAMPLE)
    assert d.marker_uffd_wp.tolist() == [i == 7 for i in range(SAMPLE.size)]
    assert d.marker_guard.tolist() == [i == 8 for i in range(SAMPLE.size)]
    assert d.marker.tolist()[7:9] == [1, 4]
    assert not d.marker_poisoned.any()
    assert d.uffd_wp_any.tolist() == [i in (4, 5, 7, 9) for i in range(SAMPLE.size)]


def test_canonical_view() -> None:
    """Canonical: re-encoding gives the raw value (A/D on none, soft-dirty bit
    on 6.18 swap, and the empty marker are not)."""
    d = ptebits.decode(SAMPLE)
    assert d.canonical.tolist() == [True, False, True, True, True, False, True, True, True,
                                    True, False]


def test_unknown_views_raise_attribute_error() -> None:
    d = ptebits.decode(SAMPLE)
    with pytest.raises(AttributeError, match="no field 'bogus'"):
        d.bogus


@pytest.mark.parametrize("profile", MAIN_PROFILES)
def test_counts_list_every_kind_and_add_up_to_the_size(profile: str) -> None:
    d = ptebits.decode(SAMPLE, profile=profile)
    counts = d.counts()
    assert list(counts) == [str(k) for k in ptebits.Kind]
    assert sum(counts.values()) == SAMPLE.size
    assert counts["none"] == 2
    empty = ptebits.decode(np.empty(0, dtype=np.uint64), profile=profile)
    assert sum(empty.counts().values()) == 0 and len(empty) == 0


def test_indexing_gives_a_decoded_of_the_selection() -> None:
    d = ptebits.decode(SAMPLE)
    part = d[6:8]
    assert isinstance(part, ptebits.Decoded)
    assert part.kind.tolist() == d.kind[6:8].tolist()
    assert part.raw.tolist() == SAMPLE[6:8].tolist()
    assert part.marker_uffd_wp.tolist() == [False, True]


# ------------------------------------------------------------- out=

def test_decode_out_reuses_the_same_arrays_with_new_contents() -> None:
    first = np.full(SAMPLE.shape, 0x8000000012345027, dtype=np.uint64)
    d = ptebits.decode(first)
    cols = d.columns()
    again = ptebits.decode(SAMPLE, profile=V512, out=d)
    assert again is d
    for name, col in again.columns().items():
        assert col is cols[name]
        assert col.tolist() == getattr(ptebits.decode(SAMPLE, profile=V512), name).tolist()
    assert again.profile == ptebits.get_profile(V512)
    assert again.raw is SAMPLE


def test_classify_out_is_the_array_returned() -> None:
    out = np.zeros(SAMPLE.shape, dtype=np.uint8)
    got = ptebits.classify(SAMPLE, out=out)
    assert got is out
    assert out.tolist() == ptebits.decode(SAMPLE).kind.tolist()


# ---------------------------------------------------- multi-dimensional

def test_multidimensional_input_keeps_its_shape() -> None:
    raw = np.resize(SAMPLE, 3 * 4 * 5).reshape(3, 4, 5)
    d = ptebits.decode(raw)
    assert d.shape == (3, 4, 5)
    for view in ("kind", "pfn", "rw", "swp_uffd_wp", "marker_uffd_wp", "canonical", "sub"):
        assert getattr(d, view).shape == (3, 4, 5), view
    assert d.kind.ravel().tolist() == ptebits.decode(raw.ravel()).kind.tolist()
    assert ptebits.classify(raw).shape == (3, 4, 5)
    assert ptebits.pte_to_pagemap(raw).shape == (3, 4, 5)
    assert ptebits.pte_to_pagemap(raw).ravel().tolist() == \
        ptebits.pte_to_pagemap(raw.ravel()).tolist()
    assert sum(d.counts().values()) == raw.size
    assert len(list(iter_rows(d))) == raw.size


def test_decode_out_works_for_multidimensional_input() -> None:
    raw = np.resize(SAMPLE, 12).reshape(3, 4)
    d = ptebits.decode(raw)
    kind = d.kind
    d2 = ptebits.decode(raw[::-1].copy(), out=d)
    assert d2.kind is kind and d2.kind.tolist() == ptebits.decode(raw[::-1].copy()).kind.tolist()


# ------------------------------------------------------------- iter_rows

def test_rows_start_with_raw_and_kind_in_schema_order() -> None:
    for row in _rows(SAMPLE, V618):
        keys = list(row)
        assert keys[:2] == ["raw", "kind"]
        assert keys[2:] == [f for f in FIELD_NAMES if f in row]
        assert row["raw"].startswith("0x") and len(row["raw"]) == 18
    assert CSV_HEADER[:2] == ("raw", "kind")


def test_rows_of_none_entries_carry_only_the_predicates() -> None:
    row = _rows(SAMPLE[:1], V618)[0]
    assert row == {"raw": "0x0000000000000000", "kind": "none", "pte_none": 1, "pte_present": 0,
                   "pte_protnone": 0, "canonical": 1}


def test_present_rows_under_5_12_have_devmap_and_soft_dirty_but_no_saved_dirty() -> None:
    """§1: bit 58 is DEVMAP in 5.12; the 5.12 profile has MEM_SOFT_DIRTY."""
    row = _rows(SAMPLE[2:3], V512)[0]
    assert "devmap" in row and "soft_dirty" in row and "uffd_wp" in row
    assert "saved_dirty" not in row
    assert not any(k.startswith(("swp_", "marker", "mig_")) for k in row)


def test_present_rows_under_6_18_have_saved_dirty_but_no_devmap_or_soft_dirty() -> None:
    """§1: bit 58 is SAVED_DIRTY in 6.18, DEVMAP is gone; MEM_SOFT_DIRTY is not
    set in the machines' config, so soft-dirty is absent."""
    row = _rows(SAMPLE[2:3], V618)[0]
    assert "saved_dirty" in row and "uffd_wp" in row and "pkey" in row
    assert "devmap" not in row and "soft_dirty" not in row


def test_swap_rows_carry_only_the_profile_swap_flags() -> None:
    """§3: swap exclusive only in 6.18, swap soft-dirty only with MEM_SOFT_DIRTY."""
    new = _rows(SAMPLE[5:6], V618)[0]
    old = _rows(SAMPLE[5:6], V512)[0]
    assert "swp_exclusive" in new and "swp_soft_dirty" not in new
    assert "swp_soft_dirty" in old and "swp_exclusive" not in old
    for row in (new, old):
        assert row["swp_uffd_wp"] == 1
        assert not any(k in row for k in ("pfn", "rw", "sub", "marker", "mig_young"))


def test_migration_rows_have_young_and_dirty_only_in_6_18() -> None:
    """§4: SWP_MIG_YOUNG/DIRTY are 6.18 bits."""
    new = _rows(np.array([ptebits.encode_migration(0x12345, write=True, young=True)],
                         dtype=np.uint64), V618)[0]
    old = _rows(np.array([ptebits.encode_migration(0x12345, write=True, profile=V512)],
                         dtype=np.uint64), V512)[0]
    assert (new["mig_young"], new["mig_dirty"], new["sub"], new["pfn"]) == (1, 0, "write", 0x12345)
    assert "mig_young" not in old and "mig_dirty" not in old
    assert (old["sub"], old["pfn"]) == ("write", 0x12345)


def test_marker_rows_carry_marker_fields_but_no_swap_flags() -> None:
    row = _rows(SAMPLE[7:8], V618)[0]
    assert (row["marker"], row["marker_uffd_wp"], row["swp_type"], row["swp_offset"]) == (1, 1, 31, 1)
    assert not any(k.startswith("swp_") and k not in ("swp_type", "swp_offset") for k in row)


def test_special_rows_have_no_swap_fields() -> None:
    """§5: the v2 special PTE is not a swap entry (no type, no offset)."""
    row = _rows(SAMPLE[9:10], V512)[0]
    assert row["kind"] == "uffd_wp_special"
    assert not any(k.startswith("swp_") for k in row)


def test_iter_rows_start_and_stop() -> None:
    d = ptebits.decode(SAMPLE)
    rows = list(iter_rows(d, 3, 6))
    assert [r["raw"] for r in rows] == ["0x%016x" % int(v) for v in SAMPLE[3:6]]
