package ffikit

/*
#include <ffikit.h>
#include <stdint.h>
#include <stdlib.h>

// Defined in Go (closure_export.go).
extern void ffikitGoClosure(void *userdata, void **args, void *ret);

static enum ffikit_status ffikit_go_closure_new(ffikit_context *ctx, const char *sig, uintptr_t handle,
                                                ffikit_closure **out) {
    return ffikit_closure_new(ctx, sig, (ffikit_closure_fn)ffikitGoClosure, (void *)handle, out);
}
*/
import "C"

import (
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// ClosureFunc is the Go side of a Closure: args[i] points at the i-th argument's value in
// its C type (valid during the call only), and ret at zeroed storage for the return value
// in its C type (at least 8 bytes for a scalar, the struct's size for a struct; unused for
// void).
type ClosureFunc func(args []unsafe.Pointer, ret unsafe.Pointer)

// Closure is a Go function exposed to C as a function pointer of a given signature (the
// text grammar of Prepare, e.g. "i32(ptr, ptr)" for a qsort comparator). Unlike purego's
// and goffi's fixed 2,000 callback slots, closures have no limit and Close frees them for
// reuse.
//
// C may call Code from any thread, including threads it created; the Go runtime runs the
// function on a goroutine bound to that thread. A panic in the function is not recovered:
// a Go panic cannot unwind through C frames, so it crashes the program with the panic's
// message and traceback.
type Closure struct {
	c      *C.ffikit_closure
	handle cgo.Handle
}

// closureState is what the C userdata handle refers to.
type closureState struct {
	fn    ClosureFunc
	nargs int
}

// NewClosure makes a C function pointer of signature that calls fn. ctx only receives the
// error message; the closure does not depend on it.
func (ctx *Context) NewClosure(signature string, fn ClosureFunc) (*Closure, error) {
	if ctx.c == nil {
		return nil, closedError("NewClosure")
	}
	if fn == nil {
		return nil, &Error{Op: "NewClosure", Status: StatusNullArgument, Message: "fn is nil"}
	}
	csig := C.CString(signature)
	defer C.free(unsafe.Pointer(csig))
	state := &closureState{fn: fn}
	h := cgo.NewHandle(state)
	var c *C.ffikit_closure
	st := C.ffikit_go_closure_new(ctx.c, csig, C.uintptr_t(h), &c)
	runtime.KeepAlive(ctx)
	if err := check("NewClosure", st, ctx.c); err != nil {
		h.Delete()
		return nil, err
	}
	state.nargs = int(C.ffikit_closure_nargs(c))
	cl := &Closure{c: c, handle: h}
	runtime.SetFinalizer(cl, (*Closure).Close)
	return cl, nil
}

// Code is the C function pointer, valid until Close. Pass it where C expects a callback
// (as a ptr argument of Function.Call, or to your own cgo code).
func (cl *Closure) Code() unsafe.Pointer {
	if cl.c == nil {
		return nil
	}
	p := C.ffikit_closure_code(cl.c)
	runtime.KeepAlive(cl)
	return p
}

// Close frees the closure (idempotent). C must not call Code afterwards: doing so aborts
// the process with a message instead of running freed memory.
func (cl *Closure) Close() error {
	if cl.c != nil {
		C.ffikit_closure_free(cl.c)
		cl.c = nil
		cl.handle.Delete()
		runtime.SetFinalizer(cl, nil)
	}
	return nil
}
