/*
 * sampler_signal_linux.c — per-thread timers, the sampling signal handler
 * and its fault guard, on Linux (see sampler.h for the design).
 *
 * Timers: timer_create() on the thread's CPU-time clock
 * (pthread_getcpuclockid) or on CLOCK_MONOTONIC, delivering to that one
 * thread (SIGEV_THREAD_ID) a realtime signal picked at the first start:
 * the highest one nobody handles. Expirations the kernel could not deliver
 * separately (CPU-time timers fire at most once per scheduler tick) come
 * back as si_overrun and become the sample's weight.
 *
 * Slots: a fixed table; a slot's generation is unique for the life of the
 * process and travels in si_value with the slot index, so a signal from a
 * deleted timer, or one aimed at a slot's previous thread, is recognized
 * and ignored. The handler announces itself in the slot's in-flight count
 * before it checks the generation; retiring clears the generation and then
 * waits for the count to drop to zero (both sides sequentially consistent,
 * so one of them always sees the other).
 *
 * Fault guard: while the walker reads the interrupted thread's frames, a
 * SIGSEGV or SIGBUS on that thread jumps back to the handler (sigsetjmp
 * without the signal mask, which the rare fault path restores itself).
 * Faults anywhere else go to the handler that was installed before ours.
 * The guard is installed at start and removed at stop, if still ours.
 */
#include "sampler.h"

#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define SLOT_BITS 10
#if (1 << SLOT_BITS) != SAMPLER_MAX_SLOTS
#error "SLOT_BITS must match SAMPLER_MAX_SLOTS"
#endif
#define TLS __thread __attribute__((tls_model("initial-exec")))

struct slot {
    _Atomic uint64_t gen;  /* what si_value must carry; 0 when not sampling */
    _Atomic int in_flight; /* handlers running on this slot */
    char pad[64 - sizeof(uint64_t) - sizeof(int)];
    /* consumer side */
    int in_use;
    int sampling;
    timer_t timer;
    int32_t tid;
    uint64_t key;
    sampler_ring ring;
    sampler_frame *consumer_stack; /* the last record's whole stack, outermost first */
    uint32_t consumer_depth;
    /* the handler's own */
    sampler_frame *handler_stack;  /* the last committed record's whole stack, outermost first */
    uint32_t handler_depth;
    uint64_t handler_epoch;        /* code_epoch when it was taken */
    uint32_t stacks_cap;           /* frames both stacks hold */
    _Atomic int resync;            /* set by the consumer: send a whole stack next */
    /* written by the handler, read by the consumer */
    _Atomic uint64_t taken, dropped, unreadable, weight;
};

static _Atomic uint64_t code_epoch;

static struct slot slots[SAMPLER_MAX_SLOTS];
static int slot_limit;            /* highest index in use + 1 */
static uint64_t next_gen = 1;     /* consumer side */
static sampler_counts released;   /* counts of released slots since start */

static _Atomic int running;
static sampler_config config;
static uint64_t record_bytes;     /* the largest record: header + max_depth frames */
static int signo;                 /* 0 until picked */
static int wake_fd = -1;
static _Atomic int wake_sent;

static struct sigaction prev_segv, prev_bus;
static int guard_installed;

static TLS sigjmp_buf *volatile guard;

static void set_msg(char *msg, size_t size, const char *text)
{
    if (msg != NULL && size > 0)
        snprintf(msg, size, "%s", text);
}

/* ---- the handler --------------------------------------------------------- */

static void wake_consumer(struct slot *s)
{
    if (sampler_ring_used(&s->ring) * 4 < s->ring.cap)
        return;
    if (atomic_exchange_explicit(&wake_sent, 1, memory_order_relaxed))
        return;
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd, &one, sizeof one);
    (void)ignored;
}

