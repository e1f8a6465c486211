"""The only module that touches cffi: array validation, calls into the C
core, and C status codes turned into exceptions.

Everything here works on whole arrays; cffi releases the GIL for each call
(every wrapper in the generated module runs the C function between
Py_BEGIN_ALLOW_THREADS and Py_END_ALLOW_THREADS), and the C core is
reentrant (no mutable static state: its statics are const tables), so calls
on separate arrays may run in threads, and the array loops split one call
into chunks over threads (_parallel).
"""
from __future__ import annotations

import operator
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _parallel
from ._native import ffi, lib
from .errors import FieldRangeError, InvalidTypeError, InvalidValueError

__all__ = ["lib", "new_profile", "profile_layout", "as_u64_input", "classify",
           "decode", "encode", "pte_op", "pte_to_pagemap", "decode_pagemap",
           "kind_names", "op_names", "sub_name", "strerror", "level_names",
           "leaf_shift", "classify_level", "decode_level", "encode_level"]

U64 = np.dtype(np.uint64)


# ------------------------------------------------------------------ names

def kind_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.pb_kind_name(k)).decode()
                 for k in range(lib.PB_KIND_COUNT))


def op_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.pb_op_name(op)).decode()
                 for op in range(lib.PB_OP_COUNT))


def level_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.pb_level_name(lv)).decode()
                 for lv in range(lib.PB_LEVEL_COUNT))


def leaf_shift(level: int) -> int:
    """log2 of the page a leaf at this level maps; 0 if the level has none."""
    return int(lib.pb_level_leaf_shift(level))


def sub_name(kind: int, sub: int) -> str:
    return ffi.string(lib.pb_sub_name(kind, sub)).decode()


def strerror(status: int) -> str:
    return ffi.string(lib.pb_strerror(status)).decode()


# --------------------------------------------------------------- profiles

def new_profile(kernel: int, config: int) -> Any:
    """A C ``pb_profile`` for a kernel id and PB_CFG_* bits (opaque handle)."""
    handle = ffi.new("pb_profile *")
    status = lib.pb_profile_init(handle, kernel, config)
    if status != lib.PB_OK:
        raise InvalidValueError("cannot build a profile for kernel %d config %#x: %s"
                                % (kernel, config, strerror(status)))
    return handle


def profile_layout(handle: Any) -> Dict[str, Any]:
    """The profile struct's fields as plain Python values."""
    out: Dict[str, Any] = {}
    for name, _ in ffi.typeof("pb_profile").fields:
        value = getattr(handle, name)
        if isinstance(value, ffi.CData):
            value = list(value)
        out[name] = value
    return out


def limit(handle: Any, status: int, kind: int) -> int:
    return int(lib.pb_limit(handle, status, kind))


# ------------------------------------------------------------- validation

CACHE_LINE = 64


def empty_aligned(shape: Any, dtype: Any) -> np.ndarray:
    """np.empty, but starting on a cache line: the C core streams large
    outputs past the cache a whole line at a time (numpy's own large
    allocations start 16 bytes into a page)."""
    dt = np.dtype(dtype)
    count = int(np.prod(shape, dtype=np.int64))
    buf = np.empty(count * dt.itemsize + CACHE_LINE, dtype=np.uint8)
    skip = -buf.ctypes.data % CACHE_LINE
    return buf[skip:skip + count * dt.itemsize].view(dt).reshape(shape)


def _describe(arr: np.ndarray) -> str:
    return "dtype=%s shape=%s" % (arr.dtype.str, arr.shape)


