//go:build cgo

// Package direct calls the kernels of libffikit_kernels.so and libm's pow straight from cgo,
// without ffikit: the floor the binding's benchmarks compare with. The library is opened with
// dlopen(RTLD_LOCAL) and called through dlsym'd pointers, so its symbols never clash with
// libffikit.so's C API functions of the same names.
package direct

/*
#cgo LDFLAGS: -ldl
#cgo noescape direct_sum
#cgo nocallback direct_sum
#cgo noescape direct_dot
#cgo nocallback direct_dot
#cgo nocallback direct_add
#cgo nocallback direct_noop
#cgo nocallback direct_pow
#cgo LDFLAGS: -lm
#include <math.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>

static double (*sum_fn)(const double *, size_t);
static double (*dot_fn)(const double *, const double *, size_t);
static uint32_t (*add_fn)(uint32_t, uint32_t);
static void (*noop_fn)(void);

static const char *direct_open(const char *path) {
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) return dlerror();
    *(void **)&sum_fn = dlsym(lib, "ffikit_sum_f64");
    *(void **)&dot_fn = dlsym(lib, "ffikit_dot_f64");
    *(void **)&add_fn = dlsym(lib, "ffikit_add_u32");
    *(void **)&noop_fn = dlsym(lib, "ffikit_noop");
    if (!sum_fn || !dot_fn || !add_fn || !noop_fn) return "kernel symbols missing";
    return NULL;
}
static double direct_sum(const double *x, size_t n) { return sum_fn(x, n); }
static double direct_dot(const double *x, const double *y, size_t n) { return dot_fn(x, y, n); }
static uint32_t direct_add(uint32_t a, uint32_t b) { return add_fn(a, b); }
static void direct_noop(void) { noop_fn(); }
static double direct_pow(double x, double y) { return pow(x, y); }
*/
import "C"

import (
	"errors"
	"unsafe"
)

// Open loads libffikit_kernels.so from path.
func Open(path string) error {
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	if msg := C.direct_open(cs); msg != nil {
		return errors.New(C.GoString(msg))
	}
	return nil
}

// Sum is the sum_f64 kernel called directly through cgo.
func Sum(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return float64(C.direct_sum((*C.double)(unsafe.Pointer(&x[0])), C.size_t(len(x))))
}

// Dot is the dot_f64 kernel called directly through cgo.
func Dot(x, y []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return float64(C.direct_dot((*C.double)(unsafe.Pointer(&x[0])),
		(*C.double)(unsafe.Pointer(&y[0])), C.size_t(len(x))))
}

// Add is the add_u32 kernel called directly through cgo.
func Add(a, b uint32) uint32 { return uint32(C.direct_add(C.uint32_t(a), C.uint32_t(b))) }

// Noop is the noop kernel called directly through cgo.
func Noop() { C.direct_noop() }

// Pow is libm's pow called directly through cgo.
func Pow(x, y float64) float64 { return float64(C.direct_pow(C.double(x), C.double(y))) }
