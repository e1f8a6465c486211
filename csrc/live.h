/*
 * live.h - the few system calls the live scenario runner (ptebits.live)
 * needs and Python's standard library cannot make: userfaultfd and its
 * ioctls, mprotect/madvise/fallocate on an address, and one memory access
 * that reports SIGBUS/SIGSEGV instead of dying.
 *
 * Every function returns 0 (or a count) on success and -errno on failure,
 * and blocks only in the kernel: cffi releases the GIL around each call, so
 * a Python thread can serve a userfaultfd message while the main thread is
 * blocked in pb_touch on the fault that sent it.
 *
 * Kernel constants are typed here once, with the file they come from
 * (Linux 6.18); Python reads them through ptebits._native.lib.
 */
#ifndef PB_LIVE_H
#define PB_LIVE_H

#include <stddef.h>
#include <stdint.h>

/* include/uapi/linux/userfaultfd.h (6.18): the API version */
#define PB_UFFD_API 0xAA

/* include/uapi/linux/userfaultfd.h (6.18): struct uffdio_api.features bits */
#define PB_UFFD_FEATURE_PAGEFAULT_FLAG_WP 0x1       /* 1<<0 */
#define PB_UFFD_FEATURE_EVENT_REMOVE 0x8            /* 1<<3 */
#define PB_UFFD_FEATURE_MISSING_SHMEM 0x20          /* 1<<5 */
#define PB_UFFD_FEATURE_MINOR_SHMEM 0x400           /* 1<<10 */
#define PB_UFFD_FEATURE_WP_HUGETLBFS_SHMEM 0x1000   /* 1<<12 */
#define PB_UFFD_FEATURE_WP_UNPOPULATED 0x2000       /* 1<<13 */
#define PB_UFFD_FEATURE_WP_ASYNC 0x8000             /* 1<<15 */

/* include/uapi/linux/userfaultfd.h (6.18): struct uffdio_register.mode */
#define PB_UFFDIO_REGISTER_MODE_MISSING 0x1         /* 1<<0 */
#define PB_UFFDIO_REGISTER_MODE_WP 0x2              /* 1<<1 */
#define PB_UFFDIO_REGISTER_MODE_MINOR 0x4           /* 1<<2 */

/* include/uapi/linux/userfaultfd.h (6.18): modes of the resolving ioctls */
#define PB_UFFDIO_COPY_MODE_WP 0x2                  /* 1<<1 */
#define PB_UFFDIO_WRITEPROTECT_MODE_WP 0x1          /* 1<<0 */
#define PB_UFFDIO_CONTINUE_MODE_WP 0x2              /* 1<<1 */

/* include/uapi/linux/userfaultfd.h (6.18): struct uffd_msg.event and
 * the page-fault flags */
#define PB_UFFD_EVENT_PAGEFAULT 0x12
#define PB_UFFD_EVENT_REMOVE 0x15
#define PB_UFFD_PAGEFAULT_FLAG_WRITE 0x1            /* 1<<0 */
#define PB_UFFD_PAGEFAULT_FLAG_WP 0x2               /* 1<<1 */
#define PB_UFFD_PAGEFAULT_FLAG_MINOR 0x4            /* 1<<2 */

/* include/uapi/linux/userfaultfd.h (6.18): ioctl numbers,
 * _IOWR/_IOR(0xAA, nr, struct uffdio_...) with the structs' sizes */
#define PB_UFFDIO_API 0xC018AA3F           /* _IOWR 0x3F, uffdio_api (24) */
#define PB_UFFDIO_REGISTER 0xC020AA00      /* _IOWR 0x00, uffdio_register (32) */
#define PB_UFFDIO_UNREGISTER 0x8010AA01    /* _IOR 0x01, uffdio_range (16) */
#define PB_UFFDIO_WAKE 0x8010AA02          /* _IOR 0x02, uffdio_range (16) */
#define PB_UFFDIO_COPY 0xC028AA03          /* _IOWR 0x03, uffdio_copy (40) */
#define PB_UFFDIO_WRITEPROTECT 0xC018AA06  /* _IOWR 0x06, uffdio_writeprotect (24) */
#define PB_UFFDIO_CONTINUE 0xC020AA07      /* _IOWR 0x07, uffdio_continue (32) */

/* include/uapi/asm-generic/mman-common.h (6.18): madvise advice */
#define PB_MADV_DONTNEED 4
#define PB_MADV_REMOVE 9
#define PB_MADV_NOHUGEPAGE 15
#define PB_MADV_PAGEOUT 21

/* include/uapi/asm-generic/mman-common.h (6.18): protection bits */
#define PB_PROT_READ 0x1
#define PB_PROT_WRITE 0x2

/* arch/x86/include/asm/pgtable_64_types.h (6.18): a PMD maps 2 MiB (one
 * page-table page); scenario mappings start at such a boundary, so page i
 * is PTE index i as in the model */
#define PB_LIVE_MAP_ALIGN 0x200000

/* pb_touch: what an access does */
#define PB_TOUCH_READ 0
#define PB_TOUCH_WRITE 1

/* cdef: begin */
/* One userfaultfd message, as the runner needs it. */
typedef struct {
    uint8_t event;          /* PB_UFFD_EVENT_* */
    uint64_t flags;         /* page fault: PB_UFFD_PAGEFAULT_FLAG_* */
    uint64_t address;       /* page fault: the faulting address */
    uint64_t start, end;    /* remove: the range */
} pb_uffd_event;

int pb_userfaultfd(void);
int pb_uffd_api(int fd, uint64_t features, uint64_t *supported);
int pb_uffd_register(int fd, uint64_t start, uint64_t len, uint64_t mode);
int pb_uffd_unregister(int fd, uint64_t start, uint64_t len);
int pb_uffd_wake(int fd, uint64_t start, uint64_t len);
int pb_uffd_copy(int fd, uint64_t dst, uint64_t src, uint64_t len, uint64_t mode);
int pb_uffd_writeprotect(int fd, uint64_t start, uint64_t len, uint64_t mode);
int pb_uffd_continue(int fd, uint64_t start, uint64_t len, uint64_t mode);
int pb_uffd_next(int fd, int timeout_ms, pb_uffd_event *ev);

int pb_map(uint64_t len, int shared, int fd, uint64_t align, uint64_t *addr);
int pb_unmap(uint64_t addr, uint64_t len);
int pb_mprotect(uint64_t addr, uint64_t len, int prot);
int pb_madvise(uint64_t addr, uint64_t len, int advice);
int pb_punch_hole(int fd, int64_t offset, int64_t len);
int pb_touch(uint64_t addr, int write);
/* cdef: end */

#endif /* PB_LIVE_H */
