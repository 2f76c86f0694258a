/*
 * etl_reader.c — the .etl walker declared in etl_reader.h.
 *
 * Shape of the walk:
 *
 *     file:    | buffer 0 | buffer 1 | buffer 2 (compressed, shorter) | ... |
 *              each buffer header says how many bytes the buffer occupies
 *     buffer:  | 0x48 header | record | record | ... | 0xFF filler |
 *                             ^0x48                 ^Offset@0x30 (expanded, for compressed buffers)
 *     record:  kind decided by the u16 at offset 2 (0xC0 flags + header type,
 *              or 0x9x for a WPP message), size at offset 0 or (system
 *              headers) 4, next record at the size rounded up to 8.
 *
 * Two phases. The scan enters every buffer in file order: reads its header
 * (a small read), decides where it ends and where the next one starts,
 * finds its first record in a prefix (a few KiB read, or decompressed) and
 * pushes a 32-byte cursor on a min-heap. The merge then hands out the
 * heap's top record, loading its buffer into the pool when it is not there
 * (pread, or pread + decompress), and moves that cursor on:
 *
 *     scan:  header ─► end of records ─► prefix ─► first record ─► cursor ─► heap
 *     merge: heap top ─► pool (LRU: buffer index -> slot) ─► record ─► advance, sift
 *
 * Damage policy: when a record's framing is wrong (bad type, size too small,
 * size past the end of records) nothing after it in that buffer can be
 * trusted, so the rest of the buffer is given up. When only a record's
 * contents are wrong (an extended item running past the record) its size
 * is still good, so only that record is skipped. A buffer header whose
 * size is impossible costs that buffer: the walk goes on at the logfile's
 * BufferSize when a buffer header is there, else at the next plausible
 * buffer header found by a bounded scan. Compressed data that does not
 * decode keeps the records decoded before the damage. Each problem is
 * returned once, with a message naming the buffer and offset.
 */
#include "etl_reader.h"

#include "byteorder.h"
#include "etl_kernel.h"
#include "lz77_plain.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a buffer read (or decompressed) to find its first record while
 * scanning; more are loaded only when the records there are longer. */
#define PREFIX_BYTES 4096u
/* Compressed input read for that prefix: enough for PREFIX_BYTES of output
 * even when nothing compresses (a flag word per 32 literals). */
#define ZPREFIX_BYTES (PREFIX_BYTES + PREFIX_BYTES / 8u + 64u)
/* A record header and the fields the walk reads from it. */
#define RECORD_PEEK 0x48u
/* How far past a broken buffer header the walk looks for the next one. */
#define RESYNC_WINDOW ((uint64_t)ETL_MAX_BUFFER_SIZE + ETL_BUFFER_HEADER_SIZE)
/* Files beyond this are refused (no real trace comes near; a sparse or
 * special file claiming it would make the walk pointless). */
#define MAX_FILE_BYTES (1ull << 50)

/* advance(): the view does not hold the record at the cursor; load the buffer. */
#define NEED_MORE (-1999)
/* Bytes of an uncompressed buffer read at once from a file: small enough
 * that buffers interleaved in time by the thousand each keep a window in
 * the pool, large enough that a buffer read in order takes few reads. */
#define WINDOW_BYTES (16u * 1024u)
/* When more buffers interleave than the pool holds (almost every record
 * then needs a read), windows shrink to about a record. */
#define SMALL_WINDOW_BYTES 4096u
#define THRASH_PERIOD 4096u
#define MAX_SLOTS 8192u

static int fail(etl_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->errors++;
    return code;
}

/* Reports that the file was cut short. */
static int truncated(etl_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->errors++;
    r->truncation_reported = 1;
    return TLD_E_TRUNCATED;
}

static inline uint32_t align8(uint32_t v)
{
    return (v + 7u) & ~7u;
}

/* ---- timestamps --------------------------------------------------------- */

