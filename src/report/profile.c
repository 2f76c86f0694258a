/*
 * profile.c — the profile model declared in profile.h.
 *
 * Shape:
 *
 *   functions[]  <- fn map (pid, id, is_address) -> index
 *   threads[]    <- th map (pid, tid) -> index; each thread: root node + open-call stack
 *   tree.nodes[] <- child map (parent, function) -> node
 *
 *   enter: thread, function, child of the stack top (or the root), push
 *   exit:  pop the matching open call, add its time to its node
 *   sample: walk the path from the thread's root, adding weight to each node
 *
 * Nodes are created after their parent, so a node's index is always greater
 * than its parent's: the views (merged or one thread) and the self values
 * are computed in one pass in index order, with no recursion.
 */
#include "profile.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define INDEX_LIMIT (1u << 30)          /* the timeline packs kind + index in 32 bits */
#define TIMELINE_BUFFER (64u * 1024u)
#define TIMELINE_ENTRY 16u

static int fail(rp_profile *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    return code;
}

/* The OS's reason for the last failure, as a negative code. */
static int os_error(void)
{
    return errno > 0 ? -errno : -EIO;
}

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Grows *array (elements of `size` bytes) to hold at least `need`. */
static int grow(void **array, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    if (need >= INDEX_LIMIT)
        return TLD_E_REPORT_LIMIT;
    uint32_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*array, (size_t)n * size);
    if (!q)
        return TLD_E_NO_MEMORY;
    *array = q;
    *cap = n;
    return 0;
}

static char *copy_string(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (c) {
        if (len)
            memcpy(c, s, len);
        c[len] = 0;
    }
    return c;
}

/* ---- the tree ---- */

static int tree_rehash(rp_tree *t, uint32_t slots)
{
    uint64_t *keys = malloc((size_t)slots * sizeof *keys);
    uint32_t *values = malloc((size_t)slots * sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return TLD_E_NO_MEMORY;
    }
    memset(values, 0xff, (size_t)slots * sizeof *values);
    for (uint32_t i = 0; i < t->child_slots; i++) {
        if (t->child_values[i] == RP_NONE)
            continue;
        uint32_t j = (uint32_t)mix64(t->child_keys[i]) & (slots - 1);
        while (values[j] != RP_NONE)
            j = (j + 1) & (slots - 1);
        keys[j] = t->child_keys[i];
        values[j] = t->child_values[i];
    }
    free(t->child_keys);
    free(t->child_values);
    t->child_keys = keys;
    t->child_values = values;
    t->child_slots = slots;
    return 0;
}

static int tree_add_node(rp_tree *t, uint32_t parent, uint32_t function, uint32_t thread, uint32_t *out)
{
    int rc = grow((void **)&t->nodes, &t->cap, t->count + 1, sizeof *t->nodes);
    if (rc)
        return rc;
    uint32_t i = t->count++;
    rp_node *n = &t->nodes[i];
    memset(n, 0, sizeof *n);
    n->function = function;
    n->parent = parent;
    n->first_child = RP_NONE;
    n->next_sibling = RP_NONE;
    n->thread = thread;
    if (parent != RP_NONE) {
        n->next_sibling = t->nodes[parent].first_child;
        t->nodes[parent].first_child = i;
    }
    *out = i;
    return 0;
}

/* The child of `parent` for `function`, created when missing (*created set). */
static int tree_child(rp_tree *t, uint32_t parent, uint32_t function, uint32_t thread, uint32_t *out, int *created)
{
    if ((t->child_used + 1) * 4 >= t->child_slots * 3) {
        int rc = tree_rehash(t, t->child_slots ? t->child_slots * 2 : 1024);
        if (rc)
            return rc;
    }
    uint64_t key = ((uint64_t)parent << 32) | function;
    uint32_t mask = t->child_slots - 1;
    uint32_t j = (uint32_t)mix64(key) & mask;
    while (t->child_values[j] != RP_NONE) {
        if (t->child_keys[j] == key) {
            *out = t->child_values[j];
            if (created)
                *created = 0;
            return 0;
        }
        j = (j + 1) & mask;
    }
    uint32_t node;
    int rc = tree_add_node(t, parent, function, thread, &node);
    if (rc)
        return rc;
    t->child_keys[j] = key;
    t->child_values[j] = node;
    t->child_used++;
    *out = node;
    if (created)
        *created = 1;
    return 0;
}

