"""Reading a live process's pagemap (ptebits.procpid, ptebits.read_pagemap).

What the kernel does, and these tests hold it to (fs/proc/task_mmu.c, 6.18;
kernel-facts §6):

* /proc/PID/pagemap holds one 64-bit word per virtual page; a present page
  reads PM_PRESENT and its PFN, a PTE marker reads PM_SWAP with swap type 31
  and the marker bits as offset: a uffd-wp marker is 0x420000000000003F.
* A write-protected shmem page whose backing is punched out
  (fallocate PUNCH_HOLE) leaves a uffd-wp marker in the page table, so that
  the protection survives: pagemap shows a marker, not a swap entry.
* The frame field is filled only for a reader with CAP_SYS_ADMIN; without
  it PFNs *and* swap type/offset read 0, silently.
* Opening another process's maps/pagemap follows the ptrace rules; after the
  process exits, reads return 0 bytes.

Live tests need Linux with /proc/PID/pagemap; the userfaultfd ones need
root and userfaultfd, and skip with the reason otherwise.
"""
from __future__ import annotations

import json
import mmap
import os
import subprocess
import sys
import textwrap
import time
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

import ptebits
from ptebits.errors import FileError, InvalidValueError
from ptebits.pagemap import decode_pagemap
from ptebits.procpid import (PAGE_SIZE, SPARSE_PAGES, FramesHiddenWarning, PagemapReader,
                             ProcessGoneError,
                             Vma, VmaPagemap, frames_look_hidden, parse_maps, parse_range,
                             read_pagemap, reader_sees_frames, select_vmas)

V618 = "linux-6.18"
IS_ROOT = os.geteuid() == 0
HAVE_PAGEMAP = os.path.exists("/proc/self/pagemap")
live = pytest.mark.skipif(not HAVE_PAGEMAP, reason="no /proc/self/pagemap on this system")
as_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (CAP_SYS_ADMIN shows PFNs; "
                                                 "CAP_SYS_PTRACE reads other processes)")

#: kernel-facts §6, EMP-confirmed on 6.18: the pagemap word of a uffd-wp
#: marker read with CAP_SYS_ADMIN (PM_SWAP | PM_UFFD_WP, type 31, offset 1),
#: and the same word with the frame zeroed for a reader without it.
UFFD_WP_MARKER_WORD = 0x420000000000003F
UFFD_WP_MARKER_WORD_HIDDEN = 0x4200000000000000


def _ioc(direction: int, type_: int, nr: int, size: int) -> int:
    """include/uapi/asm-generic/ioctl.h _IOC()."""
    return (direction << 30) | (size << 16) | (type_ << 8) | nr


#: Test reference: what the marker scenario needs from the kernel's uapi
#: (include/uapi/linux/userfaultfd.h and falloc.h, 6.18; the x86-64
#: syscall table), written out here so the test depends on nothing in
#: ptebits.  UFFDIO_API takes struct uffdio_api {u64 api, features, ioctls};
#: UFFDIO_REGISTER struct uffdio_register {struct uffdio_range {u64 start,
#: len}; u64 mode, ioctls}; UFFDIO_WRITEPROTECT struct uffdio_writeprotect
#: {struct uffdio_range; u64 mode}.
UFFD_TEST_REFERENCE: Dict[str, int] = {
    "NR_userfaultfd": 323,
    "USERFAULTFD_IOC_NEW": _ioc(0, 0xAA, 0x00, 0),          # /dev/userfaultfd, 6.1+
    "UFFD_API": 0xAA,
    "UFFDIO_API": _ioc(3, 0xAA, 0x3F, 24),
    "UFFDIO_REGISTER": _ioc(3, 0xAA, 0x00, 32),
    "UFFDIO_WRITEPROTECT": _ioc(3, 0xAA, 0x06, 24),
    "UFFDIO_REGISTER_MODE_WP": 1 << 1,
    "UFFDIO_WRITEPROTECT_MODE_WP": 1 << 0,
    "FALLOC_FL_KEEP_SIZE": 0x01,
    "FALLOC_FL_PUNCH_HOLE": 0x02,
}

