/*
 * ptebits.h - x86-64 page-table entry layouts as Linux encodes them.
 *
 * The single source of every bit position in ptebits: the Python layer reads
 * these numbers through cffi and never types them again.
 *
 * Two kernels are described (selected at run time by a pb_profile, never by
 * #ifdef):
 *   5.12  = Linux 5.12.9 plus Peter Xu's "userfaultfd-wp: Support shmem and
 *           hugetlbfs" v2 series (April 2021), which adds the uffd-wp special
 *           swap PTE (raw value 0x4).
 *   6.18  = Linux 6.18.35 (mainline PTE markers).
 * Sources: arch/x86/include/asm/{pgtable_types.h,pgtable_64.h,pgtable.h,
 * pgtable-invert.h}, include/linux/{swap.h,swapops.h}, fs/proc/task_mmu.c of
 * each version; the v2 series' patches 03/24 and 04/24 for the special PTE.
 *
 * Plain C99, no global state: every function is pure over its arguments.
 */
#ifndef PTEBITS_H
#define PTEBITS_H

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------
 * Present PTE (4 KiB leaf).  arch/x86/include/asm/pgtable_types.h, 5.12.9 and
 * 6.18.35 (the rows that differ are marked).
 *
 *  63  62..59  58     57     56..52  51 ...... 12  11  10  9   8   7   6  5  4   3   2   1  0
 *  NX  PKEY    SW5    SW4    -       PFN           SW3 SW2 SW1 G   PAT D  A  PCD PWT U   RW P
 *              5.12: DEVMAP (SOFTW4 = 58)          SD  UWP SPL
 *              6.18: SAVED_DIRTY (SOFTW5 = 58)
 *
 * PROT_NONE / NUMA-hinting PTE: P = 0 and bit 8 (GLOBAL) is PROTNONE; the
 * PFN field is stored inverted (L1TF, pgtable-invert.h).
 * ------------------------------------------------------------------------ */
#define PB_PAGE_BIT_PRESENT     0   /* the MMU may use the entry */
#define PB_PAGE_BIT_RW          1   /* writeable */
#define PB_PAGE_BIT_USER        2   /* user-space addressable */
#define PB_PAGE_BIT_PWT         3   /* page write-through */
#define PB_PAGE_BIT_PCD         4   /* page cache disabled */
#define PB_PAGE_BIT_ACCESSED    5   /* set by the CPU on access */
#define PB_PAGE_BIT_DIRTY       6   /* set by the CPU on write */
#define PB_PAGE_BIT_PAT         7   /* PAT on 4 KiB pages, PSE on PMD/PUD */
#define PB_PAGE_BIT_GLOBAL      8   /* global TLB entry */
#define PB_PAGE_BIT_SOFTW1      9
#define PB_PAGE_BIT_SOFTW2      10
#define PB_PAGE_BIT_SOFTW3      11
#define PB_PAGE_BIT_PKEY_BIT0   59  /* protection key, 4 bits */
#define PB_PAGE_BIT_NX          63  /* no execute */

/* Software bits, named after their role (pgtable_types.h). */
#define PB_PAGE_BIT_SPECIAL     PB_PAGE_BIT_SOFTW1  /* no struct page behind it */
#define PB_PAGE_BIT_UFFD_WP     PB_PAGE_BIT_SOFTW2  /* HAVE_ARCH_USERFAULTFD_WP */
#define PB_PAGE_BIT_SOFT_DIRTY  PB_PAGE_BIT_SOFTW3  /* CONFIG_MEM_SOFT_DIRTY */
/* 5.12: SOFTW4 = 58 carries DEVMAP.  6.6+ renumbered: SOFTW4 = 57 (DEVMAP until
 * its removal before 6.18), SOFTW5 = 58 = SAVED_DIRTY, so that a write-protected
 * dirty PTE never reads as a shadow-stack PTE (Write=0, Dirty=1). */
#define PB_PAGE_BIT_DEVMAP_5_12       58
#define PB_PAGE_BIT_SOFTW4_6_18       57
#define PB_PAGE_BIT_SAVED_DIRTY_6_18  58
/* PROTNONE borrows GLOBAL: only meaningful while PRESENT is clear. */
#define PB_PAGE_BIT_PROTNONE    PB_PAGE_BIT_GLOBAL

#define PB_BIT(n)               ((uint64_t)1 << (n))
#define PB_PAGE_PRESENT         PB_BIT(PB_PAGE_BIT_PRESENT)
#define PB_PAGE_RW              PB_BIT(PB_PAGE_BIT_RW)
#define PB_PAGE_USER            PB_BIT(PB_PAGE_BIT_USER)
#define PB_PAGE_PWT             PB_BIT(PB_PAGE_BIT_PWT)
#define PB_PAGE_PCD             PB_BIT(PB_PAGE_BIT_PCD)
#define PB_PAGE_ACCESSED        PB_BIT(PB_PAGE_BIT_ACCESSED)
#define PB_PAGE_DIRTY           PB_BIT(PB_PAGE_BIT_DIRTY)
#define PB_PAGE_PAT             PB_BIT(PB_PAGE_BIT_PAT)
#define PB_PAGE_GLOBAL          PB_BIT(PB_PAGE_BIT_GLOBAL)
#define PB_PAGE_PROTNONE        PB_BIT(PB_PAGE_BIT_PROTNONE)
#define PB_PAGE_SPECIAL         PB_BIT(PB_PAGE_BIT_SPECIAL)
#define PB_PAGE_NX              PB_BIT(PB_PAGE_BIT_NX)
#define PB_PAGE_PKEY_MASK       ((uint64_t)0xf << PB_PAGE_BIT_PKEY_BIT0)

/* PTE_PFN_MASK = PAGE_MASK & __PHYSICAL_MASK, __PHYSICAL_MASK_SHIFT = 52 in
 * both kernels (no SME/TDX: the mask is then a compile-time constant). */
#define PB_PAGE_SHIFT           12
#define PB_PHYSICAL_MASK_SHIFT  52
#define PB_PTE_PFN_MASK         (((uint64_t)1 << PB_PHYSICAL_MASK_SHIFT) - ((uint64_t)1 << PB_PAGE_SHIFT))
#define PB_PFN_BITS             (PB_PHYSICAL_MASK_SHIFT - PB_PAGE_SHIFT)  /* 40 */

