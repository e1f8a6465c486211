"""Kernel profiles: a kernel version plus the config options that change
page-table layouts, as data.

The names and default configs live here; the layouts they imply (swap-type
numbers, which software bits exist, marker encoding) are computed by the C
core from the same kernel arithmetic (include/linux/swap.h), so no bit
position is typed in Python.
"""
from __future__ import annotations

import gzip
import os
import re
import warnings
from typing import Any, Dict, List, Mapping, Optional, Tuple

from . import _core
from ._core import lib
from .errors import InvalidTypeError, UnknownProfileError, UnsupportedKernelError

__all__ = ["Profile", "KNOBS", "list_profiles", "get_profile", "host_profile",
           "DEFAULT_PROFILE"]

DEFAULT_PROFILE = "linux-6.18"

# knob name -> (PB_CFG_* bit, the kernel config option it stands for)
KNOBS: Dict[str, Tuple[int, str]] = {
    "migration": (lib.PB_CFG_MIGRATION, "CONFIG_MIGRATION"),
    "memory_failure": (lib.PB_CFG_MEMORY_FAILURE, "CONFIG_MEMORY_FAILURE"),
    "device_private": (lib.PB_CFG_DEVICE_PRIVATE, "CONFIG_DEVICE_PRIVATE"),
    "numa_balancing": (lib.PB_CFG_NUMA_BALANCING, "CONFIG_NUMA_BALANCING"),
    "pkeys": (lib.PB_CFG_PKEYS, "CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS"),
    "soft_dirty": (lib.PB_CFG_SOFT_DIRTY, "CONFIG_MEM_SOFT_DIRTY"),
    "uffd_wp": (lib.PB_CFG_UFFD_WP, "CONFIG_HAVE_ARCH_USERFAULTFD_WP"),
    "la57": (lib.PB_CFG_LA57, "5-level paging in use (CPU la57 flag)"),
}

_BASES: Dict[str, Dict[str, Any]] = {
    "linux-6.18": {
        "kernel": lib.PB_KERNEL_6_18,
        "version": "6.18",
        # /proc/config.gz of the project's machines (6.18.44): MEMORY_FAILURE
        # absent, DEVICE_PRIVATE and MEM_SOFT_DIRTY off, 4-level paging.
        "knobs": {"migration": True, "memory_failure": False, "device_private": False,
                  "numa_balancing": True, "pkeys": True, "soft_dirty": False,
                  "uffd_wp": True, "la57": False},
        "about": "Linux 6.18.35, mainline PTE markers (uffd-wp marker = swap type 31, "
                 "offset 1); the config of the project's machines",
    },
    "linux-5.12-uffd-wp-v2": {
        "kernel": lib.PB_KERNEL_5_12_UFFD_WP_V2,
        "version": "5.12-uffd-wp-v2",
        # A distro-like config pinned by the project: every option on, 4-level.
        "knobs": {"migration": True, "memory_failure": True, "device_private": True,
                  "numa_balancing": True, "pkeys": True, "soft_dirty": True,
                  "uffd_wp": True, "la57": False},
        "about": "Linux 5.12.9 + Peter Xu's 'userfaultfd-wp: Support shmem and hugetlbfs' "
                 "v2 (April 2021): uffd-wp special PTE 0x4",
    },
}


