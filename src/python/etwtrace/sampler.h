/*
 * sampler.h — the in-process sampler's async-signal-safe core: per-thread
 * timers, the signal handler, per-thread rings of samples. Plain C (no
 * Python.h): the Python-specific parts plug in through two seams, the
 * walker the handler calls to read the interrupted thread's frames
 * (sampler_frames.c) and the consumer that turns ring records into events
 * with the GIL held (sampler_drain.c). The C tests drive it with their own
 * walker.
 *
 *   thread T running ──tick──► kernel: T's timer expires (CPU time of T, or
 *                               wall time) ──► signal to T (SIGEV_THREAD_ID)
 *   T's handler: slot from si_value ─► in-flight + generation check ─►
 *                reserve room in T's ring ─► walker copies (code, offset)
 *                pairs of T's own frames ─► commit (release store)
 *   consumer (one at a time; the GIL in the extension): peek ─► resolve ─►
 *                write the event ─► consume
 *
 * Threads do not register themselves: the consumer adds a thread (its
 * kernel tid and pthread id) and the core creates that thread's timer with
 * timer_create(); the signal carries the slot index and generation in
 * si_value, so the handler needs no lookup and no thread-local state to
 * find its ring. A generation number makes stale signals harmless: a slot
 * retired (timer deleted) or reused for another thread has a new
 * generation, and a signal carrying an old one is ignored before the ring
 * is touched.
 *
 * The handler does only async-signal-safe work: loads and stores, lock-free
 * atomics, clock reads, and write() on an eventfd to wake the consumer when
 * a ring fills. It never allocates, locks or calls into Python. Reads of
 * interpreter memory that may be torn run under a fault guard: a SIGSEGV or
 * SIGBUS inside the walker jumps back to the handler, which records the
 * sample as unreadable.
 *
 * Stopping (sampler_thread_retire, sampler_stop): delete the timer, clear
 * the slot's generation, wait until no handler is in flight on it; its
 * records stay for the consumer. The handler stays installed for the life
 * of the process (a late realtime signal under SIG_DFL would kill it).
 *
 * fork(): the child has no timers and one thread; the core forgets every
 * slot there (pthread_atfork), and the forking thread blocks the sampler's
 * signal around fork() so clone() is not restarted by a storm of them.
 *
 * Linux implementation: sampler_signal_linux.c (timers, signals, guard);
 * elsewhere sampler_signal_none.c refuses to start. The ring is
 * sampler_ring.c.
 */
#ifndef ETW_SAMPLER_H
#define ETW_SAMPLER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld_errors.h"

/* Errors: the codes of tracelogging/tld_errors.h (the sampler block is
 * TLD_E_SAMPLER_*) and negative errno values; tld_strerror() says them. */

enum sampler_clock {
    SAMPLER_CLOCK_CPU = 1,  /* the thread's CPU time */
    SAMPLER_CLOCK_WALL = 2, /* elapsed time, also while the thread sleeps or waits */
};

/* One frame of a sample, written by the walker. */
typedef struct sampler_frame {
    uint64_t code;   /* address of the code object the frame runs */
    int32_t lasti;   /* byte offset of its current instruction; negative: not started yet */
    uint32_t reserved;
} sampler_frame;

/* Flags of a sample. */
enum {
    SAMPLER_FLAG_HOLDS_GIL = 0x1,       /* the thread held the GIL */
    SAMPLER_FLAG_TRUNCATED = 0x2,       /* deeper than max_depth: the outermost frames are left out */
    SAMPLER_FLAG_UNREADABLE = 0x4,      /* the frame chain could not be read; no frames */
    SAMPLER_FLAG_NO_THREAD_STATE = 0x8, /* the thread had no Python thread state then */
};

/*
 * A sample in a ring: this header, then `depth` frames, innermost first.
 * The stack's outermost `shared` frames are not repeated: they are those of
 * the thread's previous sample (its last record), the same code objects at
 * the same instructions; sampler_slot_stack() puts the whole stack back
 * together. Deep stacks cost a ring only what changed between two samples.
 */
