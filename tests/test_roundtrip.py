"""Round trips (hypothesis):

* fields -> encode -> decode gives the fields back, for every kind of
  entry a profile has (present/PROT_NONE §1-§2, swap §3, migration/device/
  hwpoison §4, markers and the v2 special PTE §5);
* a canonical raw value -> decode -> encode gives the raw value back, and a
  non-canonical one still decodes to a kind;
* the vectorised encoders (numpy arrays, broadcasting) equal the scalar ones.

Limits come from the reference model (tests/reference.py), not from ptebits.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import ptebits
from ptebits.schema import iter_rows

import reference as R
from conftest import ALL_PROFILES

U64 = R.U64
SETTINGS = settings(max_examples=250, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

REF = {name: R.ref_profile(name) for name in ALL_PROFILES}


def _profiles_with(predicate: Any) -> List[str]:
    return [name for name, p in REF.items() if predicate(p)]


def _has(kind: str) -> Any:
    return lambda p: any(k == kind for k, _ in p.type_table.values())


def _decode_one(raw: int, profile: str) -> Any:
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile)
    return d, next(iter_rows(d))


# ---------------------------------------------------------- strategies

pfns_present = st.one_of(st.integers(0, (1 << 40) - 1),
                         st.sampled_from([0, 1, 0x12345, (1 << 34) - 1, (1 << 40) - 1]))
random_prot = st.integers(0, U64).map(lambda x: x & ~R.PTE_PFN_MASK & U64).flatmap(
    lambda f: st.sampled_from([f | R.PRESENT, (f & ~R.PRESENT) | R.PROTNONE]))
prots = st.one_of(st.sampled_from(sorted(set(ptebits.PGPROTS.values()))), random_prot)
offsets = st.one_of(st.integers(0, (1 << 50) - 1),
                    st.integers(0, 1 << 12),
                    st.sampled_from([0, 1, (1 << 34) - 1, 1 << 34, (1 << 50) - 2, (1 << 50) - 1]))


def swap_flags(p: R.RefProfile) -> st.SearchStrategy[Dict[str, bool]]:
    names = [n for n, bit in (("soft_dirty", p.swp_soft_dirty), ("uffd_wp", p.swp_uffd_wp),
                              ("exclusive", p.swp_exclusive)) if bit]
    return st.fixed_dictionaries({n: st.booleans() for n in names})


def pfns_for(p: R.RefProfile) -> st.SearchStrategy[int]:
    top = p.pfn_entry_limit - 1
    return st.one_of(st.integers(0, top), st.sampled_from([0, 1, 0x12345, top]))


# ------------------------------------------------ fields -> raw -> fields

@pytest.mark.parametrize("profile", ALL_PROFILES)
@SETTINGS
@given(pfn=pfns_present, prot=prots)
def test_present_and_protnone_fields_round_trip(profile: str, pfn: int, prot: int) -> None:
    """pfn_pte(pfn, prot) decodes back to pfn and pte_flags() == prot (§1, §2);
    PROT_NONE (no PRESENT, bit 8 set) has its PFN inverted and un-inverted."""
    raw = ptebits.encode_present(pfn, prot, profile=profile)
    assert int(raw) == R.encode_present(REF[profile], pfn, prot)
    d, row = _decode_one(int(raw), profile)
    assert row["kind"] == ("present" if prot & R.PRESENT else "protnone")
    assert (row["pfn"], int(d.flags[0]), row["canonical"]) == (pfn, prot, 1)


@pytest.mark.parametrize("profile", ALL_PROFILES)
@SETTINGS
@given(data=st.data())
def test_swap_fields_round_trip(profile: str, data: Any) -> None:
    """A swap slot (type < MAX_SWAPFILES, offset < 2^50, the profile's flag
    bits) decodes back to itself (§3); (0, 2^50-1) is excluded: it is raw 0."""
    p = REF[profile]
    type_ = data.draw(st.integers(0, p.max_swapfiles - 1), label="type")
    offset = data.draw(offsets, label="offset")
    flags = data.draw(swap_flags(p), label="flags")
    assume(not (type_ == 0 and offset == (1 << 50) - 1))
    raw = int(ptebits.encode_swap(type_, offset, profile=profile, **flags))
    assert raw == R.encode_swap(p, type_, offset, **flags)
    _, row = _decode_one(raw, profile)
    assert (row["kind"], row["swp_type"], row["swp_offset"], row["canonical"]) == \
        ("swap", type_, offset, 1)
    for name, on in flags.items():
        assert row["swp_" + name] == int(on)


def _sub_strategy(p: R.RefProfile, kind: str) -> st.SearchStrategy[str]:
    return st.sampled_from(sorted(sub for (k, sub) in p.type_of if k == kind))


@pytest.mark.parametrize("profile", _profiles_with(_has("migration")))
@SETTINGS
@given(data=st.data())
def test_migration_fields_round_trip(profile: str, data: Any) -> None:
    """Migration entries: read / read-exclusive (6.18) / write, the pfn,
    6.18's young/dirty offset bits and the swap flag bits survive (§4)."""
    p = REF[profile]
    sub = data.draw(_sub_strategy(p, "migration"), label="sub")
    pfn = data.draw(pfns_for(p), label="pfn")
    ad = {}
    if p.mig_young:
        ad = data.draw(st.fixed_dictionaries({"young": st.booleans(), "dirty": st.booleans()}))
    flags = data.draw(swap_flags(p), label="flags")
    flags.pop("exclusive", None)
    kw = dict(write=sub == "write", exclusive=sub == "read_exclusive", **ad, **flags)
    raw = int(ptebits.encode_migration(pfn, profile=profile, **kw))
    assert raw == R.encode_migration(p, pfn, **kw)
    _, row = _decode_one(raw, profile)
    assert (row["kind"], row["sub"], row["pfn"], row["canonical"]) == ("migration", sub, pfn, 1)
    assert row["swp_type"] == p.type_of[("migration", sub)]
    for name in ("young", "dirty"):
        assert row.get("mig_" + name, 0) == int(ad.get(name, False))
    for name, on in flags.items():
        assert row["swp_" + name] == int(on)