/* Standard user pgprots (pgtable_types.h, identical in 5.12 and 6.18). */
#define PB_PAGE_NONE            (PB_PAGE_ACCESSED | PB_PAGE_PROTNONE)
#define PB_PAGE_SHARED          (PB_PAGE_PRESENT | PB_PAGE_RW | PB_PAGE_USER | PB_PAGE_ACCESSED | PB_PAGE_NX)
#define PB_PAGE_SHARED_EXEC     (PB_PAGE_PRESENT | PB_PAGE_RW | PB_PAGE_USER | PB_PAGE_ACCESSED)
#define PB_PAGE_COPY_NOEXEC     (PB_PAGE_PRESENT | PB_PAGE_USER | PB_PAGE_ACCESSED | PB_PAGE_NX)
#define PB_PAGE_COPY_EXEC       (PB_PAGE_PRESENT | PB_PAGE_USER | PB_PAGE_ACCESSED)
#define PB_PAGE_COPY            PB_PAGE_COPY_NOEXEC
#define PB_PAGE_READONLY        PB_PAGE_COPY_NOEXEC
#define PB_PAGE_READONLY_EXEC   PB_PAGE_COPY_EXEC
#define PB_PAGE_KERNEL          (PB_PAGE_PRESENT | PB_PAGE_RW | PB_PAGE_ACCESSED | PB_PAGE_DIRTY | PB_PAGE_GLOBAL | PB_PAGE_NX)

/* ------------------------------------------------------------------------
 * Swap-format PTE (arch/x86/include/asm/pgtable_64.h, 5.12.9 and 6.18.35).
 *
 *  63 .. 59  58 ............................. 9  8  7  6  5  4  3  2  1  0
 *  [ type  ][ ~offset (50 bits, inverted: L1TF) ][0][0][x][x][0][E][U][S][0]
 *
 *  S = _PAGE_SWP_SOFT_DIRTY (bit 1, = RW; only with MEM_SOFT_DIRTY)
 *  U = _PAGE_SWP_UFFD_WP    (bit 2, = USER; HAVE_ARCH_USERFAULTFD_WP)
 *  E = _PAGE_SWP_EXCLUSIVE  (bit 3, = PWT; 5.19+, so 6.18 only)
 *  Bits 0 and 8 must be clear (else pte_present), 5/6 are avoided (A/D
 *  erratum), 7 is clear (PSE: a PMD migration entry must not look huge).
 *
 *  encode: raw = (~offset << 14 >> 5) | type << 59; decode: offset =
 *  ~raw << 5 >> 14.  Offset 2^50-1 with type 0 is raw 0 (pte_none).
 *
 * Swap formats by kind (a row per entry format; offset shown decoded):
 *  swap        type < MAX_SWAPFILES           offset = slot
 *  migration   type = SWP_MIGRATION_*         offset = pfn | young << SWP_PFN_BITS | dirty << SWP_PFN_BITS+1 (6.18)
 *  device      type = SWP_DEVICE_*            offset = pfn
 *  hwpoison    type = SWP_HWPOISON            offset = pfn
 *  marker      type = SWP_PTE_MARKER (6.18)   offset = PTE_MARKER_* bits; uffd-wp marker = 0xfffffffffffffc00
 *  special     raw == 0x4 exactly (5.12 + v2) the uffd-wp special PTE, outside the type space
 * ------------------------------------------------------------------------ */
#define PB_SWP_TYPE_BITS        5                      /* MAX_SWAPFILES_SHIFT */
#define PB_SWP_NTYPES           (1 << PB_SWP_TYPE_BITS)
#define PB_SWP_OFFSET_FIRST_BIT (PB_PAGE_BIT_PROTNONE + 1)  /* 9 */
#define PB_SWP_OFFSET_SHIFT     (PB_SWP_OFFSET_FIRST_BIT + PB_SWP_TYPE_BITS)  /* 14 */
#define PB_SWP_TYPE_SHIFT       (64 - PB_SWP_TYPE_BITS)  /* 59 */
#define PB_SWP_OFFSET_BITS      (64 - PB_SWP_OFFSET_SHIFT)  /* 50 */
#define PB_PAGE_BIT_SWP_SOFT_DIRTY  PB_PAGE_BIT_RW
#define PB_PAGE_BIT_SWP_UFFD_WP     PB_PAGE_BIT_USER
#define PB_PAGE_BIT_SWP_EXCLUSIVE   PB_PAGE_BIT_PWT

/* 6.18 PTE markers (include/linux/swapops.h): the offset of a type-31 entry. */
#define PB_PTE_MARKER_UFFD_WP   1u   /* BIT(0) */
#define PB_PTE_MARKER_POISONED  2u   /* BIT(1), was SWAPIN_ERROR */
#define PB_PTE_MARKER_GUARD     4u   /* BIT(2), MADV_GUARD_INSTALL */
#define PB_PTE_MARKER_MASK      7u

/* v2 series 03/24: UFFD_WP_SWP_PTE_SPECIAL = __pte(_PAGE_SWP_UFFD_WP). */
#define PB_UFFD_WP_SWP_PTE_SPECIAL_V2  PB_BIT(PB_PAGE_BIT_SWP_UFFD_WP)

/* MAX_PHYSMEM_BITS (arch/x86/include/asm/sparsemem.h): 46 on 4-level, 52 on
 * 5-level paging; 6.18's SWP_PFN_BITS = MAX_PHYSMEM_BITS - PAGE_SHIFT. */
#define PB_MAX_PHYSMEM_BITS_4LEVEL 46
#define PB_MAX_PHYSMEM_BITS_5LEVEL 52

