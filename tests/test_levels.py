"""Entries of every page-table level (README "Levels"): PMD and PUD huge
leaves (PAT at bit 12, the L1TF inversion in both kernel forms), table
pointers, PMD/PUD swap-format entries (THP and hugetlbfs migration,
hugetlbfs hwpoison and markers, the v2 special), none entries, the 4-level
folded PGD, and bad inputs.

Known answers come from tests/data/level_vectors.json, worked out by hand
from the kernel source it cites; the properties below hold for any value:

    decode(raw, level).canonical  <=>  the level's encoder, given the decoded
                                       fields, accepts them and returns raw
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ptebits
from ptebits import _core
from ptebits._core import lib
from ptebits.cli import main
from ptebits.schema import FIELD_NAMES, csv_header, fields_for, iter_rows

from conftest import MAIN_PROFILES, as_int, load_json

VECTORS = load_json("level_vectors.json")
UPPER = ("pmd", "pud", "p4d", "pgd")
U64 = (1 << 64) - 1
PMD_PAGE_MASK = 0x000FFFFFFFE00000           # page_types.h PHYSICAL_PMD_PAGE_MASK
PUD_PAGE_MASK = 0x000FFFFFC0000000
PTE_PFN_MASK = 0x000FFFFFFFFFF000
PSE, PAT_LARGE = 1 << 7, 1 << 12
PROFILES = MAIN_PROFILES + ("linux-6.18+la57", "linux-6.18+memory_failure+device_private")


def _profiles(spec: Any) -> Tuple[str, ...]:
    return MAIN_PROFILES if spec == "both" else tuple(spec)


def _row(raw: int, profile: str, level: str) -> Dict[str, Any]:
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile, level=level)
    return next(iter_rows(d))


# ----------------------------------------------------------- known answers

def _decode_cases() -> Iterator[Any]:
    for v in VECTORS["decode"]:
        for profile in _profiles(v["profiles"]):
            for level in v["levels"]:
                yield pytest.param(v, profile, level,
                                   id="%s-%s-%s" % (v["raw"], profile, level))


@pytest.mark.parametrize("vector, profile, level", list(_decode_cases()))
def test_decode_vectors(vector: Dict[str, Any], profile: str, level: str) -> None:
    raw = as_int(vector["raw"])
    arr = np.array([raw], dtype=np.uint64)
    d = ptebits.decode(arr, profile=profile, level=level)
    assert d.level == level
    row = next(iter_rows(d))
    for key, want in vector["expect"].items():
        if key == "flags":
            assert int(d.flags[0]) == as_int(want), (vector["name"], key)
        else:
            assert row.get(key) == as_int(want), (vector["name"], key, row)
    for key in vector.get("absent", ()):
        assert key not in row, (vector["name"], key, row)
    # classify and the scalar view agree with decode
    assert int(ptebits.classify(arr, profile=profile, level=level)[0]) == int(d.kind[0])
    assert ptebits.Pte(raw, profile=profile, level=level).fields() == row


def _encode_cases() -> Iterator[Any]:
    for v in VECTORS["encode"]:
        for profile in _profiles(v["profiles"]):
            yield pytest.param(v, profile, id="%s-%s-%s" % (v["call"], v["raw"], profile))


@pytest.mark.parametrize("vector, profile", list(_encode_cases()))
def test_encode_vectors(vector: Dict[str, Any], profile: str) -> None:
    fn = getattr(ptebits, vector["call"])
    args = [as_int(a) for a in vector["args"]]
    got = fn(*args, profile=profile, **vector["kwargs"])
    assert got == as_int(vector["raw"])
    # and it decodes back, canonical, at its level
    level = vector["kwargs"].get("level", "pmd")
    assert _row(got, profile, level)["canonical"] == 1


def test_every_encode_vector_is_also_a_decode_vector() -> None:
    decoded = {(as_int(v["raw"]), lv) for v in VECTORS["decode"] for lv in v["levels"]}
    for v in VECTORS["encode"]:
        assert (as_int(v["raw"]), v["kwargs"].get("level", "pmd")) in decoded, v


def test_sources_are_cited() -> None:
    for v in VECTORS["decode"] + VECTORS["encode"]:
        for source in v["source"].split(", "):
            assert source in VECTORS["sources"], (v, source)


# -------------------------------------------------------- kinds and names

def test_table_kind_is_appended() -> None:
    """Existing kind numbers do not move; TABLE comes after BAD."""
    assert [(str(k), int(k)) for k in ptebits.Kind] == [
        ("none", 0), ("present", 1), ("protnone", 2), ("swap", 3), ("migration", 4),
        ("device", 5), ("hwpoison", 6), ("marker", 7), ("uffd_wp_special", 8), ("bad", 9),
        ("table", 10)]
    assert ptebits.LEVELS == ("pte", "pmd", "pud", "p4d", "pgd")


def test_pte_level_never_yields_table(profile_name: str) -> None:
    rng = np.random.default_rng(7)
    raw = rng.integers(0, 1 << 64, size=20000, dtype=np.uint64, endpoint=False)
    raw[::3] |= np.uint64(1)                   # plenty of present entries
    assert not (ptebits.decode(raw, profile=profile_name).kind == int(ptebits.Kind.TABLE)).any()


# ------------------------------------------------------ level "pte" is the PTE

@pytest.mark.parametrize("profile", MAIN_PROFILES)
def test_level_pte_is_the_default_path(profile: str) -> None:
    rng = np.random.default_rng(11)
    raw = rng.integers(0, 1 << 64, size=5000, dtype=np.uint64, endpoint=False)
    a = ptebits.decode(raw, profile=profile)
    b = ptebits.decode(raw, profile=profile, level="pte")
    for name in ("kind", "pfn", "flags", "swp_type", "swp_offset", "aux"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert a.level == b.level == "pte"
    assert np.array_equal(ptebits.classify(raw, profile=profile, level="PTE"), a.kind)
    assert list(iter_rows(a, 0, 50)) == list(iter_rows(b, 0, 50))


@pytest.mark.parametrize("profile", MAIN_PROFILES)
def test_c_level_loop_at_pte_is_the_fast_decode(profile: str) -> None:
    """pb_decode_level_array(PB_LEVEL_PTE) hands over to pb_decode_array."""
    rng = np.random.default_rng(3)
    raw = rng.integers(0, 1 << 64, size=3000, dtype=np.uint64, endpoint=False)
    prof = ptebits.get_profile(profile)
    cols = [np.empty(raw.shape, dt) for dt in (np.uint8, np.uint64, np.uint64, np.uint8,
                                               np.uint64, np.uint16)]
    assert _core.decode_level(prof.handle, lib.PB_LEVEL_PTE, raw, cols) == lib.PB_OK
    d = ptebits.decode(raw, profile=profile)
    for col, name in zip(cols, ("kind", "pfn", "flags", "swp_type", "swp_offset", "aux")):
        assert np.array_equal(col, getattr(d, name))


def test_c_rejects_unknown_level_numbers() -> None:
    prof = ptebits.get_profile("linux-6.18")
    raw = np.zeros(4, dtype=np.uint64)
    cols = [np.empty(4, dt) for dt in (np.uint8, np.uint64, np.uint64, np.uint8,
                                       np.uint64, np.uint16)]
    for bad in (-1, lib.PB_LEVEL_COUNT):
        assert _core.decode_level(prof.handle, bad, raw, cols) == lib.PB_E_LEVEL
        assert _core.classify_level(prof.handle, bad, raw, cols[0]) == lib.PB_E_LEVEL
        assert lib.pb_classify_level_one(prof.handle, bad, 0) == -lib.PB_E_LEVEL
    assert _core.leaf_shift(lib.PB_LEVEL_P4D) == 0 and _core.leaf_shift(lib.PB_LEVEL_PUD) == 30


# --------------------------------------------------------- Decoded.level

def test_decoded_carries_its_level() -> None:
    raw = np.array([0x12345067, 0x80000000122000a7, 0], dtype=np.uint64)
    d = ptebits.decode(raw, level="pmd")
    assert d.level == "pmd"
    assert repr(d).startswith("<Decoded 3 pmd entries under linux-6.18:")
    assert d[1:].level == "pmd" and int(d[1:].kind[0]) == int(ptebits.Kind.PRESENT)
    assert d.counts()["table"] == 1
    # out= reuse switches the level with the columns
    out = ptebits.decode(raw, level="pte", out=d)
    assert out is d and d.level == "pte" and int(d.kind[0]) == int(ptebits.Kind.PRESENT)
    ptebits.decode(raw, level="pud", out=d)
    assert d.level == "pud"
    empty = ptebits.Decoded.empty(ptebits.get_profile("linux-6.18"), (2,), level="p4d")
    assert empty.level == "p4d"


def test_views_follow_the_level() -> None:
    """pat is bit 7 of a PTE but bit 12 (PAT_LARGE) of a huge leaf."""
    raw = np.array([0x80000000122010a7, 0x8000000012344027 | 0x80], dtype=np.uint64)
    pte = ptebits.decode(raw)
    pmd = ptebits.decode(raw, level="pmd")
    assert pte.pat.tolist() == [True, True]          # bit 7 set in both
    assert pmd.pat.tolist() == [True, False]         # bit 12: only the first
    assert pmd.pse.tolist() == [True, True]
    assert pmd.page_size.tolist() == [1 << 21, 1 << 21]
    # a field of another level applies to no entry: all 0/False, as for other kinds
    assert pte.pse.tolist() == [False, False] and pte.pse.dtype == np.bool_
    assert pmd.pte_none.tolist() == [False, False] and pmd.swp_exclusive.tolist() == [0, 0]
    assert pte.page_size.tolist() == [0, 0]
    with pytest.raises(AttributeError, match="no field 'bogus'"):
        pmd.bogus


# ------------------------------------------------------------------ schema

def test_rows_carry_only_the_level_fields() -> None:
    raw = np.array([0x12345067, 0x80000000122010a7, 0x000FFFFFEDC001A0, 0,
                    0xF7FFF7FFFDBBFE04, 0xFFFFFFFFFFFFFC00, 0x0FFFFFFFFFDB9600],
                   dtype=np.uint64)
    for level in UPPER:
        d = ptebits.decode(raw, level=level)
        header = csv_header(level)
        names = [f.name for f in fields_for(level)]
        for row in iter_rows(d):
            assert set(row) <= set(header), (level, row)
            keys = [k for k in row if k not in ("raw", "kind")]
            assert keys == [n for n in names if n in keys]       # schema order
            assert not {"pte_none", "pte_present", "pte_protnone"} & set(row)
            if row["kind"] == "table":
                # PTE-only fields are gone: bit 7 is PSE, not PAT, in a table pointer
                assert not {"pat", "global", "special", "uffd_wp", "pkey", "write",
                            "page_size", "swp_type"} & set(row), row
                assert row["pse"] == 0 or level in ("p4d", "pgd")
    assert csv_header("pte") == ("raw", "kind") + FIELD_NAMES


def test_pgd_predicates_follow_paging_mode() -> None:
    raw = np.array([0x12345067], dtype=np.uint64)
    four = next(iter_rows(ptebits.decode(raw, level="pgd")))
    five = next(iter_rows(ptebits.decode(raw, level="pgd", profile="linux-6.18+la57")))
    assert "p4d_present" in four and "pgd_present" not in four
    assert "pgd_present" in five and "p4d_present" not in five


# ------------------------------------------------------------- round trips

def _reencode(row: Dict[str, Any], flags: int, aux: int, profile: str,
              level: str) -> Optional[int]:
    """The level's encoder fed with the decoded fields; None if it refuses."""
    kind = row["kind"]
    kw: Dict[str, Any] = {"profile": profile, "level": level}
    try:
        if kind == "none":
            return 0
        if kind == "table":
            return ptebits.encode_table(row["pfn"], flags, **kw)
        if kind in ("present", "protnone"):
            return ptebits.encode_huge(row["pfn"], flags, invert_4k=bool(row.get("invert_4k")),
                                       **kw)
        if kind == "migration":
            return ptebits.encode_migration(
                row["pfn"], write=row["sub"] == "write", exclusive=row["sub"] == "read_exclusive",
                young=bool(row.get("mig_young")), dirty=bool(row.get("mig_dirty")),
                soft_dirty=bool(row.get("swp_soft_dirty")), uffd_wp=bool(row.get("swp_uffd_wp")),
                **kw)
        if kind == "hwpoison":
            return ptebits.encode_hwpoison(row["pfn"], **kw)
        if kind == "marker":
            return ptebits.encode_marker(uffd_wp=bool(row["marker_uffd_wp"]),
                                         poisoned=bool(row["marker_poisoned"]), **kw)
        if kind == "uffd_wp_special":
            return ptebits.encode_special(**kw)
    except ptebits.FieldRangeError:
        return None
    return None                                  # bad: nothing encodes to it


