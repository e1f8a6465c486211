"""The ``ptebits`` command line, as README.md promises it ("A short tour",
"Kernel profiles", "Decoded columns and the output schema", "Errors and
exit codes", "Benchmarks").

Most tests drive ``ptebits.cli.main([...])`` in-process (fast, output via
capsys); a few run ``python -m ptebits`` for real to check exit statuses and
that nothing but a one-line message reaches stderr.

Exit codes: 0 ok, 1 a check failed, 2 usage (including unknown profiles and
knobs), 3 bad input data (unparsable values, bad dumps, missing files,
fields out of range), 4 something the environment lacks, 130 interrupted.

The kernel facts used here are the fact sheet's (kernel-facts §1-§6, copied
into tests/data/spec_vectors.json with their sources); the raw values below
are its worked examples.
"""
from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import types
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import pytest

import ptebits
import ptebits.bench
import ptebits.bench_fault
from ptebits.cli import main
from ptebits.explain import Pte
from ptebits.schema import FIELD_NAMES, iter_rows

from conftest import spec

V618, V512 = "linux-6.18", "linux-5.12-uffd-wp-v2"
V618_ALL = "linux-6.18+memory_failure+device_private"     # kernel-facts §4 column c
SPEC = spec()


class Result(NamedTuple):
    code: int
    out: str
    err: str


def cli(capsys: Any, *argv: str) -> Result:
    """Run ``ptebits ARGV`` in-process; its exit status and output."""
    capsys.readouterr()                       # drop anything printed before
    code = main(list(argv))
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def assert_one_line_error(res: Result, code: int, *needles: str) -> str:
    """The command failed with ``code`` and said why in one line on stderr,
    without a traceback.  (Errors that argparse itself finds on the command
    line -- an unknown option or kind, a missing positional -- come after
    argparse's usage synopsis, as argparse prints them: the synopsis, then
    one "ptebits[ SUBCOMMAND]: error: ..." line.)"""
    assert res.code == code, res
    assert "Traceback" not in res.err
    lines = res.err.splitlines()
    if lines and lines[0].startswith("usage: ptebits"):      # argparse's own usage errors
        assert code == 2
        assert all(ln.startswith(" ") for ln in lines[1:-1]), res.err
        lines = lines[-1:]
        assert re.match(r"^ptebits( [a-z]+)?: error: ", lines[0]), res.err
    else:
        assert len(lines) == 1, res.err
        assert lines[0].startswith("ptebits: error: "), lines[0]
    line = lines[0]
    for needle in needles:
        assert needle in line, (needle, line)
    return line


#: The note ``ptebits decode`` prints on stderr before it reads (issue 5):
#: ``ptebits: NAME: N entries|streamed, format F (auto-detected|as given[,
#: gzip-compressed]), profile P, level L`` (``level pagemap words`` for
#: pagemap dumps).
DECODE_NOTE = re.compile(r"^ptebits: (?P<name>.+): (?:(?P<entries>\d+) entries|streamed), "
                         r"format (?P<format>raw|npy|hex|gdb|crash|pagemap) "
                         r"\((?P<how>auto-detected|as given)(?:, (?P<comp>gzip|xz)-compressed)?\), "
                         r"profile (?P<profile>\S+), level (?P<level>pte|pmd|pud|p4d|pgd|"
                         r"pagemap words)$")


def decode_note(name: str, entries: Optional[int], fmt: str, how: str = "auto-detected",
                profile: str = "linux-6.18", level: str = "pte",
                compression: Optional[str] = None) -> str:
    """The stderr note of ``ptebits decode``, as a line (with its newline)."""
    return "ptebits: %s: %s, format %s (%s%s), profile %s, level %s\n" % (
        name, "streamed" if entries is None else "%d entries" % entries, fmt, how,
        ", %s-compressed" % compression if compression else "", profile,
        "pagemap words" if fmt == "pagemap" else level)


def assert_error_after_note(res: Result, code: int, *needles: str) -> str:
    """An error found while streaming the input (a bad text line, a torn
    stream): stderr is the decode note, then exactly one ``ptebits: error:``
    line, and no traceback (issue 5).  With -q there is no note: use
    :func:`assert_one_line_error`."""
    assert res.code == code, res
    assert "Traceback" not in res.err
    lines = res.err.splitlines()
    assert len(lines) == 2, res.err
    assert DECODE_NOTE.match(lines[0]), lines[0]
    assert lines[1].startswith("ptebits: error: "), lines[1]
    for needle in needles:
        assert needle in lines[1], (needle, lines[1])
    return lines[1]


# =============================================================== explain

MARKER_RAW = "fffffffffffffc00"      # kernel-facts §5: the 6.18 uffd-wp marker


def _blocks(out: str) -> Dict[str, List[str]]:
    """explain's short form: for each profile, its summary and fault lines."""
    blocks: Dict[str, List[str]] = {}
    current = None
    for line in out.splitlines()[1:]:
        m = re.match(r"^  (linux-\S+)\s+(.*)$", line)
        if m:
            current = m.group(1)
            blocks[current] = [m.group(2)]
        else:
            assert current is not None and line.startswith("   "), line
            blocks[current].append(line.strip())
    return blocks


def test_explain_without_profile_reads_the_value_under_both_kernels(capsys: Any) -> None:
    """README tour / kernel-facts §4, §5: fffffffffffffc00 is the uffd-wp PTE
    marker (type 31, offset 1) under 6.18 and, under 5.12 + the v2 series,
    a device-private read entry (type 31 is SWP_DEVICE_READ there) for pfn 1."""
    res = cli(capsys, "explain", MARKER_RAW)
    assert (res.code, res.err) == (0, "")
    assert res.out.splitlines()[0] == "0xfffffffffffffc00"
    blocks = _blocks(res.out)
    assert list(blocks) == [V618, V512]
    summary_618, fault_618 = blocks[V618]
    assert re.search(r"\bmarker\b", summary_618) and "UFFD_WP" in summary_618
    assert "swap type 31" in summary_618 and "offset 0x1" in summary_618
    assert fault_618.startswith("fault: do_swap_page") and "handle_pte_marker" in fault_618
    summary_512, fault_512 = blocks[V512]
    assert re.search(r"\bdevice private_read pfn=0x1 \(swap type 31\)", summary_512)
    assert "migrate_to_ram" in fault_512


@pytest.mark.parametrize("spelling", ["fffffffffffffc00", "0xfffffffffffffc00",
                                      "0XFFFFFFFFFFFFFC00", "0xFFFFFFFFFFFFFC00",
                                      " fffffffffffffc00 "])
def test_explain_takes_hex_with_or_without_0x(capsys: Any, spelling: str) -> None:
    """README: values are hex with or without 0x, as crash's pte prints them."""
    assert cli(capsys, "explain", spelling) == cli(capsys, "explain", MARKER_RAW)


def test_explain_short_values_are_hex_not_decimal(capsys: Any) -> None:
    """'27' is 0x27 (PAGE_SHARED_EXEC bits), not decimal 27."""
    res = cli(capsys, "explain", "27", "--profile", V618)
    assert res.code == 0
    assert res.out.startswith("0x0000000000000027 present pfn=0x0 P RW USER A ")


def test_explain_4_under_v2_names_the_special_pte(capsys: Any) -> None:
    """kernel-facts §5: raw 0x4 is the v2 series' uffd-wp special swap PTE."""
    res = cli(capsys, "explain", "4", "--profile", V512)
    assert (res.code, res.err) == (0, "")
    first = res.out.splitlines()[0]
    assert first.startswith("0x0000000000000004 uffd_wp_special")
    assert "special" in first.split("uffd_wp_special", 1)[1]
    assert first.endswith("under %s" % V512)
    assert "uffd_wp_handle_special" in res.out              # the fault path (§7a)
    assert re.search(r"^  2 +SWP_UFFD_WP +1$", res.out, re.M)    # bit diagram: only bit 2


def test_explain_4_under_6_18_is_a_bogus_type_0_swap_entry(capsys: Any) -> None:
    """kernel-facts §5 note: on 6.18 raw 0x4 is type 0, offset 2^50-1, swp uffd-wp."""
    res = cli(capsys, "explain", "0x4", "--profile", V618)
    assert res.code == 0
    assert res.out.splitlines()[0].startswith(
        "0x0000000000000004 swap type=0 offset=0x3ffffffffffff SWP_UFFD_WP")


