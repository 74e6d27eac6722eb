// Package ffikit drives ffikit's backends, kernels, stable buffers, dynamic calls and
// context pools from Go, through libffikit.so.
//
// Build the library first, from the repository root:
//
//	cargo xtask build
//
// With cgo (the default) the package links ../../target/release/libffikit.so (relative to
// this directory) with an rpath, so tests and programs run without LD_LIBRARY_PATH. Built
// with CGO_ENABLED=0 it opens the library at run time through purego (FFIKIT_LIBRARY, else
// the same build-tree path, else dlopen's search path) and needs no C toolchain. From another
// module, require this one and point a replace directive at this directory (see README.md).
//
// Calls take one of two paths. The fast path runs the C function on the goroutine's own
// stack through an assembly trampoline (amd64, arm64), with no cgo transition: the kernels of
// native and asm contexts up to a size bound, and functions prepared with PrepareLeaf (see
// fast.go for the rules C code called that way must keep). Everything else goes through the
// C API: cgo, or purego in a CGO_ENABLED=0 build.
//
// Threading: a Context is used by one goroutine at a time; goroutines that work
// concurrently each take their own, from a Pool. Every call returns an error carrying the
// status and the context's message; errors.Is(err, ffikit.StatusTrap) and errors.As with
// *ffikit.Error work. No call allocates on the Go heap.
package ffikit

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ffikit/ffikit/bindings/go/internal/fastcall"
)

// Version is the version of the loaded libffikit.so ("" when it cannot be loaded).
func Version() string { return capiVersion() }

// CgoEnabled reports whether this build calls the C API through cgo (true) or through
// purego (a CGO_ENABLED=0 build).
func CgoEnabled() bool { return cgoEnabled }

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
	StatusBufferTooLarge       Status = 31
	StatusAddressUnsupported   Status = 32
	// StatusClosed is Go-side only: the handle was closed.
	StatusClosed Status = -1
)

// Error returns the status's name, e.g. "FFIKIT_STATUS_TRAP".
func (s Status) Error() string {
	if s == StatusClosed {
		return "FFIKIT_STATUS_CLOSED"
	}
	return capiStatusName(s)
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

// check turns a status into an error, taking the message from ctx when there is one.
func check(op string, st Status, ctx unsafe.Pointer) error {
	if st == StatusOK {
		return nil
	}
	e := &Error{Op: op, Status: st}
	if ctx != nil {
		e.Message = capiContextError(ctx)
	}
	return e
}

func closedError(op string) error { return &Error{Op: op, Status: StatusClosed} }

// The kernels, in the order of Context.kernels.
const (
	kernelNoop = iota
	kernelAddU32
	kernelAddU32Batch
	kernelSumF64
	kernelDotF64
	kernelAxpyF64
	numKernels
)

// kernelNames are the kernels' names in ffikit_context_kernel.
var kernelNames = [numKernels]string{"noop", "add_u32", "add_u32_batch", "sum_f64", "dot_f64",
	"axpy_f64"}

// Context is one backend instance with the kernels prepared, its buffers and its prepared
// functions. Use it from one goroutine at a time. Close it when done (a finalizer closes a
// forgotten one).
type Context struct {
	c      unsafe.Pointer
	pooled bool
	// fast: kernels and leaf functions take the goroutine-stack path (native and asm
	// contexts on amd64 and arm64, unless SetFastCalls(false)).
	fast bool
	// The kernels' C functions for native and asm contexts (0 for wasm).
	kernels [numKernels]uintptr
	// C memory for Function.Call's C API path: the argument pointer array, the argument
	// values and the return slot (see Function.Call), grown as needed.
	area      unsafe.Pointer
	areaBytes uintptr
}

// NewContext opens a context of the backend named "native", "asm" or "wasm".
func NewContext(backend string) (*Context, error) {
	c, st, msg := capiContextNew(backend)
	if st != StatusOK {
		return nil, &Error{Op: "NewContext", Status: st, Message: msg}
	}
	ctx := wrapContext(c, false)
	runtime.SetFinalizer(ctx, (*Context).Close)
	return ctx, nil
}

// wrapContext makes the Go handle of a C context, with the kernels' addresses for the fast
// path, each kernel warmed up once through the C API (see fast.go).
func wrapContext(c unsafe.Pointer, pooled bool) *Context {
	ctx := &Context{c: c, pooled: pooled}
	for k, name := range kernelNames {
		ctx.kernels[k] = capiContextKernel(c, name)
	}
	if fastAvailable && ctx.kernels[kernelSumF64] != 0 {
		ctx.warmKernels()
		ctx.fast = true
	}
	return ctx
}

// warmKernels calls every kernel once through the C API, on the system stack: anything a
// kernel does once (symbol binding, CPU-feature dispatch) is done before its first fast call.
func (ctx *Context) warmKernels() {
	var x, y [64]float64
	var a, b, out [64]uint32
	for i := range x {
		x[i], y[i], a[i], b[i] = float64(i), 1, uint32(i), 1
	}
	capiNoop(ctx.c)
	capiAddU32(ctx.c, 1, 2)
	capiSumF64Ptr(ctx.c, unsafe.Pointer(&x[0]), len(x))
	capiDotF64Ptr(ctx.c, unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), len(x))
	capiAxpyF64Ptr(ctx.c, 2, unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), len(x))
	capiAddU32BatchPtr(ctx.c, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]),
		unsafe.Pointer(&out[0]), len(a))
}