/* floor(a * m / d) for d > 0, saturating at UINT64_MAX. */
static uint64_t muldiv_sat(uint64_t a, uint64_t m, uint64_t d)
{
    uint64_t q = a / d, rem = a % d;
    if (q > UINT64_MAX / m)
        return UINT64_MAX;
    uint64_t hi = q * m;
    uint64_t lo;
    if (rem <= UINT64_MAX / m)
        lo = rem * m / d;
    else /* only for clocks above ~1.8 THz; a last-digit error is acceptable */
        lo = (uint64_t)((long double)rem * (long double)m / (long double)d);
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

/* Ticks per second of the file's clock. */
static uint64_t clock_frequency(const etl_logfile_header *h)
{
    if (h->clock_type == ETL_CLOCK_TYPE_CPU_CYCLES && h->cpu_speed_mhz)
        return (uint64_t)h->cpu_speed_mhz * 1000000u;
    if (h->perf_freq)
        return h->perf_freq;
    if (h->cpu_speed_mhz && h->clock_type == ETL_CLOCK_TYPE_CPU_CYCLES)
        return (uint64_t)h->cpu_speed_mhz * 1000000u;
    return 10000000u; /* no frequency recorded: QPC's on current Windows */
}

uint64_t etl_reader_filetime(const etl_reader *r, uint64_t ts)
{
    const etl_logfile_header *h = &r->header;
    if (!h->present || h->clock_type == ETL_CLOCK_TYPE_SYSTEM_TIME)
        return ts; /* system time: the record already holds a FILETIME */
    uint64_t freq = clock_frequency(h);
    uint64_t base_time = h->start_time, base_clock = h->start_clock;
    if (base_clock == 0 && base_time == 0) {
        /* No anchor at all: the counter runs from boot. */
        base_time = h->boot_time;
    }
    if (freq == 10000000u && ts >= base_clock && ts - base_clock <= UINT64_MAX - base_time)
        return base_time + (ts - base_clock); /* ticks of 100 ns already: no division */
    if (ts >= base_clock) {
        uint64_t add = muldiv_sat(ts - base_clock, 10000000u, freq);
        return base_time > UINT64_MAX - add ? UINT64_MAX : base_time + add;
    }
    /* Events may carry a clock value slightly before the session's start. */
    uint64_t sub = muldiv_sat(base_clock - ts, 10000000u, freq);
    return base_time > sub ? base_time - sub : 0;
}

/* ---- the source ----------------------------------------------------------- */

/* Reads len bytes at `off` (fewer at the end of the source: *got). */
static int read_at(etl_reader *r, uint64_t off, void *buf, size_t len, size_t *got)
{
    if (!r->from_file) {
        size_t n = off >= r->len ? 0 : (r->len - off < len ? (size_t)(r->len - off) : len);
        if (n)
            memcpy(buf, r->data + off, n);
        *got = n;
        return 0;
    }
    if (off >= r->len) {
        *got = 0;
        return 0;
    }
    if (r->len - off < len)
        len = (size_t)(r->len - off);
    return tld_read_file_at(&r->file, buf, len, off, got);
}

static int io_error(etl_reader *r, int code, uint64_t off)
{
    return fail(r, code, "reading the file at offset 0x%llx failed: %s", (unsigned long long)off,
                strerror(code < 0 ? -code : EIO));
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return 0;
    size_t n = *cap ? *cap : 4096;
    while (n < need)
        n *= 2;
    uint8_t *b = realloc(*buf, n);
    if (!b)
        return TLD_E_NO_MEMORY;
    *buf = b;
    *cap = n;
    return 0;
}

/* ---- the pool of buffer contents ------------------------------------------ */

static uint32_t slot_hash(const etl_reader *r, uint32_t buffer)
{
    return (buffer * 2654435761u) & r->table_mask;
}

static int pool_init(etl_reader *r)
{
    if (r->slots)
        return 0;
    /* Enough slots for the budget in windows; bytes are bounded separately
     * (pool_make_room), whole buffers being larger than windows. */
    size_t n = r->pool_bytes / WINDOW_BYTES;
    if (n < 2)
        n = 2;
    if (n > MAX_SLOTS)
        n = MAX_SLOTS;
    uint32_t tsize = 4;
    while (tsize < 2 * n)
        tsize *= 2;
    r->slots = calloc(n, sizeof *r->slots);
    r->slot_table = malloc(tsize * sizeof *r->slot_table);
    if (!r->slots || !r->slot_table) {
        free(r->slots);
        free(r->slot_table);
        r->slots = NULL;
        r->slot_table = NULL;
        return TLD_E_NO_MEMORY;
    }
    for (size_t i = 0; i < n; i++) {
        r->slots[i].buffer = UINT32_MAX;
        r->slots[i].prev = r->slots[i].next = -1;
    }
    for (uint32_t i = 0; i < tsize; i++)
        r->slot_table[i] = -1;
    r->lru_head = r->lru_tail = -1;
    r->slots_used = 0;
    r->slot_count = (uint32_t)n;
    r->table_mask = tsize - 1;
    r->memo_buffer = UINT32_MAX;
    return 0;
}

static etl_slot *pool_find(etl_reader *r, uint32_t buffer)
{
    if (!r->slots)
        return NULL;
    if (r->memo_buffer == buffer)
        return &r->slots[r->memo_slot];
    for (uint32_t i = slot_hash(r, buffer);; i = (i + 1) & r->table_mask) {
        int32_t s = r->slot_table[i];
        if (s < 0)
            return NULL;
        if (r->slots[s].buffer == buffer) {
            r->memo_buffer = buffer;
            r->memo_slot = (uint32_t)s;
            return &r->slots[s];
        }
    }
}

static void table_insert(etl_reader *r, uint32_t slot)
{
    uint32_t i = slot_hash(r, r->slots[slot].buffer);
    while (r->slot_table[i] >= 0)
        i = (i + 1) & r->table_mask;
    r->slot_table[i] = (int32_t)slot;
}

/* Removes the slot's entry (linear probing: later entries of the run move
 * back so lookups never stop early). */
static void table_remove(etl_reader *r, uint32_t slot)
{
    uint32_t mask = r->table_mask;
    uint32_t i = slot_hash(r, r->slots[slot].buffer);
    while (r->slot_table[i] != (int32_t)slot)
        i = (i + 1) & mask;
    r->slot_table[i] = -1;
    for (uint32_t j = (i + 1) & mask; r->slot_table[j] >= 0; j = (j + 1) & mask) {
        uint32_t home = slot_hash(r, r->slots[r->slot_table[j]].buffer);
        /* Entry j may fill hole i when its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            r->slot_table[i] = r->slot_table[j];
            r->slot_table[j] = -1;
            i = j;
        }
    }
}

/* The slots form a list from the most to the least recently used. */
static void lru_unlink(etl_reader *r, uint32_t i)
{
    etl_slot *s = &r->slots[i];
    if (s->prev >= 0)
        r->slots[s->prev].next = s->next;
    else if (r->lru_head == (int32_t)i)
        r->lru_head = s->next;
    if (s->next >= 0)
        r->slots[s->next].prev = s->prev;
    else if (r->lru_tail == (int32_t)i)
        r->lru_tail = s->prev;
    s->prev = s->next = -1;
}

/* Marks slot i as the most recently used. */
static void lru_touch(etl_reader *r, uint32_t i)
{
    if (r->lru_head == (int32_t)i)
        return;
    lru_unlink(r, i);
    etl_slot *s = &r->slots[i];
    s->next = r->lru_head;
    if (r->lru_head >= 0)
        r->slots[r->lru_head].prev = (int32_t)i;
    r->lru_head = (int32_t)i;
    if (r->lru_tail < 0)
        r->lru_tail = (int32_t)i;
}

/* Forgets slot i's contents (its memory stays for reuse unless `release`). */
static void pool_drop(etl_reader *r, uint32_t i, int release)
{
    etl_slot *s = &r->slots[i];
    if (s->buffer != UINT32_MAX) {
        table_remove(r, i);
        if (r->memo_buffer == s->buffer)
            r->memo_buffer = UINT32_MAX;
        s->buffer = UINT32_MAX;
    }
    if (release && s->mem) {
        r->pool_used -= s->cap;
        free(s->mem);
        s->mem = NULL;
        s->cap = 0;
    }
}

/* A slot for new contents: one never used, else the least recently used. */
static uint32_t pool_take(etl_reader *r)
{
    uint32_t i = r->slots_used < r->slot_count ? r->slots_used++ : (uint32_t)r->lru_tail;
    pool_drop(r, i, 0);
    lru_touch(r, i);
    return i;
}

/* Gives slot `keep` at least `need` bytes, releasing the memory of the
 * least recently used other slots while the pool would exceed its bytes. */
static int pool_reserve(etl_reader *r, uint32_t keep, size_t need)
{
    etl_slot *k = &r->slots[keep];
    if (k->cap >= need)
        return 0;
    size_t n = k->cap ? k->cap : 4096;
    while (n < need)
        n *= 2;
    for (int32_t v = r->lru_tail; v >= 0 && r->pool_used - k->cap + n > r->pool_bytes;) {
        int32_t prev = r->slots[v].prev;
        if ((uint32_t)v != keep && r->slots[v].mem)
            pool_drop(r, (uint32_t)v, 1);
        v = prev;
    }
    uint8_t *m = realloc(k->mem, n);
    if (!m)
        return TLD_E_NO_MEMORY;
    r->pool_used += n - k->cap;
    k->mem = m;
    k->cap = n;
    return 0;
}

/* ---- compressed buffers ---------------------------------------------------- */

/* Decompresses the records of the compressed buffer whose on-disk bytes
 * are in[0..in_len) (header included) into out + 0x48, at most `cap`
 * bytes; copies the header. Returns the lz77 code; *produced = bytes
 * decoded after the header. */
static int expand(const uint8_t *in, size_t in_len, uint8_t *out, size_t cap, size_t *produced, size_t *err_at)
{
    memcpy(out, in, ETL_BUFFER_HEADER_SIZE);
    return tld_lz77_plain_decompress(in + ETL_BUFFER_HEADER_SIZE, in_len - ETL_BUFFER_HEADER_SIZE,
                                     out + ETL_BUFFER_HEADER_SIZE, cap, produced, err_at);
}

/* ---- loading a buffer ---------------------------------------------------------- */

/* Cuts cursor c's records at `new_end` (data stopped there) and notes that
 * the loss was reported. */
static void cut(etl_cursor *c, uint32_t new_end)
{
    if (new_end < c->end)
        c->end = new_end;
    c->disk |= ETL_CURSOR_CUT;
}

typedef etl_view view;

static inline const uint8_t *view_at(const view *v, uint32_t off)
{
    return v->p + (off - v->start);
}

/* Reads the window [from, ...) of uncompressed buffer c from the file into
 * slot s: at least up to `to`, at least WINDOW_BYTES when the records go
 * on, never past c->end. */
static int read_window(etl_reader *r, etl_cursor *c, uint32_t si, uint32_t from, uint32_t to)
{
    uint32_t window = r->thrashing ? SMALL_WINDOW_BYTES : WINDOW_BYTES;
    uint32_t wto = from + window < from ? c->end : from + window;
    if (wto < to)
        wto = to;
    if (wto > c->end)
        wto = c->end;
    etl_slot *s = &r->slots[si];
    if (pool_reserve(r, si, wto - from) < 0)
        return fail(r, TLD_E_NO_MEMORY, "out of memory for buffer %u (%u bytes)", c->buffer, wto - from);
    size_t got = 0;
    int e = read_at(r, c->file_offset + from, s->mem, wto - from, &got);
    if (e < 0)
        return io_error(r, e, c->file_offset + from);
    s->start = from;
    s->len = from + (uint32_t)got;
    r->buffer_loads++;
    if (got < wto - from) { /* the file shrank since it was scanned */
        r->damaged_buffers++;
        cut(c, s->len);
        return truncated(r, "buffer %u: the file now ends %zu bytes into the part read at its offset 0x%x; "
                            "records past that point are lost", c->buffer, got, from);
    }
    return 0;
}

/* Expands compressed buffer c into slot si (whole). */
static int expand_buffer(etl_reader *r, etl_cursor *c, uint32_t si)
{
    etl_slot *s = &r->slots[si];
    uint32_t disk = c->disk & ETL_CURSOR_SIZE_MASK;
    int rc = 0;
    size_t got = 0;
    if (pool_reserve(r, si, c->end) < 0)
        return fail(r, TLD_E_NO_MEMORY, "out of memory for buffer %u (%u bytes)", c->buffer, c->end);
    const uint8_t *in;
    size_t in_len;
    if (!r->from_file) {
        in = r->data + c->file_offset;
        in_len = r->len - c->file_offset < disk ? (size_t)(r->len - c->file_offset) : disk;
    } else {
        if (grow(&r->zin, &r->zin_cap, disk) < 0)
            return fail(r, TLD_E_NO_MEMORY, "out of memory for buffer %u (%u bytes)", c->buffer, disk);
        int e = read_at(r, c->file_offset, r->zin, disk, &got);
        if (e < 0)
            return io_error(r, e, c->file_offset);
        in = r->zin;
        in_len = got;
    }
    if (in_len < ETL_BUFFER_HEADER_SIZE) {
        cut(c, ETL_BUFFER_HEADER_SIZE);
        return truncated(r, "buffer %u: the file now ends inside its header", c->buffer);
    }
    size_t produced = 0, err_at = 0;
    size_t cap = c->end - ETL_BUFFER_HEADER_SIZE;
    int zrc = expand(in, in_len, s->mem, cap, &produced, &err_at);
    uint32_t have = (uint32_t)(ETL_BUFFER_HEADER_SIZE + produced);
    r->buffer_loads++;
    if (c->disk & ETL_CURSOR_END_UNKNOWN) {
        c->end = have; /* the records end where the data ends */
        c->disk &= ~ETL_CURSOR_END_UNKNOWN;
    }
    if (zrc == TLD_E_LZ77_OUTPUT_FULL)
        zrc = 0; /* everything up to the records' end decoded; the rest is not records */
    if (!(c->disk & ETL_CURSOR_CUT) && (zrc < 0 || have < c->end)) {
        r->damaged_buffers++;
        if (c->disk & ETL_CURSOR_PARTIAL)
            rc = truncated(r, "buffer %u (file offset 0x%llx, compressed): the file ends after %zu of its %u "
                              "bytes; the %zu bytes of records decoded before that point are kept, the rest is lost",
                           c->buffer, (unsigned long long)c->file_offset, in_len, disk, produced);
        else if (zrc < 0)
            rc = fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): its compressed data is damaged at byte %zu "
                                            "of %zu; the %zu bytes of records decoded before it are kept, the rest "
                                            "of the buffer is lost", c->buffer, (unsigned long long)c->file_offset,
                      err_at + ETL_BUFFER_HEADER_SIZE, in_len, produced);
        else
            rc = fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): its compressed data expands to %zu "
                                            "bytes of records but its header says %u; the rest of the buffer is lost",
                      c->buffer, (unsigned long long)c->file_offset, produced, c->end - ETL_BUFFER_HEADER_SIZE);
    }
    if (have < c->end)
        cut(c, have);
    s->start = 0;
    s->len = c->end;
    return rc;
}