class Profile:
    """One kernel profile.  Immutable; compare and hash by name."""

    __slots__ = ("name", "base", "version", "knobs", "about", "_handle", "_layout")

    def __init__(self, base: str, knobs: Mapping[str, bool]):
        spec = _BASES[base]
        self.base = base
        self.version: str = spec["version"]
        self.knobs: Dict[str, bool] = dict(knobs)
        self.about: str = spec["about"]
        changes = sorted(("" if on else "no_") + k for k, on in self.knobs.items()
                         if on != spec["knobs"][k])
        self.name = "+".join([base] + changes)
        config = 0
        for knob, on in self.knobs.items():
            if on:
                config |= KNOBS[knob][0]
        self._handle = _core.new_profile(spec["kernel"], config)
        self._layout = _core.profile_layout(self._handle)

    # -- identity
    def __repr__(self) -> str:
        return "Profile(%r)" % self.name

    def __str__(self) -> str:
        return self.name

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    @property
    def handle(self) -> Any:
        """The C profile (for ptebits' own modules)."""
        return self._handle

    # -- layout facts, as the C core computed them
    @property
    def is_6_18(self) -> bool:
        return self._layout["kernel"] == lib.PB_KERNEL_6_18

    @property
    def max_swapfiles(self) -> int:
        """MAX_SWAPFILES: swap types 0..max_swapfiles-1 are swap devices."""
        return int(self._layout["max_swapfiles"])

    @property
    def special_pte(self) -> Optional[int]:
        """The v2 uffd-wp special PTE (0x4), or None where the profile has none."""
        return int(self._layout["special_pte"]) or None

    @property
    def has_markers(self) -> bool:
        return self._layout["type_marker"] != lib.PB_NO_TYPE

    @property
    def swp_pfn_bits(self) -> int:
        return int(self._layout["swp_pfn_bits"])

    def mask(self, name: str) -> int:
        """A layout mask by its field name in the C profile (``uffd_wp``,
        ``saved_dirty``, ``swp_exclusive``, ``pm_uffd_wp``...); 0 if absent."""
        return int(self._layout[name])

    def swap_types(self) -> Dict[str, int]:
        """The special swap types by name (only those the profile has)."""
        lay = self._layout
        out: Dict[str, int] = {}
        if lay["type_hwpoison"] != lib.PB_NO_TYPE:
            out["hwpoison"] = lay["type_hwpoison"]
        for kind, key in ((lib.PB_KIND_MIGRATION, "type_migration"),
                          (lib.PB_KIND_DEVICE, "type_device")):
            for sub, t in enumerate(lay[key]):
                if t != lib.PB_NO_TYPE:
                    out["%s_%s" % (_core.kind_names()[kind], _core.sub_name(kind, sub))] = t
        if lay["type_marker"] != lib.PB_NO_TYPE:
            out["pte_marker"] = lay["type_marker"]
        return dict(sorted(out.items(), key=lambda kv: kv[1]))

    def type_name(self, swp_type: int) -> str:
        """What a swap type number means in this profile."""
        if swp_type < self.max_swapfiles:
            return "swap device %d" % swp_type
        for name, t in self.swap_types().items():
            if t == swp_type:
                return name.replace("_", " ")
        return "unassigned special type"

    def describe(self) -> Dict[str, Any]:
        """A summary for `ptebits profiles` and JSON output."""
        return {
            "name": self.name,
            "kernel": self.version,
            "about": self.about,
            "knobs": dict(self.knobs),
            "max_swapfiles": self.max_swapfiles,
            "swap_types": self.swap_types(),
            "special_pte": None if self.special_pte is None else "%#x" % self.special_pte,
            "swp_pfn_bits": self.swp_pfn_bits,
            "software_bits": {n: "%#x" % self.mask(n) for n in
                              ("uffd_wp", "soft_dirty", "saved_dirty", "devmap",
                               "swp_soft_dirty", "swp_uffd_wp", "swp_exclusive")},
        }


def list_profiles() -> List[str]:
    """The built-in profile names (``host`` is derived from the running kernel)."""
    return list(_BASES) + ["host"]


def _parse_knob(token: str) -> Tuple[str, bool]:
    on = True
    name = token.replace("-", "_")
    if name.startswith("no_"):
        name, on = name[3:], False
    if name not in KNOBS:
        raise UnknownProfileError("unknown profile knob %r; knobs are: %s (prefix no_ to "
                                  "turn one off)" % (token, ", ".join(KNOBS)))
    return name, on


