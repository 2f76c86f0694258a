/*
 * etl_kernel.c — kernel record names and payload decoders (etl_kernel.h).
 *
 * Payloads are read with a small cursor (`rd`) that knows the payload's
 * end and the record's pointer size; every field read checks the bytes
 * are there, so a short or hostile payload ends the decoding with
 * TLD_E_KERNEL_PAYLOAD instead of reading past it.
 */
#include "etl_kernel.h"

#include "byteorder.h"
#include "etl_format.h"
#include "etl_reader.h"

#include <stdio.h>
#include <string.h>

/* ---- names ------------------------------------------------------------------- */

typedef struct group_info {
    uint8_t group;
    const char *name;
    /* class GUID (bytes_le), all zero when none is known */
    uint8_t guid[16];
} group_info;

/* GUID in little-endian wire order from its text form a-b-c-d-e. */
#define G(a, b, c, d0, d1, e0, e1, e2, e3, e4, e5)                                                           \
    {(a) & 0xFF, ((a) >> 8) & 0xFF, ((a) >> 16) & 0xFF, ((unsigned)(a) >> 24) & 0xFF, (b) & 0xFF, (b) >> 8, \
     (c) & 0xFF, (c) >> 8, d0, d1, e0, e1, e2, e3, e4, e5}

static const group_info groups[] = {
    {ETL_GROUP_HEADER, "EventTrace", G(0x68fdd900, 0x4a3e, 0x11d1, 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3)},
    {ETL_GROUP_IO, "DiskIo", G(0x3d6fa8d4, 0xfe05, 0x11d0, 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c)},
    {ETL_GROUP_MEMORY, "PageFault", G(0x3d6fa8d3, 0xfe05, 0x11d0, 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c)},
    {ETL_GROUP_PROCESS, "Process", G(0x3d6fa8d0, 0xfe05, 0x11d0, 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c)},
    {ETL_GROUP_FILE, "FileIo", G(0x90cbdc39, 0x4a3e, 0x11d1, 0x84, 0xf4, 0x00, 0x00, 0xf8, 0x04, 0x64, 0xe3)},
    {ETL_GROUP_THREAD, "Thread", G(0x3d6fa8d1, 0xfe05, 0x11d0, 0x9d, 0xda, 0x00, 0xc0, 0x4f, 0xd7, 0xba, 0x7c)},
    {ETL_GROUP_TCPIP, "TcpIp", G(0x9a280ac0, 0xc8e0, 0x11d1, 0x84, 0xe2, 0x00, 0xc0, 0x4f, 0xb9, 0x98, 0xa2)},
    {0x07, "Job", {0}},
    {ETL_GROUP_UDPIP, "UdpIp", G(0xbf3a50c5, 0xa9c9, 0x4988, 0xa0, 0x05, 0x2d, 0xf0, 0xb7, 0xc8, 0x0f, 0x80)},
    {ETL_GROUP_REGISTRY, "Registry", G(0xae53722e, 0xc863, 0x11d2, 0x86, 0x59, 0x00, 0xc0, 0x4f, 0xa3, 0x21, 0xa1)},
    {0x0A, "DbgPrint", {0}},
    {ETL_GROUP_CONFIG, "SystemConfig", G(0x01853a65, 0x418f, 0x4f36, 0xae, 0xfc, 0xdc, 0x0f, 0x1d, 0x2f, 0xd2, 0x35)},
    {0x0D, "Wnf", {0}},
    {0x0E, "Pool", {0}},
    {ETL_GROUP_PERFINFO, "PerfInfo", G(0xce1dbfb4, 0x137e, 0x4da6, 0x87, 0xb0, 0x3f, 0x59, 0xaa, 0x10, 0x2c, 0xbc)},
    {0x10, "Heap", {0}},
    {0x11, "Object", {0}},
    {0x12, "Power", {0}},
    {0x13, "ModBound", {0}},
    {ETL_GROUP_IMAGE, "Image", G(0x2cb15d1d, 0x5fc1, 0x11d2, 0xab, 0xe1, 0x00, 0xa0, 0xc9, 0x11, 0xf5, 0x18)},
    {0x15, "Dpc", {0}},
    {0x16, "CacheManager", {0}},
    {0x17, "CritSec", {0}},
    {ETL_GROUP_STACKWALK, "StackWalk", G(0xdef2fe46, 0x7bd6, 0x4b80, 0xbd, 0x94, 0xf5, 0x7f, 0xe2, 0x0d, 0x0c, 0xe3)},
    {0x19, "Ums", {0}},
    {ETL_GROUP_ALPC, "ALPC", G(0x45d8cccd, 0x539f, 0x4b72, 0xa8, 0xb7, 0x5c, 0x68, 0x31, 0x42, 0x60, 0x9a)},
    {ETL_GROUP_SPLITIO, "SplitIo", G(0xd837ca92, 0x12b9, 0x44a5, 0xad, 0x6a, 0x3a, 0x65, 0xb3, 0x57, 0x8a, 0xa8)},
    {0x1C, "ThreadPool", {0}},
    {0x1D, "Hypervisor", {0}},
    {0x1E, "HypervisorX", {0}},
};

