/*
 * etl_summary.c — the one-pass counts of etl_summary.h.
 *
 * Each record becomes a short binary key (its kind, then the provider and
 * event names, or the provider id and event id, or the kernel hook) that
 * is looked up in an open-addressing hash table of keys seen; the display
 * names are made once per key, when the key is first seen.
 */
#include "etl_summary.h"

#include "etl_kernel.h"
#include "tl_decoder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX 512u    /* longer names are counted by their first bytes */

typedef struct entry {
    uint64_t hash;
    char *key;          /* key bytes, then the display names (provider, event) */
    uint32_t key_len;
    etl_summary_row row;
} entry;

struct etl_summary {
    entry *entries;     /* rows in first-seen order */
    size_t count, cap;
    int32_t *table;     /* index into entries, -1 empty; size a power of two */
    size_t table_size;
    uint64_t kinds[5];
    uint64_t first, last;
};

int etl_summary_new(etl_summary **out)
{
    etl_summary *s = calloc(1, sizeof *s);
    if (s) {
        s->table_size = 256;
        s->table = malloc(s->table_size * sizeof *s->table);
        if (!s->table) {
            free(s);
            s = NULL;
        } else {
            for (size_t i = 0; i < s->table_size; i++)
                s->table[i] = -1;
        }
    }
    *out = s;
    return s ? 0 : TLD_E_NO_MEMORY;
}

void etl_summary_free(etl_summary *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++)
        free(s->entries[i].key);
    free(s->entries);
    free(s->table);
    free(s);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static int grow_table(etl_summary *s)
{
    size_t size = s->table_size * 2;
    int32_t *t = malloc(size * sizeof *t);
    if (!t)
        return TLD_E_NO_MEMORY;
    for (size_t i = 0; i < size; i++)
        t[i] = -1;
    for (size_t e = 0; e < s->count; e++) {
        size_t i = (size_t)s->entries[e].hash & (size - 1);
        while (t[i] >= 0)
            i = (i + 1) & (size - 1);
        t[i] = (int32_t)e;
    }
    free(s->table);
    s->table = t;
    s->table_size = size;
    return 0;
}

/* Appends bytes to a key being built (truncating at KEY_MAX). */
static void put(uint8_t *k, size_t *n, const void *p, size_t len)
{
    if (len > KEY_MAX - *n)
        len = KEY_MAX - *n;
    memcpy(k + *n, p, len);
    *n += len;
}

static void guid_text(char *out, size_t cap, const uint8_t *g)
{
    snprintf(out, cap, "{%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x}", g[3], g[2], g[1],
             g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10], g[11], g[12], g[13], g[14], g[15]);
}

/* Makes the display names of a new key. */
static int make_names(entry *e, const etl_event *ev, const tl_event_names *nm, int is_tl)
{
    char prov[64], evname[64];
    const char *p, *q;
    size_t pl, ql;
    if (ev->kind == ETL_KIND_SYSTEM) {
        p = "MSNT_SystemTrace";
        pl = strlen(p);
        etl_kernel_event_name(ev->hook_id, evname, sizeof evname);
        q = evname;
        ql = strlen(q);
    } else {
        if (is_tl && nm->provider) {
            p = (const char *)nm->provider;
            pl = nm->provider_len;
        } else {
            guid_text(prov, sizeof prov, ev->provider_id.bytes_le);
            p = prov;
            pl = strlen(p);
        }
        if (is_tl && nm->event) {
            q = (const char *)nm->event;
            ql = nm->event_len;
        } else {
            snprintf(evname, sizeof evname, ev->kind == ETL_KIND_CLASSIC ? "opcode %u" : "id %u",
                     ev->kind == ETL_KIND_CLASSIC ? ev->descriptor.opcode : ev->descriptor.id);
            q = evname;
            ql = strlen(q);
        }
    }
    if (pl > KEY_MAX)
        pl = KEY_MAX;
    if (ql > KEY_MAX)
        ql = KEY_MAX;
    char *k = realloc(e->key, e->key_len + pl + ql + 2);
    if (!k)
        return TLD_E_NO_MEMORY;
    e->key = k;
    char *names = k + e->key_len;
    memcpy(names, p, pl);
    names[pl] = '\0';
    memcpy(names + pl + 1, q, ql);
    names[pl + 1 + ql] = '\0';
    e->row.provider = names;
    e->row.provider_len = pl;
    e->row.event = names + pl + 1;
    e->row.event_len = ql;
    e->row.kind = ev->kind;
    return 0;
}