static void unblock_faults(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGSEGV);
    sigaddset(&set, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

/* Runs the walker under the fault guard; 0 frames and UNREADABLE if it faulted. */
static uint32_t guarded_walk(sampler_frame *frames, uint16_t *flags)
{
    sigjmp_buf jb;
    volatile uint32_t depth = 0;
    if (sigsetjmp(jb, 0) == 0) {
        guard = &jb;
        atomic_signal_fence(memory_order_seq_cst);
        depth = config.walk(frames, config.max_depth, flags);
        atomic_signal_fence(memory_order_seq_cst);
        guard = NULL;
        return depth;
    }
    guard = NULL;
    unblock_faults();
    *flags = (uint16_t)((*flags & SAMPLER_FLAG_HOLDS_GIL) | SAMPLER_FLAG_UNREADABLE);
    return 0;
}

static void take_sample(struct slot *s, int overrun, int faults_blocked)
{
    uint64_t ticks = tld_clock_ticks();
    uint64_t room;
    sampler_record *rec = sampler_ring_reserve(&s->ring, record_bytes, record_bytes, &room);
    if (rec == NULL) {
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
        wake_consumer(s);
        return;
    }
    uint64_t epoch = atomic_load_explicit(&code_epoch, memory_order_seq_cst);
    uint16_t flags = SAMPLER_FLAG_UNREADABLE;
    uint32_t depth = 0;
    if (!faults_blocked) { /* else a fault could not be caught: the kernel would kill the process */
        flags = 0;
        depth = guarded_walk(rec->frames, &flags);
    }
    if (depth > config.max_depth)
        depth = config.max_depth;
    /* The outermost frames equal to the previous record's are left out. */
    uint32_t shared = 0;
    int resync = atomic_exchange_explicit(&s->resync, 0, memory_order_relaxed);
    if (!resync && epoch == s->handler_epoch) {
        uint32_t limit = depth < s->handler_depth ? depth : s->handler_depth;
        const sampler_frame *f = rec->frames, *prev = s->handler_stack;
        while (shared < limit && f[depth - 1 - shared].code == prev[shared].code &&
               f[depth - 1 - shared].lasti == prev[shared].lasti)
            shared++;
    }
    for (uint32_t j = shared; j < depth; j++)
        s->handler_stack[j] = rec->frames[depth - 1 - j];
    s->handler_depth = depth;
    s->handler_epoch = epoch;
    uint32_t kept = depth - shared;
    uint32_t weight = overrun >= 0 && overrun < INT32_MAX ? (uint32_t)overrun + 1 : 1;
    rec->size = (uint32_t)(sizeof(sampler_record) + kept * sizeof(sampler_frame));
    rec->kind = SAMPLER_RECORD_SAMPLE;
    rec->flags = flags;
    rec->depth = kept;
    rec->shared = shared;
    rec->reserved = 0;
    rec->weight = weight;
    rec->ticks = ticks;
    sampler_ring_commit(&s->ring, rec->size);
    atomic_fetch_add_explicit(&s->taken, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->weight, weight, memory_order_relaxed);
    if (flags & SAMPLER_FLAG_UNREADABLE)
        atomic_fetch_add_explicit(&s->unreadable, 1, memory_order_relaxed);
    wake_consumer(s);
}

/* 1 when the interrupted code had SIGSEGV or SIGBUS blocked (the handler
 * adds no more than its own signal to that mask). */
static int faults_blocked_in(const void *context)
{
    const ucontext_t *uc = context;
    return uc != NULL && (sigismember(&uc->uc_sigmask, SIGSEGV) == 1 || sigismember(&uc->uc_sigmask, SIGBUS) == 1);
}

static void on_sample_signal(int sig, siginfo_t *si, void *context)
{
    (void)sig;
    int saved_errno = errno;
    if (si != NULL && si->si_code == SI_TIMER) {
        uint64_t v = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
        struct slot *s = &slots[v & (SAMPLER_MAX_SLOTS - 1)];
        uint64_t gen = v >> SLOT_BITS;
        atomic_fetch_add_explicit(&s->in_flight, 1, memory_order_seq_cst);
        if (gen != 0 && atomic_load_explicit(&s->gen, memory_order_seq_cst) == gen)
            take_sample(s, si->si_overrun, faults_blocked_in(context));
        atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_release);
    }
    errno = saved_errno;
}

/* ---- the fault guard ----------------------------------------------------- */

static void on_fault(int sig, siginfo_t *si, void *context);

static void forward_fault(int sig, siginfo_t *si, void *context)
{
    const struct sigaction *prev = sig == SIGSEGV ? &prev_segv : &prev_bus;
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction != NULL && prev->sa_sigaction != on_fault) {
        prev->sa_sigaction(sig, si, context);
        return;
    }
    if (prev->sa_handler == SIG_DFL || prev->sa_handler == SIG_IGN || (prev->sa_flags & SA_SIGINFO)) {
        /* Back to the default action; the faulting instruction runs again. */
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        return;
    }
    prev->sa_handler(sig);
}

