"""REFERENCE MODEL for the tests: an independent, deliberately plain-Python
decoder/encoder of x86-64 Linux page-table entries.

It is written from the project's fact sheet (kernel-facts.md, copied in
spirit, not imported: every constant below is typed from the sheet's text,
nothing is read from ``ptebits``), one entry at a time with Python ints, so
that it shares no code, no constant and no data structure with the C core it
is used to check.  It is slow on purpose; use it on samples.

Kernels (``RefProfile.kernel``):

* ``"6.18"``  Linux 6.18.35 (mainline PTE markers), and
* ``"5.12"``  Linux 5.12.9 + Peter Xu's "userfaultfd-wp: Support shmem and
  hugetlbfs" v2 series (the uffd-wp special swap PTE, raw 0x4).

Config knobs are the ones that change layouts (migration, memory_failure,
device_private, numa_balancing, pkeys, soft_dirty, uffd_wp, la57); the swap
type numbering is computed from include/linux/swap.h's arithmetic for any
combination, not looked up.

Where the kernel leaves a classification open, the model follows the
conventions ptebits documents (they are not kernel facts, and are marked
"ptebits convention" below):

* a swap-format entry is ``bad`` when its type is unassigned, or when it is a
  type-31 (PTE marker) entry whose offset is not one of the marker
  combinations 1..7 that ``make_pte_marker()`` can produce;
* a pfn entry's PFN is limited to what a present PTE holds (40 bits) in 5.12,
  and to ``SWP_PFN_BITS`` in 6.18;
* ``canonical`` means "re-encoding the decoded fields gives the raw value
  back", with the encoders below;
* swap flag bits are reported for swap-format kinds other than markers.

Everything that is a kernel function (pte_none, pte_present, pte_pfn,
swp_type/swp_offset, pte_marker_get, pte_swp_uffd_wp_any,
pte_to_pagemap_entry) follows the kernel's arithmetic exactly.
"""
from __future__ import annotations

from typing import Any, Dict, Iterable, List, Optional, Tuple

U64 = (1 << 64) - 1

# ---------------------------------------------------------------- §1 bits
# arch/x86/include/asm/pgtable_types.h (5.12.9, 6.18.35)
PRESENT = 1 << 0
RW = 1 << 1
USER = 1 << 2
PWT = 1 << 3
PCD = 1 << 4
ACCESSED = 1 << 5
DIRTY = 1 << 6
PAT = 1 << 7
GLOBAL = 1 << 8
PROTNONE = 1 << 8          # _PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL
SPECIAL = 1 << 9           # SOFTW1
UFFD_WP = 1 << 10          # SOFTW2, HAVE_ARCH_USERFAULTFD_WP
SOFT_DIRTY = 1 << 11       # SOFTW3, MEM_SOFT_DIRTY
SOFTW4_618 = 1 << 57
DEVMAP_512 = 1 << 58       # 5.12 SOFTW4
SAVED_DIRTY_618 = 1 << 58  # 6.18 SOFTW5
PKEY_SHIFT = 59
PKEY_MASK = 0xF << PKEY_SHIFT
NX = 1 << 63

PAGE_SHIFT = 12
PTE_PFN_MASK = 0x000FFFFFFFFFF000   # PAGE_MASK & __PHYSICAL_MASK (shift 52)
PFN_BITS_PRESENT = 40               # bits 12..51

# Standard user pgprots (§1)
PAGE_NONE = 0x120
PAGE_SHARED = 0x8000000000000027
PAGE_SHARED_EXEC = 0x27
PAGE_COPY = PAGE_READONLY = 0x8000000000000025
PAGE_COPY_EXEC = PAGE_READONLY_EXEC = 0x25

