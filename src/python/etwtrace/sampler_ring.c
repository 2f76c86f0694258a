/*
 * sampler_ring.c — the per-thread ring of samples (sampler.h): one
 * producer, the signal handler of the ring's thread, and one consumer at a
 * time, the drain. Lock-free: the producer writes a record above `head`
 * and publishes it with one release store of `head`; the consumer reads
 * below `head` (acquire) and frees with one release store of `tail`.
 *
 *   mem: [ consumed | record | record | ...free... | pad ]
 *              tail ^                  head ^
 *
 * A record never wraps: when the end of the ring has less room than the
 * largest record the producer may write, and the start has enough, the
 * producer fills the end with a pad record and starts over at offset 0.
 * The consumer skips pads.
 */
#include "sampler.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_SIZE ((uint64_t)sizeof(sampler_record))

int sampler_ring_init(sampler_ring *r, size_t cap)
{
    uint64_t c = 64;
    while (c < cap && c < (UINT64_C(1) << 31))
        c <<= 1;
    r->mem = malloc((size_t)c); /* large: the allocator maps it, pages come as they are touched */
    if (r->mem == NULL)
        return -ENOMEM;
    r->cap = c;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void sampler_ring_destroy(sampler_ring *r)
{
    free(r->mem);
    r->mem = NULL;
    r->cap = 0;
}

void sampler_ring_reset(sampler_ring *r)
{
    atomic_store_explicit(&r->head, 0, memory_order_relaxed);
    atomic_store_explicit(&r->tail, 0, memory_order_relaxed);
}

uint64_t sampler_ring_used(const sampler_ring *r)
{
    uint64_t tail = atomic_load_explicit(&((sampler_ring *)r)->tail, memory_order_acquire);
    uint64_t head = atomic_load_explicit(&((sampler_ring *)r)->head, memory_order_acquire);
    return head - tail;
}

void *sampler_ring_reserve(sampler_ring *r, uint64_t want, uint64_t need, uint64_t *room)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed); /* ours */
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t free_bytes = r->cap - (head - tail);
    uint64_t pos = head & (r->cap - 1);
    uint64_t to_end = r->cap - pos;
    if (to_end < want && free_bytes > to_end && free_bytes - to_end >= need) {
        /* Too little at the end, enough at the start: pad and wrap. */
        sampler_record *pad = (sampler_record *)(r->mem + pos);
        pad->size = (uint32_t)to_end;
        pad->kind = SAMPLER_RECORD_PAD;
        head += to_end;
        atomic_store_explicit(&r->head, head, memory_order_release);
        free_bytes -= to_end;
        pos = 0;
        to_end = r->cap;
    }
    uint64_t avail = free_bytes < to_end ? free_bytes : to_end;
    if (avail < need)
        return NULL;
    *room = avail < want ? avail : want;
    return r->mem + pos;
}

void sampler_ring_commit(sampler_ring *r, uint64_t size)
{
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    atomic_store_explicit(&r->head, head + size, memory_order_release);
}

const sampler_record *sampler_ring_peek(sampler_ring *r, int *corrupt)
{
    *corrupt = 0;
    for (;;) {
        uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed); /* ours */
        uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
        uint64_t used = head - tail;
        if (used == 0)
            return NULL;
        uint64_t pos = tail & (r->cap - 1);
        const sampler_record *rec = (const sampler_record *)(r->mem + pos);
        uint64_t size = rec->size;
        int valid = size >= 8 && size % 8 == 0 && size <= used && size <= r->cap - pos;
        if (valid && rec->kind == SAMPLER_RECORD_PAD) {
            atomic_store_explicit(&r->tail, tail + size, memory_order_release);
            continue;
        }
        if (valid && rec->kind == SAMPLER_RECORD_SAMPLE && size >= HEADER_SIZE &&
            rec->depth <= (size - HEADER_SIZE) / sizeof(sampler_frame))
            return rec;
        /* Not something the producer writes: drop everything. */
        atomic_store_explicit(&r->tail, head, memory_order_release);
        *corrupt = 1;
        return NULL;
    }
}

void sampler_ring_consume(sampler_ring *r, const sampler_record *rec)
{
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    atomic_store_explicit(&r->tail, tail + rec->size, memory_order_release);
}