static void on_fault(int sig, siginfo_t *si, void *context)
{
    sigjmp_buf *g = guard;
    if (g != NULL) {
        guard = NULL;
        siglongjmp(*g, 1);
    }
    forward_fault(sig, si, context);
}

/* What sigaction() reported for the handler we installed on a signal.
 * Normally that handler; GCC 16's ASan reports NULL for every SA_SIGINFO
 * handler, so "still ours" compares with what was seen after installing
 * (a replacement then goes unnoticed under that runtime only). */
static void *handler_seen[NSIG];
static unsigned char handler_seen_valid[NSIG];

static void note_installed(int sig)
{
    struct sigaction cur;
    if (sig > 0 && sig < NSIG && sigaction(sig, NULL, &cur) == 0) {
        handler_seen[sig] = (void *)cur.sa_sigaction;
        handler_seen_valid[sig] = 1;
    }
}

static int is_ours(int sig, void (*fn)(int, siginfo_t *, void *))
{
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0 || !(cur.sa_flags & SA_SIGINFO))
        return 0;
    if (cur.sa_sigaction == fn)
        return 1;
    return sig > 0 && sig < NSIG && handler_seen_valid[sig] && (void *)cur.sa_sigaction == handler_seen[sig];
}

static int install_guard(void)
{
    if (guard_installed || (is_ours(SIGSEGV, on_fault) && is_ours(SIGBUS, on_fault))) {
        guard_installed = 1; /* still ours (e.g. in a forked child): keep what it forwards to */
        return 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &prev_segv) != 0)
        return -errno;
    if (sigaction(SIGBUS, &sa, &prev_bus) != 0) {
        int e = errno;
        sigaction(SIGSEGV, &prev_segv, NULL);
        return -e;
    }
    note_installed(SIGSEGV);
    note_installed(SIGBUS);
    guard_installed = 1;
    return 0;
}

static void remove_guard(void)
{
    if (!guard_installed)
        return;
    if (is_ours(SIGSEGV, on_fault))
        sigaction(SIGSEGV, &prev_segv, NULL);
    if (is_ours(SIGBUS, on_fault))
        sigaction(SIGBUS, &prev_bus, NULL);
    guard_installed = 0;
}

int sampler_guard_replaced(void)
{
    return guard_installed && (!is_ours(SIGSEGV, on_fault) || !is_ours(SIGBUS, on_fault));
}

/* ---- the signal ------------------------------------------------------------ */

/* The highest realtime signal with the default disposition, taken for good. */
static int pick_signal(void)
{
    if (signo != 0)
        return is_ours(signo, on_sample_signal) ? 0 : TLD_E_SAMPLER_NO_SIGNAL;
    for (int sig = SIGRTMAX; sig >= SIGRTMIN; sig--) {
        struct sigaction cur;
        if (sigaction(sig, NULL, &cur) != 0)
            continue;
        if ((cur.sa_flags & SA_SIGINFO) || cur.sa_handler != SIG_DFL)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sample_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(sig, &sa, NULL) != 0)
            continue;
        note_installed(sig);
        signo = sig;
        return 0;
    }
    return TLD_E_SAMPLER_NO_SIGNAL;
}

int sampler_signal_number(void) { return signo; }

/* Linux encodes a thread's CPU-time clock as ~tid << 3 | CPUCLOCK_PERTHREAD
 * (4) | CPUCLOCK_SCHED (2): the kernel's ABI, what glibc's
 * pthread_getcpuclockid() returns. */
static clockid_t thread_cpu_clock(int32_t tid) { return (clockid_t)((~(unsigned)tid << 3) | 6u); }

int32_t sampler_tid_of_pthread(unsigned long pthread_id)
{
    clockid_t clock;
    if (pthread_getcpuclockid((pthread_t)pthread_id, &clock) != 0 || (clock & 7) != 6)
        return 0;
    long tid = ~((long)clock >> 3);
    return tid > 0 && tid <= INT32_MAX ? (int32_t)tid : 0;
}