@pytest.mark.parametrize("profile", _profiles_with(_has("device")))
@SETTINGS
@given(data=st.data())
def test_device_fields_round_trip(profile: str, data: Any) -> None:
    """Device-private read/write (and 6.18 device-exclusive) entries (§4)."""
    p = REF[profile]
    sub = data.draw(_sub_strategy(p, "device"), label="sub")
    pfn = data.draw(pfns_for(p), label="pfn")
    flags = data.draw(swap_flags(p), label="flags")
    flags.pop("exclusive", None)
    kw = dict(write=sub == "private_write", exclusive=sub == "exclusive", **flags)
    raw = int(ptebits.encode_device(pfn, profile=profile, **kw))
    assert raw == R.encode_device(p, pfn, **kw)
    _, row = _decode_one(raw, profile)
    assert (row["kind"], row["sub"], row["pfn"], row["canonical"]) == ("device", sub, pfn, 1)
    assert row["swp_type"] == p.type_of[("device", sub)]


@pytest.mark.parametrize("profile", _profiles_with(_has("hwpoison")))
@SETTINGS
@given(data=st.data())
def test_hwpoison_fields_round_trip(profile: str, data: Any) -> None:
    """hwpoison entries carry the pfn in the offset (§4)."""
    p = REF[profile]
    pfn = data.draw(pfns_for(p), label="pfn")
    raw = int(ptebits.encode_hwpoison(pfn, profile=profile))
    assert raw == R.encode_hwpoison(p, pfn)
    _, row = _decode_one(raw, profile)
    assert (row["kind"], row["pfn"], row["swp_type"], row["canonical"]) == \
        ("hwpoison", pfn, p.type_of[("hwpoison", None)], 1)


@pytest.mark.parametrize("profile", _profiles_with(lambda p: p.marker_type is not None))
@pytest.mark.parametrize("bits", range(1, 8))
def test_every_marker_combination_round_trips(profile: str, bits: int) -> None:
    """Every non-empty combination of uffd-wp / poisoned / guard (§5)."""
    kw = dict(uffd_wp=bool(bits & 1), poisoned=bool(bits & 2), guard=bool(bits & 4))
    raw = int(ptebits.encode_marker(profile=profile, **kw))
    assert raw == R.encode_marker(REF[profile], **kw) == R.mk_swp(31, bits)
    _, row = _decode_one(raw, profile)
    assert (row["kind"], row["marker"], row["swp_offset"], row["canonical"]) == \
        ("marker", bits, bits, 1)
    assert (row["marker_uffd_wp"], row["marker_poisoned"], row["marker_guard"]) == \
        (int(kw["uffd_wp"]), int(kw["poisoned"]), int(kw["guard"]))


@pytest.mark.parametrize("profile", _profiles_with(lambda p: p.special_pte is not None))
def test_special_pte_round_trips(profile: str) -> None:
    """The v2 special PTE is exactly 0x4 and decodes as itself (§5)."""
    raw = ptebits.encode_special(profile=profile)
    assert raw == 0x4
    d, row = _decode_one(raw, profile)
    assert (row["kind"], row["canonical"], bool(d.uffd_wp_any[0])) == ("uffd_wp_special", 1, True)