def test_explain_with_profile_gives_the_full_breakdown(capsys: Any) -> None:
    """--profile: summary, swap type name, bit diagram, fields, fault path."""
    res = cli(capsys, "explain", MARKER_RAW, "--profile", V618)
    assert res.code == 0
    assert res.out == Pte(0xFFFFFFFFFFFFFC00, profile=V618).explain() + "\n"
    assert "swap type 31 = pte marker" in res.out
    assert re.search(r"^  fields: .*marker_uffd_wp=1", res.out, re.M)


def test_explain_verbose_breaks_down_every_profile(capsys: Any) -> None:
    res = cli(capsys, "explain", "-v", MARKER_RAW)
    assert res.code == 0
    assert res.out == "".join(Pte(0xFFFFFFFFFFFFFC00, profile=p).explain() + "\n"
                              for p in (V618, V512))


def test_the_scalar_view_explain_prints_is_ptebits_pte() -> None:
    """README: ``pte = ptebits.Pte(0xfffffffffffffc00); print(pte.explain())``."""
    assert "Pte" in ptebits.__all__
    pte = ptebits.Pte(0xFFFFFFFFFFFFFC00)
    assert pte.explain() == Pte(0xFFFFFFFFFFFFFC00, profile=V618).explain()
    assert (str(pte.kind), pte.marker_uffd_wp) == ("marker", 1)


def test_explain_several_values_one_block_each(capsys: Any) -> None:
    res = cli(capsys, "explain", "8000000012345027", "0x000FFFFFEDCBA120")
    assert res.code == 0
    first, second = res.out.split("\n\n")
    assert first.startswith("0x8000000012345027\n") and "present pfn=0x12345" in first
    assert second.startswith("0x000fffffedcba120\n") and "protnone pfn=0x12345" in second


def test_explain_pagemap_word_of_a_uffd_wp_marker(capsys: Any) -> None:
    """kernel-facts §6 (EMP): pagemap shows a 6.18 uffd-wp marker as
    0x420000000000003F: PM_SWAP | PM_UFFD_WP, frame = type 31 | offset 1 << 5."""
    res = cli(capsys, "explain", "--pagemap", "420000000000003f", "--profile", V618)
    assert (res.code, res.err) == (0, "")
    head, *rest = res.out.splitlines()
    assert head.startswith("0x420000000000003f pagemap word under linux-6.18")
    assert re.search(r"\bswap\b", head) and re.search(r"\buffd_wp\b", head)
    body = "\n".join(rest)
    assert re.search(r"\btype=31\b.*offset=0x1\b.*\bmarker\b", body)
    assert re.search(r"PTE marker: uffd_wp", body)


def test_explain_pagemap_without_profile_covers_both_kernels(capsys: Any) -> None:
    """PM_UFFD_WP (bit 57) does not exist in 5.12's pagemap (§6)."""
    res = cli(capsys, "explain", "--pagemap", "420000000000003f")
    assert (res.code, res.err) == (0, "")
    assert res.out.count("pagemap word under") == 2
    v618, v512 = res.out.split("0x420000000000003f pagemap word under ")[1:]
    assert v618.startswith("linux-6.18: swap uffd_wp\n")
    assert re.search(r"type=31 \(pte marker\) offset=0x1 → marker", v618)
    assert "PTE marker: uffd_wp" in v618
    assert v512.startswith("linux-5.12-uffd-wp-v2: ")
    assert "→ device" in v512 and "not reported by linux-5.12-uffd-wp-v2" in v512


@pytest.mark.parametrize("value", ["zz", "0x", "", "1" * 17, "-1", "0x12345g"])
def test_explain_refuses_values_that_are_not_64_bit_hex(capsys: Any, value: str) -> None:
    """An unparsable value is bad input data: exit 3, one line naming it."""
    assert_one_line_error(cli(capsys, "explain", value), 3, "is not a 64-bit hex value")


def test_version(capsys: Any) -> None:
    res = cli(capsys, "--version")
    assert res.code == 0
    assert res.out.strip() == "ptebits %s" % ptebits.__version__


def test_no_command_is_a_usage_error(capsys: Any) -> None:
    res = cli(capsys)
    assert res.code == 2 and res.out == ""
    assert "usage: ptebits" in res.err


# ================================================================ encode

def _hex(raw: int) -> str:
    return "%#018x\n" % raw


def _case_id(value: Any) -> Optional[str]:
    """Test ids: the argv joined, the profile name; nothing for the rest."""
    if isinstance(value, list):
        return "-".join(value).replace("--", "")
    if isinstance(value, str):
        return value
    return None


# argv after "encode", the profile, and the library call that must agree.
ENCODE_CASES = [
    # present / PROT_NONE: pfn_pte(pfn, prot) (§2)
    (["present", "--pfn", "0x12345", "--prot", "PAGE_SHARED"], V618,
     lambda p: ptebits.encode_present(0x12345, "PAGE_SHARED", profile=p)),
    (["present", "--pfn", "0x12345", "--prot", "PAGE_NONE"], V512,
     lambda p: ptebits.encode_present(0x12345, "PAGE_NONE", profile=p)),
    (["present", "--pfn", "0xfffffffff", "--prot", "0x8000000000000025"], V618,
     lambda p: ptebits.encode_present(0xFFFFFFFFF, 0x8000000000000025, profile=p)),
    (["present", "--pfn", "0", "--prot", "PAGE_COPY_EXEC"], V512,
     lambda p: ptebits.encode_present(0, "PAGE_COPY_EXEC", profile=p)),
    # swap (§3), with each flag bit the profile has
    (["swap", "--type", "1", "--offset", "0x1234"], V618,
     lambda p: ptebits.encode_swap(1, 0x1234, profile=p)),
    (["swap", "--type", "1", "--offset", "0x1234", "--uffd-wp"], V512,
     lambda p: ptebits.encode_swap(1, 0x1234, uffd_wp=True, profile=p)),
    (["swap", "--type", "27", "--offset", "0x3fffffffffffe", "--uffd-wp", "--exclusive"], V618,
     lambda p: ptebits.encode_swap(27, (1 << 50) - 2, uffd_wp=True, exclusive=True,
                                   profile=p)),
    (["swap", "--type", "26", "--offset", "1", "--soft-dirty"], V512,
     lambda p: ptebits.encode_swap(26, 1, soft_dirty=True, profile=p)),
    # migration (§4): read, read-exclusive (6.18), write, young/dirty (6.18)
    (["migration", "--pfn", "0x12345"], V618,
     lambda p: ptebits.encode_migration(0x12345, profile=p)),
    (["migration", "--pfn", "0x12345", "--exclusive", "--uffd-wp"], V618,
     lambda p: ptebits.encode_migration(0x12345, exclusive=True, uffd_wp=True, profile=p)),
    (["migration", "--pfn", "0x12345", "--write", "--young", "--dirty"], V618,
     lambda p: ptebits.encode_migration(0x12345, write=True, young=True, dirty=True,
                                        profile=p)),
    (["migration", "--pfn", "0x12345", "--write", "--soft-dirty", "--uffd-wp"], V512,
     lambda p: ptebits.encode_migration(0x12345, write=True, soft_dirty=True, uffd_wp=True,
                                        profile=p)),
    # device (needs DEVICE_PRIVATE): private read/write, exclusive (6.18)
    (["device", "--pfn", "1"], V512, lambda p: ptebits.encode_device(1, profile=p)),
    (["device", "--pfn", "1", "--write", "--uffd-wp", "--soft-dirty"], V512,
     lambda p: ptebits.encode_device(1, write=True, uffd_wp=True, soft_dirty=True, profile=p)),
    (["device", "--pfn", "0x12345", "--exclusive"], V618_ALL,
     lambda p: ptebits.encode_device(0x12345, exclusive=True, profile=p)),
    # hwpoison (needs MEMORY_FAILURE)
    (["hwpoison", "--pfn", "0x12345"], V512, lambda p: ptebits.encode_hwpoison(0x12345, profile=p)),
    (["hwpoison", "--pfn", "0x12345"], V618_ALL,
     lambda p: ptebits.encode_hwpoison(0x12345, profile=p)),
    # 6.18 markers (§5)
    (["marker", "--uffd-wp"], V618, lambda p: ptebits.encode_marker(uffd_wp=True, profile=p)),
    (["marker", "--poisoned"], V618, lambda p: ptebits.encode_marker(poisoned=True, profile=p)),
    (["marker", "--guard"], V618, lambda p: ptebits.encode_marker(guard=True, profile=p)),
    (["marker", "--uffd-wp", "--poisoned", "--guard"], V618_ALL,
     lambda p: ptebits.encode_marker(uffd_wp=True, poisoned=True, guard=True, profile=p)),
    # the v2 special PTE
    (["special"], V512, lambda p: ptebits.encode_special(profile=p)),
]


