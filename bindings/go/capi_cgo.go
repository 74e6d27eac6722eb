//go:build cgo

package ffikit

// The C API through cgo: the default build. capi_purego.go is the same set of functions for
// CGO_ENABLED=0 builds. Handles are unsafe.Pointers to C memory (the Go collector ignores
// them); every function is a thin call, the binding's logic lives in the files without a
// build tag.

/*
#cgo CFLAGS: -I${SRCDIR}/../../crates/capi/include
#cgo LDFLAGS: -L${SRCDIR}/../../target/release -Wl,-rpath,${SRCDIR}/../../target/release -lffikit
// The per-call functions neither keep Go pointers nor call back into Go (Go 1.22+):
// pointers to locals stay on the stack and the call skips the callback bookkeeping.
#cgo noescape ffikit_noop
#cgo nocallback ffikit_noop
#cgo noescape ffikit_go_add_u32
#cgo nocallback ffikit_go_add_u32
#cgo noescape ffikit_sum_f64_ptr
#cgo nocallback ffikit_sum_f64_ptr
#cgo noescape ffikit_dot_f64_ptr
#cgo nocallback ffikit_dot_f64_ptr
#cgo noescape ffikit_axpy_f64_ptr
#cgo nocallback ffikit_axpy_f64_ptr
#cgo noescape ffikit_add_u32_batch_ptr
#cgo nocallback ffikit_add_u32_batch_ptr
#cgo noescape ffikit_sum_f64
#cgo nocallback ffikit_sum_f64
#cgo noescape ffikit_dot_f64
#cgo nocallback ffikit_dot_f64
#cgo noescape ffikit_axpy_f64
#cgo nocallback ffikit_axpy_f64
#cgo noescape ffikit_add_u32_batch
#cgo nocallback ffikit_add_u32_batch
#cgo noescape ffikit_go_call
#cgo noescape ffikit_pool_acquire
#cgo nocallback ffikit_pool_acquire
#cgo noescape ffikit_pool_acquire_timeout
#cgo nocallback ffikit_pool_acquire_timeout
#cgo noescape ffikit_pool_release
#cgo nocallback ffikit_pool_release
#include <ffikit.h>
#include <stdint.h>
#include <stdlib.h>

// ffikit_add_u32 returning the status and the value by value: the out-pointer lives on the
// C stack, so cgo has no Go pointer to check on this per-call function.
typedef struct { ffikit_status status; uint32_t value; } ffikit_go_u32;
static inline ffikit_go_u32 ffikit_go_add_u32(ffikit_context *ctx, uint32_t a, uint32_t b) {
    ffikit_go_u32 r = {FFIKIT_STATUS_OK, 0};
    r.status = ffikit_add_u32(ctx, a, b, &r.value);
    return r;
}

// ffikit_call with the argument array and the return slot as addresses: both live in C
// memory the context owns (see Function.Call), so cgo has no Go pointer to check.
static inline enum ffikit_status ffikit_go_call(ffikit_context *ctx, const ffikit_function *fn,
                                                uintptr_t args, size_t nargs, uintptr_t ret) {
    return ffikit_call(ctx, fn, (void *const *)args, nargs, (void *)ret);
}

// Defined in Go (closure_cgo.go).
extern void ffikitGoClosure(void *userdata, void **args, void *ret);

static enum ffikit_status ffikit_go_closure_new(ffikit_context *ctx, const char *sig,
                                                uintptr_t handle, ffikit_closure **out) {
    return ffikit_closure_new(ctx, sig, (ffikit_closure_fn)ffikitGoClosure, (void *)handle, out);
}
*/
import "C"

import "unsafe"

// cgoEnabled says which implementation of the C API calls this build uses.
const cgoEnabled = true

// loadLibrary has nothing to do: cgo linked libffikit.so.
func loadLibrary() error { return nil }

func cstr(s string) *C.char { return C.CString(s) }

func cfree(p *C.char) { C.free(unsafe.Pointer(p)) }

func capiVersion() string { return C.GoString(C.ffikit_version()) }

func capiStatusName(st Status) string { return C.GoString(C.ffikit_status_name(C.int32_t(st))) }

func capiContextNew(backend string) (unsafe.Pointer, Status, string) {
	cs := cstr(backend)
	defer cfree(cs)
	var msg [512]C.char
	var c *C.ffikit_context
	st := C.ffikit_context_new_msg(cs, &c, &msg[0], C.size_t(len(msg)))
	if st != C.FFIKIT_STATUS_OK {
		return nil, Status(st), C.GoString(&msg[0])
	}
	return unsafe.Pointer(c), StatusOK, ""
}

func capiContextFree(ctx unsafe.Pointer) { C.ffikit_context_free((*C.ffikit_context)(ctx)) }

func capiContextError(ctx unsafe.Pointer) string {
	return C.GoString(C.ffikit_context_error((*C.ffikit_context)(ctx)))
}

func capiContextBackend(ctx unsafe.Pointer) string {
	return C.GoString(C.ffikit_context_backend((*C.ffikit_context)(ctx)))
}

