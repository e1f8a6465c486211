"""A live process's page tables as user space can see them: /proc/PID/maps
and /proc/PID/pagemap read in bulk into uint64 arrays, decoded with the
pagemap codec (pagemap.py), plus the PAGEMAP_SCAN categories where the
kernel has the ioctl (6.7+).

What the kernel does that a reader must know (fs/proc/task_mmu.c, 6.18):

* Opening maps or pagemap needs ptrace read access to the process
  (``proc_mem_open`` with PTRACE_MODE_READ): your own, dumpable process, or
  CAP_SYS_PTRACE.
* ``pagemap_read`` fills the frame field (PFN, or swap type and offset)
  only when the file's opener has CAP_SYS_ADMIN (``pm->show_pfn``);
  otherwise it reads as 0 with no error.  ptebits probes its own pagemap to
  tell, and then stops reading swap types (a marker and a swap slot both
  read type 0, offset 0).
* Once the process has exited, a read returns 0 bytes (its mm is gone) and
  PAGEMAP_SCAN fails with ESRCH.  Addresses past the task size ([vsyscall])
  have no entries either; a one-word probe at address 0 tells the two apart.
"""
from __future__ import annotations

import errno
import fcntl
import mmap
import os
import re
import warnings
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from ._core import kind_names, lib
from .codec import Kind, ProfileLike, _profile
from .errors import FileError, InvalidValueError
from .pagemap import PM_BITS, PagemapDecoded, decode_pagemap, pagemap_rows

__all__ = ["Vma", "VmaPagemap", "ProcessPagemap", "PagemapReader", "read_pagemap",
           "parse_maps", "parse_range", "select_vmas", "SCAN_CATEGORIES",
           "reader_sees_frames", "frames_look_hidden", "ProcessGoneError",
           "ProcessAccessError", "FramesHiddenWarning", "frames_hidden_message",
           "add_counts", "no_match_message", "DEFAULT_MAX_PAGES", "CHUNK_PAGES"]

PAGE_SHIFT = lib.PB_PAGE_SHIFT
PAGE_SIZE = 1 << PAGE_SHIFT
WORD = np.dtype(np.uint64).itemsize          # one pagemap entry per page

#: PAGEMAP_SCAN categories by name (PAGE_IS_* bits from ptebits.h).
SCAN_CATEGORIES: Dict[str, int] = {
    "wpallowed": lib.PB_PAGE_IS_WPALLOWED,
    "written": lib.PB_PAGE_IS_WRITTEN,
    "file": lib.PB_PAGE_IS_FILE,
    "present": lib.PB_PAGE_IS_PRESENT,
    "swapped": lib.PB_PAGE_IS_SWAPPED,
    "pfnzero": lib.PB_PAGE_IS_PFNZERO,
    "huge": lib.PB_PAGE_IS_HUGE,
    "soft_dirty": lib.PB_PAGE_IS_SOFT_DIRTY,
    "guard": lib.PB_PAGE_IS_GUARD,
}
_ALL_CATEGORIES = sum(SCAN_CATEGORIES.values())
_MARKER_NAMES = (("uffd_wp", lib.PB_PTE_MARKER_UFFD_WP), ("poisoned", lib.PB_PTE_MARKER_POISONED),
                 ("guard", lib.PB_PTE_MARKER_GUARD))

#: read_pagemap keeps whole arrays: refuse more pages than this (16 GiB of
#: address space, about 150 MiB of arrays) unless asked.
DEFAULT_MAX_PAGES = 1 << 22
#: pages per read when streaming (512 KiB of pagemap words).
CHUNK_PAGES = 1 << 16
#: VMAs of more pages than this (256 MiB) are read only where PAGEMAP_SCAN
#: finds pages: a sanitizer's shadow reservation is terabytes of holes.
SPARSE_PAGES = 1 << 16
#: the kind name of a swapped entry whose type the kernel hid.
SWAPPED_HIDDEN = "swapped"


class ProcessGoneError(FileError):
    """No such process, or it exited while it was being read (``pid``)."""

    def __init__(self, message: str, pid: int):
        super().__init__(message)
        self.pid = pid