/* ------------------------------------------------------------------------
 * Upper levels: PMD, PUD, P4D, PGD entries.  arch/x86/include/asm/
 * {pgtable_types.h, pgtable.h, pgtable_64_types.h, page_types.h} of 6.12.x
 * (Debian linux-source-6.12, taken for 6.18) and 5.10.13 (taken for 5.12);
 * the rows below are identical in both unless marked.
 *
 * Table pointer (any level; PSE clear at PMD/PUD, reserved at P4D/PGD):
 *  63  62 ... 52  51 ............ 12  11..8  7    6  5  4   3   2   1  0
 *  NX  (ignored)  PFN of the table    (ign.) PSE  D  A  PCD PWT U   RW P
 *      user tables are _PAGE_TABLE = P|RW|USER|A|D (0x67); D is ignored by
 *      the CPU but Linux sets it; p?d_pfn() = (v & PTE_PFN_MASK) >> 12.
 *
 * Huge leaf, 2 MiB at the PMD (shift 21) or 1 GiB at the PUD (shift 30):
 *  63  62..59  58   57..52  51 ........ S  S-1 .. 13  12         11..8 as a PTE  7    6..0 as a PTE
 *  NX  PKEY    SW5  -       PFN (aligned)  reserved   PAT_LARGE  SD UWP SPL G    PSE  D A PCD PWT U RW P
 *  p?d_pfn() = ((v ^ protnone_mask(v)) & PHYSICAL_P?D_PAGE_MASK) >> 12: the
 *  huge page's first PFN, a multiple of 512 (PMD) or 512*512 (PUD); bit 12
 *  (PAT_LARGE) and the reserved bits are flags, never PFN bits.
 *
 * PROT_NONE huge leaf (P = 0, PSE = 1, PROTNONE = 1; the PFN inverted):
 *  pmd_modify()/pud_modify() and pfn_pmd()/pfn_pud() invert bits S..51 only:
 *      bits 12..S-1 are as in the present entry (PAT_LARGE, zeros).
 *  hugetlbfs (mm/hugetlb.c hugetlb_change_protection -> huge_pte_modify()
 *  = pte_modify(), include/asm-generic/hugetlb.h) inverts the 4 KiB PFN
 *  field, bits 12..51: bits 13..S-1 then read all ones and bit 12 is NOT
 *  PAT_LARGE.  ptebits calls this form "invert_4k" and undoes it in flags.
 *  pmdp_invalidate() (pmd_mkinvalid) clears PRESENT and PROTNONE, keeps PSE
 *  and the other flags, PFN inverted: still pmd_present() (which tests
 *  P|PROTNONE|PSE), so also kind protnone.
 *
 * Non-present PMD/PUD: the swap format above (pgtable_64.h: "Bit 7 in swp
 * entry should be 0 because pmd_present checks not only P, but also L and
 * G"), written by THP migration (mm/huge_memory.c set_pmd_migration_entry:
 * type migration, offset = the head page's PFN, young/dirty, swp soft-dirty
 * and uffd-wp bits) and by hugetlbfs, whose entries are PTE-format at the
 * PMD/PUD: migration, hwpoison, 6.18 markers (uffd-wp, poisoned: mm/hugetlb.c
 * hugetlb_change_protection, hugetlb_mfill_atomic_pte) and the v2 series'
 * special 0x4 (patches 19-22).  Never written there: real swap slots (a THP
 * is split before swap-out), device entries (device-private THP came after
 * 6.18), guard markers (mm/madvise.c is_valid_guard_vma refuses VM_HUGETLB).
 *
 * Predicates (pgtable.h): pmd_none/pud_none/p4d_none ignore A/D like
 * pte_none; pgd_none is "== 0" with 5-level paging.  pmd_present = P |
 * PROTNONE | PSE; pud_present, p4d_present, pgd_present = P.  pmd_leaf =
 * PSE; pud_leaf = PSE (6.12), PSE && P (5.10 pud_large, taken for 5.12).
 * No 512 GiB pages: p4d_leaf() is always 0.  With 4-level paging (no la57) the P4D is
 * folded into the PGD: p4d_offset() returns the PGD entry itself, pgd_none()
 * is 0 and pgd_present() 1 for every entry, and the table CR3 points to
 * holds p4d entries; ptebits decodes a "pgd" dump of it by the p4d rules.
 * ------------------------------------------------------------------------ */
#define PB_LEVEL_PTE            0
#define PB_LEVEL_PMD            1
#define PB_LEVEL_PUD            2
#define PB_LEVEL_P4D            3
#define PB_LEVEL_PGD            4
#define PB_LEVEL_COUNT          5

#define PB_PAGE_BIT_PSE         7   /* _PAGE_BIT_PSE: a huge leaf at PMD/PUD */
#define PB_PAGE_BIT_PAT_LARGE   12  /* _PAGE_BIT_PAT_LARGE: PAT of 2 MiB/1 GiB leaves */
#define PB_PAGE_PSE             PB_BIT(PB_PAGE_BIT_PSE)
#define PB_PAGE_PAT_LARGE       PB_BIT(PB_PAGE_BIT_PAT_LARGE)

/* pgtable_64_types.h: PMD_SHIFT 21, PUD_SHIFT 30, P4D_SHIFT 39, PGDIR_SHIFT
 * 39 (4-level) or 48 (5-level, pgdir_shift). */
#define PB_PMD_SHIFT            21
#define PB_PUD_SHIFT            30
#define PB_P4D_SHIFT            39
#define PB_PGDIR_SHIFT_4LEVEL   39
#define PB_PGDIR_SHIFT_5LEVEL   48
/* page_types.h: PHYSICAL_P?D_PAGE_MASK = P?D_MASK & __PHYSICAL_MASK. */
#define PB_PHYSICAL_PMD_PAGE_MASK (PB_PTE_PFN_MASK & ~(PB_BIT(PB_PMD_SHIFT) - 1))
#define PB_PHYSICAL_PUD_PAGE_MASK (PB_PTE_PFN_MASK & ~(PB_BIT(PB_PUD_SHIFT) - 1))

/* pgtable_types.h _PAGE_TABLE (user tables: pmd_populate, pud_populate...)
 * and _KERNPG_TABLE (kernel tables), both without _ENC (no SME). */
#define PB_PAGE_TABLE           (PB_PAGE_PRESENT | PB_PAGE_RW | PB_PAGE_USER | PB_PAGE_ACCESSED | PB_PAGE_DIRTY)
#define PB_KERNPG_TABLE         (PB_PAGE_PRESENT | PB_PAGE_RW | PB_PAGE_ACCESSED | PB_PAGE_DIRTY)

/* ------------------------------------------------------------------------
 * /proc/PID/pagemap word (fs/proc/task_mmu.c, Documentation/admin-guide/mm/
 * pagemap.rst).
 *  63 PRESENT  62 SWAP  61 FILE  58 GUARD_REGION (6.15+)  57 UFFD_WP (5.13+)
 *  56 MMAP_EXCLUSIVE  55 SOFT_DIRTY  54..0 frame: PFN, or type | offset << 5
 * ------------------------------------------------------------------------ */
