/*
 * fuzz_codec.c - libFuzzer target for the codec in csrc/: every public entry
 * point of ptebits.h, with the invariants the rest of ptebits relies on.
 *
 * Input: see fuzz_common.h (profile byte, knob byte, uint64 entries).  The
 * mode bits of byte 0 choose the kind (bits 1-4) and level (bits 5-7, 5-7
 * meaning an invalid level) of the array encoder and the PTE helper of the
 * array checks.  Mode 127 with a 3-byte tail after the entries also decodes
 * the entries tiled into an array large enough for the streamed-store path
 * of decode.c (rarely: it takes milliseconds).
 *
 * Invariants (a broken one prints what and where, then traps):
 *  - decode and classify agree on the kind, at every level, one entry and
 *    arrays alike; the array loops (fast paths, blocks, tails) give exactly
 *    the one-entry fields;
 *  - an entry decoded as canonical re-encodes to itself, and one decoded as
 *    not canonical never does (entry.h: canonical == (encode(decode(v)) == v));
 *  - an encoder returns an error status, or a value that decodes back to the
 *    fields it was given (and is canonical);
 *  - PTE helpers refuse the wrong format, touch only the bits they name, keep
 *    the PFN and are idempotent; 6.18's never make a Write=0 Dirty=1 PTE;
 *  - the pagemap word of a PTE has PRESENT/SWAP as the PTE's kind says, no
 *    frame without CAP_SYS_ADMIN, and decodes back to the PTE's kind, type
 *    and PFN; any pagemap word decodes to a valid kind;
 *  - names and limits are defined for every integer.
 */
#include "fuzz_common.h"

#define FIELD_BITS (PB_AUX_FIELD_MASK | PB_AUX_INVERT_4K)
#define AD (PB_PAGE_ACCESSED | PB_PAGE_DIRTY)
#define SWEEP_ENTRIES 16   /* entries that get the every-kind encoder sweep */
#define TILED_ENTRIES (((size_t)1 << 18) + 37)   /* past decode.c's PB_STREAM_MIN */

static pb_profile prof;

/* ------------------------------------------------------- test oracles */

/* pte_pfn(): the PFN, with the L1TF inversion of non-present entries undone. */
static uint64_t oracle_pte_pfn(uint64_t v)
{
    uint64_t inv = (v != 0 && !(v & PB_PAGE_PRESENT)) ? ~(uint64_t)0 : 0;

    return ((v ^ inv) & PB_PTE_PFN_MASK) >> PB_PAGE_SHIFT;
}

static uint64_t oracle_swp_offset(uint64_t v)
{
    return (~v << PB_SWP_TYPE_BITS) >> PB_SWP_OFFSET_SHIFT;
}

static int is_present_kind(int k)
{
    return k == PB_KIND_PRESENT || k == PB_KIND_PROTNONE;
}

static int is_pfn_kind(int k)
{
    return k == PB_KIND_MIGRATION || k == PB_KIND_DEVICE || k == PB_KIND_HWPOISON;
}

static int fields_equal(const pb_fields *a, const pb_fields *b)
{
    return a->kind == b->kind && a->swp_type == b->swp_type && a->aux == b->aux &&
           a->pfn == b->pfn && a->flags == b->flags && a->swp_offset == b->swp_offset;
}

/* ------------------------------------------------------------ profile */

static void check_profile(const pb_profile *p)
{
    unsigned t, sub;

    fuzz_what = "checking the profile layout";
    CHECK(p->max_swapfiles <= PB_SWP_NTYPES && p->max_swapfiles >= PB_SWP_NTYPES - 8);
    for (t = 0; t < PB_SWP_NTYPES; t++) {
        CHECK(p->type_kind[t] < PB_KIND_COUNT);
        CHECK((p->type_kind[t] == PB_KIND_SWAP) == (t < p->max_swapfiles));
    }
    for (sub = 0; sub < 3; sub++) {
        uint8_t m = p->type_migration[sub], d = p->type_device[sub];

        CHECK(m == PB_NO_TYPE || (m < PB_SWP_NTYPES && p->type_kind[m] == PB_KIND_MIGRATION &&
                                  p->type_sub[m] == sub));
        CHECK(d == PB_NO_TYPE || (d < PB_SWP_NTYPES && p->type_kind[d] == PB_KIND_DEVICE &&
                                  p->type_sub[d] == sub));
    }
    CHECK(p->type_marker == PB_NO_TYPE || p->type_kind[p->type_marker] == PB_KIND_MARKER);
    CHECK(p->type_hwpoison == PB_NO_TYPE || p->type_kind[p->type_hwpoison] == PB_KIND_HWPOISON);
    CHECK(p->pfn_limit_present == PB_BIT(PB_PFN_BITS));
    CHECK(p->pfn_limit_swp <= PB_BIT(PB_SWP_OFFSET_BITS));
}

