"""Bad inputs raise the documented exception class with a message that
names the argument or field (src/ptebits/errors.py):

* InvalidTypeError (a ptebits.Error and a TypeError): wrong type, dtype,
  byte order, layout or shape of an argument;
* FieldRangeError (a ptebits.Error and a ValueError): a field that cannot be
  encoded under the profile (out of range, absent from the profile, or
  reading back as another kind), with ``field``/``value``/``limit``/``index``;
* UnknownProfileError / UnsupportedKernelError for profiles and hosts.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Optional

import numpy as np
import pytest

import ptebits
from ptebits import errors

V512 = "linux-5.12-uffd-wp-v2"
OFFSET_MAX = (1 << 50) - 1


def _raises(exc: Any, match: str, fn: Callable[[], Any]) -> Any:
    with pytest.raises(exc, match=match) as info:
        fn()
    assert isinstance(info.value, ptebits.Error)
    return info.value


# ------------------------------------------------------------ hierarchy

def test_every_library_exception_is_a_ptebits_error_and_a_builtin() -> None:
    """Callers can catch ptebits.Error or the matching builtin."""
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, Exception) and c.__module__ == errors.__name__]
    assert {c.__name__ for c in classes} >= {
        "Error", "InvalidTypeError", "InvalidValueError", "FieldRangeError",
        "UnknownProfileError", "UnsupportedKernelError", "DumpFormatError", "FileError"}
    for cls in classes:
        assert issubclass(cls, ptebits.Error)
        assert cls is ptebits.Error or issubclass(cls, (TypeError, ValueError, OSError)), cls
        assert getattr(ptebits, cls.__name__) is cls
    assert issubclass(ptebits.InvalidTypeError, TypeError)
    for cls in (ptebits.InvalidValueError, ptebits.FieldRangeError, ptebits.UnknownProfileError,
                ptebits.UnsupportedKernelError, ptebits.DumpFormatError):
        assert issubclass(cls, ValueError)
    assert issubclass(ptebits.FileError, OSError)


# --------------------------------------------------- array arguments

ARR = np.arange(4, dtype=np.uint64)
BAD_ARRAYS = {
    "int64": (ARR.astype(np.int64), r"raw must have dtype uint64, got dtype=<i8.*view\(np\.uint64\)"),
    "big-endian": (ARR.astype(">u8"), r"raw is byte-swapped \(dtype=>u8"),
    "float64": (ARR.astype(np.float64), r"raw must have dtype uint64, got dtype=<f8"),
    "uint32": (ARR.astype(np.uint32), r"raw must have dtype uint64, got dtype=<u4"),
    "strided": (np.arange(8, dtype=np.uint64)[::2], r"raw is not C-contiguous"),
    "fortran-2d": (np.asfortranarray(np.zeros((3, 2), dtype=np.uint64)), r"raw is not C-contiguous"),
    "0-d": (np.array(5, dtype=np.uint64), r"raw is a 0-d array"),
    "python-int": (5, r"raw must be a numpy array of uint64, got int"),
    "numpy-scalar": (np.uint64(5), r"raw must be a numpy array of uint64"),
}


@pytest.mark.parametrize("fn", [ptebits.decode, ptebits.classify], ids=lambda f: f.__name__)
@pytest.mark.parametrize("case", sorted(BAD_ARRAYS))
def test_decode_and_classify_reject_arrays_that_are_not_native_contiguous_uint64(
        fn: Any, case: str) -> None:
    """Nothing is converted silently: the message names `raw` and says why."""
    value, match = BAD_ARRAYS[case]
    _raises(ptebits.InvalidTypeError, match, lambda: fn(value))


def test_pagemap_functions_name_their_array_argument() -> None:
    _raises(ptebits.InvalidTypeError, r"raw must have dtype uint64",
            lambda: ptebits.pte_to_pagemap(ARR.astype(np.int64)))
    _raises(ptebits.InvalidTypeError, r"words must have dtype uint64",
            lambda: ptebits.decode_pagemap(ARR.astype(np.int64)))
    _raises(ptebits.InvalidTypeError, r"words is byte-swapped",
            lambda: ptebits.decode_pagemap(ARR.astype(">u8")))


def test_lists_are_converted_but_bad_values_in_them_are_refused() -> None:
    assert ptebits.decode([0x20, 0x27]).kind.tolist() == [0, 1]
    assert ptebits.decode((0xFFFFFFFFFFFFFC00,)).kind.tolist() == [int(ptebits.Kind.MARKER)]
    _raises(ptebits.FieldRangeError, r"raw=-1 is negative", lambda: ptebits.decode([-1]))
    _raises(ptebits.FieldRangeError, r"raw=18446744073709551616 is out of range",
            lambda: ptebits.decode([1 << 64]))


@pytest.mark.parametrize("call", [
    pytest.param(lambda: ptebits.decode([0x20, 0x8000000012345027]), id="decode"),
    pytest.param(lambda: ptebits.pte_to_pagemap([0, 0xFFFFFFFFFFFFFC00]), id="pte_to_pagemap"),
    pytest.param(lambda: ptebits.encode_present(1, [0x27, 0x8000000000000027]), id="encode_present"),
    pytest.param(lambda: ptebits.pte_wrprotect([0x27, 0x8000000000000027]), id="pte_wrprotect"),
])
def test_lists_of_any_64_bit_values_are_accepted(call: Any) -> None:
    """'lists and tuples of ints are converted' (codec._raw_input): a list of
    valid 64-bit values (NX PTEs, markers and swap types >= 16 have bit 63
    set) next to small ones is still a list of valid values."""
    result = call()
    assert result is not None


@pytest.mark.parametrize("out,match", [
    (np.empty(3, dtype=np.uint8), r"out\.kind must have dtype uint8 and shape \(4,\).*shape=\(3,\)"),
    (np.empty(4, dtype=np.uint16), r"out\.kind must have dtype uint8 and shape \(4,\).*<u2"),
    (np.empty((2, 2), dtype=np.uint8), r"out\.kind must have dtype uint8 and shape \(4,\)"),
    ([0, 0, 0, 0], r"out\.kind must be a numpy array"),
], ids=["short", "uint16", "2-d", "list"])
def test_classify_out_must_match_shape_and_dtype(out: Any, match: str) -> None:
    _raises(ptebits.InvalidTypeError, match, lambda: ptebits.classify(ARR, out=out))


def test_classify_out_must_be_writable() -> None:
    out = np.empty(4, dtype=np.uint8)
    out.flags.writeable = False
    _raises(ptebits.InvalidTypeError, r"out\.kind must be C-contiguous and writable",
            lambda: ptebits.classify(ARR, out=out))


def test_decode_out_must_be_an_earlier_decoded_of_the_same_shape() -> None:
    d3 = ptebits.decode(np.arange(3, dtype=np.uint64))
    _raises(ptebits.InvalidTypeError, r"out\.kind must have dtype uint8 and shape \(4,\)",
            lambda: ptebits.decode(ARR, out=d3))
    _raises(ptebits.InvalidTypeError, r"out must be a Decoded from an earlier decode\(\), got dict",
            lambda: ptebits.decode(ARR, out={}))


def test_read_only_arrays_are_accepted() -> None:
    """decode/classify/pte_to_pagemap only read their input (no copy needed)."""
    raw = np.array([0, 0x8000000012345027, 0xFFFFFFFFFFFFFC00, 0x0FFFFFFFFFDB9604],
                   dtype=np.uint64)
    ro = raw.copy()
    ro.flags.writeable = False
    d = ptebits.decode(ro)
    assert d.kind.tolist() == ptebits.decode(raw).kind.tolist()
    assert ptebits.classify(ro).tolist() == d.kind.tolist()
    assert ptebits.pte_to_pagemap(ro).tolist() == ptebits.pte_to_pagemap(raw).tolist()
    assert ptebits.decode_pagemap(ro).kind.shape == (4,)
    assert ptebits.pte_mkold(ro[1:2]).tolist() == [0x8000000012345007]


# ------------------------------------------------------------ encoders

def _field_error(fn: Callable[[], Any], match: str, field: str, value: Any = None,
                 limit: Optional[int] = None) -> ptebits.FieldRangeError:
    exc = _raises(ptebits.FieldRangeError, match, fn)
    assert isinstance(exc, ValueError)
    assert exc.field == field
    if value is not None:
        assert exc.value == value
    if limit is not None:
        assert exc.limit == limit
    return exc


RANGE_CASES = {
    # name: (call, match, field, value, limit)
    "present-pfn-2^40": (lambda: ptebits.encode_present(1 << 40, "PAGE_SHARED"),
                         r"encode_present: pfn=0x10000000000 is out of range under linux-6\.18",
                         "pfn", 1 << 40, 1 << 40),
    "present-pfn-2^40-5.12": (lambda: ptebits.encode_present(1 << 40, 0x27, profile=V512),
                              r"pfn=0x10000000000 is out of range", "pfn", 1 << 40, 1 << 40),
    "migration-pfn-2^34-6.18": (lambda: ptebits.encode_migration(1 << 34),
                                r"encode_migration: pfn=0x400000000 is out of range under "
                                r"linux-6\.18 \(limit 0x400000000", "pfn", 1 << 34, 1 << 34),
    "migration-pfn-2^40-la57": (lambda: ptebits.encode_migration(1 << 40, profile="linux-6.18+la57"),
                                r"pfn=0x10000000000 is out of range", "pfn", 1 << 40, 1 << 40),
    "swap-offset-2^50": (lambda: ptebits.encode_swap(1, 1 << 50),
                         r"encode_swap: offset=0x4000000000000 is out of range", "offset",
                         1 << 50, 1 << 50),
    "swap-type-32": (lambda: ptebits.encode_swap(32, 0), r"encode_swap: type=0x20 is out of range",
                     "type", 32, 28),
    "swap-type-28-is-migration-on-6.18": (lambda: ptebits.encode_swap(28, 0),
                                          r"type 28 is migration read under linux-6\.18; "
                                          r"swap-device types are 0-27", "type", 28, 28),
    "swap-type-31-is-the-marker-on-6.18": (lambda: ptebits.encode_swap(31, 0),
                                           r"type 31 is pte marker", "type", 31, 28),
    "swap-type-27-is-hwpoison-on-5.12": (lambda: ptebits.encode_swap(27, 0, profile=V512),
                                         r"type 27 is hwpoison under linux-5\.12-uffd-wp-v2",
                                         "type", 27, 27),
    "prot-inside-pfn-field": (lambda: ptebits.encode_present(1, 0x1027),
                              r"prot=0x1027 has bits inside the PFN field", "prot", 0x1027, None),
    "pte-modify-newprot-inside-pfn-field": (
        lambda: ptebits.pte_modify(0x8000000012345027, 0x1000),
        r"pte_modify: .*pgprot has bits inside the PFN field", "newprot", None, None),
}


@pytest.mark.parametrize("case", sorted(RANGE_CASES))
def test_out_of_range_fields_name_the_field_and_limit(case: str) -> None:
    fn, match, field, value, limit = RANGE_CASES[case]
    _field_error(fn, match, field, value, limit)


def test_array_encoders_report_the_first_bad_element() -> None:
    exc = _field_error(lambda: ptebits.encode_present(np.array([1, 1 << 40, 1 << 41]), 0x27),
                       r"pfn=0x10000000000 is out of range .*\(element 1\)", "pfn", 1 << 40)
    assert exc.index == 1
    exc = _field_error(lambda: ptebits.encode_swap(np.array([1, 2, 28]), 0),
                       r"type 28 is migration read .*\(element 2\)", "type", 28)
    assert exc.index == 2


NEGATIVE_CASES = {
    "swap-type": (lambda: ptebits.encode_swap(-1, 0), r"type=-1 is negative", "type"),
    "swap-offset": (lambda: ptebits.encode_swap(1, -1), r"offset=-1 is negative", "offset"),
    "present-pfn": (lambda: ptebits.encode_present(-5, 0x27), r"pfn=-5 is negative", "pfn"),
    "present-prot": (lambda: ptebits.encode_present(5, -0x27), r"prot=-39 is negative", "prot"),
    "migration-pfn": (lambda: ptebits.encode_migration(-1), r"pfn=-1 is negative", "pfn"),
    "pte-op-raw": (lambda: ptebits.pte_wrprotect(-1), r"raw=-1 is negative", "raw"),
    "pagemap-raw": (lambda: ptebits.pte_to_pagemap(-1), r"raw=-1 is negative", "raw"),
    "list-pfn": (lambda: ptebits.encode_present([1, -1], 0x27), r"pfn=-1 is negative", "pfn"),
}


@pytest.mark.parametrize("case", sorted(NEGATIVE_CASES))
def test_negative_values_are_refused(case: str) -> None:
    fn, match, field = NEGATIVE_CASES[case]
    _field_error(fn, match, field)


TOO_BIG_CASES = {
    "swap-offset-2^64": (lambda: ptebits.encode_swap(1, 1 << 64),
                         r"offset=18446744073709551616 is out of range \(0 to 2\^64-1\)", "offset"),
    "present-pfn-2^70": (lambda: ptebits.encode_present(1 << 70, 0x27),
                         r"pfn=1180591620717411303424 is out of range", "pfn"),
    "pte-op-raw-2^64": (lambda: ptebits.pte_mkdirty(1 << 64), r"raw=18446744073709551616", "raw"),
    "flag-2": (lambda: ptebits.encode_swap(1, 1, uffd_wp=2), r"uffd_wp=2 is out of range", "uffd_wp"),
}


@pytest.mark.parametrize("case", sorted(TOO_BIG_CASES))
def test_python_ints_beyond_their_width_are_refused(case: str) -> None:
    fn, match, field = TOO_BIG_CASES[case]
    _field_error(fn, match, field)


FLOAT_CASES = {
    "swap-type-float": (lambda: ptebits.encode_swap(1.0, 0), r"type must be an integer, got a float"),
    "swap-offset-nan": (lambda: ptebits.encode_swap(1, float("nan")),
                        r"offset must be an integer, got a float \(nan\)"),
    "present-pfn-numpy-float": (lambda: ptebits.encode_present(np.float64(1.0), 0x27),
                                r"pfn must be an integer, got a float"),
    "present-pfn-float-list": (lambda: ptebits.encode_present([1.5], 0x27),
                               r"pfn must hold integers, got 1.5 \(float\)"),
    "flag-float-array": (lambda: ptebits.encode_swap(1, 1, uffd_wp=np.array([0.5])),
                         r"uffd_wp must be an integer, got a float"),
    "pte-op-float-array": (lambda: ptebits.pte_wrprotect(np.array([1.5])),
                           r"raw must be an integer, got a float"),
    "swap-type-str": (lambda: ptebits.encode_swap("1", 0), r"type must be an integer, got str"),
}


@pytest.mark.parametrize("case", sorted(FLOAT_CASES))
def test_non_integer_arguments_are_type_errors(case: str) -> None:
    fn, match = FLOAT_CASES[case]
    _raises(ptebits.InvalidTypeError, match, fn)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
@pytest.mark.parametrize("call,exc,match", [
    pytest.param(lambda: ptebits.encode_swap(1, np.array([2.5])), ptebits.InvalidTypeError,
                 r"offset must be.*float", id="float-offset-array"),
    pytest.param(lambda: ptebits.encode_present(np.array([1.5]), 0x27), ptebits.InvalidTypeError,
                 r"pfn must be.*float", id="float-pfn-array"),
    pytest.param(lambda: ptebits.encode_swap(1, np.array([np.nan])), ptebits.InvalidTypeError,
                 r"offset must be.*float", id="nan-offset-array"),
    pytest.param(lambda: ptebits.encode_present(1, np.array([-(1 << 63) + 0x27])),
                 ptebits.FieldRangeError, r"prot=-9223372036854775769 is negative",
                 id="negative-int64-prot-array"),
    pytest.param(lambda: ptebits.encode_present(np.array([1 << 70], dtype=object), 0x27),
                 ptebits.FieldRangeError, r"pfn=1180591620717411303424 is out of range",
                 id="huge-object-pfn-array"),
])
def test_array_arguments_are_validated_like_scalars(call: Any, exc: Any, match: str) -> None:
    """An array argument gets the same checks as a scalar: an integer dtype,
    no negative values, nothing beyond 64 bits."""
    _raises(exc, match, call)


FLAG_CASES = {
    "exclusive-on-5.12-swap": (lambda: ptebits.encode_swap(1, 1, exclusive=True, profile=V512),
                               r"encode_swap: exclusive=True is not available under "
                               r"linux-5\.12-uffd-wp-v2", "exclusive"),
    "young-on-5.12-migration": (lambda: ptebits.encode_migration(1, young=True, profile=V512),
                                r"encode_migration: young=True is not available under "
                                r"linux-5\.12-uffd-wp-v2", "young"),
    "dirty-on-5.12-migration": (lambda: ptebits.encode_migration(1, dirty=True, profile=V512),
                                r"dirty=True is not available", "dirty"),
    "read-exclusive-migration-on-5.12": (
        lambda: ptebits.encode_migration(1, exclusive=True, profile=V512),
        r"exclusive=True is not available under linux-5\.12", "exclusive"),
    "device-exclusive-on-5.12": (lambda: ptebits.encode_device(1, exclusive=True, profile=V512),
                                 r"exclusive=True is not available under linux-5\.12", "exclusive"),
    "soft-dirty-on-6.18-swap": (lambda: ptebits.encode_swap(1, 1, soft_dirty=True),
                                r"encode_swap: soft_dirty=True is not available under linux-6\.18",
                                "soft_dirty"),
    "soft-dirty-on-6.18-migration": (lambda: ptebits.encode_migration(1, soft_dirty=True),
                                     r"soft_dirty=True is not available under linux-6\.18",
                                     "soft_dirty"),
    "uffd-wp-without-the-knob": (lambda: ptebits.encode_swap(1, 1, uffd_wp=True,
                                                             profile="linux-6.18+no_uffd_wp"),
                                 r"uffd_wp=True is not available", "uffd_wp"),
    "mksoft-dirty-on-6.18": (lambda: ptebits.pte_mksoft_dirty(0x8000000012345027),
                             r"pte_mksoft_dirty: raw=0x8000000012345027: a flag the profile does "
                             r"not have under linux-6\.18", "raw"),
    "swp-mkexclusive-on-5.12": (lambda: ptebits.pte_swp_mkexclusive(0x0FFFFFFFFFDB9600,
                                                                    profile=V512),
                                r"pte_swp_mkexclusive: .*a flag the profile does not have", "raw"),
}


@pytest.mark.parametrize("case", sorted(FLAG_CASES))
def test_flags_the_profile_lacks_are_refused(case: str) -> None:
    """§3/§4: no swap-exclusive or migration young/dirty in 5.12, no soft-dirty
    in 6.18 (MEM_SOFT_DIRTY is off on the project's machines)."""
    fn, match, field = FLAG_CASES[case]
    _field_error(fn, match, field)


KIND_CASES = {
    "special-on-6.18": (lambda: ptebits.encode_special(),
                        r"encode_special: linux-6\.18 has no uffd_wp_special entries"),
    "device-on-6.18": (lambda: ptebits.encode_device(1),
                       r"encode_device: linux-6\.18 has no device entries"),
    "hwpoison-on-6.18": (lambda: ptebits.encode_hwpoison(1),
                         r"encode_hwpoison: linux-6\.18 has no hwpoison entries"),
    "marker-on-5.12": (lambda: ptebits.encode_marker(uffd_wp=True, profile=V512),
                       r"encode_marker: linux-5\.12-uffd-wp-v2 has no marker entries"),
    "special-without-uffd-wp": (lambda: ptebits.encode_special(profile=V512 + "+no_uffd_wp"),
                                r"has no uffd_wp_special entries"),
    "migration-without-the-knob": (lambda: ptebits.encode_migration(1, profile="linux-6.18+no_migration"),
                                   r"has no migration entries"),
}


@pytest.mark.parametrize("case", sorted(KIND_CASES))
def test_kinds_the_profile_lacks_are_refused(case: str) -> None:
    """§4/§5: 6.18 here has no hwpoison/device types and no v2 special PTE;
    5.12 + v2 has no PTE markers."""
    fn, match = KIND_CASES[case]
    _field_error(fn, match, "kind")


def test_an_empty_marker_is_refused() -> None:
    """§5: marker 0 faults with SIGBUS, no kernel writes it."""
    _field_error(lambda: ptebits.encode_marker(), r"a marker needs at least one of uffd_wp, "
                 r"poisoned, guard", "marker", 0)
    _field_error(lambda: ptebits.encode_marker(uffd_wp=np.array([True, False])),
                 r"a marker needs at least one", "marker")


ALIAS_CASES = {
    "swap-0-max-is-none-6.18": (lambda: ptebits.encode_swap(0, OFFSET_MAX),
                                r"type=0x0, offset=0x3ffffffffffff cannot be encoded under "
                                r"linux-6\.18: the entry would read back as another kind"),
    "swap-0-max-is-none-5.12": (lambda: ptebits.encode_swap(0, OFFSET_MAX, profile=V512),
                                r"type=0x0, offset=0x3ffffffffffff cannot be encoded under "
                                r"linux-5\.12"),
    "swap-0-max-uffd-wp-is-the-special-5.12": (
        lambda: ptebits.encode_swap(0, OFFSET_MAX, uffd_wp=True, profile=V512),
        r"offset=0x3ffffffffffff cannot be encoded under linux-5\.12-uffd-wp-v2"),
    "prot-without-present-or-protnone": (lambda: ptebits.encode_present(1, 0x27 & ~1),
                                         r"pfn=0x1, prot=0x26 cannot be encoded"),
}


@pytest.mark.parametrize("case", sorted(ALIAS_CASES))
def test_encodings_that_read_back_as_another_kind_are_refused(case: str) -> None:
    """§3: swap (0, 2^50-1) is raw 0 (pte_none); under 5.12 + v2 with uffd-wp it
    is raw 0x4, the special PTE (§5); a prot with neither PRESENT nor
    PROTNONE makes a swap-format value."""
    fn, match = ALIAS_CASES[case]
    _field_error(fn, match, "alias")


def test_write_and_exclusive_migration_exclude_each_other() -> None:
    _field_error(lambda: ptebits.encode_migration(1, write=True, exclusive=True),
                 r"write=True and exclusive=True exclude each other", "write+exclusive")
    _field_error(lambda: ptebits.encode_device(1, write=True, exclusive=True),
                 r"write=True and exclusive=True exclude each other", "write+exclusive")


def test_pte_helpers_refuse_the_wrong_format() -> None:
    _field_error(lambda: ptebits.pte_wrprotect(0x0FFFFFFFFFDB9600),
                 r"pte_wrprotect: raw=0xfffffffffdb9600: a present-PTE helper applied to a "
                 r"non-present entry", "raw", 0x0FFFFFFFFFDB9600)
    _field_error(lambda: ptebits.pte_swp_mkuffd_wp(0x8000000012345027),
                 r"pte_swp_mkuffd_wp: .*not swap-format", "raw")
    exc = _field_error(lambda: ptebits.pte_mkuffd_wp(np.array([0x27, 0x20], dtype=np.uint64)),
                       r"raw=0x20 \(element 1\)", "raw")
    assert exc.index == 1


def test_unknown_pgprot_names_are_refused() -> None:
    _raises(ptebits.InvalidValueError, r"unknown pgprot 'PAGE_BOGUS'",
            lambda: ptebits.encode_present(1, "PAGE_BOGUS"))


# ------------------------------------------------------------ profiles

@pytest.mark.parametrize("call,match", [
    (lambda: ptebits.get_profile("linux-9"), r"unknown profile 'linux-9'; known profiles: "
                                             r"linux-6\.18, linux-5\.12-uffd-wp-v2"),
    (lambda: ptebits.get_profile("linux-6.18+foo"), r"unknown profile knob 'foo'"),
    (lambda: ptebits.get_profile("linux-6.18+no_foo"), r"unknown profile knob 'no_foo'"),
    (lambda: ptebits.get_profile("linux-6.18", foo=True), r"unknown profile knob 'foo'"),
    (lambda: ptebits.get_profile(42), r"profile must be a name or a Profile, got int"),
    (lambda: ptebits.decode(ARR, profile="linux-5.13"), r"unknown profile 'linux-5\.13'"),
    (lambda: ptebits.encode_swap(1, 1, profile="6.18"), r"unknown profile '6\.18'"),
], ids=["name", "knob", "no-knob", "keyword-knob", "not-a-name", "decode", "encode"])
def test_unknown_profiles_and_knobs(call: Any, match: str) -> None:
    exc = _raises(ptebits.UnknownProfileError, match, call)
    assert isinstance(exc, ValueError)


@pytest.mark.parametrize("release,shown", [("6.1.0-13-amd64", "6.1.0"), ("5.12.9", "5.12.9"),
                                           ("6.19.0-rc1", "6.19.0"), ("weird", "weird")])
def test_host_profile_refuses_kernels_it_does_not_know(release: str, shown: str) -> None:
    """Only 6.18.y has a known layout; the message names the version."""
    exc = _raises(ptebits.UnsupportedKernelError, shown,
                  lambda: ptebits.host_profile(release=release, config="", cpuinfo=""))
    assert isinstance(exc, ValueError)
