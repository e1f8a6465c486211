"""The C path (ptebits.decode / classify / pte_to_pagemap and the PTE
helpers) agrees with the independent plain-Python reference model
(tests/reference.py, written from kernel-facts.md) on edge cases and on a
large seeded random sample, under both built-in profiles and the knob
variants of kernel-facts §4 column c (memory_failure + device_private) and
§8 (la57).
"""
from __future__ import annotations

import zlib
from typing import Any, Dict, Iterable, List, Sequence

import numpy as np
import pytest

import ptebits
from ptebits.schema import iter_rows

import reference as R
from conftest import ALL_PROFILES, args_of, as_int, section_id, spec

U64 = R.U64

#: Columns compared one to one: Decoded view name -> reference field.
VIEW_FIELDS = (
    "pfn", "swp_type", "swp_offset", "marker", "swp_soft_dirty", "swp_uffd_wp",
    "swp_exclusive", "mig_young", "mig_dirty", "canonical", "write", "dirty", "young",
    "uffd_wp", "soft_dirty", "saved_dirty", "devmap", "pkey", "pte_protnone", "pte_none",
    "pte_present", "rw", "user", "pwt", "pcd", "accessed", "dirty_hw", "pat", "global",
    "protnone", "special", "nx", "marker_uffd_wp", "marker_poisoned", "marker_guard",
)

#: pagemap facts combinations: (file, exclusive, show_pfn)
FACTS = ((False, False, True), (True, False, True), (False, True, True), (True, True, True),
         (True, True, False))


# ------------------------------------------------------------- helpers

def _u64(values: Iterable[int]) -> np.ndarray:
    return np.array(list(values), dtype=np.uint64)


def _mismatches(raw: np.ndarray, got: Sequence[Any], want: Sequence[Any], limit: int = 5) -> str:
    bad = [i for i in range(len(want)) if got[i] != want[i]]
    shown = ", ".join("raw=%#018x got=%r want=%r" % (int(raw[i]), got[i], want[i])
                      for i in bad[:limit])
    return "%d mismatches: %s" % (len(bad), shown)


def _disputed(p: R.RefProfile, raw: np.ndarray) -> np.ndarray:
    """Marker-type entries with bits above PTE_MARKER_MASK: see
    test_marker_bits_beyond_the_mask_follow_pte_marker_get (known bug)."""
    return np.array([R.marker_bits_beyond_mask(p, int(v)) for v in raw], dtype=bool)


def assert_decode_matches_reference(profile: str, raw: np.ndarray) -> None:
    """Every decoded column and view equals the reference, entry by entry."""
    p = R.ref_profile(profile)
    ref = R.decode_many(p, raw.tolist())
    d = ptebits.decode(raw, profile=profile)

    kinds = [str(ptebits.Kind(int(k))) for k in d.kind]
    assert kinds == ref["kind"], _mismatches(raw, kinds, ref["kind"])
    classified = [str(ptebits.Kind(int(k))) for k in ptebits.classify(raw, profile=profile)]
    assert classified == ref["kind"], _mismatches(raw, classified, ref["kind"])
    flags = d.flags.tolist()
    assert flags == ref["flags"], _mismatches(raw, flags, ref["flags"])
    for name in VIEW_FIELDS:
        got = [int(x) for x in getattr(d, name).tolist()]
        assert got == ref[name], "%s: %s" % (name, _mismatches(raw, got, ref[name]))

    subs = [row.get("sub") for row in iter_rows(d)]
    assert subs == ref["sub"], "sub: " + _mismatches(raw, subs, ref["sub"])

    keep = ~_disputed(p, raw)
    got_any = [int(x) for x in d.uffd_wp_any[keep].tolist()]
    want_any = [w for w, k in zip(ref["uffd_wp_any"], keep) if k]
    assert got_any == want_any, "uffd_wp_any: " + _mismatches(raw[keep], got_any, want_any)