#: Test reference: include/uapi/linux/capability.h and the x86-64 syscall
#: table, to drop a capability from a child's effective set.
CAP_TEST_REFERENCE: Dict[str, int] = {
    "NR_capget": 125, "NR_capset": 126,
    "LINUX_CAPABILITY_VERSION_3": 0x20080522, "CAP_SYS_ADMIN": 21,
}

#: A child that sets up the scenario and then waits for stdin to close:
#: a 4-page memfd mapped MAP_SHARED, pages 0 and 1 written, the range
#: registered for uffd-wp, page 0 write-protected, then page 0's backing
#: punched out.  It prints {"addr": ...} or {"skip": reason}.
MARKER_CHILD = textwrap.dedent("""
    import ctypes, fcntl, json, mmap, os, struct, sys
    R = json.loads(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    def skip(why):
        print(json.dumps({"skip": why}), flush=True)
        sys.exit(0)
    fd = os.memfd_create("ptebits-wp-marker", 0)
    os.ftruncate(fd, 4 * mmap.PAGESIZE)
    m = mmap.mmap(fd, 4 * mmap.PAGESIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    m[0:1] = b"x"
    m[mmap.PAGESIZE:mmap.PAGESIZE + 1] = b"y"
    uffd = libc.syscall(R["NR_userfaultfd"], os.O_CLOEXEC)
    if uffd < 0:
        err = ctypes.get_errno()
        try:
            dev = os.open("/dev/userfaultfd", os.O_RDWR | os.O_CLOEXEC)
            uffd = fcntl.ioctl(dev, R["USERFAULTFD_IOC_NEW"], os.O_CLOEXEC)
        except OSError as e:
            skip("userfaultfd unavailable: syscall: %s; /dev/userfaultfd: %s"
                 % (os.strerror(err), e))
    try:
        fcntl.ioctl(uffd, R["UFFDIO_API"], bytearray(struct.pack("QQQ", R["UFFD_API"], 0, 0)))
        fcntl.ioctl(uffd, R["UFFDIO_REGISTER"], bytearray(struct.pack(
            "QQQQ", addr, 4 * mmap.PAGESIZE, R["UFFDIO_REGISTER_MODE_WP"], 0)))
        fcntl.ioctl(uffd, R["UFFDIO_WRITEPROTECT"], bytearray(struct.pack(
            "QQQ", addr, mmap.PAGESIZE, R["UFFDIO_WRITEPROTECT_MODE_WP"])))
    except OSError as e:
        skip("userfaultfd write-protect on shmem refused: %s" % e)
    if libc.fallocate(fd, R["FALLOC_FL_PUNCH_HOLE"] | R["FALLOC_FL_KEEP_SIZE"],
                      ctypes.c_long(0), ctypes.c_long(mmap.PAGESIZE)) != 0:
        skip("fallocate(PUNCH_HOLE) failed: %s" % os.strerror(ctypes.get_errno()))
    print(json.dumps({"addr": addr}), flush=True)
    sys.stdin.read()
""")

#: Drops the capability named in argv[2] from the effective set, then runs
#: the code in argv[3].
NO_CAP_CHILD = textwrap.dedent("""
    import ctypes, json, sys
    R = json.loads(sys.argv[1])
    libc = ctypes.CDLL(None, use_errno=True)
    hdr = (ctypes.c_uint32 * 2)(R["LINUX_CAPABILITY_VERSION_3"], 0)
    data = (ctypes.c_uint32 * 6)()
    assert libc.syscall(R["NR_capget"], hdr, data) == 0
    data[0] &= ~(1 << R[sys.argv[2]])          # effective, first word (caps 0-31)
    assert libc.syscall(R["NR_capset"], hdr, data) == 0
    exec(sys.argv[3])
""")


