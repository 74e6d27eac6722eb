package ffikit_test

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

// backends are the backends under test: all three, or those FFIKIT_GO_BACKENDS lists
// (comma-separated) for a libffikit.so built without some (the AArch64 run has no wasm; its
// runner says so).
var backends = testBackends()

func testBackends() []string {
	if list := os.Getenv("FFIKIT_GO_BACKENDS"); list != "" {
		return strings.Split(list, ",")
	}
	return []string{"native", "asm", "wasm"}
}

// Values whose sums and products are exact in binary64, so every summation order agrees.
func data(n int) (x, y []float64, sum, dot float64) {
	x, y = make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i)*0.5 - 100
		y[i] = float64(i % 13)
		sum += x[i]
		dot += x[i] * y[i]
	}
	return
}

func newContext(t testing.TB, backend string) *ffikit.Context {
	t.Helper()
	ctx, err := ffikit.NewContext(backend)
	if err != nil {
		t.Fatalf("NewContext(%q): %v", backend, err)
	}
	t.Cleanup(func() { ctx.Close() })
	return ctx
}

func TestKernelsOnGoSlices(t *testing.T) {
	for _, b := range backends {
		ctx := newContext(t, b)
		if ctx.Backend() != b {
			t.Fatalf("Backend() = %q", ctx.Backend())
		}
		x, y, sum, dot := data(5000)
		if got, err := ctx.SumF64(x); err != nil || got != sum {
			t.Fatalf("%s SumF64 = %v, %v; want %v", b, got, err, sum)
		}
		if got, err := ctx.SumF64(nil); err != nil || got != 0 {
			t.Fatalf("%s SumF64(nil) = %v, %v", b, got, err)
		}
		if got, err := ctx.DotF64(x, y); err != nil || got != dot {
			t.Fatalf("%s DotF64 = %v, %v; want %v", b, got, err, dot)
		}
		z := append([]float64(nil), y...)
		if err := ctx.AxpyF64(2, x, z); err != nil {
			t.Fatal(err)
		}
		for i := range z {
			if z[i] != 2*x[i]+y[i] {
				t.Fatalf("%s AxpyF64[%d] = %v", b, i, z[i])
			}
		}
		if got, err := ctx.AddU32(math.MaxUint32, 3); err != nil || got != 2 {
			t.Fatalf("%s AddU32 = %v, %v", b, got, err)
		}
		a, c, out := []uint32{1, 2, math.MaxUint32}, []uint32{10, 20, 2}, make([]uint32, 3)
		if err := ctx.AddU32Batch(a, c, out); err != nil || out[0] != 11 || out[2] != 1 {
			t.Fatalf("%s AddU32Batch = %v, %v", b, out, err)
		}
		if err := ctx.Noop(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestBuffersInPlace(t *testing.T) {
	for _, b := range backends {
		ctx := newContext(t, b)
		n := 1000
		xb, err := ctx.NewBuffer(n * 8)
		if err != nil {
			t.Fatal(err)
		}
		yb, _ := ctx.NewBuffer(n * 8)
		x, y, sum, dot := data(n)
		if uintptr(unsafe.Pointer(&xb.Float64s()[0]))%64 != 0 || xb.Len() != n*8 {
			t.Fatalf("%s buffer misaligned or wrong length", b)
		}
		copy(xb.Float64s(), x)
		copy(yb.Float64s(), y)
		if got, err := ctx.SumF64Buffer(xb, n); err != nil || got != sum {
			t.Fatalf("%s SumF64Buffer = %v, %v", b, got, err)
		}
		if got, err := ctx.DotF64Buffer(xb, yb, n); err != nil || got != dot {
			t.Fatalf("%s DotF64Buffer = %v, %v", b, got, err)
		}
		if err := ctx.AxpyF64Buffer(2, xb, yb, n); err != nil || yb.Float64s()[3] != 2*x[3]+y[3] {
			t.Fatalf("%s AxpyF64Buffer: %v", b, err)
		}
		// A slice of a buffer passed as a Go slice is used in place by every backend.
		if got, err := ctx.SumF64(xb.Float64s()[:n]); err != nil || got != sum {
			t.Fatalf("%s SumF64(buffer slice) = %v, %v", b, got, err)
		}
		_, err = ctx.SumF64Buffer(xb, n+1)
		if !errors.Is(err, ffikit.StatusBufferOutOfBounds) {
			t.Fatalf("%s n past the end: %v", b, err)
		}
		var fe *ffikit.Error
		if !errors.As(err, &fe) || fe.Message == "" || fe.Op != "SumF64Buffer" {
			t.Fatalf("%s errors.As: %#v", b, fe)
		}
		xb.Close()
		xb.Close() // idempotent
		if _, err := ctx.SumF64Buffer(xb, 1); !errors.Is(err, ffikit.StatusClosed) {
			t.Fatalf("%s closed buffer: %v", b, err)
		}
		yb.Close()
	}
}

func TestErrors(t *testing.T) {
	_, err := ffikit.NewContext("jit")
	if !errors.Is(err, ffikit.StatusUnknownBackend) {
		t.Fatalf("unknown backend: %v", err)
	}
	ctx := newContext(t, "native")
	if _, err := ctx.DotF64(make([]float64, 3), make([]float64, 2)); !errors.Is(err, ffikit.StatusLengthMismatch) {
		t.Fatalf("length mismatch: %v", err)
	}
	ctx.Close()
	ctx.Close()
	if _, err := ctx.AddU32(1, 2); !errors.Is(err, ffikit.StatusClosed) {
		t.Fatalf("closed context: %v", err)
	}
	if _, err := ffikit.NewPool("native", 0); !errors.Is(err, ffikit.StatusInvalidArgument) {
		t.Fatalf("pool of 0: %v", err)
	}
}

func TestDynamicCalls(t *testing.T) {
	for _, b := range []string{"native", "asm"} {
		ctx := newContext(t, b)
		libm, err := ctx.OpenLibrary("libm.so.6")
		if err != nil {
			t.Fatal(err)
		}
		pow, err := libm.Prepare("pow", "f64(f64, f64)")
		if err != nil {
			t.Fatal(err)
		}
		x, y, r := new(float64), new(float64), new(float64)
		*x, *y = 2, 10
		if err := pow.Call(unsafe.Pointer(r), unsafe.Pointer(x), unsafe.Pointer(y)); err != nil || *r != 1024 {
			t.Fatalf("%s pow = %v, %v", b, *r, err)
		}
		if err := pow.Call(unsafe.Pointer(r), unsafe.Pointer(x)); !errors.Is(err, ffikit.StatusArgumentCount) {
			t.Fatalf("%s argument count: %v", b, err)
		}
		if _, err := libm.Prepare("pow", "f64(f64, f64"); !errors.Is(err, ffikit.StatusInvalidSignature) {
			t.Fatalf("%s bad signature: %v", b, err)
		}
		if _, err := libm.Prepare("no_such", "void()"); !errors.Is(err, ffikit.StatusSymbolNotFound) {
			t.Fatalf("%s missing symbol: %v", b, err)
		}
		pow.Close()
		libm.Close()
	}
	if _, err := newContext(t, "asm").OpenLibrary("/nonexistent.so"); !errors.Is(err, ffikit.StatusLibraryNotFound) {
		t.Fatalf("missing library: %v", err)
	}
}

// A wasm buffer larger than the 4 GiB linear memory is refused by its own status, with both
// sizes in the message.
func TestWasmBufferTooLarge(t *testing.T) {
	ctx := newContext(t, "wasm")
	_, err := ctx.NewBuffer(5 << 30)
	if !errors.Is(err, ffikit.StatusBufferTooLarge) {
		t.Fatalf("a 5 GiB wasm buffer: %v", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "5368709120") || !strings.Contains(msg, "4294967296") {
		t.Fatalf("the message lacks the sizes: %s", msg)
	}
}

// A trap is the error of that call only: the context stays usable, its buffers intact.
func TestWasmTrapLeavesTheContextUsable(t *testing.T) {
	ctx := newContext(t, "wasm")
	buf, err := ctx.NewBuffer(64)
	if err != nil {
		t.Fatal(err)
	}
	buf.Uint32s()[0] = 0xfeed
	path := filepath.Join(t.TempDir(), "trap.wat")
	os.WriteFile(path, []byte(`(module (memory (export "memory") 1) (func (export "boom") unreachable))`), 0o644)
	mod, err := ctx.OpenLibrary(path)
	if err != nil {
		t.Fatal(err)
	}
	boom, err := mod.Prepare("boom", "void()")
	if err != nil {
		t.Fatal(err)
	}
	if err := boom.Call(nil); !errors.Is(err, ffikit.StatusTrap) {
		t.Fatalf("trap: %v", err)
	}
	if got, err := ctx.AddU32(1, 2); err != nil || got != 3 {
		t.Fatalf("after a trap: %d, %v", got, err)
	}
	if buf.Uint32s()[0] != 0xfeed {
		t.Fatal("a buffer changed across the trap")
	}
	if err := boom.Call(nil); !errors.Is(err, ffikit.StatusTrap) {
		t.Fatalf("the second trap: %v", err)
	}
	buf.Close()
	boom.Close()
	mod.Close()
}

func TestPoolAcrossGoroutines(t *testing.T) {
	for _, b := range backends {
		pool, err := ffikit.NewPool(b, 3)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := 0; g < 12; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				x, _, sum, _ := data(100 + g)
				for i := 0; i < 200; i++ {
					ctx, err := pool.AcquireTimeout(60e9)
					if err != nil {
						errs <- err
						return
					}
					got, err := ctx.SumF64(x)
					add, err2 := ctx.AddU32(uint32(i), uint32(g))
					pool.Release(ctx)
					if err != nil || err2 != nil || got != sum || add != uint32(i+g) {
						errs <- errors.Join(err, err2, errors.New("wrong result"))
						return
					}
				}
			}(g)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("%s: %v", b, err)
		}
		// The bound: exhausted, then the same context back after a release.
		small, _ := ffikit.NewPool(b, 1)
		c1, err := small.Acquire()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := small.Acquire(); !errors.Is(err, ffikit.StatusPoolExhausted) {
			t.Fatalf("%s exhausted: %v", b, err)
		}
		if _, err := small.AcquireTimeout(10e6); !errors.Is(err, ffikit.StatusPoolTimeout) {
			t.Fatalf("%s timeout: %v", b, err)
		}
		small.Release(c1)
		small.Close()
		pool.Close()
	}
}

func TestZeroAllocationsPerCall(t *testing.T) {
	for _, b := range backends {
		ctx := newContext(t, b)
		x, y, _, _ := data(1000)
		buf, _ := ctx.NewBuffer(8000)
		pool, _ := ffikit.NewPool(b, 2)
		warm, _ := pool.Acquire()
		pool.Release(warm)
		checks := map[string]func(){
			"AddU32":       func() { ctx.AddU32(1, 2) },
			"SumF64":       func() { ctx.SumF64(x) },
			"DotF64":       func() { ctx.DotF64(x, y) },
			"AxpyF64":      func() { ctx.AxpyF64(1, x, y) },
			"SumF64Buffer": func() { ctx.SumF64Buffer(buf, 1000) },
			"Pool":         func() { c, _ := pool.Acquire(); c.AddU32(1, 2); pool.Release(c) },
		}
		for name, f := range checks {
			n := testing.AllocsPerRun(200, f)
			// Without cgo, a call that takes the C API goes through purego's reflective
			// RegisterFunc, which allocates; the fast path (kernels of native and asm
			// contexts) must not.
			if !ffikit.CgoEnabled() && (b == "wasm" || name == "Pool") {
				t.Logf("%s %s: %v allocations per call through purego (not checked: CGO_ENABLED=0)", b, name, n)
				continue
			}
			if n != 0 {
				t.Errorf("%s %s: %v allocations per call", b, name, n)
			}
		}
		if b != "wasm" {
			libm, _ := ctx.OpenLibrary("libm.so.6")
			fabs, _ := libm.Prepare("fabs", "f64(f64)")
			v, r := new(float64), new(float64)
			*v = -2
			if n := testing.AllocsPerRun(200, func() { fabs.Call(unsafe.Pointer(r), unsafe.Pointer(v)) }); n != 0 && ffikit.CgoEnabled() {
				t.Errorf("%s Call: %v allocations per call", b, n)
			}
			leaf, err := libm.PrepareLeaf("fabs", "f64(f64)", 256)
			if err != nil || !leaf.Fast() {
				t.Fatalf("%s PrepareLeaf: %v", b, err)
			}
			if n := testing.AllocsPerRun(200, func() { leaf.Call(unsafe.Pointer(r), unsafe.Pointer(v)) }); n != 0 {
				t.Errorf("%s leaf Call: %v allocations per call", b, n)
			}
			leaf.Close()
			fabs.Close()
			libm.Close()
		}
		buf.Close()
		pool.Close()
	}
	runtime.GC()
}
