//go:build !cgo

package ffikit

// The C API without cgo (CGO_ENABLED=0): libffikit.so is opened with purego's Dlopen and its
// functions called through purego (github.com/ebitengine/purego, pinned in go.mod), which
// switches to the system stack as cgo does. The same functions as capi_cgo.go; the fast path
// (fast_*.s) is the same in both builds.
//
// The library is found through FFIKIT_LIBRARY (a path), else beside this package in the
// build tree (../../target/release/libffikit.so), else by dlopen's search (LD_LIBRARY_PATH,
// the system's library directories).

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// cgoEnabled says which implementation of the C API calls this build uses.
const cgoEnabled = false

// The C functions, bound by loadLibrary (names as in ffikit.h).
var (
	ffikitVersion              func() string
	ffikitStatusName           func(st int32) string
	ffikitContextNewMsg        func(backend string, out *unsafe.Pointer, msg *byte, n uintptr) int32
	ffikitContextFree          func(ctx unsafe.Pointer)
	ffikitContextError         func(ctx unsafe.Pointer) string
	ffikitContextBackend       func(ctx unsafe.Pointer) string
	ffikitContextKernel        func(ctx unsafe.Pointer, name string) uintptr
	ffikitNoop                 func(ctx unsafe.Pointer) int32
	ffikitAddU32               func(ctx unsafe.Pointer, a, b uint32, out *uint32) int32
	ffikitSumF64Ptr            func(ctx, x unsafe.Pointer, n uintptr, out *float64) int32
	ffikitDotF64Ptr            func(ctx, x, y unsafe.Pointer, n uintptr, out *float64) int32
	ffikitAxpyF64Ptr           func(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n uintptr) int32
	ffikitAddU32BatchPtr       func(ctx, a, b, out unsafe.Pointer, n uintptr) int32
	ffikitSumF64               func(ctx, x unsafe.Pointer, n uintptr, out *float64) int32
	ffikitDotF64               func(ctx, x, y unsafe.Pointer, n uintptr, out *float64) int32
	ffikitAxpyF64              func(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n uintptr) int32
	ffikitAddU32Batch          func(ctx, a, b, out unsafe.Pointer, n uintptr) int32
	ffikitBufferNew            func(ctx unsafe.Pointer, n uintptr, out *unsafe.Pointer) int32
	ffikitBufferData           func(b unsafe.Pointer) unsafe.Pointer
	ffikitBufferLen            func(b unsafe.Pointer) uintptr
	ffikitBufferFree           func(b unsafe.Pointer)
	ffikitLibraryOpen          func(ctx unsafe.Pointer, path string, out *unsafe.Pointer) int32
	ffikitLibraryFree          func(l unsafe.Pointer)
	ffikitPrepare              func(ctx, lib unsafe.Pointer, symbol, sig string, out *unsafe.Pointer) int32
	ffikitPrepareAddress       func(ctx unsafe.Pointer, code uintptr, sig string, out *unsafe.Pointer) int32
	ffikitFunctionFree         func(f unsafe.Pointer)
	ffikitFunctionNargs        func(f unsafe.Pointer) uintptr
	ffikitFunctionArgSize      func(f unsafe.Pointer, i uintptr) uintptr
	ffikitFunctionRetSize      func(f unsafe.Pointer) uintptr
	ffikitFunctionRegisterCall func(ctx, f unsafe.Pointer, out *registerCall) int32
	ffikitCall                 func(ctx, f, args unsafe.Pointer, nargs uintptr, ret unsafe.Pointer) int32
	ffikitCallAddr             uintptr
	ffikitClosureNew           func(ctx unsafe.Pointer, sig string, fn, userdata uintptr, out *unsafe.Pointer) int32
	ffikitClosureCode          func(c unsafe.Pointer) unsafe.Pointer
	ffikitClosureNargs         func(c unsafe.Pointer) uintptr
	ffikitClosureFree          func(c unsafe.Pointer)
	ffikitPoolNewMsg           func(backend string, max uintptr, out *unsafe.Pointer, msg *byte, n uintptr) int32
	ffikitPoolAcquire          func(p unsafe.Pointer, out *unsafe.Pointer) int32
	ffikitPoolAcquireTimeout   func(p unsafe.Pointer, ms uint64, out *unsafe.Pointer) int32
	ffikitPoolRelease          func(p, ctx unsafe.Pointer)
	ffikitPoolSetDiscard       func(p unsafe.Pointer, on bool)
	ffikitPoolFree             func(p unsafe.Pointer)
	libcMalloc                 func(n uintptr) unsafe.Pointer
	libcFree                   func(p unsafe.Pointer)
	closureCallback            uintptr
	loadOnce                   sync.Once
	loadErr                    error
)