class MarkerProcess:
    def __init__(self, proc: "subprocess.Popen[str]", addr: int):
        self.proc = proc
        self.pid = proc.pid
        self.addr = addr


@pytest.fixture
def marker_process() -> Iterator[MarkerProcess]:
    """A process with a write-protected, hole-punched shmem page at addr
    (page 0), a present written page (page 1) and two untouched pages."""
    if not IS_ROOT:
        pytest.skip("userfaultfd write-protect scenario needs root here "
                    "(vm.unprivileged_userfaultfd, and CAP_SYS_ADMIN to see frames)")
    if not HAVE_PAGEMAP:
        pytest.skip("no /proc/self/pagemap")
    proc = subprocess.Popen([sys.executable, "-c", MARKER_CHILD, json.dumps(UFFD_TEST_REFERENCE)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        msg = json.loads(line) if line else {"skip": "the scenario child died (exit %s)"
                                             % proc.wait(timeout=30)}
        if "skip" in msg:
            pytest.skip(msg["skip"])
        yield MarkerProcess(proc, msg["addr"])
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_without_cap(code: str, cap: str = "CAP_SYS_ADMIN", *args: str,
                    timeout: float = 60) -> "subprocess.CompletedProcess[str]":
    """Run ``code`` in a Python child whose effective set lacks ``cap``
    (it stays uid 0, so it can still load Python from anywhere)."""
    return subprocess.run([sys.executable, "-c", NO_CAP_CHILD,
                           json.dumps(CAP_TEST_REFERENCE), cap, code] + list(args),
                          capture_output=True, text=True, timeout=timeout)


def exited_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(timeout=30)
    return p.pid


# ------------------------------------------------------------------ maps

MAPS = textwrap.dedent("""\
    55d0c0a00000-55d0c0a2f000 r--p 00000000 08:01 1048602                    /usr/bin/bash
    55d0c1e7e000-55d0c1e9f000 rw-p 00000000 00:00 0                          [heap]
    7f651d035000-7f651d039000 rw-s 00000000 00:01 1025         /memfd:ptebits-wp (deleted)
    7f651d040000-7f651d050000 rw-p 00000000 00:00 0 
    7f651d050000-7f651d051000 r--p 00001000 08:01 77  /opt/my app/lib x.so
    ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]
""")


def test_maps_lines_parse_into_vmas_with_names_and_anonymous_ones_named_anon() -> None:
    vmas = parse_maps(MAPS)
    assert [v.name for v in vmas] == ["/usr/bin/bash", "[heap]", "/memfd:ptebits-wp (deleted)",
                                      "[anon]", "/opt/my app/lib x.so", "[vsyscall]"]
    bash = vmas[0]
    assert (bash.start, bash.end, bash.perms, bash.offset, bash.dev, bash.inode) == (
        0x55d0c0a00000, 0x55d0c0a2f000, "r--p", 0, "08:01", 1048602)
    assert bash.pages == 0x2f
    assert vmas[3].path == "" and vmas[4].offset == 0x1000


def test_a_maps_line_that_is_not_one_is_reported_with_its_number() -> None:
    with pytest.raises(InvalidValueError, match=r"maps line 2 .*'garbage'"):
        parse_maps("55d0c0a00000-55d0c0a2f000 r--p 00000000 08:01 1 /x\ngarbage\n")


@pytest.mark.parametrize("text, expect", [
    ("7f651d035000-7f651d039000", (0x7f651d035000, 0x7f651d039000)),
    ("0x7f651d035000-0x7f651d039000", (0x7f651d035000, 0x7f651d039000)),
    ("7f651d035123-7f651d035124", (0x7f651d035000, 0x7f651d036000)),   # widened to pages
])
def test_ranges_are_hex_as_maps_prints_them_end_exclusive(text: str, expect: Any) -> None:
    assert parse_range(text) == expect


@pytest.mark.parametrize("text, needle", [
    ("zz", "use START-END in hex"), ("1000", "use START-END"), ("2000-1000", "is empty"),
    ("1000-1000", "is empty")])
def test_bad_ranges_say_how_to_write_one(text: str, needle: str) -> None:
    with pytest.raises(InvalidValueError, match=needle):
        parse_range(text)


def test_vmas_are_selected_by_name_part_address_or_range_clipped_to_it() -> None:
    vmas = parse_maps(MAPS)
    assert [v.name for v, _, _ in select_vmas(vmas, "memfd:")] == [
        "/memfd:ptebits-wp (deleted)"]
    assert [v.name for v, _, _ in select_vmas(vmas, "[anon]")] == ["[anon]"]
    assert [v.name for v, _, _ in select_vmas(vmas, "7f651d036000")] == [
        "/memfd:ptebits-wp (deleted)"]
    pieces = select_vmas(vmas, range_=(0x7f651d038000, 0x7f651d042000))
    assert [(v.name, a, b) for v, a, b in pieces] == [
        ("/memfd:ptebits-wp (deleted)", 0x7f651d038000, 0x7f651d039000),
        ("[anon]", 0x7f651d040000, 0x7f651d042000)]
    assert select_vmas(vmas, "nosuch") == []


# --------------------------------------------------- frames hidden (data)

def test_frames_look_hidden_when_every_present_and_swapped_entry_has_frame_0() -> None:
    hidden = np.array([0, 0xA100000000000000, UFFD_WP_MARKER_WORD_HIDDEN, 0x8000000000000000],
                      dtype=np.uint64)
    assert frames_look_hidden(hidden) is True
    shown = hidden.copy()
    shown[1] = 0xA100000000012345
    assert frames_look_hidden(shown) is False
    # a single swap slot can be type 0 offset 0... but not next to a PFN
    assert frames_look_hidden(np.array([UFFD_WP_MARKER_WORD], dtype=np.uint64)) is False
    assert frames_look_hidden(np.zeros(8, dtype=np.uint64)) is None


def _piece(words: List[int], hidden: bool) -> VmaPagemap:
    arr = np.array(words, dtype=np.uint64)
    vma = Vma(0x7f0000000000, 0x7f0000000000 + len(words) * PAGE_SIZE, "rw-s", 0, "00:01", 1,
              "/memfd:x (deleted)")
    return VmaPagemap(vma, vma.start, arr, decode_pagemap(arr, profile=V618), None, hidden)


def test_with_frames_hidden_a_swapped_entry_is_only_swapped_and_shows_no_type() -> None:
    """Without the frame a marker (type 31) and a swap slot (type 0..27)
    look alike: the reader must not call 0x4200000000000000 a swap slot of
    area 0."""
    p = _piece([UFFD_WP_MARKER_WORD_HIDDEN, 0xA100000000000000, 0], hidden=True)
    rows = list(p.rows())
    assert rows[0]["kind"] == "swapped" and rows[0]["uffd_wp"] == 1
    assert "swp_type" not in rows[0] and "swp_offset" not in rows[0]
    assert rows[1]["kind"] == "present" and "pfn" not in rows[1]
    assert p.kinds() == ["swapped", "present", "none"]
    c = p.counts()
    assert c["kinds"] == {"present": 1, "swapped": 1, "none": 1}
    assert c["markers"] == {}
    assert c["flags"]["uffd_wp"] == 1 and c["flags"]["file"] == 1


def test_with_frames_shown_swapped_entries_are_classed_by_the_profiles_swap_types() -> None:
    # kernel-facts §6 examples: uffd-wp marker, guard marker, first swap slot,
    # write migration entry of pfn 0x12345
    p = _piece([UFFD_WP_MARKER_WORD, 0x440000000000009F, 0x4000000000000020,
                0x40000000002468BE], hidden=False)
    rows = list(p.rows())
    assert [r["kind"] for r in rows] == ["marker", "marker", "swap", "migration"]
    assert (rows[0]["swp_type"], rows[0]["swp_offset"], rows[0]["marker"]) == (31, 1, "uffd_wp")
    assert rows[0]["swp_type_name"] == "pte marker"
    assert rows[1]["marker"] == "guard" and rows[1]["guard"] == 1
    assert (rows[2]["swp_type"], rows[2]["swp_offset"]) == (0, 1)
    assert rows[2]["swp_type_name"] == "swap device 0"
    assert (rows[3]["swp_type"], rows[3]["swp_offset"]) == (30, 0x12345)
    assert p.counts()["markers"] == {"uffd_wp": 1, "guard": 1}
    assert [int(v) for v in p.va] == [0x7f0000000000 + i * PAGE_SIZE for i in range(4)]


# ------------------------------------------------------------ live: self

@live
def test_own_process_touched_page_is_present_and_untouched_page_none() -> None:
    buf = mmap.mmap(-1, 4 * PAGE_SIZE)
    try:
        buf[PAGE_SIZE:PAGE_SIZE + 1] = b"\x01"
        addr = np.frombuffer(buf, dtype=np.uint8).ctypes.data
        res = read_pagemap(os.getpid(), range=(addr, addr + 4 * PAGE_SIZE), profile=V618)
        assert len(res) == 1 and res.pid == os.getpid()
        piece = res.pieces[0]
        assert piece.start == addr and len(piece) == 4
        assert piece.kinds() == ["none", "present", "none", "none"]
        word = res.word(addr + PAGE_SIZE)
        assert word >> 63 == 1 and (word >> 56) & 1 == 1          # present, exclusive
        with open("/proc/self/pagemap", "rb") as f:                # what the file says
            f.seek((addr // PAGE_SIZE + 1) * 8)
            assert int.from_bytes(f.read(8), "little") == word
        if IS_ROOT:
            assert not res.frames_hidden and word & ((1 << 55) - 1) != 0
    finally:
        buf.close()


@live
def test_whole_process_read_covers_every_vma_but_vsyscall_and_counts_add_up() -> None:
    with open("/proc/self/maps") as f:
        names_before = {v.name for v in parse_maps(f.read())}
    with PagemapReader(os.getpid(), profile=V618) as reader:
        assert {v.name for v in reader.vmas} >= names_before - {"[anon]"}
        # whole reads of VMAs small enough to hold (a sanitizer's shadow is not)
        parts = [(v, reader.read(v, a, b)) for v, a, b in select_vmas(reader.vmas)
                 if (b - a) >> 12 <= SPARSE_PAGES]
    unread = [v.name for v, p in parts if p is None]
    assert unread in ([], ["[vsyscall]"])                 # above the task size
    assert all("outside the task" in n for n in reader.notes if "vsyscall" in n)
    res = read_pagemap(os.getpid(), profile=V618)
    total = res.counts()
    assert total["pages"] == sum(len(p) + p.holes for p in res)
    assert sum(total["kinds"].values()) == total["pages"]
    assert total["kinds"]["present"] > 0


@live
def test_pagemap_scan_categories_agree_with_the_pagemap_bits() -> None:
    """PAGEMAP_SCAN (6.7+) says PRESENT exactly for present pages and
    SWAPPED exactly for non-none non-present ones."""
    buf = mmap.mmap(-1, 8 * PAGE_SIZE)
    try:
        for i in (0, 3, 4):
            buf[i * PAGE_SIZE] = 1
        addr = np.frombuffer(buf, dtype=np.uint8).ctypes.data
        res = read_pagemap(os.getpid(), range=(addr, addr + 8 * PAGE_SIZE), profile=V618)
        if not res.scan_available:
            pytest.skip("no PAGEMAP_SCAN on this kernel: %s" % res.notes)
        piece = res.pieces[0]
        assert piece.categories is not None
        present = [("present" in r["categories"]) for r in piece.rows()]
        assert present == [True, False, False, True, True, False, False, False]
        assert present == [bool(r["present"]) for r in piece.rows()]
        assert not any("swapped" in r["categories"] for r in piece.rows())
    finally:
        buf.close()


@live
@as_root
def test_reader_sees_frames_as_root() -> None:
    assert reader_sees_frames() is True


@live
def test_at_most_max_pages_are_kept_and_the_refusal_says_how_to_narrow() -> None:
    with pytest.raises(InvalidValueError, match=r"max_pages=1; narrow it with vma= or range="):
        read_pagemap(os.getpid(), max_pages=1, profile=V618)


@live
def test_a_vma_name_that_matches_nothing_lists_what_there_is() -> None:
    with pytest.raises(InvalidValueError, match=r"no VMA named like 'no-such-vma'.*\[stack\]"):
        read_pagemap(os.getpid(), vma="no-such-vma", profile=V618)


# ------------------------------------------------------- live: errors

@live
def test_no_such_process_names_the_pid() -> None:
    pid = exited_pid()
    with pytest.raises(ProcessGoneError, match=r"no such process: pid %d\b" % pid) as e:
        read_pagemap(pid, profile=V618)
    assert e.value.pid == pid
    assert isinstance(e.value, FileError) and isinstance(e.value, OSError)


@pytest.mark.parametrize("pid", [0, -1, "12", True, 1.5])
def test_a_pid_must_be_a_positive_integer(pid: Any) -> None:
    with pytest.raises(InvalidValueError, match="is not a process id"):
        PagemapReader(pid, profile=V618)


@live
def test_a_process_that_exits_mid_read_is_named_in_the_error() -> None:
    """The maps are read and the pagemap is open when the process dies: the
    kernel's pagemap_read then returns 0 bytes (its mm is gone)."""
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    try:
        reader = PagemapReader(child.pid, profile=V618, scan=False)
        with reader:
            vma = next(v for v in reader.vmas if v.name in ("[heap]", "[stack]"))
            child.kill()
            child.wait(timeout=30)
            with pytest.raises(ProcessGoneError,
                               match=r"pid %d \(python[^)]*\) exited while its pagemap was "
                                     r"being read" % child.pid) as e:
                reader.read(vma, vma.start, vma.end)
            assert e.value.pid == child.pid
    finally:
        child.kill()
        child.wait(timeout=30)


@live
def test_a_zombie_has_no_pages_left() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open("/proc/%d/status" % child.pid) as f:
                if "\nState:\tZ" in f.read():
                    break
            time.sleep(0.01)
        with pytest.raises(ProcessGoneError, match=r"pid %d .*has exited \(a zombie"
                                                   % child.pid):
            read_pagemap(child.pid, profile=V618)
    finally:
        child.wait(timeout=30)


@live
def test_a_kernel_thread_has_no_user_address_space() -> None:
    try:
        with open("/proc/2/comm") as f:
            if f.read().strip() != "kthreadd":
                pytest.skip("pid 2 is not kthreadd here")
    except OSError:
        pytest.skip("no pid 2 visible (a pid namespace?)")
    with pytest.raises(InvalidValueError, match=r"pid 2 \(kthreadd\) .*kernel thread"):
        read_pagemap(2, profile=V618)


@live
@as_root
def test_another_users_process_is_refused_under_the_ptrace_rules() -> None:
    """A process running as nobody may not read root's pagemap
    (PTRACE_MODE_READ fails): ProcessAccessError, saying why."""
    code = textwrap.dedent("""
        import os, sys
        from ptebits.procpid import read_pagemap, ProcessAccessError
        os.setgid(65534); os.setuid(65534)
        try:
            read_pagemap(int(sys.argv[1]), profile="linux-6.18")
        except ProcessAccessError as e:
            print("refused", e.pid, e)
    """)
    out = subprocess.run([sys.executable, "-c", code, str(os.getpid())], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("refused %d pid %d" % (os.getpid(), os.getpid()))
    assert "ptrace rules" in out.stdout


# ----------------------------------------------- live: the uffd-wp marker

def test_uffd_test_reference_matches_the_uapi_numbers() -> None:
    """The reference's ioctl numbers, as the uapi headers spell them."""
    assert UFFD_TEST_REFERENCE["UFFDIO_API"] == 0xC018AA3F
    assert UFFD_TEST_REFERENCE["UFFDIO_REGISTER"] == 0xC020AA00
    assert UFFD_TEST_REFERENCE["UFFDIO_WRITEPROTECT"] == 0xC018AA06
    assert UFFD_TEST_REFERENCE["USERFAULTFD_IOC_NEW"] == 0xAA00


def test_pagemap_scan_ioctl_number_is_iowr_f_16_of_a_96_byte_struct() -> None:
    from ptebits._core import lib
    assert lib.PB_PAGEMAP_SCAN == _ioc(3, ord("f"), 16, 12 * 8) == 0xC0606610


@live
def test_write_protected_hole_punched_shmem_page_reads_as_uffd_wp_marker(
        marker_process: MarkerProcess) -> None:
    addr = marker_process.addr
    res = read_pagemap(marker_process.pid, vma="memfd:ptebits-wp-marker")
    assert len(res) == 1
    piece = res.pieces[0]
    assert piece.start == addr and len(piece) == 4
    assert res.word(addr) == UFFD_WP_MARKER_WORD
    row = next(piece.rows([0]))
    assert row["kind"] == "marker" and row["marker"] == "uffd_wp"
    assert (row["swp_type"], row["swp_offset"], row["uffd_wp"], row["swap"]) == (31, 1, 1, 1)
    assert row["kind"] != "swap"
    assert piece.kinds() == ["marker", "present", "none", "none"]
    # page 1: a present shmem page, file-backed (PM_FILE), mapped once
    present = next(piece.rows([1]))
    assert (present["present"], present["file"], present["exclusive"], present["uffd_wp"]) == (
        1, 1, 1, 0)
    assert present["pfn"] != 0
    c = piece.counts()
    assert c["kinds"] == {"present": 1, "marker": 1, "none": 2}
    assert c["markers"] == {"uffd_wp": 1}
    if res.scan_available:
        # kernel-facts §6 (EMP): a uffd-wp marker is SWAPPED and not WRITTEN;
        # a present shmem page not write-protected is WRITTEN, FILE, PRESENT
        assert row["categories"] == ["swapped"]
        assert set(present["categories"]) == {"written", "file", "present"}


@live
def test_without_cap_sys_admin_the_marker_reads_swapped_with_frame_zeroed(
        marker_process: MarkerProcess) -> None:
    """The kernel zeroes the swap type and offset too: the reader says so
    (a warning) and does not call the entry a swap slot."""
    code = textwrap.dedent("""
        import json, sys, warnings
        from ptebits.procpid import read_pagemap
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = read_pagemap(%d, vma="memfd:ptebits-wp-marker")
        p = res.pieces[0]
        print(json.dumps({"hidden": res.frames_hidden, "word": int(p.words[0]),
                          "rows": list(p.rows([0, 1])),
                          "warnings": [(w.category.__name__, str(w.message)) for w in caught]}))
    """ % marker_process.pid)
    out = run_without_cap(code)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["hidden"] is True
    assert got["word"] == UFFD_WP_MARKER_WORD_HIDDEN
    marker, present = got["rows"]
    assert marker["kind"] == "swapped" and marker["uffd_wp"] == 1 and "swp_type" not in marker
    assert present["kind"] == "present" and "pfn" not in present
    assert [c for c, _ in got["warnings"]] == [FramesHiddenWarning.__name__]
    assert "CAP_SYS_ADMIN" in got["warnings"][0][1]
    assert "pid %d" % marker_process.pid in got["warnings"][0][1]


@live
@as_root
def test_own_probe_tells_frames_hidden_without_cap_sys_admin() -> None:
    out = run_without_cap(
        "from ptebits.procpid import reader_sees_frames; print(reader_sees_frames())")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_read_pagemap_is_exported() -> None:
    assert ptebits.read_pagemap is read_pagemap
    assert "read_pagemap" in ptebits.__all__

