/*
 * entry.h - the per-entry codec: classify, decode, encode, PTE helpers and
 * the pagemap word of one entry, as static inline functions so that the
 * array loops in codec.c and decode.c inline them.  Internal to csrc/.
 */
#ifndef PTEBITS_ENTRY_H
#define PTEBITS_ENTRY_H

#include <string.h>

#include "ptebits.h"

#define PB_AD (PB_PAGE_ACCESSED | PB_PAGE_DIRTY)

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

/* pte_none(): zero but for A/D, which a KNL erratum may set (pgtable.h) */
static inline int pte_none(uint64_t v)
{
    return !(v & ~PB_AD);
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
    if (pte_none(v))
        return PB_KIND_NONE;
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
    if (pte_none(v)) {
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
    int swap_format = !present && !pte_none(v);

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

/* Page tables come in runs (mapped stretches, holes): the array loops test
 * a few entries at once with one AND and one OR of their values. */

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

/* ------------------------------------------------------- upper levels */

/*
 * PMD, PUD, P4D and PGD entries (ptebits.h "Upper levels").  Not on the
 * PTE fast path: decode.c never calls these.
 */

/* The rules a level's entries follow: under 4-level paging the P4D is
 * folded into the PGD, so the top table holds p4d entries. */
static inline int level_rules(const pb_profile *p, int level)
{
    if (level == PB_LEVEL_PGD && !(p->config & PB_CFG_LA57))
        return PB_LEVEL_P4D;
    return level;
}

/* PHYSICAL_P?D_PAGE_MASK of a level that has huge leaves, else 0. */
static inline uint64_t leaf_pfn_mask(int lv)
{
    return lv == PB_LEVEL_PMD ? PB_PHYSICAL_PMD_PAGE_MASK
         : lv == PB_LEVEL_PUD ? PB_PHYSICAL_PUD_PAGE_MASK : 0;
}

/* Bits 12..S-1 of a huge leaf: PAT_LARGE, then bits the CPU reserves. */
static inline uint64_t leaf_low_bits(uint64_t m)
{
    return PB_PTE_PFN_MASK & ~m;
}

/* An upper-level entry no kernel writes: kind bad, its fields read as a
 * swap entry (as for bad PTEs), uffd-wp as pte_swp_uffd_wp_any would. */
static inline void upper_bad(const pb_profile *p, uint64_t v, pb_fields *f)
{
    uint64_t t = v >> PB_SWP_TYPE_SHIFT, off = swp_offset(v);
    int wp = (v & p->swp_uffd_wp) ||
             (t == p->type_marker && (off & PB_PTE_MARKER_UFFD_WP));

    f->kind = PB_KIND_BAD;
    f->swp_type = (uint8_t)t;
    f->swp_offset = off;
    f->pfn = 0;
    f->flags = 0;
    f->aux = (uint16_t)(((v & p->swp_flag_mask) << PB_AUX_SWP_SHIFT) |
                        (wp ? PB_AUX_UFFD_WP_ANY : 0));
}

static inline void decode_upper(const pb_profile *p, int level, uint64_t v, pb_fields *f)
{
    int lv = level_rules(p, level);
    uint64_t m = leaf_pfn_mask(lv);

    f->swp_type = 0;
    f->swp_offset = 0;
    if (m && (v & PB_PAGE_PSE)) {
        /* a huge leaf: pmd_present() (P|PROTNONE|PSE) even without P */
        uint64_t absent = !(v & PB_PAGE_PRESENT);
        uint64_t low = leaf_low_bits(m), reserved = low & ~PB_PAGE_PAT_LARGE;

        f->kind = (uint8_t)(PB_KIND_PRESENT + absent);
        f->pfn = ((v ^ (0 - absent)) & m) >> PB_PAGE_SHIFT;   /* pmd_pfn(), pud_pfn() */
        f->flags = v & ~m;                                    /* pmd_flags(), pud_flags() */
        if (!(v & reserved)) {
            f->aux = PB_AUX_CANONICAL;
        } else if (absent && (v & reserved) == reserved) {
            /* hugetlbfs' pte_modify(): bits 12..S-1 inverted with the PFN */
            f->flags ^= low;
            f->aux = PB_AUX_CANONICAL | PB_AUX_INVERT_4K;
        } else {
            f->aux = 0;                                       /* reserved bits set */
        }
        return;
    }
    if (v & PB_PAGE_PRESENT) {
        /* a table pointer: p?d_pfn() uses PTE_PFN_MASK when PSE is clear;
         * at P4D/PGD bit 7 is reserved (p4d_bad), so not canonical */
        f->kind = PB_KIND_TABLE;
        f->pfn = (v & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
        f->flags = v & ~PB_PTE_PFN_MASK;
        f->aux = (v & PB_PAGE_PSE) ? 0 : PB_AUX_CANONICAL;
        return;
    }
    f->pfn = 0;
    f->flags = 0;
    /* pmd_none, pud_none, p4d_none ignore A/D; 5-level pgd_none is "!v" */
    if (lv == PB_LEVEL_PGD ? v == 0 : !(v & ~PB_AD)) {
        f->kind = PB_KIND_NONE;
        f->aux = v ? 0 : PB_AUX_CANONICAL;
        return;
    }
    if (!m || (v & PB_PAGE_PROTNONE)) {
        /* P4D/PGD: p4d_bad/pgd_bad; PMD/PUD: PROTNONE without PSE is
         * neither a leaf nor a table (pmd_bad) */
        upper_bad(p, v, f);
        return;
    }
    if (v == p->special_pte) {              /* v2: hugetlbfs uses it too */
        f->kind = PB_KIND_UFFD_WP_SPECIAL;
        f->aux = PB_AUX_CANONICAL | PB_AUX_UFFD_WP_ANY;
        return;
    }
    decode_swap_format(p, v, f);
    switch (f->kind) {
    case PB_KIND_SWAP:          /* a THP is split before swap-out */
    case PB_KIND_DEVICE:        /* device-private THP came after 6.18 */
        upper_bad(p, v, f);
        break;
    case PB_KIND_MARKER:        /* guard regions refuse hugetlbfs VMAs */
        if (f->swp_offset & PB_PTE_MARKER_GUARD)
            upper_bad(p, v, f);
        break;
    case PB_KIND_MIGRATION:
    case PB_KIND_HWPOISON:
        /* written for the head page: page_to_pfn of a THP or hugetlb folio */
        if (f->pfn & (leaf_low_bits(m) >> PB_PAGE_SHIFT))
            f->aux &= (uint16_t)~PB_AUX_CANONICAL;
        break;
    default:
        break;
    }
}

static inline int encode_upper(const pb_profile *p, int level, const pb_fields *f, uint64_t *raw)
{
    int lv = level_rules(p, level);
    uint64_t m = leaf_pfn_mask(lv), r;
    /* as encode(): the predicate bits (canonical, uffd-wp-any) are ignored */
    uint16_t aux = f->aux & (PB_AUX_FIELD_MASK | PB_AUX_INVERT_4K);
    pb_fields got;
    int st;

    switch (f->kind) {
    case PB_KIND_NONE:
        if (aux)
            return PB_E_FLAG;
        *raw = 0;
        return PB_OK;

    case PB_KIND_TABLE:                       /* pmd_populate() and friends */
        if (f->pfn >= p->pfn_limit_present)
            return PB_E_PFN;
        if (f->flags & PB_PTE_PFN_MASK)
            return PB_E_PROT;
        if (aux)
            return PB_E_FLAG;
        if (!(f->flags & PB_PAGE_PRESENT))
            return PB_E_ALIAS;                /* would read as none/bad/swap */
        if (f->flags & PB_PAGE_PSE)
            return m ? PB_E_ALIAS : PB_E_LEVEL;   /* a huge leaf; reserved */
        *raw = (f->pfn << PB_PAGE_SHIFT) | f->flags;
        return PB_OK;

    case PB_KIND_PRESENT:
    case PB_KIND_PROTNONE: {                  /* pmd_mkhuge(pfn_pmd(pfn, prot)) */
        uint64_t low = leaf_low_bits(m), prot = f->flags | PB_PAGE_PSE;

        if (!m)
            return PB_E_LEVEL;
        if (f->pfn >= p->pfn_limit_present)
            return PB_E_PFN;
        if (f->pfn & (low >> PB_PAGE_SHIFT))
            return PB_E_ALIGN;
        if (f->flags & PB_PTE_PFN_MASK & ~PB_PAGE_PAT_LARGE)
            return PB_E_PROT;
        if (aux & ~PB_AUX_INVERT_4K)
            return PB_E_FLAG;
        r = (((f->pfn << PB_PAGE_SHIFT) ^ protnone_mask(prot)) & m) | prot;
        if (aux & PB_AUX_INVERT_4K) {
            if (!protnone_mask(prot))
                return PB_E_CONFLICT;         /* only a non-present leaf is inverted */
            r ^= low;
        }
        *raw = r;
        return PB_OK;
    }

    case PB_KIND_MIGRATION:
    case PB_KIND_HWPOISON:
    case PB_KIND_MARKER:
    case PB_KIND_UFFD_WP_SPECIAL:
        if (!m)
            return PB_E_LEVEL;
        if (aux & PB_AUX_INVERT_4K)
            return PB_E_FLAG;
        if (f->kind == PB_KIND_MARKER &&
            ((aux >> PB_AUX_MARKER_SHIFT) & PB_PTE_MARKER_GUARD))
            return PB_E_LEVEL;
        st = encode(p, f, &r);
        if (st != PB_OK)
            return st;
        if ((f->kind == PB_KIND_MIGRATION || f->kind == PB_KIND_HWPOISON) &&
            (f->pfn & (leaf_low_bits(m) >> PB_PAGE_SHIFT)))
            return PB_E_ALIGN;
        decode_upper(p, level, r, &got);
        if (got.kind != f->kind)
            return PB_E_ALIAS;
        *raw = r;
        return PB_OK;

    case PB_KIND_SWAP:
    case PB_KIND_DEVICE:
        return PB_E_LEVEL;

    default:
        return PB_E_KIND;
    }
}

static inline int level_valid(int level)
{
    return level >= PB_LEVEL_PTE && level < PB_LEVEL_COUNT;
}

/* decode() at PB_LEVEL_PTE, else decode_upper(); level must be valid. */
static inline void decode_level(const pb_profile *p, int level, uint64_t v, pb_fields *f)
{
    if (level == PB_LEVEL_PTE)
        decode(p, v, f);
    else
        decode_upper(p, level, v, f);
}

static inline int encode_level(const pb_profile *p, int level, const pb_fields *f, uint64_t *raw)
{
    if (!level_valid(level))
        return PB_E_LEVEL;
    if (level == PB_LEVEL_PTE)
        return f->kind == PB_KIND_TABLE ? PB_E_LEVEL : encode(p, f, raw);
    return encode_upper(p, level, f, raw);
}

#endif /* PTEBITS_ENTRY_H */