void rp_tree_free(rp_tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->child_keys);
    free(t->child_values);
    memset(t, 0, sizeof *t);
}

/* ---- lookups: functions and threads ---- */

static int map2_rehash(uint64_t **keys_io, uint32_t **values_io, uint32_t *slots_io, uint32_t slots)
{
    uint64_t *keys = malloc((size_t)slots * 2 * sizeof *keys);
    uint32_t *values = malloc((size_t)slots * sizeof *values);
    if (!keys || !values) {
        free(keys);
        free(values);
        return TLD_E_NO_MEMORY;
    }
    memset(values, 0xff, (size_t)slots * sizeof *values);
    for (uint32_t i = 0; i < *slots_io; i++) {
        if ((*values_io)[i] == RP_NONE)
            continue;
        uint64_t a = (*keys_io)[2 * i], b = (*keys_io)[2 * i + 1];
        uint32_t j = (uint32_t)mix64(a * 31 + b) & (slots - 1);
        while (values[j] != RP_NONE)
            j = (j + 1) & (slots - 1);
        keys[2 * j] = a;
        keys[2 * j + 1] = b;
        values[j] = (*values_io)[i];
    }
    free(*keys_io);
    free(*values_io);
    *keys_io = keys;
    *values_io = values;
    *slots_io = slots;
    return 0;
}

/* Finds key (a, b): returns its slot; *found says whether it holds the key
 * (else the slot is where it would go). The table must have a free slot. */
static inline uint32_t map2_find(const uint64_t *keys, const uint32_t *values, uint32_t slots, uint64_t a,
                                 uint64_t b, int *found)
{
    uint32_t mask = slots - 1;
    uint32_t j = (uint32_t)mix64(a * 31 + b) & mask;
    while (values[j] != RP_NONE) {
        if (keys[2 * j] == a && keys[2 * j + 1] == b) {
            *found = 1;
            return j;
        }
        j = (j + 1) & mask;
    }
    *found = 0;
    return j;
}

/* Replaces a function's name and file with copies of the given text. */
static int set_names(rp_function *f, const char *name, size_t name_len, const char *file, size_t file_len)
{
    char *n = copy_string(name, name_len), *fl = copy_string(file, file_len);
    if (!n || !fl) {
        free(n);
        free(fl);
        return TLD_E_NO_MEMORY;
    }
    free(f->name);
    free(f->file);
    f->name = n;
    f->file = fl;
    return 0;
}

static int function_find_or_add(rp_profile *p, uint32_t pid, uint64_t id, int is_address, uint32_t *out,
                                int *created)
{
    if ((p->fn_used + 1) * 4 >= p->fn_slots * 3) {
        int rc = map2_rehash(&p->fn_keys, &p->fn_values, &p->fn_slots, p->fn_slots ? p->fn_slots * 2 : 1024);
        if (rc)
            return rc;
    }
    uint64_t a = ((uint64_t)pid << 1) | (is_address ? 1u : 0u);
    int found;
    uint32_t j = map2_find(p->fn_keys, p->fn_values, p->fn_slots, a, id, &found);
    if (found) {
        *out = p->fn_values[j];
        *created = 0;
        return 0;
    }
    int rc = grow((void **)&p->functions, &p->function_cap, p->function_count + 1, sizeof *p->functions);
    if (rc)
        return fail(p, rc, "the profile holds too many functions");
    char name[64];
    int n = is_address ? snprintf(name, sizeof name, "0x%llx", (unsigned long long)id)
                       : snprintf(name, sizeof name, "<function 0x%llx>", (unsigned long long)id);
    rp_function *f = &p->functions[p->function_count];
    memset(f, 0, sizeof *f);
    f->name = copy_string(name, (size_t)n);
    f->file = copy_string("", 0);
    if (!f->name || !f->file) {
        free(f->name);
        free(f->file);
        return TLD_E_NO_MEMORY;
    }
    f->pid = pid;
    f->id = id;
    f->is_address = is_address;
    p->fn_keys[2 * j] = a;
    p->fn_keys[2 * j + 1] = id;
    p->fn_values[j] = p->function_count;
    p->fn_used++;
    *out = p->function_count++;
    *created = 1;
    return 0;
}

