"""Known-answer vectors: every worked example of the fact sheet
(kernel-facts.md §1-§7, copied into tests/data/spec_vectors.json with its
source), checked in both directions for every profile it holds in.

* encode: the ptebits encoder (and the PTE helpers a fault handler applies
  after it) gives exactly the raw value the kernel writes;
* decode: ptebits.decode of that raw value shows the documented fields
  (and omits the ones the kind or profile does not have);
* pagemap: pte_to_pagemap gives the /proc/PID/pagemap word the kernel
  reports, and decode_pagemap reads it back.
"""
from __future__ import annotations

from typing import Any, Dict, List

import numpy as np
import pytest

import ptebits
from ptebits.schema import iter_rows

from conftest import MAIN_PROFILES, args_of, as_int, section_id, spec

SPEC = spec()
VECTORS: List[Dict[str, Any]] = SPEC["vectors"]


def _cases(predicate: Any = lambda v: True) -> List[Any]:
    out = []
    for v in VECTORS:
        if not predicate(v):
            continue
        for prof in v["profiles"]:
            out.append(pytest.param(v, prof, id="%s-%s-%s" % (section_id(v["section"]), v["id"], prof)))
    return out


def _row(raw: int, profile: str) -> Dict[str, Any]:
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile)
    return next(iter_rows(d))


def _expected(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    return as_int(value)


def _encode(vector: Dict[str, Any], profile: str) -> int:
    enc = vector["encode"]
    raw = getattr(ptebits, enc["fn"])(**args_of(enc["args"]), profile=profile)
    for op in vector.get("ops", []):
        fn, rest = op[0], [as_int(a) for a in op[1:]]
        raw = getattr(ptebits, fn)(raw, *rest, profile=profile)
    return int(raw)


def test_every_vector_names_its_section_and_kernel_source() -> None:
    """Each vector cites the fact sheet section and the kernel file/version."""
    for v in VECTORS:
        assert v["section"] in v["source"], v["id"]
        assert "kernel-facts §" in v["source"], v["id"]
        assert any(ver in v["source"] for ver in ("5.12", "6.18", "v2 series")), v["id"]
        assert v["profiles"], v["id"]
    assert len({(v["id"], tuple(v["profiles"])) for v in VECTORS}) == len(VECTORS)


@pytest.mark.parametrize("vector,profile", _cases(lambda v: "encode" in v))
def test_encoding_gives_the_kernel_raw_value(vector: Dict[str, Any], profile: str) -> None:
    """The encoder (then the PTE helpers listed) gives the spec's raw value."""
    assert _encode(vector, profile) == as_int(vector["raw"])


@pytest.mark.parametrize("vector,profile", _cases())
def test_decoding_gives_the_spec_fields(vector: Dict[str, Any], profile: str) -> None:
    """decode(raw) shows the spec's fields, and omits the absent ones."""
    raw = as_int(vector["raw"])
    row = _row(raw, profile)
    for field, value in vector["decode"].items():
        assert field in row, "%s missing from %r" % (field, row)
        assert row[field] == _expected(value), (field, row)
    for field in vector.get("absent", []):
        assert field not in row, "%s should not be shown: %r" % (field, row)
    # the columns agree with the row
    d = ptebits.decode(np.array([raw], dtype=np.uint64), profile=profile)
    assert str(ptebits.Kind(int(d.kind[0]))) == vector["decode"]["kind"]
    assert ptebits.classify(np.array([raw], dtype=np.uint64), profile=profile)[0] == d.kind[0]


@pytest.mark.parametrize("vector,profile", _cases(lambda v: "pagemap" in v))
def test_pagemap_word_is_what_the_kernel_reports(vector: Dict[str, Any], profile: str) -> None:
    """pte_to_pagemap gives the §6 word; decode_pagemap reads type/offset/pfn back."""
    raw = as_int(vector["raw"])
    cases = [c for c in vector["pagemap"] if profile in c["profiles"]]
    assert cases, "no pagemap case for %s" % profile
    for case in cases:
        facts = case.get("facts", {})
        word = ptebits.pte_to_pagemap(raw, profile=profile, **facts)
        assert int(word) == as_int(case["word"]), hex(int(word))
        if not facts.get("show_pfn", True):
            continue
        pm = ptebits.decode_pagemap(np.array([int(word)], dtype=np.uint64), profile=profile)
        kind = vector["decode"]["kind"]
        if kind in ("none", "uffd_wp_special"):
            assert str(ptebits.Kind(int(pm.kind[0]))) == "none"
            continue
        if kind == "protnone":
            kind = "present"          # pagemap cannot tell them apart
        assert str(ptebits.Kind(int(pm.kind[0]))) == kind
        dec = vector["decode"]
        if "pfn" in dec:
            assert int(pm.pfn[0]) == as_int(dec["pfn"])
        if kind not in ("present",):
            assert int(pm.swp_type[0]) == as_int(dec["swp_type"])
            if kind != "migration":   # swp_offset_pfn(): A/D bits are not reported
                assert int(pm.swp_offset[0]) == as_int(dec["swp_offset"])


@pytest.mark.parametrize("name,value", sorted(SPEC["pgprots"]["values"].items()))
def test_standard_pgprots_match_pgtable_types(name: str, value: str) -> None:
    """§1 standard user pgprots (identical in 5.12 and 6.18)."""
    assert ptebits.PGPROTS[name] == as_int(value)


@pytest.mark.parametrize("profile", MAIN_PROFILES)
def test_pgprot_names_and_values_encode_alike(profile: str) -> None:
    """encode_present accepts a pgprot by name or by value, with the same result."""
    for name, value in SPEC["pgprots"]["values"].items():
        assert ptebits.encode_present(0x12345, name, profile=profile) == \
            ptebits.encode_present(0x12345, as_int(value), profile=profile)


def test_explain_fffffffffffffc00_differs_between_kernels() -> None:
    """§5/§4: the 6.18 uffd-wp marker value is, under 5.12 + v2, a
    device-private read entry (type 31) for pfn 1."""
    raw = 0xFFFFFFFFFFFFFC00
    new, old = _row(raw, "linux-6.18"), _row(raw, "linux-5.12-uffd-wp-v2")
    assert (new["kind"], new["marker_uffd_wp"], new["swp_type"]) == ("marker", 1, 31)
    assert (old["kind"], old["sub"], old["swp_type"], old["pfn"]) == \
        ("device", "private_read", 31, 1)


@pytest.mark.parametrize("column", SPEC["swap_type_tables"]["columns"],
                         ids=lambda c: "sec4-column-%s" % c["column"])
def test_swap_type_numbering_matches_spec_table(column: Dict[str, Any]) -> None:
    """§4 table: MAX_SWAPFILES and every special type, per column."""
    prof = ptebits.get_profile(column["profile"])
    assert prof.max_swapfiles == column["max_swapfiles"]
    assert prof.swap_types() == column["types"]