def _check_canonical(raws: List[int], profile: str, level: str) -> None:
    arr = np.array(raws, dtype=np.uint64)
    d = ptebits.decode(arr, profile=profile, level=level)
    for i, row in enumerate(iter_rows(d)):
        again = _reencode(row, int(d.flags[i]), int(d.aux[i]), profile, level)
        assert bool(row["canonical"]) == (again == raws[i]), (hex(raws[i]), row, again)


#: Values near the formats: encoder outputs with bits flipped.
def _near_values() -> st.SearchStrategy[int]:
    pfn = st.integers(0, (1 << 40) - 1)
    aligned = st.sampled_from([0, 0x12200, 0x40000, (1 << 40) - 512, (1 << 40) - (1 << 18)])
    bases = st.one_of(
        st.builds(lambda p, f: ((p << 12) & PTE_PFN_MASK) | f | 1, pfn,
                  st.integers(0, U64) .map(lambda x: x & ~PTE_PFN_MASK)),
        st.builds(lambda p, inv, f: (((p << 12) ^ (U64 if inv else 0)) & PMD_PAGE_MASK) | f | PSE,
                  st.one_of(pfn, aligned), st.booleans(),
                  st.integers(0, U64).map(lambda x: x & ~PMD_PAGE_MASK)),
        st.builds(lambda p, inv, f: (((p << 12) ^ (U64 if inv else 0)) & PUD_PAGE_MASK) | f | PSE,
                  st.one_of(pfn, aligned), st.booleans(),
                  st.integers(0, U64).map(lambda x: x & ~PUD_PAGE_MASK)),
        st.builds(lambda t, off: (((~off & U64) << 14 & U64) >> 5) | (t << 59),
                  st.integers(0, 31), st.one_of(st.integers(0, (1 << 50) - 1),
                                                aligned, st.integers(0, 7))),
        st.sampled_from([0, 0x20, 0x40, 0x60, 0x4, 0x000FFFFFEDDFF1A0, 0x000FFFFFBFFFF1A0]),
    )
    flips = st.lists(st.integers(0, 63), max_size=2)
    return st.builds(lambda v, fl: v ^ sum(1 << b for b in set(fl)), bases, flips)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("level", UPPER)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(st.one_of(_near_values(), st.integers(0, U64)), min_size=1,
                       max_size=40))
