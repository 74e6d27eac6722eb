/* Hand-written fixtures. Register capture: a stub that records the argument registers and the first eight stack
 * words it was entered with, so tests check exactly where each argument landed. */
#include <stdint.h>

struct ffx_regs {
    uint64_t gp[8];    /* x86-64: rdi rsi rdx rcx r8 r9; AArch64: x0-x7 */
    uint64_t fp[8];    /* xmm0-7 / d0-d7, low 64 bits */
    uint64_t extra;    /* x86-64: rax (al); AArch64: x8 */
    uint64_t stack[8]; /* the words at the stack pointer on entry (past the return address) */
};

__attribute__((visibility("hidden"))) struct ffx_regs ffx_captured;

struct ffx_regs *ffx_captured_regs(void) { return &ffx_captured; }

/* ffx_capture is written in file-scope assembly (GCC's `naked` attribute is not available
 * for AArch64 before GCC 14), so no compiler prologue touches the registers. */
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl ffx_capture\n"
    ".type ffx_capture, @function\n"
    "ffx_capture:\n"
    "    lea ffx_captured(%rip), %r11\n"
    "    mov %rdi, 0(%r11)\n"
    "    mov %rsi, 8(%r11)\n"
    "    mov %rdx, 16(%r11)\n"
    "    mov %rcx, 24(%r11)\n"
    "    mov %r8, 32(%r11)\n"
    "    mov %r9, 40(%r11)\n"
    "    movq %xmm0, 64(%r11)\n"
    "    movq %xmm1, 72(%r11)\n"
    "    movq %xmm2, 80(%r11)\n"
    "    movq %xmm3, 88(%r11)\n"
    "    movq %xmm4, 96(%r11)\n"
    "    movq %xmm5, 104(%r11)\n"
    "    movq %xmm6, 112(%r11)\n"
    "    movq %xmm7, 120(%r11)\n"
    "    mov %rax, 128(%r11)\n"
    "    mov 8(%rsp), %rax\n    mov %rax, 136(%r11)\n"
    "    mov 16(%rsp), %rax\n   mov %rax, 144(%r11)\n"
    "    mov 24(%rsp), %rax\n   mov %rax, 152(%r11)\n"
    "    mov 32(%rsp), %rax\n   mov %rax, 160(%r11)\n"
    "    mov 40(%rsp), %rax\n   mov %rax, 168(%r11)\n"
    "    mov 48(%rsp), %rax\n   mov %rax, 176(%r11)\n"
    "    mov 56(%rsp), %rax\n   mov %rax, 184(%r11)\n"
    "    mov 64(%rsp), %rax\n   mov %rax, 192(%r11)\n"
    "    xor %eax, %eax\n"
    "    ret\n"
    ".size ffx_capture, .-ffx_capture\n");
#elif defined(__aarch64__)
__asm__(
    ".text\n"
    ".globl ffx_capture\n"
    ".type ffx_capture, %function\n"
    "ffx_capture:\n"
    "    adrp x9, ffx_captured\n"
    "    add x9, x9, :lo12:ffx_captured\n"
    "    stp x0, x1, [x9, #0]\n"
    "    stp x2, x3, [x9, #16]\n"
    "    stp x4, x5, [x9, #32]\n"
    "    stp x6, x7, [x9, #48]\n"
    "    stp d0, d1, [x9, #64]\n"
    "    stp d2, d3, [x9, #80]\n"
    "    stp d4, d5, [x9, #96]\n"
    "    stp d6, d7, [x9, #112]\n"
    "    str x8, [x9, #128]\n"
    "    ldp x10, x11, [sp, #0]\n    stp x10, x11, [x9, #136]\n"
    "    ldp x10, x11, [sp, #16]\n   stp x10, x11, [x9, #152]\n"
    "    ldp x10, x11, [sp, #32]\n   stp x10, x11, [x9, #168]\n"
    "    ldp x10, x11, [sp, #48]\n   stp x10, x11, [x9, #184]\n"
    "    mov x0, #0\n"
    "    ret\n"
    ".size ffx_capture, .-ffx_capture\n");
#else
#error "the register capture stub supports x86_64 and aarch64"
#endif

/* qsort comparator for int32_t. */
int ffx_cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Fourteen mixed arguments (registers and stack on both ABIs), weighted by position. */
double ffx_diff14(int8_t a, uint16_t b, double c, float d, int64_t e, uint32_t f, _Bool g,
                  int8_t a2, uint16_t b2, double c2, float d2, int64_t e2, uint32_t f2, _Bool g2) {
    return a * 1.0 + b * 3.0 + c * 5.0 + d * 7.0 + (double)(e % 1000003) * 11.0 + f * 13.0 + g * 17.0
         + a2 * 19.0 + b2 * 23.0 + c2 * 29.0 + d2 * 31.0 + (double)(e2 % 999983) * 37.0 + f2 * 41.0 + g2 * 43.0;
}