typedef struct sampler_record {
    uint32_t size;   /* bytes of the whole record; a multiple of 8 */
    uint16_t kind;   /* SAMPLER_RECORD_SAMPLE */
    uint16_t flags;  /* SAMPLER_FLAG_* */
    uint32_t depth;  /* frames in this record */
    uint32_t weight; /* 1 + timer overruns: how many periods this sample stands for */
    uint64_t ticks;  /* tld_clock_ticks() when the sample was taken */
    uint32_t shared; /* outermost frames shared with the previous record */
    uint32_t reserved;
    sampler_frame frames[];
} sampler_record;

enum { SAMPLER_RECORD_SAMPLE = 1, SAMPLER_RECORD_PAD = 2 };

/*
 * The walker: reads the calling (interrupted) thread's frames into
 * out[0..max), innermost first, and returns how many it wrote; ORs
 * SAMPLER_FLAG_* into *flags. Runs inside the signal handler, under the
 * fault guard: it must be async-signal-safe, and may fault on torn memory.
 */
typedef uint32_t (*sampler_walk_fn)(sampler_frame *out, uint32_t max, uint16_t *flags);

/* ---- rings (sampler_ring.c) -------------------------------------------- */

/*
 * A single-producer single-consumer ring of variable-size records, 8-byte
 * aligned, that never splits a record: the producer pads to the end and
 * wraps when the room left there is too small. head and tail count bytes
 * for ever (they never wrap in practice), so used = head - tail.
 */
typedef struct sampler_ring {
    _Atomic uint64_t head; /* written by the producer only */
    char pad_head[56];
    _Atomic uint64_t tail; /* written by the consumer only */
    char pad_tail[56];
    uint8_t *mem;
    uint64_t cap; /* a power of two, at least 64 */
} sampler_ring;

/* Maps `cap` bytes (rounded up to a power of two) for the ring. Returns 0
 * or a negative errno. */
int sampler_ring_init(sampler_ring *r, size_t cap);
void sampler_ring_destroy(sampler_ring *r);
/* Empties it (no producer or consumer may be running). */
void sampler_ring_reset(sampler_ring *r);

/*
 * Producer: contiguous room for one record of up to `want` bytes and at
 * least `need` (both multiples of 8). Returns where to write and sets
 * *room (need <= *room <= want), or NULL when the ring is too full. Pads
 * and wraps when the end of the ring has less than `want` but the start
 * has enough. Async-signal-safe.
 */
void *sampler_ring_reserve(sampler_ring *r, uint64_t want, uint64_t need, uint64_t *room);
/* Publishes the record just written at the reserved place (`size` bytes,
 * a multiple of 8, at most the room). */
void sampler_ring_commit(sampler_ring *r, uint64_t size);
/* Bytes in use (either side may call it). */
uint64_t sampler_ring_used(const sampler_ring *r);

/*
 * Consumer: the oldest record (pads skipped), or NULL when empty. A record
 * whose size is impossible (not a multiple of 8, smaller than a header,
 * beyond the data or the end of the ring) means the ring is corrupt: it is
 * emptied, *corrupt is set, and NULL is returned.
 */
const sampler_record *sampler_ring_peek(sampler_ring *r, int *corrupt);
/* Frees the record returned by the last peek. */
void sampler_ring_consume(sampler_ring *r, const sampler_record *rec);

/* ---- sampling (sampler_signal_linux.c) ---------------------------------- */

typedef struct sampler_config {
    enum sampler_clock clock;
    uint32_t rate_hz;     /* samples per second of each thread's clock, 1..100000 */
    uint32_t max_depth;   /* frames per sample, 1..4096 */
    uint32_t ring_bytes;  /* per thread, 64 KiB..64 MiB */
    sampler_walk_fn walk;
} sampler_config;

#define SAMPLER_MAX_SLOTS 1024
#define SAMPLER_MAX_DEPTH 4096

/* Counters of one thread's slot, and of all slots together. */
typedef struct sampler_counts {
    uint64_t taken;      /* samples committed to a ring */
    uint64_t dropped;    /* signals that found the ring full */
    uint64_t unreadable; /* samples whose frames could not be read (committed, without frames) */
    uint64_t weight;     /* sum of the weights of taken samples */
} sampler_counts;

