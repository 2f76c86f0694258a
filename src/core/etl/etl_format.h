/*
 * etl_format.h — the wire constants of the .etl format, shared by the
 * writer and the reader (docs/etl-format.md describes every byte). Only
 * numbers fixed by the format live here; policy (buffer sizes a session
 * chooses, limits the reader enforces) lives with its code.
 */
#ifndef TLD_ETL_FORMAT_H
#define TLD_ETL_FORMAT_H

/* ---- buffers ------------------------------------------------------------------- */

#define ETL_BUFFER_HEADER_SIZE 0x48u      /* WMI_BUFFER_HEADER; records follow it */
#define ETL_RECORD_ALIGNMENT 8u           /* every record starts 8-byte aligned */

/* Offsets inside a buffer header. */
#define ETL_BUFFER_SIZE_OFFSET 0x00u      /* u32 BufferSize: bytes this buffer occupies in the file */
#define ETL_BUFFER_SAVED_OFFSET 0x04u     /* u32 SavedOffset */
#define ETL_BUFFER_CURRENT_OFFSET 0x08u   /* u32 CurrentOffset */
#define ETL_BUFFER_TIMESTAMP_OFFSET 0x10u /* u64 */
#define ETL_BUFFER_SEQUENCE_OFFSET 0x18u  /* u64 */
#define ETL_BUFFER_PROCESSOR_OFFSET 0x28u /* u16 ProcessorIndex */
#define ETL_BUFFER_LOGGER_OFFSET 0x2Au    /* u16 LoggerId */
#define ETL_BUFFER_STATE_OFFSET 0x2Cu     /* u32 */
#define ETL_BUFFER_FILLED_OFFSET 0x30u    /* u32 Offset: end of valid data, header included */
#define ETL_BUFFER_FLAG_OFFSET 0x34u      /* u16 BufferFlag */
#define ETL_BUFFER_TYPE_OFFSET 0x36u      /* u16 BufferType */

#define ETL_BUFFER_STATE_FLUSH 3u
#define ETL_BUFFER_FLAG_NORMAL 0x0020u
#define ETL_BUFFER_FLAG_FIRST_OR_LAST 0x0021u
#define ETL_BUFFER_FLAG_COMPRESSED 0x0040u
#define ETL_BUFFER_TYPE_GENERIC 0u
#define ETL_BUFFER_TYPE_HEADER 4u

/* ---- record markers ------------------------------------------------------------ */

/* A system record starts with this 32-bit marker (64-bit logger); the
 * logfile header record is a system record with hook 0. */
#define ETL_SYSTEM_TRACE_MARKER64 0xC0020002u
#define ETL_SYSTEM_TRACE_HEADER_SIZE 0x20u
#define ETL_HOOK_LOGFILE_HEADER 0x0000u
#define ETL_HOOK_EXTRA_RECORD 0x0050u     /* the 0x50-byte record real files carry after the header */
#define ETL_EXTRA_RECORD_SIZE 0x50u

/* EVENT_HEADER record types (u16 at offset 2) and layout. */
#define ETL_EVENT_HEADER_TYPE32 0xC012u
#define ETL_EVENT_HEADER_TYPE64 0xC013u
#define ETL_EVENT_HEADER_SIZE 0x50u
#define ETL_MAX_RECORD_SIZE 0xFFFFu       /* EVENT_HEADER.Size is 16 bits */

/* EVENT_HEADER.Flags. */
#define ETL_EVENT_FLAG_EXTENDED_INFO 0x0001u
#define ETL_EVENT_FLAG_STRING_ONLY 0x0004u
#define ETL_EVENT_FLAG_32_BIT_HEADER 0x0020u
#define ETL_EVENT_FLAG_64_BIT_HEADER 0x0040u

/* EVENT_HEADER_EXTENDED_DATA_ITEM types; an item header is 8 bytes. */
#define ETL_EXT_ITEM_HEADER_SIZE 8u
#define ETL_EXT_RELATED_ACTIVITYID 0x0001u
#define ETL_EXT_SID 0x0002u
#define ETL_EXT_TS_ID 0x0003u
#define ETL_EXT_INSTANCE_INFO 0x0004u
#define ETL_EXT_STACK_TRACE32 0x0005u
#define ETL_EXT_STACK_TRACE64 0x0006u
#define ETL_EXT_EVENT_SCHEMA_TL 0x000Bu
#define ETL_EXT_PROV_TRAITS 0x000Cu

/* ---- logfile header (TRACE_LOGFILE_HEADER, after the system header) ---------- */

#define ETL_LOGFILE_HEADER_SIZE 0x118u    /* before the two UTF-16 names */
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
#define ETL_LOGFILE_TIME_ZONE 0x48u       /* TIME_ZONE_INFORMATION, 0xB0 bytes */
#define ETL_LOGFILE_BOOT_TIME 0xF8u
#define ETL_LOGFILE_PERF_FREQ 0x100u
#define ETL_LOGFILE_START_TIME 0x108u
#define ETL_LOGFILE_CLOCK_TYPE 0x110u     /* ReservedFlags */
#define ETL_LOGFILE_BUFFERS_LOST 0x114u

#define ETL_LOG_FILE_MODE_SEQUENTIAL 0x00000001u
#define ETL_LOG_FILE_MODE_COMPRESSED 0x04000000u

#define ETL_CLOCK_TYPE_QPC 1u
#define ETL_CLOCK_TYPE_SYSTEM_TIME 2u
#define ETL_CLOCK_TYPE_CPU_CYCLES 3u

#endif
