/*
 * live.c - system calls for the live scenario runner; see live.h.
 */
#define _GNU_SOURCE
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The uapi structs (include/uapi/linux/userfaultfd.h, 6.18), spelled with
 * <stdint.h> types so the build does not depend on how new the system's
 * kernel headers are.  The ioctl numbers in live.h encode their sizes. */
struct pb_uffdio_range { uint64_t start, len; };
struct pb_uffdio_api { uint64_t api, features, ioctls; };
struct pb_uffdio_register { struct pb_uffdio_range range; uint64_t mode, ioctls; };
struct pb_uffdio_copy { uint64_t dst, src, len, mode; int64_t copy; };
struct pb_uffdio_writeprotect { struct pb_uffdio_range range; uint64_t mode; };
struct pb_uffdio_continue { struct pb_uffdio_range range; uint64_t mode; int64_t mapped; };
struct pb_uffd_msg {
    uint8_t event, reserved1;
    uint16_t reserved2;
    uint32_t reserved3;
    union {
        struct { uint64_t flags, address; uint32_t ptid; } pagefault;
        struct { uint64_t start, end; } remove;
        struct { uint64_t reserved1, reserved2, reserved3; } reserved;
    } arg;
};

/* The ioctl numbers in live.h, recomputed from the structs above with the
 * kernel's _IOR/_IOWR: the build fails if a number or a layout is wrong. */
#define PB_CHECK(name, cond) typedef char pb_check_##name[(cond) ? 1 : -1]
PB_CHECK(msg_size, sizeof(struct pb_uffd_msg) == 32);
PB_CHECK(api, PB_UFFDIO_API == _IOWR(PB_UFFD_API, 0x3F, struct pb_uffdio_api));
PB_CHECK(reg, PB_UFFDIO_REGISTER == _IOWR(PB_UFFD_API, 0x00, struct pb_uffdio_register));
PB_CHECK(unreg, PB_UFFDIO_UNREGISTER == _IOR(PB_UFFD_API, 0x01, struct pb_uffdio_range));
PB_CHECK(wake, PB_UFFDIO_WAKE == _IOR(PB_UFFD_API, 0x02, struct pb_uffdio_range));
PB_CHECK(copy, PB_UFFDIO_COPY == _IOWR(PB_UFFD_API, 0x03, struct pb_uffdio_copy));
PB_CHECK(wp, PB_UFFDIO_WRITEPROTECT ==
         _IOWR(PB_UFFD_API, 0x06, struct pb_uffdio_writeprotect));
PB_CHECK(cont, PB_UFFDIO_CONTINUE == _IOWR(PB_UFFD_API, 0x07, struct pb_uffdio_continue));
PB_CHECK(madv, PB_MADV_DONTNEED == MADV_DONTNEED && PB_MADV_REMOVE == MADV_REMOVE &&
         PB_MADV_NOHUGEPAGE == MADV_NOHUGEPAGE && PB_MADV_PAGEOUT == MADV_PAGEOUT);
PB_CHECK(prot, PB_PROT_READ == PROT_READ && PB_PROT_WRITE == PROT_WRITE);

static int status(long rc)
{
    return rc < 0 ? -errno : 0;
}

int pb_userfaultfd(void)
{
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    return fd < 0 ? -errno : (int)fd;
}

int pb_uffd_api(int fd, uint64_t features, uint64_t *supported)
{
    struct pb_uffdio_api api;
    memset(&api, 0, sizeof api);
    api.api = PB_UFFD_API;
    api.features = features;
    if (ioctl(fd, PB_UFFDIO_API, &api) < 0)
        return -errno;
    *supported = api.features;
    return 0;
}

int pb_uffd_register(int fd, uint64_t start, uint64_t len, uint64_t mode)
{
    struct pb_uffdio_register reg;
    memset(&reg, 0, sizeof reg);
    reg.range.start = start;
    reg.range.len = len;
    reg.mode = mode;
    return status(ioctl(fd, PB_UFFDIO_REGISTER, &reg));
}

int pb_uffd_unregister(int fd, uint64_t start, uint64_t len)
{
    struct pb_uffdio_range range;
    range.start = start;
    range.len = len;
    return status(ioctl(fd, PB_UFFDIO_UNREGISTER, &range));
}

int pb_uffd_wake(int fd, uint64_t start, uint64_t len)
{
    struct pb_uffdio_range range;
    range.start = start;
    range.len = len;
    return status(ioctl(fd, PB_UFFDIO_WAKE, &range));
}

int pb_uffd_copy(int fd, uint64_t dst, uint64_t src, uint64_t len, uint64_t mode)
{
    struct pb_uffdio_copy copy;
    memset(&copy, 0, sizeof copy);
    copy.dst = dst;
    copy.src = src;
    copy.len = len;
    copy.mode = mode;
    return status(ioctl(fd, PB_UFFDIO_COPY, &copy));
}

int pb_uffd_writeprotect(int fd, uint64_t start, uint64_t len, uint64_t mode)
{
    struct pb_uffdio_writeprotect wp;
    memset(&wp, 0, sizeof wp);
    wp.range.start = start;
    wp.range.len = len;
    wp.mode = mode;
    return status(ioctl(fd, PB_UFFDIO_WRITEPROTECT, &wp));
}