/*
 * Brings bytes [from, to) of buffer c's records into memory (to <= c->end):
 * *v covers them (and usually more). A file in memory is used in place; a
 * compressed buffer is expanded whole into the pool; an uncompressed
 * buffer of a file is read by windows. Returns 0; or an error already
 * reported, with v->p set when part of the buffer is usable (c->end cut
 * to it, so the range may no longer be there) or NULL when nothing is
 * (the caller gives the buffer up).
 */
static int load(etl_reader *r, etl_cursor *c, uint32_t from, uint32_t to, view *v)
{
    v->p = NULL;
    v->start = v->end = 0;
    int compressed = (c->disk & ETL_CURSOR_COMPRESSED) != 0;
    if (!r->from_file && !compressed && !(r->options & ETL_READ_THROUGH_POOL)) {
        v->p = r->data + c->file_offset;
        v->end = c->end;
        return 0;
    }
    etl_slot *s = pool_find(r, c->buffer);
    uint32_t si;
    if (s) {
        si = (uint32_t)(s - r->slots);
        lru_touch(r, si);
        if (compressed || (s->start <= from && to <= s->len))
            goto done;
    } else {
        if (pool_init(r) < 0)
            return fail(r, TLD_E_NO_MEMORY, "out of memory for the buffer pool");
        si = pool_take(r);
        s = &r->slots[si];
        s->buffer = c->buffer;
        s->start = s->len = 0;
        table_insert(r, si);
        r->memo_buffer = c->buffer;
        r->memo_slot = si;
    }
    int rc = compressed ? expand_buffer(r, c, si) : read_window(r, c, si, from, to);
    if (rc < 0 && s->len <= s->start) {
        pool_drop(r, si, 0);
        return rc;
    }
    if (rc < 0) {
        v->p = s->mem;
        v->start = s->start;
        v->end = s->len;
        return rc;
    }
done:
    v->p = s->mem;
    v->start = s->start;
    v->end = s->len < c->end ? s->len : c->end;
    return 0;
}

/* ---- logfile header ----------------------------------------------------- */

/* Finds a NUL-terminated UTF-16LE string at p[0..n); returns its byte
 * length without the NUL, or n (rounded down to even) when unterminated. */
static size_t utf16_strlen(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 1 < n) {
        if (p[i] == 0 && p[i + 1] == 0)
            return i;
        i += 2;
    }
    return n & ~(size_t)1;
}

/* Parses the SYSTEM_TRACE_HEADER + TRACE_LOGFILE_HEADER record that opens
 * buffer 0; buf[0..avail) holds the start of buffer 0. The record is
 * bounded by its own size and the buffer, whatever SavedOffset says
 * (older loggers leave it 0). */
static void parse_logfile_header(etl_reader *r, const uint8_t *buf, size_t avail)
{
    etl_logfile_header *h = &r->header;
    size_t at = ETL_BUFFER_HEADER_SIZE;
    if (avail < at + ETL_SYSTEM_TRACE_HEADER_SIZE)
        return;
    const uint8_t *rec = buf + at;
    uint16_t type = load_le16(rec + 2);
    if ((type & 0xC000) != ETL_MARKER_TRACE_HEADER ||
        ((type & 0xFF) != ETL_HT_SYSTEM32 && (type & 0xFF) != ETL_HT_SYSTEM64) ||
        load_le16(rec + ETL_SYS_HOOK) != ETL_HOOK_LOGFILE_HEADER)
        return;
    size_t size = load_le16(rec + ETL_SYS_SIZE);
    if (size > avail - at)
        size = avail - at;
    if (size < ETL_SYSTEM_TRACE_HEADER_SIZE + 0x30)
        return;
    const uint8_t *t = rec + ETL_SYSTEM_TRACE_HEADER_SIZE;
    size_t tlen = size - ETL_SYSTEM_TRACE_HEADER_SIZE;
    uint32_t psize = load_le32(t + ETL_LOGFILE_POINTER_SIZE);
    size_t shift = psize == 4 ? ETL_LOGFILE_SHIFT32 : 0;
    size_t hsize = ETL_LOGFILE_HEADER_SIZE - shift;
    if (tlen < hsize)
        return;
    h->buffer_size = load_le32(t + ETL_LOGFILE_BUFFER_SIZE);
    h->version = load_le32(t + ETL_LOGFILE_VERSION);
    h->provider_version = load_le32(t + ETL_LOGFILE_PROVIDER_VERSION);
    h->number_of_processors = load_le32(t + ETL_LOGFILE_PROCESSORS);
    h->end_time = load_le64(t + ETL_LOGFILE_END_TIME);
    h->timer_resolution = load_le32(t + ETL_LOGFILE_TIMER_RESOLUTION);
    h->maximum_file_size = load_le32(t + ETL_LOGFILE_MAXIMUM_FILE_SIZE);
    h->log_file_mode = load_le32(t + ETL_LOGFILE_MODE);
    h->buffers_written = load_le32(t + ETL_LOGFILE_BUFFERS_WRITTEN);
    h->start_buffers = load_le32(t + ETL_LOGFILE_START_BUFFERS);
    h->pointer_size = psize == 4 ? 4 : 8;
    h->events_lost = load_le32(t + ETL_LOGFILE_EVENTS_LOST);
    h->cpu_speed_mhz = load_le32(t + ETL_LOGFILE_CPU_SPEED);
    h->boot_time = load_le64(t + ETL_LOGFILE_BOOT_TIME - shift);
    h->perf_freq = load_le64(t + ETL_LOGFILE_PERF_FREQ - shift);
    h->start_time = load_le64(t + ETL_LOGFILE_START_TIME - shift);
    h->clock_type = load_le32(t + ETL_LOGFILE_CLOCK_TYPE - shift);
    h->buffers_lost = load_le32(t + ETL_LOGFILE_BUFFERS_LOST - shift);
    h->start_clock = load_le64(rec + ETL_SYS_TIMESTAMP);
    /* The names follow, NUL-terminated; kept in the reader (the file is
     * not), at most ETL_NAME_BYTES each. */
    const uint8_t *names = t + hsize;
    size_t left = tlen - hsize;
    size_t n1 = utf16_strlen(names, left);
    size_t k1 = n1 > ETL_NAME_BYTES ? ETL_NAME_BYTES : n1;
    memcpy(r->logger_name, names, k1);
    h->logger_name = r->logger_name;
    h->logger_name_bytes = k1;
    if (n1 + 2 <= left) {
        size_t n2 = utf16_strlen(names + n1 + 2, left - n1 - 2);
        size_t k2 = n2 > ETL_NAME_BYTES ? ETL_NAME_BYTES : n2;
        memcpy(r->logfile_name, names + n1 + 2, k2);
        h->logfile_name = r->logfile_name;
        h->logfile_name_bytes = k2;
    }
    h->present = 1;
}

/* ---- buffer headers ------------------------------------------------------------ */

/* Whether h[0..0x48) looks like a buffer header. `strict` (used when
 * searching byte by byte) also wants buffer 0's LoggerId. */
static int plausible_header(const etl_reader *r, const uint8_t *h, int strict)
{
    uint32_t bs = load_le32(h + ETL_BUFFER_SIZE_OFFSET);
    uint16_t flags = load_le16(h + ETL_BUFFER_FLAG_OFFSET), type = load_le16(h + ETL_BUFFER_TYPE_OFFSET);
    uint32_t filled = load_le32(h + ETL_BUFFER_FILLED_OFFSET), saved = load_le32(h + ETL_BUFFER_SAVED_OFFSET);
    if (bs <= ETL_BUFFER_HEADER_SIZE || bs > ETL_MAX_BUFFER_SIZE)
        return 0;
    if ((flags & ~ETL_BUFFER_FLAG_KNOWN) || type >= ETL_BUFFER_TYPE_MAX)
        return 0;
    if (flags & ETL_BUFFER_FLAG_COMPRESSED) {
        if (filled < ETL_BUFFER_HEADER_SIZE || filled > ETL_MAX_BUFFER_SIZE)
            return 0;
    } else {
        if (bs & 7u)
            return 0;
        int filled_ok = filled >= ETL_BUFFER_HEADER_SIZE && filled <= bs;
        int saved_ok = saved >= ETL_BUFFER_HEADER_SIZE && saved <= bs;
        if (!filled_ok && !saved_ok)
            return 0;
    }
    if (strict && r->header.present && load_le16(h + ETL_BUFFER_LOGGER_OFFSET) != r->logger_id)
        return 0;
    return 1;
}

/* 1 when a plausible buffer header starts at `pos` or the file ends exactly there. */
static int plausible_at(etl_reader *r, uint64_t pos)
{
    if (pos == r->len)
        return 1;
    uint8_t h[ETL_BUFFER_HEADER_SIZE];
    size_t got = 0;
    if (pos > r->len || read_at(r, pos, h, sizeof h, &got) < 0 || got < sizeof h)
        return 0;
    return plausible_header(r, h, 0);
}

/* Looks for the next plausible buffer header after `from`, within
 * RESYNC_WINDOW bytes. Returns its offset, or UINT64_MAX. */
