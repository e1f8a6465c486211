"""The scalar view of one entry (:class:`Pte`) and the human explanations
behind ``ptebits explain``: one-line summaries, bit diagrams and what
``handle_pte_fault`` would do with the entry in each profile.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ._core import lib
from .codec import Kind, ProfileLike, _profile, decode
from .pagemap import PM_BITS, decode_pagemap
from .schema import FIELDS, iter_rows

__all__ = ["Pte", "summary", "explain_pagemap"]

# Names shown in summaries, in bit order from the top (schema field -> label).
_PRESENT_LABELS = (("nx", "NX"), ("saved_dirty", "SAVED_DIRTY"), ("devmap", "DEVMAP"),
                   ("soft_dirty", "SOFT_DIRTY"), ("uffd_wp", "UFFD_WP"),
                   ("special", "SPECIAL"), ("global", "G"), ("protnone", "PROTNONE"),
                   ("pat", "PAT"), ("dirty_hw", "D"), ("accessed", "A"), ("pcd", "PCD"),
                   ("pwt", "PWT"), ("user", "USER"), ("rw", "RW"))


def _swap_flag_labels(row: Dict[str, Any]) -> List[str]:
    return [label for key, label in (("swp_exclusive", "SWP_EXCLUSIVE"),
                                     ("swp_uffd_wp", "SWP_UFFD_WP"),
                                     ("swp_soft_dirty", "SWP_SOFT_DIRTY")) if row.get(key)]


def _marker_labels(row: Dict[str, Any]) -> List[str]:
    return [label for key, label in (("marker_uffd_wp", "UFFD_WP"),
                                     ("marker_poisoned", "POISONED"),
                                     ("marker_guard", "GUARD")) if row.get(key)]


def summary(row: Dict[str, Any], profile: Any, *, raw: bool = True) -> str:
    """A one-line decode of a schema row (see :func:`ptebits.schema.iter_rows`)."""
    kind = row["kind"]
    parts = ([row["raw"]] if raw else []) + [kind]
    if kind in ("present", "protnone"):
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
        parts += [l for k, l in (("mig_young", "young"), ("mig_dirty", "dirty")) if row.get(k)]
        parts += _swap_flag_labels(row)
        parts.append("(swap type %d)" % row["swp_type"])
    elif kind == "hwpoison":
        parts.append("pfn=%#x (swap type %d)" % (row["pfn"], row["swp_type"]))
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


# ------------------------------------------------------------ fault text

def fault_path(row: Dict[str, Any], profile: Any) -> str:
    """What handle_pte_fault does with a fault on this entry (spec §7)."""
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


def bit_diagram(raw: int, kind: str, profile: Any) -> List[str]:
    lines = ["  bits    field            value"]
    for hi, lo, label in _ranges(kind, profile):
        if label in _PROFILE_MASKS and not profile.mask(_PROFILE_MASKS[label]):
            label += " (n/a)"   # the profile's config leaves the bit out
        width = hi - lo + 1
        value = (raw >> lo) & ((1 << width) - 1)
        bits = "%s-%s" % (hi, lo) if hi != lo else str(hi)
        shown = str(value) if width == 1 else "%#x" % value
        lines.append("  %-7s %-16s %s" % (bits, label, shown))
    return lines


# -------------------------------------------------------------- scalar

class Pte:
    """One entry decoded under a profile, with its fields as attributes
    (``None`` where a field does not apply to the kind or profile)."""

    def __init__(self, raw: int, *, profile: ProfileLike = None):
        prof = _profile(profile)
        value = int(raw)
        if value < 0 or value >> 64:
            from .errors import FieldRangeError
            raise FieldRangeError("raw=%d is not a 64-bit value" % value, field="raw",
                                  value=value, limit=1 << 64)
        self.raw = value
        self.profile = prof
        self._decoded = decode(np.array([value], dtype=np.uint64), profile=prof)
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
        if any(f.name == key for f in FIELDS):
            return None
        raise AttributeError("Pte has no field %r" % name)

    def __int__(self) -> int:
        return self.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pte) and (other.raw, other.profile) == (self.raw, self.profile)

    def __hash__(self) -> int:
        return hash((self.raw, self.profile))

    def __repr__(self) -> str:
        return "Pte(%#x, profile=%r)" % (self.raw, self.profile.name)

    def __str__(self) -> str:
        return summary(self._row, self.profile)

    def fault_path(self) -> str:
        return fault_path(self._row, self.profile)

    def explain(self) -> str:
        """A multi-line breakdown: summary, bit diagram, fields, fault path."""
        row = self._row
        lines = ["%s under %s" % (summary(row, self.profile), self.profile.name)]
        if row["kind"] in ("swap", "migration", "device", "hwpoison", "marker", "bad"):
            lines.append("  swap type %d = %s" % (row["swp_type"],
                                                   self.profile.type_name(row["swp_type"])))
        if row["kind"] == "none" and self.raw:
            lines.append("  pte_none() ignores Accessed/Dirty (the hardware may set them on "
                         "non-present entries)")
        lines += bit_diagram(self.raw, row["kind"], self.profile)
        rest = ["%s=%s" % (k, ("%#x" % v) if k in ("pfn", "swp_offset") else v)
                for k, v in row.items() if k not in ("raw", "kind")]
        lines.append("  fields: " + " ".join(rest))
        lines.append("  fault: " + fault_path(row, self.profile))
        return "\n".join(lines)


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
