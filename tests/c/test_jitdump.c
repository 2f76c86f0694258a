/*
 * test_jitdump.c — /tmp/jit-<pid>.dump (jitdump_linux.h), parsed back:
 * header, record order (unwinding info before each code load), sizes,
 * monotonic timestamps, the .eh_frame/.eh_frame_hdr contents resolved at
 * the addresses perf inject gives them, code bytes equal to the thunk's,
 * the executable marker mapping, mode 0600 and symlink refusal, nothing
 * written while disabled, and fork (the child's own file repeats the
 * parent's thunks; the parent's file is untouched by the child).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jitdump_linux.h"
#include "thunk_arena.h"
#include "thunk_template.h"

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;

    *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    *len = n;
    return buf;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int32_t rds32(const uint8_t *p)
{
    return (int32_t)rd32(p);
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void dump_path_of(pid_t pid, char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/jit-%ld.dump", (long)pid);
}

/*
 * Checks one unwinding record's data as perf inject will place it: code at
 * `code`, .eh_frame at code + ALIGN_8(code_size), .eh_frame_hdr after it.
 */
static void check_unwinding(const uint8_t *data, uint64_t unwinding_size, uint64_t hdr_size, uint64_t mapped_size,
                            uint64_t code, size_t code_size)
{
    const struct thunk_template *t = thunk_template_get();
    uint64_t eh = code + align8(code_size); /* where .eh_frame will be read */
    uint64_t table = unwinding_size - hdr_size;

    CHECK_EQ_INT(hdr_size, 20);
    CHECK(mapped_size >= unwinding_size && mapped_size % 8 == 0);
    CHECK(align8(code_size) + mapped_size <= THUNK_TEMPLATE_STRIDE); /* no overlap with the next thunk */

    /* CIE */
    uint32_t cie_len = rd32(data);
    CHECK((cie_len + 4) % 8 == 0);
    CHECK_EQ_INT(rd32(data + 4), 0);        /* CIE id */
    CHECK_EQ_INT(data[8], 1);               /* version */
    CHECK(memcmp(data + 9, "zR", 3) == 0);  /* augmentation */
    CHECK_EQ_INT(data[12], t->code_align);
    CHECK_EQ_INT((int8_t)(data[13] << 1) >> 1, t->data_align); /* SLEB128, one byte */
    CHECK_EQ_INT(data[14], t->return_address_reg);
    CHECK_EQ_INT(data[15], 1);    /* augmentation length */
    CHECK_EQ_INT(data[16], 0x1b); /* pcrel | sdata4 */
    CHECK(memcmp(data + 17, t->cie_program, t->cie_program_size) == 0);

    /* FDE */
    const uint8_t *fde = data + cie_len + 4;
    uint64_t fde_at = eh + cie_len + 4;
    uint32_t fde_len = rd32(fde);
    CHECK((fde_len + 4) % 8 == 0);
    CHECK_EQ_INT(rd32(fde + 4), cie_len + 4 + 4); /* back to the CIE */
    CHECK_EQ_INT(fde_at + 8 + (int64_t)rds32(fde + 8), code); /* pc_begin */
    CHECK_EQ_INT(rd32(fde + 12), code_size);                    /* pc_range */
    CHECK_EQ_INT(fde[16], 0);
    CHECK(memcmp(fde + 17, t->fde_program, t->fde_program_size) == 0);
    CHECK_EQ_INT(rd32(fde + fde_len + 4), 0); /* terminator */
    CHECK_EQ_INT(table, cie_len + 4 + fde_len + 4 + 4);

    /* .eh_frame_hdr */
    const uint8_t *hdr = data + table;
    uint64_t hdr_at = eh + table;
    CHECK_EQ_INT(hdr[0], 1);
    CHECK_EQ_INT(hdr[1], 0x1b);
    CHECK_EQ_INT(hdr[2], 0x03);
    CHECK_EQ_INT(hdr[3], 0x3b);
    CHECK_EQ_INT(hdr_at + 4 + (int64_t)rds32(hdr + 4), eh); /* eh_frame_ptr */
    CHECK_EQ_INT(rd32(hdr + 8), 1);                           /* fde_count */
    CHECK_EQ_INT(hdr_at + (int64_t)rds32(hdr + 12), code);    /* initial location */
    CHECK_EQ_INT(hdr_at + (int64_t)rds32(hdr + 16), fde_at);  /* FDE */
}

