/*
 * decode_avx512.c - decode() for eight entries at a time with AVX-512F,
 * without branches on the entries' kinds.
 *
 * Page tables change kind every few dozen entries, so a scalar decode
 * mispredicts at almost every run boundary, and swap entries need six
 * per-type lookups each.  Here every kind's fields are computed for all
 * eight lanes and the lane's kind selects them; the per-type tables are
 * held in registers.  It computes exactly decode() (entry.h): tests compare
 * every entry of mixed arrays with the scalar path, and the spec vectors
 * go through both.
 */
#include "decode_block.h"
#include "entry.h"

#if defined(__GNUC__) && defined(__x86_64__) && !defined(PB_NO_AVX512)

#include <immintrin.h>
#include <stdlib.h>

int pb_decode_vector_isa(void)
{
    const char *off = getenv("PTEBITS_NO_AVX512");   /* to compare with the scalar path */

    return !(off && *off && *off != '0') && __builtin_cpu_supports("avx512f")
           ? PB_ISA_AVX512 : PB_ISA_SCALAR;
}

#define PB_AVX512 __attribute__((target("avx512f")))

/* A 32-entry per-type table of 64-bit values, held in four registers. */
typedef struct type_table {
    __m512i q0, q1, q2, q3;
} type_table;

static PB_AVX512 inline type_table load_table(const uint64_t *t)
{
    type_table r;

    r.q0 = _mm512_loadu_si512((const void *)t);
    r.q1 = _mm512_loadu_si512((const void *)(t + 8));
    r.q2 = _mm512_loadu_si512((const void *)(t + 16));
    r.q3 = _mm512_loadu_si512((const void *)(t + 24));
    return r;
}

/* table[t] in each lane; high: the lanes whose type has bit 4 set */
static PB_AVX512 inline __m512i lookup(const type_table *tb, __m512i t, __mmask8 high)
{
    __m512i lo = _mm512_permutex2var_epi64(tb->q0, t, tb->q1);
    __m512i hi = _mm512_permutex2var_epi64(tb->q2, t, tb->q3);

    return _mm512_mask_blend_epi64(high, lo, hi);
}

