"""What the live Linux 6.18 kernel shows, run through ptebits.live: each test
states an observation of userfaultfd and /proc/self/pagemap as a spec.
Skipped (with the reason) where live runs cannot work: not root, no
userfaultfd, not Linux; pageout tests also where no swap file can be made."""
from __future__ import annotations

import os
import time

import pytest

from ptebits import live
from ptebits.errors import InvalidValueError, LiveUnavailable
from ptebits.scenario import load_scenario

REASON = live.live_available()
pytestmark = pytest.mark.skipif(REASON is not None, reason=str(REASON))

#: catches a hang; never a speed threshold
TIMEOUT = 60.0


def run(memory, pages, steps, register=None, **kw):
    scn = {"memory": memory, "pages": pages, "steps": steps}
    if register:
        scn["register"] = register
    scn.update(kw)
    return live.run_live(scn, timeout=TIMEOUT)


def page(result, step, p):
    return result["steps"][step]["pages"][p]


def bits(pg):
    return {k: pg[k] for k in ("class", "present", "swapped", "file", "exclusive",
                               "uffd_wp", "guard")}


MARKER = {"class": "marker", "present": 0, "swapped": 1, "file": 0, "exclusive": 0,
          "uffd_wp": 1, "guard": 0}
NONE = {"class": "none", "present": 0, "swapped": 0, "file": 0, "exclusive": 0,
        "uffd_wp": 0, "guard": 0}


def msgs(result, step):
    return {k: v for k, v in result["steps"][step]["messages"].items() if v}


def needs_swap():
    try:
        with live.swap_file():
            pass
    except LiveUnavailable as e:
        pytest.skip(str(e))


# ------------------------------------------------------ uffd-wp life cycle

def test_dontneed_on_a_write_protected_shmem_page_leaves_a_uffd_wp_marker():
    r = run("shmem_memfd", 2, [{"op": "write"}, {"op": "wp", "pages": [0]},
                               {"op": "dontneed"}, {"op": "read"}, {"op": "write"}], "WP")
    assert page(r, 2, 0)["pagemap"] == "0x420000000000003f"
    assert bits(page(r, 2, 0)) == MARKER
    assert bits(page(r, 2, 1)) == NONE                   # not write-protected: nothing left
    # the read maps the page back read-only with uffd-wp and sends nothing
    assert msgs(r, 3) == {}
    assert page(r, 3, 0)["present"] == 1 and page(r, 3, 0)["uffd_wp"] == 1
    # the write sends exactly one WP message, resolved by un-protecting
    assert msgs(r, 4) == {"WP": 1}
    assert page(r, 4, 0)["uffd_wp"] == 0


def test_hole_punch_of_a_write_protected_shmem_page_leaves_a_marker():
    r = run("shmem_memfd", 1, [{"op": "write"}, {"op": "wp"}, {"op": "punch"}], "WP")
    assert bits(page(r, 2, 0)) == MARKER


def test_write_protecting_never_touched_shmem_installs_markers_anon_does_not():
    shm = run("shmem_memfd", 1, [{"op": "wp"}, {"op": "write"}], "WP")
    assert bits(page(shm, 0, 0)) == MARKER
    assert msgs(shm, 1) == {"WP": 1}
    anon = run("anon", 1, [{"op": "wp"}, {"op": "write"}], "WP")
    assert bits(page(anon, 0, 0)) == NONE
    assert msgs(anon, 1) == {}
    unpop = run("anon", 1, [{"op": "wp"}, {"op": "write"}], "WP", features=["WP_UNPOPULATED"])
    assert bits(page(unpop, 0, 0)) == MARKER
    assert msgs(unpop, 1) == {"WP": 1}


def test_present_pages_pagemap_bits_by_memory_kind():
    anon = run("anon", 2, [{"op": "read", "pages": [0]}, {"op": "write", "pages": [1]}])
    zero, written = page(anon, 0, 0), page(anon, 1, 1)
    # the zero page: present, but not a "found" page, so neither file nor exclusive
    assert (zero["present"], zero["file"], zero["exclusive"]) == (1, 0, 0)
    assert (written["present"], written["file"], written["exclusive"]) == (1, 0, 1)
    shm = run("shmem_anon", 1, [{"op": "write"}])
    assert (page(shm, 0, 0)["file"], page(shm, 0, 0)["exclusive"]) == (1, 1)
    priv = run("shmem_memfd_private", 1, [{"op": "read"}, {"op": "write"}])
    assert page(priv, 0, 0)["file"] == 1                 # the page-cache page
    assert page(priv, 1, 0)["file"] == 0                 # its private copy


def test_anon_missing_wp_copy_mode_wp_sends_missing_then_wp():
    r = run("anon", 1, [{"op": "write"}, {"op": "write"}], "MISSING|WP", copy_mode="WP")
    assert msgs(r, 0) == {"MISSING": 1, "WP": 1}
    assert msgs(r, 1) == {}
    plain = run("anon", 1, [{"op": "write"}], "MISSING|WP")
    assert msgs(plain, 0) == {"MISSING": 1}


def test_minor_fault_is_continued_and_wp_async_sends_nothing():
    r = run("shmem_memfd", 1, [{"op": "write"}, {"op": "dontneed"}, {"op": "read"}], "MINOR")
    assert msgs(r, 2) == {"MINOR": 1}
    assert page(r, 2, 0)["present"] == 1
    a = run("anon", 1, [{"op": "write"}, {"op": "wp"}, {"op": "write"}], "WP",
            features=["WP_ASYNC"])
    assert msgs(a, 2) == {}
    assert page(a, 1, 0)["uffd_wp"] == 1 and page(a, 2, 0)["uffd_wp"] == 0


