/*
 * fuzz_report_etl.c — libFuzzer target for the report path: the bytes are
 * an .etl file; the .etl adapter feeds a profile (with its timeline) and
 * every report format is written to a sink that drops the bytes. Nothing
 * may crash, hang or leak whatever the input (ASan/UBSan).
 *
 *   tests/fuzz/run_fuzz_report.sh [SECONDS]
 */
#include "etl_adapter.h"
#include "profile.h"
#include "report_writers.h"

#include <stddef.h>
#include <stdint.h>

static int drop(void *ctx, const char *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    etl_reader r;
    if (etl_reader_open(&r, data, size) != 0) {
        etl_reader_close(&r);
        return 0;
    }
    rp_profile *p;
    rp_options opt = {.record_timeline = 1};
    if (rp_profile_new(&p, &opt) == 0) {
        if (rp_etl_feed(p, &r, NULL) == 0 && rp_profile_finish(p) == 0) {
            rp_output out = {drop, NULL};
            rp_write_options o = {.limit = 5, .min_percent = 1.0};
            rp_write_top(p, &o, &out);
            rp_write_tree(p, &o, &out);
            rp_write_collapsed(p, &o, &out);
            rp_write_speedscope(p, &o, &out);
            rp_write_chrome(p, &o, &out);
            rp_write_html(p, &o, &out);
            o.per_thread = 1;
            rp_write_tree(p, &o, &out);
        }
        rp_profile_free(p);
    }
    etl_reader_close(&r);
    return 0;
}