def assert_pagemap_matches_reference(profile: str, raw: np.ndarray, seed: int = 0) -> None:
    """pte_to_pagemap equals the reference for several page facts."""
    p = R.ref_profile(profile)
    raw = raw[~_disputed(p, raw)]
    rng = np.random.default_rng(seed)
    for file, exclusive, show_pfn in FACTS:
        got = ptebits.pte_to_pagemap(raw, file=file, exclusive=exclusive, show_pfn=show_pfn,
                                     profile=profile).tolist()
        want = [R.pte_to_pagemap(p, v, file=file, exclusive=exclusive, show_pfn=show_pfn)
                for v in raw.tolist()]
        assert got == want, "facts %r: %s" % ((file, exclusive, show_pfn),
                                              _mismatches(raw, got, want))
    # per-entry facts as arrays
    file_arr = rng.integers(0, 2, raw.shape).astype(bool)
    excl_arr = rng.integers(0, 2, raw.shape).astype(bool)
    got = ptebits.pte_to_pagemap(raw, file=file_arr, exclusive=excl_arr, profile=profile)
    want = [R.pte_to_pagemap(p, v, file=bool(f), exclusive=bool(e))
            for v, f, e in zip(raw.tolist(), file_arr, excl_arr)]
    assert got.tolist() == want, _mismatches(raw, got.tolist(), want)
    if p.knobs["soft_dirty"]:
        got = ptebits.pte_to_pagemap(raw, vma_soft_dirty=True, profile=profile).tolist()
        want = [R.pte_to_pagemap(p, v, vma_soft_dirty=True) for v in raw.tolist()]
        assert got == want, _mismatches(raw, got, want)


# ---------------------------------------------------------- edge cases

PRESENT_BASES = (0x8000000012345027, 0x000FFFFFEDCBA120, 0x8400000012345425)
SWAP_BASES = (0x0FFFFFFFFFDB9600, 0xF7FFFFFFFDB97400, 0xEFFFFFFFFDB97400, 0xFFFFFFFFFFFFFC00,
              0x07FFFFFFFFFFFE00, 0x4)
OFFSETS = (0, 1, 2, 0x1234, (1 << 34) - 1, 1 << 34, (1 << 35) | 5, 3 << 34 | 0x12345, 1 << 36,
           (1 << 40) - 1, 1 << 40, 3 << 40 | 0x12345, (1 << 50) - 2, (1 << 50) - 1)
LOW_BITS = (0, 0x2, 0x4, 0x8, 0x6, 0xE, 0x10, 0x20, 0x40, 0x60, 0x80)


def single_bits() -> List[int]:
    return [0, U64] + [1 << b for b in range(64)] + [U64 ^ (1 << b) for b in range(64)]


def single_bits_on_bases() -> List[int]:
    out = set()
    for base in PRESENT_BASES + SWAP_BASES:
        for b in range(64):
            out |= {base | (1 << b), base ^ (1 << b), base & ~(1 << b)}
    return sorted(out)


def every_swap_type() -> List[int]:
    return sorted({R.mk_swp(t, off) | low for t in range(32) for off in OFFSETS
                   for low in LOW_BITS})


def accessed_dirty_only() -> List[int]:
    return [0x0, 0x20, 0x40, 0x60]


def special_pte_and_lookalikes() -> List[int]:
    return [0x4, 0x24, 0x44, 0x64, 0x6, 0xC, 0xE, 0x14, 0x84, 0x5, 0x104, 0x2, 0x8,
            0x4 | (1 << 63), 0x4 | (1 << 9)]


def marker_combinations() -> List[int]:
    offsets = list(range(8)) + [8, 9, 0xC, 0xF, 0x11, (1 << 49) | 1, (1 << 49) | 4,
                                (1 << 50) - 1, (1 << 50) - 2]
    return sorted({R.mk_swp(31, m) | low for m in offsets for low in (0, 2, 4, 8, 0x20, 0x80)})


def present_boundaries() -> List[int]:
    prots = (R.PAGE_SHARED, R.PAGE_NONE, R.PAGE_COPY, 0x1, 0x100, 0x101, 0x1FF,
             U64 & ~R.PTE_PFN_MASK, U64 & ~R.PTE_PFN_MASK & ~1)
    return sorted({R.pfn_pte(pfn, prot) for pfn in (0, 1, 0x12345, (1 << 34), (1 << 40) - 1)
                   for prot in prots})


EDGE_SETS = {
    "single-bits-and-complements": single_bits,
    "single-bits-on-present-and-swap-bases": single_bits_on_bases,
    "every-swap-type-with-offsets-and-low-bits": every_swap_type,
    "accessed-dirty-only": accessed_dirty_only,
    "special-pte-and-lookalikes": special_pte_and_lookalikes,
    "marker-combinations": marker_combinations,
    "present-pfn-and-prot-boundaries": present_boundaries,
}


