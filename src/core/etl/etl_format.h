/*
 * etl_format.h — the wire constants of the .etl format, shared by the
 * writer and the reader (docs/etl-format.md describes every byte; the
 * layouts Windows writes besides ours, compressed buffers and kernel
 * records: ../shared/spec/etw-kernel-events.md). Only numbers fixed by the
 * format live here; policy (buffer sizes a session chooses, limits the
 * reader enforces) lives with its code.
 *
 *     file:    | buffer 0 | buffer 1 | ...            each buffer walked by its own BufferSize
 *     buffer:  | 0x48-byte header | records (8-aligned) ... | filler (0xFF) |
 *     record:  u32 marker: 0xC0 = trace header flags, then the header type
 *              (bits 16-23); 0x9x = a WPP message. Its size is the low 16
 *              bits of the marker, or the u16 at 4 for system headers.
 */
#ifndef TLD_ETL_FORMAT_H
#define TLD_ETL_FORMAT_H

/* ---- buffers ------------------------------------------------------------------- */

#define ETL_BUFFER_HEADER_SIZE 0x48u      /* WMI_BUFFER_HEADER; records follow it */
#define ETL_RECORD_ALIGNMENT 8u           /* every record starts 8-byte aligned */

/* Offsets inside a buffer header. */
#define ETL_BUFFER_SIZE_OFFSET 0x00u      /* u32 BufferSize: bytes this buffer occupies in the file */
#define ETL_BUFFER_SAVED_OFFSET 0x04u     /* u32 SavedOffset (0 in buffers of older loggers) */
#define ETL_BUFFER_CURRENT_OFFSET 0x08u   /* u32 CurrentOffset (unreliable in real files) */
#define ETL_BUFFER_REFERENCE_OFFSET 0x0Cu /* u32 ReferenceCount */
#define ETL_BUFFER_TIMESTAMP_OFFSET 0x10u /* u64 */
#define ETL_BUFFER_SEQUENCE_OFFSET 0x18u  /* u64 */
#define ETL_BUFFER_CLOCK_OFFSET 0x20u     /* u64: clock type / frequency slot */
#define ETL_BUFFER_PROCESSOR_OFFSET 0x28u /* u16 ProcessorIndex */
#define ETL_BUFFER_LOGGER_OFFSET 0x2Au    /* u16 LoggerId */
#define ETL_BUFFER_STATE_OFFSET 0x2Cu     /* u32 */
#define ETL_BUFFER_FILLED_OFFSET 0x30u    /* u32 Offset: end of valid data, header included
                                           * (compressed buffers: the expanded extent) */
#define ETL_BUFFER_FLAG_OFFSET 0x34u      /* u16 BufferFlag */
#define ETL_BUFFER_TYPE_OFFSET 0x36u      /* u16 BufferType */

#define ETL_BUFFER_STATE_FLUSH 3u
#define ETL_BUFFER_FLAG_NORMAL 0x0020u
#define ETL_BUFFER_FLAG_FIRST_OR_LAST 0x0021u
/* BufferFlag bits. */
#define ETL_BUFFER_FLAG_FLUSH_MARKER 0x0001u  /* buffer 0, and the buffer written when a session stops */
#define ETL_BUFFER_FLAG_EVENTS_LOST 0x0002u
#define ETL_BUFFER_FLAG_BUFFER_LOST 0x0004u
#define ETL_BUFFER_FLAG_RTBACKUP_CORRUPT 0x0008u
#define ETL_BUFFER_FLAG_RTBACKUP 0x0010u
#define ETL_BUFFER_FLAG_PROC_INDEX 0x0020u
#define ETL_BUFFER_FLAG_COMPRESSED 0x0040u    /* bytes 0x48..BufferSize are one Plain LZ77 stream */
#define ETL_BUFFER_FLAG_KNOWN 0x007Fu
/* BufferType values. */
#define ETL_BUFFER_TYPE_GENERIC 0u
#define ETL_BUFFER_TYPE_RUNDOWN 1u
#define ETL_BUFFER_TYPE_CTX_SWAP 2u
#define ETL_BUFFER_TYPE_REFTIME 3u
#define ETL_BUFFER_TYPE_HEADER 4u
#define ETL_BUFFER_TYPE_BATCHED 5u
#define ETL_BUFFER_TYPE_EMPTY_MARKER 6u
#define ETL_BUFFER_TYPE_DBG_INFO 7u
#define ETL_BUFFER_TYPE_MAX 8u

