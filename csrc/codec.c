/*
 * codec.c - profiles, names, the one-entry API and the simple array loops
 * (classify, encode, PTE helpers, pagemap).  The decode loop, which is
 * tuned for memory bandwidth, lives in decode.c.
 *
 * No globals, no allocation: every function is reentrant, so callers may
 * run several loops at once on disjoint output arrays.
 */
#include <string.h>

#include "entry.h"

/* ---------------------------------------------------------------- names */

static const char *const kind_names[PB_KIND_COUNT] = {
    "none", "present", "protnone", "swap", "migration", "device",
    "hwpoison", "marker", "uffd_wp_special", "bad", "table",
};

const char *pb_kind_name(int kind)
{
    if (kind < 0 || kind >= PB_KIND_COUNT)
        return "?";
    return kind_names[kind];
}

const char *pb_sub_name(int kind, int sub)
{
    static const char *const mig[3] = {"read", "read_exclusive", "write"};
    static const char *const dev[3] = {"private_read", "private_write", "exclusive"};

    if (sub < 0 || sub > 2)
        return "?";
    if (kind == PB_KIND_MIGRATION)
        return mig[sub];
    if (kind == PB_KIND_DEVICE)
        return dev[sub];
    return "";
}

const char *pb_strerror(int status)
{
    static const char *const msgs[PB_E_COUNT] = {
        "ok",
        "unknown kernel or config",
        "the profile has no such kind of entry",
        "PFN out of range",
        "swap offset out of range",
        "swap type out of range",
        "pgprot has bits inside the PFN field (bits 12-51)",
        "a flag the profile does not have",
        "flags that exclude each other",
        "empty marker or unknown marker bits",
        "the encoding would read back as another kind of entry",
        "a present-PTE helper applied to a non-present entry",
        "a swap-PTE helper applied to an entry that is not swap-format",
        "unknown operation",
        "the PFN of a huge leaf must be aligned to its page size",
        "the page-table level has no such kind of entry, or no such level",
        "an output array is full",
        "no VMA there, or the operation does not apply to the VMA",
        "page out of range",
    };
    if (status < 0 || status >= PB_E_COUNT)
        return "unknown status";
    return msgs[status];
}

const char *pb_op_name(int op)
{
    static const char *const names[PB_OP_COUNT] = {
        "pte_wrprotect", "pte_mkwrite", "pte_mkuffd_wp", "pte_clear_uffd_wp",
        "pte_mkdirty", "pte_mkclean", "pte_mkyoung", "pte_mkold",
        "pte_mksoft_dirty", "pte_clear_soft_dirty", "pte_swp_mkuffd_wp",
        "pte_swp_clear_uffd_wp", "pte_swp_mksoft_dirty", "pte_swp_clear_soft_dirty",
        "pte_swp_mkexclusive", "pte_swp_clear_exclusive", "pte_modify",
    };
    if (op < 0 || op >= PB_OP_COUNT)
        return "?";
    return names[op];
}

/* ------------------------------------------------------------- profiles */

