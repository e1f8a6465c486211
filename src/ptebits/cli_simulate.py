"""``ptebits simulate``: run a scenario in the fault model (or, with
``--live``, on this kernel) and print every step (registered into the main
parser by :func:`register`)."""
from __future__ import annotations

import argparse
import json
from typing import Any, Dict, TextIO

from .fault import DEFAULT_FAULT_AROUND_BYTES
from .scenario import load_scenario

__all__ = ["register", "format_result"]


def register(sub: Any, prof_help: str) -> None:
    p = sub.add_parser(
        "simulate", help="run a scenario file in the fault model and print each step",
        description="Runs SCENARIO.json (memory, registration, steps; see the README) in "
                    "the fault model: after every step each page's PTE (raw and decoded), "
                    "its pagemap view under the profile, and the step's userfaultfd "
                    "messages, handlers and signals.  --live runs it on this kernel "
                    "instead (root, userfaultfd), which shows only the pagemap view.")
    p.add_argument("scenario", metavar="SCENARIO.json")
    p.add_argument("--profile", help=prof_help)
    p.add_argument("--output", choices=("table", "json"), default="table")
    p.add_argument("--fault-around-bytes", type=int, default=DEFAULT_FAULT_AROUND_BYTES,
                   help="the model's fault_around_bytes (default %d)"
                        % DEFAULT_FAULT_AROUND_BYTES)
    p.add_argument("--live", action="store_true",
                   help="run on the live kernel in a time-limited child process")
    p.add_argument("--timeout", type=float, default=None,
                   help="--live: seconds before the child is killed")
    p.set_defaults(func=cmd_simulate)


def cmd_simulate(args: argparse.Namespace, out: TextIO) -> int:
    scn = load_scenario(args.scenario)               # exit 3 on a bad file, before any run
    if args.live:
        from .live import DEFAULT_TIMEOUT, run_live
        result = run_live(scn, timeout=args.timeout or DEFAULT_TIMEOUT,
                          profile=args.profile or "host")
    else:
        from .simulate import run_model
        result = run_model(scn, args.profile, fault_around_bytes=args.fault_around_bytes)
    if args.output == "json":
        out.write(json.dumps(result, indent=1) + "\n")
    else:
        out.write(format_result(result))
    return 0


_LETTERS = (("present", "P"), ("swapped", "S"), ("file", "F"), ("exclusive", "E"),
            ("uffd_wp", "U"), ("guard", "G"))


def format_result(result: Dict[str, Any]) -> str:
    """One block per step: messages, handlers and signals, then a row per page."""
    lines = ["scenario %s, profile %s" % (result.get("scenario"), result.get("profile"))]
    for i, step in enumerate(result["steps"], 1):
        msgs = " ".join("%s:%d" % kv for kv in step["messages"].items() if kv[1]) or "-"
        lines.append("")
        lines.append("step %d: %s   messages %s" % (i, step["op"], msgs))
        handlers = step.get("handlers") or []
        if handlers:
            lines.append("  faults: " + ", ".join(
                "%d %s%s" % (h["page"], h["handler"],
                             "" if h.get("passes", 1) == 1 and h["handler"] == h.get("last")
                             else " -> %s (%d passes)" % (h.get("last"), h.get("passes", 1)))
                for h in handlers))
        if step.get("signals"):
            lines.append("  signals: " + ", ".join("%d %s" % (s["page"], s["signal"])
                                                   for s in step["signals"]))
        model = bool(step["pages"]) and "raw" in step["pages"][0]
        if model:
            lines.append("  %4s  %-18s %-15s %-3s  %-18s %-8s %s" % (
                "page", "pte", "kind", "wp", "pagemap", "class", "bits"))
        else:
            lines.append("  %4s  %-18s %-8s %s" % ("page", "pagemap", "class", "bits"))
        for p in step["pages"]:
            bits = "".join(letter if p.get(k) else "." for k, letter in _LETTERS)
            if model:
                lines.append("  %4d  %s %-15s %-3s  %s %-8s %s" % (
                    p["page"], p["raw"], p["kind"], "wp" if p["pte_uffd_wp"] else "-",
                    p["pagemap"], p["class"], bits))
            else:
                lines.append("  %4d  %s %-8s %s" % (p["page"], p.get("pagemap", "?"),
                                                    p["class"], bits))
    lines.append("")
    lines.append("pagemap bits: P present, S swapped, F file/shared, E exclusive, "
                 "U uffd-wp, G guard")
    return "\n".join(lines) + "\n"