struct parsed {
    int loads, unwindings, closes, order_ok, timestamps_ok;
    uint64_t code_addr[16];
    char names[16][64];
};

/* Parses a whole dump, checking every record against the thunks given. */
static void parse_dump(const char *path, pid_t pid, const struct thunk *thunks, int nthunks, struct parsed *out)
{
    const struct thunk_template *t = thunk_template_get();
    size_t len;
    uint8_t *buf = read_file(path, &len);

    memset(out, 0, sizeof *out);
    out->order_ok = out->timestamps_ok = 1;
    CHECK(buf != NULL && len >= 40);
    if (buf == NULL || len < 40)
        return;
    CHECK_EQ_INT(rd32(buf), 0x4A695444);
    CHECK_EQ_INT(rd32(buf + 4), 1);
    CHECK_EQ_INT(rd32(buf + 8), 40);
    CHECK_EQ_INT(rd32(buf + 12), t->elf_machine);
    CHECK_EQ_INT(rd32(buf + 16), 0);
    CHECK_EQ_INT(rd32(buf + 20), pid);
    uint64_t last_ts = rd64(buf + 24);
    CHECK(last_ts > 0 && last_ts <= now_ns());
    CHECK_EQ_INT(rd64(buf + 32), 0);

    size_t off = 40;
    int expect_load = 0;
    while (off + 16 <= len) {
        uint32_t id = rd32(buf + off), size = rd32(buf + off + 4);
        uint64_t ts = rd64(buf + off + 8);
        const uint8_t *r = buf + off;
        CHECK(size >= 16 && off + size <= len);
        if (size < 16 || off + size > len)
            break;
        if (ts < last_ts)
            out->timestamps_ok = 0;
        last_ts = ts;
        if (id == 4) {
            if (expect_load)
                out->order_ok = 0;
            uint64_t usize = rd64(r + 16), hsize = rd64(r + 24), msize = rd64(r + 32);
            CHECK_EQ_INT(size, 40 + align8(usize));
            /* The code it describes is the next record's. */
            const uint8_t *next = r + size;
            if (next + 56 <= buf + len && rd32(next) == 0)
                check_unwinding(r + 40, usize, hsize, msize, rd64(next + 32), rd64(next + 40));
            out->unwindings++;
            expect_load = 1;
        } else if (id == 0) {
            if (!expect_load)
                out->order_ok = 0;
            expect_load = 0;
            uint32_t rpid = rd32(r + 16);
            uint64_t vma = rd64(r + 24), addr = rd64(r + 32), csize = rd64(r + 40), index = rd64(r + 48);
            const char *name = (const char *)r + 56;
            size_t nlen = strnlen(name, size - 56);
            CHECK_EQ_INT(rpid, getpid());
            CHECK(rd32(r + 20) != 0); /* tid */
            CHECK_EQ_INT(vma, addr);
            CHECK_EQ_INT(index, out->loads);
            CHECK_EQ_INT(size, 56 + nlen + 1 + csize);
            CHECK_EQ_INT(csize, t->code_size);
            int known = 0;
            for (int i = 0; i < nthunks; i++)
                if (thunks[i].begin == addr)
                    known = 1;
            CHECK(known);
            /* The bytes are the thunk's own. */
            CHECK(memcmp(r + 56 + nlen + 1, (const void *)(uintptr_t)addr, csize) == 0);
            CHECK(memcmp(r + 56 + nlen + 1, t->code, t->code_size) == 0);
            if (out->loads < 16) {
                out->code_addr[out->loads] = addr;
                snprintf(out->names[out->loads], sizeof out->names[0], "%s", name);
            }
            out->loads++;
        } else if (id == 3) {
            CHECK_EQ_INT(size, 16);
            out->closes++;
        } else {
            CHECK(!"unexpected record id");
        }
        off += size;
    }
    CHECK_EQ_INT(off, len);
    free(buf);
}

static int marker_mapped(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int found = 0;

    while (f && fgets(line, sizeof line, f)) {
        char perms[8];
        if (strstr(line, path) && sscanf(line, "%*s %7s", perms) == 1 && perms[2] == 'x')
            found = 1;
    }
    if (f)
        fclose(f);
    return found;
}