static const group_info *group_of(uint16_t hook)
{
    uint8_t g = (uint8_t)(hook >> 8);
    if (hook == ETL_HOOK_IMAGE_LOAD)
        g = ETL_GROUP_IMAGE; /* logged in the Process group, an Image event */
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (groups[i].group == g)
            return &groups[i];
    return NULL;
}

const char *etl_kernel_class_name(uint16_t hook)
{
    const group_info *g = group_of(hook);
    return g ? g->name : NULL;
}

const char *etl_kernel_opcode_name(uint16_t hook)
{
    switch (hook) {
    case ETL_HOOK_LOGFILE_HEADER: return "Header";
    case ETL_HOOK_PROCESS_START: case ETL_HOOK_THREAD_START: return "Start";
    case ETL_HOOK_PROCESS_END: case ETL_HOOK_THREAD_END: return "End";
    case ETL_HOOK_PROCESS_DC_START: case ETL_HOOK_THREAD_DC_START: case ETL_HOOK_IMAGE_DC_START: return "DCStart";
    case ETL_HOOK_PROCESS_DC_END: case ETL_HOOK_THREAD_DC_END: case ETL_HOOK_IMAGE_DC_END: return "DCEnd";
    case ETL_HOOK_PROCESS_DEFUNCT: return "Defunct";
    case ETL_HOOK_IMAGE_LOAD: return "Load";
    case ETL_HOOK_IMAGE_UNLOAD: return "Unload";
    case ETL_HOOK_SAMPLED_PROFILE: return "SampledProfile";
    case ETL_HOOK_STACK_WALK: return "Stack";
    default: return NULL;
    }
}

int etl_kernel_class_guid(uint16_t hook, tld_guid *out)
{
    const group_info *g = group_of(hook);
    static const uint8_t zero[16];
    if (!g || memcmp(g->guid, zero, 16) == 0) {
        memset(out->bytes_le, 0, 16);
        return TLD_E_INVALID_ARG;
    }
    memcpy(out->bytes_le, g->guid, 16);
    return 0;
}

size_t etl_kernel_event_name(uint16_t hook, char *out, size_t cap)
{
    const char *cls = etl_kernel_class_name(hook), *op = etl_kernel_opcode_name(hook);
    int n;
    if (!cls)
        n = snprintf(out, cap, "Kernel 0x%02x/%u", hook >> 8, hook & 0xFFu);
    else if (op)
        n = snprintf(out, cap, "%s/%s", cls, op);
    else
        n = snprintf(out, cap, "%s/%u", cls, hook & 0xFFu);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : (cap ? cap - 1 : 0);
}

int etl_kernel_is_kernel_address(uint64_t address, uint32_t pointer_size)
{
    return pointer_size == 4 ? address >= 0x80000000u : address >= 0xFFFF000000000000ull;
}

/* ---- reading payloads ---------------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t len, at;
    unsigned psize;
    int short_;         /* a read went past the end */
} rd;

static void rd_init(rd *r, const etl_event *ev)
{
    r->p = ev->user_data;
    r->len = ev->user_data_len;
    r->at = 0;
    r->psize = ev->pointer_size == 4 ? 4 : 8;
    r->short_ = 0;
}

static int rd_has(rd *r, size_t n)
{
    if (r->len - r->at < n) {
        r->short_ = 1;
        return 0;
    }
    return 1;
}

static uint32_t rd_u32(rd *r)
{
    if (!rd_has(r, 4))
        return 0;
    uint32_t v = load_le32(r->p + r->at);
    r->at += 4;
    return v;
}

