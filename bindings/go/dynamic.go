package ffikit

import (
	"fmt"
	"runtime"
	"unsafe"
)

// Library is a shared library (native, asm) or wasm module opened in a context.
type Library struct {
	l   unsafe.Pointer
	ctx *Context
}

// Function is a function prepared for dynamic calls by signature text.
type Function struct {
	f     unsafe.Pointer
	ctx   *Context
	nargs int
	// The fast-path plan of a function prepared with PrepareLeaf (nil otherwise, or when its
	// signature is not register-only), and the same plan once its first call, through the C
	// API, has been made (nil before it and after Close).
	leaf, warm *leafCall
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
	l, st := capiLibraryOpen(ctx.c, path)
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
		capiLibraryFree(l.l)
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
	f, st := capiPrepare(l.ctx.c, l.l, symbol, signature)
	runtime.KeepAlive(l)
	if err := check("Prepare", st, l.ctx.c); err != nil {
		return nil, err
	}
	return newFunction(f, l.ctx), nil
}

// PrepareAddress prepares calls of the C signature (ffikit's text form, as for Prepare) of
// the function at addr, an address the caller already holds: a slot of a C vtable or plugin
// table, a dlsym result, code a JIT made. It is libffi's ffi_call(cif, fn, ...) and purego's
// RegisterFunc(&f, addr): the same plan and the same call speed as a prepared symbol, on
// native and asm contexts (a wasm context refuses it with StatusAddressUnsupported: its
// functions are a module's exports, prepared by name). A zero addr is StatusNullArgument.
//
// No library is kept open for it: the caller keeps the code loaded and unchanged while the
// Function is used, and the function must really have that signature (nothing can check
// it). Errors name the function by its address.
func (c *Context) PrepareAddress(addr uintptr, signature string) (*Function, error) {
	if c.c == nil {
		return nil, closedError("PrepareAddress")
	}
	f, st := capiPrepareAddress(c.c, addr, signature)
	runtime.KeepAlive(c)
	if err := check("PrepareAddress", st, c.c); err != nil {
		return nil, err
	}
	return newFunction(f, c), nil
}

// newFunction wraps the prepared C function f of context ctx, with the sizes its calls
// marshal.
func newFunction(f unsafe.Pointer, ctx *Context) *Function {
	fn := &Function{f: f, ctx: ctx, nargs: capiFunctionNargs(f)}
	fn.retSize = capiFunctionRetSize(f)
	for i := 0; i < fn.nargs; i++ {
		size := capiFunctionArgSize(f, i)
		fn.argSizes = append(fn.argSizes, size)
		fn.argOffsets = append(fn.argOffsets, fn.valueBytes)
		fn.valueBytes += round8(size)
	}
	runtime.SetFinalizer(fn, (*Function).Close)
	return fn
}

// PrepareLeaf prepares symbol like Prepare and declares it a leaf function, so that its
// calls may take the fast path: C on the goroutine's own stack, no cgo transition (see
// fast.go). By declaring it a leaf the caller promises that the function
//
//   - never calls back into Go (no Closure reaches it), blocks, sleeps, takes locks or makes
//     system calls;
//   - uses at most stackBytes of stack, including everything it calls;
//   - returns quickly: a running leaf call holds up the collector's stop-the-world phases,
//     so keep each call well under ~50 µs.
//
// A stackBytes over FastStackBytes is refused (StatusStackBudgetExceeded); so is one under 1
// (StatusInvalidArgument). A function that breaks its budget is caught by the frame's canary
// after the call and stops the process with a message.
//
// The fast path takes signatures whose arguments are all scalars in argument registers and
// whose return is void or a scalar, on native and asm contexts on amd64 and arm64 (Fast
// reports it); other functions, and a function's first call on its context, go through the C
// API, with the same results.
func (l *Library) PrepareLeaf(symbol, signature string, stackBytes int) (*Function, error) {
	if stackBytes > FastStackBytes {
		return nil, &Error{Op: "PrepareLeaf", Status: StatusStackBudgetExceeded, Message: fmt.Sprintf(
			"%s declares %d bytes of stack; a fast call may use at most %d (FastStackBytes): "+
				"use Prepare", symbol, stackBytes, FastStackBytes)}
	}
	if stackBytes < 1 {
		return nil, &Error{Op: "PrepareLeaf", Status: StatusInvalidArgument, Message: fmt.Sprintf(
			"%s declares %d bytes of stack; a leaf function's budget is at least 1 byte",
			symbol, stackBytes)}
	}
	fn, err := l.Prepare(symbol, signature)
	if err != nil {
		return nil, err
	}
	if !fastAvailable {
		return fn, nil
	}
	var rc registerCall
	if capiFunctionRegisterCall(l.ctx.c, fn.f, &rc) == StatusOK {
		fn.leaf = newLeafCall(rc)
	}
	runtime.KeepAlive(l)
	return fn, nil
}

// Fast reports whether calls of f take the fast path (after its first call): it was
// prepared with PrepareLeaf, its signature is register-only, and its context's fast path is
// on.
func (f *Function) Fast() bool { return f.leaf != nil && f.ctx.fast }

// Close frees the function (idempotent).
func (f *Function) Close() error {
	if f.f != nil {
		capiFunctionFree(f.f)
		f.f, f.leaf, f.warm = nil, nil, nil
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
	if lc := f.warm; lc != nil && ctx.fast && len(args) == int(lc.nargs) &&
		(ret != nil || lc.ret == 0) && lc.call(ret, args) {
		return nil
	}
	return f.callAPI(ret, args)
}

// callAPI is Call through the C API: every check, every error, a function's first call, and
// every call that does not take the fast path.
func (f *Function) callAPI(ret unsafe.Pointer, args []unsafe.Pointer) error {
	ctx := f.ctx
	if f.f == nil || ctx.c == nil {
		return closedError("Call")
	}
	n := len(args)
	if n != f.nargs {
		// ffikit_call reports the count (with the function's name) before reading anything.
		st := capiCall(ctx.c, f.f, nil, n, nil)
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
	st := capiCall(ctx.c, f.f, area, n, cret)
	runtime.KeepAlive(f)
	if st == StatusOK && ret != nil && f.retSize > 0 {
		copyValue(ret, retArea, f.retSize)
	}
	if st == StatusOK && f.leaf != nil {
		// The first call ran on the system stack: whatever the function does once has been
		// done, so the next calls may take the fast path.
		f.warm = f.leaf
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
