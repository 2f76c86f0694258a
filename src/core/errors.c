/*
 * errors.c — sentences for the core's error codes.
 */
#include "tracelogging/tld.h"

/* TODO(lead): these blocks' codes move to tld_errors.h. */
#include "etl_reader_errors.h"
#include "tl_decoder_errors.h"

const char *tld_strerror(int code)
{
    switch (code) {
    case TLD_OK: return "success";
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
    case TLD_E_END: return "no more items";
    case TLD_E_ETL_NOT_ETL: return "not an .etl file (the first buffer header is unusable)";
    case TLD_E_ETL_DAMAGED: return "the .etl file holds a damaged record or buffer";
    case TLD_E_ETL_TRUNCATED: return "the .etl file was cut short";
    case TLD_E_ETL_NOT_REGULAR_FILE: return "not a regular file (a device, pipe or directory); .etl files are regular files";
    case TLD_E_ETL_FILE_TOO_LARGE: return "the file is larger than the .etl reader handles";
    case TLD_E_ETL_TOO_MANY_BUFFERS: return "the .etl file has more buffers than the reader walks in bounded memory";
    case TLD_E_ETL_NOT_STOPPED: return "the session that wrote the .etl file was not stopped; events after its last flush are missing";
    case TLD_E_LZ77_DAMAGED: return "compressed data is damaged (LZ77 stream does not decode)";
    case TLD_E_LZ77_OUTPUT_FULL: return "compressed data expands beyond the space given";
    case TLD_E_ETL_KERNEL_PAYLOAD: return "a kernel record's payload is too short for its class and version";
    case TLD_E_DECODE_INCOMPLETE: return "the event could not be fully decoded";
    case TLD_E_DECODE_NAMES: return "the event's TraceLogging provider or event name is missing or malformed";
    default: return code > 0 ? "operating system error" : "unknown error";
    }
}