static int thread_get(rp_profile *p, uint32_t pid, uint32_t tid, uint32_t *out)
{
    uint32_t last = p->last_thread;
    if (last != RP_NONE && p->threads[last].tid == tid && p->threads[last].pid == pid) {
        *out = last;
        return 0;
    }
    if ((p->th_used + 1) * 4 >= p->th_slots * 3) {
        int rc = map2_rehash(&p->th_keys, &p->th_values, &p->th_slots, p->th_slots ? p->th_slots * 2 : 64);
        if (rc)
            return rc;
    }
    int found;
    uint32_t j = map2_find(p->th_keys, p->th_values, p->th_slots, pid, tid, &found);
    if (found) {
        *out = p->last_thread = p->th_values[j];
        return 0;
    }
    int rc = grow((void **)&p->threads, &p->thread_cap, p->thread_count + 1, sizeof *p->threads);
    if (rc)
        return rc;
    uint32_t root;
    rc = tree_add_node(&p->tree, RP_NONE, RP_NONE, p->thread_count, &root);
    if (rc)
        return rc;
    rp_thread *t = &p->threads[p->thread_count];
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->tid = tid;
    t->root = root;
    p->th_keys[2 * j] = pid;
    p->th_keys[2 * j + 1] = tid;
    p->th_values[j] = p->thread_count;
    p->th_used++;
    *out = p->last_thread = p->thread_count++;
    return 0;
}

static inline void touch(rp_profile *p, rp_thread *t, uint64_t ts)
{
    if (!t->seen) {
        t->first_ns = t->last_ns = ts;
        t->seen = 1;
    } else {
        if (ts < t->first_ns)
            t->first_ns = ts;
        if (ts > t->last_ns)
            t->last_ns = ts;
    }
    if (!p->have_time) {
        p->first_ns = p->last_ns = ts;
        p->have_time = 1;
    } else {
        if (ts < p->first_ns)
            p->first_ns = ts;
        if (ts > p->last_ns)
            p->last_ns = ts;
    }
}

/* ---- the timeline ---- */

static int timeline_flush(rp_profile *p)
{
    if (p->tl_used && fwrite(p->tl_buf, 1, p->tl_used, p->timeline) != p->tl_used)
    {
        int rc = os_error();
        return fail(p, rc, "cannot write the timeline's temporary file: %s", strerror(-rc));
    }
    p->tl_used = 0;
    return 0;
}

static int timeline_put(rp_profile *p, uint32_t thread, uint32_t kind, uint32_t value, uint64_t ts)
{
    if (!p->timeline)
        return 0;
    if (p->tl_used + TIMELINE_ENTRY > TIMELINE_BUFFER) {
        int rc = timeline_flush(p);
        if (rc)
            return rc;
    }
    uint32_t packed = (kind << 30) | value;
    unsigned char *q = p->tl_buf + p->tl_used;
    memcpy(q, &thread, 4);
    memcpy(q + 4, &packed, 4);
    memcpy(q + 8, &ts, 8);
    p->tl_used += TIMELINE_ENTRY;
    p->timeline_records++;
    return 0;
}

int rp_timeline_rewind(rp_profile *p)
{
    if (!p->timeline)
        return fail(p, TLD_E_REPORT_NO_TIMELINE, "this profile was loaded without its timeline");
    int rc = timeline_flush(p);
    if (rc)
        return rc;
    if (fflush(p->timeline) != 0 || fseek(p->timeline, 0, SEEK_SET) != 0)
    {
        int rc = os_error();
        return fail(p, rc, "cannot read back the timeline's temporary file: %s", strerror(-rc));
    }
    return 0;
}

int rp_timeline_next(rp_profile *p, rp_timeline_entry *e)
{
    if (!p->timeline)
        return TLD_E_REPORT_NO_TIMELINE;
    unsigned char q[TIMELINE_ENTRY];
    size_t n = fread(q, 1, sizeof q, p->timeline);
    if (n == 0 && feof(p->timeline))
        return TLD_E_END;
    if (n != sizeof q)
        return fail(p, ferror(p->timeline) ? os_error() : -EIO, "cannot read back the timeline's temporary file");
    uint32_t packed;
    memcpy(&e->thread, q, 4);
    memcpy(&packed, q + 4, 4);
    memcpy(&e->ts_ns, q + 8, 8);
    e->kind = packed >> 30;
    e->value = packed & (INDEX_LIMIT - 1);
    return 0;
}

