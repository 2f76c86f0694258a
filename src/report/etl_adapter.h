/*
 * etl_adapter.h — feeds the events of an .etl file into a profile
 * (profile.h): the "Python" provider's events (PythonFunction,
 * PythonFunctionPush/Pop, PythonMark, PythonThread, PythonStackSample) are
 * read straight from their payloads by their fixed layouts — the event's
 * TraceLogging metadata is checked once per distinct schema, not decoded
 * per event — and every event carrying a native stack (STACK_TRACE64/32)
 * becomes an address sample, mapped to Python functions through the
 * PythonFunction address ranges (the thunks of stack-sampling mode).
 *
 * Timestamps become nanoseconds since the session start (the logfile
 * header's StartClock and PerfFreq). Damage reported by the reader is
 * noted in the profile (rp_note_damage) and the walk goes on, so a file
 * cut short still gives what it holds.
 */
#ifndef TLD_REPORT_ETL_ADAPTER_H
#define TLD_REPORT_ETL_ADAPTER_H

#include <stddef.h>
#include <stdint.h>

#include "etl_reader.h"
#include "profile.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rp_etl_counts {
    uint64_t events;            /* event records read */
    uint64_t python_events;     /* of the "Python" provider, understood */
    uint64_t stacks;            /* events carrying a stack (became samples) */
    uint64_t other_events;      /* neither */
    uint64_t reader_errors;     /* damage reports from the reader */
    uint64_t events_lost;       /* the logfile header's EventsLost */
} rp_etl_counts;

/* Feeds every event of an opened reader into `p` (not finished: the caller
 * may feed more, then calls rp_profile_finish). Returns 0, or a negative
 * TLD_E_* code when the profile could not take an event (out of memory);
 * the message is then in rp_profile_message(p). `counts` may be NULL. */
int rp_etl_feed(rp_profile *p, etl_reader *r, rp_etl_counts *counts);

/* Opens `path`, feeds it, closes it. Returns 0; -errno when the file cannot
 * be read, TLD_E_NOT_ETL when it is not an .etl file (a sentence in
 * `message` for both); or what rp_etl_feed returns. */
int rp_etl_load_file(rp_profile *p, const char *path, rp_etl_counts *counts, char *message, size_t message_size);

#ifdef __cplusplus
}
#endif

#endif
