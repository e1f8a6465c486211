"""Run a scenario on the real kernel: the live half of ``ptebits verify``
and ``ptebits simulate --live``.

The scenario runs in a child process (``ptebits.live_child``) with a hard
time limit: a fault nobody resolves, or a kernel that behaves unexpectedly,
costs one killed child, never a hung or crashed caller.  The supervising
parent owns what must be cleaned up whatever the child did: the swap file a
``pageout`` step needs is created, ``swapon``-ed, ``swapoff``-ed and
deleted here.

The result has the model's format (see :mod:`ptebits.scenario`) without the
parts user space cannot see (raw PTE, handlers), plus ``host``: the settings
of this machine that change results (THP modes, ``fault_around_bytes``).
"""
from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence

from .errors import Error, InvalidValueError, LiveUnavailable
from .scenario import load_scenario

__all__ = ["run_live", "host_settings", "live_available", "swap_file", "LiveRunError",
           "DEFAULT_TIMEOUT", "SWAP_DIRS"]

#: seconds a scenario may take; a scenario is a few dozen syscalls, so this
#: only ever fires on a hang (a fault nobody resolves).
DEFAULT_TIMEOUT = 20.0
#: where a swap file may go, in order of preference (the filesystem must
#: support swap files: ext4, xfs, btrfs with care; not tmpfs or overlayfs).
SWAP_DIRS = ("/var/tmp", "/tmp", "/work", "/root")
SWAP_BYTES = 32 << 20

_THP = "/sys/kernel/mm/transparent_hugepage"
_DEBUGFS = "/sys/kernel/debug"


class LiveRunError(Error, RuntimeError):
    """A live run that did not finish: a system call failed, the handler
    could not resolve a message, or the time limit killed the child.
    ``partial`` holds the steps that completed."""

    def __init__(self, message: str, *, partial: Optional[Dict[str, Any]] = None,
                 timed_out: bool = False):
        super().__init__(message)
        self.partial = partial
        self.timed_out = timed_out


# ------------------------------------------------------------ environment

def live_available() -> Optional[str]:
    """None when live runs can work here, else the reason they cannot."""
    if sys.platform != "linux":
        return "live runs need Linux (this is %s)" % sys.platform
    if os.geteuid() != 0:
        return ("live runs need root: pagemap hides PFNs and swap entries from others, "
                "and swap files need swapon (run as root)")
    if not os.path.exists("/proc/sys/vm/unprivileged_userfaultfd") and \
            not os.path.exists("/dev/userfaultfd"):
        return "this kernel has no userfaultfd (CONFIG_USERFAULTFD is off)"
    if not os.path.exists("/proc/self/pagemap"):
        return "this kernel has no /proc/PID/pagemap (CONFIG_PROC_PAGE_MONITOR is off)"
    return None


def _read(path: str) -> Optional[str]:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _selected(text: Optional[str]) -> Optional[str]:
    """``always [madvise] never`` → ``madvise``."""
    if text is None:
        return None
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text


def host_settings() -> Dict[str, Any]:
    """The settings of this machine that change what a scenario shows:
    THP modes (anonymous, shmem, and each mTHP size) and the fault-around
    window.  A value that cannot be read is None."""
    host: Dict[str, Any] = {
        "kernel": os.uname().release,
        "thp_enabled": _selected(_read(os.path.join(_THP, "enabled"))),
        "thp_shmem_enabled": _selected(_read(os.path.join(_THP, "shmem_enabled"))),
    }
    mthp: Dict[str, Any] = {}
    try:
        sizes = sorted(d for d in os.listdir(_THP) if d.startswith("hugepages-"))
    except OSError:
        sizes = []
    for d in sizes:
        for knob in ("enabled", "shmem_enabled"):
            value = _selected(_read(os.path.join(_THP, d, knob)))
            if value is not None:
                mthp["%s/%s" % (d, knob)] = value
    host["mthp"] = mthp
    host["fault_around_bytes"] = _fault_around_bytes()
    return host


def _fault_around_bytes() -> Optional[int]:
    """/sys/kernel/debug/fault_around_bytes; debugfs is mounted for the
    read (and unmounted again) when it is not mounted and we are root."""
    path = os.path.join(_DEBUGFS, "fault_around_bytes")
    text = _read(path)
    if text is None and os.geteuid() == 0 and os.path.isdir(_DEBUGFS) \
            and not os.path.ismount(_DEBUGFS):
        mounted = subprocess.run(["mount", "-t", "debugfs", "debugfs", _DEBUGFS],
                                 capture_output=True).returncode == 0
        if mounted:
            try:
                text = _read(path)
            finally:
                subprocess.run(["umount", _DEBUGFS], capture_output=True)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


# ------------------------------------------------------------------- swap

def _active_swap() -> List[str]:
    text = _read("/proc/swaps") or ""
    return [line.split()[0] for line in text.splitlines()[1:] if line.split()]


