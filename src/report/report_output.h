/*
 * report_output.h — where report writers send their bytes (a callback, so
 * a file, a Python object or a test buffer all work), with a 64 KiB
 * buffer, formatted numbers, JSON strings, and the labels every format
 * shares for a function ("name (file:line)").
 */
#ifndef TLD_REPORT_OUTPUT_H
#define TLD_REPORT_OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "profile.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The destination: write() returns 0 or a negative code (-errno for a file). */
typedef struct rp_output {
    int (*write)(void *ctx, const char *data, size_t len);
    void *ctx;
} rp_output;

/* rp_output for a stdio stream. */
int rp_output_file_write(void *ctx, const char *data, size_t len);

typedef struct rp_out {
    const rp_output *dest;
    int error;                  /* the first failure; later writes are dropped */
    size_t used;
    char buf[65536];
} rp_out;

void rp_out_init(rp_out *o, const rp_output *dest);
void rp_out_write(rp_out *o, const char *data, size_t len);
void rp_out_str(rp_out *o, const char *s);
void rp_out_printf(rp_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string (quotes included); invalid UTF-8 bytes become U+FFFD. */
void rp_out_json_string(rp_out *o, const char *s, size_t len);
/* HTML-safe JSON string: also escapes '<', '>' and '&' (for <script> blocks). */
void rp_out_json_string_html(rp_out *o, const char *s, size_t len);
/* A number for JSON: integers exactly, others with up to `decimals` places. */
void rp_out_number(rp_out *o, double v, int decimals);
/* Flushes; returns 0 or the first error. */
int rp_out_finish(rp_out *o);

/* A short form of a source path for labels: the part after site-packages/,
 * dist-packages/ or lib/pythonX.Y/ when present, else the path. */
const char *rp_short_path(const char *path);

/* "name (file:line)" for Python code, "name (module)" for builtins, the
 * bare name for native addresses, into buf. `semicolons` replaced by ':'
 * when set (folded stacks). Returns buf. */
const char *rp_function_label(const rp_function *f, int semicolons, char *buf, size_t size);

/* A duration in ns with a unit chosen for its size ("1.234 s", "12.3 ms", "45 us"). */
void rp_format_duration(double ns, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif
