/*
 * tl_decoder_errors.h — the error codes of the decoder block (-1301..).
 * tld_strerror() (src/core/errors.c) turns them into sentences.
 *
 * TODO(lead): move into include/tracelogging/tld_errors.h with the other
 * blocks.
 */
#ifndef TLD_TL_DECODER_ERRORS_H
#define TLD_TL_DECODER_ERRORS_H

enum {
    TLD_E_DECODE_INCOMPLETE = -1301, /* the event's line was written but carries an "error" */
    TLD_E_DECODE_NAMES = -1302,      /* a TraceLogging provider or event name is missing or malformed */
};

#endif
