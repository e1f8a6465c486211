"""The scalar view of one entry (:class:`Pte`) and the human explanations
behind ``ptebits explain``: one-line summaries, bit diagrams and what
``handle_pte_fault`` would do with the entry in each profile.  Entries of
the upper levels (PMD, PUD, P4D, PGD) get their own diagrams and fault text.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np

from ._core import lib
from .codec import LEVELS, Kind, ProfileLike, _level, _profile, decode
from .pagemap import PM_BITS, decode_pagemap
from .schema import fields_for, iter_rows

__all__ = ["Pte", "summary", "explain_pagemap"]

# Names shown in summaries, in bit order from the top (schema field -> label).
_PRESENT_LABELS = (("nx", "NX"), ("saved_dirty", "SAVED_DIRTY"), ("devmap", "DEVMAP"),
                   ("soft_dirty", "SOFT_DIRTY"), ("uffd_wp", "UFFD_WP"),
                   ("special", "SPECIAL"), ("global", "G"), ("protnone", "PROTNONE"),
                   ("pat", "PAT"), ("dirty_hw", "D"), ("accessed", "A"), ("pcd", "PCD"),
                   ("pwt", "PWT"), ("user", "USER"), ("rw", "RW"))
# Huge leaves (PMD/PUD): PAT is bit 12, bit 7 is PSE.
_HUGE_LABELS = (("nx", "NX"), ("saved_dirty", "SAVED_DIRTY"), ("devmap", "DEVMAP"),
                ("pat", "PAT_LARGE"), ("soft_dirty", "SOFT_DIRTY"), ("uffd_wp", "UFFD_WP"),
                ("special", "SPECIAL"), ("global", "G"), ("protnone", "PROTNONE"),
                ("pse", "PSE"), ("dirty_hw", "D"), ("accessed", "A"), ("pcd", "PCD"),
                ("pwt", "PWT"), ("user", "USER"), ("rw", "RW"))
_TABLE_LABELS = (("nx", "NX"), ("pse", "PSE"), ("dirty_hw", "D"), ("accessed", "A"),
                 ("pcd", "PCD"), ("pwt", "PWT"), ("user", "USER"), ("rw", "RW"))


def _swap_flag_labels(row: Dict[str, Any]) -> List[str]:
    return [label for key, label in (("swp_exclusive", "SWP_EXCLUSIVE"),
                                     ("swp_uffd_wp", "SWP_UFFD_WP"),
                                     ("swp_soft_dirty", "SWP_SOFT_DIRTY")) if row.get(key)]


def _marker_labels(row: Dict[str, Any]) -> List[str]:
    return [label for key, label in (("marker_uffd_wp", "UFFD_WP"),
                                     ("marker_poisoned", "POISONED"),
                                     ("marker_guard", "GUARD")) if row.get(key)]


def _page_size(size: int) -> str:
    return "%d %s" % ((size >> 30, "GiB") if size >= 1 << 30 else (size >> 20, "MiB"))


def summary(row: Dict[str, Any], profile: Any, *, raw: bool = True,
            level: str = "pte") -> str:
    """A one-line decode of a schema row (see :func:`ptebits.schema.iter_rows`)
    of an entry of ``level``."""
    kind = row["kind"]
    parts = ([row["raw"]] if raw else []) + [kind]
    if level != "pte" and kind in ("present", "protnone", "table"):
        huge = kind != "table"
        parts.append("pfn=%#x" % row["pfn"])
        if huge:
            parts.append(_page_size(row["page_size"]))
        bits = ["P"] if kind != "protnone" else []
        bits += [label for key, label in reversed(_HUGE_LABELS if huge else _TABLE_LABELS)
                 if row.get(key)]
        if row.get("pkey"):
            bits.append("pkey=%d" % row["pkey"])
        if row.get("invert_4k"):
            bits.append("(4 KiB inversion)")
        parts.append(" ".join(bits))
    elif kind == "bad" and level != "pte":
        parts.append(_upper_bad_reason(row, profile, level))
    elif kind in ("present", "protnone"):
        parts.append("pfn=%#x" % row["pfn"])
        bits = ["P"] if kind == "present" else []
        bits += [label for key, label in reversed(_PRESENT_LABELS) if row.get(key)]
        if row.get("pkey"):
            bits.append("pkey=%d" % row["pkey"])
        parts.append(" ".join(bits))
    elif kind == "swap":
        parts.append("type=%d offset=%#x" % (row["swp_type"], row["swp_offset"]))
        parts += _swap_flag_labels(row)
    elif kind in ("migration", "device"):
        parts.append(row["sub"])
        parts.append("pfn=%#x" % row["pfn"])
        if "page_size" in row:
            parts.append(_page_size(row["page_size"]))
        parts += [l for k, l in (("mig_young", "young"), ("mig_dirty", "dirty")) if row.get(k)]
        parts += _swap_flag_labels(row)
        parts.append("(swap type %d)" % row["swp_type"])
    elif kind == "hwpoison":
        parts.append("pfn=%#x%s (swap type %d)" % (
            row["pfn"], " " + _page_size(row["page_size"]) if "page_size" in row else "",
            row["swp_type"]))
    elif kind == "marker":
        parts.append(" ".join(_marker_labels(row)))
        parts.append("(swap type %d, offset %#x)" % (row["swp_type"], row["swp_offset"]))
    elif kind == "uffd_wp_special":
        parts.append("(the v2 series' uffd-wp special swap PTE)")
    elif kind == "bad":
        parts.append(_bad_reason(row, profile))
    if not row["canonical"] and kind != "bad":
        parts.append("[non-canonical]")
    return " ".join(p for p in parts if p)


def _bad_reason(row: Dict[str, Any], profile: Any) -> str:
    t, off = row.get("swp_type"), row.get("swp_offset")
    if t is not None and profile.has_markers and t == profile.swap_types().get("pte_marker"):
        if off == 0:
            return "empty PTE marker (handle_pte_marker: WARN + SIGBUS)"
        return "PTE marker with unknown bits %#x (offset)" % off
    return "swap type %d is not assigned under %s (do_swap_page: print_bad_pte, SIGBUS)" % (
        t, profile.name)


def _upper_bad_reason(row: Dict[str, Any], profile: Any, level: str) -> str:
    """Why no kernel writes this PMD/PUD/P4D/PGD entry."""
    value = int(row["raw"], 16)
    if level in ("p4d", "pgd"):
        rules = "p4d" if level == "pgd" and not profile.mask("config") & lib.PB_CFG_LA57 \
            else level
        return ("not present and not none: %s_bad(); the walkers report and clear it "
                "(%s_none_or_clear_bad)" % (rules, rules))
    if value & lib.PB_PAGE_PROTNONE:
        return "PROTNONE without PSE: neither a huge leaf nor a table (%s_bad)" % level
    t, off = row.get("swp_type"), row.get("swp_offset")
    if t is not None and t < profile.max_swapfiles:
        return ("a swap slot (type %d) at the %s level: a huge page is split before "
                "swap-out, so no kernel writes one" % (t, level))
    name = profile.type_name(t) if t is not None else ""
    if name.startswith("device"):
        return ("a %s entry: device-private and device-exclusive pages are mapped by PTEs "
                "only (device-private THP came after 6.18)" % name)
    if profile.has_markers and t == profile.swap_types().get("pte_marker") and off and \
            not off & ~lib.PB_PTE_MARKER_MASK and off & lib.PB_PTE_MARKER_GUARD:
        return ("a guard marker: guard regions are PTE-only (MADV_GUARD_INSTALL refuses "
                "hugetlbfs VMAs; hugetlb_fault treats one as a bug)")
    return _bad_reason(row, profile)


# ------------------------------------------------------------ fault text

_NEXT_LEVEL = {"pmd": "PTE", "pud": "PMD", "p4d": "PUD", "pgd": "P4D"}


def _upper_fault_path(row: Dict[str, Any], profile: Any, level: str) -> str:
    """What a fault through this upper-level entry does (mm/memory.c
    __handle_mm_fault; mm/hugetlb.c hugetlb_fault for hugetlbfs VMAs)."""
    kind = row["kind"]
    la57 = bool(profile.mask("config") & lib.PB_CFG_LA57)
    if kind == "table":
        nxt = "PUD" if level == "pgd" and not la57 else _NEXT_LEVEL[level]
        return "the walk goes on in the %s table at pfn %#x" % (nxt, row["pfn"])
    if kind == "none":
        if level == "pmd":
            return ("pmd_none: __handle_mm_fault → create_huge_pmd (THP) where the VMA allows "
                    "a 2 MiB page, else a PTE table is allocated and handle_pte_fault runs; "
                    "hugetlbfs: hugetlb_fault → hugetlb_no_page")
        if level == "pud":
            return ("pud_none: __handle_mm_fault → create_huge_pud (DAX) where allowed, else "
                    "pmd_alloc and the PMD level; hugetlbfs 1 GiB: hugetlb_fault → "
                    "hugetlb_no_page")
        return "the walk allocates the next table (p4d_alloc / pud_alloc) and goes on"
    if kind == "present":
        if level == "pmd":
            return ("huge PMD: a write to a read-only leaf → wp_huge_pmd (anonymous: uffd-wp → "
                    "handle_userfault(VM_UFFD_WP), else do_huge_pmd_wp_page; otherwise split "
                    "to PTEs), any other access → huge_pmd_set_accessed; hugetlbfs: "
                    "hugetlb_fault")
        return ("huge PUD: a write to a read-only leaf → wp_huge_pud, any other access → "
                "huge_pud_set_accessed; hugetlbfs 1 GiB: hugetlb_fault")
    if kind == "protnone":
        if not row.get("protnone"):
            return ("PSE alone (pmdp_invalidate/pudp_invalidate): a split or protection "
                    "change holds the page-table lock; the fault retries")
        if row.get("invert_4k"):
            return ("hugetlbfs after mprotect(PROT_NONE) (hugetlb_change_protection → "
                    "pte_modify): the access is a SIGSEGV before the fault handler")
        if level == "pmd":
            return ("pmd_protnone: in an accessible VMA → do_huge_pmd_numa_page (NUMA "
                    "hinting); in a PROT_NONE VMA (or hugetlbfs after mprotect) the access is "
                    "a SIGSEGV before the fault handler")
        return "PROT_NONE 1 GiB leaf: the access is a SIGSEGV before the fault handler"
    if kind == "migration":
        return ("%shugetlbfs: hugetlb_fault → migration_entry_wait_huge; the fault retries "
                "after migration" % ("THP: is_pmd_migration_entry → pmd_migration_entry_wait; "
                                     if level == "pmd" else ""))
    if kind == "hwpoison":
        return "hugetlbfs: hugetlb_fault → VM_FAULT_HWPOISON_LARGE (SIGBUS)"
    if kind == "marker":
        if row.get("marker_poisoned"):
            return "hugetlbfs: hugetlb_fault → POISONED marker → VM_FAULT_HWPOISON_LARGE"
        return ("hugetlbfs: hugetlb_fault → hugetlb_no_page, which maps the page with "
                "uffd-wp kept (a write then faults into hugetlb_wp → handle_userfault)")
    if kind == "uffd_wp_special":
        return ("the v2 series' uffd-wp special entry in a hugetlbfs table (patches 19-22): "
                "resolved by hugetlb_fault, which keeps the write protection")
    return "no kernel writes it: %s" % _upper_bad_reason(row, profile, level)


def fault_path(row: Dict[str, Any], profile: Any, level: str = "pte") -> str:
    """What handle_pte_fault does with a fault on this entry (spec §7); for
    upper-level entries, what __handle_mm_fault or hugetlb_fault does."""
    if level != "pte":
        return _upper_fault_path(row, profile, level)
    v618 = profile.is_6_18
    kind = row["kind"]
    if kind == "none":
        return ("pte_none: %s → do_anonymous_page (anonymous VMA; MISSING-registered → "
                "handle_userfault(VM_UFFD_MISSING)) or do_fault (file/shmem: do_read_fault "
                "with fault-around unless uffd_disable_fault_around, do_cow_fault, "
                "do_shared_fault)" % ("do_pte_missing" if v618 else "handle_pte_fault"))
    if kind == "present":
        if row.get("write"):
            return ("present and writable: only an A/D update (pte_mkyoung/pte_mkdirty, "
                    "ptep_set_access_flags) or a spurious fault")
        wp = " with _PAGE_UFFD_WP in a VM_UFFD_WP VMA → handle_userfault(VM_UFFD_WP)%s;" % (
            " (WP_ASYNC: the kernel clears the bit itself)" if v618 else "") \
            if row.get("uffd_wp") else ""
        return ("present, read-only: a read is spurious; a write → do_wp_page:%s otherwise "
                "reuse (exclusive anon or shared) or copy (CoW)" % wp)
    if kind == "protnone":
        if row.get("pte_protnone"):
            return ("pte_protnone: in an accessible VMA → do_numa_page (NUMA hinting fault, "
                    "restores the VMA's protection); in a PROT_NONE VMA the access is a "
                    "SIGSEGV before the fault handler")
        return "PROT_NONE mapping (no NUMA_BALANCING): the access is a SIGSEGV"
    if kind == "swap":
        wp = (" pte_mkuffd_wp (read-only + _PAGE_UFFD_WP)" if v618 else
              " pte_mkuffd_wp + pte_wrprotect") if row.get("swp_uffd_wp") else ""
        return ("do_swap_page: swap-in of slot %#x of swap area %d; the new PTE is "
                "mk_pte(page, vm_page_prot)%s%s" % (
                    row["swp_offset"], row["swp_type"],
                    ";" + wp if wp else "",
                    "; a write then reuses the page if exclusive, else do_wp_page"))
    if kind == "migration":
        return "do_swap_page → migration_entry_wait: sleeps until migration ends, then re-faults"
    if kind == "device":
        if row["sub"] == "exclusive":
            return "do_swap_page → remove_device_exclusive_entry, then re-fault"
        return "do_swap_page → pgmap->ops->migrate_to_ram (device-private page back to RAM)"
    if kind == "hwpoison":
        return "do_swap_page → VM_FAULT_HWPOISON: SIGBUS (BUS_MCEERR_AR)"
    if kind == "marker":
        if row.get("marker_poisoned"):
            return "do_swap_page → handle_pte_marker: POISONED → VM_FAULT_HWPOISON (SIGBUS)"
        if row.get("marker_guard"):
            return "do_swap_page → handle_pte_marker: GUARD → VM_FAULT_SIGSEGV"
        return ("do_swap_page → handle_pte_marker → pte_marker_handle_uffd_wp: in a VM_UFFD_WP "
                "VMA → do_pte_missing maps the page read-only with _PAGE_UFFD_WP (no message; "
                "a write re-faults into do_wp_page → WP message); otherwise pte_marker_clear "
                "and the access re-faults on a none PTE")
    if kind == "uffd_wp_special":
        return ("do_swap_pte → uffd_wp_handle_special: in a VM_UFFD_WP file VMA → do_fault "
                "installs the page read-only with _PAGE_UFFD_WP (no message; a write re-faults "
                "into do_wp_page → WP message); otherwise uffd_wp_clear_special clears it and "
                "the access re-faults")
    return "do_swap_page rejects it: SIGBUS"


# ------------------------------------------------------------- diagrams

def _ranges(kind: str, profile: Any) -> List[Tuple[int, int, str]]:
    """(high, low, label) of each bit range, for the entry's format."""
    if kind in ("present", "protnone", "none"):
        b58 = "SAVED_DIRTY" if profile.is_6_18 else "DEVMAP"
        return [(63, 63, "NX"), (62, 59, "PKEY"), (58, 58, b58),
                (57, 57, "SOFTW4" if profile.is_6_18 else "-"), (56, 52, "-"),
                (51, 12, "PFN" + (" (inverted)" if kind == "protnone" else "")),
                (11, 11, "SOFT_DIRTY"), (10, 10, "UFFD_WP"), (9, 9, "SPECIAL"),
                (8, 8, "PROTNONE" if kind == "protnone" else "GLOBAL"), (7, 7, "PAT"),
                (6, 6, "DIRTY"), (5, 5, "ACCESSED"), (4, 4, "PCD"), (3, 3, "PWT"),
                (2, 2, "USER"), (1, 1, "RW"), (0, 0, "PRESENT")]
    return [(63, 59, "type"), (58, 9, "~offset"), (8, 8, "(0: PROTNONE)"), (7, 7, "(0: PSE)"),
            (6, 6, "(D)"), (5, 5, "(A)"), (4, 4, "-"), (3, 3, "SWP_EXCLUSIVE"),
            (2, 2, "SWP_UFFD_WP"), (1, 1, "SWP_SOFT_DIRTY"), (0, 0, "(0: PRESENT)")]