def check_u64_array(arr: Any, name: str, *, writable: bool = False) -> np.ndarray:
    """The array as the C core takes it: a C-contiguous ndarray of native
    uint64 with at least one dimension.  Nothing is converted silently."""
    if not isinstance(arr, np.ndarray):
        raise InvalidTypeError("%s must be a numpy array of uint64, got %s"
                               % (name, type(arr).__name__))
    if arr.ndim == 0:
        raise InvalidTypeError("%s is a 0-d array; pass a 1-d array (arr.reshape(1)) "
                               "or use a scalar function such as ptebits.Pte" % name)
    if arr.dtype.kind != "u" or arr.dtype.itemsize != 8:
        hint = ""
        if arr.dtype.kind in "iu" and arr.dtype.itemsize == 8:
            hint = "; if the bits are right, pass %s.view(np.uint64)" % name
        raise InvalidTypeError("%s must have dtype uint64, got %s%s"
                               % (name, _describe(arr), hint))
    if not arr.dtype.isnative:
        raise InvalidTypeError("%s is byte-swapped (%s); convert with "
                               "%s.astype('<u8') (x86-64 page tables are little-endian)"
                               % (name, _describe(arr), name))
    if not arr.flags.c_contiguous:
        raise InvalidTypeError("%s is not C-contiguous (%s, strides=%s); pass "
                               "np.ascontiguousarray(%s)" % (name, _describe(arr),
                                                             arr.strides, name))
    if writable and not arr.flags.writeable:
        raise InvalidTypeError("%s is read-only; the result is written into it" % name)
    return arr


def check_out(arr: Any, name: str, dtype: Any, shape: Tuple[int, ...]) -> np.ndarray:
    """An output buffer to reuse: exactly the dtype and shape the result needs."""
    want = np.dtype(dtype)
    if not isinstance(arr, np.ndarray):
        raise InvalidTypeError("out.%s must be a numpy array, got %s" % (name, type(arr).__name__))
    if arr.dtype != want or arr.shape != shape:
        raise InvalidTypeError("out.%s must have dtype %s and shape %s to be reused, "
                               "got %s" % (name, want, shape, _describe(arr)))
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        raise InvalidTypeError("out.%s must be C-contiguous and writable" % name)
    return arr