# ----------------------------------------------------------- §3 swap PTEs
# arch/x86/include/asm/pgtable_64.h
SWP_TYPE_BITS = 5
SWP_OFFSET_FIRST_BIT = 9                          # _PAGE_BIT_PROTNONE + 1
SWP_OFFSET_SHIFT = SWP_OFFSET_FIRST_BIT + SWP_TYPE_BITS   # 14
SWP_OFFSET_BITS = 64 - SWP_OFFSET_SHIFT           # 50
SWP_SOFT_DIRTY = 1 << 1    # = _PAGE_RW, only with MEM_SOFT_DIRTY
SWP_UFFD_WP = 1 << 2       # = _PAGE_USER, HAVE_ARCH_USERFAULTFD_WP
SWP_EXCLUSIVE = 1 << 3     # = _PAGE_PWT, 6.18 only

# ------------------------------------------------------------- §5 markers
PTE_MARKER_UFFD_WP = 1 << 0
PTE_MARKER_POISONED = 1 << 1
PTE_MARKER_GUARD = 1 << 2
PTE_MARKER_MASK = (1 << 3) - 1
V2_SPECIAL_PTE = SWP_UFFD_WP   # UFFD_WP_SWP_PTE_SPECIAL = __pte(_PAGE_SWP_UFFD_WP)

# -------------------------------------------------------------- §6 pagemap
PM_SOFT_DIRTY = 1 << 55
PM_MMAP_EXCLUSIVE = 1 << 56
PM_UFFD_WP = 1 << 57        # 6.18 only
PM_GUARD_REGION = 1 << 58   # 6.18 only
PM_FILE = 1 << 61
PM_SWAP = 1 << 62
PM_PRESENT = 1 << 63
PM_PFRAME_MASK = (1 << 55) - 1

# MAX_PHYSMEM_BITS (arch/x86/include/asm/sparsemem.h)
MAX_PHYSMEM_BITS_4LEVEL = 46
MAX_PHYSMEM_BITS_5LEVEL = 52

KINDS = ("none", "present", "protnone", "swap", "migration", "device", "hwpoison",
         "marker", "uffd_wp_special", "bad")
PFN_KINDS = ("migration", "device", "hwpoison")
SWAP_FORMAT_KINDS = ("swap", "migration", "device", "hwpoison", "marker", "bad")

# ------------------------------------------------------------- profiles

KNOBS = ("migration", "memory_failure", "device_private", "numa_balancing", "pkeys",
         "soft_dirty", "uffd_wp", "la57")

#: The two built-in profiles' configs, from the fact sheet: 6.18 is the
#: machines' /proc/config.gz (§0 CFG); 5.12 is §4 column (a) plus
#: MEM_SOFT_DIRTY (§8: the 5.12 profile assumes soft-dirty on).
BASE_CONFIGS: Dict[str, Tuple[str, Dict[str, bool]]] = {
    "linux-6.18": ("6.18", dict(migration=True, memory_failure=False, device_private=False,
                                numa_balancing=True, pkeys=True, soft_dirty=False,
                                uffd_wp=True, la57=False)),
    "linux-5.12-uffd-wp-v2": ("5.12", dict(migration=True, memory_failure=True,
                                           device_private=True, numa_balancing=True,
                                           pkeys=True, soft_dirty=True, uffd_wp=True,
                                           la57=False)),
}


class RefEncodeError(ValueError):
    """A reference encoder refused its input; ``field`` says which."""

    def __init__(self, field: str, message: str):
        super().__init__("%s: %s" % (field, message))
        self.field = field


