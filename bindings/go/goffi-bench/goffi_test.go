// Package goffibench measures the kernels and libm's pow called through goffi
// (github.com/go-webgpu/goffi: dynamic calls from Go without cgo), beside the direct cgo call
// of the same kernel (the binding's internal/direct floor), timed paired with it. It is a
// separate module so that the binding does not depend on goffi; goffi's source comes from
// shared/peers/ unpacked under target/peers/ (see go.mod).
//
// Run it with `go test -ldflags=-linkmode=internal`: with a cgo package in the binary (the
// floor) cmd/link links externally by default, and goffi v0.6.3's stubs then fail to link
// (go-webgpu/goffi#72).
package goffibench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"
	"time"
	"unsafe"

	"github.com/ffikit/ffikit/bindings/go/internal/direct"
	"github.com/go-webgpu/goffi/ffi"
	"github.com/go-webgpu/goffi/types"
)

// Sizes of the Sum and Dot benchmarks.
var sizes = []int{100, 1_000, 10_000, 100_000}

// kernelsLibrary is libffikit_kernels.so of the build tree.
func kernelsLibrary() string {
	if p := os.Getenv("FFIKIT_KERNELS_LIB"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../../../target/release/libffikit_kernels.so")
}

// function is a C function as goffi calls it: its address and its prepared call interface.
type function struct {
	cif types.CallInterface
	fn  unsafe.Pointer
}

// prepare looks name up in lib and prepares its call interface.
func prepare(lib unsafe.Pointer, name string, ret *types.TypeDescriptor,
	args ...*types.TypeDescriptor) (*function, error) {
	fn, err := ffi.GetSymbol(lib, name)
	if err != nil {
		return nil, err
	}
	f := &function{fn: fn}
	if err := ffi.PrepareCallInterface(&f.cif, types.DefaultCall, ret, args); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// call calls f with the return slot ret and the argument slots args.
func (f *function) call(ret unsafe.Pointer, args []unsafe.Pointer) {
	if _, err := ffi.CallFunction(&f.cif, f.fn, ret, args); err != nil {
		panic(err)
	}
}

var addFn, noopFn, sumFn, dotFn, powFn *function

// The argument and return slots of the typed wrappers below, set up once so that a call
// allocates nothing (goffi at its best). The wrappers are not for concurrent use.
var (
	addSlots struct{ a, b, r uint32 }
	addArgs  = []unsafe.Pointer{unsafe.Pointer(&addSlots.a), unsafe.Pointer(&addSlots.b)}
	sumSlots struct {
		x unsafe.Pointer
		n uint64
		r float64
	}
	sumArgs  = []unsafe.Pointer{unsafe.Pointer(&sumSlots.x), unsafe.Pointer(&sumSlots.n)}
	dotSlots struct {
		x, y unsafe.Pointer
		n    uint64
		r    float64
	}
	dotArgs = []unsafe.Pointer{unsafe.Pointer(&dotSlots.x), unsafe.Pointer(&dotSlots.y),
		unsafe.Pointer(&dotSlots.n)}
	powSlots struct{ x, y, r float64 }
	powArgs  = []unsafe.Pointer{unsafe.Pointer(&powSlots.x), unsafe.Pointer(&powSlots.y)}
)

// add is uint32_t ffikit_add_u32(uint32_t, uint32_t) through goffi.
func add(a, b uint32) uint32 {
	addSlots.a, addSlots.b = a, b
	addFn.call(unsafe.Pointer(&addSlots.r), addArgs)
	return addSlots.r
}

// noop is void ffikit_noop(void) through goffi.
func noop() { noopFn.call(nil, nil) }

// sum is double ffikit_sum_f64(const double *, size_t) through goffi.
func sum(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	sumSlots.x, sumSlots.n = unsafe.Pointer(&x[0]), uint64(len(x))
	sumFn.call(unsafe.Pointer(&sumSlots.r), sumArgs)
	return sumSlots.r
}

// dot is double ffikit_dot_f64(const double *, const double *, size_t) through goffi.
func dot(x, y []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	dotSlots.x, dotSlots.y, dotSlots.n = unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), uint64(len(x))
	dotFn.call(unsafe.Pointer(&dotSlots.r), dotArgs)
	return dotSlots.r
}

// pow is libm's double pow(double, double) through goffi.
func pow(x, y float64) float64 {
	powSlots.x, powSlots.y = x, y
	powFn.call(unsafe.Pointer(&powSlots.r), powArgs)
	return powSlots.r
}

// setup opens the cgo floor and, through goffi, the kernels library and libm.
func setup() error {
	path := kernelsLibrary()
	if err := direct.Open(path); err != nil {
		return fmt.Errorf("direct cgo floor: %w", err)
	}
	kernels, err := ffi.LoadLibrary(path)
	if err != nil {
		return err
	}
	libm, err := ffi.LoadLibrary("libm.so.6")
	if err != nil {
		return err
	}
	u32, f64, ptr := types.UInt32TypeDescriptor, types.DoubleTypeDescriptor, types.PointerTypeDescriptor
	size := types.UInt64TypeDescriptor
	for _, p := range []struct {
		to   **function
		lib  unsafe.Pointer
		name string
		ret  *types.TypeDescriptor
		args []*types.TypeDescriptor
	}{
		{&addFn, kernels, "ffikit_add_u32", u32, []*types.TypeDescriptor{u32, u32}},
		{&noopFn, kernels, "ffikit_noop", types.VoidTypeDescriptor, nil},
		{&sumFn, kernels, "ffikit_sum_f64", f64, []*types.TypeDescriptor{ptr, size}},
		{&dotFn, kernels, "ffikit_dot_f64", f64, []*types.TypeDescriptor{ptr, ptr, size}},
		{&powFn, libm, "pow", f64, []*types.TypeDescriptor{f64, f64}},
	} {
		if *p.to, err = prepare(p.lib, p.name, p.ret, p.args...); err != nil {
			return err
		}
	}
	return nil
}

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintf(os.Stderr, "goffi: %v (run `cargo xtask build`)\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// data is the binding's test data: sums and dots exact in any order of addition.
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

func TestGoffiAgrees(t *testing.T) {
	if got := add(40, 2); got != 42 {
		t.Fatalf("add_u32(40, 2) = %d, want 42", got)
	}
	noop()
	for _, n := range append([]int{0, 1, 7}, sizes...) {
		x, y, wantSum, wantDot := data(n)
		if got := sum(x); got != wantSum {
			t.Fatalf("sum_f64 of %d: %v, want %v", n, got, wantSum)
		}
		if got := dot(x, y); got != wantDot {
			t.Fatalf("dot_f64 of %d: %v, want %v", n, got, wantDot)
		}
	}
	if got := pow(2, 10); got != 1024 {
		t.Fatalf("pow(2, 10) = %v, want 1024", got)
	}
}

var sink float64
var sinkU uint32

// pairedRatio times call against floor in alternating batches, one batch of each per round
// over 31 rounds, and returns the median of the per-round ratios call/floor. A batch runs the
// floor for at least 50 µs. (The same method as pairedRatio in ../bench_test.go.)
func pairedRatio(floor, call func()) float64 {
	batch := 1
	for batch < 1<<22 {
		start := time.Now()
		for i := 0; i < batch; i++ {
			floor()
		}
		if time.Since(start) >= 50*time.Microsecond {
			break
		}
		batch *= 2
	}
	ratios := make([]float64, 0, 31)
	for round := 0; round < 31; round++ {
		t0 := time.Now()
		for i := 0; i < batch; i++ {
			floor()
		}
		t1 := time.Now()
		for i := 0; i < batch; i++ {
			call()
		}
		t2 := time.Now()
		ratios = append(ratios, float64(t2.Sub(t1))/float64(t1.Sub(t0)))
	}
	sort.Float64s(ratios)
	return ratios[len(ratios)/2]
}

// reportPaired adds the metric `x-cgo`, the paired ratio of call to the direct cgo floor,
// outside the timed loop.
func reportPaired(b *testing.B, floor, call func()) {
	b.StopTimer()
	b.ReportMetric(pairedRatio(floor, call), "x-cgo")
}

func BenchmarkSum(b *testing.B) {
	for _, n := range sizes {
		x, _, want, _ := data(n)
		if got := sum(x); got != want {
			b.Fatalf("goffi/%d: sum %v, want %v", n, got, want)
		}
		b.Run(fmt.Sprintf("goffi/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(8 * n))
			for i := 0; i < b.N; i++ {
				sink = sum(x)
			}
			reportPaired(b, func() { sink = direct.Sum(x) }, func() { sink = sum(x) })
		})
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range sizes {
		x, y, _, want := data(n)
		if got := dot(x, y); got != want {
			b.Fatalf("goffi/%d: dot %v, want %v", n, got, want)
		}
		b.Run(fmt.Sprintf("goffi/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(16 * n))
			for i := 0; i < b.N; i++ {
				sink = dot(x, y)
			}
			reportPaired(b, func() { sink = direct.Dot(x, y) }, func() { sink = dot(x, y) })
		})
	}
}

func BenchmarkCallOverhead(b *testing.B) {
	if got := add(40, 2); got != 42 {
		b.Fatalf("goffi: add_u32(40, 2) = %d, want 42", got)
	}
	b.Run("goffi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sinkU = add(uint32(i), 2)
		}
		reportPaired(b, func() { sinkU = direct.Add(40, 2) }, func() { sinkU = add(40, 2) })
	})
}

func BenchmarkNoop(b *testing.B) {
	b.Run("goffi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			noop()
		}
	})
}

