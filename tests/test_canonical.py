"""What ``canonical`` means (README "Decoded columns and the output schema":
"re-encoding the decoded fields gives the raw value"), checked with the
public encoders themselves on every edge case:

    decode(raw).canonical  <=>  the matching encoder, given the decoded
                                fields, accepts them and returns raw

with the encoder of each kind:

* none             -> 0 (what pte_clear() writes; kernel-facts §1: pte_none()
                      ignores A/D, but only 0 is written)
* present/protnone -> encode_present(pfn, prot=flags)      (pfn_pte, §2)
* swap             -> encode_swap(type, offset, soft_dirty, uffd_wp, exclusive)   (§3)
* migration        -> encode_migration(pfn, write/exclusive from sub, young,
                      dirty, soft_dirty, uffd_wp)           (§4)
* device           -> encode_device(pfn, write/exclusive from sub, soft_dirty, uffd_wp)
* hwpoison         -> encode_hwpoison(pfn)
* marker           -> encode_marker(uffd_wp, poisoned, guard)   (§5)
* uffd_wp_special  -> encode_special()                     (§5, raw 0x4)
* bad              -> no encoder: never canonical

under linux-6.18, linux-5.12-uffd-wp-v2 and linux-6.18 with MEMORY_FAILURE
and DEVICE_PRIVATE (kernel-facts §4 column c).

Then the same values in large arrays (more than 2^18 entries, the size from
which the C core streams its column stores), laid out in runs of 8 and more
equal or similar entries at every alignment so that the grouped fast paths
run: every column equals the one-at-a-time decode.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np
import pytest

import ptebits
from ptebits.schema import iter_rows

import reference as R

U64 = (1 << 64) - 1
OFFSET_BITS = 50                                   # §3: 50 offset bits

PROFILES: Dict[str, Callable[[], ptebits.Profile]] = {
    "linux-6.18": lambda: ptebits.get_profile("linux-6.18"),
    "linux-5.12-uffd-wp-v2": lambda: ptebits.get_profile("linux-5.12-uffd-wp-v2"),
    "linux-6.18+memory_failure+device_private":
        lambda: ptebits.get_profile("linux-6.18", memory_failure=True, device_private=True),
}

# Worked examples of the fact sheet used as bases.
UFFD_WP_MARKER = 0xFFFFFFFFFFFFFC00          # §5 make_pte_marker(PTE_MARKER_UFFD_WP), 6.18
SWAP_1_1234 = R.mk_swp(1, 0x1234)            # §3 = 0x0FFFFFFFFFDB9600
PRESENT_SHARED = 0x8000000012345027          # §2 pfn_pte(0x12345, PAGE_SHARED)
PROTNONE_12345 = 0x000FFFFFEDCBA120          # §2 pfn_pte(0x12345, PAGE_NONE)
MIGRATION_WRITE_AD = 0xF7FFE7FFFDB97400      # §4 6.18 write migration, young + dirty
V512_MIGRATION_WRITE = 0xEFFFFFFFFDB97400    # §4 5.12 write migration (type 29)
EMPTY_MARKER = 0xFFFFFFFFFFFFFE00            # §5 type 31 offset 0
assert SWAP_1_1234 == 0x0FFFFFFFFFDB9600


def _single_bits_on(base: int) -> List[int]:
    """base with each single bit set, and with each single bit flipped."""
    return sorted({base | (1 << b) for b in range(64)} | {base ^ (1 << b) for b in range(64)})


def _swap_types() -> List[int]:
    """Every type 0-31 with offsets 0, 1 and 2^50-2 (§3), bare and with the
    swap flag bits 1/2/3 and the bits the format avoids (4-7)."""
    values = []
    for t in range(32):
        for off in (0, 1, (1 << OFFSET_BITS) - 2):
            for low in (0, 0x2, 0x4, 0x8, 0xE, 0x10, 0x20, 0x40, 0x60, 0x80):
                values.append(R.mk_swp(t, off) | low)
    return values


def _pfn_entries() -> List[int]:
    """pfn swap entries at the PFN limits: 6.18's SWP_PFN_BITS = 34 with
    SWP_MIG_YOUNG/DIRTY at offset bits 34/35 (§4), 5.12's 40-bit PFN, and
    offsets with bits above both."""
    values = []
    for t in range(24, 32):
        for pfn in (0, 1, 0x12345, (1 << 34) - 1, (1 << 40) - 1):
            for extra in (0, 1 << 34, 1 << 35, 3 << 34, 1 << 36, 1 << 40, 1 << 49):
                for low in (0, 0x4, 0x8):
                    values.append(R.mk_swp(t, pfn | extra) | low)
    return values


def _markers() -> List[int]:
    """Type-31 entries with marker bits 0..7 (§5; 0 is the empty marker),
    with bits beyond PTE_MARKER_MASK, and with swap flag bits."""
    values = []
    for m in range(8):
        for extra in (0, 1 << 3, 1 << 8, 1 << 33, 1 << 49):
            for low in (0, 0x2, 0x4, 0x8, 0x20, 0x40):
                values.append(R.mk_swp(31, m | extra) | low)
    return values


EDGE_CASES: Dict[str, List[int]] = {
    # 0, all-ones, A/D only (§1 pte_none), the v2 special and its look-alikes (§5)
    "constants": [0, U64, 0x20, 0x40, 0x60, 0x4, 0x24, 0x44, 0x6, 0xC, 0x104, 0x1,
                  EMPTY_MARKER, UFFD_WP_MARKER, V512_MIGRATION_WRITE],
    "single-bits": [1 << b for b in range(64)],
    "bits-on-uffd-wp-marker": _single_bits_on(UFFD_WP_MARKER),
    "bits-on-swap-1-0x1234": _single_bits_on(SWAP_1_1234),
    "bits-on-present": _single_bits_on(PRESENT_SHARED),
    "bits-on-protnone": _single_bits_on(PROTNONE_12345),
    "bits-on-migration": _single_bits_on(MIGRATION_WRITE_AD),
    "swap-types": _swap_types(),
    "pfn-entries": _pfn_entries(),
    "markers": _markers(),
    "present-prots": [R.pfn_pte(pfn, prot) for pfn in (0, 1, 0x12345, (1 << 40) - 1)
                      for prot in (0x120, 0x8000000000000027, 0x27, 0x8000000000000025, 0x25,
                                   0x8000000000000163, 0x1, 0x100, 0x101, 0xFFF | (0xFFF << 52),
                                   0xEFF | (0xFFF << 52))],
}
ALL_EDGE_VALUES = sorted({v for values in EDGE_CASES.values() for v in values})


def reencode(row: Dict[str, Any], flags: int, profile: ptebits.Profile) -> Optional[int]:
    """The matching public encoder applied to the decoded fields; None when
    it refuses them (or when the kind has no encoder)."""
    kind = row["kind"]
    bit = lambda name: bool(row.get(name, 0))  # noqa: E731
    try:
        if kind == "none":
            return 0
        if kind in ("present", "protnone"):
            return int(ptebits.encode_present(row["pfn"], flags, profile=profile))
        if kind == "swap":
            return int(ptebits.encode_swap(row["swp_type"], row["swp_offset"],
                                           soft_dirty=bit("swp_soft_dirty"),
                                           uffd_wp=bit("swp_uffd_wp"),
                                           exclusive=bit("swp_exclusive"), profile=profile))
        if kind == "migration":
            return int(ptebits.encode_migration(
                row["pfn"], write=row["sub"] == "write",
                exclusive=row["sub"] == "read_exclusive", young=bit("mig_young"),
                dirty=bit("mig_dirty"), soft_dirty=bit("swp_soft_dirty"),
                uffd_wp=bit("swp_uffd_wp"), profile=profile))
        if kind == "device":
            assert row["sub"] in ("private_read", "private_write", "exclusive")
            return int(ptebits.encode_device(
                row["pfn"], write=row["sub"] == "private_write",
                exclusive=row["sub"] == "exclusive", soft_dirty=bit("swp_soft_dirty"),
                uffd_wp=bit("swp_uffd_wp"), profile=profile))
        if kind == "hwpoison":
            return int(ptebits.encode_hwpoison(row["pfn"], profile=profile))
        if kind == "marker":
            return int(ptebits.encode_marker(uffd_wp=bit("marker_uffd_wp"),
                                             poisoned=bit("marker_poisoned"),
                                             guard=bit("marker_guard"), profile=profile))
        if kind == "uffd_wp_special":
            return int(ptebits.encode_special(profile=profile))
    except ptebits.FieldRangeError:
        return None
    assert kind == "bad", kind
    return None


def decode_one(raw: int, profile: ptebits.Profile) -> Tuple[Dict[str, Any], int]:
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile)
    return next(iter_rows(d)), int(d.flags[0])


def canonical_disagreements(values: List[int], profile: ptebits.Profile) -> List[str]:
    out = []
    for raw in values:
        row, flags = decode_one(raw, profile)
        back = reencode(row, flags, profile)
        if bool(row["canonical"]) != (back == raw):
            out.append("%#018x %s canonical=%d, re-encoded %s" % (
                raw, row["kind"], row["canonical"], "refused" if back is None else "%#x" % back))
    return out


@pytest.mark.parametrize("family", sorted(EDGE_CASES))
@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_canonical_means_the_encoder_gives_the_raw_value_back(profile_name: str,
                                                              family: str) -> None:
    profile = PROFILES[profile_name]()
    bad = canonical_disagreements(EDGE_CASES[family], profile)
    assert not bad, "%d disagreements: %s" % (len(bad), "; ".join(bad[:8]))


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_edge_cases_hold_canonical_and_non_canonical_entries_of_every_kind(
        profile_name: str) -> None:
    """The edge cases are not trivially one-sided: each kind the profile can
    produce shows up canonical, and most also non-canonical."""
    profile = PROFILES[profile_name]()
    d = ptebits.decode(np.array(ALL_EDGE_VALUES, dtype=np.uint64), profile=profile)
    seen = {(str(ptebits.Kind(k)), bool(c)) for k, c in zip(d.kind.tolist(),
                                                            d.canonical.tolist())}
    kinds = {"none", "present", "protnone", "swap", "migration"}
    kinds |= {"marker"} if profile.is_6_18 else {"uffd_wp_special", "device", "hwpoison"}
    if profile.max_swapfiles == 24:
        kinds |= {"device", "hwpoison"}
    for kind in kinds:
        assert (kind, True) in seen, kind
    for kind in kinds - {"uffd_wp_special", "present", "protnone"}:
        assert (kind, False) in seen, kind
    assert ("bad", True) not in seen


# ------------------------------------------- the rule on named examples

@pytest.mark.parametrize("profile_name,raw,kind,canonical", [
    ("linux-6.18", 0x0, "none", True),                      # what pte_clear() writes
    ("linux-6.18", 0x20, "none", False),                    # §1: A/D set by hardware
    ("linux-5.12-uffd-wp-v2", 0x60, "none", False),
    ("linux-6.18", PRESENT_SHARED, "present", True),
    ("linux-6.18", PROTNONE_12345, "protnone", True),
    ("linux-6.18", SWAP_1_1234 | 0x4, "swap", True),       # §3 + _PAGE_SWP_UFFD_WP
    ("linux-6.18", SWAP_1_1234 | 0x2, "swap", False),      # §3: no MEM_SOFT_DIRTY on 6.18
    ("linux-5.12-uffd-wp-v2", SWAP_1_1234 | 0x2, "swap", True),
    ("linux-5.12-uffd-wp-v2", SWAP_1_1234 | 0x8, "swap", False),   # §3: exclusive is 5.19+
    ("linux-6.18", SWAP_1_1234 | 0x8, "swap", True),
    ("linux-6.18", SWAP_1_1234 | 0x20, "swap", False),     # §3: bits 5/6 are avoided
    ("linux-6.18", MIGRATION_WRITE_AD, "migration", True),  # §4
    ("linux-5.12-uffd-wp-v2", V512_MIGRATION_WRITE, "migration", True),
    ("linux-6.18", UFFD_WP_MARKER, "marker", True),         # §5
    ("linux-6.18", UFFD_WP_MARKER | 0x4, "marker", False),  # flag bits stripped, not made
    ("linux-6.18", EMPTY_MARKER, "bad", False),             # §5: faults with SIGBUS
    ("linux-5.12-uffd-wp-v2", 0x4, "uffd_wp_special", True),   # §5: exactly 0x4
    ("linux-5.12-uffd-wp-v2", 0x24, "swap", False),         # not pte_same(0x4)
    ("linux-5.12-uffd-wp-v2", UFFD_WP_MARKER, "device", True),  # §4: type 31 = device read
])
def test_canonical_examples(profile_name: str, raw: int, kind: str, canonical: bool) -> None:
    profile = PROFILES[profile_name]()
    row, flags = decode_one(raw, profile)
    assert (row["kind"], bool(row["canonical"])) == (kind, canonical)
    assert (reencode(row, flags, profile) == raw) == canonical


# ---------------------------------------- the same values in big arrays

STREAM_MIN = 1 << 18        # entries; the C core streams column stores from here


def _single_columns(values: np.ndarray, profile: ptebits.Profile) -> Dict[str, np.ndarray]:
    """Each value decoded alone, as a one-entry array."""
    cols = [ptebits.decode(values[i:i + 1].copy(), profile=profile).columns()
            for i in range(values.size)]
    return {name: np.concatenate([c[name] for c in cols]) for name in cols[0]}


def _run_layout(kinds: np.ndarray, swp_type: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices into the edge values: runs (8-40 long) of one value, of values
    of one kind and swap type, of present entries with holes and of present
    with PROT_NONE entries, separated by short random stretches (1-7) that
    shift the runs across every alignment of 8."""
    rng = np.random.default_rng(seed)
    groups: Dict[Tuple[int, int], np.ndarray] = {}
    for i, key in enumerate(zip(kinds.tolist(), swp_type.tolist())):
        groups.setdefault(key, []).append(i)                 # type: ignore[arg-type]
    group_list = [np.array(g) for g in groups.values()]
    by_kind = {k: np.flatnonzero(kinds == int(k)) for k in ptebits.Kind}
    present, none = by_kind[ptebits.Kind.PRESENT], by_kind[ptebits.Kind.NONE]
    present_or_protnone = np.concatenate([present, by_kind[ptebits.Kind.PROTNONE]])
    present_or_none = np.concatenate([present, none])
    parts: List[np.ndarray] = []
    total = 0
    while total < n:
        shape = int(rng.integers(0, 6))
        length = int(rng.integers(8, 41))
        if shape == 0:                              # one value repeated (holes, markers)
            run = np.full(length, int(rng.integers(0, kinds.size)))
        elif shape == 1:                            # one kind and swap type
            group = group_list[int(rng.integers(0, len(group_list)))]
            run = rng.choice(group, length)
        elif shape == 2:                            # a mapped stretch with holes
            run = rng.choice(present_or_none, length)
        elif shape == 3:                            # NUMA hinting inside a mapped stretch
            run = rng.choice(present_or_protnone, length)
        elif shape == 4:                            # mapped stretch
            run = rng.choice(present, length)
        else:                                       # misalign what follows
            run = rng.integers(0, kinds.size, int(rng.integers(1, 8)))
        parts.append(run)
        total += run.size
    return np.concatenate(parts)[:n]


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_big_arrays_of_runs_decode_like_single_entries(profile_name: str) -> None:
    """More than 2^18 entries in runs, at offsets 0-7 into the array and with
    a ragged tail: every column equals the one-entry decodes, and classify()
    gives the same kinds."""
    profile = PROFILES[profile_name]()
    values = np.array(ALL_EDGE_VALUES, dtype=np.uint64)
    single = _single_columns(values, profile)
    layout = _run_layout(single["kind"], single["swp_type"], STREAM_MIN + 4096 + 5,
                         seed=len(profile_name))
    big = np.ascontiguousarray(values[layout])
    for skew in (0, 1, 3, 7):
        raw = big[skew:]                                    # contiguous, 8-byte aligned only
        want = layout[skew:]
        assert raw.size > STREAM_MIN
        d = ptebits.decode(raw, profile=profile)
        for name, col in d.columns().items():
            expected = single[name][want]
            bad = np.flatnonzero(col != expected)
            assert bad.size == 0, "%s at skew %d: %d entries differ, first raw=%#x got %r " \
                "want %r" % (name, skew, bad.size, int(raw[bad[0]]), col[bad[0]],
                             expected[bad[0]])
        assert np.array_equal(ptebits.classify(raw, profile=profile), single["kind"][want])


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_big_arrays_decode_into_reused_and_misaligned_columns(profile_name: str) -> None:
    """decode(out=) into an earlier result, and into column views that are
    not 16-byte aligned, gives the same columns as the one-entry decodes."""
    profile = PROFILES[profile_name]()
    values = np.array(ALL_EDGE_VALUES, dtype=np.uint64)
    single = _single_columns(values, profile)
    layout = _run_layout(single["kind"], single["swp_type"], STREAM_MIN + 64, seed=99)
    raw = np.ascontiguousarray(values[layout])
    first = ptebits.decode(np.ascontiguousarray(raw[::-1]), profile=profile)
    again = ptebits.decode(raw, profile=profile, out=first)
    assert again is first
    for name, col in again.columns().items():
        assert np.array_equal(col, single[name][layout]), name
    out = ptebits.Decoded.empty(profile, raw.shape)
    for name, col in again.columns().items():
        buf = np.zeros(raw.size + 16, dtype=col.dtype)
        k = next(k for k in range(1, 16) if (buf.ctypes.data + k * col.itemsize) % 16)
        setattr(out, name, buf[k:k + raw.size])
    got = ptebits.decode(raw, profile=profile, out=out)
    for name, col in got.columns().items():
        assert np.array_equal(col, single[name][layout]), name
