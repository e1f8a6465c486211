"""Compare the fault model with the live kernel on scenarios.

Both runners return the same result format (see ``ptebits.scenario``); only
the part user space can see is compared: per step the message counts and
the signals, per page the entry's class and its pagemap bits.  The raw PTE,
its kind, uffd-wp in the PTE and the handlers are the model's inside view;
PFNs and swap offsets depend on the allocator and are never compared.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, TextIO, Tuple

from .errors import LiveUnavailable
from .scenario import MESSAGE_KINDS

__all__ = ["observable", "PAGE_KEYS", "compare", "Comparison", "verify_scenarios",
           "host_mismatch", "format_page"]

#: what pagemap shows of a page: the class of the pagemap word and its bits.
PAGE_KEYS = ("class", "present", "swapped", "file", "exclusive", "uffd_wp", "guard")
_BIT_LETTERS = (("present", "P"), ("swapped", "S"), ("file", "F"), ("exclusive", "E"),
                ("uffd_wp", "U"), ("guard", "G"))


def observable(result: Dict[str, Any]) -> Dict[str, Any]:
    """The part of a model or live result that user space can see."""
    steps: List[Dict[str, Any]] = []
    for step in result.get("steps", []):
        msgs = step.get("messages", {})
        out: Dict[str, Any] = {"op": step["op"],
                               "messages": {k: int(msgs.get(k, 0)) for k in MESSAGE_KINDS},
                               "signals": [{"page": s["page"], "signal": s["signal"]}
                                           for s in step.get("signals", [])]}
        out["pages"] = [{"page": p["page"], **{k: p[k] for k in PAGE_KEYS if k in p}}
                        for p in step.get("pages", [])]
        steps.append(out)
    return {"scenario": result.get("scenario"), "steps": steps}


def format_page(page: Optional[Dict[str, Any]]) -> str:
    """``marker .S..U.``: the class and the pagemap bits, one letter each
    (Present, Swapped, File, Exclusive, Uffd-wp, Guard)."""
    if page is None:
        return "(missing)"
    return "%s %s" % (page.get("class", "?"), "".join(
        letter if page.get(k) else "." for k, letter in _BIT_LETTERS))


def _format_messages(m: Dict[str, int]) -> str:
    return " ".join("%s:%d" % (k, v) for k, v in m.items() if v) or "-"


def _format_signals(s: List[Dict[str, Any]]) -> str:
    return " ".join("%d:%s" % (x["page"], x["signal"]) for x in s) or "-"


class Comparison:
    """The outcome for one scenario: ``status`` is ``agree``, ``differ``,
    ``failed`` (the live run did not finish) or ``skipped`` (the
    environment lacks something, e.g. swap); ``rows`` are the differing
    lines ``(step, what, model, live)``."""

    def __init__(self, name: str, status: str, rows: Sequence[Tuple[str, str, str, str]] = (),
                 reason: str = ""):
        self.name = name
        self.status = status
        self.rows = list(rows)
        self.reason = reason


def compare(name: str, model: Dict[str, Any], live: Dict[str, Any]) -> Comparison:
    """Compare the observable parts of a model and a live result."""
    a, b = observable(model), observable(live)
    rows: List[Tuple[str, str, str, str]] = []
    if len(a["steps"]) != len(b["steps"]):
        rows.append(("-", "steps", str(len(a["steps"])), str(len(b["steps"]))))
    for i, (sa, sb) in enumerate(zip(a["steps"], b["steps"])):
        where = "%d %s" % (i + 1, sa["op"])
        if sa["messages"] != sb["messages"]:
            rows.append((where, "messages", _format_messages(sa["messages"]),
                         _format_messages(sb["messages"])))
        if sa["signals"] != sb["signals"]:
            rows.append((where, "signals", _format_signals(sa["signals"]),
                         _format_signals(sb["signals"])))
        pa = {p["page"]: p for p in sa["pages"]}
        pb = {p["page"]: p for p in sb["pages"]}
        for page in sorted(set(pa) | set(pb)):
            if pa.get(page) != pb.get(page):
                rows.append((where, "page %d" % page, format_page(pa.get(page)),
                             format_page(pb.get(page))))
    return Comparison(name, "differ" if rows else "agree", rows)


def host_mismatch(model: Dict[str, Any], host: Dict[str, Any]) -> Optional[str]:
    """Why this host's settings make a comparison meaningless, or None.
    The model states the fault-around window it assumed (``settings``);
    a host whose window is known and different cannot be compared."""
    assumed = (model.get("settings") or {}).get("fault_around_bytes")
    actual = host.get("fault_around_bytes")
    if assumed is not None and actual is not None and int(assumed) != int(actual):
        return ("this host's fault_around_bytes is %d, the model assumes %d "
                "(set /sys/kernel/debug/fault_around_bytes or the model's setting)"
                % (actual, assumed))
    return None


def verify_scenarios(scenarios: Sequence[Dict[str, Any]], *, profile: str,
                     run_model: Callable[[Dict[str, Any], str], Dict[str, Any]],
                     run_live: Callable[..., Dict[str, Any]], timeout: float,
                     progress: Optional[Callable[[str], None]] = None) -> List[Comparison]:
    """Run each (normalized) scenario in the model and live; compare."""
    from .live import LiveRunError
    out: List[Comparison] = []
    for scn in scenarios:
        if progress:
            progress(scn["name"])
        model = run_model(scn, profile)
        try:
            live = run_live(scn, timeout=timeout, profile=profile)
        except LiveUnavailable as e:
            if "pageout" in str(e) or "swap" in str(e):
                out.append(Comparison(scn["name"], "skipped", reason=str(e)))
                continue
            raise
        except LiveRunError as e:
            out.append(Comparison(scn["name"], "failed", reason=str(e)))
            continue
        reason = host_mismatch(model, live.get("host", {}))
        if reason:
            out.append(Comparison(scn["name"], "skipped", reason=reason))
            continue
        out.append(compare(scn["name"], model, live))
    return out


def report(results: Sequence[Comparison], out: TextIO, *, model_label: str,
           live_label: str) -> None:
    """Side by side, per scenario: the differing steps and pages."""
    for r in results:
        if r.status == "agree":
            out.write("agree   %s\n" % r.name)
            continue
        if r.status in ("skipped", "failed"):
            out.write("%-7s %s: %s\n" % (r.status, r.name, r.reason))
            continue
        out.write("DIFFER  %s\n" % r.name)
        w1 = max([len(x[0]) for x in r.rows] + [4])
        w2 = max([len(x[1]) for x in r.rows] + [4])
        w3 = max([len(x[2]) for x in r.rows] + [len(model_label)])
        out.write("    %-*s  %-*s  %-*s  %s\n" % (w1, "step", w2, "", w3, model_label, live_label))
        for step, what, a, b in r.rows:
            out.write("    %-*s  %-*s  %-*s  %s\n" % (w1, step, w2, what, w3, a, b))
    n_agree = sum(r.status == "agree" for r in results)
    n_differ = sum(r.status in ("differ", "failed") for r in results)
    n_skipped = sum(r.status == "skipped" for r in results)
    line = "%d scenarios agree, %d differ" % (n_agree, n_differ)
    if n_skipped:
        line += ", %d skipped" % n_skipped
    out.write(line + "\n")
