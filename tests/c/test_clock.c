/*
 * test_clock.c — the event clock's tick frequency is a real measurement
 * even when it is asked for at once: the clock is chosen without waiting
 * (every extension module has its own copy, and each would otherwise wait
 * at import), so it is the first tld_clock_frequency() call that must wait
 * until its estimate spans enough time. The early answer is checked against
 * a later one and against the wall clock across a sleep.
 */
#include "clock.h"

#include "check.h"
#include "test_platform.h"

#include <stdint.h>

/* |a - b| within b / divisor. */
static int close_to(uint64_t a, uint64_t b, uint64_t divisor)
{
    uint64_t diff = a > b ? a - b : b - a;
    return diff <= b / divisor;
}

int main(void)
{
    (void)tld_clock_ticks();                 /* the process's first reading: the clock is chosen here */
    uint64_t early = tld_clock_frequency();  /* asked for at once */

    uint64_t wall0 = tld_clock_filetime_now(), ticks0 = tld_clock_ticks();
    test_sleep_ms(500);
    uint64_t ticks1 = tld_clock_ticks(), wall1 = tld_clock_filetime_now();
    uint64_t late = tld_clock_frequency();   /* measured over the half second and more */

    printf("clock %s: frequency %llu at once, %llu after 0.5 s\n", tld_clock_source_name(),
           (unsigned long long)early, (unsigned long long)late);
    CHECK(early > 0);
    /* Both estimates come from the same kind of reading pairs (a TSC read
     * between two CLOCK_MONOTONIC_RAW reads tens of ns apart), the early one
     * over at least 2 ms: they agree to within 0.01 % (seen here: at most
     * 8e-7). An estimate taken at once, over the microsecond since the
     * choice, was off by up to 0.04 % here (this check caught it in two
     * runs of three). */
    CHECK(close_to(early, late, 10000));
    /* Ticks per wall-clock second across the sleep (wall time in 100 ns
     * units; the two clocks are read one after the other, so allow 2 %). */
    uint64_t wall = wall1 - wall0;
    CHECK(wall > 0);
    if (wall > 0) {
        uint64_t seen = (uint64_t)((double)(ticks1 - ticks0) * 1e7 / (double)wall);
        CHECK(close_to(early, seen, 50));
    }
    return check_report("test_clock");
}