/* ---- creation ---- */

int rp_profile_new(rp_profile **out, const rp_options *options)
{
    *out = NULL;
    rp_profile *p = calloc(1, sizeof *p);
    if (!p)
        return TLD_E_NO_MEMORY;
    if (options)
        p->options = *options;
    p->last_thread = RP_NONE;
    if (p->options.record_timeline) {
        p->tl_buf = malloc(TIMELINE_BUFFER);
        p->timeline = tmpfile();
        if (!p->tl_buf || !p->timeline) {
            int rc = p->tl_buf ? os_error() : TLD_E_NO_MEMORY;
            rp_profile_free(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

void rp_profile_free(rp_profile *p)
{
    if (!p)
        return;
    for (uint32_t i = 0; i < p->function_count; i++) {
        free(p->functions[i].name);
        free(p->functions[i].file);
    }
    free(p->functions);
    for (uint32_t i = 0; i < p->thread_count; i++) {
        free(p->threads[i].name);
        free(p->threads[i].stack);
    }
    free(p->threads);
    for (uint32_t i = 0; i < p->mark_count; i++)
        free(p->marks[i].text);
    free(p->marks);
    rp_tree_free(&p->tree);
    free(p->fn_keys);
    free(p->fn_values);
    free(p->th_keys);
    free(p->th_values);
    free(p->ranges);
    free(p->sample_scratch);
    if (p->timeline)
        fclose(p->timeline);
    free(p->tl_buf);
    free(p);
}

/* ---- input ---- */

int rp_define_function(rp_profile *p, uint32_t pid, uint64_t id, const char *name, size_t name_len,
                       const char *file, size_t file_len, uint32_t line, uint64_t begin, uint64_t end,
                       int is_python)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    p->events++;
    uint32_t i;
    int created;
    int rc = function_find_or_add(p, pid, id, 0, &i, &created);
    if (rc)
        return rc;
    rp_function *f = &p->functions[i];
    if ((rc = set_names(f, name, name_len, file ? file : "", file ? file_len : 0)))
        return rc;
    f->line = line;
    f->is_python = is_python != 0;
    f->defined = 1;
    int had_range = f->end > f->begin;
    f->begin = begin;
    f->end = end;
    if (end > begin && !had_range) {
        rc = grow((void **)&p->ranges, &p->range_cap, p->range_count + 1, sizeof *p->ranges);
        if (rc)
            return rc;
        p->ranges[p->range_count++] = (rp_range){begin, end, i};
    }
    if (end > begin)
        p->ranges_sorted = 0;
    return 0;
}

int rp_call_enter(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, uint64_t id, uint32_t caller_line)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    p->events++;
    p->calls++;
    uint32_t ti, fi, node;
    int created, rc;
    if ((rc = thread_get(p, pid, tid, &ti)) || (rc = function_find_or_add(p, pid, id, 0, &fi, &created)))
        return rc;
    rp_thread *t = &p->threads[ti];
    touch(p, t, ts);
    t->calls++;
    uint32_t parent = t->depth ? t->stack[t->depth - 1].node : t->root;
    if ((rc = tree_child(&p->tree, parent, fi, ti, &node, &created)))
        return rc;
    if (created)
        p->tree.nodes[node].caller_line = caller_line;
    if (t->depth == t->stack_cap) {
        uint32_t cap = t->stack_cap;
        if ((rc = grow((void **)&t->stack, &cap, t->depth + 1, sizeof *t->stack)))
            return rc;
        t->stack_cap = cap;
    }
    t->stack[t->depth++] = (rp_open_call){node, fi, ts};
    return timeline_put(p, ti, RP_TL_ENTER, fi, ts);
}

/* Ends the thread's innermost open call at `ts`. */
static int close_call(rp_profile *p, uint32_t ti, uint64_t ts)
{
    rp_thread *t = &p->threads[ti];
    rp_open_call c = t->stack[--t->depth];
    rp_node *n = &p->tree.nodes[c.node];
    n->calls++;
    n->time_ns += ts > c.start_ns ? ts - c.start_ns : 0;
    return timeline_put(p, ti, RP_TL_EXIT, c.function, ts);
}

int rp_call_exit(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, uint64_t id)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    p->events++;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (rc)
        return rc;
    rp_thread *t = &p->threads[ti];
    touch(p, t, ts);
    uint32_t level = t->depth;
    while (level > 0) {
        const rp_function *f = &p->functions[t->stack[level - 1].function];
        if (f->id == id && f->pid == pid && !f->is_address)
            break;
        level--;
    }
    if (level == 0) {
        p->unmatched_exits++;
        return 0;
    }
    while (t->depth > level) {
        p->lost_exits++;
        if ((rc = close_call(p, ti, ts)))
            return rc;
    }
    return close_call(p, ti, ts);
}

/* Adds a sample whose path from the thread's root is fns[0..count). */
static int add_sample_path(rp_profile *p, uint32_t ti, uint64_t ts, const uint32_t *fns, size_t count,
                           double weight)
{
    rp_thread *t = &p->threads[ti];
    t->samples++;
    p->samples++;
    p->sample_weight += weight;
    uint32_t node = t->root;
    p->tree.nodes[node].weight += weight;
    for (size_t i = 0; i < count; i++) {
        int rc = tree_child(&p->tree, node, fns[i], ti, &node, NULL);
        if (rc)
            return rc;
        p->tree.nodes[node].weight += weight;
    }
    p->tree.nodes[node].self_weight += weight;
    if (!p->timeline)
        return 0;
    uint64_t bits;
    memcpy(&bits, &weight, sizeof bits);
    int rc = timeline_put(p, ti, RP_TL_SAMPLE, node, ts);
    return rc ? rc : timeline_put(p, ti, RP_TL_WEIGHT, 0, bits);
}

static int scratch(rp_profile *p, size_t count)
{
    if (count >= INDEX_LIMIT)
        return fail(p, TLD_E_REPORT_INVALID, "a sample holds %zu frames, more than a profile takes", count);
    return grow((void **)&p->sample_scratch, &p->sample_scratch_cap, (uint32_t)count + 1,
                sizeof *p->sample_scratch);
}

/* Function `id` at `line`, a function of its own (options.lines): its
 * key is the id with the line above its 32 bits (FunctionIDs are small),
 * its name and file those of `id` when that is defined by then. */
static int function_at_line(rp_profile *p, uint32_t pid, uint64_t id, uint32_t line, uint32_t *out)
{
    int created;
    if (line == 0 || id > UINT32_MAX)
        return function_find_or_add(p, pid, id, 0, out, &created);
    uint32_t base;
    int rc = function_find_or_add(p, pid, id, 0, &base, &created);
    if (rc || (rc = function_find_or_add(p, pid, id | (uint64_t)line << 32, 0, out, &created)) || !created)
        return rc;
    const rp_function *b = &p->functions[base];
    rp_function *f = &p->functions[*out];
    if ((rc = set_names(f, b->name, strlen(b->name), b->file, strlen(b->file))))
        return rc;
    f->line = line;
    f->is_python = b->is_python;
    f->defined = b->defined;
    return 0;
}

int rp_sample_function_lines(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, const uint64_t *ids,
                             const uint32_t *lines, size_t count, double weight)
{
    if (!p->options.lines)
        lines = NULL;
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    if (!(weight >= 0))
        return fail(p, TLD_E_REPORT_INVALID, "a sample's weight must be a number of at least 0");
    p->events++;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (rc || (rc = scratch(p, count)))
        return rc;
    touch(p, &p->threads[ti], ts);
    for (size_t i = 0; i < count; i++)
        if ((rc = function_at_line(p, pid, ids[i], lines ? lines[i] : 0, &p->sample_scratch[i])))
            return rc;
    return add_sample_path(p, ti, ts, p->sample_scratch, count, weight);
}

int rp_sample_functions(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, const uint64_t *ids, size_t count,
                        double weight)
{
    return rp_sample_function_lines(p, pid, tid, ts, ids, NULL, count, weight);
}

static int range_compare(const void *a, const void *b)
{
    uint64_t x = ((const rp_range *)a)->begin, y = ((const rp_range *)b)->begin;
    return x < y ? -1 : x > y;
}

/* The function whose address range holds `addr`, or RP_NONE. */
static uint32_t function_at(rp_profile *p, uint64_t addr)
{
    if (!p->ranges_sorted) {
        for (uint32_t i = 0; i < p->range_count; i++) {   /* a redefinition may have moved a range */
            const rp_function *f = &p->functions[p->ranges[i].function];
            p->ranges[i].begin = f->begin;
            p->ranges[i].end = f->end;
        }
        if (p->range_count > 1)
            qsort(p->ranges, p->range_count, sizeof *p->ranges, range_compare);
        p->ranges_sorted = 1;
    }
    uint32_t lo = 0, hi = p->range_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->ranges[mid].begin <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && addr < p->ranges[lo - 1].end ? p->ranges[lo - 1].function : RP_NONE;
}

int rp_sample_addresses(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, const uint64_t *addresses,
                        size_t count, double weight)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    if (!(weight >= 0))
        return fail(p, TLD_E_REPORT_INVALID, "a sample's weight must be a number of at least 0");
    p->events++;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (rc || (rc = scratch(p, count)))
        return rc;
    touch(p, &p->threads[ti], ts);
    size_t n = 0;
    for (size_t i = count; i-- > 0;) {     /* innermost first in, root first out */
        uint32_t fi = function_at(p, addresses[i]);
        if (fi == RP_NONE) {
            if (p->options.python_only)
                continue;
            int created;
            if ((rc = function_find_or_add(p, pid, addresses[i], 1, &fi, &created)))
                return rc;
        }
        p->sample_scratch[n++] = fi;
    }
    return add_sample_path(p, ti, ts, p->sample_scratch, n, weight);
}

