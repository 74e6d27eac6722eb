package ffikit

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
	c      unsafe.Pointer
	handle uintptr
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
	state := &closureState{fn: fn}
	h := closureHandles.add(state)
	c, st := capiClosureNew(ctx.c, signature, h)
	runtime.KeepAlive(ctx)
	if err := check("NewClosure", st, ctx.c); err != nil {
		closureHandles.remove(h)
		return nil, err
	}
	state.nargs = capiClosureNargs(c)
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
	p := capiClosureCode(cl.c)
	runtime.KeepAlive(cl)
	return p
}

// Close frees the closure (idempotent). C must not call Code afterwards: doing so aborts
// the process with a message instead of running freed memory.
func (cl *Closure) Close() error {
	if cl.c != nil {
		capiClosureFree(cl.c)
		cl.c = nil
		closureHandles.remove(cl.handle)
		runtime.SetFinalizer(cl, nil)
	}
	return nil
}

// runClosure is the Go side of every closure's C callback (closure_cgo.go's export, or the
// one purego callback of capi_purego.go): ffikit's trampoline calls it with the closure's
// handle as userdata, the argument pointers and the return storage.
func runClosure(userdata unsafe.Pointer, args *unsafe.Pointer, ret unsafe.Pointer) {
	state := closureHandles.get(uintptr(userdata))
	var slice []unsafe.Pointer
	if state.nargs > 0 {
		slice = unsafe.Slice(args, state.nargs)
	}
	state.fn(slice, ret)
}

// closureTable maps the userdata handles given to C to closures' states: runtime/cgo's
// Handle does this in cgo builds, but a CGO_ENABLED=0 build cannot link runtime/cgo beside
// purego's replacement for it. Lookups (one per callback) are lock-free reads.
type closureTable struct {
	states sync.Map // uintptr -> *closureState
	next   atomic.Uintptr
}

var closureHandles closureTable

// add stores state under a new non-zero handle.
func (t *closureTable) add(state *closureState) uintptr {
	h := t.next.Add(1)
	t.states.Store(h, state)
	return h
}

// get returns the state of a live handle; a handle that was never given out or was removed
// is a bug in the caller (C called a freed closure), reported as a panic with the handle.
func (t *closureTable) get(h uintptr) *closureState {
	s, ok := t.states.Load(h)
	if !ok {
		panic(fmt.Sprintf("ffikit: closure handle %d is not live", h))
	}
	return s.(*closureState)
}

// remove forgets a handle.
func (t *closureTable) remove(h uintptr) { t.states.Delete(h) }
