/*
 * fuzz_dispatch.c - libFuzzer target for the fault model (csrc/fault.c):
 * pb_dispatch and the page-table operations pb_mm_* over a small address
 * space built from the input, in both profiles and any config.
 *
 * Input: see fuzz_common.h (profile byte, knob byte, uint64 entries).
 * Mode bit 0 (byte 0 bit 1) seeds the PTE array with raw input values
 * (anything at all: the model must stay in bounds); clear, it starts empty
 * and only the model writes PTEs.  Entries, in order:
 *   layout   pages 1-64, VMAs 1-4, objects 1-2, fault-around pages,
 *            page-table page size, swap type, first PFN, first swap slot
 *   per VMA  length, gap before it, PB_VMA_* flags (any combination),
 *            object, pgoff
 *   per obj  size (EOF) and capacity, then one entry per cache slot
 *            (hole, PFN or swapped slot)
 *   PTEs     one per page (mode bit 0 only)
 *   ops      one entry each: dispatch (a batch of up to 8 faults, a
 *            resolution policy, retry, trace, message capacity),
 *            writeprotect, zap (any "how"), swap-out, mprotect (new VMA
 *            protection + pb_mm_change_prot), NUMA hinting, UFFDIO_COPY /
 *            CONTINUE, pagemap, EOF change, registration change, a raw PTE
 *            store; page ranges may run past the address space.
 *
 * Invariants (a broken one prints what and where, then traps):
 *  - AddressSanitizer sees every array of the model at its exact size;
 *  - a PTE the model changes from a canonical value (or none) is canonical
 *    under the profile (pb_decode_one, PB_AUX_CANONICAL);
 *  - pb_dispatch: status OK processes every fault, PB_E_FULL / PB_E_RANGE
 *    stop at the first fault not processed; messages never exceed the
 *    capacity; handler, outcome, passes and messages are in range, each
 *    message names its fault's page, outcome counts add up;
 *  - pb_dispatch is deterministic: a second run on a copy of the address
 *    space gives the same outputs, PTEs, page caches and allocators.
 */
#include "fuzz_common.h"

#define MAX_PAGES 64
#define MAX_VMAS 4
#define MAX_OBJECTS 2
#define MAX_BATCH 8

typedef struct mm_state {
    pb_mm mm;
    pb_vma vmas[MAX_VMAS];
    pb_object objects[MAX_OBJECTS];
    uint8_t raw[MAX_PAGES];      /* the PTE is (still) an input value */
} mm_state;

static pb_profile prof;

/* Reads entries in order; zeros after the end. */
typedef struct reader {
    const fuzz_input *in;
    size_t i;
} reader;

static uint64_t next(reader *r)
{
    return r->i < r->in->n ? r->in->v[r->i++] : 0;
}

static int canonical(uint64_t v)
{
    pb_fields f;

    pb_decode_one(&prof, v, &f);
    return (f.aux & PB_AUX_CANONICAL) != 0;
}

/* A cache slot the model could have written: a hole, a PFN it can map, or
 * a swapped-out slot. */
static uint64_t cache_value(uint64_t e)
{
    switch (e & 3) {
    case 1:
        return 1 + (e >> 2) % (prof.pfn_limit_present - 1);
    case 2:
        return PB_CACHE_SWAPPED | ((e >> 2) & 0xffffff);
    default:
        return 0;
    }
}

static void build(mm_state *s, reader *r, int raw_ptes)
{
    uint64_t lay = next(r), pg = 0;
    uint32_t nv = 1 + ((lay >> 6) & 3), i;

    memset(s, 0, sizeof(*s));
    s->mm.npages = 1 + (lay & 63);
    s->mm.pte = fuzz_alloc(s->mm.npages, sizeof(uint64_t));
    s->mm.nobjects = 1 + ((lay >> 8) & 1);
    s->mm.fault_around_pages = (uint64_t)1 << ((lay >> 9) & 7);
    s->mm.ptrs_per_pte = (uint64_t)1 << (2 + ((lay >> 12) & 7));
    s->mm.swap_type = ((lay >> 16) & 31) % prof.max_swapfiles;
    /* allocators far enough below their limits for every fault of an input */
    s->mm.next_pfn = 1 + ((lay >> 21) & 0xfffff);
    s->mm.zero_pfn = 1 + ((lay >> 41) & 0xfff);
    s->mm.next_slot = (lay >> 53) & 0x7ff;

    for (i = 0; i < nv && pg < s->mm.npages; i++) {
        uint64_t e = next(r);
        pb_vma *v = &s->vmas[s->mm.nvmas];

        pg += (e >> 4) & 3;                              /* a gap: unmapped pages */
        if (pg >= s->mm.npages)
            break;
        v->start = pg;
        v->end = pg + 1 + (e & 15);
        if (v->end > s->mm.npages)
            v->end = s->mm.npages;
        v->flags = (uint32_t)(e >> 8) & 0x7ff;
        v->object = (v->flags & PB_VMA_ANON) ? -1 : (int32_t)((e >> 20) & 1);
        if (v->object >= (int32_t)s->mm.nobjects)
            v->object = 0;
        v->pgoff = (e >> 24) & 15;
        v->prot = pb_vma_page_prot(&prof, v->flags);
        pg = v->end;
        s->mm.nvmas++;
    }
    for (i = 0; i < s->mm.nobjects; i++) {
        uint64_t e = next(r), k;
        pb_object *o = &s->objects[i];

        o->size = e & 31;
        o->capacity = 1 + o->size + ((e >> 5) & 7);
        o->cache = fuzz_alloc(o->capacity, sizeof(uint64_t));
        for (k = 0; k < o->capacity; k++)
            o->cache[k] = cache_value(next(r));
    }
    for (pg = 0; pg < s->mm.npages; pg++) {
        s->mm.pte[pg] = raw_ptes ? next(r) : 0;
        s->raw[pg] = raw_ptes && !canonical(s->mm.pte[pg]);
    }
    s->mm.vmas = s->vmas;
    s->mm.objects = s->objects;
}