void sampler_block_signal(int block)
{
    if (signo == 0)
        return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signo);
    pthread_sigmask(block ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

/* ---- fork ------------------------------------------------------------------ */

static TLS int fork_blocked;

static void before_fork(void)
{
    fork_blocked = 0;
    if (signo == 0 || !atomic_load_explicit(&running, memory_order_relaxed))
        return;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, signo);
    if (pthread_sigmask(SIG_BLOCK, &set, &old) == 0)
        fork_blocked = !sigismember(&old, signo);
}

static void after_fork_parent(void)
{
    if (fork_blocked)
        sampler_block_signal(0);
    fork_blocked = 0;
}

/* The child has no timers and one thread: forget every slot (their rings
 * are kept for a later start in the child). */
static void after_fork_child(void)
{
    for (int i = 0; i < slot_limit; i++) {
        struct slot *s = &slots[i];
        atomic_store_explicit(&s->gen, 0, memory_order_relaxed);
        atomic_store_explicit(&s->in_flight, 0, memory_order_relaxed);
        s->in_use = 0;
        s->sampling = 0;
        if (s->ring.mem != NULL)
            sampler_ring_reset(&s->ring);
    }
    slot_limit = 0;
    atomic_store_explicit(&running, 0, memory_order_relaxed);
    if (fork_blocked)
        sampler_block_signal(0);
    fork_blocked = 0;
}

/* ---- start and stop -------------------------------------------------------- */

int sampler_start(const sampler_config *cfg, char *msg, size_t msg_size)
{
    static int atfork_done;
    if (atomic_load_explicit(&running, memory_order_relaxed)) {
        set_msg(msg, msg_size, tld_strerror(TLD_E_SAMPLER_RUNNING));
        return TLD_E_SAMPLER_RUNNING;
    }
    if (cfg == NULL || cfg->walk == NULL || cfg->rate_hz < 1 || cfg->rate_hz > 100000 || cfg->max_depth < 1 ||
        cfg->max_depth > SAMPLER_MAX_DEPTH || (cfg->clock != SAMPLER_CLOCK_CPU && cfg->clock != SAMPLER_CLOCK_WALL) ||
        cfg->ring_bytes < 65536 || cfg->ring_bytes > (64u << 20)) {
        set_msg(msg, msg_size,
                "sampler settings out of range: rate 1..100000 Hz, depth 1..4096 frames, ring 64 KiB..64 MiB, "
                "clock cpu or wall");
        return TLD_E_SAMPLER_BAD_ARGUMENT;
    }
    if (!atfork_done) {
        int rc = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
        if (rc != 0) {
            set_msg(msg, msg_size, "cannot register the sampler's fork handlers");
            return -rc;
        }
        atfork_done = 1;
    }
    (void)tld_clock_ticks(); /* the first call chooses and calibrates the clock: not in a handler */
    if (wake_fd < 0) {
        wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd < 0) {
            int e = errno;
            set_msg(msg, msg_size, "cannot create the sampler's wake-up descriptor (eventfd)");
            return -e;
        }
    }
    int rc = pick_signal();
    if (rc != 0) {
        set_msg(msg, msg_size,
                signo != 0 ? "the sampler's realtime signal was taken over by another handler"
                           : tld_strerror(TLD_E_SAMPLER_NO_SIGNAL));
        return rc;
    }
    rc = install_guard();
    if (rc != 0) {
        set_msg(msg, msg_size, "cannot install the sampler's fault guard (SIGSEGV/SIGBUS handler)");
        return rc;
    }
    config = *cfg;
    record_bytes = sizeof(sampler_record) + (uint64_t)cfg->max_depth * sizeof(sampler_frame);
    memset(&released, 0, sizeof released);
    atomic_store_explicit(&wake_sent, 0, memory_order_relaxed);
    atomic_store_explicit(&running, 1, memory_order_release);
    return 0;
}

int sampler_running(void) { return atomic_load_explicit(&running, memory_order_acquire); }

static uint64_t ring_capacity(void)
{
    /* Room for at least four of the largest records. */
    uint64_t cap = config.ring_bytes;
    return cap < record_bytes * 4 ? record_bytes * 4 : cap;
}