def test_canonical_means_reencodes(profile: str, level: str, values: List[int]) -> None:
    _check_canonical(values, profile, level)


def test_canonical_edge_cases() -> None:
    """Every decode vector, under every profile and upper level."""
    raws = sorted({as_int(v["raw"]) for v in VECTORS["decode"]})
    extra = [0x000FFFFFEDDFE1A0,                  # hugetlb form with PAT_LARGE set
             0x000FFFFFEDD001A0,                  # a few reserved bits only: not canonical
             0x0000000012345066,                  # no PRESENT: bad
             0x0000000012345167,                  # PROTNONE|PRESENT: a table (bit 8 ignored)
             0xFFFFFFFFFFFFFE00,                  # empty marker
             0xFFFFFFFFFFFFFC04]                  # marker with a swap flag bit
    for profile in PROFILES:
        for level in UPPER:
            _check_canonical(raws + extra, profile, level)


@pytest.mark.parametrize("profile", MAIN_PROFILES)
@given(pfn=st.integers(0, (1 << 40) - 1),
       prot=st.integers(0, U64).map(lambda x: (x & ~PTE_PFN_MASK & ~PSE) | 1),
       level=st.sampled_from(UPPER))
def test_table_round_trip(profile: str, pfn: int, prot: int, level: str) -> None:
    raw = ptebits.encode_table(pfn, prot, level=level, profile=profile)
    assert raw == (pfn << 12) | prot
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile, level=level)
    assert str(ptebits.Kind(int(d.kind[0]))) == "table"
    assert (int(d.pfn[0]), int(d.flags[0]), bool(d.canonical[0])) == (pfn, prot, True)