class RefProfile:
    """A kernel version plus config, with the layout the kernel derives."""

    def __init__(self, kernel: str, **knobs: bool):
        if kernel not in ("5.12", "6.18"):
            raise ValueError("unknown kernel %r" % kernel)
        unknown = set(knobs) - set(KNOBS)
        if unknown:
            raise ValueError("unknown knobs %s" % sorted(unknown))
        self.kernel = kernel
        self.knobs = {k: bool(knobs.get(k, False)) for k in KNOBS}
        k = self.knobs
        self.v618 = kernel == "6.18"

        # present-PTE software bits (a configured-out bit is a zero mask)
        self.uffd_wp_bit = UFFD_WP if k["uffd_wp"] else 0
        self.soft_dirty_bit = SOFT_DIRTY if k["soft_dirty"] else 0
        self.saved_dirty_bit = SAVED_DIRTY_618 if self.v618 else 0
        self.devmap_bit = 0 if self.v618 else DEVMAP_512
        self.pkey_mask = PKEY_MASK if k["pkeys"] else 0
        self.dirty_bits = DIRTY | self.saved_dirty_bit      # _PAGE_DIRTY_BITS (pte_dirty)
        # swap flag bits
        self.swp_soft_dirty = SWP_SOFT_DIRTY if k["soft_dirty"] else 0
        self.swp_uffd_wp = SWP_UFFD_WP if k["uffd_wp"] else 0
        self.swp_exclusive = SWP_EXCLUSIVE if self.v618 else 0
        # v2 special PTE: only with HAVE_ARCH_USERFAULTFD_WP (else __pte(0),
        # which can never be told from a none PTE)
        self.special_pte: Optional[int] = (V2_SPECIAL_PTE if (not self.v618 and k["uffd_wp"])
                                           else None)

        self._number_swap_types()

        # pfn swap entries (6.18 swapops.h): SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT
        if self.v618:
            physmem = MAX_PHYSMEM_BITS_5LEVEL if k["la57"] else MAX_PHYSMEM_BITS_4LEVEL
            self.swp_pfn_bits = physmem - PAGE_SHIFT
            self.swp_pfn_mask = (1 << self.swp_pfn_bits) - 1
            # swap_migration_ad_supported: max swapfile size (2^50 pages, not
            # an L1TF CPU) >= 2^(SWP_PFN_BITS + 2)
            if SWP_OFFSET_BITS >= self.swp_pfn_bits + 2:
                self.mig_young = 1 << self.swp_pfn_bits
                self.mig_dirty = 1 << (self.swp_pfn_bits + 1)
            else:
                self.mig_young = self.mig_dirty = 0
            self.pfn_entry_limit = 1 << self.swp_pfn_bits
        else:
            # 5.12: the offset of a pfn entry is the PFN, all 50 bits
            self.swp_pfn_bits = SWP_OFFSET_BITS
            self.swp_pfn_mask = (1 << SWP_OFFSET_BITS) - 1
            self.mig_young = self.mig_dirty = 0
            self.pfn_entry_limit = 1 << PFN_BITS_PRESENT   # ptebits convention

    # include/linux/swap.h, computed exactly as the macros do
    def _number_swap_types(self) -> None:
        k = self.knobs
        shift = 5                                   # MAX_SWAPFILES_SHIFT
        if self.v618:
            dev_num = 3 if k["device_private"] else 0    # WRITE, READ, EXCLUSIVE
            mig_num = 3 if k["migration"] else 0         # READ, READ_EXCLUSIVE, WRITE
            hwp_num = 1 if k["memory_failure"] else 0
            marker_num = 1                               # unconditional in 6.18
        else:
            dev_num = 2 if k["device_private"] else 0    # WRITE, READ
            mig_num = 2 if k["migration"] else 0         # READ, WRITE
            hwp_num = 1 if k["memory_failure"] else 0
            marker_num = 0
        max_swapfiles = (1 << shift) - dev_num - mig_num - hwp_num - marker_num
        self.max_swapfiles = max_swapfiles
        types: Dict[int, Tuple[str, Optional[str]]] = {}
        names: Dict[str, int] = {}

        def add(name: str, number: int, kind: str, sub: Optional[str]) -> None:
            types[number] = (kind, sub)
            names[name] = number

        if hwp_num:
            add("hwpoison", max_swapfiles, "hwpoison", None)             # SWP_HWPOISON
        if mig_num:
            base = max_swapfiles + hwp_num                                # SWP_MIGRATION_READ
            add("migration_read", base, "migration", "read")
            if self.v618:
                add("migration_read_exclusive", base + 1, "migration", "read_exclusive")
                add("migration_write", base + 2, "migration", "write")
            else:
                add("migration_write", base + 1, "migration", "write")
        if dev_num:
            base = max_swapfiles + hwp_num + mig_num                      # SWP_DEVICE_WRITE
            add("device_private_write", base, "device", "private_write")
            add("device_private_read", base + 1, "device", "private_read")
            if self.v618:
                add("device_exclusive", base + 2, "device", "exclusive")
        if marker_num:
            add("pte_marker", max_swapfiles + hwp_num + mig_num + dev_num, "marker", None)
        for t in range(max_swapfiles):
            types[t] = ("swap", None)
        self.type_table = types
        self.special_types = dict(sorted(names.items(), key=lambda kv: kv[1]))
        self.marker_type = names.get("pte_marker")
        self.type_of = {(kind, sub): t for t, (kind, sub) in types.items() if kind != "swap"}

    def __repr__(self) -> str:
        return "RefProfile(%r, %r)" % (self.kernel, self.knobs)