@pytest.mark.parametrize("edge_set", sorted(EDGE_SETS))
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_decode_matches_reference_on_edge_cases(profile: str, edge_set: str,
                                               decode_form: str) -> None:
    """decode/classify equal the reference model on hand-picked edge cases."""
    assert_decode_matches_reference(profile, _u64(EDGE_SETS[edge_set]()))


@pytest.mark.parametrize("edge_set", sorted(EDGE_SETS))
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_pagemap_matches_reference_on_edge_cases(profile: str, edge_set: str) -> None:
    """pte_to_pagemap equals the reference model's pte_to_pagemap_entry (§6)."""
    assert_pagemap_matches_reference(profile, _u64(EDGE_SETS[edge_set]()))


@pytest.mark.parametrize("profile", ("linux-5.12-uffd-wp-v2+no_uffd_wp", "linux-6.18+no_migration",
                                     "linux-5.12-uffd-wp-v2+no_soft_dirty+no_memory_failure",
                                     "linux-6.18+device_private+la57"))
def test_other_knob_combinations_match_reference(profile: str) -> None:
    """Knobs move the swap types (§4 arithmetic) and drop bits; the C
    profile and the reference agree on all edge cases."""
    raw = _u64(sorted(set().union(*(f() for f in EDGE_SETS.values()))))
    assert_decode_matches_reference(profile, raw)
    assert_pagemap_matches_reference(profile, raw)


# ------------------------------------- markers and pagemap corner cases

@pytest.mark.parametrize("offset,word", [
    pytest.param(0x9, 0x4200000000000000 | 31 | (0x9 << 5), id="offset-9-uffd-wp"),
    pytest.param(0xC, 0x4400000000000000 | 31 | (0xC << 5), id="offset-0xc-guard"),
])
def test_marker_bits_beyond_the_mask_follow_pte_marker_get(offset: int, word: int) -> None:
    """§5: pte_marker_get() = swp_offset & PTE_MARKER_MASK, and §6 pagemap sets
    PM_UFFD_WP / PM_GUARD_REGION from it for any type-31 entry."""
    raw = R.mk_swp(31, offset)
    p = R.ref_profile("linux-6.18")
    assert R.pte_to_pagemap(p, raw) == word           # the reference follows the kernel
    assert ptebits.pte_to_pagemap(raw, profile="linux-6.18") == word
    d = ptebits.decode(_u64([raw]), profile="linux-6.18")
    assert bool(d.uffd_wp_any[0]) == bool(offset & 1)


@pytest.mark.parametrize("raw", [0x0, 0x8000000012345027, 0xFFFFFFFFFFFFFC00], ids=hex)
def test_vma_softdirty_is_never_reported_without_mem_soft_dirty(raw: int) -> None:
    """§6: 'VM_SOFTDIRTY is 0 without MEM_SOFT_DIRTY'; PM_SOFT_DIRTY is 'never set
    here' on 6.18 with the machines' config.  Refusing the impossible fact
    (a ptebits.Error) would be fine too."""
    p = R.ref_profile("linux-6.18")
    want = R.pte_to_pagemap(p, raw, vma_soft_dirty=True)
    assert not want & R.PM_SOFT_DIRTY
    try:
        got = ptebits.pte_to_pagemap(raw, vma_soft_dirty=True, profile="linux-6.18")
    except ptebits.Error:
        return
    assert got == want


# ------------------------------------------------- large random arrays

N_RANDOM = 2_000_000
N_SAMPLE = 20_000


def _random_swap_format(rng: np.random.Generator, n: int) -> np.ndarray:
    types = rng.integers(0, 32, n, dtype=np.uint64)
    choice = rng.integers(0, 4, n)
    offsets = np.where(choice == 0, rng.integers(0, 1 << 50, n, dtype=np.uint64),
              np.where(choice == 1, rng.integers(0, 8, n, dtype=np.uint64),
              np.where(choice == 2, rng.integers(0, 1 << 36, n, dtype=np.uint64),
                       rng.integers(0, 1 << 42, n, dtype=np.uint64))))
    raw = (((~offsets) << np.uint64(14)) >> np.uint64(5)) | (types << np.uint64(59))
    flag_bits = rng.integers(0, 16, n, dtype=np.uint64) & np.uint64(0xE)
    rare = np.where(rng.random(n) < 0.05, np.uint64(1) << rng.integers(4, 8, n, dtype=np.uint64),
                    np.uint64(0))
    return raw | flag_bits | rare