class ProcessAccessError(FileError):
    """The ptrace rules deny this reader the process's maps or pagemap."""

    def __init__(self, message: str, pid: int):
        super().__init__(message)
        self.pid = pid


class FramesHiddenWarning(UserWarning):
    """The kernel zeroed PFNs and swap type/offset (no CAP_SYS_ADMIN)."""


# ------------------------------------------------------------------- maps

class Vma(NamedTuple):
    """One line of /proc/PID/maps; ``end`` is exclusive."""
    start: int
    end: int
    perms: str
    offset: int
    dev: str
    inode: int
    path: str

    @property
    def name(self) -> str:
        """The path or pseudo-name; anonymous mappings without one are [anon]."""
        return self.path or "[anon]"

    @property
    def pages(self) -> int:
        return (self.end - self.start) >> PAGE_SHIFT

    def label(self) -> str:
        return "%x-%x %s %s" % (self.start, self.end, self.perms, self.name)


_MAPS_LINE = re.compile(r"([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) (\S+) (\d+)\s*(.*)$")


def parse_maps(text: str) -> List[Vma]:
    """The VMAs of a /proc/PID/maps text."""
    vmas = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _MAPS_LINE.match(line)
        if not m:
            raise InvalidValueError("maps line %d is not START-END PERMS OFFSET DEV INODE "
                                    "[PATH]: %r" % (n, line))
        vmas.append(Vma(int(m.group(1), 16), int(m.group(2), 16), m.group(3),
                        int(m.group(4), 16), m.group(5), int(m.group(6)), m.group(7)))
    return vmas