/* pb_profile_init refuses unknown kernels and config bits, nothing else. */
static void check_profile_init(uint64_t v)
{
    pb_profile q;
    int kernel = (int)(int32_t)v;
    uint32_t cfg = (uint32_t)(v >> 32);
    int want_ok = (kernel == PB_KERNEL_5_12_UFFD_WP_V2 || kernel == PB_KERNEL_6_18) &&
                  !(cfg & ~(uint32_t)PB_CFG_ALL);
    int st = pb_profile_init(&q, kernel, cfg);

    fuzz_what = "initialising a profile from fuzzed kernel/config";
    CHECK(st == (want_ok ? PB_OK : PB_E_PROFILE));
    if (st == PB_OK)
        check_profile(&q);
}

/* -------------------------------------------------------------- names */

static void check_names(int x)
{
    fuzz_what = "naming fuzzed numbers";
    CHECK(pb_kind_name(x) != NULL && pb_sub_name(x, x) != NULL);
    CHECK(pb_sub_name(PB_KIND_MIGRATION, x) != NULL && pb_sub_name(PB_KIND_DEVICE, x) != NULL);
    CHECK(pb_strerror(x) != NULL && pb_op_name(x) != NULL && pb_level_name(x) != NULL);
    CHECK(strlen(pb_kind_name(x)) + strlen(pb_strerror(x)) + strlen(pb_op_name(x)) +
          strlen(pb_level_name(x)) + strlen(pb_sub_name(x, x)) > 0);
    {
        int shift = pb_level_leaf_shift(x);

        CHECK(shift == 0 || shift == PB_PAGE_SHIFT || shift == PB_PMD_SHIFT ||
              shift == PB_PUD_SHIFT);
    }
    (void)pb_limit(&prof, x, x);
    (void)pb_limit(&prof, x & 31, x >> 8);
}

/* ---------------------------------------------------- encode, one entry */

/* Encodes f at level; a success must decode back to f. */
static void check_encode(const pb_profile *p, int level, const pb_fields *f)
{
    uint64_t r = 0, r2 = 0, r1 = 0;
    pb_fields g;
    int st, st1, kind = f->kind;
    uint16_t want_aux = f->aux & PB_AUX_FIELD_MASK;

    fuzz_level = level;
    fuzz_what = "encoding fuzzed fields";
    st = pb_encode_level_one(p, level, f, &r);
    CHECK(st >= PB_OK && st < PB_E_COUNT);
    if (level < PB_LEVEL_PTE || level >= PB_LEVEL_COUNT) {
        CHECK(st == PB_E_LEVEL);
        return;
    }
    if (level == PB_LEVEL_PTE && kind != PB_KIND_TABLE) {
        st1 = pb_encode_one(p, f, &r1);      /* the PTE encoder, called directly */
        CHECK(st1 == st && (st != PB_OK || r1 == r));
    }
    if (st != PB_OK)
        return;
    fuzz_raw = r;
    fuzz_what = "decoding what the encoder made";
    CHECK(pb_decode_level_one(p, level, r, &g) == PB_OK);
    CHECK(g.aux & PB_AUX_CANONICAL);
    CHECK(pb_encode_level_one(p, level, &g, &r2) == PB_OK && r2 == r);
    switch (kind) {
    case PB_KIND_NONE:
        CHECK(r == 0 && g.kind == PB_KIND_NONE);
        break;
    case PB_KIND_PRESENT:
    case PB_KIND_PROTNONE:
        /* the kind follows PRESENT in prot; both encoders take either */
        CHECK(g.kind == ((f->flags & PB_PAGE_PRESENT) ? PB_KIND_PRESENT : PB_KIND_PROTNONE));
        CHECK(g.pfn == f->pfn);
        if (level == PB_LEVEL_PTE) {
            CHECK(g.flags == f->flags);
        } else {
            CHECK(g.flags == (f->flags | PB_PAGE_PSE));    /* pmd_mkhuge */
            CHECK((g.aux & PB_AUX_INVERT_4K) == (f->aux & PB_AUX_INVERT_4K));
        }
        break;
    case PB_KIND_TABLE:
        CHECK(level != PB_LEVEL_PTE);
        CHECK(g.kind == PB_KIND_TABLE && g.pfn == f->pfn && g.flags == f->flags);
        break;
    case PB_KIND_SWAP:
        CHECK(g.kind == kind && g.swp_type == f->swp_type && g.swp_offset == f->swp_offset);
        CHECK((g.aux & PB_AUX_FIELD_MASK) == want_aux);
        break;
    case PB_KIND_MIGRATION:
    case PB_KIND_DEVICE:
    case PB_KIND_HWPOISON:
    case PB_KIND_MARKER:
        CHECK(g.kind == kind && (g.aux & PB_AUX_FIELD_MASK) == want_aux);
        if (kind != PB_KIND_MARKER)
            CHECK(g.pfn == f->pfn);
        break;
    case PB_KIND_UFFD_WP_SPECIAL:
        CHECK(g.kind == kind && p->special_pte && r == p->special_pte);
        break;
    default:
        CHECK(!"an unknown kind was encoded");
    }
}

