/*
 * The C rows of ffikit's benchmark matrix (run by `cargo xtask bench-matrix`): every kernel
 * through libffikit.so per backend (`ffikit`: the typed kernel entry points on stable
 * buffers; `ffikit-call`: ffikit_call by signature text), beside a direct call of the
 * kernel through a dlsym'd pointer (`direct-c`, the floor), a plain C loop (`c-loop`) and
 * libffi's ffi_call (`libffi-c`). Each result is checked against the exact reference before
 * it is timed. One JSON object per line on stdout.
 *
 * Built with -DFFIKIT_LIBFFI38 (and libffi38.c), the libffi-c shapes are also timed through
 * libffi 3.8.0 (FFIKIT_LIBFFI38_LIB names it): `libffi-plan` (its reusable call plan,
 * ffi_call_plan_invoke) and `libffi-3.8` (its ffi_call).
 *
 * Usage: matrix [--quick] SIZE... (FFIKIT_KERNELS_LIB names libffikit_kernels.so)
 */
#define _POSIX_C_SOURCE 200809L
#include <ffikit.h>

#include <dlfcn.h>
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
#ifdef FFIKIT_LIBFFI38
#include "libffi38.h"
#endif

static int samples = 21;
static double sample_ns = 3e6;


static void fail(const char *what) {
    fprintf(stderr, "matrix: %s\n", what);
    exit(1);
}

/* A batch runner: `body(iters, state)` makes `iters` calls. */
typedef void (*batch_fn)(uint64_t iters, void *state);

static void emit(const char *implementation, const char *backend, const char *kernel,
                 uint64_t size, batch_fn body, void *state) {
    body(1, state);
    uint64_t iters = 1;
    for (;;) {
        double t0 = now_ns();
        body(iters, state);
        double took = now_ns() - t0;
        if (took >= sample_ns || iters >= (1ull << 40)) break;
        double scale = sample_ns / (took > 1 ? took : 1);
        if (scale < 2) scale = 2;
        if (scale > 100) scale = 100;
        iters = (uint64_t)(iters * scale) + 1;
    }
    double *s = malloc(sizeof(double) * (size_t)samples);
    for (int i = 0; i < samples; i++) {
        double t0 = now_ns();
        body(iters, state);
        s[i] = (now_ns() - t0) / (double)iters;
    }
    qsort(s, (size_t)samples, sizeof *s, cmp_double);
    double median = samples % 2 ? s[samples / 2] : (s[samples / 2 - 1] + s[samples / 2]) / 2;
    int p10 = (int)(0.1 * (samples - 1) + 0.5), p90 = (int)(0.9 * (samples - 1) + 0.5);
    printf("{\"caller\":\"c\",\"implementation\":\"%s\",\"backend\":\"%s\",\"kernel\":\"%s\","
           "\"size\":%llu,\"threads\":1,\"median_ns\":%.4f,\"p10_ns\":%.4f,\"p90_ns\":%.4f,"
           "\"samples\":%d,\"checked\":true}\n",
           implementation, backend, kernel, (unsigned long long)size, median, s[p10], s[p90],
           samples);
    fflush(stdout);
    free(s);
}

/* The kernels through a dlsym'd pointer. */
static void (*k_noop)(void);
static uint32_t (*k_add)(uint32_t, uint32_t);
static double (*k_sum)(const double *, size_t);
static double (*k_dot)(const double *, const double *, size_t);

typedef struct {
    ffikit_context *ctx;
    ffikit_buffer *x, *y;
    ffikit_function *fn;
    ffi_cif *cif;
#ifdef FFIKIT_LIBFFI38
    l38_sig *l38;
#endif
    const double *hx, *hy;
    size_t n;
} state;

static volatile double sink_d;
static volatile uint32_t sink_u;