def _random_present(rng: np.random.Generator, n: int) -> np.ndarray:
    pfn = rng.integers(0, 1 << 40, n, dtype=np.uint64)
    flags = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True) & \
        np.uint64(~R.PTE_PFN_MASK & U64)
    protnone = rng.random(n) < 0.25
    flags = np.where(protnone, (flags & ~np.uint64(1)) | np.uint64(R.PROTNONE),
                     flags | np.uint64(R.PRESENT))
    field = (pfn << np.uint64(12))
    field = np.where(protnone, ~field, field) & np.uint64(R.PTE_PFN_MASK)
    return field | flags


@pytest.fixture(scope="module")
def random_raw() -> np.ndarray:
    """~2 million seeded values: a third fully random, a third swap-format
    (every type, offsets of every width, flag bits), a third present/PROT_NONE."""
    rng = np.random.default_rng(20210427)
    third = N_RANDOM // 3
    parts = [rng.integers(0, np.iinfo(np.uint64).max, third, dtype=np.uint64, endpoint=True),
             _random_swap_format(rng, third),
             _random_present(rng, N_RANDOM - 2 * third),
             _u64(single_bits() + marker_combinations() + special_pte_and_lookalikes())]
    raw = np.concatenate(parts)
    rng.shuffle(raw)
    return raw


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_random_values_match_reference_on_a_sample(profile: str, random_raw: np.ndarray) -> None:
    """Column by column, a 20,000-entry sample of the random array decodes
    as the reference model says, and its pagemap words agree too."""
    rng = np.random.default_rng(zlib.crc32(profile.encode()))
    idx = np.sort(rng.choice(random_raw.size, N_SAMPLE, replace=False))
    sample = np.ascontiguousarray(random_raw[idx])
    assert_decode_matches_reference(profile, sample)
    assert_pagemap_matches_reference(profile, sample[:5000])


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_classify_agrees_with_decode_on_the_whole_array(profile: str,
                                                        random_raw: np.ndarray) -> None:
    """classify() on all ~2 million entries equals decode().kind, and every
    entry gets one of the kinds."""
    d = ptebits.decode(random_raw, profile=profile)
    kinds = ptebits.classify(random_raw, profile=profile)
    assert np.array_equal(kinds, d.kind)
    assert int(kinds.max()) < len(ptebits.Kind)
    assert sum(d.counts().values()) == random_raw.size


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_random_kind_histogram_matches_reference_rules(profile: str,
                                                       random_raw: np.ndarray) -> None:
    """Vectorised restatement of the classification rules (§1, §3-§5) over
    the whole array: none/present/protnone by bits, the rest by swap type."""
    p = R.ref_profile(profile)
    v = random_raw
    d = ptebits.decode(v, profile=profile)
    none = (v & ~np.uint64(R.ACCESSED | R.DIRTY)) == 0
    present = ~none & ((v & np.uint64(R.PRESENT)) != 0)
    protnone = ~none & ~present & ((v & np.uint64(R.PROTNONE)) != 0)
    assert np.array_equal(d.kind == ptebits.Kind.NONE, none)
    assert np.array_equal(d.kind == ptebits.Kind.PRESENT, present)
    assert np.array_equal(d.kind == ptebits.Kind.PROTNONE, protnone)
    swapfmt = ~none & ~present & ~protnone
    if p.special_pte is not None:
        swapfmt &= v != np.uint64(p.special_pte)
    types = v >> np.uint64(59)
    for t, (kind, _) in p.type_table.items():
        sel = swapfmt & (types == t)
        if kind == "marker":
            continue
        assert np.all(d.kind[sel] == ptebits.Kind[kind.upper()]), (t, kind)


# ------------------------------------------------- PTE helpers (§1, §2)