/*
 * Starts sampling (no thread yet: add them with sampler_thread_add). The
 * first call picks a free realtime signal and installs the handler for
 * good. Returns 0, TLD_E_SAMPLER_RUNNING, TLD_E_SAMPLER_NO_SIGNAL,
 * TLD_E_SAMPLER_BAD_ARGUMENT, TLD_E_SAMPLER_UNSUPPORTED or a negative errno; `msg`
 * (may be NULL) gets a sentence saying what was wrong.
 */
int sampler_start(const sampler_config *cfg, char *msg, size_t msg_size);

/* 1 between sampler_start and sampler_stop (0 in a forked child). */
int sampler_running(void);

/*
 * Samples thread `tid` (kernel thread id; `pthread_id` its pthread_t, for
 * its CPU clock, or 0 to derive the clock from the kernel id) from now on,
 * under the caller's key (an id the caller uses to recognize it). Returns the slot index (>= 0), TLD_E_SAMPLER_NOT_RUNNING,
 * TLD_E_SAMPLER_TOO_MANY_THREADS, or a negative errno (timer_create failed,
 * e.g. -ESRCH when the thread is gone, -EAGAIN at the timer limit).
 * Consumer side: one caller at a time.
 */
int sampler_thread_add(int32_t tid, unsigned long pthread_id, uint64_t key);

/* Stops sampling the slot's thread: its timer is deleted and no handler is
 * running on the slot when this returns. Its records stay to be drained;
 * then sampler_slot_release() frees the slot. */
void sampler_thread_retire(int slot);
void sampler_slot_release(int slot);

/* Slots: indexes 0 .. sampler_slot_limit() - 1 may be in use. */
int sampler_slot_limit(void);
/* 1 when the slot holds a thread (sampled, or retired with records left). */
int sampler_slot_in_use(int slot);
/* 1 while its timer is armed (added and not retired). */
int sampler_slot_sampling(int slot);
uint64_t sampler_slot_key(int slot);
int32_t sampler_slot_tid(int slot);
sampler_ring *sampler_slot_ring(int slot);
void sampler_slot_counts(int slot, sampler_counts *out);

/* Consumer: records of a slot (see sampler_ring_peek/consume). */
const sampler_record *sampler_slot_peek(int slot, int *corrupt);
void sampler_slot_consume(int slot, const sampler_record *rec);

/*
 * Consumer: the whole stack of record `rec` (just peeked from `slot`),
 * OUTERMOST first, in the slot's own buffer (valid until the next call for
 * this slot), and its depth in *depth. Its first rec->shared frames are
 * those of the slot's previous record. Call it for every record, in order.
 * NULL (and the producer told to send whole stacks again) when the record
 * claims more shared frames than the previous one had: a corrupt ring.
 */
const sampler_frame *sampler_slot_stack(int slot, const sampler_record *rec, uint32_t *depth);

/*
 * Called before a code object is freed (after the samples naming it are
 * drained): a sample taken after this shares no frame with one taken
 * before, so a new code object at a freed one's address is never taken
 * for it. Thread-safe, async-signal-safe.
 */
void sampler_code_freed(void);

/* A descriptor that becomes readable when some ring is a quarter full
 * (an eventfd); read it to reset. -1 when not running. */
int sampler_wake_fd(void);
/* Resets the wake descriptor and lets handlers signal it again. */
void sampler_wake_reset(void);

/*
 * Stops: retires every slot (timers deleted, no handler in flight). Records
 * stay until sampler_release_all(). Returns TLD_E_SAMPLER_NOT_RUNNING when not
 * started. Consumer side.
 */
int sampler_stop(void);
/* Frees every slot and its ring (after the last drain). */
void sampler_release_all(void);

/* Counters of every slot since sampler_start, retired and released ones
 * included. */
void sampler_total_counts(sampler_counts *out);
/* The signal number used (0 before the first start). */
int sampler_signal_number(void);
/* 1 when something else replaced the fault guard's SIGSEGV/SIGBUS handler
 * since the start (faults while reading frames would then not be caught). */
int sampler_guard_replaced(void);

/* The kernel thread id of a live thread given its pthread_t (from the id
 * its CPU-time clock encodes), or 0 when it cannot tell. */
int32_t sampler_tid_of_pthread(unsigned long pthread_id);

/* Blocks/unblocks the sampler's signal in the calling thread (around code
 * of ours that must not be interrupted by it, e.g. exec). */
void sampler_block_signal(int block);

#endif
