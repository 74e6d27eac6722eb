// A first ffikit program in Go: the kernels through every backend on Go slices and on a
// stable buffer, a dynamic call of libm's pow, and a pool shared by goroutines.
//
//	cargo xtask build        # once, from the repository root
//	cd examples/go && go run .
package main

import (
	"errors"
	"fmt"
	"log"
	"sync"
	"unsafe"

	ffikit "github.com/ffikit/ffikit/bindings/go"
)

func main() {
	fmt.Println("ffikit", ffikit.Version())
	x := make([]float64, 10_000)
	for i := range x {
		x[i] = 0.5 * float64(i)
	}
	for _, backend := range []string{"native", "asm", "wasm"} {
		ctx, err := ffikit.NewContext(backend)
		if err != nil {
			log.Fatal(err)
		}
		sum, err := ctx.SumF64(x) // in place for native/asm, one copy for wasm
		if err != nil {
			log.Fatal(err)
		}
		// A stable buffer: filled in place, read by the kernel without any copy.
		buf, _ := ctx.NewBuffer(len(x) * 8)
		copy(buf.Float64s(), x)
		inPlace, _ := ctx.SumF64Buffer(buf, len(x))
		_, err = ctx.SumF64Buffer(buf, len(x)+1)
		fmt.Printf("%-6s sum=%.1f in-place=%.1f  past the end: %v (is BufferOutOfBounds: %v)\n",
			backend, sum, inPlace, err, errors.Is(err, ffikit.StatusBufferOutOfBounds))
		buf.Close()
		ctx.Close()
	}

	// A dynamic call by signature text through the asm backend.
	ctx, _ := ffikit.NewContext("asm")
	libm, err := ctx.OpenLibrary("libm.so.6")
	if err != nil {
		log.Fatal(err)
	}
	pow, err := libm.Prepare("pow", "f64(f64, f64)")
	if err != nil {
		log.Fatal(err)
	}
	base, exp, r := new(float64), new(float64), new(float64)
	*base, *exp = 2, 0.5
	if err := pow.Call(unsafe.Pointer(r), unsafe.Pointer(base), unsafe.Pointer(exp)); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("asm    pow(2, 0.5) = %.6f\n", *r)
	pow.Close()
	libm.Close()
	ctx.Close()

	// Goroutines share a pool; each takes its own context.
	pool, err := ffikit.NewPool("native", 4)
	if err != nil {
		log.Fatal(err)
	}
	var wg sync.WaitGroup
	totals := make([]uint32, 8)
	for g := range totals {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				c, err := pool.AcquireTimeout(1e9)
				if err != nil {
					log.Fatal(err)
				}
				totals[g], _ = c.AddU32(totals[g], 1)
				pool.Release(c)
			}
		}(g)
	}
	wg.Wait()
	fmt.Println("pool   8 goroutines x 1000 calls:", totals)
	pool.Close()
}
