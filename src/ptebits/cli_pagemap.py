"""``ptebits pagemap PID``: a live process's pagemap, per VMA or per page.

Without a filter it prints one line of counts per VMA (a shell has dozens
of them); with ``--range``/``--vma``, or ``--pages``, one row per page.
Exit codes as in cli.py; no access to the process (ptrace rules) is 4,
something the environment lacks.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import warnings
from typing import Any, Dict, List, Optional, TextIO, Tuple

from ._core import kind_names
from .cli import EXIT_ENV, EXIT_OK, UsageError
from .errors import InvalidValueError
from .outfiles import atomic_output
from .pagemap import PM_BITS, pagemap_row_text
from .procpid import (PAGE_SHIFT, SCAN_CATEGORIES, SWAPPED_HIDDEN, FramesHiddenWarning,
                      PagemapReader, ProcessAccessError, Vma, add_counts,
                      frames_hidden_message, no_match_message, parse_range, select_vmas)
from .profiles import get_profile

__all__ = ["register", "cmd_pagemap"]


def register(sub: Any, prof_help: str) -> None:
    """Add the ``pagemap`` subcommand to cli.py's subparsers."""
    p = sub.add_parser(
        "pagemap", help="a live process's pagemap: counts per VMA, or one row a page",
        description="Read /proc/PID/maps and /proc/PID/pagemap and decode every entry: "
                    "present, swap slot, migration entry or PTE marker (uffd-wp, guard), "
                    "file, exclusive, uffd-wp, soft-dirty, PFN or swap type/offset, and "
                    "the PAGEMAP_SCAN categories where the kernel has them (6.7+). "
                    "Try: ptebits pagemap $$")
    p.add_argument("pid", metavar="PID", help="process id, e.g. $$ for this shell")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--range", metavar="START-END",
                       help="only pages in [START, END), hex as /proc/PID/maps prints it")
    which.add_argument("--vma", metavar="NAME",
                       help="only VMAs whose name contains NAME ([heap], [stack], libc, "
                            "memfd:, [anon]) or that hold the hex address NAME")
    p.add_argument("--pages", action="store_true",
                   help="one row a page (the default with --range or --vma)")
    p.add_argument("--summary", action="store_true",
                   help="counts per VMA only (the default without --range or --vma)")
    p.add_argument("--all", action="store_true", help="table: also rows for none pages")
    p.add_argument("--output", choices=("table", "jsonl", "csv"), default="table")
    p.add_argument("-o", "--out", metavar="PATH",
                   help="write the output to PATH (atomically); default stdout")
    p.add_argument("--profile", help=prof_help.replace("(default linux-6.18)", "") +
                   "(default here: host, the running kernel)")
    p.add_argument("--no-scan", action="store_true",
                   help="do not ask PAGEMAP_SCAN for page categories")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes on stderr")
    p.set_defaults(func=cmd_pagemap)


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        pid = 0
    if pid <= 0:
        raise UsageError("PID %r is not a process id (a positive number, e.g. $$ for this "
                         "shell)" % text)
    return pid


def cmd_pagemap(args: argparse.Namespace, out: TextIO) -> int:
    pid = _pid(args.pid)
    if args.pages and args.summary:
        raise UsageError("--pages and --summary: choose one")
    rng = parse_range(args.range) if args.range else None
    pages_mode = args.pages or (bool(args.range or args.vma) and not args.summary)
    prof = get_profile(args.profile or "host")
    with warnings.catch_warnings():
        # the reader's warning is printed below, once, in the CLI's words
        warnings.simplefilter("ignore", FramesHiddenWarning)
        try:
            reader = PagemapReader(pid, profile=prof, scan=not args.no_scan)
        except ProcessAccessError as e:
            print("ptebits: error: %s" % e, file=sys.stderr)
            return EXIT_ENV
        with reader:
            pieces = select_vmas(reader.vmas, args.vma, rng)
            if not pieces:
                raise InvalidValueError(no_match_message(reader, args.vma, rng))
            if not args.quiet:
                pages = sum((b - a) >> PAGE_SHIFT for _, a, b in pieces)
                print("ptebits: pid %d (%s): %d VMA%s, %d pages (%s), profile %s; "
                      "PAGEMAP_SCAN categories: %s" % (
                          reader.pid, reader.comm, len(pieces), "" if len(pieces) == 1 else "s",
                          pages, _size(pages << PAGE_SHIFT), prof.name,
                          "yes" if reader.scan_available else "no"), file=sys.stderr)
            with atomic_output(args.out, False, stdout=out) as sink:
                if pages_mode:
                    _write_pages(reader, pieces, args, sink)
                else:
                    _write_summary(reader, pieces, args, sink)
            if reader.frames_hidden:
                print("ptebits: warning: %s" % frames_hidden_message(reader.pid, reader.comm),
                      file=sys.stderr)
            if not args.quiet:
                for note in reader.notes:
                    print("ptebits: note: %s" % note, file=sys.stderr)
    return EXIT_OK