_PROFILE_MASKS = {"SOFT_DIRTY": "soft_dirty", "UFFD_WP": "uffd_wp", "PKEY": "pkey_mask",
                  "SWP_SOFT_DIRTY": "swp_soft_dirty", "SWP_UFFD_WP": "swp_uffd_wp",
                  "SWP_EXCLUSIVE": "swp_exclusive"}


def _upper_ranges(kind: str, profile: Any, level: str, raw: int) -> List[Tuple[int, int, str]]:
    """(high, low, label) of each bit range of a PMD/PUD/P4D/PGD entry."""
    leafy = level in ("pmd", "pud")
    if leafy and kind in ("present", "protnone"):
        shift = lib.PB_PMD_SHIFT if level == "pmd" else lib.PB_PUD_SHIFT
        b58 = "SAVED_DIRTY" if profile.is_6_18 else "DEVMAP"
        low = (1 << shift) - (1 << 13)
        inv = kind == "protnone" and (raw & low) == low
        return [(63, 63, "NX"), (62, 59, "PKEY"), (58, 58, b58),
                (57, 57, "SOFTW4" if profile.is_6_18 else "-"), (56, 52, "-"),
                (51, shift, "PFN" + (" (inverted)" if kind == "protnone" else "")),
                (shift - 1, 13, "(reserved)" + (" inverted" if inv else "")),
                (12, 12, "PAT_LARGE" + (" inverted" if inv else "")),
                (11, 11, "SOFT_DIRTY"), (10, 10, "UFFD_WP"), (9, 9, "SPECIAL"),
                (8, 8, "PROTNONE" if kind == "protnone" else "GLOBAL"), (7, 7, "PSE"),
                (6, 6, "DIRTY"), (5, 5, "ACCESSED"), (4, 4, "PCD"), (3, 3, "PWT"),
                (2, 2, "USER"), (1, 1, "RW"), (0, 0, "PRESENT")]
    if leafy and kind not in ("table", "none") and not raw & lib.PB_PAGE_PROTNONE:
        return [(63, 59, "type"), (58, 9, "~offset"), (8, 8, "(0: PROTNONE)"),
                (7, 7, "(0: PSE)"), (6, 6, "(D)"), (5, 5, "(A)"), (4, 3, "-"),
                (2, 2, "SWP_UFFD_WP"), (1, 1, "SWP_SOFT_DIRTY"), (0, 0, "(0: PRESENT)")]
    nxt = "PUD" if level == "pgd" and not profile.mask("config") & lib.PB_CFG_LA57 \
        else _NEXT_LEVEL[level]
    return [(63, 63, "NX"), (62, 52, "(ignored)"), (51, 12, "PFN of the %s table" % nxt),
            (11, 8, "(ignored)"), (7, 7, "PSE" if leafy else "PSE (reserved)"),
            (6, 6, "DIRTY (ignored)"), (5, 5, "ACCESSED"), (4, 4, "PCD"), (3, 3, "PWT"),
            (2, 2, "USER"), (1, 1, "RW"), (0, 0, "PRESENT")]