/* Fields in range for the kind and level: most encodes get past the range
 * checks and reach the alias and flag rules. */
static void fields_in_range(int kind, int level, uint64_t v, uint64_t w, pb_fields *f)
{
    int shift = pb_level_leaf_shift(level);

    memset(f, 0, sizeof(*f));
    f->kind = (uint8_t)kind;
    f->pfn = (v >> 12) & (PB_BIT(PB_PFN_BITS) - 1);
    if ((w >> 63) && shift > PB_PAGE_SHIFT)           /* aligned for a huge leaf */
        f->pfn &= ~(PB_BIT(shift - PB_PAGE_SHIFT) - 1);
    f->flags = w & ~PB_PTE_PFN_MASK;
    if (w & PB_BIT(40))
        f->flags |= PB_PAGE_PAT_LARGE;
    f->swp_type = (uint8_t)(v & (PB_SWP_NTYPES - 1));
    f->swp_offset = v >> PB_SWP_OFFSET_SHIFT;
    f->aux = (uint16_t)((w >> 12) & FIELD_BITS);
    if (w & PB_BIT(41))
        f->aux &= (uint16_t)~(PB_AUX_MIG_YOUNG | PB_AUX_MIG_DIRTY | PB_AUX_INVERT_4K);
}

/* The decoded fields of v with one field nudged by w: near-valid encodes. */
static void fields_nudged(int level, uint64_t v, uint64_t w, pb_fields *f)
{
    uint64_t bit = PB_BIT(w & 63);

    CHECK(pb_decode_level_one(&prof, level, v, f) == PB_OK);
    switch ((w >> 6) & 7) {
    case 0: f->pfn ^= bit; break;
    case 1: f->flags ^= bit; break;
    case 2: f->swp_offset ^= bit; break;
    case 3: f->swp_type ^= (uint8_t)bit; break;
    case 4: f->aux ^= (uint16_t)(1u << (w & 15)); break;
    case 5: f->kind = (uint8_t)((w >> 9) % (PB_KIND_COUNT + 1)); break;
    default: break;                               /* unchanged: the canonical round trip */
    }
}

/* ------------------------------------------------- decode, one entry */

static void check_entry(const pb_profile *p, uint64_t v, uint64_t w)
{
    static const int bad_levels[] = {-1, PB_LEVEL_COUNT, -2147483647 - 1, 2147483647};
    pb_fields f, f1, fe;
    uint64_t r;
    int level, k, st, i;

    fuzz_raw = v;
    for (level = 0; level < PB_LEVEL_COUNT; level++) {
        fuzz_level = level;
        fuzz_what = "decoding one entry";
        memset(&f, 0x5a, sizeof(f));
        CHECK(pb_decode_level_one(p, level, v, &f) == PB_OK);
        k = pb_classify_level_one(p, level, v);
        CHECK(k == f.kind && k >= 0 && k < PB_KIND_COUNT);
        CHECK((k == PB_KIND_TABLE) <= (level != PB_LEVEL_PTE));
        CHECK(f.swp_type < PB_SWP_NTYPES);
        CHECK(!(f.aux & ~(PB_AUX_FIELD_MASK | PB_AUX_CANONICAL | PB_AUX_UFFD_WP_ANY |
                          PB_AUX_INVERT_4K)));
        if (is_present_kind(k) || k == PB_KIND_TABLE)
            CHECK(f.pfn < PB_BIT(PB_PFN_BITS) && f.swp_type == 0 && f.swp_offset == 0);
        else
            CHECK(f.flags == 0);
        if (k == PB_KIND_NONE)
            CHECK(!(v & ~AD) || level != PB_LEVEL_PTE);
        fuzz_what = "re-encoding the decoded fields (canonical <=> round trip)";
        r = ~v;
        st = pb_encode_level_one(p, level, &f, &r);
        if (f.aux & PB_AUX_CANONICAL)
            CHECK(st == PB_OK && r == v);
        else
            CHECK(st != PB_OK || r != v);
        if (level == PB_LEVEL_PTE) {
            fuzz_what = "comparing the PTE one-entry API with the level API";
            CHECK(pb_classify_one(p, v) == k);
            memset(&f1, 0x3c, sizeof(f1));
            pb_decode_one(p, v, &f1);
            CHECK(fields_equal(&f, &f1));
        }
    }
    fuzz_what = "asking for a level that does not exist";
    for (i = 0; i < (int)(sizeof(bad_levels) / sizeof(bad_levels[0])); i++) {
        fuzz_level = bad_levels[i];
        CHECK(pb_classify_level_one(p, bad_levels[i], v) == -PB_E_LEVEL);
        CHECK(pb_decode_level_one(p, bad_levels[i], v, &fe) == PB_E_LEVEL &&
              fe.kind == PB_KIND_BAD);
        CHECK(pb_encode_level_one(p, bad_levels[i], &f, &r) == PB_E_LEVEL);
    }
    fuzz_level = (int)(w >> 32);
    if (fuzz_level < 0 || fuzz_level >= PB_LEVEL_COUNT)
        CHECK(pb_classify_level_one(p, fuzz_level, v) == -PB_E_LEVEL);
}

