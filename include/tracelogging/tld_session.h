/*
 * tld_session.h — public C API of in-process trace sessions: record the
 * events of chosen providers into a genuine .etl file (the log-file format of
 * Windows' ETW, readable by WPA, PerfView, tracefmt and our own decoder),
 * on any platform, without administrator rights.
 *
 * A session is an ETW-style filter plus a destination:
 *
 *     tld_session_provider enable[] = {
 *         { .name = "MyCompany.MyComponent", .name_len = 21, .level = 5 },
 *     };
 *     tld_session_config cfg = { .path = "/tmp/trace.etl",
 *                                .providers = enable, .provider_count = 1 };
 *     tld_session *s;
 *     char why[256];
 *     cfg.error_message = why;
 *     cfg.error_message_size = sizeof why;
 *     if (tld_session_start(&s, &cfg) != 0) { fprintf(stderr, "%s\n", why); ... }
 *     ... providers write events ...
 *     tld_session_stats st;
 *     tld_session_stop(s, &st);
 *
 * Several sessions may run at once, each with its own file. Starting or
 * stopping one updates the enable state of every matching provider (so
 * tld_provider_is_enabled() turns true while a session listens, and false
 * again when the last one stops); providers opened later pick up the live
 * sessions. Writing an event never takes a process-wide lock.
 *
 * Filtering (ETW's rules, applied per session and per provider entry):
 *   - level: the event passes when event.level <= entry.level, or when
 *     either of them is 0 (0 in the entry means every level);
 *   - keyword: the event passes when event.keyword == 0, or when
 *     (event.keyword & any) != 0 and (event.keyword & all) == all, where
 *     `any` is entry.match_any, or all-ones when entry.match_any is 0 (as
 *     ETW treats a MatchAnyKeyword of 0).
 * An event is recorded once per session when any of the session's entries
 * that name its provider accepts it.
 *
 * Conventions: functions return 0 or a negative code (tld_errors.h:
 * TLD_E_* or -errno); tld_strerror() explains any of them.
 *
 * Fork: a session belongs to the process that started it. A forked child
 * inherits none of it: its providers start disabled, nothing it writes
 * reaches the parent's sessions, and tld_session_stop() of an inherited
 * session releases the child's copy without touching the file, returning
 * TLD_E_NOT_OURS. The child may start sessions of its own.
 */
#ifndef TRACELOGGING_TLD_SESSION_H
#define TRACELOGGING_TLD_SESSION_H

#include "tracelogging/tld.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults of a zero field in tld_session_config. */
#define TLD_SESSION_DEFAULT_BUFFER_SIZE 65536
#define TLD_SESSION_DEFAULT_FLUSH_MS 1000u
#define TLD_SESSION_DEFAULT_MEMORY (2u * 1024u * 1024u) /* buffers held in memory: 4..64 of them */

/* One provider a session enables. */
typedef struct tld_session_provider {
    /* Either an id (matched against tld_provider_id()) ... */
    const tld_guid *id;
    /* ... or, when id is NULL, a name matched against the provider's name:
     * same length and same bytes, ASCII letters compared case-insensitively
     * (as ETW compares provider names). Not NUL-terminated; name_len > 0. */
    const char *name;
    size_t name_len;
    uint8_t level;             /* 0 = all levels */
    uint64_t match_any;        /* 0 = all keywords */
    uint64_t match_all;
    /* Events accepted by this entry whose keyword shares a bit with this
     * mask get a STACK_TRACE64 item: the writing thread's return addresses,
     * innermost first, starting in the function that called
     * tld_provider_write(). Events with keyword 0 never get stacks. */
    uint64_t stack_keywords;
} tld_session_provider;