@pytest.mark.parametrize("profile", MAIN_PROFILES)
@given(data=st.data(), level=st.sampled_from(("pmd", "pud")), invert=st.booleans())
def test_huge_round_trip(profile: str, data: Any, level: str, invert: bool) -> None:
    shift = 21 if level == "pmd" else 30
    pfn = data.draw(st.integers(0, (1 << (52 - shift)) - 1)) << (shift - 12)
    prot = data.draw(st.integers(0, U64).map(lambda x: x & ~PTE_PFN_MASK | (x & PAT_LARGE)))
    present = bool(prot & 1)
    invert = invert and not present
    raw = ptebits.encode_huge(pfn, prot, level=level, invert_4k=invert, profile=profile)
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile, level=level)
    assert str(ptebits.Kind(int(d.kind[0]))) == ("present" if present else "protnone")
    assert int(d.pfn[0]) == pfn
    assert int(d.flags[0]) == prot | PSE
    assert bool(d.invert_4k[0]) == invert and bool(d.canonical[0])
    if not present:
        # the PFN bits are stored inverted (L1TF), S..51, or 12..51 for invert_4k
        if invert:    # with PAT_LARGE and the reserved bits, as pte_modify flips them
            assert raw & PTE_PFN_MASK == ~((pfn << 12) | (prot & PAT_LARGE)) & PTE_PFN_MASK
        else:
            mask = PMD_PAGE_MASK if level == "pmd" else PUD_PAGE_MASK
            assert raw & mask == ~(pfn << 12) & mask
            assert raw & PAT_LARGE == prot & PAT_LARGE


