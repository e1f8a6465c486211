/*
 * codec.c - classify, decode and encode x86-64 PTEs and pagemap words.
 *
 * Per-entry functions are static inline so the array loops below inline
 * them; the *_one entry points exist for scalars and for the fault model.
 * No globals, no allocation: every function is reentrant, so callers may
 * run several loops at once on disjoint output arrays.
 */
#include <string.h>

#include "ptebits.h"

/* Streaming stores need SSE2; sanitizer builds use plain memcpy so that
 * every store of the array loops is checked. */
#if defined(__SSE2__) && !defined(__SANITIZE_ADDRESS__)
#define PB_HAVE_STREAM 1
#include <emmintrin.h>
#else
#define PB_HAVE_STREAM 0
#endif

/* ---------------------------------------------------------------- names */

static const char *const kind_names[PB_KIND_COUNT] = {
    "none", "present", "protnone", "swap", "migration", "device",
    "hwpoison", "marker", "uffd_wp_special", "bad",
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

/* -------------------------------------------------- per-entry primitives */

/* pgtable-invert.h: every non-zero non-present value has its PFN inverted. */
static inline uint64_t protnone_mask(uint64_t v)
{
    return (v != 0 && !(v & PB_PAGE_PRESENT)) ? ~(uint64_t)0 : 0;
}

static inline uint64_t pte_pfn(uint64_t v)
{
    return ((v ^ protnone_mask(v)) & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
}

static inline uint64_t pfn_pte(uint64_t pfn, uint64_t prot)
{
    return (((pfn << PB_PAGE_SHIFT) ^ protnone_mask(prot)) & PB_PTE_PFN_MASK) | prot;
}

/* pgtable_64.h __swp_entry / __swp_offset: the offset is stored inverted. */
static inline uint64_t swp_offset(uint64_t v)
{
    return (~v << PB_SWP_TYPE_BITS) >> PB_SWP_OFFSET_SHIFT;
}

static inline uint64_t mk_swp(uint64_t type, uint64_t offset)
{
    return ((~offset << PB_SWP_OFFSET_SHIFT) >> PB_SWP_TYPE_BITS) |
           (type << PB_SWP_TYPE_SHIFT);
}

static inline int is_pfn_kind(int kind)
{
    return kind == PB_KIND_MIGRATION || kind == PB_KIND_DEVICE || kind == PB_KIND_HWPOISON;
}

static inline int classify(const pb_profile *p, uint64_t v)
{
    int kind;

    if (v & PB_PAGE_PRESENT)
        return PB_KIND_PRESENT;
    if (v & PB_PAGE_PROTNONE)
        return PB_KIND_PROTNONE;
    if (!(v & ~(PB_PAGE_ACCESSED | PB_PAGE_DIRTY)))
        return PB_KIND_NONE;           /* pte_none ignores A/D (KNL erratum) */
    if (v == p->special_pte)           /* v2: pte_same(), exact equality */
        return PB_KIND_UFFD_WP_SPECIAL;
    kind = p->type_kind[v >> PB_SWP_TYPE_SHIFT];
    if (kind == PB_KIND_MARKER) {
        uint64_t m = swp_offset(v);
        /* handle_pte_marker: an empty marker is a bug (SIGBUS); bits beyond
         * PTE_MARKER_MASK are not a marker any kernel wrote. */
        if (m == 0 || (m & ~(uint64_t)PB_PTE_MARKER_MASK))
            return PB_KIND_BAD;
    }
    return kind;
}

static inline uint16_t swp_flag_aux(const pb_profile *p, uint64_t v)
{
    uint16_t aux = 0;

    if (v & p->swp_soft_dirty)
        aux |= PB_AUX_SWP_SOFT_DIRTY;
    if (v & p->swp_uffd_wp)
        aux |= PB_AUX_SWP_UFFD_WP | PB_AUX_UFFD_WP_ANY;
    if (v & p->swp_exclusive)
        aux |= PB_AUX_SWP_EXCLUSIVE;
    return aux;
}

static inline uint64_t swp_flag_bits(const pb_profile *p, uint16_t aux)
{
    return ((aux & PB_AUX_SWP_SOFT_DIRTY) ? p->swp_soft_dirty : 0) |
           ((aux & PB_AUX_SWP_UFFD_WP) ? p->swp_uffd_wp : 0) |
           ((aux & PB_AUX_SWP_EXCLUSIVE) ? p->swp_exclusive : 0);
}

/* The swap-flag aux bits this profile can encode. */
static inline uint16_t swp_flags_supported(const pb_profile *p, uint16_t allowed)
{
    uint16_t ok = 0;

    if (p->swp_soft_dirty)
        ok |= PB_AUX_SWP_SOFT_DIRTY;
    if (p->swp_uffd_wp)
        ok |= PB_AUX_SWP_UFFD_WP;
    if (p->swp_exclusive)
        ok |= PB_AUX_SWP_EXCLUSIVE;
    return ok & allowed;
}

static inline int encode(const pb_profile *p, const pb_fields *f, uint64_t *raw)
{
    uint16_t aux = f->aux & PB_AUX_FIELD_MASK;
    uint16_t sub = aux & PB_AUX_SUB_MASK;
    uint64_t r, offset;
    int got;

    switch (f->kind) {
    case PB_KIND_NONE:
        if (aux)
            return PB_E_FLAG;
        *raw = 0;
        return PB_OK;

    case PB_KIND_PRESENT:
    case PB_KIND_PROTNONE:
        if (f->pfn >= p->pfn_limit_present)
            return PB_E_PFN;
        if (f->flags & PB_PTE_PFN_MASK)
            return PB_E_PROT;
        if (aux)
            return PB_E_FLAG;
        r = pfn_pte(f->pfn, f->flags);
        got = classify(p, r);
        if (got != PB_KIND_PRESENT && got != PB_KIND_PROTNONE)
            return PB_E_ALIAS;     /* a prot with neither PRESENT nor PROTNONE */
        *raw = r;
        return PB_OK;

    case PB_KIND_SWAP:
        if (f->swp_type >= p->max_swapfiles)
            return PB_E_TYPE;
        if (f->swp_offset >> PB_SWP_OFFSET_BITS)
            return PB_E_OFFSET;
        if (aux & ~swp_flags_supported(p, PB_AUX_SWP_SOFT_DIRTY | PB_AUX_SWP_UFFD_WP |
                                              PB_AUX_SWP_EXCLUSIVE))
            return PB_E_FLAG;
        r = mk_swp(f->swp_type, f->swp_offset) | swp_flag_bits(p, aux);
        break;

    case PB_KIND_MIGRATION:
    case PB_KIND_DEVICE: {
        const uint8_t *types = f->kind == PB_KIND_MIGRATION ? p->type_migration
                                                            : p->type_device;
        uint16_t allowed = PB_AUX_SUB_MASK;

        if (types[0] == PB_NO_TYPE && types[1] == PB_NO_TYPE && types[2] == PB_NO_TYPE)
            return PB_E_KIND;
        if (sub > 2 || types[sub] == PB_NO_TYPE)
            return PB_E_FLAG;
        if (f->pfn >= p->pfn_limit_swp)
            return PB_E_PFN;
        if (f->kind == PB_KIND_MIGRATION) {
            if (p->mig_young)
                allowed |= PB_AUX_MIG_YOUNG | PB_AUX_MIG_DIRTY;
        }
        /* try_to_migrate_one / migrate_vma_collect carry soft-dirty and
         * uffd-wp into the entry; the exclusive bit is for swap slots. */
        allowed |= swp_flags_supported(p, PB_AUX_SWP_SOFT_DIRTY | PB_AUX_SWP_UFFD_WP);
        if (aux & ~allowed)
            return PB_E_FLAG;
        offset = f->pfn | ((aux & PB_AUX_MIG_YOUNG) ? p->mig_young : 0) |
                 ((aux & PB_AUX_MIG_DIRTY) ? p->mig_dirty : 0);
        r = mk_swp(types[sub], offset) | swp_flag_bits(p, aux);
        break;
    }

    case PB_KIND_HWPOISON:
        if (p->type_hwpoison == PB_NO_TYPE)
            return PB_E_KIND;
        if (f->pfn >= p->pfn_limit_swp)
            return PB_E_PFN;
        if (aux)
            return PB_E_FLAG;
        r = mk_swp(p->type_hwpoison, f->pfn);
        break;

    case PB_KIND_MARKER: {
        uint16_t m = (aux >> PB_AUX_MARKER_SHIFT) & PB_PTE_MARKER_MASK;

        if (p->type_marker == PB_NO_TYPE)
            return PB_E_KIND;
        if (aux & ~(PB_PTE_MARKER_MASK << PB_AUX_MARKER_SHIFT))
            return PB_E_FLAG;
        if (!m)
            return PB_E_MARKER;
        r = mk_swp(p->type_marker, m);
        break;
    }

    case PB_KIND_UFFD_WP_SPECIAL:
        if (!p->special_pte)
            return PB_E_KIND;
        if (aux)
            return PB_E_FLAG;
        *raw = p->special_pte;
        return PB_OK;

    default:
        return PB_E_KIND;
    }
    if (classify(p, r) != f->kind)
        return PB_E_ALIAS;
    *raw = r;
    return PB_OK;
}

/*
 * decode() is the hot loop's body, so it avoids the generic encoder: the
 * canonical test uses the per-type tables built by pb_profile_init from the
 * same layout (which flag bits and offset bits the kind's encoder writes).
 * tests/ check that canonical == (encode(decode(v)) == v) on every edge case.
 */
static inline void decode_present(const pb_profile *p, uint64_t v, pb_fields *f)
{
    uint64_t absent = !(v & PB_PAGE_PRESENT);

    f->kind = (uint8_t)(PB_KIND_PRESENT + absent);   /* PROTNONE follows PRESENT */
    f->pfn = ((v ^ (0 - absent)) & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
    f->flags = v & ~PB_PTE_PFN_MASK;
    f->swp_type = 0;
    f->swp_offset = 0;
    /* pfn_pte(pte_pfn(v), pte_flags(v)) == v: always canonical.  The
     * predicates (pte_write, pte_dirty, pte_young, uffd-wp) are views of
     * flags, so nothing else is stored for present entries. */
    f->aux = PB_AUX_CANONICAL;
    (void)p;
}

/* 1 if x is zero, else 0, without a compare (vectorizes on SSE2). */
static inline uint64_t is_zero(uint64_t x)
{
    return ((x | (0 - x)) >> 63) ^ 1;
}

/* The aux word of a swap-format entry of a non-marker type t: swap flag
 * bits, uffd-wp, sub-kind, migration A/D and canonical, without branches or
 * compares, so that runs of swap entries vectorize. */
static inline uint16_t swap_aux(const pb_profile *p, uint64_t x, uint64_t off, uint64_t t)
{
    uint64_t bad = (x & 0x1ff & ~p->type_low_ok[t]) | (off & ~p->type_offset_ok[t]);

    return (uint16_t)(p->type_sub[t] |
                      ((x & p->swp_flag_mask) << PB_AUX_SWP_SHIFT) |
                      ((x & p->swp_uffd_wp) << (PB_AUX_BIT_UFFD_WP_ANY - PB_PAGE_BIT_SWP_UFFD_WP)) |
                      ((off & p->type_mig_ad[t]) >> p->mig_aux_shift) |
                      (is_zero(bad) << PB_AUX_BIT_CANONICAL));
}

/* A non-none, non-present entry other than the v2 special PTE.  Free of
 * branches (page tables mix swap flags at random), table-driven per type. */
static inline void decode_swap_format(const pb_profile *p, uint64_t v, pb_fields *f)
{
    uint64_t t = v >> PB_SWP_TYPE_SHIFT;
    uint64_t off = swp_offset(v);     /* flag bits are not part of it */
    int kind = p->type_kind[t];

    f->swp_type = (uint8_t)t;
    f->swp_offset = off;
    f->pfn = off & p->type_pfn_mask[t];       /* swp_offset_pfn() */
    f->flags = 0;
    if (kind == PB_KIND_MARKER) {
        if (off == 0 || off > PB_PTE_MARKER_MASK) {
            /* bad, with fields as a swap entry; pte_swp_uffd_wp_any() still
             * sees the uffd-wp bit through pte_marker_get()'s mask */
            f->kind = PB_KIND_BAD;
            f->aux = (uint16_t)((swap_aux(p, v, off, t) & ~PB_AUX_CANONICAL) |
                                (off & PB_PTE_MARKER_UFFD_WP) * PB_AUX_UFFD_WP_ANY);
            return;
        } else {
            /* canonical: made without swap flag bits (make_pte_marker) */
            f->kind = PB_KIND_MARKER;
            f->aux = (uint16_t)((off << PB_AUX_MARKER_SHIFT) |
                                ((off & PB_PTE_MARKER_UFFD_WP) || (v & p->swp_uffd_wp))
                                * PB_AUX_UFFD_WP_ANY |
                                !(v & 0x1ff) * PB_AUX_CANONICAL);
            return;
        }
    }
    f->kind = (uint8_t)kind;
    f->aux = swap_aux(p, v, off, t);
    if (kind == PB_KIND_BAD)                  /* nothing re-encodes to it */
        f->aux &= (uint16_t)~PB_AUX_CANONICAL;
}

static inline void decode(const pb_profile *p, uint64_t v, pb_fields *f)
{
    if (v & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE)) {
        decode_present(p, v, f);
        return;
    }
    f->pfn = 0;
    f->flags = 0;
    if (!(v & ~(PB_PAGE_ACCESSED | PB_PAGE_DIRTY))) {
        f->kind = PB_KIND_NONE;
        f->swp_type = 0;
        f->swp_offset = 0;
        f->aux = v ? 0 : PB_AUX_CANONICAL;
        return;
    }
    if (v == p->special_pte) {
        f->kind = PB_KIND_UFFD_WP_SPECIAL;
        f->swp_type = 0;
        f->swp_offset = 0;
        f->aux = PB_AUX_CANONICAL | PB_AUX_UFFD_WP_ANY;
        return;
    }

    decode_swap_format(p, v, f);
}

/* ------------------------------------------------------ PTE helpers */

/* 6.18 pgtable.h: never leave Write=0, Dirty=1 (a shadow-stack PTE). */
static inline uint64_t mksaveddirty(const pb_profile *p, uint64_t v)
{
    if (p->saved_dirty && !(v & PB_PAGE_RW) && (v & PB_PAGE_DIRTY))
        v = (v & ~PB_PAGE_DIRTY) | p->saved_dirty;
    return v;
}

static inline uint64_t clear_saveddirty(const pb_profile *p, uint64_t v)
{
    if (p->saved_dirty && (v & PB_PAGE_RW) && (v & p->saved_dirty))
        v = (v & ~p->saved_dirty) | PB_PAGE_DIRTY;
    return v;
}

static inline int pte_op(const pb_profile *p, int op, uint64_t v, uint64_t arg, uint64_t *out)
{
    int present = (v & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE)) != 0;
    int swap_format = !present && (v & ~(PB_PAGE_ACCESSED | PB_PAGE_DIRTY)) != 0;

    if (op < 0 || op >= PB_OP_COUNT)
        return PB_E_OP;
    if (op >= PB_OP_SWP_MKUFFD_WP && op <= PB_OP_SWP_CLEAR_EXCLUSIVE) {
        uint64_t bit = (op <= PB_OP_SWP_CLEAR_UFFD_WP) ? p->swp_uffd_wp
                     : (op <= PB_OP_SWP_CLEAR_SOFT_DIRTY) ? p->swp_soft_dirty
                     : p->swp_exclusive;
        if (!swap_format)
            return PB_E_NOT_SWAP;
        if (!bit)
            return PB_E_FLAG;
        /* even ops set, odd ops clear (MK*, CLEAR_* pairs) */
        *out = ((op - PB_OP_SWP_MKUFFD_WP) % 2 == 0) ? (v | bit) : (v & ~bit);
        return PB_OK;
    }
    if (!present)
        return PB_E_NOT_PRESENT;

    switch (op) {
    case PB_OP_WRPROTECT:
        v = mksaveddirty(p, v & ~PB_PAGE_RW);
        break;
    case PB_OP_MKWRITE:       /* arch/x86/mm/pgtable.c pte_mkwrite() */
        v = clear_saveddirty(p, v | PB_PAGE_RW);
        break;
    case PB_OP_MKUFFD_WP:
        if (!p->uffd_wp)
            return PB_E_FLAG;
        v |= p->uffd_wp;
        /* 6.18 write-protects too; 5.12 callers did it separately */
        if (p->kernel == PB_KERNEL_6_18)
            v = mksaveddirty(p, v & ~PB_PAGE_RW);
        break;
    case PB_OP_CLEAR_UFFD_WP:
        if (!p->uffd_wp)
            return PB_E_FLAG;
        v &= ~p->uffd_wp;
        break;
    case PB_OP_MKDIRTY:
        v = mksaveddirty(p, v | PB_PAGE_DIRTY | p->soft_dirty);
        break;
    case PB_OP_MKCLEAN:
        v &= ~p->dirty_bits;
        break;
    case PB_OP_MKYOUNG:
        v |= PB_PAGE_ACCESSED;
        break;
    case PB_OP_MKOLD:
        v &= ~PB_PAGE_ACCESSED;
        break;
    case PB_OP_MKSOFT_DIRTY:
    case PB_OP_CLEAR_SOFT_DIRTY:
        if (!p->soft_dirty)
            return PB_E_FLAG;
        v = (op == PB_OP_MKSOFT_DIRTY) ? (v | p->soft_dirty) : (v & ~p->soft_dirty);
        break;
    case PB_OP_MODIFY: {
        uint64_t old = v;

        if (arg & PB_PTE_PFN_MASK)
            return PB_E_PROT;
        v = (v & p->chg_mask) | (arg & ~p->chg_mask);
        /* flip_protnone_guard: the PFN field follows the inversion state */
        if ((protnone_mask(old) != 0) != (protnone_mask(v) != 0))
            v ^= PB_PTE_PFN_MASK;
        v = (old & PB_PAGE_RW) ? mksaveddirty(p, v) : clear_saveddirty(p, v);
        break;
    }
    default:
        return PB_E_OP;
    }
    *out = v;
    return PB_OK;
}

/* --------------------------------------------------------------- pagemap */

static inline uint64_t pte_to_pagemap(const pb_profile *p, uint64_t v, uint32_t facts)
{
    uint64_t frame = 0, flags = 0;
    int kind = classify(p, v);
    int page = 0;

    if (kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE) {
        if (facts & PB_PMIN_SHOW_PFN)
            frame = pte_pfn(v);
        flags |= PB_BIT(PB_PM_BIT_PRESENT);
        page = !(v & PB_PAGE_SPECIAL);          /* vm_normal_page() */
        if (v & p->soft_dirty)
            flags |= PB_BIT(PB_PM_BIT_SOFT_DIRTY);
        if (v & p->uffd_wp)
            flags |= p->pm_uffd_wp;
    } else if (kind != PB_KIND_NONE && kind != PB_KIND_UFFD_WP_SPECIAL) {
        /* is_swap_pte (v2: pte_has_swap_entry, which skips the special) */
        uint64_t type = v >> PB_SWP_TYPE_SHIFT, offset = swp_offset(v);

        if (v & p->swp_soft_dirty)
            flags |= PB_BIT(PB_PM_BIT_SOFT_DIRTY);
        if (v & p->swp_uffd_wp)
            flags |= p->pm_uffd_wp;
        if (is_pfn_kind(kind) && p->kernel == PB_KERNEL_6_18)
            offset &= p->swp_pfn_mask;          /* swp_offset_pfn() */
        if (facts & PB_PMIN_SHOW_PFN)
            frame = type | (offset << PB_SWP_TYPE_BITS);
        flags |= PB_BIT(PB_PM_BIT_SWAP);
        /* 5.12 finds a page for migration and device-private entries only */
        page = p->kernel == PB_KERNEL_6_18 ? is_pfn_kind(kind)
               : (kind == PB_KIND_MIGRATION || kind == PB_KIND_DEVICE);
        /* pte_marker_get() masks the offset with PTE_MARKER_MASK, so a
         * marker with unknown bits still reports its known ones */
        if (type == p->type_marker) {
            if (offset & PB_PTE_MARKER_UFFD_WP)
                flags |= p->pm_uffd_wp;
            if (offset & PB_PTE_MARKER_GUARD)
                flags |= p->pm_guard;
        }
    }
    if (page) {
        if (facts & PB_PMIN_FILE)
            flags |= PB_BIT(PB_PM_BIT_FILE);
        /* 6.18 reports exclusivity for present pages only */
        if ((facts & PB_PMIN_EXCLUSIVE) &&
            (p->kernel != PB_KERNEL_6_18 || (flags & PB_BIT(PB_PM_BIT_PRESENT))))
            flags |= PB_BIT(PB_PM_BIT_MMAP_EXCLUSIVE);
    }
    if ((facts & PB_PMIN_VMA_SOFTDIRTY) && p->soft_dirty)   /* VM_SOFTDIRTY is 0 without it */
        flags |= PB_BIT(PB_PM_BIT_SOFT_DIRTY);
    return (frame & PB_PM_FRAME_MASK) | flags;
}

static inline void pagemap_decode(const pb_profile *p, uint64_t pm, pb_fields *f)
{
    uint64_t frame = pm & PB_PM_FRAME_MASK;

    f->kind = PB_KIND_NONE;
    f->swp_type = 0;
    f->aux = 0;
    f->pfn = 0;
    f->flags = pm >> PB_PM_FLAGS_SHIFT;
    f->swp_offset = 0;
    if (p->pm_uffd_wp && (pm & p->pm_uffd_wp))
        f->aux |= PB_AUX_UFFD_WP_ANY;
    if (pm & PB_BIT(PB_PM_BIT_PRESENT)) {
        f->kind = PB_KIND_PRESENT;
        f->pfn = frame;
    } else if (pm & PB_BIT(PB_PM_BIT_SWAP)) {
        uint64_t type = frame & (PB_SWP_NTYPES - 1);
        uint64_t offset = frame >> PB_SWP_TYPE_BITS;
        int kind = p->type_kind[type];

        if (kind == PB_KIND_MARKER) {
            if (offset == 0 || (offset & ~(uint64_t)PB_PTE_MARKER_MASK))
                kind = PB_KIND_BAD;
            else
                f->aux |= (uint16_t)(offset << PB_AUX_MARKER_SHIFT);
        }
        f->kind = (uint8_t)kind;
        f->swp_type = (uint8_t)type;
        f->swp_offset = offset;
        if (is_pfn_kind(kind)) {
            f->pfn = offset & p->swp_pfn_mask;
            f->aux |= p->type_sub[type];
        }
    }
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
        return (kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE)
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

/* Page tables come in runs (mapped stretches, holes): a group of 8 entries
 * that are all present or all none is settled with two tests. */
#define PB_GROUP 8
#define PB_AD (PB_PAGE_ACCESSED | PB_PAGE_DIRTY)

static inline uint64_t group_and(const uint64_t *v, size_t n)
{
    uint64_t a = v[0];
    size_t j;

    for (j = 1; j < n; j++)
        a &= v[j];
    return a;
}

static inline uint64_t group_or(const uint64_t *v, size_t n)
{
    uint64_t a = v[0];
    size_t j;

    for (j = 1; j < n; j++)
        a |= v[j];
    return a;
}

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

/*
 * Decode in blocks: entries are decoded into small column buffers on the
 * stack, then each column is copied out in one run.  Storing straight into
 * six output arrays that share their page offset with the input stalls
 * loads on 4 KiB aliasing; the block buffers keep the hot loop clear of it.
 * Large outputs are written with non-temporal stores where the compiler
 * offers them (SSE2): the 28 bytes per entry would not stay in cache
 * anyway, and skipping the read-for-ownership halves the write traffic.
 */
#define PB_BLOCK 512
#define PB_STREAM_MIN ((size_t)1 << 18)   /* entries; ~7 MiB of columns */

static void copy_out(void *dst, const void *src, size_t bytes, int stream)
{
#if PB_HAVE_STREAM
    if (stream && ((uintptr_t)dst & 15) == 0 && (bytes & 63) == 0) {
        __m128i *d = (__m128i *)dst;
        const __m128i *s = (const __m128i *)src;
        size_t i;

        for (i = 0; i < bytes / 16; i += 4) {   /* one cache line a turn */
            __m128i a = _mm_loadu_si128(s + i), b = _mm_loadu_si128(s + i + 1);
            __m128i c = _mm_loadu_si128(s + i + 2), e = _mm_loadu_si128(s + i + 3);

            _mm_stream_si128(d + i, a);
            _mm_stream_si128(d + i + 1, b);
            _mm_stream_si128(d + i + 2, c);
            _mm_stream_si128(d + i + 3, e);
        }
        return;
    }
#else
    (void)stream;
#endif
    memcpy(dst, src, bytes);
}

static void stream_fence(int stream)
{
#if PB_HAVE_STREAM
    if (stream)
        _mm_sfence();      /* order the streamed stores before returning */
#else
    (void)stream;
#endif
}

/* Every entry of the group is pte_present() (PRESENT or PROTNONE). */
static inline int groups_pte_present(const uint64_t *v, size_t g)
{
    uint64_t absent = 0;
    size_t j;

    for (j = 0; j < g; j++)
        absent |= is_zero(v[j] & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE));
    return !absent;
}

/* Every entry of the group is present or pte_none (no swap, no PROT_NONE). */
static inline int groups_present_or_none(const uint64_t *v, size_t g)
{
    uint64_t bad = 0;
    size_t j;

    /* bad: PRESENT clear and something besides A/D set (compare-free) */
    for (j = 0; j < g; j++)
        bad |= ~v[j] & (1 ^ is_zero(v[j] & ~PB_AD));
    return !(bad & PB_PAGE_PRESENT);
}

/* Column buffers of one block (kept apart from the caller's arrays). */
typedef struct pb_block {
    uint8_t kind[PB_BLOCK], swp_type[PB_BLOCK];
    uint16_t aux[PB_BLOCK];
    uint64_t pfn[PB_BLOCK], flags[PB_BLOCK], swp_offset[PB_BLOCK];
} pb_block;

static inline void put(pb_block *b, size_t i, const pb_fields *f)
{
    b->kind[i] = f->kind;
    b->swp_type[i] = f->swp_type;
    b->aux[i] = f->aux;
    b->pfn[i] = f->pfn;
    b->flags[i] = f->flags;
    b->swp_offset[i] = f->swp_offset;
}

/*
 * Fast paths for a group of g entries that share a shape: all present
 * (mapped stretches), all the same value (holes, marker runs), or all swap
 * entries of one non-marker type (swapped-out stretches).  They compute
 * exactly what decode() computes, with the per-type lookups hoisted.
 * Returns 0 when the group has no common shape.
 */
static inline int decode_group(const pb_profile *p, const uint64_t *v, pb_block *b, size_t i,
                               size_t g)
{
    uint64_t all = group_and(v, g), any = group_or(v, g), t;
    size_t j;
    pb_fields f;

    if (all & PB_PAGE_PRESENT) {
        /* column by column, so that the compiler vectorizes each loop */
        memset(b->kind + i, PB_KIND_PRESENT, g);
        memset(b->swp_type + i, 0, g);
        memset(b->swp_offset + i, 0, g * sizeof(uint64_t));
        for (j = 0; j < g; j++)
            b->aux[i + j] = PB_AUX_CANONICAL;
        for (j = 0; j < g; j++)
            b->pfn[i + j] = (v[j] & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
        for (j = 0; j < g; j++)
            b->flags[i + j] = v[j] & ~PB_PTE_PFN_MASK;
        return 1;
    }
    if (all == any) {
        decode(p, v[0], &f);
        memset(b->kind + i, f.kind, g);
        memset(b->swp_type + i, f.swp_type, g);
        for (j = 0; j < g; j++) {
            b->aux[i + j] = f.aux;
            b->pfn[i + j] = f.pfn;
            b->flags[i + j] = f.flags;
            b->swp_offset[i + j] = f.swp_offset;
        }
        return 1;
    }
    if (groups_pte_present(v, g)) {
        /* present and PROT_NONE (NUMA hinting runs): decode_present() */
        memset(b->swp_type + i, 0, g);
        memset(b->swp_offset + i, 0, g * sizeof(uint64_t));
        for (j = 0; j < g; j++)
            b->aux[i + j] = PB_AUX_CANONICAL;
        for (j = 0; j < g; j++)
            b->kind[i + j] = (uint8_t)(PB_KIND_PRESENT + (~v[j] & PB_PAGE_PRESENT));
        for (j = 0; j < g; j++)
            b->pfn[i + j] = ((v[j] ^ (0 - (~v[j] & PB_PAGE_PRESENT))) & PB_PTE_PFN_MASK)
                            >> PB_PAGE_SHIFT;
        for (j = 0; j < g; j++)
            b->flags[i + j] = v[j] & ~PB_PTE_PFN_MASK;
        return 1;
    }
    if (groups_present_or_none(v, g)) {
        /* a run boundary between mapped pages and a hole, without branches:
         * none entries have no PFN bits, so the PFN needs no mask */
        memset(b->swp_type + i, 0, g);
        memset(b->swp_offset + i, 0, g * sizeof(uint64_t));
        for (j = 0; j < g; j++)
            b->kind[i + j] = (uint8_t)(v[j] & PB_PAGE_PRESENT);  /* PB_KIND_PRESENT is 1 */
        for (j = 0; j < g; j++)
            b->aux[i + j] = (uint16_t)(((v[j] & PB_PAGE_PRESENT) | is_zero(v[j]))
                                       << PB_AUX_BIT_CANONICAL);
        for (j = 0; j < g; j++)
            b->pfn[i + j] = (v[j] & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
        for (j = 0; j < g; j++)
            b->flags[i + j] = v[j] & ~PB_PTE_PFN_MASK & (0 - (v[j] & PB_PAGE_PRESENT));
        return 1;
    }
    t = all >> PB_SWP_TYPE_SHIFT;
    if ((any >> PB_SWP_TYPE_SHIFT) == t && !(any & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE)) &&
        p->type_kind[t] != PB_KIND_MARKER && p->type_kind[t] != PB_KIND_BAD) {
        /* one swap-format type; none entries (type 0 only) and the v2
         * special (type 0 too) take the general path */
        uint64_t pfn_mask = p->type_pfn_mask[t];
        uint8_t k = p->type_kind[t];

        if (t == 0)
            for (j = 0; j < g; j++)
                if (!(v[j] & ~PB_AD) || v[j] == p->special_pte)
                    return 0;
        for (j = 0; j < g; j++) {
            uint64_t off = swp_offset(v[j]);

            b->kind[i + j] = k;
            b->swp_type[i + j] = (uint8_t)t;
            b->swp_offset[i + j] = off;
            b->pfn[i + j] = off & pfn_mask;
            b->flags[i + j] = 0;
            b->aux[i + j] = swap_aux(p, v[j], off, t);
        }
        return 1;
    }
    return 0;
}

void pb_decode_array(const pb_profile *p, const uint64_t *raw, size_t n,
                     uint8_t *kind, uint64_t *pfn, uint64_t *flags,
                     uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux)
{
    pb_block b;
    int stream = n >= PB_STREAM_MIN;
    size_t start, i, m;
    pb_fields f;

    for (start = 0; start < n; start += m) {
        const uint64_t *v = raw + start;

        m = n - start < PB_BLOCK ? n - start : PB_BLOCK;
        for (i = 0; i < m; i += PB_GROUP) {
            size_t j, g = m - i < PB_GROUP ? m - i : PB_GROUP;

            if (g == PB_GROUP && decode_group(p, v + i, &b, i, PB_GROUP))
                continue;
            for (j = 0; j < g; j++) {
                decode(p, v[i + j], &f);
                put(&b, i + j, &f);
            }
        }
        copy_out(kind + start, b.kind, m, stream);
        copy_out(swp_type + start, b.swp_type, m, stream);
        copy_out(aux + start, b.aux, m * sizeof(*aux), stream);
        copy_out(pfn + start, b.pfn, m * sizeof(*pfn), stream);
        copy_out(flags + start, b.flags, m * sizeof(*flags), stream);
        copy_out(swp_offset + start, b.swp_offset, m * sizeof(*swp_offset), stream);
    }
    stream_fence(stream);
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
