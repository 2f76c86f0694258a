/*
 * session.c — in-process trace sessions (tld_session.h): the set of live
 * sessions, the sink that hands each provider's events to the sessions that
 * want them, and the enable-state recomputation when sessions come and go.
 *
 * Concurrency design
 * ------------------
 * Writing an event must not take a process-wide lock, yet a session may stop
 * (and be freed) while other threads are writing. Three pieces:
 *
 * 1. An immutable snapshot. The live sessions are an array published through
 *    one atomic pointer (`live_sessions`). Start and stop never modify a
 *    published array: they build a new one, publish it, and free the old one
 *    only after a grace period. Start/stop are serialized by
 *    `sessions_lock`, which the write path never takes.
 *
 * 2. Read-side critical sections (read_guard.h; the idea of Linux's SRCU and
 *    userspace RCU's membarrier flavour). A thread delivering an event
 *    enters one, loads the snapshot, delivers, and leaves:
 *
 *        writer thread                       stop()
 *        tld_read_lock()                     publish snapshot without s
 *        set = live_sessions                 tld_read_synchronize()
 *        ... write into set's sessions ...     (membarrier, two phase flips,
 *        tld_read_unlock()                      wait for older sections)
 *                                            free old snapshot, close s's file, free s
 *
 *    Entering and leaving store to the thread's own record only: no atomic
 *    read-modify-write and no fence on the write path (the grace period
 *    makes every running thread execute a memory barrier instead, see
 *    read_guard.c for why that suffices). New critical sections always go
 *    to the phase not being waited on, so a stop cannot be starved by
 *    threads writing nonstop; it waits at most for events already in
 *    flight.
 *
 * 3. Within a session, the .etl writer gives each writing thread a buffer
 *    of its own (a lane) and appends without a lock; threads beyond the
 *    lanes share one buffer under the writer's lock
 *    (etl_writer_internal.h). Each thread's events stay in order and none
 *    is lost.
 *
 * Lock order: sessions_lock, then the registry lock (taken inside
 * tld_provider_for_each()). provider_opened() runs under the registry lock
 * and therefore must not take sessions_lock; it reads the snapshot through
 * the read-side counters like a writer does. Every publication is followed
 * by a recomputation pass under the registry lock, so the last enable state
 * written for each provider always comes from the newest snapshot.
 */
#include "tracelogging/tld_session.h"

#include "etl_writer.h"
#include "memory.h"
#include "provider_state.h"
#include "read_guard.h"
#include "sink.h"
#include "stack.h"
#include "thread.h"
#include "file.h"
#include "portable.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SESSIONS 64               /* as ETW allows per machine */

/* ---- sessions --------------------------------------------------------------- */

typedef struct session_filter {
    int by_id;
    tld_guid id;
    char *name_lower;          /* ASCII-lowercased copy */
    size_t name_len;
    uint8_t level;
    uint64_t any;              /* all-ones when the config said 0 */
    uint64_t all;
    uint64_t stack_keywords;
    atomic_int matched;        /* 1 once a provider of this process had this name or id */
} session_filter;

typedef struct session_set {
    uint64_t generation;          /* unique per published set (keys verdict caches) */
    size_t count;
    struct tld_session *items[MAX_SESSIONS];
} session_set;

struct tld_session {
    etl_writer *writer;
    uint32_t owner_pid;        /* the process that started it (fork: see tld_session.h) */
    uint64_t file_dev, file_ino; /* so a second session cannot truncate this file */
    session_filter *filters;
    size_t filter_count;
    session_set *spare;        /* allocated at start, so stop cannot fail */
};

static _Atomic(session_set *) live_sessions;
static tld_mutex sessions_lock = TLD_MUTEX_INIT;
static int sink_registered;    /* under sessions_lock */
static atomic_uint next_logger_id;
static uint64_t set_generations;   /* under sessions_lock */

/* ---- read side (see the header comment and read_guard.h) ----------------- */

static unsigned read_begin(void)
{
    return tld_read_lock();
}

static void read_end(unsigned token)
{
    tld_read_unlock(token);
}

/* Returns once no thread can still hold a snapshot published before the
 * call. Caller holds sessions_lock. */
static void wait_for_readers(void)
{
    tld_read_synchronize();
}

/* ---- filtering ---------------------------------------------------------------- */