int etl_summary_add(etl_summary *s, const etl_event *ev)
{
    uint8_t k[KEY_MAX + 64];
    size_t n = 0;
    uint8_t kind = (uint8_t)ev->kind;
    tl_event_names nm;
    memset(&nm, 0, sizeof nm);
    int is_tl = 0;
    put(k, &n, &kind, 1);
    if (ev->kind == ETL_KIND_SYSTEM) {
        put(k, &n, &ev->hook_id, sizeof ev->hook_id);
    } else {
        is_tl = ev->event_schema && tl_event_get_names(ev, &nm) != TLD_E_INVALID_ARG;
        uint8_t sep = 0;
        if (is_tl && nm.provider)
            put(k, &n, nm.provider, nm.provider_len);
        else
            put(k, &n, ev->provider_id.bytes_le, 16);
        k[n++] = sep;
        if (is_tl && nm.event)
            put(k, &n, nm.event, nm.event_len);
        else if (ev->kind == ETL_KIND_CLASSIC)
            put(k, &n, &ev->descriptor.opcode, 1);
        else
            put(k, &n, &ev->descriptor.id, sizeof ev->descriptor.id);
        k[n++] = (uint8_t)(is_tl ? 1 : 0); /* TraceLogging names never equal id keys */
    }
    if (ev->kind >= 1 && ev->kind <= 4)
        s->kinds[ev->kind]++;
    if (ev->filetime) {
        if (!s->first || ev->filetime < s->first)
            s->first = ev->filetime;
        if (ev->filetime > s->last)
            s->last = ev->filetime;
    }
    uint64_t h = fnv1a(k, n);
    size_t mask = s->table_size - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t e = s->table[i];
        if (e < 0)
            break;
        entry *en = &s->entries[e];
        if (en->hash == h && en->key_len == n && memcmp(en->key, k, n) == 0) {
            en->row.count++;
            return 0;
        }
    }
    /* A new key. */
    if ((s->count + 1) * 2 > s->table_size && grow_table(s) < 0)
        return TLD_E_NO_MEMORY;
    if (s->count == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 32;
        entry *ne = realloc(s->entries, c * sizeof *ne);
        if (!ne)
            return TLD_E_NO_MEMORY;
        s->entries = ne;
        s->cap = c;
    }
    entry *e = &s->entries[s->count];
    memset(e, 0, sizeof *e);
    e->key = malloc(n);
    if (!e->key)
        return TLD_E_NO_MEMORY;
    memcpy(e->key, k, n);
    e->key_len = (uint32_t)n;
    e->hash = h;
    if (make_names(e, ev, &nm, is_tl) < 0) {
        free(e->key);
        return TLD_E_NO_MEMORY;
    }
    e->row.count = 1;
    mask = s->table_size - 1;
    size_t i = (size_t)h & mask;
    while (s->table[i] >= 0)
        i = (i + 1) & mask;
    s->table[i] = (int32_t)s->count++;
    return 0;
}

size_t etl_summary_rows(const etl_summary *s)
{
    return s->count;
}

const etl_summary_row *etl_summary_row_at(etl_summary *s, size_t i)
{
    return i < s->count ? &s->entries[i].row : NULL;
}

uint64_t etl_summary_count(const etl_summary *s, int kind)
{
    return kind >= 1 && kind <= 4 ? s->kinds[kind] : 0;
}

uint64_t etl_summary_first_time(const etl_summary *s)
{
    return s->first;
}

uint64_t etl_summary_last_time(const etl_summary *s)
{
    return s->last;
}