def parse_range(text: str) -> Tuple[int, int]:
    """``START-END`` in hex as /proc/PID/maps prints it (``0x`` optional),
    END exclusive, widened to whole pages."""
    parts = text.strip().split("-")
    try:
        if len(parts) != 2:
            raise ValueError
        lo, hi = (int(p.strip().replace("_", ""), 16) for p in parts)
    except ValueError:
        raise InvalidValueError("--range %r: use START-END in hex as /proc/PID/maps prints "
                                "it, END exclusive, e.g. 7f651d035000-7f651d039000"
                                % text) from None
    if hi <= lo:
        raise InvalidValueError("--range %r is empty (END is exclusive)" % text)
    return lo & ~(PAGE_SIZE - 1), (hi + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def select_vmas(vmas: Sequence[Vma], vma: Optional[str] = None,
                range_: Optional[Tuple[int, int]] = None) -> List[Tuple[Vma, int, int]]:
    """The (vma, start, end) pieces to read: every VMA, those whose name
    contains ``vma`` (or that hold the address ``vma``, when it is hex), or
    the parts of VMAs inside ``range_``."""
    pieces = [(v, v.start, v.end) for v in vmas]
    if vma is not None:
        addr = None
        if re.fullmatch(r"(0x)?[0-9a-fA-F]{6,16}", vma):
            addr = int(vma, 16)
        pieces = [p for p in pieces if vma in p[0].name
                  or (addr is not None and p[0].start <= addr < p[0].end)]
    if range_ is not None:
        lo, hi = range_
        pieces = [(v, max(a, lo), min(b, hi)) for v, a, b in pieces if a < hi and b > lo]
    return pieces


# ------------------------------------------------------------ frames hidden

def reader_sees_frames() -> Optional[bool]:
    """Whether this process's pagemap reads show frames.  The kernel fills
    them only for a reader with CAP_SYS_ADMIN and zeroes them otherwise, so
    read the entry of a page we have just written: present with frame 0
    means hidden (no user page lives at frame 0).  None if it cannot tell."""
    buf = mmap.mmap(-1, PAGE_SIZE)
    try:
        buf[0:1] = b"\x01"
        addr = np.frombuffer(buf, dtype=np.uint8).ctypes.data
        try:
            with open("/proc/self/pagemap", "rb", buffering=0) as f:
                raw = os.pread(f.fileno(), WORD, (addr >> PAGE_SHIFT) * WORD)
        except OSError:
            return None
    finally:
        buf.close()
    if len(raw) != WORD:
        return None
    word = int.from_bytes(raw, "little")
    if not (word >> lib.PB_PM_BIT_PRESENT) & 1:
        return None
    return bool(word & lib.PB_PM_FRAME_MASK)


def frames_look_hidden(words: np.ndarray) -> Optional[bool]:
    """Judge from the data alone: True when there are present or swapped
    entries and every one of them has frame 0 (PFN 0 is never a user page,
    and only one swap slot can be type 0 offset 0), False when some frame
    is non-zero, None when there is nothing to judge by."""
    w = np.asarray(words, dtype=np.uint64).reshape(-1)
    mapped = (w >> np.uint64(lib.PB_PM_BIT_SWAP)) != 0     # PRESENT or SWAP
    if not mapped.any():
        return None
    return not bool((w[mapped] & np.uint64(lib.PB_PM_FRAME_MASK)).any())


def frames_hidden_message(pid: int, comm: str) -> str:
    return ("pid %d (%s): every PFN and swap type/offset reads as 0: the kernel zeroes them, "
            "silently, for a reader without CAP_SYS_ADMIN (run as root to see them); swapped "
            "entries cannot be told apart (swap slot, migration entry or PTE marker) and "
            "show as 'swapped'" % (pid, comm))


# ------------------------------------------------------------ the results

class VmaPagemap:
    """The pagemap of [start, end) inside one VMA: ``words`` (uint64, one a
    page), ``decoded`` (the pagemap codec's columns), ``categories``
    (uint16 PAGEMAP_SCAN bits per page, or None where the kernel has no
    PAGEMAP_SCAN) and ``frames_hidden`` (the kernel zeroed the frames)."""

    __slots__ = ("vma", "start", "words", "decoded", "categories", "frames_hidden", "holes")

    def __init__(self, vma: Vma, start: int, words: np.ndarray, decoded: PagemapDecoded,
                 categories: Optional[np.ndarray], frames_hidden: bool, holes: int = 0):
        self.vma = vma
        self.start = start
        self.words = words
        self.decoded = decoded
        self.categories = categories
        self.frames_hidden = frames_hidden
        self.holes = holes      # none pages counted but not read (a sparse VMA's gaps)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def end(self) -> int:
        return self.start + (len(self.words) << PAGE_SHIFT)

    @property
    def va(self) -> np.ndarray:
        """The virtual address of each page."""
        return np.uint64(self.start) + (np.arange(len(self.words), dtype=np.uint64)
                                        << np.uint64(PAGE_SHIFT))

    def kinds(self) -> List[str]:
        """Each page's kind name; a swapped entry whose type the kernel hid
        is "swapped" (it may be a swap slot, migration entry or marker)."""
        names = kind_names()
        out = [names[k] for k in self.decoded.kind.tolist()]
        if self.frames_hidden:
            swap = self.decoded.swap.tolist()
            out = [SWAPPED_HIDDEN if s else k for k, s in zip(out, swap)]
        return out

    def counts(self) -> Dict[str, Any]:
        """Pages by kind, by pagemap flag and by PAGEMAP_SCAN category."""
        d = self.decoded
        kinds: Dict[str, int] = {}
        if self.frames_hidden:
            kinds["present"] = int(d.present.sum())
            kinds[SWAPPED_HIDDEN] = int(d.swap.sum())
        else:
            hist = np.bincount(d.kind, minlength=lib.PB_KIND_COUNT)
            kinds.update({str(Kind(k)): int(hist[k]) for k in range(lib.PB_KIND_COUNT)
                          if hist[k] and k != lib.PB_KIND_NONE})
        kinds["none"] = len(self) + self.holes - sum(kinds.values())
        markers: Dict[str, int] = {}
        if not self.frames_hidden:
            is_marker = d.kind == lib.PB_KIND_MARKER
            for name, bit in _MARKER_NAMES:
                n = int((is_marker & (d.marker & np.uint16(bit) != 0)).sum())
                if n:
                    markers[name] = n
        flags = {name: int(getattr(d, name).sum()) for name in PM_BITS
                 if name not in ("present", "swap")}
        out: Dict[str, Any] = {"pages": len(self) + self.holes, "kinds": kinds,
                               "markers": markers, "flags": flags}
        if self.categories is not None:
            out["categories"] = {name: int((self.categories & np.uint16(bit) != 0).sum())
                                 for name, bit in SCAN_CATEGORIES.items()}
        return out

    def rows(self, sel: Optional[Sequence[int]] = None) -> Iterator[Dict[str, Any]]:
        """Per-page rows: va, the pagemap codec's row (raw, kind, flag bits,
        pfn or swap type/offset), what the swap type means in the profile,
        marker bits, and the PAGEMAP_SCAN categories."""
        prof = self.decoded.profile
        idx = range(len(self)) if sel is None else sel
        for i, row in zip(idx, pagemap_rows(self.decoded, idx)):
            out: Dict[str, Any] = {"va": "0x%x" % (self.start + (i << PAGE_SHIFT))}
            out.update(row)
            if self.frames_hidden:
                # the kernel zeroed the frame: no PFN, no type, no offset
                out.pop("pfn", None)
                if out.pop("swp_type", None) is not None:
                    out.pop("swp_offset", None)
                    out["kind"] = SWAPPED_HIDDEN
            elif "swp_type" in out:
                out["swp_type_name"] = prof.type_name(out["swp_type"])
                if out["kind"] == "marker":
                    m = int(self.decoded.marker[i])
                    out["marker"] = ",".join(n for n, b in _MARKER_NAMES if m & b) or "none"
            if self.categories is not None:
                c = int(self.categories[i])
                out["categories"] = [n for n, b in SCAN_CATEGORIES.items() if c & b]
            yield out


class ProcessPagemap:
    """``read_pagemap``'s result: ``pid``, ``comm``, ``profile``, the VMAs
    read (``pieces``, one VmaPagemap each), ``frames_hidden``,
    ``scan_available`` and ``notes`` (VMAs pagemap has no entries for)."""

    def __init__(self, pid: int, comm: str, profile: Any, pieces: List[VmaPagemap],
                 frames_hidden: bool, scan_available: bool, notes: List[str]):
        self.pid = pid
        self.comm = comm
        self.profile = profile
        self.pieces = pieces
        self.frames_hidden = frames_hidden
        self.scan_available = scan_available
        self.notes = notes

    def __iter__(self) -> Iterator[VmaPagemap]:
        return iter(self.pieces)

    def __len__(self) -> int:
        return len(self.pieces)

    def find(self, va: int) -> Tuple[VmaPagemap, int]:
        """The piece holding address ``va`` and the page's index in it."""
        for p in self.pieces:
            if p.start <= va < p.end:
                return p, (va - p.start) >> PAGE_SHIFT
        raise InvalidValueError("address %#x is not in the pages read from pid %d"
                                % (va, self.pid))

    def word(self, va: int) -> int:
        """The pagemap word of the page holding ``va``."""
        p, i = self.find(va)
        return int(p.words[i])

    def counts(self) -> Dict[str, Any]:
        """The counts of every piece added up."""
        return add_counts(p.counts() for p in self.pieces)


def add_counts(parts: Any) -> Dict[str, Any]:
    """Add VmaPagemap.counts() results (the per-VMA and total lines)."""
    total: Dict[str, Any] = {"pages": 0, "kinds": {}, "markers": {}, "flags": {}}
    for c in parts:
        total["pages"] += c["pages"]
        for key in ("kinds", "markers", "flags", "categories"):
            if key in c:
                dst = total.setdefault(key, {})
                for k, v in c[key].items():
                    dst[k] = dst.get(k, 0) + v
    return total


# ---------------------------------------------------------------- reading

def _comm(pid: int) -> str:
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def _state(pid: int) -> Optional[str]:
    """The State letter of /proc/PID/status; None if the process is gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("State:"):
                    return line.split()[1]
    except OSError:
        return None
    return "?"


class PagemapReader:
    """An open process: its maps read, its pagemap open.  Use as a context
    manager; ``read(vma, start, end)`` reads a piece, ``chunks()`` streams
    pieces in bounded memory."""

    def __init__(self, pid: int, *, profile: ProfileLike = "host", scan: bool = True):
        if isinstance(pid, bool) or not isinstance(pid, (int, np.integer)) or pid <= 0:
            raise InvalidValueError("pid %r is not a process id (a positive integer)" % (pid,))
        self.pid = int(pid)
        self.profile = _profile(profile)
        self.comm = _comm(self.pid)
        self.notes: List[str] = []
        self._fd = -1
        self._opened = False
        maps_text = self._read_maps()
        self._opened = True          # it existed: from now on ENOENT means it exited
        self.vmas = parse_maps(maps_text)
        if not self.vmas:
            state = _state(self.pid)
            if state is None:
                raise self._gone("exited while its maps were being read")
            if state in ("Z", "X"):
                raise ProcessGoneError("pid %d (%s) has exited (a zombie waiting for its "
                                       "parent): it has no pages left" % (self.pid, self.comm),
                                       self.pid)
            raise InvalidValueError("pid %d (%s) has no user address space: a kernel thread"
                                    % (self.pid, self.comm))
        self._fd = self._open("pagemap", os.O_RDONLY)
        try:
            shown = reader_sees_frames()
            #: True, False, or None until the data tells
            self.frames_hidden: Optional[bool] = None if shown is None else not shown
            self.scan_available = scan and self._scan_works()
        except BaseException:
            self.close()
            raise
        self._warned = False

    # -- opening, with the kernel's errors said in the reader's terms

    def _gone(self, what: str) -> ProcessGoneError:
        return ProcessGoneError("pid %d (%s) %s" % (self.pid, self.comm, what), self.pid)

    def _open(self, name: str, flags: int) -> int:
        path = "/proc/%d/%s" % (self.pid, name)
        try:
            return os.open(path, flags | os.O_CLOEXEC)
        except FileNotFoundError:
            if self._opened or os.path.exists("/proc/%d" % self.pid):
                raise self._gone("exited while being read (%s vanished)" % path) from None
            raise ProcessGoneError("no such process: pid %d (there is no /proc/%d; is it "
                                   "still running?)" % (self.pid, self.pid), self.pid) from None
        except PermissionError:
            raise ProcessAccessError(
                "pid %d (%s): no access to %s: the kernel lets a process read another's "
                "maps and pagemap only under the ptrace rules (PTRACE_MODE_READ: your own "
                "dumpable process, or CAP_SYS_PTRACE); try as root" % (self.pid, self.comm,
                                                                       path), self.pid) from None
        except ProcessLookupError:
            raise self._gone("exited while being read") from None

    def _read_maps(self) -> str:
        fd = self._open("maps", os.O_RDONLY)
        parts = []
        try:
            while True:
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                parts.append(b)
        except ProcessLookupError:
            raise self._gone("exited while its maps were being read") from None
        except OSError as e:
            raise FileError("pid %d (%s): cannot read /proc/%d/maps: %s"
                            % (self.pid, self.comm, self.pid, e.strerror or e)) from None
        finally:
            os.close(fd)
        return b"".join(parts).decode("utf-8", "surrogateescape")

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "PagemapReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- words

    def _alive(self) -> bool:
        """Whether the process still has its mm: the entry of address 0 is
        always readable while it does (0 bytes once it has exited)."""
        try:
            return len(os.pread(self._fd, WORD, 0)) == WORD
        except OSError:
            return False

    def read_words(self, start: int, out: np.ndarray) -> int:
        """Read the words of the pages from ``start`` into ``out`` (uint64,
        one a page); returns how many the kernel has (fewer past the task
        size, e.g. [vsyscall]).  Raises ProcessGoneError if the process
        has exited."""
        view = memoryview(out).cast("B")
        want = len(out) * WORD
        done = 0
        pos = (start >> PAGE_SHIFT) * WORD
        while done < want:
            try:
                n = os.preadv(self._fd, [view[done:want]], pos + done)
            except ProcessLookupError:
                raise self._gone("exited while its pagemap was being read") from None
            except OSError as e:
                raise FileError("pid %d (%s): reading /proc/%d/pagemap at %#x: %s" % (
                    self.pid, self.comm, self.pid, start + (done // WORD << PAGE_SHIFT),
                    e.strerror or e)) from None
            if n == 0:
                if not self._alive():
                    raise self._gone("exited while its pagemap was being read (at %#x)"
                                     % (start + (done // WORD << PAGE_SHIFT)))
                break
            done += n
        return done // WORD

    # -- PAGEMAP_SCAN

    def _scan_ioctl(self, arg: np.ndarray) -> int:
        return fcntl.ioctl(self._fd, lib.PB_PAGEMAP_SCAN, memoryview(arg).cast("B"))

    def _scan_works(self) -> bool:
        """Whether the kernel has PAGEMAP_SCAN (6.7+): an empty scan."""
        arg = self._scan_arg(0, 0, None)
        try:
            self._scan_ioctl(arg)
        except OSError as e:
            if e.errno in (errno.ENOTTY, errno.EINVAL, errno.EOPNOTSUPP):
                self.notes.append("PAGEMAP_SCAN categories: not available (the ioctl is "
                                  "Linux 6.7+; this kernel says: %s)" % e.strerror)
                return False
            if e.errno == errno.ESRCH:
                raise self._gone("exited while being read") from None
            raise
        return True

    @staticmethod
    def _scan_arg(start: int, end: int, vec: Optional[np.ndarray]) -> np.ndarray:
        arg = np.zeros(lib.PB_PM_SCAN_ARG_WORDS, dtype=np.uint64)
        arg[lib.PB_PM_SCAN_ARG_WORD_SIZE] = lib.PB_PM_SCAN_ARG_SIZE
        arg[lib.PB_PM_SCAN_ARG_WORD_START] = start
        arg[lib.PB_PM_SCAN_ARG_WORD_END] = end
        if vec is not None:
            arg[lib.PB_PM_SCAN_ARG_WORD_VEC] = vec.ctypes.data
            arg[lib.PB_PM_SCAN_ARG_WORD_VEC_LEN] = len(vec)
        # every page with any category, reported with all of them
        arg[lib.PB_PM_SCAN_ARG_WORD_ANYOF] = _ALL_CATEGORIES
        arg[lib.PB_PM_SCAN_ARG_WORD_RETURN] = _ALL_CATEGORIES
        return arg

    def _regions(self, start: int, end: int, anyof: int,
                 batch: int = 4096) -> Iterator[Tuple[int, int, int]]:
        """PAGEMAP_SCAN's (start, end, categories) regions of [start, end)
        with any of the ``anyof`` categories, ``batch`` regions an ioctl."""
        vec = np.zeros((batch, lib.PB_PAGE_REGION_WORDS), dtype=np.uint64)
        pos = start
        while pos < end:
            arg = self._scan_arg(pos, end, vec)
            arg[lib.PB_PM_SCAN_ARG_WORD_ANYOF] = anyof
            try:
                n = self._scan_ioctl(arg)
            except OSError as e:
                if e.errno == errno.ESRCH:
                    raise self._gone("exited while being scanned (PAGEMAP_SCAN)") from None
                raise FileError("pid %d (%s): PAGEMAP_SCAN %#x-%#x: %s" % (
                    self.pid, self.comm, pos, end, e.strerror or e)) from None
            for lo, hi, c in vec[:n].tolist():
                yield int(lo), int(hi), int(c)
            walk_end = int(arg[lib.PB_PM_SCAN_ARG_WORD_WALK_END])
            if walk_end <= pos:         # no progress: the kernel stopped early
                break
            pos = walk_end

    def scan(self, start: int, pages: int) -> np.ndarray:
        """PAGEMAP_SCAN categories (uint16 PAGE_IS_* bits) of each page."""
        cats = np.zeros(pages, dtype=np.uint16)
        end = start + (pages << PAGE_SHIFT)
        for lo, hi, c in self._regions(start, end, _ALL_CATEGORIES, min(pages, 4096)):
            cats[(lo - start) >> PAGE_SHIFT:(hi - start) >> PAGE_SHIFT] = c
        return cats

    # -- pieces

    def _warn_hidden(self) -> None:
        if self._warned:
            return
        self._warned = True
        warnings.warn(frames_hidden_message(self.pid, self.comm), FramesHiddenWarning,
                      stacklevel=3)

    def read(self, vma: Vma, start: int, end: int,
             out: Optional[np.ndarray] = None) -> Optional[VmaPagemap]:
        """The pagemap of [start, end) in ``vma``, or None (with a note) if
        the kernel has no entries there."""
        pages = (end - start) >> PAGE_SHIFT
        buf = np.empty(pages, dtype=np.uint64) if out is None else out[:pages]
        got = self.read_words(start, buf)
        if got < pages:
            if got == 0:
                self.notes.append("%s: outside the task's address space; pagemap has no "
                                  "entries for it" % vma.label())
                return None
            self.notes.append("%s: pagemap stops at %#x" % (vma.label(),
                                                            start + (got << PAGE_SHIFT)))
        arr = buf[:got]
        if self.frames_hidden is None:          # the probe could not tell: the data may
            self.frames_hidden = frames_look_hidden(arr)
        decoded = decode_pagemap(arr, profile=self.profile)
        cats = self.scan(start, got) if self.scan_available else None
        if self.frames_hidden:
            self._warn_hidden()
        return VmaPagemap(vma, start, arr, decoded, cats, bool(self.frames_hidden))

    def populated(self, start: int, end: int) -> List[Tuple[int, int]]:
        """The ranges of [start, end) with present or swapped pages (markers
        included), found with PAGEMAP_SCAN, which skips empty page tables:
        pagemap reads every page, 8 bytes each, however sparse the VMA."""
        return [(lo, hi) for lo, hi, _ in
                self._regions(start, end, lib.PB_PAGE_IS_PRESENT | lib.PB_PAGE_IS_SWAPPED)]

    def _sparse_parts(self, vma: Vma, lo: int, hi: int) -> Optional[List[Tuple[int, int]]]:
        """For a VMA too large to read page by page, its populated ranges
        (the rest is counted as none without being read); None to read it all."""
        if (hi - lo) >> PAGE_SHIFT <= SPARSE_PAGES or not self.scan_available:
            return None
        ranges = self.populated(lo, hi)
        self.notes.append("%s: %s of address space, so only its %d populated range(s) "
                          "were read (found with PAGEMAP_SCAN); the rest is none"
                          % (vma.label(), _size_text(hi - lo), len(ranges)))
        return ranges

    def chunks(self, pieces: Sequence[Tuple[Vma, int, int]],
               chunk_pages: int = CHUNK_PAGES) -> Iterator[VmaPagemap]:
        """Stream the pieces in chunks of at most ``chunk_pages`` pages
        through one reused buffer (copy what you keep).  A VMA of more than
        SPARSE_PAGES pages (e.g. a sanitizer's shadow reservation) is read
        only where PAGEMAP_SCAN finds pages; the first chunk of it carries
        the count of the none pages skipped (``holes``)."""
        buf = np.empty(max(1, chunk_pages), dtype=np.uint64)
        for vma, lo, hi in pieces:
            ranges = self._sparse_parts(vma, lo, hi)
            if ranges is None:
                yield from self._dense_chunks(vma, lo, hi, buf)
                continue
            yield self.holes_piece(vma, lo, hi, ranges)
            for a, b in ranges:
                yield from self._dense_chunks(vma, a, b, buf)

    def holes_piece(self, vma: Vma, lo: int, hi: int,
                    ranges: Sequence[Tuple[int, int]]) -> VmaPagemap:
        """No words, only the count of the none pages of [lo, hi) outside ranges."""
        read = sum((b - a) >> PAGE_SHIFT for a, b in ranges)
        empty = np.zeros(0, dtype=np.uint64)
        return VmaPagemap(vma, lo, empty, decode_pagemap(empty, profile=self.profile),
                          np.zeros(0, dtype=np.uint16) if self.scan_available else None,
                          bool(self.frames_hidden), holes=((hi - lo) >> PAGE_SHIFT) - read)

    def _dense_chunks(self, vma: Vma, lo: int, hi: int,
                      buf: np.ndarray) -> Iterator[VmaPagemap]:
        step = len(buf) << PAGE_SHIFT
        for a in range(lo, hi, step):
            b = min(hi, a + step)
            part = self.read(vma, a, b, buf[:(b - a) >> PAGE_SHIFT])
            if part is None:
                break
            yield part


def _size_text(nbytes: int) -> str:
    for unit, shift in (("TiB", 40), ("GiB", 30), ("MiB", 20)):
        if nbytes >= 1 << shift:
            return "%.1f %s" % (nbytes / (1 << shift), unit)
    return "%d KiB" % (nbytes >> 10)


def read_pagemap(pid: int, *, vma: Optional[str] = None,
                 range: Optional[Any] = None, profile: ProfileLike = "host",
                 scan: bool = True, max_pages: int = DEFAULT_MAX_PAGES) -> ProcessPagemap:
    """Read and decode the pagemap of process ``pid``.

    ``vma`` keeps the VMAs whose name contains it (``"[heap]"``,
    ``"memfd:"``, ``"libc"``), or the one holding a hex address; ``range``
    is ``(start, end)`` or ``"START-END"`` in hex (end exclusive).
    ``profile`` (default ``host``, the running kernel) says what swap types
    mean.  ``scan`` adds PAGEMAP_SCAN categories where the kernel has them.
    Refuses to keep more than ``max_pages`` pages: narrow with vma/range.
    Warns (FramesHiddenWarning) when the kernel hid the frames.
    """
    rng = parse_range(range) if isinstance(range, str) else (
        None if range is None else (int(range[0]), int(range[1])))
    with PagemapReader(pid, profile=profile, scan=scan) as reader:
        pieces = select_vmas(reader.vmas, vma, rng)
        if not pieces:
            raise InvalidValueError(no_match_message(reader, vma, rng))
        # huge sparse VMAs are read only where PAGEMAP_SCAN finds pages
        plan = [(v, a, b, reader._sparse_parts(v, a, b)) for v, a, b in pieces]
        total = sum(sum((y - x) >> PAGE_SHIFT for x, y in ranges) if ranges is not None
                    else (b - a) >> PAGE_SHIFT for v, a, b, ranges in plan)
        if total > max_pages:
            raise InvalidValueError(
                "pid %d: %d pages selected (%d MiB of address space), more than max_pages=%d; "
                "narrow it with vma= or range=, or stream with PagemapReader.chunks()"
                % (reader.pid, total, (total << PAGE_SHIFT) >> 20, max_pages))
        parts = []
        for v, a, b, ranges in plan:
            if ranges is None:
                parts.append(reader.read(v, a, b))
                continue
            parts.append(reader.holes_piece(v, a, b, ranges))
            parts.extend(reader.read(v, x, y) for x, y in ranges)
        parts = [p for p in parts if p is not None]
        return ProcessPagemap(reader.pid, reader.comm, reader.profile, parts,
                              bool(reader.frames_hidden), reader.scan_available, reader.notes)


def no_match_message(reader: PagemapReader, vma: Optional[str],
                     rng: Optional[Tuple[int, int]]) -> str:
    """Why nothing was selected, with what there is to choose from."""
    if vma is not None:
        pseudo = sorted({v.name for v in reader.vmas if v.name.startswith("[")})
        files: List[str] = []
        for v in reader.vmas:
            base = os.path.basename(v.name)
            if not v.name.startswith("[") and base not in files:
                files.append(base)
        names = pseudo + files
        return "pid %d (%s): no VMA named like %r; its VMAs: %s%s" % (
            reader.pid, reader.comm, vma, ", ".join(names[:16]),
            ", ..." if len(names) > 16 else "")
    assert rng is not None
    return "pid %d (%s): nothing mapped in %x-%x; its mappings span %x-%x (see /proc/%d/maps)" % (
        reader.pid, reader.comm, rng[0], rng[1], reader.vmas[0].start, reader.vmas[-1].end,
        reader.pid)