static uint64_t resync(etl_reader *r, uint64_t from)
{
    enum { WINDOW = 65536 };
    uint8_t *w = malloc(WINDOW + ETL_BUFFER_HEADER_SIZE);
    if (!w)
        return UINT64_MAX;
    uint64_t limit = r->len - from < RESYNC_WINDOW ? r->len : from + RESYNC_WINDOW;
    uint64_t found = UINT64_MAX;
    for (uint64_t base = from; base < limit && found == UINT64_MAX; base += WINDOW) {
        size_t got = 0;
        if (read_at(r, base, w, WINDOW + ETL_BUFFER_HEADER_SIZE, &got) < 0 || got < ETL_BUFFER_HEADER_SIZE)
            break;
        for (size_t i = 0; i + ETL_BUFFER_HEADER_SIZE <= got && i < WINDOW && base + i < limit; i++) {
            uint32_t bs = load_le32(w + i);
            if (bs <= ETL_BUFFER_HEADER_SIZE || bs > ETL_MAX_BUFFER_SIZE)
                continue;
            if (plausible_header(r, w + i, 1)) {
                found = base + i;
                break;
            }
        }
    }
    free(w);
    return found;
}

/* ---- records ------------------------------------------------------------ */

enum rec_kind { REC_OTHER = 0, REC_EVENT = 1, REC_CLASSIC = 2, REC_SYSTEM = 3, REC_MESSAGE = 4, REC_INSTANCE = 5 };

typedef struct rec_info {
    uint32_t size;
    uint32_t min;
    int kind;
    int ts_at;        /* offset of the record's timestamp, -1 when it has none */
} rec_info;

/* Where a WPP message keeps its timestamp (after the optional parts before
 * it), or -1. */
static int message_ts_at(uint16_t mflags)
{
    if (!(mflags & ETL_MSG_FLAG_TIMESTAMP))
        return -1;
    int at = ETL_MESSAGE_HEADER_SIZE;
    if (mflags & ETL_MSG_FLAG_SEQUENCE)
        at += 4;
    if (mflags & ETL_MSG_FLAG_GUID)
        at += 16;
    else if (mflags & ETL_MSG_FLAG_COMPONENTID)
        at += 4;
    return at;
}

/* Classifies the record at p (at least 8 bytes present). Returns 0, or -1
 * for an unknown marker or header type. */
static int classify(const uint8_t *p, rec_info *ri)
{
    uint16_t ht = load_le16(p + 2);
    ri->ts_at = -1;
    if ((ht & ETL_MARKER_MESSAGE_MASK) == ETL_MARKER_MESSAGE) {
        ri->size = load_le16(p);
        ri->min = ETL_MESSAGE_HEADER_SIZE;
        ri->kind = REC_MESSAGE;
        ri->ts_at = message_ts_at(load_le16(p + ETL_MSG_FLAGS));
        return 0;
    }
    if ((ht & 0xC000) != ETL_MARKER_TRACE_HEADER)
        return -1;
    switch (ht & 0xFF) {
    case ETL_HT_SYSTEM32: case ETL_HT_SYSTEM64:
        ri->size = load_le16(p + ETL_SYS_SIZE); ri->min = ETL_SYSTEM_TRACE_HEADER_SIZE;
        ri->kind = REC_SYSTEM; ri->ts_at = ETL_SYS_TIMESTAMP; break;
    case ETL_HT_COMPACT32: case ETL_HT_COMPACT64:
        ri->size = load_le16(p + ETL_SYS_SIZE); ri->min = ETL_COMPACT_HEADER_SIZE;
        ri->kind = REC_SYSTEM; ri->ts_at = ETL_SYS_TIMESTAMP; break;
    case ETL_HT_PERFINFO32: case ETL_HT_PERFINFO64:
        ri->size = load_le16(p + ETL_SYS_SIZE); ri->min = ETL_PERFINFO_HEADER_SIZE;
        ri->kind = REC_SYSTEM; ri->ts_at = ETL_PERFINFO_TIMESTAMP; break;
    case ETL_HT_EVENT_HEADER32: case ETL_HT_EVENT_HEADER64:
        ri->size = load_le16(p); ri->min = ETL_EVENT_HEADER_SIZE; ri->kind = REC_EVENT; ri->ts_at = 16; break;
    case ETL_HT_FULL_HEADER32: case ETL_HT_FULL_HEADER64:
        ri->size = load_le16(p); ri->min = ETL_CLASSIC_HEADER_SIZE; ri->kind = REC_CLASSIC; ri->ts_at = 16; break;
    case ETL_HT_INSTANCE32: case ETL_HT_INSTANCE64:
        ri->size = load_le16(p); ri->min = ETL_INSTANCE_HEADER_SIZE; ri->kind = REC_INSTANCE; ri->ts_at = 16; break;
    case ETL_HT_TIMED: case ETL_HT_ERROR: case ETL_HT_WNODE_HEADER: case ETL_HT_MESSAGE:
        ri->size = load_le16(p); ri->min = 8; ri->kind = REC_OTHER; break;
    default:
        return -1;
    }
    return 0;
}

/* Whether a record of this kind is handed out (else stepped over). */
static int deliverable(const etl_reader *r, const uint8_t *p, int kind)
{
    switch (kind) {
    case REC_EVENT: case REC_CLASSIC: case REC_INSTANCE: case REC_MESSAGE:
        return 1;
    case REC_SYSTEM:
        return (r->options & ETL_READ_SYSTEM_RECORDS) && (load_le16(p + ETL_SYS_HOOK) >> 8) != ETL_GROUP_HEADER;
    default:
        return 0;
    }
}

/* Counts the rest of a buffer given up on after a framing error (the
 * caller drops its cursor). */
static int damaged_buffer(etl_reader *r, int code)
{
    r->damaged_records++;
    r->damaged_buffers++;
    return code;
}

/*
 * Moves cursor c from its offset to the next record to hand out, stepping
 * over (and counting) the others; `v` holds part of the buffer. Returns 0
 * when it rests on one (its framing checked, its timestamp loaded),
 * TLD_E_END when the buffer's records ended, NEED_MORE when the next
 * record's header lies outside `v` (the cursor has moved up to it), or an
 * error: the rest of the buffer is given up. TLD_E_END and errors end the
 * cursor.
 */
static int advance(etl_reader *r, etl_cursor *c, const view *v)
{
    uint32_t b = c->buffer;
    int partial = (c->disk & ETL_CURSOR_PARTIAL) && !(c->disk & ETL_CURSOR_COMPRESSED);
    int quiet = (c->disk & ETL_CURSOR_CUT) != 0; /* data stopped at `end`: already reported */
    for (;;) {
        uint32_t off = c->offset;
        if (off >= c->end) {
            if (partial && !quiet) {
                r->damaged_buffers++;
                return truncated(r, "buffer %u: the file ends after %u of its %u bytes; records past that point are lost",
                                 b, c->end, c->disk & ETL_CURSOR_SIZE_MASK);
            }
            return TLD_E_END;
        }
        uint32_t left = c->end - off;
        uint32_t peek = left < RECORD_PEEK ? left : RECORD_PEEK;
        if (off < v->start || off + peek > v->end)
            return NEED_MORE;
        const uint8_t *p = view_at(v, off);
        if (left < 8) {
            if (quiet)
                return TLD_E_END;
            if (partial)
                return damaged_buffer(r, truncated(r, "buffer %u, offset 0x%x: the file ends inside a record", b, off));
            int padding = 1; /* filler (0xFF) or zero bytes after the records */
            for (uint32_t i = 0; i < left; i++)
                padding &= p[i] == 0xFF || p[i] == 0;
            if (padding)
                return TLD_E_END;
            return damaged_buffer(r, fail(r, TLD_E_DAMAGED,
                                          "buffer %u, offset 0x%x: %u stray bytes at the end of the records, too few "
                                          "for a record", b, off, left));
        }
        uint32_t marker = load_le32(p);
        if (marker == ETL_MARKER_FILLER || marker == 0) /* filler: the records ended early */
            return TLD_E_END;
        rec_info ri;
        if (classify(p, &ri) < 0) {
            if (quiet)
                return TLD_E_END;
            uint16_t ht = load_le16(p + 2);
            if ((ht & 0xC000) != ETL_MARKER_TRACE_HEADER && (ht & ETL_MARKER_MESSAGE_MASK) != ETL_MARKER_MESSAGE)
                return damaged_buffer(r, fail(r, TLD_E_DAMAGED,
                                              "buffer %u, offset 0x%x: no record header here (marker 0x%08x); rest of "
                                              "buffer skipped", b, off, marker));
            return damaged_buffer(r, fail(r, TLD_E_DAMAGED,
                                          "buffer %u, offset 0x%x: unknown record header type 0x%04x; rest of "
                                          "buffer skipped", b, off, ht));
        }
        if (ri.size < ri.min) {
            if (quiet)
                return TLD_E_END;
            return damaged_buffer(r, fail(r, TLD_E_DAMAGED,
                                          "buffer %u, offset 0x%x: record (type 0x%04x) claims %u bytes, less than "
                                          "its %u-byte header; rest of buffer skipped", b, off, load_le16(p + 2),
                                          ri.size, ri.min));
        }
        if (ri.size > left) {
            if (quiet)
                return TLD_E_END;
            if (partial)
                return damaged_buffer(r, truncated(r, "buffer %u, offset 0x%x: the file ends inside a %u-byte record",
                                                   b, off, ri.size));
            return damaged_buffer(r, fail(r, TLD_E_DAMAGED,
                                          "buffer %u, offset 0x%x: record (type 0x%04x) of %u bytes runs past the "
                                          "end of the buffer's records (offset 0x%x); rest of buffer skipped",
                                          b, off, load_le16(p + 2), ri.size, c->end));
        }
        if (ri.ts_at >= 0 && (uint32_t)ri.ts_at + 8 <= ri.size)
            c->timestamp = load_le64(p + ri.ts_at);
        if (!deliverable(r, p, ri.kind)) {
            if (ri.kind == REC_SYSTEM)
                r->system_records++;
            else
                r->other_records++;
            c->offset = off + align8(ri.size); /* size >= 8: the walk moves forward */
            continue;
        }
        return 0;
    }
}