def _size(nbytes: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            return "%.1f %s" % (nbytes / (1 << shift), unit)
    return "%d B" % nbytes


# ------------------------------------------------------- per-VMA counts

def _vma_counts(reader: PagemapReader,
                pieces: List[Tuple[Vma, int, int]]) -> List[Tuple[Vma, int, int, Dict[str, Any]]]:
    """Counts for each piece, read in bounded chunks."""
    done = []
    for vma, lo, hi in pieces:
        parts = [c.counts() for c in reader.chunks([(vma, lo, hi)])]
        if parts:
            done.append((vma, lo, hi, add_counts(parts)))
    return done


def _write_summary(reader: PagemapReader, pieces: List[Tuple[Vma, int, int]],
                   args: argparse.Namespace, sink: TextIO) -> None:
    counted = _vma_counts(reader, pieces)
    hidden = bool(reader.frames_hidden)
    if args.output == "jsonl":
        for vma, lo, hi, c in counted:
            obj = {"pid": reader.pid, "start": "0x%x" % lo, "end": "0x%x" % hi,
                   "perms": vma.perms, "offset": "0x%x" % vma.offset, "dev": vma.dev,
                   "inode": vma.inode, "name": vma.name, "frames_hidden": hidden}
            obj.update(c)
            sink.write(json.dumps(obj) + "\n")
    elif args.output == "csv":
        kinds = [k for k in kind_names()] + [SWAPPED_HIDDEN]
        markers = ["marker_" + n for n in ("uffd_wp", "poisoned", "guard")]
        flags = [n for n in PM_BITS if n not in ("present", "swap")]
        cats = ["scan_" + n for n in SCAN_CATEGORIES]
        w = csv.writer(sink, lineterminator="\n")
        w.writerow(["start", "end", "perms", "name", "pages"] + kinds + markers + flags + cats)
        for vma, lo, hi, c in counted:
            w.writerow(["0x%x" % lo, "0x%x" % hi, vma.perms, vma.name, c["pages"]]
                       + [c["kinds"].get(k, 0) for k in kinds]
                       + [c["markers"].get(m[len("marker_"):], 0) for m in markers]
                       + [c["flags"].get(f, 0) for f in flags]
                       + [c["categories"].get(n[len("scan_"):], 0) if "categories" in c else ""
                          for n in cats])
    else:
        _summary_table(counted, hidden, sink)


def _summary_table(counted: List[Tuple[Vma, int, int, Dict[str, Any]]], hidden: bool,
                   sink: TextIO) -> None:
    total = add_counts(c for *_, c in counted)
    if hidden:
        kind_cols = [("present", "present"), ("swapped", SWAPPED_HIDDEN)]
    else:
        kind_cols = [("present", "present"), ("swap", "swap"), ("migr", "migration"),
                     ("marker", "marker")]
        named = {k for _, k in kind_cols} | {"none"}
        if any(v for k, v in total["kinds"].items() if k not in named):
            kind_cols.append(("other", None))
    flag_cols = [("file", "file"), ("excl", "exclusive"), ("uffd_wp", "uffd_wp")]
    flag_cols += [(h, f) for h, f in (("sdirty", "soft_dirty"), ("guard", "guard"))
                  if total["flags"].get(f)]

    def kind_count(c: Dict[str, Any], key: Optional[str]) -> int:
        if key is not None:
            return c["kinds"].get(key, 0)
        named = {k for _, k in kind_cols if k} | {"none"}
        return sum(v for k, v in c["kinds"].items() if k not in named)

    width = max(len("%x" % hi) for _, _, hi, _ in counted)
    heads = ["pages"] + [h for h, _ in kind_cols] + [h for h, _ in flag_cols]
    cols = [max(len(h), len(str(total["pages"]))) for h in heads]
    sink.write("%-*s %-4s  %s  %s\n" % (2 * width + 1, "address range", "perm", "  ".join(
        "%*s" % (w, h) for w, h in zip(cols, heads)), "name"))

    def line(addr: str, perms: str, c: Dict[str, Any], name: str) -> str:
        vals = [c["pages"]] + [kind_count(c, k) for _, k in kind_cols] + \
            [c["flags"].get(f, 0) for _, f in flag_cols]
        return "%-*s %-4s  %s  %s\n" % (2 * width + 1, addr, perms, "  ".join(
            "%*d" % (w, v) for w, v in zip(cols, vals)), name)

    for vma, lo, hi, c in counted:
        sink.write(line("%0*x-%0*x" % (width, lo, width, hi), vma.perms, c, vma.name))
    sink.write(line("total", "", total, "(%d VMA%s)" % (len(counted),
                                                        "" if len(counted) == 1 else "s")))
    _footer(total, hidden, sink)


def _footer(total: Dict[str, Any], hidden: bool, sink: TextIO) -> None:
    """What the columns leave out: marker kinds, PAGEMAP_SCAN categories."""
    if total["markers"]:
        sink.write("markers: %s\n" % ", ".join("%s %d" % kv for kv in total["markers"].items()))
    if "categories" in total:
        sink.write("PAGEMAP_SCAN: %s\n" % (", ".join(
            "%s %d" % kv for kv in total["categories"].items() if kv[1]) or "no categories"))
    if hidden:
        sink.write("(frames hidden: swap slots, migration entries and markers all count as "
                   "'swapped')\n")


# ------------------------------------------------------------ page rows

_CSV_FIELDS = ("va", "vma", "raw", "kind") + tuple(PM_BITS) + (
    "pfn", "swp_type", "swp_offset", "swp_type_name", "marker", "categories")


def _row_text(row: Dict[str, Any]) -> str:
    """The codec's one-line rendering plus what a swap type means."""
    text = pagemap_row_text(row)
    if "swp_type_name" in row:
        text += " [%s%s]" % (row["swp_type_name"],
                             ": " + row["marker"] if "marker" in row else "")
    elif row["kind"] == SWAPPED_HIDDEN:
        text += " [type hidden]"
    return text


def _write_pages(reader: PagemapReader, pieces: List[Tuple[Vma, int, int]],
                 args: argparse.Namespace, sink: TextIO) -> None:
    table = args.output == "table"
    writer = None
    if args.output == "csv":
        writer = csv.DictWriter(sink, fieldnames=_CSV_FIELDS, restval="", lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
    counts = []
    current = None
    for chunk in reader.chunks(pieces):
        counts.append(chunk.counts())
        if table and chunk.vma is not current:
            current = chunk.vma
            _, lo, hi = next(p for p in pieces if p[0] is current)
            sink.write("# %x-%x %s %s (%d pages)\n" % (lo, hi, current.perms, current.name,
                                                       (hi - lo) >> PAGE_SHIFT))
        sel = None
        if table and not args.all:
            sel = (chunk.decoded.kind != 0).nonzero()[0].tolist()
        for row in chunk.rows(sel):
            row["vma"] = chunk.vma.name
            if table:
                sink.write("%s  %s  %-56s %s\n" % (row["va"][2:], row["raw"], _row_text(row),
                                                   ",".join(row.get("categories", ()))))
            elif writer is not None:
                if "categories" in row:
                    row["categories"] = "|".join(row["categories"])
                writer.writerow(row)
            else:
                sink.write(json.dumps(row) + "\n")
    if table:
        total = add_counts(counts)
        sink.write("# %d pages: %s\n" % (total["pages"], ", ".join(
            "%s %d" % kv for kv in sorted(total["kinds"].items(), key=lambda kv: -kv[1])
            if kv[1])))
        _footer(total, bool(reader.frames_hidden), sink)