def test_arrays_broadcast_at_upper_levels() -> None:
    pfns = np.array([0, 512, 1024], dtype=np.uint64)
    out = ptebits.encode_huge(pfns, "PAGE_SHARED")
    assert out.tolist() == [0x80000000000000a7 | (int(p) << 12) for p in pfns]
    tables = ptebits.encode_table(np.arange(3, dtype=np.uint64), level="pud")
    assert tables.tolist() == [0x67, 0x1067, 0x2067]


# -------------------------------------------------------------- bad inputs

@pytest.mark.parametrize("call", [
    lambda: ptebits.decode(np.zeros(1, dtype=np.uint64), level="pmx"),
    lambda: ptebits.classify(np.zeros(1, dtype=np.uint64), level="pte4"),
    lambda: ptebits.encode_table(1, level="l5"),
    lambda: ptebits.encode_huge(0, "PAGE_SHARED", level="huge"),
    lambda: ptebits.encode_migration(0, level="PM D"),
    lambda: ptebits.Pte(0, level="p5d"),
])
def test_unknown_level_names_the_argument(call: Any) -> None:
    with pytest.raises(ptebits.InvalidValueError, match=r"level=.* is not a page-table level; "
                                                        r"levels are: pte, pmd, pud, p4d, pgd"):
        call()