#define PB_PM_BIT_SOFT_DIRTY     55
#define PB_PM_BIT_MMAP_EXCLUSIVE 56
#define PB_PM_BIT_UFFD_WP        57
#define PB_PM_BIT_GUARD_REGION   58
#define PB_PM_BIT_FILE           61
#define PB_PM_BIT_SWAP           62
#define PB_PM_BIT_PRESENT        63
#define PB_PM_FLAGS_SHIFT        55
#define PB_PM_FRAME_BITS         55
#define PB_PM_FRAME_MASK         (PB_BIT(PB_PM_FRAME_BITS) - 1)

/* PAGEMAP_SCAN (6.7+): an ioctl on a /proc/PID/pagemap fd that reports page
 * categories by ranges (include/uapi/linux/fs.h, 6.18.35;
 * fs/proc/task_mmu.c pagemap_page_category).  PAGEMAP_SCAN =
 * _IOWR('f', 16, struct pm_scan_arg), with the generic ioctl encoding of
 * include/uapi/asm-generic/ioctl.h: dir << 30 | size << 16 | type << 8 | nr.
 * struct pm_scan_arg is twelve __u64 in this order; struct page_region is
 * three (start, end exclusive, categories). */
#define PB_IOC_NRSHIFT           0
#define PB_IOC_TYPESHIFT         8
#define PB_IOC_SIZESHIFT         16
#define PB_IOC_DIRSHIFT          30
#define PB_IOC_READ_WRITE        3u  /* _IOC_WRITE | _IOC_READ (_IOWR) */
#define PB_PAGEMAP_MAGIC         0x66 /* 'f' */
#define PB_PAGEMAP_SCAN_NR       16
#define PB_PM_SCAN_ARG_SIZE      96  /* sizeof(struct pm_scan_arg) */
#define PB_PAGEMAP_SCAN          ((PB_IOC_READ_WRITE << PB_IOC_DIRSHIFT) | \
                                  (PB_PM_SCAN_ARG_SIZE << PB_IOC_SIZESHIFT) | \
                                  (PB_PAGEMAP_MAGIC << PB_IOC_TYPESHIFT) | \
                                  (PB_PAGEMAP_SCAN_NR << PB_IOC_NRSHIFT))
/* struct pm_scan_arg members, as indices of its __u64 words */
#define PB_PM_SCAN_ARG_WORD_SIZE        0
#define PB_PM_SCAN_ARG_WORD_FLAGS       1
#define PB_PM_SCAN_ARG_WORD_START       2
#define PB_PM_SCAN_ARG_WORD_END         3
#define PB_PM_SCAN_ARG_WORD_WALK_END    4   /* written by the kernel */
#define PB_PM_SCAN_ARG_WORD_VEC         5   /* struct page_region * */
#define PB_PM_SCAN_ARG_WORD_VEC_LEN     6
#define PB_PM_SCAN_ARG_WORD_MAX_PAGES   7
#define PB_PM_SCAN_ARG_WORD_INVERTED    8   /* category_inverted */
#define PB_PM_SCAN_ARG_WORD_MASK        9   /* category_mask */
#define PB_PM_SCAN_ARG_WORD_ANYOF       10  /* category_anyof_mask */
#define PB_PM_SCAN_ARG_WORD_RETURN      11  /* return_mask */
#define PB_PM_SCAN_ARG_WORDS            12
#define PB_PAGE_REGION_WORDS            3
/* category bits (PAGE_IS_*); GUARD since 6.15, absent in 6.12 */
#define PB_PAGE_IS_WPALLOWED     (1u << 0) /* uffd WP_ASYNC VMA that can use markers */
#define PB_PAGE_IS_WRITTEN       (1u << 1) /* not uffd-wp in any form */
#define PB_PAGE_IS_FILE          (1u << 2)
#define PB_PAGE_IS_PRESENT       (1u << 3)
#define PB_PAGE_IS_SWAPPED       (1u << 4) /* any non-none non-present pte */
#define PB_PAGE_IS_PFNZERO       (1u << 5) /* the shared zero page */
#define PB_PAGE_IS_HUGE          (1u << 6)
#define PB_PAGE_IS_SOFT_DIRTY    (1u << 7)
#define PB_PAGE_IS_GUARD         (1u << 8)
#define PB_PAGE_IS_COUNT         9

/* Facts about the page behind a PTE that pte_to_pagemap_entry looks up. */
#define PB_PMIN_FILE        1u  /* the folio is not anonymous */
#define PB_PMIN_EXCLUSIVE   2u  /* mapped exactly once */
#define PB_PMIN_SHOW_PFN    4u  /* the reader had CAP_SYS_ADMIN */
#define PB_PMIN_VMA_SOFTDIRTY 8u /* VM_SOFTDIRTY on the VMA */

/* ------------------------------------------------------------------------
 * Kinds, sub-kinds and the "aux" word of a decoded entry.
 * ------------------------------------------------------------------------ */
#define PB_KIND_NONE            0  /* pte_none(): zero but for A/D */
#define PB_KIND_PRESENT         1  /* = the PRESENT bit: codec.c relies on it */
#define PB_KIND_PROTNONE        2  /* pte_present() by bit 8 alone */
#define PB_KIND_SWAP            3  /* a real swap slot */
#define PB_KIND_MIGRATION       4
#define PB_KIND_DEVICE          5
#define PB_KIND_HWPOISON        6
#define PB_KIND_MARKER          7  /* 6.18 PTE marker */
#define PB_KIND_UFFD_WP_SPECIAL 8  /* v2 special PTE 0x4 */
#define PB_KIND_BAD             9  /* what do_swap_page would reject */
#define PB_KIND_TABLE           10 /* upper levels: points to the next table */
#define PB_KIND_COUNT           11

/* pb_decode_vector_isa(): how pb_decode_array decodes mixed stretches */
#define PB_ISA_SCALAR           0  /* per entry, with fast paths for uniform groups */
#define PB_ISA_AVX512           1  /* eight entries per AVX-512F vector, branch-free */

/* Migration and device entries: which special type, as a sub-kind. */
#define PB_SUB_MIGRATION_READ           0
#define PB_SUB_MIGRATION_READ_EXCLUSIVE 1
#define PB_SUB_MIGRATION_WRITE          2
#define PB_SUB_DEVICE_PRIVATE_READ      0
#define PB_SUB_DEVICE_PRIVATE_WRITE     1
#define PB_SUB_DEVICE_EXCLUSIVE         2