typedef struct tld_session_config {
    const char *path;            /* output .etl file (NUL-terminated); created
                                    with mode 0600 or truncated; a symbolic
                                    link there is refused (O_NOFOLLOW) */
    const char *logger_name;     /* recorded in the file header; NULL: "tld-session" */
    uint32_t buffer_size;        /* bytes per buffer; 0 = the default; else a multiple
                                    of 1024 from 4 KiB to 16 MiB. An event larger
                                    than a buffer (or than 65535 bytes with its
                                    headers) is dropped and counted as lost. */
    uint32_t buffer_count;       /* buffers held in memory; 0 = default
                                    (TLD_SESSION_DEFAULT_MEMORY worth). Writers wait when all
                                    of them are waiting for the disk. */
    uint64_t max_file_size;      /* 0 = no limit; else the file stops growing at
                                    this many bytes (whole buffers, at least two):
                                    recording stops and later events are counted
                                    as lost (stats.stop_reason TLD_E_SIZE_LIMIT) */
    uint32_t flush_interval_ms;  /* 0 = the default: at least this often, events
                                    reach the file (and survive a crash) */
    const tld_session_provider *providers;
    size_t provider_count;       /* may be 0: a session that records nothing */
    /* Optional: where to write a sentence explaining why start failed. */
    char *error_message;
    size_t error_message_size;
} tld_session_config;

/* Counters never decrease, except events_pending. A failed write (e.g. a
 * full disk) stops recording: the file keeps what was written before and
 * stays readable; stop_reason says why, and later events count as lost. */
typedef struct tld_session_stats {
    uint64_t events_written;     /* events stored in the file */
    uint64_t events_pending;     /* recorded, in memory, not yet in the file */
    uint64_t events_lost;        /* events dropped: too large, a failed file write,
                                    the size limit, or offered after recording
                                    stopped (also in the file's EventsLost) */
    uint64_t buffers_written;    /* buffers in the file, header buffer included */
    int write_error;             /* first -errno from writing the file, 0 if none */
    int stop_reason;             /* 0 while recording, else why it stopped early:
                                    -errno of a failed write, or TLD_E_SIZE_LIMIT */
} tld_session_stats;

typedef struct tld_session tld_session;

/*
 * Creates the file, writes its header and starts recording. The
 * configuration is copied; nothing in it needs to outlive the call.
 * Returns 0 and sets *out, or fails with TLD_E_SESSION_CONFIG /
 * TLD_E_INVALID_ARG (bad configuration), TLD_E_NO_MEMORY, or -errno when
 * the file cannot be created or written (e.g. -ENOENT, -EACCES, -ELOOP for
 * a symbolic link, -EPERM for a file of another user, -EINVAL for a FIFO or
 * device at the path); then *out is NULL and cfg->error_message
 * (if given) says what went wrong, naming the path.
 * Thread-safe; may run while other threads write events.
 */
int tld_session_start(tld_session **out, const tld_session_config *cfg);

/*
 * Stops recording, writes every buffered event, finalizes the file header,
 * closes the file and frees the session. Threads writing through matching
 * providers meanwhile are safe: each of their events is either recorded or
 * not, and none is being copied when the file closes. `stats` may be NULL.
 * Returns 0, or the first -errno met while writing the file (the events
 * lost to it are counted in stats->events_lost). `s` must be a live
 * session; stop it exactly once. NULL is allowed and does nothing. In a
 * forked child, releases the inherited copy and returns TLD_E_NOT_OURS
 * (see "Fork" above); `stats` are then zero.
 */
int tld_session_stop(tld_session *s, tld_session_stats *stats);

/* Writes everything recorded so far to the file now. Thread-safe.
 * Returns 0, -errno, or TLD_E_NOT_OURS in a forked child. */
int tld_session_flush(tld_session *s);

/* Current counters of a live session (zero in a forked child). Thread-safe. */
void tld_session_get_stats(tld_session *s, tld_session_stats *stats);

/*
 * The session's provider entries (indexes into cfg->providers) that no
 * provider of this process has matched, by name or id, since the session
 * started: a misspelled name or a wrong id records nothing, and this says
 * which. Writes up to `capacity` indexes, in order, and returns how many
 * entries are unmatched (may exceed capacity). Call it before
 * tld_session_stop(). Thread-safe; 0 in a forked child.
 */
size_t tld_session_unmatched_providers(tld_session *s, size_t *indexes, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* TRACELOGGING_TLD_SESSION_H */