def bit_diagram(raw: int, kind: str, profile: Any, level: str = "pte") -> List[str]:
    ranges = _ranges(kind, profile) if level == "pte" else \
        _upper_ranges(kind, profile, level, raw)
    labels = []
    for hi, lo, label in ranges:
        if label in _PROFILE_MASKS and not profile.mask(_PROFILE_MASKS[label]):
            label += " (n/a)"   # the profile's config leaves the bit out
        labels.append(label)
    # the PTE diagram keeps its historical 16 columns; upper levels fit their labels
    col = 16 if level == "pte" else max(16, max(len(label) for label in labels))
    lines = ["  bits    %-*s value" % (col, "field")]
    for (hi, lo, _), label in zip(ranges, labels):
        width = hi - lo + 1
        value = (raw >> lo) & ((1 << width) - 1)
        bits = "%s-%s" % (hi, lo) if hi != lo else str(hi)
        shown = str(value) if width == 1 else "%#x" % value
        lines.append("  %-7s %-*s %s" % (bits, col, label, shown))
    return lines


# -------------------------------------------------------------- scalar

class Pte:
    """One entry decoded under a profile, with its fields as attributes
    (``None`` where a field does not apply to the kind or profile).
    ``level`` is the page-table level the entry comes from: "pte" (default),
    "pmd", "pud", "p4d" or "pgd"."""

    def __init__(self, raw: int, *, profile: ProfileLike = None, level: str = "pte"):
        prof = _profile(profile)
        self.level = LEVELS[_level(level)]
        if isinstance(raw, bool) or not isinstance(raw, (int, np.integer)):
            from .errors import InvalidTypeError
            raise InvalidTypeError("raw must be an integer (a 64-bit PTE value), got %s %r; "
                                   "for hex text use int(text, 16), for arrays ptebits.decode"
                                   % (type(raw).__name__, raw if not isinstance(raw, np.ndarray)
                                      else "array"))
        value = int(raw)
        if value < 0 or value >> 64:
            from .errors import FieldRangeError
            raise FieldRangeError("raw=%d is not a 64-bit value" % value, field="raw",
                                  value=value, limit=1 << 64)
        self.raw = value
        self.profile = prof
        self._decoded = decode(np.array([value], dtype=np.uint64), profile=prof,
                               level=self.level)
        self._row = next(iter_rows(self._decoded))

    @property
    def kind(self) -> Kind:
        return Kind(int(self._decoded.kind[0]))

    def fields(self) -> Dict[str, Any]:
        """The jsonl row: raw, kind and every field that applies."""
        return dict(self._row)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        key = name.rstrip("_")
        if key in self._row:
            return self._row[key]
        if any(f.name == key for level in LEVELS for f in fields_for(level)):
            return None          # a field of this level that does not apply, or of another
        raise AttributeError("Pte has no field %r" % name)

    def __int__(self) -> int:
        return self.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pte) and (other.raw, other.profile, other.level) == \
            (self.raw, self.profile, self.level)

    def __hash__(self) -> int:
        return hash((self.raw, self.profile, self.level))

    def __repr__(self) -> str:
        if self.level != "pte":
            return "Pte(%#x, profile=%r, level=%r)" % (self.raw, self.profile.name, self.level)
        return "Pte(%#x, profile=%r)" % (self.raw, self.profile.name)

    def __str__(self) -> str:
        return summary(self._row, self.profile, level=self.level)

    def fault_path(self) -> str:
        return fault_path(self._row, self.profile, self.level)

    def explain(self) -> str:
        """A multi-line breakdown: summary, bit diagram, fields, fault path."""
        row, level = self._row, self.level
        if level == "pte":
            lines = ["%s under %s" % (summary(row, self.profile), self.profile.name)]
        else:
            lines = ["%s under %s, %s level" % (summary(row, self.profile, level=level),
                                                self.profile.name, level)]
            lines += self._level_notes()
        if row["kind"] in ("swap", "migration", "device", "hwpoison", "marker", "bad") and \
                "swp_type" in row:
            lines.append("  swap type %d = %s" % (row["swp_type"],
                                                   self.profile.type_name(row["swp_type"])))
        if row["kind"] == "none" and self.raw:
            lines.append("  %s_none() ignores Accessed/Dirty (the hardware may set them on "
                         "non-present entries)" % self._rules())
        lines += bit_diagram(self.raw, row["kind"], self.profile, level)
        rest = ["%s=%s" % (k, ("%#x" % v) if k in ("pfn", "swp_offset") else v)
                for k, v in row.items() if k not in ("raw", "kind")]
        lines.append("  fields: " + " ".join(rest))
        lines.append("  fault: " + fault_path(row, self.profile, level))
        return "\n".join(lines)

    def _rules(self) -> str:
        """The level whose rules the entry follows (a 4-level "pgd" is a p4d)."""
        if self.level == "pgd" and not self.profile.mask("config") & lib.PB_CFG_LA57:
            return "p4d"
        return self.level

    def _level_notes(self) -> List[str]:
        if self.level == "pgd" and self._rules() == "p4d":
            return ["  4-level paging: the P4D is folded into the PGD, so this top-level "
                    "table holds p4d entries (p4d_offset() returns the pgd entry; pgd_none() "
                    "is 0 and pgd_present() 1 for every entry)"]
        if self.level == "p4d" and self._rules() == "p4d" and \
                not self.profile.mask("config") & lib.PB_CFG_LA57:
            return ["  4-level paging: the P4D table is the top-level table (CR3)"]
        return []


