package ffikit

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/ffikit/ffikit/bindings/go/internal/fastcall"
)

// Buffer is a stable buffer of a context: memory whose address never changes until Close,
// at least 64-byte aligned, which the kernels read in place (no copy on any backend). Fill
// it through Float64s, Uint32s or Bytes.
type Buffer struct {
	b   unsafe.Pointer
	ctx *Context
	// The buffer's host memory and length, fixed for its life.
	data unsafe.Pointer
	n    int
}

// NewBuffer allocates a zeroed buffer of lenBytes bytes in the context (host memory, or the
// wasm instance's linear memory).
func (ctx *Context) NewBuffer(lenBytes int) (*Buffer, error) {
	if ctx.c == nil {
		return nil, closedError("NewBuffer")
	}
	b, st := capiBufferNew(ctx.c, lenBytes)
	runtime.KeepAlive(ctx)
	if err := check("NewBuffer", st, ctx.c); err != nil {
		return nil, err
	}
	buf := &Buffer{b: b, ctx: ctx, data: capiBufferData(b), n: capiBufferLen(b)}
	runtime.SetFinalizer(buf, (*Buffer).Close)
	return buf, nil
}

// Close frees the buffer (idempotent). Slices obtained from it must not be used afterwards.
func (b *Buffer) Close() error {
	if b.b != nil {
		capiBufferFree(b.b)
		b.b, b.data, b.n = nil, nil, 0
		runtime.SetFinalizer(b, nil)
	}
	return nil
}

// Len is the buffer's length in bytes (0 after Close).
func (b *Buffer) Len() int { return b.n }

// Bytes is the buffer's memory as a byte slice (nil after Close). The slice is valid until
// Close; it is C memory, so it may be kept and passed around freely until then.
func (b *Buffer) Bytes() []byte {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*byte)(b.data), b.n)
}

// Float64s is the buffer's memory as len/8 float64 values (valid until Close).
func (b *Buffer) Float64s() []float64 {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*float64)(b.data), b.n/8)
}

// Uint32s is the buffer's memory as len/4 uint32 values (valid until Close).
func (b *Buffer) Uint32s() []uint32 {
	if b.b == nil {
		return nil
	}
	return unsafe.Slice((*uint32)(b.data), b.n/4)
}

func (b *Buffer) handle(op string) (unsafe.Pointer, error) {
	if b == nil || b.b == nil {
		return nil, closedError(op)
	}
	return b.b, nil
}

// fastBuffers: the fast path may read n elements of size bytes from each buffer: the fast
// path is on, the call is short enough, and every buffer is this context's and holds n
// elements. Anything else takes the C API, which reports what is wrong.
func (ctx *Context) fastBuffers(n, size int, bufs ...*Buffer) bool {
	if !ctx.fast || n < 0 || n > fastMaxBytes/(size*len(bufs)) {
		return false
	}
	for _, b := range bufs {
		if b.ctx != ctx || n*size > b.n {
			return false
		}
	}
	return true
}

// SumF64Buffer returns the sum of the first n float64 of x, in place.
func (ctx *Context) SumF64Buffer(x *Buffer, n int) (float64, error) {
	xb, err := x.handle("SumF64Buffer")
	if err != nil || ctx.c == nil {
		return 0, closedError("SumF64Buffer")
	}
	if n < 0 {
		return 0, negativeCount("SumF64Buffer", n)
	}
	if ctx.fastBuffers(n, 8, x) {
		r, ok := fastcall.CallP1N(ctx.kernels[kernelSumF64], x.data, uint64(n))
		fastChecked(ok, "the sum_f64 kernel")
		return r, nil
	}
	out, st := capiSumF64Buffer(ctx.c, xb, n)
	runtime.KeepAlive(x)
	runtime.KeepAlive(ctx)
	return out, check("SumF64Buffer", st, ctx.c)
}

// DotF64Buffer returns Σ x[i]·y[i] over the first n float64 of two buffers, in place.
func (ctx *Context) DotF64Buffer(x, y *Buffer, n int) (float64, error) {
	xb, err1 := x.handle("DotF64Buffer")
	yb, err2 := y.handle("DotF64Buffer")
	if err1 != nil || err2 != nil || ctx.c == nil {
		return 0, closedError("DotF64Buffer")
	}
	if n < 0 {
		return 0, negativeCount("DotF64Buffer", n)
	}
	if ctx.fastBuffers(n, 8, x, y) {
		r, ok := fastcall.CallP2N(ctx.kernels[kernelDotF64], x.data, y.data, uint64(n), 0)
		fastChecked(ok, "the dot_f64 kernel")
		return r, nil
	}
	out, st := capiDotF64Buffer(ctx.c, xb, yb, n)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return out, check("DotF64Buffer", st, ctx.c)
}

// AxpyF64Buffer computes y = a·x + y over the first n float64 of two buffers, in place.
func (ctx *Context) AxpyF64Buffer(a float64, x, y *Buffer, n int) error {
	xb, err1 := x.handle("AxpyF64Buffer")
	yb, err2 := y.handle("AxpyF64Buffer")
	if err1 != nil || err2 != nil || ctx.c == nil {
		return closedError("AxpyF64Buffer")
	}
	if n < 0 {
		return negativeCount("AxpyF64Buffer", n)
	}
	if ctx.fastBuffers(n, 8, x, y) {
		_, ok := fastcall.CallP2N(ctx.kernels[kernelAxpyF64], x.data, y.data, uint64(n), a)
		fastChecked(ok, "the axpy_f64 kernel")
		return nil
	}
	st := capiAxpyF64Buffer(ctx.c, a, xb, yb, n)
	runtime.KeepAlive(x)
	runtime.KeepAlive(y)
	runtime.KeepAlive(ctx)
	return check("AxpyF64Buffer", st, ctx.c)
}

// AddU32BatchBuffer computes out[i] = a[i] + b[i] (wrapping) over the first n uint32 of
// three buffers, in place.
func (ctx *Context) AddU32BatchBuffer(a, b, out *Buffer, n int) error {
	ab, err1 := a.handle("AddU32BatchBuffer")
	bb, err2 := b.handle("AddU32BatchBuffer")
	ob, err3 := out.handle("AddU32BatchBuffer")
	if err1 != nil || err2 != nil || err3 != nil || ctx.c == nil {
		return closedError("AddU32BatchBuffer")
	}
	if n < 0 {
		return negativeCount("AddU32BatchBuffer", n)
	}
	if ctx.fastBuffers(n, 4, a, b, out) {
		ok := fastcall.CallP3N(ctx.kernels[kernelAddU32Batch], a.data, b.data, out.data, uint64(n))
		fastChecked(ok, "the add_u32_batch kernel")
		return nil
	}
	st := capiAddU32BatchBuffer(ctx.c, ab, bb, ob, n)
	runtime.KeepAlive(a)
	runtime.KeepAlive(b)
	runtime.KeepAlive(out)
	runtime.KeepAlive(ctx)
	return check("AddU32BatchBuffer", st, ctx.c)
}

// negativeCount is the error of a negative element count n (which C's size_t cannot carry):
// StatusInvalidArgument naming the value.
func negativeCount(op string, n int) error {
	return &Error{Op: op, Status: StatusInvalidArgument, Message: fmt.Sprintf("n = %d is negative", n)}
}
