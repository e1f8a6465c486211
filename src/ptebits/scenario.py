"""Scenario files: one small address space, a userfaultfd registration and
a list of steps, run the same way by the fault model (``simulate``) and by
the live kernel runner (``live``).

``load_scenario`` checks everything before anything runs and returns a
normalized dict, so both runners can trust it:

* ``name``: the file stem (or the dict's ``name``, else ``"scenario"``)
* ``memory``: one of :data:`MEMORY_KINDS`
* ``pages``: the mapping's length in pages (1 .. :data:`MAX_PAGES`)
* ``register``: ``None`` or the modes joined by ``|`` in the order
  MISSING, WP, MINOR (``"MISSING|WP"``)
* ``features``: sorted list from :data:`FEATURES`
* ``copy_mode`` / ``continue_mode``: ``""`` or ``"WP"``
* ``steps``: dicts with ``op`` and ``pages`` (page indices in the order
  given; all pages when the file leaves them out), plus ``prot`` for
  ``mprotect`` and ``size_pages`` for ``truncate``.

Semantics shared by both runners: each op acts page by page in the listed
order, one syscall per page; ``truncate`` is one ftruncate.  Messages are
resolved by a handler thread: WP → un-protect the page; MISSING →
UFFDIO_COPY of a fresh page (mode WP when ``copy_mode`` is ``"WP"``); MINOR
→ UFFDIO_CONTINUE (mode WP when ``continue_mode`` is ``"WP"``); with
EVENT_REMOVE, remove events are counted as ``"REMOVE"``.
"""
from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from .errors import FileError, ScenarioError

__all__ = ["load_scenario", "MEMORY_KINDS", "REGISTER_MODES", "FEATURES", "OPS",
           "PROTS", "MAX_PAGES", "MESSAGE_KINDS", "SIGNALS", "SCHEMA_PATH", "CORPUS_DIR",
           "corpus_paths",
           "has_fd", "is_shared", "is_anon"]

#: anon: MAP_PRIVATE|MAP_ANONYMOUS; shmem_memfd: MAP_SHARED of a memfd;
#: shmem_anon: MAP_SHARED|MAP_ANONYMOUS; shmem_memfd_private: MAP_PRIVATE of a memfd.
MEMORY_KINDS: Tuple[str, ...] = ("anon", "shmem_memfd", "shmem_anon", "shmem_memfd_private")
#: userfaultfd registration modes, in their canonical order.
REGISTER_MODES: Tuple[str, ...] = ("MISSING", "WP", "MINOR")
FEATURES: Tuple[str, ...] = ("EVENT_REMOVE", "WP_ASYNC", "WP_UNPOPULATED")
OPS: Tuple[str, ...] = ("read", "write", "wp", "unwp", "dontneed", "punch", "remove",
                        "pageout", "unregister", "mprotect", "truncate")
PROTS: Tuple[str, ...] = ("r", "rw")
MODES: Tuple[str, ...] = ("", "WP")
#: message counters of every step, in this order.
MESSAGE_KINDS: Tuple[str, ...] = ("WP", "MISSING", "MINOR", "REMOVE")
SIGNALS: Tuple[str, ...] = ("SIGBUS", "SIGSEGV")
#: a scenario is a handful of pages to look at one by one, not a benchmark.
MAX_PAGES = 4096

_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SCHEMA_PATH = os.path.join(_DATA, "scenario.schema.json")
#: the shipped corpus (``ptebits verify`` with no arguments runs all of it).
CORPUS_DIR = os.path.join(_DATA, "scenarios")

_TOP_KEYS = ("name", "description", "memory", "pages", "register", "features",
             "copy_mode", "continue_mode", "steps")
_STEP_KEYS = {"mprotect": ("op", "pages", "prot"), "truncate": ("op", "size_pages")}


def has_fd(memory: str) -> bool:
    """The memory kind has a file descriptor to punch or truncate (a memfd)."""
    return memory in ("shmem_memfd", "shmem_memfd_private")


def is_shared(memory: str) -> bool:
    """The mapping is MAP_SHARED."""
    return memory in ("shmem_memfd", "shmem_anon")


def is_anon(memory: str) -> bool:
    """The mapping is anonymous private memory (no shmem object behind it)."""
    return memory == "anon"


def corpus_paths() -> List[str]:
    """The shipped scenario files, sorted by name."""
    return sorted(os.path.join(CORPUS_DIR, f) for f in os.listdir(CORPUS_DIR)
                  if f.endswith(".json"))


