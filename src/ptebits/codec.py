"""Decode, classify and encode x86-64 PTEs: the public face of the C codec.

Results are compact numpy columns (:class:`Decoded`); per-bit views are
derived on demand from the flags and aux words, never stored one per bit.
"""
from __future__ import annotations

import enum
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import numpy as np

from . import _core
from ._core import lib
from ._parallel import check_threads
from .errors import FieldRangeError, InvalidTypeError, InvalidValueError
from .profiles import Profile, get_profile

__all__ = ["Kind", "Decoded", "classify", "decode", "LEVELS", "PGPROTS", "TABLE_PGPROTS",
           "encode_present", "encode_table", "encode_huge",
           "encode_swap", "encode_migration", "encode_device", "encode_hwpoison",
           "encode_marker", "encode_special", "pte_modify", "pte_wrprotect",
           "pte_mkwrite", "pte_mkuffd_wp", "pte_clear_uffd_wp", "pte_mkdirty",
           "pte_mkclean", "pte_mkyoung", "pte_mkold", "pte_mksoft_dirty",
           "pte_clear_soft_dirty", "pte_swp_mkuffd_wp", "pte_swp_clear_uffd_wp",
           "pte_swp_mksoft_dirty", "pte_swp_clear_soft_dirty", "pte_swp_mkexclusive",
           "pte_swp_clear_exclusive", "resolve_prot"]

ProfileLike = Union[None, str, Profile]
IntOrArray = Union[int, np.ndarray]

#: The kind of an entry; values come from ptebits.h (PB_KIND_*).
Kind = enum.IntEnum("Kind", {name.upper(): value  # type: ignore[misc]
                             for value, name in enumerate(_core.kind_names())})
Kind.__str__ = lambda self: self.name.lower()  # type: ignore[method-assign]
Kind.__doc__ = ("Kind of a page-table entry: NONE, PRESENT, PROTNONE, SWAP, MIGRATION, "
                "DEVICE, HWPOISON, MARKER, UFFD_WP_SPECIAL, BAD, TABLE (upper levels: a "
                "pointer to the next table)")

#: Page-table levels, from the leaf up (names from ptebits.h, PB_LEVEL_*).
LEVELS: Tuple[str, ...] = _core.level_names()

#: Standard user pgprots by name (values from ptebits.h).
PGPROTS: Dict[str, int] = {name: int(getattr(lib, "PB_" + name)) for name in (
    "PAGE_NONE", "PAGE_SHARED", "PAGE_SHARED_EXEC", "PAGE_COPY", "PAGE_COPY_EXEC",
    "PAGE_COPY_NOEXEC", "PAGE_READONLY", "PAGE_READONLY_EXEC", "PAGE_KERNEL")}

#: The flags of table pointers (pgtable_types.h _PAGE_TABLE, _KERNPG_TABLE).
TABLE_PGPROTS: Dict[str, int] = {"PAGE_TABLE": int(lib.PB_PAGE_TABLE),
                                 "KERNPG_TABLE": int(lib.PB_KERNPG_TABLE)}

_COLUMNS: Tuple[Tuple[str, Any], ...] = (
    ("kind", np.uint8), ("pfn", np.uint64), ("flags", np.uint64),
    ("swp_type", np.uint8), ("swp_offset", np.uint64), ("aux", np.uint16))

_PRESENT_KINDS = (lib.PB_KIND_PRESENT, lib.PB_KIND_PROTNONE)


def _profile(profile: ProfileLike) -> Profile:
    return profile if isinstance(profile, Profile) else get_profile(profile)


def _level(level: Any) -> int:
    """A level name ("pte", "pmd", "pud", "p4d", "pgd") as its PB_LEVEL_* number."""
    if not isinstance(level, str):
        raise InvalidTypeError("level must be a level name (%s), got %s"
                               % (", ".join(LEVELS), type(level).__name__))
    key = level.strip().lower()
    if key not in LEVELS:
        raise InvalidValueError("level=%r is not a page-table level; levels are: %s"
                                % (level, ", ".join(LEVELS)))
    return LEVELS.index(key)


def level_name(level: Any) -> str:
    """A level name as the library spells it ("PMD", " pmd" -> "pmd")."""
    return LEVELS[_level(level)]


def _raw_input(raw: Any, name: str = "raw") -> np.ndarray:
    """Arrays must already be uint64; lists and tuples of ints are converted."""
    if isinstance(raw, (list, tuple)):
        raw = _core.as_u64_input(raw, name)
        if raw.ndim == 0:
            raw = raw.reshape(1)
    return _core.check_u64_array(raw, name)


# ----------------------------------------------------------------- decode

