/*
 * call_expander.c — PythonCallBatch events read back as Push/Pop events
 * (call_expander.h).
 */
#include "call_expander.h"

#include "byteorder.h"
#include "tl_decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tl_call_expander {
    uint8_t *push_meta, *pop_meta;
    size_t push_meta_len, pop_meta_len;
    tld_event_descriptor push_desc, pop_desc;
    /* The batch being expanded. */
    int active;
    etl_event batch;              /* its record, the template of the expanded events */
    uint32_t thread_id;
    uint32_t count, given;
    tld_call_batch_reader records;
    uint8_t data[24];             /* the current expanded event's fields */
    uint64_t batches, damaged;
    int own_error;                /* the last error returned was the expander's */
    char message[256];
};

static int copy_schema(enum tld_call_event which, uint8_t **meta, size_t *len, tld_event_descriptor *desc)
{
    tld_event_builder b;
    int rc = tld_builder_init(&b, 128, 64);
    if (rc != 0)
        return rc;
    rc = tld_call_event_schema(&b, which);
    if (rc == 0) {
        size_t n;
        const uint8_t *m = tld_builder_meta(&b, &n);
        *meta = malloc(n);
        if (*meta == NULL) {
            rc = TLD_E_NO_MEMORY;
        } else {
            memcpy(*meta, m, n);
            *len = n;
            *desc = tld_event_descriptor_default(TLD_LEVEL_VERBOSE, which == TLD_CALL_EVENT_PUSH
                                                                        ? TLD_PYTHON_KEYWORD_PUSH
                                                                        : TLD_PYTHON_KEYWORD_POP);
        }
    }
    tld_builder_destroy(&b);
    return rc;
}

int tl_call_expander_new(tl_call_expander **out)
{
    tl_call_expander *x = calloc(1, sizeof *x);
    if (x == NULL)
        return TLD_E_NO_MEMORY;
    int rc = copy_schema(TLD_CALL_EVENT_PUSH, &x->push_meta, &x->push_meta_len, &x->push_desc);
    if (rc == 0)
        rc = copy_schema(TLD_CALL_EVENT_POP, &x->pop_meta, &x->pop_meta_len, &x->pop_desc);
    if (rc != 0) {
        tl_call_expander_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

void tl_call_expander_free(tl_call_expander *x)
{
    if (x == NULL)
        return;
    free(x->push_meta);
    free(x->pop_meta);
    free(x);
}

const char *tl_call_expander_message(const tl_call_expander *x)
{
    return x->own_error ? x->message : "";
}

uint64_t tl_call_expander_batches(const tl_call_expander *x)
{
    return x->batches;
}

uint64_t tl_call_expander_damaged(const tl_call_expander *x)
{
    return x->damaged;
}

static int is_call_batch(const etl_event *ev)
{
    if (ev->kind != ETL_KIND_EVENT_HEADER || ev->event_schema == NULL ||
        memcmp(ev->provider_id.bytes_le, tld_python_provider_id.bytes_le, 16) != 0)
        return 0;
    tl_event_names names;
    return tl_event_get_names(ev, &names) == 0 && names.event_len == 15 &&
           memcmp(names.event, "PythonCallBatch", 15) == 0;
}

static int damaged(tl_call_expander *x, const char *what)
{
    x->active = 0;
    x->damaged++;
    x->own_error = 1;
    snprintf(x->message, sizeof x->message,
             "buffer %u, offset 0x%x: PythonCallBatch of thread %u %s; %u of its %u calls and returns were read",
             x->batch.buffer_index, x->batch.offset, x->thread_id, what, x->given, x->count);
    return TLD_E_DAMAGED;
}

/* Starts expanding `ev`, a PythonCallBatch. 0, or TLD_E_DAMAGED. */
static int start_batch(tl_call_expander *x, const etl_event *ev)
{
    x->batch = *ev;
    x->given = x->count = 0;
    x->thread_id = ev->thread_id;
    x->batches++;
    const uint8_t *d = ev->user_data;
    if (d == NULL || ev->user_data_len < TLD_CALL_BATCH_HEAD_BYTES)
        return damaged(x, "is too short for its fields");
    x->thread_id = load_le32(d);
    uint64_t base = load_le64(d + 4);
    x->count = load_le32(d + 12);
    uint32_t checksum = load_le32(d + 16);
    size_t len = load_le16(d + 20);
    if (TLD_CALL_BATCH_HEAD_BYTES + len > ev->user_data_len)
        return damaged(x, "says its records are longer than the event");
    if (tld_call_batch_checksum(d + TLD_CALL_BATCH_HEAD_BYTES, len) != checksum)
        return damaged(x, "has records whose checksum does not match (damaged)");
    tld_call_batch_reader_init(&x->records, d + TLD_CALL_BATCH_HEAD_BYTES, len, base);
    x->active = 1;
    return 0;
}

static void put_pointer(uint8_t *p, uint64_t v, unsigned size)
{
    if (size == 4)
        store_le32(p, (uint32_t)v);
    else
        store_le64(p, v);
}

/* The event record `rec` of the current batch stands for. */
static void fill_event(tl_call_expander *x, etl_reader *r, const tld_call_record *rec, etl_event *ev)
{
    unsigned ps = x->batch.pointer_size == 4 ? 4 : 8;
    *ev = x->batch;
    ev->thread_id = x->thread_id;
    ev->timestamp = rec->ticks;
    ev->filetime = etl_reader_filetime(r, rec->ticks);
    ev->has_stack = 0;
    ev->stack = NULL;
    ev->stack_count = 0;
    ev->ext_count = 0;
    ev->ext_dropped = 0;
    put_pointer(x->data, rec->function_id, ps);
    if (rec->is_return) {
        ev->descriptor = x->pop_desc;
        ev->event_schema = x->pop_meta;
        ev->event_schema_len = x->pop_meta_len;
        ev->user_data_len = ps;
    } else {
        ev->descriptor = x->push_desc;
        ev->event_schema = x->push_meta;
        ev->event_schema_len = x->push_meta_len;
        put_pointer(x->data + ps, rec->caller, ps);
        store_le64(x->data + 2 * ps, rec->caller_line);
        ev->user_data_len = 2 * ps + 8;
    }
    ev->user_data = x->data;
}

int tl_call_expander_next(tl_call_expander *x, etl_reader *r, etl_event *ev)
{
    x->own_error = 0;
    for (;;) {
        if (x->active) {
            tld_call_record rec;
            int rc = tld_call_batch_next(&x->records, &rec);
            if (rc == 0) {
                x->given++;
                fill_event(x, r, &rec, ev);
                return 0;
            }
            if (rc != TLD_E_END)
                return damaged(x, "is damaged inside its records");
            x->active = 0;
            if (x->given != x->count)
                return damaged(x, "holds fewer records than its Count says");
        }
        int rc = etl_reader_next(r, ev);
        if (rc != 0 || !is_call_batch(ev))
            return rc;
        rc = start_batch(x, ev);
        if (rc != 0)
            return rc;
    }
}
