// The fast path's trampoline for AArch64 AAPCS64: calls a C function on the goroutine's own
// stack, with no cgo transition (see the ffikit package's fast.go for the rules that make this sound).

#include "textflag.h"
#include "funcdata.h"

// "ffikit!!": written at the frame's lowest word before the call and checked after it.
#define CANARY $0x212174696b696666

// ENTER writes the canary at the frame's lowest free word (8(RSP); 0(RSP) holds the saved
// LR), keeps the Go RSP in R19 (callee-saved in AAPCS64) and moves RSP to the frame's top,
// 16-byte aligned. It clobbers R10. The prologue saved the caller's frame pointer and LR at
// the frame's bottom (-8(RSP), 0(RSP)), just under the canary, where a callee that overruns
// the frame writes first: ENTER keeps copies in R21 and R22 (callee-saved) and LEAVE puts
// them back, so the epilogue returns and the canary failure is reported.
#define ENTER \
	LDP -8(RSP), (R21, R22); \
	MOVD CANARY, R10; \
	MOVD R10, 8(RSP); \
	MOVD RSP, R19; \
	MOVD RSP, R10; \
	ADD $32768, R10; \
	AND $~15, R10; \
	MOVD R10, RSP

// Between ENTER and LEAVE the assembler's FP and SP names point into C's stack (they are
// offsets from the hardware RSP): results go through a register or after LEAVE.
//
// LEAVE restores the Go RSP and sets the flags to "canary intact" (EQ). It clobbers R10
// and R11.
#define LEAVE \
	MOVD R19, RSP; \
	STP (R21, R22), -8(RSP); \
	MOVD 8(RSP), R10; \
	MOVD CANARY, R11; \
	CMP R10, R11

// func Call(fn uintptr, f *Frame, shape uint64) (r, fr uint64, ok bool)
//
// Not NOSPLIT: the prologue grows the goroutine stack, once, until the frame fits. The frame
// holds no Go pointers. C runs with RSP at the frame's top (16-byte aligned) and grows down
// towards the canary at 8(RSP) (0(RSP) holds the saved LR); the old RSP is kept in R19, the
// frame pointer in R20 (both callee-saved in AAPCS64; g in R28 is too). Argument registers:
// the first shape&0xff of x0-x7 from Ints[i] | Ptrs[i], the first (shape>>8)&0xff of d0-d7
// from Floats[i] (each class is assigned in order, so counts suffice). r and fr are x0 and
// d0 after the call.
TEXT ·Call(SB), 0, $32768-41
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD f+8(FP), R20
	MOVD shape+16(FP), R12
	AND $0xff, R12, R13
	LSR $8, R12, R14
	AND $0xff, R14, R14
	ENTER
	CMP $0, R13
	BEQ floats
	MOVD 0(R20), R0
	MOVD 64(R20), R10
	ORR R10, R0
	CMP $1, R13
	BEQ floats
	MOVD 8(R20), R1
	MOVD 72(R20), R10
	ORR R10, R1
	CMP $2, R13
	BEQ floats
	MOVD 16(R20), R2
	MOVD 80(R20), R10
	ORR R10, R2
	CMP $3, R13
	BEQ floats
	MOVD 24(R20), R3
	MOVD 88(R20), R10
	ORR R10, R3
	CMP $4, R13
	BEQ floats
	MOVD 32(R20), R4
	MOVD 96(R20), R10
	ORR R10, R4
	CMP $5, R13
	BEQ floats
	MOVD 40(R20), R5
	MOVD 104(R20), R10
	ORR R10, R5
	CMP $6, R13
	BEQ floats
	MOVD 48(R20), R6
	MOVD 112(R20), R10
	ORR R10, R6
	CMP $7, R13
	BEQ floats
	MOVD 56(R20), R7
	MOVD 120(R20), R10
	ORR R10, R7
floats:
	CMP $0, R14
	BEQ call
	FMOVD 128(R20), F0
	CMP $1, R14
	BEQ call
	FMOVD 136(R20), F1
	CMP $2, R14
	BEQ call
	FMOVD 144(R20), F2
	CMP $3, R14
	BEQ call
	FMOVD 152(R20), F3
	CMP $4, R14
	BEQ call
	FMOVD 160(R20), F4
	CMP $5, R14
	BEQ call
	FMOVD 168(R20), F5
	CMP $6, R14
	BEQ call
	FMOVD 176(R20), F6
	CMP $7, R14
	BEQ call
	FMOVD 184(R20), F7
call:
	CALL (R9)
	LEAVE
	MOVD R0, r+24(FP)
	FMOVD F0, fr+32(FP)
	CSET EQ, R3
	MOVB R3, ok+40(FP)
	RET

// The kernels' trampolines take their arguments directly (no Frame to fill and zero) and
// load only the registers the kernel reads; the frame, canary and stack switch are Call's.

// func CallI2(fn uintptr, a0, a1 uint64) (r uint64, ok bool)
TEXT ·CallI2(SB), 0, $32768-33
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD a0+8(FP), R0
	MOVD a1+16(FP), R1
	ENTER
	CALL (R9)
	LEAVE
	MOVD R0, r+24(FP)
	CSET EQ, R3
	MOVB R3, ok+32(FP)
	RET

// func CallP1N(fn uintptr, p0 unsafe.Pointer, n uint64) (r float64, ok bool)
TEXT ·CallP1N(SB), 0, $32768-33
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD p0+8(FP), R0
	MOVD n+16(FP), R1
	ENTER
	CALL (R9)
	LEAVE
	FMOVD F0, r+24(FP)
	CSET EQ, R3
	MOVB R3, ok+32(FP)
	RET

// func CallP2N(fn uintptr, p0, p1 unsafe.Pointer, n uint64, x0 float64) (r float64, ok bool)
TEXT ·CallP2N(SB), 0, $32768-49
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD p0+8(FP), R0
	MOVD p1+16(FP), R1
	MOVD n+24(FP), R2
	FMOVD x0+32(FP), F0
	ENTER
	CALL (R9)
	LEAVE
	FMOVD F0, r+40(FP)
	CSET EQ, R3
	MOVB R3, ok+48(FP)
	RET

// func CallP3N(fn uintptr, p0, p1, p2 unsafe.Pointer, n uint64) (ok bool)
TEXT ·CallP3N(SB), 0, $32768-41
	NO_LOCAL_POINTERS
	MOVD fn+0(FP), R9
	MOVD p0+8(FP), R0
	MOVD p1+16(FP), R1
	MOVD p2+24(FP), R2
	MOVD n+32(FP), R3
	ENTER
	CALL (R9)
	LEAVE
	CSET EQ, R3
	MOVB R3, ok+40(FP)
	RET