class Decoded:
    """Decoded columns of an array of page-table entries of one ``level``
    ("pte" unless decoded with ``level=``).

    Columns (numpy arrays, the input's shape): ``kind`` (uint8, :class:`Kind`
    values), ``pfn`` (uint64: PFN of present/PROT_NONE entries with the L1TF
    inversion undone, or of migration/device/hwpoison entries), ``flags``
    (uint64: ``pte_flags()`` of present kinds, else 0), ``swp_type`` (uint8)
    and ``swp_offset`` (uint64) of swap-format entries, ``aux`` (uint16:
    sub-kind, marker bits, swap flags, migration A/D and predicates).

    At the upper levels the same columns hold: ``pfn`` the first PFN of a
    huge leaf (``pmd_pfn()``/``pud_pfn()``) or the PFN of the next-level
    table, ``flags`` ``pmd_flags()``/``pud_flags()`` (PAT_LARGE at bit 12).

    Per-field views such as ``d.rw``, ``d.uffd_wp``, ``d.global_``,
    ``d.swp_uffd_wp`` or ``d.canonical`` are computed on demand; see
    :func:`ptebits.schema.fields_for` for the fields of each level.
    """

    __slots__ = ("profile", "raw", "level") + tuple(name for name, _ in _COLUMNS)

    def __init__(self, profile: Profile, raw: np.ndarray, cols: Sequence[np.ndarray],
                 level: str = "pte"):
        self.profile = profile
        self.raw = raw
        self.level = LEVELS[_level(level)]
        for (name, _), col in zip(_COLUMNS, cols):
            setattr(self, name, col)

    @classmethod
    def empty(cls, profile: Profile, shape: Tuple[int, ...], level: str = "pte") -> "Decoded":
        cols = [_core.empty_aligned(shape, dt) for _, dt in _COLUMNS]
        return cls(profile, np.empty(shape, dtype=np.uint64), cols, level)

    def columns(self) -> Dict[str, np.ndarray]:
        return {name: getattr(self, name) for name, _ in _COLUMNS}

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.kind.shape

    def __repr__(self) -> str:
        counts = self.counts()
        body = ", ".join("%s=%d" % (k, v) for k, v in counts.items() if v)
        what = "" if self.level == "pte" else self.level + " "
        return "<Decoded %d %sentries under %s: %s>" % (self.kind.size, what, self.profile.name,
                                                       body or "empty")

    def counts(self) -> Dict[str, int]:
        """Entries per kind (every kind listed, the counts add up to the size)."""
        hist = np.bincount(self.kind.ravel(), minlength=lib.PB_KIND_COUNT)
        return {str(Kind(k)): int(hist[k]) for k in range(lib.PB_KIND_COUNT)}

    def kind_is(self, *kinds: Any) -> np.ndarray:
        """Boolean mask of entries of the given kinds (names or Kind values)."""
        mask = np.zeros(self.kind.shape, dtype=bool)
        for k in kinds:
            mask |= self.kind == int(_as_kind(k))
        return mask

    def __getattr__(self, name: str) -> np.ndarray:
        if name.startswith("__") or name in Decoded.__slots__:
            raise AttributeError(name)
        from .schema import field_view
        view = field_view(self, name.rstrip("_"))
        if view is None:
            raise AttributeError("Decoded has no field %r" % name)
        return view

    def __getitem__(self, index: Any) -> "Decoded":
        cols = [np.atleast_1d(getattr(self, name)[index]) for name, _ in _COLUMNS]
        return Decoded(self.profile, np.atleast_1d(self.raw[index]), cols, self.level)


def _as_kind(k: Any) -> "Kind":
    if isinstance(k, str):
        try:
            return Kind[k.upper()]
        except KeyError:
            raise InvalidValueError("unknown kind %r; kinds are: %s"
                                    % (k, ", ".join(str(x) for x in Kind))) from None
    try:
        return Kind(int(k))
    except (TypeError, ValueError):
        raise InvalidValueError("unknown kind %r; kinds are: %s (or their Kind numbers 0-%d)"
                                % (k, ", ".join(str(x) for x in Kind), len(Kind) - 1)) from None


def _check_status(status: int, lv: int) -> None:
    if status != lib.PB_OK:   # only an unknown level; _level() checks names first
        raise InvalidValueError("level %d: %s" % (lv, _core.strerror(status)))


