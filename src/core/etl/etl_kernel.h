/*
 * etl_kernel.h — kernel (system) records of an .etl file, as etl_reader.h
 * hands them out (ETL_KIND_SYSTEM): their class and event names, class
 * GUIDs, and the payloads that stack-sample reports need, decoded into
 * plain structs. Layouts (64- and 32-bit, by record header type) and the
 * hook ids: ../shared/spec/etw-kernel-events.md §2-4.
 *
 *     Process  Start/End/DCStart/DCEnd/Defunct   ids, parent, image file name, command line
 *     Thread   Start/End/DCStart/DCEnd           ids, stack limits, start address
 *     Image    Load/Unload/DCStart/DCEnd         base, size, pid, file name (kernel path)
 *     PerfInfo SampledProfile                    instruction pointer, thread
 *     StackWalk Stack                            the sample's timestamp, pid, tid, addresses
 *
 * Other classes are named (group and opcode) but not decoded. Every
 * decoder checks the payload's length for the record's version and
 * pointer size; a short payload is TLD_E_KERNEL_PAYLOAD, never a read
 * past it. Pointers in the structs point into the event's payload (valid
 * as long as the event).
 */
#ifndef TLD_ETL_KERNEL_H
#define TLD_ETL_KERNEL_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld.h"

#ifdef __cplusplus
extern "C" {
#endif

struct etl_event;

/* The class (task) name of a hook: "Process", "Thread", "Image",
 * "PerfInfo", "StackWalk", "DiskIo", ...; NULL for a group not known. */
const char *etl_kernel_class_name(uint16_t hook);

/* The event (opcode) name: "Start", "Load", "SampledProfile", "Stack",
 * ...; NULL when not known. */
const char *etl_kernel_opcode_name(uint16_t hook);

/* The class GUID consumers report kernel events by. Returns 0, or
 * TLD_E_INVALID_ARG (and a zero GUID) for a class not known. */
int etl_kernel_class_guid(uint16_t hook, tld_guid *out);

/* "Class/Opcode" ("Process/Start", "Process/33" for an opcode not known,
 * "Kernel 0x2a/5" for a group not known) into out[0..cap), NUL-terminated.
 * Returns the length. */
size_t etl_kernel_event_name(uint16_t hook, char *out, size_t cap);

/* Kernel addresses (to file images loaded there system-wide): the upper
 * half of the address space of the pointer size. */
int etl_kernel_is_kernel_address(uint64_t address, uint32_t pointer_size);

/* ---- payloads --------------------------------------------------------------- */

typedef struct etl_sampled_profile {
    uint64_t instruction_pointer;
    uint32_t thread_id;
    uint16_t count;
    uint8_t flags;              /* bit 0 DPC, bit 1 ISR, bits 3-7 priority */
    uint8_t rank;
} etl_sampled_profile;

typedef struct etl_stack_walk {
    uint64_t event_timestamp;   /* raw clock value: equals the sampled event's timestamp */
    uint32_t process_id;
    uint32_t thread_id;
    const uint8_t *addresses;   /* `count` addresses of `address_size` bytes, innermost first */
    uint32_t count;
    uint32_t address_size;
} etl_stack_walk;

typedef struct etl_image {
    uint64_t base;
    uint64_t size;
    uint32_t process_id;
    uint32_t checksum;          /* version >= 2 */
    uint32_t time_date_stamp;   /* version >= 2 */
    uint64_t default_base;      /* version >= 2 */
    const uint8_t *file_name;   /* UTF-16LE, without its NUL (a kernel path) */
    size_t file_name_bytes;
} etl_image;

typedef struct etl_process {
    uint64_t unique_process_key;   /* version >= 2 */
    uint32_t process_id;
    uint32_t parent_id;
    uint32_t session_id;
    int32_t exit_status;
    uint64_t directory_table_base; /* version 1 and >= 3 */
    int has_flags;                 /* version >= 4 */
    uint32_t flags;
    const uint8_t *user_sid;       /* the SID itself (without the TOKEN_USER part); NULL when absent */
    size_t user_sid_len;
    const uint8_t *image_file_name; /* 8-bit, without its NUL */
    size_t image_file_name_len;
    const uint8_t *command_line;   /* UTF-16LE, without its NUL; NULL when absent */
    size_t command_line_bytes;
    const uint8_t *package_full_name; /* version >= 4, UTF-16LE */
    size_t package_full_name_bytes;
    const uint8_t *application_id;
    size_t application_id_bytes;
} etl_process;

typedef struct etl_thread {
    uint32_t process_id;
    uint32_t thread_id;
    int has_addresses;          /* version >= 1: the fields below */
    uint64_t stack_base, stack_limit, user_stack_base, user_stack_limit;
    uint64_t start_address;     /* version <= 2: StartAddr; version >= 3: Affinity */
    uint64_t win32_start_address;
    uint64_t teb_base;          /* version >= 2 */
    uint32_t sub_process_tag;   /* version >= 2 */
    int has_priorities;         /* version >= 3 */
    uint8_t base_priority, page_priority, io_priority, thread_flags;
    const uint8_t *thread_name; /* UTF-16LE after the fixed part, when present */
    size_t thread_name_bytes;
} etl_thread;

/* Each returns 0, TLD_E_INVALID_ARG when `ev` is not a record of that
 * class, or TLD_E_KERNEL_PAYLOAD when its payload is too short. */
int etl_kernel_sampled_profile(const struct etl_event *ev, etl_sampled_profile *out);
int etl_kernel_stack_walk(const struct etl_event *ev, etl_stack_walk *out);
int etl_kernel_image(const struct etl_event *ev, etl_image *out);
int etl_kernel_process(const struct etl_event *ev, etl_process *out);
int etl_kernel_thread(const struct etl_event *ev, etl_thread *out);

/* Address i of a stack walk. */
uint64_t etl_stack_walk_address(const etl_stack_walk *s, uint32_t i);

#ifdef __cplusplus
}
#endif

#endif