def as_flag(value: Any, name: str) -> bool:
    """A yes/no argument: True, False, or 0/1 (numpy's too).  Anything else
    (a string such as "no" would read as true) is refused."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return bool(value)
    raise InvalidTypeError("%s must be True or False, got %r" % (name, value))


def as_u64_input(value: Any, name: str, *, limit_bits: int = 64) -> np.ndarray:
    """An integer argument of an encoder (scalar, sequence or array) as a
    uint64 array, refusing negative, too large, non-integer and NaN values."""
    if isinstance(value, (bool, np.bool_)):
        return np.asarray(value, dtype=U64)
    if isinstance(value, (int, np.integer)):
        v = int(value)
        if v < 0 or v >> limit_bits:
            raise FieldRangeError("%s=%d is %s" % (name, v, "negative" if v < 0 else
                                                   "out of range (0 to 2^%d-1)" % limit_bits),
                                  field=name, value=v, limit=1 << limit_bits)
        return np.asarray(v, dtype=U64)
    if isinstance(value, float) or (isinstance(value, np.ndarray) and value.dtype.kind == "f"):
        raise InvalidTypeError("%s must be an integer, got a float (%r)"
                               % (name, value if isinstance(value, float) else value.dtype))
    if isinstance(value, (str, bytes)):
        raise InvalidTypeError("%s must be an integer, got %s" % (name, type(value).__name__))
    # sequences go through Python ints: numpy would turn a list mixing values
    # below and above 2^63 into float64
    arr = value if isinstance(value, np.ndarray) else np.array(value, dtype=object)
    if arr.dtype == object:
        try:
            ints = [operator.index(v) for v in arr.ravel()]
        except TypeError:
            bad = next(v for v in arr.ravel() if not isinstance(v, (int, np.integer)))
            raise InvalidTypeError("%s must hold integers, got %r (%s)"
                                   % (name, bad, type(bad).__name__)) from None
        bad = [v for v in ints if v < 0 or v >> limit_bits]
        if bad:
            raise FieldRangeError("%s=%d is %s" % (name, bad[0], "negative" if bad[0] < 0 else
                                                   "out of range (0 to 2^%d-1)" % limit_bits),
                                  field=name, value=bad[0], limit=1 << limit_bits)
        return np.array(ints, dtype=U64).reshape(arr.shape)
    if arr.dtype.kind == "b":
        return arr.astype(U64)
    if arr.dtype.kind not in "iu":
        raise InvalidTypeError("%s must be integers, got dtype %s" % (name, arr.dtype))
    if arr.dtype.kind == "i" and arr.size and arr.min() < 0:
        first = int(arr.ravel()[np.argmax(arr.ravel() < 0)])
        raise FieldRangeError("%s=%d is negative" % (name, first), field=name, value=first,
                              limit=1 << limit_bits)
    return arr.astype(U64, copy=False)


def _ptr(ctype: str, arr: Optional[np.ndarray]) -> Any:
    """A typed, zero-copy view of an array for a const input (or NULL)."""
    if arr is None:
        return ffi.NULL
    return ffi.from_buffer(ctype.replace(" *", "[]"), arr, require_writable=False)


def _wptr(ctype: str, arr: np.ndarray) -> Any:
    return ffi.from_buffer(ctype.replace(" *", "[]"), arr, require_writable=True)


# ------------------------------------------------------------------ codec

# The array calls below go through _parallel.run: ``threads`` is None
# (automatic) or a count the public function checked with
# _parallel.check_threads; each chunk gets a (start, stop) range of the
# flattened arrays and makes one C call on it.

def _flat(arr: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """A 1-d view of a C-contiguous array (None stays None)."""
    return None if arr is None else arr.reshape(-1)


def _first_failure(statuses: Sequence[int]) -> int:
    return next((s for s in statuses if s != lib.PB_OK), lib.PB_OK)


def classify(handle: Any, raw: np.ndarray, out: np.ndarray,
             threads: Optional[int] = None) -> None:
    src, dst = _flat(raw), _flat(out)

    def chunk(a: int, b: int) -> None:
        lib.pb_classify_array(handle, _ptr("uint64_t *", src[a:b]), b - a,
                              _wptr("uint8_t *", dst[a:b]))
    _parallel.run(raw.size, threads, "classify", chunk)


def decode(handle: Any, raw: np.ndarray, cols: Sequence[np.ndarray],
           threads: Optional[int] = None) -> None:
    src = _flat(raw)
    kind, pfn, flags, swp_type, swp_offset, aux = [_flat(c) for c in cols]

    def chunk(a: int, b: int) -> None:
        lib.pb_decode_array(handle, _ptr("uint64_t *", src[a:b]), b - a,
                            _wptr("uint8_t *", kind[a:b]), _wptr("uint64_t *", pfn[a:b]),
                            _wptr("uint64_t *", flags[a:b]), _wptr("uint8_t *", swp_type[a:b]),
                            _wptr("uint64_t *", swp_offset[a:b]), _wptr("uint16_t *", aux[a:b]))
    _parallel.run(raw.size, threads, "decode", chunk)


def encode(handle: Any, kind: int, a: Optional[np.ndarray], b: Optional[np.ndarray],
           aux: Optional[np.ndarray], out: np.ndarray) -> Tuple[int, int]:
    """Encode a flat batch; returns (status, index of the first failure)."""
    err = ffi.new("size_t *")
    status = lib.pb_encode_array(handle, kind, out.size, _ptr("uint64_t *", a),
                                 _ptr("uint64_t *", b), _ptr("uint16_t *", aux),
                                 _wptr("uint64_t *", out), err)
    return status, int(err[0])


def pte_op(handle: Any, op: int, raw: np.ndarray, arg: Optional[np.ndarray],
           out: np.ndarray) -> Tuple[int, int]:
    err = ffi.new("size_t *")
    status = lib.pb_pte_op_array(handle, op, _ptr("uint64_t *", raw), raw.size,
                                 _ptr("uint64_t *", arg), _wptr("uint64_t *", out), err)
    return status, int(err[0])


def pte_to_pagemap(handle: Any, raw: np.ndarray, facts: Optional[np.ndarray],
                   out: np.ndarray, threads: Optional[int] = None) -> None:
    src, fct, dst = _flat(raw), _flat(facts), _flat(out)

    def chunk(a: int, b: int) -> None:
        lib.pb_pte_to_pagemap_array(handle, _ptr("uint64_t *", src[a:b]), b - a,
                                    _ptr("uint8_t *", None if fct is None else fct[a:b]),
                                    _wptr("uint64_t *", dst[a:b]))
    _parallel.run(raw.size, threads, "pte_to_pagemap", chunk)


def decode_pagemap(handle: Any, pm: np.ndarray, cols: Sequence[np.ndarray],
                   threads: Optional[int] = None) -> None:
    src = _flat(pm)
    kind, pfn, pm_flags, swp_type, swp_offset, aux = [_flat(c) for c in cols]

    def chunk(a: int, b: int) -> None:
        lib.pb_pagemap_decode_array(
            handle, _ptr("uint64_t *", src[a:b]), b - a,
            _wptr("uint8_t *", kind[a:b]), _wptr("uint64_t *", pfn[a:b]),
            _wptr("uint16_t *", pm_flags[a:b]), _wptr("uint8_t *", swp_type[a:b]),
            _wptr("uint64_t *", swp_offset[a:b]), _wptr("uint16_t *", aux[a:b]))
    _parallel.run(pm.size, threads, "decode_pagemap", chunk)


# ------------------------------------------------------ upper levels

def classify_level(handle: Any, level: int, raw: np.ndarray, out: np.ndarray,
                   threads: Optional[int] = None) -> int:
    src, dst = _flat(raw), _flat(out)

    def chunk(a: int, b: int) -> int:
        return int(lib.pb_classify_level_array(handle, level, _ptr("uint64_t *", src[a:b]),
                                               b - a, _wptr("uint8_t *", dst[a:b])))
    return _first_failure(_parallel.run(raw.size, threads, "classify_level", chunk))


def decode_level(handle: Any, level: int, raw: np.ndarray, cols: Sequence[np.ndarray],
                 threads: Optional[int] = None) -> int:
    src = _flat(raw)
    kind, pfn, flags, swp_type, swp_offset, aux = [_flat(c) for c in cols]

    def chunk(a: int, b: int) -> int:
        return int(lib.pb_decode_level_array(
            handle, level, _ptr("uint64_t *", src[a:b]), b - a,
            _wptr("uint8_t *", kind[a:b]), _wptr("uint64_t *", pfn[a:b]),
            _wptr("uint64_t *", flags[a:b]), _wptr("uint8_t *", swp_type[a:b]),
            _wptr("uint64_t *", swp_offset[a:b]), _wptr("uint16_t *", aux[a:b])))
    # an unknown level fails alike in every chunk: any one status tells
    return _first_failure(_parallel.run(raw.size, threads, "decode_level", chunk))


def encode_level(handle: Any, level: int, kind: int, a: Optional[np.ndarray],
                 b: Optional[np.ndarray], aux: Optional[np.ndarray],
                 out: np.ndarray) -> Tuple[int, int]:
    """Encode a flat batch at a level; (status, index of the first failure)."""
    err = ffi.new("size_t *")
    status = lib.pb_encode_level_array(handle, level, kind, out.size, _ptr("uint64_t *", a),
                                       _ptr("uint64_t *", b), _ptr("uint16_t *", aux),
                                       _wptr("uint64_t *", out), err)
    return status, int(err[0])


# ------------------------------------------------------------ fault model

def handler_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.pb_handler_name(h)).decode() for h in range(lib.PB_H_COUNT))


def outcome_names() -> Tuple[str, ...]:
    return tuple(ffi.string(lib.pb_outcome_name(o)).decode() for o in range(lib.PB_O_COUNT))


def vma_page_prot(handle: Any, flags: int) -> int:
    return int(lib.pb_vma_page_prot(handle, flags))


class NativeMM:
    """A C ``pb_mm``: the address space's arrays as the fault model sees
    them.  The arrays stay owned by the caller, who must call
    :meth:`set_layout` again whenever a VMA or a page cache array changes."""

    def __init__(self, handle: Any, pte: np.ndarray, *, next_pfn: int, zero_pfn: int,
                 fault_around_pages: int, ptrs_per_pte: int, swap_type: int):
        self._handle = handle
        self._pte = pte
        self._mm = ffi.new("pb_mm *")
        self._mm.pte = _wptr("uint64_t *", pte)
        self._mm.npages = pte.size
        self._mm.next_pfn = next_pfn
        self._mm.next_slot = 1            # slot 0 holds the swap header
        self._mm.zero_pfn = zero_pfn
        self._mm.fault_around_pages = fault_around_pages
        self._mm.ptrs_per_pte = ptrs_per_pte
        self._mm.swap_type = swap_type
        self._keep: list = []
        self.set_layout([], [])

    @property
    def next_pfn(self) -> int:
        return int(self._mm.next_pfn)

    @property
    def next_slot(self) -> int:
        return int(self._mm.next_slot)

    @property
    def zero_pfn(self) -> int:
        return int(self._mm.zero_pfn)

    def set_allocators(self, next_pfn: int, next_slot: int) -> None:
        self._mm.next_pfn, self._mm.next_slot = next_pfn, next_slot

    def clone(self, next_pfn: int) -> "NativeMM":
        """The same arrays, with a PFN allocator of its own (for a thread
        that faults on a partition no other thread touches)."""
        twin = NativeMM.__new__(NativeMM)
        twin._handle, twin._pte = self._handle, self._pte
        twin._mm = ffi.new("pb_mm *", self._mm[0])
        twin._mm.next_pfn = next_pfn
        twin._keep = self._keep
        return twin

    def remap_pfns(self, lo: int, table: np.ndarray) -> None:
        lib.pb_remap_pfns(_wptr("uint64_t *", self._pte), self._pte.size, lo, table.size,
                          _ptr("uint64_t *", table))

    def set_layout(self, vmas: Sequence[Tuple[int, int, int, int, int, int]],
                   objects: Sequence[Tuple[np.ndarray, int]]) -> None:
        """vmas: (start, end, pgoff, prot, flags, object) sorted by start;
        objects: (page cache array, size in pages)."""
        cv = ffi.new("pb_vma[]", max(1, len(vmas)))
        for i, (start, end, pgoff, prot, flags, obj) in enumerate(vmas):
            cv[i].start, cv[i].end, cv[i].pgoff = start, end, pgoff
            cv[i].prot, cv[i].flags, cv[i].object = prot, flags, obj
        co = ffi.new("pb_object[]", max(1, len(objects)))
        keep: list = [cv, co]
        for i, (cache, size) in enumerate(objects):
            buf = _wptr("uint64_t *", cache)
            keep.append(buf)
            co[i].cache, co[i].capacity, co[i].size = buf, cache.size, size
        self._mm.vmas, self._mm.nvmas = cv, len(vmas)
        self._mm.objects, self._mm.nobjects = co, len(objects)
        self._keep = keep

    def _check(self, status: int, what: str) -> None:
        if status != lib.PB_OK:
            raise InvalidValueError("%s: %s" % (what, strerror(status)))

    def range_op(self, name: str, first: int, count: int, arg: int = 0) -> None:
        h, mm = self._handle, self._mm
        if name == "writeprotect":
            status = lib.pb_mm_writeprotect(h, mm, first, count, arg)
        elif name == "zap":
            status = lib.pb_mm_zap(h, mm, first, count, arg)
        elif name == "swap_out":
            status = lib.pb_mm_swap_out(h, mm, first, count)
        elif name == "change_prot":
            status = lib.pb_mm_change_prot(h, mm, first, count)
        elif name == "numa_hint":
            status = lib.pb_mm_numa_hint(h, mm, first, count)
        else:
            raise ValueError(name)
        self._check(status, "%s of pages %d-%d" % (name, first, first + count - 1))

    def uffd_fill(self, name: str, page: int, wp: bool) -> int:
        fn = lib.pb_mm_uffd_copy if name == "copy" else lib.pb_mm_uffd_continue
        return int(fn(self._handle, self._mm, page, int(wp)))

    def pagemap(self, first: int, count: int) -> np.ndarray:
        out = np.zeros(count, dtype=U64)
        lib.pb_mm_pagemap(self._handle, self._mm, first, count, _wptr("uint64_t *", out))
        return out

    def dispatch(self, pages: np.ndarray, access: np.ndarray, resolve: int, retry: bool,
                 want_trace: bool, reuse: Optional[Dict[str, Any]] = None,
                 want_allocs: bool = False) -> Dict[str, Any]:
        """Run the C dispatch loop; message arrays grow when it says full.
        ``reuse``: the result of an earlier call of the same length, whose
        arrays are overwritten instead of allocated again."""
        n = pages.size
        if reuse is not None:
            res = reuse
            msgs = res["message_buffers"]
        else:
            res = {k: np.zeros(n, dtype=np.uint8) for k in ("handler", "last", "outcome",
                                                            "passes")}
            res["trace"] = np.zeros(n, dtype=U64) if want_trace else None
            cap = max(4 * lib.PB_MAX_PASSES, n // 16)
            msgs = {"fault": np.zeros(cap, U64), "page": np.zeros(cap, U64),
                    "kind": np.zeros(cap, np.uint8)}
        out = ffi.new("pb_fault_out *")
        keep = [_wptr("uint8_t *", res[k]) for k in ("handler", "last", "outcome", "passes")]
        out.handler, out.last, out.outcome, out.passes = keep
        out.trace = ffi.NULL if res["trace"] is None else _wptr("uint64_t *", res["trace"])
        res["allocs"] = np.zeros(n, dtype=np.uint8) if want_allocs else None
        out.allocs = ffi.NULL if res["allocs"] is None else _wptr("uint8_t *", res["allocs"])

        def point_messages() -> None:
            out.msg_fault = _wptr("uint64_t *", msgs["fault"])
            out.msg_page = _wptr("uint64_t *", msgs["page"])
            out.msg_kind = _wptr("uint8_t *", msgs["kind"])
            out.msg_cap = msgs["kind"].size
        point_messages()
        done = ffi.new("size_t *")
        pages_p, access_p = _ptr("uint64_t *", pages), _ptr("uint8_t *", access)
        start = 0
        while True:
            status = lib.pb_dispatch(self._handle, self._mm, pages_p, access_p, n, start,
                                     resolve, int(retry), out, done)
            if status == lib.PB_E_FULL:
                for k, arr in msgs.items():
                    bigger = np.zeros(arr.size * 2, dtype=arr.dtype)
                    bigger[:out.msg_n] = arr[:out.msg_n]
                    msgs[k] = bigger
                point_messages()
                start = int(done[0])
                continue
            if status != lib.PB_OK:
                bad = int(done[0])
                raise InvalidValueError("fault %d (page %d, access %d): %s"
                                        % (bad, int(pages[bad]), int(access[bad]),
                                           strerror(status)))
            break
        m = int(out.msg_n)
        res["message_buffers"] = msgs
        res["messages"] = {k: arr[:m] for k, arr in msgs.items()}
        res["counts"] = np.frombuffer(ffi.buffer(out.counts), dtype=U64).copy()
        res["outcomes"] = np.frombuffer(ffi.buffer(out.outcomes), dtype=U64).copy()
        return res