/* ------------------------------------------------------- PTE helpers */

static int shadow_stack_shape(uint64_t v)
{
    return !(v & PB_PAGE_RW) && (v & PB_PAGE_DIRTY);
}

static uint64_t swp_op_bit(const pb_profile *p, int op)
{
    if (op <= PB_OP_SWP_CLEAR_UFFD_WP)
        return p->swp_uffd_wp;
    if (op <= PB_OP_SWP_CLEAR_SOFT_DIRTY)
        return p->swp_soft_dirty;
    return p->swp_exclusive;
}

static void check_pte_op(const pb_profile *p, int op, uint64_t v, uint64_t arg)
{
    int kind = pb_classify_one(p, v);
    int present = is_present_kind(kind);
    int swap_format = !present && (v & ~AD) != 0;
    uint64_t out = 0xdeadbeef, again = 0;
    int st = pb_pte_op_one(p, op, v, arg, &out);

    fuzz_raw = v;
    fuzz_level = PB_LEVEL_PTE;
    fuzz_what = "applying a PTE helper";
    CHECK(pb_op_name(op)[0] != '\0');
    if (op < 0 || op >= PB_OP_COUNT) {
        CHECK(st == PB_E_OP);
        return;
    }
    if (op >= PB_OP_SWP_MKUFFD_WP && op <= PB_OP_SWP_CLEAR_EXCLUSIVE) {
        uint64_t bit = swp_op_bit(p, op);
        int set = (op - PB_OP_SWP_MKUFFD_WP) % 2 == 0;

        if (!swap_format) {
            CHECK(st == PB_E_NOT_SWAP);
        } else if (!bit) {
            CHECK(st == PB_E_FLAG);
        } else {
            CHECK(st == PB_OK && !((out ^ v) & ~bit) && !!(out & bit) == set);
        }
        return;
    }
    if (!present) {
        CHECK(st == PB_E_NOT_PRESENT);
        return;
    }
    if (op == PB_OP_MODIFY && (arg & PB_PTE_PFN_MASK)) {
        CHECK(st == PB_E_PROT);
        return;
    }
    if (st == PB_E_FLAG) {          /* a software bit the profile lacks */
        CHECK(((op == PB_OP_MKUFFD_WP || op == PB_OP_CLEAR_UFFD_WP) && !p->uffd_wp) ||
              ((op == PB_OP_MKSOFT_DIRTY || op == PB_OP_CLEAR_SOFT_DIRTY) && !p->soft_dirty));
        return;
    }
    CHECK(st == PB_OK);
    if (p->kernel == PB_KERNEL_6_18 && !shadow_stack_shape(v))
        CHECK(!shadow_stack_shape(out));
    if (op == PB_OP_MODIFY) {
        /* the PFN follows the inversion state (flip_protnone_guard) */
        if (out & ~PB_PTE_PFN_MASK)
            CHECK(oracle_pte_pfn(out) == oracle_pte_pfn(v));
        return;
    }
    /* the other helpers leave PRESENT, PROTNONE and the PFN alone ... */
    CHECK(!((out ^ v) & (PB_PTE_PFN_MASK | PB_PAGE_PRESENT | PB_PAGE_PROTNONE)));
    CHECK(pb_classify_one(p, out) == kind);
    /* ... do what their name says ... */
    switch (op) {
    case PB_OP_WRPROTECT: CHECK(!(out & PB_PAGE_RW)); break;
    case PB_OP_MKWRITE: CHECK(out & PB_PAGE_RW); break;
    case PB_OP_MKUFFD_WP:
        CHECK(out & p->uffd_wp);
        if (p->kernel == PB_KERNEL_6_18)
            CHECK(!(out & PB_PAGE_RW));
        break;
    case PB_OP_CLEAR_UFFD_WP: CHECK(!(out & p->uffd_wp)); break;
    case PB_OP_MKDIRTY: CHECK(out & p->dirty_bits); break;
    case PB_OP_MKCLEAN: CHECK(!(out & p->dirty_bits)); break;
    case PB_OP_MKYOUNG: CHECK(out & PB_PAGE_ACCESSED); break;
    case PB_OP_MKOLD: CHECK(!(out & PB_PAGE_ACCESSED)); break;
    case PB_OP_MKSOFT_DIRTY: CHECK(out & p->soft_dirty); break;
    case PB_OP_CLEAR_SOFT_DIRTY: CHECK(!(out & p->soft_dirty)); break;
    default: CHECK(!"an unknown PTE helper succeeded");
    }
    /* ... and doing it twice changes nothing more */
    CHECK(pb_pte_op_one(p, op, out, arg, &again) == PB_OK && again == out);
}

