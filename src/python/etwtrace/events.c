/*
 * events.c — the events of provider "Python" (docs/events.md),
 * encoded by our TraceLogging builder exactly as TraceLoggingWrite would:
 *
 *   PythonThread       level 4, keyword 0x0100, opcode 1/2, ThreadID INT32
 *   PythonThreadName   level 4, keyword 0x0100, opcode 0, ThreadID INT32, Name
 *                      UNICODESTRING
 *   PythonStackSample  level 5, keyword 0x0200, Mark UNICODESTRING
 *   PythonFunction     level 5, keyword 0x0400, FunctionID/BeginAddress/
 *                      EndAddress POINTER, LineNumber INT32, SourceFile and
 *                      Name UNICODESTRING, IsPythonCode INT32
 *   PythonMark         level 5, keyword 0x0800, opcode 0/1/2, Mark
 *   PythonFunctionPush level 5, keyword 0x1000, FunctionID, Caller POINTER,
 *                      CallerLine UINT64
 *   PythonFunctionPop  level 5, keyword 0x2000, FunctionID POINTER
 *   PythonSample       level 5, keyword 0x4000, ThreadID INT32, Time
 *                      FILETIME, Weight UINT32, Clock UINT8, Flags UINT16,
 *                      FunctionIDs UINT64[], Lines UINT32[] (innermost first)
 *   PythonSampler      level 4, keyword 0x4000, opcode 1/2, Clock UINT8,
 *                      Rate, MaxDepth, Threads UINT32, Samples, Written,
 *                      Dropped, Unreadable UINT64
 *
 * Every writer first tests the provider's enable state (a few atomic loads,
 * inline: etw_event_on) and does nothing else when nobody listens. One
 * builder serves all events: the callers hold the GIL, and building an
 * event runs no Python code.
 */
#include "etwtrace.h"
#include "utf16.h"

#include <stdlib.h>
#include <string.h>

tld_provider *etw_provider;
const tld_enable_state *etw_provider_state;
uint32_t etw_listen_epoch = 1;
const tld_capi *etw_capi;
static tld_event_builder eb;
static int prepare_fast(void);
static void on_listeners_changed(int change, void *context);


int etw_events_init(void)
{
    if (etw_provider != NULL)
        return 0;
    etw_capi = tld_capi_import();
    if (etw_capi == NULL)
        return -1;
    int rc = tld_builder_init(&eb, 256, 512);
    if (rc == 0)
        rc = etw_capi->provider_open(&etw_provider, "Python", 6, &tld_python_provider_id, NULL);
    if (rc != 0) {
        PyErr_Format(PyExc_RuntimeError, "cannot open the Python event provider: %s", tld_strerror(rc));
        return -1;
    }
    etw_provider_state = etw_capi->provider_enable_state(etw_provider);
    etw_capi->provider_set_enable_callback(etw_provider, on_listeners_changed, NULL);
    prepare_fast(); /* on failure (no memory) the general path is used */
    if (etw_batches_prepare() != 0)
        etw_compact_calls = 0;
    return 0;
}

/*
 * The provider's enable callback (tld.h): a session that names "Python"
 * started or stopped, in the thread that did it, outside the core's locks.
 * A new listener gets the PythonFunction events of every function already
 * announced in this trace (sessions listening before get them again), and
 * a new listening epoch starts (etw_listen_epoch). Sessions started from
 * Python hold the GIL across start, so no Push or Pop of another thread
 * falls between the session going live and this.
 */
static void on_listeners_changed(int change, void *context)
{
    (void)context;
    if ((change != TLD_LISTENER_ADDED && change != TLD_LISTENER_FLUSH) || pyc_is_finalizing())
        return;
    PyGILState_STATE gil = PyGILState_Ensure();
    pyc_saved_error saved;
    pyc_error_save(&saved);
    if (change == TLD_LISTENER_FLUSH) {
        /* A session is about to start, stop or flush: the batches belong
         * to the sessions listening now. */
        etw_batches_flush_all();
        pyc_error_restore(&saved);
        PyGILState_Release(gil);
        return;
    }
    etw_listen_epoch++;
    if (etw_listen_epoch == 0)
        etw_listen_epoch = 1;
    if (etw_active_mode != ETW_MODE_NONE) {
        etw_registry_announce_all();
        etw_thread_names_reset();
        etw_thread_names_write();
    }
    pyc_error_restore(&saved);
    PyGILState_Release(gil);
}