static void direct_noop(uint64_t it, void *s) { (void)s; for (uint64_t i = 0; i < it; i++) k_noop(); }
static void direct_add(uint64_t it, void *s) { (void)s; for (uint64_t i = 0; i < it; i++) sink_u = k_add((uint32_t)i, 2); }
static void direct_sum(uint64_t it, void *v) { state *s = v; for (uint64_t i = 0; i < it; i++) sink_d = k_sum(s->hx, s->n); }
static void direct_dot(uint64_t it, void *v) { state *s = v; for (uint64_t i = 0; i < it; i++) sink_d = k_dot(s->hx, s->hy, s->n); }
static double loop_sum_once(const double *x, size_t n) { double t = 0; for (size_t i = 0; i < n; i++) t += x[i]; return t; }
static double loop_dot_once(const double *x, const double *y, size_t n) { double t = 0; for (size_t i = 0; i < n; i++) t += x[i] * y[i]; return t; }
static void loop_sum(uint64_t it, void *v) { state *s = v; for (uint64_t i = 0; i < it; i++) { sink_d = loop_sum_once(s->hx, s->n); __asm__ volatile("" ::: "memory"); } }
static void loop_dot(uint64_t it, void *v) { state *s = v; for (uint64_t i = 0; i < it; i++) { sink_d = loop_dot_once(s->hx, s->hy, s->n); __asm__ volatile("" ::: "memory"); } }
static void ffikit_noop_b(uint64_t it, void *v) { state *s = v; for (uint64_t i = 0; i < it; i++) ffikit_noop(s->ctx); }
static void ffikit_add_b(uint64_t it, void *v) { state *s = v; uint32_t o; for (uint64_t i = 0; i < it; i++) { ffikit_add_u32(s->ctx, (uint32_t)i, 2, &o); sink_u = o; } }
static void ffikit_sum_b(uint64_t it, void *v) { state *s = v; double o; for (uint64_t i = 0; i < it; i++) { ffikit_sum_f64(s->ctx, s->x, s->n, &o); sink_d = o; } }
static void ffikit_dot_b(uint64_t it, void *v) { state *s = v; double o; for (uint64_t i = 0; i < it; i++) { ffikit_dot_f64(s->ctx, s->x, s->y, s->n, &o); sink_d = o; } }
static void call_add_b(uint64_t it, void *v) {
    state *s = v; uint32_t a = 0, b = 2; uint64_t r; void *args[2] = {&a, &b};
    for (uint64_t i = 0; i < it; i++) { a = (uint32_t)i; ffikit_call(s->ctx, s->fn, args, 2, &r); sink_u = (uint32_t)r; }
}
static void ffi_add_b(uint64_t it, void *v) {
    state *s = v; uint32_t a = 0, b = 2; ffi_arg r; void *args[2] = {&a, &b};
    for (uint64_t i = 0; i < it; i++) { a = (uint32_t)i; ffi_call(s->cif, FFI_FN(k_add), &r, args); sink_u = (uint32_t)r; }
}
static void ffi_sum_b(uint64_t it, void *v) {
    state *s = v; double r; const double *p = s->hx; size_t n = s->n; void *args[2] = {&p, &n};
    for (uint64_t i = 0; i < it; i++) { ffi_call(s->cif, FFI_FN(k_sum), &r, args); sink_d = r; }
}
#ifdef FFIKIT_LIBFFI38
static void plan_add_b(uint64_t it, void *v) {
    state *s = v; uint32_t a = 0, b = 2; ffi_arg r; void *args[2] = {&a, &b};
    for (uint64_t i = 0; i < it; i++) { a = (uint32_t)i; l38_plan_invoke(s->l38->plan, FFI_FN(k_add), &r, args); sink_u = (uint32_t)r; }
}
static void l38_add_b(uint64_t it, void *v) {
    state *s = v; uint32_t a = 0, b = 2; ffi_arg r; void *args[2] = {&a, &b};
    for (uint64_t i = 0; i < it; i++) { a = (uint32_t)i; l38_ffi_call(s->l38->cif, FFI_FN(k_add), &r, args); sink_u = (uint32_t)r; }
}
static void plan_sum_b(uint64_t it, void *v) {
    state *s = v; double r; const double *p = s->hx; size_t n = s->n; void *args[2] = {&p, &n};
    for (uint64_t i = 0; i < it; i++) { l38_plan_invoke(s->l38->plan, FFI_FN(k_sum), &r, args); sink_d = r; }
}
static void l38_sum_b(uint64_t it, void *v) {
    state *s = v; double r; const double *p = s->hx; size_t n = s->n; void *args[2] = {&p, &n};
    for (uint64_t i = 0; i < it; i++) { l38_ffi_call(s->l38->cif, FFI_FN(k_sum), &r, args); sink_d = r; }
}
#endif

/* Exits unless `st`'s libffi rows (Debian's, and libffi 3.8's where built in) return `want`
 * for add_u32(40, 2) (`sum` false) or sum_f64 over st->n elements (`sum` true). */