static void copy_state(mm_state *dst, const mm_state *src)
{
    uint32_t i;

    *dst = *src;
    dst->mm.pte = fuzz_alloc(src->mm.npages, sizeof(uint64_t));
    memcpy(dst->mm.pte, src->mm.pte, src->mm.npages * sizeof(uint64_t));
    for (i = 0; i < src->mm.nobjects; i++) {
        dst->objects[i].cache = fuzz_alloc(src->objects[i].capacity, sizeof(uint64_t));
        memcpy(dst->objects[i].cache, src->objects[i].cache,
               src->objects[i].capacity * sizeof(uint64_t));
    }
    dst->mm.vmas = dst->vmas;
    dst->mm.objects = dst->objects;
}

static void free_state(mm_state *s)
{
    uint32_t i;

    free(s->mm.pte);
    for (i = 0; i < s->mm.nobjects; i++)
        free(s->objects[i].cache);
}

static int same_state(const mm_state *a, const mm_state *b)
{
    uint32_t i;

    if (memcmp(a->mm.pte, b->mm.pte, a->mm.npages * sizeof(uint64_t)) ||
        a->mm.next_pfn != b->mm.next_pfn || a->mm.next_slot != b->mm.next_slot)
        return 0;
    for (i = 0; i < a->mm.nobjects; i++)
        if (a->objects[i].size != b->objects[i].size ||
            memcmp(a->objects[i].cache, b->objects[i].cache,
                   a->objects[i].capacity * sizeof(uint64_t)))
            return 0;
    return 1;
}

/* After an operation: every PTE the model changed from a canonical value
 * is canonical; a raw PTE it rewrote counts as the model's from now on. */
static void check_writes(mm_state *s, const uint64_t *before)
{
    uint64_t pg;

    for (pg = 0; pg < s->mm.npages; pg++) {
        uint64_t v = s->mm.pte[pg];

        if (v == before[pg])
            continue;
        fuzz_raw = v;
        if (!s->raw[pg])
            CHECK(canonical(v));
        s->raw[pg] = !canonical(v);
    }
}

/* ------------------------------------------------------------ dispatch */

typedef struct batch_out {
    pb_fault_out o;
    size_t done;
    int status;
} batch_out;

static void alloc_out(batch_out *b, size_t n, size_t cap, int trace)
{
    memset(b, 0, sizeof(*b));
    b->o.handler = fuzz_alloc(n, 1);
    b->o.last = fuzz_alloc(n, 1);
    b->o.outcome = fuzz_alloc(n, 1);
    b->o.passes = fuzz_alloc(n, 1);
    b->o.trace = trace ? fuzz_alloc(n, sizeof(uint64_t)) : NULL;
    b->o.msg_fault = fuzz_alloc(cap, sizeof(uint64_t));
    b->o.msg_page = fuzz_alloc(cap, sizeof(uint64_t));
    b->o.msg_kind = fuzz_alloc(cap, 1);
    b->o.msg_cap = cap;
}

static void free_out(batch_out *b)
{
    free(b->o.handler);
    free(b->o.last);
    free(b->o.outcome);
    free(b->o.passes);
    free(b->o.trace);
    free(b->o.msg_fault);
    free(b->o.msg_page);
    free(b->o.msg_kind);
}