#define NAME(s) s, sizeof(s) - 1

static void begin(const char *name, size_t name_len, uint8_t level, uint64_t keyword, uint8_t opcode)
{
    etw_batch_flush_mine(); /* this thread's calls so far come first in the file */
    tld_event_descriptor d = tld_event_descriptor_default(level, keyword);
    d.opcode = opcode;
    tld_builder_reset(&eb, name, name_len, &d, 0);
}

static void finish(void)
{
    etw_capi->provider_write(etw_provider, &eb, NULL, NULL);
}

/*
 * Adds a UNICODESTRING field from a str, converted to UTF-16 here (no codec
 * lookup: that would run Python code, i.e. the hook, from inside the hook).
 * Lone surrogates pass through; more than 16383 units are cut. A value
 * that is not a str is written as "?".
 */
#define MAX_UNITS 16383u

static void add_text(const char *name, size_t name_len, PyObject *value)
{
    static const uint16_t question[] = {'?'};
    uint16_t small[256];
    small[0] = 0;
    if (value == NULL || !PyUnicode_Check(value)) {
        tld_builder_add_zstr16(&eb, name, name_len, question, 1, 0, 0);
        return;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(value);
    size_t cap = (size_t)n * 2 < MAX_UNITS ? (size_t)n * 2 : MAX_UNITS;
    uint16_t *buf = cap <= sizeof small / sizeof small[0] ? small : malloc(cap * sizeof *buf);
    if (buf == NULL) {
        tld_builder_add_zstr16(&eb, name, name_len, question, 1, 0, 0);
        return;
    }
    /* UTF-16LE bytes are the units in host order on the little-endian
     * machines ETW runs on. */
    size_t units = tld_utf16le_from_chars(PyUnicode_DATA(value), (size_t)n, (unsigned)PyUnicode_KIND(value),
                                          (uint8_t *)buf, cap);
    if (units == 0)
        buf[0] = 0;
    tld_builder_add_zstr16(&eb, name, name_len, buf, units, 0, 0);
    if (buf != small)
        free(buf);
}

void etw_write_thread(int opcode, int32_t os_thread_id)
{
    if (!etw_event_on(TLD_LEVEL_INFO, ETW_KW_THREAD))
        return;
    begin(NAME("PythonThread"), TLD_LEVEL_INFO, ETW_KW_THREAD, (uint8_t)opcode);
    tld_builder_add_int32(&eb, NAME("ThreadID"), os_thread_id, 0, 0);
    finish();
    /* Threads come and go here: the time to name those threading knows by now. */
    etw_thread_names_write();
}

void etw_write_thread_name(int32_t os_thread_id, PyObject *name)
{
    if (!etw_event_on(TLD_LEVEL_INFO, ETW_KW_THREAD))
        return;
    begin(NAME("PythonThreadName"), TLD_LEVEL_INFO, ETW_KW_THREAD, TLD_OPCODE_INFO);
    tld_builder_add_int32(&eb, NAME("ThreadID"), os_thread_id, 0, 0);
    add_text(NAME("Name"), name);
    finish();
}

void etw_write_function(uint64_t id, uintptr_t begin_addr, uintptr_t end_addr, int32_t line, PyObject *source_file,
                        PyObject *name, int is_python_code)
{
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_FUNCTION))
        return;
    begin(NAME("PythonFunction"), TLD_LEVEL_VERBOSE, ETW_KW_FUNCTION, TLD_OPCODE_INFO);
    tld_builder_add_pointer(&eb, NAME("FunctionID"), (const void *)(uintptr_t)id, 0, 0);
    tld_builder_add_pointer(&eb, NAME("BeginAddress"), (const void *)begin_addr, 0, 0);
    tld_builder_add_pointer(&eb, NAME("EndAddress"), (const void *)end_addr, 0, 0);
    tld_builder_add_int32(&eb, NAME("LineNumber"), line, 0, 0);
    add_text(NAME("SourceFile"), source_file);
    add_text(NAME("Name"), name);
    tld_builder_add_int32(&eb, NAME("IsPythonCode"), is_python_code, 0, 0);
    finish();
}

