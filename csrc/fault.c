/*
 * fault.c - the kernel's PTE fault dispatch over arrays, and the page-table
 * operations outside faults, for one address space (pb_mm).
 *
 * Each static function below stands for the kernel function of the same
 * name and takes its decisions in that function's order, per profile:
 *   linux-5.12-uffd-wp-v2: mm/memory.c of 5.12.9 with the seed patch
 *     ("shmem/userfaultfd: Handle uffd-wp special pte in page fault
 *     handler", v2 05/24) and the rest of that series (spec 7a);
 *   linux-6.18: mm/memory.c, mm/shmem.c, mm/mprotect.c, mm/userfaultfd.c,
 *     include/linux/mm_inline.h of 6.18.35 (spec 7b, 9).
 * The model keeps one base page per fault (no THP, no large folios), one
 * process (every page is mapped at most once, so anonymous pages are
 * exclusive), and page cache pages of shmem objects only.
 *
 * No global state and no allocation: every array belongs to the caller.
 */
#include "entry.h"

/* The fault path is inlined as a whole into each loop that runs it (PB_HOT
 * functions into PB_LOOP ones), so that its context lives in registers;
 * each loop is a function of its own, so that it has the registers to
 * itself (GNU C attributes; plain inline elsewhere). */
#if defined(__GNUC__)
#define PB_HOT inline __attribute__((always_inline))
#define PB_LOOP __attribute__((noinline, flatten))
#else
#define PB_HOT inline
#define PB_LOOP
#endif

/* ------------------------------------------------------------- names */

const char *pb_handler_name(int h)
{
    static const char *const names[PB_H_COUNT] = {
        "none", "handle_pte_fault", "do_pte_missing", "do_anonymous_page", "do_fault",
        "do_read_fault", "do_fault_around", "do_cow_fault", "do_shared_fault",
        "do_swap_pte", "uffd_wp_handle_special", "uffd_wp_clear_special",
        "do_swap_page", "migration_entry_wait", "device_private",
        "device_exclusive", "swap_hwpoison", "swap_bad", "handle_pte_marker",
        "pte_marker_handle_uffd_wp", "pte_marker_clear", "do_numa_page",
        "do_wp_page", "wp_page_reuse", "wp_page_copy", "wp_async",
        "handle_userfault_wp", "handle_userfault_missing", "handle_userfault_minor",
        "spurious", "set_access_flags", "access_error", "sigbus", "shmem_swapin",
    };
    return (h >= 0 && h < PB_H_COUNT) ? names[h] : "unknown";
}

const char *pb_outcome_name(int o)
{
    static const char *const names[PB_O_COUNT] = {
        "done", "refault", "wait", "retry", "SIGSEGV", "SIGBUS", "HWPOISON",
    };
    return (o >= 0 && o < PB_O_COUNT) ? names[o] : "unknown";
}

/* ----------------------------------------------------- the address space */

static const pb_vma *find_vma(const pb_mm *mm, uint64_t page)
{
    uint32_t lo = 0, hi = mm->nvmas;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const pb_vma *v = &mm->vmas[mid];

        if (page < v->start)
            hi = mid;
        else if (page >= v->end)
            lo = mid + 1;
        else
            return v;
    }
    return NULL;
}

static int vma_is_anonymous(const pb_vma *v) { return (v->flags & PB_VMA_ANON) != 0; }
static int userfaultfd_wp(const pb_vma *v) { return (v->flags & PB_VMA_UFFD_WP) != 0; }
static int userfaultfd_missing(const pb_vma *v) { return (v->flags & PB_VMA_UFFD_MISSING) != 0; }
static int userfaultfd_minor(const pb_vma *v) { return (v->flags & PB_VMA_UFFD_MINOR) != 0; }

static pb_object *vma_object(const pb_mm *mm, const pb_vma *v)
{
    if (v->object < 0 || (uint32_t)v->object >= mm->nobjects)
        return NULL;
    return &mm->objects[v->object];
}

/* The page cache slot a page of a file VMA maps, or NULL past the arrays. */
static uint64_t *cache_slot(const pb_mm *mm, const pb_vma *v, uint64_t page)
{
    pb_object *o = vma_object(mm, v);
    uint64_t off = v->pgoff + (page - v->start);

    return (o && off < o->capacity) ? &o->cache[off] : NULL;
}

static uint64_t alloc_pfn(pb_mm *mm) { return mm->next_pfn++; }

static PB_HOT uint64_t op(const pb_profile *p, int which, uint64_t v, uint64_t arg)
{
    uint64_t out = v;

    (void)pte_op(p, which, v, arg, &out);   /* a flag the profile lacks: unchanged */
    return out;
}

static int pte_write(uint64_t v) { return (v & PB_PAGE_RW) != 0; }
static int pte_dirty(const pb_profile *p, uint64_t v) { return (v & p->dirty_bits) != 0; }
static int pte_uffd_wp(const pb_profile *p, uint64_t v) { return (v & p->uffd_wp) != 0; }

static int is_markers_kernel(const pb_profile *p) { return p->kernel == PB_KERNEL_6_18; }

/* pte_marker_uffd_wp() (6.18); markers: is_markers_kernel(p), passed in
 * so that the dispatch loop's copies fold it */
static PB_HOT int uffd_wp_marker_of(const pb_profile *p, int markers, uint64_t v)
{
    return markers && v != 0 && !(v & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE)) &&
           (v >> PB_SWP_TYPE_SHIFT) == p->type_marker &&
           (swp_offset(v) & PB_PTE_MARKER_UFFD_WP);
}

static int is_uffd_wp_marker(const pb_profile *p, uint64_t v)
{
    return uffd_wp_marker_of(p, is_markers_kernel(p), v);
}

/* pte_swp_uffd_wp_special() (v2): exact equality with the special PTE */
static int is_special(const pb_profile *p, uint64_t v)
{
    return p->special_pte != 0 && v == p->special_pte;
}

static uint64_t uffd_wp_marker(const pb_profile *p)
{
    return mk_swp(p->type_marker, PB_PTE_MARKER_UFFD_WP);
}

/* pte_swp_uffd_wp_any() (6.18) / pte_swp_uffd_wp() (5.12) of a swap-format PTE */
static int swp_uffd_wp_any(const pb_profile *p, uint64_t v)
{
    return (v & p->swp_uffd_wp) || is_uffd_wp_marker(p, v);
}

/* A page of a file VMA that maps its page cache page (not an anon CoW copy). */
static int is_file_page(const pb_mm *mm, const pb_vma *v, uint64_t page, uint64_t pfn)
{
    const uint64_t *slot;

    if (vma_is_anonymous(v))
        return 0;
    slot = cache_slot(mm, v, page);
    return slot && *slot == pfn && !(*slot & PB_CACHE_SWAPPED);
}

/* vm_normal_page() != NULL: not the zero page or another special mapping */
static int is_normal(const pb_mm *mm, uint64_t v)
{
    return !(v & PB_PAGE_SPECIAL) && pte_pfn(v) != mm->zero_pfn;
}

static uint64_t maybe_mkwrite(const pb_profile *p, const pb_vma *v, uint64_t e)
{
    return (v->flags & PB_VMA_WRITE) ? op(p, PB_OP_MKWRITE, e, 0) : e;
}

/* vma_wants_writenotify(): 6.18 write-protects every PTE of a writable
 * shared uffd-wp VMA (mm/mmap.c); shmem has neither page_mkwrite nor
 * writeback accounting, so nothing else here wants it. */
static int vma_wants_writenotify(const pb_profile *p, uint32_t flags)
{
    return (flags & (PB_VMA_SHARED | PB_VMA_WRITE)) == (PB_VMA_SHARED | PB_VMA_WRITE) &&
           is_markers_kernel(p) && (flags & PB_VMA_UFFD_WP);
}

/* vma_wants_manual_pte_write_upgrade() (6.18 mm.h) */
static int wants_manual_write_upgrade(const pb_profile *p, const pb_vma *v)
{
    if (v->flags & PB_VMA_SHARED)
        return vma_wants_writenotify(p, v->flags);
    return (v->flags & PB_VMA_WRITE) != 0;
}