static unsigned char ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static int filter_names_provider(const session_filter *f, const tld_provider *p)
{
    if (f->by_id)
        return memcmp(f->id.bytes_le, tld_provider_id(p)->bytes_le, 16) == 0;
    size_t len;
    const char *name = tld_provider_name(p, &len);
    if (len != f->name_len)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (ascii_lower((unsigned char)name[i]) != (unsigned char)f->name_lower[i])
            return 0;
    return 1;
}

/* ETW's per-listener rule (tld_session.h). */
static int filter_accepts(const session_filter *f, uint8_t level, uint64_t keyword)
{
    if (level != 0 && f->level != 0 && level > f->level)
        return 0;
    return keyword == 0 || ((keyword & f->any) != 0 && (keyword & f->all) == f->all);
}

enum { REJECT = 0, ACCEPT = 1, ACCEPT_WITH_STACK = 2 };

static int session_verdict(const struct tld_session *s, const tld_provider *p, const tld_event_descriptor *d)
{
    int verdict = REJECT;
    for (size_t i = 0; i < s->filter_count; i++) {
        const session_filter *f = &s->filters[i];
        if (!filter_names_provider(f, p) || !filter_accepts(f, d->level, d->keyword))
            continue;
        if (d->keyword & f->stack_keywords)
            return ACCEPT_WITH_STACK;
        verdict = ACCEPT;
    }
    return verdict;
}

/* ---- enable state -------------------------------------------------------------- */

/* Combines every matching entry of every session in `set` (conservatively:
 * highest level, union of MatchAny, intersection of MatchAll) and stores it
 * in the provider. Caller holds the registry lock. */
static const tld_sink session_sink; /* defined with its callbacks below */

static void compute_enable_state(tld_provider *p, const session_set *set)
{
    unsigned level_plus1 = 0;
    uint64_t any = 0, all = ~(uint64_t)0;
    int matched = 0;
    for (size_t i = 0; set != NULL && i < set->count; i++) {
        const struct tld_session *s = set->items[i];
        for (size_t j = 0; j < s->filter_count; j++) {
            const session_filter *f = &s->filters[j];
            if (!filter_names_provider(f, p))
                continue;
            matched = 1;
            atomic_store_explicit(&s->filters[j].matched, 1, memory_order_relaxed);
            unsigned lp1 = f->level ? f->level + 1u : 256u;
            if (lp1 > level_plus1)
                level_plus1 = lp1;
            any |= f->any;
            all &= f->all;
        }
    }
    if (!matched)
        all = 0;
    tld_provider_set_enable_state(p, &session_sink, level_plus1, any, all);
}

static void recompute_one(tld_provider *p, void *ctx)
{
    compute_enable_state(p, ctx);
}

/* ---- enable callbacks (tld_provider_set_enable_callback) ------------------------ */

/* The callbacks of the providers one session names, collected under the
 * locks and called after them. */
typedef struct callback_list {
    const struct tld_session *session;
    size_t count, cap;
    struct pending_callback {
        tld_provider_enable_callback fn;
        void *context;
    } *items;
} callback_list;

static void collect_callback(tld_provider *p, void *ctx)
{
    callback_list *list = ctx;
    tld_provider_enable_callback fn;
    void *context;
    tld_provider_enable_callback_of(p, &fn, &context);
    if (fn == NULL)
        return;
    int named = 0;
    for (size_t j = 0; j < list->session->filter_count && !named; j++)
        named = filter_names_provider(&list->session->filters[j], p);
    if (!named)
        return;
    if (list->count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 4;
        struct pending_callback *items = realloc(list->items, cap * sizeof *items);
        if (items == NULL)
            return; /* out of memory: this provider misses its callback */
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count].fn = fn;
    list->items[list->count].context = context;
    list->count++;
}

/* Called with no lock of ours held. */
static void run_callbacks(callback_list *list, int change)
{
    for (size_t i = 0; i < list->count; i++)
        list->items[i].fn(change, list->items[i].context);
    free(list->items);
    list->items = NULL;
    list->count = list->cap = 0;
}

/* TLD_LISTENER_FLUSH to the providers `s` names (no lock of ours held). */
static void notify_flush(const struct tld_session *s)
{
    callback_list callbacks = {.session = s};
    tld_provider_for_each(collect_callback, &callbacks);
    run_callbacks(&callbacks, TLD_LISTENER_FLUSH);
}

/* ---- fork ------------------------------------------------------------------------ */

