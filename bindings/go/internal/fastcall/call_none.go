//go:build !amd64 && !arm64

package fastcall

import "unsafe"

// Available: no trampoline for this architecture; every call goes through the
// C API (cgo, or purego without cgo).
const Available = false

// Call is never called where Available is false.
func Call(fn uintptr, f *Frame, shape uint64) (r, fr uint64, ok bool) { panic(noTrampoline) }

// CallI2 is never called where Available is false.
func CallI2(fn uintptr, a0, a1 uint64) (r uint64, ok bool) { panic(noTrampoline) }

// CallP1N is never called where Available is false.
func CallP1N(fn uintptr, p0 unsafe.Pointer, n uint64) (r float64, ok bool) { panic(noTrampoline) }

// CallP2N is never called where Available is false.
func CallP2N(fn uintptr, p0, p1 unsafe.Pointer, n uint64, x0 float64) (r float64, ok bool) {
	panic(noTrampoline)
}

// CallP3N is never called where Available is false.
func CallP3N(fn uintptr, p0, p1, p2 unsafe.Pointer, n uint64) (ok bool) { panic(noTrampoline) }

const noTrampoline = "ffikit: no fast-call trampoline on this architecture"