static void arm_time(struct itimerspec *its)
{
    uint64_t period = 1000000000ull / config.rate_hz;
    if (period == 0)
        period = 1;
    uint64_t first = period;
    if (config.clock == SAMPLER_CLOCK_WALL) {
        /* Spread threads over the period so they are not all woken at once. */
        static uint64_t spread = 0x9E3779B97F4A7C15ull;
        spread = spread * 6364136223846793005ull + 1442695040888963407ull;
        first = 1 + (spread >> 11) % period;
    }
    its->it_interval.tv_sec = (time_t)(period / 1000000000ull);
    its->it_interval.tv_nsec = (long)(period % 1000000000ull);
    its->it_value.tv_sec = (time_t)(first / 1000000000ull);
    its->it_value.tv_nsec = (long)(first % 1000000000ull);
}

int sampler_thread_add(int32_t tid, unsigned long pthread_id, uint64_t key)
{
    if (!sampler_running())
        return TLD_E_SAMPLER_NOT_RUNNING;
    int idx = -1;
    for (int i = 0; i < SAMPLER_MAX_SLOTS; i++) {
        if (!slots[i].in_use) {
            idx = i;
            break;
        }
    }
    if (idx < 0)
        return TLD_E_SAMPLER_TOO_MANY_THREADS;
    struct slot *s = &slots[idx];
    uint64_t cap = ring_capacity();
    if (s->ring.mem != NULL && s->ring.cap < cap)
        sampler_ring_destroy(&s->ring);
    if (s->ring.mem == NULL) {
        int rc = sampler_ring_init(&s->ring, (size_t)cap);
        if (rc != 0)
            return rc;
    }
    sampler_ring_reset(&s->ring);
    if (s->stacks_cap < config.max_depth) {
        sampler_frame *h = realloc(s->handler_stack, config.max_depth * sizeof *h);
        if (h != NULL)
            s->handler_stack = h;
        sampler_frame *c = realloc(s->consumer_stack, config.max_depth * sizeof *c);
        if (c != NULL)
            s->consumer_stack = c;
        if (h == NULL || c == NULL)
            return -ENOMEM;
        s->stacks_cap = config.max_depth;
    }
    s->handler_depth = 0;
    s->consumer_depth = 0;
    s->handler_epoch = atomic_load_explicit(&code_epoch, memory_order_relaxed);
    atomic_store_explicit(&s->resync, 0, memory_order_relaxed);
    atomic_store_explicit(&s->taken, 0, memory_order_relaxed);
    atomic_store_explicit(&s->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&s->unreadable, 0, memory_order_relaxed);
    atomic_store_explicit(&s->weight, 0, memory_order_relaxed);

    clockid_t clock = CLOCK_MONOTONIC;
    if (config.clock == SAMPLER_CLOCK_CPU) {
        if (pthread_id != 0) {
            int rc = pthread_getcpuclockid((pthread_t)pthread_id, &clock);
            if (rc != 0)
                return -rc;
        } else {
            clock = thread_cpu_clock(tid);
        }
    }
    uint64_t gen = next_gen++;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = signo;
    sev.sigev_value.sival_ptr = (void *)(uintptr_t)((gen << SLOT_BITS) | (uint64_t)idx);
    sev.sigev_notify_thread_id = tid;
    timer_t timer;
    if (timer_create(clock, &sev, &timer) != 0)
        return -errno;
    s->timer = timer;
    s->tid = tid;
    s->key = key;
    s->in_use = 1;
    s->sampling = 1;
    atomic_store_explicit(&s->gen, gen, memory_order_seq_cst);
    if (idx >= slot_limit)
        slot_limit = idx + 1;
    struct itimerspec its;
    arm_time(&its);
    if (timer_settime(timer, 0, &its, NULL) != 0) {
        int e = errno;
        sampler_thread_retire(idx);
        sampler_slot_release(idx);
        return -e;
    }
    return idx;
}

void sampler_thread_retire(int i)
{
    if (i < 0 || i >= SAMPLER_MAX_SLOTS)
        return;
    struct slot *s = &slots[i];
    if (!s->sampling)
        return;
    timer_delete(s->timer);
    s->sampling = 0;
    atomic_store_explicit(&s->gen, 0, memory_order_seq_cst);
    while (atomic_load_explicit(&s->in_flight, memory_order_seq_cst) != 0)
        sched_yield(); /* a handler runs for microseconds */
}