static void test_refuses_symlink(void)
{
    char path[64], target[64];
    struct stat st;

    dump_path_of(getpid(), path, sizeof path);
    snprintf(target, sizeof target, "/tmp/jitdump-target-%ld", (long)getpid());
    unlink(path);
    unlink(target);
    int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "keep", 4), 4);
    close(fd);
    CHECK_EQ_INT(symlink(target, path), 0);
    CHECK_EQ_INT(jitdump_enable(), -ELOOP);
    CHECK(!jitdump_enabled());
    CHECK_EQ_INT(stat(target, &st), 0);
    CHECK_EQ_INT(st.st_size, 4);
    unlink(path);
    unlink(target);
}

int main(void)
{
    const struct thunk_template *t = thunk_template_get();
    struct thunk th[4];
    char path[64], child_path[64];
    struct parsed p;
    struct stat st;

    (void)check_hex;
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(thunk_arena_create((uintptr_t)i, &th[i]), 0);
    dump_path_of(getpid(), path, sizeof path);

    /* Off by default: adding writes nothing and creates nothing. */
    unlink(path);
    CHECK(!jitdump_enabled());
    CHECK_EQ_INT(jitdump_add((void *)th[0].begin, th[0].end - th[0].begin, "py::never:/x.py"), 0);
    CHECK(access(path, F_OK) != 0);

    test_refuses_symlink();

    CHECK_EQ_INT(jitdump_enable(), 0);
    CHECK(jitdump_enabled());
    CHECK_EQ_INT(jitdump_enable(), 0); /* idempotent */
    CHECK(marker_mapped(path));
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 07777, 0600);
    const char *names[3] = {"py::<module>:/run/t.py", "py::a:/run/t.py", "py::b:/run/t.py"};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(jitdump_add((void *)th[i].begin, th[i].end - th[i].begin, names[i]), 0);

    parse_dump(path, getpid(), th, 4, &p);
    CHECK_EQ_INT(p.loads, 3);
    CHECK_EQ_INT(p.unwindings, 3);
    CHECK_EQ_INT(p.closes, 0);
    CHECK(p.order_ok);
    CHECK(p.timestamps_ok);
    for (int i = 0; i < 3; i++) {
        CHECK(p.code_addr[i] == th[i].begin);
        CHECK(strcmp(p.names[i], names[i]) == 0);
    }

    /* fork: the child's own file has the parent's thunks and its new one. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int ok = jitdump_enabled();
        char own[64];
        dump_path_of(getpid(), own, sizeof own);
        ok = ok && marker_mapped(own) && !marker_mapped(path);
        ok = ok && jitdump_add((void *)th[3].begin, th[3].end - th[3].begin, "py::child:/c.py") == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    dump_path_of(pid, child_path, sizeof child_path);
    /* (parse_dump checks the pid of load records against getpid(): parse the
     * child's file by hand for that field.) */
    size_t clen;
    uint8_t *child = read_file(child_path, &clen);
    CHECK(child != NULL && clen > 40 && rd32(child + 20) == (uint32_t)pid);
    int child_loads = 0;
    for (size_t off = 40; child && off + 16 <= clen; off += rd32(child + off + 4)) {
        if (rd32(child + off) == 0) {
            CHECK_EQ_INT(rd32(child + off + 16), pid);
            CHECK_EQ_INT(rd64(child + off + 48), child_loads); /* indices restart in the new file */
            child_loads++;
        }
        if (rd32(child + off + 4) < 16)
            break;
    }
    CHECK_EQ_INT(child_loads, 4);
    free(child);
    unlink(child_path);

    parse_dump(path, getpid(), th, 4, &p);
    CHECK_EQ_INT(p.loads, 3); /* the child did not write here */

    jitdump_disable();
    CHECK(!jitdump_enabled());
    CHECK(!marker_mapped(path));
    parse_dump(path, getpid(), th, 4, &p);
    CHECK_EQ_INT(p.loads, 3);
    CHECK_EQ_INT(p.closes, 1);
    CHECK_EQ_INT(jitdump_add((void *)th[3].begin, t->code_size, "py::late:/x.py"), 0);
    parse_dump(path, getpid(), th, 4, &p);
    CHECK_EQ_INT(p.loads, 3);

    unlink(path);
    return check_report("test_jitdump");
}