/* ---- handing out a record ------------------------------------------------------ */

/* Reads the extended items and user data of an EVENT_HEADER record whose
 * size has been checked against its buffer. */
static int parse_event_header(etl_reader *r, const uint8_t *p, uint32_t size, etl_event *ev, uint32_t b,
                              uint32_t off)
{
    ev->kind = ETL_KIND_EVENT_HEADER;
    ev->flags = load_le16(p + ETL_EH_FLAGS);
    ev->event_property = load_le16(p + ETL_EH_PROPERTY);
    ev->thread_id = load_le32(p + ETL_EH_THREAD);
    ev->process_id = load_le32(p + ETL_EH_PROCESS);
    ev->timestamp = load_le64(p + ETL_EH_TIMESTAMP);
    memcpy(ev->provider_id.bytes_le, p + ETL_EH_PROVIDER, 16);
    const uint8_t *d = p + ETL_EH_DESCRIPTOR;
    ev->descriptor.id = load_le16(d);
    ev->descriptor.version = d[2];
    ev->descriptor.channel = d[3];
    ev->descriptor.level = d[4];
    ev->descriptor.opcode = d[5];
    ev->descriptor.task = load_le16(d + 6);
    ev->descriptor.keyword = load_le64(d + 8);
    ev->kernel_time = load_le32(p + ETL_EH_KERNEL_TIME);
    ev->user_time = load_le32(p + ETL_EH_USER_TIME);
    memcpy(ev->activity_id.bytes_le, p + ETL_EH_ACTIVITY, 16);
    if (ev->flags & ETL_EVENT_FLAG_32_BIT_HEADER)
        ev->pointer_size = 4;
    else if (ev->flags & ETL_EVENT_FLAG_64_BIT_HEADER)
        ev->pointer_size = 8;

    uint32_t at = ETL_EVENT_HEADER_SIZE;
    if (ev->flags & ETL_EVENT_FLAG_EXTENDED_INFO) {
        for (;;) {
            if (size - at < ETL_EXT_ITEM_HEADER_SIZE)
                return fail(r, TLD_E_DAMAGED,
                            "buffer %u, offset 0x%x: event record of %u bytes ends inside the header of "
                            "its extended data item at record offset 0x%x; event skipped", b, off, size, at);
            const uint8_t *q = p + at;
            uint16_t isz = load_le16(q), type = load_le16(q + 2), link = load_le16(q + 4), dsz = load_le16(q + 6);
            if (isz < ETL_EXT_ITEM_HEADER_SIZE)
                return fail(r, TLD_E_DAMAGED,
                            "buffer %u, offset 0x%x: extended data item (type 0x%04x) at record offset 0x%x "
                            "claims %u bytes, less than its 8-byte header; event skipped", b, off, type, at, isz);
            if (isz > size - at)
                return fail(r, TLD_E_DAMAGED,
                            "buffer %u, offset 0x%x: extended data item (type 0x%04x, %u bytes) at record "
                            "offset 0x%x runs past the end of the %u-byte record; event skipped",
                            b, off, type, isz, at, size);
            if (dsz > isz - ETL_EXT_ITEM_HEADER_SIZE)
                return fail(r, TLD_E_DAMAGED,
                            "buffer %u, offset 0x%x: extended data item (type 0x%04x) says DataSize %u but "
                            "holds only %u bytes; event skipped", b, off, type, dsz, isz - ETL_EXT_ITEM_HEADER_SIZE);
            const uint8_t *dd = q + ETL_EXT_ITEM_HEADER_SIZE;
            if (ev->ext_count < ETL_MAX_EXT_ITEMS) {
                etl_ext_item *it = &ev->ext[ev->ext_count++];
                it->type = type;
                it->size = dsz;
                it->data = dd;
            } else {
                ev->ext_dropped++;
            }
            switch (type) {
            case ETL_EXT_RELATED_ACTIVITYID:
                if (dsz >= 16) {
                    ev->has_related_activity_id = 1;
                    memcpy(ev->related_activity_id.bytes_le, dd, 16);
                }
                break;
            case ETL_EXT_PROV_TRAITS:
                ev->prov_traits = dd;
                ev->prov_traits_len = dsz;
                break;
            case ETL_EXT_EVENT_SCHEMA_TL:
                ev->event_schema = dd;
                ev->event_schema_len = dsz;
                break;
            case ETL_EXT_STACK_TRACE64:
            case ETL_EXT_STACK_TRACE32:
                if (dsz >= 8) {
                    ev->has_stack = 1;
                    ev->stack_match_id = load_le64(dd);
                    ev->stack = dd + 8;
                    ev->stack_addr_size = type == ETL_EXT_STACK_TRACE64 ? 8 : 4;
                    ev->stack_count = (uint32_t)(dsz - 8) / ev->stack_addr_size;
                }
                break;
            default:
                break;
            }
            at += isz; /* isz >= 8: the loop always moves forward */
            if (!(link & 1))
                break;
        }
    }
    ev->user_data = p + at;
    ev->user_data_len = size - at;
    return 0;
}

/* EVENT_TRACE_HEADER (classic, MOF-style) and the instance header, which
 * share the first 0x28 bytes. */
static void parse_classic(const uint8_t *p, uint32_t size, uint32_t header_size, etl_event *ev)
{
    ev->kind = ETL_KIND_CLASSIC;
    ev->descriptor.opcode = p[4];
    ev->descriptor.level = p[5];
    ev->descriptor.version = (uint8_t)load_le16(p + 6);
    ev->thread_id = load_le32(p + 8);
    ev->process_id = load_le32(p + 12);
    ev->timestamp = load_le64(p + 16);
    memcpy(ev->provider_id.bytes_le, p + 24, 16);
    ev->kernel_time = load_le32(p + 40);
    ev->user_time = load_le32(p + 44);
    ev->user_data = p + header_size;
    ev->user_data_len = size - header_size;
}

/* A kernel record: system, compact or PERFINFO header. */
static void parse_system(const uint8_t *p, uint32_t size, etl_event *ev)
{
    uint16_t ht = load_le16(p + 2);
    uint16_t version_word = load_le16(p);
    uint32_t header;
    ev->kind = ETL_KIND_SYSTEM;
    ev->hook_id = load_le16(p + ETL_SYS_HOOK);
    ev->descriptor.opcode = (uint8_t)ev->hook_id;
    ev->descriptor.version = (uint8_t)version_word;
    switch (ht & 0xFF) {
    case ETL_HT_PERFINFO32: case ETL_HT_PERFINFO64:
        header = ETL_PERFINFO_HEADER_SIZE;
        ev->thread_id = ETL_ID_NONE;
        ev->process_id = ETL_ID_NONE;
        ev->timestamp = load_le64(p + ETL_PERFINFO_TIMESTAMP);
        break;
    case ETL_HT_COMPACT32: case ETL_HT_COMPACT64:
        header = ETL_COMPACT_HEADER_SIZE;
        ev->thread_id = load_le32(p + ETL_SYS_THREAD);
        ev->process_id = load_le32(p + ETL_SYS_PROCESS);
        ev->timestamp = load_le64(p + ETL_SYS_TIMESTAMP);
        break;
    default:
        header = ETL_SYSTEM_TRACE_HEADER_SIZE;
        ev->thread_id = load_le32(p + ETL_SYS_THREAD);
        ev->process_id = load_le32(p + ETL_SYS_PROCESS);
        ev->timestamp = load_le64(p + ETL_SYS_TIMESTAMP);
        ev->kernel_time = load_le32(p + 0x18);
        ev->user_time = load_le32(p + 0x1C);
        break;
    }
    uint32_t t = ht & 0xFF;
    ev->pointer_size = (t == ETL_HT_SYSTEM32 || t == ETL_HT_COMPACT32 || t == ETL_HT_PERFINFO32) ? 4 : 8;
    /* Hardware-counter items after the fixed header (PEBS: bit 15 of the
     * version word; PMC counters: bits 8-10), 8 bytes each. */
    uint32_t extra = ((version_word & 0x8000u) ? 8u : 0u) + 8u * ((version_word >> 8) & 7u);
    if (extra > size - header)
        extra = size - header;
    ev->user_data = p + header + extra;
    ev->user_data_len = size - header - extra;
    etl_kernel_class_guid(ev->hook_id, &ev->provider_id);
}

/* A WPP message: the optional parts its flags announce, then the payload. */
static void parse_message(const uint8_t *p, uint32_t size, uint64_t key, etl_event *ev)
{
    uint16_t f = load_le16(p + ETL_MSG_FLAGS);
    uint32_t at = ETL_MESSAGE_HEADER_SIZE;
    ev->kind = ETL_KIND_MESSAGE;
    ev->flags = f;
    ev->descriptor.id = load_le16(p + ETL_MSG_NUMBER);
    ev->thread_id = ETL_ID_NONE;
    ev->process_id = ETL_ID_NONE;
    ev->timestamp = key;
    if ((f & ETL_MSG_FLAG_SEQUENCE) && size - at >= 4)
        at += 4;
    if (f & ETL_MSG_FLAG_GUID) {
        if (size - at >= 16) {
            memcpy(ev->provider_id.bytes_le, p + at, 16);
            at += 16;
        }
    } else if ((f & ETL_MSG_FLAG_COMPONENTID) && size - at >= 4) {
        at += 4;
    }
    if ((f & ETL_MSG_FLAG_TIMESTAMP) && size - at >= 8) {
        ev->timestamp = load_le64(p + at);
        at += 8;
    }
    if ((f & ETL_MSG_FLAG_SYSTEMINFO) && size - at >= 8) {
        ev->thread_id = load_le32(p + at);
        ev->process_id = load_le32(p + at + 4);
        at += 8;
    }
    ev->user_data = p + at;
    ev->user_data_len = size - at;
}