def ref_profile(name: str = "linux-6.18", **overrides: bool) -> RefProfile:
    """A reference profile by ptebits-style name (``base+knob+no_knob``) and
    keyword overrides."""
    tokens = name.split("+")
    kernel, knobs = BASE_CONFIGS[tokens[0]]
    knobs = dict(knobs)
    for tok in tokens[1:]:
        tok = tok.replace("-", "_")
        on = not tok.startswith("no_")
        knobs[tok[3:] if not on else tok] = on
    knobs.update(overrides)
    return RefProfile(kernel, **knobs)


# ---------------------------------------------------------- kernel functions

def pte_none(v: int) -> bool:
    """pte_none(): Accessed/Dirty are ignored (Knights Landing erratum)."""
    return (v & ~(DIRTY | ACCESSED) & U64) == 0


def pte_present(v: int) -> bool:
    return bool(v & (PRESENT | PROTNONE))


def needs_invert(v: int) -> bool:
    """__pte_needs_invert(): every non-zero non-present value."""
    return v != 0 and not (v & PRESENT)


def protnone_mask(v: int) -> int:
    return U64 if needs_invert(v) else 0


def pte_pfn(v: int) -> int:
    return ((v ^ protnone_mask(v)) & PTE_PFN_MASK) >> PAGE_SHIFT


def pfn_pte(pfn: int, prot: int) -> int:
    return ((((pfn << PAGE_SHIFT) ^ protnone_mask(prot)) & PTE_PFN_MASK) | prot) & U64


def swp_type(v: int) -> int:
    """__swp_type(): the top 5 bits."""
    return v >> (64 - SWP_TYPE_BITS)


def swp_offset(v: int) -> int:
    """__swp_offset(): ``(~raw) << 5 >> 14`` with 64-bit logical shifts."""
    return ((((~v) & U64) << SWP_TYPE_BITS) & U64) >> SWP_OFFSET_SHIFT


def mk_swp(type_: int, offset: int) -> int:
    """__swp_entry(): ``((~offset) << 14 >> 5) | type << 59`` (offset mod 2^50)."""
    return (((((~offset) & U64) << SWP_OFFSET_SHIFT) & U64) >> SWP_TYPE_BITS) | \
        ((type_ << (64 - SWP_TYPE_BITS)) & U64)


# --------------------------------------------------------------- classify

def kind(p: RefProfile, v: int) -> str:
    if pte_none(v):
        return "none"
    if v & PRESENT:
        return "present"
    if v & PROTNONE:
        return "protnone"
    if p.special_pte is not None and v == p.special_pte:   # pte_same(): exact equality
        return "uffd_wp_special"
    kd, _ = p.type_table.get(swp_type(v), ("bad", None))
    if kd == "marker":
        off = swp_offset(v)
        if off == 0 or off & ~PTE_MARKER_MASK:     # ptebits convention
            return "bad"
    return kd


def marker_bits_beyond_mask(p: RefProfile, v: int) -> bool:
    """A type-31 (marker-type) swap-format entry whose offset has bits above
    PTE_MARKER_MASK *and* some marker bits: ptebits calls it ``bad``, while
    the kernel's pte_marker_get() masks the offset with 7 and so still sees
    uffd-wp/guard bits in it (pagemap, pte_swp_uffd_wp_any)."""
    if p.marker_type is None or pte_none(v) or pte_present(v):
        return False
    if p.special_pte is not None and v == p.special_pte:
        return False
    off = swp_offset(v)
    return swp_type(v) == p.marker_type and bool(off & ~PTE_MARKER_MASK) and \
        bool(off & PTE_MARKER_MASK)


