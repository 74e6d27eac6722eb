// The fast path's trampoline for x86-64 System V: calls a C function on the goroutine's own
// stack, with no cgo transition (see the ffikit package's fast.go for the rules that make this sound).

#include "textflag.h"
#include "funcdata.h"

// The frame C runs in: FrameBytes in frame.go.
#define FRAME 32768
// "ffikit!!": written at the frame's lowest word before the call and checked after it.
#define CANARY $0x212174696b696666

// func Call(fn uintptr, f *Frame) (ok bool)
//
// Not NOSPLIT: the prologue grows the goroutine stack, once, until FRAME bytes fit. The frame
// holds no Go pointers. C runs with SP at the frame's top (16-byte aligned) and grows down
// towards the canary at 0(SP); the old SP is kept in R12, the frame pointer in R13 (both
// callee-saved in System V). Argument registers: rdi rsi rdx rcx r8 r9 from ints[i] |
// ptrs[i], xmm0-7 from floats[i], %al from vecs (vector registers of a variadic call).
TEXT ·Call(SB), 0, $32768-17
	NO_LOCAL_POINTERS
	MOVQ fn+0(FP), R10
	MOVQ f+8(FP), R13
	MOVQ CANARY, AX
	MOVQ AX, 0(SP)
	MOVQ SP, R12
	LEAQ FRAME(SP), SP
	ANDQ $~15, SP
	MOVQ 0(R13), DI
	ORQ 64(R13), DI
	MOVQ 8(R13), SI
	ORQ 72(R13), SI
	MOVQ 16(R13), DX
	ORQ 80(R13), DX
	MOVQ 24(R13), CX
	ORQ 88(R13), CX
	MOVQ 32(R13), R8
	ORQ 96(R13), R8
	MOVQ 40(R13), R9
	ORQ 104(R13), R9
	MOVSD 128(R13), X0
	MOVSD 136(R13), X1
	MOVSD 144(R13), X2
	MOVSD 152(R13), X3
	MOVSD 160(R13), X4
	MOVSD 168(R13), X5
	MOVSD 176(R13), X6
	MOVSD 184(R13), X7
	MOVQ 192(R13), AX
	CALL R10
	MOVQ R12, SP
	MOVQ AX, 200(R13)
	MOVSD X0, 208(R13)
	MOVQ CANARY, CX
	CMPQ CX, 0(SP)
	SETEQ ok+16(FP)
	RET
