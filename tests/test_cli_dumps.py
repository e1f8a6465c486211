"""``ptebits decode`` on dumps of every kind (issue 5): formats and their
detection, gzip/xz, stdin, --format, --offset/--count, --base-va and the
va column per level, entry_addr, torn and empty inputs, bad lines, missing
files, -o (atomic), --output npz, --summary, the filters, pagemap dumps and
the progress meter.

The contract (README "Decoding dumps", issue 5): stderr starts with one
note, ``ptebits: NAME: N entries|streamed, format F (auto-detected|as
given[, gzip-compressed]), profile P, level L``; an error found while
streaming comes after it as exactly one ``ptebits: error:`` line (with -q,
only that line); rows are index, entry_addr (gdb/crash), va, then the
schema row.  Exit codes as everywhere: 0 ok, 2 usage, 3 bad input data.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from typing import Any, Dict, List, Optional

import numpy as np
import pytest

import ptebits
from ptebits.schema import iter_rows

from dumpfiles import (FORMAT_CASES, N, PAGEMAP, VALUES, compress,
                       crash_text, dump_bytes, entry_addrs, expected_va, gdb_text,
                       pfn_runs_reference, raw_bytes, run_buckets, values_for, write_dump)
from test_cli import (CSV_COLUMNS, DECODE_NOTE, Result, _jsonl, _stdin, assert_error_after_note,
                      assert_one_line_error, cli, decode_note)

V618, V512 = "linux-6.18", "linux-5.12-uffd-wp-v2"
COMP = {None: None, "gz": "gzip", "xz": "xz"}
#: pagemap flag bits (fs/proc/task_mmu.c, 6.18), in output order
PM_BIT_NUMBERS = (("soft_dirty", 55), ("exclusive", 56), ("uffd_wp", 57), ("guard", 58),
                  ("file", 61), ("swap", 62), ("present", 63))
PAGEMAP_CSV = ["index", "entry_addr", "va", "raw", "kind"] + [n for n, _ in PM_BIT_NUMBERS] + \
    ["pfn", "swp_type", "swp_offset"]


def pagemap_row(word: int, kind: str) -> Dict[str, Any]:
    """A pagemap dump's row, from the word's bits: raw, kind, the flag bits,
    then the frame (present) or swap type and offset (swapped)."""
    row: Dict[str, Any] = {"raw": "0x%016x" % word, "kind": kind}
    for name, bit in PM_BIT_NUMBERS:
        row[name] = (word >> bit) & 1
    frame = word & ((1 << 55) - 1)
    if row["present"]:
        row["pfn"] = frame
    elif row["swap"]:
        row["swp_type"] = frame & 0x1F
        row["swp_offset"] = frame >> 5
    return row


def expected_rows(case: str, values: np.ndarray, start: int = 0, base_va: int = 0,
                  profile: str = V618, level: str = "pte") -> List[Dict[str, Any]]:
    """Rows of --output jsonl: index, entry_addr (gdb/crash), va, then the
    schema row of ptebits.decode (the pagemap row for pagemap dumps)."""
    addrs = entry_addrs(case, values.size, start)
    if FORMAT_CASES[case][0] == "pagemap":
        kinds = ptebits.decode_pagemap(values.copy(), profile=profile).kind
        body = [pagemap_row(int(w), str(ptebits.Kind(k))) for w, k in zip(values, kinds)]
    else:
        kwargs = {} if level == "pte" else {"level": level}
        body = list(iter_rows(ptebits.decode(values.copy(), profile=profile, **kwargs)))
    rows = []
    for n, row in enumerate(body):
        head: Dict[str, Any] = {"index": start + n}
        if addrs is not None:
            head["entry_addr"] = "0x%016x" % addrs[n]
        head["va"] = "0x%016x" % expected_va(start + n, base_va, level)
        head.update(row)
        rows.append(head)
    return rows


def note_of(res: Result) -> Any:
    line = res.err.splitlines()[0]
    m = DECODE_NOTE.match(line)
    assert m, line
    return m


# ============================================================ every format

@pytest.mark.parametrize("comp", [None, "gz", "xz"], ids=["plain", "gz", "xz"])
@pytest.mark.parametrize("case", list(FORMAT_CASES))
def test_decode_every_format_from_a_file(capsys: Any, tmp_path: Any, case: str,
                                         comp: Optional[str]) -> None:
    """Known entries in every format decode to ptebits.decode's rows, with
    index, entry_addr (gdb/crash) and va; the note says which format was
    detected, that the input was compressed, and the count when it is known
    in advance."""
    fmt = FORMAT_CASES[case][0]
    values = values_for(case)
    path = write_dump(tmp_path, case, comp)
    res = cli(capsys, "decode", path, "--output", "jsonl")
    assert res.code == 0, res.err
    known = fmt == "npy" or (fmt in ("raw", "pagemap") and comp is None)
    assert res.err == decode_note(path, values.size if known else None, fmt,
                                  compression=COMP[comp])
    assert _jsonl(res.out) == expected_rows(case, values)


@pytest.mark.parametrize("comp", [None, "gz"], ids=["plain", "gz"])
@pytest.mark.parametrize("case", [c for c in FORMAT_CASES if c != "pagemap"])
def test_decode_every_format_from_stdin(capsys: Any, monkeypatch: Any, case: str,
                                        comp: Optional[str]) -> None:
    fmt = FORMAT_CASES[case][0]
    _stdin(monkeypatch, dump_bytes(case, comp))
    res = cli(capsys, "decode", "-", "--output", "jsonl")
    assert res.code == 0, res.err
    # stdin's size is not known in advance; an .npy header says it
    assert res.err == decode_note("<stdin>", N if fmt == "npy" else None, fmt,
                                  compression=COMP[comp])
    assert _jsonl(res.out) == expected_rows(case, VALUES)


def test_decode_pagemap_from_stdin_with_the_format_given(capsys: Any, monkeypatch: Any) -> None:
    _stdin(monkeypatch, dump_bytes("pagemap", "xz"))
    res = cli(capsys, "decode", "-", "--format", "pagemap", "--output", "jsonl")
    assert res.code == 0, res.err
    assert res.err == "ptebits: <stdin>: streamed, format pagemap (as given, xz-compressed), " \
        "profile linux-6.18, level pagemap words\n"
    assert _jsonl(res.out) == expected_rows("pagemap", PAGEMAP)


def test_decode_python_m_reads_a_real_pipe(tmp_path: Any) -> None:
    """A real pipe (not a seekable file) of gzip-compressed gdb output."""
    proc = subprocess.run([sys.executable, "-m", "ptebits", "decode", "-", "--output", "jsonl",
                           "--offset", "3", "--count", "500"],
                          input=dump_bytes("gdb-symbol", "gz"), capture_output=True,
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.decode() == decode_note("<stdin>", None, "gdb", compression="gzip")
    assert _jsonl(proc.stdout.decode()) == expected_rows("gdb-symbol", VALUES[3:503], start=3)


# ====================================================== detection and forcing

@pytest.mark.parametrize("case", list(FORMAT_CASES))
def test_decode_note_says_the_detected_format(capsys: Any, tmp_path: Any, case: str) -> None:
    path = write_dump(tmp_path, case, values=values_for(case)[:512])
    res = cli(capsys, "decode", path, "--summary")
    assert res.code == 0, res.err
    m = note_of(res)
    assert (m.group("format"), m.group("how")) == (FORMAT_CASES[case][0], "auto-detected")
    assert m.group("level") == ("pagemap words" if case == "pagemap" else "pte")


def test_decode_format_forcing(capsys: Any, tmp_path: Any) -> None:
    """--format beats detection: a pagemap file read as raw PTEs, raw words
    read as pagemap words, gdb output refused as crash output."""
    pm = write_dump(tmp_path, "pagemap", values=PAGEMAP[:8])
    res = cli(capsys, "decode", pm, "--format", "raw", "--output", "jsonl")
    assert res.code == 0
    assert res.err == decode_note(pm, 8, "raw", "as given")
    assert _jsonl(res.out) == expected_rows("raw", PAGEMAP[:8])
    raw = write_dump(tmp_path, "raw", values=PAGEMAP[:8])
    res = cli(capsys, "decode", raw, "--format", "pagemap", "--output", "jsonl")
    assert res.code == 0
    assert res.err == decode_note(raw, 8, "pagemap", "as given")
    assert _jsonl(res.out) == expected_rows("pagemap", PAGEMAP[:8])
    gdb = write_dump(tmp_path, "gdb", values=VALUES[:8])
    res = cli(capsys, "decode", gdb, "--format", "crash", "--output", "jsonl")
    assert_error_after_note(res, 3, "%s:2: not a crash rd -64 line" % gdb, "0xffff888012345000")
    assert "format crash (as given)" in res.err


def test_decode_unknown_format_is_a_usage_error(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:8])
    res = cli(capsys, "decode", path, "--format", "elf")
    assert res.out == ""
    assert_one_line_error(res, 2, "invalid choice: 'elf'")


# ========================================================== offset and count

@pytest.mark.parametrize("case", ["raw", "npy-u8", "hex", "gdb", "crash", "pagemap"])
@pytest.mark.parametrize("offset,count", [(0, 1), (5, 10), (511, 3), (1000, None),
                                          (1500, 100), (N + 5, None), (7, 0)])
def test_decode_offset_and_count_are_in_entries(capsys: Any, tmp_path: Any, case: str,
                                                offset: int, count: Optional[int]) -> None:
    values = values_for(case)
    path = write_dump(tmp_path, case)
    argv = ["decode", path, "--output", "jsonl", "--offset", str(offset)]
    if count is not None:
        argv += ["--count", str(count)]
    res = cli(capsys, *argv)
    assert res.code == 0, res.err
    stop = values.size if count is None else min(values.size, offset + count)
    assert _jsonl(res.out) == expected_rows(case, values[offset:stop], start=offset)


@pytest.mark.parametrize("argv,needle", [(["--offset", "-1"], "offset"),
                                         (["--count", "-3"], "count")])
def test_decode_negative_offset_or_count_is_refused(capsys: Any, tmp_path: Any, argv: List[str],
                                                    needle: str) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:8])
    res = cli(capsys, "decode", path, *argv)
    assert res.out == "" and res.code in (2, 3)
    assert "Traceback" not in res.err
    errors = [ln for ln in res.err.splitlines() if not DECODE_NOTE.match(ln)]
    assert len(errors) == 1 and errors[0].startswith("ptebits: error: ") and needle in errors[0]


@pytest.mark.parametrize("argv", [["--offset", "x"], ["--count", "1.5"]])
def test_decode_offset_and_count_are_numbers(capsys: Any, argv: List[str]) -> None:
    res = cli(capsys, "decode", "-", *argv)
    assert_one_line_error(res, 2, "is not a whole number")


# ===================================================== chunk boundaries

@pytest.mark.parametrize("argv", [["--output", "jsonl"], ["--output", "csv"], ["--all"],
                                  ["--kind", "present,swap"], ["--summary"],
                                  ["--summary", "--output", "jsonl"], ["--output", "npz"]],
                         ids=lambda a: "-".join(x.strip("-") for x in a))
@pytest.mark.parametrize("case", ["raw", "crash", "pagemap"])
def test_decode_output_does_not_depend_on_the_chunk_size(capsys: Any, monkeypatch: Any,
                                                         tmp_path: Any, case: str,
                                                         argv: List[str]) -> None:
    """Every output (one header, rows, count line, summary with its PFN
    runs, npz columns) is the same when the dump is read in chunks of 7 or
    513 entries as in one chunk."""
    import ptebits.dumps
    path = write_dump(tmp_path, case)
    real = ptebits.dumps.read_dump
    outputs = []
    for chunk in (None, 7, 513):
        if chunk is not None:
            monkeypatch.setattr(ptebits.dumps, "read_dump",
                                lambda *a, _c=chunk, **k: real(*a, chunk_entries=_c, **k))
        extra = ["-o", str(tmp_path / ("%s.npz" % chunk))] if "npz" in argv else []
        res = cli(capsys, "decode", path, *argv, *extra, "-q")
        assert (res.code, res.err) == (0, "")
        if extra:
            z = np.load(extra[1])
            outputs.append({k: z[k].tolist() for k in z.files})
        else:
            outputs.append(res.out)
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0]


# ============================================================== va, levels

@pytest.mark.parametrize("level,span", [("pte", 1 << 12), ("pmd", 1 << 21), ("pud", 1 << 30)])
def test_decode_va_column_per_level_with_sign_extension(capsys: Any, tmp_path: Any, level: str,
                                                        span: int) -> None:
    """--base-va is the address entry 0 maps; each entry maps the level's
    span; crossing 2^47 lands in the kernel half, sign-extended."""
    path = write_dump(tmp_path, "raw", values=np.zeros(8, dtype=np.uint64))
    base = (1 << 47) - 4 * span
    res = cli(capsys, "decode", path, "--level", level, "--base-va", hex(base), "--output",
              "jsonl", "--offset", "2")
    assert res.code == 0, res.err
    assert res.err.endswith("level %s\n" % level)
    rows = _jsonl(res.out)
    assert [r["index"] for r in rows] == [2, 3, 4, 5, 6, 7]
    assert [r["va"] for r in rows] == ["0x%016x" % (base + i * span) for i in (2, 3)] + \
        ["0x%016x" % (0xFFFF800000000000 + (i - 4) * span) for i in (4, 5, 6, 7)]
    assert [r["va"] for r in rows] == ["0x%016x" % expected_va(i, base, level)
                                       for i in range(2, 8)]


def test_decode_base_va_in_decimal_and_kernel_addresses(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    res = cli(capsys, "decode", path, "--base-va", "4096", "--output", "jsonl")
    assert [r["va"] for r in _jsonl(res.out)] == ["0x%016x" % (4096 * (i + 1)) for i in range(4)]
    res = cli(capsys, "decode", path, "--base-va", "0xffffffff80000000", "--level", "pmd",
              "--output", "jsonl")
    assert res.code == 0, res.err
    assert [r["va"] for r in _jsonl(res.out)] == [
        "0xffffffff80000000", "0xffffffff80200000", "0xffffffff80400000", "0xffffffff80600000"]


def test_decode_bad_base_va_is_a_usage_error(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    assert_one_line_error(cli(capsys, "decode", path, "--base-va", "zz"), 2, "--base-va 'zz'")


@pytest.mark.parametrize("level", ["pmd", "pud"])
def test_decode_upper_level_rows_are_the_level_decode(capsys: Any, tmp_path: Any,
                                                      level: str) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:64])
    res = cli(capsys, "decode", path, "--level", level, "--output", "jsonl")
    assert res.code == 0, res.err
    assert _jsonl(res.out) == expected_rows("raw", VALUES[:64], level=level)


# ================================================================= table

def _addr_table(out: str) -> Any:
    lines = out.splitlines()
    assert re.match(r"^\s+index  entry_addr\s+va\s+raw\s+decoded$", lines[0]), lines[0]
    rows = []
    for ln in lines[1:-1]:
        m = re.match(r"^\s*(\d+)  (0x[0-9a-f]{16})  (0x[0-9a-f]{16})  (0x[0-9a-f]{16})  (\S+)",
                     ln)
        assert m, ln
        rows.append((int(m.group(1)), int(m.group(2), 16), int(m.group(3), 16),
                     int(m.group(4), 16), m.group(5)))
    return rows, lines[-1]


@pytest.mark.parametrize("case", ["gdb", "gdb-symbol", "crash"])
def test_decode_table_of_gdb_and_crash_dumps_has_entry_addr(capsys: Any, tmp_path: Any,
                                                            case: str) -> None:
    values = VALUES[:200]
    path = write_dump(tmp_path, case, values=values)
    res = cli(capsys, "decode", path, "--all", "--offset", "3")
    assert res.code == 0, res.err
    rows, last = _addr_table(res.out)
    addrs = entry_addrs(case, 197, 3)
    kinds = [str(ptebits.Kind(k)) for k in ptebits.decode(values[3:]).kind]
    assert rows == [(3 + n, addrs[n], expected_va(3 + n), int(values[3 + n]), kinds[n])
                    for n in range(197)]
    counts = ptebits.decode(values[3:]).counts()
    assert last == "# 197 entries: " + ", ".join("%s %d" % kv for kv in counts.items() if kv[1])


def test_decode_table_of_a_raw_dump_has_no_entry_addr(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:20])
    res = cli(capsys, "decode", path)
    assert re.match(r"^\s+index  va\s+raw\s+decoded$", res.out.splitlines()[0])
    assert "entry_addr" not in res.out


def test_decode_jsonl_and_csv_of_a_crash_dump_carry_entry_addr(capsys: Any,
                                                               tmp_path: Any) -> None:
    path = write_dump(tmp_path, "crash", values=VALUES[:30])
    rows = _jsonl(cli(capsys, "decode", path, "--output", "jsonl").out)
    assert [list(r)[:4] for r in rows] == [["index", "entry_addr", "va", "raw"]] * 30
    table = list(csv.DictReader(io.StringIO(cli(capsys, "decode", path, "--output", "csv").out)))
    assert list(table[0]) == CSV_COLUMNS
    assert [c["entry_addr"] for c in table] == ["0x%016x" % a for a in entry_addrs("crash", 30)]
    for cells, row in zip(table, rows):
        for key, cell in cells.items():
            assert cell == (str(row[key]) if key in row else ""), (key, cells, row)


# ================================================================ torn inputs

TORN = raw_bytes(VALUES[:100]) + b"\x00\x01\x02\x03\x04"


def test_decode_torn_file_is_refused_before_reading(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "torn.bin"
    path.write_bytes(TORN)
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert res.out == ""
    assert_one_line_error(res, 3, str(path), "805 bytes is not a multiple of 8",
                          "5 trailing bytes after 100 complete entries")


@pytest.mark.parametrize("how", ["stdin", "gz", "xz", "stdin-gz"])
def test_decode_torn_stream_errors_after_the_note(capsys: Any, monkeypatch: Any, tmp_path: Any,
                                                  how: str) -> None:
    """stdin and compressed files: the size is known only at the end, so the
    error comes after the note (and after the complete entries' rows)."""
    if how.startswith("stdin"):
        _stdin(monkeypatch, compress(TORN, "gz" if how == "stdin-gz" else None))
        name = path = "<stdin>"
        argv = ["-"]
    else:
        p = tmp_path / ("torn.bin." + how)
        p.write_bytes(compress(TORN, how))
        name = path = str(p)
        argv = [path]
    res = cli(capsys, "decode", *argv, "--output", "jsonl")
    assert_error_after_note(res, 3, name, "5 trailing bytes after 100 complete entries")
    assert len(_jsonl(res.out)) <= 100
    if how.startswith("stdin"):
        _stdin(monkeypatch, compress(TORN, "gz" if how == "stdin-gz" else None))
    quiet = cli(capsys, "decode", *argv, "--output", "jsonl", "-q")
    assert_one_line_error(quiet, 3, name, "5 trailing bytes after 100 complete entries")


@pytest.mark.parametrize("how", ["file", "stdin", "gz", "stdin-xz"])
def test_decode_allow_partial_warns_and_decodes_complete_entries(capsys: Any, monkeypatch: Any,
                                                                 tmp_path: Any, how: str) -> None:
    if how.startswith("stdin"):
        _stdin(monkeypatch, compress(TORN, "xz" if how == "stdin-xz" else None))
        argv = ["-"]
        name = "<stdin>"
    else:
        p = tmp_path / ("torn.bin" + (".gz" if how == "gz" else ""))
        p.write_bytes(compress(TORN, "gz" if how == "gz" else None))
        argv = [str(p)]
        name = str(p)
    res = cli(capsys, "decode", *argv, "--allow-partial", "--output", "jsonl")
    assert res.code == 0, res.err
    assert _jsonl(res.out) == expected_rows("raw", VALUES[:100])
    # the note and one warning (a plain file's size is checked when it is
    # opened, so its warning may come first)
    lines = sorted(res.err.splitlines(), key=lambda ln: bool(DECODE_NOTE.match(ln)))
    assert len(lines) == 2 and DECODE_NOTE.match(lines[1]), res.err
    assert lines[0] == "ptebits: warning: %s: ignoring 5 trailing bytes after 100 complete " \
        "entries" % name


# ================================================================ empty inputs

@pytest.mark.parametrize("how", ["file", "gz", "stdin", "npy", "hex-comments"])
def test_decode_empty_inputs(capsys: Any, monkeypatch: Any, tmp_path: Any, how: str) -> None:
    """Zero entries: an empty table with its count line, no jsonl rows, a
    summary of zero entries; never a crash."""
    data = {"file": b"", "gz": compress(b"", "gz"), "stdin": b"",
            "npy": dump_bytes("npy-u8", values=np.zeros(0, dtype=np.uint64)),
            "hex-comments": b"# nothing in this range\n"}[how]
    path = tmp_path / "empty"
    path.write_bytes(data)
    target = "-" if how == "stdin" else str(path)
    for output in ("table", "jsonl", "summary", "summary-json"):
        if how == "stdin":
            _stdin(monkeypatch, data)
        argv = {"table": [], "jsonl": ["--output", "jsonl"], "summary": ["--summary"],
                "summary-json": ["--summary", "--output", "jsonl"]}[output]
        res = cli(capsys, "decode", target, *argv)
        assert res.code == 0, (output, res.err)
        assert "Traceback" not in res.err and len(res.err.splitlines()) == 1
        if output == "table":
            assert res.out.splitlines()[1:] == ["# 0 entries: none"]
        elif output == "jsonl":
            assert res.out == ""
        elif output == "summary":
            assert res.out.startswith("0 entries (profile linux-6.18)\n")
            assert "distinct PFNs: 0\n" in res.out
        else:
            summary = json.loads(res.out)
            assert summary["entries"] == 0 and sum(summary["kinds"].values()) == 0
            assert summary["distinct_pfns"] == 0 and summary["longest_pfn_run"] == 0


def test_decode_npz_of_an_empty_dump_has_empty_columns(capsys: Any, tmp_path: Any) -> None:
    path = tmp_path / "empty.bin"
    path.write_bytes(b"")
    out = tmp_path / "empty.npz"
    res = cli(capsys, "decode", str(path), "--output", "npz", "-o", str(out))
    assert res.code == 0, res.err
    z = np.load(str(out))
    for name in ("index", "raw", "va", "kind", "pfn", "flags", "swp_type", "swp_offset", "aux"):
        assert z[name].shape == (0,), name


# ================================================================ bad lines

@pytest.mark.parametrize("fmt,text,line,bad", [
    ("gdb", gdb_text([1, 2, 3, 4]) .replace("(gdb) \n", "") +
     "0xffff888012345020 <x+32>:\t0x1\t0xq\n", 4, "0xq"),
    ("gdb", gdb_text([1, 2]) + "Cannot access memory at address 0xffff888012346000\n", 4,
     "Cannot access memory"),
    ("crash", crash_text([1, 2, 3]) + "ffff888012345020:  12345\n", 5, "ffff888012345020:  12345"),
    ("hex", "0x1\n\n# c\n0x8000000012345027 0x1\n", 4, "0x8000000012345027 0x1"),
])
def test_decode_bad_text_lines_name_file_line_and_text(capsys: Any, tmp_path: Any, fmt: str,
                                                       text: str, line: int, bad: str) -> None:
    path = tmp_path / ("dump." + fmt)
    path.write_text(text)
    res = cli(capsys, "decode", str(path), "--output", "jsonl")
    assert "format %s (auto-detected)" % fmt in res.err
    assert_error_after_note(res, 3, "%s:%d: not " % (path, line), bad)
    assert_one_line_error(cli(capsys, "decode", str(path), "-q"), 3, "%s:%d:" % (path, line),
                          bad)


# ===================================================== missing, unreadable

def test_decode_missing_file_and_directory(capsys: Any, tmp_path: Any) -> None:
    res = cli(capsys, "decode", str(tmp_path / "nowhere.gz"))
    assert res.out == ""
    assert_one_line_error(res, 3, "nowhere.gz: no such file")
    res = cli(capsys, "decode", str(tmp_path), "--summary")
    assert res.out == ""
    assert_one_line_error(res, 3, str(tmp_path), "is a directory")


def test_decode_unreadable_file(capsys: Any, monkeypatch: Any, tmp_path: Any) -> None:
    import ptebits.dumps
    path = tmp_path / "secret.bin"
    path.write_bytes(raw_bytes([1]))

    def no_access(name: Any, *args: Any, **kwargs: Any) -> Any:
        if str(name) == str(path):
            raise PermissionError(13, "Permission denied", str(name))
        return open(name, *args, **kwargs)
    monkeypatch.setattr(ptebits.dumps, "open", no_access, raising=False)
    res = cli(capsys, "decode", str(path))
    assert res.out == ""
    assert_one_line_error(res, 3, "secret.bin: permission denied")


# ================================================================ -o PATH

def _only_error_line(res: Result, code: int, *needles: str) -> str:
    """Exit ``code``, no traceback, the decode note (optional: it may come
    before the output is opened) and exactly one error line."""
    assert res.code == code, res
    assert "Traceback" not in res.err
    lines = [ln for ln in res.err.splitlines() if not DECODE_NOTE.match(ln)]
    assert len(lines) == 1 and lines[0].startswith("ptebits: error: "), res.err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.mark.parametrize("output", ["jsonl", "csv", "table", "npz"])
def test_decode_output_path_not_writable(capsys: Any, tmp_path: Any, output: str) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:16])
    res = cli(capsys, "decode", path, "--output", output, "-o", "/nonexistent/x.%s" % output)
    assert res.out == ""
    _only_error_line(res, 3, "/nonexistent/x.%s" % output)


