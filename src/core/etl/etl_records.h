/*
 * etl_records.h — the bytes of an .etl file the writer produces: buffer
 * headers, buffer 0 (the logfile header), and event records with their
 * extended items. Pure layout, no state; the writer (etl_writer.c) decides
 * where they go. Constants: etl_format.h.
 */
#ifndef TLD_ETL_RECORDS_H
#define TLD_ETL_RECORDS_H

#include "etl_format.h"
#include "etl_writer.h"

#include <stddef.h>
#include <stdint.h>

static inline size_t etl_align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}

/* Fills the 0x48-byte buffer header at h. */
void etl_fill_buffer_header(uint8_t *h, uint32_t buffer_size, uint16_t logger_id, uint32_t used,
                            uint64_t timestamp, uint64_t sequence, uint16_t flag, uint16_t type);

/*
 * Builds buffer 0 at b (buffer_size bytes): buffer header, system header +
 * TRACE_LOGFILE_HEADER + the logger and file names, and the extra 0x50-byte
 * system record real files carry. Sets *used to the bytes filled. Returns
 * 0, or TLD_E_INVALID_ARG when the names do not fit in one buffer.
 */
int etl_build_header_buffer(uint8_t *b, uint32_t buffer_size, uint16_t logger_id, const char *logger_name,
                            const char *path, uint32_t *used);

/* Updates the counters of a buffer 0 built by etl_build_header_buffer(). */
void etl_update_header_buffer(uint8_t *b, uint64_t end_filetime, uint64_t perf_freq, uint32_t buffers_written,
                              uint32_t events_lost);

/* Formats the record of `ev` (`size` from etl_record_size) at p,
 * zero-padded to 8 bytes, with this timestamp. */
void etl_format_record(uint8_t *p, size_t size, const etl_writer_event *ev, uint64_t timestamp);

/* A prepared record: the event header and extended items, formatted once
 * (etl_writer.h); the writer copies `head` and stamps size, thread,
 * process and time into the copy. */
struct etl_prepared_record {
    size_t head_len;  /* event header + extended items, a multiple of 8 */
    uint8_t head[];
};

#endif