int pb_profile_init(pb_profile *p, int kernel, uint32_t cfg)
{
    unsigned hwp, mig, dev, marker, base, t;
    int v618 = kernel == PB_KERNEL_6_18;

    if ((kernel != PB_KERNEL_5_12_UFFD_WP_V2 && !v618) || (cfg & ~PB_CFG_ALL))
        return PB_E_PROFILE;
    memset(p, 0, sizeof(*p));
    p->kernel = kernel;
    p->config = cfg;

    p->uffd_wp = (cfg & PB_CFG_UFFD_WP) ? PB_BIT(PB_PAGE_BIT_UFFD_WP) : 0;
    p->soft_dirty = (cfg & PB_CFG_SOFT_DIRTY) ? PB_BIT(PB_PAGE_BIT_SOFT_DIRTY) : 0;
    /* 5.12: x86-64 always has _PAGE_DEVMAP; 6.18: SAVED_DIRTY instead. */
    p->saved_dirty = v618 ? PB_BIT(PB_PAGE_BIT_SAVED_DIRTY_6_18) : 0;
    p->devmap = v618 ? 0 : PB_BIT(PB_PAGE_BIT_DEVMAP_5_12);
    p->pkey_mask = (cfg & PB_CFG_PKEYS) ? PB_PAGE_PKEY_MASK : 0;
    p->dirty_bits = PB_PAGE_DIRTY | p->saved_dirty;  /* _PAGE_DIRTY_BITS */
    /* _PAGE_CHG_MASK: 6.18 adds PAT (and SAVED_DIRTY via _PAGE_DIRTY_BITS). */
    p->chg_mask = PB_PTE_PFN_MASK | PB_PAGE_PCD | PB_PAGE_PWT | PB_PAGE_SPECIAL |
                  PB_PAGE_ACCESSED | p->dirty_bits | p->soft_dirty | p->devmap |
                  p->uffd_wp | (v618 ? PB_PAGE_PAT : 0);
    p->protnone_test = (cfg & PB_CFG_NUMA_BALANCING) ? PB_PAGE_PROTNONE : 0;

    p->swp_soft_dirty = (cfg & PB_CFG_SOFT_DIRTY) ? PB_BIT(PB_PAGE_BIT_SWP_SOFT_DIRTY) : 0;
    p->swp_uffd_wp = (cfg & PB_CFG_UFFD_WP) ? PB_BIT(PB_PAGE_BIT_SWP_UFFD_WP) : 0;
    p->swp_exclusive = v618 ? PB_BIT(PB_PAGE_BIT_SWP_EXCLUSIVE) : 0;
    /* Without HAVE_ARCH_USERFAULTFD_WP the v2 special is __pte(0): none. */
    p->swp_flag_mask = p->swp_soft_dirty | p->swp_uffd_wp | p->swp_exclusive;
    p->special_pte = (!v618 && (cfg & PB_CFG_UFFD_WP)) ? PB_UFFD_WP_SWP_PTE_SPECIAL_V2 : 0;

    /* include/linux/swap.h: special types are carved from the top, in the
     * order hwpoison, migration, device, marker (6.18 always has a marker). */
    hwp = (cfg & PB_CFG_MEMORY_FAILURE) ? 1 : 0;
    mig = (cfg & PB_CFG_MIGRATION) ? (v618 ? 3 : 2) : 0;
    dev = (cfg & PB_CFG_DEVICE_PRIVATE) ? (v618 ? 3 : 2) : 0;
    marker = v618 ? 1 : 0;
    p->max_swapfiles = PB_SWP_NTYPES - hwp - mig - dev - marker;
    for (t = 0; t < PB_SWP_NTYPES; t++)
        p->type_kind[t] = t < p->max_swapfiles ? PB_KIND_SWAP : PB_KIND_BAD;
    p->type_hwpoison = PB_NO_TYPE;
    memset(p->type_migration, PB_NO_TYPE, sizeof(p->type_migration));
    memset(p->type_device, PB_NO_TYPE, sizeof(p->type_device));
    p->type_marker = PB_NO_TYPE;

    base = p->max_swapfiles;
    if (hwp) {
        p->type_hwpoison = (uint8_t)base;
        p->type_kind[base] = PB_KIND_HWPOISON;
    }
    base += hwp;
    if (mig) {
        /* 5.12: READ, WRITE.  6.18: READ, READ_EXCLUSIVE, WRITE. */
        static const uint8_t order512[2] = {PB_SUB_MIGRATION_READ, PB_SUB_MIGRATION_WRITE};
        for (t = 0; t < mig; t++) {
            uint8_t sub = v618 ? (uint8_t)t : order512[t];
            p->type_migration[sub] = (uint8_t)(base + t);
            p->type_kind[base + t] = PB_KIND_MIGRATION;
            p->type_sub[base + t] = sub;
        }
    }
    base += mig;
    if (dev) {
        /* Both: WRITE, READ; 6.18 then EXCLUSIVE. */
        static const uint8_t order[3] = {PB_SUB_DEVICE_PRIVATE_WRITE,
                                         PB_SUB_DEVICE_PRIVATE_READ,
                                         PB_SUB_DEVICE_EXCLUSIVE};
        for (t = 0; t < dev; t++) {
            p->type_device[order[t]] = (uint8_t)(base + t);
            p->type_kind[base + t] = PB_KIND_DEVICE;
            p->type_sub[base + t] = order[t];
        }
    }
    base += dev;
    if (marker) {
        p->type_marker = (uint8_t)base;
        p->type_kind[base] = PB_KIND_MARKER;
    }

    p->pfn_limit_present = PB_BIT(PB_PFN_BITS);
    if (v618) {
        /* swapops.h: SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT; A/D bits
         * above it when swap_migration_ad_supported (the swap size limit
         * leaves room: true unless an L1TF CPU shrinks it). */
        p->swp_pfn_bits = ((cfg & PB_CFG_LA57) ? PB_MAX_PHYSMEM_BITS_5LEVEL
                                               : PB_MAX_PHYSMEM_BITS_4LEVEL) - PB_PAGE_SHIFT;
        p->swp_pfn_mask = PB_BIT(p->swp_pfn_bits) - 1;
        if (p->swp_pfn_bits + 2 <= PB_SWP_OFFSET_BITS) {
            p->mig_young = PB_BIT(p->swp_pfn_bits);
            p->mig_dirty = PB_BIT(p->swp_pfn_bits + 1);
            /* offset bits young, dirty -> PB_AUX_MIG_YOUNG, PB_AUX_MIG_DIRTY */
            p->mig_aux_shift = p->swp_pfn_bits - PB_AUX_BIT_MIG_YOUNG;
        }
        p->pfn_limit_swp = PB_BIT(p->swp_pfn_bits);
        p->pm_uffd_wp = PB_BIT(PB_PM_BIT_UFFD_WP);
        p->pm_guard = PB_BIT(PB_PM_BIT_GUARD_REGION);
    } else {
        /* 5.12: the offset of a pfn entry is the PFN, nothing else. */
        p->swp_pfn_bits = PB_SWP_OFFSET_BITS;
        p->swp_pfn_mask = PB_BIT(PB_SWP_OFFSET_BITS) - 1;
        p->pfn_limit_swp = PB_BIT(PB_PFN_BITS);
    }

    for (t = 0; t < PB_SWP_NTYPES; t++) {
        uint64_t pfn_ok = p->pfn_limit_swp - 1;

        switch (p->type_kind[t]) {
        case PB_KIND_SWAP:
            p->type_low_ok[t] = p->swp_soft_dirty | p->swp_uffd_wp | p->swp_exclusive;
            p->type_offset_ok[t] = PB_BIT(PB_SWP_OFFSET_BITS) - 1;
            break;
        case PB_KIND_MIGRATION:
            p->type_low_ok[t] = p->swp_soft_dirty | p->swp_uffd_wp;
            p->type_offset_ok[t] = pfn_ok | p->mig_young | p->mig_dirty;
            p->type_pfn_mask[t] = p->swp_pfn_mask;
            p->type_mig_ad[t] = p->mig_young | p->mig_dirty;
            break;
        case PB_KIND_DEVICE:
            p->type_low_ok[t] = p->swp_soft_dirty | p->swp_uffd_wp;
            p->type_offset_ok[t] = pfn_ok;
            p->type_pfn_mask[t] = p->swp_pfn_mask;
            break;
        case PB_KIND_HWPOISON:
            p->type_offset_ok[t] = pfn_ok;
            p->type_pfn_mask[t] = p->swp_pfn_mask;
            break;
        case PB_KIND_MARKER:
            p->type_offset_ok[t] = PB_PTE_MARKER_MASK;
            break;
        default:
            break;
        }
    }
    return PB_OK;
}