int rp_mark_add(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts, int kind, const char *text, size_t len)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    p->events++;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (rc || (rc = grow((void **)&p->marks, &p->mark_cap, p->mark_count + 1, sizeof *p->marks)))
        return rc;
    touch(p, &p->threads[ti], ts);
    char *c = copy_string(text, len);
    if (!c)
        return TLD_E_NO_MEMORY;
    p->marks[p->mark_count++] = (rp_mark){ti, kind, ts, c};
    return 0;
}

int rp_thread_named(rp_profile *p, uint32_t pid, uint32_t tid, const char *name, size_t len)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (rc)
        return rc;
    char *c = copy_string(name, len);
    if (!c)
        return TLD_E_NO_MEMORY;
    free(p->threads[ti].name);
    p->threads[ti].name = c;
    return 0;
}

static int thread_event(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts)
{
    if (p->finished)
        return TLD_E_REPORT_FINISHED;
    p->events++;
    uint32_t ti;
    int rc = thread_get(p, pid, tid, &ti);
    if (!rc)
        touch(p, &p->threads[ti], ts);
    return rc;
}

int rp_thread_started(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts)
{
    return thread_event(p, pid, tid, ts);
}

int rp_thread_stopped(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts)
{
    return thread_event(p, pid, tid, ts);
}

