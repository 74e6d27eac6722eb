/*
 * ffikit_call on the five shapes of its straight call path, in one run: the direct call (a
 * dlsym'd pointer of the right type, the floor), ffikit_call per backend (native where it
 * takes the shape, asm, and asm on the function prepared from that pointer with
 * ffikit_prepare_address), Debian libffi's ffi_call, and, built with -DFFIKIT_LIBFFI38 (and
 * libffi38.c), libffi 3.8.0's call plan (ffi_call_plan_invoke) and its ffi_call. Every
 * caller's result is checked before it is timed; then every caller's batch is timed in turn,
 * round after round (interleaved, so that a machine speeding up or slowing down touches all
 * of them alike). Medians of the rounds, each caller's ratio to the direct call and
 * ffikit_call (asm)'s ratio to the libffi 3.8 plan as medians of the per-round ratios.
 *
 * Run with `cargo xtask bench-c` (FFIKIT_BENCH_SHAPES names the built shapes_lib.so).
 */
#define _POSIX_C_SOURCE 200809L
#include <ffikit.h>

#include <dlfcn.h>
#include <ffi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timing.h"
#ifdef FFIKIT_LIBFFI38
#include "libffi38.h"
#endif

#ifndef BATCH
#define BATCH 200000
#endif
enum { REPS = 21, DOT_N = 4 }; /* dot over 4 f64: call-bound, as the Rust criterion bench */

typedef struct { int64_t a, b; } s16;

static volatile int64_t sink_i;


static void fail(const char *what) {
    fprintf(stderr, "shapes: %s\n", what);
    exit(1);
}