def get_profile(name: Any = None, **knobs: bool) -> Profile:
    """A profile by name, with knobs overriding its config.

    ``get_profile("linux-6.18", memory_failure=True)`` and
    ``get_profile("linux-6.18+memory_failure")`` are the same profile; a
    :class:`Profile` is returned as is (with knobs applied).  ``None`` means
    the default, ``linux-6.18``; ``"host"`` derives one from this machine.
    """
    if isinstance(name, Profile):
        if not knobs:
            return name
        base, settings = name.base, dict(name.knobs)
    else:
        if name is None:
            name = DEFAULT_PROFILE
        if not isinstance(name, str):
            raise UnknownProfileError("profile must be a name or a Profile, got %s"
                                      % type(name).__name__)
        tokens = name.strip().split("+")
        base = tokens[0]
        if base == "host":
            host = host_profile()
            base, settings = host.base, dict(host.knobs)
        elif base in _BASES:
            settings = dict(_BASES[base]["knobs"])
        else:
            raise UnknownProfileError("unknown profile %r; known profiles: %s"
                                      % (base, ", ".join(list_profiles())))
        for token in tokens[1:]:
            knob, on = _parse_knob(token)
            settings[knob] = on
    for knob, on in knobs.items():
        if knob not in KNOBS:
            raise UnknownProfileError("unknown profile knob %r; knobs are: %s"
                                      % (knob, ", ".join(KNOBS)))
        settings[knob] = bool(on)
    return _cached(base, tuple(sorted(settings.items())))


_CACHE: Dict[Tuple[str, Tuple[Tuple[str, bool], ...]], Profile] = {}


def _cached(base: str, settings: Tuple[Tuple[str, bool], ...]) -> Profile:
    key = (base, settings)
    if key not in _CACHE:
        _CACHE[key] = Profile(base, dict(settings))
    return _CACHE[key]


# ------------------------------------------------------------------- host

def _read_text(path: str) -> Optional[str]:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rt", errors="replace") as f:
                return f.read()
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return None


def host_profile(release: Optional[str] = None, config: Optional[str] = None,
                 cpuinfo: Optional[str] = None) -> Profile:
    """The profile of the running kernel (or of the given ``uname -r``
    release, kernel config text and /proc/cpuinfo text).

    Only kernels whose layout ptebits knows are accepted: 6.18.y.  Anything
    else raises :class:`UnsupportedKernelError` naming the version.
    """
    if release is None:
        release = os.uname().release
    for name, text in (("release", release), ("config", config), ("cpuinfo", cpuinfo)):
        if text is not None and not isinstance(text, str):
            raise InvalidTypeError("host_profile: %s must be text (str), got %s"
                                   % (name, type(text).__name__))
    m = re.match(r"(\d+)\.(\d+)", release)
    if not m or (int(m.group(1)), int(m.group(2))) != (6, 18):
        raise UnsupportedKernelError(
            "host kernel %s has a page-table layout ptebits does not know (it knows 6.18.y "
            "as linux-6.18 and 5.12 + the uffd-wp v2 series as linux-5.12-uffd-wp-v2); "
            "name a profile with --profile" % release)
    base = "linux-6.18"
    knobs = dict(_BASES[base]["knobs"])
    if config is None:
        config = _read_text("/proc/config.gz") or _read_text("/boot/config-%s" % release)
    if config is None:
        warnings.warn("kernel config not readable (/proc/config.gz, /boot/config-%s): "
                      "assuming the linux-6.18 defaults" % release, stacklevel=2)
    else:
        enabled = set(re.findall(r"^(CONFIG_\w+)=[ym]", config, re.M))
        for knob, (_, option) in KNOBS.items():
            if option.startswith("CONFIG_"):
                knobs[knob] = option in enabled
    if cpuinfo is None:
        cpuinfo = _read_text("/proc/cpuinfo") or ""
    flags = re.search(r"^flags\s*:(.*)$", cpuinfo, re.M)
    knobs["la57"] = bool(flags and "la57" in flags.group(1).split())
    return get_profile(base, **knobs)