/*
 * A forked child inherits the live sessions but not their flush threads, and
 * possibly locks and condition variables in use by threads that do not exist
 * in it: touching an inherited session's writer could block forever, and
 * writing its buffers would land stale data at the parent's offsets. So the
 * child starts with no sessions and its providers disabled; an inherited
 * session is only ever released, without I/O (tld_session_stop). The two
 * locks below are held across fork() so the child never inherits them
 * half-taken.
 */
static void fork_prepare(void)
{
    tld_mutex_lock(&sessions_lock);
    tld_registry_lock();
    tld_read_guard_fork_prepare();
}

static void fork_parent(void)
{
    tld_read_guard_fork_parent();
    tld_registry_unlock();
    tld_mutex_unlock(&sessions_lock);
}

static void fork_child(void)
{
    atomic_store(&live_sessions, NULL);
    tld_read_guard_fork_child(); /* in-flight writers were other threads */
    tld_registry_unlock();
    tld_provider_for_each(recompute_one, NULL);
    tld_mutex_unlock(&sessions_lock);
}

/* ---- the sink ------------------------------------------------------------------ */

/*
 * The session sink's form of a prepared event: its record head, and the
 * verdicts of the sessions of one set for it. Verdicts depend only on the
 * filters of a set's sessions, which never change, so they are computed
 * once per set: a word packs the set's generation with two bits per
 * session (sets of up to VERDICT_CACHE_SESSIONS sessions; larger ones are
 * judged event by event). Threads racing to fill it store the same value.
 */
#define VERDICT_CACHE_SESSIONS 8
#define VERDICT_BITS 2
#define VERDICT_GENERATION_SHIFT (VERDICT_CACHE_SESSIONS * VERDICT_BITS)

typedef struct session_prepared {
    etl_prepared_record *record;
    atomic_uint_least64_t verdicts;
} session_prepared;

static uint64_t cached_verdicts(session_prepared *sp, const session_set *set, const tld_provider *p,
                                const tld_event_descriptor *d)
{
    uint64_t key = set->generation << VERDICT_GENERATION_SHIFT;
    uint64_t v = atomic_load_explicit(&sp->verdicts, memory_order_relaxed);
    if (TLD_LIKELY((v & ~(((uint64_t)1 << VERDICT_GENERATION_SHIFT) - 1)) == key))
        return v;
    v = key;
    for (size_t i = 0; i < set->count; i++)
        v |= (uint64_t)session_verdict(set->items[i], p, d) << (VERDICT_BITS * i);
    atomic_store_explicit(&sp->verdicts, v, memory_order_relaxed);
    return v;
}

/* What the writer needs of an event from provider p (no stack). */
static etl_writer_event writer_event_of(const tld_provider *p, const tld_event_view *ev)
{
    return (etl_writer_event){
        .provider_id = tld_provider_id(p),
        .desc = ev->desc,
        .traits = ev->traits,
        .traits_len = ev->traits_len,
        .meta = ev->meta,
        .meta_len = ev->meta_len,
        .data = ev->data,
        .data_len = ev->data_len,
        .activity_id = ev->activity_id,
        .related_activity_id = ev->related_activity_id,
        .process_id = tld_process_id(),
        .thread_id = tld_thread_id(),
        .timestamp = ev->timestamp,
    };
}

/*
 * Writes the event to every live session whose filter takes it. `prepared`,
 * when not NULL, is the event's pre-formatted form (session_prepare):
 * sessions that want no stack for it get a copy of its record head instead
 * of a record formatted from scratch.
 */