static int same_out(const batch_out *a, const batch_out *b)
{
    size_t m = a->o.msg_n;

    return a->status == b->status && a->done == b->done && a->o.msg_n == b->o.msg_n &&
           !memcmp(a->o.handler, b->o.handler, a->done) &&
           !memcmp(a->o.last, b->o.last, a->done) &&
           !memcmp(a->o.outcome, b->o.outcome, a->done) &&
           !memcmp(a->o.passes, b->o.passes, a->done) &&
           (!a->o.trace || !memcmp(a->o.trace, b->o.trace, a->done * sizeof(uint64_t))) &&
           !memcmp(a->o.msg_fault, b->o.msg_fault, m * sizeof(uint64_t)) &&
           !memcmp(a->o.msg_page, b->o.msg_page, m * sizeof(uint64_t)) &&
           !memcmp(a->o.msg_kind, b->o.msg_kind, m) &&
           !memcmp(a->o.counts, b->o.counts, sizeof(a->o.counts)) &&
           !memcmp(a->o.outcomes, b->o.outcomes, sizeof(a->o.outcomes));
}

static void check_batch(const mm_state *s, const batch_out *b, const uint64_t *pages,
                        const uint8_t *access, size_t n)
{
    size_t i, m, total = 0;
    int o;

    fuzz_what = "checking a dispatch batch";
    CHECK(b->done <= n);
    CHECK(b->status == PB_OK || b->status == PB_E_FULL || b->status == PB_E_RANGE);
    CHECK((b->status == PB_OK) == (b->done == n));
    if (b->status == PB_E_RANGE)
        CHECK(pages[b->done] >= s->mm.npages || access[b->done] > PB_ACCESS_EXEC);
    if (b->status == PB_E_FULL)
        CHECK(b->o.msg_cap - b->o.msg_n < PB_MAX_PASSES);
    CHECK(b->o.msg_n <= b->o.msg_cap);
    for (i = 0; i < b->done; i++) {
        CHECK(b->o.handler[i] < PB_H_COUNT && b->o.last[i] < PB_H_COUNT);
        CHECK(b->o.outcome[i] < PB_O_COUNT);
        CHECK(b->o.passes[i] >= 1 && b->o.passes[i] <= PB_MAX_PASSES);
    }
    for (m = 0; m < b->o.msg_n; m++) {
        uint64_t f = b->o.msg_fault[m];

        CHECK(f < b->done && (m == 0 || b->o.msg_fault[m - 1] <= f));
        CHECK(b->o.msg_page[m] == pages[f]);
        CHECK((b->o.msg_kind[m] & ~PB_MSG_WRITE) <= PB_MSG_MINOR);
        CHECK(!!(b->o.msg_kind[m] & PB_MSG_WRITE) == (access[f] == PB_ACCESS_WRITE));
    }
    for (o = 0; o < PB_O_COUNT; o++)
        total += b->o.outcomes[o];
    CHECK(total == b->done);
}

static void op_dispatch(mm_state *s, uint64_t e)
{
    size_t n = 1 + ((e >> 4) & 7), i, cap;
    uint64_t pages[MAX_BATCH];
    uint8_t access[MAX_BATCH];
    uint32_t resolve = (uint32_t)(e >> 7) & 31;
    int retry = (e >> 12) & 1, trace = (e >> 13) & 1;
    uint64_t *pg = fuzz_alloc(n, sizeof(uint64_t));
    uint8_t *acc = fuzz_alloc(n, 1);
    mm_state twin;
    batch_out a, b;

    for (i = 0; i < n; i++) {
        uint64_t f = e >> (14 + 6 * i);       /* 6 bits a fault, reused past bit 63 */

        pages[i] = pg[i] = (f & 63) % (s->mm.npages + 1);   /* one past the end: E_RANGE */
        access[i] = acc[i] = (uint8_t)(((f >> 5) & 1) | (((e >> (60 + i % 4)) & 1) << 1) % 3);
    }
    cap = (e >> 62) ? n * PB_MAX_PASSES : (e >> 56) % (n * PB_MAX_PASSES + 1);
    copy_state(&twin, s);
    alloc_out(&a, n, cap, trace);
    alloc_out(&b, n, cap, trace);
    a.status = pb_dispatch(&prof, &s->mm, pg, acc, n, 0, resolve, retry, &a.o, &a.done);
    b.status = pb_dispatch(&prof, &twin.mm, pg, acc, n, 0, resolve, retry, &b.o, &b.done);
    check_batch(s, &a, pages, access, n);
    fuzz_what = "dispatching the same batch twice";
    CHECK(same_out(&a, &b));
    CHECK(same_state(s, &twin));
    free_out(&a);
    free_out(&b);
    free_state(&twin);
    free(pg);
    free(acc);
}

/* ----------------------------------------------------- other operations */