def classify(raw: Any, *, profile: ProfileLike = None, level: str = "pte",
             out: Optional[np.ndarray] = None, threads: Optional[int] = None) -> np.ndarray:
    """The :class:`Kind` of every entry, as a uint8 array of raw's shape.

    ``level`` is the page-table level the entries come from: "pte"
    (default), "pmd", "pud", "p4d" or "pgd".  ``out=`` reuses a uint8 array
    of the same shape (e.g. an earlier result).  ``threads``: see
    :func:`decode`.
    """
    threads = check_threads(threads)
    prof = _profile(profile)
    lv = _level(level)
    arr = _raw_input(raw)
    if out is None:
        out = np.empty(arr.shape, dtype=np.uint8)
    else:
        _core.check_out(out, "kind", np.uint8, arr.shape)
    if lv == lib.PB_LEVEL_PTE:
        _core.classify(prof.handle, arr, out, threads)
    else:
        _check_status(_core.classify_level(prof.handle, lv, arr, out, threads), lv)
    return out


def decode(raw: Any, *, profile: ProfileLike = None, level: str = "pte",
           out: Optional[Decoded] = None, threads: Optional[int] = None) -> Decoded:
    """Decode every entry of a uint64 array (any shape, C-contiguous, native
    byte order; read-only arrays are fine: nothing is copied).

    ``level`` is the page-table level the entries come from: "pte"
    (default), "pmd", "pud", "p4d" or "pgd" (README "Levels").  ``out=``
    reuses the columns of an earlier :class:`Decoded` of the same shape, so
    repeated decodes allocate nothing.

    ``threads``: None (default) splits a large input over the CPUs this
    process may use (``os.sched_getaffinity``), in contiguous chunks, when
    it is large enough to pay off (``ptebits._parallel.MIN_ENTRIES_PER_THREAD``);
    ``threads=1`` decodes in the calling thread; ``threads=k`` uses up to k
    threads.  The result is the same, bit for bit, whatever the count.
    """
    threads = check_threads(threads)
    prof = _profile(profile)
    lv = _level(level)
    arr = _raw_input(raw)
    if out is None:
        cols = [_core.empty_aligned(arr.shape, dt) for _, dt in _COLUMNS]
    else:
        if not isinstance(out, Decoded):
            raise InvalidTypeError("out must be a Decoded from an earlier decode(), got %s"
                                   % type(out).__name__)
        cols = [_core.check_out(getattr(out, name), name, dt, arr.shape)
                for name, dt in _COLUMNS]
    if lv == lib.PB_LEVEL_PTE:
        _core.decode(prof.handle, arr, cols, threads)     # the fast path, unchanged
    else:
        _check_status(_core.decode_level(prof.handle, lv, arr, cols, threads), lv)
    if out is not None:
        out.profile, out.raw, out.level = prof, arr, LEVELS[lv]
        return out
    return Decoded(prof, arr, cols, LEVELS[lv])


# ----------------------------------------------------------------- encode

def resolve_prot(prot: Any, names: Optional[Dict[str, int]] = None) -> Any:
    """A pgprot given as an int, an array or a standard name (``"PAGE_SHARED"``;
    ``names`` adds names, e.g. :data:`TABLE_PGPROTS`)."""
    if isinstance(prot, str):
        table = PGPROTS if names is None else dict(PGPROTS, **names)
        key = prot.strip().upper().lstrip("_")
        if key not in table and not key.startswith("PAGE_"):
            key = "PAGE_" + key
        if key not in table:
            try:
                return int(prot, 0)
            except ValueError:
                raise InvalidValueError("unknown pgprot %r; names are: %s"
                                        % (prot, ", ".join(table))) from None
        return table[key]
    return prot


def _is_scalar(*values: Any) -> bool:
    """True when every argument is a Python/numpy scalar (0-d arrays made
    from scalars by the flag helpers count as scalars)."""
    return all(isinstance(v, (int, np.integer, bool, np.bool_)) or
               (isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype == np.uint64)
               for v in values)


def _flag_aux(flags: Dict[str, Any]) -> Tuple[Dict[str, np.ndarray], Optional[np.ndarray]]:
    """Boolean keyword arguments as arrays, and their OR into the aux word."""
    arrays = {name: _core.as_u64_input(v, name, limit_bits=1) for name, (v, _) in flags.items()}
    aux = None
    for name, (_, bit) in flags.items():
        term = arrays[name] * np.uint64(bit)
        aux = term if aux is None else aux | term
    return arrays, aux


_FLAG_BITS = {
    "soft_dirty": lib.PB_AUX_SWP_SOFT_DIRTY,
    "uffd_wp": lib.PB_AUX_SWP_UFFD_WP,
    "exclusive": lib.PB_AUX_SWP_EXCLUSIVE,
    "young": lib.PB_AUX_MIG_YOUNG,
    "dirty": lib.PB_AUX_MIG_DIRTY,
}


