"""``ptebits pagemap PID``: a live process's pagemap on the command line.

As a newcomer tries it: ``ptebits pagemap $$`` on a shell prints one line of
counts per VMA (present, swap slots, migration entries, PTE markers, file,
exclusive, uffd-wp) and a total; ``--vma``/``--range`` (or ``--pages``)
give one row per page.  jsonl and csv carry the same.  Exit codes: 0 ok,
2 usage, 3 no such process / bad range / nothing matched, 4 no access
(ptrace rules).  Without CAP_SYS_ADMIN the kernel zeroes frames: a
warning says so and swapped entries count as "swapped".
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import textwrap
from typing import Any, List, NamedTuple

import pytest

import ptebits
from ptebits.cli import main

from test_procpid import (HAVE_PAGEMAP, IS_ROOT, UFFD_WP_MARKER_WORD, MarkerProcess,  # noqa: F401
                          exited_pid, marker_process, run_without_cap)

live = pytest.mark.skipif(not HAVE_PAGEMAP, reason="no /proc/self/pagemap on this system")
V618 = "linux-6.18"


class Result(NamedTuple):
    code: int
    out: str
    err: str


def cli(capsys: Any, *argv: str) -> Result:
    capsys.readouterr()
    code = main(list(argv))
    cap = capsys.readouterr()
    return Result(code, cap.out, cap.err)


def one_line_error(res: Result, code: int, *needles: str) -> None:
    assert res.code == code, res
    lines = [ln for ln in res.err.splitlines() if ln.startswith("ptebits: error:")]
    assert len(lines) == 1 and "Traceback" not in res.err, res.err
    for n in needles:
        assert n in lines[0], (n, lines[0])


def table_lines(out: str) -> List[str]:
    return [ln for ln in out.splitlines() if re.match(r"[0-9a-f]+-[0-9a-f]+ ", ln)]


# --------------------------------------------------------------- a shell

@live
def test_pagemap_of_a_shell_as_a_newcomer_types_it() -> None:
    """``bash -c 'ptebits pagemap $$'``: one line a VMA, readable."""
    script = "exec 3>&1; %s -m ptebits pagemap $$; echo \"rc=$?\"" % sys.executable
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert out.stdout.rstrip().endswith("rc=0"), out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["address", "range", "perm", "pages"]
    assert {"present", "swap", "marker", "file", "uffd_wp", "name"} <= set(header)
    vmas = table_lines(out.stdout)
    assert any(ln.endswith("[stack]") for ln in vmas)
    assert any(ln.endswith("/bash") for ln in vmas)
    # readable: a line per VMA plus header and total, not a line per page
    total = next(ln for ln in lines if ln.startswith("total"))
    assert total.endswith("(%d VMAs)" % len(vmas))
    assert len(lines) <= len(vmas) + 4
    pages = sum(int(ln.split()[2]) for ln in vmas)
    assert int(total.split()[1]) == pages
    assert re.search(r"ptebits: pid \d+ \(bash\): \d+ VMAs, \d+ pages", out.stderr)


@live
def test_own_process_summary_table_counts_add_up(capsys: Any) -> None:
    res = cli(capsys, "pagemap", str(os.getpid()), "--profile", V618)
    assert res.code == 0, res.err
    head = res.out.splitlines()[0].split()
    vmas = table_lines(res.out)
    assert vmas
    for ln in vmas:
        cells = dict(zip(head[3:], ln.split()[2:]))      # after "address range perm"
        assert int(cells["present"]) + int(cells["swap"]) + int(cells["migr"]) + \
            int(cells["marker"]) <= int(cells["pages"])
        assert int(cells["file"]) <= int(cells["present"]) + int(cells["migr"])


@live
def test_summary_jsonl_is_one_object_a_vma_with_kinds_adding_up(capsys: Any) -> None:
    res = cli(capsys, "pagemap", str(os.getpid()), "--output", "jsonl", "--profile", V618)
    assert res.code == 0, res.err
    objs = [json.loads(ln) for ln in res.out.splitlines()]
    assert objs and all(o["pid"] == os.getpid() for o in objs)
    for o in objs:
        assert sum(o["kinds"].values()) == o["pages"] == (int(o["end"], 16)
                                                         - int(o["start"], 16)) // 4096
        assert set(o["flags"]) == {"soft_dirty", "exclusive", "uffd_wp", "guard", "file"}
        assert o["frames_hidden"] is (not IS_ROOT)
    assert any(o["name"] == "[stack]" for o in objs)


@live
def test_summary_csv_has_a_fixed_header_and_a_row_a_vma(capsys: Any) -> None:
    res = cli(capsys, "pagemap", str(os.getpid()), "--output", "csv", "--profile", V618)
    assert res.code == 0, res.err
    rows = list(csv.DictReader(io.StringIO(res.out)))
    assert rows
    for col in ("start", "end", "perms", "name", "pages", "present", "swap", "migration",
                "marker", "swapped", "marker_uffd_wp", "uffd_wp", "file", "scan_written"):
        assert col in rows[0]
    for r in rows:
        kinds = sum(int(r[k]) for k in ("none", "present", "swap", "migration", "marker",
                                        "swapped"))
        assert kinds == int(r["pages"])


@live
def test_stack_vma_gives_page_rows_hiding_none_pages_in_the_table(capsys: Any) -> None:
    res = cli(capsys, "pagemap", str(os.getpid()), "--vma", "[stack]", "--profile", V618)
    assert res.code == 0, res.err
    lines = res.out.splitlines()
    assert re.match(r"# [0-9a-f]+-[0-9a-f]+ rw-p \[stack\] \(\d+ pages\)", lines[0])
    rows = [ln for ln in lines if not ln.startswith("#") and re.match(r"[0-9a-f]+  0x", ln)]
    assert rows and all("  0x8" in r and "present" in r for r in rows)
    assert re.search(r"^# \d+ pages: .*present \d+", res.out, re.M)
    every = cli(capsys, "pagemap", str(os.getpid()), "--vma", "[stack]", "--all",
                "--profile", V618)
    assert len(every.out.splitlines()) > len(lines)
    assert "  none" in every.out


@live
def test_summary_option_keeps_counts_with_a_filter_and_pages_gives_rows_without(
        capsys: Any) -> None:
    res = cli(capsys, "pagemap", str(os.getpid()), "--vma", "[stack]", "--summary")
    assert res.code == 0 and len(table_lines(res.out)) == 1
    res = cli(capsys, "pagemap", str(os.getpid()), "--pages", "--output", "jsonl")
    rows = [json.loads(ln) for ln in res.out.splitlines()]
    assert rows and {"va", "vma", "raw", "kind", "present", "swap"} <= set(rows[0])


@live
def test_output_file_is_written_whole(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "pm.csv"
    res = cli(capsys, "pagemap", str(os.getpid()), "--vma", "[stack]", "--output", "csv",
              "-o", str(path))
    assert res.code == 0 and res.out == ""
    rows = list(csv.DictReader(path.open()))
    assert rows and all(r["vma"] == "[stack]" for r in rows)


# ----------------------------------------------------------- the marker

@live
def test_uffd_wp_marker_page_is_reported_as_a_marker_not_a_swap_entry(
        capsys: Any, marker_process: MarkerProcess) -> None:
    pid, addr = str(marker_process.pid), marker_process.addr
    res = cli(capsys, "pagemap", pid, "--vma", "memfd:ptebits-wp-marker")
    assert res.code == 0, res.err
    row = next(ln for ln in res.out.splitlines() if ln.startswith("%x " % addr))
    assert "0x%016x" % UFFD_WP_MARKER_WORD in row
    assert "marker uffd_wp" in row and "type=31 offset=0x1" in row
    assert "[pte marker: uffd_wp]" in row
    assert "swap device" not in row
    assert re.search(r"^# 4 pages: none 2, (present 1, marker 1|marker 1, present 1)", res.out,
                     re.M)
    assert "markers: uffd_wp 1" in res.out

    res = cli(capsys, "pagemap", pid, "--vma", "memfd:ptebits-wp-marker", "--output", "jsonl")
    first = json.loads(res.out.splitlines()[0])
    assert (first["va"], first["raw"], first["kind"], first["marker"]) == (
        "0x%x" % addr, "0x%016x" % UFFD_WP_MARKER_WORD, "marker", "uffd_wp")
    assert (first["swp_type"], first["swp_offset"], first["swp_type_name"]) == (
        31, 1, "pte marker")

    res = cli(capsys, "pagemap", pid, "--range", "%x-%x" % (addr, addr + 4096),
              "--output", "csv")
    (only,) = list(csv.DictReader(io.StringIO(res.out)))
    assert (only["kind"], only["swp_type"], only["marker"]) == ("marker", "31", "uffd_wp")

    res = cli(capsys, "pagemap", pid)          # the whole process: the memfd line
    memfd = next(ln for ln in table_lines(res.out) if "memfd:ptebits-wp-marker" in ln)
    head = res.out.splitlines()[0].split()
    cells = dict(zip(head[3:], memfd.split()[2:]))
    assert (cells["pages"], cells["present"], cells["swap"], cells["marker"],
            cells["uffd_wp"]) == ("4", "1", "0", "1", "1")


@live
def test_without_cap_sys_admin_a_warning_says_frames_are_hidden(
        marker_process: MarkerProcess) -> None:
    code = textwrap.dedent("""
        import sys, warnings
        from ptebits.cli import main
        sys.exit(main(["pagemap", "%d", "--vma", "memfd:ptebits-wp-marker"]))
    """ % marker_process.pid)
    out = run_without_cap(code)
    assert out.returncode == 0, out.stderr
    warn = [ln for ln in out.stderr.splitlines() if ln.startswith("ptebits: warning:")]
    assert len(warn) == 1
    assert "CAP_SYS_ADMIN" in warn[0] and "pid %d" % marker_process.pid in warn[0]
    row = next(ln for ln in out.stdout.splitlines()
               if ln.startswith("%x " % marker_process.addr))
    assert "0x4200000000000000" in row and "swapped uffd_wp" in row and "[type hidden]" in row
    assert "marker" not in row.split("  ")[2]
    assert "frames hidden" in out.stdout


# --------------------------------------------------------------- errors

@live
def test_no_such_process_exits_3_naming_the_pid(capsys: Any) -> None:
    pid = exited_pid()
    one_line_error(cli(capsys, "pagemap", str(pid)), 3, "no such process: pid %d" % pid)


@pytest.mark.parametrize("argv, needle", [
    (["pagemap", "abc"], "PID 'abc' is not a process id"),
    (["pagemap", "0"], "PID '0' is not a process id"),
    (["pagemap", "1", "--pages", "--summary"], "--pages and --summary"),
    (["pagemap", "1", "--range", "1000-2000", "--vma", "x"], "not allowed with"),
    (["pagemap", "1", "--output", "npz"], "invalid choice"),
])
def test_usage_errors_exit_2(capsys: Any, argv: List[str], needle: str) -> None:
    one_line_error(cli(capsys, *argv), 2, needle)


@live
@pytest.mark.parametrize("extra, needle", [
    (["--range", "zz"], "use START-END in hex"),
    (["--range", "10-20"], "nothing mapped in 0-1000"),
    (["--vma", "no-such-vma"], "no VMA named like 'no-such-vma'"),
])
def test_bad_filters_exit_3_saying_what_there_is(capsys: Any, extra: List[str],
                                                 needle: str) -> None:
    one_line_error(cli(capsys, "pagemap", str(os.getpid()), *extra), 3, needle)


@live
@pytest.mark.skipif(not IS_ROOT, reason="needs root to become another user")
def test_no_access_under_the_ptrace_rules_exits_4() -> None:
    """User nobody may not read root's process (ptrace_may_access,
    PTRACE_MODE_READ): exit 4, one line saying why.  The child runs the
    command once as root first, so that every module is loaded before it
    becomes a user that cannot read root's Python installation."""
    code = textwrap.dedent("""
        import os, sys
        from ptebits.cli import main
        assert main(["pagemap", str(os.getpid()), "-q", "-o", os.devnull]) == 0
        os.setgid(65534); os.setuid(65534)
        sys.exit(main(["pagemap", sys.argv[1], "--profile", "linux-6.18"]))
    """)
    out = subprocess.run([sys.executable, "-c", code, str(os.getpid())], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 4, out
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "ptrace rules" in out.stderr and "pid %d" % os.getpid() in out.stderr


SPARSE_CHILD = textwrap.dedent("""
    import mmap, sys
    size = 64 << 30                      # 64 GiB reserved, two pages touched
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x4000)  # NORESERVE
    m[0] = 1
    m[32 << 30] = 1
    import ctypes
    addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
    print("%x-%x" % (addr, addr + size), flush=True)
    sys.stdin.read()
""")


@live
def test_a_huge_sparse_vma_is_read_only_where_pages_are(capsys: Any) -> None:
    """A 64 GiB reservation (a sanitizer's shadow is terabytes): pagemap
    would be 128 MiB of zeros to read; PAGEMAP_SCAN finds the two touched
    pages and the rest is counted as none, with a note."""
    child = subprocess.Popen([sys.executable, "-c", SPARSE_CHILD], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        rng = child.stdout.readline().strip()
        res = cli(capsys, "pagemap", str(child.pid), "--range", rng, "--summary",
                  "--output", "jsonl", "--profile", V618)
        api = ptebits.read_pagemap(child.pid, range=rng, profile=V618).counts()
    finally:
        child.kill()
        child.wait()
    assert res.code == 0, res.err
    rows = [json.loads(ln) for ln in res.out.splitlines() if ln.startswith("{")]
    vma = next(r for r in rows if r.get("pages") == (64 << 30) >> 12)
    assert vma["kinds"]["present"] == 2
    assert vma["kinds"]["none"] == ((64 << 30) >> 12) - 2
    assert "populated range" in res.err
    assert (api["pages"], api["kinds"]["present"]) == ((64 << 30) >> 12, 2)
