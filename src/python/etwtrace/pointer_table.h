/*
 * pointer_table.h — an open-addressing hash table keyed by addresses, for
 * the registry's entries that cannot live in a code object's co_extra
 * (builtins, static code objects). Entries are the caller's struct, of a
 * fixed size, whose first member is the `const void *` key; a NULL key is
 * an empty slot. Entries move when the table grows: hold keys, not
 * pointers to entries, across a lookup. Not thread-safe (the GIL guards
 * the registry).
 */
#ifndef ETW_POINTER_TABLE_H
#define ETW_POINTER_TABLE_H

#include <stddef.h>

typedef struct pointer_table {
    unsigned char *slots;
    size_t entry_size;   /* bytes per entry, the key first */
    size_t cap, used;    /* cap is 0 or a power of two */
    size_t first_cap;    /* size of the first allocation */
} pointer_table;

#define POINTER_TABLE_INIT(entry_type, first) { NULL, sizeof(entry_type), 0, 0, (first) }

/* The entry of `key` (not NULL). A new entry is zeroed but for its key and
 * sets *created to 1 (`created` may be NULL). NULL when the table could
 * not grow. */
void *pointer_table_get(pointer_table *t, const void *key, int *created);

/* The i-th slot (0 <= i < t->cap), or NULL when it is empty: for walking
 * every entry. */
void *pointer_table_slot(const pointer_table *t, size_t i);

#endif
