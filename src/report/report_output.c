/*
 * report_output.c — the buffered output and shared labels of report_output.h.
 */
#include "report_output.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

int rp_output_file_write(void *ctx, const char *data, size_t len)
{
    if (fwrite(data, 1, len, (FILE *)ctx) == len)
        return 0;
    return errno > 0 ? -errno : -EIO;
}

void rp_out_init(rp_out *o, const rp_output *dest)
{
    o->dest = dest;
    o->error = 0;
    o->used = 0;
}

static void flush(rp_out *o)
{
    if (o->used && !o->error)
        o->error = o->dest->write(o->dest->ctx, o->buf, o->used);
    o->used = 0;
}

void rp_out_write(rp_out *o, const char *data, size_t len)
{
    if (o->error)
        return;
    if (len > sizeof o->buf - o->used) {
        flush(o);
        if (len > sizeof o->buf) {
            if (!o->error)
                o->error = o->dest->write(o->dest->ctx, data, len);
            return;
        }
    }
    memcpy(o->buf + o->used, data, len);
    o->used += len;
}

void rp_out_str(rp_out *o, const char *s)
{
    rp_out_write(o, s, strlen(s));
}

void rp_out_printf(rp_out *o, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    rp_out_write(o, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_valid(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (!len || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90)))
        return 0;
    return len;
}

static void json_string(rp_out *o, const char *s, size_t len, int html)
{
    const unsigned char *p = (const unsigned char *)s;
    rp_out_write(o, "\"", 1);
    size_t run = 0;                     /* bytes copied as they are, pending */
    for (size_t i = 0; i < len;) {
        unsigned char c = p[i];
        size_t n = 1;
        const char *esc = NULL;
        char tmp[8];
        if (c >= 0x80) {
            n = utf8_valid(p + i, len - i);
            if (!n) {
                esc = "\xEF\xBF\xBD";
                n = 1;
            }
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c < 0x20 || (html && (c == '<' || c == '>' || c == '&'))) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        }
        if (esc) {
            rp_out_write(o, (const char *)p + i - run, run);
            run = 0;
            rp_out_str(o, esc);
        } else {
            run += n;
        }
        i += n;
    }
    rp_out_write(o, (const char *)p + len - run, run);
    rp_out_write(o, "\"", 1);
}

void rp_out_json_string(rp_out *o, const char *s, size_t len)
{
    json_string(o, s, len, 0);
}

void rp_out_json_string_html(rp_out *o, const char *s, size_t len)
{
    json_string(o, s, len, 1);
}

void rp_out_number(rp_out *o, double v, int decimals)
{
    if (!isfinite(v))
        v = 0;
    if (v == floor(v) && fabs(v) < 9e15)
        rp_out_printf(o, "%.0f", v);
    else {
        char tmp[64];
        int n = snprintf(tmp, sizeof tmp, "%.*f", decimals, v);
        while (n > 1 && tmp[n - 1] == '0')     /* 1.500 -> 1.5 */
            n--;
        if (n > 1 && tmp[n - 1] == '.')
            n--;
        rp_out_write(o, tmp, (size_t)n);
    }
}

int rp_out_finish(rp_out *o)
{
    flush(o);
    return o->error;
}

const char *rp_short_path(const char *path)
{
    static const char *const markers[] = {"/site-packages/", "/dist-packages/"};
    const char *best = NULL;
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        const char *m = strstr(path, markers[i]);
        if (m && (!best || m > best))
            best = m + strlen(markers[i]);
    }
    if (best)
        return best;
    const char *lib = strstr(path, "/lib/python");
    if (lib) {
        const char *slash = strchr(lib + strlen("/lib/python"), '/');
        if (slash)
            return slash + 1;
    }
    return path;
}

const char *rp_function_label(const rp_function *f, int semicolons, char *buf, size_t size)
{
    if (f->is_address || !f->file[0])
        snprintf(buf, size, "%s", f->name);
    else if (f->is_python)
        snprintf(buf, size, "%s (%s:%u)", f->name, rp_short_path(f->file), f->line);
    else
        snprintf(buf, size, "%s (%s)", f->name, f->file);
    if (semicolons)
        for (char *c = buf; *c; c++)
            if (*c == ';')
                *c = ':';
    return buf;
}

void rp_format_duration(double ns, char *buf, size_t size)
{
    if (ns >= 1e9)
        snprintf(buf, size, "%.3f s", ns / 1e9);
    else if (ns >= 1e6)
        snprintf(buf, size, "%.3f ms", ns / 1e6);
    else if (ns >= 1e3)
        snprintf(buf, size, "%.1f us", ns / 1e3);
    else
        snprintf(buf, size, "%.0f ns", ns);
}