@pytest.mark.parametrize("argv,profile,library", ENCODE_CASES, ids=_case_id)
def test_encode_prints_what_the_library_encoder_returns(capsys: Any, argv: List[str],
                                                       profile: str, library: Any) -> None:
    """Every kind with its fields and flags: the CLI prints the library's
    value as 0x%016x."""
    res = cli(capsys, "encode", *argv, "--profile", profile)
    assert (res.code, res.err) == (0, ""), res
    assert res.out == _hex(int(library(profile)))


@pytest.mark.parametrize("argv,raw", [
    # README tour, i.e. kernel-facts §2, §3 and §4 worked examples
    (["present", "--pfn", "0x12345", "--prot", "PAGE_NONE"], 0x000FFFFFEDCBA120),
    (["present", "--pfn", "0x12345", "--prot", "PAGE_SHARED"], 0x8000000012345027),
    (["swap", "--type", "1", "--offset", "0x1234", "--uffd-wp"], 0x0FFFFFFFFFDB9604),
    (["swap", "--type", "1", "--offset", "0x1234", "--exclusive"], 0x0FFFFFFFFFDB9608),
    (["migration", "--pfn", "0x12345", "--write", "--young", "--dirty"], 0xF7FFE7FFFDB97400),
    (["migration", "--pfn", "0x12345", "--write"], 0xF7FFFFFFFDB97400),
    (["marker", "--uffd-wp"], 0xFFFFFFFFFFFFFC00),
    (["marker", "--poisoned"], 0xFFFFFFFFFFFFFA00),
    (["marker", "--guard"], 0xFFFFFFFFFFFFF600),
], ids=lambda x: "-".join(x).replace("--", "") if isinstance(x, list) else "%#x" % x)
def test_encode_default_profile_gives_the_kernel_values(capsys: Any, argv: List[str],
                                                        raw: int) -> None:
    """Without --profile, linux-6.18."""
    res = cli(capsys, "encode", *argv)
    assert (res.code, res.out) == (0, _hex(raw))


def test_encode_v2_special_and_5_12_write_migration(capsys: Any) -> None:
    """§5: the special PTE is 0x4; §4: 5.12 write migration (type 29) for pfn 0x12345."""
    assert cli(capsys, "encode", "special", "--profile", V512).out == _hex(0x4)
    assert cli(capsys, "encode", "migration", "--pfn", "0x12345", "--write",
               "--profile", V512).out == _hex(0xEFFFFFFFFDB97400)


def test_encode_field_numbers_are_decimal_or_0x_hex(capsys: Any) -> None:
    """Field values (unlike explain's raw values) are decimal or 0x-hex."""
    dec = cli(capsys, "encode", "present", "--pfn", "74565", "--prot", "PAGE_SHARED")
    hexa = cli(capsys, "encode", "present", "--pfn", "0x12345", "--prot", "PAGE_SHARED")
    assert dec == hexa and dec.out == _hex(0x8000000012345027)
    named = cli(capsys, "encode", "present", "--pfn", "0x12345", "--prot", "PAGE_SHARED")
    number = cli(capsys, "encode", "present", "--pfn", "0x12345", "--prot", "0x8000000000000027")
    assert named == number


@pytest.mark.parametrize("argv,profile", [
    (["marker", "--uffd-wp"], V618),
    (["special"], V512),
    (["present", "--pfn", "0x12345", "--prot", "PAGE_NONE"], V618),
    (["migration", "--pfn", "0x12345", "--write", "--young", "--dirty"], V618),
    (["device", "--pfn", "7", "--write"], V512),
])
def test_encode_explain_explains_the_result(capsys: Any, argv: List[str], profile: str) -> None:
    """--explain prints the breakdown of the encoded value, not the value alone."""
    raw = int(cli(capsys, "encode", *argv, "--profile", profile).out, 16)
    res = cli(capsys, "encode", *argv, "--profile", profile, "--explain")
    assert (res.code, res.err) == (0, "")
    assert res.out == Pte(raw, profile=profile).explain() + "\n"
    assert res.out.startswith("%#018x " % raw) and ("under %s\n" % profile) in res.out


