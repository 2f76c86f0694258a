/*
 * etl_summary.h — counts of what an .etl file holds, made in one pass
 * without formatting a line per event: events per (provider, event name),
 * kernel records per class and opcode, the time span. What `decode
 * --summary` prints; fast enough for multi-GB traces (no JSON, one hash
 * lookup per record).
 *
 *     etl_summary *s;
 *     etl_summary_new(&s);
 *     while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END)
 *         if (rc == 0) etl_summary_add(s, &ev);
 *     for (size_t i = 0; i < etl_summary_rows(s); i++) ... etl_summary_row(s, i) ...
 *     etl_summary_free(s);
 *
 * Keys: a TraceLogging event by its provider and event names; another
 * event-header, classic or WPP record by its provider (class) id and event
 * id ("{guid}", "id 42"); a kernel record as provider "MSNT_SystemTrace"
 * with event "Class/Opcode" (etl_kernel.h).
 */
#ifndef TLD_ETL_SUMMARY_H
#define TLD_ETL_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "etl_reader.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct etl_summary etl_summary;

typedef struct etl_summary_row {
    const char *provider;       /* UTF-8 as found (TraceLogging names may hold any bytes) */
    size_t provider_len;
    const char *event;
    size_t event_len;
    uint64_t count;
    int kind;                   /* enum etl_event_kind of the records counted */
} etl_summary_row;

/* Returns 0 or TLD_E_NO_MEMORY. */
int etl_summary_new(etl_summary **out);
void etl_summary_free(etl_summary *s);

/* Counts one record. Returns 0 or TLD_E_NO_MEMORY. */
int etl_summary_add(etl_summary *s, const etl_event *ev);

/* Distinct keys so far, and each one's names and count (first-seen order). */
size_t etl_summary_rows(const etl_summary *s);
const etl_summary_row *etl_summary_row_at(etl_summary *s, size_t i);

/* Records counted by kind (ETL_KIND_*), and the earliest and latest
 * FILETIME seen (0 when none). */
uint64_t etl_summary_count(const etl_summary *s, int kind);
uint64_t etl_summary_first_time(const etl_summary *s);
uint64_t etl_summary_last_time(const etl_summary *s);

#ifdef __cplusplus
}
#endif

#endif