void rp_note_damage(rp_profile *p, const char *sentence)
{
    if (p->damage_count++ == 0)
        snprintf(p->damage, sizeof p->damage, "%s", sentence);
}

/* Sets each node's self values from its inclusive ones, and each root's
 * time to its children's total. Index order: children after parents. */
static void compute_self(rp_tree *t)
{
    for (uint32_t i = 0; i < t->count; i++) {
        rp_node *n = &t->nodes[i];
        if (n->function == RP_NONE)
            n->time_ns = 0;
        n->self_ns = n->time_ns;
    }
    for (uint32_t i = 0; i < t->count; i++) {
        rp_node *n = &t->nodes[i];
        if (n->parent == RP_NONE)
            continue;
        rp_node *parent = &t->nodes[n->parent];
        if (parent->function == RP_NONE)
            parent->time_ns += n->time_ns;
        else
            parent->self_ns = parent->self_ns > n->time_ns ? parent->self_ns - n->time_ns : 0;
    }
}

int rp_profile_finish(rp_profile *p)
{
    if (p->finished)
        return 0;
    for (uint32_t ti = 0; ti < p->thread_count; ti++) {
        rp_thread *t = &p->threads[ti];
        while (t->depth) {
            p->closed_at_end++;
            int rc = close_call(p, ti, t->last_ns);
            if (rc)
                return rc;
        }
    }
    compute_self(&p->tree);
    p->finished = 1;
    return p->timeline ? timeline_flush(p) : 0;
}

const char *rp_profile_message(const rp_profile *p)
{
    return p->message;
}