// SetFastCalls turns the goroutine-stack fast path on or off for this context's kernels
// and leaf functions (on by default for native and asm contexts on amd64 and arm64; it
// cannot be turned on elsewhere). Off, every call goes through the C API (cgo or purego).
func (ctx *Context) SetFastCalls(on bool) {
	ctx.fast = on && fastAvailable && ctx.kernels[kernelSumF64] != 0
}

// FastCalls reports whether the fast path is on (see SetFastCalls).
func (ctx *Context) FastCalls() bool { return ctx.fast }

// Close frees the context (idempotent). Buffers, libraries and functions made from it must
// be closed first. A pooled context is returned with Pool.Release instead.
func (ctx *Context) Close() error {
	if ctx.c == nil || ctx.pooled {
		return nil
	}
	capiContextFree(ctx.c)
	ctx.c, ctx.fast = nil, false
	ctx.freeArgs()
	runtime.SetFinalizer(ctx, nil)
	return nil
}

func (ctx *Context) freeArgs() {
	if ctx.area != nil {
		cFree(ctx.area)
		ctx.area, ctx.areaBytes = nil, 0
	}
}

// callArea returns at least n bytes of the context's C memory for Function.Call.
func (ctx *Context) callArea(n uintptr) unsafe.Pointer {
	if n > ctx.areaBytes {
		ctx.freeArgs()
		ctx.area = cMalloc(n)
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
	return capiContextBackend(ctx.c)
}

// Noop calls the no-op kernel: the bare cost of one call through the backend.
func (ctx *Context) Noop() error {
	if ctx.c == nil {
		return closedError("Noop")
	}
	if ctx.fast {
		_, ok := fastcall.CallI2(ctx.kernels[kernelNoop], 0, 0)
		fastChecked(ok, "the noop kernel")
		return nil
	}
	st := capiNoop(ctx.c)
	runtime.KeepAlive(ctx)
	return check("Noop", st, ctx.c)
}

// AddU32 returns a+b (wrapping), computed by the add_u32 kernel.
func (ctx *Context) AddU32(a, b uint32) (uint32, error) {
	if ctx.c == nil {
		return 0, closedError("AddU32")
	}
	if ctx.fast {
		r, ok := fastcall.CallI2(ctx.kernels[kernelAddU32], uint64(a), uint64(b))
		fastChecked(ok, "the add_u32 kernel")
		return uint32(r), nil
	}
	v, st := capiAddU32(ctx.c, a, b)
	runtime.KeepAlive(ctx)
	if st != StatusOK {
		return 0, check("AddU32", st, ctx.c)
	}
	return v, nil
}

// f64s returns x's first element's address (nil for an empty slice).
//
// No copy and no runtime.Pinner are needed: C reads the slice during the call only, and Go's
// collector does not move heap objects (cgo's rules; the fast path keeps it typed in the
// frame, so a stack copy updates it). The native and asm backends read the slice in place;
// wasm copies it into the context's scratch buffer (one memcpy, in C).
func f64s(x []float64) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(x)) }

