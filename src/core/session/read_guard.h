/*
 * read_guard.h — read-side critical sections for the session registry:
 * threads writing events hold one while they use a snapshot of the live
 * sessions; stopping a session waits until no thread can still hold the
 * snapshot it replaced (a grace period) before freeing it. The idea of
 * userspace RCU's "memb" flavour; read_guard.c explains the design.
 *
 * Entering and leaving cost a writer thread two plain stores to memory only
 * it writes, and a compiler barrier (a fence where the platform has no
 * membarrier, see membarrier.h); no atomic read-modify-write, no shared
 * cache line written. A grace period costs microseconds.
 */
#ifndef TLD_READ_GUARD_H
#define TLD_READ_GUARD_H

#include "portable.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tld_reader {
    /* 0 outside a critical section; else the grace-period phase seen on
     * entry (TLD_READER_PHASE) plus the nesting depth. Written only by
     * the owner thread, read by tld_read_synchronize(). */
    atomic_uint_least64_t ctr;
    int in_use;                 /* owned by a live thread (under the registry lock) */
    struct tld_reader *next;    /* the registry: records are reused, never freed */
} tld_reader;

#define TLD_READER_PHASE ((uint64_t)1 << 32)
#define TLD_READER_NEST_MASK (TLD_READER_PHASE - 1)

/* Initial-exec: read twice per event; without it a dlopen()ed module pays
 * a call per access (see lane_cache in etl_writer.c). */
extern TLD_TLS_FAST tld_reader *tld_my_reader;
extern atomic_uint_least64_t tld_reader_gp_ctr;
extern int tld_reader_fast;     /* membarrier available: no fence on entry */

/* First critical section of a thread (registers it), or the fallback when
 * no record can be allocated. Returns the token for tld_read_unlock. */
unsigned tld_read_lock_slow(void);
void tld_read_unlock_slow(unsigned token);

/*
 * Enters a read-side critical section and returns a token for
 * tld_read_unlock(). Nests. Never blocks (except the first call of a
 * thread, which takes the registry lock once).
 */
static inline unsigned tld_read_lock(void)
{
    tld_reader *r = tld_my_reader;
    if (TLD_UNLIKELY(r == NULL))
        return tld_read_lock_slow();
    uint64_t c = atomic_load_explicit(&r->ctr, memory_order_relaxed);
    if ((c & TLD_READER_NEST_MASK) == 0)
        c = atomic_load_explicit(&tld_reader_gp_ctr, memory_order_relaxed);
    else
        c++;
    /* The store must be visible before the critical section's loads (the
     * snapshot pointer). With membarrier, the grace period supplies the
     * hardware barrier on our behalf and we only keep the compiler from
     * moving those loads up; without it, a sequentially consistent
     * exchange is the full barrier (a fence would do too, but
     * ThreadSanitizer does not model fences). */
    if (TLD_LIKELY(tld_reader_fast)) {
        atomic_store_explicit(&r->ctr, c, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
    } else {
        atomic_exchange(&r->ctr, c);
    }
    return 0;
}

/* Leaves the critical section entered by the tld_read_lock() that returned
 * `token`. */
static inline void tld_read_unlock(unsigned token)
{
    if (TLD_UNLIKELY(token != 0)) {
        tld_read_unlock_slow(token);
        return;
    }
    tld_reader *r = tld_my_reader;
    uint64_t c = atomic_load_explicit(&r->ctr, memory_order_relaxed);
    /* Release: everything the critical section read happens before a grace
     * period that sees the section closed. */
    atomic_store_explicit(&r->ctr, (c & TLD_READER_NEST_MASK) == 1 ? 0 : c - 1, memory_order_release);
}

/*
 * Returns once every critical section that was running when it was called
 * has ended. Concurrent calls are serialized. Must not be called from
 * inside a critical section.
 */
void tld_read_synchronize(void);

/* Fork handlers (tld_at_fork): the child keeps only its own thread's record,
 * outside any critical section. */
void tld_read_guard_fork_prepare(void);
void tld_read_guard_fork_parent(void);
void tld_read_guard_fork_child(void);

#endif
