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

// fastChecked stops the process when a trampoline reports its canary overwritten (ok false).
func fastChecked(ok bool, what string) {
	if !ok {
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

// leafCall is a leaf function's fast-path plan, made once at PrepareLeaf: its register
// call, how each argument is loaded into the frame, and how many integer and floating-point
// argument registers the trampoline loads.
type leafCall struct {
	registerCall
	ops [16]leafOp
	// How the return registers are stored: opWord (f64, from the floating-point register),
	// opU32 (f32, 4 bytes), opInt (an integer or pointer, widened to 8 bytes) or opVoid.
	retOp uint8
	// fastcall.Shape of the call: the argument registers loaded, the vector-register count.
	shape uint64
}

// leafOp loads one argument: kind says how its value is read, word is the frame word it goes
// to (frameWords' index: Ints 0-7, Ptrs 8-15, Floats 16-23).
type leafOp struct{ kind, word uint8 }

// The kinds of leafOp.
const (
	opWord    = iota // 8 bytes as they are: i64, u64, usize, isize, f64
	opPointer        // a pointer, written typed into Ptrs
	opU32            // 4 bytes zero-extended: u32, f32 (upper bits unread by the callee)
	opI32            // 4 bytes sign-extended
	opNarrow         // 1 or 2 bytes, extended by the value code in code
	opInt            // an integer or pointer return, extended by its value code
	opVoid           // no return value
)

// frameWords is the frame as words, for leafOp.word.
type frameWords = [unsafe.Sizeof(fastFrame{}) / 8]uint64

// newLeafCall makes the plan of rc: each argument's load, and the registers counted per
// class (each class is assigned in order, so the highest register used plus one).
func newLeafCall(rc registerCall) *leafCall {
	lc := &leafCall{registerCall: rc}
	var intRegs, floatRegs uint8
	for i := uint32(0); i < rc.nargs; i++ {
		code, reg := rc.args[i], rc.regs[i]&7
		op := &lc.ops[i]
		switch {
		case rc.regs[i]&registerFP != 0:
			op.kind, op.word = opWord, 16+reg
			if code&valueSizeMask == 4 {
				op.kind = opU32
			}
			floatRegs = max(floatRegs, reg+1)
			continue
		case code&valuePointer != 0:
			op.kind, op.word = opPointer, reg
		case code&valueSizeMask == 8:
			op.kind, op.word = opWord, reg
		case code&(valueSizeMask|valueSigned) == 4:
			op.kind, op.word = opU32, reg
		case code&(valueSizeMask|valueSigned) == 4|valueSigned:
			op.kind, op.word = opI32, reg
		default:
			op.kind, op.word = opNarrow, reg
		}
		intRegs = max(intRegs, reg+1)
	}
	lc.shape = fastcall.Shape(intRegs, floatRegs, uint8(rc.vectorRegs))
	switch {
	case rc.ret == 0:
		lc.retOp = opVoid
	case rc.ret&valueFloat != 0 && rc.ret&valueSizeMask == 4:
		lc.retOp = opU32
	case rc.ret&valueFloat != 0:
		lc.retOp = opWord
	default:
		lc.retOp = opInt
	}
	return lc
}

// call runs the leaf function with args through the trampoline and stores its return value
// in ret; it stops the process if the function overran the frame. False, with nothing
// called, when an argument is nil (the C API reports it).
func (lc *leafCall) call(ret unsafe.Pointer, args []unsafe.Pointer) bool {
	var f fastFrame
	words := (*frameWords)(unsafe.Pointer(&f))
	for i, a := range args {
		if a == nil {
			return false
		}
		op := lc.ops[i&15]
		switch op.kind {
		case opWord:
			words[op.word] = *(*uint64)(a)
		case opPointer:
			// Typed, so that if the trampoline's prologue copies the stack, a pointer into
			// it is updated.
			f.Ptrs[op.word&7] = *(*unsafe.Pointer)(a)
		case opU32:
			words[op.word] = uint64(*(*uint32)(a))
		case opI32:
			words[op.word] = uint64(int64(*(*int32)(a)))
		default:
			words[op.word] = widen(a, lc.args[i&15])
		}
	}
	r, fr, ok := fastcall.Call(lc.code, &f, lc.shape)
	fastChecked(ok, "a leaf function")
	switch lc.retOp {
	case opWord:
		*(*uint64)(ret) = fr
	case opU32:
		*(*uint32)(ret) = uint32(fr)
	case opInt:
		*(*uint64)(ret) = extend(r, lc.ret)
	}
	return true
}
