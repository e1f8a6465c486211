"""The bad-input matrix: every public function of ``ptebits.__all__`` and
every CLI command against bad inputs, each with the documented exception
class (src/ptebits/errors.py, README "Errors and exit codes"), a message
that names the argument, and for the CLI the documented exit code
(0 ok, 1 check failed, 2 usage, 3 bad data, 4 environment) with one line on
stderr.

The contract the rows below spell out:

* arrays the C core reads in place (``decode``, ``classify``,
  ``decode_pagemap``, ``pte_to_pagemap``) must be C-contiguous native uint64:
  anything else is an InvalidTypeError saying how to convert — nothing is
  copied or reinterpreted behind the caller's back;
* integer fields of encoders and PTE helpers take any integer dtype, byte
  order and layout (values are converted exactly), but a float, NaN, string
  or None is an InvalidTypeError and a negative or too large value a
  FieldRangeError naming the field;
* unknown names (profile, knob, pgprot, level, kind, dump format) are
  UnknownProfileError / InvalidValueError listing the names that exist;
* files: missing or unreadable is a FileError, unparsable a DumpFormatError.
"""
from __future__ import annotations

import gzip
import inspect
import re
from typing import Any, Callable, Dict, List, NamedTuple, Tuple, Type

import numpy as np
import pytest

import ptebits
from ptebits import (DumpFormatError, FieldRangeError, FileError, InvalidTypeError,
                     InvalidValueError, UnknownProfileError, UnsupportedKernelError)
from ptebits.cli import main

A = np.arange(4, dtype=np.uint64)
PRESENT = 0x8000000012345027          # pfn_pte(0x12345, PAGE_SHARED)
SWAP = 0x0fffffffffdb9600             # encode_swap(1, 0x1234) under 6.18


class Bad(NamedTuple):
    call: Callable[[], Any]
    exc: Type[BaseException]
    match: str                        # regex the message must contain


def check(case: Bad) -> None:
    with pytest.raises(case.exc, match=case.match) as info:
        case.call()
    assert isinstance(info.value, ptebits.Error), "not a ptebits.Error: %r" % info.value


# ------------------------------------------- arrays read in place by the C core

#: (bad value, what the message says about an argument called NAME)
BAD_ARRAYS: Dict[str, Tuple[Any, str]] = {
    "float64": (A.astype(np.float64), r"NAME must have dtype uint64, got dtype=<f8"),
    "int32": (A.astype(np.int32), r"NAME must have dtype uint64, got dtype=<i4"),
    "int64": (A.astype(np.int64), r"NAME must have dtype uint64, got dtype=<i8.*view\(np\.uint64\)"),
    "object": (A.astype(object), r"NAME must have dtype uint64, got dtype=\|O"),
    "bool": (A.astype(bool), r"NAME must have dtype uint64, got dtype=\|b1"),
    "big-endian": (A.astype(">u8"), r"NAME is byte-swapped \(dtype=>u8.*astype\('<u8'\)"),
    "strided": (np.arange(8, dtype=np.uint64)[::2], r"NAME is not C-contiguous.*ascontiguousarray"),
    "fortran-2d": (np.asfortranarray(np.arange(6, dtype=np.uint64).reshape(2, 3)),
                   r"NAME is not C-contiguous"),
    "0-d": (np.array(5, dtype=np.uint64), r"NAME is a 0-d array"),
    "nan-list": ([1, float("nan")], r"NAME must hold integers, got nan"),
}
#: scalars and other objects where an array is needed
BAD_OBJECTS: Dict[str, Tuple[Any, str]] = {
    "float": (1.5, r"NAME must be a numpy array of uint64, got float"),
    "nan": (float("nan"), r"NAME must be a numpy array of uint64, got float"),
    "str": ("0x5", r"NAME must be a numpy array of uint64, got str"),
    "None": (None, r"NAME must be a numpy array of uint64, got NoneType"),
    "bytes": (b"\0" * 8, r"NAME must be a numpy array of uint64, got bytes"),
}
IN_PLACE = {
    "decode": (lambda v: ptebits.decode(v), "raw"),
    "decode level=pmd": (lambda v: ptebits.decode(v, level="pmd"), "raw"),
    "classify": (lambda v: ptebits.classify(v), "raw"),
    "classify level=pud": (lambda v: ptebits.classify(v, level="pud"), "raw"),
    "decode_pagemap": (lambda v: ptebits.decode_pagemap(v), "words"),
    "pte_to_pagemap": (lambda v: ptebits.pte_to_pagemap(v), "raw"),
}


