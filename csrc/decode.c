/*
 * decode.c - decode arrays of PTEs into columns at memory speed.
 *
 * Every entry gets exactly decode()'s fields (entry.h); the fast paths
 * below only reach them with fewer instructions for runs of similar entries.
 */
#include <stdint.h>
#include <string.h>

#include "decode_block.h"
#include "entry.h"

/* Streaming stores need SSE2 (and use AVX2 where the CPU has it, chosen at
 * run time); sanitizer builds use plain memcpy so that every store of the
 * array loops is checked. */
#if defined(__SSE2__) && !defined(__SANITIZE_ADDRESS__)
#define PB_HAVE_STREAM 1
#include <emmintrin.h>
#if defined(__GNUC__) && defined(__x86_64__)
#define PB_HAVE_AVX2_STREAM 1
#include <immintrin.h>
#else
#define PB_HAVE_AVX2_STREAM 0
#endif
#else
#define PB_HAVE_STREAM 0
#define PB_HAVE_AVX2_STREAM 0
#endif

#define PB_GROUP 8    /* entries tested together for a common shape */

/*
 * Decode in blocks: entries are decoded into small column buffers on the
 * stack, then each column is copied out in one run.  Storing straight into
 * six output arrays that share their page offset with the input stalls
 * loads on 4 KiB aliasing; the block buffers keep the hot loop clear of it.
 * Large outputs are written with non-temporal stores where the compiler
 * offers them (SSE2): the 28 bytes per entry would not stay in cache
 * anyway, and skipping the read-for-ownership halves the write traffic.
 */
#define PB_STREAM_MIN ((size_t)1 << 18)   /* entries; ~7 MiB of columns */

/* How copy_out() writes: through the cache, or streamed past it. */
#define PB_COPY_CACHED 0
#define PB_COPY_STREAM_SSE2 1
#define PB_COPY_STREAM_AVX2 2

#if PB_HAVE_AVX2_STREAM
__attribute__((target("avx2")))
static void stream_avx2(void *dst, const void *src, size_t bytes)
{
    __m256i *d = (__m256i *)dst;
    const __m256i *s = (const __m256i *)src;
    size_t i;

    for (i = 0; i < bytes / 32; i += 4) {       /* two cache lines a turn */
        __m256i a = _mm256_loadu_si256(s + i), b = _mm256_loadu_si256(s + i + 1);
        __m256i c = _mm256_loadu_si256(s + i + 2), e = _mm256_loadu_si256(s + i + 3);

        _mm256_stream_si256(d + i, a);
        _mm256_stream_si256(d + i + 1, b);
        _mm256_stream_si256(d + i + 2, c);
        _mm256_stream_si256(d + i + 3, e);
    }
}
#endif

/* The copy mode for an output of n entries. */
static int copy_mode(size_t n)
{
    if (n < PB_STREAM_MIN)
        return PB_COPY_CACHED;
#if PB_HAVE_AVX2_STREAM
    if (__builtin_cpu_supports("avx2"))
        return PB_COPY_STREAM_AVX2;
#endif
    return PB_HAVE_STREAM ? PB_COPY_STREAM_SSE2 : PB_COPY_CACHED;
}

static void copy_out(void *dst, const void *src, size_t bytes, int mode)
{
#if PB_HAVE_AVX2_STREAM
    if (mode == PB_COPY_STREAM_AVX2 && ((uintptr_t)dst & 31) == 0 && (bytes & 127) == 0) {
        stream_avx2(dst, src, bytes);
        return;
    }
#endif
#if PB_HAVE_STREAM
    if (mode != PB_COPY_CACHED && ((uintptr_t)dst & 15) == 0 && (bytes & 63) == 0) {
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
    (void)mode;
#endif
    memcpy(dst, src, bytes);
}

static void stream_fence(int mode)
{
#if PB_HAVE_STREAM
    if (mode != PB_COPY_CACHED)
        _mm_sfence();      /* order the streamed stores before returning */
#else
    (void)mode;
#endif
}

/* Every entry of the group is pte_present() (PRESENT or PROTNONE): fold
 * bit 8 onto bit 0 and AND across the group. */
static inline int groups_pte_present(const uint64_t *v, size_t g)
{
    uint64_t all = ~(uint64_t)0;
    size_t j;

    for (j = 0; j < g; j++)
        all &= v[j] | (v[j] >> PB_PAGE_BIT_PROTNONE);
    return (int)(all & PB_PAGE_PRESENT);
}

/* Every entry of the group is present or pte_none (no swap, no PROT_NONE):
 * a non-present entry may have nothing but A/D set. */
static inline int groups_present_or_none(const uint64_t *v, size_t g)
{
    uint64_t bad = 0;
    size_t j;

    for (j = 0; j < g; j++)
        bad |= v[j] & ~PB_AD & ((v[j] & PB_PAGE_PRESENT) - 1);
    return !bad;
}

static inline void put(pb_block *restrict b, size_t i, const pb_fields *restrict f)
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
static inline int decode_group(const pb_profile *restrict p, const uint64_t *restrict v,
                               pb_block *restrict b, size_t i, size_t g)
{
    uint64_t all = group_and(v, g), any, t;
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
    any = group_or(v, g);
    if (!(any & ~PB_AD)) {
        /* a hole: pte_none entries, canonical unless A/D are set */
        memset(b->kind + i, PB_KIND_NONE, g);
        memset(b->swp_type + i, 0, g);
        memset(b->pfn + i, 0, g * sizeof(uint64_t));
        memset(b->flags + i, 0, g * sizeof(uint64_t));
        memset(b->swp_offset + i, 0, g * sizeof(uint64_t));
        if (!any)                 /* the usual hole: all zero, all canonical */
            for (j = 0; j < g; j++)
                b->aux[i + j] = PB_AUX_CANONICAL;
        else
            for (j = 0; j < g; j++)
                b->aux[i + j] = (uint16_t)(is_zero(v[j]) << PB_AUX_BIT_CANONICAL);
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
    pb_block_room room;
    pb_block *const b = pb_block_place(&room, raw);
    int stream = copy_mode(n), avx512 = pb_decode_vector_isa() == PB_ISA_AVX512;
    size_t start, i, m;
    pb_fields f;

    for (start = 0; start < n; start += m) {
        const uint64_t *v = raw + start;

        m = n - start < PB_BLOCK ? n - start : PB_BLOCK;
        i = avx512 ? pb_decode_block_avx512(p, v, m, b) : 0;
        for (; i < m; i += PB_GROUP) {
            size_t j, g = m - i < PB_GROUP ? m - i : PB_GROUP;

            if (g == PB_GROUP && decode_group(p, v + i, b, i, PB_GROUP))
                continue;
            for (j = 0; j < g; j++) {
                decode(p, v[i + j], &f);
                put(b, i + j, &f);
            }
        }
        copy_out(kind + start, b->kind, m, stream);
        copy_out(swp_type + start, b->swp_type, m, stream);
        copy_out(aux + start, b->aux, m * sizeof(*aux), stream);
        copy_out(pfn + start, b->pfn, m * sizeof(*pfn), stream);
        copy_out(flags + start, b->flags, m * sizeof(*flags), stream);
        copy_out(swp_offset + start, b->swp_offset, m * sizeof(*swp_offset), stream);
    }
    stream_fence(stream);
}

