/*
 * libffi 3.8.0 as a peer of the C benchmarks (overhead.c, matrix.c): its reusable call plans
 * (ffi_call_plan_invoke) and its ffi_call, beside Debian's libffi in the same process.
 *
 * libffi 3.8 has the same soname (libffi.so.8) and the same versioned symbols as the
 * Debian libffi these programs link, so it cannot be linked beside it: libffi38.c, compiled
 * on its own against libffi 3.8's ffi.h, opens the built library by path with RTLD_DEEPBIND
 * (its own calls, such as the plan's fallback to ffi_call, stay inside it) and resolves its
 * entries. This header names no libffi type, so it is included beside the system ffi.h.
 *
 * The programs use it only when compiled with -DFFIKIT_LIBFFI38 (cargo xtask builds libffi
 * 3.8 into target/peers/ when its tarball is present, and says NOT RUN otherwise).
 */
#ifndef FFIKIT_BENCH_LIBFFI38_H
#define FFIKIT_BENCH_LIBFFI38_H

#include <stddef.h>

/* libffi 3.8's opaque call plan (`ffi_call_plan` in its ffi.h). */
struct ffi_call_plan;

/* The argument and return kinds the benchmarks use; L38_S16 is struct { int64_t, int64_t }. */
typedef enum { L38_VOID, L38_U32, L38_I32, L38_U64, L38_I64, L38_F64, L38_PTR, L38_S16 } l38_kind;

/* One prepared signature: libffi 3.8's ffi_cif (opaque here) and its call plan. */
typedef struct {
    void *cif;
    struct ffi_call_plan *plan;
} l38_sig;

/* libffi 3.8's ffi_call (its first parameter is the `ffi_cif *` of an l38_sig). */
extern void (*l38_ffi_call)(void *cif, void (*fn)(void), void *rvalue, void **avalue);
/* libffi 3.8's ffi_call_plan_invoke. */
extern void (*l38_plan_invoke)(struct ffi_call_plan *plan, void (*fn)(void), void *rvalue,
                               void **avalue);

/* Opens libffi 3.8 at `path` and resolves its entries. 0 on success; otherwise -1 with the
 * reason in `msg`. */
int l38_open(const char *path, char *msg, size_t len);

/* Prepares `sig` for `ret(args[0], ..., args[nargs-1])` with libffi 3.8's ffi_prep_cif and
 * ffi_call_plan_alloc. 0 on success; otherwise -1 with the reason in `msg`. */
int l38_prepare(l38_sig *sig, l38_kind ret, unsigned nargs, const l38_kind *args, char *msg,
                size_t len);

/* Frees what l38_prepare allocated. */
void l38_release(l38_sig *sig);

#endif