/* ---- record markers ------------------------------------------------------------ */

#define ETL_MARKER_FILLER 0xFFFFFFFFu     /* unused space after the records (0 too) */
#define ETL_MARKER_TRACE_HEADER 0xC000u   /* high bits of the u16 at record offset 2 */
#define ETL_MARKER_MESSAGE_MASK 0xF000u   /* WPP messages: the u16 at 2 is 0x9xxx */
#define ETL_MARKER_MESSAGE 0x9000u

/* TRACE_HEADER types (low byte of the u16 at record offset 2). */
#define ETL_HT_SYSTEM32 0x01u
#define ETL_HT_SYSTEM64 0x02u
#define ETL_HT_COMPACT32 0x03u
#define ETL_HT_COMPACT64 0x04u
#define ETL_HT_FULL_HEADER32 0x0Au
#define ETL_HT_INSTANCE32 0x0Bu
#define ETL_HT_TIMED 0x0Cu
#define ETL_HT_ERROR 0x0Du
#define ETL_HT_WNODE_HEADER 0x0Eu
#define ETL_HT_MESSAGE 0x0Fu
#define ETL_HT_PERFINFO32 0x10u
#define ETL_HT_PERFINFO64 0x11u
#define ETL_HT_EVENT_HEADER32 0x12u
#define ETL_HT_EVENT_HEADER64 0x13u
#define ETL_HT_FULL_HEADER64 0x14u
#define ETL_HT_INSTANCE64 0x15u

/* A system record starts with this 32-bit marker (64-bit logger); the
 * logfile header record is a system record with hook 0. The low 16 bits
 * of a system marker are its version word (ETL_SYSTEM_MARKER64_TYPE | v). */
#define ETL_SYSTEM_TRACE_MARKER64 0xC0020002u
#define ETL_SYSTEM_MARKER64_TYPE 0xC0020000u
#define ETL_SYSTEM_MARKER32_TYPE 0xC0010000u
#define ETL_SYSTEM_TRACE_HEADER_SIZE 0x20u
#define ETL_HOOK_LOGFILE_HEADER 0x0000u
#define ETL_HOOK_EXTRA_RECORD 0x0050u     /* the 0x50-byte record real files carry after the header */
#define ETL_EXTRA_RECORD_SIZE 0x50u

/* Other fixed header sizes. */
#define ETL_COMPACT_HEADER_SIZE 0x18u     /* compact SYSTEM_TRACE_HEADER (no kernel/user times) */
#define ETL_PERFINFO_HEADER_SIZE 0x10u    /* PERFINFO_TRACE_HEADER (no thread or process id) */
#define ETL_CLASSIC_HEADER_SIZE 0x30u     /* EVENT_TRACE_HEADER */
#define ETL_INSTANCE_HEADER_SIZE 0x48u    /* EVENT_INSTANCE_GUID_HEADER */
#define ETL_MESSAGE_HEADER_SIZE 0x08u     /* MESSAGE_TRACE_HEADER */

/* SYSTEM_TRACE_HEADER / compact / PERFINFO fields. */
#define ETL_SYS_SIZE 0x04u                /* u16 */
#define ETL_SYS_HOOK 0x06u                /* u16: group << 8 | type */
#define ETL_SYS_THREAD 0x08u              /* u32 (system and compact only) */
#define ETL_SYS_PROCESS 0x0Cu             /* u32 (system and compact only) */
#define ETL_SYS_TIMESTAMP 0x10u           /* u64 (system and compact) */
#define ETL_PERFINFO_TIMESTAMP 0x08u      /* u64 */

/* EVENT_HEADER record types (u16 at offset 2) and layout. */
#define ETL_EVENT_HEADER_TYPE32 0xC012u
#define ETL_EVENT_HEADER_TYPE64 0xC013u
#define ETL_EVENT_HEADER_SIZE 0x50u
#define ETL_MAX_RECORD_SIZE 0xFFFFu       /* EVENT_HEADER.Size is 16 bits */

