//! The x86-64 compiled call stub: one call plan ([`Plan`]) turned into straight-line machine
//! code that makes the raw call (`ffikit_call`'s convention: an array of argument pointers and
//! a return slot) with no loop, no match and no indirect jump. `crate::stub` maps and caches
//! the bytes; this file only encodes them.
//!
//! # The stub's own calling convention (System V)
//! `uint32_t stub(const void *code, void *const *args, void *ret, void *sink,
//! uint32_t (*report)(void *sink, uint32_t code))` (`ffi_trait::raw::RawRoutine`): `rdi` the
//! function to call, `rsi` the argument pointers, `rdx` the return slot, `rcx` and `r8` what
//! a missing pointer is reported to. It returns 0 after the call, or, with nothing called,
//! jumps to `report(sink, code)` with the fault code of the first missing pointer
//! (`ffi_trait::raw::MissingPointer::code`): `args` null (for a function with parameters),
//! `ret` null (for a function that returns a value), or `args[k]` null. The jump is a tail
//! call (the stack is as the stub found it), so `report`'s result is the stub's.
//!
//! # What it does
//! ```text
//!   push rbx                                      ; rsp is 16-byte aligned again
//!   mov rbx, rdx; mov r11, rdi                    ; the return slot and the function
//!   sub rsp, 16 * ceil(stack words / 2)           ; outgoing stack arguments, if any
//!   test rsi, rsi / test rbx, rbx; jz fault       ; when the plan needs them
//!   cmp qword [rsi + 8k], 0; je fault             ; every argument pointer, in order,
//!                                                 ; before `rcx` and `r8` are overwritten
//!   for each stack piece:    rax = args[k]; copy its bytes to [rsp + 8w]
//!   for each register piece: rax = args[k]; load it with its type's width
//!                            (the argument in `rsi`, which holds `args`, comes last)
//!   mov eax, <vector registers used>              ; variadic calls only (§3.5.7)
//!   call r11
//!   store the return registers into [rbx] as the plan says
//!   xor eax, eax; add rsp, ...; pop rbx; ret
//! fault k:
//!   mov rdi, rcx; mov esi, <fault code k>; add rsp, ...; pop rbx; jmp r8
//! ```
//! The args form (`crate::stub::StubForm::Args`, [`Backend::call`](ffi_trait::Backend::call)'s
//! convention) reads `Arg`s instead: argument `k`'s image at `[rsi + 16k]`, its header at
//! `[rsi + 16k + 8]`. It starts with one `cmp dword [rsi + 16k + 8], header; jne fault` per
//! argument, in order (the argument checks compiled in; nothing is loaded before they all
//! pass), and returns the pair `(bits, fault)` in `rax:rdx`: the scalar return's image and 0,
//! or 0 and 1 from its fault exit.
//!
//! No frame pointer of its own: a frame-pointer walk from the callee goes from the callee's
//! frame to the stub's caller's (the stub never touches `rbp`).
//!
//! Loads follow the System V AMD64 psABI (1.0, §3.2.3): an integer scalar goes to its
//! INTEGER register with its own width (signed kinds sign-extended to 32 bits or more, as
//! GCC and Clang pass `char` and `short`), `bool` as 0 or 1, `float`/`double` to the low bits
//! of an SSE register (a variadic `float` promoted to `double`, C11 §6.5.2.2p7), a struct's
//! eightbytes each from its bytes (never reading past the struct's end), a MEMORY-class struct
//! copied to its stack words. The return is written as `ffi_trait::raw::RawReturn` and the
//! plan's return pieces say (the same bytes the Rust routines write).
//!
//! A plan this encoder does not take (a struct return piece of an odd width in an SSE
//! register, which no System V classification produces) gets `None`: the Rust routines make
//! those calls.

use ffi_trait::raw::MissingPointer;
use ffi_trait::{ArgCheck, ArgKind, Type};

use super::encode::{Asm, R11, RAX, RBX, RCX, RDI, RDX, RSI, RSP};
use crate::abi::plan::{ArgPlan, Loc, Piece, Plan, RetPlan};
use crate::stub::StubForm;