def pte_swp_uffd_wp_any(p: RefProfile, v: int) -> bool:
    """6.18 pte_swp_uffd_wp_any(): a swap PTE with bit 2, or a uffd-wp marker
    (pte_marker_get() = offset & PTE_MARKER_MASK)."""
    if pte_none(v) or pte_present(v):
        return False
    if v & p.swp_uffd_wp:
        return True
    return (p.marker_type is not None and swp_type(v) == p.marker_type
            and bool(swp_offset(v) & PTE_MARKER_MASK & PTE_MARKER_UFFD_WP))


# ----------------------------------------------------------------- encode

def _check_int(name: str, value: int, limit: int) -> None:
    if not isinstance(value, int) or value < 0 or value >= limit:
        raise RefEncodeError(name, "%r out of range [0, %#x)" % (value, limit))


def encode_present(p: RefProfile, pfn: int, prot: int) -> int:
    """pfn_pte(): present, or PROT_NONE (PFN inverted) without PRESENT."""
    _check_int("pfn", pfn, 1 << PFN_BITS_PRESENT)
    _check_int("prot", prot, 1 << 64)
    if prot & PTE_PFN_MASK:
        raise RefEncodeError("prot", "bits inside the PFN field")
    raw = pfn_pte(pfn, prot)
    if kind(p, raw) not in ("present", "protnone"):
        raise RefEncodeError("alias", "prot needs PRESENT or PROTNONE")
    return raw


def _swp_flags(p: RefProfile, soft_dirty: bool, uffd_wp: bool, exclusive: bool) -> int:
    bits = 0
    for name, on, bit in (("soft_dirty", soft_dirty, p.swp_soft_dirty),
                          ("uffd_wp", uffd_wp, p.swp_uffd_wp),
                          ("exclusive", exclusive, p.swp_exclusive)):
        if on:
            if not bit:
                raise RefEncodeError(name, "the profile has no such swap bit")
            bits |= bit
    return bits


def encode_swap(p: RefProfile, type_: int, offset: int, *, soft_dirty: bool = False,
                uffd_wp: bool = False, exclusive: bool = False) -> int:
    _check_int("type", type_, p.max_swapfiles)
    _check_int("offset", offset, 1 << SWP_OFFSET_BITS)
    raw = mk_swp(type_, offset) | _swp_flags(p, soft_dirty, uffd_wp, exclusive)
    if kind(p, raw) != "swap":
        raise RefEncodeError("alias", "reads back as %s" % kind(p, raw))
    return raw


def encode_migration(p: RefProfile, pfn: int, *, write: bool = False,
                     exclusive: bool = False, young: bool = False, dirty: bool = False,
                     soft_dirty: bool = False, uffd_wp: bool = False) -> int:
    if write and exclusive:
        raise RefEncodeError("write+exclusive", "exclude each other")
    sub = "write" if write else "read_exclusive" if exclusive else "read"
    if not any(kd == "migration" for kd, _ in p.type_table.values()):
        raise RefEncodeError("kind", "no migration entries")
    if ("migration", sub) not in p.type_of:
        raise RefEncodeError("exclusive", "no %s migration type" % sub)
    _check_int("pfn", pfn, p.pfn_entry_limit)
    offset = pfn
    for name, on, bit in (("young", young, p.mig_young), ("dirty", dirty, p.mig_dirty)):
        if on:
            if not bit:
                raise RefEncodeError(name, "no SWP_MIG_%s bit" % name.upper())
            offset |= bit
    raw = mk_swp(p.type_of[("migration", sub)], offset) | \
        _swp_flags(p, soft_dirty, uffd_wp, False)
    return raw


