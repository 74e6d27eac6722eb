// The fast path's trampoline for x86-64 System V: calls a C function on the goroutine's own
// stack, with no cgo transition (see the ffikit package's fast.go for the rules that make this sound).

#include "textflag.h"
#include "funcdata.h"

// The frame C runs in: FrameBytes in frame.go.
#define FRAME 32768
// "ffikit!!": written at the frame's lowest word before the call and checked after it.
#define CANARY $0x212174696b696666

// ENTER writes the canary at the frame's lowest word, keeps the Go SP in R12 (callee-saved
// in System V) and moves SP to the frame's top, 16-byte aligned. It clobbers AX.
#define ENTER \
	MOVQ CANARY, AX; \
	MOVQ AX, 0(SP); \
	MOVQ SP, R12; \
	LEAQ FRAME(SP), SP; \
	ANDQ $~15, SP

// Between ENTER and LEAVE the assembler's FP and SP names point into C's stack (they are
// offsets from the hardware SP): results go through a register or after LEAVE.
//
// LEAVE restores the Go SP and sets the flags to "canary intact" (EQ). It clobbers CX.
#define LEAVE \
	MOVQ R12, SP; \
	MOVQ CANARY, CX; \
	CMPQ CX, 0(SP)

// func Call(fn uintptr, f *Frame, shape uint64) (r, fr uint64, ok bool)
//
// Not NOSPLIT: the prologue grows the goroutine stack, once, until FRAME bytes fit. The frame
// holds no Go pointers. C runs with SP at the frame's top (16-byte aligned) and grows down
// towards the canary at 0(SP); the old SP is kept in R12, the frame pointer in R13 (both
// callee-saved in System V), the shape in BX (callee-saved too). Argument registers: the
// first shape&0xff of rdi rsi rdx rcx r8 r9 from Ints[i] | Ptrs[i], the first
// (shape>>8)&0xff of xmm0-7 from Floats[i] (each class is assigned in order, so counts
// suffice, and a call loads only what it passes), %al from shape>>16 (the vector registers
// of a variadic call). r and fr are rax and xmm0 after the call.
TEXT ·Call(SB), 0, $32768-41
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ f+8(FP), R13
	MOVQ shape+16(FP), BX
	ENTER
	MOVBQZX BX, R11
	TESTQ R11, R11
	JEQ floats
	MOVQ 0(R13), DI
	ORQ 64(R13), DI
	CMPQ R11, $1
	JEQ floats
	MOVQ 8(R13), SI
	ORQ 72(R13), SI
	CMPQ R11, $2
	JEQ floats
	MOVQ 16(R13), DX
	ORQ 80(R13), DX
	CMPQ R11, $3
	JEQ floats
	MOVQ 24(R13), CX
	ORQ 88(R13), CX
	CMPQ R11, $4
	JEQ floats
	MOVQ 32(R13), R8
	ORQ 96(R13), R8
	CMPQ R11, $5
	JEQ floats
	MOVQ 40(R13), R9
	ORQ 104(R13), R9
floats:
	MOVQ BX, R11
	SHRQ $8, R11
	MOVBQZX R11, R11
	TESTQ R11, R11
	JEQ call
	MOVSD 128(R13), X0
	CMPQ R11, $1
	JEQ call
	MOVSD 136(R13), X1
	CMPQ R11, $2
	JEQ call
	MOVSD 144(R13), X2
	CMPQ R11, $3
	JEQ call
	MOVSD 152(R13), X3
	CMPQ R11, $4
	JEQ call
	MOVSD 160(R13), X4
	CMPQ R11, $5
	JEQ call
	MOVSD 168(R13), X5
	CMPQ R11, $6
	JEQ call
	MOVSD 176(R13), X6
	CMPQ R11, $7
	JEQ call
	MOVSD 184(R13), X7
call:
	MOVQ BX, AX
	SHRQ $16, AX
	CALL R10
	LEAVE
	MOVQ AX, r+24(FP)
	MOVSD X0, fr+32(FP)
	SETEQ ok+40(FP)
	RET

// The kernels' trampolines take their arguments directly (no Frame to fill and zero) and
// load only the registers the kernel reads; the frame, canary and stack switch are Call's.
// %al is left as ENTER sets it: none of them is variadic.

// func CallI2(fn uintptr, a0, a1 uint64) (r uint64, ok bool)
TEXT ·CallI2(SB), 0, $32768-33
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ a0+8(FP), DI
	MOVQ a1+16(FP), SI
	ENTER
	CALL R10
	LEAVE
	MOVQ AX, r+24(FP)
	SETEQ ok+32(FP)
	RET

// func CallP1N(fn uintptr, p0 unsafe.Pointer, n uint64) (r float64, ok bool)
TEXT ·CallP1N(SB), 0, $32768-33
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ p0+8(FP), DI
	MOVQ n+16(FP), SI
	ENTER
	CALL R10
	LEAVE
	MOVSD X0, r+24(FP)
	SETEQ ok+32(FP)
	RET

// func CallP2N(fn uintptr, p0, p1 unsafe.Pointer, n uint64, x0 float64) (r float64, ok bool)
TEXT ·CallP2N(SB), 0, $32768-49
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ p0+8(FP), DI
	MOVQ p1+16(FP), SI
	MOVQ n+24(FP), DX
	MOVSD x0+32(FP), X0
	ENTER
	CALL R10
	LEAVE
	MOVSD X0, r+40(FP)
	SETEQ ok+48(FP)
	RET

// func CallP3N(fn uintptr, p0, p1, p2 unsafe.Pointer, n uint64) (ok bool)
TEXT ·CallP3N(SB), 0, $32768-41
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ p0+8(FP), DI
	MOVQ p1+16(FP), SI
	MOVQ p2+24(FP), DX
	MOVQ n+32(FP), CX
	ENTER
	CALL R10
	LEAVE
	SETEQ ok+40(FP)
	RET
