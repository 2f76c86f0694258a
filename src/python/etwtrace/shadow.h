/*
 * shadow.h — instrumented mode's per-thread shadow stacks, shared
 * by its two hooks: the C profile function (instrument.c) and the
 * sys.monitoring tool (monitor.c).
 *
 * Each traced thread keeps a stack of FunctionIDs (0 = ignored function:
 * pushed for balance, no events). It gives Caller (the id on top) and, on
 * disable or thread end, the Pops still owed for frames that are running.
 * Returns seen with an empty stack belong to frames that started before
 * tracing did and are skipped.
 *
 * Each entry also remembers the listening epoch its Push was written in (0:
 * not written, nobody listened). Its Pop is written only in that epoch: a
 * session that started listening in between (etw_listen_epoch) never gets
 * a Pop for a Push it did not see, so Push/Pop balance per thread from a
 * session's first event. Sessions that were listening before miss the Pops
 * of the frames that were running when the new one started.
 */
#ifndef ETWTRACE_SHADOW_H
#define ETWTRACE_SHADOW_H

#include "etwtrace.h"

#include <stdlib.h>

struct etw_shadow_entry {
    uint64_t id;           /* FunctionID, 0 for an ignored function */
    uint32_t epoch;        /* etw_listen_epoch when its Push was written, 0 if it was not */
};

struct etw_shadow {
    uint32_t gen;          /* traced in this generation */
    uint32_t depth, cap;
    uint32_t lost;         /* pushes that found no room (out of memory) */
    struct etw_shadow_entry *ids;
    const void *base;      /* frame whose return ends a hooked thread's trace (compared, not owned) */
    int32_t tid;
};

extern ETW_TLS struct etw_shadow etw_tls_shadow;

/* 1 when this thread is traced by the active instrumented trace. */
static inline int etw_shadow_live(const struct etw_shadow *s)
{
    return ETW_LIKELY(s->gen == etw_gen) && ETW_LIKELY(etw_active_mode == ETW_MODE_INSTRUMENTED);
}

static inline int etw_shadow_grow(struct etw_shadow *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 64;
    struct etw_shadow_entry *ids = realloc(s->ids, cap * sizeof *ids);
    if (ids == NULL)
        return -1;
    s->ids = ids;
    s->cap = cap;
    return 0;
}

/* `written`: 1 when the Push of `id` was written. */
static inline void etw_shadow_push(struct etw_shadow *s, uint64_t id, int written)
{
    if (ETW_UNLIKELY(s->depth == s->cap) && etw_shadow_grow(s) < 0) {
        s->lost++;
        return;
    }
    struct etw_shadow_entry *e = &s->ids[s->depth++];
    e->id = id;
    e->epoch = written ? etw_listen_epoch : 0;
}


static inline void etw_shadow_pop(struct etw_shadow *s)
{
    if (ETW_UNLIKELY(s->lost)) {
        s->lost--;
        return;
    }
    if (s->depth == 0)
        return; /* a frame that began before tracing did */
    const struct etw_shadow_entry *e = &s->ids[--s->depth];
    if (e->epoch == etw_listen_epoch && e->id != 0)
        etw_write_pop(e->id); /* checks whether anyone listens itself */
}

/* The id on top: the Caller of the next Push (0 when none). */
static inline uint64_t etw_shadow_top(const struct etw_shadow *s)
{
    return s->depth ? s->ids[s->depth - 1].id : 0;
}

/* Pops owed for every frame still on the shadow stack, innermost first. */
static inline void etw_shadow_unwind_all(struct etw_shadow *s)
{
    s->lost = 0;
    while (s->depth > 0)
        etw_shadow_pop(s);
}

static inline void etw_shadow_start(struct etw_shadow *s, int32_t tid, const void *base)
{
    s->gen = etw_gen;
    s->depth = 0;
    s->lost = 0;
    s->tid = tid;
    s->base = base;
}

/* A hooked thread's base frame returned: Pops owed, then PythonThread stop. */
static inline void etw_shadow_end_thread(struct etw_shadow *s)
{
    etw_shadow_unwind_all(s);
    etw_write_thread(TLD_OPCODE_STOP, s->tid);
    etw_batch_release_mine();
    s->gen = 0;
    s->base = NULL;
    free(s->ids);
    s->ids = NULL;
    s->cap = 0;
}

/* FunctionID of a Python function about to run: 0 when ignored. */
static inline uint64_t etw_shadow_code_id(PyObject *code)
{
    struct etw_func *f = etw_code_func(code);
    if (ETW_UNLIKELY(f == NULL || f->gen != etw_gen))
        f = etw_registry_lookup_slow(code, ETW_MODE_INSTRUMENTED);
    return (f != NULL && f->traced) ? f->id : 0;
}

#endif
