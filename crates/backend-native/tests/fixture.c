/* A fixture for the native backend's register tests: each function weighs its arguments by
 * position, so an argument in the wrong register changes the result. */
#include <stdbool.h>
#include <stdint.h>

int64_t ffx_ints6(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f;
}

double ffx_floats8(double a, double b, double c, double d, double e, double f, double g, double h) {
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * g + 8 * h;
}

int32_t ffx_small(int8_t a, uint8_t b, int16_t c, uint16_t d, bool e) {
    return a + b * 10 + c * 100 + (int32_t)d * 1000 + (e ? 10000000 : 0);
}

double ffx_interleaved(int32_t a, double b, int64_t c, float d, uint32_t e, double f) {
    return a + 2.0 * b + 3.0 * (double)c + 4.0 * d + 5.0 * e + 6.0 * f;
}

float ffx_f32mix(float a, double b, float c) { return a + 2.0f * (float)b + 3.0f * c; }

int8_t ffx_ret_i8(int32_t x) { return (int8_t)x; }
uint16_t ffx_ret_u16(int32_t x) { return (uint16_t)x; }
bool ffx_ret_bool(int32_t x) { return x != 0; }
