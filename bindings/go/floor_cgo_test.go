//go:build cgo

package ffikit_test

import (
	"testing"

	"github.com/ffikit/ffikit/bindings/go/internal/direct"
)

// The cgo build pairs every row with a direct cgo call of the same C function (metric
// x-cgo): the cost a Go program pays today.
const floorMetric = "x-cgo"

// fastRow names the fast path's rows in this build.
const fastRow = "ffikit-fast"

// floorImpl is the direct cgo call of the kernels and of pow.
func floorImpl(b *testing.B) kernelImpl {
	if err := direct.Open(kernelsLibrary()); err != nil {
		b.Fatalf("direct cgo floor: %v (run `cargo xtask build`)", err)
	}
	return kernelImpl{name: "cgo", noop: direct.Noop, add: direct.Add, sum: direct.Sum,
		dot: direct.Dot, pow: direct.Pow}
}

// capiBackends are the backends whose C API path (cgo) gets rows.
var capiBackends = []string{"native", "asm", "wasm"}

// capiRow names a C API row.
func capiRow(backend string) string { return "ffikit-" + backend }
