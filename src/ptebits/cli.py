"""The ``ptebits`` command line.

Exit codes: 0 ok, 1 a check failed, 2 usage, 3 bad input data, 4 something
the environment lacks, 130 interrupted.  Errors are one line on stderr.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
from typing import Any, Dict, Optional, Sequence, TextIO

from . import __version__
from .codec import LEVELS as EXPLAIN_LEVELS
from .codec import (encode_device, encode_hwpoison, encode_marker, encode_migration,
                    encode_present, encode_special, encode_swap)
from .dumps import FORMATS, LEVELS
from .errors import (DumpFormatError, Error, FieldRangeError, FileError, InvalidTypeError,
                     InvalidValueError, UnknownProfileError, UnsupportedKernelError)
from .explain import Pte, explain_pagemap, fault_path, summary
from .profiles import KNOBS, get_profile, list_profiles

EXIT_OK, EXIT_CHECK, EXIT_USAGE, EXIT_DATA, EXIT_ENV, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130

BUILTIN_PROFILES = [p for p in list_profiles() if p != "host"]


class UsageError(Exception):
    """A command line that does not make sense (exit 2)."""


def _exit_code(exc: BaseException) -> int:
    if isinstance(exc, (UsageError, UnknownProfileError)):
        return EXIT_USAGE
    if isinstance(exc, UnsupportedKernelError) or type(exc).__name__ in (
            "MissingDependencyError", "LiveRunError"):
        return EXIT_ENV                 # a live run the kernel or the time limit cut short
    if isinstance(exc, (DumpFormatError, FieldRangeError, FileError, InvalidValueError,
                        InvalidTypeError)):
        return EXIT_DATA
    return EXIT_DATA


# ------------------------------------------------------------- parsing

def parse_value(text: str, what: str = "value") -> int:
    """A 64-bit value as crash and gdb print it: hex, ``0x`` optional."""
    t = text.strip().replace("_", "")
    m = re.fullmatch(r"(?:0[xX])?([0-9a-fA-F]{1,16})", t)
    if not m:
        raise InvalidValueError("%s %r is not a 64-bit hex value (e.g. fffffffffffffc00 or "
                                "0x8000000012345027)" % (what, text))
    return int(m.group(1), 16)


def parse_number(text: str, what: str) -> int:
    """A field value: decimal, or hex with 0x (``0x12345``)."""
    try:
        value = int(text.replace("_", ""), 0)
    except ValueError:
        raise UsageError("--%s %r is not a number (decimal, or hex with 0x)" % (what, text)) \
            from None
    return value


# ------------------------------------------------------------ commands

def cmd_profiles(args: argparse.Namespace, out: TextIO) -> int:
    profiles = [get_profile(name) for name in BUILTIN_PROFILES]
    if args.json:
        out.write(json.dumps([p.describe() for p in profiles], indent=2) + "\n")
        return EXIT_OK
    for p in profiles:
        d = p.describe()
        out.write("%s%s\n  %s\n" % (p.name, "  (default)" if p.name == "linux-6.18" else "",
                                     p.about))
        on = [k for k, v in p.knobs.items() if v]
        out.write("  config: %s\n" % (", ".join(on) or "-"))
        out.write("  swap types: 0-%d swap devices; %s\n" % (
            p.max_swapfiles - 1, ", ".join("%d %s" % (t, n) for n, t in d["swap_types"].items())))
        if p.special_pte:
            out.write("  uffd-wp special PTE: %#x\n" % p.special_pte)
        bits = ", ".join("%s %s" % (k, v) for k, v in d["software_bits"].items() if v != "0x0")
        out.write("  software bits: %s\n\n" % bits)
    out.write("host: derived from uname -r, /proc/config.gz and /proc/cpuinfo.\n")
    out.write("knobs (append +knob or +no_knob): %s\n" % ", ".join(KNOBS))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace, out: TextIO) -> int:
    values = [parse_value(v) for v in args.values]
    level = args.level
    if args.pagemap and level != "pte":
        raise UsageError("--pagemap words describe PTEs; --level %s does not apply" % level)
    profiles = [args.profile] if args.profile else BUILTIN_PROFILES
    profs = [get_profile(p) for p in profiles]
    width = max(len(p.name) for p in profs)
    for n, value in enumerate(values):
        if n:
            out.write("\n")
        if args.pagemap:
            for p in profs:
                out.write(explain_pagemap(value, profile=p) + "\n")
            continue
        if args.profile or args.verbose:
            for p in profs:
                out.write(Pte(value, profile=p, level=level).explain() + "\n")
            continue
        out.write("%#018x%s\n" % (value, "" if level == "pte" else " (%s entry)" % level))
        for p in profs:
            pte = Pte(value, profile=p, level=level)
            row = pte.fields()
            out.write("  %-*s  %s\n" % (width, p.name, summary(row, p, raw=False, level=level)))
            out.write("  %-*s  fault: %s\n" % (width, "", fault_path(row, p, level)))
    return EXIT_OK


_ENCODE_FIELDS = {
    "present": ("pfn", "prot"),
    "swap": ("type", "offset"),
    "migration": ("pfn",),
    "device": ("pfn",),
    "hwpoison": ("pfn",),
    "marker": (),
    "special": (),
}
_ENCODE_FLAGS = {
    "present": (),
    "swap": ("soft_dirty", "uffd_wp", "exclusive"),
    "migration": ("write", "exclusive", "young", "dirty", "soft_dirty", "uffd_wp"),
    "device": ("write", "exclusive", "soft_dirty", "uffd_wp"),
    "hwpoison": (),
    "marker": ("uffd_wp", "poisoned", "guard"),
    "special": (),
}


def cmd_encode(args: argparse.Namespace, out: TextIO) -> int:
    kind = args.kind
    prof = get_profile(args.profile)
    given = {f: getattr(args, f) for f in ("pfn", "prot", "type", "offset")
             if getattr(args, f) is not None}
    for f in given:
        if f not in _ENCODE_FIELDS[kind]:
            raise UsageError("--%s does not apply to %s entries (they take: %s)" % (
                f, kind, ", ".join("--" + x for x in _ENCODE_FIELDS[kind]) or "no fields"))
    for f in _ENCODE_FIELDS[kind]:
        if f not in given:
            raise UsageError("encode %s needs --%s" % (kind, f))
    flags = {f: True for f in ("write", "exclusive", "young", "dirty", "soft_dirty", "uffd_wp",
                               "poisoned", "guard") if getattr(args, f)}
    for f in flags:
        if f not in _ENCODE_FLAGS[kind]:
            raise UsageError("--%s does not apply to %s entries%s" % (
                f.replace("_", "-"), kind, (" (they take: %s)" % ", ".join(
                    "--" + x.replace("_", "-") for x in _ENCODE_FLAGS[kind]))
                if _ENCODE_FLAGS[kind] else ""))
    nums = {f: parse_number(v, f) for f, v in given.items() if f != "prot"}
    if kind == "present":
        prot = given["prot"]
        prot_value: Any = parse_number(prot, "prot") if re.match(r"^(0x|\d)", prot) else prot
        raw = encode_present(nums["pfn"], prot_value, profile=prof)
    elif kind == "swap":
        raw = encode_swap(nums["type"], nums["offset"], profile=prof, **flags)
    elif kind == "migration":
        raw = encode_migration(nums["pfn"], profile=prof, **flags)
    elif kind == "device":
        raw = encode_device(nums["pfn"], profile=prof, **flags)
    elif kind == "hwpoison":
        raw = encode_hwpoison(nums["pfn"], profile=prof)
    elif kind == "marker":
        raw = encode_marker(profile=prof, **flags)
    else:
        raw = encode_special(profile=prof)
    if args.explain:
        out.write(Pte(int(raw), profile=prof).explain() + "\n")
    else:
        out.write("%#018x\n" % int(raw))
    return EXIT_OK


class _Progress:
    """A one-line progress meter on stderr, only when stderr is a terminal."""

    def __init__(self, total: Optional[int], enabled: bool):
        self.total = total
        self.enabled = enabled and total is not None and total > 0 and sys.stderr.isatty()
        self.last = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        pct = int(100 * done / self.total) if self.total else 100
        if pct != self.last:
            self.last = pct
            sys.stderr.write("\rptebits: %3d%% (%d of %d entries)" % (pct, done, self.total))
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled and self.last >= 0:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def cmd_decode(args: argparse.Namespace, out: TextIO) -> int:
    from .dumps import open_dump, read_dump
    from .report import (CsvWriter, Filters, JsonlWriter, NpzWriter, TableWriter,
                         atomic_output, chunk_rows)
    from .summary import DumpSummary, format_summary

    prof = get_profile(args.profile)
    filters = Filters(args.kind, args.flag, args.pfn_range)
    base_va = parse_number(args.base_va, "base-va") if args.base_va else 0
    if args.output == "npz" and not args.out:
        raise UsageError("--output npz needs -o FILE")
    src = open_dump(args.file, args.format, allow_partial=args.allow_partial)
    with src:
        if not args.quiet:
            how = "auto-detected" if src.detected else "as given"
            size = "%d entries" % src.entries if src.entries is not None else "streamed"
            comp = ", %s-compressed" % src.compression if src.compression else ""
            print("ptebits: %s: %s, format %s (%s%s), profile %s, level %s" % (
                src.name, size, src.format, how, comp, prof.name,
                "pagemap words" if src.format == "pagemap" else args.level), file=sys.stderr)
        total = None if src.entries is None else max(0, min(
            src.entries - args.offset, args.count if args.count is not None else src.entries))
        progress = _Progress(total, not args.quiet)
        summ = DumpSummary(prof) if args.summary or args.output == "table" else None
        picture = None
        if args.map:
            from .picture import MapBuilder, check_map_path, require_matplotlib
            check_map_path(args.map)
            require_matplotlib()          # fail before reading a big dump, not after
            picture = MapBuilder(total=total, first_index=args.offset)
        chunks = read_dump(args.file, source=src, profile=prof, level=args.level,
                           offset=args.offset, count=args.count, base_va=base_va)
        binary = args.output == "npz"
        with atomic_output(None if args.summary and not args.out else args.out, binary,
                           stdout=out) as sink:
            writer: Any = None
            npz = NpzWriter() if binary else None
            done = 0
            for chunk in chunks:
                keep = filters.mask(chunk.decoded)
                if summ is not None:
                    summ.add(chunk.decoded, keep)
                if picture is not None:
                    picture.add(chunk.decoded.kind)
                done += len(chunk)
                progress.update(done)
                if args.summary:
                    continue
                if npz is not None:
                    npz.add(chunk, keep)
                    continue
                if writer is None:
                    pagemap = src.format == "pagemap"
                    level = "pagemap" if pagemap else args.level
                    writer = (TableWriter(sink, prof, with_addr=chunk.entry_addr is not None,
                                          level=level)
                              if args.output == "table" else JsonlWriter(sink)
                              if args.output == "jsonl" else
                              CsvWriter(sink, pagemap=pagemap, level=args.level))
                writer.write(chunk_rows(chunk, keep, hide_none=args.output == "table"
                                        and not args.all))
            progress.close()
            if writer is None and args.output == "csv" and not args.summary:
                CsvWriter(sink, pagemap=src.format == "pagemap", level=args.level)  # the header
            if npz is not None:
                npz.save(sink, {"profile": prof.name, "format": src.format, "level": args.level,
                                "file": src.name})
            elif args.summary:
                res = summ.result() if summ is not None else {}
                res.update({"file": src.name, "format": src.format, "level":
                            "pagemap" if src.format == "pagemap" else args.level})
                if args.output == "jsonl":
                    sink.write(json.dumps(res) + "\n")
                else:
                    sink.write(format_summary(res) + "\n")
            elif args.output == "table" and summ is not None:
                if writer is None:
                    TableWriter(sink, prof, with_addr=False)
                res = summ.result()
                sink.write("# %d entries: %s%s\n" % (res["entries"], ", ".join(
                    "%s %d" % kv for kv in res["kinds"].items() if kv[1]) or "none",
                    "; %d matched the filters" % res["matched_by_filters"]
                    if "matched_by_filters" in res else ""))
        if picture is not None:
            info = picture.save(args.map, title="%s (%s, %s)" % (src.name, prof.name, args.level))
            if not args.quiet:
                print("ptebits: wrote %s (%s)" % (args.map, info.title), file=sys.stderr)
    return EXIT_OK


def cmd_diff(args: argparse.Namespace, out: TextIO) -> int:
    from .diff import diff_dumps, format_diff_summary, format_side_by_side, write_jsonl
    d = diff_dumps(args.a, args.b, fmt_a=args.format_a, fmt_b=args.format_b,
                   profile=get_profile(args.profile), level=args.level, offset=args.offset,
                   count=args.count, allow_partial=args.allow_partial)
    with d:
        if not args.quiet:
            print("ptebits: a: %s (%s), b: %s (%s)" % (d.name_a, d.format_a, d.name_b,
                                                       d.format_b), file=sys.stderr)
        if not args.summary:
            (write_jsonl if args.output == "jsonl" else format_side_by_side)(
                d, out, limit=args.limit)
        s = d.finish()
        if args.summary and args.output == "jsonl":
            out.write(json.dumps(s.as_dict()) + "\n")
        elif args.summary or args.output == "table":
            if not args.summary:
                out.write("\n")
            format_diff_summary(s, out)
    return EXIT_OK if s.identical else EXIT_CHECK


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from .bench import format_report, run_codec_bench
    from .bench_fault import format_dispatch_report, run_dispatch_bench
    progress = None if args.json or args.quiet else (
        lambda msg: print("ptebits bench: " + msg, file=sys.stderr))
    if args.max_threads is not None and args.max_threads < 1:
        raise UsageError("--max-threads must be at least 1 (1 skips the thread scaling)")
    if args.faults < 1:
        raise UsageError("--faults must be at least 1")
    suites = set(args.only.split(",")) if args.only else {"codec", "dispatch"}
    if not suites <= {"codec", "dispatch"}:
        raise UsageError("--only takes codec, dispatch or both (codec,dispatch)")
    res: Dict[str, Any] = {}
    ok = True
    if "codec" in suites:
        res = run_codec_bench(args.entries, repeats=args.repeats, seed=args.seed,
                              profile=args.profile, max_threads=args.max_threads,
                              progress=progress)
        checks = res["checks"]
        ok = checks["numpy_columns_identical"] and checks["python_sample_identical"] and \
            checks["threaded_columns_identical"]
    if "dispatch" in suites:
        res["dispatch"] = run_dispatch_bench(args.faults, repeats=min(args.repeats, 5),
                                             profile=args.profile, progress=progress)
        ok = ok and all(res["dispatch"]["checks"].values())
    if args.json:
        out.write(json.dumps(res, indent=2, sort_keys=False) + "\n")
    else:
        parts = [format_report(res)] if "codec" in suites else []
        if "dispatch" in suites:
            parts.append(format_dispatch_report(res["dispatch"]))
        out.write("\n\n".join(parts) + "\n")
    if not ok:
        print("ptebits bench: the baselines or the threaded runs disagree with the C core",
              file=sys.stderr)
    return EXIT_OK if ok else EXIT_CHECK


# -------------------------------------------------------------- parser

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit 2)."""

    def error(self, message: str) -> Any:
        raise UsageError("%s: %s (see %s --help)" % (self.prog, message, self.prog))


