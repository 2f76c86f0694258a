/*
 * errors.c — tld_strerror(): a sentence for every code of tld_errors.h and
 * for every -errno.
 */
#include "tracelogging/tld_errors.h"

#include <string.h>

const char *tld_strerror(int code)
{
    switch (code) {
    case TLD_OK: return "success";
    case TLD_E_END: return "no more items";
    case TLD_E_NO_MEMORY: return "out of memory";
    case TLD_E_ERROR_STATE: return "EventBuilder is in an error state; call reset() to start a new event";
    case TLD_E_TOO_MANY_FIELDS: return "too many fields: an event holds at most 128 field slots (arrays and binary fields use two)";
    case TLD_E_META_TOO_LONG: return "event metadata exceeds 32768 bytes";
    case TLD_E_DATA_TOO_LONG: return "event data exceeds 65536 bytes";
    case TLD_E_EVENT_TAG: return "event tag must fit in 28 bits (0 <= tag <= 0x0FFFFFFF)";
    case TLD_E_FIELD_TAG: return "field tag must fit in 28 bits (0 <= tag <= 0x0FFFFFFF)";
    case TLD_E_NAME_NUL: return "name must not contain 0x00 bytes";
    case TLD_E_STRUCT_COUNT: return "struct member count must be between 1 and 127";
    case TLD_E_GUID_LENGTH: return "GUID value must be exactly 16 bytes";
    case TLD_E_SYSTEMTIME_LENGTH: return "SYSTEMTIME value must be exactly 16 bytes";
    case TLD_E_SID_LENGTH: return "SID value must be 8 + 4 * SubAuthorityCount bytes long";
    case TLD_E_SID_SHORT: return "SID value is shorter than its 2-byte header";
    case TLD_E_ODD_UTF16: return "UTF-16LE value must have an even number of bytes";
    case TLD_E_COUNT_RANGE: return "array has more than 65535 elements";
    case TLD_E_PROVIDER_NAME: return "provider name must not be empty and must not contain 0x00 bytes";
    case TLD_E_TRAITS_TOO_LONG: return "provider name too long: the provider traits (name + 3 bytes, + 19 with a group) must fit in 65535 bytes";
    case TLD_E_INVALID_ARG: return "invalid argument (NULL pointer or unusable value)";
    case TLD_E_SESSION_CONFIG: return "invalid trace session configuration";
    case TLD_E_SIZE_LIMIT: return "the trace file reached its size limit; recording stopped";
    case TLD_E_NOT_OURS: return "the trace session belongs to the process that started it (this is a forked child)";
    case TLD_E_NOT_ETL: return "not an .etl file";
    case TLD_E_DAMAGED: return "the trace file is damaged";
    case TLD_E_TRUNCATED: return "the trace file is cut short";
    case TLD_E_DECODE_PARTIAL: return "the event could only be decoded in part";
    case TLD_E_NOT_REGULAR_FILE: return "not a regular file (a device, pipe or directory); .etl files are regular files";
    case TLD_E_FILE_TOO_LARGE: return "the file is larger than the .etl reader handles";
    case TLD_E_TOO_MANY_BUFFERS: return "the .etl file has more buffers than the reader walks in bounded memory";
    case TLD_E_NOT_STOPPED: return "the session that wrote the .etl file was not stopped; events after its last flush are missing";
    case TLD_E_LZ77_DAMAGED: return "compressed data is damaged (the LZ77 stream does not decode)";
    case TLD_E_LZ77_OUTPUT_FULL: return "compressed data expands beyond the space given";
    case TLD_E_KERNEL_PAYLOAD: return "a kernel record's payload is too short for its class and version";
    case TLD_E_DECODE_NAMES: return "the event's TraceLogging provider or event name is missing or malformed";
    case TLD_E_REPORT_INVALID: return "invalid argument";
    case TLD_E_REPORT_NO_TIMELINE: return "this profile was loaded without its timeline (needed by the time-ordered formats)";
    case TLD_E_REPORT_FINISHED: return "the profile is finished: it takes no more input";
    case TLD_E_REPORT_NOT_FINISHED: return "the profile is not finished yet";
    case TLD_E_REPORT_LIMIT: return "the profile holds more than 2^30 functions, threads or call stacks";
    case TLD_E_SAMPLER_RUNNING: return "the sampler is already running";
    case TLD_E_SAMPLER_NOT_RUNNING: return "the sampler is not running";
    case TLD_E_SAMPLER_NO_SIGNAL: return "every realtime signal already has a handler, none is left for the sampler";
    case TLD_E_SAMPLER_TOO_MANY_THREADS: return "too many threads to sample at a time";
    case TLD_E_SAMPLER_UNSUPPORTED: return "the built-in sampler needs per-thread timers (Linux)";
    case TLD_E_SAMPLER_BAD_ARGUMENT: return "a sampler setting is out of range";
    case TLD_E_ETW_NOT_REGISTERED: return "the provider is not registered with ETW (not on Windows, ETW turned off "
                                          "with TRACELOGGING_ETW=0, or the provider is closed)";
    default: break;
    }
    if (code < 0 && code > TLD_E_END)
        return strerror(-code);
    return "unknown error";
}
