package ffikit

// The fast path: C called on the goroutine's own stack, with no cgo transition.
//
// A cgo call switches to the system stack and tells the scheduler and the collector that the
// goroutine left Go (~20-30 ns on current Go). The trampoline in internal/fastcall
// instead calls the C function where the goroutine is, the way directcgo measured at ~3 ns.
// What makes that sound, and the rules it puts on the C code:
//
//   - Stack: the trampoline (internal/fastcall) has a fixed frame of fastcall.FrameBytes and is not NOSPLIT, so its
//     prologue grows the goroutine stack (once) until the frame fits; C runs with the stack
//     pointer at the frame's top and may use FastStackBytes below it. A canary at the frame's
//     bottom is checked after every call: a callee that used more stops the process with a
//     message (memory below the frame may be corrupt, so nothing can continue).
//   - Signals and preemption: Go's signal handlers run on the signal stack, and asynchronous
//     preemption only stops code at Go safe points, never foreign code, so preemption
//     signals and the CPU profiler are harmless. The collector scans or moves the goroutine's
//     stack only at the trampoline's entry (its frame holds no pointers), never during the
//     call.
//   - Stop-the-world: a goroutine running C this way cannot be stopped until it returns, so a
//     long call delays every GC phase change. Kernel calls are routed by size (fastMaxBytes):
//     larger ones take cgo, which the collector does not wait for.
//   - Leaf functions only: the callee must not call back into Go, block, take locks, make
//     system calls or use more stack than it declares. A fault in C (a bad pointer) kills the
//     process, exactly as under cgo.
//   - First calls: libraries are opened with RTLD_NOW and each fast function's first call on
//     a context goes through the C API, so lazy symbol binding and one-time initialisation
//     (the kernels' CPU dispatch) never run on the goroutine stack.
//
// Costs a user sees: a goroutine's first fast call grows its stack to fit the frame (a copy
// of the stack, hundreds of ns); the collector may shrink an idle goroutine's stack again.
// Long-lived worker goroutines pay it once.

import (
	"fmt"
	"math"
	"os"
	"unsafe"

	"github.com/ffikit/ffikit/bindings/go/internal/fastcall"
)

// FastStackBytes is the stack a function called on the fast path may use: the trampoline's
// frame less the canary, the return address and alignment. PrepareLeaf refuses a larger
// declared budget.
const FastStackBytes = fastcall.FrameBytes - 256

// fastMaxBytes routes kernel calls: one whose slices (read and written) exceed it goes
// through the C API instead, so no fast call runs longer than ~50 µs even from DRAM.
const fastMaxBytes = 256 << 10

// fastAvailable: this architecture has a trampoline.
const fastAvailable = fastcall.Available

// fastFrame is the trampoline's register frame.
type fastFrame = fastcall.Frame

// callFast runs fn through the trampoline and stops the process if it overran the frame.
func callFast(fn uintptr, f *fastFrame, what string) {
	if !fastcall.Call(fn, f) {
		fastStackOverrun(what)
	}
}

// fastStackOverrun reports a callee that wrote past the fast path's frame and exits: memory
// below the frame (the rest of the goroutine's stack, or whatever lies under it) may be
// corrupt, so neither returning nor panicking (which could be recovered) is safe.
func fastStackOverrun(what string) {
	fmt.Fprintf(os.Stderr, "ffikit: fatal: %s used more than the %d bytes of stack that a fast "+
		"(goroutine-stack) call may use: its canary was overwritten. Declare the real budget "+
		"in PrepareLeaf (calls over %d bytes are refused there) or call it through Prepare.\n",
		what, FastStackBytes, FastStackBytes)
	os.Exit(2)
}

// The value codes of ffikit_register_call (crates/capi/src/registers.rs).
const (
	valueSizeMask = 0x0f
	valueSigned   = 0x10
	valueFloat    = 0x20
	valuePointer  = 0x40
	registerFP    = 0x80
)

// registerCall has ffikit_register_call's C layout: a function's address and, per
// argument, its value code and register.
type registerCall struct {
	code       uintptr
	nargs      uint32
	vectorRegs uint32
	ret        uint8
	args       [16]uint8
	regs       [16]uint8
}

// widen reads the integer of value code at p, extended to 64 bits.
func widen(p unsafe.Pointer, code uint8) uint64 {
	switch code & (valueSizeMask | valueSigned) {
	case 1:
		return uint64(*(*uint8)(p))
	case 1 | valueSigned:
		return uint64(int64(*(*int8)(p)))
	case 2:
		return uint64(*(*uint16)(p))
	case 2 | valueSigned:
		return uint64(int64(*(*int16)(p)))
	case 4:
		return uint64(*(*uint32)(p))
	case 4 | valueSigned:
		return uint64(int64(*(*int32)(p)))
	default:
		return *(*uint64)(p)
	}
}

// extend extends the low bytes of a return register by value code.
func extend(v uint64, code uint8) uint64 {
	switch code & (valueSizeMask | valueSigned) {
	case 1:
		return uint64(uint8(v))
	case 1 | valueSigned:
		return uint64(int64(int8(v)))
	case 2:
		return uint64(uint16(v))
	case 2 | valueSigned:
		return uint64(int64(int16(v)))
	case 4:
		return uint64(uint32(v))
	case 4 | valueSigned:
		return uint64(int64(int32(v)))
	default:
		return v
	}
}

// fill places args in f by the register call's plan. A pointer argument goes to ptrs, typed,
// so that if the trampoline's prologue copies the stack, a pointer into it is updated.
func (rc *registerCall) fill(f *fastFrame, args []unsafe.Pointer) {
	for i, a := range args {
		code, reg := rc.args[i], rc.regs[i]
		if code&valuePointer != 0 {
			f.Ptrs[reg&7] = *(*unsafe.Pointer)(a)
			continue
		}
		if reg&registerFP != 0 {
			if code&valueSizeMask == 4 {
				f.Floats[reg&7] = uint64(*(*uint32)(a))
			} else {
				f.Floats[reg&7] = *(*uint64)(a)
			}
			continue
		}
		f.Ints[reg&7] = widen(a, code)
	}
	f.Vecs = uint64(rc.vectorRegs)
}

// store writes the return registers of f to ret as ffikit_call does (integers widened to 8
// bytes, float as 4, double as 8).
func (rc *registerCall) store(f *fastFrame, ret unsafe.Pointer) {
	switch {
	case rc.ret == 0 || ret == nil:
	case rc.ret&valueFloat != 0 && rc.ret&valueSizeMask == 4:
		*(*uint32)(ret) = uint32(f.FRet)
	case rc.ret&valueFloat != 0:
		*(*uint64)(ret) = f.FRet
	default:
		*(*uint64)(ret) = extend(f.Ret, rc.ret)
	}
}

// f64 is the floating-point return register of f as a float64.
func f64(f *fastFrame) float64 { return math.Float64frombits(f.FRet) }
