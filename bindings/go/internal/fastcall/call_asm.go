//go:build amd64 || arm64

package fastcall

import "unsafe"

// Available: this architecture has a trampoline (call_amd64.s, call_arm64.s).
const Available = true

// Call calls the C function fn on the goroutine's own stack, with the argument registers
// that shape (see Shape) names loaded from f, and returns the integer and floating-point
// return registers (raw bits); ok is false when the canary at the bottom of its frame was
// overwritten (the callee used more than FrameBytes of stack).
//
//go:noescape
func Call(fn uintptr, f *Frame, shape uint64) (r, fr uint64, ok bool)

// CallI2 calls fn(a0, a1) with two integer arguments (the first two integer argument
// registers) on the goroutine's own stack and returns the integer return register; ok as
// Call's. Zero arguments are harmless to a function that takes fewer.
//
//go:noescape
func CallI2(fn uintptr, a0, a1 uint64) (r uint64, ok bool)

// CallP1N calls fn(p0, n) and returns the floating-point return register (sum_f64's shape);
// ok as Call's. p0 is typed so that a stack copy in the prologue updates it.
//
//go:noescape
func CallP1N(fn uintptr, p0 unsafe.Pointer, n uint64) (r float64, ok bool)

// CallP2N calls fn(p0, p1, n) with x0 in the first floating-point argument register and
// returns the floating-point return register (dot_f64's shape, and axpy_f64's with a in
// x0); ok as Call's.
//
//go:noescape
func CallP2N(fn uintptr, p0, p1 unsafe.Pointer, n uint64, x0 float64) (r float64, ok bool)

// CallP3N calls fn(p0, p1, p2, n) (add_u32_batch's shape); ok as Call's.
//
//go:noescape
func CallP3N(fn uintptr, p0, p1, p2 unsafe.Pointer, n uint64) (ok bool)
