"""The PTE helpers, per kernel (kernel-facts §1, §2, §3; worked examples
and the _PAGE_CHG_MASK table copied into tests/data/pte_helpers.json):

* 6.18's saved-dirty rule: a PTE never ends up read-only and Dirty; Dirty
  (bit 6) moves to SavedDirty (bit 58) on pte_wrprotect, on pte_mkdirty of a
  read-only PTE and in pte_modify from a writable PTE; pte_mkwrite moves it
  back; pte_mkclean clears both.  5.12 has none of this (bit 58 is DEVMAP).
* pte_mkuffd_wp: 5.12 only sets bit 10; 6.18 also write-protects.
* pte_modify keeps _PAGE_CHG_MASK (6.18 keeps PAT, 5.12 does not), takes the
  rest from newprot and complements the PFN when the PROT_NONE (inversion)
  state changes.
* the swap helpers set and clear bits 1/2/3 of swap-format entries only;
  the present helpers take present (or PROT_NONE) entries only; a flag the
  profile lacks is a FieldRangeError.
* arrays broadcast like numpy.

tests/test_reference.py checks the same helpers against the reference model
on many values; here each rule is stated on its own.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

import ptebits
from ptebits.explain import Pte

from conftest import as_int, load_json, section_id

DATA = load_json("pte_helpers.json")
EXAMPLES: List[Dict[str, Any]] = DATA["examples"]
CHG = DATA["chg_mask"]
PFN_MASK = as_int(CHG["pfn_mask"])
V618, V512 = "linux-6.18", "linux-5.12-uffd-wp-v2"

USER_PGPROTS = ("PAGE_NONE", "PAGE_SHARED", "PAGE_SHARED_EXEC", "PAGE_COPY", "PAGE_COPY_EXEC",
                "PAGE_READONLY", "PAGE_READONLY_EXEC")

SWAP_1_1234 = 0x0FFFFFFFFFDB9600           # kernel-facts §3: swap(1, 0x1234)
PRESENT_SHARED = 0x8000000012345027        # §2: pfn_pte(0x12345, PAGE_SHARED)
PROTNONE = 0x000FFFFFEDCBA120              # §2: pfn_pte(0x12345, PAGE_NONE)


def _op(name: str) -> Any:
    return getattr(ptebits, name)


def _examples() -> List[Any]:
    return [pytest.param(e, p, id="%s-%s-%s" % (section_id(e["section"]), e["id"], p))
            for e in EXAMPLES for p in e["profiles"]]


def test_every_example_cites_the_fact_sheet() -> None:
    for e in EXAMPLES:
        assert e["section"] in e["source"] and "kernel-facts §" in e["source"], e["id"]
        assert "5.12" in e["source"] or "6.18" in e["source"], e["id"]
    assert len({e["id"] for e in EXAMPLES}) == len(EXAMPLES)


@pytest.mark.parametrize("example,profile", _examples())
def test_worked_examples(example: Dict[str, Any], profile: str) -> None:
    raw = as_int(example["raw"])
    args = [as_int(example["arg"])] if "arg" in example else []
    got = _op(example["op"])(raw, *args, profile=profile)
    assert type(got) is int
    assert got == as_int(example["result"]), "%#x (%s)" % (got, example["why"])


# ------------------------------------------------ §1 saved-dirty (6.18)

DIRTY, SAVED_DIRTY, RW, UFFD_WP = 1 << 6, 1 << 58, 1 << 1, 1 << 10


def _dirty(raw: int, profile: str) -> bool:
    return bool(Pte(raw, profile=profile).dirty)


@pytest.mark.parametrize("pfn", [0, 0x12345, (1 << 40) - 1])
@pytest.mark.parametrize("prot", ["PAGE_SHARED", "PAGE_SHARED_EXEC"])
def test_6_18_never_leaves_a_read_only_pte_with_bit_6(pfn: int, prot: str) -> None:
    """The 6.18 round: dirty writable -> wrprotect -> mkwrite -> wrprotect ->
    mkclean; pte_dirty() stays true until mkclean, bit 6 is never set on a
    read-only PTE, and pte_mkwrite restores the original value."""
    p = V618
    dirty_rw = ptebits.pte_mkdirty(ptebits.encode_present(pfn, prot, profile=p), profile=p)
    assert dirty_rw & DIRTY and not dirty_rw & SAVED_DIRTY
    ro = ptebits.pte_wrprotect(dirty_rw, profile=p)
    assert ro == (dirty_rw & ~RW & ~DIRTY) | SAVED_DIRTY
    assert _dirty(ro, p) and not Pte(ro, profile=p).write
    assert ptebits.pte_mkwrite(ro, profile=p) == dirty_rw
    assert ptebits.pte_wrprotect(ro, profile=p) == ro                    # idempotent
    assert ptebits.pte_mkdirty(ro, profile=p) == ro                      # already dirty
    clean = ptebits.pte_mkclean(ro, profile=p)
    assert clean == ro & ~SAVED_DIRTY and not _dirty(clean, p)
    assert ptebits.pte_mkdirty(clean, profile=p) == ro                   # RO: bit 58, not 6


@pytest.mark.parametrize("pfn", [0, 0x12345, (1 << 40) - 1])
def test_5_12_keeps_bit_6_on_read_only_ptes_and_bit_58_is_devmap(pfn: int) -> None:
    p = V512
    dirty_rw = ptebits.pte_mkdirty(ptebits.encode_present(pfn, "PAGE_SHARED", profile=p),
                                   profile=p)
    assert dirty_rw & DIRTY
    ro = ptebits.pte_wrprotect(dirty_rw, profile=p)
    assert ro == dirty_rw & ~RW
    assert _dirty(ro, p)
    devmap = ro | SAVED_DIRTY                 # bit 58 = _PAGE_DEVMAP in 5.12
    assert ptebits.pte_mkclean(devmap, profile=p) == devmap & ~DIRTY
    assert ptebits.pte_mkwrite(devmap, profile=p) == devmap | RW
    assert not _dirty(ptebits.pte_mkclean(devmap, profile=p), p)


def test_pte_dirty_is_bit_6_or_58_in_6_18_only() -> None:
    """§1 pte_dirty: 5.12 bit 6; 6.18 bit 6 | bit 58 (_PAGE_DIRTY_BITS)."""
    saved = 0x8400000012345025
    assert _dirty(saved, V618) and not _dirty(saved, V512)
    assert _dirty(0x8000000012345065, V618) and _dirty(0x8000000012345065, V512)


# -------------------------------------------------- §1 pte_mkuffd_wp

@pytest.mark.parametrize("raw", [0x8000000012345027, 0x8000000012345067, 0x8000000012345025,
                                 0x8400000012345025, PROTNONE, 0x27])
def test_mkuffd_wp_5_12_only_sets_bit_10(raw: int) -> None:
    assert ptebits.pte_mkuffd_wp(raw, profile=V512) == raw | UFFD_WP


@pytest.mark.parametrize("raw", [0x8000000012345027, 0x8000000012345067, 0x8000000012345025,
                                 0x8400000012345025, PROTNONE, 0x27])
def test_mkuffd_wp_6_18_also_write_protects(raw: int) -> None:
    """6.18: bit 10, then pte_wrprotect (with the saved-dirty rule)."""
    got = ptebits.pte_mkuffd_wp(raw, profile=V618)
    assert got == ptebits.pte_wrprotect(raw | UFFD_WP, profile=V618)
    assert got & UFFD_WP and not got & RW and not (got & DIRTY)


@pytest.mark.parametrize("profile", [V618, V512])
def test_clear_uffd_wp_only_clears_bit_10(profile: str) -> None:
    for raw in (0x8000000012345425, 0x8400000012345425, 0x8000000012345467, PROTNONE | UFFD_WP):
        assert ptebits.pte_clear_uffd_wp(raw, profile=profile) == raw & ~UFFD_WP


# --------------------------------------------------- §1/§2 pte_modify

@pytest.mark.parametrize("profile", sorted(CHG["flag_bits_kept"]))
def test_pte_modify_keeps_exactly_the_chg_mask_flag_bits(profile: str) -> None:
    """For each flag bit b (bits 1-11, 52-63): an old PTE with b set keeps it
    through pte_modify(old, PRESENT) iff b is in _PAGE_CHG_MASK; a newprot
    with b set passes it through iff b is not."""
    kept = set(CHG["flag_bits_kept"][profile].values())
    base = 0x0000000012345001                            # present, pfn 0x12345, no flags
    for b in list(range(1, 12)) + list(range(52, 64)):
        old = base | (1 << b)
        got = ptebits.pte_modify(old, 0x1, profile=profile)
        assert bool(got & (1 << b)) == (b in kept), "bit %d kept from old: %#x" % (b, got)
        got = ptebits.pte_modify(base, 0x1 | (1 << b), profile=profile)
        assert bool(got & (1 << b)) == (b not in kept), "bit %d from newprot: %#x" % (b, got)
        assert got & PFN_MASK == base & PFN_MASK


def test_pat_is_kept_by_6_18_and_not_by_5_12() -> None:
    """The _PAGE_CHG_MASK difference: 6.18 added _PAGE_PAT."""
    pat = 1 << 7
    wc = 0x8000000012345000 | pat | 0x27              # a PAT-indexed (e.g. WC) mapping
    assert ptebits.pte_modify(wc, "PAGE_READONLY", profile=V618) & pat
    assert not ptebits.pte_modify(wc, "PAGE_READONLY", profile=V512) & pat


@pytest.mark.parametrize("profile", [V618, V512])
@pytest.mark.parametrize("pfn", [0, 1, 0x12345, (1 << 40) - 1])
def test_pte_modify_between_user_pgprots_is_pfn_pte_of_the_new_prot(profile: str,
                                                                     pfn: int) -> None:
    """From one standard user pgprot to another (incl. PROT_NONE both ways,
    where the stored PFN is complemented): the result is pfn_pte(pfn, new),
    and decoding it gives the PFN back."""
    for old_prot in USER_PGPROTS:
        old = ptebits.encode_present(pfn, old_prot, profile=profile)
        for new_prot in USER_PGPROTS:
            got = ptebits.pte_modify(old, new_prot, profile=profile)
            want = ptebits.encode_present(pfn, new_prot, profile=profile)
            assert got == want, (old_prot, new_prot, hex(got), hex(want))
            flipped = (new_prot == "PAGE_NONE") != (old_prot == "PAGE_NONE")
            stored = (~old if flipped else old) & PFN_MASK
            assert got & PFN_MASK == stored
            assert Pte(got, profile=profile).pfn == pfn


@pytest.mark.parametrize("profile", [V618, V512])
def test_pte_modify_flips_the_pfn_field_only_on_prot_none_transitions(profile: str) -> None:
    """§2 flip_protnone_guard: the PFN field is complemented when
    __pte_needs_invert(old) != __pte_needs_invert(new)."""
    to_none = ptebits.pte_modify(PRESENT_SHARED, "PAGE_NONE", profile=profile)
    assert to_none & PFN_MASK == ~PRESENT_SHARED & PFN_MASK
    back = ptebits.pte_modify(to_none, "PAGE_SHARED", profile=profile)
    assert back == PRESENT_SHARED
    stay = ptebits.pte_modify(PROTNONE, "PAGE_NONE", profile=profile)
    assert stay & PFN_MASK == PROTNONE & PFN_MASK
    ro = ptebits.pte_modify(PRESENT_SHARED, "PAGE_READONLY", profile=profile)
    assert ro & PFN_MASK == PRESENT_SHARED & PFN_MASK


def test_pte_modify_applies_the_saved_dirty_rule_from_the_old_write_bit() -> None:
    """§2: 6.18 pte_modify ends with mksaveddirty if the old PTE was writable,
    else clear_saveddirty."""
    dirty_rw = 0x8000000012345067
    ro = ptebits.pte_modify(dirty_rw, "PAGE_READONLY", profile=V618)
    assert ro & SAVED_DIRTY and not ro & DIRTY
    assert ptebits.pte_modify(ro, "PAGE_SHARED", profile=V618) == dirty_rw
    assert ptebits.pte_modify(ro, "PAGE_READONLY", profile=V618) == ro     # stays saved
    numa = ptebits.pte_modify(dirty_rw, "PAGE_NONE", profile=V618)
    assert numa & SAVED_DIRTY and not numa & DIRTY
    assert Pte(numa, profile=V618).dirty == 1


# ------------------------------------------------- §3 swap flag helpers

SWAP_FORMAT = {
    V618: [SWAP_1_1234, 0xF7FFE7FFFDB97400, 0x07FFFFFFFFFFFE00],   # swap, migration, (0, 0)
    V512: [SWAP_1_1234, 0xEFFFFFFFFDB97400, 0xFFFFFFFFFFFFFC00],   # swap, migration, device
}
SWAP_HELPERS = {
    # helper: (bit, set?) and the profiles that have the bit (§3)
    "pte_swp_mksoft_dirty": (1, True, (V512,)),
    "pte_swp_clear_soft_dirty": (1, False, (V512,)),
    "pte_swp_mkuffd_wp": (2, True, (V618, V512)),
    "pte_swp_clear_uffd_wp": (2, False, (V618, V512)),
    "pte_swp_mkexclusive": (3, True, (V618,)),
    "pte_swp_clear_exclusive": (3, False, (V618,)),
}


@pytest.mark.parametrize("profile,helper", [(p, h) for h in sorted(SWAP_HELPERS)
                                            for p in SWAP_HELPERS[h][2]])
def test_swap_helpers_set_and_clear_their_bit(profile: str, helper: str) -> None:
    """(A profile without the bit refuses the helper: see
    test_flags_the_profile_lacks_are_refused.)"""
    bit, on, _ = SWAP_HELPERS[helper]
    fn = _op(helper)
    for base in SWAP_FORMAT[profile]:
        for others in (0, 0xE & ~(1 << bit)):
            raw = base | others | (0 if on else 1 << bit)
            want = (raw | (1 << bit)) if on else (raw & ~(1 << bit))
            assert fn(raw, profile=profile) == want, (hex(raw), helper)
            assert fn(want, profile=profile) == want                      # idempotent


@pytest.mark.parametrize("helper", sorted(SWAP_HELPERS))
@pytest.mark.parametrize("raw", [0, 0x20, 0x60, PRESENT_SHARED, PROTNONE],
                         ids=["zero", "accessed", "A+D", "present", "protnone"])
def test_swap_helpers_refuse_entries_that_are_not_swap_format(raw: int, helper: str) -> None:
    """none (pte_none ignores A/D) and pte_present() entries hold no swap bits."""
    profile = V618 if SWAP_HELPERS[helper][2] != (V512,) else V512
    with pytest.raises(ptebits.FieldRangeError) as info:
        _op(helper)(raw, profile=profile)
    assert info.value.field == "raw"
    assert "not swap-format" in str(info.value) or "non-swap" in str(info.value)


PRESENT_HELPERS = ("pte_wrprotect", "pte_mkwrite", "pte_mkuffd_wp", "pte_clear_uffd_wp",
                   "pte_mkdirty", "pte_mkclean", "pte_mkyoung", "pte_mkold")


@pytest.mark.parametrize("helper", PRESENT_HELPERS + ("pte_modify",))
@pytest.mark.parametrize("raw", [0, 0x20, 0x60, SWAP_1_1234, 0xFFFFFFFFFFFFFC00, 0x4],
                         ids=["zero", "accessed", "A+D", "swap", "marker", "0x4"])
@pytest.mark.parametrize("profile", [V618, V512])
def test_present_helpers_refuse_entries_that_are_not_present(profile: str, raw: int,
                                                             helper: str) -> None:
    args = ["PAGE_SHARED"] if helper == "pte_modify" else []
    with pytest.raises(ptebits.FieldRangeError, match="non-present") as info:
        _op(helper)(raw, *args, profile=profile)
    assert info.value.field == "raw" and info.value.value == raw


@pytest.mark.parametrize("helper", PRESENT_HELPERS)
@pytest.mark.parametrize("profile", [V618, V512])
def test_present_helpers_take_prot_none_entries(profile: str, helper: str) -> None:
    """PROT_NONE entries are pte_present() (§1): the helpers apply."""
    got = _op(helper)(PROTNONE, profile=profile)
    assert got & 0x101 == 0x100                          # still PROT_NONE
    assert got & PFN_MASK == PROTNONE & PFN_MASK


ABSENT = [(profile, helper) for profile, helpers in DATA["absent_flags"]["helpers"].items()
          for helper in helpers]


@pytest.mark.parametrize("profile,helper", ABSENT, ids=["%s-%s" % a for a in ABSENT])
def test_flags_the_profile_lacks_are_refused(profile: str, helper: str) -> None:
    raw = SWAP_1_1234 if helper.startswith("pte_swp_") else PRESENT_SHARED
    with pytest.raises(ptebits.FieldRangeError, match="flag the profile does not have") as info:
        _op(helper)(raw, profile=profile)
    assert isinstance(info.value, ValueError)
    assert profile in str(info.value)


# ------------------------------------------------------------ arrays

def test_pte_modify_broadcasts_an_array_against_a_scalar_prot() -> None:
    raw = np.array([[PRESENT_SHARED, PROTNONE, 0x8000000012345067],
                    [0x8400000012345025, 0x8000000000000025, 0x8000000012345425]],
                   dtype=np.uint64)
    for profile in (V618, V512):
        for prot in ("PAGE_NONE", "PAGE_SHARED", 0x8000000000000025):
            got = ptebits.pte_modify(raw, prot, profile=profile)
            assert isinstance(got, np.ndarray) and got.dtype == np.uint64
            assert got.shape == raw.shape
            assert got.tolist() == [[ptebits.pte_modify(int(v), prot, profile=profile)
                                     for v in row] for row in raw.tolist()]


def test_pte_modify_broadcasts_prots_and_ptes_like_numpy() -> None:
    prots = np.array([0x120, 0x8000000000000027, 0x8000000000000025], dtype=np.uint64)
    one = ptebits.pte_modify(PRESENT_SHARED, prots)
    assert one.shape == (3,)
    assert one.tolist() == [0x000FFFFFEDCBA120, PRESENT_SHARED, 0x8000000012345025]
    ptes = np.array([PRESENT_SHARED, PROTNONE], dtype=np.uint64)[:, None]
    grid = ptebits.pte_modify(ptes, prots)
    assert grid.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert int(grid[i, j]) == ptebits.pte_modify(int(ptes[i, 0]), int(prots[j]))
    assert ptebits.pte_modify([PRESENT_SHARED, PROTNONE], "PAGE_SHARED").tolist() == \
        [PRESENT_SHARED, PRESENT_SHARED]


@pytest.mark.parametrize("helper", PRESENT_HELPERS)
def test_helpers_keep_the_shape_of_arrays(helper: str) -> None:
    raw = np.array([[PRESENT_SHARED, PROTNONE], [0x8000000012345067, 0x8400000012345425]],
                   dtype=np.uint64)
    for profile in (V618, V512):
        got = _op(helper)(raw, profile=profile)
        assert got.shape == (2, 2)
        assert got.tolist() == [[_op(helper)(int(v), profile=profile) for v in row]
                                for row in raw.tolist()]


def test_array_helpers_name_the_first_bad_element() -> None:
    raw = np.array([PRESENT_SHARED, PROTNONE, SWAP_1_1234, 0], dtype=np.uint64)
    with pytest.raises(ptebits.FieldRangeError, match=r"element 2") as info:
        ptebits.pte_modify(raw, "PAGE_NONE")
    assert (info.value.index, info.value.value) == (2, SWAP_1_1234)
    with pytest.raises(ptebits.FieldRangeError, match=r"element 0") as info:
        ptebits.pte_swp_mkuffd_wp(raw)
    assert info.value.index == 0
