"""The fault model: an address space over numpy arrays, driven by the
kernel's PTE fault dispatch in C (csrc/fault.c).

An :class:`AddressSpace` holds the PTE array (one uint64 per 4 KiB page),
the VMAs over it, the shmem objects (memfd or MAP_SHARED|MAP_ANONYMOUS)
with their page caches, a swap device and a deterministic PFN allocator.
:meth:`AddressSpace.dispatch` runs a batch of faults through
``handle_pte_fault`` as the profile's kernel does; the other methods are the
page-table operations outside faults (UFFDIO_WRITEPROTECT, MADV_DONTNEED,
hole punch, truncation, MADV_PAGEOUT, mprotect, NUMA hinting, unregister,
munmap).  One base page per fault: no THP, no large folios.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core, _parallel
from ._core import lib
from .codec import ProfileLike, _profile
from .errors import InvalidTypeError, InvalidValueError

__all__ = ["Handler", "Outcome", "Access", "AddressSpace", "Vma", "FaultBatch",
           "MESSAGE_KINDS", "MEMORY_KINDS", "UFFD_MODES", "UFFD_FEATURES"]

Handler = enum.IntEnum("Handler", {name.upper(): h  # type: ignore[misc]
                                   for h, name in enumerate(_core.handler_names())})
Handler.__str__ = lambda self: self.name.lower()  # type: ignore[method-assign]
Handler.__doc__ = ("The kernel function a fault reached, named after it (values from "
                   "csrc/ptebits.h PB_H_*).")

Outcome = enum.IntEnum("Outcome", {name.upper(): o  # type: ignore[misc]
                                   for o, name in enumerate(_core.outcome_names())})
Outcome.__str__ = lambda self: self.name.lower()  # type: ignore[method-assign]
Outcome.__doc__ = ("What a fault returns: DONE (the access completes), REFAULT (returns 0 "
                   "and the access faults again), WAIT (a userfaultfd message waits for "
                   "user space), RETRY (waits on the kernel: migration, device), SIGSEGV, "
                   "SIGBUS, HWPOISON.")


class Access(enum.IntEnum):
    READ = lib.PB_ACCESS_READ
    WRITE = lib.PB_ACCESS_WRITE
    EXEC = lib.PB_ACCESS_EXEC

    def __str__(self) -> str:
        return self.name.lower()


MESSAGE_KINDS = {"WP": lib.PB_MSG_WP, "MISSING": lib.PB_MSG_MISSING,
                 "MINOR": lib.PB_MSG_MINOR}
_MESSAGE_NAMES = {v: k for k, v in MESSAGE_KINDS.items()}
_MSG_KIND_MASK = lib.PB_MSG_WRITE - 1          # the kind bits below the write flag
UFFD_MODES = {"MISSING": lib.PB_VMA_UFFD_MISSING, "WP": lib.PB_VMA_UFFD_WP,
              "MINOR": lib.PB_VMA_UFFD_MINOR}
UFFD_FEATURES = {"WP_UNPOPULATED": lib.PB_VMA_WP_UNPOPULATED,
                 "WP_ASYNC": lib.PB_VMA_WP_ASYNC,
                 "EVENT_REMOVE": lib.PB_VMA_EVENT_REMOVE}
# features that came after the v2 series (6.4 and 6.7): the 6.18 profile only
_FEATURES_6_X = ("WP_UNPOPULATED", "WP_ASYNC")

#: mapping kinds: (anonymous VMA, MAP_SHARED, backed by a shmem object)
MEMORY_KINDS = {
    "anon": (True, False),                  # MAP_PRIVATE|MAP_ANONYMOUS
    "shmem": (False, True),                 # MAP_SHARED of a memfd
    "shmem_private": (False, False),        # MAP_PRIVATE of a memfd
    "shared_anon": (False, True),           # MAP_SHARED|MAP_ANONYMOUS (shmem_zero_setup)
}

_RESOLVE_TOKENS = {"WP": lib.PB_RESOLVE_WP, "MISSING": lib.PB_RESOLVE_MISSING,
                   "MISSING+WP": lib.PB_RESOLVE_MISSING | lib.PB_RESOLVE_COPY_WP,
                   "MINOR": lib.PB_RESOLVE_MINOR,
                   "MINOR+WP": lib.PB_RESOLVE_MINOR | lib.PB_RESOLVE_CONTINUE_WP}
PAGE_SIZE = 1 << lib.PB_PAGE_SHIFT
#: the kernel's default fault_around_bytes (mm/memory.c, 5.12 and 6.18)
DEFAULT_FAULT_AROUND_BYTES = 65536
PTRS_PER_PTE = 512                  # x86-64: a page-table page holds 512 entries
FIRST_PFN = 0x100000                # where the model's PFN allocator starts (any value)
ZERO_PFN = 0x1000                   # the model's shared zero page


@dataclass(frozen=True)
class Vma:
    """A VMA over pages [start, end) of the address space."""
    start: int
    end: int
    flags: int                 # PB_VMA_* bits
    object: int = -1           # index of the shmem object; -1: anonymous
    pgoff: int = 0             # object page that ``start`` maps

    @property
    def anonymous(self) -> bool:
        return bool(self.flags & lib.PB_VMA_ANON)

    @property
    def shared(self) -> bool:
        return bool(self.flags & lib.PB_VMA_SHARED)

    @property
    def uffd(self) -> str:
        """The userfaultfd registration, e.g. "MISSING|WP" ("" if none)."""
        return "|".join(m for m, bit in UFFD_MODES.items() if self.flags & bit)

    @property
    def features(self) -> Tuple[str, ...]:
        return tuple(f for f, bit in UFFD_FEATURES.items() if self.flags & bit)

    @property
    def prot(self) -> str:
        return "".join(c if self.flags & b else "-" for c, b in
                       (("r", lib.PB_VMA_READ), ("w", lib.PB_VMA_WRITE),
                        ("x", lib.PB_VMA_EXEC)))

    def __str__(self) -> str:
        kind = "anon" if self.anonymous else "shmem#%d+%d" % (self.object, self.pgoff)
        return "pages %d-%d %s %s %s%s" % (
            self.start, self.end - 1, self.prot, "shared" if self.shared else "private",
            kind, " uffd=" + self.uffd if self.uffd else "")


class ShmemObject:
    """A shmem inode: its size (EOF, in pages) and its page cache, one
    uint64 per page: 0 a hole, a PFN, or PB_CACHE_SWAPPED | swap slot."""

    def __init__(self, size: int):
        self.size = size
        self.cache = np.zeros(max(size, 1), dtype=np.uint64)

    def grow(self, size: int) -> bool:
        """Make room for ``size`` pages; True if the array moved."""
        if size <= self.cache.size:
            return False
        bigger = np.zeros(max(size, 2 * self.cache.size), dtype=np.uint64)
        bigger[:self.cache.size] = self.cache
        self.cache = bigger
        return True


@dataclass
class FaultBatch:
    """What :meth:`AddressSpace.dispatch` returns: per fault the first
    pass's handler, the last pass's handler and outcome and the number of
    passes (and the set of functions on its path with ``trace=True``); the
    userfaultfd messages in order; counts per handler (over every pass)
    and per final outcome.  Arrays, never one Python object per fault."""
    pages: np.ndarray
    access: np.ndarray
    handler: np.ndarray
    last: np.ndarray
    outcome: np.ndarray
    passes: np.ndarray
    trace: Optional[np.ndarray]
    messages: Dict[str, np.ndarray]     # fault, page, kind (PB_MSG_* | PB_MSG_WRITE)
    counts: Dict[str, int]
    outcomes: Dict[str, int]
    _native: Optional[Dict[str, Any]] = None   # the buffers, for dispatch(out=)

    def __len__(self) -> int:
        return int(self.pages.size)

    def message_list(self) -> List[Dict[str, Any]]:
        """The messages as dicts: fault, page, kind (WP/MISSING/MINOR), write."""
        m = self.messages
        return [{"fault": int(f), "page": int(p),
                 "kind": _MESSAGE_NAMES[int(k) & _MSG_KIND_MASK],
                 "write": bool(int(k) & lib.PB_MSG_WRITE)}
                for f, p, k in zip(m["fault"], m["page"], m["kind"])]

    def message_counts(self) -> Dict[str, int]:
        kinds = self.messages["kind"] & np.uint8(_MSG_KIND_MASK)
        return {name: int(np.count_nonzero(kinds == v)) for name, v in MESSAGE_KINDS.items()}

    def path(self, i: int) -> List[str]:
        """The kernel functions fault i went through (needs trace=True)."""
        if self.trace is None:
            raise InvalidValueError("dispatch(..., trace=True) records the path of each fault")
        bits = int(self.trace[i])
        return [str(Handler(h)) for h in range(len(Handler)) if bits >> h & 1]

    def summary(self) -> str:
        """Counts per handler and outcome, most frequent first."""
        lines = ["%d faults, %d messages" % (len(self), self.messages["kind"].size)]
        for name, n in sorted(self.counts.items(), key=lambda kv: -kv[1]):
            if n:
                lines.append("  %-28s %d" % (name, n))
        lines.append("  outcomes: " + ", ".join("%s %d" % (k, v)
                                               for k, v in self.outcomes.items() if v))
        return "\n".join(lines)


def _resolve_policy(resolve: Any) -> int:
    if resolve is None or resolve == "":
        return 0
    if resolve == "all":
        resolve = "WP|MISSING|MINOR"
    tokens = resolve.split("|") if isinstance(resolve, str) else list(resolve)
    policy = 0
    for t in tokens:
        key = str(t).strip().upper()
        if key not in _RESOLVE_TOKENS:
            raise InvalidValueError("resolve: unknown %r; use WP, MISSING, MISSING+WP, MINOR "
                                    "or MINOR+WP, joined by | (or 'all')" % t)
        policy |= _RESOLVE_TOKENS[key]
    return policy


def _as_index_array(pages: Any, name: str) -> np.ndarray:
    arr = np.asarray(pages)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        raise InvalidTypeError("%s must be integers (page indices), got dtype %s"
                               % (name, arr.dtype))
    if arr.ndim != 1:
        raise InvalidTypeError("%s must be 1-d, got shape %s" % (name, arr.shape))
    if arr.size and arr.dtype.kind == "i" and arr.min() < 0:
        raise InvalidValueError("%s: page %d is negative" % (name, int(arr.min())))
    return np.ascontiguousarray(arr, dtype=np.uint64)


class AddressSpace:
    """One process's address space: ``npages`` PTEs (one page-table page
    per 512), VMAs placed with :meth:`mmap`, shmem objects, swap.

    >>> mm = AddressSpace(16, profile="linux-6.18")
    >>> v = mm.mmap(0, 4, "shmem")
    >>> mm.register(0, 4, "WP")
    >>> b = mm.dispatch([0], "write")
    >>> str(Handler(b.handler[0]))
    'do_shared_fault'
    """

    def __init__(self, npages: int, *, profile: ProfileLike = None,
                 fault_around_bytes: int = DEFAULT_FAULT_AROUND_BYTES, swap_type: int = 0,
                 first_pfn: int = FIRST_PFN, zero_pfn: int = ZERO_PFN):
        if not isinstance(npages, (int, np.integer)) or isinstance(npages, bool) or npages < 1:
            raise InvalidValueError("npages must be a positive integer, got %r" % (npages,))
        if (not isinstance(fault_around_bytes, (int, np.integer)) or
                fault_around_bytes < PAGE_SIZE):
            raise InvalidValueError("fault_around_bytes must be at least %d, got %r"
                                    % (PAGE_SIZE, fault_around_bytes))
        self.profile = _profile(profile)
        if not 0 <= swap_type < self.profile.max_swapfiles:
            raise InvalidValueError("swap_type %d is not a swap device type under %s (0-%d)"
                                    % (swap_type, self.profile.name,
                                       self.profile.max_swapfiles - 1))
        # the kernel rounds fault_around_bytes down to a power of two
        self.fault_around_pages = 1 << (int(fault_around_bytes) // PAGE_SIZE).bit_length() - 1
        self.pte = _core.empty_aligned(int(npages), np.uint64)
        self.pte[:] = 0
        self.vmas: List[Vma] = []
        self.objects: List[ShmemObject] = []
        for name, pfn in (("first_pfn", first_pfn), ("zero_pfn", zero_pfn)):
            limit = self.profile.mask("pfn_limit_present")
            if not isinstance(pfn, (int, np.integer)) or not 0 < pfn < limit:
                raise InvalidValueError("%s must be a PFN in 1..%#x, got %r"
                                        % (name, limit - 1, pfn))
        self._native = _core.NativeMM(self.profile.handle, self.pte, next_pfn=int(first_pfn),
                                      zero_pfn=int(zero_pfn),
                                      fault_around_pages=self.fault_around_pages,
                                      ptrs_per_pte=PTRS_PER_PTE, swap_type=swap_type)

    # ------------------------------------------------------------ layout
    def __len__(self) -> int:
        return int(self.pte.size)

    def _sync(self) -> None:
        self.vmas.sort(key=lambda v: v.start)
        self._native.set_layout(
            [(v.start, v.end, v.pgoff, _core.vma_page_prot(self.profile.handle, v.flags),
              v.flags, v.object) for v in self.vmas],
            [(o.cache, o.size) for o in self.objects])

    def memfd(self, size_pages: int) -> int:
        """memfd_create + ftruncate: a new shmem object; returns its index."""
        if size_pages < 0:
            raise InvalidValueError("size_pages must be >= 0, got %d" % size_pages)
        self.objects.append(ShmemObject(int(size_pages)))
        self._sync()
        return len(self.objects) - 1

    def mmap(self, start: int, npages: int, memory: str = "anon", *, prot: str = "rw",
             object: Optional[int] = None, offset: int = 0) -> Vma:
        """Map pages [start, start+npages): ``memory`` is anon, shmem (MAP_SHARED of
        a memfd), shmem_private (MAP_PRIVATE of a memfd) or shared_anon
        (MAP_SHARED|MAP_ANONYMOUS).  A memfd is created when ``object`` is None."""
        if memory not in MEMORY_KINDS:
            raise InvalidValueError("memory %r: use one of %s" % (memory, ", ".join(MEMORY_KINDS)))
        self._check_range(start, npages, "mmap")
        if any(v.start < start + npages and start < v.end for v in self.vmas):
            raise InvalidValueError("mmap: pages %d-%d overlap a VMA" % (start, start + npages - 1))
        anon, shared = MEMORY_KINDS[memory]
        flags = _prot_flags(prot) | (lib.PB_VMA_ANON if anon else 0) | \
            (lib.PB_VMA_SHARED if shared else 0)
        obj = -1
        if not anon:
            obj = self.memfd(offset + npages) if object is None else int(object)
            if not 0 <= obj < len(self.objects):
                raise InvalidValueError("mmap: no shmem object %d" % obj)
        vma = Vma(int(start), int(start + npages), flags, obj, int(offset))
        self.vmas.append(vma)
        self._sync()
        return vma

    def vma_at(self, page: int) -> Vma:
        for v in self.vmas:
            if v.start <= page < v.end:
                return v
        raise InvalidValueError("page %d is not in a VMA" % page)

    def _check_range(self, start: int, count: int, what: str) -> None:
        if start < 0 or count < 1 or start + count > len(self):
            raise InvalidValueError("%s: pages %d-%d are outside the address space (0-%d)"
                                    % (what, start, start + count - 1, len(self) - 1))

    def _vmas_in(self, start: int, count: int, what: str) -> List[Vma]:
        """The VMAs meeting [start, start+count); the whole range must be mapped.
        Nothing is split: only a change of VMA flags splits (_set_flags)."""
        self._check_range(start, count, what)
        end = start + count
        inside = [v for v in self.vmas if v.start < end and start < v.end]
        if sum(min(v.end, end) - max(v.start, start) for v in inside) != count:
            raise InvalidValueError("%s: pages %d-%d are not all mapped" % (what, start, end - 1))
        return inside

    def _split(self, page: int) -> None:
        for i, v in enumerate(self.vmas):
            if v.start < page < v.end:
                self.vmas[i] = replace(v, end=page)
                self.vmas.append(replace(v, start=page, pgoff=v.pgoff + page - v.start))
                return

    def _set_flags(self, start: int, count: int, what: str, change: Any) -> List[Vma]:
        """Split at the range's ends and give each VMA inside change(flags)."""
        out = []
        self._vmas_in(start, count, what)
        self._split(start)
        self._split(start + count)
        for v in [v for v in self.vmas if start <= v.start and v.end <= start + count]:
            nv = replace(v, flags=change(v.flags))
            self.vmas[self.vmas.index(v)] = nv
            out.append(nv)
        self._merge()
        self._sync()
        return out

    def _merge(self) -> None:
        """vma_merge: neighbours with the same flags over the same object."""
        self.vmas.sort(key=lambda v: v.start)
        merged: List[Vma] = []
        for v in self.vmas:
            last = merged[-1] if merged else None
            if (last and last.end == v.start and last.flags == v.flags and
                    last.object == v.object and
                    (v.object < 0 or last.pgoff + (last.end - last.start) == v.pgoff)):
                merged[-1] = replace(last, end=v.end)
            else:
                merged.append(v)
        self.vmas = merged

    # ----------------------------------------------------- userfaultfd
    def register(self, start: int, count: int, mode: str = "WP",
                 features: Iterable[str] = ()) -> None:
        """UFFDIO_REGISTER of pages [start, start+count) with ``mode`` (MISSING,
        WP, MINOR joined by |) on a context with ``features``."""
        bits = 0
        for m in str(mode).split("|"):
            key = m.strip().upper()
            if key not in UFFD_MODES:
                raise InvalidValueError("register: unknown mode %r (MISSING, WP, MINOR)" % m)
            bits |= UFFD_MODES[key]
        for f in features:
            if f not in UFFD_FEATURES:
                raise InvalidValueError("register: unknown feature %r (%s)"
                                        % (f, ", ".join(UFFD_FEATURES)))
            if f in _FEATURES_6_X and not self.profile.is_6_18:
                raise InvalidValueError("register: %s does not exist in %s"
                                        % (f, self.profile.name))
            bits |= UFFD_FEATURES[f]
        if (bits & lib.PB_VMA_UFFD_WP) and not self.profile.mask("uffd_wp"):
            raise InvalidValueError("register: %s has no HAVE_ARCH_USERFAULTFD_WP"
                                    % self.profile.name)
        for v in self._vmas_in(start, count, "register"):
            if (bits & lib.PB_VMA_UFFD_MINOR) and v.anonymous:
                raise InvalidValueError("register: MINOR needs shmem (or hugetlbfs); "
                                        "pages %d-%d are anonymous" % (v.start, v.end - 1))
        self._set_flags(start, count, "register",
                        lambda f: (f & ~(lib.PB_VMA_UFFD_MASK | _FEATURE_MASK)) | bits)

    def unregister(self, start: int, count: int) -> None:
        """UFFDIO_UNREGISTER: 6.18 first un-protects the range (uffd_wp_range
        resolve: bit 10, swap bit 2 and uffd-wp markers go); the v2 series only
        changes the VMA flags and leaves stale bits for the fault path."""
        for v in self._vmas_in(start, count, "unregister"):
            if self.profile.is_6_18 and v.flags & lib.PB_VMA_UFFD_WP:
                a, b = max(start, v.start), min(start + count, v.end)
                self._native.range_op("writeprotect", a, b - a, 0)
        self._set_flags(start, count, "unregister",
                        lambda f: f & ~(lib.PB_VMA_UFFD_MASK | _FEATURE_MASK))

    def writeprotect(self, start: int, count: int = 1, on: bool = True) -> None:
        """UFFDIO_WRITEPROTECT (mode WP when ``on``) of pages [start, start+count)."""
        for v in self._vmas_in(start, count, "writeprotect"):
            if not v.flags & lib.PB_VMA_UFFD_WP:
                raise InvalidValueError("writeprotect: pages %d-%d are not registered for WP "
                                        "(the kernel returns ENOENT)"
                                        % (max(start, v.start), min(start + count, v.end) - 1))
        self._sync()
        self._native.range_op("writeprotect", start, count, int(bool(on)))

    def uffd_copy(self, page: int, wp: bool = False) -> None:
        """UFFDIO_COPY of a fresh page at ``page`` (mode WP when ``wp``)."""
        self._fill("copy", page, wp)

    def uffd_continue(self, page: int, wp: bool = False) -> None:
        """UFFDIO_CONTINUE: map the page cache page at ``page``."""
        self._fill("continue", page, wp)

    def _fill(self, name: str, page: int, wp: bool) -> None:
        self._check_range(page, 1, "uffd_" + name)
        status = self._native.uffd_fill(name, page, wp)
        if status != lib.PB_OK:
            raise InvalidValueError("uffd_%s of page %d: %s" % (name, page, _core.strerror(status)))

    # ------------------------------------------------ page-table changes
    def dontneed(self, start: int, count: int = 1) -> None:
        """MADV_DONTNEED: zap without details; file uffd-wp survives as a
        marker (6.18, registered VMAs) or special PTE (v2, any file VMA)."""
        self._vmas_in(start, count, "dontneed")
        self._sync()
        self._native.range_op("zap", start, count, lib.PB_ZAP_DONTNEED)

    def munmap(self, start: int, count: int) -> None:
        """munmap: unmap_vmas drops markers and special PTEs, then the VMAs go."""
        self._vmas_in(start, count, "munmap")
        self._sync()
        self._native.range_op("zap", start, count, lib.PB_ZAP_MUNMAP)
        self._split(start)
        self._split(start + count)
        self.vmas = [v for v in self.vmas if not (start <= v.start and v.end <= start + count)]
        self._sync()

    def punch(self, object: int, offset: int, count: int) -> None:
        """fallocate(PUNCH_HOLE|KEEP_SIZE) of object pages [offset, offset+count):
        unmap_mapping_range without even_cows (markers kept), then the pages
        leave the page cache (and swap)."""
        obj = self._object(object, "punch")
        self._unmap_mapping(object, offset, offset + count, even_cows=False)
        obj.cache[offset:min(offset + count, obj.cache.size)] = 0

    def remove(self, start: int, count: int = 1) -> None:
        """MADV_REMOVE: a hole punch of the shared file range behind the pages."""
        for v in self._vmas_in(start, count, "remove"):
            if v.anonymous or not v.shared or not v.flags & lib.PB_VMA_WRITE:
                raise InvalidValueError("remove: MADV_REMOVE needs a writable shared file "
                                        "mapping; pages %d-%d are not (EACCES)"
                                        % (v.start, v.end - 1))
            lo = v.pgoff + max(start, v.start) - v.start
            hi = v.pgoff + min(start + count, v.end) - v.start
            self.punch(v.object, lo, hi - lo)

    def truncate(self, object: int, size_pages: int) -> None:
        """ftruncate: shrinking unmaps past the new EOF with even_cows (uffd-wp
        markers / special PTEs are kept, spec 9) and drops those pages;
        growing only moves EOF."""
        obj = self._object(object, "truncate")
        if size_pages < 0:
            raise InvalidValueError("truncate: size_pages must be >= 0, got %d" % size_pages)
        if size_pages < obj.size:
            self._unmap_mapping(object, size_pages, obj.size, even_cows=True)
            obj.cache[size_pages:] = 0
        obj.grow(size_pages)
        obj.size = int(size_pages)
        self._sync()

    def _unmap_mapping(self, object: int, lo: int, hi: int, even_cows: bool) -> None:
        self._sync()
        how = lib.PB_ZAP_MAPPING_COWS if even_cows else lib.PB_ZAP_MAPPING
        for v in list(self.vmas):
            if v.object != object:
                continue
            a = max(lo, v.pgoff)
            b = min(hi, v.pgoff + v.end - v.start)
            if a < b:
                self._native.range_op("zap", v.start + a - v.pgoff, b - a, how)

    def pageout(self, start: int, count: int = 1) -> None:
        """MADV_PAGEOUT with swap available: anonymous pages become swap
        entries (uffd-wp in swap bit 2), shmem pages go to swap and their PTE
        becomes none or a marker / special PTE."""
        self._vmas_in(start, count, "pageout")
        self._sync()
        self._native.range_op("swap_out", start, count)

    def mprotect(self, start: int, count: int, prot: str) -> None:
        """mprotect to ``prot`` ("r", "rw", "none", ... as in r/w/x letters)."""
        bits = _prot_flags(prot)
        mask = lib.PB_VMA_READ | lib.PB_VMA_WRITE | lib.PB_VMA_EXEC
        end = start + count
        # mprotect_fixup() returns early for a VMA whose flags do not change:
        # its PTEs are not rewritten (mm/mprotect.c, 5.12.9 and 6.18)
        changing = [(max(start, v.start), min(end, v.end))
                    for v in self._vmas_in(start, count, "mprotect")
                    if (v.flags & ~mask) | bits != v.flags]
        self._set_flags(start, count, "mprotect", lambda f: (f & ~mask) | bits)
        for a, b in changing:
            self._native.range_op("change_prot", a, b - a)

    def numa_hint(self, start: int, count: int = 1) -> None:
        """change_prot_numa: present pages become PROT_NONE hinting entries."""
        self._vmas_in(start, count, "numa_hint")
        self._sync()
        self._native.range_op("numa_hint", start, count)

    def _object(self, object: int, what: str) -> ShmemObject:
        if not isinstance(object, (int, np.integer)) or not 0 <= object < len(self.objects):
            raise InvalidValueError("%s: no shmem object %r" % (what, object))
        return self.objects[int(object)]

    # ------------------------------------------------------------ faults
    def dispatch(self, pages: Any, access: Any = "read", *, resolve: Any = None,
                 retry: bool = True, trace: bool = False,
                 out: Optional[FaultBatch] = None, threads: Optional[int] = 1) -> FaultBatch:
        """Fault on each page in order with ``access`` (read, write, exec; one
        for all or an array).  With ``retry`` an access that the kernel
        answers with 0 faults again until it completes, waits or gets a
        signal.  ``resolve`` answers userfaultfd messages in C as a handler
        thread would: "WP" un-protects, "MISSING" copies a fresh page
        ("MISSING+WP" write-protected), "MINOR" continues ("MINOR+WP"),
        joined by |, or "all".  PTEs change in place.  ``out``: an earlier
        result of the same length (and trace setting) whose arrays are reused.

        ``threads``: 1 (the default) runs in the calling thread; k > 1 (None:
        the CPUs this process may use) splits the faults by partitions that
        cannot affect each other (an anonymous VMA; the VMAs of one shmem
        object) over up to k threads.  New pages are numbered provisionally
        and then renumbered as one thread would have: the result, PTEs,
        page caches and messages are identical to threads=1."""
        idx = _as_index_array(pages, "pages")
        acc = _access_array(access, idx.size)
        if idx.size and int(idx.max()) >= len(self):
            raise InvalidValueError("pages: page %d is outside the address space (0-%d)"
                                    % (int(idx.max()), len(self) - 1))
        policy = _resolve_policy(resolve)
        nthreads = _parallel.check_threads(threads)
        if nthreads is None:
            nthreads = _parallel.available_cpus()
        if nthreads > 1 and out is None:
            parts = self._partitions(idx, nthreads)
            if len(parts) > 1:
                return self._dispatch_parallel(idx, acc, parts, policy, bool(retry),
                                               bool(trace))
        reuse = None
        if out is not None:
            if (not isinstance(out, FaultBatch) or len(out) != idx.size or
                    (out.trace is None) == bool(trace) or out._native is None):
                raise InvalidValueError("out must be the FaultBatch of an earlier dispatch of "
                                        "%d faults with trace=%s" % (idx.size, bool(trace)))
            reuse = out._native
        return self._dispatch_one(idx, acc, policy, bool(retry), bool(trace), reuse)

    def _dispatch_one(self, idx: np.ndarray, acc: np.ndarray, policy: int, retry: bool,
                      trace: bool, reuse: Optional[Dict[str, Any]] = None) -> FaultBatch:
        res = self._native.dispatch(idx, acc, policy, retry, trace, reuse)
        return self._batch(idx, acc, res)

    @staticmethod
    def _batch(idx: np.ndarray, acc: np.ndarray, res: Dict[str, Any]) -> FaultBatch:
        names = _core.handler_names()
        return FaultBatch(
            pages=idx, access=acc, handler=res["handler"], last=res["last"],
            outcome=res["outcome"], passes=res["passes"], trace=res["trace"],
            messages=res["messages"],
            counts={names[h]: int(c) for h, c in enumerate(res["counts"])},
            outcomes={str(Outcome(o)): int(c) for o, c in enumerate(res["outcomes"])},
            _native=res if "message_buffers" in res else None)

    def _partitions(self, idx: np.ndarray, buckets: int) -> List[np.ndarray]:
        """Fault positions grouped so that no two groups touch the same VMA
        or shmem object (faults outside VMAs go with the first), at most
        ``buckets`` groups balanced by size, each in fault order."""
        if not self.vmas or idx.size < 2:
            return [np.arange(idx.size)]
        owner: Dict[Any, int] = {}
        g = np.zeros(idx.size, dtype=np.intp)    # faults outside VMAs: group 0
        for i, v in enumerate(self.vmas):
            gid = owner.setdefault(("obj", v.object) if v.object >= 0 else ("vma", i), len(owner))
            if gid:
                g[(idx >= v.start) & (idx < v.end)] = gid
        sizes = np.bincount(g, minlength=len(owner))
        if np.count_nonzero(sizes) < 2:
            return [np.arange(idx.size)]
        # largest groups first, each to the emptiest bucket
        load = [0] * min(buckets, int(np.count_nonzero(sizes)))
        bucket_of = np.zeros(len(owner), dtype=np.int64)
        for gid in np.argsort(-sizes, kind="stable"):
            b = load.index(min(load))
            bucket_of[gid] = b
            load[b] += int(sizes[gid])
        b_of_fault = bucket_of[g]
        return [np.flatnonzero(b_of_fault == b) for b in range(len(load))]

    def _dispatch_parallel(self, idx: np.ndarray, acc: np.ndarray, parts: List[np.ndarray],
                           policy: int, retry: bool, trace: bool) -> FaultBatch:
        n = idx.size
        first = self.next_pfn
        bound = lib.PB_MAX_FAULT_ALLOCS
        limit = self.profile.mask("pfn_limit_present")
        prov = limit // 2                       # provisional PFNs: far above real ones
        if first + bound * n >= prov or prov + bound * n >= limit:
            return self._dispatch_one(idx, acc, policy, retry, trace)   # no room: one thread
        bases, twins, base = [], [], prov
        for sel in parts:
            bases.append(base)
            twins.append(self._native.clone(base))
            base += bound * sel.size
        results = _parallel.run_each([
            (lambda t=t, sel=sel: t.dispatch(idx[sel], acc[sel], policy, retry, trace,
                                             want_allocs=True))
            for t, sel in zip(twins, parts)])
        # number the new pages as one thread would: in fault order
        allocs = np.zeros(n, dtype=np.uint64)
        for sel, res in zip(parts, results):
            allocs[sel] = res["allocs"]
        start = np.uint64(first) + np.cumsum(allocs) - allocs
        for sel, res, lo in zip(parts, results, bases):
            local = res["allocs"].astype(np.uint64)
            total = int(local.sum())
            if not total:
                continue
            owner = np.repeat(np.arange(sel.size), local.astype(np.int64))
            k = np.arange(total, dtype=np.uint64)
            table = start[sel][owner] + (k - (np.cumsum(local) - local)[owner])
            self._native.remap_pfns(lo, table)
            for obj in self.objects:
                c = obj.cache
                hit = (c >= np.uint64(lo)) & (c < np.uint64(lo + total))
                c[hit] = table[(c[hit] - np.uint64(lo)).astype(np.int64)]
        self._native.set_allocators(first + int(allocs.sum()), self._native.next_slot)
        out: Dict[str, Any] = {}
        for key in ("handler", "last", "outcome", "passes"):
            out[key] = np.zeros(n, dtype=np.uint8)
        out["trace"] = np.zeros(n, dtype=np.uint64) if trace else None
        for sel, res in zip(parts, results):
            for key in ("handler", "last", "outcome", "passes", "trace"):
                if out[key] is not None:
                    out[key][sel] = res[key]
        fault = np.concatenate([sel[r["messages"]["fault"].astype(np.int64)]
                                for sel, r in zip(parts, results)]).astype(np.uint64)
        order = np.argsort(fault, kind="stable")
        messages = {"fault": fault[order]}
        for key in ("page", "kind"):
            messages[key] = np.concatenate([r["messages"][key] for r in results])[order]
        counts = sum(r["counts"] for r in results)
        outcomes = sum(r["outcomes"] for r in results)
        return self._batch(idx, acc, dict(out, messages=messages, counts=counts,
                                          outcomes=outcomes))

    # ------------------------------------------------------------- views
    def pagemap(self, start: int = 0, count: Optional[int] = None) -> np.ndarray:
        """The /proc/PID/pagemap words the profile's kernel would report for
        pages [start, start+count) (read with CAP_SYS_ADMIN)."""
        count = len(self) - start if count is None else count
        self._check_range(start, count, "pagemap")
        return self._native.pagemap(start, count)

    @property
    def next_pfn(self) -> int:
        """The PFN the next new page gets."""
        return self._native.next_pfn

    @property
    def zero_pfn(self) -> int:
        return self._native.zero_pfn

    def snapshot(self) -> Dict[str, Any]:
        """A copy of the state that faults and operations change (PTEs, page
        caches, object sizes, VMAs, allocators), for :meth:`restore`."""
        return {"pte": self.pte.copy(), "vmas": list(self.vmas),
                "objects": [(o.cache.copy(), o.size) for o in self.objects],
                "alloc": (self._native.next_pfn, self._native.next_slot)}

    def restore(self, snap: Dict[str, Any]) -> None:
        """Go back to a :meth:`snapshot` of this address space."""
        if len(snap["pte"]) != len(self) or len(snap["objects"]) != len(self.objects):
            raise InvalidValueError("restore: the snapshot is of another address space")
        self.pte[:] = snap["pte"]
        self.vmas = list(snap["vmas"])
        for obj, (cache, size) in zip(self.objects, snap["objects"]):
            if obj.cache.size != cache.size:
                obj.cache = cache.copy()
            else:
                obj.cache[:] = cache
            obj.size = size
        self._native.set_allocators(*snap["alloc"])
        self._sync()


