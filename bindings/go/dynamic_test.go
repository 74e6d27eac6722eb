package ffikit_test

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

// Function.Call copies argument values of every size into C memory and the return value
// back: narrow and float returns, structs by value in and out (asm), and the error paths.
func TestCallValueSizes(t *testing.T) {
	ctx := newContext(t, "asm")
	libm, err := ctx.OpenLibrary("libm.so.6")
	if err != nil {
		t.Fatal(err)
	}
	sqrtf, err := libm.Prepare("sqrtf", "f32(f32)")
	if err != nil {
		t.Fatal(err)
	}
	x, r := float32(6.25), [2]float32{-1, -1}
	if err := sqrtf.Call(unsafe.Pointer(&r[0]), unsafe.Pointer(&x)); err != nil || r[0] != 2.5 {
		t.Fatalf("sqrtf = %v, %v", r[0], err)
	}
	if r[1] != -1 {
		t.Fatal("an f32 return wrote past its 4 bytes")
	}
	libc, err := ctx.OpenLibrary("libc.so.6")
	if err != nil {
		t.Fatal(err)
	}
	// div_t div(int, int): an 8-byte struct return.
	div, err := libc.Prepare("div", "{i32, i32}(i32, i32)")
	if err != nil {
		t.Fatal(err)
	}
	a, b := int32(-17), int32(5)
	var q struct{ quot, rem int32 } // 8 bytes: the return slot holds at least 8
	if err := div.Call(unsafe.Pointer(&q), unsafe.Pointer(&a), unsafe.Pointer(&b)); err != nil || q.quot != -3 || q.rem != -2 {
		t.Fatalf("div = %+v, %v", q, err)
	}
	// lldiv_t lldiv(long long, long long): 16 bytes.
	lldiv, err := libc.Prepare("lldiv", "{i64, i64}(i64, i64)")
	if err != nil {
		t.Fatal(err)
	}
	la, lb := int64(1)<<40+3, int64(1)<<20
	var lq struct{ quot, rem int64 }
	if err := lldiv.Call(unsafe.Pointer(&lq), unsafe.Pointer(&la), unsafe.Pointer(&lb)); err != nil || lq.quot != 1<<20 || lq.rem != 3 {
		t.Fatalf("lldiv = %+v, %v", lq, err)
	}
	// A missing argument or return slot is an error, not a crash.
	if err := lldiv.Call(unsafe.Pointer(&lq), unsafe.Pointer(&la), nil); !errors.Is(err, ffikit.StatusNullArgument) {
		t.Fatalf("nil argument: %v", err)
	}
	if err := lldiv.Call(nil, unsafe.Pointer(&la), unsafe.Pointer(&lb)); !errors.Is(err, ffikit.StatusNullArgument) {
		t.Fatalf("nil return slot: %v", err)
	}
	if err := lldiv.Call(unsafe.Pointer(&lq), unsafe.Pointer(&la)); !errors.Is(err, ffikit.StatusArgumentCount) {
		t.Fatalf("one argument short: %v", err)
	}
	if n := testing.AllocsPerRun(100, func() {
		lldiv.Call(unsafe.Pointer(&lq), unsafe.Pointer(&la), unsafe.Pointer(&lb))
	}); n != 0 {
		if ffikit.CgoEnabled() {
			t.Fatalf("%v allocations per struct call", n)
		}
		// purego.SyscallN's argument slice escapes; the leaf path is the allocation-free
		// one without cgo (TestZeroAllocationsPerCall).
		t.Logf("%v allocations per struct call through purego (not checked: CGO_ENABLED=0)", n)
	}
}

// PrepareAddress calls a function by an address the caller holds (here from the system's
// loader) with the results of the same function prepared by name, its errors naming the
// address; a zero address and a wasm context are refused with their own statuses.
func TestPrepareAddress(t *testing.T) {
	pow := symbolAddress(t, "libm.so.6", "pow")
	for _, backend := range []string{"native", "asm"} {
		ctx := newContext(t, backend)
		f, err := ctx.PrepareAddress(pow, "f64(f64, f64)")
		if err != nil {
			t.Fatalf("%s: %v", backend, err)
		}
		x, y, r := 2.0, 10.0, 0.0
		if err := f.Call(unsafe.Pointer(&r), unsafe.Pointer(&x), unsafe.Pointer(&y)); err != nil || r != 1024 {
			t.Fatalf("%s: pow(2, 10) = %v, %v", backend, r, err)
		}
		err = f.Call(unsafe.Pointer(&r), unsafe.Pointer(&x), nil)
		if !errors.Is(err, ffikit.StatusNullArgument) || !strings.Contains(err.Error(), "args[1]") {
			t.Fatalf("%s: nil argument: %v", backend, err)
		}
		if _, err := ctx.PrepareAddress(0, "f64(f64, f64)"); !errors.Is(err, ffikit.StatusNullArgument) {
			t.Fatalf("%s: zero address: %v", backend, err)
		}
		if _, err := ctx.PrepareAddress(pow, "f64(f64, f64"); !errors.Is(err, ffikit.StatusInvalidSignature) {
			t.Fatalf("%s: bad signature: %v", backend, err)
		}
		f.Close()
	}
}

