// Package ffikit drives ffikit's backends, kernels, stable buffers, dynamic calls and
// context pools from Go, through libffikit.so and cgo.
//
// Build the library first, from the repository root:
//
//	cargo xtask build
//
// The package links ../../target/release/libffikit.so (relative to this directory) with an
// rpath, so tests and programs run without LD_LIBRARY_PATH. From another module, require
// this one and point a replace directive at this directory (see README.md).
//
// Threading: a Context is used by one goroutine at a time; goroutines that work
// concurrently each take their own, from a Pool. Every call returns an error carrying the
// status and the context's message; errors.Is(err, ffikit.StatusTrap) and errors.As with
// *ffikit.Error work. No call allocates on the Go heap.
package ffikit

/*
#cgo CFLAGS: -I${SRCDIR}/../../crates/capi/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lffikit
// The hot calls neither keep Go pointers nor call back into Go (Go 1.22+): pointers to
// locals stay on the stack and the call skips the callback bookkeeping.
#cgo noescape ffikit_noop
#cgo nocallback ffikit_noop
#cgo noescape ffikit_go_add_u32
#cgo nocallback ffikit_go_add_u32
#cgo noescape ffikit_go_add_u32_direct
#cgo nocallback ffikit_go_add_u32_direct
#cgo noescape ffikit_sum_f64_ptr
#cgo nocallback ffikit_sum_f64_ptr
#cgo noescape ffikit_dot_f64_ptr
#cgo nocallback ffikit_dot_f64_ptr
#cgo noescape ffikit_axpy_f64_ptr
#cgo nocallback ffikit_axpy_f64_ptr
#cgo noescape ffikit_add_u32_batch_ptr
#cgo nocallback ffikit_add_u32_batch_ptr
#cgo noescape ffikit_context_error
#cgo nocallback ffikit_context_error
#include <ffikit.h>
#include <stdlib.h>

// ffikit_add_u32 through a wrapper that returns the status and the value by value: the
// out-pointer lives on the C stack, so cgo has no Go pointer to check on this hot call.
typedef struct { ffikit_status status; uint32_t value; } ffikit_go_u32;
static inline ffikit_go_u32 ffikit_go_add_u32(ffikit_context *ctx, uint32_t a, uint32_t b) {
    ffikit_go_u32 r = {FFIKIT_STATUS_OK, 0};
    r.status = ffikit_add_u32(ctx, a, b, &r.value);
    return r;
}

// The kernel's own C function (ffikit_context_kernel), for native and asm contexts: a
// plain C call, as a direct cgo call of the kernel would make.
static inline uint32_t ffikit_go_add_u32_direct(uintptr_t fn, uint32_t a, uint32_t b) {
    return ((uint32_t (*)(uint32_t, uint32_t))fn)(a, b);
}
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Version is the version of the linked libffikit.so.
func Version() string { return C.GoString(C.ffikit_version()) }

// Status is a C API status code; every value but StatusOK is also an error.
type Status int32

// The statuses of ffikit.h (fixed numbers).
const (
	StatusOK                   Status = 0
	StatusNullArgument         Status = 1
	StatusInvalidUTF8          Status = 2
	StatusUnknownBackend       Status = 3
	StatusLibraryNotFound      Status = 4
	StatusSymbolNotFound       Status = 5
	StatusInvalidSignature     Status = 6
	StatusUnsupportedSignature Status = 7
	StatusSignatureMismatch    Status = 8
	StatusArgumentCount        Status = 9
	StatusArgumentType         Status = 10
	StatusBufferOutOfBounds    Status = 11
	StatusBufferTooSmall       Status = 12
	StatusBufferFreed          Status = 13
	StatusForeignHandle        Status = 14
	StatusPointerOutside       Status = 15
	StatusInvalidAlignment     Status = 16
	StatusOutOfMemory          Status = 17
	StatusTrap                 Status = 18
	StatusDeadlineExceeded     Status = 19
	StatusStackBudgetExceeded  Status = 20
	StatusContextPoisoned      Status = 21
	StatusPoolExhausted        Status = 22
	StatusPoolTimeout          Status = 23
	StatusUnsupportedTarget    Status = 24
	StatusLengthMismatch       Status = 25
	StatusReturnSlotTooSmall   Status = 26
	StatusPanic                Status = 27
	StatusBackendError         Status = 28
	StatusUnsupportedSource    Status = 29
	StatusInvalidArgument      Status = 30
	// StatusClosed is Go-side only: the handle was closed.
	StatusClosed Status = -1
)

// Error returns the status's name, e.g. "FFIKIT_STATUS_TRAP".
func (s Status) Error() string {
	if s == StatusClosed {
		return "FFIKIT_STATUS_CLOSED"
	}
	return C.GoString(C.ffikit_status_name(C.int32_t(s)))
}

// Error is a failed call: the operation, its status and the message the context kept.
type Error struct {
	Op      string
	Status  Status
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("ffikit: %s: %s", e.Op, e.Status.Error())
	}
	return fmt.Sprintf("ffikit: %s: %s: %s", e.Op, e.Status.Error(), e.Message)
}

// Unwrap returns the Status, so errors.Is(err, ffikit.StatusTrap) works.
func (e *Error) Unwrap() error { return e.Status }

// check turns a C status into an error, taking the message from ctx when there is one.
func check(op string, st C.enum_ffikit_status, ctx *C.ffikit_context) error {
	if st == C.FFIKIT_STATUS_OK {
		return nil
	}
	e := &Error{Op: op, Status: Status(st)}
	if ctx != nil {
		e.Message = C.GoString(C.ffikit_context_error(ctx))
	}
	return e
}

func closedError(op string) error { return &Error{Op: op, Status: StatusClosed} }

// Context is one backend instance with the kernels prepared, its buffers and its prepared
// functions. Use it from one goroutine at a time. Close it when done (a finalizer closes a
// forgotten one).
type Context struct {
	c      *C.ffikit_context
	pooled bool
	// The add_u32 kernel's C function for native and asm contexts (0 for wasm).
	addU32 C.uintptr_t
	// C memory for Function.Call: the argument pointer array, the argument values and the
	// return slot (see Function.Call), grown as needed.
	area      unsafe.Pointer
	areaBytes uintptr
}

// NewContext opens a context of the backend named "native", "asm" or "wasm".
func NewContext(backend string) (*Context, error) {
	cs := C.CString(backend)
	defer C.free(unsafe.Pointer(cs))
	var msg [512]C.char
	var c *C.ffikit_context
	st := C.ffikit_context_new_msg(cs, &c, &msg[0], C.size_t(len(msg)))
	if st != C.FFIKIT_STATUS_OK {
		return nil, &Error{Op: "NewContext", Status: Status(st), Message: C.GoString(&msg[0])}
	}
	ctx := wrapContext(c, false)
	runtime.SetFinalizer(ctx, (*Context).Close)
	return ctx, nil
}

// wrapContext makes the Go handle of a C context.
func wrapContext(c *C.ffikit_context, pooled bool) *Context {
	name := C.CString("add_u32")
	defer C.free(unsafe.Pointer(name))
	add := C.ffikit_context_kernel(c, name)
	return &Context{c: c, pooled: pooled, addU32: C.uintptr_t(uintptr(add))}
}

// Close frees the context (idempotent). Buffers, libraries and functions made from it must
// be closed first. A pooled context is returned with Pool.Release instead.
func (ctx *Context) Close() error {
	if ctx.c == nil || ctx.pooled {
		return nil
	}
	C.ffikit_context_free(ctx.c)
	ctx.c = nil
	ctx.freeArgs()
	runtime.SetFinalizer(ctx, nil)
	return nil
}

func (ctx *Context) freeArgs() {
	if ctx.area != nil {
		C.free(ctx.area)
		ctx.area, ctx.areaBytes = nil, 0
	}
}

// callArea returns at least n bytes of the context's C memory for Function.Call.
func (ctx *Context) callArea(n uintptr) unsafe.Pointer {
	if n > ctx.areaBytes {
		ctx.freeArgs()
		ctx.area = C.malloc(C.size_t(n))
		if ctx.area == nil {
			panic("ffikit: out of C memory for call arguments")
		}
		ctx.areaBytes = n
	}
	return ctx.area
}

// Backend returns the backend's name.
func (ctx *Context) Backend() string {
	if ctx.c == nil {
		return ""
	}
	return C.GoString(C.ffikit_context_backend(ctx.c))
}

// Noop calls the no-op kernel: the bare cost of one call through the backend.
func (ctx *Context) Noop() error {
	if ctx.c == nil {
		return closedError("Noop")
	}
	st := C.ffikit_noop(ctx.c)
	runtime.KeepAlive(ctx)
	return check("Noop", st, ctx.c)
}

// AddU32 returns a+b (wrapping), computed by the add_u32 kernel.
func (ctx *Context) AddU32(a, b uint32) (uint32, error) {
	if ctx.c == nil {
		return 0, closedError("AddU32")
	}
	if ctx.addU32 != 0 {
		// Native code: the kernel cannot fail, so no status to carry back.
		return uint32(C.ffikit_go_add_u32_direct(ctx.addU32, C.uint32_t(a), C.uint32_t(b))), nil
	}
	r := C.ffikit_go_add_u32(ctx.c, C.uint32_t(a), C.uint32_t(b))
	runtime.KeepAlive(ctx)
	if r.status != C.FFIKIT_STATUS_OK {
		return 0, check("AddU32", C.enum_ffikit_status(r.status), ctx.c)
	}
	return uint32(r.value), nil
}

// f64s returns a C pointer to x's first element (nil for an empty slice).
//
// No copy and no runtime.Pinner are needed: cgo lets a call pass a pointer to Go memory
// that holds no Go pointers for the duration of the call, and Go's collector does not move
// heap objects. The native and asm backends read the slice in place; wasm copies it into
// the context's scratch buffer (one memcpy, in C).
func f64s(x []float64) *C.double {
	if len(x) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&x[0]))
}

func u32s(x []uint32) *C.uint32_t {
	if len(x) == 0 {
		return nil
	}
	return (*C.uint32_t)(unsafe.Pointer(&x[0]))
}

// SumF64 returns the sum of x, computed by the sum_f64 kernel.
func (ctx *Context) SumF64(x []float64) (float64, error) {
	if ctx.c == nil {
		return 0, closedError("SumF64")
	}
	var out C.double
	st := C.ffikit_sum_f64_ptr(ctx.c, f64s(x), C.size_t(len(x)), &out)
	runtime.KeepAlive(x)
	runtime.KeepAlive(ctx)
	return float64(out), check("SumF64", st, ctx.c)
}

// DotF64 returns Σ x[i]·y[i]; the slices must have equal lengths.
func (ctx *Context) DotF64(x, y []float64) (float64, error) {
	if ctx.c == nil {
		return 0, closedError("DotF64")
	}
	if len(x) != len(y) {
		return 0, &Error{Op: "DotF64", Status: StatusLengthMismatch,
			Message: fmt.Sprintf("len(x) = %d, len(y) = %d", len(x), len(y))}
	}
	var out C.double
	st := C.ffikit_dot_f64_ptr(ctx.c, f64s(x), f64s(y), C.size_t(len(x)), &out)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return float64(out), check("DotF64", st, ctx.c)
}

// AxpyF64 computes y = a·x + y in place; the slices must have equal lengths.
func (ctx *Context) AxpyF64(a float64, x, y []float64) error {
	if ctx.c == nil {
		return closedError("AxpyF64")
	}
	if len(x) != len(y) {
		return &Error{Op: "AxpyF64", Status: StatusLengthMismatch,
			Message: fmt.Sprintf("len(x) = %d, len(y) = %d", len(x), len(y))}
	}
	st := C.ffikit_axpy_f64_ptr(ctx.c, C.double(a), f64s(x), f64s(y), C.size_t(len(x)))
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return check("AxpyF64", st, ctx.c)
}

// AddU32Batch computes out[i] = a[i] + b[i] (wrapping) in one call.
func (ctx *Context) AddU32Batch(a, b, out []uint32) error {
	if ctx.c == nil {
		return closedError("AddU32Batch")
	}
	if len(a) != len(b) || len(a) != len(out) {
		return &Error{Op: "AddU32Batch", Status: StatusLengthMismatch,
			Message: fmt.Sprintf("lengths %d, %d, %d", len(a), len(b), len(out))}
	}
	st := C.ffikit_add_u32_batch_ptr(ctx.c, u32s(a), u32s(b), u32s(out), C.size_t(len(a)))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(out)
	runtime.KeepAlive(ctx)
	return check("AddU32Batch", st, ctx.c)
}