def explain_pagemap(word: int, *, profile: ProfileLike = None) -> str:
    """A breakdown of one /proc/PID/pagemap word."""
    prof = _profile(profile)
    d = decode_pagemap(np.array([word], dtype=np.uint64), profile=prof)
    flags = [name for name, bit in sorted(PM_BITS.items(), key=lambda kv: -kv[1])
             if (word >> bit) & 1]
    kind = str(Kind(int(d.kind[0])))
    lines = ["%#018x pagemap word under %s: %s" % (word, prof.name, " ".join(flags) or "(empty)")]
    if kind == "present":
        lines.append("  present: pfn=%#x%s" % (int(d.pfn[0]), " (0: no CAP_SYS_ADMIN, or the "
                                                              "zero frame)" if not d.pfn[0] else ""))
    elif word >> lib.PB_PM_BIT_SWAP & 1:
        t, off = int(d.swp_type[0]), int(d.swp_offset[0])
        lines.append("  swapped: type=%d (%s) offset=%#x → %s" % (t, prof.type_name(t), off, kind))
        if kind == "marker":
            m = int(d.marker[0])
            names = [n for n, b in (("uffd_wp", 1), ("poisoned", 2), ("guard", 4)) if m & b]
            lines.append("  PTE marker: %s" % " ".join(names))
    else:
        lines.append("  not present, not swapped (pte_none%s)" % (
            ", or the v2 uffd-wp special PTE, which pagemap shows as none"
            if prof.special_pte else ""))
    unknown = word & (((1 << 64) - 1) ^ sum(1 << b for b in PM_BITS.values())
                      ^ ((1 << lib.PB_PM_FRAME_BITS) - 1))
    if unknown:
        lines.append("  bits %#x are zero in every kernel's pagemap" % unknown)
    absent = [n for n, m in (("uffd_wp", "pm_uffd_wp"), ("guard", "pm_guard"))
              if (word >> PM_BITS[n]) & 1 and not prof.mask(m)]
    if absent:
        lines.append("  %s: not reported by %s" % (", ".join(absent), prof.name))
    return "\n".join(lines)
