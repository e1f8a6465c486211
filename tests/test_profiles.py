"""Kernel profiles: names, knobs, the swap-type numbering of kernel-facts §4
(compared with the spec's table and with the reference model's arithmetic
for every combination of the options that carve special types), the
software bits of §1/§3, and host detection from release/config/cpuinfo
texts (the project machines' own /proc/config.gz is in tests/data).
"""
from __future__ import annotations

import gzip
import itertools
import os
import warnings
from typing import Any, Dict

import pytest

import ptebits

import reference as R
from conftest import DATA, spec

MACHINE_RELEASE = "6.18.44-fc-v669"


@pytest.fixture(scope="module")
def machine_config() -> str:
    """/proc/config.gz of the project's machines (kernel-facts §0 CFG)."""
    with gzip.open(os.path.join(DATA, "config-6.18.44-fc-v669.gz"), "rt") as f:
        return f.read()


@pytest.fixture(scope="module")
def machine_cpuinfo() -> str:
    """The first processor of the machines' /proc/cpuinfo (AMD EPYC, no la57)."""
    with open(os.path.join(DATA, "cpuinfo-amd-epyc-no-la57.txt")) as f:
        return f.read()


# ---------------------------------------------------------- names, knobs

def test_list_profiles_names_both_kernels_and_host() -> None:
    names = ptebits.list_profiles()
    assert names[:2] == ["linux-6.18", "linux-5.12-uffd-wp-v2"]
    assert "host" in names


def test_default_profile_is_linux_6_18() -> None:
    assert ptebits.get_profile() == ptebits.get_profile(None) == ptebits.get_profile("linux-6.18")
    assert ptebits.get_profile().name == "linux-6.18"


def test_knobs_in_the_name_equal_knob_keywords() -> None:
    """'base+knob+knob' and keyword knobs name the same profile."""
    by_name = ptebits.get_profile("linux-6.18+memory_failure+device_private")
    by_kw = ptebits.get_profile("linux-6.18", memory_failure=True, device_private=True)
    assert by_name == by_kw and hash(by_name) == hash(by_kw)
    assert by_name.name == "linux-6.18+device_private+memory_failure"
    assert ptebits.get_profile("linux-6.18+device_private+memory_failure") == by_name
    assert ptebits.get_profile(by_name.name) == by_name
    assert by_name.knobs["memory_failure"] and by_name.knobs["device_private"]


@pytest.mark.parametrize("spelling", ["linux-5.12-uffd-wp-v2+no_soft_dirty",
                                      "linux-5.12-uffd-wp-v2+no-soft-dirty",
                                      " linux-5.12-uffd-wp-v2+no_soft_dirty "])
def test_no_prefix_turns_a_knob_off(spelling: str) -> None:
    prof = ptebits.get_profile(spelling)
    assert prof == ptebits.get_profile("linux-5.12-uffd-wp-v2", soft_dirty=False)
    assert not prof.knobs["soft_dirty"]
    assert prof.mask("swp_soft_dirty") == 0 and prof.mask("soft_dirty") == 0


def test_a_knob_equal_to_the_default_changes_nothing() -> None:
    assert ptebits.get_profile("linux-6.18+migration") == ptebits.get_profile("linux-6.18")
    assert ptebits.get_profile("linux-6.18", la57=False).name == "linux-6.18"


def test_a_profile_object_is_returned_as_is_or_with_knobs() -> None:
    base = ptebits.get_profile("linux-6.18")
    assert ptebits.get_profile(base) is base
    assert ptebits.get_profile(base, la57=True) == ptebits.get_profile("linux-6.18+la57")
    assert ptebits.decode([0x4], profile=base).kind.tolist() == \
        ptebits.decode([0x4], profile="linux-6.18").kind.tolist()


def test_builtin_configs_are_the_spec_configs() -> None:
    """§0 CFG: MEMORY_FAILURE absent, DEVICE_PRIVATE and MEM_SOFT_DIRTY off,
    MIGRATION, NUMA_BALANCING, PKEYS on, 4-level; 5.12 profile: §4 column a
    plus MEM_SOFT_DIRTY (§8)."""
    for name, (_, knobs) in R.BASE_CONFIGS.items():
        assert ptebits.get_profile(name).knobs == knobs


# ------------------------------------------------------------ swap types

@pytest.mark.parametrize("column", spec()["swap_type_tables"]["columns"],
                         ids=lambda c: "sec4-column-%s" % c["column"])
def test_swap_type_tables_equal_spec_columns(column: Dict[str, Any]) -> None:
    """§4 columns a, b, c, from the spec and from the reference arithmetic."""
    prof = ptebits.get_profile(column["profile"])
    ref = R.ref_profile(column["profile"])
    assert prof.max_swapfiles == ref.max_swapfiles == column["max_swapfiles"]
    assert prof.swap_types() == ref.special_types == column["types"]


KERNEL_OPTIONS = list(itertools.product([False, True], repeat=3))


@pytest.mark.parametrize("base", ["linux-6.18", "linux-5.12-uffd-wp-v2"])
@pytest.mark.parametrize("migration,memory_failure,device_private", KERNEL_OPTIONS)
def test_swap_types_follow_the_kernel_arithmetic(base: str, migration: bool,
                                                 memory_failure: bool,
                                                 device_private: bool) -> None:
    """MAX_SWAPFILES = 32 - (hwpoison + migration + device + marker types);
    the special types are carved from the top in that order (include/linux/swap.h)."""
    knobs = dict(migration=migration, memory_failure=memory_failure,
                 device_private=device_private)
    prof = ptebits.get_profile(base, **knobs)
    ref = R.ref_profile(base, **knobs)
    assert prof.max_swapfiles == ref.max_swapfiles
    assert prof.swap_types() == ref.special_types
    for t in range(32):
        kind, sub = ref.type_table[t]
        want = "swap device %d" % t if kind == "swap" else \
            ("%s %s" % (kind, sub) if sub else {"marker": "pte marker"}.get(kind, kind))
        assert prof.type_name(t) == want.replace("_", " ")
    if base == "linux-6.18":
        assert prof.swap_types()["pte_marker"] == 31       # always 31 (§4)
        assert prof.has_markers