def _encode(fn: str, kind: int, prof: Profile, fields: Dict[str, Any],
            a_name: Optional[str], b_name: Optional[str],
            aux: Optional[np.ndarray], level: Optional[int] = None) -> IntOrArray:
    """Broadcast the inputs, run the C encoder, and explain any failure.
    ``level=None`` is the PTE encoder; a PB_LEVEL_* number the level encoder
    (which refuses table pointers at PB_LEVEL_PTE)."""
    scalar = _is_scalar(*fields.values())
    inputs = {name: _core.as_u64_input(value, name) for name, value in fields.items()}
    parts = [inputs[n] for n in (a_name, b_name) if n] + ([aux] if aux is not None else [])
    shape = _broadcast_shape(fn, inputs) if parts else ()
    flat = lambda arr: None if arr is None else np.ascontiguousarray(  # noqa: E731
        np.broadcast_to(arr, shape), dtype=np.uint64).reshape(-1)
    a = flat(inputs[a_name]) if a_name else None
    b = flat(inputs[b_name]) if b_name else None
    aux16 = None if aux is None else flat(aux).astype(np.uint16)
    out = np.empty(int(np.prod(shape, dtype=np.int64)), dtype=np.uint64)
    if level is None:
        status, idx = _core.encode(prof.handle, kind, a, b, aux16, out)
    else:
        status, idx = _core.encode_level(prof.handle, level, kind, a, b, aux16, out)
    if status != lib.PB_OK:
        _raise_encode(fn, kind, prof, status, idx, inputs, shape, a, b, aux16, level or 0)
    if scalar:
        return int(out[0])
    return out.reshape(shape)


def _broadcast_shape(fn: str, inputs: Dict[str, np.ndarray]) -> Tuple[int, ...]:
    """The shape all array arguments broadcast to, or an error naming them."""
    try:
        return np.broadcast_shapes(*[arr.shape for arr in inputs.values()])
    except ValueError:
        raise InvalidTypeError("%s: the arguments do not broadcast to one shape: %s" % (
            fn, ", ".join("%s %s" % (n, arr.shape) for n, arr in inputs.items()))) from None


def _value_at(arr: Optional[np.ndarray], shape: Tuple[int, ...], idx: int) -> Optional[int]:
    """Element idx of an input after broadcasting to shape."""
    if arr is None:
        return None
    return int(np.broadcast_to(arr, shape).reshape(-1)[idx])


def _level_reason(kind: int, level: int, prot: Optional[int], aux: int) -> str:
    """Why a level has no such entry (PB_E_LEVEL), in the kernel's terms."""
    name = LEVELS[level]
    if kind == lib.PB_KIND_TABLE:
        if level == lib.PB_LEVEL_PTE:
            return "a PTE maps a 4 KiB page; table pointers live at pmd, pud, p4d and pgd"
        return "bit 7 (PSE) is reserved in %s entries (p4d_bad; no 512 GiB pages on x86)" % name
    if kind in _PRESENT_KINDS:
        return ("huge leaves exist at pmd (2 MiB) and pud (1 GiB) only; %s entries are "
                "table pointers%s" % (name, " (encode_present makes 4 KiB PTEs)"
                                      if level == lib.PB_LEVEL_PTE else ""))
    if kind == lib.PB_KIND_MARKER and (aux >> lib.PB_AUX_MARKER_SHIFT) & lib.PB_PTE_MARKER_GUARD:
        return ("guard markers are PTE-only (MADV_GUARD_INSTALL refuses hugetlbfs VMAs, and "
                "hugetlb_fault treats one as a bug)")
    if level in (lib.PB_LEVEL_P4D, lib.PB_LEVEL_PGD):
        return "%s entries are table pointers or none" % name
    return "no kernel writes %s entries at the %s level" % (str(Kind(kind)), name)