/* ---- the scan: entering buffers ----------------------------------------------- */

/* Ends the scan: the rest of the file is not walked. */
static void scan_stop(etl_reader *r)
{
    r->scan_done = 1;
}

/* Where the next buffer starts when this one's header cannot say:
 * one logfile BufferSize on when a buffer header is there, else the next
 * plausible header. Returns an error message code for the skipped bytes. */
static int skip_broken_buffer(etl_reader *r, uint64_t pos, uint32_t index, const char *why)
{
    r->damaged_buffers++;
    r->buffer_count++; /* it is there, if unusable */
    if (r->buffer_size && pos + r->buffer_size <= r->len && plausible_at(r, pos + r->buffer_size)) {
        r->next_pos = pos + r->buffer_size;
        return fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): %s; buffer skipped", index,
                    (unsigned long long)pos, why);
    }
    uint64_t found = resync(r, pos + 1);
    if (found == UINT64_MAX) {
        scan_stop(r);
        r->resynced = 1;
        return fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): %s, and no buffer header follows "
                                          "within %llu bytes; the remaining %llu bytes of the file are skipped",
                    index, (unsigned long long)pos, why, (unsigned long long)RESYNC_WINDOW,
                    (unsigned long long)(r->len - pos));
    }
    r->next_pos = found;
    r->resynced = 1; /* buffers may hide in the bytes skipped: the count is no check any more */
    return fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): %s; %llu bytes skipped to the next buffer "
                                      "header", index, (unsigned long long)pos, why,
                (unsigned long long)(found - pos));
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

/*
 * Enters the buffer at r->next_pos: checks its header, decides where the
 * next one starts and where its records end, and, when it has records,
 * sets r->enter on the first one to hand out (r->entering). Returns 0 or
 * an error (reported; the walk goes on).
 */
static int enter_buffer(etl_reader *r)
{
    uint64_t pos = r->next_pos;
    if (pos >= r->len) {
        scan_stop(r);
        return 0;
    }
    uint32_t index = (uint32_t)r->buffer_count;
    uint64_t avail = r->len - pos;
    uint8_t h[ETL_BUFFER_HEADER_SIZE];
    size_t got = 0;
    int e = read_at(r, pos, h, sizeof h, &got);
    if (e < 0) {
        scan_stop(r);
        return io_error(r, e, pos);
    }
    const etl_logfile_header *lh = &r->header;
    if (all_zero(h, got) && lh->present && index >= lh->buffers_written) {
        /* Zero padding after the last buffer (preallocated files). */
        scan_stop(r);
        return 0;
    }
    if (got < ETL_BUFFER_HEADER_SIZE) {
        scan_stop(r);
        r->damaged_buffers++;
        return truncated(r, "buffer %u (file offset 0x%llx): the file ends inside its header (%zu of 72 bytes "
                            "present); the file was cut short", index, (unsigned long long)pos, got);
    }
    if (index >= ETL_MAX_CURSORS) {
        scan_stop(r);
        return fail(r, TLD_E_TOO_MANY_BUFFERS, "the file has more than %u buffers, beyond what the reader "
                                                   "walks in bounded memory; the %llu bytes from file offset 0x%llx "
                                                   "on are not read", ETL_MAX_CURSORS,
                    (unsigned long long)avail, (unsigned long long)pos);
    }
    uint32_t own = load_le32(h + ETL_BUFFER_SIZE_OFFSET);
    uint16_t flags = load_le16(h + ETL_BUFFER_FLAG_OFFSET);
    int compressed = (flags & ETL_BUFFER_FLAG_COMPRESSED) != 0;
    char why[160];
    if (own <= ETL_BUFFER_HEADER_SIZE || own > ETL_MAX_BUFFER_SIZE || (!compressed && (own & 7u))) {
        snprintf(why, sizeof why, "BufferSize %u is impossible", own);
        return skip_broken_buffer(r, pos, index, why);
    }
    int compressed_file = (r->header.log_file_mode & ETL_LOG_FILE_MODE_COMPRESSED) || r->compressed_buffers;
    if (!compressed && !compressed_file && r->buffer_size && own != r->buffer_size &&
        pos + r->buffer_size < r->len && plausible_at(r, pos + r->buffer_size)) {
        /* Uncompressed files use one buffer size, and the next buffer
         * header is there: this buffer's size field is damaged. */
        snprintf(why, sizeof why, "header says BufferSize %u but the next buffer starts %u bytes on", own,
                 r->buffer_size);
        return skip_broken_buffer(r, pos, index, why);
    }
    r->buffer_count++;
    r->next_pos = pos + own;
    if (own > avail) {
        r->cut_buffer = index;
        r->cut_bytes = (uint32_t)avail;
        r->cut_size = own;
    }

    /* Where its records end (buffer coordinates, header included). */
    uint32_t filled = load_le32(h + ETL_BUFFER_FILLED_OFFSET), saved = load_le32(h + ETL_BUFFER_SAVED_OFFSET);
    uint32_t disk = own, flagsc = 0, end;
    int rc = 0;
    if (compressed) {
        r->compressed_buffers++;
        flagsc |= ETL_CURSOR_COMPRESSED;
        /* The records expand to at most an uncompressed buffer. */
        uint32_t cap = r->buffer_size >= ETL_MIN_BUFFER_SIZE ? r->buffer_size : ETL_MAX_BUFFER_SIZE;
        if (filled >= ETL_BUFFER_HEADER_SIZE && filled <= cap) {
            end = filled;
        } else {
            end = cap; /* unknown: where the data ends */
            flagsc |= ETL_CURSOR_END_UNKNOWN;
            rc = fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx, compressed): its header's expanded size "
                                            "(Offset 0x%x) lies outside 0x48..BufferSize (0x%x); its records are "
                                            "read as far as its data expands", index, (unsigned long long)pos,
                      filled, cap);
        }
        if (own > avail)
            flagsc |= ETL_CURSOR_PARTIAL;
    } else {
        /* Offset@0x30 first: SavedOffset is 0 in buffers of older loggers. */
        if (filled >= ETL_BUFFER_HEADER_SIZE && filled <= own)
            end = filled;
        else if (saved >= ETL_BUFFER_HEADER_SIZE && saved <= own)
            end = saved;
        else
            end = own; /* neither says: the records end at the filler */
        if (end == own && (filled || saved) && !(filled >= ETL_BUFFER_HEADER_SIZE && filled <= own) &&
            !(saved >= ETL_BUFFER_HEADER_SIZE && saved <= own))
            rc = fail(r, TLD_E_DAMAGED, "buffer %u (file offset 0x%llx): its header's end of records (Offset "
                                            "0x%x, SavedOffset 0x%x) lies outside its %u bytes; its records are "
                                            "read up to the filler", index, (unsigned long long)pos, filled, saved,
                      own);
        if (end > avail) {
            end = (uint32_t)avail;
            flagsc |= ETL_CURSOR_PARTIAL;
        }
    }
    etl_cursor *c = &r->enter;
    c->buffer = index;
    c->file_offset = pos;
    c->disk = disk | flagsc;
    c->end = end;
    c->offset = ETL_BUFFER_HEADER_SIZE;
    c->timestamp = 0;
    r->entering = 1;
    return rc;
}

/* The first bytes of the buffer being entered, for finding its first
 * record: in place for a file in memory, from the pool when it is there,
 * else read (or decompressed) into the scratch space. */
static int enter_view(etl_reader *r, etl_cursor *c, view *v)
{
    int compressed = (c->disk & ETL_CURSOR_COMPRESSED) != 0;
    v->start = 0;
    if (!r->from_file && !compressed && !(r->options & ETL_READ_THROUGH_POOL)) {
        v->p = r->data + c->file_offset;
        v->end = c->end;
        return 0;
    }
    etl_slot *s = pool_find(r, c->buffer);
    if (s) {
        v->p = s->mem;
        v->start = s->start;
        v->end = s->len;
        return 0;
    }
    if (grow(&r->scratch, &r->scratch_cap, ETL_BUFFER_HEADER_SIZE + PREFIX_BYTES + ZPREFIX_BYTES) < 0)
        return fail(r, TLD_E_NO_MEMORY, "out of memory for the scan");
    size_t got = 0;
    v->p = r->scratch;
    if (!compressed) {
        size_t want = c->end < ETL_BUFFER_HEADER_SIZE + PREFIX_BYTES ? c->end : ETL_BUFFER_HEADER_SIZE + PREFIX_BYTES;
        int e = read_at(r, c->file_offset, r->scratch, want, &got);
        if (e < 0)
            return io_error(r, e, c->file_offset);
        v->end = (uint32_t)got;
        return 0;
    }
    uint32_t disk = c->disk & ETL_CURSOR_SIZE_MASK;
    uint8_t *zin = r->scratch + ETL_BUFFER_HEADER_SIZE + PREFIX_BYTES;
    size_t want = disk < ZPREFIX_BYTES ? disk : ZPREFIX_BYTES;
    int e = read_at(r, c->file_offset, zin, want, &got);
    if (e < 0)
        return io_error(r, e, c->file_offset);
    size_t produced = 0;
    size_t cap = c->end - ETL_BUFFER_HEADER_SIZE < PREFIX_BYTES ? c->end - ETL_BUFFER_HEADER_SIZE : PREFIX_BYTES;
    v->end = 0;
    if (got < ETL_BUFFER_HEADER_SIZE)
        return 0;
    /* Whatever decoded from the prefix is right; errors show in the full load. */
    expand(zin, got, r->scratch, cap, &produced, NULL);
    v->end = (uint32_t)(ETL_BUFFER_HEADER_SIZE + produced);
    return 0;
}

