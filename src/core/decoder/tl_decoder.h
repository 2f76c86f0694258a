/*
 * tl_decoder.h — turns event records from etl_reader.h into JSON lines or
 * one-line text: TraceLogging events get their provider name, event name
 * and fields decoded from the PROV_TRAITS and EVENT_SCHEMA_TL items; other
 * events keep their raw payload as hex. This is the one decoder the CLI,
 * the reports, the tests and the Python binding share.
 *
 * JSON shape (one object per event, keys in this order):
 *
 *   {"time":"2019-12-18T16:47:36.1234567Z", "provider":"AmsiTrace" | null,
 *    "provider_id":"8e805eb3-...", "event":"AmsiScript" | null, "level":5,
 *    "keyword":"0x0", "opcode":0, "id":0, "version":0, "task":0, "channel":11,
 *    "pid":29868, "tid":27320, "activity_id":null | "<guid>",
 *    "related_activity_id":null | "<guid>",
 *    "fields":{...}            TraceLogging events
 *    "payload":"<hex>"         other events (and "message" for string-only events)
 *    "stack":[addr, ...]       when a stack item is present
 *    "unparsed":"<hex>"        data left over after the last field, if any
 *    "error":"<sentence>"}     when something could not be decoded
 *
 * Decisions (also in the test): `keyword` is a "0x..." string (it is a
 * bit mask, and 64-bit numbers lose precision in many JSON readers); an
 * all-zero activity id and an absent related activity id are null. Value
 * mapping: integers are JSON numbers (exact 64-bit decimal); HEXINT32/64,
 * POINTER, any integer with out-type HEX, NTSTATUS or HRESULT are "0x..."
 * strings; BOOL32 and integers with out-type BOOLEAN are true/false; GUIDs
 * are strings; BINARY/COUNTEDBINARY are lowercase hex strings (IPv6
 * out-type: an address string); FILETIME/SYSTEMTIME are ISO 8601 strings;
 * SIDs are "S-1-..."; floats are numbers with "nan"/"inf"/"-inf" strings;
 * UINT8/UINT16 with out-type STRING are characters and their arrays one
 * string (TDH's char8/char16); UINT32 with out-type IPV4 is "a.b.c.d";
 * UINT16 with out-type PORT is converted from network order. ANSI strings
 * are UTF-8 when the out-type is UTF8, XML or JSON, else Windows-1252.
 * Invalid UTF-8/UTF-16 becomes U+FFFD. Arrays are lists, structs objects.
 * A repeated field name at one level gets a "#2", "#3", ... suffix.
 *
 * Kernel (system) records: "provider":"MSNT_SystemTrace", "provider_id" the
 * class GUID (null when not known), "event" "Class/Opcode" (etl_kernel.h:
 * "Process/Start", "PerfInfo/SampledProfile", "StackWalk/Stack", ...),
 * "opcode" the record's type, "version" its version, "pid"/"tid" from the
 * header or, where the header has none (PERFINFO records), from the
 * payload, else null; then "hook":"0x0f2e" and "clock" (the raw
 * timestamp: a StackWalk's EventTimeStamp equals its sample's clock), and
 * "fields" for Process, Thread, Image, SampledProfile and StackWalk
 * (whose addresses go to "stack"), "payload" (hex) for other classes.
 * Records of WPP messages are shown like non-TraceLogging events.
 *
 * Text shape: "<time> <provider>/<event> <level> <pid> <tid> [opcode=<op>] name=value ..."
 * with values written as in JSON (strings quoted); opcode= appears when
 * the opcode is not 0 (start, stop, dc_start, dc_stop, ... or the number).
 * Non-TraceLogging events: "<time> {<provider_id>}/<id> <level> <pid> <tid>
 * payload="<hex>"". Kernel records: "<time> MSNT_SystemTrace/<Class>/<Opcode>
 * 0 <pid> <tid> Field=value ...". A missing pid/tid is "-". Stacks are
 * quoted hex addresses, each followed by what the trace so far says it is
 * inside of: "0x7f1200001010 fib (x.py:3)" for the thunk range of an
 * etwtrace PythonFunction event of the same process, "0x7ff61230 ntdll.dll+0x1230"
 * for an image of a kernel Image event. Events stream in time order and
 * the events that define ranges precede the stacks that use them, so the
 * names known when a stack is printed are the ones available.
 */
#ifndef TLD_TL_DECODER_H
#define TLD_TL_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "address_names.h"
#include "etl_reader.h"
#include "json_writer.h"
#include "tracelogging/tld_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tl_format {
    TL_FORMAT_JSON = 0,
    TL_FORMAT_TEXT = 1,
};


typedef struct tl_decoder tl_decoder;

/* Allocates a decoder (scratch space reused across events; not
 * thread-safe: one decoder per thread). Returns 0 or TLD_E_NO_MEMORY. */
int tl_decoder_new(tl_decoder **out);
void tl_decoder_free(tl_decoder *d);

/*
 * Appends one line describing `ev` to `out`, ending with '\n'. Returns 0
 * when everything decoded, TLD_E_DECODE_PARTIAL when the line carries
 * an "error" (tl_decoder_error() repeats it), or TLD_E_NO_MEMORY (the
 * output is then incomplete). PythonFunction and kernel Image events
 * teach the decoder names for the addresses of later stacks.
 */
int tl_decoder_format_event(tl_decoder *d, const etl_event *ev, int format, jw_buf *out);

/*
 * Decodes a TraceLogging metadata blob (u16 size, tag, event name, field
 * records) and its data blob into a JSON object {"name": value, ...}
 * appended to `out` — without an .etl file around them (round-trip tests,
 * Python). `pointer_size` (4 or 8) sizes in-type 16. Same return values;
 * on error the object holds the fields decoded before the damage.
 */
int tl_decode_fields_json(tl_decoder *d, const uint8_t *meta, size_t meta_len,
                          const uint8_t *data, size_t data_len, unsigned pointer_size, jw_buf *out);

/* The last decoding error as a sentence ("" after a clean decode). Field
 * names are quoted in it as they are in the metadata (not necessarily valid
 * UTF-8); the JSON/text lines carry an escaped, valid UTF-8 copy. */
const char *tl_decoder_error(const tl_decoder *d);

/* Names of a TraceLogging event, as UTF-8 slices of the record (not
 * NUL-terminated). */
typedef struct tl_event_names {
    const uint8_t *provider;
    size_t provider_len;
    const uint8_t *event;
    size_t event_len;
    uint32_t event_tag;
} tl_event_names;

/* Fills *names from the PROV_TRAITS / EVENT_SCHEMA_TL items. Returns 0 when
 * both names were found, TLD_E_DECODE_NAMES when one is missing or malformed, or
 * TLD_E_INVALID_ARG when `ev` carries neither item (not TraceLogging).
 * Pointers of names that were not found are NULL. */
int tl_event_get_names(const etl_event *ev, tl_event_names *names);

/* Learns address names from `ev` without formatting it (what
 * tl_decoder_format_event() learns), for callers that skip lines.
 * Returns 0 or TLD_E_NO_MEMORY. */
int tl_decoder_learn_names(tl_decoder *d, const etl_event *ev);

/* The names learnt so far (owned by the decoder). */
tl_address_names *tl_decoder_names(tl_decoder *d);

#ifdef __cplusplus
}
#endif

#endif