/* EVENT_HEADER fields. */
#define ETL_EH_SIZE 0x00u
#define ETL_EH_TYPE 0x02u
#define ETL_EH_FLAGS 0x04u
#define ETL_EH_PROPERTY 0x06u
#define ETL_EH_THREAD 0x08u
#define ETL_EH_PROCESS 0x0Cu
#define ETL_EH_TIMESTAMP 0x10u
#define ETL_EH_PROVIDER 0x18u
#define ETL_EH_DESCRIPTOR 0x28u           /* u16 id, u8 version, channel, level, opcode, u16 task, u64 keyword */
#define ETL_EH_KERNEL_TIME 0x38u
#define ETL_EH_USER_TIME 0x3Cu
#define ETL_EH_ACTIVITY 0x40u

/* EVENT_HEADER.Flags. */
#define ETL_EVENT_FLAG_EXTENDED_INFO 0x0001u
#define ETL_EVENT_FLAG_PRIVATE_SESSION 0x0002u
#define ETL_EVENT_FLAG_STRING_ONLY 0x0004u
#define ETL_EVENT_FLAG_TRACE_MESSAGE 0x0008u
#define ETL_EVENT_FLAG_NO_CPUTIME 0x0010u
#define ETL_EVENT_FLAG_32_BIT_HEADER 0x0020u
#define ETL_EVENT_FLAG_64_BIT_HEADER 0x0040u
#define ETL_EVENT_FLAG_CLASSIC_HEADER 0x0100u

/* EVENT_HEADER_EXTENDED_DATA_ITEM types; an item header is 8 bytes. */
#define ETL_EXT_ITEM_HEADER_SIZE 8u
#define ETL_EXT_RELATED_ACTIVITYID 0x0001u
#define ETL_EXT_SID 0x0002u
#define ETL_EXT_TS_ID 0x0003u
#define ETL_EXT_INSTANCE_INFO 0x0004u
#define ETL_EXT_STACK_TRACE32 0x0005u
#define ETL_EXT_STACK_TRACE64 0x0006u
#define ETL_EXT_PEBS_INDEX 0x0007u
#define ETL_EXT_PMC_COUNTERS 0x0008u
#define ETL_EXT_PSM_KEY 0x0009u
#define ETL_EXT_EVENT_KEY 0x000Au
#define ETL_EXT_EVENT_SCHEMA_TL 0x000Bu
#define ETL_EXT_PROV_TRAITS 0x000Cu
#define ETL_EXT_PROCESS_START_KEY 0x000Du
#define ETL_EXT_CONTROL_GUID 0x000Eu
#define ETL_EXT_QPC_DELTA 0x000Fu
#define ETL_EXT_CONTAINER_ID 0x0010u
#define ETL_EXT_STACK_KEY32 0x0011u
#define ETL_EXT_STACK_KEY64 0x0012u

/* MESSAGE_TRACE_HEADER (WPP): u16 Size, u16 marker, u16 MessageNumber,
 * u16 OptionFlags; then, in this order, the parts the flags ask for. */
#define ETL_MSG_NUMBER 0x04u
#define ETL_MSG_FLAGS 0x06u
#define ETL_MSG_FLAG_SEQUENCE 0x0001u     /* u32 */
#define ETL_MSG_FLAG_GUID 0x0002u         /* 16 bytes */
#define ETL_MSG_FLAG_COMPONENTID 0x0004u  /* u32 (instead of the GUID) */
#define ETL_MSG_FLAG_TIMESTAMP 0x0008u    /* u64 */
#define ETL_MSG_FLAG_SYSTEMINFO 0x0020u   /* u32 thread, u32 process */

/* ---- logfile header (TRACE_LOGFILE_HEADER, after the system header) ---------- */

/* 0x118 bytes in the 64-bit form; the 32-bit form has 4-byte name
 * pointers at 0x38, so its fields from 0x48 on sit ETL_LOGFILE_SHIFT32
 * bytes earlier. LoggerName and LogFileName follow, UTF-16LE, NUL-ended. */