_FEATURE_MASK = lib.PB_VMA_WP_UNPOPULATED | lib.PB_VMA_WP_ASYNC | lib.PB_VMA_EVENT_REMOVE


def _prot_flags(prot: str) -> int:
    text = str(prot).lower()
    if text in ("none", "", "-"):
        return 0
    bits = 0
    for ch in text:
        bit = {"r": lib.PB_VMA_READ, "w": lib.PB_VMA_WRITE, "x": lib.PB_VMA_EXEC}.get(ch)
        if bit is None:
            raise InvalidValueError("prot %r: use letters r, w, x (e.g. 'rw') or 'none'" % prot)
        bits |= bit
    return bits


def _access_array(access: Any, n: int) -> np.ndarray:
    if isinstance(access, (str, Access)) or np.ndim(access) == 0:
        return np.full(n, _access_code(access), dtype=np.uint8)
    arr = np.asarray(access)
    if arr.shape != (n,):
        raise InvalidTypeError("access must be one access or an array of %d, got shape %s"
                               % (n, arr.shape))
    if arr.dtype.kind in "US":
        return np.array([_access_code(a) for a in arr], dtype=np.uint8)
    if arr.dtype.kind not in "iu" or (arr.size and (arr.min() < 0 or arr.max() > 2)):
        raise InvalidValueError("access codes must be 0 (read), 1 (write) or 2 (exec)")
    return np.ascontiguousarray(arr, dtype=np.uint8)


def _access_code(a: Any) -> int:
    if isinstance(a, str):
        try:
            return int(Access[a.upper()])
        except KeyError:
            raise InvalidValueError("access %r: use read, write or exec" % a) from None
    try:
        return int(Access(int(a)))
    except (ValueError, TypeError):
        raise InvalidValueError("access %r: use read, write or exec" % (a,)) from None