PB_AVX512 size_t pb_decode_block_avx512(const pb_profile *p, const uint64_t *v, size_t m,
                                        pb_block *b)
{
    /* kind | sub << 8 | low_ok << 16 per type: one lookup for the small ones */
    uint64_t small[PB_SWP_NTYPES];
    type_table t_small, t_offset_ok, t_pfn_mask, t_mig_ad;
    const __m512i pfn_mask = _mm512_set1_epi64((long long)PB_PTE_PFN_MASK);
    const __m512i c_present = _mm512_set1_epi64(PB_PAGE_PRESENT);
    const __m512i c_present_or_protnone = _mm512_set1_epi64(PB_PAGE_PRESENT | PB_PAGE_PROTNONE);
    const __m512i ones = _mm512_set1_epi64(-1);
    const __m512i not_ad = _mm512_set1_epi64((long long)~(uint64_t)PB_AD);
    const __m512i low9 = _mm512_set1_epi64(0x1ff);
    const __m512i byte = _mm512_set1_epi64(0xff);
    const __m512i special = _mm512_set1_epi64((long long)p->special_pte);
    const __m512i swp_flag_mask = _mm512_set1_epi64((long long)p->swp_flag_mask);
    const __m512i swp_uffd_wp = _mm512_set1_epi64((long long)p->swp_uffd_wp);
    const __m512i c_canon = _mm512_set1_epi64(PB_AUX_CANONICAL);
    const __m512i c_uffd_any = _mm512_set1_epi64(PB_AUX_UFFD_WP_ANY);
    const __m512i marker_max = _mm512_set1_epi64(PB_PTE_MARKER_MASK);
    const __m512i marker_uffd = _mm512_set1_epi64(PB_PTE_MARKER_UFFD_WP);
    const __m512i k_marker = _mm512_set1_epi64(PB_KIND_MARKER);
    const __m512i k_bad = _mm512_set1_epi64(PB_KIND_BAD);
    const __m512i k_present = _mm512_set1_epi64(PB_KIND_PRESENT);
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i k_special = _mm512_set1_epi64(PB_KIND_UFFD_WP_SPECIAL);
    const __m512i bit4 = _mm512_set1_epi64(PB_SWP_NTYPES / 2);
    const __m128i mig_shift = _mm_cvtsi32_si128((int)p->mig_aux_shift);
    size_t i;
    int t;

    for (t = 0; t < PB_SWP_NTYPES; t++)
        small[t] = p->type_kind[t] | (uint64_t)p->type_sub[t] << 8 |
                   (p->type_low_ok[t] & 0x1ff) << 16;
    t_small = load_table(small);
    t_offset_ok = load_table(p->type_offset_ok);
    t_pfn_mask = load_table(p->type_pfn_mask);
    t_mig_ad = load_table(p->type_mig_ad);

    for (i = 0; i + 8 <= m; i += 8) {
        __m512i x = _mm512_loadu_si512((const void *)(v + i));
        __mmask8 present = _mm512_test_epi64_mask(x, c_present);
        __mmask8 pp = _mm512_test_epi64_mask(x, c_present_or_protnone);   /* pte_present */
        __mmask8 absent = pp & (__mmask8)~present;                           /* PROT_NONE */
        __mmask8 none = _mm512_testn_epi64_mask(x, not_ad);   /* pte_none ignores A/D */
        __m512i kind, pfn, flags, type, off, aux;

        /* decode_present() and the none entries: PROT_NONE follows PRESENT
         * and has its PFN inverted (pgtable-invert.h); none entries have
         * no PFN bits and are canonical when zero */
        kind = _mm512_mask_add_epi64(_mm512_maskz_mov_epi64(pp, k_present), absent,
                                     k_present, one);
        pfn = _mm512_srli_epi64(_mm512_and_si512(_mm512_mask_xor_epi64(x, absent, x, ones),
                                                 pfn_mask), PB_PAGE_SHIFT);
        flags = _mm512_maskz_andnot_epi64(pp, pfn_mask, x);
        aux = _mm512_maskz_mov_epi64(pp | _mm512_testn_epi64_mask(x, x), c_canon);
        type = _mm512_setzero_si512();
        off = type;
        if ((__mmask8)(pp | none) != 0xff) {
            /* swap-format entries in the group (the one branch: mapped
             * stretches and holes, most groups, skip all of this) */
            __mmask8 spec = _mm512_cmpeq_epi64_mask(x, special) & (__mmask8)~(none | pp);
            __mmask8 swp = (__mmask8)~(pp | none | spec);
            __mmask8 high, is_marker, bad_marker, bad_kind, good;
            __m512i t, sm, kind_t, bad, aux_sw, aux_mk;

            t = _mm512_srli_epi64(x, PB_SWP_TYPE_SHIFT);
            /* swp_offset(): the offset is stored inverted */
            off = _mm512_srli_epi64(_mm512_slli_epi64(_mm512_xor_si512(x, ones),
                                                      PB_SWP_TYPE_BITS), PB_SWP_OFFSET_SHIFT);
            high = _mm512_test_epi64_mask(t, bit4);
            sm = lookup(&t_small, t, high);
            kind_t = _mm512_and_si512(sm, byte);

            /* swap_aux(): sub-kind, flag bits, uffd-wp, migration A/D, canonical */
            bad = _mm512_or_si512(
                _mm512_andnot_si512(_mm512_srli_epi64(sm, 16), _mm512_and_si512(x, low9)),
                _mm512_andnot_si512(lookup(&t_offset_ok, t, high), off));
            good = _mm512_testn_epi64_mask(bad, bad);
            aux_sw = _mm512_and_si512(_mm512_srli_epi64(sm, 8), byte);
            aux_sw = _mm512_or_si512(aux_sw, _mm512_slli_epi64(_mm512_and_si512(x, swp_flag_mask),
                                                               PB_AUX_SWP_SHIFT));
            aux_sw = _mm512_or_si512(aux_sw,
                                     _mm512_slli_epi64(_mm512_and_si512(x, swp_uffd_wp),
                                                       PB_AUX_BIT_UFFD_WP_ANY -
                                                       PB_PAGE_BIT_SWP_UFFD_WP));
            aux_sw = _mm512_or_si512(aux_sw, _mm512_srl_epi64(
                _mm512_and_si512(off, lookup(&t_mig_ad, t, high)), mig_shift));
            bad_kind = _mm512_cmpeq_epi64_mask(kind_t, k_bad);
            aux_sw = _mm512_mask_or_epi64(aux_sw, good & (__mmask8)~bad_kind, aux_sw, c_canon);

            /* markers: canonical without swap flag bits; an empty marker or
             * one with unknown bits is bad, its uffd-wp still seen through
             * the marker mask */
            is_marker = swp & _mm512_cmpeq_epi64_mask(kind_t, k_marker);
            bad_marker = is_marker & (_mm512_testn_epi64_mask(off, off) |
                                      _mm512_cmpgt_epu64_mask(off, marker_max));
            aux_mk = _mm512_slli_epi64(off, PB_AUX_MARKER_SHIFT);
            aux_mk = _mm512_mask_or_epi64(aux_mk,
                                          _mm512_test_epi64_mask(off, marker_uffd) |
                                          _mm512_test_epi64_mask(x, swp_uffd_wp),
                                          aux_mk, c_uffd_any);
            aux_mk = _mm512_mask_or_epi64(aux_mk, _mm512_testn_epi64_mask(x, low9), aux_mk,
                                          c_canon);
            aux_sw = _mm512_mask_blend_epi64(is_marker & (__mmask8)~bad_marker, aux_sw, aux_mk);
            aux_sw = _mm512_mask_andnot_epi64(aux_sw, bad_marker, c_canon, aux_sw);
            aux_sw = _mm512_mask_or_epi64(aux_sw, bad_marker & _mm512_test_epi64_mask(off,
                                                                                  marker_uffd),
                                          aux_sw, c_uffd_any);
            kind_t = _mm512_mask_mov_epi64(kind_t, bad_marker, k_bad);

            /* the swap-format and special lanes take their fields */
            kind = _mm512_mask_mov_epi64(kind, swp, kind_t);
            kind = _mm512_mask_mov_epi64(kind, spec, k_special);
            aux = _mm512_mask_mov_epi64(aux, swp, aux_sw);
            aux = _mm512_mask_mov_epi64(aux, spec, _mm512_or_si512(c_canon, c_uffd_any));
            pfn = _mm512_mask_and_epi64(pfn, swp, off, lookup(&t_pfn_mask, t, high));
            pfn = _mm512_mask_mov_epi64(pfn, spec, type);        /* zero */
            type = _mm512_maskz_mov_epi64(swp, t);
            off = _mm512_maskz_mov_epi64(swp, off);
        }
        _mm_storel_epi64((__m128i *)(b->kind + i), _mm512_cvtepi64_epi8(kind));
        _mm_storel_epi64((__m128i *)(b->swp_type + i), _mm512_cvtepi64_epi8(type));
        _mm_storeu_si128((__m128i *)(b->aux + i), _mm512_cvtepi64_epi16(aux));
        _mm512_storeu_si512((void *)(b->pfn + i), pfn);
        _mm512_storeu_si512((void *)(b->flags + i), flags);
        _mm512_storeu_si512((void *)(b->swp_offset + i), off);
    }
    return i;
}

#else   /* no AVX-512 form on this compiler or architecture */

int pb_decode_vector_isa(void)
{
    return PB_ISA_SCALAR;
}

size_t pb_decode_block_avx512(const pb_profile *p, const uint64_t *v, size_t m, pb_block *b)
{
    (void)p;
    (void)v;
    (void)m;
    (void)b;
    return 0;
}

#endif
