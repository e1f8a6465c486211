"""ptebits: x86-64 page-table entries bit for bit as Linux encodes them."""
from __future__ import annotations

from .codec import (LEVELS, PGPROTS, TABLE_PGPROTS, Decoded, Kind, classify, decode,
                    encode_device, encode_huge, encode_hwpoison, encode_marker,
                    encode_migration, encode_present, encode_special, encode_swap,
                    encode_table, pte_clear_soft_dirty, pte_clear_uffd_wp,
                    pte_mkclean, pte_mkdirty, pte_mkold, pte_mksoft_dirty, pte_mkuffd_wp,
                    pte_mkwrite, pte_mkyoung, pte_modify, pte_swp_clear_exclusive,
                    pte_swp_clear_soft_dirty, pte_swp_clear_uffd_wp, pte_swp_mkexclusive,
                    pte_swp_mksoft_dirty, pte_swp_mkuffd_wp, pte_wrprotect)
from .errors import (DumpFormatError, Error, FieldRangeError, FileError, InvalidTypeError,
                     InvalidValueError, LiveUnavailable, ScenarioError, UnknownProfileError,
                     UnsupportedKernelError)
from .explain import Pte
from .fault import Access, AddressSpace, FaultBatch, Handler, Outcome
from .dumps import open_dump, read_dump
from .pagemap import PagemapDecoded, decode_pagemap, pte_to_pagemap
from .procpid import read_pagemap
from .profiles import Profile, get_profile, host_profile, list_profiles

__version__ = "0.1.0"

__all__ = [
    "__version__", "Kind", "Decoded", "Pte", "AddressSpace", "Handler", "Outcome", "Access",
    "FaultBatch", "classify", "decode", "LEVELS", "PGPROTS",
    "TABLE_PGPROTS", "encode_present", "encode_table", "encode_huge", "encode_swap",
    "encode_migration", "encode_device",
    "encode_hwpoison", "encode_marker", "encode_special", "pte_modify",
    "pte_wrprotect", "pte_mkwrite", "pte_mkuffd_wp", "pte_clear_uffd_wp",
    "pte_mkdirty", "pte_mkclean", "pte_mkyoung", "pte_mkold", "pte_mksoft_dirty",
    "pte_clear_soft_dirty", "pte_swp_mkuffd_wp", "pte_swp_clear_uffd_wp",
    "pte_swp_mksoft_dirty", "pte_swp_clear_soft_dirty", "pte_swp_mkexclusive",
    "pte_swp_clear_exclusive", "PagemapDecoded", "decode_pagemap", "pte_to_pagemap", "read_pagemap",
    "Profile", "get_profile", "host_profile", "list_profiles",
    "Error", "InvalidTypeError", "InvalidValueError", "FieldRangeError",
    "UnknownProfileError", "UnsupportedKernelError", "DumpFormatError", "FileError",
    "ScenarioError", "LiveUnavailable",
]
