// Package fastcall is the ffikit binding's fast path: a Go assembly trampoline that calls a
// C function on the goroutine's own stack, with no cgo transition. It is a package of its
// own because a package that uses cgo cannot hold Go assembly. The rules that make such a
// call sound, and that the C code must keep, are in the ffikit package's fast.go.
package fastcall

import "unsafe"

// FrameBytes is the trampoline's frame size (FRAME in call_amd64.s, the frame of
// call_arm64.s): the stack C runs in, with the canary at its bottom.
const FrameBytes = 32768

// Frame is what Call loads into the argument registers. Offsets are fixed by the assembly:
// Ints 0, Ptrs 64, Floats 128.
type Frame struct {
	// Integer argument registers (rdi rsi rdx rcx r8 r9; x0-x7), OR-ed with Ptrs.
	Ints [8]uint64
	// Pointer arguments, kept typed so that a stack copy (Call's prologue may grow the
	// stack) updates pointers into the goroutine's stack; register i gets Ints[i] | Ptrs[i],
	// one of them zero.
	Ptrs [8]unsafe.Pointer
	// Floating-point argument registers (xmm0-7; d0-7), raw bits.
	Floats [8]uint64
}

// Shape is Call's shape argument: how many integer and floating-point argument registers
// it loads from the frame (each class is assigned in order, so a count suffices) and, for
// a variadic call on x86-64, the number of vector registers it uses (%al).
func Shape(intRegs, floatRegs, vectorRegs uint8) uint64 {
	return uint64(intRegs) | uint64(floatRegs)<<8 | uint64(vectorRegs)<<16
}
