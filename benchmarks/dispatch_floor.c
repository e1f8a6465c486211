/*
 * dispatch_floor.c - how fast can a dispatch of 10Mi faults be at all?
 *
 * A deliberately minimal stand-in for three of the dispatch benchmark's
 * sequential mixes (ptebits.bench_fault), not a model: each loop hard-codes
 * the one path its mix takes and does only the memory traffic the result
 * requires (read the page index, the access and the PTE; write the PTE, the
 * four per-fault result bytes and, for wp_write_resolve, one message of
 * fault index, page and kind).  It answers what the fault model's speed
 * target (sequential mixes <= 5x numpy's copy of the PTE array) leaves for
 * the kernel's decision path on this machine.
 *
 *   gcc -O2 -o /tmp/dispatch_floor benchmarks/dispatch_floor.c && /tmp/dispatch_floor
 *
 * Prints each loop's time next to memcpy of the 80 MiB PTE array (what
 * numpy's copy does), median of 7 runs.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N ((size_t)10 << 20)
#define RUNS 7

static double now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct outputs {
    uint8_t *handler, *last, *outcome, *passes;
    uint64_t *msg_fault, *msg_page;
    uint8_t *msg_kind;
} outputs;

/* present_spurious: a read of a present young PTE changes nothing */
static __attribute__((noinline)) int spurious(uint64_t *pte, const uint64_t *pages,
                                              const uint8_t *acc, outputs *o)
{
    size_t i;

    for (i = 0; i < N; i++) {
        uint64_t pg = pages[i], e;

        if (pg >= N || acc[i] > 2)
            return -1;
        e = pte[pg];
        if ((e & 0x21) != 0x21)
            return -2;
        o->handler[i] = o->last[i] = 29;
        o->outcome[i] = 0;
        o->passes[i] = 1;
    }
    return 0;
}

/* anon_first_touch: a write to a none PTE installs a new writable page */
static __attribute__((noinline)) int first_touch(uint64_t *pte, const uint64_t *pages,
                                                 const uint8_t *acc, outputs *o, uint64_t pfn)
{
    size_t i;

    for (i = 0; i < N; i++) {
        uint64_t pg = pages[i];

        if (pg >= N || acc[i] > 2)
            return -1;
        if (pte[pg] != 0)
            return -2;
        pte[pg] = (pfn++ << 12) | 0x8000000000000867ull;
        o->handler[i] = o->last[i] = 3;
        o->outcome[i] = 0;
        o->passes[i] = 1;
    }
    return 0;
}

/* wp_write_resolve: a write to a uffd-wp PTE sends a message, is
 * un-protected and completes on the second pass */
static __attribute__((noinline)) int wp_resolve(uint64_t *pte, const uint64_t *pages,
                                                const uint8_t *acc, outputs *o)
{
    size_t i, m = 0;

    for (i = 0; i < N; i++) {
        uint64_t pg = pages[i], e;

        if (pg >= N || acc[i] > 2)
            return -1;
        e = pte[pg];
        if ((e & 0x403) != 0x401)
            return -2;
        o->msg_fault[m] = i;
        o->msg_page[m] = pg;
        o->msg_kind[m] = (uint8_t)(acc[i] | 4);
        m++;
        pte[pg] = (e & ~(uint64_t)0x400) | 0x62 | ((uint64_t)1 << 58);
        o->handler[i] = 26;
        o->last[i] = 30;
        o->outcome[i] = 0;
        o->passes[i] = 2;
    }
    return 0;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *t)
{
    qsort(t, RUNS, sizeof *t, cmp);
    return t[RUNS / 2];
}

static void *big(size_t bytes)
{
    void *p = malloc(bytes);

    if (!p) {
        perror("dispatch_floor");
        exit(4);
    }
    memset(p, 0, bytes);          /* fault every page in before timing */
    return p;
}

int main(void)
{
    uint64_t *pte = big(N * 8), *pages = big(N * 8), *copy = big(N * 8);
    uint8_t *acc = big(N);
    outputs o;
    double tc[RUNS], ts[RUNS], ta[RUNS], tw[RUNS], c;
    int r, bad = 0;
    size_t i;

    o.handler = big(N);
    o.last = big(N);
    o.outcome = big(N);
    o.passes = big(N);
    o.msg_fault = big(N * 8);
    o.msg_page = big(N * 8);
    o.msg_kind = big(N);
    for (i = 0; i < N; i++)
        pages[i] = i;
    for (r = 0; r < RUNS; r++) {
        double t0;

        for (i = 0; i < N; i++)
            pte[i] = (i << 12) | 0x8000000000000867ull;
        t0 = now();
        memcpy(copy, pte, N * 8);
        tc[r] = now() - t0;
        memset(acc, 0, N);
        t0 = now();
        bad |= spurious(pte, pages, acc, &o);
        ts[r] = now() - t0;
        memset(pte, 0, N * 8);
        memset(acc, 1, N);
        t0 = now();
        bad |= first_touch(pte, pages, acc, &o, 0x1000);
        ta[r] = now() - t0;
        for (i = 0; i < N; i++)
            pte[i] = (i << 12) | 0x8000000000000425ull;
        t0 = now();
        bad |= wp_resolve(pte, pages, acc, &o);
        tw[r] = now() - t0;
    }
    if (bad || copy[RUNS] == 7) {
        fprintf(stderr, "dispatch_floor: a loop met a PTE it does not expect\n");
        return 1;
    }
    c = median(tc);
    printf("memcpy of the %zu-entry PTE array: %.1f ms\n", (size_t)N, c * 1e3);
    printf("minimal present_spurious: %6.1f ms  %.2fx the copy\n", median(ts) * 1e3,
           median(ts) / c);
    printf("minimal anon_first_touch: %6.1f ms  %.2fx the copy\n", median(ta) * 1e3,
           median(ta) / c);
    printf("minimal wp_write_resolve: %6.1f ms  %.2fx the copy\n", median(tw) * 1e3,
           median(tw) / c);
    return 0;
}