static void op_other(mm_state *s, uint64_t e, reader *r)
{
    uint64_t first = (e >> 8) % (s->mm.npages + 2);
    uint64_t count = (e >> 16) % (s->mm.npages + 2);
    int arg = (int)(e >> 24) & 7, st;
    pb_vma *v = s->mm.nvmas ? &s->vmas[(e >> 28) % s->mm.nvmas] : NULL;
    pb_object *o = &s->objects[(e >> 30) % s->mm.nobjects];

    switch (e & 15) {
    case 4:
        fuzz_what = "pb_mm_writeprotect";
        st = pb_mm_writeprotect(&prof, &s->mm, first, count, arg & 1);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE || st == PB_E_FLAG);
        break;
    case 5:
        fuzz_what = "pb_mm_zap";
        st = pb_mm_zap(&prof, &s->mm, first, count, arg);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE || (arg > 3 && st == PB_E_OP));
        break;
    case 6:
        fuzz_what = "pb_mm_swap_out";
        st = pb_mm_swap_out(&prof, &s->mm, first, count);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE);
        break;
    case 7:                                   /* mprotect: new flags, then the PTEs */
        if (!v)
            break;
        fuzz_what = "mprotect (pb_mm_change_prot)";
        v->flags = (v->flags & ~(PB_VMA_READ | PB_VMA_WRITE | PB_VMA_EXEC)) |
                   ((uint32_t)arg << 2);
        v->prot = pb_vma_page_prot(&prof, v->flags);
        st = pb_mm_change_prot(&prof, &s->mm, v->start, v->end - v->start);
        CHECK(st == PB_OK);
        break;
    case 8:
        fuzz_what = "pb_mm_numa_hint";
        st = pb_mm_numa_hint(&prof, &s->mm, first, count);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE || st == PB_E_FLAG);
        break;
    case 9:
        fuzz_what = "pb_mm_uffd_copy";
        st = pb_mm_uffd_copy(&prof, &s->mm, first, arg & 1);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE || st == PB_E_CONFLICT);
        break;
    case 10:
        fuzz_what = "pb_mm_uffd_continue";
        st = pb_mm_uffd_continue(&prof, &s->mm, first, arg & 1);
        CHECK(st == PB_OK || st == PB_E_VMA || st == PB_E_RANGE || st == PB_E_CONFLICT ||
              st == PB_E_FLAG);
        break;
    case 11: {
        uint64_t n = count ? count : 1, *out = fuzz_alloc(n, sizeof(uint64_t));

        fuzz_what = "pb_mm_pagemap";
        pb_mm_pagemap(&prof, &s->mm, first, n, out);   /* pages past the end read as 0 */
        free(out);
        break;
    }
    case 12:                                  /* ftruncate: EOF moves within the cache */
        o->size = (e >> 32) % (o->capacity + 1);
        break;
    case 13:                                  /* UFFDIO_(UN)REGISTER: new uffd bits */
        if (v) {
            uint32_t bits = PB_VMA_UFFD_MASK | PB_VMA_WP_UNPOPULATED | PB_VMA_WP_ASYNC;

            v->flags = (v->flags & ~bits) | ((uint32_t)(e >> 32) & bits);
            v->prot = pb_vma_page_prot(&prof, v->flags);      /* write-notify may change */
        }
        break;
    case 14:                                  /* a raw store, e.g. a crashed machine's PTE */
        if (first < s->mm.npages) {
            s->mm.pte[first] = next(r);
            s->raw[first] = !canonical(s->mm.pte[first]);
        }
        break;
    default:                                  /* 15: the page cache loses a page */
        if (first < o->capacity)
            o->cache[first] = 0;
        break;
    }
}

/* Operations per input: enough for long fault / zap / swap histories. */
#define MAX_OPS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in;
    reader r;
    mm_state s;
    uint64_t *before;
    int ops;

    if (!fuzz_parse(data, size, &in))
        return 0;
    if (pb_profile_init(&prof, in.kernel, in.config) != PB_OK)
        __builtin_trap();                          /* any 8 knob bits are a profile */
    r.in = &in;
    r.i = 0;
    build(&s, &r, in.mode & 1);
    before = fuzz_alloc(s.mm.npages, sizeof(uint64_t));
    for (ops = 0; ops < MAX_OPS && r.i < in.n; ops++) {
        uint64_t e = next(&r);

        memcpy(before, s.mm.pte, s.mm.npages * sizeof(uint64_t));
        if ((e & 15) < 4)
            op_dispatch(&s, e);
        else
            op_other(&s, e, &r);
        fuzz_what = "checking the PTEs the model wrote";
        check_writes(&s, before);
    }
    free(before);
    free_state(&s);
    fuzz_free(&in);
    return 0;
}
