package ffikit

/*
#cgo noescape ffikit_call
#include <ffikit.h>
#include <stdlib.h>
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
}

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
// C type (int32 for i32, float64 for f64, a pointer for ptr), and ret receives the return
// value (integers widened to 8 bytes, so at least 8 bytes; nil for void).
//
// The argument pointers are stored in C memory for the call, so each pointee is pinned with
// runtime.Pinner for the call's duration (cgo's rule for Go pointers kept in C memory). No
// allocation happens when the pointees already live on the heap or in C memory.
//
// The callee may call back into Go through a Closure (ffikit_call is not declared
// nocallback for that reason).
func (f *Function) Call(ret unsafe.Pointer, args ...unsafe.Pointer) error {
	ctx := f.ctx
	if f.f == nil || ctx.c == nil {
		return closedError("Call")
	}
	if len(args) > ctx.nargs {
		ctx.freeArgs()
		ctx.args = (*unsafe.Pointer)(C.malloc(C.size_t(len(args)) * C.size_t(unsafe.Sizeof(uintptr(0)))))
		ctx.nargs = len(args)
	}
	slots := unsafe.Slice(ctx.args, ctx.nargs)
	for i, a := range args {
		if a != nil {
			ctx.pinner.Pin(a)
		}
		slots[i] = a
	}
	if ret != nil {
		ctx.pinner.Pin(ret)
	}
	st := C.ffikit_call(ctx.c, f.f, ctx.args, C.size_t(len(args)), ret)
	ctx.pinner.Unpin()
	runtime.KeepAlive(f)
	return check("Call", st, ctx.c)
}
