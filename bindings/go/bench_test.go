package ffikit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
	"github.com/ffikit/ffikit/bindings/go/internal/direct"
)

// Sizes of the Sum and Dot benchmarks.
var sizes = []int{100, 1_000, 10_000, 100_000}

// kernelsLibrary is libffikit_kernels.so of the build tree (for the direct cgo floor).
func kernelsLibrary() string {
	if p := os.Getenv("FFIKIT_KERNELS_LIB"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../../target/release/libffikit_kernels.so")
}

func sumGo(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s
}

func sumGo4(x []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func dotGo(x, y []float64) float64 {
	s := 0.0
	for i := range x {
		s += x[i] * y[i]
	}
	return s
}

func dotGo4(x, y []float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

var sink float64
var sinkU uint32

// pairedRatio times call against floor in alternating batches, one batch of each per round
// over 31 rounds, and returns the median of the per-round ratios call/floor. Both sides of
// a round see the same machine state, which benchmarks timed one after another on a noisy
// machine do not (the bench matrix takes this ratio when the row reports it). A batch runs
// the floor for at least 50 µs.
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

// reportPaired adds the metric `x-cgo` to an ffikit row: its paired ratio to the direct cgo
// call of the same kernel and size (see pairedRatio), outside the timed loop.
func reportPaired(b *testing.B, impl string, floor, call func()) {
	if !strings.HasPrefix(impl, "ffikit-") {
		return
	}
	b.StopTimer()
	b.ReportMetric(pairedRatio(floor, call), "x-cgo")
}

// impls runs body for every implementation name with its sum/dot functions.
type kernelImpl struct {
	name string
	sum  func([]float64) float64
	dot  func(x, y []float64) float64
	add  func(a, b uint32) uint32
}

func implementations(b *testing.B) []kernelImpl {
	if err := direct.Open(kernelsLibrary()); err != nil {
		b.Fatalf("direct cgo floor: %v (run `cargo xtask build`)", err)
	}
	impls := []kernelImpl{
		{"go", sumGo, dotGo, func(a, c uint32) uint32 { return a + c }},
		{"go-unrolled4", sumGo4, dotGo4, nil},
		{"cgo", direct.Sum, direct.Dot, direct.Add},
	}
	for _, backend := range backends {
		ctx, err := ffikit.NewContext(backend)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { ctx.Close() })
		impls = append(impls, kernelImpl{
			"ffikit-" + backend,
			func(x []float64) float64 {
				s, err := ctx.SumF64(x)
				if err != nil {
					panic(err)
				}
				return s
			},
			func(x, y []float64) float64 {
				s, err := ctx.DotF64(x, y)
				if err != nil {
					panic(err)
				}
				return s
			},
			func(a, c uint32) uint32 {
				s, err := ctx.AddU32(a, c)
				if err != nil {
					panic(err)
				}
				return s
			},
		})
	}
	return impls
}

func BenchmarkSum(b *testing.B) {
	for _, impl := range implementations(b) {
		for _, n := range sizes {
			x, _, want, _ := data(n)
			if got := impl.sum(x); got != want {
				b.Fatalf("%s/%d: sum %v, want %v", impl.name, n, got, want)
			}
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(8 * n))
				for i := 0; i < b.N; i++ {
					sink = impl.sum(x)
				}
				reportPaired(b, impl.name,
					func() { sink = direct.Sum(x) }, func() { sink = impl.sum(x) })
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, impl := range implementations(b) {
		for _, n := range sizes {
			x, y, _, want := data(n)
			if got := impl.dot(x, y); got != want {
				b.Fatalf("%s/%d: dot %v, want %v", impl.name, n, got, want)
			}
			b.Run(fmt.Sprintf("%s/%d", impl.name, n), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(16 * n))
				for i := 0; i < b.N; i++ {
					sink = impl.dot(x, y)
				}
				reportPaired(b, impl.name,
					func() { sink = direct.Dot(x, y) }, func() { sink = impl.dot(x, y) })
			})
		}
	}
}

func BenchmarkCallOverhead(b *testing.B) {
	for _, impl := range implementations(b) {
		if impl.add == nil {
			continue
		}
		if impl.add(40, 2) != 42 {
			b.Fatalf("%s: add_u32 is wrong", impl.name)
		}
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sinkU = impl.add(uint32(i), 2)
			}
			reportPaired(b, impl.name,
				func() { sinkU = direct.Add(40, 2) }, func() { sinkU = impl.add(40, 2) })
		})
	}
	// The dynamic path: ffikit.Function.Call by signature text, native and asm.
	for _, backend := range []string{"native", "asm"} {
		ctx, _ := ffikit.NewContext(backend)
		lib, err := ctx.OpenLibrary(kernelsLibrary())
		if err != nil {
			b.Fatal(err)
		}
		add, err := lib.Prepare("ffikit_add_u32", "u32(u32, u32)")
		if err != nil {
			b.Fatal(err)
		}
		x, y, r := new(uint32), new(uint32), new(uint64)
		*y = 2
		b.Run("ffikit-"+backend+"-call", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				*x = uint32(i)
				if err := add.Call(unsafe.Pointer(r), unsafe.Pointer(x), unsafe.Pointer(y)); err != nil {
					b.Fatal(err)
				}
			}
			reportPaired(b, "ffikit-"+backend+"-call",
				func() { sinkU = direct.Add(40, 2) },
				func() {
					if err := add.Call(unsafe.Pointer(r), unsafe.Pointer(x), unsafe.Pointer(y)); err != nil {
						panic(err)
					}
				})
		})
		add.Close()
		lib.Close()
		ctx.Close()
	}
}
