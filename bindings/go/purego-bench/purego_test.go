// Package puregobench measures the kernels called through purego
// (github.com/ebitengine/purego: dynamic calls from Go without cgo), beside the binding's
// own benchmarks. It is a separate module so that the binding does not depend on purego.
package puregobench

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
)

var (
	sumF64 func(x unsafe.Pointer, n uintptr) float64
	dotF64 func(x, y unsafe.Pointer, n uintptr) float64
	addU32 func(a, b uint32) uint32
)

func kernelsLibrary() string {
	if p := os.Getenv("FFIKIT_KERNELS_LIB"); p != "" {
		return p
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "../../../target/release/libffikit_kernels.so")
}

func TestMain(m *testing.M) {
	lib, err := purego.Dlopen(kernelsLibrary(), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "purego: %v (run `cargo xtask build`)\n", err)
		os.Exit(1)
	}
	purego.RegisterLibFunc(&sumF64, lib, "ffikit_sum_f64")
	purego.RegisterLibFunc(&dotF64, lib, "ffikit_dot_f64")
	purego.RegisterLibFunc(&addU32, lib, "ffikit_add_u32")
	os.Exit(m.Run())
}

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

func TestPuregoAgrees(t *testing.T) {
	x, y, sum, dot := data(1000)
	if got := sumF64(unsafe.Pointer(&x[0]), 1000); got != sum {
		t.Fatalf("sum %v, want %v", got, sum)
	}
	if got := dotF64(unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), 1000); got != dot {
		t.Fatalf("dot %v, want %v", got, dot)
	}
	if addU32(40, 2) != 42 {
		t.Fatal("add")
	}
}

var sink float64
var sinkU uint32

func BenchmarkSum(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		x, _, _, _ := data(n)
		b.Run(fmt.Sprintf("purego/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(8 * n))
			for i := 0; i < b.N; i++ {
				sink = sumF64(unsafe.Pointer(&x[0]), uintptr(n))
			}
		})
	}
}

func BenchmarkDot(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000, 100_000} {
		x, y, _, _ := data(n)
		b.Run(fmt.Sprintf("purego/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(16 * n))
			for i := 0; i < b.N; i++ {
				sink = dotF64(unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0]), uintptr(n))
			}
		})
	}
}

func BenchmarkCallOverhead(b *testing.B) {
	b.Run("purego", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sinkU = addU32(uint32(i), 2)
		}
	})
}
