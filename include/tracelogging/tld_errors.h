/*
 * tld_errors.h — the one error convention of the C API.
 *
 * Every function that can fail returns an int: 0 on success, or a negative
 * code. Two kinds of negative codes share one number space:
 *
 *   -1 .. -999     -errno: the operating system refused (e.g. -ENOENT,
 *                  -EACCES, -ENOSPC); on Windows the C library's errno
 *                  values, mapped from Win32 errors.
 *   -1000 and below   TLD_E_* below, in one block per part of the library.
 *
 * Iterators return 0 with an item, TLD_E_END when there are no more items
 * (not an error), or another code. tld_strerror() turns any code into a
 * sentence. Where a sentence about the particular failure is more useful
 * (which path, which field), functions also fill a caller-provided message
 * buffer or keep one behind an accessor; the code stays the contract.
 */
#ifndef TRACELOGGING_TLD_ERRORS_H
#define TRACELOGGING_TLD_ERRORS_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    TLD_OK = 0,
    TLD_E_END = -1000,            /* an iterator has no more items */

    /* Event encoding (tld.h). */
    TLD_E_NO_MEMORY = -1001,      /* malloc failed */
    TLD_E_ERROR_STATE = -1002,    /* builder is in the error state; reset() it */
    TLD_E_TOO_MANY_FIELDS = -1003,/* more than 128 field slots */
    TLD_E_META_TOO_LONG = -1004,  /* metadata would exceed 32768 bytes */
    TLD_E_DATA_TOO_LONG = -1005,  /* data would exceed 65536 bytes */
    TLD_E_EVENT_TAG = -1006,      /* event tag does not fit in 28 bits */
    TLD_E_FIELD_TAG = -1007,      /* field tag does not fit in 28 bits (C API only) */
    TLD_E_NAME_NUL = -1008,       /* event or field name contains a 0x00 byte */
    TLD_E_STRUCT_COUNT = -1009,   /* struct member count outside 1..127 */
    TLD_E_GUID_LENGTH = -1010,    /* GUID value is not 16 bytes */
    TLD_E_SYSTEMTIME_LENGTH = -1011, /* SYSTEMTIME value is not 16 bytes */
    TLD_E_SID_LENGTH = -1012,     /* SID length is not 8 + 4 * SubAuthorityCount */
    TLD_E_SID_SHORT = -1013,      /* SID shorter than its 2-byte header */
    TLD_E_ODD_UTF16 = -1014,      /* UTF-16 byte string of odd length */
    TLD_E_COUNT_RANGE = -1015,    /* array or value longer than 65535 elements/bytes */
    TLD_E_PROVIDER_NAME = -1016,  /* provider name empty or contains 0x00 */
    TLD_E_INVALID_ARG = -1017,    /* NULL pointer or otherwise unusable argument */
    TLD_E_TRAITS_TOO_LONG = -1018,/* provider name too long for the 65535-byte traits blob */

    /* Sessions (tld_session.h). */
    TLD_E_SESSION_CONFIG = -1101, /* unusable configuration; the error message says which part */
    TLD_E_NOT_OURS = -1102,       /* the session was started by another process (fork) */
    TLD_E_SIZE_LIMIT = -1103,     /* the trace file reached its size limit; recording stopped */

    /* .etl reading (src/core/etl/etl_reader.h). */
    TLD_E_NOT_ETL = -1201,        /* first buffer header unusable: not an .etl file */
    TLD_E_DAMAGED = -1202,        /* a record or buffer is damaged; reading goes on */
    TLD_E_TRUNCATED = -1203,      /* the file ends inside a buffer or a record */
    TLD_E_NOT_REGULAR_FILE = -1204, /* a device, pipe or directory: not read */
    TLD_E_FILE_TOO_LARGE = -1205, /* beyond the sizes the reader handles */
    TLD_E_TOO_MANY_BUFFERS = -1206, /* the cursors would exceed the reader's memory bound */
    TLD_E_NOT_STOPPED = -1207,    /* the writing session never stopped: the end is missing */
    TLD_E_LZ77_DAMAGED = -1208,   /* compressed data that does not decode */
    TLD_E_LZ77_OUTPUT_FULL = -1209, /* compressed data expands beyond the space given */
    TLD_E_KERNEL_PAYLOAD = -1210, /* a kernel record too short for its class and version */

    /* Decoding (src/core/decoder/). */
    TLD_E_DECODE_PARTIAL = -1301, /* the event decoded only in part; the output says where it stopped */
    TLD_E_DECODE_NAMES = -1302,   /* a TraceLogging provider or event name is missing or malformed */

    /* Reports (src/report/). */
    TLD_E_REPORT_INVALID = -1501, /* an argument was unusable (the message says which) */
    TLD_E_REPORT_NO_TIMELINE = -1502, /* a time-ordered format was asked of a profile loaded without one */
    TLD_E_REPORT_FINISHED = -1503, /* input given after the profile was finished */
    TLD_E_REPORT_NOT_FINISHED = -1504, /* a writer was called before the profile was finished */
    TLD_E_REPORT_LIMIT = -1505,   /* more than 2^30 functions, threads or tree nodes */

    /* The built-in sampler (src/python/etwtrace/sampler.h). */
    TLD_E_SAMPLER_RUNNING = -1601, /* already started */
    TLD_E_SAMPLER_NOT_RUNNING = -1602, /* not started */
    TLD_E_SAMPLER_NO_SIGNAL = -1603, /* every realtime signal is in use */
    TLD_E_SAMPLER_TOO_MANY_THREADS = -1604, /* more threads than sampler slots */
    TLD_E_SAMPLER_UNSUPPORTED = -1605, /* no per-thread timers on this platform */
    TLD_E_SAMPLER_BAD_ARGUMENT = -1606, /* a sampler setting is out of range */

    /* Windows and ETW (src/core/session/etw_sink*.c). */
    TLD_E_ETW_NOT_REGISTERED = -1701, /* the ETW sink holds no registration for this provider */
};

/* A sentence for any code above or any -errno (never NULL, never freed). */
const char *tld_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