/* Moves cursor c on to its next record with whatever loads that needs.
 * Returns what advance() returns (never NEED_MORE); *lrc is the last
 * load's problem, already reported (0 when none). */
static int advance_loading(etl_reader *r, etl_cursor *c, view *v, int *lrc)
{
    *lrc = 0;
    for (;;) {
        int rc = advance(r, c, v);
        if (rc != NEED_MORE)
            return rc;
        uint32_t to = c->end - c->offset < RECORD_PEEK ? c->end : c->offset + RECORD_PEEK;
        int l = load(r, c, c->offset, to, v);
        if (l < 0)
            *lrc = l;
        if (v->p == NULL)
            return TLD_E_END;
        if (l < 0 && (c->offset < v->start || to > v->end))
            return TLD_E_END; /* cut before the cursor: reported */
    }
}

/* ---- the merge: a binary min-heap of cursors ------------------------------ */

static inline int earlier(const etl_cursor *a, const etl_cursor *b)
{
    /* A buffer has one cursor at most: (timestamp, buffer) is a total order. */
    return a->timestamp != b->timestamp ? a->timestamp < b->timestamp : a->buffer < b->buffer;
}

/* Adds cursor c to the heap (which grows by doubling). */
static int push(etl_reader *r, const etl_cursor *c)
{
    if (r->heap_count == r->heap_cap) {
        size_t n = r->heap_cap ? r->heap_cap * 2 : 64;
        etl_cursor *h = realloc(r->heap, n * sizeof *h);
        if (!h) {
            r->damaged_buffers++;
            return fail(r, TLD_E_NO_MEMORY, "out of memory for the cursor of buffer %u", c->buffer);
        }
        r->heap = h;
        r->heap_cap = n;
    }
    etl_cursor *h = r->heap;
    size_t i = r->heap_count++;
    while (i > 0 && earlier(c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = *c;
    return 0;
}

/* Moves r->enter to its first record and pushes it, or drops it (no
 * records, or damage before the first one: reported). */
static int finish_entering(etl_reader *r)
{
    etl_cursor *c = &r->enter;
    view v;
    r->entering = 0;
    int rc = enter_view(r, c, &v);
    if (rc < 0) {
        r->damaged_buffers++;
        return rc;
    }
    int lrc;
    rc = advance_loading(r, c, &v, &lrc);
    /* After a failed load the buffer is cut and advance() is quiet: rc is
     * then 0 or TLD_E_END, and lrc is the one report. */
    if (rc == 0) {
        int prc = push(r, c);
        if (prc < 0)
            return prc;
    }
    if (lrc < 0)
        return lrc;
    if (rc == TLD_E_END)
        return 0;
    return rc;
}

static void sift_down(etl_cursor *h, size_t n, size_t i)
{
    etl_cursor c = h[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && earlier(&h[k + 1], &h[k]))
            k++;
        if (!earlier(&h[k], &c))
            break;
        h[i] = h[k];
        i = k;
    }
    h[i] = c;
}

static void pop(etl_reader *r)
{
    if (--r->heap_count > 0) {
        r->heap[0] = r->heap[r->heap_count];
        sift_down(r->heap, r->heap_count, 0);
    }
}

static void free_walk(etl_reader *r)
{
    free(r->heap);
    r->heap = NULL;
    r->heap_count = r->heap_cap = 0;
    if (r->slots) {
        for (uint32_t i = 0; i < r->slot_count; i++)
            free(r->slots[i].mem);
    }
    free(r->slots);
    r->slots = NULL;
    free(r->slot_table);
    r->slot_table = NULL;
    r->slot_count = 0;
    r->memo_buffer = UINT32_MAX;
    free(r->scratch);
    r->scratch = NULL;
    r->scratch_cap = 0;
    free(r->zin);
    r->zin = NULL;
    r->zin_cap = 0;
    r->entering = 0;
    r->advance_top = 0;
}

/* Every buffer walked: frees the walk's memory, then reports, once each, a
 * file cut short (its header promised more buffers) and a session that was
 * never stopped. */
static int finish(etl_reader *r)
{
    free_walk(r);
    if (r->from_file)
        tld_read_file_close(&r->file);
    const etl_logfile_header *h = &r->header;
    if (r->finish_stage == 0) {
        r->finish_stage = 1;
        if (!r->truncation_reported && !r->resynced && h->present && h->buffers_written > r->buffer_count &&
            !(h->log_file_mode & ETL_LOG_FILE_MODE_CIRCULAR))
            return truncated(r, "the file holds %zu buffers but its header says %u were written; the file was cut "
                                "short", r->buffer_count, h->buffers_written);
        if (!r->truncation_reported && r->cut_size)
            return truncated(r, "the file ends %u bytes into buffer %u, whose header says it occupies %u bytes; "
                                "the file was cut short (after the buffer's last record)", r->cut_bytes,
                             r->cut_buffer, r->cut_size);
    }
    if (r->finish_stage == 1) {
        r->finish_stage = 2;
        if (r->not_stopped && !r->truncation_reported) {
            char when[96] = "";
            uint64_t ft = h->end_time;
            /* FILETIME -> calendar, for the message. */
            uint64_t secs = ft / 10000000u;
            uint64_t days = secs / 86400u, rem = secs % 86400u;
            /* days since 1601-01-01 -> civil date (proleptic Gregorian). */
            int64_t z = (int64_t)days - 134774 + 719468; /* to days since 0000-03-01 */
            int64_t era = (z >= 0 ? z : z - 146096) / 146097;
            int64_t doe = z - era * 146097;
            int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
            int64_t y = yoe + era * 400;
            int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            int64_t mp = (5 * doy + 2) / 153;
            int64_t d = doy - (153 * mp + 2) / 5 + 1;
            int64_t m = mp + (mp < 10 ? 3 : -9);
            y += m <= 2;
            snprintf(when, sizeof when, "%04lld-%02lld-%02lldT%02llu:%02llu:%02lluZ", (long long)y, (long long)m,
                     (long long)d, (unsigned long long)(rem / 3600), (unsigned long long)(rem / 60 % 60),
                     (unsigned long long)(rem % 60));
            return fail(r, TLD_E_NOT_STOPPED,
                        "the session that wrote this file was not stopped (it was still running when the file "
                        "was read, or its process was killed): events after its last flush, at %s, are missing",
                        when);
        }
    }
    r->done = 1;
    return TLD_E_END;
}

int etl_reader_next(etl_reader *r, etl_event *ev)
{
    for (;;) {
        if (r->done)
            return TLD_E_END;
        if (r->advance_top) { /* the last record handed out was heap[0]'s */
            r->advance_top = 0;
            etl_cursor *c = &r->heap[0];
            view v = r->last_view;
            int lrc;
            int rc = advance_loading(r, c, &v, &lrc);
            if (rc == 0)
                sift_down(r->heap, r->heap_count, 0);
            else
                pop(r);
            if (lrc < 0)
                return lrc;
            if (rc < 0 && rc != TLD_E_END)
                return rc;
            continue;
        }
        if (r->entering) {
            int rc = finish_entering(r);
            if (rc < 0)
                return rc;
            continue;
        }
        if (!r->scan_done) {
            int rc = enter_buffer(r);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->heap_count == 0)
            return finish(r);

        /* The earliest record left: advance() checked its framing. */
        etl_cursor *c = &r->heap[0];
        uint32_t off = c->offset;
        view v;
        uint32_t to = c->end - off < RECORD_PEEK ? c->end : off + RECORD_PEEK;
        int lrc = load(r, c, off, to, &v);
        rec_info ri;
        int ok = v.p != NULL && off >= v.start && off < c->end && c->end - off >= 8 && off + 8 <= v.end &&
                 classify(view_at(&v, off), &ri) == 0 && ri.size <= c->end - off && ri.size >= ri.min;
        if (ok && off + ri.size > v.end) { /* the record goes on past the window */
            int l2 = load(r, c, off, off + ri.size, &v);
            if (l2 < 0)
                lrc = l2;
            ok = v.p != NULL && off >= v.start && off + ri.size <= v.end;
        }
        if (!ok) {
            /* The load failed, or cut the buffer before this record (reported). */
            pop(r);
            if (lrc < 0)
                return lrc;
            continue;
        }
        if (lrc < 0)
            return lrc; /* reported first; the next call hands the record out */
        r->last_view = v;
        const uint8_t *p = view_at(&v, off);
        uint32_t size = ri.size;
        uint64_t key = c->timestamp;
        uint32_t b = c->buffer;
        c->offset = off + align8(size); /* move on first: whatever happens below, the walk progresses */
        r->advance_top = 1;
        memset(ev, 0, sizeof *ev);
        ev->buffer_index = b;
        ev->offset = off;
        ev->size = (uint16_t)size;
        ev->header_type = load_le16(p + 2);
        ev->pointer_size = r->header.pointer_size ? r->header.pointer_size : 8;
        int rc = 0;
        switch (ri.kind) {
        case REC_EVENT:
            rc = parse_event_header(r, p, size, ev, b, off);
            break;
        case REC_CLASSIC:
            parse_classic(p, size, ETL_CLASSIC_HEADER_SIZE, ev);
            break;
        case REC_INSTANCE:
            parse_classic(p, size, ETL_INSTANCE_HEADER_SIZE, ev);
            break;
        case REC_SYSTEM:
            parse_system(p, size, ev);
            break;
        default:
            parse_message(p, size, key, ev);
            break;
        }
        if (rc < 0) {
            r->damaged_records++;
            return rc;
        }
        ev->filetime = etl_reader_filetime(r, ev->timestamp);
        /* Every THRASH_PERIOD records: were there reads for most of them? */
        if (++r->period_records == THRASH_PERIOD) {
            uint64_t loads = r->buffer_loads - r->period_loads;
            r->thrashing = loads * 2 > THRASH_PERIOD;
            r->period_records = 0;
            r->period_loads = r->buffer_loads;
        }
        if (ri.kind == REC_SYSTEM) {
            r->system_records++;
            r->system_handed_out++;
        } else {
            r->events++;
        }
        return 0;
    }
}

/* ---- opening ------------------------------------------------------------------ */

/* Whether the session that wrote the file was stopped (etl_reader.h). */
static void detect_not_stopped(etl_reader *r, const uint8_t *buf0)
{
    const etl_logfile_header *h = &r->header;
    uint32_t s = r->buffer_size;
    if (!h->present || (h->log_file_mode & (ETL_LOG_FILE_MODE_CIRCULAR | ETL_LOG_FILE_MODE_COMPRESSED)) ||
        !(load_le16(buf0 + ETL_BUFFER_FLAG_OFFSET) & ETL_BUFFER_FLAG_FLUSH_MARKER) || s == 0 || r->len < s ||
        r->len % s != 0)
        return; /* a file cut inside a buffer is reported as cut short instead */
    uint64_t whole = r->len / s;
    if (whole == 1) {
        /* Only the header buffer: a stopped session rewrote EndTime. */
        r->not_stopped = h->end_time == h->start_time && h->buffers_written <= 1;
        return;
    }
    /* The last buffer the header counts (a buffer after it may be one whose
     * data was written but not yet its header: the write in progress). */
    uint64_t counted = h->buffers_written >= 2 && h->buffers_written < whole ? h->buffers_written : whole;
    uint8_t last[ETL_BUFFER_HEADER_SIZE];
    size_t got = 0;
    uint64_t at = (counted - 1) * s;
    if (read_at(r, at, last, sizeof last, &got) < 0 || got < sizeof last)
        return;
    if (load_le32(last + ETL_BUFFER_SIZE_OFFSET) != s || !plausible_header(r, last, 0))
        return;
    r->not_stopped = !(load_le16(last + ETL_BUFFER_FLAG_OFFSET) & ETL_BUFFER_FLAG_FLUSH_MARKER);
}

/* Common part of the two opens: the first buffer header and the logfile header. */
static int open_common(etl_reader *r)
{
    if (r->len < ETL_BUFFER_HEADER_SIZE) {
        r->done = 1;
        return fail(r, TLD_E_NOT_ETL, "not an .etl file: %llu bytes is shorter than one 72-byte buffer header",
                    (unsigned long long)r->len);
    }
    /* Buffer 0: its header and enough of it for the logfile header record. */
    size_t want = ETL_BUFFER_HEADER_SIZE + 0x10000u;
    uint8_t *b0 = malloc(want);
    if (!b0) {
        r->done = 1;
        return fail(r, TLD_E_NO_MEMORY, "out of memory reading the logfile header");
    }
    size_t got = 0;
    int e = read_at(r, 0, b0, want, &got);
    if (e < 0) {
        free(b0);
        r->done = 1;
        return io_error(r, e, 0);
    }
    uint32_t bs = load_le32(b0);
    uint16_t flags = load_le16(b0 + ETL_BUFFER_FLAG_OFFSET);
    if (bs < ETL_MIN_BUFFER_SIZE || bs > ETL_MAX_BUFFER_SIZE ||
        (!(flags & ETL_BUFFER_FLAG_COMPRESSED) && (bs & 7u))) {
        free(b0);
        r->done = 1;
        return fail(r, TLD_E_NOT_ETL,
                    "not an .etl file: first buffer header says BufferSize %u (expected a multiple of 8 "
                    "between %u and %u)", bs, ETL_MIN_BUFFER_SIZE, ETL_MAX_BUFFER_SIZE);
    }
    r->logger_id = load_le16(b0 + ETL_BUFFER_LOGGER_OFFSET);
    r->buffer0_flags = flags;
    size_t avail = got < bs ? got : bs;
    if (flags & ETL_BUFFER_FLAG_COMPRESSED) {
        /* A compressed buffer 0 (not seen in practice): expand its start. */
        uint8_t *x = malloc(want);
        size_t produced = 0;
        if (x) {
            expand(b0, avail, x, want - ETL_BUFFER_HEADER_SIZE, &produced, NULL);
            parse_logfile_header(r, x, ETL_BUFFER_HEADER_SIZE + produced);
            free(x);
        }
    } else {
        parse_logfile_header(r, b0, avail);
    }
    etl_logfile_header *h = &r->header;
    if (h->present && h->buffer_size >= ETL_MIN_BUFFER_SIZE && h->buffer_size <= ETL_MAX_BUFFER_SIZE &&
        !(h->buffer_size & 7u))
        r->buffer_size = h->buffer_size;
    else
        r->buffer_size = bs;
    if (!h->present)
        h->pointer_size = 8;
    h->buffer_size = r->buffer_size;
    detect_not_stopped(r, b0);
    free(b0);
    return 0;
}

static void init(etl_reader *r, unsigned options)
{
    memset(r, 0, sizeof *r);
    r->file.handle = -1;
    r->options = options;
    r->pool_bytes = ETL_DEFAULT_POOL_BYTES;
    r->memo_buffer = UINT32_MAX;
}

int etl_reader_open_memory(etl_reader *r, const uint8_t *data, size_t len, unsigned options)
{
    init(r, options);
    r->data = data;
    r->len = data ? len : 0;
    return open_common(r);
}

int etl_reader_open(etl_reader *r, const uint8_t *data, size_t len)
{
    return etl_reader_open_memory(r, data, len, 0);
}

int etl_reader_open_path(etl_reader *r, const char *path, unsigned options)
{
    init(r, options);
    r->from_file = 1;
    int e = tld_read_file_open(&r->file, path);
    if (e < 0) {
        r->done = 1;
        return fail(r, e, "cannot open %s: %s", path, strerror(-e));
    }
    if (!r->file.regular) {
        r->done = 1;
        tld_read_file_close(&r->file);
        return fail(r, TLD_E_NOT_REGULAR_FILE, "%s is not a regular file (a device, pipe or directory); "
                                                   ".etl files are regular files", path);
    }
    if (r->file.size > MAX_FILE_BYTES) {
        r->done = 1;
        tld_read_file_close(&r->file);
        return fail(r, TLD_E_FILE_TOO_LARGE, "%s is %llu bytes, more than the %llu bytes the reader handles",
                    path, (unsigned long long)r->file.size, (unsigned long long)MAX_FILE_BYTES);
    }
    r->len = r->file.size;
    int rc = open_common(r);
    if (rc != 0)
        tld_read_file_close(&r->file);
    if (rc == TLD_E_NOT_ETL) {
        char m[sizeof r->message];
        memcpy(m, r->message, sizeof m);
        size_t pl = strlen(path);
        if (pl > 120)
            pl = 120;
        size_t ml = strnlen(m, sizeof m - 1);
        if (ml > sizeof r->message - pl - 3)
            ml = sizeof r->message - pl - 3;
        memcpy(r->message, path, pl);
        memcpy(r->message + pl, ": ", 2);
        memcpy(r->message + pl + 2, m, ml);
        r->message[pl + 2 + ml] = '\0';
    }
    return rc;
}

void etl_reader_set_pool_size(etl_reader *r, size_t bytes)
{
    if (!r->slots)
        r->pool_bytes = bytes;
}

void etl_reader_close(etl_reader *r)
{
    free_walk(r);
    if (r->from_file)
        tld_read_file_close(&r->file);
    r->file.handle = -1;
    r->done = 1;
}

const etl_logfile_header *etl_reader_header(const etl_reader *r)
{
    return &r->header;
}

const char *etl_reader_message(const etl_reader *r)
{
    return r->message;
}

int etl_reader_not_stopped(const etl_reader *r, uint64_t *last_flush)
{
    if (last_flush)
        *last_flush = r->not_stopped ? r->header.end_time : 0;
    return r->not_stopped;
}

/* ---- whole files (tests) --------------------------------------------------- */

int etl_load_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    tld_read_file f;
    int e = tld_read_file_open(&f, path);
    if (e < 0)
        return e;
    if (!f.regular || f.size > SIZE_MAX - 1) {
        tld_read_file_close(&f);
        return !f.regular ? TLD_E_NOT_REGULAR_FILE : TLD_E_FILE_TOO_LARGE;
    }
    size_t n = (size_t)f.size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        tld_read_file_close(&f);
        return TLD_E_NO_MEMORY;
    }
    size_t got = 0;
    e = tld_read_file_at(&f, buf, n, 0, &got);
    tld_read_file_close(&f);
    if (e < 0) {
        free(buf);
        return e;
    }
    *data = buf;
    *len = got;
    return 0;
}

void etl_free_file(uint8_t *data)
{
    free(data);
}