@pytest.mark.parametrize("bad", sorted(BAD_ARRAYS))
@pytest.mark.parametrize("fn", sorted(IN_PLACE))
def test_arrays_read_in_place_must_be_contiguous_native_uint64(fn: str, bad: str) -> None:
    call, name = IN_PLACE[fn]
    value, match = BAD_ARRAYS[bad]
    check(Bad(lambda: call(value), InvalidTypeError, match.replace("NAME", name)))


@pytest.mark.parametrize("bad", sorted(BAD_OBJECTS))
@pytest.mark.parametrize("fn", ["decode", "classify", "decode_pagemap"])
def test_array_functions_refuse_scalars_and_other_objects(fn: str, bad: str) -> None:
    call, name = IN_PLACE[fn]
    value, match = BAD_OBJECTS[bad]
    check(Bad(lambda: call(value), InvalidTypeError, match.replace("NAME", name)))


@pytest.mark.parametrize("fn", sorted(IN_PLACE))
def test_empty_arrays_and_any_shape_are_fine(fn: str) -> None:
    """Not bad inputs: an empty array gives empty results, a 2-D one keeps its shape."""
    call, _ = IN_PLACE[fn]
    empty = call(np.zeros(0, dtype=np.uint64))
    grid = call(np.zeros((2, 3), dtype=np.uint64))
    for got, shape in ((empty, (0,)), (grid, (2, 3))):
        arr = got if isinstance(got, np.ndarray) else got.kind
        assert arr.shape == shape


# ------------------------------------------------ integer fields of encoders

#: encoders and helpers by the field they take: call(value) puts the bad
#: value in that field, everything else valid
FIELDS: Dict[str, Tuple[Callable[[Any], Any], str]] = {
    "encode_present pfn": (lambda v: ptebits.encode_present(v, "PAGE_SHARED"), "pfn"),
    "encode_present prot": (lambda v: ptebits.encode_present(1, v), "prot"),
    "encode_table pfn": (lambda v: ptebits.encode_table(v), "pfn"),
    "encode_table prot": (lambda v: ptebits.encode_table(1, v), "prot"),
    "encode_huge pfn": (lambda v: ptebits.encode_huge(v, "PAGE_SHARED"), "pfn"),
    "encode_huge invert_4k": (lambda v: ptebits.encode_huge(0, 0x120, invert_4k=v),
                              "invert_4k"),
    "encode_swap type": (lambda v: ptebits.encode_swap(v, 1), "type"),
    "encode_swap offset": (lambda v: ptebits.encode_swap(1, v), "offset"),
    "encode_swap uffd_wp": (lambda v: ptebits.encode_swap(1, 1, uffd_wp=v), "uffd_wp"),
    "encode_migration pfn": (lambda v: ptebits.encode_migration(v), "pfn"),
    "encode_migration write": (lambda v: ptebits.encode_migration(1, write=v), "write"),
    "encode_device pfn": (lambda v: ptebits.encode_device(
        v, profile="linux-5.12-uffd-wp-v2"), "pfn"),
    "encode_hwpoison pfn": (lambda v: ptebits.encode_hwpoison(
        v, profile="linux-5.12-uffd-wp-v2"), "pfn"),
    "encode_marker guard": (lambda v: ptebits.encode_marker(guard=v), "guard"),
    "pte_modify raw": (lambda v: ptebits.pte_modify(v, "PAGE_NONE"), "raw"),
    "pte_modify newprot": (lambda v: ptebits.pte_modify(PRESENT, v), "newprot"),
    "pte_to_pagemap file": (lambda v: ptebits.pte_to_pagemap(A, file=v), "file"),
    "pte_to_pagemap exclusive": (lambda v: ptebits.pte_to_pagemap(PRESENT, exclusive=v),
                                 "exclusive"),
}
HELPERS = [n for n in ptebits.__all__ if n.startswith("pte_") and n not in
           ("pte_modify", "pte_to_pagemap")]
FIELDS.update({"%s raw" % n: ((lambda fn: lambda v: fn(v))(getattr(ptebits, n)), "raw")
               for n in HELPERS})