/// The code an args-form stub's fault exit returns in `rdx` (`crate::stub::StubReturn`).
const ARGS_FAULT: u32 = 1;

/// The System V integer argument registers in order: `rdi rsi rdx rcx r8 r9`.
const GP_ARG: [u8; 6] = [RDI, RSI, RDX, RCX, 8, 9];

/// The bytes of a stub of `form` for `plan` (a System V plan of a function returning
/// `ret`), or `None` for a plan the encoder does not take. `variadic`: the function takes
/// variable arguments (the stub sets `al`). `checks`: the args form's argument checks, one
/// per parameter (the raw form ignores them).
pub(crate) fn emit_call_stub(
    plan: &Plan,
    ret: &Type,
    variadic: bool,
    form: StubForm,
    checks: &[ArgCheck],
) -> Option<Vec<u8>> {
    let mut a = Asm {
        frame: 16 * (u32::from(plan.stack_words).div_ceil(2)),
        form,
        ..Asm::default()
    };
    // The return slot survives the call in `rbx` (callee-saved; the push also aligns the
    // stack), the function waits in `r11`, and `rsi` stays the argument array until the
    // argument that goes in `rsi` is loaded last.
    a.push(RBX);
    a.mov_rr(RBX, RDX);
    a.mov_rr(R11, RDI);
    if a.frame > 0 {
        a.sub_rsp(a.frame);
    }
    if form == StubForm::Args {
        if checks.len() != plan.args.len() {
            return None;
        }
        for (k, c) in checks.iter().enumerate() {
            // cmp dword [rsi + 16k + 8], header; jne fault
            a.mem(None, false, &[0x81], 7, RSI, 16 * k as i32 + 8);
            a.code.extend_from_slice(&c.header().to_le_bytes());
            a.jcc_fault(0x85, ARGS_FAULT);
        }
    }
    if form == StubForm::Raw && !plan.args.is_empty() {
        a.test_rr(RSI);
        a.jz_fault(MissingPointer::Args.code());
    }
    if form == StubForm::Raw && !matches!(plan.ret, RetPlan::Void) {
        a.test_rr(RBX);
        a.jz_fault(MissingPointer::Ret.code());
    }
    if form == StubForm::Raw {
        for k in 0..plan.args.len() {
            // cmp qword [rsi + 8k], 0; je fault(args[k] null)
            a.mem(None, true, &[0x83], 7, RSI, 8 * k as i32);
            a.byte(0);
            a.jz_fault(MissingPointer::Arg(k).code());
        }
    }
    // Stack words first: the argument registers are free scratch until the register phase.
    for (k, arg) in plan.args.iter().enumerate() {
        match arg {
            ArgPlan::Scalar {
                expect,
                promote_f32,
                loc: Loc::Stack(w),
                ..
            } => {
                let (base, disp) = a.scalar_operand(k);
                if *promote_f32 {
                    // cvtss2sd xmm15, [value]; movsd [rsp + 8w], xmm15
                    a.sse_load(0xF3, 0x5A, 15, base, disp);
                    a.mem(Some(0xF2), false, &[0x0F, 0x11], 15, RSP, 8 * i32::from(*w));
                } else {
                    a.load_scalar_gp(RDI, *expect, base, disp)?;
                    a.store(8, RDI, RSP, 8 * i32::from(*w));
                }
            }
            ArgPlan::Pieces { pieces, .. } if pieces.iter().any(|p| is_stack(p.loc)) => {
                a.struct_pointer(k);
                for p in pieces.iter() {
                    let Loc::Stack(w) = p.loc else { return None };
                    a.load_bytes(RDI, RAX, i32::from(p.offset), p.len)?;
                    a.store(8, RDI, RSP, 8 * i32::from(w));
                }
            }
            ArgPlan::StackCopy { size, word } => {
                a.struct_pointer(k);
                let mut off = 0u32;
                while off < *size {
                    let len = (*size - off).min(8) as u8;
                    a.load_bytes(RDI, RAX, off as i32, len)?;
                    a.store(8, RDI, RSP, 8 * i32::from(*word) + off as i32);
                    off += 8;
                }
            }
            ArgPlan::ByRef { .. } => return None,
            _ => {}
        }
    }
    // The hidden return pointer (§3.2.3: a MEMORY-class return's address goes in `rdi`).
    if matches!(plan.ret, RetPlan::Indirect { .. }) {
        if !plan.sret_in_gp0 {
            return None;
        }
        a.mov_rr(RDI, RBX);
    }
    // Register arguments, the one that goes in `rsi` (if any) last, its `rsi` piece last.
    let in_rsi = plan.args.iter().position(uses_rsi);
    let order = (0..plan.args.len())
        .filter(|&k| Some(k) != in_rsi)
        .chain(in_rsi);
    for k in order {
        match &plan.args[k] {
            ArgPlan::Scalar {
                expect,
                promote_f32,
                loc,
                ..
            } => match *loc {
                Loc::Gp(n) => {
                    let (base, disp) = a.scalar_operand(k);
                    a.load_scalar_gp(*GP_ARG.get(n as usize)?, *expect, base, disp)?;
                }
                Loc::Fp(n) => {
                    let (base, disp) = a.scalar_operand(k);
                    match expect {
                        ArgKind::F64 => a.sse_load(0xF2, 0x10, n, base, disp),
                        ArgKind::F32 if *promote_f32 => a.sse_load(0xF3, 0x5A, n, base, disp),
                        ArgKind::F32 => a.sse_load(0xF3, 0x10, n, base, disp),
                        _ => return None,
                    }
                }
                Loc::Stack(_) => {}
            },
            ArgPlan::Pieces { pieces, .. } if !pieces.iter().any(|p| is_stack(p.loc)) => {
                a.struct_pointer(k);
                let (last, first): (Vec<&Piece>, Vec<&Piece>) =
                    pieces.iter().partition(|p| p.loc == Loc::Gp(1));
                for p in first.into_iter().chain(last) {
                    a.load_piece(p)?;
                }
            }
            _ => {}
        }
    }
    if variadic {
        // A variadic call: `al` bounds the vector registers used (§3.5.7).
        a.mov_eax_imm(u32::try_from(plan.extra).ok()?);
    }
    a.call_r11();
    a.store_return(plan, ret)?;
    match form {
        StubForm::Raw => a.xor_eax(),
        // xor edx, edx: no fault (after the return's pieces, which may read `rdx`).
        StubForm::Args => a.code.extend_from_slice(&[0x31, 0xD2]),
    }
    a.epilogue();
    a.emit_faults();
    Some(a.finish())
}