def _raise_encode(fn: str, kind: int, prof: Profile, status: int, idx: int,
                  inputs: Dict[str, np.ndarray], shape: Tuple[int, ...],
                  a: Optional[np.ndarray], b: Optional[np.ndarray],
                  aux: Optional[np.ndarray], level: int = 0) -> None:
    where = "" if shape == () else " (element %d)" % idx
    reason = _core.strerror(status)
    limit = _core.limit(prof.handle, status, kind)
    if status == lib.PB_E_LEVEL:
        value = None if b is None else int(b[idx])
        raise FieldRangeError("%s: level=%r%s: %s (%s)" % (
            fn, LEVELS[level], where, _level_reason(kind, level, value,
                                                   int(aux[idx]) if aux is not None else 0),
            reason), field="level", value=LEVELS[level], index=idx)
    if status == lib.PB_E_ALIGN:
        value = None if a is None else int(a[idx])
        shift = _core.leaf_shift(level)
        align = 1 << (shift - _core.leaf_shift(lib.PB_LEVEL_PTE))
        raise FieldRangeError("%s: pfn=%#x%s is not a multiple of %d: a %s-level entry holds "
                              "the first PFN of a %s page (%s)" % (
                                  fn, value, where, align, LEVELS[level],
                                  _page_size_name(1 << shift), reason),
                              field="pfn", value=value, limit=align, index=idx)
    names = {lib.PB_E_PFN: "pfn", lib.PB_E_OFFSET: "offset", lib.PB_E_TYPE: "type",
             lib.PB_E_PROT: "prot"}
    if status in names:
        field = names[status]
        column = a if field in ("pfn", "type") else b
        value = None if column is None else int(column[idx])
        if status == lib.PB_E_TYPE and kind == lib.PB_KIND_SWAP and value is not None \
                and value < lib.PB_SWP_NTYPES:
            detail = "type %d is %s under %s; swap-device types are 0-%d" % (
                value, prof.type_name(value), prof.name, limit - 1)
        elif status == lib.PB_E_PROT and kind in _PRESENT_KINDS and level:
            detail = ("prot=%#x has bits inside the PFN field (bits 13-51 at the %s level; "
                      "bit 12 is PAT_LARGE)" % (value, LEVELS[level]))
        elif status == lib.PB_E_PROT:
            detail = "prot=%#x has bits inside the PFN field (bits 12-51)" % value
        else:
            detail = "%s=%#x is out of range under %s (limit %#x, exclusive)" % (
                field, value, prof.name, limit)
        raise FieldRangeError("%s: %s%s" % (fn, detail, where), field=field, value=value,
                              limit=limit if status != lib.PB_E_PROT else None, index=idx)
    if status == lib.PB_E_KIND:
        raise FieldRangeError("%s: %s has no %s entries (%s)" % (
            fn, prof.name, str(Kind(kind)), reason), field="kind", value=str(Kind(kind)))
    if status in (lib.PB_E_FLAG, lib.PB_E_CONFLICT):
        bits = int(aux[idx]) if aux is not None else 0
        names_set = [n for n, v in inputs.items()
                     if n in _KWARG_AUX and _value_at(v, shape, idx)]
        raise FieldRangeError("%s: %s is not available under %s%s (%s)" % (
            fn, "+".join(n + "=True" for n in names_set) or "aux=%#x" % bits, prof.name,
            where, reason), field="+".join(names_set) or "flags", value=True, index=idx)
    if status == lib.PB_E_MARKER:
        raise FieldRangeError("%s: a marker needs at least one of uffd_wp, poisoned, guard "
                              "(an empty marker faults with SIGBUS)" % fn, field="marker",
                              value=0, index=idx)
    if status == lib.PB_E_ALIAS and kind == lib.PB_KIND_TABLE:
        raise FieldRangeError("%s: prot=%#x%s cannot be encoded as a %s table pointer: it needs "
                              "PRESENT, and no PSE (bit 7 makes a huge leaf)" % (
                                  fn, _value_at(inputs["prot"], shape, idx), where,
                                  LEVELS[level]), field="alias", value=None, index=idx)
    if status == lib.PB_E_ALIAS:
        shown = ", ".join("%s=%#x" % (n, _value_at(v, shape, idx)) for n, v in inputs.items()
                          if n not in _KWARG_AUX)
        raise FieldRangeError("%s: %s%s cannot be encoded under %s: the entry would read back "
                              "as another kind (e.g. swap type 0, offset 2^50-1 is raw 0, a "
                              "none PTE; prot needs PRESENT or PROTNONE)" % (
                                  fn, shown, where, prof.name),
                              field="alias", value=None, index=idx)
    raise InvalidValueError("%s: %s" % (fn, reason))


_KWARG_AUX = {"soft_dirty", "uffd_wp", "exclusive", "young", "dirty", "write",
              "poisoned", "guard", "invert_4k"}