BAD_FIELDS: Dict[str, Tuple[Any, Type[BaseException], str]] = {
    "float": (1.5, InvalidTypeError, r"NAME must be an integer, got a float \(1\.5\)"),
    "nan": (float("nan"), InvalidTypeError, r"NAME must be an integer, got a float \(nan\)"),
    "float-array": (np.ones(2), InvalidTypeError, r"NAME must be an integer, got a float"),
    "str-number": ("12", None, ""),                       # see test below: names only
    "None": (None, InvalidTypeError, r"NAME must hold integers, got None"),
    "list-with-float": ([1, 2.5], InvalidTypeError, r"NAME must hold integers, got 2\.5"),
    "negative": (-1, FieldRangeError, r"NAME=-1 is negative"),
    "negative-array": (np.array([3, -2]), FieldRangeError, r"NAME=-2 is negative"),
    "2^64": (1 << 64, FieldRangeError, r"NAME=18446744073709551616 is out of range"),
}


def _field_cases() -> List[Tuple[str, str]]:
    return [(f, b) for f in sorted(FIELDS) for b in sorted(BAD_FIELDS) if b != "str-number"]


@pytest.mark.parametrize("field,bad", _field_cases())
def test_integer_fields_refuse_non_integers_negatives_and_values_beyond_64_bits(
        field: str, bad: str) -> None:
    call, name = FIELDS[field]
    value, exc, match = BAD_FIELDS[bad]
    if name == "newprot" and bad == "None":
        match = r"pte_modify: newprot must be a pgprot .*got None"
    if name in ("uffd_wp", "write", "guard", "invert_4k", "file", "exclusive") \
            and bad == "2^64":
        match = r"NAME=18446744073709551616 is out of range \(0 to 2\^1-1\)"
    check(Bad(lambda: call(value), exc, match.replace("NAME", name)))


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_strings_are_not_numbers_except_pgprot_names(field: str) -> None:
    """A str field is a pgprot name (or a number spelled for it) for prot and
    newprot, and a type error everywhere else."""
    call, name = FIELDS[field]
    if name in ("prot", "newprot"):
        check(Bad(lambda: call("PAGE_BOGUS"), InvalidValueError,
                  r"unknown pgprot 'PAGE_BOGUS'; names are: PAGE_NONE, PAGE_SHARED"))
    else:
        check(Bad(lambda: call("12"), InvalidTypeError, r"%s must be an integer, got str" % name))


@pytest.mark.parametrize("dtype", ["int32", "uint8", ">u8", "bool", "object"])
def test_integer_fields_take_any_integer_dtype_exactly(dtype: str) -> None:
    """Not bad inputs: encoder fields are values, converted exactly."""
    pfn = np.array([1, 0], dtype=dtype)
    assert ptebits.encode_present(pfn, "PAGE_SHARED").tolist() == \
        ptebits.encode_present(np.array([1, 0], dtype=np.uint64), "PAGE_SHARED").tolist()
    assert ptebits.pte_mkold(np.array([PRESENT], dtype=object)).tolist() == [PRESENT & ~0x20]


@pytest.mark.parametrize("case", [
    "encode_present", "encode_swap flags", "pte_modify", "pte_to_pagemap"])
def test_array_arguments_that_do_not_broadcast_name_their_shapes(case: str) -> None:
    three, two = np.zeros(3, dtype=np.uint64), np.zeros(2, dtype=np.uint64)
    calls = {
        "encode_present": (lambda: ptebits.encode_present(three, two),
                           r"encode_present: the arguments do not broadcast.*pfn \(3,\), prot \(2,\)"),
        "encode_swap flags": (lambda: ptebits.encode_swap(1, three, uffd_wp=[True, False]),
                              r"encode_swap: .*offset \(3,\).*uffd_wp \(2,\)"),
        "pte_modify": (lambda: ptebits.pte_modify(three, [0x27, 0x25]),
                       r"pte_modify: .*raw \(3,\), newprot \(2,\)"),
        "pte_to_pagemap": (lambda: ptebits.pte_to_pagemap(three, file=[1, 0]),
                           r"file/exclusive must be scalars or broadcast to raw's shape \(3,\)"),
    }
    call, match = calls[case]
    check(Bad(call, InvalidTypeError, match))