/// Whether an argument puts (a piece of) itself in `rsi`, integer argument register 1.
fn uses_rsi(arg: &ArgPlan) -> bool {
    match arg {
        ArgPlan::Scalar { loc, .. } => *loc == Loc::Gp(1),
        ArgPlan::Pieces { pieces, .. } => pieces.iter().any(|p| p.loc == Loc::Gp(1)),
        _ => false,
    }
}

fn is_stack(loc: Loc) -> bool {
    matches!(loc, Loc::Stack(_))
}

/// The stub-specific forms: reading arguments by the stub's convention, the return, and
/// the fault exits.
impl Asm {
    /// `rax = args[k]` (the raw form; checked present at the stub's start).
    fn arg_pointer(&mut self, k: usize) {
        self.mem(None, true, &[0x8B], RAX, RSI, 8 * k as i32);
    }

    /// Where scalar argument `k` is read: `[rax]` after [`Asm::arg_pointer`] (raw form), or
    /// its image in the `Arg` at `[rsi + 16k]` (args form).
    fn scalar_operand(&mut self, k: usize) -> (u8, i32) {
        match self.form {
            StubForm::Raw => {
                self.arg_pointer(k);
                (RAX, 0)
            }
            StubForm::Args => (RSI, 16 * k as i32),
        }
    }