/* can_change_pte_writable() (6.18 mm/mprotect.c) */
static int can_change_pte_writable(const pb_profile *p, const pb_mm *mm, const pb_vma *v,
                                   uint64_t page, uint64_t e)
{
    if (!(v->flags & PB_VMA_WRITE) || !(e & PB_PAGE_PRESENT))
        return 0;
    if ((v->flags & PB_VMA_UFFD_WP) && pte_uffd_wp(p, e))
        return 0;
    if (!(v->flags & PB_VMA_SHARED))      /* an exclusive anonymous page */
        return is_normal(mm, e) && !is_file_page(mm, v, page, pte_pfn(e));
    return pte_dirty(p, e);
}

/* vm_get_page_prot() of x86 (arch/x86/mm/pgprot.c protection_map), then
 * the write-notify downgrade of vma_set_page_prot() (mm/mmap.c). */
uint64_t pb_vma_page_prot(const pb_profile *p, uint32_t flags)
{
    int r = (flags & PB_VMA_READ) != 0, w = (flags & PB_VMA_WRITE) != 0;
    int x = (flags & PB_VMA_EXEC) != 0, shared = (flags & PB_VMA_SHARED) != 0;
    uint64_t prot;

    if (!r && !w && !x)
        prot = PB_PAGE_NONE;
    else if (w && shared)
        prot = x ? PB_PAGE_SHARED_EXEC : PB_PAGE_SHARED;
    else if (w)
        prot = x ? PB_PAGE_COPY_EXEC : PB_PAGE_COPY;
    else
        prot = x ? PB_PAGE_READONLY_EXEC : PB_PAGE_READONLY;
    if (vma_wants_writenotify(p, flags))
        prot &= ~PB_PAGE_RW;
    return prot;
}

/* ------------------------------------------------------- one fault pass */

typedef struct fault_ctx {
    const pb_profile *p;
    pb_mm *mm;
    const pb_vma *vma;
    uint64_t page;
    uint64_t *ptep;
    uint64_t orig;         /* vmf->orig_pte */
    int write;             /* FAULT_FLAG_WRITE (do_swap_page may drop it) */
    int write_access;      /* the access is a write: it completes only on a writable PTE */
    int handler;           /* the most specific function reached */
    uint64_t trace;
    int msg;               /* -1, or the PB_MSG_* this pass sent */
    uint64_t *next_pfn;    /* the allocator (the dispatch loop's copy) */
    int markers;           /* 6.18 markers, not the v2 special PTE: a constant
                            * in each instantiation of the dispatch loop */
    int tracing;           /* record the path (trace): likewise */
} fault_ctx;

static PB_HOT void enter(fault_ctx *c, int h)
{
    if (c->tracing)
        c->trace |= PB_BIT(h);
    c->handler = h;
}

static PB_HOT void trace_only(fault_ctx *c, int h)
{
    if (c->tracing)
        c->trace |= PB_BIT(h);
}

static PB_HOT uint64_t fault_alloc_pfn(fault_ctx *c) { return (*c->next_pfn)++; }

/* set_pte_at(): the access completes if the new PTE allows it */
static PB_HOT int install(fault_ctx *c, uint64_t e)
{
    *c->ptep = e;
    if (!(e & PB_PAGE_PRESENT) || (c->write_access && !pte_write(e)))
        return PB_O_REFAULT;
    return PB_O_DONE;
}

static PB_HOT int handle_userfault(fault_ctx *c, int kind)
{
    enter(c, kind == PB_MSG_WP ? PB_H_USERFAULT_WP
             : kind == PB_MSG_MISSING ? PB_H_USERFAULT_MISSING : PB_H_USERFAULT_MINOR);
    c->msg = kind;
    return PB_O_WAIT;
}

static PB_HOT int sigbus(fault_ctx *c)
{
    enter(c, PB_H_SIGBUS);
    return PB_O_SIGBUS;
}

/* The page offsets of an object a fault may reach: below EOF and within
 * the cache array. */
static uint64_t cache_limit(const pb_object *o)
{
    return o->size < o->capacity ? o->size : o->capacity;
}

/* shmem_fault -> shmem_get_folio_gfp (mm/shmem.c): the page cache page,
 * a userfaultfd message, or SIGBUS past EOF.  Returns -1 with *pfn set. */
static PB_HOT int shmem_fault(fault_ctx *c, uint64_t *pfn)
{
    pb_object *o = vma_object(c->mm, c->vma);
    uint64_t off = c->vma->pgoff + (c->page - c->vma->start);
    uint64_t *slot;

    if (!o || off >= cache_limit(o))
        return sigbus(c);
    slot = &o->cache[off];
    if (*slot && userfaultfd_minor(c->vma))
        return handle_userfault(c, PB_MSG_MINOR);
    if (*slot & PB_CACHE_SWAPPED) {
        trace_only(c, PB_H_SHMEM_SWAPIN);
        *slot = fault_alloc_pfn(c);
    } else if (!*slot) {
        if (userfaultfd_missing(c->vma))
            return handle_userfault(c, PB_MSG_MISSING);
        *slot = fault_alloc_pfn(c);
    }
    *pfn = *slot;
    return -1;
}

/* Whether the new PTE inherits uffd-wp from the entry it replaces:
 * v2 do_set_pte() tests the special PTE; 6.18 vmf_orig_pte_uffd_wp(). */
static PB_HOT int orig_pte_uffd_wp(const fault_ctx *c)
{
    if (c->markers)
        return userfaultfd_wp(c->vma) && uffd_wp_marker_of(c->p, c->markers, c->orig);
    return is_special(c->p, c->orig);
}

static PB_HOT uint64_t mkuffd_wp_of(const pb_profile *p, int markers, uint64_t e)
{
    /* 6.18 pte_mkuffd_wp write-protects; v2 callers did it first */
    if (!markers)
        e = op(p, PB_OP_WRPROTECT, e, 0);
    return op(p, PB_OP_MKUFFD_WP, e, 0);
}

static uint64_t mkuffd_wp(const pb_profile *p, uint64_t e)
{
    return mkuffd_wp_of(p, is_markers_kernel(p), e);
}

/* finish_fault -> do_set_pte (v2) / set_pte_range (6.18) */
static PB_HOT int finish_fault(fault_ctx *c, uint64_t pfn)
{
    uint64_t e = pfn_pte(pfn, c->vma->prot);

    if (c->write)
        e = maybe_mkwrite(c->p, c->vma, op(c->p, PB_OP_MKDIRTY, e, 0));
    if (orig_pte_uffd_wp(c))
        e = mkuffd_wp_of(c->p, c->markers, e);
    return install(c, e);
}

/* do_fault_around -> filemap_map_pages: map the pages of the window that
 * are in the page cache over none PTEs.  Returns whether c->page got one. */
static PB_HOT int do_fault_around(fault_ctx *c)
{
    const pb_vma *v = c->vma;
    pb_object *o = vma_object(c->mm, v);
    uint64_t nr = c->mm->fault_around_pages, ptrs = c->mm->ptrs_per_pte;
    uint64_t start = c->page & ~(nr - 1), end = start + nr;
    uint64_t table = c->page & ~(ptrs - 1);
    uint64_t pg;
    int mapped = 0;

    if (start < v->start)
        start = v->start;                 /* clamped to the VMA, the window moves */
    if (start < table)
        start = table;
    end = start + nr;
    if (end > v->end)
        end = v->end;
    if (end > table + ptrs)
        end = table + ptrs;
    for (pg = start; pg < end; pg++) {
        uint64_t off = v->pgoff + (pg - v->start);
        uint64_t slot;

        if (!o || off >= o->size || off >= o->capacity)
            break;                                    /* never beyond EOF */
        slot = o->cache[off];
        if (!slot || (slot & PB_CACHE_SWAPPED))
            continue;                                 /* not uptodate in the cache */
        if (!pte_none(c->mm->pte[pg]))
            continue;
        c->mm->pte[pg] = pfn_pte(slot, v->prot);
        mapped |= pg == c->page;
    }
    return mapped;
}

/* should_fault_around(): the seed's function, merged as is */
static int fault_around_on(uint32_t vma_flags, uint64_t fault_around_pages)
{
    if (vma_flags & (PB_VMA_UFFD_WP | PB_VMA_UFFD_MINOR))      /* uffd_disable_fault_around */
        return 0;
    return fault_around_pages > 1;
}

static PB_HOT int should_fault_around(const fault_ctx *c)
{
    return fault_around_on(c->vma->flags, c->mm->fault_around_pages);
}

