package ffikit

/*
#cgo noescape ffikit_sum_f64
#cgo nocallback ffikit_sum_f64
#cgo noescape ffikit_dot_f64
#cgo nocallback ffikit_dot_f64
#cgo noescape ffikit_axpy_f64
#cgo nocallback ffikit_axpy_f64
#include <ffikit.h>
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Buffer is a stable buffer of a context: memory whose address never changes until Close,
// at least 64-byte aligned, which the kernels read in place (no copy on any backend). Fill
// it through Float64s, Uint32s or Bytes.
type Buffer struct {
	b   *C.ffikit_buffer
	ctx *Context
}

// NewBuffer allocates a zeroed buffer of lenBytes bytes in the context (host memory, or the
// wasm instance's linear memory).
func (ctx *Context) NewBuffer(lenBytes int) (*Buffer, error) {
	if ctx.c == nil {
		return nil, closedError("NewBuffer")
	}
	var b *C.ffikit_buffer
	st := C.ffikit_buffer_new(ctx.c, C.size_t(lenBytes), &b)
	runtime.KeepAlive(ctx)
	if err := check("NewBuffer", st, ctx.c); err != nil {
		return nil, err
	}
	buf := &Buffer{b: b, ctx: ctx}
	runtime.SetFinalizer(buf, (*Buffer).Close)
	return buf, nil
}

// Close frees the buffer (idempotent). Slices obtained from it must not be used afterwards.
func (b *Buffer) Close() error {
	if b.b != nil {
		C.ffikit_buffer_free(b.b)
		b.b = nil
		runtime.SetFinalizer(b, nil)
	}
	return nil
}

// Len is the buffer's length in bytes (0 after Close).
func (b *Buffer) Len() int {
	if b.b == nil {
		return 0
	}
	return int(C.ffikit_buffer_len(b.b))
}

// Bytes is the buffer's memory as a byte slice (nil after Close). The slice is valid until
// Close; it is C memory, so it may be kept and passed around freely until then.
func (b *Buffer) Bytes() []byte {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*byte)(C.ffikit_buffer_data(b.b)), b.Len())
}

// Float64s is the buffer's memory as len/8 float64 values (valid until Close).
func (b *Buffer) Float64s() []float64 {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*float64)(C.ffikit_buffer_data(b.b)), b.Len()/8)
}

// Uint32s is the buffer's memory as len/4 uint32 values (valid until Close).
func (b *Buffer) Uint32s() []uint32 {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*uint32)(C.ffikit_buffer_data(b.b)), b.Len()/4)
}

func (b *Buffer) handle(op string) (*C.ffikit_buffer, error) {
	if b == nil || b.b == nil {
		return nil, closedError(op)
	}
	return b.b, nil
}

// SumF64Buffer returns the sum of the first n float64 of x, in place.
func (ctx *Context) SumF64Buffer(x *Buffer, n int) (float64, error) {
	xb, err := x.handle("SumF64Buffer")
	if err != nil || ctx.c == nil {
		return 0, closedError("SumF64Buffer")
	}
	var out C.double
	st := C.ffikit_sum_f64(ctx.c, xb, C.size_t(n), &out)
	runtime.KeepAlive(x)
	runtime.KeepAlive(ctx)
	return float64(out), check("SumF64Buffer", st, ctx.c)
}

// DotF64Buffer returns Σ x[i]·y[i] over the first n float64 of two buffers, in place.
func (ctx *Context) DotF64Buffer(x, y *Buffer, n int) (float64, error) {
	xb, err1 := x.handle("DotF64Buffer")
	yb, err2 := y.handle("DotF64Buffer")
	if err1 != nil || err2 != nil || ctx.c == nil {
		return 0, closedError("DotF64Buffer")
	}
	var out C.double
	st := C.ffikit_dot_f64(ctx.c, xb, yb, C.size_t(n), &out)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return float64(out), check("DotF64Buffer", st, ctx.c)
}

// AxpyF64Buffer computes y = a·x + y over the first n float64 of two buffers, in place.
func (ctx *Context) AxpyF64Buffer(a float64, x, y *Buffer, n int) error {
	xb, err1 := x.handle("AxpyF64Buffer")
	yb, err2 := y.handle("AxpyF64Buffer")
	if err1 != nil || err2 != nil || ctx.c == nil {
		return closedError("AxpyF64Buffer")
	}
	st := C.ffikit_axpy_f64(ctx.c, C.double(a), xb, yb, C.size_t(n))
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return check("AxpyF64Buffer", st, ctx.c)
}