/* aux: fields of non-present entries, then two predicates.  Present
 * entries' predicates (pte_write, pte_dirty, pte_young) are views of flags. */
#define PB_AUX_SUB_SHIFT        0   /* 2 bits: PB_SUB_* */
#define PB_AUX_SUB_MASK         3u
#define PB_AUX_MARKER_SHIFT     2   /* 3 bits: PB_PTE_MARKER_* */
#define PB_AUX_SWP_SHIFT        4   /* raw swap flag bits 1-3 -> aux bits 5-7 */
#define PB_AUX_SWP_SOFT_DIRTY   (1u << (PB_PAGE_BIT_SWP_SOFT_DIRTY + PB_AUX_SWP_SHIFT))
#define PB_AUX_SWP_UFFD_WP      (1u << (PB_PAGE_BIT_SWP_UFFD_WP + PB_AUX_SWP_SHIFT))
#define PB_AUX_SWP_EXCLUSIVE    (1u << (PB_PAGE_BIT_SWP_EXCLUSIVE + PB_AUX_SWP_SHIFT))
#define PB_AUX_BIT_MIG_YOUNG    8   /* MIG_DIRTY is the next bit, as in the offset */
#define PB_AUX_BIT_CANONICAL    10
#define PB_AUX_BIT_UFFD_WP_ANY  11
#define PB_AUX_MIG_YOUNG        (1u << PB_AUX_BIT_MIG_YOUNG)
#define PB_AUX_MIG_DIRTY        (1u << (PB_AUX_BIT_MIG_YOUNG + 1))
#define PB_AUX_CANONICAL        (1u << PB_AUX_BIT_CANONICAL)  /* re-encoding gives the raw value */
#define PB_AUX_UFFD_WP_ANY      (1u << PB_AUX_BIT_UFFD_WP_ANY)  /* swap-format entries: uffd-wp in any
                                             * form (swp bit 2, marker, special);
                                             * present entries: see flags bit 10 */
#define PB_AUX_FIELD_MASK       0x3ffu      /* bits an encoder reads */
/* PROT_NONE huge leaves only: the whole 4 KiB PFN field is inverted
 * (hugetlbfs' pte_modify form); flags hold bits 12..S-1 un-inverted.  Read
 * by the upper-level encoder only (outside PB_AUX_FIELD_MASK). */
#define PB_AUX_BIT_INVERT_4K    12
#define PB_AUX_INVERT_4K        (1u << PB_AUX_BIT_INVERT_4K)

/* ------------------------------------------------------------------------
 * Kernel profiles: a kernel version plus the config options that change
 * layouts.  Built by pb_profile_init; a bit the config leaves out is a zero
 * mask, so the code paths need no #ifdef.
 * ------------------------------------------------------------------------ */
#define PB_KERNEL_5_12_UFFD_WP_V2 1
#define PB_KERNEL_6_18            2

#define PB_CFG_MIGRATION        (1u << 0)  /* CONFIG_MIGRATION */
#define PB_CFG_MEMORY_FAILURE   (1u << 1)  /* CONFIG_MEMORY_FAILURE */
#define PB_CFG_DEVICE_PRIVATE   (1u << 2)  /* CONFIG_DEVICE_PRIVATE */
#define PB_CFG_NUMA_BALANCING   (1u << 3)  /* CONFIG_NUMA_BALANCING */
#define PB_CFG_PKEYS            (1u << 4)  /* CONFIG_X86_INTEL_MEMORY_PROTECTION_KEYS */
#define PB_CFG_SOFT_DIRTY       (1u << 5)  /* CONFIG_MEM_SOFT_DIRTY */
#define PB_CFG_UFFD_WP          (1u << 6)  /* CONFIG_HAVE_ARCH_USERFAULTFD_WP */
#define PB_CFG_LA57             (1u << 7)  /* 5-level paging at run time */
#define PB_CFG_ALL              0xffu

#define PB_NO_TYPE              0xff

/* Status codes (0 = ok); pb_strerror() names them. */
#define PB_OK                 0
#define PB_E_PROFILE          1   /* unknown kernel or config */
#define PB_E_KIND             2   /* the profile has no such kind */
#define PB_E_PFN              3   /* PFN out of range */
#define PB_E_OFFSET           4   /* swap offset out of range */
#define PB_E_TYPE             5   /* swap type out of range */
#define PB_E_PROT             6   /* pgprot has bits inside the PFN field */
#define PB_E_FLAG             7   /* a flag the profile does not have */
#define PB_E_CONFLICT         8   /* two flags that exclude each other */
#define PB_E_MARKER           9   /* empty marker or unknown marker bits */
#define PB_E_ALIAS            10  /* the encoding reads back as another kind */
#define PB_E_NOT_PRESENT      11  /* present-PTE helper on a non-present entry */
#define PB_E_NOT_SWAP         12  /* swap-PTE helper on another entry */
#define PB_E_OP               13  /* unknown operation */
#define PB_E_ALIGN            14  /* huge-leaf PFN not aligned to the page size */
#define PB_E_LEVEL            15  /* the level has no such entry (or no such level) */
#define PB_E_FULL             16  /* an output array is full: grow it, go on */
#define PB_E_VMA              17  /* no VMA, or the operation does not apply to it */
#define PB_E_RANGE            18  /* page or object page out of range */
#define PB_E_COUNT            19

/* PTE helpers (arch/x86/include/asm/pgtable.h of each kernel). */
#define PB_OP_WRPROTECT         0
#define PB_OP_MKWRITE           1   /* pte_mkwrite(pte, vma), no shadow stack */
#define PB_OP_MKUFFD_WP         2
#define PB_OP_CLEAR_UFFD_WP     3
#define PB_OP_MKDIRTY           4
#define PB_OP_MKCLEAN           5
#define PB_OP_MKYOUNG           6
#define PB_OP_MKOLD             7
#define PB_OP_MKSOFT_DIRTY      8
#define PB_OP_CLEAR_SOFT_DIRTY  9
#define PB_OP_SWP_MKUFFD_WP     10
#define PB_OP_SWP_CLEAR_UFFD_WP 11
#define PB_OP_SWP_MKSOFT_DIRTY  12
#define PB_OP_SWP_CLEAR_SOFT_DIRTY 13
#define PB_OP_SWP_MKEXCLUSIVE   14
#define PB_OP_SWP_CLEAR_EXCLUSIVE 15
#define PB_OP_MODIFY            16  /* pte_modify(pte, arg) */
#define PB_OP_COUNT             17


