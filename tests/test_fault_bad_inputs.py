"""Bad input to the fault model's public API: each raises the documented
exception class with a message naming the argument, before anything runs."""
from __future__ import annotations

import re
from typing import Any, Callable, Dict, Tuple, Type

import numpy as np
import pytest

from ptebits import AddressSpace, InvalidTypeError, InvalidValueError, UnknownProfileError


def shmem(profile: str = "linux-6.18") -> AddressSpace:
    mm = AddressSpace(8, profile=profile)
    mm.mmap(0, 4, "shmem")
    return mm


CASES: Dict[str, Tuple[Callable[[], Any], Type[Exception], str]] = {
    "npages zero": (lambda: AddressSpace(0), InvalidValueError, r"npages must be a positive"),
    "npages float": (lambda: AddressSpace(1.5), InvalidValueError, r"npages"),  # type: ignore
    "npages bool": (lambda: AddressSpace(True), InvalidValueError, r"npages"),
    "unknown profile": (lambda: AddressSpace(4, profile="linux-9.9"), UnknownProfileError,
                        r"linux-9.9"),
    "fault_around_bytes": (lambda: AddressSpace(4, fault_around_bytes=100), InvalidValueError,
                           r"fault_around_bytes must be at least 4096"),
    "first_pfn": (lambda: AddressSpace(4, first_pfn=1 << 40), InvalidValueError,
                  r"first_pfn must be a PFN"),
    "swap_type": (lambda: AddressSpace(4, swap_type=31), InvalidValueError, r"swap_type 31"),
    "memory kind": (lambda: AddressSpace(4).mmap(0, 4, "hugetlb"), InvalidValueError,
                    r"memory 'hugetlb'"),
    "mmap overlap": (lambda: shmem().mmap(2, 4, "anon"), InvalidValueError, r"overlap"),
    "mmap outside": (lambda: AddressSpace(4).mmap(2, 4, "anon"), InvalidValueError,
                     r"outside the address space"),
    "prot letters": (lambda: AddressSpace(4).mmap(0, 4, "anon", prot="rq"), InvalidValueError,
                     r"prot 'rq'"),
    "register mode": (lambda: shmem().register(0, 4, "WRITE"), InvalidValueError,
                      r"unknown mode 'WRITE'"),
    "register feature": (lambda: shmem().register(0, 4, "WP", ["FAST"]), InvalidValueError,
                         r"unknown feature 'FAST'"),
    "WP_ASYNC before 6.7": (lambda: shmem("linux-5.12-uffd-wp-v2").register(
        0, 4, "WP", ["WP_ASYNC"]), InvalidValueError, r"WP_ASYNC does not exist"),
    "MINOR on anon": (lambda: _anon().register(0, 4, "MINOR"), InvalidValueError,
                      r"MINOR needs shmem"),
    "register unmapped": (lambda: shmem().register(0, 8, "WP"), InvalidValueError,
                          r"not all mapped"),
    "writeprotect unregistered": (lambda: shmem().writeprotect(0, 1), InvalidValueError,
                                  r"not registered for WP .*ENOENT"),
    "remove private": (lambda: _anon().remove(0, 1), InvalidValueError, r"MADV_REMOVE"),
    "punch no object": (lambda: shmem().punch(5, 0, 1), InvalidValueError,
                        r"no shmem object 5"),
    "truncate negative": (lambda: shmem().truncate(0, -1), InvalidValueError, r"size_pages"),
    "pages float": (lambda: shmem().dispatch(np.array([0.5]), "read"), InvalidTypeError,
                    r"pages must be integers"),
    "pages 2-d": (lambda: shmem().dispatch(np.zeros((2, 2), dtype=np.int64), "read"),
                  InvalidTypeError, r"pages must be 1-d"),
    "pages negative": (lambda: shmem().dispatch([-1], "read"), InvalidValueError,
                       r"page -1 is negative"),
    "pages beyond": (lambda: shmem().dispatch([8], "read"), InvalidValueError,
                     r"page 8 is outside"),
    "access name": (lambda: shmem().dispatch([0], "jump"), InvalidValueError,
                    r"access 'jump'"),
    "access code": (lambda: shmem().dispatch([0, 1], np.array([0, 3])), InvalidValueError,
                    r"access codes must be 0"),
    "access shape": (lambda: shmem().dispatch([0, 1], ["read"]), InvalidTypeError,
                     r"access must be one access or an array of 2"),
    "resolve": (lambda: shmem().dispatch([0], "read", resolve="WP|FAST"), InvalidValueError,
                r"resolve: unknown 'FAST'"),
    "out length": (lambda: _reuse_wrong_length(), InvalidValueError,
                   r"out must be the FaultBatch of an earlier dispatch of 2 faults"),
    "copy over a page": (lambda: _copy_twice(), InvalidValueError, r"uffd_copy of page 0"),
}


def _anon() -> AddressSpace:
    mm = AddressSpace(4)
    mm.mmap(0, 4, "anon")
    return mm


def _reuse_wrong_length() -> None:
    mm = shmem()
    b = mm.dispatch([0], "read")
    mm.dispatch([0, 1], "read", out=b)


def _copy_twice() -> None:
    mm = shmem()
    mm.register(0, 4, "MISSING")
    mm.uffd_copy(0)
    mm.uffd_copy(0)          # -EEXIST


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_with_a_clear_message(case: str) -> None:
    fn, exc, pattern = CASES[case]
    with pytest.raises(exc) as info:
        fn()
    assert re.search(pattern, str(info.value)), str(info.value)


def test_a_refused_dispatch_changes_nothing() -> None:
    mm = shmem()
    mm.dispatch([0], "write")
    before = mm.pte.copy()
    with pytest.raises(InvalidValueError):
        mm.dispatch([1, 8], "write")
    assert np.array_equal(mm.pte, before)