static PB_HOT int do_read_fault(fault_ctx *c)
{
    uint64_t pfn;
    int r;

    enter(c, PB_H_DO_READ_FAULT);
    if (should_fault_around(c) && do_fault_around(c)) {
        enter(c, PB_H_DO_FAULT_AROUND);
        return PB_O_DONE;
    }
    r = shmem_fault(c, &pfn);
    if (r >= 0)
        return r;
    return finish_fault(c, pfn);
}

static PB_HOT int do_cow_fault(fault_ctx *c)
{
    uint64_t pfn;
    int r;

    enter(c, PB_H_DO_COW_FAULT);
    r = shmem_fault(c, &pfn);
    if (r >= 0)
        return r;
    return finish_fault(c, fault_alloc_pfn(c));   /* the anonymous copy */
}

static PB_HOT int do_shared_fault(fault_ctx *c)
{
    uint64_t pfn;
    int r;

    enter(c, PB_H_DO_SHARED_FAULT);
    r = shmem_fault(c, &pfn);
    if (r >= 0)
        return r;
    return finish_fault(c, pfn);
}

static PB_HOT int do_fault(fault_ctx *c)
{
    trace_only(c, PB_H_DO_FAULT);
    if (!c->write)
        return do_read_fault(c);
    if (!(c->vma->flags & PB_VMA_SHARED))
        return do_cow_fault(c);
    return do_shared_fault(c);
}

/* The PTE do_anonymous_page installs, userfaultfd aside: for a read the
 * zero page (pfn = the zero PFN), special; for a write the new page pfn,
 * dirty and writable in a writable VMA. */
static PB_HOT uint64_t anon_page_pte(const pb_profile *p, uint64_t prot, uint32_t flags,
                                     int write, uint64_t pfn)
{
    uint64_t e = pfn_pte(pfn, prot);

    if (!write)
        return e | PB_PAGE_SPECIAL;                                 /* pte_mkspecial */
    if (flags & PB_VMA_WRITE)
        e = op(p, PB_OP_MKWRITE, op(p, PB_OP_MKDIRTY, e, 0), 0);
    return e;
}

/* A VMA whose none PTEs do_anonymous_page fills without userfaultfd. */
static int anon_fills(const pb_vma *v)
{
    return vma_is_anonymous(v) && !(v->flags & PB_VMA_SHARED) && !userfaultfd_missing(v);
}

static PB_HOT int do_anonymous_page(fault_ctx *c)
{
    const pb_vma *v = c->vma;
    int uffd_wp = c->markers && orig_pte_uffd_wp(c);
    uint64_t e;

    enter(c, PB_H_DO_ANONYMOUS_PAGE);
    if (v->flags & PB_VMA_SHARED)
        return sigbus(c);
    if (userfaultfd_missing(v))            /* checked under the PT lock, both paths */
        return handle_userfault(c, PB_MSG_MISSING);
    e = anon_page_pte(c->p, v->prot, v->flags, c->write,
                      c->write ? fault_alloc_pfn(c) : c->mm->zero_pfn);
    if (uffd_wp)
        e = op(c->p, PB_OP_MKUFFD_WP, e, 0);
    return install(c, e);
}

static PB_HOT int do_pte_missing(fault_ctx *c)
{
    if (c->markers)
        trace_only(c, PB_H_DO_PTE_MISSING);
    if (vma_is_anonymous(c->vma))
        return do_anonymous_page(c);
    return do_fault(c);
}

/* A path that installs a page through the usual functions, reached from
 * a special PTE or marker: report it under the entry point's name. */
static PB_HOT int installed_via(fault_ctx *c, int r, int name)
{
    switch (c->handler) {
    case PB_H_DO_ANONYMOUS_PAGE: case PB_H_DO_READ_FAULT: case PB_H_DO_FAULT_AROUND:
    case PB_H_DO_COW_FAULT: case PB_H_DO_SHARED_FAULT:
        enter(c, name);
        break;
    default:
        trace_only(c, name);
    }
    return r;
}

static PB_HOT int do_wp_page(fault_ctx *c)
{
    const pb_vma *v = c->vma;
    uint64_t e = *c->ptep;

    trace_only(c, PB_H_DO_WP_PAGE);
    if (userfaultfd_wp(v) && pte_uffd_wp(c->p, e)) {          /* userfaultfd_pte_wp */
        if (!c->markers || !(v->flags & PB_VMA_WP_ASYNC))
            return handle_userfault(c, PB_MSG_WP);
        trace_only(c, PB_H_WP_ASYNC);                          /* 6.7+: resolve in place */
        e = op(c->p, PB_OP_CLEAR_UFFD_WP, e, 0);
        *c->ptep = e;
    }
    if ((v->flags & PB_VMA_SHARED) ||
        (is_normal(c->mm, e) && !is_file_page(c->mm, v, c->page, pte_pfn(e)))) {
        enter(c, PB_H_WP_PAGE_REUSE);                          /* wp_page_reuse */
        e = op(c->p, PB_OP_MKYOUNG, e, 0);
        return install(c, maybe_mkwrite(c->p, v, op(c->p, PB_OP_MKDIRTY, e, 0)));
    }
    enter(c, PB_H_WP_PAGE_COPY);                               /* wp_page_copy */
    e = pfn_pte(fault_alloc_pfn(c), v->prot);
    return install(c, maybe_mkwrite(c->p, v, op(c->p, PB_OP_MKDIRTY, e, 0)));
}

/* 6.18 handle_pte_marker / pte_marker_handle_uffd_wp / pte_marker_clear */
static PB_HOT int handle_pte_marker(fault_ctx *c)
{
    uint64_t marker = swp_offset(c->orig) & PB_PTE_MARKER_MASK;

    enter(c, PB_H_HANDLE_PTE_MARKER);
    if (!marker)
        return PB_O_SIGBUS;                       /* WARN: an empty marker */
    if (marker & PB_PTE_MARKER_POISONED)
        return PB_O_HWPOISON;
    if (marker & PB_PTE_MARKER_GUARD)
        return PB_O_SIGSEGV;
    if (!(marker & PB_PTE_MARKER_UFFD_WP))
        return PB_O_SIGBUS;
    enter(c, PB_H_PTE_MARKER_HANDLE_UFFD_WP);
    if (!userfaultfd_wp(c->vma)) {
        enter(c, PB_H_PTE_MARKER_CLEAR);
        *c->ptep = 0;
        return PB_O_REFAULT;
    }
    return installed_via(c, do_pte_missing(c), PB_H_PTE_MARKER_HANDLE_UFFD_WP);
}

/* Swap-in of an anonymous page (do_swap_page after non_swap_entry). */
static PB_HOT int swap_in(fault_ctx *c)
{
    const pb_profile *p = c->p;
    const pb_vma *v = c->vma;
    uint64_t o = c->orig, e;
    int r;

    if ((o >> PB_SWP_TYPE_SHIFT) != c->mm->swap_type)
        return PB_O_RETRY;        /* get_swap_device() fails: returns 0, faults again */
    e = pfn_pte(fault_alloc_pfn(c), v->prot);
    if (c->markers) {
        if (o & p->swp_soft_dirty)
            e = op(p, PB_OP_MKSOFT_DIRTY, e, 0);
        if (o & p->swp_uffd_wp)
            e = op(p, PB_OP_MKUFFD_WP, e, 0);
        if (o & p->swp_exclusive) {
            if ((v->flags & PB_VMA_WRITE) && !(userfaultfd_wp(v) && pte_uffd_wp(p, e))) {
                e = op(p, PB_OP_MKWRITE, e, 0);
                if (c->write) {
                    e = op(p, PB_OP_MKDIRTY, e, 0);
                    c->write = 0;
                }
            }
        }
    } else {
        if (c->write) {                 /* reuse_swap_page(): the only mapping */
            e = maybe_mkwrite(p, v, op(p, PB_OP_MKDIRTY, e, 0));
            c->write = 0;
        }
        if (o & p->swp_soft_dirty)
            e = op(p, PB_OP_MKSOFT_DIRTY, e, 0);
        if (o & p->swp_uffd_wp)
            e = mkuffd_wp_of(p, c->markers, e);
    }
    r = install(c, e);
    if (c->write)                       /* FAULT_FLAG_WRITE still set */
        return do_wp_page(c);
    return r;
}