/* ------------------------------------------------------------ pagemap */

#define PM(bit) PB_BIT(PB_PM_BIT_##bit)
#define PM_KNOWN (PM(SOFT_DIRTY) | PM(MMAP_EXCLUSIVE) | PM(UFFD_WP) | PM(GUARD_REGION) | \
                  PM(FILE) | PM(SWAP) | PM(PRESENT) | PB_PM_FRAME_MASK)

static void check_pagemap_word(const pb_profile *p, uint64_t pm)
{
    pb_fields g;

    fuzz_raw = pm;
    fuzz_what = "decoding a pagemap word";
    memset(&g, 0x77, sizeof(g));
    pb_pagemap_decode_one(p, pm, &g);
    CHECK(g.kind < PB_KIND_COUNT && g.kind != PB_KIND_PROTNONE && g.kind != PB_KIND_TABLE &&
          g.kind != PB_KIND_UFFD_WP_SPECIAL);
    CHECK(g.flags == pm >> PB_PM_FLAGS_SHIFT && g.swp_type < PB_SWP_NTYPES);
    if (pm & PM(PRESENT))
        CHECK(g.kind == PB_KIND_PRESENT && g.pfn == (pm & PB_PM_FRAME_MASK));
    else if (!(pm & PM(SWAP)))
        CHECK(g.kind == PB_KIND_NONE && g.pfn == 0 && g.swp_offset == 0);
    else
        CHECK(g.kind != PB_KIND_PRESENT && g.kind != PB_KIND_NONE &&
              g.swp_type == (pm & (PB_SWP_NTYPES - 1)));
}

static void check_pte_to_pagemap(const pb_profile *p, uint64_t v, uint32_t facts)
{
    uint64_t pm = pb_pte_to_pagemap_one(p, v, facts);
    int kind = pb_classify_one(p, v);
    int present = is_present_kind(kind);
    int swap = !present && kind != PB_KIND_NONE && kind != PB_KIND_UFFD_WP_SPECIAL;
    pb_fields d, g;

    fuzz_raw = v;
    fuzz_level = PB_LEVEL_PTE;
    fuzz_what = "computing the pagemap word of a PTE";
    CHECK(!(pm & ~PM_KNOWN));
    CHECK(!!(pm & PM(PRESENT)) == present && !!(pm & PM(SWAP)) == swap);
    if (!(facts & PB_PMIN_SHOW_PFN))
        CHECK(!(pm & PB_PM_FRAME_MASK));
    if (!(facts & PB_PMIN_FILE))
        CHECK(!(pm & PM(FILE)));
    if (!(facts & PB_PMIN_EXCLUSIVE))
        CHECK(!(pm & PM(MMAP_EXCLUSIVE)));
    CHECK(!(pm & PM(UFFD_WP)) || p->pm_uffd_wp);
    CHECK(!(pm & PM(GUARD_REGION)) || p->pm_guard);
    if ((facts & PB_PMIN_VMA_SOFTDIRTY) && p->soft_dirty)
        CHECK(pm & PM(SOFT_DIRTY));
    pb_decode_one(p, v, &d);
    if (p->pm_uffd_wp) {
        int wp = present ? !!(v & p->uffd_wp) : swap ? !!(d.aux & PB_AUX_UFFD_WP_ANY) : 0;

        CHECK(!!(pm & p->pm_uffd_wp) == wp);
    }
    pb_pagemap_decode_one(p, pm, &g);
    fuzz_what = "decoding the pagemap word of a PTE";
    if (present) {
        CHECK(g.kind == PB_KIND_PRESENT);
        if (facts & PB_PMIN_SHOW_PFN)
            CHECK(g.pfn == oracle_pte_pfn(v));
    } else if (!swap) {
        CHECK(g.kind == PB_KIND_NONE);
    } else if (facts & PB_PMIN_SHOW_PFN) {
        CHECK(g.kind == kind && g.swp_type == (v >> PB_SWP_TYPE_SHIFT));
        if (is_pfn_kind(kind))
            CHECK(g.pfn == d.pfn);
        else
            CHECK(g.swp_offset == oracle_swp_offset(v));
    }
    check_pagemap_word(p, pm);
}