# ------------------------------------------------------ values out of range

RANGE: Dict[str, Bad] = {
    "pfn 2^40": Bad(lambda: ptebits.encode_present(1 << 40, "PAGE_SHARED"), FieldRangeError,
                    r"encode_present: pfn=0x10000000000 is out of range under linux-6.18 "
                    r"\(limit 0x10000000000, exclusive\)"),
    "swap type 99": Bad(lambda: ptebits.encode_swap(99, 1), FieldRangeError,
                        r"encode_swap: type=0x63 is out of range under linux-6.18"),
    "swap type of migration": Bad(lambda: ptebits.encode_swap(29, 1), FieldRangeError,
                                  r"type 29 is migration read exclusive under linux-6.18; swap-device types are 0-27"),
    "offset 2^50": Bad(lambda: ptebits.encode_swap(1, 1 << 50), FieldRangeError,
                       r"offset=0x4000000000000 is out of range"),
    "prot in the PFN field": Bad(lambda: ptebits.encode_present(1, 0x1000), FieldRangeError,
                                 r"prot=0x1000 has bits inside the PFN field"),
    "unaligned huge pfn": Bad(lambda: ptebits.encode_huge(1, "PAGE_SHARED"), FieldRangeError,
                              r"pfn"),
    "first bad element": Bad(lambda: ptebits.encode_present([1, 1 << 40], 0x27), FieldRangeError,
                             r"\(element 1\)"),
    "flag the profile lacks": Bad(lambda: ptebits.encode_swap(1, 1, soft_dirty=True),
                                  FieldRangeError, r"soft_dirty=True is not available under"),
    "kind the profile lacks": Bad(lambda: ptebits.encode_hwpoison(1), FieldRangeError,
                                  r"linux-6.18 has no hwpoison entries"),
    "empty marker": Bad(lambda: ptebits.encode_marker(), FieldRangeError,
                        r"a marker needs at least one of uffd_wp, poisoned, guard"),
    "entry that reads back as none": Bad(lambda: ptebits.encode_swap(0, (1 << 50) - 1),
                                         FieldRangeError, r"would read back as another kind"),
    "helper on the wrong format": Bad(lambda: ptebits.pte_mkwrite(SWAP), FieldRangeError,
                                      r"pte_mkwrite: raw=0xfffffffffdb9600.*non-present"),
    "swap helper on a present PTE": Bad(lambda: ptebits.pte_swp_mkuffd_wp(PRESENT),
                                        FieldRangeError, r"not swap-format"),
    "newprot None": Bad(lambda: ptebits.pte_modify(PRESENT, None), InvalidTypeError,
                        r"pte_modify: newprot must be a pgprot"),
    "vma_soft_dirty without MEM_SOFT_DIRTY": Bad(
        lambda: ptebits.pte_to_pagemap(PRESENT, vma_soft_dirty=True), FieldRangeError,
        r"vma_soft_dirty=True cannot happen under linux-6.18"),
    "huge leaf at p4d": Bad(lambda: ptebits.encode_huge(0, 0x27, level="p4d"), FieldRangeError,
                            r"encode_huge: level='p4d'"),
    "threads=0": Bad(lambda: ptebits.decode(A, threads=0), InvalidValueError, r"threads=0"),
    "threads float": Bad(lambda: ptebits.decode(A, threads=1.5), InvalidValueError,
                         r"threads must be a positive integer"),
}


@pytest.mark.parametrize("case", sorted(RANGE))
def test_values_out_of_range_name_the_field(case: str) -> None:
    check(RANGE[case])


# ------------------------------------------------------------- unknown names

