/* C functions for the Go binding's fast-path tests (fast_test.go), built by the test with
 * the host's cc, or beforehand for a cross-compiled test binary (FFIKIT_GO_FIXTURE_DIR). */
#include <stdint.h>

/* Writes every byte of kib KiB of stack: a leaf that lies about its stack budget. */
int ffikit_stack_hog(int kib) {
    volatile char buf[kib * 1024];
    int s = 0;
    for (int i = 0; i < kib * 1024; i++) buf[i] = (char)(i | 1);
    for (int i = 0; i < kib * 1024; i += 64) s += buf[i];
    return s;
}

/* Every narrow integer kind, each weighted so that a wrong extension shows. */
int64_t ffikit_mix_ints(int8_t a, uint8_t b, int16_t c, uint16_t d, int32_t e, uint32_t f) {
    return (int64_t)a + (int64_t)b * 1000 + (int64_t)c * 1000000 + (int64_t)d * 100000000000LL +
           (int64_t)e * 7 + (int64_t)f * 3;
}

/* Float and integer classes interleaved, a pointer (possibly into the goroutine's stack). */
double ffikit_mix_classes(float a, int64_t b, double c, const double *p, uint32_t d, float e,
                          int8_t f) {
    return (double)a + (double)b * 2 + c * 4 + *p * 8 + (double)d * 16 + (double)e * 32 +
           (double)f * 64;
}

/* All eight floating-point argument registers. */
double ffikit_sum8(double a, double b, double c, double d, double e, double f, double g,
                   double h) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

/* Narrow returns: the slot must be widened by the return type's sign. */
int8_t ffikit_neg8(int8_t x) { return (int8_t)-x; }
uint16_t ffikit_not16(uint16_t x) { return (uint16_t)~x; }
int32_t ffikit_neg32(int32_t x) { return -x; }
float ffikit_half(float x) { return x / 2; }