def encode_device(p: RefProfile, pfn: int, *, write: bool = False, exclusive: bool = False,
                  soft_dirty: bool = False, uffd_wp: bool = False) -> int:
    if write and exclusive:
        raise RefEncodeError("write+exclusive", "exclude each other")
    sub = "private_write" if write else "exclusive" if exclusive else "private_read"
    if not any(kd == "device" for kd, _ in p.type_table.values()):
        raise RefEncodeError("kind", "no device entries")
    if ("device", sub) not in p.type_of:
        raise RefEncodeError("exclusive", "no device %s type" % sub)
    _check_int("pfn", pfn, p.pfn_entry_limit)
    return mk_swp(p.type_of[("device", sub)], pfn) | _swp_flags(p, soft_dirty, uffd_wp, False)


def encode_hwpoison(p: RefProfile, pfn: int) -> int:
    if ("hwpoison", None) not in p.type_of:
        raise RefEncodeError("kind", "no hwpoison entries")
    _check_int("pfn", pfn, p.pfn_entry_limit)
    return mk_swp(p.type_of[("hwpoison", None)], pfn)


def encode_marker(p: RefProfile, *, uffd_wp: bool = False, poisoned: bool = False,
                  guard: bool = False) -> int:
    """make_pte_marker(): swap type SWP_PTE_MARKER, offset = marker bits."""
    if p.marker_type is None:
        raise RefEncodeError("kind", "no PTE markers")
    m = (PTE_MARKER_UFFD_WP if uffd_wp else 0) | (PTE_MARKER_POISONED if poisoned else 0) | \
        (PTE_MARKER_GUARD if guard else 0)
    if not m:
        raise RefEncodeError("marker", "empty marker")
    return mk_swp(p.marker_type, m)


def encode_special(p: RefProfile) -> int:
    if p.special_pte is None:
        raise RefEncodeError("kind", "no uffd-wp special PTE")
    return p.special_pte


# ----------------------------------------------------------------- decode

#: Hardware/software bits of a present (or PROT_NONE) PTE, by field name.
#: ``global`` and ``protnone`` share bit 8 and are computed apart.
PRESENT_BIT_FIELDS: Dict[str, int] = dict(
    rw=RW, user=USER, pwt=PWT, pcd=PCD, accessed=ACCESSED, dirty_hw=DIRTY, pat=PAT,
    special=SPECIAL, nx=NX, **{"global": 0, "protnone": 0})