@pytest.mark.parametrize("argv,needle", [
    (["present", "--prot", "PAGE_SHARED"], "needs --pfn"),
    (["present", "--pfn", "1"], "needs --prot"),
    (["swap", "--type", "1"], "needs --offset"),
    (["swap", "--offset", "1"], "needs --type"),
    (["migration"], "needs --pfn"),
    (["swap", "--type", "1", "--offset", "1", "--young"], "--young does not apply to swap"),
    (["swap", "--type", "1", "--offset", "1", "--write"], "--write does not apply to swap"),
    (["present", "--pfn", "1", "--prot", "PAGE_SHARED", "--uffd-wp"], "--uffd-wp does not apply"),
    (["present", "--pfn", "1", "--prot", "PAGE_SHARED", "--type", "1"], "--type does not apply"),
    (["marker", "--pfn", "1", "--uffd-wp"], "--pfn does not apply to marker"),
    (["hwpoison", "--pfn", "1", "--dirty"], "--dirty does not apply to hwpoison"),
    (["device", "--pfn", "1", "--young"], "--young does not apply to device"),
    (["special", "--write"], "--write does not apply to special"),
    (["special", "--offset", "0"], "--offset does not apply to special"),
    (["present", "--pfn", "zz", "--prot", "PAGE_SHARED"], "--pfn 'zz' is not a number"),
    (["pte", "--pfn", "1"], "invalid choice: 'pte'"),
    (["swap", "--type", "1", "--offset", "1", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_encode_usage_errors_exit_2(capsys: Any, argv: List[str], needle: str) -> None:
    """A missing field or a flag that does not apply to the kind is a usage error."""
    res = cli(capsys, "encode", *argv)
    assert res.out == ""
    assert_one_line_error(res, 2, needle)


@pytest.mark.parametrize("argv,profile,needles", [
    # §1: the PFN field is bits 12-51, 40 bits
    (["present", "--pfn", "0x10000000000", "--prot", "PAGE_SHARED"], V618,
     ("pfn=0x10000000000", "out of range")),
    (["present", "--pfn", "0x10000000000", "--prot", "PAGE_NONE"], V512,
     ("pfn=0x10000000000", "out of range")),
    # §3: 50 offset bits; types 0..MAX_SWAPFILES-1 are swap devices
    (["swap", "--type", "1", "--offset", "0x4000000000000"], V618, ("offset=0x4000000000000",)),
    (["swap", "--type", "28", "--offset", "1"], V618, ("type 28", "migration read")),
    (["swap", "--type", "27", "--offset", "1"], V512, ("type 27", "hwpoison")),
    (["swap", "--type", "32", "--offset", "1"], V618, ("type",)),
    # §3: type 0 offset 2^50-1 is raw 0, a none PTE
    (["swap", "--type", "0", "--offset", "0x3ffffffffffff"], V618, ("read back as another kind",)),
    # §4: 6.18 pfn entries carry SWP_PFN_BITS = 34 bits without LA57
    (["migration", "--pfn", "0x400000000"], V618, ("pfn=0x400000000",)),
    # kinds and flags the profile does not have
    (["special"], V618, ("linux-6.18 has no uffd_wp_special entries",)),
    (["device", "--pfn", "1"], V618, ("linux-6.18 has no device entries",)),
    (["hwpoison", "--pfn", "1"], V618, ("linux-6.18 has no hwpoison entries",)),
    (["marker", "--uffd-wp"], V512, ("no marker entries",)),
    (["swap", "--type", "1", "--offset", "1", "--soft-dirty"], V618, ("soft_dirty",)),
    (["swap", "--type", "1", "--offset", "1", "--exclusive"], V512, ("exclusive",)),
    (["migration", "--pfn", "1", "--young"], V512, ("young",)),
    (["migration", "--pfn", "1", "--write", "--exclusive"], V618, ("write", "exclusive")),
    (["marker"], V618, ("at least one of uffd_wp, poisoned, guard",)),
    (["present", "--pfn", "1", "--prot", "0x1000"], V618, ("prot=0x1000",)),
], ids=_case_id)
def test_encode_fields_that_cannot_be_encoded_exit_3(capsys: Any, argv: List[str], profile: str,
                                                     needles: Sequence[str]) -> None:
    """Out-of-range fields, kinds and flags the profile lacks: bad input data,
    one line naming the field."""
    res = cli(capsys, "encode", *argv, "--profile", profile)
    assert res.out == ""
    assert_one_line_error(res, 3, *needles)


def test_encode_out_of_range_pfn_message(capsys: Any) -> None:
    """The acceptance example: the one line names the field and the limit."""
    res = cli(capsys, "encode", "present", "--pfn", "0x10000000000", "--prot", "PAGE_SHARED")
    line = assert_one_line_error(res, 3)
    assert re.search(r"\bpfn=0x10000000000\b.*out of range.*linux-6\.18.*limit 0x10000000000",
                     line), line


# ============================================================== profiles

def test_profiles_lists_both_kernels_and_their_swap_types(capsys: Any) -> None:
    res = cli(capsys, "profiles")
    assert (res.code, res.err) == (0, "")
    assert re.search(r"^linux-6\.18  \(default\)$", res.out, re.M)
    assert re.search(r"^linux-5\.12-uffd-wp-v2$", res.out, re.M)
    for column in SPEC["swap_type_tables"]["columns"][:2]:        # §4 columns a and b
        block = res.out.split(column["profile"], 1)[1].split("\n\n", 1)[0]
        assert "0-%d swap devices" % (column["max_swapfiles"] - 1) in block
        for name, number in column["types"].items():
            assert "%d %s" % (number, name) in block
    assert "uffd-wp special PTE: 0x4" in res.out
    for knob in ("migration", "memory_failure", "device_private", "numa_balancing", "pkeys",
                 "soft_dirty", "uffd_wp", "la57"):
        assert knob in res.out.splitlines()[-1]


def test_profiles_json_swap_types_match_spec_columns_a_and_b(capsys: Any) -> None:
    """kernel-facts §4 table, columns (a) 5.12 + v2 and (b) 6.18 of the project machines."""
    res = cli(capsys, "profiles", "--json")
    assert (res.code, res.err) == (0, "")
    profiles = {p["name"]: p for p in json.loads(res.out)}
    assert set(profiles) == {V618, V512}
    columns = {c["column"]: c for c in SPEC["swap_type_tables"]["columns"]}
    for col in ("a", "b"):
        want = columns[col]
        got = profiles[want["profile"]]
        assert got["max_swapfiles"] == want["max_swapfiles"]
        assert got["swap_types"] == want["types"]
    assert profiles[V512]["special_pte"] == "0x4"
    assert profiles[V618]["special_pte"] is None
    # §0 CFG: no MEMORY_FAILURE, DEVICE_PRIVATE, MEM_SOFT_DIRTY on the machines
    knobs = profiles[V618]["knobs"]
    assert (knobs["memory_failure"], knobs["device_private"], knobs["soft_dirty"]) == \
        (False, False, False)
    assert (knobs["migration"], knobs["uffd_wp"], knobs["la57"]) == (True, True, False)
    assert profiles[V618]["swp_pfn_bits"] == 34                    # §4: 46 - 12


def test_profile_with_knobs_is_accepted(capsys: Any) -> None:
    """README: --profile linux-6.18+memory_failure+device_private; §4 column c
    numbers hwpoison 24 ... device exclusive 30."""
    col_c = SPEC["swap_type_tables"]["columns"][2]
    assert col_c["profile"] == V618_ALL
    res = cli(capsys, "encode", "device", "--pfn", "1", "--exclusive", "--profile", V618_ALL)
    assert res.code == 0
    raw = int(res.out, 16)
    assert raw >> 59 == col_c["types"]["device_exclusive"]
    res = cli(capsys, "explain", res.out.strip(), "--profile", V618_ALL)
    assert res.code == 0 and "device exclusive pfn=0x1" in res.out
    res = cli(capsys, "encode", "hwpoison", "--pfn", "1", "--profile", V618_ALL)
    assert int(res.out, 16) >> 59 == col_c["types"]["hwpoison"]
    off = cli(capsys, "encode", "swap", "--type", "1", "--offset", "1", "--soft-dirty",
              "--profile", "linux-5.12-uffd-wp-v2+no_soft_dirty")
    assert_one_line_error(off, 3, "soft_dirty")


@pytest.mark.parametrize("argv,needle", [
    (["explain", "0", "--profile", "linux-9.9"], "unknown profile 'linux-9.9'"),
    (["explain", "0", "--profile", "linux-6.18+bogus"], "unknown profile knob 'bogus'"),
    (["explain", "0", "--profile", "linux-6.18+no_bogus"], "unknown profile knob"),
    (["encode", "special", "--profile", "linux-5.13"], "unknown profile 'linux-5.13'"),
    (["decode", "-", "--profile", "6.18"], "unknown profile '6.18'"),
    (["bench", "--entries", "100", "--repeats", "1", "-q", "--faults", "100", "--profile",
      "linux-6.18+fast"],
     "unknown profile knob 'fast'"),
])
def test_unknown_profiles_and_knobs_are_usage_errors(capsys: Any, monkeypatch: Any,
                                                     argv: List[str], needle: str) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(b"")))
    res = cli(capsys, *argv)
    assert res.out == ""
    assert_one_line_error(res, 2, needle)


def test_host_profile_on_an_unknown_kernel_exits_4(capsys: Any, monkeypatch: Any) -> None:
    """Something the environment lacks: a kernel whose layout ptebits does not know."""
    import ptebits.profiles as profiles_module
    monkeypatch.setattr(profiles_module.os, "uname",
                        lambda: types.SimpleNamespace(release="5.10.0-28-amd64"))
    res = cli(capsys, "explain", "0", "--profile", "host")
    assert res.out == ""
    assert_one_line_error(res, 4, "5.10.0-28-amd64")


# ================================================================ decode

#: One entry of each interesting shape (kernel-facts worked examples), with
#: its kind under each kernel.
SAMPLE = [
    (0x0, "none", "none"),
    (0x8000000012345027, "present", "present"),             # §2 PAGE_SHARED pfn 0x12345
    (0x0, "none", "none"),
    (0xFFFFFFFFFFFFFC00, "marker", "device"),                # §5 uffd-wp marker / §4 type 31
    (0x0FFFFFFFFFDB9604, "swap", "swap"),                    # §3 swap(1, 0x1234) + uffd-wp
    (0x20, "none", "none"),                                  # §1 pte_none ignores A
    (0xF7FFE7FFFDB97400, "migration", "device"),             # §4 6.18 write migration +A/D
    (0x000FFFFFEDCBA120, "protnone", "protnone"),            # §2 PROT_NONE pfn 0x12345
    (0x4, "swap", "uffd_wp_special"),                        # §5 v2 special / bogus swap
    (0x8400000012345425, "present", "present"),              # §7b write fault on a marker
    (0xFFFFFFFFFFFFFE00, "bad", "device"),                   # §5 empty marker
]
RAWS = [raw for raw, _, _ in SAMPLE]
KINDS = {V618: [k for _, k, _ in SAMPLE], V512: [k for _, _, k in SAMPLE]}


def _raw_bytes(values: Sequence[int]) -> bytes:
    return np.array(values, dtype="<u8").tobytes()


@pytest.fixture
def dump(tmp_path: Any) -> str:
    path = tmp_path / "pte-page.bin"
    path.write_bytes(_raw_bytes(RAWS))
    return str(path)


def _jsonl(out: str) -> List[Dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def _stdin(monkeypatch: Any, data: bytes) -> None:
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BytesIO(data)))


def _va(index: int, span: int = 4096) -> str:
    """The va column of entry ``index`` of a pte dump read without --base-va."""
    return "0x%016x" % (index * span)


# --------------------------------------------------------------- inputs

def test_decode_raw_dump_auto_detected(capsys: Any, dump: str) -> None:
    """A raw little-endian u64 file; the note on stderr names the format."""
    res = cli(capsys, "decode", dump, "--output", "jsonl")
    assert res.code == 0
    assert [row["raw"] for row in _jsonl(res.out)] == ["0x%016x" % v for v in RAWS]
    assert [row["kind"] for row in _jsonl(res.out)] == KINDS[V618]
    assert res.err == "ptebits: %s: %d entries, format raw (auto-detected), profile linux-6.18, " \
        "level pte\n" % (dump, len(RAWS))
    assert res.err == decode_note(dump, len(RAWS), "raw")


HEX_TEXT = """\
# a PTE page as crash prints it
0x8000000012345027
fffffffffffffc00

  0X0FFFFFFFFFDB9604   # trailing comment
\t000fffffedcba120\t
# 0xdeadbeef is commented out
4
0
"""
HEX_VALUES = [0x8000000012345027, 0xFFFFFFFFFFFFFC00, 0x0FFFFFFFFFDB9604, 0x000FFFFFEDCBA120,
              0x4, 0x0]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_decode_hex_text_with_comments_and_blank_lines(capsys: Any, tmp_path: Any,
                                                       newline: str) -> None:
    """Hex text, one value per line, 0x optional, blank lines and # comments."""
    path = tmp_path / "ptes.txt"
    path.write_bytes(HEX_TEXT.replace("\n", newline).encode())
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert res.code == 0, res
    assert [int(r["raw"], 16) for r in _jsonl(res.out)] == HEX_VALUES
    assert "format hex (auto-detected)" in res.err


def test_decode_hex_and_raw_of_the_same_values_agree(capsys: Any, tmp_path: Any) -> None:
    text = tmp_path / "ptes.txt"
    text.write_text("".join("%x\n" % v for v in RAWS))
    raw = tmp_path / "ptes.bin"
    raw.write_bytes(_raw_bytes(RAWS))
    for out in ("jsonl", "csv", "table"):
        a = cli(capsys, "decode", str(text), "--output", out)
        b = cli(capsys, "decode", str(raw), "--output", out)
        assert a.code == b.code == 0 and a.out == b.out


@pytest.mark.parametrize("fmt", ["raw", "hex"])
def test_decode_stdin(capsys: Any, monkeypatch: Any, fmt: str) -> None:
    """`some-tool | ptebits decode -`: stdin, raw or hex, auto-detected."""
    data = _raw_bytes(RAWS) if fmt == "raw" else "".join("0x%x\n" % v for v in RAWS).encode()
    _stdin(monkeypatch, data)
    res = cli(capsys, "decode", "-", "--output", "jsonl")
    assert res.code == 0, res
    assert [int(r["raw"], 16) for r in _jsonl(res.out)] == RAWS
    # stdin is streamed: its size is not known before it is read
    assert res.err == "ptebits: <stdin>: streamed, format %s (auto-detected), profile " \
        "linux-6.18, level pte\n" % fmt


def test_decode_stdin_with_forced_format(capsys: Any, monkeypatch: Any) -> None:
    """README: `some-tool | ptebits decode - --format hex --output csv`."""
    _stdin(monkeypatch, b"0x8000000012345027\n")
    res = cli(capsys, "decode", "-", "--format", "hex", "--output", "csv")
    assert res.code == 0
    assert "format hex (as given)" in res.err
    assert list(csv.DictReader(io.StringIO(res.out)))[0]["raw"] == "0x8000000012345027"


def test_decode_format_forcing_overrides_detection(capsys: Any, tmp_path: Any) -> None:
    """--format raw reads hex text as bytes; --format hex refuses binary."""
    text = tmp_path / "two.txt"
    text.write_bytes(b"0x1\n0x2\n")                        # 8 bytes of text
    res = cli(capsys, "decode", str(text), "--format", "raw", "--output", "jsonl")
    assert res.code == 0
    assert "format raw (as given)" in res.err
    assert [r["raw"] for r in _jsonl(res.out)] == ["0x%016x" % int.from_bytes(b"0x1\n0x2\n",
                                                                           "little")]
    auto = cli(capsys, "decode", str(text), "--output", "jsonl")
    assert [r["raw"] for r in _jsonl(auto.out)] == ["0x%016x" % 1, "0x%016x" % 2]
    binary = tmp_path / "one.bin"
    binary.write_bytes(_raw_bytes([0x8000000012345027]))
    forced = cli(capsys, "decode", str(binary), "--format", "hex")
    assert forced.out == ""
    assert_error_after_note(forced, 3, "%s:1: not a 64-bit hex value" % binary)
    assert forced.err.splitlines()[0] + "\n" == decode_note(str(binary), None, "hex", "as given")


def test_decode_quiet_prints_no_note(capsys: Any, dump: str) -> None:
    res = cli(capsys, "decode", dump, "-q")
    assert (res.code, res.err) == (0, "")


def test_decode_profile_changes_the_reading(capsys: Any, dump: str) -> None:
    res = cli(capsys, "decode", dump, "--profile", V512, "--output", "jsonl")
    assert res.code == 0
    assert [row["kind"] for row in _jsonl(res.out)] == KINDS[V512]
    assert res.err.endswith("profile linux-5.12-uffd-wp-v2, level pte\n")


# ---------------------------------------------------------------- table

def _table(out: str, span: int = 4096) -> Any:
    """A decode table: header (index, va, raw, decoded), rows, then the count
    line ``# N entries: kind n, ...``; the va column is index x span."""
    lines = out.splitlines()
    assert re.match(r"^\s+index  va\s+raw\s+decoded$", lines[0]), lines[0]
    rows = [re.match(r"^\s*(\d+)  (0x[0-9a-f]{16})  (0x[0-9a-f]{16})  (\S+)(.*)$", ln)
            for ln in lines[1:-1]]
    assert all(rows), lines
    for r in rows:
        assert r.group(2) == _va(int(r.group(1)), span), r.group(0)
    m = re.match(r"^# (\d+) entries: (.*)$", lines[-1])
    assert m, lines[-1]
    counts = {} if m.group(2) == "none" and int(m.group(1)) == 0 else {
        k: int(n) for k, n in (part.rsplit(" ", 1) for part in m.group(2).split(", "))}
    return [(int(r.group(1)), int(r.group(3), 16), r.group(4)) for r in rows], \
        int(m.group(1)), counts


@pytest.mark.parametrize("profile", [V618, V512])
def test_decode_table_hides_none_entries_and_counts_every_kind(capsys: Any, dump: str,
                                                               profile: str) -> None:
    res = cli(capsys, "decode", dump, "--profile", profile)
    assert res.code == 0
    rows, total, counts = _table(res.out)
    kinds = KINDS[profile]
    assert total == len(RAWS) == sum(counts.values())
    assert counts == {k: kinds.count(k) for k in dict.fromkeys(kinds)}
    assert counts == {k: n for k, n in ptebits.decode(np.array(RAWS, dtype=np.uint64),
                                                      profile=profile).counts().items() if n}
    assert [(i, raw) for i, raw, _ in rows] == [(i, v) for i, v in enumerate(RAWS)
                                                if kinds[i] != "none"]
    assert [k for _, _, k in rows] == [k for k in kinds if k != "none"]


def test_decode_table_all_shows_none_entries(capsys: Any, dump: str) -> None:
    res = cli(capsys, "decode", dump, "--all")
    rows, total, counts = _table(res.out)
    assert [(i, raw, k) for i, raw, k in rows] == [(i, v, k) for i, (v, k) in
                                                   enumerate(zip(RAWS, KINDS[V618]))]
    assert total == len(rows) == sum(counts.values())
    # pte_none() ignores A/D, but 0x20 is not what pte_clear() writes
    assert re.search(r"^\s+5  0x0000000000005000  0x0000000000000020  none \[non-canonical\]$",
                     res.out, re.M)


# ---------------------------------------------------------------- jsonl

#: README "Decoded columns and the output schema", in its order: the kinds
#: each field applies to, and (for config-dependent fields) what the profile
#: needs.  Typed from the README table, not taken from ptebits.schema.
PRESENT_K = ("present", "protnone")
PFN_K = ("present", "protnone", "migration", "device", "hwpoison")
ALL_K = ("none", "present", "protnone", "swap", "migration", "device", "hwpoison", "marker",
         "uffd_wp_special", "bad")
SWAPFMT_K = ("swap", "migration", "device", "hwpoison", "marker", "bad")
SWPFLAG_K = ("swap", "migration", "device", "hwpoison", "bad")
README_SCHEMA = [
    ("pfn", PFN_K, None), ("rw", PRESENT_K, None), ("user", PRESENT_K, None),
    ("pwt", PRESENT_K, None), ("pcd", PRESENT_K, None), ("accessed", PRESENT_K, None),
    ("dirty_hw", PRESENT_K, None), ("pat", PRESENT_K, None), ("global", PRESENT_K, None),
    ("protnone", PRESENT_K, None), ("special", PRESENT_K, None),
    ("uffd_wp", PRESENT_K, "HAVE_ARCH_USERFAULTFD_WP"), ("soft_dirty", PRESENT_K, "MEM_SOFT_DIRTY"),
    ("devmap", PRESENT_K, "5.12"), ("saved_dirty", PRESENT_K, "6.18"), ("pkey", PRESENT_K, "PKEYS"),
    ("nx", PRESENT_K, None), ("write", PRESENT_K, None), ("dirty", PRESENT_K, None),
    ("young", PRESENT_K, None), ("pte_none", ALL_K, None), ("pte_present", ALL_K, None),
    ("pte_protnone", ALL_K, None), ("canonical", ALL_K, None), ("swp_type", SWAPFMT_K, None),
    ("swp_offset", SWAPFMT_K, None), ("swp_soft_dirty", SWPFLAG_K, "MEM_SOFT_DIRTY"),
    ("swp_uffd_wp", SWPFLAG_K, "HAVE_ARCH_USERFAULTFD_WP"), ("swp_exclusive", SWPFLAG_K, "6.18"),
    ("sub", ("migration", "device"), None), ("mig_young", ("migration",), "6.18"),
    ("mig_dirty", ("migration",), "6.18"), ("marker", ("marker",), None),
    ("marker_uffd_wp", ("marker",), None), ("marker_poisoned", ("marker",), None),
    ("marker_guard", ("marker",), None),
]
#: What each built-in profile has (README profile table; kernel-facts §0, §1, §3, §4).
PROFILE_HAS = {
    V618: {"HAVE_ARCH_USERFAULTFD_WP", "PKEYS", "6.18"},
    V512: {"HAVE_ARCH_USERFAULTFD_WP", "PKEYS", "MEM_SOFT_DIRTY", "5.12"},
}
BITS = {name for name, _, _ in README_SCHEMA} - {"pfn", "pkey", "swp_type", "swp_offset", "sub",
                                                   "marker"}


def expected_keys(kind: str, profile: str) -> List[str]:
    return ["index", "va", "raw", "kind"] + [name for name, kinds, needs in README_SCHEMA
                                       if kind in kinds and (needs is None or
                                                             needs in PROFILE_HAS[profile])]


def test_readme_schema_lists_the_csv_columns() -> None:
    """The README table and ptebits.schema name the same fields, in order."""
    assert [name for name, _, _ in README_SCHEMA] == list(FIELD_NAMES)


@pytest.mark.parametrize("profile", [V618, V512])
def test_decode_jsonl_rows_follow_the_schema(capsys: Any, dump: str, profile: str) -> None:
    """One JSON object a line: index, va (no entry_addr: a raw dump does not
    say where entries live), raw ("0x%016x"), kind, then exactly the fields
    that apply to the kind and profile (ints as numbers, bits 0/1)."""
    res = cli(capsys, "decode", dump, "--output", "jsonl", "--profile", profile)
    assert res.code == 0
    rows = _jsonl(res.out)
    assert len(rows) == len(RAWS)
    lib = list(iter_rows(ptebits.decode(np.array(RAWS, dtype=np.uint64), profile=profile)))
    for i, (row, raw) in enumerate(zip(rows, RAWS)):
        assert list(row) == expected_keys(row["kind"], profile), row
        assert row["index"] == i
        assert row["va"] == _va(i)
        assert row["raw"] == "0x%016x" % raw
        assert row["kind"] == KINDS[profile][i]
        assert row == dict({"index": i, "va": _va(i)}, **lib[i])
        for key, value in row.items():
            if key in BITS:
                assert value in (0, 1), (key, value)
            elif key not in ("va", "raw", "kind", "sub"):
                assert type(value) is int, (key, value)


def test_decode_jsonl_values_are_the_kernel_facts(capsys: Any, dump: str) -> None:
    """Spot checks against the fact sheet (§2, §3, §4, §5, §7b)."""
    by_raw = {int(r["raw"], 16): r for r in _jsonl(cli(capsys, "decode", dump,
                                                        "--output", "jsonl").out)}
    present = by_raw[0x8000000012345027]
    assert (present["pfn"], present["rw"], present["user"], present["accessed"], present["nx"],
            present["write"], present["young"], present["canonical"]) == (0x12345, 1, 1, 1, 1,
                                                                          1, 1, 1)
    assert "soft_dirty" not in present and "devmap" not in present          # 6.18 config
    wp = by_raw[0x8400000012345425]
    assert (wp["uffd_wp"], wp["saved_dirty"], wp["dirty_hw"], wp["dirty"], wp["write"]) == \
        (1, 1, 0, 1, 0)
    marker = by_raw[0xFFFFFFFFFFFFFC00]
    assert (marker["swp_type"], marker["swp_offset"], marker["marker"],
            marker["marker_uffd_wp"]) == (31, 1, 1, 1)
    assert "swp_uffd_wp" not in marker
    swap = by_raw[0x0FFFFFFFFFDB9604]
    assert (swap["swp_type"], swap["swp_offset"], swap["swp_uffd_wp"], swap["swp_exclusive"]) \
        == (1, 0x1234, 1, 0)
    assert "swp_soft_dirty" not in swap and "pfn" not in swap
    mig = by_raw[0xF7FFE7FFFDB97400]
    assert (mig["sub"], mig["pfn"], mig["swp_type"], mig["mig_young"], mig["mig_dirty"]) == \
        ("write", 0x12345, 30, 1, 1)
    protnone = by_raw[0x000FFFFFEDCBA120]
    assert (protnone["pfn"], protnone["protnone"], protnone["global"],
            protnone["pte_protnone"]) == (0x12345, 1, 0, 1)
    none_ad = [r for r in by_raw.values() if r["raw"] == "0x0000000000000020"][0]
    assert list(none_ad) == ["index", "va", "raw", "kind", "pte_none", "pte_present",
                             "pte_protnone", "canonical"]
    assert (none_ad["pte_none"], none_ad["canonical"]) == (1, 0)


def test_decode_jsonl_under_5_12(capsys: Any, dump: str) -> None:
    """5.12 + v2: DEVMAP and soft-dirty instead of SAVED_DIRTY, no migration
    A/D, no swap-exclusive bit; 0x4 is the special PTE (§1, §3, §4, §5)."""
    rows = _jsonl(cli(capsys, "decode", dump, "--output", "jsonl", "--profile", V512).out)
    by_raw = {int(r["raw"], 16): r for r in rows}
    present = by_raw[0x8400000012345425]
    assert (present["devmap"], present["uffd_wp"], present["soft_dirty"]) == (1, 1, 0)
    assert "saved_dirty" not in present
    assert present["dirty"] == 0                      # pte_dirty() is bit 6 only in 5.12
    dev = by_raw[0xFFFFFFFFFFFFFC00]
    assert (dev["kind"], dev["sub"], dev["pfn"], dev["swp_type"]) == \
        ("device", "private_read", 1, 31)
    assert "swp_soft_dirty" in dev and "swp_exclusive" not in dev and "mig_young" not in dev
    special = by_raw[0x4]
    assert list(special) == ["index", "va", "raw", "kind", "pte_none", "pte_present",
                             "pte_protnone", "canonical"]
    assert (special["kind"], special["canonical"]) == ("uffd_wp_special", 1)


# ------------------------------------------------------------------ csv

#: issue 5: index, entry_addr (gdb/crash dumps; empty otherwise), va, then
#: raw, kind and the schema fields as before.
CSV_COLUMNS = ["index", "entry_addr", "va", "raw", "kind"] + list(FIELD_NAMES)

@pytest.mark.parametrize("profile", [V618, V512])
def test_decode_csv_has_a_fixed_header_and_empty_cells(capsys: Any, dump: str,
                                                      profile: str) -> None:
    """Header: index, entry_addr, va, raw, kind, then every schema field; a
    cell is empty exactly where the field is not in the jsonl row (entry_addr
    of a raw dump included)."""
    res = cli(capsys, "decode", dump, "--output", "csv", "--profile", profile)
    assert res.code == 0
    lines = res.out.splitlines()
    assert lines[0].split(",") == CSV_COLUMNS
    table = list(csv.DictReader(io.StringIO(res.out)))
    rows = _jsonl(cli(capsys, "decode", dump, "--output", "jsonl", "--profile", profile).out)
    assert len(table) == len(rows) == len(RAWS)
    for cells, row in zip(table, rows):
        assert list(cells) == CSV_COLUMNS
        assert cells["entry_addr"] == ""
        for key, cell in cells.items():
            assert cell == (str(row[key]) if key in row else ""), (key, cells, row)
    present = table[1]
    assert present["saved_dirty" if profile == V618 else "devmap"] == "0"
    assert present["devmap" if profile == V618 else "saved_dirty"] == ""
    assert (present["soft_dirty"] == "") == (profile == V618)


# --------------------------------------------------------------- errors

def test_decode_size_not_a_multiple_of_8(capsys: Any, tmp_path: Any) -> None:
    """The message names the trailing bytes (README errors table)."""
    path = tmp_path / "torn.bin"
    path.write_bytes(_raw_bytes(RAWS) + b"\x01\x02\x03")
    res = cli(capsys, "decode", str(path))
    assert res.out == ""
    assert_one_line_error(res, 3, str(path), "not a multiple of 8",
                          "3 trailing bytes after %d complete entries" % len(RAWS))


def test_decode_allow_partial_decodes_the_complete_entries(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "torn.bin"
    path.write_bytes(_raw_bytes(RAWS) + b"\xff")
    res = cli(capsys, "decode", str(path), "--allow-partial", "--output", "jsonl")
    assert res.code == 0
    assert [int(r["raw"], 16) for r in _jsonl(res.out)] == RAWS
    assert "Traceback" not in res.err
    warning = [ln for ln in res.err.splitlines() if "warning" in ln]
    assert len(warning) == 1
    assert re.search(r"ignoring 1 trailing byte after %d complete entries" % len(RAWS),
                     warning[0])


def test_decode_allow_partial_of_less_than_one_entry(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "crumb.bin"
    path.write_bytes(b"\x00\x01\xfe\xff\x80")
    res = cli(capsys, "decode", str(path), "--allow-partial", "--output", "jsonl")
    assert (res.code, res.out) == (0, "")
    assert "5 trailing bytes after 0 complete entries" in res.err


def test_decode_bad_hex_line_names_file_and_line(capsys: Any, tmp_path: Any) -> None:
    """(Auto-detected hex with a bad line: see
    test_decode_hex_file_with_a_bad_line_is_not_read_as_raw.)"""
    path = tmp_path / "ptes.txt"
    path.write_text("# header\n0x8000000012345027\n\n0xfffffffffffffc0g\n4\n")
    res = cli(capsys, "decode", str(path), "--format", "hex")
    # streamed: the table header and the entries before line 4 may have been
    # printed, but never the count line of a complete read
    assert "# " not in res.out and "0xfffffffffffffc0g" not in res.out
    assert_error_after_note(res, 3, "%s:4:" % path, "0xfffffffffffffc0g")
    quiet = cli(capsys, "decode", str(path), "--format", "hex", "-q")
    assert_one_line_error(quiet, 3, "%s:4:" % path, "0xfffffffffffffc0g")


@pytest.mark.parametrize("line", ["0x1 0x2", "0x10000000000000000", "-1", "0x", "x12"])
def test_decode_hex_lines_hold_one_64_bit_value(capsys: Any, tmp_path: Any, line: str) -> None:
    path = tmp_path / "ptes.txt"
    path.write_text("0x1\n%s\n" % line)
    assert_error_after_note(cli(capsys, "decode", str(path), "--format", "hex"), 3,
                            "%s:2:" % path, repr(line))
    assert_one_line_error(cli(capsys, "decode", str(path), "--format", "hex", "-q"), 3,
                          "%s:2:" % path)


def test_decode_missing_file(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "nowhere.bin"
    res = cli(capsys, "decode", str(path))
    assert res.out == ""
    assert_one_line_error(res, 3, str(path), "no such file")


def test_decode_directory(capsys: Any, tmp_path: Any) -> None:
    res = cli(capsys, "decode", str(tmp_path))
    assert res.out == ""
    assert_one_line_error(res, 3, str(tmp_path), "directory")


@pytest.mark.parametrize("output,expected", [
    ("table", None), ("jsonl", ""),
    ("csv", ",".join(["index", "entry_addr", "va", "raw", "kind"] + list(FIELD_NAMES)) + "\n")])
def test_decode_empty_file_has_zero_entries(capsys: Any, tmp_path: Any, output: str,
                                            expected: Optional[str]) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    res = cli(capsys, "decode", str(path), "--output", output)
    assert res.code == 0
    assert res.err == decode_note(str(path), 0, "raw")
    if expected is None:
        rows, total, counts = _table(res.out)
        assert (rows, total, counts) == ([], 0, {})
    else:
        assert res.out == expected


def test_decode_empty_stdin_has_zero_entries(capsys: Any, monkeypatch: Any) -> None:
    _stdin(monkeypatch, b"")
    res = cli(capsys, "decode", "-", "--output", "jsonl")
    assert (res.code, res.out) == (0, "")


# Auto-detection of hex text that holds '#' comments (README: "hex files may
# hold blank lines and # comments").

@pytest.mark.parametrize("text", [
    "0x8000000012345027  # PAGE_SHARED pfn 0x12345\nfffffffffffffc00\n",
    "0x8000000012345027 # PAGE_SHARED\nfffffffffffffc00\n",       # 48 bytes: 6 raw entries
], ids=["63-bytes", "48-bytes"])
def test_decode_detects_hex_whose_first_value_has_a_trailing_comment(capsys: Any, tmp_path: Any,
                                                                    text: str) -> None:
    path = tmp_path / "ptes.txt"
    path.write_text(text)
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert res.code == 0, res.err
    assert "format hex (auto-detected)" in res.err
    assert [int(r["raw"], 16) for r in _jsonl(res.out)] == [0x8000000012345027,
                                                             0xFFFFFFFFFFFFFC00]


def test_decode_detects_hex_with_a_non_ascii_comment(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "ptes.txt"
    path.write_text("# uffd-wp marker → do_swap_page\nfffffffffffffc00\n", encoding="utf-8")
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert res.code == 0, res.err
    assert [int(r["raw"], 16) for r in _jsonl(res.out)] == [0xFFFFFFFFFFFFFC00]


def test_decode_detects_hex_of_only_comments_as_zero_entries(capsys: Any,
                                                             tmp_path: Any) -> None:
    path = tmp_path / "ptes.txt"
    path.write_text("# no entries in this range\n")
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert (res.code, res.out) == (0, ""), res.err
    assert "format hex (auto-detected)" in res.err


@pytest.mark.parametrize("text", [
    "0x8000000012345027\n0xfffffffffffffc0g\n4\n",          # 40 bytes: 5 raw entries
    "0x8000000012345027\n0xfffffffffffffc0g\n",              # 38 bytes
    "0x8000000012345027\n0x8000000012345027 0x4\n",          # two values on a line
], ids=["40-bytes", "38-bytes", "two-values"])
def test_decode_hex_file_with_a_bad_line_is_not_read_as_raw(capsys: Any, tmp_path: Any,
                                                             text: str) -> None:
    """A typo in a hex dump must not turn it into a raw dump of its ASCII."""
    path = tmp_path / "ptes.txt"
    path.write_text(text)
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert "format hex (auto-detected)" in res.err
    assert_error_after_note(res, 3, "%s:2: not a 64-bit hex value" % path)
    # streamed: nothing from line 2 on, and never the ASCII read as raw entries
    assert [json.loads(ln)["raw"] for ln in res.out.splitlines()] in (
        [], ["0x8000000012345027"])


# ======================================================== error hygiene

ERROR_CASES = [
    (["explain", "nothex"], 3),
    (["encode", "present", "--pfn", "0x10000000000", "--prot", "PAGE_SHARED"], 3),
    (["encode", "special"], 3),
    (["encode", "swap", "--type", "1", "--offset", "1", "--young"], 2),
    (["encode", "present", "--prot", "PAGE_SHARED"], 2),
    (["decode", "/nonexistent/ptes.bin"], 3),
    (["explain", "0", "--profile", "linux-4.4"], 2),
    (["bench", "--entries", "0"], 2),
    (["bench", "--entries", "10", "--repeats", "0"], 2),
    (["decode"], 2),
    (["frobnicate"], 2),
]


@pytest.mark.parametrize("argv,code", ERROR_CASES, ids=lambda x: " ".join(x)
                         if isinstance(x, list) else str(x))
def test_errors_are_one_line_on_stderr(capsys: Any, argv: List[str], code: int) -> None:
    res = cli(capsys, *argv)
    assert res.out == ""
    assert_one_line_error(res, code)


def test_interrupt_exits_130(capsys: Any, monkeypatch: Any, dump: str) -> None:
    import ptebits.dumps

    def interrupted(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt
    monkeypatch.setattr(ptebits.dumps, "read_dump", interrupted)
    res = cli(capsys, "decode", dump)
    assert res.code == 130
    assert res.err == decode_note(dump, len(RAWS), "raw") + "ptebits: interrupted\n"
    quiet = cli(capsys, "decode", dump, "-q")
    assert quiet.code == 130
    assert quiet.err == "ptebits: interrupted\n"


def test_interrupt_midway_exits_130_and_leaves_no_output_file(capsys: Any, monkeypatch: Any,
                                                              dump: str, tmp_path: Any) -> None:
    """^C after the first chunk: 130, and -o FILE is not left half-written."""
    import ptebits.dumps
    real = ptebits.dumps.DumpSource.chunks

    def chunks(self: Any, *args: Any, **kwargs: Any) -> Any:
        for n, chunk in enumerate(real(self, *args, **kwargs)):
            if n:
                raise KeyboardInterrupt
            yield chunk
        raise KeyboardInterrupt
    monkeypatch.setattr(ptebits.dumps.DumpSource, "chunks", chunks)
    out = tmp_path / "out" / "rows.jsonl"
    out.parent.mkdir()
    res = cli(capsys, "decode", dump, "--output", "jsonl", "-o", str(out), "-q")
    assert (res.code, res.out, res.err) == (130, "", "ptebits: interrupted\n")
    assert list(out.parent.iterdir()) == []


def _python_m(*argv: str, cwd: Any, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ptebits", *argv], input=stdin, cwd=str(cwd),
                          capture_output=True, timeout=120)


def test_python_m_explain_runs(tmp_path: Any) -> None:
    proc = _python_m("explain", MARKER_RAW, cwd=tmp_path)
    assert (proc.returncode, proc.stderr) == (0, b"")
    out = proc.stdout.decode()
    assert "marker UFFD_WP" in out and "device private_read pfn=0x1 (swap type 31)" in out


@pytest.mark.parametrize("argv,code,needle", [
    (["decode", "missing.bin"], 3, "missing.bin: no such file"),
    (["encode", "swap", "--type", "1", "--offset", "1", "--young"], 2, "--young"),
    (["encode", "present", "--pfn", "0x10000000000", "--prot", "PAGE_SHARED"], 3, "pfn"),
    (["explain", "0", "--profile", "linux-6.18+turbo"], 2, "turbo"),
])
def test_python_m_failures_exit_with_their_code_and_one_line(tmp_path: Any, argv: List[str],
                                                            code: int, needle: str) -> None:
    proc = _python_m(*argv, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == code, err
    assert proc.stdout == b""
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("ptebits: error: ") and needle in err


def test_python_m_decode_stdin_and_torn_dump(tmp_path: Any) -> None:
    proc = _python_m("decode", "-", "--output", "jsonl", cwd=tmp_path,
                     stdin=_raw_bytes(RAWS))
    assert proc.returncode == 0
    assert [json.loads(ln)["raw"] for ln in proc.stdout.decode().splitlines()] == \
        ["0x%016x" % v for v in RAWS]
    torn = _python_m("decode", "-", cwd=tmp_path, stdin=_raw_bytes(RAWS)[:-1])
    assert torn.returncode == 3 and b"Traceback" not in torn.stderr
    # the size of stdin is known only at its end: the note, then one error line
    note, error = torn.stderr.decode().splitlines()
    assert note == "ptebits: <stdin>: streamed, format raw (auto-detected), profile " \
        "linux-6.18, level pte"
    assert error.startswith("ptebits: error: <stdin>: ") and "7 trailing bytes" in error
    assert "after %d complete entries" % (len(RAWS) - 1) in error
    quiet = _python_m("decode", "-", "-q", cwd=tmp_path, stdin=_raw_bytes(RAWS)[:-1])
    assert quiet.returncode == 3
    assert quiet.stderr.decode().splitlines() == [error]


def test_python_m_decode_into_a_closed_pipe_stops_quietly(tmp_path: Any) -> None:
    """README: `ptebits decode big.bin | head` stops quietly."""
    path = tmp_path / "big.bin"
    np.full(200_000, 0x8000000012345027, dtype="<u8").tofile(str(path))
    proc = subprocess.Popen([sys.executable, "-m", "ptebits", "decode", str(path), "--output",
                             "jsonl", "-q"], cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    assert json.loads(first)["raw"] == "0x8000000012345027"
    proc.stdout.close()                            # the reader goes away, like head
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 0
    assert err == b""


# ================================================================= bench

BENCH_KEYS = ["ptebits_version", "benchmark", "profile", "entries", "seed", "repeats", "threads",
              "mix", "counts", "python_sample", "median_s", "all_s", "entries_per_s",
              "copy_bandwidth_gb_s", "ratios", "targets", "targets_met", "checks", "machine"]
JOBS = {"copy", "decode", "classify", "numpy_decode"}


@pytest.mark.parametrize("profile", [None, V512])
def test_bench_json_small(capsys: Any, profile: Optional[str]) -> None:
    """README "Benchmarks": one JSON object with the documented keys; the
    plain-numpy decoder's columns equal the C core's.  No speed is asserted."""
    argv = ["bench", "--entries", "20000", "--repeats", "1", "--json",
            "--faults", "3000"]
    if profile:
        argv += ["--profile", profile]
    res = cli(capsys, *argv)
    assert res.code == 0, res.err
    assert "Traceback" not in res.err
    report = json.loads(res.out)
    assert set(BENCH_KEYS) <= set(report), set(BENCH_KEYS) - set(report)
    assert report["ptebits_version"] == ptebits.__version__
    assert report["profile"] == (profile or V618)
    assert (report["entries"], report["repeats"], report["seed"]) == (20000, 1, 20211027)
    assert report["checks"]["numpy_columns_identical"] is True
    assert report["checks"]["python_sample_identical"] is True
    assert sum(report["counts"].values()) == 20000
    assert set(report["counts"]) == {str(k) for k in ptebits.Kind}
    assert set(report["median_s"]) == JOBS and set(report["all_s"]) == JOBS
    assert all(len(times) == 1 for times in report["all_s"].values())
    assert set(report["ratios"]) == {"decode_vs_copy", "classify_vs_copy",
                                     "decode_speedup_vs_numpy", "decode_speedup_vs_python"}
    # the README's mix: holes 40%, anon RW 25%, file RO 12%, uffd-wp'd 5%,
    # NUMA hinting 3%, swap 10%, migration 1%, uffd-wp markers 3.5%, guard 0.5%
    assert sorted(report["mix"].values()) == sorted([0.40, 0.25, 0.12, 0.05, 0.03, 0.10, 0.01,
                                                     0.035, 0.005])
    assert report["mix"] == ptebits.bench.MIX


DISPATCH_KEYS = {"profile", "faults", "repeats", "seed", "copy_median_s", "mixes", "checks",
                 "targets", "targets_met"}


@pytest.mark.parametrize("profile", [V618, V512])
def test_bench_dispatch_json(capsys: Any, profile: str) -> None:
    """README "Benchmarks": the dispatch part, every mix in both page orders,
    and the pure-Python dispatcher agreeing with the C model on its sample."""
    res = cli(capsys, "bench", "--only", "dispatch", "--faults", "4096", "--repeats", "1",
              "--json", "--profile", profile)
    assert res.code == 0, res.err
    d = json.loads(res.out)["dispatch"]
    assert DISPATCH_KEYS <= set(d) and d["profile"] == profile and d["faults"] == 4096
    assert set(d["mixes"]) == set(ptebits.bench_fault.DISPATCH_MIXES)
    assert all(d["checks"].values()), d["checks"]
    for row in d["mixes"].values():
        assert {"sequential", "random", "python_sample", "speedup_vs_python"} <= set(row)
        assert row["sequential"]["ratio_to_copy"] > 0


def test_bench_only_rejects_unknown_suites(capsys: Any) -> None:
    res = cli(capsys, "bench", "--only", "codec,fast")
    assert res.code == 2 and "--only" in res.err


def test_bench_text_report(capsys: Any) -> None:
    res = cli(capsys, "bench", "--entries", "5000", "--repeats", "1", "-q",
              "--faults", "3000")
    assert (res.code, res.err) == (0, "")
    assert "5000 entries" in res.out and "ptebits.decode" in res.out
