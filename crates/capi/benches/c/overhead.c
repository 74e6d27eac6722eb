/*
 * Per-call overhead of the C API, in one run: a direct call of the kernel through a
 * dlsym'd function pointer (the floor), ffikit_add_u32 (the typed kernel entry) per backend,
 * ffikit_call (dynamic, by signature text) per backend, and libffi's ffi_call on the same
 * function pointers. Medians of repeated batches; ratios to the direct call.
 *
 * Built with -DFFIKIT_LIBFFI38 (and libffi38.c), it also times libffi 3.8.0 on the same
 * function pointers: `libffi-plan` (its reusable call plan, ffi_call_plan_invoke) and
 * `libffi-3.8` (its ffi_call), from the library FFIKIT_LIBFFI38_LIB names. Their results
 * and the Debian libffi's are checked before they are timed.
 *
 * Run with `cargo xtask bench-c` (FFIKIT_KERNELS_LIB names libffikit_kernels.so).
 */
#define _POSIX_C_SOURCE 200809L
#include <ffikit.h>

#include <dlfcn.h>
#include <ffi.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing.h"
#ifdef FFIKIT_LIBFFI38
#include "libffi38.h"
#endif

#ifndef BATCH
#define BATCH 200000
#endif
enum { REPS = 15 };


typedef uint32_t (*add_fn)(uint32_t, uint32_t);
typedef double (*pow_fn)(double, double);

static add_fn add_direct;
static pow_fn pow_direct;
static ffikit_context *ctx_of[3];
static ffikit_function *add_of[3], *pow_of[3];
static ffi_cif cif_add, cif_pow;
static volatile uint32_t sink_u;
static volatile double sink_d;


static void row(const char *name, double ns, double floor) {
    printf("| %-32s | %8.2f | %6.2fx |\n", name, ns, ns / floor);
}

/* Exits when a call's result is wrong (called before the call is timed). */
static void check(const char *what, int ok) {
    if (!ok) {
        fprintf(stderr, "overhead: %s returned a wrong result\n", what);
        exit(1);
    }
}