/* --------------------------------------------------------- array loops */

typedef struct cols {
    uint8_t *kind, *swp_type;
    uint64_t *pfn, *flags, *swp_offset;
    uint16_t *aux;
} cols;

static void cols_alloc(cols *c, size_t n)
{
    c->kind = fuzz_alloc(n, 1);
    c->swp_type = fuzz_alloc(n, 1);
    c->pfn = fuzz_alloc(n, 8);
    c->flags = fuzz_alloc(n, 8);
    c->swp_offset = fuzz_alloc(n, 8);
    c->aux = fuzz_alloc(n, 2);
}

static void cols_free(cols *c)
{
    free(c->kind); free(c->swp_type); free(c->pfn);
    free(c->flags); free(c->swp_offset); free(c->aux);
}

static void check_row(const cols *c, size_t i, const pb_fields *f)
{
    CHECK(c->kind[i] == f->kind && c->swp_type[i] == f->swp_type && c->aux[i] == f->aux &&
          c->pfn[i] == f->pfn && c->flags[i] == f->flags && c->swp_offset[i] == f->swp_offset);
}

/* decode/classify arrays of raw[0..n) against the one-entry functions. */
static void check_decode_arrays(const pb_profile *p, const uint64_t *raw, size_t n)
{
    cols c;
    uint8_t *kinds = fuzz_alloc(n, 1);
    pb_fields f;
    size_t i;
    int level;

    cols_alloc(&c, n);
    fuzz_what = "decoding an array (pb_decode_array) against one-entry decodes";
    fuzz_level = PB_LEVEL_PTE;
    pb_decode_array(p, raw, n, c.kind, c.pfn, c.flags, c.swp_type, c.swp_offset, c.aux);
    pb_classify_array(p, raw, n, kinds);
    for (i = 0; i < n; i++) {
        fuzz_raw = raw[i];
        pb_decode_one(p, raw[i], &f);
        check_row(&c, i, &f);
        CHECK(kinds[i] == f.kind);
    }
    for (level = 0; level < PB_LEVEL_COUNT; level++) {
        fuzz_level = level;
        fuzz_what = "decoding an array at a level against one-entry decodes";
        memset(kinds, 0xa5, n ? n : 1);
        CHECK(pb_decode_level_array(p, level, raw, n, c.kind, c.pfn, c.flags, c.swp_type,
                                    c.swp_offset, c.aux) == PB_OK);
        CHECK(pb_classify_level_array(p, level, raw, n, kinds) == PB_OK);
        for (i = 0; i < n; i++) {
            fuzz_raw = raw[i];
            CHECK(pb_decode_level_one(p, level, raw[i], &f) == PB_OK);
            check_row(&c, i, &f);
            CHECK(kinds[i] == f.kind);
        }
    }
    fuzz_what = "decoding an array at a level that does not exist";
    fuzz_level = PB_LEVEL_COUNT;
    memset(kinds, 0xa5, n ? n : 1);
    CHECK(pb_classify_level_array(p, PB_LEVEL_COUNT, raw, n, kinds) == PB_E_LEVEL);
    CHECK(pb_decode_level_array(p, -1, raw, n, c.kind, c.pfn, c.flags, c.swp_type,
                                c.swp_offset, c.aux) == PB_E_LEVEL);
    for (i = 0; i < n; i++)
        CHECK(kinds[i] == 0xa5);                 /* nothing written */
    cols_free(&c);
    free(kinds);
}

/* The array encoders against one-entry encodes of the same fields. */
static void check_encode_arrays(const pb_profile *p, int level, int kind, const uint64_t *a,
                                const uint64_t *b, const uint16_t *aux, size_t n)
{
    uint64_t *out = fuzz_alloc(n, 8), r = 0;
    size_t err = (size_t)-1, i;
    pb_fields f;
    int st, want = PB_OK;
    size_t want_err = 0;

    fuzz_level = level;
    fuzz_what = "encoding an array against one-entry encodes";
    st = pb_encode_level_array(p, level, kind, n, a, b, aux, out, &err);
    if (level < 0 || level >= PB_LEVEL_COUNT ||
        (level == PB_LEVEL_PTE && kind == PB_KIND_TABLE)) {
        CHECK(st == PB_E_LEVEL && err == 0);
        free(out);
        return;
    }
    for (i = 0; i < n && want == PB_OK; i++) {
        memset(&f, 0, sizeof(f));
        f.kind = (uint8_t)kind;
        f.aux = aux ? aux[i] : 0;
        if (level == PB_LEVEL_PTE && kind == PB_KIND_SWAP) {
            if (a[i] >= PB_SWP_NTYPES) {
                want = PB_E_TYPE;
                want_err = i;
                break;
            }
            f.swp_type = (uint8_t)a[i];
            f.swp_offset = b ? b[i] : 0;
        } else {
            f.pfn = a[i];
            f.flags = b ? b[i] : 0;
        }
        want = pb_encode_level_one(p, level, &f, &r);
        if (want != PB_OK) {
            want_err = i;
            break;
        }
        fuzz_raw = r;
        CHECK(out[i] == r);
    }
    CHECK(st == want);
    if (st != PB_OK)
        CHECK(err == want_err);
    if (level == PB_LEVEL_PTE) {
        size_t err2 = (size_t)-1;

        fuzz_what = "encoding an array with pb_encode_array";
        CHECK(pb_encode_array(p, kind, n, a, b, aux, out, &err2) == st);
        if (st != PB_OK)
            CHECK(err2 == err);
    }
    free(out);
}