/* ------------------------------------------------------ one-entry API */

int pb_classify_one(const pb_profile *p, uint64_t raw)
{
    return classify(p, raw);
}

void pb_decode_one(const pb_profile *p, uint64_t raw, pb_fields *f)
{
    decode(p, raw, f);
}

int pb_encode_one(const pb_profile *p, const pb_fields *f, uint64_t *raw)
{
    return encode(p, f, raw);
}

int pb_pte_op_one(const pb_profile *p, int op, uint64_t raw, uint64_t arg, uint64_t *out)
{
    return pte_op(p, op, raw, arg, out);
}

uint64_t pb_pte_to_pagemap_one(const pb_profile *p, uint64_t raw, uint32_t facts)
{
    return pte_to_pagemap(p, raw, facts);
}

void pb_pagemap_decode_one(const pb_profile *p, uint64_t pm, pb_fields *f)
{
    pagemap_decode(p, pm, f);
}

uint64_t pb_limit(const pb_profile *p, int status, int kind)
{
    switch (status) {
    case PB_E_PFN:
        return (kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE || kind == PB_KIND_TABLE)
                   ? p->pfn_limit_present : p->pfn_limit_swp;
    case PB_E_OFFSET:
        return PB_BIT(PB_SWP_OFFSET_BITS);
    case PB_E_TYPE:
        return kind == PB_KIND_SWAP ? p->max_swapfiles : PB_SWP_NTYPES;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ array loops */

#define PB_CLASSIFY_GROUP 4   /* measured best for classify; 8 for decode */

void pb_classify_array(const pb_profile *p, const uint64_t *raw, size_t n, uint8_t *kind)
{
    size_t i = 0, j;

    for (; i + PB_CLASSIFY_GROUP <= n; i += PB_CLASSIFY_GROUP) {
        const uint64_t *v = raw + i;

        if (group_and(v, PB_CLASSIFY_GROUP) & PB_PAGE_PRESENT) {
            memset(kind + i, PB_KIND_PRESENT, PB_CLASSIFY_GROUP);
        } else if (!(group_or(v, PB_CLASSIFY_GROUP) & ~PB_AD)) {
            memset(kind + i, PB_KIND_NONE, PB_CLASSIFY_GROUP);
        } else {
            for (j = 0; j < PB_CLASSIFY_GROUP; j++)
                kind[i + j] = (uint8_t)classify(p, v[j]);
        }
    }
    for (; i < n; i++)
        kind[i] = (uint8_t)classify(p, raw[i]);
}

int pb_encode_array(const pb_profile *p, int kind, size_t n,
                    const uint64_t *pfn_or_type, const uint64_t *prot_or_offset,
                    const uint16_t *aux, uint64_t *out, size_t *err_index)
{
    size_t i;
    pb_fields f;
    int st;

    memset(&f, 0, sizeof(f));
    f.kind = (uint8_t)kind;
    for (i = 0; i < n; i++) {
        uint64_t a = pfn_or_type ? pfn_or_type[i] : 0;

        f.aux = aux ? aux[i] : 0;
        if (kind == PB_KIND_SWAP) {
            if (a >= PB_SWP_NTYPES) {
                *err_index = i;
                return PB_E_TYPE;
            }
            f.swp_type = (uint8_t)a;
            f.swp_offset = prot_or_offset ? prot_or_offset[i] : 0;
        } else {
            f.pfn = a;
            f.flags = prot_or_offset ? prot_or_offset[i] : 0;
        }
        st = encode(p, &f, &out[i]);
        if (st != PB_OK) {
            *err_index = i;
            return st;
        }
    }
    return PB_OK;
}

int pb_pte_op_array(const pb_profile *p, int op, const uint64_t *raw, size_t n,
                    const uint64_t *arg, uint64_t *out, size_t *err_index)
{
    size_t i;
    int st;

    for (i = 0; i < n; i++) {
        st = pte_op(p, op, raw[i], arg ? arg[i] : 0, &out[i]);
        if (st != PB_OK) {
            *err_index = i;
            return st;
        }
    }
    return PB_OK;
}

void pb_pte_to_pagemap_array(const pb_profile *p, const uint64_t *raw, size_t n,
                             const uint8_t *facts, uint64_t *out)
{
    size_t i;

    for (i = 0; i < n; i++)
        out[i] = pte_to_pagemap(p, raw[i], facts ? facts[i] : 0);
}

void pb_pagemap_decode_array(const pb_profile *p, const uint64_t *pm, size_t n,
                             uint8_t *kind, uint64_t *pfn, uint16_t *pm_flags,
                             uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux)
{
    size_t i;
    pb_fields f;

    for (i = 0; i < n; i++) {
        pagemap_decode(p, pm[i], &f);
        kind[i] = f.kind;
        pfn[i] = f.pfn;
        pm_flags[i] = (uint16_t)f.flags;
        swp_type[i] = f.swp_type;
        swp_offset[i] = f.swp_offset;
        aux[i] = f.aux;
    }
}