def entry_count(text: str) -> int:
    """An argparse type for --offset, --count and --limit: a whole number
    that is not negative (a usage error, exit 2, otherwise)."""
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a whole number" % text) from None
    if value < 0:
        raise argparse.ArgumentTypeError("%d is negative" % value)
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ptebits",
        description="Decode and encode x86-64 page-table entries bit for bit as Linux does.",
        epilog="Exit codes: 0 ok, 1 a check failed, 2 usage, 3 bad input data, "
               "4 something the environment lacks, 130 interrupted.")
    parser.add_argument("--version", action="version", version="ptebits %s" % __version__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    prof_help = ("kernel profile: %s, or host; knobs as +knob / +no_knob (default linux-6.18)"
                 % ", ".join(BUILTIN_PROFILES))

    p = sub.add_parser("explain", help="explain raw PTE values (hex, as crash's pte prints)")
    p.add_argument("values", nargs="+", metavar="VALUE")
    p.add_argument("--profile", help=prof_help + "; without it, every built-in profile")
    p.add_argument("--pagemap", action="store_true", help="the values are pagemap words")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="the full breakdown for every profile")
    p.add_argument("--level", choices=EXPLAIN_LEVELS, default="pte",
                   help="page-table level the values come from: a PMD or PUD entry may be "
                        "a huge leaf or a table pointer, a P4D or PGD entry a table "
                        "pointer (default pte)")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("encode", help="encode an entry from its fields")
    p.add_argument("kind", choices=list(_ENCODE_FIELDS))
    for f, h in (("pfn", "page frame number"), ("prot", "pgprot: a number or a name "
                                                          "such as PAGE_SHARED"),
                 ("type", "swap type"), ("offset", "swap offset")):
        p.add_argument("--" + f, help=h)
    for f in ("write", "exclusive", "young", "dirty", "soft-dirty", "uffd-wp", "poisoned",
              "guard"):
        p.add_argument("--" + f, action="store_true", dest=f.replace("-", "_"))
    p.add_argument("--profile", help=prof_help)
    p.add_argument("--explain", action="store_true", help="explain the result")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("profiles", help="list the kernel profiles")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_profiles)

    p = sub.add_parser("decode", help="decode a dump of any size (raw, npy, hex, gdb, "
                                      "crash, pagemap; .gz/.xz)")
    p.add_argument("file", metavar="FILE", help="dump file, or - for stdin")
    p.add_argument("--format", choices=("auto",) + FORMATS, default="auto",
                   help="input format (default: detected, and said on stderr)")
    p.add_argument("--profile", help=prof_help)
    p.add_argument("--level", choices=LEVELS, default="pte",
                   help="page-table level of the entries (default pte)")
    p.add_argument("--offset", type=entry_count, default=0,
                   help="first entry to read (entries)")
    p.add_argument("--count", type=entry_count, help="entries to read at most")
    p.add_argument("--base-va", help="virtual address entry 0 maps (for the va column)")
    p.add_argument("--output", choices=("table", "jsonl", "csv", "npz"), default="table")
    p.add_argument("-o", "--out", metavar="PATH",
                   help="write the output to PATH (atomically); default stdout")
    p.add_argument("--summary", action="store_true",
                   help="counts per kind, swap type and flag, distinct PFNs, PFN runs "
                        "(human, or one JSON object with --output jsonl)")
    p.add_argument("--all", action="store_true", help="table: include none entries")
    p.add_argument("--kind", help="only these kinds, e.g. swap,marker")
    p.add_argument("--flag", help="only entries with these flags, e.g. uffd_wp (any form)")
    p.add_argument("--pfn-range", metavar="START-END",
                   help="only entries mapping a PFN in [START, END)")
    p.add_argument("--map", metavar="PNG", help="also draw the dump as a picture "
                                               "(needs: pip install 'ptebits[plot]')")
    p.add_argument("--allow-partial", action="store_true",
                   help="decode the complete entries of a file whose size is not a "
                        "multiple of 8 (with a warning)")
    p.add_argument("-q", "--quiet", action="store_true", help="no notes or progress on stderr")
    p.set_defaults(func=cmd_decode)

    p = sub.add_parser("diff", help="what changed between two dumps of the same table "
                                    "(exit 1 when they differ)")
    p.add_argument("a", metavar="A", help="the dump before (file or -)")
    p.add_argument("b", metavar="B", help="the dump after")
    p.add_argument("--format-a", choices=("auto",) + FORMATS, default="auto")
    p.add_argument("--format-b", choices=("auto",) + FORMATS, default="auto")
    p.add_argument("--profile", help=prof_help)
    p.add_argument("--level", choices=LEVELS, default="pte")
    p.add_argument("--offset", type=entry_count, default=0, help="first entry to compare")
    p.add_argument("--count", type=entry_count, help="entries to compare at most")
    p.add_argument("--output", choices=("table", "jsonl"), default="table",
                   help="table: side by side, then the transitions; jsonl: one object a "
                        "changed entry")
    p.add_argument("--summary", action="store_true",
                   help="only the transitions (present -> marker: 12, ...)")
    p.add_argument("--limit", type=entry_count,
                   help="show at most this many changed entries")
    p.add_argument("--allow-partial", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.set_defaults(func=cmd_diff)

    p = sub.add_parser("bench", help="benchmark the C core against baselines")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.add_argument("--entries", type=int, default=16 * 1024 * 1024)
    p.add_argument("--repeats", type=int, default=7,
                   help="interleaved repeats; the median is reported (default 7)")
    p.add_argument("--seed", type=int, default=20211027)
    p.add_argument("--profile", help=prof_help)
    p.add_argument("--max-threads", type=int, metavar="N",
                   help="thread scaling: time decode and classify with 2..N threads "
                        "(default: the CPUs this process may use)")
    p.add_argument("--faults", type=int, default=10 * 1024 * 1024,
                   help="dispatch: faults per run, over as many PTEs (default 10Mi)")
    p.add_argument("--only", metavar="SUITES",
                   help="codec, dispatch, or codec,dispatch (the default)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(func=cmd_bench)
    from . import cli_pagemap           # it uses this module's helpers: import it here
    cli_pagemap.register(sub, prof_help)
    from . import cli_live
    cli_live.register(sub, prof_help)
    from . import cli_simulate
    cli_simulate.register(sub, prof_help)
    return parser


def _warning_line(message: Any, category: Any, filename: str, lineno: int,
                  file: Any = None, line: Any = None) -> None:
    print("ptebits: warning: %s" % message, file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import warnings
    warnings.showwarning = _warning_line
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:          # argparse: --help/--version
        return int(e.code or 0)
    except UsageError as e:
        print("ptebits: error: %s" % e, file=sys.stderr)
        return EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    if getattr(args, "entries", 1) is not None and getattr(args, "entries", 1) < 1:
        print("ptebits: error: --entries must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "repeats", 5) < 1:
        print("ptebits: error: --repeats must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        return args.func(args, sys.stdout)
    except (UsageError, Error) as e:
        print("ptebits: error: %s" % e, file=sys.stderr)
        return _exit_code(e)
    except KeyboardInterrupt:
        print("ptebits: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (ptebits decode big.bin | head): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except OSError as e:
        # a write that failed midway (disk full, file too large): one line
        print("ptebits: error: %s" % (e.strerror or e), file=sys.stderr)
        return EXIT_DATA


def run() -> None:
    sys.exit(main())
