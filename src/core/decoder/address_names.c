/*
 * address_names.c — the address-to-name tables of address_names.h.
 *
 * Functions (many, small: one thunk each) are found through a hash of
 * (process, 4 KiB page) -> list of the functions overlapping that page,
 * newest first; a function is listed under each page it touches (at most
 * MAX_PAGES). Images (few, large) live in one array sorted by (process,
 * base, arrival) the first time it is searched after a change. Names are
 * kept in one growing string arena.
 */
#include "address_names.h"

#include "tracelogging/tld.h"

#include "etl_kernel.h"
#include "tracelogging/tld_errors.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_SHIFT 12
#define MAX_PAGES 16u

typedef struct fn_entry {
    uint64_t begin, end;
    uint32_t pid;
    uint32_t name_off, name_len;
    uint32_t file_off, file_len;
    int32_t line;
} fn_entry;

typedef struct page_slot {
    uint64_t page;
    uint32_t pid;
    int32_t head;       /* index into links, -1 when the slot is empty */
} page_slot;

typedef struct link {
    uint32_t fn;
    int32_t next;
} link;

typedef struct img_entry {
    uint64_t base, end;
    uint32_t pid;
    uint32_t name_off, name_len;
    uint32_t seq;
    int removed;
} img_entry;

struct tl_address_names {
    uint8_t *str;
    size_t str_len, str_cap;
    fn_entry *fns;
    size_t nfns, fns_cap;
    link *links;
    size_t nlinks, links_cap;
    page_slot *table;
    size_t table_size, table_used;   /* size: a power of two */
    img_entry *imgs;
    size_t nimgs, imgs_cap;
    int imgs_sorted;
    uint32_t seq;
    uint64_t dropped;
};

static int grow_array(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return TLD_E_NO_MEMORY;
    *p = q;
    *cap = n;
    return 0;
}

int tl_names_new(tl_address_names **out)
{
    tl_address_names *n = calloc(1, sizeof *n);
    *out = n;
    return n ? 0 : TLD_E_NO_MEMORY;
}

void tl_names_free(tl_address_names *n)
{
    if (!n)
        return;
    free(n->str);
    free(n->fns);
    free(n->links);
    free(n->table);
    free(n->imgs);
    free(n);
}

uint64_t tl_names_dropped(const tl_address_names *n)
{
    return n->dropped;
}

/* Appends bytes to the arena; returns 0 and the offset, or an error. */
static int add_string(tl_address_names *n, const uint8_t *s, size_t len, uint32_t *off)
{
    if (len > TL_NAMES_MAX_STRING_BYTES || n->str_len + len > TL_NAMES_MAX_STRING_BYTES)
        return TLD_E_INVALID_ARG;
    if (grow_array((void **)&n->str, &n->str_cap, n->str_len + len + 1, 1) < 0)
        return TLD_E_NO_MEMORY;
    if (len)
        memcpy(n->str + n->str_len, s, len);
    *off = (uint32_t)n->str_len;
    n->str_len += len;
    return 0;
}

/* The part of a UTF-16LE path after its last '\' or '/'. */
static void utf16_basename(const uint8_t *p, size_t bytes, const uint8_t **base, size_t *base_bytes)
{
    size_t start = 0;
    for (size_t i = 0; i + 1 < bytes; i += 2)
        if (p[i + 1] == 0 && (p[i] == '\\' || p[i] == '/'))
            start = i + 2;
    *base = p + start;
    *base_bytes = (bytes & ~(size_t)1) - start;
}

/* ---- functions ------------------------------------------------------------------ */

static size_t page_hash(const tl_address_names *n, uint32_t pid, uint64_t page)
{
    uint64_t h = (page * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)pid * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 29;
    return (size_t)h & (n->table_size - 1);
}

static page_slot *find_slot(tl_address_names *n, uint32_t pid, uint64_t page)
{
    if (!n->table_size)
        return NULL;
    for (size_t i = page_hash(n, pid, page);; i = (i + 1) & (n->table_size - 1)) {
        page_slot *s = &n->table[i];
        if (s->head < 0)
            return s; /* empty: where it would go */
        if (s->page == page && s->pid == pid)
            return s;
    }
}

