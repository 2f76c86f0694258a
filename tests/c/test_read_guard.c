/*
 * test_read_guard.c — read-side critical sections and grace periods
 * (src/core/read_guard.h): reader threads, some short-lived so records are
 * given back and reused, follow a published pointer inside (nested)
 * critical sections while an updater replaces it, waits a grace period
 * and poisons the old object; no reader may ever see the poison. Also: a
 * grace period with nobody reading returns, and (POSIX) a forked child
 * (whose parent had readers mid-section) can still complete grace periods.
 * Runs on Windows (under Wine) too, where FlushProcessWriteBuffers is the
 * asymmetric barrier and fiber-local storage gives records back.
 */
#include "read_guard.h"

#include "check.h"
#include "test_platform.h"
#include "thread.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#if TEST_HAVE_FORK
#include <sys/wait.h>
#include <unistd.h>
#endif

#define ALIVE 0x600DF00Du
#define POISON 0xDEADBEEFu

typedef struct object {
    atomic_uint state;
    unsigned value;
} object;

#define sleep_ms test_sleep_ms

static _Atomic(object *) published;
static atomic_int stop;
static atomic_long bad, sections;

static void read_once(int nested)
{
    unsigned outer = tld_read_lock();
    unsigned inner = nested ? tld_read_lock() : 0;
    object *o = atomic_load_explicit(&published, memory_order_acquire);
    for (int i = 0; i < 8; i++)
        if (atomic_load_explicit(&o->state, memory_order_relaxed) != ALIVE)
            atomic_fetch_add(&bad, 1);
    if (nested)
        tld_read_unlock(inner);
    if (atomic_load_explicit(&o->state, memory_order_relaxed) != ALIVE)
        atomic_fetch_add(&bad, 1);
    tld_read_unlock(outer);
    atomic_fetch_add_explicit(&sections, 1, memory_order_relaxed);
}

static void reader_main(void *arg)
{
    long rounds = (long)(intptr_t)arg; /* 0: until stop */
    for (long i = 0; rounds == 0 ? !atomic_load(&stop) : i < rounds; i++)
        read_once(i & 1);
}

/* Short-lived readers, one after another: their records are reused. */
static void churn_main(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        tld_thread t;
        if (tld_thread_start(&t, reader_main, (void *)(intptr_t)200) == 0)
            tld_thread_join(&t);
    }
}

static object *all_objects[4096]; /* freed at the end */
static unsigned object_count;

static object *make_object(unsigned value)
{
    object *o = malloc(sizeof *o);
    all_objects[object_count++] = o;
    atomic_init(&o->state, ALIVE);
    o->value = value;
    return o;
}

static void update(unsigned value)
{
    object *old = atomic_load(&published);
    atomic_store_explicit(&published, make_object(value), memory_order_release);
    tld_read_synchronize();
    /* Freed only at the end: a reader that got here too early must read POISON, not
     * reused memory, so the check can see it. */
    atomic_store_explicit(&old->state, POISON, memory_order_relaxed);
}

static void test_readers_never_see_poison(void)
{
    enum { READERS = 6, UPDATES = 3000 };
    atomic_store(&published, make_object(0));
    tld_thread th[READERS + 1];
    for (int i = 0; i < READERS; i++)
        CHECK_EQ_INT(tld_thread_start(&th[i], reader_main, NULL), 0);
    CHECK_EQ_INT(tld_thread_start(&th[READERS], churn_main, NULL), 0);
    /* On a loaded 2-CPU machine the readers may not be scheduled for a while:
     * wait until they run, so the updates really overlap their sections. */
    for (int waited = 0; atomic_load(&sections) < READERS && waited < 30000; waited++)
        sleep_ms(1);
    for (unsigned u = 1; u <= UPDATES; u++) {
        update(u);
        if (u % 64 == 0)
            tld_thread_yield();
    }
    /* Let the readers reach a meaningful count before stopping them. */
    for (int waited = 0; atomic_load(&sections) <= UPDATES && waited < 30000; waited++)
        sleep_ms(1);
    atomic_store(&stop, 1);
    for (int i = 0; i <= READERS; i++)
        tld_thread_join(&th[i]);
    CHECK_EQ_INT(atomic_load(&bad), 0);
    CHECK(atomic_load(&sections) > UPDATES);
    for (unsigned i = 0; i < object_count; i++)
        free(all_objects[i]);
    printf("read guard: %d grace periods, %ld critical sections, %ld saw freed data\n", UPDATES,
           atomic_load(&sections), atomic_load(&bad));
}

static void test_synchronize_alone(void)
{
    tld_read_synchronize();
    unsigned t = tld_read_lock();
    tld_read_unlock(t);
    tld_read_synchronize();
    CHECK(1);
}

#if TEST_HAVE_FORK
/* A reader thread sits inside a critical section while the process
 * forks: the child, which does not have that thread, must not wait for it. */
static atomic_int holding, release_holder;

static void holder_main(void *arg)
{
    (void)arg;
    unsigned t = tld_read_lock();
    atomic_store(&holding, 1);
    while (!atomic_load(&release_holder))
        tld_thread_yield();
    tld_read_unlock(t);
}

static void test_fork(void)
{
    tld_at_fork(tld_read_guard_fork_prepare, tld_read_guard_fork_parent, tld_read_guard_fork_child);
    tld_thread th;
    CHECK_EQ_INT(tld_thread_start(&th, holder_main, NULL), 0);
    while (!atomic_load(&holding))
        tld_thread_yield();
    pid_t pid = fork();
    if (pid == 0) {
        alarm(10);
        tld_read_synchronize();
        unsigned t = tld_read_lock();
        tld_read_unlock(t);
        tld_read_synchronize();
        _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    atomic_store(&release_holder, 1);
    tld_thread_join(&th);
    tld_read_synchronize();
}
#endif

int main(void)
{
    (void)check_hex;
    test_synchronize_alone();
    test_readers_never_see_poison();
#if TEST_HAVE_FORK
    test_fork();
#endif
    return check_report("test_read_guard");
}