@pytest.mark.parametrize("op", ("pte_wrprotect", "pte_mkwrite", "pte_mkdirty", "pte_mkuffd_wp"))
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_pte_helpers_match_reference(profile: str, op: str) -> None:
    """pte_wrprotect / pte_mkwrite / pte_mkdirty / pte_mkuffd_wp follow the
    §1 rules (6.18 saved-dirty, 6.18 mkuffd_wp write-protects)."""
    p = R.ref_profile(profile)
    raw = _u64(v for v in present_boundaries() + single_bits_on_bases()
               if R.pte_present(v))
    got = getattr(ptebits, op)(raw, profile=profile).tolist()
    want = [R.pte_op(p, op, v) for v in raw.tolist()]
    assert got == want, _mismatches(raw, got, want)


@pytest.mark.parametrize("newprot", sorted(set(spec()["pgprots"]["values"].values())))
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_pte_modify_matches_reference(profile: str, newprot: str) -> None:
    """pte_modify keeps _PAGE_CHG_MASK, flips the PFN when the PROT_NONE state
    changes, and applies 6.18's saved-dirty rule (§1, §2)."""
    p = R.ref_profile(profile)
    prot = as_int(newprot)
    raw = _u64(v for v in present_boundaries() + single_bits_on_bases() if R.pte_present(v))
    got = ptebits.pte_modify(raw, prot, profile=profile).tolist()
    want = [R.pte_op(p, "pte_modify", v, prot) for v in raw.tolist()]
    assert got == want, _mismatches(raw, got, want)


# ---------------------------------------------- the reference itself

@pytest.mark.parametrize("vector", spec()["vectors"], ids=lambda v: "%s-%s" % (section_id(v["section"]), v["id"]))
def test_reference_reproduces_every_spec_vector(vector: Dict[str, Any]) -> None:
    """The reference model is itself checked against every known answer."""
    raw = as_int(vector["raw"])
    for profile in vector["profiles"]:
        p = R.ref_profile(profile)
        if "encode" in vector:
            enc = vector["encode"]
            args = args_of(enc["args"])
            if "prot" in args and isinstance(args["prot"], str):
                args["prot"] = getattr(R, args["prot"])
            fn = getattr(R, enc["fn"])
            value = fn(p, *[args.pop(k) for k in ("pfn", "prot") if k in args],
                       *[args.pop(k) for k in ("type", "offset") if k in args], **args)
            for op in vector.get("ops", []):
                arg = as_int(op[1]) if len(op) > 1 else 0
                value = R.pte_op(p, op[0], value, getattr(R, arg) if isinstance(arg, str) else arg)
            assert value == raw, (profile, hex(value))
        row = R.decode(p, raw)
        for field, want in vector["decode"].items():
            want = int(want) if isinstance(want, bool) else as_int(want)
            assert row[field] == want, (profile, field, row[field])
        for case in vector.get("pagemap", []):
            if profile in case["profiles"]:
                assert R.pte_to_pagemap(p, raw, **case.get("facts", {})) == as_int(case["word"])


def test_reference_swap_offset_is_taken_mod_2_pow_50() -> None:
    """§3: offset bits above bit 49 are shifted out; 2^50 aliases 0, and
    (0, 2^50-1) is raw 0, a none PTE."""
    assert R.mk_swp(0, 1 << 50) == R.mk_swp(0, 0)
    assert R.mk_swp(0, (1 << 50) - 1) == 0
    assert R.mk_swp(31, 0) == 0xFFFFFFFFFFFFFE00
    for t in (0, 1, 17, 31):
        for off in OFFSETS:
            raw = R.mk_swp(t, off)
            assert (R.swp_type(raw), R.swp_offset(raw)) == (t, off)
            for low in range(1 << 9):
                assert R.swp_offset(raw | low) == off   # bits 0-8 never matter


# ------------------------------------- runs, as page tables have them
#
# Page tables come in runs: mapped stretches, holes, swapped-out stretches,
# marker runs.  decode()/classify() settle aligned groups of such runs on
# fast paths, in blocks, with streamed stores for big arrays; these tests
# build arrays out of runs (aligned and deliberately misaligned) so that
# every path is taken, and check them against the reference and against
# the same values decoded out of order.