static TLD_ALWAYS_INLINE int deliver_to_sessions(const tld_provider *p, const tld_event_view *ev,
                                                                     session_prepared *prepared)
{
    int status = 0;
    unsigned token = read_begin();
    session_set *set = atomic_load(&live_sessions);
    if (set != NULL) {
        uint64_t stack[TLD_STACK_MAX_FRAMES];
        size_t stack_len = 0;
        int stack_taken = 0;
        etl_writer_event e;
        int e_ready = 0;
        uint64_t verdicts = 0;
        int use_cache = prepared != NULL && set->count <= VERDICT_CACHE_SESSIONS;
        if (use_cache)
            verdicts = cached_verdicts(prepared, set, p, ev->desc);
        for (size_t i = 0; i < set->count; i++) {
            struct tld_session *s = set->items[i];
            int verdict = use_cache ? (int)(verdicts >> (VERDICT_BITS * i)) & 3 : session_verdict(s, p, ev->desc);
            if (verdict == REJECT)
                continue;
            int rc;
            if (prepared != NULL && verdict == ACCEPT) {
                rc = etl_writer_write_prepared(s->writer, prepared->record, ev->data, ev->data_len, ev->timestamp);
            } else {
                if (verdict == ACCEPT_WITH_STACK && !stack_taken) {
                    /* Inlined into the sink's deliver function: skip 2
                     * leaves out that one and the provider's write
                     * function, so the stack starts in the function that
                     * wrote the event. */
                    stack_len = tld_stack_capture(stack, TLD_STACK_MAX_FRAMES, 2);
                    stack_taken = 1;
                }
                if (!e_ready) {
                    e = writer_event_of(p, ev);
                    e_ready = 1;
                }
                e.stack = stack;
                e.stack_len = verdict == ACCEPT_WITH_STACK ? stack_len : 0;
                rc = etl_writer_write(s->writer, &e);
            }
            if (rc != 0 && status == 0)
                status = rc;
        }
    }
    read_end(token);
    return status;
}

/* noinline, like deliver_prepared below: each is one known frame between
 * the provider's write function and the stack capture (skip count). */
TLD_NOINLINE static int session_deliver(const tld_sink *sink, const tld_provider *p,
                                                     const tld_event_view *ev)
{
    (void)sink;
    return deliver_to_sessions(p, ev, NULL);
}

static void *session_prepare(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev)
{
    (void)sink;
    etl_writer_event e = writer_event_of(p, ev); /* its data, ids and stack are not used */
    session_prepared *sp = tld_calloc_lines(1, sizeof *sp);
    if (sp == NULL)
        return NULL;
    sp->record = etl_prepared_record_create(&e);
    if (sp->record == NULL) {
        tld_free_aligned(sp);
        return NULL;
    }
    return sp; /* verdicts: generation 0 matches no set */
}

TLD_NOINLINE static int session_deliver_prepared(const tld_sink *sink, const tld_provider *p,
                                                              void *prepared, const tld_event_view *ev)
{
    (void)sink;
    return deliver_to_sessions(p, ev, prepared);
}

static void session_release_prepared(const tld_sink *sink, void *prepared)
{
    (void)sink;
    session_prepared *sp = prepared;
    etl_prepared_record_free(sp->record);
    tld_free_aligned(sp);
}

static void session_provider_opened(const tld_sink *sink, tld_provider *p)
{
    (void)sink;
    unsigned token = read_begin();
    compute_enable_state(p, atomic_load(&live_sessions));
    read_end(token);
}

static const tld_sink session_sink = {
    .name = "etl-session",
    .deliver = session_deliver,
    .prepare = session_prepare,
    .deliver_prepared = session_deliver_prepared,
    .release_prepared = session_release_prepared,
    .provider_opened = session_provider_opened,
    .provider_closing = NULL, /* sessions keep no per-provider state */
};

/* ---- start / stop ---------------------------------------------------------------- */

static void say(const tld_session_config *cfg, const char *fmt, const char *arg)
{
    if (cfg != NULL && cfg->error_message != NULL && cfg->error_message_size > 0)
        snprintf(cfg->error_message, cfg->error_message_size, fmt, arg);
}

static void free_session(struct tld_session *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->filter_count; i++)
        free(s->filters[i].name_lower);
    tld_free_aligned(s->filters);
    tld_free_aligned(s->spare);
    tld_free_aligned(s);
}

static int copy_filters(struct tld_session *s, const tld_session_config *cfg)
{
    if (cfg->provider_count == 0)
        return TLD_OK;
    if (cfg->providers == NULL) {
        say(cfg, "%s", "provider_count is not 0 but providers is NULL");
        return TLD_E_SESSION_CONFIG;
    }
    s->filters = tld_calloc_lines(cfg->provider_count, sizeof *s->filters);
    if (s->filters == NULL)
        return TLD_E_NO_MEMORY;
    for (size_t i = 0; i < cfg->provider_count; i++) {
        const tld_session_provider *in = &cfg->providers[i];
        session_filter *f = &s->filters[i];
        s->filter_count = i + 1;
        if (in->id != NULL) {
            f->by_id = 1;
            f->id = *in->id;
        } else if (in->name != NULL && in->name_len > 0 && memchr(in->name, 0, in->name_len) == NULL) {
            f->name_lower = malloc(in->name_len);
            if (f->name_lower == NULL)
                return TLD_E_NO_MEMORY;
            for (size_t k = 0; k < in->name_len; k++)
                f->name_lower[k] = (char)ascii_lower((unsigned char)in->name[k]);
            f->name_len = in->name_len;
        } else {
            say(cfg, "%s", "each enabled provider needs an id or a non-empty name without 0x00 bytes");
            return TLD_E_SESSION_CONFIG;
        }
        f->level = in->level;
        f->any = in->match_any ? in->match_any : ~(uint64_t)0;
        f->all = in->match_all;
        f->stack_keywords = in->stack_keywords;
    }
    return TLD_OK;
}

