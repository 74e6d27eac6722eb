/*
 * The C API from C: every function and every error path, through each backend.
 * Built by `cargo xtask test` with gcc -std=c99 -Wall -Wextra -Werror, and run plainly,
 * under AddressSanitizer + UBSan, and under valgrind.
 *
 * Environment: FFIKIT_TEST_WASM is the path of ffikit_kernels.wasm (for dynamic wasm calls)
 * and FFIKIT_TEST_TMP a directory for the module the trap test writes.
 */
#define _POSIX_C_SOURCE 200809L
#include <ffikit.h>

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                              \
    do {                                                                         \
        checks++;                                                                \
        if (!(cond)) {                                                           \
            failures++;                                                          \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                        \
    } while (0)

/* Expects `call` to return `want`; prints the context's message when it does not. */
#define EXPECT(ctx, call, want)                                                   \
    do {                                                                          \
        ffikit_status got_ = (call);                                              \
        checks++;                                                                 \
        if (got_ != (want)) {                                                     \
            failures++;                                                           \
            fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, \
                    __LINE__, #call, ffikit_status_name((int32_t)got_),            \
                    ffikit_status_name((int32_t)(want)),                          \
                    (ctx) ? ffikit_context_error(ctx) : "no context");            \
        }                                                                         \
    } while (0)

#define OK(ctx, call) EXPECT(ctx, call, FFIKIT_STATUS_OK)

/* Expects `call` to fail with `want` and the context's message to contain `needle` (the
 * parameter or the value at fault). */