/* Benchmark shapes. */
int32_t ffx_add_i32(int32_t a, int32_t b) { return a + b; }
int64_t ffx_6i64_8f64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f,
                      double g, double h, double i, double j, double k, double l, double m, double n) {
    return a + b + c + d + e + f + (int64_t)(g + h + i + j + k + l + m + n);
}
int64_t ffx_8i64(int64_t a, int64_t b, int64_t c, int64_t d, int64_t e, int64_t f, int64_t g, int64_t h) {
    return a + b + c + d + e + f + g + h;
}
typedef struct { int64_t a, b; } ffx_s16;
ffx_s16 ffx_swap16(ffx_s16 s) { ffx_s16 r = { s.b, s.a + 1 }; return r; }

/* Typed struct calls: a 24-byte struct (System V MEMORY: sret; AAPCS64: by reference to a
   copy, returned through x8), a float HFA (two SSE eightbytes; AAPCS64 v0-v3) and a mixed
   double/int struct (one SSE and one INTEGER eightbyte). */
typedef struct { int32_t a; double b; int64_t c; } ffx_s24;
typedef struct { float x, y, z, w; } ffx_f4;
typedef struct { double d; int32_t i; } ffx_di;
ffx_s24 ffx_mix24(int8_t k, ffx_s24 s, double f) {
    ffx_s24 r = { s.a * k, s.b * f, s.c - s.a };
    return r;
}
ffx_f4 ffx_scale_f4(ffx_f4 v, float k, ffx_di m) {
    ffx_f4 r = { v.x * k, v.y * k + (float)m.d, v.z * k + (float)m.i, v.w };
    return r;
}
ffx_di ffx_di_swap(ffx_di m, int64_t n) { ffx_di r = { (double)(m.i + n), (int32_t)m.d }; return r; }

/* Callbacks. */
#include <pthread.h>

struct ffx_thread_call {
    uint64_t (*cb)(uint64_t);
    uint64_t in, out;
};

static void *ffx_thread_main(void *p) {
    struct ffx_thread_call *c = p;
    c->out = c->cb(c->in);
    return 0;
}

/* Calls cb(x) on a thread this C code creates (one the Rust runtime never saw); returns
 * the result, or UINT64_MAX when the thread could not be created. */
uint64_t ffx_call_on_thread(uint64_t (*cb)(uint64_t), uint64_t x) {
    struct ffx_thread_call c = { cb, x, 0 };
    pthread_t t;
    if (pthread_create(&t, 0, ffx_thread_main, &c) != 0) return UINT64_MAX;
    pthread_join(t, 0);
    return c.out;
}

struct ffx_thread_drive {
    uint64_t (*driver)(void *, uint64_t, uint64_t *);
    void *cb;
    uint64_t seed, *h, out;
};

static void *ffx_drive_main(void *p) {
    struct ffx_thread_drive *d = p;
    d->out = d->driver(d->cb, d->seed, d->h);
    return 0;
}

/* Runs a corpus callback driver `cb_N(cb, seed, h)` on a thread this C code creates, so that
 * the closure `cb` is entered from a thread the Rust runtime never saw; returns the driver's
 * result, or UINT64_MAX when the thread could not be created. */
uint64_t ffx_drive_on_thread(uint64_t (*driver)(void *, uint64_t, uint64_t *), void *cb,
                             uint64_t seed, uint64_t *h) {
    struct ffx_thread_drive d = { driver, cb, seed, h, 0 };
    pthread_t t;
    if (pthread_create(&t, 0, ffx_drive_main, &d) != 0) return UINT64_MAX;
    pthread_join(t, 0);
    return d.out;
}

/* The bench shapes as C callers: each calls cb n times and folds the results, so the
 * callback bench times C calling the function pointer, as a C library would. */
int64_t ffx_cb_loop_i64(int64_t (*cb)(int64_t, int64_t), int64_t n) {
    int64_t acc = 0;
    for (int64_t i = 0; i < n; i++) acc += cb(i, acc);
    return acc;
}
double ffx_cb_loop_f64(double (*cb)(double, double, double), int64_t n) {
    double acc = 0;
    for (int64_t i = 0; i < n; i++) acc += cb((double)i, acc, 0.5);
    return acc;
}
int64_t ffx_cb_loop_s16(ffx_s16 (*cb)(ffx_s16), int64_t n) {
    ffx_s16 s = { 1, 2 };
    for (int64_t i = 0; i < n; i++) s = cb(s);
    return s.a + s.b;
}