static PB_HOT int do_swap_page(fault_ctx *c)
{
    const pb_profile *p = c->p;
    int kind = classify(p, c->orig);

    enter(c, PB_H_DO_SWAP_PAGE);
    switch (kind) {
    case PB_KIND_SWAP:
        return swap_in(c);
    case PB_KIND_MIGRATION:
        enter(c, PB_H_MIGRATION_ENTRY_WAIT);
        return PB_O_RETRY;
    case PB_KIND_DEVICE:
        if (p->type_sub[c->orig >> PB_SWP_TYPE_SHIFT] == PB_SUB_DEVICE_EXCLUSIVE) {
            enter(c, PB_H_DEVICE_EXCLUSIVE);
        } else {
            enter(c, PB_H_DEVICE_PRIVATE);
        }
        return PB_O_RETRY;
    case PB_KIND_HWPOISON:
        enter(c, PB_H_SWAP_HWPOISON);
        return PB_O_HWPOISON;
    default:
        break;
    }
    /* markers are found inside do_swap_page in 6.18, bad or not */
    if (c->markers && (c->orig >> PB_SWP_TYPE_SHIFT) == p->type_marker)
        return handle_pte_marker(c);
    enter(c, PB_H_SWAP_BAD);                       /* print_bad_pte */
    return PB_O_SIGBUS;
}

/* v2: do_swap_pte -> uffd_wp_handle_special / uffd_wp_clear_special */
static PB_HOT int do_swap_pte(fault_ctx *c)
{
    trace_only(c, PB_H_DO_SWAP_PTE);
    if (!is_special(c->p, c->orig))
        return do_swap_page(c);
    enter(c, PB_H_UFFD_WP_HANDLE_SPECIAL);
    if (!userfaultfd_wp(c->vma) || vma_is_anonymous(c->vma)) {
        enter(c, PB_H_UFFD_WP_CLEAR_SPECIAL);
        *c->ptep = 0;
        return PB_O_REFAULT;
    }
    return installed_via(c, do_fault(c), PB_H_UFFD_WP_HANDLE_SPECIAL);
}

static PB_HOT int do_numa_page(fault_ctx *c)
{
    const pb_profile *p = c->p;
    const pb_vma *v = c->vma;
    uint64_t e = op(p, PB_OP_MODIFY, c->orig, v->prot);
    int writable;

    enter(c, PB_H_DO_NUMA_PAGE);
    if (c->markers)
        writable = pte_write(e) ||
                   (wants_manual_write_upgrade(p, v) &&
                    can_change_pte_writable(p, c->mm, v, c->page, e));
    else
        writable = pte_write(c->orig);           /* pte_savedwrite() */
    e = op(p, PB_OP_MKYOUNG, e, 0);
    if (writable)
        e = op(p, PB_OP_MKWRITE, e, 0);
    return install(c, e);
}

static PB_HOT int vma_allows(const pb_vma *v, int access)
{
    if (access == PB_ACCESS_WRITE)
        return (v->flags & PB_VMA_WRITE) != 0;
    if (access == PB_ACCESS_EXEC)
        return (v->flags & PB_VMA_EXEC) != 0;
    return (v->flags & (PB_VMA_READ | PB_VMA_WRITE | PB_VMA_EXEC)) != 0;  /* vma_is_accessible */
}

/* Whether a present PTE may be used by this access as it is: a read, or a
 * write to a writable PTE. */
static PB_HOT int pte_allows(uint64_t e, int write)
{
    return (e & PB_PAGE_PRESENT) && (!write || pte_write(e));
}

/* handle_pte_fault's last step for such a PTE: mark it young, and dirty
 * for a write (ptep_set_access_flags).  The fault completes; it is
 * spurious when nothing changed (access_update_handler). */
static PB_HOT uint64_t pte_access_update(const pb_profile *p, uint64_t orig, int write)
{
    return op(p, PB_OP_MKYOUNG, write ? op(p, PB_OP_MKDIRTY, orig, 0) : orig, 0);
}

static PB_HOT int access_update_handler(uint64_t orig, uint64_t e)
{
    return e == orig ? PB_H_SPURIOUS : PB_H_SET_ACCESS_FLAGS;
}

static PB_HOT int handle_pte_fault(fault_ctx *c)
{
    const pb_profile *p = c->p;
    int kind;
    uint64_t e;

    trace_only(c, PB_H_HANDLE_PTE_FAULT);
    kind = classify(p, c->orig);
    if (kind == PB_KIND_NONE)
        return do_pte_missing(c);
    if (kind != PB_KIND_PRESENT && kind != PB_KIND_PROTNONE)
        return c->markers ? do_swap_page(c) : do_swap_pte(c);
    if (kind == PB_KIND_PROTNONE)              /* vma_is_accessible: checked by the caller */
        return do_numa_page(c);
    if (!pte_allows(c->orig, c->write))
        return do_wp_page(c);
    e = pte_access_update(p, c->orig, c->write);
    enter(c, access_update_handler(c->orig, e));
    return install(c, e);
}

/* One pass: the arch fault handler's VMA checks, then handle_mm_fault.
 * The caller has set c's constant fields (p, mm, vma, next_pfn, markers,
 * tracing) and found the VMA (NULL: none). */
static PB_HOT int fault_pass(fault_ctx *c, uint64_t *pte, uint64_t page, int access)
{
    c->page = page;
    c->ptep = &pte[page];
    c->orig = *c->ptep;
    c->write = access == PB_ACCESS_WRITE;
    c->write_access = c->write;
    c->handler = PB_H_NONE;
    c->trace = 0;
    c->msg = -1;
    if (!c->vma || !vma_allows(c->vma, access)) {
        enter(c, PB_H_ACCESS_ERROR);                 /* bad_area / access_error */
        return PB_O_SIGSEGV;
    }
    return handle_pte_fault(c);
}

/* ------------------------------------------- userfaultfd ioctls (model) */

/* pte_none_mostly() (6.18) / none or the special PTE (v2 13/24) */
static int none_mostly(const pb_profile *p, uint64_t v)
{
    return classify(p, v) == PB_KIND_NONE || is_uffd_wp_marker(p, v) || is_special(p, v);
}

/* mfill_atomic_install_pte (6.18 mm/userfaultfd.c; 5.12 mcopy_atomic_pte) */
static uint64_t mfill_pte(const pb_profile *p, const pb_vma *v, uint64_t pfn, int page_in_cache,
                          int wp)
{
    uint64_t e = op(p, PB_OP_MKDIRTY, pfn_pte(pfn, v->prot), 0);
    int writable = (v->flags & PB_VMA_WRITE) != 0;

    if (page_in_cache && !(v->flags & PB_VMA_SHARED))
        writable = 0;
    if (!is_markers_kernel(p)) {
        if (writable)
            e = wp ? op(p, PB_OP_MKUFFD_WP, e, 0) : op(p, PB_OP_MKWRITE, e, 0);
        return e;
    }
    if (writable)
        e = op(p, PB_OP_MKWRITE, e, 0);
    if (wp)
        e = op(p, PB_OP_MKUFFD_WP, e, 0);
    return e;
}

int pb_mm_uffd_copy(const pb_profile *p, pb_mm *mm, uint64_t page, int wp)
{
    const pb_vma *v;
    uint64_t pfn, *slot = NULL;

    if (page >= mm->npages)
        return PB_E_RANGE;
    v = find_vma(mm, page);
    if (!v || !(v->flags & PB_VMA_UFFD_MASK))
        return PB_E_VMA;
    if (!none_mostly(p, mm->pte[page]))
        return PB_E_CONFLICT;                                /* -EEXIST */
    if (v->flags & PB_VMA_SHARED) {                          /* shmem_mfill_atomic_pte */
        pb_object *o = vma_object(mm, v);
        uint64_t off = v->pgoff + (page - v->start);

        if (!o || off >= o->size || off >= o->capacity)
            return PB_E_RANGE;                               /* -EFAULT past EOF */
        slot = &o->cache[off];
        if (*slot)
            return PB_E_CONFLICT;                            /* -EEXIST */
    }
    pfn = alloc_pfn(mm);
    if (slot)
        *slot = pfn;
    mm->pte[page] = mfill_pte(p, v, pfn, 0, wp);
    return PB_OK;
}