int main(void) {
    const char *kernels = getenv("FFIKIT_KERNELS_LIB");
    void *lib = dlopen(kernels ? kernels : "libffikit_kernels.so", RTLD_NOW | RTLD_LOCAL);
    void *libm = dlopen("libm.so.6", RTLD_NOW | RTLD_LOCAL);
    if (!lib || !libm) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    *(void **)&add_direct = dlsym(lib, "ffikit_add_u32");
    *(void **)&pow_direct = dlsym(libm, "pow");
    const char *names[3] = {"native", "asm", "wasm"};
    for (int b = 0; b < 3; b++) {
        ffikit_library *l = NULL;
        if (ffikit_context_new(names[b], &ctx_of[b]) != FFIKIT_STATUS_OK) return 1;
        const char *path = b == 2 ? NULL : (kernels ? kernels : "libffikit_kernels.so");
        if (path) {
            ffikit_library *m = NULL;
            if (ffikit_library_open(ctx_of[b], path, &l) ||
                ffikit_prepare(ctx_of[b], l, "ffikit_add_u32", "u32(u32, u32)", &add_of[b]) ||
                ffikit_library_open(ctx_of[b], "libm.so.6", &m) ||
                ffikit_prepare(ctx_of[b], m, "pow", "f64(f64, f64)", &pow_of[b])) {
                fprintf(stderr, "%s: %s\n", names[b], ffikit_context_error(ctx_of[b]));
                return 1;
            }
            ffikit_library_free(m);
        } else {
            const char *wasm = getenv("FFIKIT_KERNELS_WASM");
            if (!wasm || ffikit_library_open(ctx_of[b], wasm, &l) ||
                ffikit_prepare(ctx_of[b], l, "ffikit_add_u32", "u32(u32, u32)", &add_of[b])) {
                fprintf(stderr, "wasm: %s\n", ffikit_context_error(ctx_of[b]));
                return 1;
            }
        }
        ffikit_library_free(l);
    }
    ffi_type *two_u32[2] = {&ffi_type_uint32, &ffi_type_uint32};
    ffi_type *two_f64[2] = {&ffi_type_double, &ffi_type_double};
    if (ffi_prep_cif(&cif_add, FFI_DEFAULT_ABI, 2, &ffi_type_uint32, two_u32) != FFI_OK ||
        ffi_prep_cif(&cif_pow, FFI_DEFAULT_ABI, 2, &ffi_type_double, two_f64) != FFI_OK)
        return 1;
#ifdef FFIKIT_LIBFFI38
    l38_sig l38_add, l38_pow;
    {
        const char *path = getenv("FFIKIT_LIBFFI38_LIB");
        char msg[512] = "FFIKIT_LIBFFI38_LIB is unset";
        l38_kind u2[2] = {L38_U32, L38_U32}, d2[2] = {L38_F64, L38_F64};
        if (!path || l38_open(path, msg, sizeof msg) ||
            l38_prepare(&l38_add, L38_U32, 2, u2, msg, sizeof msg) ||
            l38_prepare(&l38_pow, L38_F64, 2, d2, msg, sizeof msg)) {
            fprintf(stderr, "overhead: %s\n", msg);
            return 1;
        }
    }
#endif

    double floor_add, floor_pow, ns;
    uint32_t a = 1, bb = 2, u = 0;
    double x = 1.0000001, y = 1.5, d = 0;
    void *args_add[2] = {&a, &bb}, *args_pow[2] = {&x, &y};
    ffi_arg wide = 0;

    /* The libffi rows' results, before any is timed: 40 + 2 and pow(2, 10). */
    a = 40;
    check("direct add", add_direct(40, 2) == 42);
    ffi_call(&cif_add, FFI_FN(add_direct), &wide, args_add);
    check("libffi ffi_call (add)", (uint32_t)wide == 42);
    x = 2.0;
    y = 10.0;
    ffi_call(&cif_pow, FFI_FN(pow_direct), &d, args_pow);
    check("libffi ffi_call (pow)", d == 1024.0);
#ifdef FFIKIT_LIBFFI38
    wide = 0;
    l38_plan_invoke(l38_add.plan, FFI_FN(add_direct), &wide, args_add);
    check("libffi-plan (add)", (uint32_t)wide == 42);
    wide = 0;
    l38_ffi_call(l38_add.cif, FFI_FN(add_direct), &wide, args_add);
    check("libffi-3.8 (add)", (uint32_t)wide == 42);
    d = 0;
    l38_plan_invoke(l38_pow.plan, FFI_FN(pow_direct), &d, args_pow);
    check("libffi-plan (pow)", d == 1024.0);
    d = 0;
    l38_ffi_call(l38_pow.cif, FFI_FN(pow_direct), &d, args_pow);
    check("libffi-3.8 (pow)", d == 1024.0);
#endif
    a = 1;
    x = 1.0000001;
    y = 1.5;

    printf("add_u32: u32(u32, u32), ns per call (median of %d x %d calls)\n\n", REPS, BATCH);
    printf("| caller | ns/call | vs direct |\n|---|---:|---:|\n");
    MEASURE(floor_add, sink_u = add_direct(i, 2));
    row("direct C call (dlsym pointer)", floor_add, floor_add);
    for (int b = 0; b < 3; b++) {
        char name[64];
        snprintf(name, sizeof name, "ffikit_add_u32 (%s)", names[b]);
        MEASURE(ns, ffikit_add_u32(ctx_of[b], i, 2, &u); sink_u = u);
        row(name, ns, floor_add);
    }
    for (int b = 0; b < 3; b++) {
        char name[64];
        snprintf(name, sizeof name, "ffikit_call (%s)", names[b]);
        MEASURE(ns, a = i; ffikit_call(ctx_of[b], add_of[b], args_add, 2, &wide); sink_u = (uint32_t)wide);
        row(name, ns, floor_add);
    }
    MEASURE(ns, a = i; ffi_call(&cif_add, FFI_FN(add_direct), &wide, args_add); sink_u = (uint32_t)wide);
    row("libffi ffi_call", ns, floor_add);
#ifdef FFIKIT_LIBFFI38
    MEASURE(ns, a = i; l38_plan_invoke(l38_add.plan, FFI_FN(add_direct), &wide, args_add); sink_u = (uint32_t)wide);
    row("libffi-plan ffi_call_plan_invoke", ns, floor_add);
    MEASURE(ns, a = i; l38_ffi_call(l38_add.cif, FFI_FN(add_direct), &wide, args_add); sink_u = (uint32_t)wide);
    row("libffi-3.8 ffi_call", ns, floor_add);
#endif

    printf("\npow: f64(f64, f64) from libm\n\n| caller | ns/call | vs direct |\n|---|---:|---:|\n");
    MEASURE(floor_pow, sink_d = pow_direct(x + i, y));
    row("direct C call (dlsym pointer)", floor_pow, floor_pow);
    for (int b = 0; b < 2; b++) {
        char name[64];
        snprintf(name, sizeof name, "ffikit_call (%s)", names[b]);
        MEASURE(ns, x = 1.0000001 + i; ffikit_call(ctx_of[b], pow_of[b], args_pow, 2, &d); sink_d = d);
        row(name, ns, floor_pow);
    }
    MEASURE(ns, x = 1.0000001 + i; ffi_call(&cif_pow, FFI_FN(pow_direct), &d, args_pow); sink_d = d);
    row("libffi ffi_call", ns, floor_pow);
#ifdef FFIKIT_LIBFFI38
    MEASURE(ns, x = 1.0000001 + i; l38_plan_invoke(l38_pow.plan, FFI_FN(pow_direct), &d, args_pow); sink_d = d);
    row("libffi-plan ffi_call_plan_invoke", ns, floor_pow);
    MEASURE(ns, x = 1.0000001 + i; l38_ffi_call(l38_pow.cif, FFI_FN(pow_direct), &d, args_pow); sink_d = d);
    row("libffi-3.8 ffi_call", ns, floor_pow);
    l38_release(&l38_add);
    l38_release(&l38_pow);
#endif
    for (int b = 0; b < 3; b++) {
        ffikit_function_free(add_of[b]);
        ffikit_function_free(pow_of[b]);
        ffikit_context_free(ctx_of[b]);
    }
    dlclose(lib);
    dlclose(libm);
    return 0;
}