NAMES: Dict[str, Bad] = {
    "profile": Bad(lambda: ptebits.decode(A, profile="linux-9.9"), UnknownProfileError,
                   r"unknown profile 'linux-9.9'; known profiles: linux-6.18, "
                   r"linux-5.12-uffd-wp-v2, host"),
    "profile knob in the name": Bad(lambda: ptebits.get_profile("linux-6.18+nope"),
                                    UnknownProfileError, r"unknown profile knob 'nope'; knobs are:"),
    "profile knob keyword": Bad(lambda: ptebits.get_profile("linux-6.18", nope=True),
                                UnknownProfileError, r"unknown profile knob 'nope'"),
    "profile not a name": Bad(lambda: ptebits.classify(A, profile=5), UnknownProfileError,
                              r"profile must be a name or a Profile, got int"),
    "host on an unknown kernel": Bad(lambda: ptebits.host_profile("5.10.0"),
                                     UnsupportedKernelError, r"host kernel 5\.10\.0"),
    "host release not text": Bad(lambda: ptebits.host_profile(5), InvalidTypeError,
                                 r"host_profile: release must be text"),
    "pgprot": Bad(lambda: ptebits.encode_present(1, "PAGE_BOGUS"), InvalidValueError,
                  r"unknown pgprot 'PAGE_BOGUS'"),
    "table pgprot": Bad(lambda: ptebits.encode_table(1, "BOGUS_TABLE"), InvalidValueError,
                        r"unknown pgprot 'BOGUS_TABLE'.*PAGE_TABLE"),
    "level": Bad(lambda: ptebits.decode(A, level="pte5"), InvalidValueError,
                 r"level='pte5' is not a page-table level; levels are: pte, pmd, pud, p4d, pgd"),
    "level as a number": Bad(lambda: ptebits.classify(A, level=3), InvalidTypeError,
                             r"level must be a level name \(pte, pmd, pud, p4d, pgd\), got int"),
    "level of an encoder": Bad(lambda: ptebits.encode_marker(uffd_wp=True, level="pxd"),
                               InvalidValueError, r"level='pxd'"),
    "level of Pte": Bad(lambda: ptebits.Pte(5, level="bogus"), InvalidValueError,
                        r"level='bogus'"),
    "kind name": Bad(lambda: ptebits.decode(A).kind_is("bogus"), InvalidValueError,
                     r"unknown kind 'bogus'; kinds are: none, present"),
    "kind number": Bad(lambda: ptebits.decode(A).kind_is(99), InvalidValueError,
                       r"unknown kind 99"),
    "out= not a Decoded": Bad(lambda: ptebits.decode(A, out=5), InvalidTypeError,
                              r"out must be a Decoded"),
    "out= of another shape": Bad(lambda: ptebits.classify(A, out=np.zeros(3, np.uint8)),
                                 InvalidTypeError, r"out.kind must have dtype uint8 and shape"),
    "dump format": Bad(lambda: ptebits.open_dump(__file__, "bogus"), InvalidValueError,
                       r"unknown dump format 'bogus'; formats: raw, npy, hex"),
    "pagemap show_pfn as a string": Bad(lambda: ptebits.pte_to_pagemap(1, show_pfn="no"),
                                        InvalidTypeError, r"show_pfn must be True or False, "
                                                          r"got 'no'"),
    "pagemap vma_soft_dirty as 2": Bad(lambda: ptebits.pte_to_pagemap(1, vma_soft_dirty=2),
                                       InvalidTypeError, r"vma_soft_dirty must be True or False"),
    "dump level": Bad(lambda: list(ptebits.read_dump(__file__, level="bogus")), InvalidValueError,
                      r"level='bogus' is not a page-table level"),
    "pid": Bad(lambda: ptebits.read_pagemap(-1), InvalidValueError,
               r"pid -1 is not a process id"),
}


@pytest.mark.parametrize("case", sorted(NAMES))
def test_unknown_names_list_the_known_ones(case: str) -> None:
    check(NAMES[case])


# ----------------------------------------------------------------- Pte

PTE_BAD = {"float": 1.5, "nan": float("nan"), "str": "0x5", "None": None,
           "array": A, "bytes": b"\0"}


@pytest.mark.parametrize("bad", sorted(PTE_BAD))
def test_pte_takes_one_integer(bad: str) -> None:
    check(Bad(lambda: ptebits.Pte(PTE_BAD[bad]), InvalidTypeError, r"raw must be an integer"))


@pytest.mark.parametrize("value", [-1, 1 << 64])
def test_pte_refuses_values_beyond_64_bits(value: int) -> None:
    check(Bad(lambda: ptebits.Pte(value), FieldRangeError, r"raw=%d is not a 64-bit value" % value))


# -------------------------------------------------------------- dump files

