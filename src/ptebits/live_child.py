"""The child process of the live runner: sets up one mapping, registers it
with userfaultfd, runs a scenario's steps on the real kernel and writes one
JSON line per step to stdout.  Started by :func:`ptebits.live.run_live` as
``python -m ptebits.live_child`` with ``{"scenario": ..., "profile": ...,
"resolve": bool}`` on stdin; the parent owns the time limit and kills it.

Only two threads run here.  The main thread touches the mapping solely
through ``pb_touch`` (a C call that releases the GIL), so the handler
thread can read the userfaultfd message of a fault the main thread is
blocked in, and resolve it.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
from typing import Any, Dict, List, Optional

import numpy as np

from ._native import ffi, lib
from .pagemap import scenario_pages
from .scenario import MESSAGE_KINDS, has_fd, is_anon, is_shared

PAGE = os.sysconf("SC_PAGE_SIZE")
_out_lock = threading.Lock()


def emit(record: Dict[str, Any]) -> None:
    """One JSON line to the parent, flushed at once: a killed child's
    completed steps are never lost."""
    line = json.dumps(record)
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class SyscallFailed(Exception):
    pass


def check(rc: int, what: str) -> int:
    if rc < 0:
        raise SyscallFailed("%s failed: %s (%s)" % (what, os.strerror(-rc),
                                                    _errno_name(-rc)))
    return rc


def _errno_name(err: int) -> str:
    import errno
    return errno.errorcode.get(err, "errno %d" % err)


# ---------------------------------------------------------------- features

def uffd_features(scn: Dict[str, Any]) -> int:
    """The UFFDIO_API features the scenario asks for, plus the ones shmem
    needs before it may be registered in a mode at all."""
    modes = set((scn["register"] or "").split("|"))
    feats = 0
    for f in scn["features"]:
        feats |= getattr(lib, "PB_UFFD_FEATURE_" + f)
    if not is_anon(scn["memory"]):
        if "WP" in modes:
            feats |= lib.PB_UFFD_FEATURE_WP_HUGETLBFS_SHMEM
        if "MISSING" in modes:
            feats |= lib.PB_UFFD_FEATURE_MISSING_SHMEM
        if "MINOR" in modes:
            feats |= lib.PB_UFFD_FEATURE_MINOR_SHMEM
    return feats


def register_mode(register: str) -> int:
    mode = 0
    for m in register.split("|"):
        mode |= getattr(lib, "PB_UFFDIO_REGISTER_MODE_" + m)
    return mode


# ----------------------------------------------------------------- handler

class Handler(threading.Thread):
    """Reads userfaultfd messages and resolves them by the scenario's rules;
    counts them by kind until the main thread collects the counts."""

    def __init__(self, uffd: int, scn: Dict[str, Any], resolve: bool):
        super().__init__(name="uffd-handler", daemon=True)
        self.uffd = uffd
        self.resolve = resolve
        self.copy_mode = lib.PB_UFFDIO_COPY_MODE_WP if scn["copy_mode"] == "WP" else 0
        self.continue_mode = lib.PB_UFFDIO_CONTINUE_MODE_WP if scn["continue_mode"] == "WP" else 0
        self.src = np.zeros(PAGE, dtype=np.uint8)        # UFFDIO_COPY's fresh page
        self.src_addr = int(ffi.cast("uintptr_t", ffi.from_buffer(self.src)))
        self.cond = threading.Condition()
        self.rounds = 0
        self.counts = dict.fromkeys(MESSAGE_KINDS, 0)
        self.stopping = False
        self.failure: Optional[str] = None

    def run(self) -> None:
        ev = ffi.new("pb_uffd_event *")
        while not self.stopping:
            rc = lib.pb_uffd_next(self.uffd, 10, ev)
            if rc < 0:
                self.fail("reading the userfaultfd failed: %s" % os.strerror(-rc))
                return
            if rc == 1:
                self.handle(ev)
            with self.cond:
                self.rounds += 1
                self.cond.notify_all()

    def handle(self, ev: Any) -> None:
        if ev.event == lib.PB_UFFD_EVENT_REMOVE:
            self.count("REMOVE")
            return
        if ev.event != lib.PB_UFFD_EVENT_PAGEFAULT:
            self.fail("unexpected userfaultfd event 0x%x" % ev.event)
            return
        page_addr = ev.address & ~(PAGE - 1)
        if ev.flags & lib.PB_UFFD_PAGEFAULT_FLAG_WP:
            kind = "WP"
        elif ev.flags & lib.PB_UFFD_PAGEFAULT_FLAG_MINOR:
            kind = "MINOR"
        else:
            kind = "MISSING"
        self.count(kind)
        if not self.resolve:
            return                      # leave the faulting thread waiting
        if kind == "WP":
            rc = lib.pb_uffd_writeprotect(self.uffd, page_addr, PAGE, 0)
            what = "UFFDIO_WRITEPROTECT (un-protect)"
        elif kind == "MINOR":
            rc = lib.pb_uffd_continue(self.uffd, page_addr, PAGE, self.continue_mode)
            what = "UFFDIO_CONTINUE"
        else:
            rc = lib.pb_uffd_copy(self.uffd, page_addr, self.src_addr, PAGE, self.copy_mode)
            what = "UFFDIO_COPY"
        if rc == -17:       # EEXIST: someone mapped it meanwhile; just wake the waiter
            rc = lib.pb_uffd_wake(self.uffd, page_addr, PAGE)
        if rc < 0:
            self.fail("%s of 0x%x for a %s fault failed: %s (%s); the fault stays unresolved"
                      % (what, page_addr, kind, os.strerror(-rc), _errno_name(-rc)))

    def count(self, kind: str) -> None:
        with self.cond:
            self.counts[kind] += 1

    def fail(self, message: str) -> None:
        self.failure = message
        emit({"type": "error", "where": "handler", "message": message})

    def collect(self) -> Dict[str, int]:
        """The step's message counts, once every message the step caused
        has been handled: wait for a full handler round that began after
        the step ended (the kernel has queued everything by then)."""
        with self.cond:
            target = self.rounds + 2
            while self.rounds < target and self.is_alive():
                self.cond.wait(1.0)
            counts, self.counts = self.counts, dict.fromkeys(MESSAGE_KINDS, 0)
        return counts


# ------------------------------------------------------------------ runner

class Runner:
    def __init__(self, scn: Dict[str, Any], profile: str, resolve: bool):
        self.scn = scn
        self.profile = profile
        self.npages = scn["pages"]
        self.length = self.npages * PAGE
        self.fd = -1
        self.uffd = -1
        self.handler: Optional[Handler] = None
        memory = scn["memory"]
        if has_fd(memory):
            self.fd = os.memfd_create("ptebits-" + scn["name"], os.MFD_CLOEXEC)
            os.ftruncate(self.fd, self.length)
        addr = ffi.new("uint64_t *")
        # page 0 at PTE index 0 of its page-table page: fault-around windows are
        # aligned on the virtual address, so this makes them the model's
        check(lib.pb_map(self.length, int(is_shared(memory)), self.fd,
                         lib.PB_LIVE_MAP_ALIGN, addr), "mmap")
        self.addr = int(addr[0])
        # one base page per fault, as the model assumes
        check(lib.pb_madvise(self.addr, self.length, lib.PB_MADV_NOHUGEPAGE),
              "madvise(MADV_NOHUGEPAGE)")
        self.pagemap = os.open("/proc/self/pagemap", os.O_RDONLY)
        if scn["register"]:
            self.uffd = check(lib.pb_userfaultfd(), "userfaultfd()")
            wanted = uffd_features(scn)
            got = ffi.new("uint64_t *")
            check(lib.pb_uffd_api(self.uffd, wanted, got),
                  "UFFDIO_API with features 0x%x" % wanted)
            check(lib.pb_uffd_register(self.uffd, self.addr, self.length,
                                       register_mode(scn["register"])),
                  "UFFDIO_REGISTER %s" % scn["register"])
            self.handler = Handler(self.uffd, scn, resolve)
            self.handler.start()
        emit({"type": "setup", "address": "0x%x" % self.addr, "page_size": PAGE,
              "uffd_features": "0x%x" % (uffd_features(scn) if scn["register"] else 0)})

    def page(self, p: int) -> int:
        return self.addr + p * PAGE

    def run_step(self, step: Dict[str, Any]) -> Dict[str, Any]:
        op = step["op"]
        signals: List[Dict[str, Any]] = []
        if op == "truncate":
            os.ftruncate(self.fd, step["size_pages"] * PAGE)
        for p in step.get("pages", []):
            a = self.page(p)
            what = "%s of page %d" % (op, p)
            if op in ("read", "write"):
                sig = check(lib.pb_touch(a, lib.PB_TOUCH_WRITE if op == "write"
                                         else lib.PB_TOUCH_READ), what)
                if sig:
                    signals.append({"page": p, "signal": signal.Signals(sig).name})
            elif op in ("wp", "unwp"):
                mode = lib.PB_UFFDIO_WRITEPROTECT_MODE_WP if op == "wp" else 0
                check(lib.pb_uffd_writeprotect(self.uffd, a, PAGE, mode), what)
            elif op in ("dontneed", "remove", "pageout"):
                advice = {"dontneed": lib.PB_MADV_DONTNEED, "remove": lib.PB_MADV_REMOVE,
                          "pageout": lib.PB_MADV_PAGEOUT}[op]
                check(lib.pb_madvise(a, PAGE, advice), what)
            elif op == "punch":
                check(lib.pb_punch_hole(self.fd, p * PAGE, PAGE), what)
            elif op == "unregister":
                check(lib.pb_uffd_unregister(self.uffd, a, PAGE), what)
            elif op == "mprotect":
                prot = lib.PB_PROT_READ | (lib.PB_PROT_WRITE if step["prot"] == "rw" else 0)
                check(lib.pb_mprotect(a, PAGE, prot), what)
        messages = (self.handler.collect() if self.handler
                    else dict.fromkeys(MESSAGE_KINDS, 0))
        return {"op": op, "messages": messages, "signals": signals, "pages": self.pages(),
                "vmas": self.vmas()}

    def vmas(self) -> List[str]:
        """The /proc/self/maps lines over the mapping: how the steps split
        it (an unregister or mprotect of one page splits the VMA, and
        fault-around never crosses a VMA boundary)."""
        out = []
        with open("/proc/self/maps") as f:
            for line in f:
                lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                if lo < self.addr + self.length and hi > self.addr:
                    out.append("pages %d-%d %s" % ((lo - self.addr) // PAGE,
                                                   (hi - self.addr) // PAGE - 1,
                                                   line.split()[1]))
        return out

    def pages(self) -> List[Dict[str, Any]]:
        """Every page of the mapping as /proc/self/pagemap shows it now."""
        raw = os.pread(self.pagemap, 8 * self.npages, (self.addr // PAGE) * 8)
        return scenario_pages(np.frombuffer(raw, dtype="<u8"), self.profile)


def main() -> int:
    request = json.load(sys.stdin)
    scn = request["scenario"]
    try:
        runner = Runner(scn, request.get("profile", "host"), request.get("resolve", True))
        for i, step in enumerate(scn["steps"]):
            emit({"type": "begin", "index": i})
            emit({"type": "step", "index": i, "step": runner.run_step(step)})
    except SyscallFailed as e:
        emit({"type": "error", "where": "step", "message": str(e)})
        return 1
    emit({"type": "done"})
    return 0


if __name__ == "__main__":
    sys.exit(main())