static uint32_t default_buffer_count(uint32_t buffer_size)
{
    uint32_t n = TLD_SESSION_DEFAULT_MEMORY / buffer_size;
    return n < 4 ? 4 : n > 64 ? 64 : n;
}

/* True when `path` names the file of a live session (opening it again with
 * O_TRUNC would destroy that trace). A race with a concurrent start of the
 * same path is possible but harmless beyond what the user asked for. */
static int path_in_use(const char *path)
{
    uint64_t dev, ino;
    if (tld_path_identity(path, &dev, &ino) != 0)
        return 0;
    int in_use = 0;
    unsigned token = read_begin();
    session_set *set = atomic_load(&live_sessions);
    for (size_t i = 0; set != NULL && i < set->count && !in_use; i++)
        in_use = set->items[i]->file_dev == dev && set->items[i]->file_ino == ino;
    read_end(token);
    return in_use;
}

int tld_session_start(tld_session **out, const tld_session_config *cfg)
{
    if (out == NULL || cfg == NULL) {
        say(cfg, "%s", "tld_session_start needs an output pointer and a configuration");
        return TLD_E_INVALID_ARG;
    }
    *out = NULL;
    if (cfg->path == NULL || cfg->path[0] == '\0') {
        say(cfg, "%s", "no output path given for the trace file");
        return TLD_E_SESSION_CONFIG;
    }
    struct tld_session *s = tld_calloc_lines(1, sizeof *s);
    if (s == NULL)
        return TLD_E_NO_MEMORY;
    int rc = copy_filters(s, cfg);
    s->spare = tld_calloc_lines(1, sizeof *s->spare);
    if (rc == TLD_OK && s->spare == NULL)
        rc = TLD_E_NO_MEMORY;
    session_set *next = tld_calloc_lines(1, sizeof *next);
    if (rc == TLD_OK && next == NULL)
        rc = TLD_E_NO_MEMORY;
    if (rc != TLD_OK) {
        if (rc == TLD_E_NO_MEMORY)
            say(cfg, "%s", "out of memory starting the trace session");
        tld_free_aligned(next);
        free_session(s);
        return rc;
    }

    etl_writer_config wc = {
        .path = cfg->path,
        .logger_name = cfg->logger_name,
        .buffer_size = cfg->buffer_size ? cfg->buffer_size : TLD_SESSION_DEFAULT_BUFFER_SIZE,
        .flush_interval_ms = cfg->flush_interval_ms ? cfg->flush_interval_ms : TLD_SESSION_DEFAULT_FLUSH_MS,
        .max_file_size = cfg->max_file_size,
        .logger_id = (uint16_t)(1 + atomic_fetch_add(&next_logger_id, 1) % 63),
    };
    wc.buffer_count = cfg->buffer_count ? cfg->buffer_count : default_buffer_count(wc.buffer_size);
    if (wc.buffer_count < 2)
        wc.buffer_count = 2;
    if (path_in_use(cfg->path)) {
        say(cfg, "trace file '%s' is being written by another running session; stop it or choose another path",
            cfg->path);
        tld_free_aligned(next);
        free_session(s);
        return TLD_E_SESSION_CONFIG;
    }
    s->owner_pid = tld_process_id();
    rc = etl_writer_open(&s->writer, &wc, cfg->error_message, cfg->error_message_size);
    if (rc == 0)
        etl_writer_file_identity(s->writer, &s->file_dev, &s->file_ino);
    if (rc != 0) {
        if (rc == TLD_E_INVALID_ARG)
            rc = TLD_E_SESSION_CONFIG;
        tld_free_aligned(next);
        free_session(s);
        return rc;
    }
    notify_flush(s); /* what providers buffer belongs to the sessions already listening */

    tld_mutex_lock(&sessions_lock);
    session_set *old = atomic_load(&live_sessions);
    if (old != NULL && old->count >= MAX_SESSIONS) {
        tld_mutex_unlock(&sessions_lock);
        say(cfg, "%s", "too many trace sessions: at most 64 may run at once; stop one first");
        tld_free_aligned(next);
        etl_writer_close(s->writer, NULL);
        free_session(s);
        return TLD_E_SESSION_CONFIG;
    }
    if (!sink_registered) {
        rc = tld_sink_register(&session_sink);
        if (rc != TLD_OK) {
            tld_mutex_unlock(&sessions_lock);
            say(cfg, "%s", "cannot register the session sink: too many sinks");
            tld_free_aligned(next);
            etl_writer_close(s->writer, NULL);
            free_session(s);
            return rc;
        }
        sink_registered = 1;
        tld_at_fork(fork_prepare, fork_parent, fork_child);
    }
    next->count = 0;
    for (size_t i = 0; old != NULL && i < old->count; i++)
        next->items[next->count++] = old->items[i];
    next->items[next->count++] = s;
    next->generation = ++set_generations;
    atomic_store(&live_sessions, next);
    tld_provider_for_each(recompute_one, next);
    callback_list callbacks = {.session = s};
    tld_provider_for_each(collect_callback, &callbacks);
    if (old != NULL) {
        wait_for_readers();
        tld_free_aligned(old);
    }
    tld_mutex_unlock(&sessions_lock);
    *out = s;
    run_callbacks(&callbacks, TLD_LISTENER_ADDED);
    return 0;
}