// A wasm context refuses PrepareAddress with its own status: its functions are a module's
// exports, prepared by name.
func TestWasmRefusesPrepareAddress(t *testing.T) {
	wasm := newContext(t, "wasm")
	pow := symbolAddress(t, "libm.so.6", "pow")
	if _, err := wasm.PrepareAddress(pow, "f64(f64, f64)"); !errors.Is(err, ffikit.StatusAddressUnsupported) {
		t.Fatalf("wasm: %v", err)
	}
}

// Every bad input the binding passes on is answered by its own status, with the message the
// C API gave naming the parameter or the value.
func TestBadInputsNameWhatIsWrong(t *testing.T) {
	_, err := ffikit.NewContext("jit")
	expectNamed(t, "NewContext", err, ffikit.StatusUnknownBackend, "jit")
	_, err = ffikit.NewPool("native", 0)
	expectNamed(t, "NewPool", err, ffikit.StatusInvalidArgument, "0")
	badInputs(t, "native", "asm")
}

// TestBadInputsNameWhatIsWrong on a wasm context (the wasm tests are skipped where the
// library is built without wasmtime).
func TestWasmBadInputsNameWhatIsWrong(t *testing.T) { badInputs(t, "wasm") }

// expectNamed fails the test unless err has status st and its message contains needle.
func expectNamed(t *testing.T, what string, err error, st ffikit.Status, needle string) {
	t.Helper()
	if !errors.Is(err, st) || !strings.Contains(err.Error(), needle) {
		t.Errorf("%s: got %v, want %v naming %q", what, err, st, needle)
	}
}

// badInputs checks the bad inputs of TestBadInputsNameWhatIsWrong on each backend.
func badInputs(t *testing.T, backends ...string) {
	expect := func(what string, err error, st ffikit.Status, needle string) {
		t.Helper()
		expectNamed(t, what, err, st, needle)
	}
	for _, backend := range backends {
		ctx, other := newContext(t, backend), newContext(t, backend)
		x, err := ctx.NewBuffer(4 * 8)
		if err != nil {
			t.Fatal(err)
		}
		far, err := other.NewBuffer(4 * 8)
		if err != nil {
			t.Fatal(err)
		}
		// Buffers are closed before their contexts (cleanups run last-in, first-out).
		t.Cleanup(func() { x.Close(); far.Close() })
		// (The fast path hands anything it does not take to the C API, so these errors are
		// the C API's whether or not the path is on.)
		_, err = ctx.SumF64Buffer(x, 5)
		expect(backend+" SumF64Buffer", err, ffikit.StatusBufferOutOfBounds, "n = 5 f64 (40 bytes) is out of bounds of `x`")
		_, err = ctx.DotF64Buffer(x, far, 1)
		expect(backend+" DotF64Buffer", err, ffikit.StatusForeignHandle, "`y` is a buffer of context")
		err = ctx.AxpyF64Buffer(1, x, x, -1)
		expect(backend+" AxpyF64Buffer", err, ffikit.StatusInvalidArgument, "n = -1")
		err = ctx.AddU32BatchBuffer(x, x, x, 9)
		expect(backend+" AddU32BatchBuffer", err, ffikit.StatusBufferOutOfBounds, "n = 9 u32 (36 bytes)")
		_, err = ctx.OpenLibrary("/nonexistent/libnothing.so")
		expect(backend+" OpenLibrary", err, ffikit.StatusLibraryNotFound, "/nonexistent/libnothing.so")
		if backend == "wasm" {
			continue
		}
		libm, err := ctx.OpenLibrary("libm.so.6")
		if err != nil {
			t.Fatal(err)
		}
		_, err = libm.Prepare("no_such_symbol", "f64(f64)")
		expect(backend+" Prepare symbol", err, ffikit.StatusSymbolNotFound, "no_such_symbol")
		_, err = libm.Prepare("pow", "f64(double, f64)")
		expect(backend+" Prepare signature", err, ffikit.StatusInvalidSignature, "`double` (write `f64` for it)")
		pow, err := libm.Prepare("pow", "f64(f64, f64)")
		if err != nil {
			t.Fatal(err)
		}
		a, r := 2.0, 0.0
		err = pow.Call(unsafe.Pointer(&r), unsafe.Pointer(&a))
		expect(backend+" Call count", err, ffikit.StatusArgumentCount, "1 was passed")
		err = pow.Call(unsafe.Pointer(&r), unsafe.Pointer(&a), nil)
		expect(backend+" Call nil", err, ffikit.StatusNullArgument, "args[1]")
		err = pow.Call(nil, unsafe.Pointer(&a), unsafe.Pointer(&a))
		expect(backend+" Call ret", err, ffikit.StatusNullArgument, "ret")
	}
}
