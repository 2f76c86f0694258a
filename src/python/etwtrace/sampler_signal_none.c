/*
 * sampler_signal_none.c — sampler.h where there are no per-thread timers
 * delivering signals to one thread (everything but Linux for now): the
 * sampler refuses to start and has no slots.
 */
#include "sampler.h"

#include <stdio.h>
#include <string.h>

int sampler_start(const sampler_config *cfg, char *msg, size_t msg_size)
{
    (void)cfg;
    if (msg != NULL && msg_size > 0)
        snprintf(msg, msg_size, "%s", tld_strerror(TLD_E_SAMPLER_UNSUPPORTED));
    return TLD_E_SAMPLER_UNSUPPORTED;
}

int sampler_running(void) { return 0; }
int sampler_thread_add(int32_t tid, unsigned long pthread_id, uint64_t key)
{
    (void)tid;
    (void)pthread_id;
    (void)key;
    return TLD_E_SAMPLER_NOT_RUNNING;
}
void sampler_thread_retire(int slot) { (void)slot; }
void sampler_slot_release(int slot) { (void)slot; }
int sampler_slot_limit(void) { return 0; }
int sampler_slot_in_use(int slot) { (void)slot; return 0; }
int sampler_slot_sampling(int slot) { (void)slot; return 0; }
uint64_t sampler_slot_key(int slot) { (void)slot; return 0; }
int32_t sampler_slot_tid(int slot) { (void)slot; return 0; }
sampler_ring *sampler_slot_ring(int slot) { (void)slot; return NULL; }
void sampler_slot_counts(int slot, sampler_counts *out) { (void)slot; memset(out, 0, sizeof *out); }
const sampler_record *sampler_slot_peek(int slot, int *corrupt)
{
    (void)slot;
    *corrupt = 0;
    return NULL;
}
void sampler_slot_consume(int slot, const sampler_record *rec) { (void)slot; (void)rec; }
int sampler_wake_fd(void) { return -1; }
void sampler_wake_reset(void) {}
int sampler_stop(void) { return TLD_E_SAMPLER_NOT_RUNNING; }
void sampler_release_all(void) {}
void sampler_total_counts(sampler_counts *out) { memset(out, 0, sizeof *out); }
int sampler_signal_number(void) { return 0; }
int sampler_guard_replaced(void) { return 0; }
int32_t sampler_tid_of_pthread(unsigned long pthread_id) { (void)pthread_id; return 0; }
void sampler_block_signal(int block) { (void)block; }
const sampler_frame *sampler_slot_stack(int slot, const sampler_record *rec, uint32_t *depth)
{
    (void)slot;
    (void)rec;
    *depth = 0;
    return NULL;
}
void sampler_code_freed(void) {}