static void check_op_array(const pb_profile *p, int op, const uint64_t *raw,
                           const uint64_t *arg, size_t n)
{
    uint64_t *out = fuzz_alloc(n, 8), r = 0;
    size_t err = (size_t)-1, i;
    int st, want = PB_OK;

    fuzz_level = PB_LEVEL_PTE;
    fuzz_what = "applying a PTE helper to an array";
    st = pb_pte_op_array(p, op, raw, n, arg, out, &err);
    for (i = 0; i < n; i++) {
        fuzz_raw = raw[i];
        want = pb_pte_op_one(p, op, raw[i], arg ? arg[i] : 0, &r);
        if (want != PB_OK)
            break;
        CHECK(out[i] == r);
    }
    CHECK(st == want);
    if (st != PB_OK)
        CHECK(err == i);
    free(out);
}

static void check_pagemap_arrays(const pb_profile *p, const uint64_t *raw,
                                 const uint8_t *facts, size_t n)
{
    uint64_t *out = fuzz_alloc(n, 8);
    cols c;
    pb_fields f;
    size_t i;

    fuzz_level = PB_LEVEL_PTE;
    fuzz_what = "pagemap words of an array against one-entry words";
    pb_pte_to_pagemap_array(p, raw, n, facts, out);
    for (i = 0; i < n; i++) {
        fuzz_raw = raw[i];
        CHECK(out[i] == pb_pte_to_pagemap_one(p, raw[i], facts ? facts[i] : 0));
    }
    cols_alloc(&c, n);
    fuzz_what = "decoding pagemap words as an array against one-word decodes";
    /* the words themselves, as read from /proc/PID/pagemap, then raw values */
    pb_pagemap_decode_array(p, out, n, c.kind, c.pfn, (uint16_t *)c.flags, c.swp_type,
                            c.swp_offset, c.aux);
    for (i = 0; i < n; i++) {
        fuzz_raw = out[i];
        pb_pagemap_decode_one(p, out[i], &f);
        CHECK(c.kind[i] == f.kind && c.pfn[i] == f.pfn && c.swp_type[i] == f.swp_type &&
              c.swp_offset[i] == f.swp_offset && c.aux[i] == f.aux &&
              ((uint16_t *)c.flags)[i] == (uint16_t)f.flags);
    }
    pb_pagemap_decode_array(p, raw, n, c.kind, c.pfn, (uint16_t *)c.flags, c.swp_type,
                            c.swp_offset, c.aux);
    for (i = 0; i < n; i++) {
        fuzz_raw = raw[i];
        pb_pagemap_decode_one(p, raw[i], &f);
        CHECK(c.kind[i] == f.kind && c.pfn[i] == f.pfn && c.aux[i] == f.aux);
    }
    cols_free(&c);
    free(out);
}

/* Cache-line aligned (the AVX2 stores need 32 bytes), size rounded up. */
static void *alloc64(size_t bytes)
{
    void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);

    if (!p)
        abort();
    return p;
}

/* decode.c streams outputs past the cache for large arrays (and with AVX2
 * for 32-byte aligned ones): check that path on the entries tiled. */
static void check_tiled_decode(const pb_profile *p, const fuzz_input *in)
{
    size_t n = TILED_ENTRIES, i;
    uint64_t *raw = alloc64(n * 8);
    cols c;
    pb_fields f;

    if (!in->n) {
        free(raw);
        return;
    }
    for (i = 0; i < n; i++)
        raw[i] = in->v[i % in->n];
    c.kind = alloc64(n);
    c.swp_type = alloc64(n);
    c.aux = alloc64(n * 2);
    c.pfn = alloc64(n * 8);
    c.flags = alloc64(n * 8);
    c.swp_offset = alloc64(n * 8);
    fuzz_level = PB_LEVEL_PTE;
    fuzz_what = "decoding a large array (streamed stores)";
    pb_decode_array(p, raw, n, c.kind, c.pfn, c.flags, c.swp_type, c.swp_offset, c.aux);
    for (i = 0; i < n; i++) {
        if (i >= 4096 && i < n - 4096 && i % 97)
            continue;                            /* both ends, and a sample between */
        fuzz_raw = raw[i];
        pb_decode_one(p, raw[i], &f);
        check_row(&c, i, &f);
    }
    cols_free(&c);
    free(raw);
}