func BenchmarkPow(b *testing.B) {
	if got := pow(2, 10); got != 1024 {
		b.Fatalf("goffi: pow(2, 10) = %v, want 1024", got)
	}
	b.Run("goffi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sink = pow(1.0001, float64(i&1023))
		}
	})
}

// BenchmarkDynamicAdd calls ffikit_add_u32 by goffi's dynamic call itself (ffi.CallFunction
// with argument pointers the caller owns), as the binding's ffikit-*-call rows call
// Function.Call.
func BenchmarkDynamicAdd(b *testing.B) {
	x, y, r := new(uint32), new(uint32), new(uint32)
	*x, *y = 40, 2
	args := []unsafe.Pointer{unsafe.Pointer(x), unsafe.Pointer(y)}
	if _, err := ffi.CallFunction(&addFn.cif, addFn.fn, unsafe.Pointer(r), args); err != nil || *r != 42 {
		b.Fatalf("goffi: ffikit_add_u32(40, 2) = %d (%v), want 42", *r, err)
	}
	b.Run("goffi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			*x = uint32(i)
			if _, err := ffi.CallFunction(&addFn.cif, addFn.fn, unsafe.Pointer(r), args); err != nil {
				b.Fatal(err)
			}
		}
		reportPaired(b, func() { sinkU = direct.Add(40, 2) }, func() {
			if _, err := ffi.CallFunction(&addFn.cif, addFn.fn, unsafe.Pointer(r), args); err != nil {
				panic(err)
			}
		})
	})
}