def test_remove_events_are_counted_with_event_remove():
    r = run("shmem_anon", 2, [{"op": "write"}, {"op": "remove"}], "WP",
            features=["EVENT_REMOVE"])
    assert msgs(r, 1) == {"REMOVE": 2}


# ---------------------------------------------------------------- signals

def test_write_after_mprotect_read_only_is_sigsegv():
    r = run("anon", 1, [{"op": "write"}, {"op": "mprotect", "prot": "r"}, {"op": "write"},
                        {"op": "read"}])
    assert r["steps"][2]["signals"] == [{"page": 0, "signal": "SIGSEGV"}]
    assert r["steps"][3]["signals"] == []


def test_access_past_eof_after_truncate_is_sigbus_and_regrow_keeps_uffd_wp():
    r = run("shmem_memfd", 2, [{"op": "write"}, {"op": "wp"},
                               {"op": "truncate", "size_pages": 1}, {"op": "read"},
                               {"op": "truncate", "size_pages": 2}, {"op": "read"}], "WP")
    assert bits(page(r, 2, 1)) == MARKER                 # kept past the new EOF
    assert r["steps"][3]["signals"] == [{"page": 1, "signal": "SIGBUS"}]
    assert r["steps"][5]["signals"] == []
    assert page(r, 5, 1)["present"] == 1 and page(r, 5, 1)["uffd_wp"] == 1


# ----------------------------------------------------------- fault-around

def test_a_wp_registration_disables_fault_around():
    steps = [{"op": "write"}, {"op": "dontneed"}, {"op": "read", "pages": [5]}]
    plain = run("shmem_memfd", 32, steps)
    window = plain["host"]["fault_around_bytes"]
    mapped = [p["page"] for p in plain["steps"][2]["pages"] if p["present"]]
    if window is None or window == 65536:     # the kernel's default: 16 pages, aligned
        assert mapped == list(range(16))
    assert 5 in mapped
    wp = run("shmem_memfd", 32, steps, "WP")
    assert [p["page"] for p in wp["steps"][2]["pages"] if p["present"]] == [5]


# -------------------------------------------------------------- swap-out

def test_pageout_keeps_uffd_wp_anon_in_the_swap_pte_shmem_as_a_marker():
    needs_swap()
    a = run("anon", 1, [{"op": "write"}, {"op": "wp"}, {"op": "pageout"}, {"op": "read"}],
            "WP")
    assert {k: page(a, 2, 0)[k] for k in ("class", "swapped", "uffd_wp")} == \
        {"class": "swap", "swapped": 1, "uffd_wp": 1}
    assert page(a, 3, 0)["present"] == 1 and page(a, 3, 0)["uffd_wp"] == 1
    s = run("shmem_memfd", 1, [{"op": "write"}, {"op": "wp"}, {"op": "pageout"}], "WP")
    assert bits(page(s, 2, 0)) == MARKER


def _our_swap_files():
    with open("/proc/swaps") as f:
        return [line.split()[0] for line in f.read().splitlines()[1:]
                if "ptebits-swap-" in line]


def test_swap_file_is_swapped_off_and_deleted_even_on_error():
    needs_swap()
    before = _our_swap_files()
    with pytest.raises(RuntimeError, match="boom"):
        with live.swap_file() as path:
            assert path in _our_swap_files()
            raise RuntimeError("boom")
    assert not os.path.exists(path)
    assert _our_swap_files() == before


# ------------------------------------------------------------ never hangs

def test_a_deliberately_unresolved_fault_is_killed_within_the_time_limit():
    scn = load_scenario({"memory": "anon", "pages": 1, "register": "MISSING",
                         "steps": [{"op": "read"}]})
    start = time.monotonic()
    with pytest.raises(live.LiveRunError, match="killed after 2 s in step 1 \\(read\\)") as ei:
        live.run_live(scn, timeout=2, resolve=False)
    assert ei.value.timed_out
    assert time.monotonic() - start < TIMEOUT           # killed, not hung
    assert ei.value.partial["steps"] == []


def test_a_killed_child_still_gets_its_swap_file_removed():
    needs_swap()
    before = _our_swap_files()
    scn = {"memory": "anon", "pages": 1, "register": "MISSING",
           "steps": [{"op": "pageout"}, {"op": "read"}]}
    with pytest.raises(live.LiveRunError) as ei:
        live.run_live(scn, timeout=3, resolve=False)
    assert ei.value.timed_out
    assert len(ei.value.partial["steps"]) == 1          # the pageout step completed
    assert _our_swap_files() == before


def test_host_settings_are_recorded():
    r = run("anon", 1, [{"op": "read"}])
    host = r["host"]
    assert host["kernel"] == os.uname().release
    assert "thp_enabled" in host and "thp_shmem_enabled" in host
    assert host["fault_around_bytes"] is None or host["fault_around_bytes"] > 0


def test_bad_timeout_is_rejected():
    with pytest.raises(InvalidValueError, match="timeout must be a positive number"):
        live.run_live({"memory": "anon", "pages": 1, "steps": [{"op": "read"}]}, timeout=0)


def test_page_0_sits_at_pte_index_0_so_fault_around_windows_repeat():
    # fault-around aligns its window on the virtual address (the PTE index),
    # not on the file offset: a mapping starting mid-window would shift it
    r = run("shmem_memfd", 1, [{"op": "read"}])
    assert int(r["setup"]["address"], 16) % (2 << 20) == 0