/* ------------------------------------------------------------------------
 * The fault model (fault.c): handle_pte_fault over arrays.
 *
 * Handlers are named after the kernel functions that decide what a fault
 * does (mm/memory.c, mm/shmem.c, fs/userfaultfd.c of each profile's
 * kernel).  A fault's "handler" is the most specific function it reached;
 * its "trace" is the set of all functions on its path, one bit per code.
 * ------------------------------------------------------------------------ */
#define PB_H_NONE                       0   /* not dispatched */
#define PB_H_HANDLE_PTE_FAULT           1   /* trace only: every fault */
#define PB_H_DO_PTE_MISSING             2   /* trace only (6.18 name) */
#define PB_H_DO_ANONYMOUS_PAGE          3
#define PB_H_DO_FAULT                   4   /* trace only */
#define PB_H_DO_READ_FAULT              5   /* read, one page */
#define PB_H_DO_FAULT_AROUND            6   /* do_read_fault mapped the page by fault-around */
#define PB_H_DO_COW_FAULT               7
#define PB_H_DO_SHARED_FAULT            8
#define PB_H_DO_SWAP_PTE                9   /* trace only (v2) */
#define PB_H_UFFD_WP_HANDLE_SPECIAL     10  /* v2: special PTE in a uffd-wp file VMA */
#define PB_H_UFFD_WP_CLEAR_SPECIAL      11  /* v2: leftover special PTE cleared */
#define PB_H_DO_SWAP_PAGE               12  /* swap-in of an anonymous page */
#define PB_H_MIGRATION_ENTRY_WAIT       13
#define PB_H_DEVICE_PRIVATE             14  /* pgmap->ops->migrate_to_ram */
#define PB_H_DEVICE_EXCLUSIVE           15  /* remove_device_exclusive_entry */
#define PB_H_SWAP_HWPOISON              16  /* do_swap_page: hwpoison entry */
#define PB_H_SWAP_BAD                   17  /* do_swap_page: print_bad_pte */
#define PB_H_HANDLE_PTE_MARKER          18  /* poisoned, guard or bad marker */
#define PB_H_PTE_MARKER_HANDLE_UFFD_WP  19  /* 6.18: uffd-wp marker in a uffd-wp VMA */
#define PB_H_PTE_MARKER_CLEAR           20  /* 6.18: leftover marker cleared */
#define PB_H_DO_NUMA_PAGE               21
#define PB_H_DO_WP_PAGE                 22  /* trace only */
#define PB_H_WP_PAGE_REUSE              23  /* do_wp_page: reuse (anon exclusive, shared) */
#define PB_H_WP_PAGE_COPY               24  /* do_wp_page: copy (zero page, private file page) */
#define PB_H_WP_ASYNC                   25  /* trace only: do_wp_page cleared uffd-wp itself */
#define PB_H_USERFAULT_WP               26  /* handle_userfault(VM_UFFD_WP) */
#define PB_H_USERFAULT_MISSING          27  /* handle_userfault(VM_UFFD_MISSING) */
#define PB_H_USERFAULT_MINOR            28  /* handle_userfault(VM_UFFD_MINOR) */
#define PB_H_SPURIOUS                   29  /* pte_same, nothing to change */
#define PB_H_SET_ACCESS_FLAGS           30  /* young / dirty update */
#define PB_H_ACCESS_ERROR               31  /* arch fault: VMA forbids the access */
#define PB_H_SIGBUS                     32  /* beyond EOF, or no page for the fault */
#define PB_H_SHMEM_SWAPIN               33  /* trace only: shmem page read back from swap */
#define PB_H_COUNT                      34

/* What a pass of the fault returns to the CPU. */
#define PB_O_DONE      0  /* the access completes */
#define PB_O_REFAULT   1  /* returns 0 and the access faults again */
#define PB_O_WAIT      2  /* waiting on user space (a userfaultfd message) */
#define PB_O_RETRY     3  /* waiting on the kernel (migration, device) */
#define PB_O_SIGSEGV   4
#define PB_O_SIGBUS    5
#define PB_O_HWPOISON  6  /* VM_FAULT_HWPOISON: SIGBUS BUS_MCEERR_AR */
#define PB_O_COUNT     7
#define PB_MAX_PASSES  8  /* a fault that needs more passes is a model bug */
/* New pages one fault may allocate: per pass a page cache page and a
 * copy-on-write copy, and one more for its UFFDIO_COPY/CONTINUE */
#define PB_MAX_FAULT_ALLOCS (PB_MAX_PASSES * 3)

#define PB_ACCESS_READ   0
#define PB_ACCESS_WRITE  1
#define PB_ACCESS_EXEC   2

/* userfaultfd messages: kind in the low bits, the write flag above */
#define PB_MSG_WP        0
#define PB_MSG_MISSING   1
#define PB_MSG_MINOR     2
#define PB_MSG_WRITE     4

/* A VMA: vm_flags the model needs, and the userfaultfd context's features */
#define PB_VMA_ANON          (1u << 0)   /* vma_is_anonymous(): no vm_ops */
#define PB_VMA_SHARED        (1u << 1)   /* VM_SHARED */
#define PB_VMA_READ          (1u << 2)   /* VM_READ */
#define PB_VMA_WRITE         (1u << 3)   /* VM_WRITE */
#define PB_VMA_EXEC          (1u << 4)   /* VM_EXEC */
#define PB_VMA_UFFD_MISSING  (1u << 5)
#define PB_VMA_UFFD_WP       (1u << 6)
#define PB_VMA_UFFD_MINOR    (1u << 7)
#define PB_VMA_UFFD_MASK     (PB_VMA_UFFD_MISSING | PB_VMA_UFFD_WP | PB_VMA_UFFD_MINOR)
#define PB_VMA_WP_UNPOPULATED (1u << 8)  /* UFFD_FEATURE_WP_UNPOPULATED (6.4+) */
#define PB_VMA_WP_ASYNC      (1u << 9)   /* UFFD_FEATURE_WP_ASYNC (6.7+) */
#define PB_VMA_EVENT_REMOVE  (1u << 10)  /* UFFD_FEATURE_EVENT_REMOVE */