def test_the_v2_series_adds_no_swap_type() -> None:
    """§4: the v2 special PTE lives outside the type space."""
    prof = ptebits.get_profile("linux-5.12-uffd-wp-v2")
    assert prof.special_pte == 0x4 and not prof.has_markers
    assert prof.max_swapfiles + len(prof.swap_types()) == 32
    assert ptebits.get_profile("linux-6.18").special_pte is None
    assert ptebits.get_profile("linux-5.12-uffd-wp-v2+no_uffd_wp").special_pte is None


# --------------------------------------------------------- layout bits

@pytest.mark.parametrize("name", ["linux-6.18", "linux-5.12-uffd-wp-v2",
                                  "linux-6.18+memory_failure+device_private", "linux-6.18+la57",
                                  "linux-5.12-uffd-wp-v2+no_soft_dirty+no_uffd_wp",
                                  "linux-6.18+soft_dirty"])
def test_software_bits_per_profile(name: str) -> None:
    """§1/§3: uffd-wp bit 10 / swap bit 2, soft-dirty bit 11 / swap bit 1 only
    with MEM_SOFT_DIRTY, 5.12 DEVMAP vs 6.18 SAVED_DIRTY at bit 58, swap
    exclusive bit 3 in 6.18 only; SWP_PFN_BITS 34 (40 with LA57)."""
    prof, ref = ptebits.get_profile(name), R.ref_profile(name)
    assert prof.mask("uffd_wp") == ref.uffd_wp_bit
    assert prof.mask("soft_dirty") == ref.soft_dirty_bit
    assert prof.mask("saved_dirty") == ref.saved_dirty_bit
    assert prof.mask("devmap") == ref.devmap_bit
    assert prof.mask("swp_soft_dirty") == ref.swp_soft_dirty
    assert prof.mask("swp_uffd_wp") == ref.swp_uffd_wp
    assert prof.mask("swp_exclusive") == ref.swp_exclusive
    assert prof.mask("mig_young") == ref.mig_young
    assert prof.mask("mig_dirty") == ref.mig_dirty
    if prof.is_6_18:
        assert prof.swp_pfn_bits == (40 if prof.knobs["la57"] else 34)
    desc = prof.describe()
    assert desc["name"] == prof.name
    assert desc["max_swapfiles"] == ref.max_swapfiles
    assert desc["swap_types"] == ref.special_types


# ------------------------------------------------------------------ host

def test_host_profile_of_the_project_machines_is_linux_6_18(machine_config: str,
                                                             machine_cpuinfo: str) -> None:
    """6.18.44 with the machines' config and cpuinfo (no la57) → linux-6.18."""
    prof = ptebits.host_profile(release=MACHINE_RELEASE, config=machine_config,
                                cpuinfo=machine_cpuinfo)
    assert prof == ptebits.get_profile("linux-6.18")
    assert prof.name == "linux-6.18"


def test_host_profile_turns_la57_on_from_cpuinfo(machine_config: str,
                                                 machine_cpuinfo: str) -> None:
    """§8: on an LA57 machine SWP_PFN_BITS is 40 (migration A/D at 40/41)."""
    cpuinfo = machine_cpuinfo.replace("flags\t\t: fpu ", "flags\t\t: fpu la57 ", 1)
    assert " la57 " in cpuinfo
    prof = ptebits.host_profile(release=MACHINE_RELEASE, config=machine_config, cpuinfo=cpuinfo)
    assert prof == ptebits.get_profile("linux-6.18", la57=True)
    assert prof.swp_pfn_bits == 40


def test_host_profile_reads_config_options(machine_config: str) -> None:
    """Options that carve swap types are read from the config text."""
    config = machine_config.replace("# CONFIG_DEVICE_PRIVATE is not set",
                                    "CONFIG_DEVICE_PRIVATE=y") + "CONFIG_MEMORY_FAILURE=y\n"
    prof = ptebits.host_profile(release="6.18.35", config=config, cpuinfo="")
    assert prof == ptebits.get_profile("linux-6.18+memory_failure+device_private")
    assert prof.max_swapfiles == 24
    config = machine_config.replace("# CONFIG_MEM_SOFT_DIRTY is not set", "CONFIG_MEM_SOFT_DIRTY=y")
    prof = ptebits.host_profile(release=MACHINE_RELEASE, config=config, cpuinfo="")
    assert prof.knobs["soft_dirty"] and prof.mask("swp_soft_dirty") == 0x2


def test_host_profile_needs_the_exact_option_names(machine_config: str) -> None:
    """CONFIG_DEVICE_MIGRATION or a 'not set' comment do not turn knobs on."""
    assert "# CONFIG_DEVICE_PRIVATE is not set" in machine_config
    prof = ptebits.host_profile(release=MACHINE_RELEASE,
                                config=machine_config + "CONFIG_DEVICE_PRIVATE_X=y\n", cpuinfo="")
    assert not prof.knobs["device_private"]


def test_host_name_resolves_to_the_running_kernel_or_refuses() -> None:
    """get_profile('host') is host_profile(); on an unknown kernel both refuse."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = ptebits.host_profile()
        except ptebits.UnsupportedKernelError:
            with pytest.raises(ptebits.UnsupportedKernelError):
                ptebits.get_profile("host")
            return
        assert ptebits.get_profile("host") == expected