func u32s(x []uint32) unsafe.Pointer { return unsafe.Pointer(unsafe.SliceData(x)) }

// fastFits: the fast path is on and a call touching n bytes is short enough for it.
func (ctx *Context) fastFits(n int) bool { return ctx.fast && n <= fastMaxBytes }

// SumF64 returns the sum of x, computed by the sum_f64 kernel.
func (ctx *Context) SumF64(x []float64) (float64, error) {
	if ctx.c == nil {
		return 0, closedError("SumF64")
	}
	if ctx.fastFits(8 * len(x)) {
		r, ok := fastcall.CallP1N(ctx.kernels[kernelSumF64], f64s(x), uint64(len(x)))
		fastChecked(ok, "the sum_f64 kernel")
		return r, nil
	}
	out, st := capiSumF64Ptr(ctx.c, f64s(x), len(x))
	runtime.KeepAlive(x)
	runtime.KeepAlive(ctx)
	return out, check("SumF64", st, ctx.c)
}

func lengthError(op string, lens ...int) error {
	return &Error{Op: op, Status: StatusLengthMismatch, Message: fmt.Sprintf("lengths %v", lens)}
}

// DotF64 returns Σ x[i]·y[i]; the slices must have equal lengths.
func (ctx *Context) DotF64(x, y []float64) (float64, error) {
	if ctx.c == nil {
		return 0, closedError("DotF64")
	}
	if len(x) != len(y) {
		return 0, lengthError("DotF64", len(x), len(y))
	}
	if ctx.fastFits(16 * len(x)) {
		r, ok := fastcall.CallP2N(ctx.kernels[kernelDotF64], f64s(x), f64s(y), uint64(len(x)), 0)
		fastChecked(ok, "the dot_f64 kernel")
		return r, nil
	}
	out, st := capiDotF64Ptr(ctx.c, f64s(x), f64s(y), len(x))
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return out, check("DotF64", st, ctx.c)
}

// AxpyF64 computes y = a·x + y in place; the slices must have equal lengths.
func (ctx *Context) AxpyF64(a float64, x, y []float64) error {
	if ctx.c == nil {
		return closedError("AxpyF64")
	}
	if len(x) != len(y) {
		return lengthError("AxpyF64", len(x), len(y))
	}
	if ctx.fastFits(24 * len(x)) {
		_, ok := fastcall.CallP2N(ctx.kernels[kernelAxpyF64], f64s(x), f64s(y), uint64(len(x)), a)
		fastChecked(ok, "the axpy_f64 kernel")
		return nil
	}
	st := capiAxpyF64Ptr(ctx.c, a, f64s(x), f64s(y), len(x))
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
		return lengthError("AddU32Batch", len(a), len(b), len(out))
	}
	if ctx.fastFits(12 * len(a)) {
		ok := fastcall.CallP3N(ctx.kernels[kernelAddU32Batch], u32s(a), u32s(b), u32s(out), uint64(len(a)))
		fastChecked(ok, "the add_u32_batch kernel")
		return nil
	}
	st := capiAddU32BatchPtr(ctx.c, u32s(a), u32s(b), u32s(out), len(a))
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(out)
	runtime.KeepAlive(ctx)
	return check("AddU32Batch", st, ctx.c)
}
