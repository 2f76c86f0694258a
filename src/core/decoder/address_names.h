/*
 * address_names.h — names for code addresses met in a trace, learnt as the
 * trace streams by: Python functions from etwtrace's PythonFunction events
 * (the address range of each function's native thunk) and modules from
 * kernel Image events (base, size, file name). The decoder uses it to
 * print stacks as "0x7f12... fib (x.py:3)" and "0x7ff6... ntdll.dll+0x1c2f".
 *
 * Per process: ranges of one process never name addresses of another.
 * Images at kernel addresses are filed system-wide (process 0), as the
 * kernel maps them into every process. Only what was learnt before an
 * address is looked up can name it: the events that define ranges precede
 * the stacks that use them in a trace.
 *
 * Memory is bounded: at most TL_NAMES_MAX_FUNCTIONS functions and
 * TL_NAMES_MAX_IMAGES images, TL_NAMES_MAX_STRING_BYTES of names; beyond
 * that new ranges are counted in `dropped` and not kept.
 */
#ifndef TLD_ADDRESS_NAMES_H
#define TLD_ADDRESS_NAMES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TL_NAMES_MAX_FUNCTIONS (1u << 20)
#define TL_NAMES_MAX_IMAGES (1u << 18)
#define TL_NAMES_MAX_STRING_BYTES (64u * 1024u * 1024u)

typedef struct tl_address_names tl_address_names;

/* What an address is inside of. Strings are UTF-16LE (not NUL-terminated),
 * valid until the next change of the table. */
typedef struct tl_address_name {
    int is_function;            /* 1: a Python function; 0: a module image */
    uint64_t begin;             /* start of the range */
    const uint8_t *name;        /* function qualified name, or the image file's base name */
    size_t name_bytes;
    const uint8_t *file;        /* functions: source file's base name */
    size_t file_bytes;
    int32_t line;               /* functions: first line */
} tl_address_name;

/* Returns 0 or TLD_E_NO_MEMORY. */
int tl_names_new(tl_address_names **out);
void tl_names_free(tl_address_names *n);

/* Python function [begin, end) of process `pid` (names UTF-16LE; the
 * source file is kept by its base name). A range starting where one of
 * the same process starts replaces it. Empty ranges are ignored. Returns 0
 * or TLD_E_NO_MEMORY. */
int tl_names_add_function(tl_address_names *n, uint32_t pid, uint64_t begin, uint64_t end, const uint8_t *name,
                          size_t name_bytes, const uint8_t *file, size_t file_bytes, int32_t line);

/* Module image [base, base + size) of `pid` (its file path, UTF-16LE: the
 * base name after the last '\' or '/' is kept). Returns 0 or TLD_E_NO_MEMORY. */
int tl_names_add_image(tl_address_names *n, uint32_t pid, uint64_t base, uint64_t size, const uint8_t *path,
                       size_t path_bytes, uint32_t pointer_size);

/* The image of `pid` at `base` was unloaded. */
void tl_names_remove_image(tl_address_names *n, uint32_t pid, uint64_t base, uint32_t pointer_size);

/* Finds what `addr` of process `pid` is inside: a Python function first,
 * else an image. Returns 0 with *out filled, or TLD_E_END when nothing
 * known contains it. */
int tl_names_lookup(tl_address_names *n, uint32_t pid, uint64_t addr, uint32_t pointer_size, tl_address_name *out);

/* Ranges not kept because a bound was reached. */
uint64_t tl_names_dropped(const tl_address_names *n);

#ifdef __cplusplus
}
#endif

#endif