def test_decode_summary_to_an_unwritable_path(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:16])
    res = cli(capsys, "decode", path, "--summary", "-o", "/nonexistent/s.txt")
    _only_error_line(res, 3, "/nonexistent/s.txt")


def test_decode_output_path_is_a_directory(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:16])
    outdir = tmp_path / "out"
    outdir.mkdir()
    res = cli(capsys, "decode", path, "--output", "jsonl", "-o", str(outdir))
    _only_error_line(res, 3, str(outdir))
    assert list(outdir.iterdir()) == []


def test_decode_output_file_is_written_whole(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "gdb")
    out = tmp_path / "rows.jsonl"
    out.write_text("old\n")
    res = cli(capsys, "decode", path, "--output", "jsonl", "-o", str(out))
    assert (res.code, res.out) == (0, "")
    assert _jsonl(out.read_text()) == expected_rows("gdb", VALUES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.gdb", "rows.jsonl"]


@pytest.mark.parametrize("output", ["jsonl", "csv", "table", "npz"])
def test_decode_failure_midway_leaves_no_half_written_file(capsys: Any, tmp_path: Any,
                                                           output: str) -> None:
    """A bad line after 300,000 good ones: exit 3, and -o FILE is neither
    created nor overwritten, and no temporary file is left behind."""
    lines = "".join("0x%016x\n" % (0x8000000000000027 | (i << 12)) for i in range(300_000))
    path = tmp_path / "big.txt"
    path.write_text(lines + "oops\n")
    outdir = tmp_path / "out"
    outdir.mkdir()
    fresh = outdir / ("fresh." + output)
    res = cli(capsys, "decode", str(path), "--output", output, "-o", str(fresh))
    assert_error_after_note(res, 3, "%s:300001:" % path, "oops")
    assert list(outdir.iterdir()) == []
    old = outdir / ("old." + output)
    old.write_text("the previous output\n")
    res = cli(capsys, "decode", str(path), "--output", output, "-o", str(old), "-q")
    assert_one_line_error(res, 3, "%s:300001:" % path)
    assert old.read_text() == "the previous output\n"
    assert [p.name for p in outdir.iterdir()] == [old.name]


_FSIZE_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 16, 1 << 16))
from ptebits.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _write_fails_midway(tmp_path: Any) -> Any:
    """Run decode with a 64 KiB file-size limit: the output write fails
    (EFBIG) after the first 64 KiB, like a full disk."""
    path = write_dump(tmp_path, "raw")
    outdir = tmp_path / "out"
    outdir.mkdir()
    target = outdir / "rows.jsonl"
    target.write_text("the previous output\n")
    proc = subprocess.run([sys.executable, "-c", _FSIZE_SCRIPT, "decode", path, "--output",
                           "jsonl", "-o", str(target)], capture_output=True, cwd=str(tmp_path),
                          timeout=120)
    return proc, outdir, target


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits")
def test_decode_write_failure_midway_keeps_the_previous_file(tmp_path: Any) -> None:
    proc, outdir, target = _write_fails_midway(tmp_path)
    assert proc.returncode != 0
    assert target.read_text() == "the previous output\n"
    assert [p.name for p in outdir.iterdir()] == ["rows.jsonl"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs resource limits")
def test_decode_write_failure_midway_is_one_error_line(tmp_path: Any) -> None:
    proc, _, target = _write_fails_midway(tmp_path)
    err = proc.stderr.decode()
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if not DECODE_NOTE.match(ln)]
    assert len(lines) == 1 and lines[0].startswith("ptebits: error: "), err
    assert str(target) in lines[0]
    assert proc.returncode == 3


