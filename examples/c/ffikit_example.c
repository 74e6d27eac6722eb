/*
 * ffikit from C: the kernels through each backend, and a dynamic call of libm's pow through
 * the asm backend. Build and run against the build tree:
 *
 *   cargo xtask build
 *   export PKG_CONFIG_PATH=$PWD/target/release/pkgconfig
 *   cc -std=c99 examples/c/ffikit_example.c $(pkg-config --cflags --libs ffikit) -o example
 *   ./example
 */
#include <ffikit.h>

#include <stdio.h>

/* Prints the context's message and returns 1 when `status` is a failure. */
static int failed(ffikit_context *ctx, ffikit_status status, const char *what) {
    if (status == FFIKIT_STATUS_OK) return 0;
    fprintf(stderr, "%s failed: %s: %s\n", what, ffikit_status_name((int)status),
            ctx ? ffikit_context_error(ctx) : "");
    return 1;
}

static int kernels(const char *backend) {
    char message[256];
    ffikit_context *ctx = NULL;
    ffikit_status st = ffikit_context_new_msg(backend, &ctx, message, sizeof message);
    if (st != FFIKIT_STATUS_OK) {
        fprintf(stderr, "%s: %s\n", backend, message);
        return 1;
    }
    /* A stable buffer: fill it in place, then the kernels read it without a copy. */
    enum { N = 10000 };
    ffikit_buffer *x = NULL, *y = NULL;
    if (failed(ctx, ffikit_buffer_new(ctx, N * sizeof(double), &x), "buffer_new") ||
        failed(ctx, ffikit_buffer_new(ctx, N * sizeof(double), &y), "buffer_new"))
        return 1;
    double *xs = ffikit_buffer_data(x), *ys = ffikit_buffer_data(y);
    for (int i = 0; i < N; i++) {
        xs[i] = 0.5 * i;
        ys[i] = 2.0;
    }
    double sum = 0, dot = 0;
    uint32_t added = 0;
    if (failed(ctx, ffikit_sum_f64(ctx, x, N, &sum), "sum_f64") ||
        failed(ctx, ffikit_dot_f64(ctx, x, y, N, &dot), "dot_f64") ||
        failed(ctx, ffikit_axpy_f64(ctx, 3.0, x, y, N), "axpy_f64") ||
        failed(ctx, ffikit_add_u32(ctx, 40, 2, &added), "add_u32"))
        return 1;
    printf("%-6s sum=%.1f dot=%.1f y[10]=%.1f add=%u\n", backend, sum, dot, ys[10], added);
    /* Errors are values: n past the buffer's end is refused, with a message. */
    ffikit_status bad = ffikit_sum_f64(ctx, x, N + 1, &sum);
    printf("       n past the end: %s (%s)\n", ffikit_status_name((int)bad),
           ffikit_context_error(ctx));
    ffikit_buffer_free(x);
    ffikit_buffer_free(y);
    ffikit_context_free(ctx);
    return 0;
}

static int dynamic_pow(void) {
    ffikit_context *ctx = NULL;
    ffikit_library *libm = NULL;
    ffikit_function *pow_fn = NULL;
    if (failed(NULL, ffikit_context_new("asm", &ctx), "context_new") ||
        failed(ctx, ffikit_library_open(ctx, "libm.so.6", &libm), "library_open") ||
        failed(ctx, ffikit_prepare(ctx, libm, "pow", "f64(f64, f64)", &pow_fn), "prepare"))
        return 1;
    double base = 2.0, exponent = 0.5, result = 0;
    void *args[] = {&base, &exponent};
    if (failed(ctx, ffikit_call(ctx, pow_fn, args, 2, &result), "call")) return 1;
    printf("asm    pow(2, 0.5) = %.6f\n", result);
    ffikit_function_free(pow_fn);
    ffikit_library_free(libm);
    ffikit_context_free(ctx);
    return 0;
}

int main(void) {
    printf("ffikit %s\n", ffikit_version());
    const char *backends[] = {"native", "asm", "wasm"};
    for (int i = 0; i < 3; i++)
        if (kernels(backends[i])) return 1;
    return dynamic_pow();
}