int pb_mm_uffd_continue(const pb_profile *p, pb_mm *mm, uint64_t page, int wp)
{
    const pb_vma *v;
    uint64_t *slot;

    if (page >= mm->npages)
        return PB_E_RANGE;
    v = find_vma(mm, page);
    if (!v || vma_is_anonymous(v) || !userfaultfd_minor(v))
        return PB_E_VMA;
    if (wp && !is_markers_kernel(p))
        return PB_E_FLAG;                  /* UFFDIO_CONTINUE_MODE_WP is 6.x */
    if (!none_mostly(p, mm->pte[page]))
        return PB_E_CONFLICT;
    slot = cache_slot(mm, v, page);
    if (!slot || !*slot)
        return PB_E_RANGE;                 /* -EFAULT: no page in the cache */
    if (*slot & PB_CACHE_SWAPPED)
        *slot = alloc_pfn(mm);
    mm->pte[page] = mfill_pte(p, v, *slot, 1, wp);
    return PB_OK;
}

/* ---------------------------------------------------------- dispatch */

static PB_HOT int writeprotect_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg,
                             int on);

/* What the handler thread does with a message; v is the faulting VMA. */
static PB_HOT int resolve_message(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t page,
                           int msg, uint32_t policy)
{
    if (msg == PB_MSG_WP && (policy & PB_RESOLVE_WP))
        return writeprotect_page(p, mm, v, page, 0) == PB_OK;    /* UFFDIO_WRITEPROTECT */
    if (msg == PB_MSG_MISSING && (policy & PB_RESOLVE_MISSING))
        return pb_mm_uffd_copy(p, mm, page, (policy & PB_RESOLVE_COPY_WP) != 0) == PB_OK;
    if (msg == PB_MSG_MINOR && (policy & PB_RESOLVE_MINOR))
        return pb_mm_uffd_continue(p, mm, page, (policy & PB_RESOLVE_CONTINUE_WP) != 0) == PB_OK;
    return 0;
}

/* Add a histogram of n small values (< 64) to hist.  Most batches are
 * long runs of one handler: 32 bytes equal to their first count at once;
 * other stretches go to four interleaved tables, so that equal neighbours
 * do not wait on each other. */
static void add_histogram(const uint8_t *v, size_t n, uint64_t *hist, int nbins)
{
    uint64_t t[4][64];
    size_t i = 0, j;
    int b;

    memset(t, 0, sizeof t);
    while (i < n) {
        if (i + 32 <= n) {
            uint64_t w[4], same = v[i] * (uint64_t)0x0101010101010101u;

            memcpy(w, v + i, sizeof w);
            if (((w[0] ^ same) | (w[1] ^ same) | (w[2] ^ same) | (w[3] ^ same)) == 0) {
                t[0][v[i] & 63] += 32;
                i += 32;
                continue;
            }
        }
        for (j = i + 32 < n ? i + 32 : n; i + 4 <= j; i += 4) {
            t[0][v[i] & 63]++;
            t[1][v[i + 1] & 63]++;
            t[2][v[i + 2] & 63]++;
            t[3][v[i + 3] & 63]++;
        }
        for (; i < j; i++)
            t[0][v[i] & 63]++;
    }
    for (b = 0; b < nbins; b++)
        hist[b] += t[0][b] + t[1][b] + t[2][b] + t[3][b];
}

/* Where a batch's messages go, and what the passes after a fault's first
 * leave behind (settle_loop). */
typedef struct fault_tail {
    uint64_t *msg_fault, *msg_page;
    uint8_t *msg_kind;
    size_t msg_n, room;
    uint64_t *counts;              /* passes per handler: the batch's, for the passes
                                    * after the first (the first are counted at the end) */
    /* per fault, in and out */
    uint64_t next_pfn, trace;
    int passes, last;
} fault_tail;

/* The rest of a fault after a first pass that sent a message or asks to
 * fault again: the message (answered by the resolve policy as a handler
 * thread would) and the passes after it.  Returns the last outcome. */
static PB_HOT int settle_loop(const pb_profile *p, pb_mm *mm, const pb_vma *vma,
                              fault_tail *t, uint64_t *pte, size_t i, uint64_t page, int acc,
                              int outcome, int msg, uint32_t resolve, int retry,
                              const int markers, const int tracing)
{
    /* locals, as in dispatch_loop: the stores below may alias t's fields */
    uint64_t next_pfn = t->next_pfn, trace = t->trace;
    int passes = t->passes;
    fault_ctx c;

    c.p = p;
    c.mm = mm;
    c.vma = vma;
    c.next_pfn = &next_pfn;
    c.markers = markers;
    c.tracing = tracing;
    c.msg = msg;
    c.handler = t->last;
    for (;;) {
        if (c.msg >= 0) {
            int woken;

            t->msg_fault[t->msg_n] = i;
            t->msg_page[t->msg_n] = page;
            t->msg_kind[t->msg_n] = (uint8_t)(c.msg | (acc == PB_ACCESS_WRITE ? PB_MSG_WRITE : 0));
            t->msg_n++;
            t->room--;
            mm->next_pfn = next_pfn;         /* the ioctls allocate too */
            woken = resolve_message(p, mm, vma, page, c.msg, resolve);
            next_pfn = mm->next_pfn;
            if (!woken)
                break;
            outcome = PB_O_REFAULT;        /* the handler woke the fault */
        }
        if (outcome != PB_O_REFAULT || !retry || passes >= PB_MAX_PASSES)
            break;
        outcome = fault_pass(&c, pte, page, acc);
        t->counts[c.handler]++;
        passes++;
        if (tracing)
            trace |= c.trace;
    }
    t->next_pfn = next_pfn;
    t->trace = trace;
    t->passes = passes;
    t->last = c.handler;
    return outcome;
}

/* Out of the dispatch loop, so that the loop's registers stay with the
 * faults that complete in one pass; one copy per profile kind and trace
 * setting, like the loop. */
#define PB_SETTLE(name, markers, tracing)                                                 \
    static PB_LOOP int name(const pb_profile *p, pb_mm *mm, const pb_vma *vma,            \
                            fault_tail *t, uint64_t *pte, size_t i, uint64_t page,        \
                            int acc, int outcome, int msg, uint32_t resolve, int retry)   \
    {                                                                                     \
        return settle_loop(p, mm, vma, t, pte, i, page, acc, outcome, msg, resolve,       \
                           retry, markers, tracing);                                      \
    }
PB_SETTLE(settle_618, 1, 0)
PB_SETTLE(settle_618_traced, 1, 1)
PB_SETTLE(settle_v2, 0, 0)
PB_SETTLE(settle_v2_traced, 0, 1)

/* The VMA the fast loop works in, and the accesses it allows (bit a for
 * access a); start = end = 0 when there is none. */
typedef struct fast_lane {
    uint64_t start, end;
    int allowed;
    int anon;              /* anon_fills(): none PTEs get do_anonymous_page's */
    uint32_t flags;
    uint64_t prot;
    /* a file VMA whose read faults map the page cache page as it is
     * (no fault-around, no MINOR messages): its cache, from the VMA's
     * first page, and how many pages of it a fault may reach */
    const uint64_t *cache;
    uint64_t cache_pages;
    /* with cache, in a uffd-wp VMA: the uffd-wp marker (6.18) or special
     * PTE (v2) that a read turns back into the cached page, write-protected
     * (the seed's path); else 0 */
    uint64_t wp_leftover;
} fast_lane;

static void set_lane(fast_lane *lane, const pb_profile *p, const pb_mm *mm, const pb_vma *v)
{
    const pb_object *o = v ? vma_object(mm, v) : NULL;

    memset(lane, 0, sizeof *lane);
    if (!v)
        return;
    if (o && !vma_is_anonymous(v) && !userfaultfd_minor(v) &&
        !fault_around_on(v->flags, mm->fault_around_pages) && v->pgoff < cache_limit(o)) {
        lane->cache = o->cache + v->pgoff;
        lane->cache_pages = cache_limit(o) - v->pgoff;
        if (userfaultfd_wp(v))
            lane->wp_leftover = is_markers_kernel(p) ? uffd_wp_marker(p) : p->special_pte;
    }
    lane->start = v->start;
    lane->end = v->end < mm->npages ? v->end : mm->npages;   /* the fast loop checks no more */
    lane->allowed = vma_allows(v, PB_ACCESS_READ) << PB_ACCESS_READ |
                    vma_allows(v, PB_ACCESS_WRITE) << PB_ACCESS_WRITE |
                    vma_allows(v, PB_ACCESS_EXEC) << PB_ACCESS_EXEC;
    lane->anon = anon_fills(v);
    lane->flags = v->flags;
    lane->prot = v->prot;
}