static int grow_table(tl_address_names *n)
{
    size_t old_size = n->table_size;
    page_slot *old = n->table;
    size_t size = old_size ? old_size * 2 : 1024;
    page_slot *t = malloc(size * sizeof *t);
    if (!t)
        return TLD_E_NO_MEMORY;
    for (size_t i = 0; i < size; i++)
        t[i].head = -1;
    n->table = t;
    n->table_size = size;
    for (size_t i = 0; i < old_size; i++) {
        if (old[i].head < 0)
            continue;
        page_slot *s = find_slot(n, old[i].pid, old[i].page);
        *s = old[i];
    }
    free(old);
    return 0;
}

int tl_names_add_function(tl_address_names *n, uint32_t pid, uint64_t begin, uint64_t end, const uint8_t *name,
                          size_t name_bytes, const uint8_t *file, size_t file_bytes, int32_t line)
{
    if (end <= begin)
        return 0;
    const uint8_t *fbase;
    size_t fbase_bytes;
    utf16_basename(file, file_bytes, &fbase, &fbase_bytes);
    name_bytes &= ~(size_t)1;
    uint64_t first = begin >> PAGE_SHIFT, last = (end - 1) >> PAGE_SHIFT;
    if (last - first >= MAX_PAGES)
        last = first + MAX_PAGES - 1;
    /* The same start in the same process: a newer definition. */
    page_slot *s0 = find_slot(n, pid, first);
    if (s0 && s0->head >= 0) {
        for (int32_t k = s0->head; k >= 0; k = n->links[k].next) {
            fn_entry *f = &n->fns[n->links[k].fn];
            if (f->pid == pid && f->begin == begin) {
                uint32_t no, fo;
                if (add_string(n, name, name_bytes, &no) < 0 || add_string(n, fbase, fbase_bytes, &fo) < 0) {
                    n->dropped++;
                    return 0;
                }
                f->end = end;
                f->name_off = no;
                f->name_len = (uint32_t)name_bytes;
                f->file_off = fo;
                f->file_len = (uint32_t)fbase_bytes;
                f->line = line;
                return 0;
            }
        }
    }
    if (n->nfns >= TL_NAMES_MAX_FUNCTIONS) {
        n->dropped++;
        return 0;
    }
    uint32_t no, fo;
    int rc = add_string(n, name, name_bytes, &no);
    if (rc == 0)
        rc = add_string(n, fbase, fbase_bytes, &fo);
    if (rc == TLD_E_INVALID_ARG) {
        n->dropped++;
        return 0;
    }
    if (rc < 0 || grow_array((void **)&n->fns, &n->fns_cap, n->nfns + 1, sizeof *n->fns) < 0 ||
        grow_array((void **)&n->links, &n->links_cap, n->nlinks + MAX_PAGES, sizeof *n->links) < 0)
        return TLD_E_NO_MEMORY;
    uint32_t idx = (uint32_t)n->nfns++;
    fn_entry *f = &n->fns[idx];
    f->begin = begin;
    f->end = end;
    f->pid = pid;
    f->name_off = no;
    f->name_len = (uint32_t)name_bytes;
    f->file_off = fo;
    f->file_len = (uint32_t)fbase_bytes;
    f->line = line;
    for (uint64_t page = first; page <= last; page++) {
        if ((n->table_used + 1) * 2 > n->table_size && grow_table(n) < 0)
            return TLD_E_NO_MEMORY;
        page_slot *s = find_slot(n, pid, page);
        if (s->head < 0) {
            s->page = page;
            s->pid = pid;
            n->table_used++;
        }
        link *l = &n->links[n->nlinks];
        l->fn = idx;
        l->next = s->head;
        s->head = (int32_t)n->nlinks++;
    }
    return 0;
}

/* ---- images ---------------------------------------------------------------------- */