#define BAD(ctx, call, want, needle)                                                \
    do {                                                                            \
        EXPECT(ctx, call, want);                                                    \
        checks++;                                                                   \
        if (!strstr(ffikit_context_error(ctx), (needle))) {                         \
            failures++;                                                             \
            fprintf(stderr, "%s:%d: %s: the message \"%s\" does not name \"%s\"\n", \
                    __FILE__, __LINE__, #call, ffikit_context_error(ctx), (needle)); \
        }                                                                           \
    } while (0)

/* As BAD for the functions with no context, whose message goes to a caller's buffer. */
#define BAD_MSG(call, msg, want, needle)                                            \
    do {                                                                            \
        (msg)[0] = '\0';                                                            \
        EXPECT(NULL, call, want);                                                   \
        checks++;                                                                   \
        if (!strstr((msg), (needle))) {                                             \
            failures++;                                                             \
            fprintf(stderr, "%s:%d: %s: the message \"%s\" does not name \"%s\"\n", \
                    __FILE__, __LINE__, #call, (msg), (needle));                     \
        }                                                                           \
    } while (0)

static const char *BACKENDS[] = {"native", "asm", "wasm"};

/* Context creation and its errors. */
static void test_context_errors(void) {
    ffikit_context *ctx = (ffikit_context *)0x1;
    char msg[256] = "";
    CHECK(strlen(ffikit_version()) > 0);
    CHECK(strcmp(ffikit_status_name(0), "FFIKIT_STATUS_OK") == 0);
    CHECK(strcmp(ffikit_status_name(18), "FFIKIT_STATUS_TRAP") == 0);
    CHECK(strcmp(ffikit_status_name(9999), "FFIKIT_STATUS_UNKNOWN") == 0);
    EXPECT(NULL, ffikit_context_new(NULL, &ctx), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_context_new("native", NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_context_new("jit", &ctx), FFIKIT_STATUS_UNKNOWN_BACKEND);
    EXPECT(NULL, ffikit_context_new("\xff\xfe", &ctx), FFIKIT_STATUS_INVALID_UTF8);
    CHECK(ctx == (ffikit_context *)0x1); /* out untouched on failure */
    EXPECT(NULL, ffikit_context_new_msg("jit", &ctx, msg, sizeof msg),
           FFIKIT_STATUS_UNKNOWN_BACKEND);
    CHECK(strstr(msg, "unknown backend `jit`") != NULL);
    /* A tiny message buffer is truncated, still NUL-terminated. */
    char tiny[4] = {'x', 'x', 'x', 'x'};
    EXPECT(NULL, ffikit_context_new_msg("jit", &ctx, tiny, sizeof tiny),
           FFIKIT_STATUS_UNKNOWN_BACKEND);
    CHECK(tiny[3] == '\0' && strlen(tiny) == 3);
    /* NULL handles everywhere: errors or no-ops, never a crash. */
    CHECK(strcmp(ffikit_context_error(NULL), "") == 0);
    CHECK(strcmp(ffikit_context_backend(NULL), "") == 0);
    ffikit_context_free(NULL);
    ffikit_buffer_free(NULL);
    ffikit_library_free(NULL);
    ffikit_function_free(NULL);
    ffikit_pool_free(NULL);
    ffikit_pool_release(NULL, NULL);
    CHECK(ffikit_buffer_data(NULL) == NULL);
    CHECK(ffikit_buffer_len(NULL) == 0);
    CHECK(ffikit_function_nargs(NULL) == 0);
    uint32_t u = 7;
    double d = 7;
    EXPECT(NULL, ffikit_add_u32(NULL, 1, 2, &u), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_noop(NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_sum_f64(NULL, NULL, 0, &d), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_call(NULL, NULL, NULL, 0, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(u == 7 && d == 7);
}

/* Kernels on buffers and on caller memory, with their error paths. */
static void test_kernels(const char *backend) {
    ffikit_context *ctx = NULL, *other = NULL;
    char msg[512];
    OK(NULL, ffikit_context_new_msg(backend, &ctx, msg, sizeof msg));
    {
        /* The kernel's own C function, for native code only. */
        void *add = ffikit_context_kernel(ctx, "add_u32");
        if (strcmp(backend, "wasm") == 0) {
            CHECK(add == NULL);
        } else {
            CHECK(add != NULL && ((uint32_t (*)(uint32_t, uint32_t))add)(40, 2) == 42);
            void *sum = ffikit_context_kernel(ctx, "sum_f64");
            double xs[3] = {1.0, 2.5, -0.5};
            CHECK(sum != NULL && ((double (*)(const double *, size_t))sum)(xs, 3) == 3.0);
        }
        CHECK(ffikit_context_kernel(ctx, "no_such_kernel") == NULL);
        CHECK(ffikit_context_kernel(ctx, NULL) == NULL);
        CHECK(ffikit_context_kernel(NULL, "add_u32") == NULL);
    }
    if (!ctx) {
        fprintf(stderr, "no %s context: %s\n", backend, msg);
        return;
    }
    OK(NULL, ffikit_context_new(backend, &other));
    CHECK(strcmp(ffikit_context_backend(ctx), backend) == 0);
    CHECK(strcmp(ffikit_context_error(ctx), "") == 0);

    enum { N = 1000 };
    ffikit_buffer *x = NULL, *y = NULL, *a = NULL, *b = NULL, *o = NULL, *far = NULL;
    OK(ctx, ffikit_buffer_new(ctx, N * sizeof(double), &x));
    OK(ctx, ffikit_buffer_new(ctx, N * sizeof(double), &y));
    OK(ctx, ffikit_buffer_new(ctx, N * sizeof(uint32_t), &a));
    OK(ctx, ffikit_buffer_new(ctx, N * sizeof(uint32_t), &b));
    OK(ctx, ffikit_buffer_new(ctx, N * sizeof(uint32_t), &o));
    OK(other, ffikit_buffer_new(other, N * sizeof(double), &far));
    EXPECT(ctx, ffikit_buffer_new(ctx, 8, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    {
        /* A buffer no context can hold: for wasm, larger than its 4 GiB linear memory, refused
         * by its own status with both sizes in the message; for native and asm the allocator
         * refuses it. Nothing is handed out either way. */
        ffikit_buffer *huge = NULL;
        ffikit_status st = ffikit_buffer_new(ctx, ((size_t)5) << 30, &huge);
        if (strcmp(backend, "wasm") == 0) {
            CHECK(st == FFIKIT_STATUS_BUFFER_TOO_LARGE);
            CHECK(strstr(ffikit_context_error(ctx), "5368709120") != NULL);
            CHECK(strstr(ffikit_context_error(ctx), "4294967296") != NULL);
            CHECK(huge == NULL);
        } else if (st == FFIKIT_STATUS_OK) {
            ffikit_buffer_free(huge); /* 5 GiB of overcommitted host memory: fine to refuse or give */
        }
        huge = NULL;
        st = ffikit_buffer_new(ctx, SIZE_MAX / 2, &huge);
        CHECK(st == (strcmp(backend, "wasm") == 0 ? FFIKIT_STATUS_BUFFER_TOO_LARGE
                                                  : FFIKIT_STATUS_OUT_OF_MEMORY));
        CHECK(huge == NULL);
    }
    CHECK(ffikit_buffer_len(x) == N * sizeof(double));
    CHECK(((uintptr_t)ffikit_buffer_data(x) % 64) == 0);
    double *xs = (double *)ffikit_buffer_data(x), *ys = (double *)ffikit_buffer_data(y);
    uint32_t *as = (uint32_t *)ffikit_buffer_data(a), *bs = (uint32_t *)ffikit_buffer_data(b);
    uint32_t *os = (uint32_t *)ffikit_buffer_data(o);
    /* Values whose sums and products are exact in binary64, so any summation order agrees. */
    double want_sum = 0, want_dot = 0;
    for (int i = 0; i < N; i++) {
        CHECK(xs[i] == 0.0); /* zeroed */
        xs[i] = i * 0.5 - 100.0;
        ys[i] = (double)(i % 13);
        as[i] = (uint32_t)i * 2654435761u;
        bs[i] = UINT32_MAX - (uint32_t)i;
        want_sum += xs[i];
        want_dot += xs[i] * ys[i];
    }

    double r = -1;
    uint32_t u = 0;
    OK(ctx, ffikit_noop(ctx));
    OK(ctx, ffikit_add_u32(ctx, 40, 2, &u));
    CHECK(u == 42);
    OK(ctx, ffikit_add_u32(ctx, UINT32_MAX, 3, &u));
    CHECK(u == 2);
    OK(ctx, ffikit_sum_f64(ctx, x, N, &r));
    CHECK(r == want_sum);
    OK(ctx, ffikit_sum_f64(ctx, x, 0, &r));
    CHECK(r == 0.0);
    OK(ctx, ffikit_dot_f64(ctx, x, y, N, &r));
    CHECK(r == want_dot);
    OK(ctx, ffikit_add_u32_batch(ctx, a, b, o, N));
    for (int i = 0; i < N; i++) CHECK(os[i] == as[i] + bs[i]);
    OK(ctx, ffikit_axpy_f64(ctx, 2.0, x, y, N));
    for (int i = 0; i < N; i++) CHECK(ys[i] == 2.0 * xs[i] + (double)(i % 13));

    /* Error paths: each its own status and a message; out-parameters untouched. */
    r = 12345.0;
    EXPECT(ctx, ffikit_sum_f64(ctx, x, N + 1, &r), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS);
    CHECK(strstr(ffikit_context_error(ctx), "out of bounds") != NULL);
    EXPECT(ctx, ffikit_sum_f64(ctx, x, SIZE_MAX, &r), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS);
    EXPECT(ctx, ffikit_dot_f64(ctx, x, y, N + 1, &r), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS);
    EXPECT(ctx, ffikit_axpy_f64(ctx, 1.0, x, y, N + 1), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS);
    EXPECT(ctx, ffikit_add_u32_batch(ctx, a, b, o, N + 1), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS);
    EXPECT(ctx, ffikit_sum_f64(ctx, far, 1, &r), FFIKIT_STATUS_FOREIGN_HANDLE);
    EXPECT(ctx, ffikit_sum_f64(ctx, NULL, 1, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(ffikit_context_error(ctx), "x is NULL") != NULL);
    EXPECT(ctx, ffikit_sum_f64(ctx, x, 1, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_dot_f64(ctx, x, NULL, 1, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_add_u32(ctx, 1, 2, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_axpy_f64(ctx, 1.0, NULL, y, 1), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_add_u32_batch(ctx, a, b, NULL, 1), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(r == 12345.0);

    /* The same kernels on caller memory (in place for native/asm, one copy for wasm). */
    double *hx = malloc(N * sizeof(double)), *hy = malloc(N * sizeof(double));
    uint32_t *ha = malloc(N * sizeof(uint32_t)), *hb = malloc(N * sizeof(uint32_t));
    uint32_t *ho = malloc(N * sizeof(uint32_t));
    for (int i = 0; i < N; i++) {
        hx[i] = i * 0.5 - 100.0;
        hy[i] = (double)(i % 13);
        ha[i] = (uint32_t)i;
        hb[i] = (uint32_t)(3 * i);
    }
    OK(ctx, ffikit_sum_f64_ptr(ctx, hx, N, &r));
    CHECK(r == want_sum);
    OK(ctx, ffikit_dot_f64_ptr(ctx, hx, hy, N, &r));
    CHECK(r == want_dot);
    OK(ctx, ffikit_axpy_f64_ptr(ctx, 2.0, hx, hy, N));
    for (int i = 0; i < N; i++) CHECK(hy[i] == 2.0 * hx[i] + (double)(i % 13));
    OK(ctx, ffikit_add_u32_batch_ptr(ctx, ha, hb, ho, N));
    for (int i = 0; i < N; i++) CHECK(ho[i] == (uint32_t)(4 * i));
    OK(ctx, ffikit_sum_f64_ptr(ctx, NULL, 0, &r));
    CHECK(r == 0.0);
    EXPECT(ctx, ffikit_sum_f64_ptr(ctx, NULL, 5, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_axpy_f64_ptr(ctx, 1.0, hx, NULL, 5), FFIKIT_STATUS_NULL_ARGUMENT);
    /* A pointer into one of the context's own buffers is used in place by every backend. */
    OK(ctx, ffikit_sum_f64_ptr(ctx, xs + 10, 20, &r));
    /* More than the 8 MiB scratch: wasm must copy and refuses; native/asm read in place. */
    size_t big = (size_t)2 << 20;
    double *huge = calloc(big, sizeof(double));
    huge[big - 1] = 3.0;
    if (strcmp(backend, "wasm") == 0) {
        EXPECT(ctx, ffikit_sum_f64_ptr(ctx, huge, big, &r), FFIKIT_STATUS_BUFFER_TOO_SMALL);
    } else {
        OK(ctx, ffikit_sum_f64_ptr(ctx, huge, big, &r));
        CHECK(r == 3.0);
    }
    free(huge);
    free(hx);
    free(hy);
    free(ha);
    free(hb);
    free(ho);

    ffikit_buffer_free(x);
    ffikit_buffer_free(y);
    ffikit_buffer_free(a);
    ffikit_buffer_free(b);
    ffikit_buffer_free(o);
    ffikit_buffer_free(far);
    ffikit_context_free(other);
    ffikit_context_free(ctx);
}

/* Dynamic calls by signature text. */
static void test_dynamic_native(const char *backend) {
    ffikit_context *ctx = NULL, *other = NULL;
    OK(NULL, ffikit_context_new(backend, &ctx));
    OK(NULL, ffikit_context_new(backend, &other));
    if (!ctx || !other) return;
    ffikit_library *libm = NULL, *libc = NULL, *libm2 = NULL, *missing = (ffikit_library *)0x1;
    OK(ctx, ffikit_library_open(ctx, "libm.so.6", &libm));
    OK(ctx, ffikit_library_open(ctx, "libc.so.6", &libc));
    OK(other, ffikit_library_open(other, "libm.so.6", &libm2));
    EXPECT(ctx, ffikit_library_open(ctx, "/nonexistent/libnothing.so", &missing),
           FFIKIT_STATUS_LIBRARY_NOT_FOUND);
    CHECK(missing == (ffikit_library *)0x1);
    CHECK(strstr(ffikit_context_error(ctx), "libnothing") != NULL);
    EXPECT(ctx, ffikit_library_open(ctx, NULL, &missing), FFIKIT_STATUS_NULL_ARGUMENT);

    ffikit_function *pow_fn = NULL, *bad = NULL, *far = NULL;
    OK(ctx, ffikit_prepare(ctx, libm, "pow", "f64(f64, f64)", &pow_fn));
    CHECK(ffikit_function_nargs(pow_fn) == 2);
    CHECK(ffikit_function_arg_size(pow_fn, 0) == 8 && ffikit_function_arg_size(pow_fn, 2) == 0);
    CHECK(ffikit_function_ret_size(pow_fn) == 8);
    CHECK(ffikit_function_arg_size(NULL, 0) == 0 && ffikit_function_ret_size(NULL) == 0);
    {
        ffikit_function *shapes = NULL;
        if (strcmp(backend, "asm") == 0) { /* structs by value: the asm backend */
            OK(ctx, ffikit_prepare(ctx, libm, "pow", "{i8, f64, i16}(u16, f32, {i32, i8})",
                                   &shapes));
            CHECK(ffikit_function_ret_size(shapes) == 24);
            CHECK(ffikit_function_arg_size(shapes, 0) == 2);
            CHECK(ffikit_function_arg_size(shapes, 1) == 4);
            CHECK(ffikit_function_arg_size(shapes, 2) == 8);
            ffikit_function_free(shapes);
        }
        OK(ctx, ffikit_prepare(ctx, libm, "pow", "f32(i8)", &shapes));
        CHECK(ffikit_function_ret_size(shapes) == 4 && ffikit_function_arg_size(shapes, 0) == 1);
        ffikit_function_free(shapes);
        OK(ctx, ffikit_prepare(ctx, libm, "pow", "void(u8)", &shapes));
        CHECK(ffikit_function_ret_size(shapes) == 0);
        ffikit_function_free(shapes);
        OK(ctx, ffikit_prepare(ctx, libm, "pow", "i16()", &shapes));
        CHECK(ffikit_function_ret_size(shapes) == 8); /* widened like ffi_arg */
        ffikit_function_free(shapes);
    }
    double base = 2.0, ex = 10.0, r = 0;
    void *args[2] = {&base, &ex};
    OK(ctx, ffikit_call(ctx, pow_fn, args, 2, &r));
    CHECK(r == 1024.0);
    EXPECT(ctx, ffikit_call(ctx, pow_fn, args, 1, &r), FFIKIT_STATUS_ARGUMENT_COUNT);
    CHECK(strstr(ffikit_context_error(ctx), "pow") != NULL);
    EXPECT(ctx, ffikit_call(ctx, pow_fn, NULL, 2, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    void *holes[2] = {&base, NULL};
    EXPECT(ctx, ffikit_call(ctx, pow_fn, holes, 2, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_call(ctx, pow_fn, args, 2, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_call(ctx, NULL, args, 2, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_prepare(ctx, libm, "no_such_symbol", "f64(f64)", &bad),
           FFIKIT_STATUS_SYMBOL_NOT_FOUND);
    EXPECT(ctx, ffikit_prepare(ctx, libm, "pow", "f64(f64, f64", &bad),
           FFIKIT_STATUS_INVALID_SIGNATURE);
    CHECK(strstr(ffikit_context_error(ctx), "12") != NULL); /* the byte position */
    EXPECT(ctx, ffikit_prepare(ctx, libm, "pow", "f64(f65)", &bad),
           FFIKIT_STATUS_INVALID_SIGNATURE);
    EXPECT(ctx, ffikit_prepare(ctx, libm2, "pow", "f64(f64, f64)", &bad),
           FFIKIT_STATUS_FOREIGN_HANDLE);
    EXPECT(ctx, ffikit_prepare(ctx, NULL, "pow", "f64(f64, f64)", &bad),
           FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_prepare(ctx, libm, "pow", NULL, &bad), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(bad == NULL);
    OK(other, ffikit_prepare(other, libm2, "pow", "f64(f64, f64)", &far));
    EXPECT(ctx, ffikit_call(ctx, far, args, 2, &r), FFIKIT_STATUS_FOREIGN_HANDLE);

    /* Integers come back widened to 8 bytes, as libffi's ffi_arg. */
    ffikit_function *labs_fn = NULL, *div_fn = NULL, *snprintf_fn = NULL;
    OK(ctx, ffikit_prepare(ctx, libc, "labs", "i64(i64)", &labs_fn));
    int64_t neg = -77, lr = 0;
    void *largs[1] = {&neg};
    OK(ctx, ffikit_call(ctx, labs_fn, largs, 1, &lr));
    CHECK(lr == 77);
    if (strcmp(backend, "asm") == 0) {
        /* Struct return in registers and a variadic call: the asm backend's ground. */
        OK(ctx, ffikit_prepare(ctx, libc, "div", "{i32, i32}(i32, i32)", &div_fn));
        int32_t num = 17, den = 5;
        struct { int32_t quot, rem; } q = {0, 0};
        void *dargs[2] = {&num, &den};
        OK(ctx, ffikit_call(ctx, div_fn, dargs, 2, &q));
        CHECK(q.quot == 3 && q.rem == 2);
        OK(ctx, ffikit_prepare(ctx, libc, "snprintf", "i32(ptr, usize, ptr, ..., f64, i32)",
                               &snprintf_fn));
        char out[64];
        void *outp = out;
        size_t cap = sizeof out;
        const char *fmt = "%.2f|%d";
        double dv = 3.14159;
        int32_t iv = -42;
        int64_t written = 0;
        void *sargs[5] = {&outp, &cap, &fmt, &dv, &iv};
        OK(ctx, ffikit_call(ctx, snprintf_fn, sargs, 5, &written));
        CHECK(written == 8 && strcmp(out, "3.14|-42") == 0);
    } else {
        EXPECT(ctx, ffikit_prepare(ctx, libc, "div", "{i32, i32}(i32, i32)", &div_fn),
               FFIKIT_STATUS_UNSUPPORTED_SIGNATURE);
        CHECK(strstr(ffikit_context_error(ctx), "asm") != NULL);
    }
    ffikit_function_free(div_fn);
    ffikit_function_free(snprintf_fn);
    /* The library handle may go first: its functions keep the code loaded. */
    ffikit_library_free(libm);
    OK(ctx, ffikit_call(ctx, pow_fn, args, 2, &r));
    CHECK(r == 1024.0);
    ffikit_function_free(pow_fn);
    ffikit_function_free(labs_fn);
    ffikit_function_free(far);
    ffikit_library_free(libc);
    ffikit_library_free(libm2);
    ffikit_context_free(other);
    ffikit_context_free(ctx);
}

/* Functions of this program, called through ffikit_prepare_address: addresses the caller
 * holds, as from a vtable, a plugin's table or a JIT. */
static int64_t addr_add(int64_t a, int32_t b) { return a + b; }
typedef struct { double x, y; } addr_vec2;
static addr_vec2 addr_swap(addr_vec2 v, double k) {
    addr_vec2 r = {v.y * k, v.x * k};
    return r;
}

static void test_prepare_address(const char *backend) {
    ffikit_context *ctx = NULL;
    OK(NULL, ffikit_context_new(backend, &ctx));
    if (!ctx) return;
    CHECK(strcmp(ffikit_status_name(32), "FFIKIT_STATUS_ADDRESS_UNSUPPORTED") == 0);
    ffikit_function *f = NULL, *bad = (ffikit_function *)0x1;
    const void *add_code = (const void *)(uintptr_t)&addr_add;
    if (strcmp(backend, "wasm") == 0) {
        EXPECT(ctx, ffikit_prepare_address(ctx, add_code, "i64(i64, i32)", &bad),
               FFIKIT_STATUS_ADDRESS_UNSUPPORTED);
        CHECK(strstr(ffikit_context_error(ctx), "by name") != NULL);
        CHECK(bad == (ffikit_function *)0x1); /* out untouched on failure */
        ffikit_context_free(ctx);
        return;
    }
    OK(ctx, ffikit_prepare_address(ctx, add_code, "i64(i64, i32)", &f));
    CHECK(ffikit_function_nargs(f) == 2);
    int64_t a = 40, r = 0;
    int32_t b = 2;
    void *args[2] = {&a, &b};
    OK(ctx, ffikit_call(ctx, f, args, 2, &r));
    CHECK(r == 42);
    b = -50;
    OK(ctx, ffikit_call(ctx, f, args, 2, &r));
    CHECK(r == -10);
    /* Errors name the function by its address. */
    EXPECT(ctx, ffikit_call(ctx, f, args, 1, &r), FFIKIT_STATUS_ARGUMENT_COUNT);
    CHECK(strstr(ffikit_context_error(ctx), "0x") != NULL);
    void *holes[2] = {&a, NULL};
    EXPECT(ctx, ffikit_call(ctx, f, holes, 2, &r), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(ffikit_context_error(ctx), "args[1]") != NULL);
    ffikit_function_free(f);
    if (strcmp(backend, "asm") == 0) { /* a struct in and out: the asm backend's ground */
        ffikit_function *swap = NULL;
        OK(ctx, ffikit_prepare_address(ctx, (const void *)(uintptr_t)&addr_swap,
                                       "{f64, f64}({f64, f64}, f64)", &swap));
        addr_vec2 v = {1.5, -2.0}, out = {0, 0};
        double k = 2.0;
        void *sargs[2] = {&v, &k};
        OK(ctx, ffikit_call(ctx, swap, sargs, 2, &out));
        CHECK(out.x == -4.0 && out.y == 3.0);
        ffikit_function_free(swap);
    }
    EXPECT(ctx, ffikit_prepare_address(ctx, NULL, "i64(i64, i32)", &bad),
           FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(strstr(ffikit_context_error(ctx), "code") != NULL);
    CHECK(bad == (ffikit_function *)0x1); /* out untouched on failure */
    EXPECT(ctx, ffikit_prepare_address(ctx, add_code, "i64(i64, i32", &bad),
           FFIKIT_STATUS_INVALID_SIGNATURE);
    EXPECT(ctx, ffikit_prepare_address(ctx, add_code, NULL, &bad), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_prepare_address(ctx, add_code, "i64(i64, i32)", NULL),
           FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(ffikit_prepare_address(NULL, add_code, "i64(i64, i32)", &bad) ==
          FFIKIT_STATUS_NULL_ARGUMENT);
    ffikit_context_free(ctx);
}

static void bad_closure_fn(void *userdata, void *const *args, void *ret) {
    (void)userdata;
    (void)args;
    (void)ret;
}

/* Every bad size, pointer, handle or signature the C API is given, on every backend: its own
 * status, and a message that names the parameter or the value. */
static void test_bad_inputs(const char *backend) {
    char msg[512];
    ffikit_context *c = (ffikit_context *)0x1;
    ffikit_pool *p = (ffikit_pool *)0x1;
    BAD_MSG(ffikit_context_new_msg(NULL, &c, msg, sizeof msg), msg, FFIKIT_STATUS_NULL_ARGUMENT,
            "backend is NULL");
    BAD_MSG(ffikit_context_new_msg(backend, NULL, msg, sizeof msg), msg,
            FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD_MSG(ffikit_context_new_msg("nat\xffve", &c, msg, sizeof msg), msg,
            FFIKIT_STATUS_INVALID_UTF8, "backend is not valid UTF-8");
    BAD_MSG(ffikit_context_new_msg("jit", &c, msg, sizeof msg), msg,
            FFIKIT_STATUS_UNKNOWN_BACKEND, "jit");
    BAD_MSG(ffikit_pool_new_msg(backend, 0, &p, msg, sizeof msg), msg,
            FFIKIT_STATUS_INVALID_ARGUMENT, "0");
    BAD_MSG(ffikit_pool_new_msg(NULL, 2, &p, msg, sizeof msg), msg, FFIKIT_STATUS_NULL_ARGUMENT,
            "backend is NULL");
    BAD_MSG(ffikit_pool_new_msg("jit", 2, &p, msg, sizeof msg), msg,
            FFIKIT_STATUS_UNKNOWN_BACKEND, "jit");
    BAD_MSG(ffikit_pool_new_msg(backend, 2, NULL, msg, sizeof msg), msg,
            FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    CHECK(c == (ffikit_context *)0x1 && p == (ffikit_pool *)0x1);
    EXPECT(NULL, ffikit_pool_acquire(NULL, &c), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_pool_acquire_timeout(NULL, 1, &c), FFIKIT_STATUS_NULL_ARGUMENT);

    ffikit_context *ctx = NULL, *other = NULL;
    OK(NULL, ffikit_context_new(backend, &ctx));
    OK(NULL, ffikit_context_new(backend, &other));
    if (!ctx || !other) return;
    int wasm = strcmp(backend, "wasm") == 0;

    /* Buffers and kernels. */
    ffikit_buffer *x = NULL, *y = NULL, *far = NULL, *bad_buf = (ffikit_buffer *)0x1;
    OK(ctx, ffikit_buffer_new(ctx, 4 * sizeof(double), &x));
    OK(ctx, ffikit_buffer_new(ctx, 4 * sizeof(double), &y));
    OK(other, ffikit_buffer_new(other, 4 * sizeof(double), &far));
    BAD(ctx, ffikit_buffer_new(ctx, 8, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_buffer_new(ctx, SIZE_MAX, &bad_buf),
        wasm ? FFIKIT_STATUS_BUFFER_TOO_LARGE : FFIKIT_STATUS_OUT_OF_MEMORY, "18446744073709551615");
    CHECK(bad_buf == (ffikit_buffer *)0x1);
    double r = 0;
    uint32_t u = 0;
    BAD(ctx, ffikit_add_u32(ctx, 1, 2, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_sum_f64(ctx, NULL, 1, &r), FFIKIT_STATUS_NULL_ARGUMENT, "x is NULL");
    BAD(ctx, ffikit_sum_f64(ctx, x, 1, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_sum_f64(ctx, x, 5, &r), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS, "n = 5 f64 (40 bytes) is out of bounds of `x`");
    BAD(ctx, ffikit_sum_f64(ctx, far, 1, &r), FFIKIT_STATUS_FOREIGN_HANDLE, "`x` is a buffer of context");
    BAD(ctx, ffikit_dot_f64(ctx, x, NULL, 1, &r), FFIKIT_STATUS_NULL_ARGUMENT, "y is NULL");
    BAD(ctx, ffikit_dot_f64(ctx, x, y, 9, &r), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS, "n = 9 f64 (72 bytes) is out of bounds of `x`");
    BAD(ctx, ffikit_dot_f64(ctx, x, far, 1, &r), FFIKIT_STATUS_FOREIGN_HANDLE, "`y` is a buffer of context");
    BAD(ctx, ffikit_axpy_f64(ctx, 1.0, NULL, y, 1), FFIKIT_STATUS_NULL_ARGUMENT, "x is NULL");
    BAD(ctx, ffikit_axpy_f64(ctx, 1.0, x, y, 7), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS, "n = 7 f64");
    BAD(ctx, ffikit_add_u32_batch(ctx, x, y, NULL, 1), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_add_u32_batch(ctx, x, y, x, 11), FFIKIT_STATUS_BUFFER_OUT_OF_BOUNDS, "n = 11 u32 (44 bytes)");
    BAD(ctx, ffikit_sum_f64_ptr(ctx, NULL, 5, &r), FFIKIT_STATUS_NULL_ARGUMENT, "x is NULL");
    BAD(ctx, ffikit_dot_f64_ptr(ctx, NULL, NULL, 2, &r), FFIKIT_STATUS_NULL_ARGUMENT, "x is NULL");
    BAD(ctx, ffikit_axpy_f64_ptr(ctx, 1.0, (const double *)&r, NULL, 1),
        FFIKIT_STATUS_NULL_ARGUMENT, "y is NULL");
    BAD(ctx, ffikit_add_u32_batch_ptr(ctx, &u, &u, NULL, 1), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");

    /* Libraries, functions and calls. */
    const char *lib_path = wasm ? getenv("FFIKIT_TEST_WASM") : "libm.so.6";
    ffikit_library *lib = NULL, *far_lib = NULL, *bad_lib = (ffikit_library *)0x1;
    OK(ctx, ffikit_library_open(ctx, lib_path, &lib));
    OK(other, ffikit_library_open(other, lib_path, &far_lib));
    BAD(ctx, ffikit_library_open(ctx, NULL, &bad_lib), FFIKIT_STATUS_NULL_ARGUMENT, "path");
    BAD(ctx, ffikit_library_open(ctx, lib_path, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_library_open(ctx, "lib\xff.so", &bad_lib), FFIKIT_STATUS_INVALID_UTF8, "path");
    BAD(ctx, ffikit_library_open(ctx, "/nonexistent/libnothing.so", &bad_lib),
        FFIKIT_STATUS_LIBRARY_NOT_FOUND, "/nonexistent/libnothing.so");
    CHECK(bad_lib == (ffikit_library *)0x1);
    const char *sym = wasm ? "ffikit_add_u32" : "pow";
    const char *sig = wasm ? "u32(u32, u32)" : "f64(f64, f64)";
    ffikit_function *f = NULL, *far_f = NULL, *bad_f = (ffikit_function *)0x1;
    OK(ctx, ffikit_prepare(ctx, lib, sym, sig, &f));
    OK(other, ffikit_prepare(other, far_lib, sym, sig, &far_f));
    BAD(ctx, ffikit_prepare(ctx, NULL, sym, sig, &bad_f), FFIKIT_STATUS_NULL_ARGUMENT, "lib");
    BAD(ctx, ffikit_prepare(ctx, lib, NULL, sig, &bad_f), FFIKIT_STATUS_NULL_ARGUMENT, "symbol");
    BAD(ctx, ffikit_prepare(ctx, lib, sym, NULL, &bad_f), FFIKIT_STATUS_NULL_ARGUMENT, "signature");
    BAD(ctx, ffikit_prepare(ctx, lib, sym, sig, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_prepare(ctx, lib, "po\xff", sig, &bad_f), FFIKIT_STATUS_INVALID_UTF8, "symbol");
    BAD(ctx, ffikit_prepare(ctx, lib, sym, "f64(f64\xff)", &bad_f), FFIKIT_STATUS_INVALID_UTF8,
        "signature");
    BAD(ctx, ffikit_prepare(ctx, lib, "no_such_symbol", sig, &bad_f),
        FFIKIT_STATUS_SYMBOL_NOT_FOUND, "no_such_symbol");
    BAD(ctx, ffikit_prepare(ctx, lib, sym, "f64(double, f64)", &bad_f),
        FFIKIT_STATUS_INVALID_SIGNATURE, "`double` (write `f64` for it)");
    BAD(ctx, ffikit_prepare(ctx, far_lib, sym, sig, &bad_f), FFIKIT_STATUS_FOREIGN_HANDLE, "library");
    CHECK(bad_f == (ffikit_function *)0x1);
    double a = 2, b = 3;
    uint32_t ua = 2, ub = 3;
    void *args[2] = {wasm ? (void *)&ua : (void *)&a, wasm ? (void *)&ub : (void *)&b};
    void *holes[2] = {args[0], NULL};
    uint64_t ret = 0;
    BAD(ctx, ffikit_call(ctx, NULL, args, 2, &ret), FFIKIT_STATUS_NULL_ARGUMENT, "fn");
    BAD(ctx, ffikit_call(ctx, f, NULL, 2, &ret), FFIKIT_STATUS_NULL_ARGUMENT, "args");
    BAD(ctx, ffikit_call(ctx, f, holes, 2, &ret), FFIKIT_STATUS_NULL_ARGUMENT, "args[1]");
    BAD(ctx, ffikit_call(ctx, f, args, 2, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "ret");
    BAD(ctx, ffikit_call(ctx, f, args, 3, &ret), FFIKIT_STATUS_ARGUMENT_COUNT, "3");
    BAD(ctx, ffikit_call(ctx, far_f, args, 2, &ret), FFIKIT_STATUS_FOREIGN_HANDLE, "function");
    ffikit_register_call rc;
    BAD(ctx, ffikit_function_register_call(ctx, NULL, &rc), FFIKIT_STATUS_NULL_ARGUMENT, "fn");
    BAD(ctx, ffikit_function_register_call(ctx, f, NULL), FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_function_register_call(ctx, far_f, &rc), FFIKIT_STATUS_FOREIGN_HANDLE,
        "function");

    /* Closures. */
    ffikit_closure *cl = (ffikit_closure *)0x1;
    BAD(ctx, ffikit_closure_new(ctx, NULL, bad_closure_fn, NULL, &cl), FFIKIT_STATUS_NULL_ARGUMENT,
        "signature");
    BAD(ctx, ffikit_closure_new(ctx, "i32(i32)", NULL, NULL, &cl), FFIKIT_STATUS_NULL_ARGUMENT,
        "fn");
    BAD(ctx, ffikit_closure_new(ctx, "i32(i32)", bad_closure_fn, NULL, NULL),
        FFIKIT_STATUS_NULL_ARGUMENT, "out is NULL");
    BAD(ctx, ffikit_closure_new(ctx, "i32(int)", bad_closure_fn, NULL, &cl),
        FFIKIT_STATUS_INVALID_SIGNATURE, "`int` (write `i32` for it)");
    CHECK(cl == (ffikit_closure *)0x1);

    ffikit_function_free(f);
    ffikit_function_free(far_f);
    ffikit_library_free(lib);
    ffikit_library_free(far_lib);
    ffikit_buffer_free(x);
    ffikit_buffer_free(y);
    ffikit_buffer_free(far);
    ffikit_context_free(ctx);
    ffikit_context_free(other);
}

static void test_dynamic_wasm(void) {
    const char *wasm = getenv("FFIKIT_TEST_WASM");
    const char *tmp = getenv("FFIKIT_TEST_TMP");
    if (!wasm || !tmp) {
        fprintf(stderr, "FFIKIT_TEST_WASM and FFIKIT_TEST_TMP must be set\n");
        failures++;
        return;
    }
    ffikit_context *ctx = NULL;
    OK(NULL, ffikit_context_new("wasm", &ctx));
    if (!ctx) return;
    ffikit_library *mod = NULL;
    OK(ctx, ffikit_library_open(ctx, wasm, &mod));
    ffikit_function *add = NULL, *sum = NULL, *bad = NULL;
    OK(ctx, ffikit_prepare(ctx, mod, "ffikit_add_u32", "u32(u32, u32)", &add));
    EXPECT(ctx, ffikit_prepare(ctx, mod, "ffikit_add_u32", "f64(f64)", &bad),
           FFIKIT_STATUS_SIGNATURE_MISMATCH);
    EXPECT(ctx, ffikit_prepare(ctx, mod, "no_such_export", "void()", &bad),
           FFIKIT_STATUS_SYMBOL_NOT_FOUND);
    uint32_t a = 40, b = 2;
    uint64_t r = 0;
    void *args[2] = {&a, &b};
    OK(ctx, ffikit_call(ctx, add, args, 2, &r));
    CHECK(r == 42);
    /* Pointer arguments are offsets into the memory of the context's buffers, which is the
     * kernels' instance; a second module has its own memory, so its ptr functions are
     * refused at prepare with a message that says so (never a wrong offset). */
    EXPECT(ctx, ffikit_prepare(ctx, mod, "ffikit_sum_f64", "f64(ptr, usize)", &sum),
           FFIKIT_STATUS_UNSUPPORTED_SIGNATURE);
    CHECK(strstr(ffikit_context_error(ctx), "own memory") != NULL);
    CHECK(sum == NULL);
    ffikit_function_free(add);
    ffikit_function_free(sum);
    ffikit_library_free(mod);

    /* A trap: its own status and message, the error of that call only: the context stays
     * usable with its buffers intact, and the next trap is that call's own. */
    char path[512];
    snprintf(path, sizeof path, "%s/trap.wat", tmp);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs("(module (memory (export \"memory\") 1) (func (export \"boom\") unreachable))", f);
    fclose(f);
    ffikit_library *trap = NULL;
    ffikit_function *boom = NULL;
    ffikit_buffer *kept = NULL;
    OK(ctx, ffikit_buffer_new(ctx, 64, &kept));
    if (kept) ((uint32_t *)ffikit_buffer_data(kept))[0] = 0xfeedu;
    OK(ctx, ffikit_library_open(ctx, path, &trap));
    OK(ctx, ffikit_prepare(ctx, trap, "boom", "void()", &boom));
    EXPECT(ctx, ffikit_call(ctx, boom, NULL, 0, NULL), FFIKIT_STATUS_TRAP);
    CHECK(strstr(ffikit_context_error(ctx), "boom") != NULL);
    uint32_t u = 0;
    OK(ctx, ffikit_add_u32(ctx, 1, 2, &u));
    CHECK(u == 3);
    CHECK(kept && ((uint32_t *)ffikit_buffer_data(kept))[0] == 0xfeedu);
    EXPECT(ctx, ffikit_call(ctx, boom, NULL, 0, NULL), FFIKIT_STATUS_TRAP);
    ffikit_buffer_free(kept);
    ffikit_function_free(boom);
    ffikit_library_free(trap);
    ffikit_context_free(ctx);
}

/* Pools: checkout, the same context back, the bound, trapped contexts, threads. */
struct worker {
    ffikit_pool *pool;
    int id;
    int errors;
};

static void *work(void *arg) {
    struct worker *w = arg;
    for (int i = 0; i < 500; i++) {
        ffikit_context *ctx = NULL;
        if (ffikit_pool_acquire_timeout(w->pool, 60000, &ctx) != FFIKIT_STATUS_OK) {
            w->errors++;
            continue;
        }
        uint32_t u = 0;
        double xs[16], r = 0;
        for (int k = 0; k < 16; k++) xs[k] = (double)(w->id * 16 + k + i);
        double want = 0;
        for (int k = 0; k < 16; k++) want += xs[k];
        if (ffikit_add_u32(ctx, (uint32_t)i, (uint32_t)w->id, &u) != FFIKIT_STATUS_OK ||
            u != (uint32_t)(i + w->id))
            w->errors++;
        if (ffikit_sum_f64_ptr(ctx, xs, 16, &r) != FFIKIT_STATUS_OK || r != want) w->errors++;
        ffikit_pool_release(w->pool, ctx);
    }
    return NULL;
}

/* One trapping call on a checked-out context, then released: the context keeps its trap's
 * message, so a context handed out again with an empty message is a fresh one. */
static ffikit_context *trap_in_pool(ffikit_pool *pool) {
    ffikit_context *ctx = NULL;
    OK(NULL, ffikit_pool_acquire(pool, &ctx));
    if (!ctx) return NULL;
    const char *tmp = getenv("FFIKIT_TEST_TMP");
    char path[512];
    snprintf(path, sizeof path, "%s/pool_trap.wat", tmp ? tmp : "/tmp");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("(module (memory (export \"memory\") 1) (func (export \"boom\") unreachable))", f);
        fclose(f);
    }
    ffikit_library *lib = NULL;
    ffikit_function *boom = NULL;
    OK(ctx, ffikit_library_open(ctx, path, &lib));
    OK(ctx, ffikit_prepare(ctx, lib, "boom", "void()", &boom));
    EXPECT(ctx, ffikit_call(ctx, boom, NULL, 0, NULL), FFIKIT_STATUS_TRAP);
    ffikit_function_free(boom);
    ffikit_library_free(lib);
    ffikit_pool_release(pool, ctx);
    return ctx;
}

/* A wasm pool keeps a context whose call trapped (still usable), unless set to discard it. */
static void pool_trap(ffikit_pool *pool) {
    ffikit_context *ctx = NULL;
    trap_in_pool(pool);
    OK(NULL, ffikit_pool_acquire(pool, &ctx));
    CHECK(ctx && strstr(ffikit_context_error(ctx), "boom") != NULL); /* the same context */
    uint32_t u = 0;
    OK(ctx, ffikit_add_u32(ctx, 20, 22, &u));
    CHECK(u == 42);
    ffikit_pool_release(pool, ctx);
    ffikit_pool_set_discard_trapped(pool, true);
    ffikit_pool_set_discard_trapped(NULL, true); /* ignored */
    trap_in_pool(pool);
    OK(NULL, ffikit_pool_acquire(pool, &ctx));
    CHECK(ctx && strcmp(ffikit_context_error(ctx), "") == 0); /* a fresh context */
    ffikit_pool_release(pool, ctx);
    ffikit_pool_set_discard_trapped(pool, false);
}

static void test_pool(const char *backend) {
    ffikit_pool *pool = NULL, *bad = (ffikit_pool *)0x1;
    char msg[256] = "";
    EXPECT(NULL, ffikit_pool_new("jit", 2, &bad), FFIKIT_STATUS_UNKNOWN_BACKEND);
    EXPECT(NULL, ffikit_pool_new_msg(backend, 0, &bad, msg, sizeof msg),
           FFIKIT_STATUS_INVALID_ARGUMENT);
    CHECK(strstr(msg, "max_contexts") != NULL);
    EXPECT(NULL, ffikit_pool_new(NULL, 2, &bad), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(bad == (ffikit_pool *)0x1);
    OK(NULL, ffikit_pool_new(backend, 2, &pool));
    if (!pool) return;
    ffikit_context *c1 = NULL, *c2 = NULL, *c3 = (ffikit_context *)0x1;
    OK(NULL, ffikit_pool_acquire(pool, &c1));
    ffikit_pool_release(pool, c1);
    OK(NULL, ffikit_pool_acquire(pool, &c2));
    CHECK(c1 == c2); /* the same thread gets its context back */
    OK(NULL, ffikit_pool_acquire(pool, &c1));
    CHECK(c1 != c2);
    EXPECT(NULL, ffikit_pool_acquire(pool, &c3), FFIKIT_STATUS_POOL_EXHAUSTED);
    EXPECT(NULL, ffikit_pool_acquire_timeout(pool, 10, &c3), FFIKIT_STATUS_POOL_TIMEOUT);
    EXPECT(NULL, ffikit_pool_acquire(pool, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_pool_acquire(NULL, &c3), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(c3 == (ffikit_context *)0x1);
    ffikit_context_free(c1); /* pooled: ignored, it stays usable */
    uint32_t u = 0;
    OK(c1, ffikit_add_u32(c1, 2, 2, &u));
    CHECK(u == 4);
    ffikit_pool_release(pool, c1);
    ffikit_pool_release(pool, c1); /* a double release is ignored */
    ffikit_pool_release(pool, c2);
    if (strcmp(backend, "wasm") == 0) pool_trap(pool);

    enum { T = 4 };
    pthread_t threads[T];
    struct worker workers[T];
    for (int t = 0; t < T; t++) {
        workers[t] = (struct worker){pool, t, 0};
        CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0);
    }
    for (int t = 0; t < T; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].errors == 0);
    }
    ffikit_pool_free(pool);
}

/* Closures: C function pointers of any signature over one generic callback. */
static void cmp_i32(void *userdata, void *const *args, void *ret) {
    int32_t a = **(const int32_t *const *)args[0];
    int32_t b = **(const int32_t *const *)args[1];
    (*(int *)userdata)++;
    *(int32_t *)ret = (a > b) - (a < b);
}

typedef struct { double x, y; } vec2;
typedef struct { int64_t a, b, c; } big3;

/* {f64, f64}(f64, {f64, f64}, i8): scale a vector and add a small integer. */
static void scale_vec(void *userdata, void *const *args, void *ret) {
    (void)userdata;
    double k = *(const double *)args[0];
    vec2 v = *(const vec2 *)args[1];
    int8_t d = *(const int8_t *)args[2];
    vec2 r = {v.x * k + d, v.y * k - d};
    *(vec2 *)ret = r;
}

/* {i64, i64, i64}(i64, ...): an sret return from a variadic call with one i32. */
static void make_big(void *userdata, void *const *args, void *ret) {
    (void)userdata;
    int64_t a = *(const int64_t *)args[0];
    int32_t b = *(const int32_t *)args[1];
    big3 r = {a, b, a + b};
    *(big3 *)ret = r;
}

static void add_u64(void *userdata, void *const *args, void *ret) {
    *(uint64_t *)ret = *(const uint64_t *)args[0] + *(const uint64_t *)userdata;
}

struct thread_arg {
    uint64_t (*fn)(uint64_t);
    uint64_t out;
};

static void *thread_main(void *p) {
    struct thread_arg *t = p;
    t->out = t->fn(41);
    return NULL;
}

static void test_closures(void) {
    ffikit_context *ctx = NULL;
    ffikit_closure *c = (ffikit_closure *)0x1;
    OK(NULL, ffikit_context_new("native", &ctx));

    /* qsort with a closure comparator. */
    int calls = 0;
    OK(ctx, ffikit_closure_new(ctx, "i32(ptr, ptr)", cmp_i32, &calls, &c));
    int32_t v[64];
    for (int i = 0; i < 64; i++) v[i] = (i * 37) % 64 - 20;
    qsort(v, 64, sizeof v[0], (int (*)(const void *, const void *))ffikit_closure_code(c));
    int sorted = 1;
    for (int i = 1; i < 64; i++) sorted &= v[i - 1] <= v[i];
    CHECK(sorted);
    CHECK(calls >= 63);
    CHECK(ffikit_closure_nargs(c) == 2);
    ffikit_closure_free(c);

    /* Structs by value in and out (an SSE pair on x86-64, an HFA on AArch64). */
    OK(ctx, ffikit_closure_new(ctx, "{f64, f64}(f64, {f64, f64}, i8)", scale_vec, NULL, &c));
    vec2 (*scale)(double, vec2, int8_t) = (vec2 (*)(double, vec2, int8_t))ffikit_closure_code(c);
    vec2 in = {1.5, -2.0};
    vec2 out = scale(2.0, in, -3);
    CHECK(out.x == 0.0 && out.y == -1.0);
    ffikit_closure_free(c);

    /* A struct returned through sret, from a variadic call. */
    OK(ctx, ffikit_closure_new(ctx, "{i64, i64, i64}(i64, ..., i32)", make_big, NULL, &c));
    big3 (*big)(int64_t, ...) = (big3 (*)(int64_t, ...))ffikit_closure_code(c);
    big3 b = big(1000000000000LL, (int32_t)-7);
    CHECK(b.a == 1000000000000LL && b.b == -7 && b.c == 999999999993LL);
    ffikit_closure_free(c);

    /* A thread this C code creates calls the closure. */
    uint64_t base = 1;
    OK(ctx, ffikit_closure_new(ctx, "u64(u64)", add_u64, &base, &c));
    struct thread_arg t = {(uint64_t (*)(uint64_t))ffikit_closure_code(c), 0};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, thread_main, &t) == 0);
    pthread_join(th, NULL);
    CHECK(t.out == 42);
    ffikit_closure_free(c);

    /* 100,000 closures created, called and freed: no limit, no leak (valgrind checks). */
    int ok = 1;
    for (uint64_t i = 0; i < 100000; i++) {
        base = i;
        if (ffikit_closure_new(ctx, "u64(u64)", add_u64, &base, &c) != FFIKIT_STATUS_OK) {
            ok = 0;
            break;
        }
        ok &= ((uint64_t (*)(uint64_t))ffikit_closure_code(c))(5) == i + 5;
        ffikit_closure_free(c);
    }
    CHECK(ok);

    /* Errors. */
    c = (ffikit_closure *)0x1;
    EXPECT(ctx, ffikit_closure_new(ctx, "i32(ptr", cmp_i32, NULL, &c), FFIKIT_STATUS_INVALID_SIGNATURE);
    CHECK(strstr(ffikit_context_error(ctx), "at byte 7") != NULL);
    EXPECT(ctx, ffikit_closure_new(ctx, "i32(ptr)", NULL, NULL, &c), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_closure_new(ctx, NULL, cmp_i32, NULL, &c), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(ctx, ffikit_closure_new(ctx, "i32(ptr)", cmp_i32, NULL, NULL), FFIKIT_STATUS_NULL_ARGUMENT);
    EXPECT(NULL, ffikit_closure_new(NULL, "i32(ptr)", cmp_i32, NULL, &c), FFIKIT_STATUS_NULL_ARGUMENT);
    CHECK(c == (ffikit_closure *)0x1);
    CHECK(ffikit_closure_code(NULL) == NULL);
    CHECK(ffikit_closure_nargs(NULL) == 0);
    ffikit_closure_free(NULL);
    ffikit_context_free(ctx);
}

int main(void) {
    test_context_errors();
    test_closures();
    for (size_t i = 0; i < sizeof BACKENDS / sizeof *BACKENDS; i++) {
        test_kernels(BACKENDS[i]);
        test_pool(BACKENDS[i]);
    }
    test_dynamic_native("native");
    test_dynamic_native("asm");
    test_dynamic_wasm();
    for (size_t i = 0; i < sizeof BACKENDS / sizeof *BACKENDS; i++) {
        test_prepare_address(BACKENDS[i]);
        test_bad_inputs(BACKENDS[i]);
    }
    printf("capi_test: %d checks, %d failures\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