#define ETL_LOGFILE_HEADER_SIZE 0x118u    /* before the two UTF-16 names */
#define ETL_LOGFILE_SHIFT32 8u
#define ETL_LOGFILE_BUFFER_SIZE 0x00u
#define ETL_LOGFILE_VERSION 0x04u
#define ETL_LOGFILE_PROVIDER_VERSION 0x08u
#define ETL_LOGFILE_PROCESSORS 0x0Cu
#define ETL_LOGFILE_END_TIME 0x10u
#define ETL_LOGFILE_TIMER_RESOLUTION 0x18u
#define ETL_LOGFILE_MAXIMUM_FILE_SIZE 0x1Cu
#define ETL_LOGFILE_MODE 0x20u
#define ETL_LOGFILE_BUFFERS_WRITTEN 0x24u
#define ETL_LOGFILE_START_BUFFERS 0x28u
#define ETL_LOGFILE_POINTER_SIZE 0x2Cu
#define ETL_LOGFILE_EVENTS_LOST 0x30u
#define ETL_LOGFILE_CPU_SPEED 0x34u
#define ETL_LOGFILE_NAME_POINTERS 0x38u   /* 2 pointers (unused on disk) */
#define ETL_LOGFILE_TIME_ZONE 0x48u       /* TIME_ZONE_INFORMATION, 0xB0 bytes */
#define ETL_LOGFILE_BOOT_TIME 0xF8u
#define ETL_LOGFILE_PERF_FREQ 0x100u
#define ETL_LOGFILE_START_TIME 0x108u
#define ETL_LOGFILE_CLOCK_TYPE 0x110u     /* ReservedFlags */
#define ETL_LOGFILE_BUFFERS_LOST 0x114u

#define ETL_LOG_FILE_MODE_SEQUENTIAL 0x00000001u
#define ETL_LOG_FILE_MODE_CIRCULAR 0x00000002u
#define ETL_LOG_FILE_MODE_APPEND 0x00000004u
#define ETL_LOG_FILE_MODE_NEWFILE 0x00000008u
#define ETL_LOG_FILE_MODE_PREALLOCATE 0x00000020u
#define ETL_LOG_FILE_MODE_COMPRESSED 0x04000000u /* EVENT_TRACE_COMPRESSED_MODE: relogged files */

#define ETL_CLOCK_TYPE_QPC 1u
#define ETL_CLOCK_TYPE_SYSTEM_TIME 2u
#define ETL_CLOCK_TYPE_CPU_CYCLES 3u

/* ---- kernel (system) records ----------------------------------------------------- */

/* HookId = group << 8 | type; the type is the event's opcode. */
#define ETL_GROUP_HEADER 0x00u      /* EventTrace: the file's own bookkeeping */
#define ETL_GROUP_IO 0x01u
#define ETL_GROUP_MEMORY 0x02u
#define ETL_GROUP_PROCESS 0x03u
#define ETL_GROUP_FILE 0x04u
#define ETL_GROUP_THREAD 0x05u
#define ETL_GROUP_TCPIP 0x06u
#define ETL_GROUP_UDPIP 0x08u
#define ETL_GROUP_REGISTRY 0x09u
#define ETL_GROUP_CONFIG 0x0Bu
#define ETL_GROUP_PERFINFO 0x0Fu
#define ETL_GROUP_IMAGE 0x14u
#define ETL_GROUP_STACKWALK 0x18u
#define ETL_GROUP_ALPC 0x1Au
#define ETL_GROUP_SPLITIO 0x1Bu

#define ETL_HOOK_PROCESS_START 0x0301u
#define ETL_HOOK_PROCESS_END 0x0302u
#define ETL_HOOK_PROCESS_DC_START 0x0303u
#define ETL_HOOK_PROCESS_DC_END 0x0304u
#define ETL_HOOK_IMAGE_LOAD 0x030Au       /* logged in the Process group */
#define ETL_HOOK_PROCESS_DEFUNCT 0x0327u
#define ETL_HOOK_THREAD_START 0x0501u
#define ETL_HOOK_THREAD_END 0x0502u
#define ETL_HOOK_THREAD_DC_START 0x0503u
#define ETL_HOOK_THREAD_DC_END 0x0504u
#define ETL_HOOK_SAMPLED_PROFILE 0x0F2Eu
#define ETL_HOOK_IMAGE_UNLOAD 0x1402u
#define ETL_HOOK_IMAGE_DC_START 0x1403u
#define ETL_HOOK_IMAGE_DC_END 0x1404u
#define ETL_HOOK_STACK_WALK 0x1820u

#endif