@pytest.fixture
def files(tmp_path: Any) -> Dict[str, str]:
    paths = {
        "torn": (b"\x00" * 7 + b"\x01" * 4),
        "bad hex": b"0x1\nnot hex\n",
        "bad gzip": b"\x1f\x8b\x08\x00garbage",
        "truncated gzip": gzip.compress(b"0x1\n" * 100)[:20],
        "npy of floats": None,
        "good": b"0x1\n0x2\n",
    }
    out = {}
    for name, data in paths.items():
        p = tmp_path / name.replace(" ", "_")
        if data is None:
            np.save(str(p) + ".npy", np.ones(3))
            out[name] = str(p) + ".npy"
        else:
            p.write_bytes(data)
            out[name] = str(p)
    out["missing"] = str(tmp_path / "missing.bin")
    out["directory"] = str(tmp_path)
    return out


FILE_CASES: Dict[str, Tuple[str, Dict[str, Any], Type[BaseException], str]] = {
    # name: (file, read_dump keyword arguments, exception, message)
    "missing": ("missing", {}, FileError, r"missing\.bin: no such file"),
    "directory": ("directory", {}, FileError, r"is a directory, not a dump file"),
    "torn raw": ("torn", {}, DumpFormatError, r"torn: size 11 bytes is not a multiple of 8: "
                                              r"3 trailing bytes after 1 complete entries"),
    "bad hex line": ("bad hex", {}, DumpFormatError, r"bad_hex:2: not a 64-bit hex value: "
                                                     r"'not hex'"),
    "bad gzip": ("bad gzip", {}, DumpFormatError, r"bad_gzip: corrupt or truncated gzip data"),
    "truncated gzip": ("truncated gzip", {}, DumpFormatError,
                       r"truncated_gzip: corrupt or truncated gzip data"),
    "npy of floats": ("npy of floats", {}, DumpFormatError,
                      r"\.npy dtype <f8 is not a 64-bit integer"),
    "text forced as npy": ("good", {"fmt": "npy"}, DumpFormatError, r"not a readable \.npy file"),
    "negative offset": ("good", {"offset": -1}, InvalidValueError, r"offset=-1 is negative"),
    "float count": ("good", {"count": 1.5}, InvalidTypeError, r"count must be an integer"),
    "zero chunk": ("good", {"chunk_entries": 0}, InvalidValueError, r"chunk_entries must be >= 1"),
    "negative base_va": ("good", {"base_va": -1}, InvalidValueError, r"base_va=-1 is negative"),
    "base_va beyond 64 bits": ("good", {"base_va": 1 << 64}, InvalidValueError,
                               r"base_va=18446744073709551616 is too large"),
    "unknown profile": ("good", {"profile": "bogus"}, UnknownProfileError,
                        r"unknown profile 'bogus'"),
}


# open_dump has no base_va or profile argument: those cases are read_dump's only
READER_CASES = [(reader, case) for case in sorted(FILE_CASES)
                for reader in ("read_dump", "open_dump")
                if reader == "read_dump" or not set(FILE_CASES[case][1]) & {"base_va", "profile"}]


@pytest.mark.parametrize("reader,case", READER_CASES)
def test_bad_dump_files_and_arguments(files: Dict[str, str], case: str, reader: str) -> None:
    name, kwargs, exc, match = FILE_CASES[case]
    path = files[name]
    if reader == "read_dump":
        call = lambda: list(ptebits.read_dump(path, **kwargs))  # noqa: E731
    else:
        fmt = kwargs.get("fmt", "auto")
        chunk_args = {k: v for k, v in kwargs.items() if k != "fmt"}
        def call() -> None:
            with ptebits.open_dump(path, fmt) as src:
                for _ in src.chunks(**chunk_args):
                    pass
    check(Bad(call, exc, match))


@pytest.mark.parametrize("path", [5, None, b"/tmp/x"])
def test_dump_paths_are_file_names(path: Any) -> None:
    """An int is not opened as a file descriptor, nor bytes as a name."""
    check(Bad(lambda: ptebits.open_dump(path), InvalidTypeError,
              r"path must be a file name \(str or os.PathLike\) or '-' for stdin, got .* \(%s\)"
              % type(path).__name__))


# -------------------------------------------------------- every function