    /// `rax` = the address of struct argument `k`'s bytes.
    fn struct_pointer(&mut self, k: usize) {
        match self.form {
            StubForm::Raw => self.arg_pointer(k),
            StubForm::Args => self.mem(None, true, &[0x8B], RAX, RSI, 16 * k as i32),
        }
    }

    /// Loads scalar argument of kind `kind` at `[base + disp]` into integer register `dst`:
    /// with its width in the raw form (the register image `ArgKind::raw_image` gives), or
    /// the `Arg`'s 64-bit image, already that, in the args form.
    fn load_scalar_gp(&mut self, dst: u8, kind: ArgKind, base: u8, disp: i32) -> Option<()> {
        if self.form == StubForm::Args {
            if kind == ArgKind::Struct {
                return None;
            }
            self.mem(None, true, &[0x8B], dst, base, disp);
            return Some(());
        }
        let (RAX, 0) = (base, disp) else { return None };
        match kind {
            ArgKind::I64
            | ArgKind::U64
            | ArgKind::Isize
            | ArgKind::Usize
            | ArgKind::Ptr
            | ArgKind::Buffer
            | ArgKind::F64 => self.mem(None, true, &[0x8B], dst, RAX, 0),
            // movsxd: the image of an `i32` is its sign extension.
            ArgKind::I32 => self.mem(None, true, &[0x63], dst, RAX, 0),
            ArgKind::U32 | ArgKind::F32 => self.mem(None, false, &[0x8B], dst, RAX, 0),
            ArgKind::I16 => self.mem(None, true, &[0x0F, 0xBF], dst, RAX, 0),
            ArgKind::U16 => self.mem(None, false, &[0x0F, 0xB7], dst, RAX, 0),
            ArgKind::I8 => self.mem(None, true, &[0x0F, 0xBE], dst, RAX, 0),
            ArgKind::U8 => self.mem(None, false, &[0x0F, 0xB6], dst, RAX, 0),
            ArgKind::Bool => {
                // movzx; then neg / sbb / neg: 1 for any non-zero byte, 0 for zero.
                self.mem(None, false, &[0x0F, 0xB6], dst, RAX, 0);
                self.rr(false, &[0xF7], 3, dst);
                self.rr(false, &[0x19], dst, dst);
                self.rr(false, &[0xF7], 3, dst);
            }
            ArgKind::Struct => return None,
        }
        Some(())
    }

    /// One register piece of a struct argument at `[rax]`.
    fn load_piece(&mut self, p: &Piece) -> Option<()> {
        match p.loc {
            Loc::Gp(n) => {
                self.load_bytes(*GP_ARG.get(n as usize)?, RAX, i32::from(p.offset), p.len)
            }
            Loc::Fp(x) => {
                match p.len {
                    8 => self.sse_load(0xF2, 0x10, x, RAX, i32::from(p.offset)),
                    4 => self.sse_load(0xF3, 0x10, x, RAX, i32::from(p.offset)),
                    _ => return None,
                }
                Some(())
            }
            Loc::Stack(_) => None,
        }
    }

    /// Stores `len` (1..=8) low bytes of integer register `src` at `[rbx + disp]`; `r11`
    /// is scratch (the function's address is no longer needed).
    fn store_bytes(&mut self, src: u8, disp: i32, len: u8) {
        if len == 8 {
            self.store(8, src, RBX, disp);
            return;
        }
        self.mov_rr(R11, src);
        let mut off = 0u8;
        for size in [4u8, 2, 1] {
            if len - off >= size {
                self.store(size, R11, RBX, disp + i32::from(off));
                off += size;
                if off < len {
                    // shr r11, 8 * size
                    self.rr(true, &[0xC1], 5, R11);
                    self.byte(8 * size);
                }
            }
        }
    }

