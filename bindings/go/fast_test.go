package ffikit_test

import (
	"errors"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

// requireFast fails (never skips) where the fast path should exist but does not.
func requireFast(t *testing.T, ctx *ffikit.Context) {
	t.Helper()
	if !ctx.FastCalls() {
		t.Fatalf("%s context on %s: the fast path is off (expected on amd64 and arm64)",
			ctx.Backend(), runtime.GOARCH)
	}
}

// sumOnFreshStack sums a stack-allocated array from a goroutine whose stack is still
// small, so the trampoline's prologue must grow (copy) the stack while the frame holds a
// pointer into it.
//
//go:noinline
func sumOnFreshStack(ctx *ffikit.Context, depth int) (float64, error) {
	if depth > 0 {
		var pad [128]byte
		pad[depth%128] = byte(depth)
		s, err := sumOnFreshStack(ctx, depth-1)
		return s + float64(pad[depth%128]-byte(depth)), err
	}
	var arr [64]float64
	for i := range arr {
		arr[i] = float64(i)
	}
	return ctx.SumF64(arr[:])
}

// Fast kernels and leaf calls from 64 goroutines, with the collector at GOGC=1, a goroutine
// forcing collections and the CPU profiler on (its SIGPROF lands in C code): every result is
// checked.
func TestFastPathUnderGCPreemptionAndProfiling(t *testing.T) {
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	if err := pprof.StartCPUProfile(io.Discard); err != nil {
		t.Fatalf("CPU profiler: %v", err)
	}
	defer pprof.StopCPUProfile()
	stop := make(chan struct{})
	var gcs atomic.Int64
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				gcs.Add(1)
			}
		}
	}()
	pool, err := ffikit.NewPool("native", 64)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var wrong, calls atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 64; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			ctx, err := pool.AcquireTimeout(10 * time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			defer pool.Release(ctx)
			if !ctx.FastCalls() {
				t.Error("pooled native context without the fast path")
				return
			}
			libm, err := ctx.OpenLibrary("libm.so.6")
			if err != nil {
				t.Error(err)
				return
			}
			defer libm.Close()
			pow, err := libm.PrepareLeaf("pow", "f64(f64, f64)", 4096)
			if err != nil || !pow.Fast() {
				t.Errorf("PrepareLeaf: %v", err)
				return
			}
			defer pow.Close()
			ldexp, err := libm.PrepareLeaf("ldexp", "f64(f64, i32)", 1024)
			if err != nil || !ldexp.Fast() {
				t.Errorf("PrepareLeaf: %v", err)
				return
			}
			defer ldexp.Close()
			for i := 0; i < 400; i++ {
				n := 1 + (g*31+i*7)%300
				x, y, sum, dot := data(n)
				if s, err := ctx.SumF64(x); err != nil || s != sum {
					wrong.Add(1)
				}
				if d, err := ctx.DotF64(x, y); err != nil || d != dot {
					wrong.Add(1)
				}
				if err := ctx.AxpyF64(2, x, y); err != nil || y[n-1] != 2*x[n-1]+float64((n-1)%13) {
					wrong.Add(1)
				}
				if v, err := ctx.AddU32(uint32(i), uint32(g)); err != nil || v != uint32(i+g) {
					wrong.Add(1)
				}
				a, b, r := float64(g%5+1), float64(i%7), new(float64)
				if err := pow.Call(unsafe.Pointer(r), unsafe.Pointer(&a), unsafe.Pointer(&b)); err != nil || *r != math.Pow(a, b) {
					wrong.Add(1)
				}
				e := int32(i % 20)
				if err := ldexp.Call(unsafe.Pointer(r), unsafe.Pointer(&a), unsafe.Pointer(&e)); err != nil || *r != math.Ldexp(a, int(e)) {
					wrong.Add(1)
				}
				calls.Add(6)
			}
			// A fresh goroutine with a small stack and a pointer into it.
			done := make(chan float64)
			go func() {
				s, err := sumOnFreshStack(ctx, g%8)
				if err != nil {
					s = -1
				}
				done <- s
			}()
			if s := <-done; s != 63*64/2 {
				wrong.Add(1)
			}
		}(g)
	}
	wg.Wait()
	close(stop)
	if wrong.Load() != 0 {
		t.Fatalf("%d wrong results of %d calls", wrong.Load(), calls.Load())
	}
	t.Logf("%d fast calls from 64 goroutines, %d forced collections, GOGC=1, CPU profiler on: 0 wrong",
		calls.Load(), gcs.Load())
}