def _run_group(rng: np.random.Generator, p: R.RefProfile, shape: str) -> List[int]:
    """Eight values of one run shape."""
    def present() -> int:
        flags = (int(rng.integers(0, 1 << 63)) << 1) & ~R.PTE_PFN_MASK & U64
        return R.pfn_pte(int(rng.integers(0, 1 << 40)), flags | R.PRESENT)

    def protnone() -> int:
        flags = (int(rng.integers(0, 1 << 63)) & ~R.PTE_PFN_MASK & ~R.PRESENT) | R.PROTNONE
        return R.pfn_pte(int(rng.integers(0, 1 << 40)), flags)

    def pick(options: Sequence[int]) -> int:
        return int(options[int(rng.integers(0, len(options)))])

    def offset() -> int:
        width = pick([3, 12, 34, 36, 42, 50])
        return int(rng.integers(0, 1 << width))

    if shape == "present":
        return [present() for _ in range(8)]
    if shape == "protnone":
        return [protnone() for _ in range(8)]
    if shape == "identical":
        value = pick([0, 0x20, 0x60, 0x4, 0x24, 0xFFFFFFFFFFFFFC00, 0xFFFFFFFFFFFFF600,
                      0xFFFFFFFFFFFFFE00, 0x0FFFFFFFFFDB9604, U64, protnone(), present()])
        return [value] * 8
    if shape == "present-and-holes":
        return [present() if rng.random() < 0.5 else pick([0, 0x20, 0x40, 0x60])
                for _ in range(8)]
    if shape.startswith("swap-type"):
        t = int(rng.integers(0, 32)) if shape == "swap-type" else 0
        low = [0, 0, 0, 2, 4, 8, 6, 0xE, 0x10, 0x20, 0x80]
        group = [R.mk_swp(t, offset()) | pick(low) for _ in range(8)]
        if shape == "swap-type-0-with-none-or-special":
            group[int(rng.integers(0, 8))] = pick([0, 0x20, 0x4])
        return group
    if shape == "random":
        return [int(x) for x in rng.integers(0, U64, 8, dtype=np.uint64, endpoint=True)]
    raise ValueError(shape)


RUN_SHAPES = ("present", "protnone", "identical", "present-and-holes", "swap-type",
              "swap-type-0-with-none-or-special", "random")