/* The arguments of every shape, as libffi's avalue: pointers to the values. */
static int32_t a32 = 40, b32 = 2;
static double xs[DOT_N], ys[DOT_N];
static const double *px = xs, *py = ys;
static size_t dn = DOT_N;
static int64_t I[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static double F[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static s16 s_in = {1, 2};

typedef struct {
    const char *name, *symbol, *signature;
    unsigned nargs;
    void *args[14];
    ffi_type *ret, *types[14];
#ifdef FFIKIT_LIBFFI38
    l38_kind lret, lkinds[14];
#endif
} shape;

/* The expected return bytes of a shape (the first 8 for scalars, 16 for the struct). */
static void expected(int k, unsigned char out[16]) {
    memset(out, 0, 16);
    int64_t v = 0;
    double d = 0;
    switch (k) {
    case 0: v = 42; memcpy(out, &v, 8); break;
    case 1: for (int i = 0; i < DOT_N; i++) d += xs[i] * ys[i]; memcpy(out, &d, 8); break;
    case 2: v = 21 + 36; memcpy(out, &v, 8); break;
    case 3: v = 36; memcpy(out, &v, 8); break;
    default: { s16 r = {2, 2}; memcpy(out, &r, 16); }
    }
}

/* The direct call of shape k through its typed pointer; the result into out. */
static inline void direct(int k, void *fn, unsigned char out[16]) {
    switch (k) {
    case 0: { int64_t r = ((int32_t (*)(int32_t, int32_t))fn)(a32, b32); memcpy(out, &r, 8); break; }
    case 1: { double r = ((double (*)(const double *, const double *, size_t))fn)(px, py, dn); memcpy(out, &r, 8); break; }
    case 2: { int64_t r = ((int64_t (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, double, double, double, double, double, double, double, double))fn)(I[0], I[1], I[2], I[3], I[4], I[5], F[0], F[1], F[2], F[3], F[4], F[5], F[6], F[7]); memcpy(out, &r, 8); break; }
    case 3: { int64_t r = ((int64_t (*)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t))fn)(I[0], I[1], I[2], I[3], I[4], I[5], I[6], I[7]); memcpy(out, &r, 8); break; }
    default: { s16 r = ((s16 (*)(s16))fn)(s_in); memcpy(out, &r, 16); }
    }
}

static void check(const char *what, int k, const unsigned char got[16]) {
    unsigned char want[16];
    expected(k, want);
    size_t n = k == 4 ? 16 : (k == 0 ? 4 : 8);
    if (memcmp(got, want, n) != 0) {
        fprintf(stderr, "shapes: %s returned a wrong value\n", what);
        exit(1);
    }
}

int main(void) {
    const char *path = getenv("FFIKIT_BENCH_SHAPES");
    void *lib = path ? dlopen(path, RTLD_NOW) : NULL;
    if (!lib) fail("FFIKIT_BENCH_SHAPES must name the built shapes_lib.so");
    for (int i = 0; i < DOT_N; i++) { xs[i] = i * 0.5; ys[i] = 2.0 - i * 0.125; }

    static ffi_type *s16_elems[3] = {&ffi_type_sint64, &ffi_type_sint64, NULL};
    static ffi_type s16_type = {0, 0, FFI_TYPE_STRUCT, s16_elems};
    shape shapes[5] = {
        {"add(i32,i32)", "shp_add", "i32(i32, i32)", 2, {&a32, &b32}, &ffi_type_sint32,
         {&ffi_type_sint32, &ffi_type_sint32}
#ifdef FFIKIT_LIBFFI38
         , L38_I32, {L38_I32, L38_I32}
#endif
        },
        {"dot(ptr,ptr,usize)", "shp_dot", "f64(ptr, ptr, usize)", 3, {&px, &py, &dn}, &ffi_type_double,
         {&ffi_type_pointer, &ffi_type_pointer, &ffi_type_uint64}
#ifdef FFIKIT_LIBFFI38
         , L38_F64, {L38_PTR, L38_PTR, L38_U64}
#endif
        },
        {"6xi64+8xf64", "shp_6i64_8f64",
         "i64(i64, i64, i64, i64, i64, i64, f64, f64, f64, f64, f64, f64, f64, f64)", 14,
         {&I[0], &I[1], &I[2], &I[3], &I[4], &I[5], &F[0], &F[1], &F[2], &F[3], &F[4], &F[5], &F[6], &F[7]},
         &ffi_type_sint64,
         {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64,
          &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double, &ffi_type_double,
          &ffi_type_double, &ffi_type_double}
#ifdef FFIKIT_LIBFFI38
         , L38_I64, {L38_I64, L38_I64, L38_I64, L38_I64, L38_I64, L38_I64, L38_F64, L38_F64, L38_F64, L38_F64,
                     L38_F64, L38_F64, L38_F64, L38_F64}
#endif
        },
        {"8xi64", "shp_8i64", "i64(i64, i64, i64, i64, i64, i64, i64, i64)", 8,
         {&I[0], &I[1], &I[2], &I[3], &I[4], &I[5], &I[6], &I[7]}, &ffi_type_sint64,
         {&ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64, &ffi_type_sint64,
          &ffi_type_sint64, &ffi_type_sint64}
#ifdef FFIKIT_LIBFFI38
         , L38_I64, {L38_I64, L38_I64, L38_I64, L38_I64, L38_I64, L38_I64, L38_I64, L38_I64}
#endif
        },
        {"{i64,i64} in and out", "shp_swap16", "{i64, i64}({i64, i64})", 1, {&s_in}, &s16_type, {&s16_type}
#ifdef FFIKIT_LIBFFI38
         , L38_S16, {L38_S16}
#endif
        },
    };

    const char *names[2] = {"native", "asm"};
    ffikit_context *ctx[2];
    ffikit_library *fl[2];
    for (int b = 0; b < 2; b++) {
        if (ffikit_context_new(names[b], &ctx[b]) || ffikit_library_open(ctx[b], path, &fl[b]))
            fail("a context or the shapes library could not be opened");
    }
#ifdef FFIKIT_LIBFFI38
    {
        const char *p38 = getenv("FFIKIT_LIBFFI38_LIB");
        char msg[512] = "FFIKIT_LIBFFI38_LIB is unset";
        if (!p38 || l38_open(p38, msg, sizeof msg)) fail(msg);
    }
#endif

    printf("ffikit_call on the straight path's shapes: ns per call (median of %d interleaved rounds of "
           "%d calls per caller); ratios are medians of the per-round ratios\n", REPS, BATCH);
    enum { C_DIRECT, C_NATIVE, C_ASM, C_ADDR, C_LIBFFI, C_PLAN, C_L38, NC };
    static const char *const caller_names[NC] = {
        "direct C call (dlsym pointer)", "ffikit_call (native)", "ffikit_call (asm)",
        "ffikit_call (asm, prepare_address)", "libffi ffi_call (Debian)",
        "libffi-plan ffi_call_plan_invoke", "libffi-3.8 ffi_call"};
    for (int k = 0; k < 5; k++) {
        shape *s = &shapes[k];
        void *fn = dlsym(lib, s->symbol);
        if (!fn) fail(s->symbol);
        unsigned char out[16];
        /* Every caller is prepared and checked first, then timed in interleaved rounds. */
        int have[NC] = {0};
        ffikit_function *f[2] = {NULL, NULL};
        direct(k, fn, out);
        check("the direct call", k, out);
        have[C_DIRECT] = 1;
        for (int b = 0; b < 2; b++) {
            if (ffikit_prepare(ctx[b], fl[b], s->symbol, s->signature, &f[b]) != FFIKIT_STATUS_OK) {
                f[b] = NULL;
                continue;
            }
            memset(out, 0, 16);
            if (ffikit_call(ctx[b], f[b], s->args, s->nargs, out) != FFIKIT_STATUS_OK)
                fail(ffikit_context_error(ctx[b]));
            check("ffikit_call", k, out);
            have[C_NATIVE + b] = 1;
        }
        /* The same function prepared from the address the caller holds: the same plan. */
        ffikit_function *at = NULL;
        if (ffikit_prepare_address(ctx[1], fn, s->signature, &at) != FFIKIT_STATUS_OK)
            fail(ffikit_context_error(ctx[1]));
        memset(out, 0, 16);
        if (ffikit_call(ctx[1], at, s->args, s->nargs, out) != FFIKIT_STATUS_OK)
            fail(ffikit_context_error(ctx[1]));
        check("ffikit_call (prepare_address)", k, out);
        have[C_ADDR] = 1;
        ffi_cif cif;
        if (ffi_prep_cif(&cif, FFI_DEFAULT_ABI, s->nargs, s->ret, s->types) != FFI_OK) fail("ffi_prep_cif");
        memset(out, 0, 16);
        ffi_call(&cif, FFI_FN(fn), out, s->args);
        check("libffi ffi_call", k, out);
        have[C_LIBFFI] = 1;
#ifdef FFIKIT_LIBFFI38
        l38_sig sig;
        char msg[512];
        if (l38_prepare(&sig, s->lret, s->nargs, s->lkinds, msg, sizeof msg)) fail(msg);
        memset(out, 0, 16);
        l38_plan_invoke(sig.plan, FFI_FN(fn), out, s->args);
        check("libffi-plan", k, out);
        memset(out, 0, 16);
        l38_ffi_call(sig.cif, FFI_FN(fn), out, s->args);
        check("libffi-3.8", k, out);
        have[C_PLAN] = have[C_L38] = 1;
#endif
        double ns[NC][REPS];
        /* Each round starts at another caller, so that no caller always follows the same
         * one (a fixed order measured the second of two identical calls ~5% slower). */
        for (int r = 0; r < REPS; r++) {
            for (int j = 0; j < NC; j++) {
                int c = (j + r) % NC;
                if (!have[c]) continue;
                switch (c) {
                case C_DIRECT: ns[c][r] = BATCH_NS(direct(k, fn, out); sink_i = out[0]); break;
                case C_NATIVE:
                case C_ASM: {
                    ffikit_context *cx = ctx[c - C_NATIVE];
                    ffikit_function *fc = f[c - C_NATIVE];
                    ns[c][r] = BATCH_NS(ffikit_call(cx, fc, s->args, s->nargs, out); sink_i = out[0]);
                    break;
                }
                case C_ADDR: ns[c][r] = BATCH_NS(ffikit_call(ctx[1], at, s->args, s->nargs, out); sink_i = out[0]); break;
                case C_LIBFFI: ns[c][r] = BATCH_NS(ffi_call(&cif, FFI_FN(fn), out, s->args); sink_i = out[0]); break;
#ifdef FFIKIT_LIBFFI38
                case C_PLAN: ns[c][r] = BATCH_NS(l38_plan_invoke(sig.plan, FFI_FN(fn), out, s->args); sink_i = out[0]); break;
                case C_L38: ns[c][r] = BATCH_NS(l38_ffi_call(sig.cif, FFI_FN(fn), out, s->args); sink_i = out[0]); break;
#endif
                default: break;
                }
            }
        }
        printf("\n%s\n\n| caller | ns/call | vs direct |\n|---|---:|---:|\n", s->name);
        double asm_vs_plan = 0;
        if (have[C_ASM] && have[C_PLAN]) asm_vs_plan = paired_ratio(ns[C_ASM], ns[C_PLAN], REPS);
        for (int c = 0; c < NC; c++) {
            if (!have[c]) {
                if (c == C_NATIVE || c == C_ASM) {
                    char name[64];
                    snprintf(name, sizeof name, "%s: not this shape", caller_names[c]);
                    printf("| %-34s | %8s | %7s |\n", name, "-", "-");
                }
                continue;
            }
            double ratio = paired_ratio(ns[c], ns[C_DIRECT], REPS);
            double copy[REPS];
            memcpy(copy, ns[c], sizeof copy);
            printf("| %-34s | %8.2f | %6.2fx |\n", caller_names[c], median_of(copy, REPS), ratio);
            if (c == C_PLAN) printf("| ffikit_call (asm) / libffi-plan    |          | %6.2fx |\n", asm_vs_plan);
        }
        for (int b = 0; b < 2; b++) {
            if (f[b]) ffikit_function_free(f[b]);
        }
        ffikit_function_free(at);
#ifdef FFIKIT_LIBFFI38
        l38_release(&sig);
#endif
    }
    for (int b = 0; b < 2; b++) {
        ffikit_library_free(fl[b]);
        ffikit_context_free(ctx[b]);
    }
    dlclose(lib);
    return 0;
}
