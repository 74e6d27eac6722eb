package ffikit_test

// The binding's benchmarks: every kernel and one dynamic call through every way Go can call
// C, in one run, each row's result checked before it is timed and, for ffikit's rows,
// paired with the floor of this build (a direct cgo call; purego's without cgo) in
// interleaved rounds (metric x-cgo or x-purego). cargo xtask bench-matrix reads them.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"

	ffikit "github.com/ffikit/ffikit/bindings/go"
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

// reportPaired adds the floor metric to an ffikit row: its paired ratio to the floor's call
// of the same function and size (see pairedRatio), outside the timed loop.
func reportPaired(b *testing.B, impl string, floor, call func()) {
	if !strings.HasPrefix(impl, "ffikit-") || floor == nil {
		return
	}
	b.StopTimer()
	b.ReportMetric(pairedRatio(floor, call), floorMetric)
}

// kernelImpl is one way of calling the kernels and pow; nil where it has no such call.
type kernelImpl struct {
	name string
	noop func()
	add  func(a, b uint32) uint32
	sum  func([]float64) float64
	dot  func(x, y []float64) float64
	pow  func(x, y float64) float64
}

// puregoImpl calls the kernels and pow through purego's RegisterFunc (reflection-built
// functions over runtime.cgocall), in either build.
func puregoImpl(b *testing.B) kernelImpl {
	lib, err := purego.Dlopen(kernelsLibrary(), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		b.Fatalf("purego: %v (run `cargo xtask build`)", err)
	}
	libm, err := purego.Dlopen("libm.so.6", purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		b.Fatalf("purego: %v", err)
	}
	var (
		noop func()
		add  func(a, b uint32) uint32
		sum  func(x unsafe.Pointer, n uintptr) float64
		dot  func(x, y unsafe.Pointer, n uintptr) float64
		pow  func(x, y float64) float64
	)
	purego.RegisterLibFunc(&noop, lib, "ffikit_noop")
	purego.RegisterLibFunc(&add, lib, "ffikit_add_u32")
	purego.RegisterLibFunc(&sum, lib, "ffikit_sum_f64")
	purego.RegisterLibFunc(&dot, lib, "ffikit_dot_f64")
	purego.RegisterLibFunc(&pow, libm, "pow")
	return kernelImpl{
		name: "purego",
		noop: noop,
		add:  add,
		sum: func(x []float64) float64 {
			return sum(unsafe.Pointer(unsafe.SliceData(x)), uintptr(len(x)))
		},
		dot: func(x, y []float64) float64 {
			return dot(unsafe.Pointer(unsafe.SliceData(x)), unsafe.Pointer(unsafe.SliceData(y)),
				uintptr(len(x)))
		},
		pow: pow,
	}
}

// puregoSyscallImpl calls the integer kernels through purego.SyscallN (no reflection; it
// cannot pass or return floating-point values, so it has no sum, dot or pow).
func puregoSyscallImpl(b *testing.B) kernelImpl {
	lib, err := purego.Dlopen(kernelsLibrary(), purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		b.Fatalf("purego: %v", err)
	}
	noop, err1 := purego.Dlsym(lib, "ffikit_noop")
	add, err2 := purego.Dlsym(lib, "ffikit_add_u32")
	if err1 != nil || err2 != nil {
		b.Fatalf("purego: %v %v", err1, err2)
	}
	return kernelImpl{
		name: "purego-syscalln",
		noop: func() { purego.SyscallN(noop) },
		add: func(a, c uint32) uint32 {
			r, _, _ := purego.SyscallN(add, uintptr(a), uintptr(c))
			return uint32(r)
		},
	}
}

// must panics on an error inside a timed loop (the results were checked before timing).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// contextImpl calls the kernels through a context of backend, on the fast path or not. The
// context lives as long as the test binary: implementations are made once and shared by
// every benchmark.
func contextImpl(b *testing.B, name, backend string, fast bool) kernelImpl {
	ctx, err := ffikit.NewContext(backend)
	if err != nil {
		b.Fatal(err)
	}
	ctx.SetFastCalls(fast)
	if ctx.FastCalls() != fast {
		b.Fatalf("%s: the fast path cannot be turned on here", name)
	}
	return kernelImpl{
		name: name,
		noop: func() {
			if err := ctx.Noop(); err != nil {
				panic(err)
			}
		},
		add: func(a, c uint32) uint32 { return must(ctx.AddU32(a, c)) },
		sum: func(x []float64) float64 { return must(ctx.SumF64(x)) },
		dot: func(x, y []float64) float64 { return must(ctx.DotF64(x, y)) },
	}
}

var (
	implsOnce sync.Once
	impls     []kernelImpl
	floor     kernelImpl
)

// implementations is every row's implementation, made once per test binary; floor is the
// build's floor (one of them).
func implementations(b *testing.B) []kernelImpl {
	implsOnce.Do(func() {
		floor = floorImpl(b)
		impls = []kernelImpl{
			{name: "go", add: func(a, c uint32) uint32 { return a + c }, sum: sumGo, dot: dotGo,
				pow: math.Pow},
			{name: "go-unrolled4", sum: sumGo4, dot: dotGo4},
			floor,
		}
		if floor.name != "purego" {
			impls = append(impls, puregoImpl(b))
		}
		impls = append(impls, puregoSyscallImpl(b))
		for _, backend := range capiBackends {
			impls = append(impls, contextImpl(b, capiRow(backend), backend, false))
		}
		if fastAvailable() {
			impls = append(impls, contextImpl(b, fastRow, "native", true))
		}
	})
	return impls
}