def test_every_public_function_is_in_the_matrix() -> None:
    """A new function in ptebits.__all__ needs rows here."""
    covered = set(HELPERS) | {
        "decode", "classify", "decode_pagemap", "pte_to_pagemap", "encode_present",
        "encode_table", "encode_huge", "encode_swap", "encode_migration", "encode_device",
        "encode_hwpoison", "encode_marker", "encode_special", "pte_modify", "Pte",
        "get_profile", "host_profile", "list_profiles", "open_dump", "read_dump",
        "read_pagemap"}
    functions = {n for n in ptebits.__all__ if inspect.isfunction(getattr(ptebits, n))
                 or n == "Pte"}
    assert functions - covered == set(), "add bad-input rows for these"


def test_encode_special_and_list_profiles_have_no_bad_arguments_but_names() -> None:
    check(Bad(lambda: ptebits.encode_special(), FieldRangeError,
              r"encode_special: linux-6.18 has no uffd_wp_special entries"))
    check(Bad(lambda: ptebits.encode_special(level="pgd", profile="linux-5.12-uffd-wp-v2"),
              FieldRangeError, r"level"))
    with pytest.raises(TypeError):
        ptebits.list_profiles("x")  # type: ignore[call-arg]


# ------------------------------------------------------------------ the CLI

class Run(NamedTuple):
    code: int
    err: List[str]


def run_cli(capsys: Any, argv: List[str]) -> Run:
    code = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    return Run(code, err)


