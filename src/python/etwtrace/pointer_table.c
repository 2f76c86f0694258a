/*
 * pointer_table.c — pointer_table.h: linear probing, grown to twice the
 * size whenever it is half full, so lookups stay short.
 */
#include "pointer_table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static size_t slot_of(const void *key, size_t cap)
{
    /* Addresses are aligned and clustered: mix the bits before masking. */
    uintptr_t h = (uintptr_t)key;
    h ^= h >> 17;
    h *= 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static const void *key_at(const unsigned char *slots, size_t entry_size, size_t i)
{
    const void *key;
    memcpy(&key, slots + i * entry_size, sizeof key);
    return key;
}

static int grow(pointer_table *t)
{
    size_t cap = t->cap ? t->cap * 2 : t->first_cap;
    unsigned char *slots = calloc(cap, t->entry_size);
    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < t->cap; i++) {
        const void *key = key_at(t->slots, t->entry_size, i);
        if (key == NULL)
            continue;
        size_t j = slot_of(key, cap);
        while (key_at(slots, t->entry_size, j) != NULL)
            j = (j + 1) & (cap - 1);
        memcpy(slots + j * t->entry_size, t->slots + i * t->entry_size, t->entry_size);
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return 0;
}

void *pointer_table_get(pointer_table *t, const void *key, int *created)
{
    if (created != NULL)
        *created = 0;
    if (t->used * 2 >= t->cap && grow(t) < 0)
        return NULL;
    size_t j = slot_of(key, t->cap);
    const void *found;
    while ((found = key_at(t->slots, t->entry_size, j)) != NULL && found != key)
        j = (j + 1) & (t->cap - 1);
    unsigned char *entry = t->slots + j * t->entry_size;
    if (found == NULL) {
        memcpy(entry, &key, sizeof key);
        t->used++;
        if (created != NULL)
            *created = 1;
    }
    return entry;
}

void *pointer_table_slot(const pointer_table *t, size_t i)
{
    return key_at(t->slots, t->entry_size, i) != NULL ? t->slots + i * t->entry_size : NULL;
}