/* Most faults of a batch take one of a few short paths, after the arch
 * handler's VMA checks: a present PTE the access may use as it is
 * (handle_pte_fault's last step); a none PTE of an anonymous VMA without
 * userfaultfd (do_anonymous_page); a read of a none PTE, or of the uffd-wp
 * marker / special PTE in a uffd-wp VMA, of a file VMA whose page is in
 * the page cache, without fault-around or MINOR (do_read_fault ->
 * finish_fault, uffd-wp kept).  This loop completes those with few
 * values live, through the same helpers as the whole path.  Returns the
 * first fault from i on that it does not take. */
static PB_LOOP size_t fast_loop(const pb_profile *p, pb_mm *mm, const uint64_t *pages,
                                const uint8_t *access, size_t i, size_t n, pb_fault_out *out,
                                const fast_lane *ln)
{
    /* the lane's fields as locals (the stores below may alias *ln) */
    const uint64_t start = ln->start, end = ln->end, prot = ln->prot;
    const uint64_t *const cache = ln->cache;
    const uint64_t cache_pages = ln->cache_pages, wp_leftover = ln->wp_leftover;
    const int markers = is_markers_kernel(p);
    const int allowed = ln->allowed, anon = ln->anon;
    const uint32_t flags = ln->flags;
    /* Locals, not out->... or mm->...: the byte and PTE stores below may
     * alias those fields, which would then be reloaded after every store. */
    uint8_t *const handler = out->handler, *const last = out->last;
    uint8_t *const outcomes = out->outcome, *const npasses = out->passes;
    uint8_t *const allocs = out->allocs;
    uint64_t *const traces = out->trace;
    uint64_t *const pte = mm->pte;
    const uint64_t zero_pfn = mm->zero_pfn;
    const uint64_t missing = PB_BIT(PB_H_HANDLE_PTE_FAULT) |
                             (markers ? PB_BIT(PB_H_DO_PTE_MISSING) : 0);
    const uint64_t anon_trace = missing | PB_BIT(PB_H_DO_ANONYMOUS_PAGE);
    const uint64_t read_trace = missing | PB_BIT(PB_H_DO_FAULT) | PB_BIT(PB_H_DO_READ_FAULT);
    /* 6.18: do_swap_page -> handle_pte_marker -> pte_marker_handle_uffd_wp
     * -> do_pte_missing -> do_fault; v2: do_swap_pte ->
     * uffd_wp_handle_special -> do_fault */
    const int leftover_handler = markers ? PB_H_PTE_MARKER_HANDLE_UFFD_WP
                                         : PB_H_UFFD_WP_HANDLE_SPECIAL;
    const uint64_t leftover_trace =
        PB_BIT(PB_H_HANDLE_PTE_FAULT) | PB_BIT(leftover_handler) | PB_BIT(PB_H_DO_FAULT) |
        PB_BIT(PB_H_DO_READ_FAULT) |
        (markers ? PB_BIT(PB_H_DO_SWAP_PAGE) | PB_BIT(PB_H_HANDLE_PTE_MARKER) |
                   PB_BIT(PB_H_DO_PTE_MISSING)
                 : PB_BIT(PB_H_DO_SWAP_PTE));
    uint64_t next_pfn = mm->next_pfn;

    for (; i < n; i++) {
        uint64_t page = pages[i], e, ne, trace;
        int acc = access[i], write, h, alloc = 0;

        if (page < start || page >= end || acc > PB_ACCESS_EXEC || !(allowed >> acc & 1))
            break;
        write = acc == PB_ACCESS_WRITE;
        e = pte[page];
        if (pte_allows(e, write)) {
            ne = pte_access_update(p, e, write);
            h = access_update_handler(e, ne);
            trace = PB_BIT(PB_H_HANDLE_PTE_FAULT) | PB_BIT(h);
        } else if (anon && pte_none(e)) {
            alloc = write;
            ne = anon_page_pte(p, prot, flags, write, write ? next_pfn++ : zero_pfn);
            h = PB_H_DO_ANONYMOUS_PAGE;
            trace = anon_trace;
        } else if (cache && !write && (pte_none(e) || (e == wp_leftover && e)) &&
                   page - start < cache_pages && cache[page - start] &&
                   !(cache[page - start] & PB_CACHE_SWAPPED)) {
            ne = pfn_pte(cache[page - start], prot);            /* finish_fault */
            if (!pte_none(e)) {            /* the leftover: keep uffd-wp (orig_pte_uffd_wp) */
                ne = mkuffd_wp_of(p, markers, ne);
                h = leftover_handler;
                trace = leftover_trace;
            } else {
                h = PB_H_DO_READ_FAULT;
                trace = read_trace;
            }
        } else {
            break;
        }
        pte[page] = ne;
        handler[i] = last[i] = (uint8_t)h;
        outcomes[i] = PB_O_DONE;
        npasses[i] = 1;
        if (traces)
            traces[i] = trace;
        if (allocs)
            allocs[i] = (uint8_t)alloc;
    }
    mm->next_pfn = next_pfn;
    return i;
}

/* The dispatch loop for every other fault, instantiated once per (markers,
 * tracing) pair so that both are constants in the inlined fault path.  It
 * starts at a fault the fast loop did not take and returns (PB_OK, *done
 * the next fault, *lane the current VMA) after one that ended as the fast
 * loop's do, as its neighbours may well too. */
static PB_HOT int dispatch_loop(const pb_profile *p, pb_mm *mm, const uint64_t *pages,
                                const uint8_t *access, size_t n, size_t start,
                                uint32_t resolve, int retry, pb_fault_out *out,
                                size_t *done, fast_lane *lane, const int markers,
                                const int tracing)
{
    /* Locals, not out->... or mm->...: the byte and PTE stores below may
     * alias those fields, which would then be reloaded after every store. */
    uint8_t *const handler = out->handler, *const last = out->last;
    uint8_t *const outcomes = out->outcome, *const npasses = out->passes;
    uint64_t *const traces = out->trace;
    uint8_t *const allocs = out->allocs;
    uint64_t *const pte = mm->pte;
    const uint64_t npages = mm->npages;
    fault_tail tail;
    uint64_t next_pfn = mm->next_pfn;
    pb_vma vma = {0, 0, 0, 0, 0, -1};   /* a copy of the current VMA */
    int have_vma = 0, status = PB_OK, h;
    size_t i;
    fault_ctx c;

    tail.msg_fault = out->msg_fault;
    tail.msg_page = out->msg_page;
    tail.msg_kind = out->msg_kind;
    tail.msg_n = out->msg_n;
    tail.room = out->msg_cap > out->msg_n ? out->msg_cap - out->msg_n : 0;
    tail.counts = out->counts;
    c.p = p;
    c.mm = mm;
    c.next_pfn = &next_pfn;
    c.markers = markers;
    c.tracing = tracing;
    for (i = start; i < n; i++) {
        uint64_t page = pages[i], pfn0 = next_pfn;
        int acc = access[i], outcome;

        if (page >= npages || acc > PB_ACCESS_EXEC) {
            status = PB_E_RANGE;
            break;
        }
        if (!have_vma || page < vma.start || page >= vma.end) {
            const pb_vma *v = find_vma(mm, page);

            have_vma = v != NULL;
            if (v)
                vma = *v;
        }
        if (tail.room < PB_MAX_PASSES) {
            status = PB_E_FULL;               /* room for every message it may send */
            break;
        }
        c.vma = have_vma ? &vma : NULL;
        outcome = fault_pass(&c, pte, page, acc);
        h = c.handler;
        handler[i] = (uint8_t)h;
        tail.passes = 1;
        if (c.msg >= 0 || (outcome == PB_O_REFAULT && retry)) {
            tail.next_pfn = next_pfn;
            tail.trace = c.trace;
            tail.last = h;
            outcome = (markers ? (tracing ? settle_618_traced : settle_618)
                               : (tracing ? settle_v2_traced : settle_v2))(
                p, mm, c.vma, &tail, pte, i, page, acc, outcome, c.msg, resolve, retry);
            next_pfn = tail.next_pfn;
            h = tail.last;
            if (tracing)
                traces[i] = tail.trace;
        } else if (tracing) {
            traces[i] = c.trace;
        }
        last[i] = (uint8_t)h;
        outcomes[i] = (uint8_t)outcome;
        npasses[i] = (uint8_t)tail.passes;
        if (allocs)
            allocs[i] = (uint8_t)(next_pfn - pfn0);
        if (tail.passes == 1 && (h == PB_H_SPURIOUS || h == PB_H_SET_ACCESS_FLAGS ||
                                 h == PB_H_DO_ANONYMOUS_PAGE || h == PB_H_DO_READ_FAULT ||
                                 h == PB_H_PTE_MARKER_HANDLE_UFFD_WP ||
                                 h == PB_H_UFFD_WP_HANDLE_SPECIAL ||
                                 h == PB_H_DO_FAULT_AROUND)) {
            /* faults the fast loop takes are likely next (after
             * fault-around: the pages it mapped) */
            i++;
            break;
        }
    }
    set_lane(lane, p, mm, have_vma ? &vma : NULL);
    mm->next_pfn = next_pfn;
    out->msg_n = tail.msg_n;
    *done = i;
    return status;
}

