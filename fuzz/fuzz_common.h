/*
 * fuzz_common.h - what every libFuzzer target of the C core shares: reading
 * the input as a profile choice plus little-endian uint64 entries, exact-size
 * heap copies (so AddressSanitizer sees any access past an array), and the
 * CHECK macro that names the broken invariant before trapping.
 *
 * Input layout of every target:
 *   byte 0   profile kernel: bit 0 clear = 5.12 + uffd-wp v2, set = 6.18;
 *            the other bits are the target's own mode bits
 *   byte 1   PB_CFG_* knob bits (all 8 knobs, any combination)
 *   rest     entries, 8 bytes each, little-endian; the length of a short
 *            tail is a mode bit of its own (see the target)
 *
 * A new target (e.g. fuzz_dispatch.c for the fault model) includes this
 * header, defines LLVMFuzzerTestOneInput, and gets a corpus directory
 * fuzz/corpus/<name>/ (<name> = file name without "fuzz_" and ".c"):
 * fuzz/build.sh, fuzz/run.sh and tests/test_fuzz.py pick it up.
 */
#ifndef PTEBITS_FUZZ_COMMON_H
#define PTEBITS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptebits.h"

/* Entries per input: enough for several decode blocks' groups of 8 and a
 * partial tail, small enough that each run stays fast. */
#define FUZZ_MAX_ENTRIES 1100

typedef struct fuzz_input {
    int kernel;            /* PB_KERNEL_* */
    uint32_t config;       /* PB_CFG_* */
    uint8_t mode;          /* byte 0 without the kernel bit */
    size_t n;              /* entries */
    size_t tail;           /* bytes after the last whole entry (0-7) */
    uint64_t *v;           /* exactly n entries on the heap (NULL if n == 0) */
} fuzz_input;

/* Failure context printed with every broken invariant. */
static const char *fuzz_what = "";
static uint64_t fuzz_raw;
static int fuzz_level = -1;
static const fuzz_input *fuzz_in;

#define CHECK(cond) do {                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "ptebits fuzz: invariant broken at %s:%d: %s\n"     \
                    "  while %s: kernel %d config %#x level %d raw %#018llx\n",  \
                    __FILE__, __LINE__, #cond, fuzz_what,                       \
                    fuzz_in ? fuzz_in->kernel : -1,                             \
                    fuzz_in ? (unsigned)fuzz_in->config : 0u, fuzz_level,       \
                    (unsigned long long)fuzz_raw);                              \
            __builtin_trap();                                                   \
        }                                                                       \
    } while (0)

static inline uint64_t fuzz_load_le64(const uint8_t *b)
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* Parses data into in; returns 0 when the input is too short to use. */
static inline int fuzz_parse(const uint8_t *data, size_t size, fuzz_input *in)
{
    size_t i;

    if (size < 2)
        return 0;
    in->kernel = (data[0] & 1) ? PB_KERNEL_6_18 : PB_KERNEL_5_12_UFFD_WP_V2;
    in->mode = data[0] >> 1;
    in->config = data[1];
    in->n = (size - 2) / 8;
    in->tail = (size - 2) % 8;
    if (in->n > FUZZ_MAX_ENTRIES)
        in->n = FUZZ_MAX_ENTRIES;
    in->v = in->n ? malloc(in->n * sizeof(uint64_t)) : NULL;
    for (i = 0; i < in->n; i++)
        in->v[i] = fuzz_load_le64(data + 2 + 8 * i);
    fuzz_in = in;
    return 1;
}

static inline void fuzz_free(fuzz_input *in)
{
    free(in->v);
    in->v = NULL;
    fuzz_in = NULL;
}

/* An exact-size heap array (at least one byte, so malloc never returns a
 * pointer callers may not index), filled with a canary pattern. */
static inline void *fuzz_alloc(size_t count, size_t size)
{
    size_t bytes = count * size;
    void *p = malloc(bytes ? bytes : 1);

    if (!p)
        abort();
    memset(p, 0xa5, bytes ? bytes : 1);
    return p;
}

#endif /* PTEBITS_FUZZ_COMMON_H */