static int check_text(PyObject *text)
{
    if (PyUnicode_Check(text))
        return 0;
    PyErr_Format(PyExc_TypeError, "mark text must be a str, not %.100s", Py_TYPE(text)->tp_name);
    return -1;
}

int etw_write_mark(int opcode, PyObject *text)
{
    if (check_text(text) < 0)
        return -1;
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_MARK))
        return 0;
    begin(NAME("PythonMark"), TLD_LEVEL_VERBOSE, ETW_KW_MARK, (uint8_t)opcode);
    add_text(NAME("Mark"), text);
    finish();
    return 0;
}

int etw_write_stack_sample(PyObject *text)
{
    if (check_text(text) < 0)
        return -1;
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_STACK))
        return 0;
    begin(NAME("PythonStackSample"), TLD_LEVEL_VERBOSE, ETW_KW_STACK, TLD_OPCODE_INFO);
    add_text(NAME("Mark"), text);
    finish();
    return 0;
}

/*
 * Push and Pop are written for every call: they are prepared events
 * (tld.h), encoded once, so a write copies a ready record head and appends
 * the values.
 */
static tld_prepared_event *push_event, *pop_event, *sample_event;

/* The fields of PythonSample, with these values (the general path), or
 * empty arrays (the prepared event's shape). */
static int add_sample_fields(tld_event_builder *b, int32_t thread_id, uint64_t filetime, uint32_t weight,
                             uint8_t clock, uint16_t flags, const uint64_t *ids, const uint32_t *lines, uint16_t depth)
{
    tld_event_descriptor d = tld_event_descriptor_default(TLD_LEVEL_VERBOSE, ETW_KW_SAMPLE);
    tld_builder_reset(b, NAME("PythonSample"), &d, 0);
    tld_builder_add_int32(b, NAME("ThreadID"), thread_id, TLD_OUT_TID, 0);
    tld_builder_add_filetime(b, NAME("Time"), (int64_t)filetime, 0, 0);
    tld_builder_add_uint32(b, NAME("Weight"), weight, 0, 0);
    tld_builder_add_uint8(b, NAME("Clock"), clock, 0, 0);
    tld_builder_add_uint16(b, NAME("Flags"), flags, TLD_OUT_HEX, 0);
    tld_builder_add_array(b, NAME("FunctionIDs"), TLD_IN_UINT64, ids, depth, 8, 0, 0);
    return tld_builder_add_array(b, NAME("Lines"), TLD_IN_UINT32, lines, depth, 4, 0, 0);
}

static int prepare_sample(tld_event_builder *b)
{
    return add_sample_fields(b, 0, 0, 0, 0, 0, NULL, NULL, 0);
}

static int prepare_fast(void)
{
    tld_event_builder b;
    if (tld_builder_init(&b, 128, 64) != 0)
        return -1;
    int rc = tld_call_event_schema(&b, TLD_CALL_EVENT_PUSH);
    if (rc == 0)
        rc = etw_capi->prepared_event_create(&push_event, etw_provider, &b);
    if (rc == 0)
        rc = tld_call_event_schema(&b, TLD_CALL_EVENT_POP);
    if (rc == 0)
        rc = etw_capi->prepared_event_create(&pop_event, etw_provider, &b);
    if (rc == 0) {
        int rs = prepare_sample(&b);
        if (rs == 0)
            rs = etw_capi->prepared_event_create(&sample_event, etw_provider, &b);
        if (rs != 0)
            sample_event = NULL; /* samples take the general path */
    }
    tld_builder_destroy(&b);
    if (rc != 0) {
        etw_capi->prepared_event_destroy(push_event);
        push_event = NULL;
        return -1;
    }
    return 0;
}

static inline void put_ptr(uint8_t *p, uint64_t v)
{
    if (sizeof(void *) == 8) {
        memcpy(p, &v, 8); /* little-endian hosts only (x86-64, aarch64, as the core) */
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
    }
}