def decode(p: RefProfile, v: int) -> Dict[str, Any]:
    """Every field of one raw value.  Fields that do not apply to the kind
    (or that the profile does not have) are 0; ``sub`` is None then."""
    k = kind(p, v)
    r: Dict[str, Any] = dict(kind=k, pfn=0, flags=0, swp_type=0, swp_offset=0, sub=None,
                             marker=0, swp_soft_dirty=0, swp_uffd_wp=0, swp_exclusive=0,
                             mig_young=0, mig_dirty=0, canonical=0, write=0, dirty=0,
                             young=0, uffd_wp=0, soft_dirty=0, saved_dirty=0, devmap=0,
                             pkey=0, pte_protnone=0, uffd_wp_any=0)
    r.update({name: 0 for name in PRESENT_BIT_FIELDS})
    r.update(marker_uffd_wp=0, marker_poisoned=0, marker_guard=0)
    r["pte_none"] = int(k == "none")
    r["pte_present"] = int(k in ("present", "protnone"))
    if k == "none":
        r["canonical"] = int(v == 0)
        return r
    if k in ("present", "protnone"):
        r["pfn"] = pte_pfn(v)
        r["flags"] = v & ~PTE_PFN_MASK & U64                 # pte_flags()
        r["write"] = int(bool(v & RW))                      # pte_write()
        r["dirty"] = int(bool(v & p.dirty_bits))            # pte_dirty()
        r["young"] = int(bool(v & ACCESSED))                # pte_young()
        r["uffd_wp"] = r["uffd_wp_any"] = int(bool(v & p.uffd_wp_bit))
        r["soft_dirty"] = int(bool(v & p.soft_dirty_bit))
        r["saved_dirty"] = int(bool(v & p.saved_dirty_bit))
        r["devmap"] = int(bool(v & p.devmap_bit))
        r["pkey"] = (v & p.pkey_mask) >> PKEY_SHIFT
        r["pte_protnone"] = int(k == "protnone" and p.knobs["numa_balancing"])
        for name, mask in PRESENT_BIT_FIELDS.items():
            r[name] = int(bool(v & mask))
        r["global"] = int(bool(v & PRESENT) and bool(v & GLOBAL))
        r["protnone"] = int(not (v & PRESENT) and bool(v & PROTNONE))
        r["canonical"] = 1      # pfn_pte(pte_pfn(v), pte_flags(v)) == v, always
        return r
    if k == "uffd_wp_special":
        r["uffd_wp_any"] = 1
        r["canonical"] = 1
        return r

    # swap format: flag bits do not influence type/offset
    t, off = swp_type(v), swp_offset(v)
    r["swp_type"], r["swp_offset"] = t, off
    r["uffd_wp_any"] = int(pte_swp_uffd_wp_any(p, v))
    if k != "marker":            # ptebits convention: markers carry no swap flags
        r["swp_soft_dirty"] = int(bool(v & p.swp_soft_dirty))
        r["swp_uffd_wp"] = int(bool(v & p.swp_uffd_wp))
        r["swp_exclusive"] = int(bool(v & p.swp_exclusive))
    if k == "marker":
        r["marker"] = off & PTE_MARKER_MASK                  # pte_marker_get()
        r["marker_uffd_wp"] = int(bool(r["marker"] & PTE_MARKER_UFFD_WP))
        r["marker_poisoned"] = int(bool(r["marker"] & PTE_MARKER_POISONED))
        r["marker_guard"] = int(bool(r["marker"] & PTE_MARKER_GUARD))
    if k in PFN_KINDS:
        r["pfn"] = off & p.swp_pfn_mask                      # swp_offset_pfn()
        r["sub"] = p.type_table[t][1]
    if k == "migration":
        r["mig_young"] = int(bool(off & p.mig_young))
        r["mig_dirty"] = int(bool(off & p.mig_dirty))
    if k != "bad":
        r["canonical"] = int(_reencode(p, r) == v)
    return r


def _reencode(p: RefProfile, r: Dict[str, Any]) -> Optional[int]:
    """The raw value the encoders give for decoded fields (None if refused)."""
    k = r["kind"]
    try:
        if k == "swap":
            return encode_swap(p, r["swp_type"], r["swp_offset"],
                               soft_dirty=bool(r["swp_soft_dirty"]),
                               uffd_wp=bool(r["swp_uffd_wp"]),
                               exclusive=bool(r["swp_exclusive"]))
        if k == "migration":
            return encode_migration(p, r["pfn"], write=r["sub"] == "write",
                                    exclusive=r["sub"] == "read_exclusive",
                                    young=bool(r["mig_young"]), dirty=bool(r["mig_dirty"]),
                                    soft_dirty=bool(r["swp_soft_dirty"]),
                                    uffd_wp=bool(r["swp_uffd_wp"]))
        if k == "device":
            if r["swp_exclusive"]:
                return None
            return encode_device(p, r["pfn"], write=r["sub"] == "private_write",
                                 exclusive=r["sub"] == "exclusive",
                                 soft_dirty=bool(r["swp_soft_dirty"]),
                                 uffd_wp=bool(r["swp_uffd_wp"]))
        if k == "hwpoison":
            if r["swp_soft_dirty"] or r["swp_uffd_wp"] or r["swp_exclusive"]:
                return None
            return encode_hwpoison(p, r["pfn"])
        if k == "marker":
            m = r["marker"]
            return encode_marker(p, uffd_wp=bool(m & 1), poisoned=bool(m & 2),
                                 guard=bool(m & 4))
    except RefEncodeError:
        return None
    return None


def decode_many(p: RefProfile, values: Iterable[int]) -> Dict[str, List[Any]]:
    """decode() over many values, as one list per field (column-wise)."""
    cols: Dict[str, List[Any]] = {}
    for v in values:
        for key, value in decode(p, int(v)).items():
            cols.setdefault(key, []).append(value)
    return cols


# ---------------------------------------------------------------- pagemap

