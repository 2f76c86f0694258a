/*
 * etl_reader_errors.h — the error codes of the .etl reader block (-1201..)
 * and the iterators' end code. tld_strerror() (src/core/errors.c) turns
 * them into sentences; etl_reader_message() says which buffer or record.
 *
 * TODO(lead): move these into include/tracelogging/tld_errors.h with the
 * other blocks, and TLD_E_END to its common place; then include that
 * header here (or drop this one).
 */
#ifndef TLD_ETL_READER_ERRORS_H
#define TLD_ETL_READER_ERRORS_H

/* Iterators: no more items (not an error). */
#ifndef TLD_E_END
#define TLD_E_END (-1000)
#endif

enum {
    TLD_E_ETL_NOT_ETL = -1201,          /* the first buffer header is unusable: not an .etl file */
    TLD_E_ETL_DAMAGED = -1202,          /* a record or buffer is damaged; the walk goes on */
    TLD_E_ETL_TRUNCATED = -1203,        /* the file ends inside a buffer or a record */
    TLD_E_ETL_NOT_REGULAR_FILE = -1204, /* a device, pipe or directory: not read */
    TLD_E_ETL_FILE_TOO_LARGE = -1205,   /* beyond the sizes the reader handles */
    TLD_E_ETL_TOO_MANY_BUFFERS = -1206, /* the cursors would exceed the reader's memory bound */
    TLD_E_ETL_NOT_STOPPED = -1207,      /* the writing session never stopped: the end is missing */
    TLD_E_LZ77_DAMAGED = -1208,         /* compressed data that does not decode */
    TLD_E_LZ77_OUTPUT_FULL = -1209,     /* compressed data expands beyond the space given */
    TLD_E_ETL_KERNEL_PAYLOAD = -1210,   /* a kernel record too short for its class and version */
};

#endif