static int img_cmp(const void *a, const void *b)
{
    const img_entry *x = a, *y = b;
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->base != y->base)
        return x->base < y->base ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void sort_images(tl_address_names *n)
{
    if (!n->imgs_sorted) {
        qsort(n->imgs, n->nimgs, sizeof *n->imgs, img_cmp);
        n->imgs_sorted = 1;
    }
}

int tl_names_add_image(tl_address_names *n, uint32_t pid, uint64_t base, uint64_t size, const uint8_t *path,
                       size_t path_bytes, uint32_t pointer_size)
{
    if (size == 0 || base + size < base)
        return 0;
    if (etl_kernel_is_kernel_address(base, pointer_size))
        pid = 0;
    if (n->nimgs >= TL_NAMES_MAX_IMAGES) {
        n->dropped++;
        return 0;
    }
    const uint8_t *b;
    size_t bb;
    utf16_basename(path, path_bytes, &b, &bb);
    uint32_t off;
    int rc = add_string(n, b, bb, &off);
    if (rc == TLD_E_INVALID_ARG) {
        n->dropped++;
        return 0;
    }
    if (rc < 0 || grow_array((void **)&n->imgs, &n->imgs_cap, n->nimgs + 1, sizeof *n->imgs) < 0)
        return TLD_E_NO_MEMORY;
    img_entry *e = &n->imgs[n->nimgs++];
    e->base = base;
    e->end = base + size;
    e->pid = pid;
    e->name_off = off;
    e->name_len = (uint32_t)bb;
    e->seq = n->seq++;
    e->removed = 0;
    n->imgs_sorted = 0;
    return 0;
}

/* Index one past the last image with (pid, base) <= (pid, addr). */
static size_t image_upper(const tl_address_names *n, uint32_t pid, uint64_t addr)
{
    size_t lo = 0, hi = n->nimgs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const img_entry *e = &n->imgs[mid];
        if (e->pid < pid || (e->pid == pid && e->base <= addr))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void tl_names_remove_image(tl_address_names *n, uint32_t pid, uint64_t base, uint32_t pointer_size)
{
    if (etl_kernel_is_kernel_address(base, pointer_size))
        pid = 0;
    sort_images(n);
    for (size_t i = image_upper(n, pid, base); i > 0; i--) {
        img_entry *e = &n->imgs[i - 1];
        if (e->pid != pid || e->base != base)
            break;
        e->removed = 1;
    }
}

int tl_names_lookup(tl_address_names *n, uint32_t pid, uint64_t addr, uint32_t pointer_size, tl_address_name *out)
{
    memset(out, 0, sizeof *out);
    page_slot *s = find_slot(n, pid, addr >> PAGE_SHIFT);
    if (s && s->head >= 0) {
        for (int32_t k = s->head; k >= 0; k = n->links[k].next) {
            const fn_entry *f = &n->fns[n->links[k].fn];
            if (f->pid == pid && f->begin <= addr && addr < f->end) {
                out->is_function = 1;
                out->begin = f->begin;
                out->name = n->str + f->name_off;
                out->name_bytes = f->name_len;
                out->file = n->str + f->file_off;
                out->file_bytes = f->file_len;
                out->line = f->line;
                return 0;
            }
        }
    }
    if (n->nimgs == 0)
        return TLD_E_END;
    if (etl_kernel_is_kernel_address(addr, pointer_size))
        pid = 0;
    sort_images(n);
    /* Newest first among the nearest bases; a few steps back cover images
     * loaded again at one base and small ones inside larger ones. */
    size_t i = image_upper(n, pid, addr);
    for (int steps = 0; i > 0 && steps < 16; i--, steps++) {
        const img_entry *e = &n->imgs[i - 1];
        if (e->pid != pid)
            break;
        if (!e->removed && e->base <= addr && addr < e->end) {
            out->is_function = 0;
            out->begin = e->base;
            out->name = n->str + e->name_off;
            out->name_bytes = e->name_len;
            return 0;
        }
    }
    return TLD_E_END;
}
