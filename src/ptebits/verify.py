"""Compare the fault model with the live kernel on scenarios.

Both runners return the same result format (see ``ptebits.scenario``); only
the part user space can see is compared: per step the message counts and
the signals, per page the entry's class and its pagemap bits.  The raw PTE,
its kind, uffd-wp in the PTE and the handlers are the model's inside view.
"""
from __future__ import annotations

from typing import Any, Dict, List

__all__ = ["observable", "PAGE_KEYS"]

#: what pagemap shows of a page: the class of the pagemap word and its bits.
PAGE_KEYS = ("class", "present", "swapped", "file", "exclusive", "uffd_wp", "guard")


def observable(result: Dict[str, Any]) -> Dict[str, Any]:
    """The part of a model or live result that user space can see."""
    steps: List[Dict[str, Any]] = []
    for step in result.get("steps", []):
        out: Dict[str, Any] = {"op": step["op"], "messages": dict(step.get("messages", {})),
                               "signals": [{"page": s["page"], "signal": s["signal"]}
                                           for s in step.get("signals", [])]}
        out["pages"] = [{"page": p["page"], **{k: p[k] for k in PAGE_KEYS if k in p}}
                        for p in step.get("pages", [])]
        steps.append(out)
    return {"scenario": result.get("scenario"), "steps": steps}
