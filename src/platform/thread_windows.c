/*
 * thread_windows.c — thread.h on Windows (Vista and later): SRW locks,
 * condition variables, CreateThread, InitOnceExecuteOnce, and fiber-local
 * storage for the per-thread exit hook (FlsAlloc's callback runs when a
 * thread ends, like a pthread key destructor). There is no fork(), so
 * tld_at_fork() has nothing to do.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "thread.h"

#include <errno.h>
#include <string.h>

_Static_assert(sizeof(tld_mutex) == sizeof(SRWLOCK), "tld_mutex holds an SRWLOCK");
_Static_assert(sizeof(tld_cond) == sizeof(CONDITION_VARIABLE), "tld_cond holds a CONDITION_VARIABLE");
_Static_assert(sizeof(tld_once_flag) == sizeof(INIT_ONCE), "tld_once_flag holds an INIT_ONCE");

static SRWLOCK *srw(tld_mutex *m)
{
    return (SRWLOCK *)&m->srwlock;
}

static CONDITION_VARIABLE *cv(tld_cond *c)
{
    return (CONDITION_VARIABLE *)&c->condition_variable;
}

void tld_mutex_init(tld_mutex *m)
{
    InitializeSRWLock(srw(m));
}

void tld_mutex_destroy(tld_mutex *m)
{
    (void)m; /* SRW locks hold no resources */
}

void tld_mutex_lock(tld_mutex *m)
{
    AcquireSRWLockExclusive(srw(m));
}

void tld_mutex_unlock(tld_mutex *m)
{
    ReleaseSRWLockExclusive(srw(m));
}

void tld_cond_init(tld_cond *c)
{
    InitializeConditionVariable(cv(c));
}

void tld_cond_destroy(tld_cond *c)
{
    (void)c;
}

void tld_cond_wait(tld_cond *c, tld_mutex *m)
{
    SleepConditionVariableSRW(cv(c), srw(m), INFINITE, 0);
}

void tld_cond_wait_until(tld_cond *c, tld_mutex *m, uint64_t deadline_ms)
{
    uint64_t now = tld_monotonic_ms();
    if (now >= deadline_ms)
        return;
    uint64_t ms = deadline_ms - now;
    /* INFINITE is 0xFFFFFFFF: longer waits end early, and callers loop. */
    SleepConditionVariableSRW(cv(c), srw(m), ms >= INFINITE ? INFINITE - 1 : (DWORD)ms, 0);
}

void tld_cond_signal(tld_cond *c)
{
    WakeConditionVariable(cv(c));
}

void tld_cond_broadcast(tld_cond *c)
{
    WakeAllConditionVariable(cv(c));
}

uint64_t tld_monotonic_ms(void)
{
    return GetTickCount64();
}

static DWORD WINAPI thread_main(LPVOID arg)
{
    tld_thread *t = arg;
    t->fn(t->arg);
    return 0;
}

int tld_thread_start(tld_thread *t, tld_thread_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
    t->handle = CreateThread(NULL, 0, thread_main, t, 0, NULL);
    if (t->handle == NULL)
        return GetLastError() == ERROR_NOT_ENOUGH_MEMORY ? -ENOMEM : -EAGAIN;
    return 0;
}

void tld_thread_join(tld_thread *t)
{
    WaitForSingleObject(t->handle, INFINITE);
    CloseHandle(t->handle);
    t->handle = NULL;
}

void tld_thread_yield(void)
{
    if (!SwitchToThread())
        Sleep(0);
}

static BOOL CALLBACK run_once(PINIT_ONCE once, PVOID fn, PVOID *context)
{
    (void)once;
    (void)context;
    void (*call)(void);
    /* The function pointer travels as the parameter (same size on Windows). */
    memcpy(&call, &fn, sizeof call);
    call();
    return TRUE;
}

void tld_once(tld_once_flag *flag, void (*init)(void))
{
    PVOID param;
    _Static_assert(sizeof param == sizeof init, "function pointers fit in a PVOID on Windows");
    memcpy(&param, &init, sizeof param);
    InitOnceExecuteOnce((PINIT_ONCE)&flag->init_once, run_once, param, NULL);
}

/*
 * The exit hook: FlsAlloc takes a callback that receives the slot's value
 * when a thread (or fiber) ends. Windows' callback is WINAPI and ours is
 * not, so a hook is an index into a small table of our callbacks (the
 * core creates one hook; the table leaves room for a few).
 */
#define MAX_KEYS 4
static void (*key_hooks[MAX_KEYS])(void *value);
static DWORD key_slots[MAX_KEYS];
static volatile LONG key_count;

static void call_hook(int i, void *value)
{
    if (value != NULL && key_hooks[i] != NULL)
        key_hooks[i](value);
}
static VOID WINAPI hook0(PVOID v) { call_hook(0, v); }
static VOID WINAPI hook1(PVOID v) { call_hook(1, v); }
static VOID WINAPI hook2(PVOID v) { call_hook(2, v); }
static VOID WINAPI hook3(PVOID v) { call_hook(3, v); }
static PFLS_CALLBACK_FUNCTION const fls_hooks[MAX_KEYS] = {hook0, hook1, hook2, hook3};

int tld_thread_exit_hook_create(tld_thread_exit_hook *hook, void (*on_exit)(void *value))
{
    LONG i = InterlockedIncrement(&key_count) - 1;
    if (i >= MAX_KEYS)
        return -EAGAIN;
    key_hooks[i] = on_exit;
    DWORD slot = FlsAlloc(fls_hooks[i]);
    if (slot == FLS_OUT_OF_INDEXES)
        return -EAGAIN;
    key_slots[i] = slot;
    *hook = (unsigned long)i;
    return 0;
}

int tld_thread_exit_hook_set(tld_thread_exit_hook *hook, void *value)
{
    if (*hook >= MAX_KEYS)
        return -EINVAL;
    return FlsSetValue(key_slots[*hook], value) ? 0 : -ENOMEM;
}

int tld_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    (void)prepare;
    (void)parent;
    (void)child;
    return 0;
}