def pte_to_pagemap(p: RefProfile, v: int, *, file: bool = False, exclusive: bool = False,
                   show_pfn: bool = True, vma_soft_dirty: bool = False) -> int:
    """pte_to_pagemap_entry() (fs/proc/task_mmu.c) for one PTE.

    ``file``/``exclusive`` are facts about the page found behind the entry
    (not anonymous; mapped once).  VM_SOFTDIRTY is 0 without MEM_SOFT_DIRTY,
    so ``vma_soft_dirty`` only counts where the profile has soft-dirty.
    """
    frame = flags = 0
    page = False
    k = kind(p, v)
    if k in ("present", "protnone"):                 # pte_present()
        if show_pfn:
            frame = pte_pfn(v)
        flags |= PM_PRESENT
        page = not (v & SPECIAL)                     # vm_normal_page()
        if v & p.soft_dirty_bit:
            flags |= PM_SOFT_DIRTY
        if p.v618 and v & p.uffd_wp_bit:
            flags |= PM_UFFD_WP
    elif k not in ("none", "uffd_wp_special"):        # is_swap_pte / v2 pte_has_swap_entry
        if v & p.swp_soft_dirty:
            flags |= PM_SOFT_DIRTY
        if p.v618 and v & p.swp_uffd_wp:
            flags |= PM_UFFD_WP
        t, off = swp_type(v), swp_offset(v)
        tkind = p.type_table.get(t, ("bad", None))[0]
        is_pfn = tkind in PFN_KINDS
        if p.v618 and is_pfn:
            off &= p.swp_pfn_mask                    # swp_offset_pfn()
        if show_pfn:
            frame = t | (off << SWP_TYPE_BITS)
        flags |= PM_SWAP
        page = is_pfn if p.v618 else tkind in ("migration", "device")
        if p.v618 and t == p.marker_type:
            m = off & PTE_MARKER_MASK                # pte_marker_get()
            if m & PTE_MARKER_UFFD_WP:
                flags |= PM_UFFD_WP
            if m & PTE_MARKER_GUARD:
                flags |= PM_GUARD_REGION
    if page:
        if file:
            flags |= PM_FILE
        if exclusive and (not p.v618 or k in ("present", "protnone")):
            flags |= PM_MMAP_EXCLUSIVE
    if vma_soft_dirty and p.knobs["soft_dirty"]:
        flags |= PM_SOFT_DIRTY
    return (frame & PM_PFRAME_MASK) | flags


# ------------------------------------------------------------ PTE helpers

def pte_op(p: RefProfile, op: str, v: int, arg: int = 0) -> int:
    """The present-PTE helpers of arch/x86/include/asm/pgtable.h (§1, §2)."""
    def mksaveddirty(x: int) -> int:
        if p.v618 and not (x & RW) and (x & DIRTY):
            x = (x & ~DIRTY) | SAVED_DIRTY_618
        return x

    def clear_saveddirty(x: int) -> int:
        if p.v618 and (x & RW) and (x & SAVED_DIRTY_618):
            x = (x & ~SAVED_DIRTY_618) | DIRTY
        return x

    if op == "pte_wrprotect":
        return mksaveddirty(v & ~RW)
    if op == "pte_mkwrite":
        return clear_saveddirty(v | RW)
    if op == "pte_mkdirty":
        return mksaveddirty(v | DIRTY | p.soft_dirty_bit)
    if op == "pte_mkuffd_wp":
        v |= p.uffd_wp_bit
        return mksaveddirty(v & ~RW) if p.v618 else v
    if op == "pte_modify":
        chg = (PTE_PFN_MASK | PCD | PWT | SPECIAL | ACCESSED | p.dirty_bits |
               p.soft_dirty_bit | p.uffd_wp_bit | p.devmap_bit | (PAT if p.v618 else 0))
        new = (v & chg) | (arg & ~chg & U64)
        if needs_invert(v) != needs_invert(new):
            new ^= PTE_PFN_MASK                      # flip_protnone_guard()
        return mksaveddirty(new) if v & RW else clear_saveddirty(new)
    raise ValueError("pte_op: %s not modelled" % op)
