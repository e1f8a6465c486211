"""Run a scenario (``ptebits.scenario``) in the fault model.

The scenario's mapping is one VMA of ``pages`` pages at page 0 of an
:class:`~ptebits.fault.AddressSpace`.  Every step acts page by page in the
listed order, as the live runner's syscalls do; accesses are dispatched
with the scenario's resolution policy (a handler thread that un-protects on
WP, copies on MISSING and continues on MINOR).  After every step the result
holds each page's PTE (raw, kind, uffd-wp in any form) and the pagemap word
the profile's kernel would report for it.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from .codec import Kind, ProfileLike, _profile, decode
from .fault import DEFAULT_FAULT_AROUND_BYTES, AddressSpace, Handler, Outcome
from .pagemap import scenario_pages
from .scenario import MESSAGE_KINDS, load_scenario

__all__ = ["run_model", "SCENARIO_MEMORY", "DEFAULT_FAULT_AROUND_BYTES"]

#: scenario memory kind -> AddressSpace.mmap kind
SCENARIO_MEMORY = {"anon": "anon", "shmem_memfd": "shmem", "shmem_anon": "shared_anon",
                   "shmem_memfd_private": "shmem_private"}
_SIGNAL = {Outcome.SIGBUS: "SIGBUS", Outcome.SIGSEGV: "SIGSEGV", Outcome.HWPOISON: "SIGBUS"}
_PM_BITS = ("present", "swapped", "file", "exclusive", "uffd_wp", "guard")


def _policy(scn: Dict[str, Any]) -> str:
    """The scenario's handler thread: every registered mode is answered."""
    copy = "MISSING+WP" if scn["copy_mode"] == "WP" else "MISSING"
    cont = "MINOR+WP" if scn["continue_mode"] == "WP" else "MINOR"
    return "|".join(("WP", copy, cont))


def run_model(scenario: Any, profile: ProfileLike = None, *,
              fault_around_bytes: int = DEFAULT_FAULT_AROUND_BYTES) -> Dict[str, Any]:
    """Run a scenario (a path, a dict, or a loaded scenario) in the model
    and return the result format shared with the live runner."""
    scn = load_scenario(scenario)
    prof = _profile(profile)
    n = scn["pages"]
    mm = AddressSpace(n, profile=prof, fault_around_bytes=fault_around_bytes)
    vma = mm.mmap(0, n, SCENARIO_MEMORY[scn["memory"]])
    if scn["register"]:
        mm.register(0, n, scn["register"], scn["features"])
    registered = bool(scn["register"])
    event_remove = registered and "EVENT_REMOVE" in scn["features"]
    policy = _policy(scn)
    steps: List[Dict[str, Any]] = []
    for step in scn["steps"]:
        out: Dict[str, Any] = {"op": step["op"],
                               "messages": {k: 0 for k in MESSAGE_KINDS},
                               "handlers": [], "signals": []}
        _run_step(mm, vma.object, step, out, policy, event_remove)
        out["pages"] = _pages(mm, n)
        steps.append(out)
    return {"profile": prof.name, "scenario": scn["name"],
            "settings": {"fault_around_bytes": fault_around_bytes},
            "steps": steps}


def _run_step(mm: AddressSpace, obj: int, step: Dict[str, Any], out: Dict[str, Any],
              policy: str, event_remove: bool) -> None:
    op, pages = step["op"], step.get("pages", [])
    if op in ("read", "write"):
        batch = mm.dispatch(pages, op, resolve=policy)
        for kind, count in batch.message_counts().items():
            out["messages"][kind] += count
        for i, page in enumerate(pages):
            out["handlers"].append({
                "page": page, "handler": str(Handler(batch.handler[i])),
                "last": str(Handler(batch.last[i])), "passes": int(batch.passes[i]),
                "outcome": str(Outcome(batch.outcome[i]))})
            signal = _SIGNAL.get(Outcome(batch.outcome[i]))
            if signal:
                out["signals"].append({"page": page, "signal": signal})
        return
    for page in pages:
        if op in ("wp", "unwp"):
            mm.writeprotect(page, 1, on=op == "wp")
        elif op == "dontneed":
            mm.dontneed(page, 1)
        elif op == "remove":
            mm.remove(page, 1)
        elif op == "punch":
            v = mm.vma_at(page)
            mm.punch(v.object, v.pgoff + page - v.start, 1)
        elif op == "pageout":
            mm.pageout(page, 1)
        elif op == "unregister":
            mm.unregister(page, 1)
        elif op == "mprotect":
            mm.mprotect(page, 1, step["prot"])
        # userfaultfd_remove(): one event per madvise call on a registered VMA
        if op in ("dontneed", "remove") and event_remove:
            out["messages"]["REMOVE"] += 1
    if op == "truncate":
        mm.truncate(obj, step["size_pages"])


def _pages(mm: AddressSpace, n: int) -> List[Dict[str, Any]]:
    """Each page's pagemap view (as the live runner reports it) and, the
    model's inside view, its PTE: raw, kind, uffd-wp in any form."""
    pte = mm.pte[:n]
    d = decode(pte, profile=mm.profile)
    rows = scenario_pages(mm.pagemap(0, n), mm.profile)
    for i, row in enumerate(rows):
        row.update({"raw": "0x%016x" % int(pte[i]), "kind": str(Kind(int(d.kind[i]))),
                    "pte_uffd_wp": int(bool(d.uffd_wp_any[i]))})
    return rows