static uint16_t rd_u16(rd *r)
{
    if (!rd_has(r, 2))
        return 0;
    uint16_t v = load_le16(r->p + r->at);
    r->at += 2;
    return v;
}

static uint8_t rd_u8(rd *r)
{
    if (!rd_has(r, 1))
        return 0;
    return r->p[r->at++];
}

static uint64_t rd_u64(rd *r)
{
    if (!rd_has(r, 8))
        return 0;
    uint64_t v = load_le64(r->p + r->at);
    r->at += 8;
    return v;
}

static uint64_t rd_ptr(rd *r)
{
    return r->psize == 4 ? rd_u32(r) : rd_u64(r);
}

/* A NUL-terminated UTF-16LE string (the rest of the payload when
 * unterminated): sets *s and *n (bytes, without the NUL). */
static void rd_utf16z(rd *r, const uint8_t **s, size_t *n)
{
    size_t i = r->at;
    *s = r->p + i;
    while (i + 1 < r->len && (r->p[i] || r->p[i + 1]))
        i += 2;
    *n = i - r->at;
    r->at = i + 2 <= r->len ? i + 2 : r->len;
}

/* A NUL-terminated 8-bit string. */
static void rd_cstrz(rd *r, const uint8_t **s, size_t *n)
{
    size_t i = r->at;
    *s = r->p + i;
    while (i < r->len && r->p[i])
        i++;
    *n = i - r->at;
    r->at = i < r->len ? i + 1 : r->len;
}

static int is_kernel_record(const etl_event *ev)
{
    return ev->kind == ETL_KIND_SYSTEM;
}

/* ---- decoders ------------------------------------------------------------------ */

int etl_kernel_sampled_profile(const etl_event *ev, etl_sampled_profile *out)
{
    memset(out, 0, sizeof *out);
    if (!is_kernel_record(ev) || ev->hook_id != ETL_HOOK_SAMPLED_PROFILE)
        return TLD_E_INVALID_ARG;
    rd r;
    rd_init(&r, ev);
    out->instruction_pointer = rd_ptr(&r);
    out->thread_id = rd_u32(&r);
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    if (r.len - r.at >= 4) { /* Count and flags: present from version 2 */
        out->count = rd_u16(&r);
        out->flags = rd_u8(&r);
        out->rank = rd_u8(&r);
    }
    return 0;
}

int etl_kernel_stack_walk(const etl_event *ev, etl_stack_walk *out)
{
    memset(out, 0, sizeof *out);
    if (!is_kernel_record(ev) || ev->hook_id != ETL_HOOK_STACK_WALK)
        return TLD_E_INVALID_ARG;
    rd r;
    rd_init(&r, ev);
    out->event_timestamp = rd_u64(&r);
    out->process_id = rd_u32(&r);
    out->thread_id = rd_u32(&r);
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    out->address_size = r.psize;
    out->addresses = r.p + r.at;
    out->count = (uint32_t)((r.len - r.at) / r.psize);
    return 0;
}

uint64_t etl_stack_walk_address(const etl_stack_walk *s, uint32_t i)
{
    const uint8_t *a = s->addresses + (size_t)i * s->address_size;
    return s->address_size == 4 ? load_le32(a) : load_le64(a);
}

static int is_image_hook(uint16_t hook)
{
    return hook == ETL_HOOK_IMAGE_LOAD || hook == ETL_HOOK_IMAGE_UNLOAD || hook == ETL_HOOK_IMAGE_DC_START ||
           hook == ETL_HOOK_IMAGE_DC_END;
}

int etl_kernel_image(const etl_event *ev, etl_image *out)
{
    memset(out, 0, sizeof *out);
    if (!is_kernel_record(ev) || !is_image_hook(ev->hook_id))
        return TLD_E_INVALID_ARG;
    if (ev->descriptor.version < 1)
        return TLD_E_KERNEL_PAYLOAD; /* version 0 (Windows 2000) is not decoded */
    rd r;
    rd_init(&r, ev);
    out->base = rd_ptr(&r);
    out->size = rd_ptr(&r);
    out->process_id = rd_u32(&r);
    if (ev->descriptor.version >= 2) {
        out->checksum = rd_u32(&r);
        out->time_date_stamp = rd_u32(&r);
        rd_u32(&r); /* SignatureLevel, SignatureType, reserved */
        out->default_base = rd_ptr(&r);
        for (int i = 0; i < 4; i++)
            rd_u32(&r);
    }
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    rd_utf16z(&r, &out->file_name, &out->file_name_bytes);
    return 0;
}