static void check_libffi(state *st, int sum, double want) {
    uint32_t a = 40, b = 2;
    const double *p = st->hx;
    size_t n = st->n;
    void *add_args[2] = {&a, &b}, *sum_args[2] = {&p, &n};
    void (*fn)(void) = sum ? FFI_FN(k_sum) : FFI_FN(k_add);
    void **args = sum ? sum_args : add_args;
    union { ffi_arg u; double d; } r;
    /* Each result read as the row reads it: the low 32 bits of an ffi_arg, or a double. */
#define RESULT (sum ? r.d : (double)(uint32_t)r.u)
    memset(&r, 0, sizeof r);
    ffi_call(st->cif, fn, &r, args);
    if (RESULT != want) fail("libffi-c is wrong");
#ifdef FFIKIT_LIBFFI38
    memset(&r, 0, sizeof r);
    l38_plan_invoke(st->l38->plan, fn, &r, args);
    if (RESULT != want) fail("libffi-plan is wrong");
    memset(&r, 0, sizeof r);
    l38_ffi_call(st->l38->cif, fn, &r, args);
    if (RESULT != want) fail("libffi-3.8 is wrong");
#endif
#undef RESULT
}

int main(int argc, char **argv) {
    size_t sizes[16];
    int nsizes = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            samples = 7;
            sample_ns = 4e5;
        } else if (nsizes < 16) {
            sizes[nsizes++] = (size_t)strtoull(argv[i], NULL, 10);
        }
    }
    size_t max = 1;
    for (int i = 0; i < nsizes; i++) if (sizes[i] > max) max = sizes[i];
    const char *kernels = getenv("FFIKIT_KERNELS_LIB");
    void *lib = dlopen(kernels ? kernels : "libffikit_kernels.so", RTLD_NOW | RTLD_LOCAL);
    if (!lib) fail(dlerror());
    *(void **)&k_noop = dlsym(lib, "ffikit_noop");
    *(void **)&k_add = dlsym(lib, "ffikit_add_u32");
    *(void **)&k_sum = dlsym(lib, "ffikit_sum_f64");
    *(void **)&k_dot = dlsym(lib, "ffikit_dot_f64");
    if (!k_noop || !k_add || !k_sum || !k_dot) fail("kernel symbols missing");

    double *hx = malloc(max * sizeof(double)), *hy = malloc(max * sizeof(double));
    for (size_t i = 0; i < max; i++) {
        hx[i] = (double)(i % 1000) * 0.25 - 50.0;
        hy[i] = (double)(i % 7);
    }
    state st = {0};
    st.hx = hx;
    st.hy = hy;
    ffi_cif cif_add, cif_sum;
    ffi_type *u2[2] = {&ffi_type_uint32, &ffi_type_uint32};
    ffi_type *ps[2] = {&ffi_type_pointer, &ffi_type_uint64};
    if (ffi_prep_cif(&cif_add, FFI_DEFAULT_ABI, 2, &ffi_type_uint32, u2) != FFI_OK ||
        ffi_prep_cif(&cif_sum, FFI_DEFAULT_ABI, 2, &ffi_type_double, ps) != FFI_OK)
        fail("ffi_prep_cif");
#ifdef FFIKIT_LIBFFI38
    l38_sig l38_add, l38_sum;
    {
        const char *path = getenv("FFIKIT_LIBFFI38_LIB");
        char msg[512] = "FFIKIT_LIBFFI38_LIB is unset";
        l38_kind u2[2] = {L38_U32, L38_U32}, ps2[2] = {L38_PTR, L38_U64};
        if (!path || l38_open(path, msg, sizeof msg) ||
            l38_prepare(&l38_add, L38_U32, 2, u2, msg, sizeof msg) ||
            l38_prepare(&l38_sum, L38_F64, 2, ps2, msg, sizeof msg))
            fail(msg);
    }
#endif

    if (k_add(40, 2) != 42) fail("direct add_u32 is wrong");
    emit("direct-c", "-", "noop", 0, direct_noop, &st);
    emit("direct-c", "-", "add_u32", 0, direct_add, &st);
    st.cif = &cif_add;
#ifdef FFIKIT_LIBFFI38
    st.l38 = &l38_add;
#endif
    check_libffi(&st, 0, 42);
    emit("libffi-c", "-", "add_u32", 0, ffi_add_b, &st);