#define PB_DISPATCH_LOOP(name, markers, tracing)                                            \
    static PB_LOOP int name(const pb_profile *p, pb_mm *mm, const uint64_t *pages,          \
                            const uint8_t *access, size_t n, size_t start, uint32_t resolve, \
                            int retry, pb_fault_out *out, size_t *done, fast_lane *lane)   \
    {                                                                                       \
        return dispatch_loop(p, mm, pages, access, n, start, resolve, retry, out, done,     \
                             lane, markers, tracing);                                       \
    }
PB_DISPATCH_LOOP(dispatch_618, 1, 0)
PB_DISPATCH_LOOP(dispatch_618_traced, 1, 1)
PB_DISPATCH_LOOP(dispatch_v2, 0, 0)
PB_DISPATCH_LOOP(dispatch_v2_traced, 0, 1)

int pb_dispatch(const pb_profile *p, pb_mm *mm, const uint64_t *pages,
                const uint8_t *access, size_t n, size_t start, uint32_t resolve,
                int retry, pb_fault_out *out, size_t *done)
{
    int tracing = out->trace != NULL, status = PB_OK;
    int (*const others)(const pb_profile *, pb_mm *, const uint64_t *, const uint8_t *,
                        size_t, size_t, uint32_t, int, pb_fault_out *, size_t *,
                        fast_lane *) =
        is_markers_kernel(p) ? (tracing ? dispatch_618_traced : dispatch_618)
                             : (tracing ? dispatch_v2_traced : dispatch_v2);
    fast_lane lane;
    size_t i = start;

    set_lane(&lane, p, mm, NULL);        /* none yet: the general loop finds the VMA */
    while (i < n) {
        i = fast_loop(p, mm, pages, access, i, n, out, &lane);
        if (i >= n)
            break;
        status = others(p, mm, pages, access, n, i, resolve, retry, out, &i, &lane);
        if (status != PB_OK)
            break;
    }
    add_histogram(out->handler + start, i - start, out->counts, PB_H_COUNT);
    add_histogram(out->outcome + start, i - start, out->outcomes, PB_O_COUNT);
    *done = i;
    return status;
}

void pb_remap_pfns(uint64_t *pte, size_t n, uint64_t lo, uint64_t count,
                   const uint64_t *table)
{
    size_t i;

    for (i = 0; i < n; i++) {
        uint64_t v = pte[i], pfn;

        if (!(v & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE)))
            continue;
        pfn = pte_pfn(v);
        if (pfn - lo < count)         /* unsigned: also pfn >= lo */
            pte[i] = pfn_pte(table[pfn - lo], v & ~PB_PTE_PFN_MASK);
    }
}

/* ------------------------------------------ operations outside faults */

/* pte_install_uffd_wp_if_needed (6.18 mm_inline.h; v2 10/24): after a PTE
 * of a file VMA was cleared, keep its uffd-wp as a marker / special PTE. */
static uint64_t uffd_wp_leftover(const pb_profile *p, const pb_vma *v, uint64_t old)
{
    int had;

    if (vma_is_anonymous(v) || !p->uffd_wp)
        return 0;
    if (is_markers_kernel(p) && !userfaultfd_wp(v))
        return 0;                        /* v2 checks only that the VMA is a file VMA */
    if (old & (PB_PAGE_PRESENT | PB_PAGE_PROTNONE))
        had = pte_uffd_wp(p, old);
    else
        had = swp_uffd_wp_any(p, old);
    if (!had)
        return 0;
    return is_markers_kernel(p) ? uffd_wp_marker(p) : p->special_pte;
}

typedef int (*page_op)(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t page,
                       int arg);

/* Apply fn to each page of [first, first+count), which must lie in VMAs. */
static int for_each_page(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count,
                         int arg, page_op fn)
{
    uint64_t pg, end;
    const pb_vma *v = NULL;

    if (first > mm->npages || count > mm->npages - first)
        return PB_E_RANGE;
    end = first + count;
    for (pg = first; pg < end; pg++) {
        int r;

        if (!v || pg >= v->end)
            v = find_vma(mm, pg);
        if (!v)
            return PB_E_VMA;
        r = fn(p, mm, v, pg, arg);
        if (r != PB_OK)
            return r;
    }
    return PB_OK;
}

/* change_pte_range() for one swap-format entry: writable migration and
 * device entries become readable (6.18 rebuilds a migration entry without
 * its uffd-wp bit; 5.12 keeps it). */
static uint64_t swap_entry_readable(const pb_profile *p, const pb_vma *v, uint64_t old)
{
    int kind = classify(p, old), type = (int)(old >> PB_SWP_TYPE_SHIFT);
    uint64_t e = old;

    if (kind == PB_KIND_MIGRATION && p->type_sub[type] == PB_SUB_MIGRATION_WRITE) {
        int sub = (vma_is_anonymous(v) && p->type_migration[PB_SUB_MIGRATION_READ_EXCLUSIVE]
                   != PB_NO_TYPE) ? PB_SUB_MIGRATION_READ_EXCLUSIVE : PB_SUB_MIGRATION_READ;
        e = mk_swp(p->type_migration[sub], swp_offset(old)) | (old & p->swp_soft_dirty);
        if (!is_markers_kernel(p))
            e |= old & p->swp_uffd_wp;
    } else if (kind == PB_KIND_DEVICE && p->type_sub[type] == PB_SUB_DEVICE_PRIVATE_WRITE) {
        e = mk_swp(p->type_device[PB_SUB_DEVICE_PRIVATE_READ], swp_offset(old)) |
            (old & p->swp_uffd_wp);
    }
    return e;
}

/* UFFDIO_WRITEPROTECT: change_pte_range with MM_CP_UFFD_WP(_RESOLVE) */
static PB_HOT int writeprotect_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg,
                             int on)
{
    uint64_t old = mm->pte[pg], e;
    int kind = classify(p, old);

    if (!userfaultfd_wp(v))
        return PB_E_VMA;                              /* -ENOENT */
    if (kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE) {
        if (is_markers_kernel(p)) {
            e = op(p, PB_OP_MODIFY, old, v->prot);
            e = on ? op(p, PB_OP_MKUFFD_WP, e, 0) : op(p, PB_OP_CLEAR_UFFD_WP, e, 0);
            if (!on && !pte_write(e) && wants_manual_write_upgrade(p, v) &&
                can_change_pte_writable(p, mm, v, pg, e))
                e = op(p, PB_OP_MKWRITE, e, 0);
        } else {
            /* 5.12 mwriteprotect_range: newprot = vm_get_page_prot(flags, less
             * VM_WRITE when protecting) */
            uint32_t fl = on ? (v->flags & ~PB_VMA_WRITE) : v->flags;

            e = op(p, PB_OP_MODIFY, old, pb_vma_page_prot(p, fl));
            e = on ? mkuffd_wp(p, e) : op(p, PB_OP_CLEAR_UFFD_WP, e, 0);
        }
        mm->pte[pg] = e;
        return PB_OK;
    }
    if (kind == PB_KIND_NONE) {
        if (!on)
            return PB_OK;
        if (is_markers_kernel(p)) {                   /* userfaultfd_wp_use_markers */
            if (!vma_is_anonymous(v) || (v->flags & PB_VMA_WP_UNPOPULATED))
                mm->pte[pg] = uffd_wp_marker(p);
        } else if (!vma_is_anonymous(v)) {
            mm->pte[pg] = p->special_pte;
        }
        return PB_OK;
    }
    if (is_special(p, old)) {                         /* v2 11/24 */
        if (!on && !vma_is_anonymous(v))
            mm->pte[pg] = 0;
        return PB_OK;
    }
    if (is_markers_kernel(p) && (old >> PB_SWP_TYPE_SHIFT) == p->type_marker) {
        if (!on && !(swp_offset(old) & (PB_PTE_MARKER_POISONED | PB_PTE_MARKER_GUARD)))
            mm->pte[pg] = 0;                          /* poisoned/guard: untouched */
        return PB_OK;
    }
    e = swap_entry_readable(p, v, old);
    mm->pte[pg] = on ? (e | p->swp_uffd_wp) : (e & ~p->swp_uffd_wp);
    return PB_OK;
}

