/* Timing helpers shared by the C benchmarks: a monotonic clock in ns and a comparison for
 * sorting samples (medians). */
#ifndef FFIKIT_BENCH_TIMING_H
#define FFIKIT_BENCH_TIMING_H

#include <stdint.h>
#include <stdlib.h>
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

/* MEASURE(out, body): ns per run of `body`, the median of REPS batches of BATCH runs (the
 * including file defines REPS and BATCH; `body` sees the batch index as `i`). */
#define MEASURE(out, body)                                  \
    do {                                                    \
        double samples[REPS];                               \
        for (int r = 0; r < REPS; r++) {                    \
            double t0 = now_ns();                           \
            for (uint32_t i = 0; i < BATCH; i++) { body; }  \
            samples[r] = (now_ns() - t0) / BATCH;           \
        }                                                   \
        qsort(samples, REPS, sizeof *samples, cmp_double);  \
        (out) = samples[REPS / 2];                          \
    } while (0)

/* BATCH_NS(body): ns per run of `body` over one batch of BATCH runs (a GNU statement
 * expression; `body` sees the run index as `i`). For interleaved rounds: time each caller's
 * batch in turn within a round, and take medians of the per-round ratios (paired_ratio). */
#define BATCH_NS(body)                                          \
    __extension__({                                             \
        double t0_ = now_ns();                                  \
        for (uint32_t i = 0; i < BATCH; i++) { body; }          \
        (now_ns() - t0_) / BATCH;                               \
    })

/* The median of n samples (sorted in place). */
static inline double median_of(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

/* The median over n rounds of a[r] / b[r]: a ratio of two callers timed in the same rounds,
 * robust to the machine speeding up or slowing down between rounds. */
static inline double paired_ratio(const double *a, const double *b, int n) {
    double r[n];
    for (int k = 0; k < n; k++) r[k] = a[k] / b[k];
    return median_of(r, n);
}

#endif
