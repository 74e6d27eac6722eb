// The fast path's trampoline for AArch64 AAPCS64: calls a C function on the goroutine's own
// stack, with no cgo transition (see the ffikit package's fast.go for the rules that make this sound).

#include "textflag.h"
#include "funcdata.h"

// "ffikit!!": written at the frame's lowest word before the call and checked after it.
#define CANARY $0x212174696b696666

// func Call(fn uintptr, f *Frame) (ok bool)
//
// Not NOSPLIT: the prologue grows the goroutine stack, once, until the frame fits. The frame
// holds no Go pointers. C runs with RSP at the frame's top (16-byte aligned) and grows down
// towards the canary at 8(RSP) (0(RSP) holds the saved LR); the old RSP is kept in R19, the
// frame pointer in R20 (both callee-saved in AAPCS64; g in R28 is too). Argument registers:
// x0-x7 from ints[i] | ptrs[i], d0-d7 from floats[i].
TEXT ·Call(SB), 0, $32768-17
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD f+8(FP), R20
	MOVD CANARY, R10
	MOVD R10, 8(RSP)
	MOVD RSP, R19
	MOVD RSP, R10
	ADD $32768, R10
	AND $~15, R10
	MOVD R10, RSP
	MOVD 0(R20), R0
	MOVD 64(R20), R10
	ORR R10, R0
	MOVD 8(R20), R1
	MOVD 72(R20), R10
	ORR R10, R1
	MOVD 16(R20), R2
	MOVD 80(R20), R10
	ORR R10, R2
	MOVD 24(R20), R3
	MOVD 88(R20), R10
	ORR R10, R3
	MOVD 32(R20), R4
	MOVD 96(R20), R10
	ORR R10, R4
	MOVD 40(R20), R5
	MOVD 104(R20), R10
	ORR R10, R5
	MOVD 48(R20), R6
	MOVD 112(R20), R10
	ORR R10, R6
	MOVD 56(R20), R7
	MOVD 120(R20), R10
	ORR R10, R7
	FMOVD 128(R20), F0
	FMOVD 136(R20), F1
	FMOVD 144(R20), F2
	FMOVD 152(R20), F3
	FMOVD 160(R20), F4
	FMOVD 168(R20), F5
	FMOVD 176(R20), F6
	FMOVD 184(R20), F7
	CALL (R9)
	MOVD R19, RSP
	MOVD R0, 200(R20)
	FMOVD F0, 208(R20)
	MOVD 8(RSP), R1
	MOVD CANARY, R2
	CMP R1, R2
	CSET EQ, R3
	MOVB R3, ok+16(FP)
	RET