int pb_mm_writeprotect(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count, int on)
{
    if (!p->uffd_wp)
        return PB_E_FLAG;
    return for_each_page(p, mm, first, count, on, writeprotect_page);
}

/* zap_pte_range (MADV_DONTNEED, unmap_mapping_range, munmap) for one PTE */
static int zap_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg, int how)
{
    uint64_t old = mm->pte[pg];
    int kind = classify(p, old);
    int even_cows = how != PB_ZAP_MAPPING, drop_markers = how == PB_ZAP_MUNMAP;

    switch (kind) {
    case PB_KIND_NONE:
        return PB_OK;
    case PB_KIND_PRESENT:
    case PB_KIND_PROTNONE:
        /* should_zap_folio: without even_cows only page cache pages */
        if (!even_cows && !is_file_page(mm, v, pg, pte_pfn(old)))
            return PB_OK;
        break;
    case PB_KIND_UFFD_WP_SPECIAL:
        if (drop_markers)
            mm->pte[pg] = 0;
        return PB_OK;
    case PB_KIND_MARKER: {
        uint64_t m = swp_offset(old) & PB_PTE_MARKER_MASK;

        if (m & PB_PTE_MARKER_GUARD) {
            if (drop_markers)
                mm->pte[pg] = 0;
        } else if (m & PB_PTE_MARKER_POISONED) {
            if (even_cows)
                mm->pte[pg] = 0;
        } else if (vma_is_anonymous(v) || drop_markers) {
            mm->pte[pg] = 0;                          /* a file uffd-wp marker stays */
        }
        return PB_OK;
    }
    case PB_KIND_HWPOISON:
        if (even_cows)
            mm->pte[pg] = 0;
        return PB_OK;
    default:                                          /* swap, migration, device, bad */
        if (!even_cows)
            return PB_OK;                             /* anonymous by construction */
        break;
    }
    mm->pte[pg] = drop_markers ? 0 : uffd_wp_leftover(p, v, old);
    return PB_OK;
}

int pb_mm_zap(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count, int how)
{
    if (how < PB_ZAP_DONTNEED || how > PB_ZAP_MUNMAP)
        return PB_E_OP;
    return for_each_page(p, mm, first, count, how, zap_page);
}

/* MADV_PAGEOUT: try_to_unmap_one, then the page goes to swap */
static int swap_out_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg,
                         int unused)
{
    uint64_t old = mm->pte[pg], pfn, *slot, e;
    int kind = classify(p, old);

    (void)unused;
    if ((kind != PB_KIND_PRESENT && kind != PB_KIND_PROTNONE) || !is_normal(mm, old))
        return PB_OK;
    pfn = pte_pfn(old);
    if (is_file_page(mm, v, pg, pfn)) {
        slot = cache_slot(mm, v, pg);
        mm->pte[pg] = uffd_wp_leftover(p, v, old);
        *slot = PB_CACHE_SWAPPED | mm->next_slot++;     /* shmem_writeout */
        return PB_OK;
    }
    e = mk_swp(mm->swap_type, mm->next_slot++);
    if (p->swp_exclusive)
        e |= p->swp_exclusive;                          /* PageAnonExclusive */
    if (old & p->soft_dirty)
        e |= p->swp_soft_dirty;
    if (pte_uffd_wp(p, old))
        e |= p->swp_uffd_wp;
    mm->pte[pg] = e;
    return PB_OK;
}

int pb_mm_swap_out(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count)
{
    return for_each_page(p, mm, first, count, 0, swap_out_page);
}

/* mprotect's change_pte_range, after the VMA got its new flags and prot */
static int change_prot_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg,
                            int unused)
{
    uint64_t old = mm->pte[pg], e;
    int kind = classify(p, old);

    (void)unused;
    if (kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE) {
        e = op(p, PB_OP_MODIFY, old, v->prot);
        if (is_markers_kernel(p)) {
            if (!pte_write(e) && wants_manual_write_upgrade(p, v) &&
                can_change_pte_writable(p, mm, v, pg, e))
                e = op(p, PB_OP_MKWRITE, e, 0);
        } else if (vma_wants_writenotify(p, v->flags) && pte_dirty(p, e)) {
            e = op(p, PB_OP_MKWRITE, e, 0);       /* MM_CP_DIRTY_ACCT (never for shmem) */
        }
        mm->pte[pg] = e;
    } else if (kind == PB_KIND_MIGRATION || kind == PB_KIND_DEVICE) {
        mm->pte[pg] = swap_entry_readable(p, v, old);
    }
    return PB_OK;
}

int pb_mm_change_prot(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count)
{
    return for_each_page(p, mm, first, count, 0, change_prot_page);
}

/* change_prot_numa: present normal pages become PROT_NONE hinting faults
 * (5.12 keeps the write bit as "savedwrite"; 6.2+ recomputes it) */
static int numa_hint_page(const pb_profile *p, pb_mm *mm, const pb_vma *v, uint64_t pg,
                          int unused)
{
    uint64_t old = mm->pte[pg], e;

    (void)unused;
    (void)v;
    if (classify(p, old) != PB_KIND_PRESENT || !is_normal(mm, old))
        return PB_OK;
    e = op(p, PB_OP_MODIFY, old, PB_PAGE_NONE);
    if (!is_markers_kernel(p) && pte_write(old))
        e |= PB_PAGE_RW;
    mm->pte[pg] = e;
    return PB_OK;
}

int pb_mm_numa_hint(const pb_profile *p, pb_mm *mm, uint64_t first, uint64_t count)
{
    if (!p->protnone_test)
        return PB_E_FLAG;                    /* CONFIG_NUMA_BALANCING is off */
    return for_each_page(p, mm, first, count, 0, numa_hint_page);
}

/* ---------------------------------------------------------- pagemap */

void pb_mm_pagemap(const pb_profile *p, const pb_mm *mm, uint64_t first, uint64_t count,
                   uint64_t *out)
{
    uint64_t i;
    const pb_vma *v = NULL;

    for (i = 0; i < count; i++) {
        uint64_t pg = first + i, e;
        /* every mapping starts with VM_SOFTDIRTY set (mmap_region), which
         * pagemap reports on every entry where MEM_SOFT_DIRTY exists */
        uint32_t facts = PB_PMIN_SHOW_PFN | PB_PMIN_VMA_SOFTDIRTY;
        int kind;

        if (pg >= mm->npages) {
            out[i] = 0;
            continue;
        }
        if (!v || pg < v->start || pg >= v->end)
            v = find_vma(mm, pg);
        if (!v) {
            out[i] = 0;
            continue;
        }
        e = mm->pte[pg];
        kind = classify(p, e);
        if ((kind == PB_KIND_PRESENT || kind == PB_KIND_PROTNONE) && is_normal(mm, e)) {
            facts |= PB_PMIN_EXCLUSIVE;                  /* one process: mapped once */
            if (is_file_page(mm, v, pg, pte_pfn(e)))
                facts |= PB_PMIN_FILE;
        } else if (is_pfn_kind(kind)) {
            facts |= PB_PMIN_EXCLUSIVE;
        }
        out[i] = pte_to_pagemap(p, e, facts);
    }
}