// fastAvailable: this architecture has the fast path's trampoline.
func fastAvailable() bool {
	ctx, err := ffikit.NewContext("native")
	if err != nil {
		return false
	}
	defer ctx.Close()
	return ctx.FastCalls()
}

func BenchmarkSum(b *testing.B) {
	for _, impl := range implementations(b) {
		if impl.sum == nil {
			continue
		}
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
					func() { sink = floor.sum(x) }, func() { sink = impl.sum(x) })
			})
		}
	}
}

func BenchmarkDot(b *testing.B) {
	for _, impl := range implementations(b) {
		if impl.dot == nil {
			continue
		}
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
					func() { sink = floor.dot(x, y) }, func() { sink = impl.dot(x, y) })
			})
		}
	}
}

// BenchmarkCallOverhead is the add_u32 kernel: one call's cost.
func BenchmarkCallOverhead(b *testing.B) {
	for _, impl := range implementations(b) {
		if impl.add == nil || impl.name == "go" {
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
				func() { sinkU = floor.add(40, 2) }, func() { sinkU = impl.add(40, 2) })
		})
	}
}

// BenchmarkNoop is the noop kernel: nothing but the call.
func BenchmarkNoop(b *testing.B) {
	for _, impl := range implementations(b) {
		if impl.noop == nil {
			continue
		}
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				impl.noop()
			}
			reportPaired(b, impl.name, floor.noop, impl.noop)
		})
	}
}

// dynamicImpls are the dynamic calls of one C function by signature text: PrepareLeaf on
// the fast path (native, asm) and Prepare through the C API (native, asm).
func dynamicImpls(b *testing.B, lib, symbol, signature string) map[string]*ffikit.Function {
	fns := map[string]*ffikit.Function{}
	for _, backend := range []string{"native", "asm"} {
		ctx, err := ffikit.NewContext(backend)
		if err != nil {
			b.Fatal(err)
		}
		l, err := ctx.OpenLibrary(lib)
		if err != nil {
			b.Fatal(err)
		}
		slow, err := l.Prepare(symbol, signature)
		if err != nil {
			b.Fatal(err)
		}
		fns[capiRow(backend)+"-call"] = slow
		// The same function prepared from its address (PrepareAddress): the same plan, so
		// the same speed as the symbol's row.
		at, err := ctx.PrepareAddress(symbolAddress(b, lib, symbol), signature)
		if err != nil {
			b.Fatal(err)
		}
		fns[capiRow(backend)+"-address"] = at
		if backend == "native" && fastAvailable() {
			leaf, err := l.PrepareLeaf(symbol, signature, 4096)
			if err != nil || !leaf.Fast() {
				b.Fatalf("PrepareLeaf(%s): %v, fast %v", symbol, err, leaf != nil && leaf.Fast())
			}
			fns[fastRow+"-call"] = leaf
		}
		b.Cleanup(func() { slow.Close(); at.Close(); l.Close(); ctx.Close() })
		if !cgoEnabled() {
			break
		}
	}
	return fns
}

// symbolAddress is symbol's address in lib (a path or a soname), from the system's dynamic
// loader through purego: an address held outside ffikit, as PrepareAddress takes. The
// handle stays open for the process.
func symbolAddress(tb testing.TB, lib, symbol string) uintptr {
	h, err := purego.Dlopen(lib, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		tb.Fatalf("dlopen %s: %v", lib, err)
	}
	addr, err := purego.Dlsym(h, symbol)
	if err != nil {
		tb.Fatalf("dlsym %s: %v", symbol, err)
	}
	return addr
}

// cgoEnabled: this test binary calls the C API through cgo.
func cgoEnabled() bool { return ffikit.CgoEnabled() }

// BenchmarkPow is libm's pow called by signature ("f64(f64, f64)"), against the same call
// through cgo, purego and Go's math.Pow.
func BenchmarkPow(b *testing.B) {
	const want = 1024.0
	for _, impl := range implementations(b) {
		if impl.pow == nil {
			continue
		}
		if got := impl.pow(2, 10); got != want {
			b.Fatalf("%s: pow(2, 10) = %v", impl.name, got)
		}
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				sink = impl.pow(2, 10)
			}
		})
	}
	x, y, r := new(float64), new(float64), new(float64)
	*x, *y = 2, 10
	for name, fn := range dynamicImpls(b, "libm.so.6", "pow", "f64(f64, f64)") {
		call := func() {
			if err := fn.Call(unsafe.Pointer(r), unsafe.Pointer(x), unsafe.Pointer(y)); err != nil {
				panic(err)
			}
		}
		call() // the first call of a leaf function takes the C API
		if call(); *r != want {
			b.Fatalf("%s: pow(2, 10) = %v", name, *r)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				call()
			}
			reportPaired(b, name, func() { sink = floor.pow(2, 10) }, call)
		})
	}
}

// BenchmarkDynamicAdd is the add_u32 kernel called by signature ("u32(u32, u32)").
func BenchmarkDynamicAdd(b *testing.B) {
	x, y, r := new(uint32), new(uint32), new(uint64)
	*y = 2
	for name, fn := range dynamicImpls(b, kernelsLibrary(), "ffikit_add_u32", "u32(u32, u32)") {
		call := func() {
			if err := fn.Call(unsafe.Pointer(r), unsafe.Pointer(x), unsafe.Pointer(y)); err != nil {
				panic(err)
			}
		}
		*x = 40
		call()
		if call(); *r != 42 {
			b.Fatalf("%s: add_u32(40, 2) = %d", name, *r)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				*x = uint32(i)
				call()
			}
			reportPaired(b, name, func() { sinkU = floor.add(40, 2) }, call)
		})
	}
}
