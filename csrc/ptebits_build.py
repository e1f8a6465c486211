"""cffi builder for ptebits._native (run by setup.py's cffi_modules).

The cdef declares every constant as ``...`` so the C compiler supplies the
value from ptebits.h: Python can never drift from the header.
"""
import os
import re

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCES = ["csrc/codec.c", "csrc/decode.c"]


def _constant_names():
    """Every #define in ptebits.h whose value is an integer expression."""
    names = []
    with open(os.path.join(HERE, "ptebits.h")) as header:
        for line in header:
            m = re.match(r"#define\s+(PB_[A-Z0-9_]+)\s+\S", line)
            if m and not m.group(1).endswith("_H") and "(" not in line.split()[1]:
                names.append(m.group(1))
    return names


CDEF = "\n".join("#define %s ..." % name for name in _constant_names()) + """
typedef struct pb_profile {
    int kernel;
    uint32_t config;
    uint64_t uffd_wp, soft_dirty, saved_dirty, devmap, pkey_mask, dirty_bits,
             chg_mask, protnone_test;
    uint64_t swp_soft_dirty, swp_uffd_wp, swp_exclusive, swp_flag_mask, special_pte;
    uint32_t max_swapfiles;
    uint8_t type_kind[32];
    uint8_t type_sub[32];
    uint8_t type_hwpoison;
    uint8_t type_migration[3];
    uint8_t type_device[3];
    uint8_t type_marker;
    uint64_t type_low_ok[32];
    uint64_t type_offset_ok[32];
    uint64_t type_pfn_mask[32];
    uint64_t type_mig_ad[32];
    uint32_t swp_pfn_bits;
    uint64_t swp_pfn_mask, mig_young, mig_dirty;
    uint32_t mig_aux_shift;
    uint64_t pfn_limit_present, pfn_limit_swp;
    uint64_t pm_uffd_wp, pm_guard;
    ...;
} pb_profile;

typedef struct pb_fields {
    uint8_t kind;
    uint8_t swp_type;
    uint16_t aux;
    uint64_t pfn;
    uint64_t flags;
    uint64_t swp_offset;
} pb_fields;

int pb_profile_init(pb_profile *p, int kernel, uint32_t config);
const char *pb_kind_name(int kind);
const char *pb_sub_name(int kind, int sub);
const char *pb_strerror(int status);
const char *pb_op_name(int op);
int pb_classify_one(const pb_profile *p, uint64_t raw);
void pb_decode_one(const pb_profile *p, uint64_t raw, pb_fields *f);
int pb_encode_one(const pb_profile *p, const pb_fields *f, uint64_t *raw);
int pb_pte_op_one(const pb_profile *p, int op, uint64_t raw, uint64_t arg, uint64_t *out);
uint64_t pb_pte_to_pagemap_one(const pb_profile *p, uint64_t raw, uint32_t facts);
void pb_pagemap_decode_one(const pb_profile *p, uint64_t pm, pb_fields *f);
uint64_t pb_limit(const pb_profile *p, int status, int kind);
void pb_classify_array(const pb_profile *p, const uint64_t *raw, size_t n, uint8_t *kind);
void pb_decode_array(const pb_profile *p, const uint64_t *raw, size_t n,
                     uint8_t *kind, uint64_t *pfn, uint64_t *flags,
                     uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux);
int pb_encode_array(const pb_profile *p, int kind, size_t n,
                    const uint64_t *pfn_or_type, const uint64_t *prot_or_offset,
                    const uint16_t *aux, uint64_t *out, size_t *err_index);
int pb_pte_op_array(const pb_profile *p, int op, const uint64_t *raw, size_t n,
                    const uint64_t *arg, uint64_t *out, size_t *err_index);
void pb_pte_to_pagemap_array(const pb_profile *p, const uint64_t *raw, size_t n,
                             const uint8_t *facts, uint64_t *out);
void pb_pagemap_decode_array(const pb_profile *p, const uint64_t *pm, size_t n,
                             uint8_t *kind, uint64_t *pfn, uint16_t *pm_flags,
                             uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux);
"""

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "ptebits._native",
    '#include "ptebits.h"',
    sources=SOURCES,
    include_dirs=["csrc"],
    depends=["csrc/ptebits.h", "csrc/entry.h"],
    extra_compile_args=["-std=c99", "-O3"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