# ================================================================== npz

@pytest.mark.parametrize("case", ["raw", "gdb-symbol", "npy-big-endian-u8"])
def test_decode_npz_round_trip(capsys: Any, tmp_path: Any, case: str) -> None:
    path = write_dump(tmp_path, case, "gz")
    out = tmp_path / "cols.npz"
    res = cli(capsys, "decode", path, "--output", "npz", "-o", str(out), "--base-va",
              "0x7fffff000000")
    assert (res.code, res.out) == (0, ""), res.err
    z = np.load(str(out))
    d = ptebits.decode(VALUES)
    np.testing.assert_array_equal(z["raw"], VALUES)
    for name in ("kind", "pfn", "flags", "swp_type", "swp_offset", "aux"):
        np.testing.assert_array_equal(z[name], getattr(d, name), err_msg=name)
        assert z[name].dtype == getattr(d, name).dtype, name
    assert z["index"].tolist() == list(range(N))
    assert z["va"].tolist() == [expected_va(i, 0x7FFFFF000000) for i in range(N)]
    addrs = entry_addrs(case, N)
    if addrs is None:
        assert "entry_addr" not in z.files
    else:
        assert z["entry_addr"].tolist() == addrs
    meta = json.loads(str(z["meta"]))
    assert (meta["profile"], meta["format"], meta["level"]) == (V618, FORMAT_CASES[case][0],
                                                                 "pte")


