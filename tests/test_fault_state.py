"""AddressSpace.snapshot / restore: everything a fault or an operation
changes comes back, so a replay gives the same result (the benchmark
restarts every repeat this way)."""
from __future__ import annotations

import numpy as np
import pytest

from ptebits import AddressSpace, InvalidValueError


@pytest.mark.parametrize("profile", ["linux-6.18", "linux-5.12-uffd-wp-v2"])
def test_restore_then_replay_gives_the_same_batch(profile: str) -> None:
    mm = AddressSpace(64, profile=profile)
    obj = mm.mmap(0, 32, "shmem").object
    mm.mmap(32, 32, "anon")
    mm.register(0, 32, "WP")
    mm.dispatch(np.arange(0, 64, 3), "write")
    mm.writeprotect(0, 16)
    snap = mm.snapshot()
    pages = np.arange(64)[::-1].copy()

    def run() -> tuple:
        mm.punch(obj, 2, 4)
        mm.truncate(obj, 40)                  # grows the page cache array
        mm.mprotect(40, 2, "r")               # splits a VMA
        b = mm.dispatch(pages, "write", resolve="WP")
        return (mm.pte.copy(), b.handler.copy(), b.outcome.copy(),
                b.messages["page"].copy(), mm.next_pfn, len(mm.vmas))

    first = run()
    mm.restore(snap)
    assert mm.objects[0].size == 32 and len(mm.vmas) == 2
    second = run()
    for a, b in zip(first, second):
        assert np.array_equal(a, b)


def test_restore_refuses_a_snapshot_of_another_address_space() -> None:
    a, b = AddressSpace(8), AddressSpace(16)
    with pytest.raises(InvalidValueError, match="another address space"):
        b.restore(a.snapshot())
