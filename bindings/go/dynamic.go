package ffikit

/*
#cgo noescape ffikit_go_call
#include <ffikit.h>
#include <stdint.h>
#include <stdlib.h>

// ffikit_call with the argument array and the return slot as addresses: both live in C
// memory the context owns (see Function.Call), so cgo has no Go pointer to check.
static inline enum ffikit_status ffikit_go_call(ffikit_context *ctx, const ffikit_function *fn,
                                                uintptr_t args, size_t nargs, uintptr_t ret) {
    return ffikit_call(ctx, fn, (void *const *)args, nargs, (void *)ret);
}
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Library is a shared library (native, asm) or wasm module opened in a context.
type Library struct {
	l   *C.ffikit_library
	ctx *Context
}

// Function is a function prepared for dynamic calls by signature text.
type Function struct {
	f     *C.ffikit_function
	ctx   *Context
	nargs int
	// The size of each argument's C type, the offset of its copy in the value area, the
	// area's size (8-byte slots) and the size of the return value ffikit_call writes.
	argSizes   []uintptr
	argOffsets []uintptr
	valueBytes uintptr
	retSize    uintptr
}

// round8 rounds n up to a multiple of 8.
func round8(n uintptr) uintptr { return (n + 7) &^ 7 }

// OpenLibrary opens a shared library (a path, or a name such as "libm.so.6" that dlopen
// searches) for native and asm, or a .wasm/.wat module for wasm.
func (ctx *Context) OpenLibrary(path string) (*Library, error) {
	if ctx.c == nil {
		return nil, closedError("OpenLibrary")
	}
	cs := C.CString(path)
	defer C.free(unsafe.Pointer(cs))
	var l *C.ffikit_library
	st := C.ffikit_library_open(ctx.c, cs, &l)
	runtime.KeepAlive(ctx)
	if err := check("OpenLibrary", st, ctx.c); err != nil {
		return nil, err
	}
	lib := &Library{l: l, ctx: ctx}
	runtime.SetFinalizer(lib, (*Library).Close)
	return lib, nil
}

// Close releases the library handle (idempotent); functions prepared from it stay valid.
func (l *Library) Close() error {
	if l.l != nil {
		C.ffikit_library_free(l.l)
		l.l = nil
		runtime.SetFinalizer(l, nil)
	}
	return nil
}

// Prepare resolves symbol and prepares calls of the C signature in ffikit's text form, e.g.
// "f64(f64, f64)" or "i32(ptr, usize, ptr, ..., f64)".
//
// For native and asm the symbol must really have that signature: nothing can check it.
func (l *Library) Prepare(symbol, signature string) (*Function, error) {
	if l.l == nil || l.ctx.c == nil {
		return nil, closedError("Prepare")
	}
	cs, csig := C.CString(symbol), C.CString(signature)
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(csig))
	var f *C.ffikit_function
	st := C.ffikit_prepare(l.ctx.c, l.l, cs, csig, &f)
	runtime.KeepAlive(l)
	if err := check("Prepare", st, l.ctx.c); err != nil {
		return nil, err
	}
	fn := &Function{f: f, ctx: l.ctx, nargs: int(C.ffikit_function_nargs(f))}
	fn.retSize = uintptr(C.ffikit_function_ret_size(f))
	for i := 0; i < fn.nargs; i++ {
		size := uintptr(C.ffikit_function_arg_size(f, C.size_t(i)))
		fn.argSizes = append(fn.argSizes, size)
		fn.argOffsets = append(fn.argOffsets, fn.valueBytes)
		fn.valueBytes += round8(size)
	}
	runtime.SetFinalizer(fn, (*Function).Close)
	return fn, nil
}

// Close frees the function (idempotent).
func (f *Function) Close() error {
	if f.f != nil {
		C.ffikit_function_free(f.f)
		f.f = nil
		runtime.SetFinalizer(f, nil)
	}
	return nil
}

// NumArgs is the number of arguments a call takes.
func (f *Function) NumArgs() int { return f.nargs }

// Call calls the function, libffi-style: args[i] points at the i-th argument's value in its
// C type (int32 for i32, float64 for f64, a pointer for ptr, the struct for a struct), and
// ret receives the return value (integers widened to 8 bytes, so at least 8 bytes; nil for
// void).
//
// The argument values are copied into C memory owned by the context (sizes known from the
// signature), called from there, and the return value is copied back to ret, so no Go
// pointer is kept in C memory and nothing needs pinning; the call allocates nothing. A
// pointer passed as a ptr argument must point to C memory, or to Go memory that holds no Go
// pointers and that the caller keeps pinned (runtime.Pinner) if the callee keeps it after
// the call.
func (f *Function) Call(ret unsafe.Pointer, args ...unsafe.Pointer) error {
	ctx := f.ctx
	if f.f == nil || ctx.c == nil {
		return closedError("Call")
	}
	n := len(args)
	if n != f.nargs {
		// ffikit_call reports the count (with the function's name) before reading anything.
		st := C.ffikit_call(ctx.c, f.f, nil, C.size_t(n), nil)
		runtime.KeepAlive(f)
		return check("Call", st, ctx.c)
	}
	slotBytes := round8(uintptr(n) * unsafe.Sizeof(uintptr(0)))
	retBytes := round8(max(f.retSize, 8))
	area := ctx.callArea(slotBytes + f.valueBytes + retBytes)
	slots := unsafe.Slice((*unsafe.Pointer)(area), n)
	values := unsafe.Add(area, slotBytes)
	for i, a := range args {
		if a == nil {
			slots[i] = nil // ffikit_call reports the NULL argument
			continue
		}
		dst := unsafe.Add(values, f.argOffsets[i])
		copyValue(dst, a, f.argSizes[i])
		slots[i] = dst
	}
	retArea := unsafe.Add(values, f.valueBytes)
	cret := retArea
	if ret == nil {
		cret = nil // ffikit_call reports a missing slot for a non-void return
	}
	st := C.ffikit_go_call(ctx.c, f.f, C.uintptr_t(uintptr(area)), C.size_t(n), C.uintptr_t(uintptr(cret)))
	runtime.KeepAlive(f)
	if st == C.FFIKIT_STATUS_OK && ret != nil && f.retSize > 0 {
		copyValue(ret, retArea, f.retSize)
	}
	return check("Call", st, ctx.c)
}

// copyValue copies a C value of size bytes from src to dst: scalars with one load and
// store (src and dst may be unaligned for their type, as Go values in structs can be),
// anything else with copy.
func copyValue(dst, src unsafe.Pointer, size uintptr) {
	switch size {
	case 8:
		*(*[8]byte)(dst) = *(*[8]byte)(src)
	case 4:
		*(*[4]byte)(dst) = *(*[4]byte)(src)
	case 2:
		*(*[2]byte)(dst) = *(*[2]byte)(src)
	case 1:
		*(*byte)(dst) = *(*byte)(src)
	default:
		copy(unsafe.Slice((*byte)(dst), size), unsafe.Slice((*byte)(src), size))
	}
}
