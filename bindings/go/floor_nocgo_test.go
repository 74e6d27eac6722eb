//go:build !cgo

package ffikit_test

import "testing"

// A CGO_ENABLED=0 build has no cgo: every row is paired with purego's RegisterFunc call of
// the same C function (metric x-purego), the usual way to call C without cgo.
const floorMetric = "x-purego"

// fastRow names the fast path's rows in this build.
const fastRow = "ffikit-nocgo"

// floorImpl is purego's RegisterFunc row.
func floorImpl(b *testing.B) kernelImpl { return puregoImpl(b) }

// capiBackends are the backends whose C API path (purego) gets rows.
var capiBackends = []string{"native"}

// capiRow names a C API row.
func capiRow(backend string) string { return "ffikit-nocgo-api" }
