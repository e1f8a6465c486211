"""Shared helpers for the ptebits tests: the spec vectors (tests/data) and
the profiles every comparison runs under."""
from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict

import pytest
from hypothesis import settings

# No example database in the work tree: runs are reproducible from the seed
# hypothesis prints, and the suite leaves nothing behind.
settings.register_profile("ptebits", database=None, deadline=None)
settings.load_profile("ptebits")

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
if HERE not in sys.path:          # `import reference` from any rootdir
    sys.path.insert(0, HERE)

#: The two built-in profiles.
MAIN_PROFILES = ("linux-6.18", "linux-5.12-uffd-wp-v2")
#: Plus the knob variants of kernel-facts §4 column c and §8 (LA57).
ALL_PROFILES = MAIN_PROFILES + ("linux-6.18+memory_failure+device_private", "linux-6.18+la57")


def load_json(name: str) -> Dict[str, Any]:
    with open(os.path.join(DATA, name)) as f:
        return json.load(f)


def spec() -> Dict[str, Any]:
    """tests/data/spec_vectors.json, parsed."""
    return load_json("spec_vectors.json")


def as_int(value: Any) -> Any:
    """Hex strings ("0x...") become ints; anything else is returned as is."""
    if isinstance(value, str) and value.lower().startswith("0x"):
        return int(value, 16)
    return value


def section_id(section: str) -> str:
    """'§3' -> 'sec3' (pytest escapes non-ASCII test ids)."""
    return section.replace("§", "sec")


def args_of(args: Dict[str, Any]) -> Dict[str, Any]:
    return {k: as_int(v) for k, v in args.items()}


@pytest.fixture(params=ALL_PROFILES)
def profile_name(request: Any) -> str:
    return request.param


#: decode()'s two forms: eight entries per AVX-512 vector where the CPU has
#: it, and the per-entry scalar path (with PTEBITS_NO_AVX512 set) that every
#: other CPU runs.  Tests that take this fixture run under both.
DECODE_FORMS = ("avx512", "scalar")


@pytest.fixture(params=DECODE_FORMS)
def decode_form(request: Any, monkeypatch: Any) -> str:
    from ptebits._core import lib
    if request.param == "scalar":
        monkeypatch.setenv("PTEBITS_NO_AVX512", "1")
        assert lib.pb_decode_vector_isa() == lib.PB_ISA_SCALAR
    else:
        monkeypatch.delenv("PTEBITS_NO_AVX512", raising=False)
        if lib.pb_decode_vector_isa() != lib.PB_ISA_AVX512:
            pytest.skip("this CPU has no AVX-512F: decode runs the scalar form only")
    return request.param