void etw_write_push(uint64_t id, uint64_t caller, uint64_t caller_line)
{
    if (etw_compact_calls && ETW_LIKELY(etw_batch_call(id, caller, caller_line)))
        return;
    if (ETW_LIKELY(push_event != NULL)) {
        uint8_t data[2 * sizeof(void *) + 8];
        put_ptr(data, id);
        put_ptr(data + sizeof(void *), caller);
        memcpy(data + 2 * sizeof(void *), &caller_line, 8);
        etw_capi->prepared_event_write(push_event, data, sizeof data);
        return;
    }
    begin(NAME("PythonFunctionPush"), TLD_LEVEL_VERBOSE, ETW_KW_PUSH, TLD_OPCODE_INFO);
    tld_builder_add_pointer(&eb, NAME("FunctionID"), (const void *)(uintptr_t)id, 0, 0);
    tld_builder_add_pointer(&eb, NAME("Caller"), (const void *)(uintptr_t)caller, 0, 0);
    tld_builder_add_uint64(&eb, NAME("CallerLine"), caller_line, 0, 0);
    finish();
}

void etw_write_pop(uint64_t id)
{
    if (etw_compact_calls && ETW_LIKELY(etw_batch_return(id)))
        return;
    if (ETW_LIKELY(pop_event != NULL)) {
        uint8_t data[sizeof(void *)];
        put_ptr(data, id);
        etw_capi->prepared_event_write(pop_event, data, sizeof data);
        return;
    }
    begin(NAME("PythonFunctionPop"), TLD_LEVEL_VERBOSE, ETW_KW_POP, TLD_OPCODE_INFO);
    tld_builder_add_pointer(&eb, NAME("FunctionID"), (const void *)(uintptr_t)id, 0, 0);
    finish();
}

/*
 * PythonSample is written by the sampler's consumer for every sample:
 * the data block is laid out here (little-endian, fields in order, each
 * array a u16 count and its elements) and written as a prepared event.
 */
#define SAMPLE_FIXED_BYTES (4 + 8 + 4 + 1 + 2)

int etw_write_sample(int32_t thread_id, uint64_t filetime, uint32_t weight, uint8_t clock, uint16_t flags,
                     const uint64_t *ids, const uint32_t *lines, uint16_t depth)
{
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_SAMPLE))
        return 0;
    if (ETW_LIKELY(sample_event != NULL)) {
        static uint8_t *buf;
        static size_t cap;
        size_t need = SAMPLE_FIXED_BYTES + 2 + (size_t)depth * 8 + 2 + (size_t)depth * 4;
        if (need > cap) {
            uint8_t *grown = realloc(buf, need);
            if (grown == NULL)
                return TLD_E_NO_MEMORY;
            buf = grown;
            cap = need;
        }
        uint8_t *p = buf;
        memcpy(p, &thread_id, 4);
        memcpy(p + 4, &filetime, 8);
        memcpy(p + 12, &weight, 4);
        p[16] = clock;
        memcpy(p + 17, &flags, 2);
        p += SAMPLE_FIXED_BYTES;
        memcpy(p, &depth, 2);
        memcpy(p + 2, ids, (size_t)depth * 8);
        p += 2 + (size_t)depth * 8;
        memcpy(p, &depth, 2);
        memcpy(p + 2, lines, (size_t)depth * 4);
        return etw_capi->prepared_event_write(sample_event, buf, need);
    }
    int rc = add_sample_fields(&eb, thread_id, filetime, weight, clock, flags, ids, lines, depth);
    if (rc != 0)
        return rc;
    return etw_capi->provider_write(etw_provider, &eb, NULL, NULL);
}

void etw_write_sampler(int opcode, const struct etw_sampler_summary *s)
{
    if (!etw_event_on(TLD_LEVEL_INFO, ETW_KW_SAMPLE))
        return;
    begin(NAME("PythonSampler"), TLD_LEVEL_INFO, ETW_KW_SAMPLE, (uint8_t)opcode);
    tld_builder_add_uint8(&eb, NAME("Clock"), s->clock, 0, 0);
    tld_builder_add_uint32(&eb, NAME("Rate"), s->rate, 0, 0);
    tld_builder_add_uint32(&eb, NAME("MaxDepth"), s->max_depth, 0, 0);
    tld_builder_add_uint32(&eb, NAME("Threads"), s->threads, 0, 0);
    tld_builder_add_uint64(&eb, NAME("Samples"), s->samples, 0, 0);
    tld_builder_add_uint64(&eb, NAME("Written"), s->written, 0, 0);
    tld_builder_add_uint64(&eb, NAME("Dropped"), s->dropped, 0, 0);
    tld_builder_add_uint64(&eb, NAME("Unreadable"), s->unreadable, 0, 0);
    finish();
}
