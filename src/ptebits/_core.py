"""The only module that touches cffi: array validation, calls into the C
core, and C status codes turned into exceptions.

Everything here works on whole arrays; cffi releases the GIL for each call,
and the C core is reentrant, so calls on separate arrays may run in threads.
"""
from __future__ import annotations

import operator
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

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

def classify(handle: Any, raw: np.ndarray, out: np.ndarray) -> None:
    lib.pb_classify_array(handle, _ptr("uint64_t *", raw), raw.size, _wptr("uint8_t *", out))


def decode(handle: Any, raw: np.ndarray, cols: Sequence[np.ndarray]) -> None:
    kind, pfn, flags, swp_type, swp_offset, aux = cols
    lib.pb_decode_array(handle, _ptr("uint64_t *", raw), raw.size,
                        _wptr("uint8_t *", kind), _wptr("uint64_t *", pfn),
                        _wptr("uint64_t *", flags), _wptr("uint8_t *", swp_type),
                        _wptr("uint64_t *", swp_offset), _wptr("uint16_t *", aux))


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
                   out: np.ndarray) -> None:
    lib.pb_pte_to_pagemap_array(handle, _ptr("uint64_t *", raw), raw.size,
                                _ptr("uint8_t *", facts), _wptr("uint64_t *", out))


def decode_pagemap(handle: Any, pm: np.ndarray, cols: Sequence[np.ndarray]) -> None:
    kind, pfn, pm_flags, swp_type, swp_offset, aux = cols
    lib.pb_pagemap_decode_array(handle, _ptr("uint64_t *", pm), pm.size,
                                _wptr("uint8_t *", kind), _wptr("uint64_t *", pfn),
                                _wptr("uint16_t *", pm_flags), _wptr("uint8_t *", swp_type),
                                _wptr("uint64_t *", swp_offset), _wptr("uint16_t *", aux))


# ------------------------------------------------------ upper levels

def classify_level(handle: Any, level: int, raw: np.ndarray, out: np.ndarray) -> int:
    return int(lib.pb_classify_level_array(handle, level, _ptr("uint64_t *", raw), raw.size,
                                           _wptr("uint8_t *", out)))


def decode_level(handle: Any, level: int, raw: np.ndarray, cols: Sequence[np.ndarray]) -> int:
    kind, pfn, flags, swp_type, swp_offset, aux = cols
    return int(lib.pb_decode_level_array(
        handle, level, _ptr("uint64_t *", raw), raw.size,
        _wptr("uint8_t *", kind), _wptr("uint64_t *", pfn), _wptr("uint64_t *", flags),
        _wptr("uint8_t *", swp_type), _wptr("uint64_t *", swp_offset),
        _wptr("uint16_t *", aux)))


def encode_level(handle: Any, level: int, kind: int, a: Optional[np.ndarray],
                 b: Optional[np.ndarray], aux: Optional[np.ndarray],
                 out: np.ndarray) -> Tuple[int, int]:
    """Encode a flat batch at a level; (status, index of the first failure)."""
    err = ffi.new("size_t *")
    status = lib.pb_encode_level_array(handle, level, kind, out.size, _ptr("uint64_t *", a),
                                       _ptr("uint64_t *", b), _ptr("uint16_t *", aux),
                                       _wptr("uint64_t *", out), err)
    return status, int(err[0])