void sampler_slot_release(int i)
{
    if (i < 0 || i >= SAMPLER_MAX_SLOTS || !slots[i].in_use)
        return;
    struct slot *s = &slots[i];
    sampler_thread_retire(i);
    sampler_counts c;
    sampler_slot_counts(i, &c);
    released.taken += c.taken;
    released.dropped += c.dropped;
    released.unreadable += c.unreadable;
    released.weight += c.weight;
    sampler_ring_reset(&s->ring);
    s->in_use = 0;
    while (slot_limit > 0 && !slots[slot_limit - 1].in_use)
        slot_limit--;
}

int sampler_slot_limit(void) { return slot_limit; }
int sampler_slot_in_use(int i) { return i >= 0 && i < SAMPLER_MAX_SLOTS && slots[i].in_use; }
int sampler_slot_sampling(int i) { return i >= 0 && i < SAMPLER_MAX_SLOTS && slots[i].sampling; }
uint64_t sampler_slot_key(int i) { return i >= 0 && i < SAMPLER_MAX_SLOTS ? slots[i].key : 0; }
int32_t sampler_slot_tid(int i) { return i >= 0 && i < SAMPLER_MAX_SLOTS ? slots[i].tid : 0; }
sampler_ring *sampler_slot_ring(int i) { return &slots[i].ring; }

void sampler_slot_counts(int i, sampler_counts *out)
{
    struct slot *s = &slots[i];
    out->taken = atomic_load_explicit(&s->taken, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->unreadable = atomic_load_explicit(&s->unreadable, memory_order_relaxed);
    out->weight = atomic_load_explicit(&s->weight, memory_order_relaxed);
}

const sampler_record *sampler_slot_peek(int i, int *corrupt)
{
    const sampler_record *r = sampler_ring_peek(&slots[i].ring, corrupt);
    if (*corrupt) { /* what follows may share frames with what was lost */
        slots[i].consumer_depth = 0;
        atomic_store_explicit(&slots[i].resync, 1, memory_order_relaxed);
    }
    return r;
}

const sampler_frame *sampler_slot_stack(int i, const sampler_record *rec, uint32_t *depth)
{
    struct slot *s = &slots[i];
    uint64_t total = (uint64_t)rec->shared + rec->depth;
    if (rec->shared > s->consumer_depth || total > s->stacks_cap) {
        s->consumer_depth = 0;
        atomic_store_explicit(&s->resync, 1, memory_order_relaxed);
        *depth = 0;
        return NULL;
    }
    for (uint32_t j = rec->shared; j < total; j++)
        s->consumer_stack[j] = rec->frames[total - 1 - j];
    s->consumer_depth = (uint32_t)total;
    *depth = (uint32_t)total;
    return s->consumer_stack;
}

void sampler_code_freed(void) { atomic_fetch_add_explicit(&code_epoch, 1, memory_order_seq_cst); }

void sampler_slot_consume(int i, const sampler_record *rec) { sampler_ring_consume(&slots[i].ring, rec); }

int sampler_wake_fd(void) { return sampler_running() ? wake_fd : -1; }

void sampler_wake_reset(void)
{
    uint64_t v;
    if (wake_fd >= 0) {
        ssize_t ignored = read(wake_fd, &v, sizeof v);
        (void)ignored;
    }
    atomic_store_explicit(&wake_sent, 0, memory_order_relaxed);
}

int sampler_stop(void)
{
    if (!sampler_running())
        return TLD_E_SAMPLER_NOT_RUNNING;
    for (int i = 0; i < slot_limit; i++)
        sampler_thread_retire(i);
    atomic_store_explicit(&running, 0, memory_order_release);
    remove_guard();
    return 0;
}

void sampler_release_all(void)
{
    for (int i = 0; i < SAMPLER_MAX_SLOTS; i++) {
        sampler_slot_release(i);
        if (slots[i].ring.mem != NULL && !sampler_running()) {
            sampler_ring_destroy(&slots[i].ring);
            free(slots[i].handler_stack);
            free(slots[i].consumer_stack);
            slots[i].handler_stack = slots[i].consumer_stack = NULL;
            slots[i].stacks_cap = 0;
        }
    }
}

void sampler_total_counts(sampler_counts *out)
{
    *out = released;
    for (int i = 0; i < slot_limit; i++) {
        if (!slots[i].in_use)
            continue;
        sampler_counts c;
        sampler_slot_counts(i, &c);
        out->taken += c.taken;
        out->dropped += c.dropped;
        out->unreadable += c.unreadable;
        out->weight += c.weight;
    }
}