// fixtureLibrary builds testdata/fixture.c into a shared library (FFIKIT_GO_FIXTURE_DIR
// holds a prebuilt libffikit_go_fixture.so, for a cross-compiled test binary), failing the
// test without a C compiler.
func fixtureLibrary(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("FFIKIT_GO_FIXTURE_DIR"); dir != "" {
		return filepath.Join(dir, "libffikit_go_fixture.so")
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "cc"
	}
	lib := filepath.Join(t.TempDir(), "libffikit_go_fixture.so")
	out, err := exec.Command(cc, "-O1", "-shared", "-fPIC", "-o", lib, "testdata/fixture.c").CombinedOutput()
	if err != nil {
		t.Fatalf("building testdata/fixture.c with %s (a C compiler is required): %v\n%s", cc, err, out)
	}
	return lib
}

// A leaf whose declared budget exceeds the fast path's stack is refused at prepare; one that
// lies is caught by the canary, which stops the process with a message (in a child).
func TestLeafStackBudget(t *testing.T) {
	lib := os.Getenv("FFIKIT_STACK_HOG")
	if lib == "" {
		lib = fixtureLibrary(t)
	}
	ctx := newContext(t, "native")
	requireFast(t, ctx)
	l, err := ctx.OpenLibrary(lib)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.PrepareLeaf("ffikit_stack_hog", "i32(i32)", ffikit.FastStackBytes+1); !errors.Is(err, ffikit.StatusStackBudgetExceeded) {
		t.Fatalf("a budget over FastStackBytes: %v", err)
	}
	if _, err := l.PrepareLeaf("ffikit_stack_hog", "i32(i32)", 0); !errors.Is(err, ffikit.StatusInvalidArgument) {
		t.Fatalf("a budget of 0: %v", err)
	}
	hog, err := l.PrepareLeaf("ffikit_stack_hog", "i32(i32)", 8192)
	if err != nil || !hog.Fast() {
		t.Fatalf("PrepareLeaf: %v", err)
	}
	defer hog.Close()
	kib, r := int32(4), new(int64)
	for i := 0; i < 2; i++ { // the first call warms up through the C API, the second is fast
		if err := hog.Call(unsafe.Pointer(r), unsafe.Pointer(&kib)); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getenv("FFIKIT_CANARY_CHILD") == "1" {
		kib = 40 // more than the 32 KiB frame: the declared 8 KiB was a lie
		hog.Call(unsafe.Pointer(r), unsafe.Pointer(&kib))
		t.Fatal("the canary did not stop the process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeafStackBudget$", "-test.count=1")
	if emulator := os.Getenv("FFIKIT_GO_EMULATOR"); emulator != "" {
		// A cross-compiled test binary re-runs itself through its emulator (qemu-user).
		cmd = exec.Command(emulator, append([]string{os.Args[0]}, cmd.Args[1:]...)...)
	}
	cmd.Env = append(os.Environ(), "FFIKIT_CANARY_CHILD=1", "FFIKIT_STACK_HOG="+lib)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 2 ||
		!strings.Contains(string(out), "its canary was overwritten") {
		t.Fatalf("the lying leaf's child: %v\n%s", err, out)
	}
	t.Logf("the child stopped: %s", strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]))
}

