/*
 * decode_block.h - the block buffers decode.c decodes into, and the
 * AVX-512 form of decode() (decode_avx512.c) that fills them where the CPU
 * has it.  Internal to csrc/.
 */
#ifndef PTEBITS_DECODE_BLOCK_H
#define PTEBITS_DECODE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "ptebits.h"

#define PB_BLOCK 512    /* entries decoded into the buffers at a time */

/* Column buffers of one block (kept apart from the caller's arrays).  The
 * 64-bit columns are 1 KiB apart modulo 4 KiB, and pb_block_place() puts
 * them 1-3 KiB past the input modulo 4 KiB: a load of the input whose
 * address matched a recent store's in its low 12 bits would wait on it
 * (4 KiB aliasing), which made decode up to 40% slower in some processes. */
typedef struct pb_block {
    uint64_t pfn[PB_BLOCK];
    uint8_t pad1[1024];
    uint64_t flags[PB_BLOCK];
    uint8_t pad2[1024];
    uint64_t swp_offset[PB_BLOCK];
    uint16_t aux[PB_BLOCK];
    uint8_t kind[PB_BLOCK], swp_type[PB_BLOCK];
} pb_block;

/* Room for a pb_block anywhere modulo 4 KiB. */
typedef struct pb_block_room {
    uint64_t words[(sizeof(pb_block) + 4096) / sizeof(uint64_t)];
} pb_block_room;

/* The pb_block in room whose pfn column starts 1 KiB past input (mod 4 KiB). */
static inline pb_block *pb_block_place(pb_block_room *room, const void *input)
{
    uintptr_t base = (uintptr_t)room->words;
    uintptr_t skip = (((uintptr_t)input + 1024 - base) & 4095) & ~(uintptr_t)63;

    return (pb_block *)(void *)(room->words + skip / sizeof(uint64_t));
}

/* decode() of v[0..m) into b, 8 entries at a time; returns how many it
 * decoded (m rounded down to a multiple of 8; the caller does the rest).
 * Call only where pb_decode_vector_isa() is PB_ISA_AVX512. */
size_t pb_decode_block_avx512(const pb_profile *p, const uint64_t *v, size_t m, pb_block *b);

#endif /* PTEBITS_DECODE_BLOCK_H */
