/*
 * The callees of shapes.c, in a shared library of their own so that every caller (the direct
 * call included) reaches them through a pointer, as a program calling a plugin would: the
 * five shapes ffikit's call path is measured on (add(i32,i32), dot(ptr,ptr,usize),
 * 6xi64+8xf64, 8xi64 with two on the stack on x86-64, a 16-byte struct in and out).
 */
#include <stddef.h>
#include <stdint.h>

typedef struct { int64_t a, b; } shp_s16;

int32_t shp_add(int32_t a, int32_t b) { return a + b; }

double shp_dot(const double *x, const double *y, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

int64_t shp_6i64_8f64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, double g,
                      double h, double i, double j, double k, double l, double m, double n) {
    return a + b + c + d + e + f + (int64_t)(g + h + i + j + k + l + m + n);
}

int64_t shp_8i64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g,
                 int64_t h) {
    return a + b + c + d + e + f + g + h;
}

shp_s16 shp_swap16(shp_s16 s) {
    shp_s16 r = {s.b, s.a + 1};
    return r;
}