/* Resolution policy for dispatch(resolve=): what a handler thread does */
#define PB_RESOLVE_WP           (1u << 0)  /* WP -> UFFDIO_WRITEPROTECT off */
#define PB_RESOLVE_MISSING      (1u << 1)  /* MISSING -> UFFDIO_COPY */
#define PB_RESOLVE_MINOR        (1u << 2)  /* MINOR -> UFFDIO_CONTINUE */
#define PB_RESOLVE_COPY_WP      (1u << 3)  /* ... with UFFDIO_COPY_MODE_WP */
#define PB_RESOLVE_CONTINUE_WP  (1u << 4)  /* ... with UFFDIO_CONTINUE_MODE_WP */

/* A shmem object's page cache slot: 0 = hole; a PFN; or a swap slot */
#define PB_CACHE_SWAPPED     PB_BIT(63)

/* Zap flavours */
#define PB_ZAP_DONTNEED      0   /* MADV_DONTNEED: zap_page_range_single, no details */
#define PB_ZAP_MAPPING       1   /* unmap_mapping_range: hole punch, MADV_REMOVE */
#define PB_ZAP_MAPPING_COWS  2   /* ... with even_cows: truncation */
#define PB_ZAP_MUNMAP        3   /* unmap_vmas: drops markers / special PTEs */

/* cdef: begin -- ptebits_build.py hands everything from here to the end
 * marker to cffi (array sizes become [...]): declarations are typed once. */
typedef struct pb_profile {
    int kernel;                  /* PB_KERNEL_* */
    uint32_t config;             /* PB_CFG_* */
    /* present-PTE software bits (0 where the profile has none) */
    uint64_t uffd_wp;            /* _PAGE_UFFD_WP */
    uint64_t soft_dirty;         /* _PAGE_SOFT_DIRTY */
    uint64_t saved_dirty;        /* _PAGE_SAVED_DIRTY (6.18) */
    uint64_t devmap;             /* _PAGE_DEVMAP (5.12) */
    uint64_t pkey_mask;          /* _PAGE_PKEY_BIT0..3 */
    uint64_t dirty_bits;         /* what pte_dirty() tests */
    uint64_t chg_mask;           /* _PAGE_CHG_MASK, kept by pte_modify */
    uint64_t protnone_test;      /* PROTNONE if NUMA_BALANCING, else 0 */
    /* swap-PTE flag bits */
    uint64_t swp_soft_dirty;
    uint64_t swp_uffd_wp;
    uint64_t swp_exclusive;
    uint64_t swp_flag_mask;      /* all three */
    uint64_t special_pte;        /* v2 uffd-wp special PTE; 0 = none */
    /* swap-type numbering (include/linux/swap.h) */
    uint32_t max_swapfiles;
    uint8_t type_kind[PB_SWP_NTYPES];  /* PB_KIND_* for each type */
    uint8_t type_sub[PB_SWP_NTYPES];   /* PB_SUB_* for migration/device */
    uint8_t type_hwpoison;
    uint8_t type_migration[3];   /* by PB_SUB_MIGRATION_* */
    uint8_t type_device[3];      /* by PB_SUB_DEVICE_* */
    uint8_t type_marker;
    /* per type, what a canonical entry may hold: the swap flag bits (raw
     * bits 0-8) and the offset bits its encoder writes; the PFN part */
    uint64_t type_low_ok[PB_SWP_NTYPES];
    uint64_t type_offset_ok[PB_SWP_NTYPES];
    uint64_t type_pfn_mask[PB_SWP_NTYPES];
    uint64_t type_mig_ad[PB_SWP_NTYPES];     /* migration A/D offset bits */
    /* pfn swap entries (6.18 swapops.h): PFN width and migration A/D bits */
    uint32_t swp_pfn_bits;       /* bits of offset that are the PFN */
    uint64_t swp_pfn_mask;
    uint64_t mig_young;          /* offset bit, 0 if absent */
    uint64_t mig_dirty;
    uint32_t mig_aux_shift;      /* offset A/D bits >> this = aux A/D bits */
    uint64_t pfn_limit_present;  /* PFNs a present PTE can hold (exclusive) */
    uint64_t pfn_limit_swp;      /* PFNs a pfn swap entry can hold (exclusive) */
    /* pagemap bits the kernel reports (0 where absent) */
    uint64_t pm_uffd_wp;
    uint64_t pm_guard;
} pb_profile;

/* ------------------------------------------------------------------------
 * Decoded fields of one entry (the encoders read the same struct).
 * ------------------------------------------------------------------------ */
typedef struct pb_fields {
    uint8_t kind;
    uint8_t swp_type;
    uint16_t aux;
    uint64_t pfn;         /* present: pte_pfn(); pfn entries: swp_offset_pfn() */
    uint64_t flags;       /* present kinds: pte_flags() = raw & ~PTE_PFN_MASK */
    uint64_t swp_offset;  /* swap-format kinds: swp_offset() */
} pb_fields;

/* ---- profiles ---- */
int pb_profile_init(pb_profile *p, int kernel, uint32_t config);

/* ---- names (for the Python layer's enums and messages) ---- */
const char *pb_kind_name(int kind);
const char *pb_sub_name(int kind, int sub);
const char *pb_strerror(int status);
const char *pb_op_name(int op);

/* ---- one entry ---- */
int pb_classify_one(const pb_profile *p, uint64_t raw);
void pb_decode_one(const pb_profile *p, uint64_t raw, pb_fields *f);
int pb_encode_one(const pb_profile *p, const pb_fields *f, uint64_t *raw);
int pb_pte_op_one(const pb_profile *p, int op, uint64_t raw, uint64_t arg, uint64_t *out);
uint64_t pb_pte_to_pagemap_one(const pb_profile *p, uint64_t raw, uint32_t facts);
void pb_pagemap_decode_one(const pb_profile *p, uint64_t pm, pb_fields *f);
/* The exclusive upper limit behind PB_E_PFN / PB_E_OFFSET / PB_E_TYPE. */
uint64_t pb_limit(const pb_profile *p, int status, int kind);