def cli_cases(files: Dict[str, str]) -> Dict[str, Tuple[List[str], int, str]]:
    good = files["good"]
    return {
        # usage: 2
        "explain without a value": (["explain"], 2, r"required: VALUE"),
        "explain unknown profile": (["explain", "5", "--profile", "bogus"], 2,
                                    r"unknown profile 'bogus'"),
        "explain unknown knob": (["explain", "5", "--profile", "linux-6.18+nope"], 2,
                                 r"unknown profile knob 'nope'"),
        "explain unknown level": (["explain", "5", "--level", "pte5"], 2,
                                  r"argument --level: invalid choice: 'pte5'"),
        "encode unknown kind": (["encode", "bogus"], 2, r"argument kind: invalid choice"),
        "encode without --pfn": (["encode", "present"], 2, r"encode present needs --pfn"),
        "encode float pfn": (["encode", "present", "--pfn", "1.5", "--prot", "PAGE_SHARED"], 2,
                             r"--pfn '1\.5' is not a number"),
        "encode nan pfn": (["encode", "present", "--pfn", "nan", "--prot", "PAGE_SHARED"], 2,
                           r"--pfn 'nan' is not a number"),
        "profiles unknown option": (["profiles", "--bogus"], 2, r"unrecognized arguments: --bogus"),
        "decode unknown format": (["decode", good, "--format", "bogus"], 2,
                                  r"argument --format: invalid choice: 'bogus'"),
        "decode unknown level": (["decode", good, "--level", "bogus"], 2, r"--level"),
        "decode count not a number": (["decode", good, "--count", "x"], 2,
                                      r"argument --count: 'x' is not a whole number"),
        "decode negative offset": (["decode", good, "--offset", "-1"], 2,
                                   r"argument --offset: -1 is negative"),
        "decode negative count": (["decode", good, "--count", "-3"], 2,
                                  r"argument --count: -3 is negative"),
        "diff negative limit": (["diff", good, good, "--limit", "-1"], 2,
                                r"argument --limit: -1 is negative"),
        "diff negative offset": (["diff", good, good, "--offset", "-2"], 2,
                                 r"argument --offset: -2 is negative"),
        "decode npz without -o": (["decode", good, "--output", "npz"], 2, r"needs -o FILE"),
        "decode unknown profile": (["decode", good, "--profile", "bogus"], 2,
                                   r"unknown profile 'bogus'"),
        "diff without B": (["diff", good], 2, r"required: B"),
        "diff unknown profile": (["diff", good, good, "--profile", "bogus"], 2,
                                 r"unknown profile 'bogus'"),
        "bench zero entries": (["bench", "--entries", "0"], 2, r"--entries must be at least 1"),
        "bench negative entries": (["bench", "--entries", "-5"], 2, r"--entries must be at least 1"),
        "bench entries not a number": (["bench", "--entries", "x"], 2, r"invalid int value: 'x'"),
        "bench zero repeats": (["bench", "--entries", "64", "--repeats", "0"], 2,
                               r"--repeats must be at least 1"),
        "bench unknown profile": (["bench", "--entries", "64", "--profile", "bogus"], 2,
                                  r"unknown profile 'bogus'"),
        # bad data: 3
        "explain not hex": (["explain", "zz"], 3, r"value 'zz' is not a 64-bit hex value"),
        "explain beyond 64 bits": (["explain", "0x1ffffffffffffffff"], 3, r"not a 64-bit hex"),
        "explain negative": (["explain", "-1"], 3, r"value '-1' is not a 64-bit hex value"),
        "encode negative pfn": (["encode", "present", "--pfn", "-1", "--prot", "PAGE_SHARED"], 3,
                                r"pfn=-1 is negative"),
        "encode pfn 2^40": (["encode", "present", "--pfn", "0x10000000000", "--prot",
                             "PAGE_SHARED"], 3, r"pfn=0x10000000000 is out of range"),
        "encode unknown pgprot": (["encode", "present", "--pfn", "1", "--prot", "PAGE_BOGUS"], 3,
                                  r"unknown pgprot 'PAGE_BOGUS'"),
        "encode swap type 99": (["encode", "swap", "--type", "99", "--offset", "1"], 3,
                                r"type=0x63 is out of range"),
        "encode empty marker": (["encode", "marker"], 3, r"a marker needs at least one of"),
        "encode kind the profile lacks": (["encode", "hwpoison", "--pfn", "1"], 3,
                                          r"linux-6.18 has no hwpoison entries"),
        "decode missing file": (["decode", files["missing"]], 3, r"no such file"),
        "decode directory": (["decode", files["directory"]], 3, r"is a directory"),
        "decode torn raw": (["decode", files["torn"]], 3, r"is not a multiple of 8"),
        "decode bad hex line": (["decode", files["bad hex"]], 3, r"bad_hex:2: not a 64-bit hex"),
        "decode bad gzip": (["decode", files["bad gzip"]], 3, r"corrupt or truncated gzip data"),
        "decode npy of floats": (["decode", files["npy of floats"]], 3, r"is not a 64-bit integer"),
        "decode text as npy": (["decode", good, "--format", "npy"], 3, r"not a readable \.npy"),
        "decode unknown kind filter": (["decode", good, "--kind", "bogus"], 3,
                                       r"unknown kind 'bogus'"),
        "decode unknown flag filter": (["decode", good, "--flag", "bogus"], 3,
                                       r"unknown --flag 'bogus'"),
        "decode empty pfn range": (["decode", good, "--pfn-range", "5-1"], 3, r"is empty"),
        "decode bad pfn range": (["decode", good, "--pfn-range", "x"], 3, r"use START-END"),
        "decode unwritable output": (["decode", good, "--output", "csv", "-o",
                                      files["missing"] + "/out.csv"], 3, r"cannot write there"),
        "diff missing B": (["diff", good, files["missing"]], 3, r"no such file"),
        "diff torn B": (["diff", good, files["torn"]], 3, r"is not a multiple of 8"),
    }


CLI_NAMES = sorted(cli_cases({k: "x" for k in ("good", "missing", "directory", "torn",
                                                "bad hex", "bad gzip", "npy of floats")}))


@pytest.mark.parametrize("case", CLI_NAMES)
def test_cli_bad_inputs_exit_with_the_documented_code_and_one_error_line(
        capsys: Any, files: Dict[str, str], case: str) -> None:
    argv, code, match = cli_cases(files)[case]
    res = run_cli(capsys, argv)
    assert res.code == code, res
    errors = [line for line in res.err if line.startswith("ptebits: error: ")]
    assert len(errors) == 1 and not any("Traceback" in line for line in res.err), res.err
    assert re.search(match, errors[0]), (match, errors[0])


@pytest.mark.parametrize("argv", [["profiles"], ["bench", "--entries", "64", "--repeats", "1",
                                                 "--max-threads", "1", "--faults", "64",
                                                 "-q"]])
def test_cli_commands_without_bad_input_exit_0_or_1(capsys: Any, argv: List[str]) -> None:
    """The counterpart: the same commands with good arguments do not fail
    (bench exits 1 only when its baselines disagree, never here)."""
    res = run_cli(capsys, argv)
    assert res.code in (0, 1) and not [e for e in res.err if "error" in e], res
