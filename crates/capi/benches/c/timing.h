/* Timing helpers shared by the C benchmarks: a monotonic clock in ns and a comparison for
 * sorting samples (medians). */
#ifndef FFIKIT_BENCH_TIMING_H
#define FFIKIT_BENCH_TIMING_H

#include <time.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

#endif