@contextlib.contextmanager
def swap_file(dirs: Sequence[str] = SWAP_DIRS, size: int = SWAP_BYTES) -> Iterator[str]:
    """A swap file, active for the ``with`` block, then swapped off and
    deleted whatever happened.  Yields its path.  Raises LiveUnavailable
    with every directory's reason when none can hold one."""
    for tool in ("mkswap", "swapon", "swapoff"):
        if shutil.which(tool) is None:
            raise LiveUnavailable("pageout needs swap: %s is not installed (util-linux)" % tool)
    reasons = []
    for d in dirs:
        if not os.path.isdir(d):
            continue
        path = None
        active = False
        try:
            fd, path = tempfile.mkstemp(prefix="ptebits-swap-", dir=d)
            try:
                os.fchmod(fd, 0o600)
                block = b"\0" * (1 << 20)         # written, not sparse: swapon refuses holes
                for _ in range(size // len(block)):
                    os.write(fd, block)
                os.fsync(fd)
            finally:
                os.close(fd)
            for cmd in (["mkswap", path], ["swapon", path]):
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    raise OSError("%s: %s" % (" ".join(cmd), (r.stderr or r.stdout).strip()))
            active = True
        except OSError as e:
            reasons.append("%s: %s" % (d, e))
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            continue
        try:
            yield path
        finally:
            if active:
                subprocess.run(["swapoff", path], capture_output=True)
            with contextlib.suppress(OSError):
                os.unlink(path)
        return
    raise LiveUnavailable("pageout needs swap and no swap file could be made (%s)"
                          % "; ".join(reasons or ["no directory to put it in"]))


# ------------------------------------------------------------------- runs

def run_live(scenario: Any, *, timeout: float = DEFAULT_TIMEOUT, profile: str = "host",
             resolve: bool = True) -> Dict[str, Any]:
    """Run a scenario (path, dict, or normalized dict) on this kernel.

    ``profile`` decodes the pagemap words (the class of each entry: a
    swapped entry of type 31 is a marker under linux-6.18).  ``resolve=False``
    leaves every userfaultfd fault unresolved — the child is then killed by
    the time limit, which shows where it waited.  Raises LiveUnavailable
    (not root, no userfaultfd, no swap for ``pageout``) and LiveRunError."""
    scn = load_scenario(scenario)
    reason = live_available()
    if reason:
        raise LiveUnavailable(reason)
    if timeout <= 0:
        raise InvalidValueError("run_live: timeout must be a positive number of seconds, "
                                "not %r" % (timeout,))
    needs_swap = any(s["op"] == "pageout" for s in scn["steps"])
    with contextlib.ExitStack() as stack:
        swap = stack.enter_context(swap_file()) if needs_swap else None
        result = _run_child(scn, timeout, profile, resolve)
    result["host"] = host_settings()
    result["host"]["swap"] = "scenario swap file" if swap else (
        "active" if _active_swap() else "none")
    return result


def _run_child(scn: Dict[str, Any], timeout: float, profile: str,
               resolve: bool) -> Dict[str, Any]:
    request = json.dumps({"scenario": scn, "profile": profile, "resolve": resolve})
    env = dict(os.environ)
    # the child must import this very package, wherever it was imported from
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_parent] + [p for p in
                                                        env.get("PYTHONPATH", "").split(os.pathsep) if p])
    proc = subprocess.Popen([sys.executable, "-m", "ptebits.live_child"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    timed_out = False
    try:
        out, err = proc.communicate(request, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        out, err = proc.communicate()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    result: Dict[str, Any] = {"profile": profile, "scenario": scn["name"], "steps": []}
    errors: List[str] = []
    begun = -1
    done = False
    for line in out.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            errors.append("unreadable line from the child: %r" % line[:200])
            continue
        if rec["type"] == "setup":
            result["setup"] = {k: v for k, v in rec.items() if k != "type"}
        elif rec["type"] == "begin":
            begun = rec["index"]
        elif rec["type"] == "step":
            result["steps"].append(rec["step"])
        elif rec["type"] == "error":
            errors.append(rec["message"])
        elif rec["type"] == "done":
            done = True
    if done and not errors and proc.returncode == 0:
        return result
    where = ("step %d (%s)" % (begun + 1, scn["steps"][begun]["op"]) if begun >= 0
             else "setup")
    if timed_out:
        msg = ("scenario %s: killed after %g s in %s: a fault nobody resolved or a hang"
               % (scn["name"], timeout, where))
    else:
        msg = "scenario %s: failed in %s" % (scn["name"], where)
        if proc.returncode and proc.returncode < 0:
            msg += " (child died of signal %d)" % -proc.returncode
    detail = errors + ([err.strip().splitlines()[-1]] if err.strip() and not errors else [])
    if detail:
        msg += ": " + "; ".join(detail)
    raise LiveRunError(msg, partial=result, timed_out=timed_out)