int pb_uffd_continue(int fd, uint64_t start, uint64_t len, uint64_t mode)
{
    struct pb_uffdio_continue cont;
    memset(&cont, 0, sizeof cont);
    cont.range.start = start;
    cont.range.len = len;
    cont.mode = mode;
    return status(ioctl(fd, PB_UFFDIO_CONTINUE, &cont));
}

/* Wait up to timeout_ms for one message: 1 with *ev filled, 0 on timeout. */
int pb_uffd_next(int fd, int timeout_ms, pb_uffd_event *ev)
{
    struct pollfd pfd;
    struct pb_uffd_msg msg;
    ssize_t n;
    int rc;

    pfd.fd = fd;
    pfd.events = POLLIN;
    pfd.revents = 0;
    rc = poll(&pfd, 1, timeout_ms);
    if (rc < 0)
        return errno == EINTR ? 0 : -errno;
    if (rc == 0)
        return 0;
    n = read(fd, &msg, sizeof msg);
    if (n < 0)
        return errno == EAGAIN ? 0 : -errno;
    if (n != (ssize_t)sizeof msg)
        return -EIO;
    memset(ev, 0, sizeof *ev);
    ev->event = msg.event;
    if (msg.event == PB_UFFD_EVENT_PAGEFAULT) {
        ev->flags = msg.arg.pagefault.flags;
        ev->address = msg.arg.pagefault.address;
    } else if (msg.event == PB_UFFD_EVENT_REMOVE) {
        ev->start = msg.arg.remove.start;
        ev->end = msg.arg.remove.end;
    }
    return 1;
}

/* Map len bytes at an address aligned to align (a power of two): the
 * fault-around window is aligned on the virtual address (the PTE index in
 * its page-table page), so a scenario's page 0 must sit at a known PTE
 * index for runs to be repeatable.  A PROT_NONE reservation of len + align
 * is made, the mapping placed inside it with MAP_FIXED, the slack unmapped. */
int pb_map(uint64_t len, int shared, int fd, uint64_t align, uint64_t *addr)
{
    int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | (fd < 0 ? MAP_ANONYMOUS : 0);
    size_t span = (size_t)(len + align);
    char *res, *at, *p;

    res = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED)
        return -errno;
    at = (char *)(((uintptr_t)res + (uintptr_t)align - 1) & ~((uintptr_t)align - 1));
    p = mmap(at, (size_t)len, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        munmap(res, span);
        return -err;
    }
    if (at > res)
        munmap(res, (size_t)(at - res));
    if (at + len < res + span)
        munmap(at + len, (size_t)(res + span - (at + len)));
    *addr = (uint64_t)(uintptr_t)p;
    return 0;
}

int pb_unmap(uint64_t addr, uint64_t len)
{
    return status(munmap((void *)(uintptr_t)addr, (size_t)len));
}

int pb_mprotect(uint64_t addr, uint64_t len, int prot)
{
    return status(mprotect((void *)(uintptr_t)addr, (size_t)len, prot));
}

int pb_madvise(uint64_t addr, uint64_t len, int advice)
{
    return status(madvise((void *)(uintptr_t)addr, (size_t)len, advice));
}

int pb_punch_hole(int fd, int64_t offset, int64_t len)
{
    return status(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            (off_t)offset, (off_t)len));
}

/* pb_touch: one access that turns SIGBUS/SIGSEGV into a return value.  The
 * handlers are installed only for the access and only act for the thread
 * that armed them; a fault anywhere else gets the previous handler. */
static sigjmp_buf touch_jump;
static pthread_t touch_thread;
static volatile sig_atomic_t touch_armed;
static struct sigaction touch_old_bus, touch_old_segv;

static void touch_fault(int sig)
{
    if (touch_armed && pthread_equal(pthread_self(), touch_thread)) {
        touch_armed = 0;
        siglongjmp(touch_jump, sig);
    }
    /* not our access: put the old handler back; the instruction faults again */
    sigaction(SIGBUS, &touch_old_bus, NULL);
    sigaction(SIGSEGV, &touch_old_segv, NULL);
}

int pb_touch(uint64_t addr, int write)
{
    struct sigaction sa;
    volatile char *p = (volatile char *)(uintptr_t)addr;
    int sig;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = touch_fault;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &touch_old_bus) < 0)
        return -errno;
    if (sigaction(SIGSEGV, &sa, &touch_old_segv) < 0) {
        int err = errno;
        sigaction(SIGBUS, &touch_old_bus, NULL);
        return -err;
    }
    touch_thread = pthread_self();
    sig = sigsetjmp(touch_jump, 1);
    if (sig == 0) {
        touch_armed = 1;
        if (write)
            *p = 0x5a;          /* a plain store: one write fault, no read first */
        else
            (void)*p;
        touch_armed = 0;
    }
    sigaction(SIGBUS, &touch_old_bus, NULL);
    sigaction(SIGSEGV, &touch_old_segv, NULL);
    return sig;
}