def load_scenario(source: Union[str, "os.PathLike[str]", Dict[str, Any]]) -> Dict[str, Any]:
    """Read and check a scenario (a path, or an already-parsed dict); return
    the normalized dict described in the module docstring.  Raises
    :class:`ScenarioError` naming the step and field, :class:`FileError`
    for a file that cannot be read."""
    if isinstance(source, dict):
        raw: Any = source
        default_name = "scenario"
        where = "scenario"
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        where = path
        default_name = os.path.splitext(os.path.basename(path))[0] or "scenario"
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise FileError("scenario %s: no such file" % path) from None
        except (OSError, UnicodeDecodeError) as e:
            raise FileError("scenario %s: cannot read: %s" % (path, e)) from None
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            raise ScenarioError("scenario %s: line %d column %d: bad JSON: %s"
                                % (path, e.lineno, e.colno, e.msg), line=e.lineno) from None
    else:
        raise ScenarioError("scenario must be a path or a dict, not %s" % type(source).__name__)
    return _Checker(where).check(raw, default_name)


class _Checker:
    def __init__(self, where: str):
        self.where = where

    def fail(self, message: str, *, step: Optional[int] = None,
             field: Optional[str] = None) -> ScenarioError:
        at = self.where
        if step is not None:
            at += ": step %d" % step
        if field is not None:
            at += ": %r" % field
        return ScenarioError("%s: %s" % (at, message), step=step, field=field)

    # ---------------------------------------------------------- top level

    def check(self, raw: Any, default_name: str) -> Dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail("must be a JSON object, not %s" % type(raw).__name__)
        unknown = sorted(set(raw) - set(_TOP_KEYS))
        if unknown:
            raise self.fail("unknown key %r (known: %s)" % (unknown[0], ", ".join(_TOP_KEYS)),
                            field=unknown[0])
        name = raw.get("name", default_name)
        if not isinstance(name, str) or not name:
            raise self.fail("must be a non-empty string", field="name")
        if "description" in raw and not isinstance(raw["description"], str):
            raise self.fail("must be a string", field="description")
        memory = self.choice(raw, "memory", MEMORY_KINDS, required=True)
        pages = raw.get("pages")
        if "pages" not in raw:
            raise self.fail("is required: the mapping's length in pages", field="pages")
        if not _is_int(pages) or not 1 <= pages <= MAX_PAGES:
            raise self.fail("must be an integer from 1 to %d, not %r" % (MAX_PAGES, pages),
                            field="pages")
        register = self.register(raw.get("register"), memory)
        modes = set(register.split("|")) if register else set()
        features = self.features(raw.get("features", []), modes)
        copy_mode = self.choice(raw, "copy_mode", MODES, default="")
        continue_mode = self.choice(raw, "continue_mode", MODES, default="")
        if copy_mode == "WP" and not {"MISSING", "WP"} <= modes:
            raise self.fail('"WP" needs a MISSING|WP registration (UFFDIO_COPY_MODE_WP '
                            "write-protects the copied page)", field="copy_mode")
        if continue_mode == "WP" and not {"MINOR", "WP"} <= modes:
            raise self.fail('"WP" needs a MINOR|WP registration (UFFDIO_CONTINUE_MODE_WP '
                            "write-protects the continued page)", field="continue_mode")
        steps = raw.get("steps")
        if not isinstance(steps, list) or not steps:
            raise self.fail("must be a non-empty list of steps", field="steps")
        state = _State(pages, modes)
        out_steps = [self.step(i + 1, s, memory, pages, state) for i, s in enumerate(steps)]
        return {"name": name, "memory": memory, "pages": pages, "register": register,
                "features": features, "copy_mode": copy_mode, "continue_mode": continue_mode,
                "steps": out_steps}

    def choice(self, raw: Dict[str, Any], key: str, allowed: Tuple[str, ...], *,
               required: bool = False, default: str = "") -> str:
        if key not in raw:
            if required:
                raise self.fail("is required (one of %s)" % ", ".join(map(repr, allowed)),
                                field=key)
            return default
        value = raw[key]
        if value not in allowed or not isinstance(value, str):
            raise self.fail("must be one of %s, not %r" % (", ".join(map(repr, allowed)), value),
                            field=key)
        return value

    def register(self, value: Any, memory: str) -> Optional[str]:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self.fail('must be null or modes joined by "|" such as "MISSING|WP", not %r'
                            % (value,), field="register")
        parts = value.split("|")
        for p in parts:
            if p not in REGISTER_MODES:
                raise self.fail("unknown mode %r (known: %s)" % (p, ", ".join(REGISTER_MODES)),
                                field="register")
        if len(set(parts)) != len(parts):
            raise self.fail("names a mode twice: %r" % value, field="register")
        if "MINOR" in parts and is_anon(memory):
            raise self.fail("MINOR cannot be registered on anonymous private memory "
                            "(minor faults exist only for shmem and hugetlbfs)",
                            field="register")
        return "|".join(m for m in REGISTER_MODES if m in parts)

    def features(self, value: Any, modes: Set[str]) -> List[str]:
        if not isinstance(value, list):
            raise self.fail("must be a list of %s" % ", ".join(FEATURES), field="features")
        for f in value:
            if f not in FEATURES or not isinstance(f, str):
                raise self.fail("unknown feature %r (known: %s)" % (f, ", ".join(FEATURES)),
                                field="features")
        if len(set(value)) != len(value):
            raise self.fail("names a feature twice", field="features")
        for f in ("WP_UNPOPULATED", "WP_ASYNC"):
            if f in value and "WP" not in modes:
                raise self.fail("%s needs a registration with WP" % f, field="features")
        if "EVENT_REMOVE" in value and not modes:
            raise self.fail("EVENT_REMOVE needs a registration (events are reported only "
                            "for registered ranges)", field="features")
        return sorted(value)

    # -------------------------------------------------------------- steps

    def step(self, n: int, raw: Any, memory: str, npages: int,
             state: "_State") -> Dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail("must be an object with an \"op\"", step=n)
        op = raw.get("op")
        if op not in OPS or not isinstance(op, str):
            raise self.fail("unknown op %r (known: %s)" % (op, ", ".join(OPS)),
                            step=n, field="op")
        allowed = _STEP_KEYS.get(op, ("op", "pages"))
        unknown = sorted(set(raw) - set(allowed))
        if unknown:
            raise self.fail("unknown key %r for op %r (allowed: %s)"
                            % (unknown[0], op, ", ".join(allowed)), step=n, field=unknown[0])
        out: Dict[str, Any] = {"op": op}
        if op == "truncate":
            if not has_fd(memory):
                raise self.fail("truncate needs a file descriptor: memory %r has none "
                                "(use shmem_memfd or shmem_memfd_private)" % memory,
                                step=n, field="op")
            size = raw.get("size_pages")
            if not _is_int(size) or not 0 <= size <= npages:
                raise self.fail("must be an integer from 0 to %d (the mapping's pages), not %r"
                                % (npages, size), step=n, field="size_pages")
            out["size_pages"] = size
            return out
        pages = self.pages(n, raw, npages)
        out["pages"] = pages
        if op == "mprotect":
            prot = raw.get("prot")
            if prot not in PROTS or not isinstance(prot, str):
                raise self.fail("must be one of %s, not %r" % (", ".join(map(repr, PROTS)), prot),
                                step=n, field="prot")
            out["prot"] = prot
            for p in pages:
                state.writable[p] = prot == "rw"
        elif op == "punch" and not has_fd(memory):
            raise self.fail("punch (fallocate PUNCH_HOLE) needs a file descriptor: memory %r "
                            "has none (use shmem_memfd or shmem_memfd_private)" % memory,
                            step=n, field="op")
        elif op == "remove":
            if not is_shared(memory):
                raise self.fail("remove (MADV_REMOVE) needs a shared mapping: memory %r is "
                                "private (use shmem_memfd or shmem_anon)" % memory,
                                step=n, field="op")
            ro = [p for p in pages if not state.writable[p]]
            if ro:
                raise self.fail("remove (MADV_REMOVE) needs a writable mapping: page %d was "
                                "made read-only by mprotect" % ro[0], step=n, field="pages")
        elif op in ("wp", "unwp"):
            if "WP" not in state.modes:
                raise self.fail("%s needs a registration with WP (register is %s)"
                                % (op, "|".join(sorted(state.modes)) or "null"),
                                step=n, field="op")
            gone = [p for p in pages if not state.registered[p]]
            if gone:
                raise self.fail("%s of page %d after it was unregistered" % (op, gone[0]),
                                step=n, field="pages")
        elif op == "unregister":
            if not state.modes:
                raise self.fail("unregister needs a registration (register is null)",
                                step=n, field="op")
            for p in pages:
                state.registered[p] = False
        return out

    def pages(self, n: int, raw: Dict[str, Any], npages: int) -> List[int]:
        if "pages" not in raw:
            return list(range(npages))
        pages = raw["pages"]
        if not isinstance(pages, list) or not pages:
            raise self.fail("must be a non-empty list of page indices (leave it out for all "
                            "pages)", step=n, field="pages")
        for p in pages:
            if not _is_int(p) or not 0 <= p < npages:
                raise self.fail("page %r out of range 0..%d" % (p, npages - 1),
                                step=n, field="pages")
        return list(pages)


class _State:
    """What earlier steps changed that later steps' validity depends on."""

    def __init__(self, npages: int, modes: Set[str]):
        self.modes = modes
        self.writable = [True] * npages
        self.registered = [bool(modes)] * npages


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