static void check_arrays(const pb_profile *p, const fuzz_input *in)
{
    size_t n = in->n, i;
    uint64_t *next = fuzz_alloc(n, 8), *a = fuzz_alloc(n, 8), *b = fuzz_alloc(n, 8);
    uint16_t *aux = fuzz_alloc(n, 2);
    uint8_t *facts = fuzz_alloc(n, 1);
    int kind = in->mode & 15, level = (in->mode >> 4) & 7;
    pb_fields f;

    check_decode_arrays(p, in->v, n);
    if (n > 1)
        check_decode_arrays(p, in->v + 1, n - 1);   /* another phase of the groups of 8 */
    for (i = 0; i < n; i++) {
        next[i] = in->v[(i + 1) % n];
        facts[i] = (uint8_t)(in->v[i] >> 56);
        aux[i] = (uint16_t)(next[i] >> 48);
    }
    /* fuzzed values as they come, then fields in range for the kind */
    check_encode_arrays(p, level, kind, in->v, next, aux, n);
    check_encode_arrays(p, level, kind, in->v, NULL, NULL, n);
    for (i = 0; i < n; i++) {
        fields_in_range(kind, level < PB_LEVEL_COUNT ? level : 0, in->v[i], next[i], &f);
        a[i] = (level == PB_LEVEL_PTE && kind == PB_KIND_SWAP) ? f.swp_type : f.pfn;
        b[i] = (level == PB_LEVEL_PTE && kind == PB_KIND_SWAP) ? f.swp_offset : f.flags;
        aux[i] = f.aux;
    }
    check_encode_arrays(p, level, kind, a, b, aux, n);
    check_op_array(p, kind + (level & 1) * 16 - 1, in->v, next, n);
    check_op_array(p, PB_OP_MODIFY, in->v, b, n);
    check_op_array(p, kind, in->v, NULL, n);
    check_pagemap_arrays(p, in->v, facts, n);
    check_pagemap_arrays(p, in->v, NULL, n);
    free(next); free(a); free(b); free(aux); free(facts);
}

/* --------------------------------------------------------------- entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in;
    size_t i;
    int level, kind, op;

    if (!fuzz_parse(data, size, &in))
        return 0;
    fuzz_what = "initialising the profile";
    CHECK(pb_profile_init(&prof, in.kernel, in.config) == PB_OK);
    check_profile(&prof);
    for (i = 0; i < in.n; i++) {
        uint64_t v = in.v[i], w = in.v[(i + 1) % in.n];
        pb_fields f;

        check_profile_init(v);
        check_names((int)(int32_t)v);
        check_entry(&prof, v, w);
        for (op = -1; op <= PB_OP_COUNT; op++)
            check_pte_op(&prof, op, v, op == PB_OP_MODIFY && (w & 1) ? w
                                                  : w & ~PB_PTE_PFN_MASK);
        check_pte_to_pagemap(&prof, v, (uint32_t)w);
        check_pte_to_pagemap(&prof, v, (uint32_t)(w >> 32) | PB_PMIN_SHOW_PFN);
        check_pagemap_word(&prof, v);
        /* encoders: fuzzed fields as they come, near-valid ones, and in
         * range for every kind at every level */
        memset(&f, 0, sizeof(f));
        f.kind = (uint8_t)(w >> 60);
        f.swp_type = (uint8_t)(w >> 52);
        f.aux = (uint16_t)(w >> 36);
        f.pfn = v;
        f.flags = w;
        f.swp_offset = v;
        for (level = -1; level <= PB_LEVEL_COUNT; level++)
            check_encode(&prof, level, &f);
        for (level = 0; level < PB_LEVEL_COUNT; level++) {
            fields_nudged(level, v, w, &f);
            check_encode(&prof, level, &f);
        }
        if (i < SWEEP_ENTRIES)
            for (kind = 0; kind <= PB_KIND_COUNT; kind++)
                for (level = 0; level < PB_LEVEL_COUNT; level++) {
                    fields_in_range(kind, level, v, w, &f);
                    check_encode(&prof, level, &f);
                }
    }
    check_arrays(&prof, &in);
    if (in.mode == 127 && in.tail == 3)
        check_tiled_decode(&prof, &in);
    fuzz_free(&in);
    return 0;
}