#ifdef FFIKIT_LIBFFI38
    emit("libffi-plan", "-", "add_u32", 0, plan_add_b, &st);
    emit("libffi-3.8", "-", "add_u32", 0, l38_add_b, &st);
#endif
    for (int i = 0; i < nsizes; i++) {
        st.n = sizes[i];
        double want_sum = 0, want_dot = 0;
        for (size_t k = 0; k < st.n; k++) {
            want_sum += hx[k];
            want_dot += hx[k] * hy[k];
        }
        if (k_sum(hx, st.n) != want_sum || loop_sum_once(hx, st.n) != want_sum) fail("sum is wrong");
        if (k_dot(hx, hy, st.n) != want_dot || loop_dot_once(hx, hy, st.n) != want_dot) fail("dot is wrong");
        emit("direct-c", "-", "sum_f64", st.n, direct_sum, &st);
        emit("c-loop", "-", "sum_f64", st.n, loop_sum, &st);
        emit("direct-c", "-", "dot_f64", st.n, direct_dot, &st);
        emit("c-loop", "-", "dot_f64", st.n, loop_dot, &st);
        st.cif = &cif_sum;
#ifdef FFIKIT_LIBFFI38
        st.l38 = &l38_sum;
#endif
        check_libffi(&st, 1, want_sum);
        emit("libffi-c", "-", "sum_f64", st.n, ffi_sum_b, &st);
#ifdef FFIKIT_LIBFFI38
        emit("libffi-plan", "-", "sum_f64", st.n, plan_sum_b, &st);
        emit("libffi-3.8", "-", "sum_f64", st.n, l38_sum_b, &st);
#endif
    }
#ifdef FFIKIT_LIBFFI38
    l38_release(&l38_add);
    l38_release(&l38_sum);
#endif

    const char *backends[3] = {"native", "asm", "wasm"};
    for (int b = 0; b < 3; b++) {
        char msg[512];
        if (ffikit_context_new_msg(backends[b], &st.ctx, msg, sizeof msg) != FFIKIT_STATUS_OK) fail(msg);
        if (ffikit_buffer_new(st.ctx, max * sizeof(double), &st.x) != FFIKIT_STATUS_OK ||
            ffikit_buffer_new(st.ctx, max * sizeof(double), &st.y) != FFIKIT_STATUS_OK)
            fail(ffikit_context_error(st.ctx));
        memcpy(ffikit_buffer_data(st.x), hx, max * sizeof(double));
        memcpy(ffikit_buffer_data(st.y), hy, max * sizeof(double));
        uint32_t u = 0;
        if (ffikit_add_u32(st.ctx, 40, 2, &u) != FFIKIT_STATUS_OK || u != 42) fail("ffikit_add_u32 is wrong");
        emit("ffikit", backends[b], "noop", 0, ffikit_noop_b, &st);
        emit("ffikit", backends[b], "add_u32", 0, ffikit_add_b, &st);
        if (b < 2) {
            ffikit_library *l = NULL;
            if (ffikit_library_open(st.ctx, kernels ? kernels : "libffikit_kernels.so", &l) ||
                ffikit_prepare(st.ctx, l, "ffikit_add_u32", "u32(u32, u32)", &st.fn))
                fail(ffikit_context_error(st.ctx));
            emit("ffikit-call", backends[b], "add_u32", 0, call_add_b, &st);
            ffikit_function_free(st.fn);
            ffikit_library_free(l);
        }
        for (int i = 0; i < nsizes; i++) {
            st.n = sizes[i];
            double want_sum = 0, want_dot = 0, got = 0;
            for (size_t k = 0; k < st.n; k++) {
                want_sum += hx[k];
                want_dot += hx[k] * hy[k];
            }
            if (ffikit_sum_f64(st.ctx, st.x, st.n, &got) != FFIKIT_STATUS_OK || got != want_sum) fail("ffikit_sum_f64 is wrong");
            if (ffikit_dot_f64(st.ctx, st.x, st.y, st.n, &got) != FFIKIT_STATUS_OK || got != want_dot) fail("ffikit_dot_f64 is wrong");
            emit("ffikit", backends[b], "sum_f64", st.n, ffikit_sum_b, &st);
            emit("ffikit", backends[b], "dot_f64", st.n, ffikit_dot_b, &st);
        }
        ffikit_buffer_free(st.x);
        ffikit_buffer_free(st.y);
        ffikit_context_free(st.ctx);
    }
    free(hx);
    free(hy);
    dlclose(lib);
    return 0;
}
