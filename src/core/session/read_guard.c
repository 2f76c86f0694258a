/*
 * read_guard.c — read-side critical sections and grace periods (see
 * read_guard.h), after userspace RCU's membarrier flavour.
 *
 * Each thread that enters a critical section owns a record in a registry
 * (a list under `registry_lock`). Entering stores the current phase of
 * `tld_reader_gp_ctr` (with a nesting count of 1) into the thread's own
 * record; leaving stores 0. A grace period:
 *
 *     stop()                                      writer thread
 *     publish the new snapshot                    r->ctr = gp_ctr  (phase P)
 *     membarrier ─────────── orders ───────────── [compiler barrier]
 *     flip phase; wait while some record has      set = live_sessions
 *       ctr != 0 with the old phase               ... use set ...
 *     flip phase; wait again                      r->ctr = 0  (release)
 *     membarrier; free the old snapshot
 *
 * The first membarrier makes every running thread execute a full barrier,
 * so for each writer either its ctr store is visible to the scan (and the
 * scan waits for it), or its load of the snapshot comes after the barrier
 * and sees the new one. Two flips, as in SRCU: a writer that read gp_ctr
 * just before the first flip but stored it just after the first scan
 * looked at its record carries the old phase of the second flip's scan,
 * which then waits for it. New critical sections take the new phase and
 * are never waited for, so writers that run nonstop cannot starve a stop.
 * The last membarrier orders the writers' reads before the free.
 *
 * Without membarrier (membarrier.h says so), entering uses a full fence
 * instead of the compiler barrier and the grace period uses fences; the
 * argument is the same. A thread whose record cannot be allocated uses two
 * shared counters per phase with atomic increments (the former design).
 *
 * Records are never freed: a thread's record goes back to the registry at
 * thread exit (pthread key destructor) and the next new thread reuses it,
 * so a grace period can walk the list without racing thread exit.
 */
#include "read_guard.h"
#include "memory.h"
#include "thread.h"

#include "membarrier.h"
#include "portable.h"

#include <stdlib.h>

TLD_TLS_FAST tld_reader *tld_my_reader;
atomic_uint_least64_t tld_reader_gp_ctr = 1; /* phase 0, nesting 1 */
int tld_reader_fast;

static tld_mutex registry_lock = TLD_MUTEX_INIT; /* also serializes grace periods */
static tld_reader *registry;
static tld_once_flag init_once = TLD_ONCE_INIT;
static tld_thread_exit_hook exit_key;
static int exit_key_ok;
static atomic_long fallback[2]; /* critical sections without a record, per phase */
static atomic_int fence_word;   /* seq_cst read-modify-writes on it serve as full fences */

/* A full fence (ThreadSanitizer rejects atomic_thread_fence). */
static void full_fence(void)
{
    atomic_fetch_add(&fence_word, 0);
}

static void release_record(void *arg)
{
    tld_reader *r = arg;
    /* A later critical section of this exiting thread (another library's
     * destructor writing an event) registers afresh. */
    tld_my_reader = NULL;
    tld_mutex_lock(&registry_lock);
    atomic_store_explicit(&r->ctr, 0, memory_order_relaxed);
    r->in_use = 0;
    tld_mutex_unlock(&registry_lock);
}

static void init(void)
{
    tld_reader_fast = tld_membarrier_init();
    exit_key_ok = tld_thread_exit_hook_create(&exit_key, release_record) == 0;
}

/* The calling thread's record, or NULL when none can be had. */
static tld_reader *acquire_record(void)
{
    tld_once(&init_once, init);
    if (!exit_key_ok)
        return NULL; /* it could never be given back: use the counters */
    tld_mutex_lock(&registry_lock);
    tld_reader *r = registry;
    while (r != NULL && r->in_use)
        r = r->next;
    if (r == NULL) {
        r = tld_calloc_lines(1, sizeof *r);
        if (r != NULL) {
            r->next = registry;
            registry = r;
        }
    }
    if (r != NULL)
        r->in_use = 1;
    tld_mutex_unlock(&registry_lock);
    if (r != NULL && tld_thread_exit_hook_set(&exit_key, r) != 0) {
        release_record(r);
        r = NULL;
    }
    return r;
}

unsigned tld_read_lock_slow(void)
{
    tld_my_reader = acquire_record();
    if (tld_my_reader != NULL)
        return tld_read_lock();
    unsigned phase = (atomic_load(&tld_reader_gp_ctr) & TLD_READER_PHASE) ? 1u : 0u;
    atomic_fetch_add(&fallback[phase], 1); /* seq_cst: a full barrier */
    return 1 + phase;
}

void tld_read_unlock_slow(unsigned token)
{
    atomic_fetch_sub_explicit(&fallback[token - 1], 1, memory_order_release);
}

static void full_barrier_everywhere(void)
{
    if (tld_reader_fast)
        tld_membarrier();
    else
        full_fence();
}

/* True while `r` is in a critical section entered before the phase flip
 * to `gp`. Acquire: pairs with the release in tld_read_unlock. */
static int reader_in_old_phase(const tld_reader *r, uint64_t gp)
{
    uint64_t v = atomic_load_explicit(&r->ctr, memory_order_acquire);
    return (v & TLD_READER_NEST_MASK) != 0 && ((v ^ gp) & TLD_READER_PHASE) != 0;
}

static void flip_and_wait(void)
{
    uint64_t gp = atomic_load_explicit(&tld_reader_gp_ctr, memory_order_relaxed) ^ TLD_READER_PHASE;
    unsigned old = (gp & TLD_READER_PHASE) ? 0u : 1u;
    atomic_store(&tld_reader_gp_ctr, gp);
    full_fence();
    for (tld_reader *r = registry; r != NULL; r = r->next)
        while (reader_in_old_phase(r, gp))
            tld_thread_yield();
    while (atomic_load(&fallback[old]) != 0)
        tld_thread_yield();
    full_fence();
}

void tld_read_synchronize(void)
{
    tld_once(&init_once, init);
    tld_mutex_lock(&registry_lock);
    full_barrier_everywhere();
    flip_and_wait();
    flip_and_wait();
    full_barrier_everywhere();
    tld_mutex_unlock(&registry_lock);
}

void tld_read_guard_fork_prepare(void)
{
    tld_mutex_lock(&registry_lock);
}

void tld_read_guard_fork_parent(void)
{
    tld_mutex_unlock(&registry_lock);
}

void tld_read_guard_fork_child(void)
{
    /* The other threads do not exist here: their records are free, and no
     * critical section is open (fork is not called from inside one). */
    for (tld_reader *r = registry; r != NULL; r = r->next) {
        atomic_store_explicit(&r->ctr, 0, memory_order_relaxed);
        r->in_use = r == tld_my_reader;
    }
    atomic_store(&fallback[0], 0);
    atomic_store(&fallback[1], 0);
    if (tld_reader_fast && !tld_membarrier_init())
        tld_reader_fast = 0; /* no thread but this one is inside: safe to switch */
    tld_mutex_unlock(&registry_lock);
}
