/*
 * tl_decoder_errors.h — the error codes of the decoder block (-1301..)
 * beyond TLD_E_DECODE_PARTIAL of tld_errors.h. tld_strerror()
 * (src/core/errors.c) turns them into sentences.
 *
 * TODO(lead): move into include/tracelogging/tld_errors.h.
 */
#ifndef TLD_TL_DECODER_ERRORS_H
#define TLD_TL_DECODER_ERRORS_H

#include "tracelogging/tld_errors.h"

enum {
    TLD_E_DECODE_NAMES = -1302,      /* a TraceLogging provider or event name is missing or malformed */
};

#endif
