/*
 * etl_summary.c — the one-pass counts of etl_summary.h.
 *
 * Each record's key (its kind, then the provider and event names, or the
 * provider id and event id, or the kernel hook: slices of the record),
 * compared first with the previous record's key (records come in runs),
 * else looked up in an open-addressing hash table of keys seen; the
 * display names are made once per key, when the key is first seen.
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
    uint8_t kind;       /* the key: the record's kind, whether it has TraceLogging names, */
    uint8_t tl;
    uint32_t alen, blen; /* and two byte strings (names, or id bytes), stored in `key` */
    char *key;          /* a bytes, b bytes, then the display names (provider, event) */
    etl_summary_row row;
} entry;

/* A record's key, pointing into the record. */
typedef struct key_parts {
    uint8_t kind, tl;
    const uint8_t *a, *b;
    size_t alen, blen;
} key_parts;

struct etl_summary {
    entry *entries;     /* rows in first-seen order */
    size_t count, cap;
    int32_t *table;     /* index into entries, -1 empty; size a power of two */
    size_t table_size;
    int32_t last;       /* the entry of the last record counted, -1 before the first */
    uint64_t kinds[5];
    uint64_t first_time, last_time;
};

int etl_summary_new(etl_summary **out)
{
    etl_summary *s = calloc(1, sizeof *s);
    if (s) {
        s->last = -1;
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

/* A hash of bytes, eight at a time, continuing from h. */
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n)
{
    h ^= n * 0x9E3779B97F4A7C15ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 31;
    }
    uint64_t w = 0;
    for (size_t k = 0; i + k < n; k++)
        w |= (uint64_t)p[i + k] << (8 * k);
    h = (h ^ w) * 0x94D049BB133111EBull;
    return h ^ (h >> 29);
}

static uint64_t key_hash(const key_parts *k)
{
    return hash_bytes(hash_bytes((uint64_t)k->kind << 8 | k->tl, k->a, k->alen), k->b, k->blen);
}

static int key_equal(const entry *e, const key_parts *k)
{
    return e->kind == k->kind && e->tl == k->tl && e->alen == k->alen && e->blen == k->blen &&
           memcmp(e->key, k->a, k->alen) == 0 && (k->blen == 0 || memcmp(e->key + k->alen, k->b, k->blen) == 0);
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
    size_t klen = (size_t)e->alen + e->blen;
    char *k = realloc(e->key, klen + pl + ql + 2);
    if (!k)
        return TLD_E_NO_MEMORY;
    e->key = k;
    char *names = k + klen;
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
    key_parts k;
    tl_event_names nm;
    memset(&nm, 0, sizeof nm);
    int is_tl = 0;
    k.kind = (uint8_t)ev->kind;
    if (ev->kind == ETL_KIND_SYSTEM) {
        k.a = (const uint8_t *)&ev->hook_id;
        k.alen = sizeof ev->hook_id;
        k.b = NULL;
        k.blen = 0;
    } else {
        is_tl = ev->event_schema && tl_event_get_names(ev, &nm) != TLD_E_INVALID_ARG;
        if (is_tl && nm.provider) {
            k.a = nm.provider;
            k.alen = nm.provider_len < KEY_MAX ? nm.provider_len : KEY_MAX;
        } else {
            k.a = ev->provider_id.bytes_le;
            k.alen = 16;
        }
        if (is_tl && nm.event) {
            k.b = nm.event;
            k.blen = nm.event_len < KEY_MAX ? nm.event_len : KEY_MAX;
        } else if (ev->kind == ETL_KIND_CLASSIC) {
            k.b = &ev->descriptor.opcode;
            k.blen = 1;
        } else {
            k.b = (const uint8_t *)&ev->descriptor.id;
            k.blen = sizeof ev->descriptor.id;
        }
    }
    /* TraceLogging names never equal id keys; a name found for one part only. */
    k.tl = (uint8_t)((is_tl && nm.provider ? 1 : 0) | (is_tl && nm.event ? 2 : 0));
    if (ev->kind >= 1 && ev->kind <= 4)
        s->kinds[ev->kind]++;
    if (ev->filetime) {
        if (!s->first_time || ev->filetime < s->first_time)
            s->first_time = ev->filetime;
        if (ev->filetime > s->last_time)
            s->last_time = ev->filetime;
    }
    /* Records often come in runs of one kind: try the last key first. */
    if (s->last >= 0 && key_equal(&s->entries[s->last], &k)) {
        s->entries[s->last].row.count++;
        return 0;
    }
    uint64_t h = key_hash(&k);
    size_t mask = s->table_size - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        int32_t e = s->table[i];
        if (e < 0)
            break;
        entry *en = &s->entries[e];
        if (en->hash == h && key_equal(en, &k)) {
            en->row.count++;
            s->last = e;
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
    e->key = malloc(k.alen + k.blen + 1);
    if (!e->key)
        return TLD_E_NO_MEMORY;
    memcpy(e->key, k.a, k.alen);
    if (k.blen)
        memcpy(e->key + k.alen, k.b, k.blen);
    e->kind = k.kind;
    e->tl = k.tl;
    e->alen = (uint32_t)k.alen;
    e->blen = (uint32_t)k.blen;
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
    s->last = (int32_t)s->count;
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
    return s->first_time;
}

uint64_t etl_summary_last_time(const etl_summary *s)
{
    return s->last_time;
}