/* ---- reading ---- */

int rp_profile_has_calls(const rp_profile *p)
{
    return p->calls > 0;
}

const char *rp_thread_display_name(const rp_profile *p, uint32_t thread, char *buf, size_t size)
{
    const rp_thread *t = &p->threads[thread];
    if (t->name)
        snprintf(buf, size, "%s", t->name);
    else if (t->tid == t->pid)
        snprintf(buf, size, "main");
    else
        snprintf(buf, size, "thread %u", t->tid);
    return buf;
}

int rp_tree_build_view(const rp_profile *p, uint32_t thread, rp_tree *out)
{
    return rp_tree_build_view_hiding(p, thread, NULL, out);
}

uint32_t rp_mark_import_machinery(const rp_profile *p, uint8_t *hidden)
{
    static const char prefix[] = "<frozen importlib._bootstrap";
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->function_count; i++) {
        hidden[i] = strncmp(p->functions[i].file, prefix, sizeof prefix - 1) == 0;
        n += hidden[i];
    }
    return n;
}

int rp_tree_build_view_hiding(const rp_profile *p, uint32_t thread, const uint8_t *hidden, rp_tree *out)
{
    memset(out, 0, sizeof *out);
    uint32_t root;
    int rc = tree_add_node(out, RP_NONE, RP_NONE, thread, &root);
    uint32_t *map = malloc(((size_t)p->tree.count + 1) * sizeof *map);
    if (rc || !map) {
        free(map);
        rp_tree_free(out);
        return TLD_E_NO_MEMORY;
    }
    for (uint32_t i = 0; i < p->tree.count; i++) {
        const rp_node *n = &p->tree.nodes[i];
        if (thread != RP_NONE && n->thread != thread) {
            map[i] = RP_NONE;
            continue;
        }
        rp_node *v;
        if (n->parent == RP_NONE) {
            map[i] = 0;
            v = &out->nodes[0];
        } else if (hidden && hidden[n->function]) {
            /* Left out: its children hang from the shown ancestor, its
             * own samples are that ancestor's self. */
            map[i] = map[n->parent];
            out->nodes[map[i]].self_weight += n->self_weight;
            continue;
        } else {
            int created;
            rc = tree_child(out, map[n->parent], n->function, thread, &map[i], &created);
            if (rc) {
                free(map);
                rp_tree_free(out);
                return rc;
            }
            v = &out->nodes[map[i]];
            if (created)
                v->caller_line = n->caller_line;
            v->calls += n->calls;
            v->time_ns += n->time_ns;
        }
        v->weight += n->weight;
        v->self_weight += n->self_weight;
    }
    free(map);
    compute_self(out);
    return 0;
}

double rp_node_value(const rp_profile *p, const rp_node *n)
{
    return rp_profile_has_calls(p) ? (double)n->time_ns : n->weight;
}

double rp_node_self_value(const rp_profile *p, const rp_node *n)
{
    return rp_profile_has_calls(p) ? (double)n->self_ns : n->self_weight;
}

int rp_function_totals(const rp_profile *p, const rp_tree *view, rp_function_total *out)
{
    memset(out, 0, (size_t)p->function_count * sizeof *out);
    uint32_t *on_path = calloc((size_t)p->function_count + 1, sizeof *on_path);
    if (!on_path)
        return TLD_E_NO_MEMORY;
    /* Depth-first over the child lists without a stack: down to the first
     * child, else across to the next sibling, else up until one has one. */
    const rp_node *nodes = view->nodes;
    uint32_t n = view->count ? nodes[0].first_child : RP_NONE;
    while (n != RP_NONE) {
        const rp_node *v = &nodes[n];
        rp_function_total *f = &out[v->function];
        f->present = 1;
        f->self += rp_node_self_value(p, v);
        f->calls += v->calls;
        if (on_path[v->function]++ == 0)
            f->inclusive += rp_node_value(p, v);
        if (v->first_child != RP_NONE) {
            n = v->first_child;
            continue;
        }
        while (n != 0) {
            on_path[nodes[n].function]--;
            if (nodes[n].next_sibling != RP_NONE) {
                n = nodes[n].next_sibling;
                break;
            }
            n = nodes[n].parent;
        }
        if (n == 0)
            break;
    }
    free(on_path);
    return 0;
}