static int is_process_hook(uint16_t hook)
{
    return (hook >= ETL_HOOK_PROCESS_START && hook <= ETL_HOOK_PROCESS_DC_END) || hook == ETL_HOOK_PROCESS_DEFUNCT;
}

/* The UserSID: 4 zero bytes when absent, else TOKEN_USER (two pointers'
 * worth) and the SID, 8 + 4 * SubAuthorityCount bytes. */
static void rd_user_sid(rd *r, const uint8_t **sid, size_t *len)
{
    *sid = NULL;
    *len = 0;
    if (!rd_has(r, 4))
        return;
    if (load_le32(r->p + r->at) == 0) {
        r->at += 4;
        return;
    }
    size_t token = 2u * r->psize;
    if (!rd_has(r, token + 8))
        return;
    const uint8_t *s = r->p + r->at + token;
    size_t n = 8u + 4u * s[1];
    if (!rd_has(r, token + n))
        return;
    *sid = s;
    *len = n;
    r->at += token + n;
}

int etl_kernel_process(const etl_event *ev, etl_process *out)
{
    memset(out, 0, sizeof *out);
    if (!is_kernel_record(ev) || !is_process_hook(ev->hook_id))
        return TLD_E_INVALID_ARG;
    unsigned v = ev->descriptor.version;
    if (v < 1)
        return TLD_E_KERNEL_PAYLOAD;
    rd r;
    rd_init(&r, ev);
    if (v == 1)
        out->directory_table_base = rd_ptr(&r); /* PageDirectoryBase */
    else
        out->unique_process_key = rd_ptr(&r);
    out->process_id = rd_u32(&r);
    out->parent_id = rd_u32(&r);
    out->session_id = rd_u32(&r);
    out->exit_status = (int32_t)rd_u32(&r);
    if (v >= 3)
        out->directory_table_base = rd_ptr(&r);
    if (v >= 4) {
        out->has_flags = 1;
        out->flags = rd_u32(&r);
    }
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    rd_user_sid(&r, &out->user_sid, &out->user_sid_len);
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    rd_cstrz(&r, &out->image_file_name, &out->image_file_name_len);
    if (v >= 2 && r.at < r.len)
        rd_utf16z(&r, &out->command_line, &out->command_line_bytes);
    if (v >= 4 && r.at < r.len)
        rd_utf16z(&r, &out->package_full_name, &out->package_full_name_bytes);
    if (v >= 4 && r.at < r.len)
        rd_utf16z(&r, &out->application_id, &out->application_id_bytes);
    return 0;
}

int etl_kernel_thread(const etl_event *ev, etl_thread *out)
{
    memset(out, 0, sizeof *out);
    if (!is_kernel_record(ev) || ev->hook_id < ETL_HOOK_THREAD_START || ev->hook_id > ETL_HOOK_THREAD_DC_END)
        return TLD_E_INVALID_ARG;
    unsigned v = ev->descriptor.version;
    rd r;
    rd_init(&r, ev);
    out->process_id = rd_u32(&r);
    out->thread_id = rd_u32(&r);
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    if (v < 1)
        return 0;
    out->stack_base = rd_ptr(&r);
    out->stack_limit = rd_ptr(&r);
    out->user_stack_base = rd_ptr(&r);
    out->user_stack_limit = rd_ptr(&r);
    out->start_address = rd_ptr(&r);
    out->win32_start_address = rd_ptr(&r);
    if (v >= 2) {
        out->teb_base = rd_ptr(&r);
        out->sub_process_tag = rd_u32(&r);
    }
    if (v >= 3) {
        out->base_priority = rd_u8(&r);
        out->page_priority = rd_u8(&r);
        out->io_priority = rd_u8(&r);
        out->thread_flags = rd_u8(&r);
    }
    if (r.short_)
        return TLD_E_KERNEL_PAYLOAD;
    out->has_addresses = 1;
    out->has_priorities = v >= 3;
    if (v >= 3 && r.len - r.at >= 2)
        rd_utf16z(&r, &out->thread_name, &out->thread_name_bytes);
    return 0;
}