def test_level_must_be_a_name() -> None:
    with pytest.raises(ptebits.InvalidTypeError, match="level must be a level name"):
        ptebits.decode(np.zeros(1, dtype=np.uint64), level=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("call, field, message", [
    (lambda p: ptebits.encode_huge(0x12201, "PAGE_SHARED", profile=p), "pfn",
     r"pfn=0x12201 is not a multiple of 512: a pmd-level entry holds the first PFN of a "
     r"2 MiB page"),
    (lambda p: ptebits.encode_huge(0x20200, "PAGE_SHARED", level="pud", profile=p), "pfn",
     r"not a multiple of 262144.*1 GiB page"),
    (lambda p: ptebits.encode_migration(0x12345, level="pmd", profile=p), "pfn",
     r"not a multiple of 512"),
    (lambda p: ptebits.encode_huge(1 << 40, "PAGE_SHARED", profile=p), "pfn",
     r"pfn=0x10000000000 is out of range .*limit 0x10000000000"),
    (lambda p: ptebits.encode_table(1 << 40, profile=p), "pfn",
     r"limit 0x10000000000"),
    (lambda p: ptebits.encode_huge(0x12200, 0x2027, profile=p), "prot",
     r"prot=0x2027 has bits inside the PFN field \(bits 13-51 at the pmd level; bit 12 is "
     r"PAT_LARGE\)"),
    (lambda p: ptebits.encode_table(0x12345, 0x1067, profile=p), "prot",
     r"bits 12-51"),
    (lambda p: ptebits.encode_table(0x12345, 0x66, profile=p), "alias",
     r"needs PRESENT"),
    (lambda p: ptebits.encode_table(0x12345, 0xe7, level="pmd", profile=p), "alias",
     r"no PSE"),
    (lambda p: ptebits.encode_table(0x12345, 0xe7, level="p4d", profile=p), "level",
     r"bit 7 \(PSE\) is reserved in p4d entries"),
    (lambda p: ptebits.encode_table(0x12345, level="pte", profile=p), "level",
     r"table pointers live at pmd, pud, p4d and pgd"),
    (lambda p: ptebits.encode_huge(0x12200, "PAGE_SHARED", level="p4d", profile=p), "level",
     r"huge leaves exist at pmd \(2 MiB\) and pud \(1 GiB\) only"),
    (lambda p: ptebits.encode_huge(0x12200, "PAGE_SHARED", level="pte", profile=p), "level",
     r"encode_present makes 4 KiB PTEs"),
    (lambda p: ptebits.encode_migration(0x12200, level="p4d", profile=p), "level",
     r"p4d entries are table pointers or none"),
    (lambda p: ptebits.encode_huge(0x12200, "PAGE_SHARED", invert_4k=True, profile=p),
     "invert_4k", r"invert_4k=True is not available"),
])
@pytest.mark.parametrize("profile", MAIN_PROFILES)
def test_encode_errors(profile: str, call: Any, field: str, message: str) -> None:
    with pytest.raises(ptebits.FieldRangeError, match=message) as exc:
        call(profile)
    assert exc.value.field == field
    assert isinstance(exc.value, ValueError)


def test_encode_errors_per_profile() -> None:
    with pytest.raises(ptebits.FieldRangeError, match="guard markers are PTE-only") as exc:
        ptebits.encode_marker(guard=True, level="pmd")
    assert exc.value.field == "level"
    with pytest.raises(ptebits.FieldRangeError, match="has no marker entries"):
        ptebits.encode_marker(uffd_wp=True, level="pmd", profile="linux-5.12-uffd-wp-v2")
    with pytest.raises(ptebits.FieldRangeError, match="has no uffd_wp_special entries"):
        ptebits.encode_special(level="pud")
    with pytest.raises(ptebits.FieldRangeError, match="has no hwpoison entries"):
        ptebits.encode_hwpoison(0x12200, level="pmd")
    with pytest.raises(ptebits.FieldRangeError, match=r"\(element 1\)"):
        ptebits.encode_huge(np.array([512, 513], dtype=np.uint64), "PAGE_SHARED")


# ----------------------------------------------------------------- explain

def test_pte_scalar_view_at_upper_levels() -> None:
    pte = ptebits.Pte(0x80000000122010a7, level="pmd")
    assert pte.kind == ptebits.Kind.PRESENT and pte.level == "pmd"
    assert (pte.pfn, pte.pat, pte.pse, pte.page_size) == (0x12200, 1, 1, 1 << 21)
    assert pte.swp_type is None
    assert repr(pte) == "Pte(0x80000000122010a7, profile='linux-6.18', level='pmd')"
    assert str(pte) == ("0x80000000122010a7 present pfn=0x12200 2 MiB P RW USER A PSE "
                        "PAT_LARGE NX")
    assert pte != ptebits.Pte(0x80000000122010a7)            # the PTE reading differs
    assert pte.pte_none is None and pte.swp_exclusive is None
    with pytest.raises(AttributeError, match="no field 'bogus'"):
        pte.bogus
    text = pte.explain()
    assert text.splitlines()[0].endswith("under linux-6.18, pmd level")
    for line in ("  51-21   PFN", "  20-13   (reserved)", "  12      PAT_LARGE", "  7       PSE"):
        assert any(ln.startswith(line) for ln in text.splitlines()), line
    assert "fault: huge PMD" in text


def test_explain_tables_and_the_folded_pgd() -> None:
    text = ptebits.Pte(0x12345067, level="pgd").explain()
    assert "4-level paging: the P4D is folded into the PGD" in text
    assert "PFN of the PUD table" in text and "PSE (reserved)" in text
    five = ptebits.Pte(0x12345067, level="pgd", profile="linux-6.18+la57").explain()
    assert "folded" not in five and "PFN of the P4D table" in five
    hugetlb = ptebits.Pte(0x000FFFFFEDDFF1A0, level="pmd").explain()
    assert "(4 KiB inversion)" in hugetlb and "PAT_LARGE inverted" in hugetlb
    assert "hugetlbfs after mprotect(PROT_NONE)" in hugetlb
    bad = str(ptebits.Pte(0x0FFFFFFFFFDB9600, level="pmd"))
    assert "a huge page is split before swap-out" in bad


def test_cli_explain_level(capsys: Any) -> None:
    capsys.readouterr()
    assert main(["explain", "--level", "pmd", "80000000122010a7"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "0x80000000122010a7 (pmd entry)"
    assert "linux-6.18             present pfn=0x12200 2 MiB P RW USER A PSE PAT_LARGE NX" in out
    assert "linux-5.12-uffd-wp-v2  present pfn=0x12200 2 MiB" in out
    assert main(["explain", "--level", "pud", "--profile", "linux-5.12-uffd-wp-v2", "4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("0x0000000000000004 uffd_wp_special")
    assert "pud level" in out.splitlines()[0]
    # without --level the output is the PTE one, unchanged
    assert main(["explain", "80000000122010a7"]) == 0
    assert "(pmd entry)" not in capsys.readouterr().out
    assert main(["explain", "--level", "pmd", "--pagemap", "4"]) == 2
    assert "--level pmd does not apply" in capsys.readouterr().err
    assert main(["explain", "--level", "pmx", "4"]) == 2
    assert "invalid choice: 'pmx'" in capsys.readouterr().err