// libraryPath is where loadLibrary looks for libffikit.so.
func libraryPath() string {
	if p := os.Getenv("FFIKIT_LIBRARY"); p != "" {
		return p
	}
	_, file, _, ok := runtime.Caller(0)
	if ok {
		p := filepath.Join(filepath.Dir(file), "../../target/release/libffikit.so")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return "libffikit.so"
}

// loadLibrary opens libffikit.so (RTLD_NOW: every symbol bound before the first call) and
// binds the C functions, once; later calls return the first call's error.
func loadLibrary() error {
	loadOnce.Do(func() {
		path := libraryPath()
		lib, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("ffikit: cannot open %s (build it with `cargo xtask build`, "+
				"or set FFIKIT_LIBRARY): %w", path, err)
			return
		}
		libc, err := purego.Dlopen("libc.so.6", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("ffikit: cannot open libc.so.6: %w", err)
			return
		}
		defer func() {
			// RegisterLibFunc panics on a missing symbol: an old libffikit.so.
			if r := recover(); r != nil {
				loadErr = fmt.Errorf("ffikit: %s does not match this binding: %v", path, r)
			}
		}()
		bind := func(fptr any, name string) { purego.RegisterLibFunc(fptr, lib, name) }
		bind(&ffikitVersion, "ffikit_version")
		bind(&ffikitStatusName, "ffikit_status_name")
		bind(&ffikitContextNewMsg, "ffikit_context_new_msg")
		bind(&ffikitContextFree, "ffikit_context_free")
		bind(&ffikitContextError, "ffikit_context_error")
		bind(&ffikitContextBackend, "ffikit_context_backend")
		bind(&ffikitContextKernel, "ffikit_context_kernel")
		bind(&ffikitNoop, "ffikit_noop")
		bind(&ffikitAddU32, "ffikit_add_u32")
		bind(&ffikitSumF64Ptr, "ffikit_sum_f64_ptr")
		bind(&ffikitDotF64Ptr, "ffikit_dot_f64_ptr")
		bind(&ffikitAxpyF64Ptr, "ffikit_axpy_f64_ptr")
		bind(&ffikitAddU32BatchPtr, "ffikit_add_u32_batch_ptr")
		bind(&ffikitSumF64, "ffikit_sum_f64")
		bind(&ffikitDotF64, "ffikit_dot_f64")
		bind(&ffikitAxpyF64, "ffikit_axpy_f64")
		bind(&ffikitAddU32Batch, "ffikit_add_u32_batch")
		bind(&ffikitBufferNew, "ffikit_buffer_new")
		bind(&ffikitBufferData, "ffikit_buffer_data")
		bind(&ffikitBufferLen, "ffikit_buffer_len")
		bind(&ffikitBufferFree, "ffikit_buffer_free")
		bind(&ffikitLibraryOpen, "ffikit_library_open")
		bind(&ffikitLibraryFree, "ffikit_library_free")
		bind(&ffikitPrepare, "ffikit_prepare")
		bind(&ffikitPrepareAddress, "ffikit_prepare_address")
		bind(&ffikitFunctionFree, "ffikit_function_free")
		bind(&ffikitFunctionNargs, "ffikit_function_nargs")
		bind(&ffikitFunctionArgSize, "ffikit_function_arg_size")
		bind(&ffikitFunctionRetSize, "ffikit_function_ret_size")
		bind(&ffikitFunctionRegisterCall, "ffikit_function_register_call")
		ffikitCallAddr, err = purego.Dlsym(lib, "ffikit_call")
		if err != nil {
			panic(err)
		}
		bind(&ffikitClosureNew, "ffikit_closure_new")
		bind(&ffikitClosureCode, "ffikit_closure_code")
		bind(&ffikitClosureNargs, "ffikit_closure_nargs")
		bind(&ffikitClosureFree, "ffikit_closure_free")
		bind(&ffikitPoolNewMsg, "ffikit_pool_new_msg")
		bind(&ffikitPoolAcquire, "ffikit_pool_acquire")
		bind(&ffikitPoolAcquireTimeout, "ffikit_pool_acquire_timeout")
		bind(&ffikitPoolRelease, "ffikit_pool_release")
		bind(&ffikitPoolSetDiscard, "ffikit_pool_set_discard_trapped")
		bind(&ffikitPoolFree, "ffikit_pool_free")
		purego.RegisterLibFunc(&libcMalloc, libc, "malloc")
		purego.RegisterLibFunc(&libcFree, libc, "free")
		// One C callback for every closure: purego's callbacks are limited (2,000) and never
		// freed, so each ffikit closure passes its handle as userdata to this one.
		closureCallback = purego.NewCallback(func(userdata, args, ret unsafe.Pointer) {
			runClosure(userdata, (*unsafe.Pointer)(args), ret)
		})
	})
	return loadErr
}