// Leaf calls load every value kind into the right register with the right extension, and
// widen narrow returns by their sign, exactly as the C API path does: each fixture function
// is called fast (after its first call) and through Prepare, and both match Go's result.
func TestLeafCallsEveryValueKind(t *testing.T) {
	ctx := newContext(t, "native")
	requireFast(t, ctx)
	l, err := ctx.OpenLibrary(fixtureLibrary(t))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	local := 0.375 // its address is a pointer into this goroutine's stack
	cases := []struct {
		symbol, signature string
		args              []unsafe.Pointer
		want              uint64 // the return slot's 8 bytes
	}{
		{"ffikit_mix_ints", "i64(i8, u8, i16, u16, i32, u32)",
			[]unsafe.Pointer{arg((int8(-3))), arg((uint8(250))), arg((int16(-2))),
				arg((uint16(65535))), arg((int32(-100000))), arg((uint32(4000000000)))},
			bits(-3 + 250*1000 + -2*1000000 + 65535*100000000000 + -100000*7 + 4000000000*3)},
		{"ffikit_mix_classes", "f64(f32, i64, f64, ptr, u32, f32, i8)",
			[]unsafe.Pointer{arg((float32(1.5))), arg((int64(-7))), arg((0.25)),
				arg(unsafe.Pointer(&local)), arg((uint32(3))), arg((float32(-0.5))), arg((int8(-1)))},
			math.Float64bits(1.5 + -7*2 + 0.25*4 + 0.375*8 + 3*16 + -0.5*32 + -1*64)},
		{"ffikit_sum8", "f64(f64, f64, f64, f64, f64, f64, f64, f64)",
			[]unsafe.Pointer{arg((1.0)), arg((2.0)), arg((3.0)), arg((4.0)),
				arg((5.0)), arg((6.0)), arg((7.0)), arg((8.0))},
			math.Float64bits(1 + 4 + 9 + 16 + 25 + 36 + 49 + 64)},
		{"ffikit_neg8", "i8(i8)", []unsafe.Pointer{arg((int8(5)))}, bits(-5)},
		{"ffikit_not16", "u16(u16)", []unsafe.Pointer{arg((uint16(1)))}, 0xfffe},
		{"ffikit_neg32", "i32(i32)", []unsafe.Pointer{arg((int32(9)))}, bits(-9)},
	}
	for _, c := range cases {
		leaf, err := l.PrepareLeaf(c.symbol, c.signature, 1024)
		if err != nil || !leaf.Fast() {
			t.Fatalf("PrepareLeaf(%s): %v, fast %v", c.symbol, err, leaf != nil && leaf.Fast())
		}
		slow, err := l.Prepare(c.symbol, c.signature)
		if err != nil {
			t.Fatal(err)
		}
		for i, fn := range []*ffikit.Function{leaf, leaf, leaf, slow} {
			var ret uint64 = 0xdeadbeefdeadbeef
			if err := fn.Call(unsafe.Pointer(&ret), c.args...); err != nil {
				t.Fatalf("%s call %d: %v", c.symbol, i, err)
			}
			if ret != c.want {
				t.Errorf("%s call %d (fast %v): %#x, want %#x", c.symbol, i, i > 0 && i < 3, ret, c.want)
			}
		}
		leaf.Close()
		slow.Close()
	}
	// An f32 return writes its 4 bytes and no more.
	half, err := l.PrepareLeaf("ffikit_half", "f32(f32)", 256)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	for i := 0; i < 3; i++ {
		x, r := float32(5), [2]float32{-1, -1}
		if err := half.Call(unsafe.Pointer(&r[0]), unsafe.Pointer(&x)); err != nil || r != [2]float32{2.5, -1} {
			t.Fatalf("ffikit_half call %d: %v, %v", i, r, err)
		}
	}
}

// arg returns a pointer to a copy of v, as Function.Call takes an argument.
func arg[T any](v T) unsafe.Pointer { return unsafe.Pointer(&v) }

// bits is v's two's-complement bits, as a return slot holds a sign-extended integer.
func bits(v int64) uint64 { return uint64(v) }
