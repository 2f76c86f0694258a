/*
 * etl_reader_errors.h — the error codes of the .etl reader block (-1201..)
 * beyond those tld_errors.h has (TLD_E_NOT_ETL, TLD_E_DAMAGED,
 * TLD_E_TRUNCATED; TLD_E_END for the iterator's end). tld_strerror()
 * (src/core/errors.c) turns them into sentences; etl_reader_message()
 * says which buffer or record.
 *
 * TODO(lead): move these into include/tracelogging/tld_errors.h.
 */
#ifndef TLD_ETL_READER_ERRORS_H
#define TLD_ETL_READER_ERRORS_H

#include "tracelogging/tld_errors.h"

enum {
    TLD_E_NOT_REGULAR_FILE = -1204,  /* a device, pipe or directory: not read */
    TLD_E_FILE_TOO_LARGE = -1205,    /* beyond the sizes the reader handles */
    TLD_E_TOO_MANY_BUFFERS = -1206,  /* the cursors would exceed the reader's memory bound */
    TLD_E_NOT_STOPPED = -1207,       /* the writing session never stopped: the end is missing */
    TLD_E_LZ77_DAMAGED = -1208,      /* compressed data that does not decode */
    TLD_E_LZ77_OUTPUT_FULL = -1209,  /* compressed data expands beyond the space given */
    TLD_E_KERNEL_PAYLOAD = -1210,    /* a kernel record too short for its class and version */
};

#endif