func capiContextKernel(ctx unsafe.Pointer, name string) uintptr {
	cs := cstr(name)
	defer cfree(cs)
	return uintptr(C.ffikit_context_kernel((*C.ffikit_context)(ctx), cs))
}

func capiNoop(ctx unsafe.Pointer) Status { return Status(C.ffikit_noop((*C.ffikit_context)(ctx))) }

func capiAddU32(ctx unsafe.Pointer, a, b uint32) (uint32, Status) {
	r := C.ffikit_go_add_u32((*C.ffikit_context)(ctx), C.uint32_t(a), C.uint32_t(b))
	return uint32(r.value), Status(r.status)
}

func capiSumF64Ptr(ctx unsafe.Pointer, x unsafe.Pointer, n int) (float64, Status) {
	var out C.double
	st := C.ffikit_sum_f64_ptr((*C.ffikit_context)(ctx), (*C.double)(x), C.size_t(n), &out)
	return float64(out), Status(st)
}

func capiDotF64Ptr(ctx unsafe.Pointer, x, y unsafe.Pointer, n int) (float64, Status) {
	var out C.double
	st := C.ffikit_dot_f64_ptr((*C.ffikit_context)(ctx), (*C.double)(x), (*C.double)(y),
		C.size_t(n), &out)
	return float64(out), Status(st)
}

func capiAxpyF64Ptr(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n int) Status {
	return Status(C.ffikit_axpy_f64_ptr((*C.ffikit_context)(ctx), C.double(a), (*C.double)(x),
		(*C.double)(y), C.size_t(n)))
}

func capiAddU32BatchPtr(ctx unsafe.Pointer, a, b, out unsafe.Pointer, n int) Status {
	return Status(C.ffikit_add_u32_batch_ptr((*C.ffikit_context)(ctx), (*C.uint32_t)(a),
		(*C.uint32_t)(b), (*C.uint32_t)(out), C.size_t(n)))
}

func capiSumF64Buffer(ctx, x unsafe.Pointer, n int) (float64, Status) {
	var out C.double
	st := C.ffikit_sum_f64((*C.ffikit_context)(ctx), (*C.ffikit_buffer)(x), C.size_t(n), &out)
	return float64(out), Status(st)
}

func capiDotF64Buffer(ctx, x, y unsafe.Pointer, n int) (float64, Status) {
	var out C.double
	st := C.ffikit_dot_f64((*C.ffikit_context)(ctx), (*C.ffikit_buffer)(x), (*C.ffikit_buffer)(y),
		C.size_t(n), &out)
	return float64(out), Status(st)
}

func capiAxpyF64Buffer(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n int) Status {
	return Status(C.ffikit_axpy_f64((*C.ffikit_context)(ctx), C.double(a), (*C.ffikit_buffer)(x),
		(*C.ffikit_buffer)(y), C.size_t(n)))
}

func capiAddU32BatchBuffer(ctx, a, b, out unsafe.Pointer, n int) Status {
	return Status(C.ffikit_add_u32_batch((*C.ffikit_context)(ctx), (*C.ffikit_buffer)(a),
		(*C.ffikit_buffer)(b), (*C.ffikit_buffer)(out), C.size_t(n)))
}

func capiBufferNew(ctx unsafe.Pointer, lenBytes int) (unsafe.Pointer, Status) {
	var b *C.ffikit_buffer
	st := C.ffikit_buffer_new((*C.ffikit_context)(ctx), C.size_t(lenBytes), &b)
	return unsafe.Pointer(b), Status(st)
}

func capiBufferData(b unsafe.Pointer) unsafe.Pointer {
	return C.ffikit_buffer_data((*C.ffikit_buffer)(b))
}

func capiBufferLen(b unsafe.Pointer) int { return int(C.ffikit_buffer_len((*C.ffikit_buffer)(b))) }

func capiBufferFree(b unsafe.Pointer) { C.ffikit_buffer_free((*C.ffikit_buffer)(b)) }

func capiLibraryOpen(ctx unsafe.Pointer, path string) (unsafe.Pointer, Status) {
	cs := cstr(path)
	defer cfree(cs)
	var l *C.ffikit_library
	st := C.ffikit_library_open((*C.ffikit_context)(ctx), cs, &l)
	return unsafe.Pointer(l), Status(st)
}

func capiLibraryFree(l unsafe.Pointer) { C.ffikit_library_free((*C.ffikit_library)(l)) }

func capiPrepare(ctx, lib unsafe.Pointer, symbol, signature string) (unsafe.Pointer, Status) {
	cs, csig := cstr(symbol), cstr(signature)
	defer cfree(cs)
	defer cfree(csig)
	var f *C.ffikit_function
	st := C.ffikit_prepare((*C.ffikit_context)(ctx), (*C.ffikit_library)(lib), cs, csig, &f)
	return unsafe.Pointer(f), Status(st)
}

