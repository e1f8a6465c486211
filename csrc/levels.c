/*
 * levels.c - entries of every page-table level: the one-entry API and the
 * array loops for PMD, PUD, P4D and PGD entries (entry.h decode_upper,
 * encode_upper).  PB_LEVEL_PTE goes to the PTE functions of codec.c and
 * decode.c unchanged, fast paths included.
 *
 * Upper-level tables are 1/512 the size of the PTE tables below them, so
 * these loops are plain: one entry at a time, straight into the outputs.
 * No globals, no allocation.
 */
#include "entry.h"

const char *pb_level_name(int level)
{
    static const char *const names[PB_LEVEL_COUNT] = {"pte", "pmd", "pud", "p4d", "pgd"};

    if (!level_valid(level))
        return "?";
    return names[level];
}

int pb_level_leaf_shift(int level)
{
    switch (level) {
    case PB_LEVEL_PTE:
        return PB_PAGE_SHIFT;
    case PB_LEVEL_PMD:
        return PB_PMD_SHIFT;
    case PB_LEVEL_PUD:
        return PB_PUD_SHIFT;
    default:
        return 0;             /* p4d_leaf() is always 0 on x86: no 512 GiB pages */
    }
}

/* ------------------------------------------------------ one entry */

/* The kind, or -PB_E_LEVEL for an unknown level. */
int pb_classify_level_one(const pb_profile *p, int level, uint64_t raw)
{
    pb_fields f;

    if (!level_valid(level))
        return -PB_E_LEVEL;
    if (level == PB_LEVEL_PTE)
        return classify(p, raw);
    decode_upper(p, level, raw, &f);
    return f.kind;
}

int pb_decode_level_one(const pb_profile *p, int level, uint64_t raw, pb_fields *f)
{
    if (!level_valid(level)) {
        memset(f, 0, sizeof(*f));
        f->kind = PB_KIND_BAD;
        return PB_E_LEVEL;
    }
    decode_level(p, level, raw, f);
    return PB_OK;
}

int pb_encode_level_one(const pb_profile *p, int level, const pb_fields *f, uint64_t *raw)
{
    return encode_level(p, level, f, raw);
}

/* ------------------------------------------------------ array loops */

int pb_classify_level_array(const pb_profile *p, int level, const uint64_t *raw, size_t n,
                            uint8_t *kind)
{
    size_t i;
    pb_fields f;

    if (!level_valid(level))
        return PB_E_LEVEL;
    if (level == PB_LEVEL_PTE) {
        pb_classify_array(p, raw, n, kind);
        return PB_OK;
    }
    for (i = 0; i < n; i++) {
        decode_upper(p, level, raw[i], &f);
        kind[i] = f.kind;
    }
    return PB_OK;
}

int pb_decode_level_array(const pb_profile *p, int level, const uint64_t *raw, size_t n,
                          uint8_t *kind, uint64_t *pfn, uint64_t *flags,
                          uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux)
{
    size_t i;
    pb_fields f;

    if (!level_valid(level))
        return PB_E_LEVEL;
    if (level == PB_LEVEL_PTE) {
        pb_decode_array(p, raw, n, kind, pfn, flags, swp_type, swp_offset, aux);
        return PB_OK;
    }
    for (i = 0; i < n; i++) {
        decode_upper(p, level, raw[i], &f);
        kind[i] = f.kind;
        pfn[i] = f.pfn;
        flags[i] = f.flags;
        swp_type[i] = f.swp_type;
        swp_offset[i] = f.swp_offset;
        aux[i] = f.aux;
    }
    return PB_OK;
}

int pb_encode_level_array(const pb_profile *p, int level, int kind, size_t n,
                          const uint64_t *pfn_or_type, const uint64_t *prot_or_offset,
                          const uint16_t *aux, uint64_t *out, size_t *err_index)
{
    size_t i;
    pb_fields f;
    int st;

    if (!level_valid(level) || (level == PB_LEVEL_PTE && kind == PB_KIND_TABLE)) {
        *err_index = 0;
        return PB_E_LEVEL;
    }
    if (level == PB_LEVEL_PTE)
        return pb_encode_array(p, kind, n, pfn_or_type, prot_or_offset, aux, out, err_index);
    memset(&f, 0, sizeof(f));
    f.kind = (uint8_t)kind;
    for (i = 0; i < n; i++) {
        /* no swap slots above the PTE level: every kind here takes a PFN */
        f.pfn = pfn_or_type ? pfn_or_type[i] : 0;
        f.flags = prot_or_offset ? prot_or_offset[i] : 0;
        f.aux = aux ? aux[i] : 0;
        st = encode_upper(p, level, &f, &out[i]);
        if (st != PB_OK) {
            *err_index = i;
            return st;
        }
    }
    return PB_OK;
}