# ------------------------------------------------ raw -> fields -> raw

LOW_BITS = st.one_of(st.sampled_from([0, 2, 4, 8, 6, 0xE, 0x20, 0x40]), st.integers(0, 0x1FF))
raw_values = st.one_of(
    st.integers(0, U64),
    st.builds(lambda t, off, low: R.mk_swp(t, off) | (low & ~R.PROTNONE & ~R.PRESENT),
              st.integers(0, 31), offsets, LOW_BITS),
    st.builds(lambda t, pfn, ad, low: R.mk_swp(t, pfn | (ad << 34)) | (low & 0xE),
              st.integers(24, 31), st.integers(0, (1 << 34) - 1), st.integers(0, 3), LOW_BITS),
    st.builds(R.pfn_pte, pfns_present, prots),
    st.sampled_from([0, 0x20, 0x40, 0x60, 0x4, 0x24, 0x6, U64, 0xFFFFFFFFFFFFFC00,
                     0xFFFFFFFFFFFFFE00, 0xF7FFE7FFFDB97400]),
)


def _reencode(profile: str, d: Any, row: Dict[str, Any]) -> int:
    kind = row["kind"]
    flag = lambda name: bool(row.get(name, 0))  # noqa: E731
    if kind == "none":
        return 0
    if kind in ("present", "protnone"):
        return int(ptebits.encode_present(row["pfn"], int(d.flags[0]), profile=profile))
    if kind == "swap":
        return int(ptebits.encode_swap(row["swp_type"], row["swp_offset"],
                                       soft_dirty=flag("swp_soft_dirty"),
                                       uffd_wp=flag("swp_uffd_wp"),
                                       exclusive=flag("swp_exclusive"), profile=profile))
    if kind == "migration":
        return int(ptebits.encode_migration(
            row["pfn"], write=row["sub"] == "write", exclusive=row["sub"] == "read_exclusive",
            young=flag("mig_young"), dirty=flag("mig_dirty"), soft_dirty=flag("swp_soft_dirty"),
            uffd_wp=flag("swp_uffd_wp"), profile=profile))
    if kind == "device":
        return int(ptebits.encode_device(
            row["pfn"], write=row["sub"] == "private_write", exclusive=row["sub"] == "exclusive",
            soft_dirty=flag("swp_soft_dirty"), uffd_wp=flag("swp_uffd_wp"), profile=profile))
    if kind == "hwpoison":
        return int(ptebits.encode_hwpoison(row["pfn"], profile=profile))
    if kind == "marker":
        return int(ptebits.encode_marker(uffd_wp=flag("marker_uffd_wp"),
                                         poisoned=flag("marker_poisoned"),
                                         guard=flag("marker_guard"), profile=profile))
    if kind == "uffd_wp_special":
        return int(ptebits.encode_special(profile=profile))
    raise AssertionError("a canonical %s entry" % kind)


@pytest.mark.parametrize("profile", ALL_PROFILES)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=raw_values)
def test_canonical_raw_values_round_trip_through_their_encoder(profile: str, raw: int) -> None:
    """decode then encode gives a canonical raw value back; a non-canonical
    value (e.g. A/D set on a none PTE, a flag bit the profile lacks) still
    decodes to one of the kinds, and the reference agrees on canonicity."""
    d, row = _decode_one(raw, profile)
    kind = int(d.kind[0])
    assert 0 <= kind < len(ptebits.Kind)
    assert ptebits.classify(np.array([raw], dtype=np.uint64), profile=profile)[0] == kind
    assert row["canonical"] == R.decode(REF[profile], raw)["canonical"]
    if row["canonical"]:
        assert _reencode(profile, d, row) == raw
    else:
        assert row["kind"] == R.kind(REF[profile], raw)


# ------------------------------------------------ vectorised == scalar

small = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("profile", ALL_PROFILES)
@small
@given(pfn=st.lists(pfns_present, min_size=1, max_size=12),
       prot=st.lists(prots, min_size=1, max_size=5))
def test_vectorised_encode_present_equals_scalar(profile: str, pfn: List[int],
                                                 prot: List[int]) -> None:
    """encode_present broadcasts pfn (n, 1) against prot (m,) like numpy."""
    out = ptebits.encode_present(np.array(pfn, dtype=np.uint64)[:, None],
                                 np.array(prot, dtype=np.uint64), profile=profile)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint64
    assert out.shape == (len(pfn), len(prot))
    for i, a in enumerate(pfn):
        for j, b in enumerate(prot):
            assert int(out[i, j]) == int(ptebits.encode_present(a, b, profile=profile))
    same = ptebits.encode_present(pfn, prot[0], profile=profile)      # a list works too
    assert same.tolist() == out[:, 0].tolist()