def test_decode_npz_of_filtered_entries(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    out = tmp_path / "cols.npz"
    res = cli(capsys, "decode", path, "--output", "npz", "-o", str(out), "--kind",
              "swap,marker", "--offset", "10")
    assert res.code == 0, res.err
    z = np.load(str(out))
    d = ptebits.decode(VALUES)
    want = np.flatnonzero(np.isin(d.kind, [int(ptebits.Kind.SWAP), int(ptebits.Kind.MARKER)]))
    want = want[want >= 10]
    assert z["index"].tolist() == want.tolist()
    np.testing.assert_array_equal(z["raw"], VALUES[want])
    np.testing.assert_array_equal(z["swp_offset"], d.swp_offset[want])


def test_decode_npz_of_a_pagemap_dump(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "pagemap")
    out = tmp_path / "pm.npz"
    res = cli(capsys, "decode", path, "--output", "npz", "-o", str(out))
    assert res.code == 0, res.err
    z = np.load(str(out))
    d = ptebits.decode_pagemap(PAGEMAP.copy())
    for name in ("kind", "pfn", "pm_flags", "swp_type", "swp_offset"):
        np.testing.assert_array_equal(z[name], getattr(d, name), err_msg=name)
    np.testing.assert_array_equal(z["raw"], PAGEMAP)


def test_decode_npz_over_the_limit_is_refused_naming_alternatives(capsys: Any, monkeypatch: Any,
                                                                  tmp_path: Any) -> None:
    import ptebits.report
    monkeypatch.setattr(ptebits.report, "npz_limit_entries", lambda: 1000)
    path = write_dump(tmp_path, "raw")
    outdir = tmp_path / "out"
    outdir.mkdir()
    res = cli(capsys, "decode", path, "--output", "npz", "-o", str(outdir / "x.npz"))
    line = _only_error_line(res, 3, "npz", "1000")
    for alt in ("--output jsonl or csv", "--summary", "--offset/--count"):
        assert alt in line
    assert list(outdir.iterdir()) == []
    # a part that fits is fine
    res = cli(capsys, "decode", path, "--output", "npz", "-o", str(outdir / "x.npz"),
              "--count", "1000")
    assert res.code == 0, res.err
    assert np.load(str(outdir / "x.npz"))["raw"].size == 1000


def test_decode_npz_needs_a_file(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    res = cli(capsys, "decode", path, "--output", "npz")
    assert res.out == ""
    assert_one_line_error(res, 2, "--output npz needs -o FILE")


# ================================================================ summary

def _reference_summary(values: np.ndarray, profile: str = V618) -> Dict[str, Any]:
    d = ptebits.decode(values, profile=profile)
    names = [str(ptebits.Kind(k)) for k in d.kind]
    pfn_kinds = {"present", "protnone", "migration", "device", "hwpoison"}
    swap_format = {"swap", "migration", "device", "hwpoison", "marker", "bad"}
    types: Dict[str, int] = {}
    for name, t in zip(names, d.swp_type.tolist()):
        if name in swap_format:
            types[str(t)] = types.get(str(t), 0) + 1
    runs = pfn_runs_reference(d.kind.tolist(), d.pfn.tolist())
    return {"kinds": d.counts(), "swap_types": types,
            "distinct_pfns": len({p for n, p in zip(names, d.pfn.tolist()) if n in pfn_kinds}),
            "pfn_runs": run_buckets(runs), "longest_pfn_run": max(runs, default=0),
            "uffd_wp": int(np.count_nonzero(d.uffd_wp_any))}


@pytest.mark.parametrize("case", ["raw", "hex", "crash"])
def test_decode_summary_json(capsys: Any, tmp_path: Any, case: str) -> None:
    path = write_dump(tmp_path, case, "xz")
    res = cli(capsys, "decode", path, "--summary", "--output", "jsonl")
    assert res.code == 0, res.err
    assert len(res.out.splitlines()) == 1
    got = json.loads(res.out)
    want = _reference_summary(VALUES)
    assert got["entries"] == N == sum(got["kinds"].values())
    assert got["kinds"] == want["kinds"]
    assert {t: v["count"] for t, v in got["swap_types"].items()} == want["swap_types"]
    assert (got["distinct_pfns"], got["distinct_pfns_exact"]) == (want["distinct_pfns"], True)
    assert got["pfn_runs"] == want["pfn_runs"]
    assert got["longest_pfn_run"] == want["longest_pfn_run"]
    assert got["flags"]["uffd_wp"] == want["uffd_wp"]
    assert (got["profile"], got["format"], got["level"], got["file"]) == (
        V618, FORMAT_CASES[case][0], "pte", path)
    assert "matched_by_filters" not in got


def test_decode_summary_human(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    res = cli(capsys, "decode", path, "--summary")
    assert res.code == 0, res.err
    want = _reference_summary(VALUES)
    lines = res.out.splitlines()
    assert lines[0] == "%d entries (profile linux-6.18)" % N
    assert lines[1] == "  by kind:"
    kinds = {}
    for ln in lines[2:]:
        m = re.match(r"^    (\w+) +(\d+) +[\d.]+%$", ln)
        if not m:
            break
        kinds[m.group(1)] = int(m.group(2))
    assert kinds == {k: v for k, v in want["kinds"].items() if v}
    assert sum(kinds.values()) == N
    body = res.out
    assert "  by swap type:\n" in body
    for t, count in want["swap_types"].items():
        assert re.search(r"^ +%s .* %d$" % (t, count), body, re.M), (t, count)
    assert re.search(r"^     31 pte marker +%d$" % want["swap_types"]["31"], body, re.M)
    assert re.search(r"^  flags: .*\buffd_wp %d\b" % want["uffd_wp"], body, re.M)
    assert "  distinct PFNs: %d\n" % want["distinct_pfns"] in body
    runs = "  ".join("%s: %d" % kv for kv in want["pfn_runs"].items())
    assert "  runs of contiguous PFNs:  %s  (longest %d)" % (runs, want["longest_pfn_run"]) \
        in body


def test_decode_summary_uffd_wp_counts_every_form(capsys: Any, tmp_path: Any) -> None:
    """Present bit 10, swap bit 2, the 6.18 marker; and under
    linux-5.12-uffd-wp-v2 the special PTE 0x4 (kernel-facts §5)."""
    v618 = [ptebits.encode_present(7, "PAGE_SHARED") | (1 << 10),
            ptebits.encode_swap(1, 5, uffd_wp=True), ptebits.encode_marker(uffd_wp=True),
            ptebits.encode_marker(guard=True), ptebits.encode_present(8, "PAGE_SHARED"), 0]
    path = write_dump(tmp_path, "raw", values=np.array(v618, dtype=np.uint64), stem="a")
    res = cli(capsys, "decode", path, "--summary", "--output", "jsonl")
    assert json.loads(res.out)["flags"]["uffd_wp"] == 3
    v512 = [4, 4, 4, ptebits.encode_swap(1, 5, uffd_wp=True, profile=V512),
            ptebits.encode_present(7, "PAGE_SHARED", profile=V512) | (1 << 10), 0]
    path = write_dump(tmp_path, "raw", values=np.array(v512, dtype=np.uint64), stem="b")
    res = cli(capsys, "decode", path, "--summary", "--output", "jsonl", "--profile", V512)
    got = json.loads(res.out)
    assert got["kinds"]["uffd_wp_special"] == 3 and got["flags"]["uffd_wp"] == 5


def test_decode_summary_with_filters_counts_everything_and_the_matches(capsys: Any,
                                                                       tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    res = cli(capsys, "decode", path, "--summary", "--output", "jsonl", "--flag", "uffd_wp")
    got = json.loads(res.out)
    want = _reference_summary(VALUES)
    assert got["entries"] == N and got["kinds"] == want["kinds"]
    assert got["matched_by_filters"] == want["uffd_wp"]
    human = cli(capsys, "decode", path, "--summary", "--flag", "uffd_wp").out
    assert "  matched by the filters: %d\n" % want["uffd_wp"] in human


def test_decode_summary_to_a_file(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    out = tmp_path / "summary.json"
    res = cli(capsys, "decode", path, "--summary", "--output", "jsonl", "-o", str(out))
    assert (res.code, res.out) == (0, "")
    assert json.loads(out.read_text())["entries"] == N


# ================================================================ filters

def _kinds_of(rows: List[Dict[str, Any]]) -> List[str]:
    return [r["kind"] for r in rows]


def test_decode_filter_kinds(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    res = cli(capsys, "decode", path, "--kind", "swap,marker", "--output", "jsonl")
    assert res.code == 0
    rows = _jsonl(res.out)
    d = ptebits.decode(VALUES)
    want = [i for i, k in enumerate(d.kind) if str(ptebits.Kind(k)) in ("swap", "marker")]
    assert [r["index"] for r in rows] == want and want
    assert set(_kinds_of(rows)) == {"swap", "marker"}
    assert rows == [r for r in expected_rows("raw", VALUES) if r["index"] in set(want)]


def test_decode_table_count_line_says_how_many_matched(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    res = cli(capsys, "decode", path, "--kind", "marker")
    counts = ptebits.decode(VALUES).counts()
    last = res.out.splitlines()[-1]
    assert last == "# %d entries: %s; %d matched the filters" % (
        N, ", ".join("%s %d" % kv for kv in counts.items() if kv[1]), counts["marker"])
    assert len(res.out.splitlines()) == 2 + counts["marker"]


@pytest.mark.parametrize("profile", [V618, V512])
def test_decode_filter_flag_uffd_wp_any_form(capsys: Any, tmp_path: Any, profile: str) -> None:
    values = np.concatenate([VALUES, np.array([4, 4], dtype=np.uint64)])
    path = write_dump(tmp_path, "raw", values=values)
    res = cli(capsys, "decode", path, "--flag", "uffd-wp", "--output", "jsonl", "--profile",
              profile)
    assert res.code == 0, res.err
    rows = _jsonl(res.out)
    d = ptebits.decode(values, profile=profile)
    assert [r["index"] for r in rows] == np.flatnonzero(d.uffd_wp_any).tolist()
    forms = {(r["kind"], bool(r.get("uffd_wp") or r.get("swp_uffd_wp") or
                               r.get("marker_uffd_wp"))) for r in rows}
    assert all(wp or kind == "uffd_wp_special" for kind, wp in forms), forms
    if profile == V512:
        assert rows[-1]["kind"] == "uffd_wp_special" and rows[-1]["index"] == N + 1
    else:
        assert ("marker", True) in forms and ("present", True) in forms


def test_decode_unknown_flag_lists_the_flags(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    res = cli(capsys, "decode", path, "--flag", "sticky")
    assert res.out == ""
    line = assert_one_line_error(res, 3, "--flag 'sticky'")
    for name in ("uffd_wp", "soft_dirty", "exclusive", "dirty", "young", "write", "nx",
                 "special", "global", "pkey", "canonical", "non_canonical"):
        assert name in line


def test_decode_unknown_kind_filter(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    res = cli(capsys, "decode", path, "--kind", "swap,swapped")
    assert res.out == ""
    assert_one_line_error(res, 3, "unknown kind 'swapped'", "marker")


def test_decode_pfn_range(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    d = ptebits.decode(VALUES)
    pfn_kinds = ("present", "protnone", "migration", "device", "hwpoison")
    pfns = sorted({int(p) for k, p in zip(d.kind, d.pfn) if str(ptebits.Kind(k)) in pfn_kinds})
    lo, hi = pfns[len(pfns) // 3], pfns[2 * len(pfns) // 3]
    res = cli(capsys, "decode", path, "--pfn-range", "%#x-%#x" % (lo, hi), "--output", "jsonl")
    assert res.code == 0, res.err
    rows = _jsonl(res.out)
    assert rows and all(lo <= r["pfn"] < hi for r in rows)          # END is exclusive
    assert [r["index"] for r in rows] == [
        i for i, (k, p) in enumerate(zip(d.kind, d.pfn))
        if str(ptebits.Kind(k)) in pfn_kinds and lo <= int(p) < hi]
    assert hi not in {r["pfn"] for r in rows}


@pytest.mark.parametrize("text", ["0x2000-0x1000", "5-5", "0x1000", "1-2-3", "0x10-", "a-b"])
def test_decode_bad_pfn_ranges_exit_3(capsys: Any, tmp_path: Any, text: str) -> None:
    path = write_dump(tmp_path, "raw", values=VALUES[:4])
    res = cli(capsys, "decode", path, "--pfn-range=" + text)
    assert res.out == ""
    assert_one_line_error(res, 3, "--pfn-range")


# ================================================================ pagemap

def test_decode_pagemap_rows_and_table(capsys: Any, tmp_path: Any) -> None:
    """kernel-facts §6: 0x420000000000003F is a 6.18 uffd-wp marker as
    pagemap shows it: kind marker, swap 1, uffd_wp 1, type 31 offset 1."""
    words = np.array([0x420000000000003F, 0x8100000000012345, 0,
                      0x4000000000000021 | (1 << 57)], dtype=np.uint64)
    path = write_dump(tmp_path, "pagemap", values=words, stem="4242")
    res = cli(capsys, "decode", path, "--output", "jsonl")
    assert res.code == 0
    rows = _jsonl(res.out)
    assert rows[0] == {"index": 0, "va": "0x0000000000000000", "raw": "0x420000000000003f",
                       "kind": "marker", "soft_dirty": 0, "exclusive": 0, "uffd_wp": 1,
                       "guard": 0, "file": 0, "swap": 1, "present": 0, "swp_type": 31,
                       "swp_offset": 1}
    assert (rows[1]["kind"], rows[1]["present"], rows[1]["exclusive"], rows[1]["pfn"]) == \
        ("present", 1, 1, 0x12345)
    assert rows == expected_rows("pagemap", words)
    table = cli(capsys, "decode", path).out.splitlines()
    assert re.match(r"^\s+0  0x0000000000000000  0x420000000000003f  marker .*\buffd_wp\b.*"
                    r"\bswap\b.*type=31 offset=0x1$", table[1]), table[1]
    assert table[-1] == "# 4 entries: none 1, present 1, swap 1, marker 1"


def test_decode_pagemap_csv_header(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "pagemap", values=PAGEMAP[:50])
    res = cli(capsys, "decode", path, "--output", "csv")
    assert res.code == 0
    assert res.out.splitlines()[0].split(",") == PAGEMAP_CSV
    table = list(csv.DictReader(io.StringIO(res.out)))
    for cells, row in zip(table, expected_rows("pagemap", PAGEMAP[:50])):
        for key, cell in cells.items():
            assert cell == (str(row[key]) if key in row else ""), (key, cells, row)


def test_decode_pagemap_summary_and_filters(capsys: Any, tmp_path: Any) -> None:
    path = write_dump(tmp_path, "pagemap")
    got = json.loads(cli(capsys, "decode", path, "--summary", "--output", "jsonl").out)
    d = ptebits.decode_pagemap(PAGEMAP.copy())
    assert got["entries"] == PAGEMAP.size == sum(got["kinds"].values())
    assert got["kinds"] == d.counts()
    assert got["pagemap_flags"]["uffd_wp"] == int(np.count_nonzero(d.uffd_wp))
    assert got["pagemap_flags"]["swap"] == int(np.count_nonzero(d.swap))
    assert got["pagemap_flags"]["present"] == int(np.count_nonzero(d.present))
    rows = _jsonl(cli(capsys, "decode", path, "--flag", "uffd_wp", "--output", "jsonl").out)
    assert [r["index"] for r in rows] == np.flatnonzero(d.uffd_wp).tolist()
    assert rows[0]["kind"] == "marker" and all(r["uffd_wp"] == 1 for r in rows)
    res = cli(capsys, "decode", path, "--flag", "dirty")
    _only_error_line(res, 3, "--flag dirty does not apply to pagemap dumps")


# ================================================================ progress

def test_progress_meter_is_silent_when_stderr_is_not_a_terminal(capsys: Any,
                                                                tmp_path: Any) -> None:
    path = write_dump(tmp_path, "raw")
    res = cli(capsys, "decode", path, "--summary")
    assert res.code == 0
    assert res.err == decode_note(path, N, "raw")
    assert "\r" not in res.err and "%" not in res.err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_meter_shows_on_a_terminal_and_is_cleared(monkeypatch: Any,
                                                           tmp_path: Any) -> None:
    from ptebits.cli import main
    path = write_dump(tmp_path, "raw")
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert main(["decode", path, "--summary"]) == 0
    err = term.getvalue()
    assert "\rptebits: 100%% (%d of %d entries)" % (N, N) in err
    assert err.endswith("\r\033[K")
    term2 = _Terminal()
    monkeypatch.setattr(sys, "stderr", term2)
    assert main(["decode", path, "--summary", "-q"]) == 0
    assert term2.getvalue() == ""