    /// Writes the return registers to `[rbx]` as the raw convention says, or (args form)
    /// leaves a scalar's image in `rax` and writes only a struct's pieces.
    fn store_return(&mut self, plan: &Plan, ret: &Type) -> Option<()> {
        if self.form == StubForm::Args {
            match &plan.ret {
                RetPlan::Float => {
                    // movq rax, xmm0
                    self.code.extend_from_slice(&[0x66, 0x48, 0x0F, 0x7E, 0xC0]);
                    return Some(());
                }
                RetPlan::Void | RetPlan::Int | RetPlan::Indirect { .. } => return Some(()),
                RetPlan::Pieces { .. } => {}
            }
        }
        match &plan.ret {
            RetPlan::Void | RetPlan::Indirect { .. } => {}
            RetPlan::Float => match ret {
                Type::F64 => self.mem(Some(0xF2), false, &[0x0F, 0x11], 0, RBX, 0),
                Type::F32 => self.mem(Some(0xF3), false, &[0x0F, 0x11], 0, RBX, 0),
                _ => return None,
            },
            RetPlan::Int => {
                // Widen `rax` to the 64-bit image `RawReturn::write` stores.
                match ret {
                    Type::Bool => {
                        // test al, al; setne al; movzx eax, al
                        self.code.extend_from_slice(&[0x84, 0xC0, 0x0F, 0x95, 0xC0]);
                        self.rr(false, &[0x0F, 0xB6], RAX, RAX);
                    }
                    Type::I8 => self.rr(true, &[0x0F, 0xBE], RAX, RAX),
                    Type::U8 => self.rr(false, &[0x0F, 0xB6], RAX, RAX),
                    Type::I16 => self.rr(true, &[0x0F, 0xBF], RAX, RAX),
                    Type::U16 => self.rr(false, &[0x0F, 0xB7], RAX, RAX),
                    Type::I32 => self.rr(true, &[0x63], RAX, RAX),
                    Type::U32 => self.rr(false, &[0x89], RAX, RAX),
                    Type::I64 | Type::U64 | Type::Isize | Type::Usize | Type::Ptr => {}
                    _ => return None,
                }
                self.store(8, RAX, RBX, 0);
            }
            RetPlan::Pieces { pieces, .. } => {
                for p in pieces.iter() {
                    let disp = i32::from(p.offset);
                    match (p.reg, p.len) {
                        (0, len) => self.store_bytes(RAX, disp, len),
                        (1, len) => self.store_bytes(RDX, disp, len),
                        (x @ (2 | 3), 8) => {
                            self.mem(Some(0xF2), false, &[0x0F, 0x11], x - 2, RBX, disp)
                        }
                        (x @ (2 | 3), 4) => {
                            self.mem(Some(0xF3), false, &[0x0F, 0x11], x - 2, RBX, disp)
                        }
                        _ => return None,
                    }
                }
            }
        }
        Some(())
    }

    /// The fault exits: for each jump, `mov rdi, rcx; mov esi, code` and the epilogue
    /// ending in `jmp r8` (the report's tail call), or, in the args form, `xor eax, eax;
    /// mov edx, code` and the epilogue (exits of the same code shared).
    fn emit_faults(&mut self) {
        let mut faults = std::mem::take(&mut self.faults);
        faults.sort_by_key(|&(_, code)| code);
        let mut exit = None;
        for (at, code) in faults {
            let here = match exit {
                Some((c, here)) if c == code => here,
                _ => {
                    let here = self.code.len();
                    if self.form == StubForm::Args {
                        self.xor_eax();
                        // mov edx, code
                        self.byte(0xBA);
                        self.code.extend_from_slice(&code.to_le_bytes());
                        self.epilogue();
                    } else {
                        // mov rdi, rcx; mov esi, code
                        self.mov_rr(RDI, RCX);
                        self.byte(0xBE);
                        self.code.extend_from_slice(&code.to_le_bytes());
                        self.epilogue_to(&[0x41, 0xFF, 0xE0]); // jmp r8
                    }
                    exit = Some((code, here));
                    here
                }
            };
            let rel = (here - (at + 4)) as i32;
            self.code[at..at + 4].copy_from_slice(&rel.to_le_bytes());
        }
    }
}