def _page_size_name(size: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if size >= 1 << shift:
            return "%d %s" % (size >> shift, unit)
    return "%d B" % size


def encode_present(pfn: Any, prot: Any, *, profile: ProfileLike = None) -> IntOrArray:
    """``pfn_pte(pfn, prot)``: a present PTE, or a PROT_NONE one (PFN
    inverted) when ``prot`` lacks PRESENT.  ``prot`` is an int, an array or
    a pgprot name such as ``"PAGE_SHARED"``."""
    prof = _profile(profile)
    prot = resolve_prot(prot)
    return _encode("encode_present", lib.PB_KIND_PRESENT, prof,
                   {"pfn": pfn, "prot": prot}, "pfn", "prot", None)


def encode_swap(type: Any, offset: Any, *, soft_dirty: Any = False, uffd_wp: Any = False,
                exclusive: Any = False, profile: ProfileLike = None) -> IntOrArray:
    """A swap PTE for slot ``offset`` of swap area ``type`` with the swap
    flag bits (_PAGE_SWP_SOFT_DIRTY, _PAGE_SWP_UFFD_WP, _PAGE_SWP_EXCLUSIVE)."""
    prof = _profile(profile)
    flags, aux = _flag_aux({"soft_dirty": (soft_dirty, _FLAG_BITS["soft_dirty"]),
                            "uffd_wp": (uffd_wp, _FLAG_BITS["uffd_wp"]),
                            "exclusive": (exclusive, _FLAG_BITS["exclusive"])})
    return _encode("encode_swap", lib.PB_KIND_SWAP, prof,
                   dict({"type": type, "offset": offset}, **flags), "type", "offset", aux)


def _sub_aux(fn: str, write: Any, exclusive: Any, write_sub: int, excl_sub: int
             ) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    w = _core.as_u64_input(write, "write", limit_bits=1)
    e = _core.as_u64_input(exclusive, "exclusive", limit_bits=1)
    both = np.asarray(w & e)
    if both.any():
        raise FieldRangeError("%s: write=True and exclusive=True exclude each other (a write "
                              "entry is exclusive by definition)" % fn,
                              field="write+exclusive", value=True)
    sub = w * np.uint64(write_sub) + e * np.uint64(excl_sub)
    return {"write": w, "exclusive": e}, sub


def encode_migration(pfn: Any, *, write: Any = False, exclusive: Any = False,
                     young: Any = False, dirty: Any = False, soft_dirty: Any = False,
                     uffd_wp: Any = False, level: str = "pte",
                     profile: ProfileLike = None) -> IntOrArray:
    """A migration entry (``make_readable_migration_entry`` and friends):
    read, read-exclusive (``exclusive=True``, 6.18) or write, with 6.18's
    young/dirty bits and the swap soft-dirty/uffd-wp bits.  ``level="pmd"``
    or ``"pud"``: a THP (``set_pmd_migration_entry``) or hugetlbfs migration
    entry, whose pfn is the huge page's first PFN (aligned)."""
    prof = _profile(profile)
    lv = _level(level)
    subs, sub = _sub_aux("encode_migration", write, exclusive,
                         lib.PB_SUB_MIGRATION_WRITE, lib.PB_SUB_MIGRATION_READ_EXCLUSIVE)
    flags, aux = _flag_aux({"young": (young, _FLAG_BITS["young"]),
                            "dirty": (dirty, _FLAG_BITS["dirty"]),
                            "soft_dirty": (soft_dirty, _FLAG_BITS["soft_dirty"]),
                            "uffd_wp": (uffd_wp, _FLAG_BITS["uffd_wp"])})
    return _encode("encode_migration", lib.PB_KIND_MIGRATION, prof,
                   dict({"pfn": pfn}, **subs, **flags), "pfn", None, aux | sub, lv or None)


def encode_device(pfn: Any, *, write: Any = False, exclusive: Any = False,
                  soft_dirty: Any = False, uffd_wp: Any = False,
                  profile: ProfileLike = None) -> IntOrArray:
    """A device entry: device-private read or write, or (6.18)
    device-exclusive (``exclusive=True``).  Needs DEVICE_PRIVATE."""
    prof = _profile(profile)
    subs, sub = _sub_aux("encode_device", write, exclusive,
                         lib.PB_SUB_DEVICE_PRIVATE_WRITE, lib.PB_SUB_DEVICE_EXCLUSIVE)
    flags, aux = _flag_aux({"soft_dirty": (soft_dirty, _FLAG_BITS["soft_dirty"]),
                            "uffd_wp": (uffd_wp, _FLAG_BITS["uffd_wp"])})
    return _encode("encode_device", lib.PB_KIND_DEVICE, prof,
                   dict({"pfn": pfn}, **subs, **flags), "pfn", None, aux | sub)


def encode_hwpoison(pfn: Any, *, level: str = "pte", profile: ProfileLike = None) -> IntOrArray:
    """A hwpoison entry (``make_hwpoison_entry``).  Needs MEMORY_FAILURE.
    ``level="pmd"``/``"pud"``: a poisoned hugetlbfs page (aligned pfn)."""
    prof = _profile(profile)
    return _encode("encode_hwpoison", lib.PB_KIND_HWPOISON, prof, {"pfn": pfn},
                   "pfn", None, None, _level(level) or None)


def encode_marker(*, uffd_wp: Any = False, poisoned: Any = False, guard: Any = False,
                  level: str = "pte", profile: ProfileLike = None) -> IntOrArray:
    """A 6.18 PTE marker (``make_pte_marker``): uffd-wp, poisoned, guard.
    ``level="pmd"``/``"pud"``: a hugetlbfs marker (uffd-wp, poisoned; guard
    markers are PTE-only)."""
    prof = _profile(profile)
    lv = _level(level)
    shift = lib.PB_AUX_MARKER_SHIFT
    flags, aux = _flag_aux({"uffd_wp": (uffd_wp, lib.PB_PTE_MARKER_UFFD_WP << shift),
                            "poisoned": (poisoned, lib.PB_PTE_MARKER_POISONED << shift),
                            "guard": (guard, lib.PB_PTE_MARKER_GUARD << shift)})
    return _encode("encode_marker", lib.PB_KIND_MARKER, prof, flags, None, None, aux,
                   lv or None)


def encode_special(*, level: str = "pte", profile: ProfileLike = None) -> int:
    """The v2 series' uffd-wp special PTE (``0x4``); only that profile has it.
    ``level="pmd"``/``"pud"``: hugetlbfs uses the same value."""
    prof = _profile(profile)
    return int(_encode("encode_special", lib.PB_KIND_UFFD_WP_SPECIAL, prof, {}, None, None,
                       None, _level(level) or None))


def encode_table(pfn: Any, prot: Any = "PAGE_TABLE", *, level: str = "pmd",
                 profile: ProfileLike = None) -> IntOrArray:
    """A table pointer: ``pfn`` is the next-level table's page, ``prot`` its
    flags (default ``_PAGE_TABLE`` = P|RW|USER|A|D, what ``pmd_populate``,
    ``pud_populate``, ``p4d_populate`` and ``pgd_populate`` write for user
    tables; ``"KERNPG_TABLE"`` for kernel ones).  ``level`` is the level of
    the entry: "pmd", "pud", "p4d" or "pgd".  prot needs PRESENT and no PSE."""
    prof = _profile(profile)
    prot = resolve_prot(prot, TABLE_PGPROTS)
    return _encode("encode_table", lib.PB_KIND_TABLE, prof, {"pfn": pfn, "prot": prot},
                   "pfn", "prot", None, _level(level))


def encode_huge(pfn: Any, prot: Any, *, level: str = "pmd", invert_4k: Any = False,
                profile: ProfileLike = None) -> IntOrArray:
    """A huge leaf, ``pmd_mkhuge(pfn_pmd(pfn, prot))`` at ``level="pmd"``
    (2 MiB) or ``pud_mkhuge(pfn_pud(pfn, prot))`` at ``level="pud"`` (1 GiB):
    PSE is added to ``prot``; ``pfn`` is the huge page's first PFN (a
    multiple of 512 or 512*512); PAT is bit 12 (``_PAGE_PAT_LARGE``) of
    ``prot``.  A ``prot`` without PRESENT gives a PROT_NONE leaf with the PFN
    inverted, bits 21+ (30+) only as ``pmd_modify`` does; ``invert_4k=True``
    inverts bits 12+ too, as hugetlbfs' ``pte_modify`` leaves it."""
    prof = _profile(profile)
    lv = _level(level)
    if lv == lib.PB_LEVEL_PTE:       # the level encoder would make a 4 KiB PTE
        raise FieldRangeError("encode_huge: level='pte': %s (%s)" % (
            _level_reason(lib.PB_KIND_PRESENT, lv, None, 0), _core.strerror(lib.PB_E_LEVEL)),
            field="level", value="pte")
    prot = resolve_prot(prot)
    flags, aux = _flag_aux({"invert_4k": (invert_4k, lib.PB_AUX_INVERT_4K)})
    return _encode("encode_huge", lib.PB_KIND_PRESENT, prof,
                   dict({"pfn": pfn, "prot": prot}, **flags), "pfn", "prot", aux, lv)


# ------------------------------------------------------------ PTE helpers

def _pte_op(op: int, raw: Any, arg: Any, profile: ProfileLike) -> IntOrArray:
    prof = _profile(profile)
    fn = _core.op_names()[op]
    scalar = _is_scalar(raw) and (arg is None or _is_scalar(arg))
    inp = _core.as_u64_input(raw, "raw") if not isinstance(raw, np.ndarray) else raw
    if isinstance(inp, np.ndarray) and inp.dtype != np.uint64:
        inp = _core.as_u64_input(inp, "raw")
    argarr = None if arg is None else _core.as_u64_input(arg, "newprot")
    shape = inp.shape if argarr is None else _broadcast_shape(fn, {"raw": inp, "newprot": argarr})
    flat_in = np.ascontiguousarray(np.broadcast_to(inp, shape)).reshape(-1)
    flat_arg = None if argarr is None else np.ascontiguousarray(
        np.broadcast_to(argarr, shape)).reshape(-1)
    out = np.empty(flat_in.shape, dtype=np.uint64)
    status, idx = _core.pte_op(prof.handle, op, flat_in, flat_arg, out)
    if status != lib.PB_OK:
        value = int(flat_in[idx])
        hint = ""
        if status == lib.PB_E_FLAG:
            hint = " under %s" % prof.name
        raise FieldRangeError("%s: raw=%#x%s: %s%s" % (
            fn, value, "" if scalar else " (element %d)" % idx, _core.strerror(status), hint),
            field="raw" if status != lib.PB_E_PROT else "newprot", value=value, index=idx)
    return int(out[0]) if scalar else out.reshape(shape)


def pte_modify(raw: Any, newprot: Any, *, profile: ProfileLike = None) -> IntOrArray:
    """``pte_modify()``: keep _PAGE_CHG_MASK, take the rest from newprot, flip
    the PFN when the PROT_NONE state changes (and 6.18's saved-dirty rule)."""
    if newprot is None:       # _pte_op reads a missing arg as 0
        raise InvalidTypeError("pte_modify: newprot must be a pgprot (an int, an array or a "
                               "name such as 'PAGE_NONE'), got None")
    return _pte_op(lib.PB_OP_MODIFY, raw, resolve_prot(newprot), profile)


def _make_op(op: int, doc: str) -> Any:
    def helper(raw: Any, *, profile: ProfileLike = None) -> IntOrArray:
        return _pte_op(op, raw, None, profile)
    helper.__name__ = helper.__qualname__ = _core.op_names()[op]
    helper.__doc__ = doc
    return helper


pte_wrprotect = _make_op(lib.PB_OP_WRPROTECT, "Clear RW (6.18: Dirty moves to SavedDirty).")
pte_mkwrite = _make_op(lib.PB_OP_MKWRITE, "Set RW (6.18: SavedDirty moves back to Dirty).")
pte_mkuffd_wp = _make_op(lib.PB_OP_MKUFFD_WP,
                         "Set _PAGE_UFFD_WP (6.18 also write-protects; 5.12 does not).")
pte_clear_uffd_wp = _make_op(lib.PB_OP_CLEAR_UFFD_WP, "Clear _PAGE_UFFD_WP.")
pte_mkdirty = _make_op(lib.PB_OP_MKDIRTY,
                       "Set Dirty and soft-dirty (6.18: SavedDirty if read-only).")
pte_mkclean = _make_op(lib.PB_OP_MKCLEAN, "Clear Dirty (6.18: and SavedDirty).")
pte_mkyoung = _make_op(lib.PB_OP_MKYOUNG, "Set Accessed.")
pte_mkold = _make_op(lib.PB_OP_MKOLD, "Clear Accessed.")
pte_mksoft_dirty = _make_op(lib.PB_OP_MKSOFT_DIRTY, "Set _PAGE_SOFT_DIRTY (MEM_SOFT_DIRTY).")
pte_clear_soft_dirty = _make_op(lib.PB_OP_CLEAR_SOFT_DIRTY, "Clear _PAGE_SOFT_DIRTY.")
pte_swp_mkuffd_wp = _make_op(lib.PB_OP_SWP_MKUFFD_WP, "Set _PAGE_SWP_UFFD_WP on a swap PTE.")
pte_swp_clear_uffd_wp = _make_op(lib.PB_OP_SWP_CLEAR_UFFD_WP,
                                 "Clear _PAGE_SWP_UFFD_WP on a swap PTE.")
pte_swp_mksoft_dirty = _make_op(lib.PB_OP_SWP_MKSOFT_DIRTY,
                                "Set _PAGE_SWP_SOFT_DIRTY on a swap PTE.")
pte_swp_clear_soft_dirty = _make_op(lib.PB_OP_SWP_CLEAR_SOFT_DIRTY,
                                    "Clear _PAGE_SWP_SOFT_DIRTY on a swap PTE.")
pte_swp_mkexclusive = _make_op(lib.PB_OP_SWP_MKEXCLUSIVE,
                               "Set _PAGE_SWP_EXCLUSIVE on a swap PTE (6.18).")
pte_swp_clear_exclusive = _make_op(lib.PB_OP_SWP_CLEAR_EXCLUSIVE,
                                   "Clear _PAGE_SWP_EXCLUSIVE on a swap PTE (6.18).")