static void copy_stats(tld_session_stats *out, const etl_writer_stats *ws)
{
    out->events_written = ws->events_written;
    out->events_pending = ws->events_pending;
    out->events_lost = ws->events_lost;
    out->buffers_written = ws->buffers_written;
    out->write_error = ws->write_error;
    out->stop_reason = ws->stop_reason;
}

static int is_foreign(const struct tld_session *s)
{
    return s->owner_pid != tld_process_id();
}

int tld_session_stop(tld_session *s, tld_session_stats *stats)
{
    if (s == NULL)
        return 0;
    if (is_foreign(s)) {
        /* Not in this process's live set (fork_child emptied it): drop the
         * memory, leave the parent's file and locks alone. */
        etl_writer_abandon(s->writer);
        free_session(s);
        if (stats != NULL)
            memset(stats, 0, sizeof *stats);
        return TLD_E_NOT_OURS;
    }
    notify_flush(s);
    tld_mutex_lock(&sessions_lock);
    session_set *old = atomic_load(&live_sessions);
    session_set *next = NULL;
    if (old != NULL && old->count > 1) {
        next = s->spare;
        s->spare = NULL;
        next->count = 0;
        for (size_t i = 0; i < old->count; i++)
            if (old->items[i] != s)
                next->items[next->count++] = old->items[i];
        next->generation = ++set_generations;
    }
    atomic_store(&live_sessions, next);
    tld_provider_for_each(recompute_one, next); /* is_enabled() flips back here */
    callback_list callbacks = {.session = s};
    tld_provider_for_each(collect_callback, &callbacks);
    wait_for_readers();                         /* nobody is inside s any more */
    tld_free_aligned(old);
    tld_mutex_unlock(&sessions_lock);
    run_callbacks(&callbacks, TLD_LISTENER_REMOVED);

    etl_writer_stats ws;
    int rc = etl_writer_close(s->writer, &ws);
    if (stats != NULL) {
        copy_stats(stats, &ws);
    }
    free_session(s);
    return rc;
}

int tld_session_flush(tld_session *s)
{
    if (s == NULL)
        return TLD_E_INVALID_ARG;
    if (is_foreign(s))
        return TLD_E_NOT_OURS;
    notify_flush(s);
    return etl_writer_flush(s->writer);
}

void tld_session_get_stats(tld_session *s, tld_session_stats *stats)
{
    if (is_foreign(s)) {
        memset(stats, 0, sizeof *stats);
        return;
    }
    etl_writer_stats ws;
    etl_writer_get_stats(s->writer, &ws);
    copy_stats(stats, &ws);
}



size_t tld_session_unmatched_providers(tld_session *s, size_t *indexes, size_t capacity)
{
    if (s == NULL || is_foreign(s))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < s->filter_count; i++) {
        if (atomic_load_explicit(&s->filters[i].matched, memory_order_relaxed))
            continue;
        if (n < capacity)
            indexes[n] = i;
        n++;
    }
    return n;
}