@pytest.mark.parametrize("profile", ALL_PROFILES)
@small
@given(data=st.data())
def test_vectorised_encode_swap_equals_scalar(profile: str, data: Any) -> None:
    """encode_swap with a scalar type, an offset array and per-entry flag arrays."""
    p = REF[profile]
    n = data.draw(st.integers(1, 12))
    type_ = data.draw(st.integers(1, p.max_swapfiles - 1))
    offs = data.draw(st.lists(offsets, min_size=n, max_size=n))
    flags = {name: data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
             for name in data.draw(swap_flags(p))}
    out = ptebits.encode_swap(type_, np.array(offs, dtype=np.uint64), profile=profile,
                              **{k: np.array(v) for k, v in flags.items()})
    assert out.shape == (n,)
    for i in range(n):
        one = ptebits.encode_swap(type_, offs[i], profile=profile,
                                  **{k: v[i] for k, v in flags.items()})
        assert int(out[i]) == int(one)


@pytest.mark.parametrize("profile", _profiles_with(_has("migration")))
@small
@given(data=st.data())
def test_vectorised_encode_migration_equals_scalar(profile: str, data: Any) -> None:
    """encode_migration broadcasts pfn (n, 1) against write (2,)."""
    p = REF[profile]
    pfn = data.draw(st.lists(pfns_for(p), min_size=1, max_size=10))
    write = np.array([False, True])
    extra = {"young": True} if p.mig_young else {}
    out = ptebits.encode_migration(np.array(pfn, dtype=np.uint64)[:, None], write=write,
                                   profile=profile, **extra)
    assert out.shape == (len(pfn), 2)
    for i, a in enumerate(pfn):
        for j, w in enumerate(write):
            one = ptebits.encode_migration(a, write=bool(w), profile=profile, **extra)
            assert int(out[i, j]) == int(one) == R.encode_migration(p, a, write=bool(w), **extra)


@pytest.mark.parametrize("profile", _profiles_with(lambda p: p.marker_type is not None))
def test_vectorised_encode_marker_equals_scalar(profile: str) -> None:
    """encode_marker with flag arrays gives one marker per element."""
    bits = np.arange(1, 8)
    out = ptebits.encode_marker(uffd_wp=(bits & 1) != 0, poisoned=(bits & 2) != 0,
                                guard=(bits & 4) != 0, profile=profile)
    assert out.tolist() == [R.mk_swp(31, int(b)) for b in bits]


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_vectorised_pte_helpers_equal_scalar(profile: str) -> None:
    """PTE helpers and pte_modify on arrays equal their scalar results."""
    raw = np.array([0x8000000012345027, 0x8000000012345067, 0x000FFFFFEDCBA120,
                    0x8400000012345425], dtype=np.uint64)
    for fn in (ptebits.pte_wrprotect, ptebits.pte_mkwrite, ptebits.pte_mkdirty,
               ptebits.pte_mkuffd_wp, ptebits.pte_mkclean, ptebits.pte_mkyoung,
               ptebits.pte_mkold):
        out = fn(raw, profile=profile)
        assert out.tolist() == [int(fn(int(v), profile=profile)) for v in raw]
    out = ptebits.pte_modify(raw, "PAGE_NONE", profile=profile)
    assert out.tolist() == [int(ptebits.pte_modify(int(v), 0x120, profile=profile)) for v in raw]


SCALAR_CALLS = {
    "encode_present": lambda: ptebits.encode_present(0x12345, "PAGE_SHARED"),
    "encode_swap": lambda: ptebits.encode_swap(1, 0x1234),
    "encode_migration": lambda: ptebits.encode_migration(0x12345, write=True),
    "encode_device": lambda: ptebits.encode_device(1, profile="linux-5.12-uffd-wp-v2"),
    "encode_hwpoison": lambda: ptebits.encode_hwpoison(1, profile="linux-5.12-uffd-wp-v2"),
    "encode_marker": lambda: ptebits.encode_marker(uffd_wp=True),
    "encode_special": lambda: ptebits.encode_special(profile="linux-5.12-uffd-wp-v2"),
    "pte_to_pagemap": lambda: ptebits.pte_to_pagemap(0xFFFFFFFFFFFFFC00),
    "pte_wrprotect": lambda: ptebits.pte_wrprotect(0x8000000012345027),
}
@pytest.mark.parametrize("name", sorted(SCALAR_CALLS))
def test_scalar_arguments_give_a_python_int(name: str) -> None:
    """Scalars in, a plain int out (as encode_present does); arrays in, arrays out."""
    result = SCALAR_CALLS[name]()
    assert type(result) is int