func capiPrepareAddress(ctx unsafe.Pointer, code uintptr, signature string) (unsafe.Pointer, Status) {
	csig := cstr(signature)
	defer cfree(csig)
	var f *C.ffikit_function
	// The address is the caller's code, not Go memory: passing it as a pointer is what C
	// expects (the Go collector never sees it as a Go pointer).
	st := C.ffikit_prepare_address((*C.ffikit_context)(ctx), *(*unsafe.Pointer)(unsafe.Pointer(&code)), csig, &f)
	return unsafe.Pointer(f), Status(st)
}

func capiFunctionFree(f unsafe.Pointer) { C.ffikit_function_free((*C.ffikit_function)(f)) }

func capiFunctionNargs(f unsafe.Pointer) int {
	return int(C.ffikit_function_nargs((*C.ffikit_function)(f)))
}

func capiFunctionArgSize(f unsafe.Pointer, i int) uintptr {
	return uintptr(C.ffikit_function_arg_size((*C.ffikit_function)(f), C.size_t(i)))
}

func capiFunctionRetSize(f unsafe.Pointer) uintptr {
	return uintptr(C.ffikit_function_ret_size((*C.ffikit_function)(f)))
}

func capiFunctionRegisterCall(ctx, f unsafe.Pointer, out *registerCall) Status {
	var rc C.ffikit_register_call
	st := C.ffikit_function_register_call((*C.ffikit_context)(ctx), (*C.ffikit_function)(f), &rc)
	if st == C.FFIKIT_STATUS_OK {
		out.code = uintptr(rc.code)
		out.nargs = uint32(rc.nargs)
		out.vectorRegs = uint32(rc.vector_regs)
		out.ret = uint8(rc.ret)
		for i := range out.args {
			out.args[i] = uint8(rc.args[i])
			out.regs[i] = uint8(rc.regs[i])
		}
	}
	return Status(st)
}

// capiCall is ffikit_call with the argument array and return slot in C memory.
func capiCall(ctx, f unsafe.Pointer, args unsafe.Pointer, nargs int, ret unsafe.Pointer) Status {
	return Status(C.ffikit_go_call((*C.ffikit_context)(ctx), (*C.ffikit_function)(f),
		C.uintptr_t(uintptr(args)), C.size_t(nargs), C.uintptr_t(uintptr(ret))))
}

func capiClosureNew(ctx unsafe.Pointer, signature string, handle uintptr) (unsafe.Pointer, Status) {
	csig := cstr(signature)
	defer cfree(csig)
	var c *C.ffikit_closure
	st := C.ffikit_go_closure_new((*C.ffikit_context)(ctx), csig, C.uintptr_t(handle), &c)
	return unsafe.Pointer(c), Status(st)
}

func capiClosureCode(c unsafe.Pointer) unsafe.Pointer {
	return C.ffikit_closure_code((*C.ffikit_closure)(c))
}

func capiClosureNargs(c unsafe.Pointer) int {
	return int(C.ffikit_closure_nargs((*C.ffikit_closure)(c)))
}

func capiClosureFree(c unsafe.Pointer) { C.ffikit_closure_free((*C.ffikit_closure)(c)) }

func capiPoolNew(backend string, maxContexts int) (unsafe.Pointer, Status, string) {
	cs := cstr(backend)
	defer cfree(cs)
	var msg [512]C.char
	var p *C.ffikit_pool
	st := C.ffikit_pool_new_msg(cs, C.size_t(maxContexts), &p, &msg[0], C.size_t(len(msg)))
	if st != C.FFIKIT_STATUS_OK {
		return nil, Status(st), C.GoString(&msg[0])
	}
	return unsafe.Pointer(p), StatusOK, ""
}

func capiPoolAcquire(p unsafe.Pointer) (unsafe.Pointer, Status) {
	var c *C.ffikit_context
	st := C.ffikit_pool_acquire((*C.ffikit_pool)(p), &c)
	return unsafe.Pointer(c), Status(st)
}

func capiPoolAcquireTimeout(p unsafe.Pointer, ms uint64) (unsafe.Pointer, Status) {
	var c *C.ffikit_context
	st := C.ffikit_pool_acquire_timeout((*C.ffikit_pool)(p), C.uint64_t(ms), &c)
	return unsafe.Pointer(c), Status(st)
}

func capiPoolRelease(p, ctx unsafe.Pointer) {
	C.ffikit_pool_release((*C.ffikit_pool)(p), (*C.ffikit_context)(ctx))
}

func capiPoolSetDiscardTrapped(p unsafe.Pointer, on bool) {
	C.ffikit_pool_set_discard_trapped((*C.ffikit_pool)(p), C.bool(on))
}

func capiPoolFree(p unsafe.Pointer) { C.ffikit_pool_free((*C.ffikit_pool)(p)) }

// cMalloc and cFree manage the C memory of Function.Call's argument area.
func cMalloc(n uintptr) unsafe.Pointer { return C.malloc(C.size_t(n)) }

func cFree(p unsafe.Pointer) { C.free(p) }