/* ---- loops over arrays.  On failure *err_index is the first bad entry. ---- */
void pb_classify_array(const pb_profile *p, const uint64_t *raw, size_t n, uint8_t *kind);
void pb_decode_array(const pb_profile *p, const uint64_t *raw, size_t n,
                     uint8_t *kind, uint64_t *pfn, uint64_t *flags,
                     uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux);
int pb_encode_array(const pb_profile *p, int kind, size_t n,
                    const uint64_t *pfn_or_type, const uint64_t *prot_or_offset,
                    const uint16_t *aux, uint64_t *out, size_t *err_index);
int pb_pte_op_array(const pb_profile *p, int op, const uint64_t *raw, size_t n,
                    const uint64_t *arg, uint64_t *out, size_t *err_index);
void pb_pte_to_pagemap_array(const pb_profile *p, const uint64_t *raw, size_t n,
                             const uint8_t *facts, uint64_t *out);
/* The vector form pb_decode_array uses on this CPU: PB_ISA_AVX512, or
 * PB_ISA_SCALAR (no AVX-512F, or PTEBITS_NO_AVX512 set in the environment). */
int pb_decode_vector_isa(void);
void pb_pagemap_decode_array(const pb_profile *p, const uint64_t *pm, size_t n,
                             uint8_t *kind, uint64_t *pfn, uint16_t *pm_flags,
                             uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux);

/* ---- levels (levels.c): PB_LEVEL_PTE takes the PTE functions above ---- */
const char *pb_level_name(int level);
/* log2 of the page a leaf at this level maps (12, 21, 30), 0 if none. */
int pb_level_leaf_shift(int level);
int pb_classify_level_one(const pb_profile *p, int level, uint64_t raw);
int pb_decode_level_one(const pb_profile *p, int level, uint64_t raw, pb_fields *f);
int pb_encode_level_one(const pb_profile *p, int level, const pb_fields *f, uint64_t *raw);
int pb_classify_level_array(const pb_profile *p, int level, const uint64_t *raw, size_t n,
                            uint8_t *kind);
int pb_decode_level_array(const pb_profile *p, int level, const uint64_t *raw, size_t n,
                          uint8_t *kind, uint64_t *pfn, uint64_t *flags,
                          uint8_t *swp_type, uint64_t *swp_offset, uint16_t *aux);
int pb_encode_level_array(const pb_profile *p, int level, int kind, size_t n,
                          const uint64_t *pfn_or_type, const uint64_t *prot_or_offset,
                          const uint16_t *aux, uint64_t *out, size_t *err_index);


/* ---- the fault model (fault.c) ---- */
typedef struct pb_vma {
    uint64_t start, end;     /* page indices [start, end) in the PTE array */
    uint64_t pgoff;          /* object page that start maps */
    uint64_t prot;           /* vm_page_prot */
    uint32_t flags;          /* PB_VMA_* */
    int32_t object;          /* index into pb_mm.objects; -1: anonymous */
} pb_vma;

typedef struct pb_object {   /* a shmem inode: its page cache and size */
    uint64_t *cache;         /* per page: 0, a PFN, or PB_CACHE_SWAPPED|slot */
    uint64_t capacity;       /* length of cache */
    uint64_t size;           /* i_size in pages: EOF */
} pb_object;

typedef struct pb_mm {       /* one address space; every array is the caller's */
    uint64_t *pte;
    uint64_t npages;
    const pb_vma *vmas;      /* sorted by start, not overlapping */
    uint32_t nvmas;
    pb_object *objects;
    uint32_t nobjects;
    uint64_t next_pfn;       /* the deterministic PFN allocator */
    uint64_t next_slot;      /* the next free swap slot (offset) */
    uint64_t zero_pfn;       /* the shared zero page */
    uint64_t fault_around_pages;   /* fault_around_bytes / PAGE_SIZE */
    uint64_t ptrs_per_pte;   /* fault-around stays in one page-table page */
    uint64_t swap_type;      /* the swap device's type */
} pb_mm;

typedef struct pb_fault_out {
    uint8_t *handler;        /* per fault: the first pass's handler */
    uint8_t *last;           /* per fault: the last pass's handler */
    uint8_t *outcome;        /* per fault: PB_O_* of the last pass */
    uint8_t *passes;         /* per fault */
    uint8_t *allocs;         /* per fault, or NULL: the PFNs it allocated */
    uint64_t *trace;         /* per fault, or NULL: bit h = handler h on the path */
    uint64_t *msg_fault;     /* messages: the fault that sent it */
    uint64_t *msg_page;
    uint8_t *msg_kind;       /* PB_MSG_* | PB_MSG_WRITE */
    size_t msg_cap, msg_n;
    uint64_t counts[PB_H_COUNT];   /* passes per handler */
    uint64_t outcomes[PB_O_COUNT]; /* faults per final outcome */
} pb_fault_out;

const char *pb_handler_name(int handler);
const char *pb_outcome_name(int outcome);
/* Dispatch faults start..n-1; returns PB_OK, or PB_E_FULL with *done the
 * first fault not processed when the message arrays are full. */
int pb_dispatch(const pb_profile *p, pb_mm *mm, const uint64_t *pages,
                const uint8_t *access, size_t n, size_t start, uint32_t resolve,
                int retry, pb_fault_out *out, size_t *done);
/* Give present PTEs whose PFN is in [lo, lo+count) the PFN table[pfn-lo]
 * (threaded dispatch numbers its new pages provisionally, then like one
 * thread would). */
void pb_remap_pfns(uint64_t *pte, size_t n, uint64_t lo, uint64_t count,
                   const uint64_t *table);
/* vm_page_prot of a VMA with these PB_VMA_* flags (write-notify included) */
uint64_t pb_vma_page_prot(const pb_profile *p, uint32_t flags);
/* Operations outside faults over pages [first, first+count) of one VMA. */
int pb_mm_writeprotect(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count, int on);
int pb_mm_zap(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count, int how);
int pb_mm_swap_out(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count);
int pb_mm_change_prot(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count);
int pb_mm_numa_hint(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count);
int pb_mm_uffd_copy(const pb_profile *p, pb_mm *mm, uint64_t page, int wp);
int pb_mm_uffd_continue(const pb_profile *p, pb_mm *mm, uint64_t page, int wp);
void pb_mm_pagemap(const pb_profile *p, const pb_mm *mm, uint64_t first, uint64_t count,
                   uint64_t *out);

/* cdef: end */

#endif /* PTEBITS_H */
