/*
 * libffi 3.8.0's call plans for the C benchmarks: see libffi38.h. Compiled on its own with
 * -I target/peers/libffi-3.8.0/include, so <ffi.h> below is libffi 3.8's.
 */
#define _GNU_SOURCE /* RTLD_DEEPBIND */
#include <ffi.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#include "libffi38.h"

#if !defined(FFI_VERSION_NUMBER) || FFI_VERSION_NUMBER < 30800
#error "libffi38.c needs libffi 3.8's ffi.h (-I target/peers/libffi-3.8.0/include)"
#endif

void (*l38_ffi_call)(void *cif, void (*fn)(void), void *rvalue, void **avalue);
void (*l38_plan_invoke)(struct ffi_call_plan *plan, void (*fn)(void), void *rvalue,
                        void **avalue);

static ffi_status (*prep_cif)(ffi_cif *, ffi_abi, unsigned int, ffi_type *, ffi_type **);
static ffi_call_plan *(*plan_alloc)(ffi_cif *);
static void (*plan_free)(ffi_call_plan *);
/* libffi 3.8's own scalar types (its data, not the system libffi's). */
static ffi_type *t_void, *t_u32, *t_i32, *t_u64, *t_i64, *t_f64, *t_ptr;
/* struct { int64_t, int64_t }, laid out by ffi_prep_cif. */
static ffi_type *s16_fields[3];
static ffi_type t_s16 = {0, 0, FFI_TYPE_STRUCT, s16_fields};

/* One prepared cif with its types, as l38_sig's opaque `cif`. */
typedef struct {
    ffi_cif cif;
    ffi_type *args[];
} prepared;

static ffi_type *type_of(l38_kind k) {
    switch (k) {
    case L38_VOID: return t_void;
    case L38_U32: return t_u32;
    case L38_I32: return t_i32;
    case L38_U64: return t_u64;
    case L38_I64: return t_i64;
    case L38_F64: return t_f64;
    case L38_PTR: return t_ptr;
    case L38_S16: return &t_s16;
    }
    return NULL;
}

int l38_open(const char *path, char *msg, size_t len) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!lib) {
        snprintf(msg, len, "libffi 3.8: %s", dlerror());
        return -1;
    }
    struct {
        const char *name;
        void **slot;
    } syms[] = {
        {"ffi_call", (void **)&l38_ffi_call},
        {"ffi_call_plan_invoke", (void **)&l38_plan_invoke},
        {"ffi_prep_cif", (void **)&prep_cif},
        {"ffi_call_plan_alloc", (void **)&plan_alloc},
        {"ffi_call_plan_free", (void **)&plan_free},
        {"ffi_type_void", (void **)&t_void},
        {"ffi_type_uint32", (void **)&t_u32},
        {"ffi_type_sint32", (void **)&t_i32},
        {"ffi_type_uint64", (void **)&t_u64},
        {"ffi_type_sint64", (void **)&t_i64},
        {"ffi_type_double", (void **)&t_f64},
        {"ffi_type_pointer", (void **)&t_ptr},
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        *syms[i].slot = dlsym(lib, syms[i].name);
        if (!*syms[i].slot) {
            snprintf(msg, len, "libffi 3.8 (%s): no symbol %s", path, syms[i].name);
            return -1;
        }
    }
    s16_fields[0] = t_i64;
    s16_fields[1] = t_i64;
    s16_fields[2] = NULL;
    return 0;
}

int l38_prepare(l38_sig *sig, l38_kind ret, unsigned nargs, const l38_kind *args, char *msg,
                size_t len) {
    prepared *p = malloc(sizeof *p + nargs * sizeof(ffi_type *));
    if (!p) {
        snprintf(msg, len, "libffi 3.8: out of memory");
        return -1;
    }
    for (unsigned i = 0; i < nargs; i++) p->args[i] = type_of(args[i]);
    if (prep_cif(&p->cif, FFI_DEFAULT_ABI, nargs, type_of(ret), p->args) != FFI_OK) {
        free(p);
        snprintf(msg, len, "libffi 3.8: ffi_prep_cif failed");
        return -1;
    }
    sig->plan = plan_alloc(&p->cif);
    if (!sig->plan) {
        free(p);
        snprintf(msg, len, "libffi 3.8: ffi_call_plan_alloc failed");
        return -1;
    }
    sig->cif = p;
    return 0;
}

void l38_release(l38_sig *sig) {
    plan_free(sig->plan);
    free(sig->cif);
    sig->plan = NULL;
    sig->cif = NULL;
}