def page_table_runs(profile: str, groups: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = R.ref_profile(profile)
    values: List[int] = []
    for _ in range(groups):
        values += _run_group(rng, p, RUN_SHAPES[int(rng.integers(0, len(RUN_SHAPES)))])
    return _u64(values)


@pytest.mark.parametrize("skew", [0, 3], ids=["aligned-runs", "runs-straddling-groups"])
@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_runs_of_entries_match_reference(profile: str, skew: int, decode_form: str) -> None:
    """Runs of present, PROT_NONE, identical, present/none, one-swap-type and
    random entries decode (and classify) exactly as the reference says,
    whether the runs line up with 8-entry groups or not."""
    raw = page_table_runs(profile, 700, seed=7 + skew)
    raw = np.ascontiguousarray(np.concatenate([raw[:skew], raw])[: raw.size - 5])  # ragged tail
    assert_decode_matches_reference(profile, raw)
    assert_pagemap_matches_reference(profile, raw[:2000])


def _columns(d: Any) -> Dict[str, np.ndarray]:
    return {name: col.copy() for name, col in d.columns().items()}


@pytest.mark.parametrize("profile", ("linux-6.18", "linux-5.12-uffd-wp-v2"))
def test_large_run_arrays_decode_as_their_entries_do_out_of_order(profile: str,
                                                                  decode_form: str) -> None:
    """More than 2^18 entries (the streamed-store size) of runs: every column
    equals the columns of the same entries decoded shuffled (no runs left)
    and put back in order, and classify() agrees."""
    raw = page_table_runs(profile, (1 << 18) // 8 + 700, seed=11)
    raw = np.ascontiguousarray(raw[: raw.size - 3])
    perm = np.random.default_rng(5).permutation(raw.size)
    shuffled = np.ascontiguousarray(raw[perm])
    whole, mixed = ptebits.decode(raw, profile=profile), ptebits.decode(shuffled, profile=profile)
    for name, col in whole.columns().items():
        back = np.empty_like(col)
        back[perm] = getattr(mixed, name)
        assert np.array_equal(col, back), name
    assert np.array_equal(ptebits.classify(raw, profile=profile), whole.kind)
    sample = np.ascontiguousarray(raw[:: max(1, raw.size // 4000)])
    assert_decode_matches_reference(profile, sample)


@pytest.mark.parametrize("n", [7, 8, 255, 256, 257, (1 << 18) + 13])
def test_decode_into_misaligned_out_columns(n: int) -> None:
    """out= columns that are views at an odd offset into bigger buffers (not
    16-byte aligned) receive exactly what a fresh decode gives."""
    raw = page_table_runs("linux-6.18", (n + 7) // 8, seed=n)[:n].copy()
    fresh = ptebits.decode(raw)
    out = ptebits.Decoded.empty(fresh.profile, raw.shape)
    for name, col in fresh.columns().items():
        buf = np.zeros(n + 16, dtype=col.dtype)
        k = next(k for k in range(1, 16) if (buf.ctypes.data + k * col.itemsize) % 16)
        setattr(out, name, buf[k:k + n])
    got = ptebits.decode(raw, out=out)
    assert got is out
    for name, col in fresh.columns().items():
        assert np.array_equal(getattr(got, name), col), name


def _every_lane_mix(seed: int, n: int) -> np.ndarray:
    """n values that put every kind next to every other inside 8-entry
    groups: random words, swap-format words of every type with random
    offsets and low bits, markers with small offsets, the special PTE and
    its look-alikes, A/D-only holes, PROT_NONE and present entries."""
    rng = np.random.default_rng(seed)
    m = n // 8
    types = rng.integers(0, 32, m, dtype=np.uint64)
    offsets = rng.integers(0, 1 << 50, m, dtype=np.uint64) >> rng.integers(0, 50, m,
                                                                             dtype=np.uint64)
    swp = np.array([R.mk_swp(int(t), int(o)) for t, o in zip(types, offsets)], dtype=np.uint64)
    low = rng.integers(0, 1 << 9, m, dtype=np.uint64) * (rng.random(m) < 0.5)
    markers = np.array([R.mk_swp(t, o) for t in (29, 30, 31) for o in range(16)],
                       dtype=np.uint64)
    parts = [
        rng.integers(0, U64, m, dtype=np.uint64, endpoint=True),
        swp | low,
        rng.choice(markers, m) | (rng.integers(0, 1 << 9, m, dtype=np.uint64) *
                                  (rng.random(m) < 0.2)),
        rng.choice(np.array([0x4, 0x24, 0x64, 0x5, 0x104, 0x6, 0xC], dtype=np.uint64), m),
        rng.choice(np.array([0, 0x20, 0x40, 0x60], dtype=np.uint64), m),
        rng.integers(0, U64, m, dtype=np.uint64, endpoint=True) & ~np.uint64(1) |
        np.uint64(0x100),
        rng.integers(0, U64, m, dtype=np.uint64, endpoint=True) | np.uint64(1),
        rng.integers(0, 1 << 12, m, dtype=np.uint64),
    ]
    raw = np.concatenate(parts)
    return np.ascontiguousarray(raw[rng.permutation(raw.size)])


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_vector_form_decodes_every_entry_as_the_scalar_form_does(profile: str,
                                                                  monkeypatch: Any) -> None:
    """decode()'s AVX-512 form (eight entries per vector, no branches on the
    kind) gives every column of the per-entry scalar form, on 200,000 values
    that mix every kind inside each group of eight; classify() agrees."""
    from ptebits._core import lib
    monkeypatch.delenv("PTEBITS_NO_AVX512", raising=False)
    if lib.pb_decode_vector_isa() != lib.PB_ISA_AVX512:
        pytest.skip("this CPU has no AVX-512F: decode runs the scalar form only")
    raw = _every_lane_mix(seed=len(profile), n=200_000)
    vector = _columns(ptebits.decode(raw, profile=profile))
    monkeypatch.setenv("PTEBITS_NO_AVX512", "1")
    scalar = _columns(ptebits.decode(raw, profile=profile))
    for name, col in scalar.items():
        bad = np.flatnonzero(col != vector[name])
        assert not bad.size, "%s differs at %d entries, first raw %#x: scalar %d, vector %d" % (
            name, bad.size, int(raw[bad[0]]), int(col[bad[0]]), int(vector[name][bad[0]]))
    assert np.array_equal(ptebits.classify(raw, profile=profile), vector["kind"])