// cMessage returns the NUL-terminated message in buf.
func cMessage(buf []byte) string {
	for i, b := range buf {
		if b == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}

func capiVersion() string {
	if loadLibrary() != nil {
		return ""
	}
	return ffikitVersion()
}

func capiStatusName(st Status) string {
	if loadLibrary() != nil {
		return fmt.Sprintf("FFIKIT_STATUS_%d", int32(st))
	}
	return ffikitStatusName(int32(st))
}

func capiContextNew(backend string) (unsafe.Pointer, Status, string) {
	if err := loadLibrary(); err != nil {
		return nil, StatusLibraryNotFound, err.Error()
	}
	var msg [512]byte
	var c unsafe.Pointer
	st := ffikitContextNewMsg(backend, &c, &msg[0], uintptr(len(msg)))
	if st != 0 {
		return nil, Status(st), cMessage(msg[:])
	}
	return c, StatusOK, ""
}

func capiContextFree(ctx unsafe.Pointer) { ffikitContextFree(ctx) }

func capiContextError(ctx unsafe.Pointer) string { return ffikitContextError(ctx) }

func capiContextBackend(ctx unsafe.Pointer) string { return ffikitContextBackend(ctx) }

func capiContextKernel(ctx unsafe.Pointer, name string) uintptr {
	return ffikitContextKernel(ctx, name)
}

func capiNoop(ctx unsafe.Pointer) Status { return Status(ffikitNoop(ctx)) }

func capiAddU32(ctx unsafe.Pointer, a, b uint32) (uint32, Status) {
	var out uint32
	st := ffikitAddU32(ctx, a, b, &out)
	return out, Status(st)
}

func capiSumF64Ptr(ctx unsafe.Pointer, x unsafe.Pointer, n int) (float64, Status) {
	var out float64
	st := ffikitSumF64Ptr(ctx, x, uintptr(n), &out)
	return out, Status(st)
}

func capiDotF64Ptr(ctx unsafe.Pointer, x, y unsafe.Pointer, n int) (float64, Status) {
	var out float64
	st := ffikitDotF64Ptr(ctx, x, y, uintptr(n), &out)
	return out, Status(st)
}

func capiAxpyF64Ptr(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n int) Status {
	return Status(ffikitAxpyF64Ptr(ctx, a, x, y, uintptr(n)))
}

func capiAddU32BatchPtr(ctx unsafe.Pointer, a, b, out unsafe.Pointer, n int) Status {
	return Status(ffikitAddU32BatchPtr(ctx, a, b, out, uintptr(n)))
}

func capiSumF64Buffer(ctx, x unsafe.Pointer, n int) (float64, Status) {
	var out float64
	st := ffikitSumF64(ctx, x, uintptr(n), &out)
	return out, Status(st)
}

func capiDotF64Buffer(ctx, x, y unsafe.Pointer, n int) (float64, Status) {
	var out float64
	st := ffikitDotF64(ctx, x, y, uintptr(n), &out)
	return out, Status(st)
}

func capiAxpyF64Buffer(ctx unsafe.Pointer, a float64, x, y unsafe.Pointer, n int) Status {
	return Status(ffikitAxpyF64(ctx, a, x, y, uintptr(n)))
}

func capiAddU32BatchBuffer(ctx, a, b, out unsafe.Pointer, n int) Status {
	return Status(ffikitAddU32Batch(ctx, a, b, out, uintptr(n)))
}

func capiBufferNew(ctx unsafe.Pointer, lenBytes int) (unsafe.Pointer, Status) {
	var b unsafe.Pointer
	st := ffikitBufferNew(ctx, uintptr(lenBytes), &b)
	return b, Status(st)
}

func capiBufferData(b unsafe.Pointer) unsafe.Pointer { return ffikitBufferData(b) }

func capiBufferLen(b unsafe.Pointer) int { return int(ffikitBufferLen(b)) }

func capiBufferFree(b unsafe.Pointer) { ffikitBufferFree(b) }

func capiLibraryOpen(ctx unsafe.Pointer, path string) (unsafe.Pointer, Status) {
	var l unsafe.Pointer
	st := ffikitLibraryOpen(ctx, path, &l)
	return l, Status(st)
}

func capiLibraryFree(l unsafe.Pointer) { ffikitLibraryFree(l) }

func capiPrepare(ctx, lib unsafe.Pointer, symbol, signature string) (unsafe.Pointer, Status) {
	var f unsafe.Pointer
	st := ffikitPrepare(ctx, lib, symbol, signature, &f)
	return f, Status(st)
}

func capiPrepareAddress(ctx unsafe.Pointer, code uintptr, signature string) (unsafe.Pointer, Status) {
	var f unsafe.Pointer
	st := ffikitPrepareAddress(ctx, code, signature, &f)
	return f, Status(st)
}

func capiFunctionFree(f unsafe.Pointer) { ffikitFunctionFree(f) }

func capiFunctionNargs(f unsafe.Pointer) int { return int(ffikitFunctionNargs(f)) }

func capiFunctionArgSize(f unsafe.Pointer, i int) uintptr {
	return ffikitFunctionArgSize(f, uintptr(i))
}

func capiFunctionRetSize(f unsafe.Pointer) uintptr { return ffikitFunctionRetSize(f) }

func capiFunctionRegisterCall(ctx, f unsafe.Pointer, out *registerCall) Status {
	// registerCall has ffikit_register_call's C layout.
	return Status(ffikitFunctionRegisterCall(ctx, f, out))
}

// capiCall goes through purego.SyscallN, not a RegisterFunc function: every argument is an
// integer or C memory, so no reflection (and no allocation) is needed.
func capiCall(ctx, f unsafe.Pointer, args unsafe.Pointer, nargs int, ret unsafe.Pointer) Status {
	st, _, _ := purego.SyscallN(ffikitCallAddr, uintptr(ctx), uintptr(f), uintptr(args),
		uintptr(nargs), uintptr(ret))
	return Status(int32(st))
}

func capiClosureNew(ctx unsafe.Pointer, signature string, handle uintptr) (unsafe.Pointer, Status) {
	var c unsafe.Pointer
	st := ffikitClosureNew(ctx, signature, closureCallback, handle, &c)
	return c, Status(st)
}

func capiClosureCode(c unsafe.Pointer) unsafe.Pointer { return ffikitClosureCode(c) }

func capiClosureNargs(c unsafe.Pointer) int { return int(ffikitClosureNargs(c)) }

func capiClosureFree(c unsafe.Pointer) { ffikitClosureFree(c) }

func capiPoolNew(backend string, maxContexts int) (unsafe.Pointer, Status, string) {
	if err := loadLibrary(); err != nil {
		return nil, StatusLibraryNotFound, err.Error()
	}
	var msg [512]byte
	var p unsafe.Pointer
	st := ffikitPoolNewMsg(backend, uintptr(maxContexts), &p, &msg[0], uintptr(len(msg)))
	if st != 0 {
		return nil, Status(st), cMessage(msg[:])
	}
	return p, StatusOK, ""
}

func capiPoolAcquire(p unsafe.Pointer) (unsafe.Pointer, Status) {
	var c unsafe.Pointer
	st := ffikitPoolAcquire(p, &c)
	return c, Status(st)
}

func capiPoolAcquireTimeout(p unsafe.Pointer, ms uint64) (unsafe.Pointer, Status) {
	var c unsafe.Pointer
	st := ffikitPoolAcquireTimeout(p, ms, &c)
	return c, Status(st)
}

func capiPoolRelease(p, ctx unsafe.Pointer) { ffikitPoolRelease(p, ctx) }

func capiPoolSetDiscardTrapped(p unsafe.Pointer, on bool) { ffikitPoolSetDiscard(p, on) }

func capiPoolFree(p unsafe.Pointer) { ffikitPoolFree(p) }

func cMalloc(n uintptr) unsafe.Pointer { return libcMalloc(n) }

func cFree(p unsafe.Pointer) { libcFree(p) }
