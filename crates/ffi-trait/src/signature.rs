//! Function signatures and their text form.
//!
//! # Grammar
//!
//! ```text
//! signature := type '(' params ')'
//! params    := <empty>
//!            | '...' tail
//!            | type (',' type)* (',' '...' tail)?
//! tail      := (',' type)*
//! type      := 'void' | 'bool' | 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64'
//!            | 'isize' | 'usize' | 'f32' | 'f64' | 'ptr'
//!            | '{' type (',' type)* '}'
//! ```
//!
//! Whitespace is allowed between tokens. `void` is only valid as the return type. A variadic
//! signature lists the fixed arguments, then `...`, then the types of the variadic arguments
//! passed at one call site: `i32(ptr, usize, ptr, ..., f64, i32)` describes one call of
//! `snprintf(buf, n, fmt, 1.5, 7)`. The variadic types are the C types of the expressions
//! passed; default argument promotions (C11 §6.5.2.2p6: `float` to `double`, integers narrower
//! than `int` to `int`) are the backend's job, as in libffi's `ffi_prep_cif_var`.
//!
//! [`Signature`]'s `Display` prints the canonical form (`", "` between items), and parsing that
//! form gives back an equal signature.

use std::fmt;
use std::str::FromStr;

use crate::types::{StructType, Type};

/// How deeply structs may nest in a signature's text; deeper input is rejected with a
/// [`ParseError`] rather than risking the parser's stack.
pub const MAX_STRUCT_DEPTH: usize = 16;

/// A function signature: return type, argument types, and where the variadic part begins.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    ret: Type,
    args: Vec<Type>,
    /// `Some(n)`: variadic, the first `n` arguments are the fixed ones.
    fixed: Option<usize>,
}

impl Signature {
    /// A non-variadic signature.
    ///
    /// # Errors
    /// [`SignatureError`] when an argument is `void`.
    pub fn new(ret: Type, args: Vec<Type>) -> Result<Signature, SignatureError> {
        Signature::build(ret, args, None)
    }

    /// A variadic signature whose first `fixed` arguments are the named parameters and whose
    /// remaining arguments are the variadic ones of one call site.
    ///
    /// # Errors
    /// [`SignatureError`] when an argument is `void` or `fixed > args.len()`.
    pub fn variadic(ret: Type, args: Vec<Type>, fixed: usize) -> Result<Signature, SignatureError> {
        Signature::build(ret, args, Some(fixed))
    }

    fn build(
        ret: Type,
        args: Vec<Type>,
        fixed: Option<usize>,
    ) -> Result<Signature, SignatureError> {
        if let Some(i) = args.iter().position(|t| *t == Type::Void) {
            return Err(SignatureError::VoidArgument { index: i });
        }
        if let Some(n) = fixed
            && n > args.len()
        {
            return Err(SignatureError::FixedCount {
                fixed: n,
                args: args.len(),
            });
        }
        Ok(Signature { ret, args, fixed })
    }

    /// Parses the text form (see the module docs).
    ///
    /// # Errors
    /// [`ParseError`] with the byte position and what was expected there.
    pub fn parse(text: &str) -> Result<Signature, ParseError> {
        Parser::new(text).signature()
    }

    /// The return type.
    pub fn ret(&self) -> &Type {
        &self.ret
    }

    /// All argument types, fixed then variadic.
    pub fn args(&self) -> &[Type] {
        &self.args
    }

    /// True when the signature has a variadic part (`...`).
    pub fn is_variadic(&self) -> bool {
        self.fixed.is_some()
    }

    /// Number of fixed (named) arguments: all of them for a non-variadic signature.
    pub fn fixed_count(&self) -> usize {
        self.fixed.unwrap_or(self.args.len())
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.ret)?;
        let mut first = true;
        for (i, arg) in self.args.iter().enumerate() {
            if self.fixed == Some(i) {
                f.write_str(if first { "..." } else { ", ..." })?;
                first = false;
            }
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{arg}")?;
            first = false;
        }
        if self.fixed == Some(self.args.len()) {
            f.write_str(if first { "..." } else { ", ..." })?;
        }
        f.write_str(")")
    }
}

impl FromStr for Signature {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Signature, ParseError> {
        Signature::parse(s)
    }
}

/// A signature built from parts that no C function can have.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Argument `index` is `void`, which is only a return type.
    #[error("argument {index} is void, which is only valid as a return type")]
    VoidArgument {
        /// Zero-based argument index.
        index: usize,
    },
    /// More fixed arguments were claimed than there are arguments.
    #[error("{fixed} fixed arguments claimed but the signature has only {args} arguments")]
    FixedCount {
        /// The fixed count asked for.
        fixed: usize,
        /// The number of arguments given.
        args: usize,
    },
}

/// A syntax error in a signature's text: where it happened and what was expected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid signature `{text}`: at byte {position}: expected {expected}, found {found}")]
pub struct ParseError {
    /// The whole text that was parsed.
    pub text: String,
    /// Byte offset into `text` of the offending token.
    pub position: usize,
    /// What the grammar allowed at that point, in words.
    pub expected: String,
    /// What was there instead, quoted, or `end of input`.
    pub found: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Ellipsis,
    Invalid(char),
    End,
}

impl fmt::Display for Token<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Ident(s) => write!(f, "`{s}`"),
            Token::LParen => f.write_str("`(`"),
            Token::RParen => f.write_str("`)`"),
            Token::LBrace => f.write_str("`{`"),
            Token::RBrace => f.write_str("`}`"),
            Token::Comma => f.write_str("`,`"),
            Token::Ellipsis => f.write_str("`...`"),
            Token::Invalid(c) if c.is_control() => write!(f, "`{}`", c.escape_default()),
            Token::Invalid(c) => write!(f, "`{c}`"),
            Token::End => f.write_str("end of input"),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

const TYPE_WORDS: &str =
    "a type (bool, i8, u8, i16, u16, i32, u32, i64, u64, isize, usize, f32, f64, ptr or `{...}`)";

const RETURN_WORDS: &str = "a return type (void, bool, i8, u8, i16, u16, i32, u32, i64, u64, \
     isize, usize, f32, f64, ptr or `{...}`)";

/// The ffikit type a C (or Rust, or libffi) type name is written as, for the error of a
/// signature that uses that name: `double` is `f64`. LP64 sizes (`long` is 64-bit), as on
/// the targets ffikit supports.
fn suggestion(name: &str) -> Option<&'static str> {
    Some(match name {
        "double" | "f64_t" | "float64" | "float64_t" => "f64",
        "float" | "float32" | "float32_t" => "f32",
        "int" | "signed" | "int32_t" | "sint32" | "long32" => "i32",
        "unsigned" | "uint" | "uint32_t" | "uint32" => "u32",
        "long" | "int64_t" | "sint64" | "longlong" => "i64",
        "ulong" | "uint64_t" | "uint64" => "u64",
        "short" | "int16_t" | "sint16" => "i16",
        "ushort" | "uint16_t" | "uint16" => "u16",
        "char" | "schar" | "int8_t" | "sint8" => "i8",
        "uchar" | "uint8_t" | "uint8" | "byte" => "u8",
        "size_t" | "uintptr_t" | "usize_t" => "usize",
        "ssize_t" | "intptr_t" | "ptrdiff_t" | "off_t" => "isize",
        "_Bool" | "boolean" => "bool",
        "pointer" | "voidptr" | "void_p" | "string" | "cstring" | "str" => "ptr",
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Parser<'a> {
        Parser { text, pos: 0 }
    }

    fn skip_ws(&mut self) {
        let rest = &self.text[self.pos..];
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// The next token and its start, without consuming it.
    fn peek(&mut self) -> (Token<'a>, usize, usize) {
        self.skip_ws();
        let start = self.pos;
        let rest = &self.text[start..];
        let Some(c) = rest.chars().next() else {
            return (Token::End, start, 0);
        };
        let (tok, len) = match c {
            '(' => (Token::LParen, 1),
            ')' => (Token::RParen, 1),
            '{' => (Token::LBrace, 1),
            '}' => (Token::RBrace, 1),
            ',' => (Token::Comma, 1),
            '.' if rest.starts_with("...") => (Token::Ellipsis, 3),
            c if c.is_ascii_alphanumeric() || c == '_' => {
                let len = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (Token::Ident(&rest[..len]), len)
            }
            other => (Token::Invalid(other), other.len_utf8()),
        };
        (tok, start, len)
    }

    fn next(&mut self) -> (Token<'a>, usize) {
        let (tok, start, len) = self.peek();
        self.pos = start + len;
        (tok, start)
    }

    fn error(&self, position: usize, expected: &str, found: Token<'_>) -> ParseError {
        ParseError {
            text: self.text.to_owned(),
            position,
            expected: expected.to_owned(),
            found: found.to_string(),
        }
    }

    /// Whether the next character is `*` (a C pointer declarator after a type name).
    fn pointer_follows(&self) -> bool {
        self.text[self.pos..].trim_start().starts_with('*')
    }

    /// The error of type name `name` (just read, at `at`) that is not a type of the grammar:
    /// what was expected, and, for a C name (`double`, `char *`), how it is written here.
    fn unknown_type(&self, at: usize, expected: &str, name: &str) -> ParseError {
        let pointer = self.pointer_follows();
        let hint = if pointer {
            Some("ptr")
        } else {
            suggestion(name).or_else(|| suggestion(&name.to_ascii_lowercase()))
        };
        let mut e = self.error(at, expected, Token::Ident(name));
        if let Some(ours) = hint {
            let star = if pointer { " *" } else { "" };
            e.found = format!("`{name}{star}` (write `{ours}` for it)");
        }
        e
    }

    fn expect(&mut self, want: Token<'static>, words: &str) -> Result<(), ParseError> {
        let (tok, at) = self.next();
        if tok == want {
            Ok(())
        } else {
            Err(self.error(at, words, tok))
        }
    }

    fn signature(&mut self) -> Result<Signature, ParseError> {
        let ret = self.ty(0, Place::Return)?;
        if ret == Type::Void && self.pointer_follows() {
            // `void *f(...)`: a pointer return.
            let at = self.text.len() - self.text.trim_start().len();
            return Err(self.unknown_type(at, RETURN_WORDS, "void"));
        }
        self.expect(Token::LParen, "`(` after the return type")?;
        let mut args = Vec::new();
        let mut fixed = None;
        if self.peek().0 == Token::RParen {
            self.next();
        } else {
            loop {
                let (tok, at, _) = self.peek();
                if tok == Token::Ellipsis {
                    if fixed.is_some() {
                        return Err(self.error(at, "a variadic argument type", tok));
                    }
                    self.next();
                    fixed = Some(args.len());
                } else {
                    args.push(self.arg_type()?);
                }
                let (tok, at) = self.next();
                match tok {
                    Token::RParen => break,
                    Token::Comma => {}
                    other if fixed.is_some() => {
                        return Err(self.error(at, "`,` or `)` after a variadic argument", other));
                    }
                    other => return Err(self.error(at, "`,` or `)` after an argument", other)),
                }
            }
        }
        let (tok, at) = self.next();
        if tok != Token::End {
            return Err(self.error(at, "end of input after `)`", tok));
        }
        Ok(Signature { ret, args, fixed })
    }

    fn arg_type(&mut self) -> Result<Type, ParseError> {
        self.ty(0, Place::Argument)
    }

    fn ty(&mut self, depth: usize, place: Place) -> Result<Type, ParseError> {
        let (tok, at) = self.next();
        let expected = match place {
            Place::Return => RETURN_WORDS,
            Place::Argument | Place::Field => TYPE_WORDS,
        };
        match tok {
            Token::Ident(name) => match (Type::from_scalar_name(name), place) {
                (Some(Type::Void), Place::Argument) if self.pointer_follows() => {
                    Err(self.unknown_type(at, TYPE_WORDS, name))
                }
                (Some(Type::Void), Place::Argument) => Err(self.error(
                    at,
                    "an argument type (void is only a return type; write `()` for no arguments)",
                    tok,
                )),
                (Some(Type::Void), Place::Field) => {
                    Err(self.error(at, "a field type (void is only a return type)", tok))
                }
                (Some(t), _) => Ok(t),
                (None, _) => Err(self.unknown_type(at, expected, name)),
            },
            Token::LBrace => {
                if depth >= MAX_STRUCT_DEPTH {
                    return Err(self.error(at, "structs nested at most 16 deep", Token::LBrace));
                }
                let mut fields = vec![self.ty(depth + 1, Place::Field)?];
                loop {
                    let (tok, at) = self.next();
                    match tok {
                        Token::RBrace => break,
                        Token::Comma => fields.push(self.ty(depth + 1, Place::Field)?),
                        other => return Err(self.error(at, "`,` or `}` in a struct", other)),
                    }
                }
                // Fields are non-empty and never void here, so layout cannot fail.
                StructType::new(fields)
                    .map(Type::Struct)
                    .map_err(|why| self.error(at, why, Token::LBrace))
            }
            other => Err(self.error(at, expected, other)),
        }
    }
}

/// Where a type appears, for the error message when it is out of place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    Return,
    Argument,
    Field,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scalars_structs_and_variadics() {
        let s = Signature::parse("f64(ptr, usize)").unwrap();
        assert_eq!(s.ret(), &Type::F64);
        assert_eq!(s.args(), &[Type::Ptr, Type::Usize]);
        assert!(!s.is_variadic());

        let s = Signature::parse("i32(ptr, usize, ptr, ..., f64, i32)").unwrap();
        assert!(s.is_variadic());
        assert_eq!(s.fixed_count(), 3);
        assert_eq!(s.args().len(), 5);

        let s = Signature::parse("{i64,i64}( i64 ,i64 )").unwrap();
        assert_eq!(s.to_string(), "{i64, i64}(i64, i64)");

        let s = Signature::parse("void()").unwrap();
        assert_eq!(s.args().len(), 0);
        let s = Signature::parse("i32(...)").unwrap();
        assert_eq!((s.fixed_count(), s.args().len()), (0, 0));
        assert_eq!(s.to_string(), "i32(...)");
        let s = Signature::parse("i32(ptr, ...)").unwrap();
        assert_eq!(s.to_string(), "i32(ptr, ...)");
        let s = Signature::parse("i32(..., i32)").unwrap();
        assert_eq!(s.to_string(), "i32(..., i32)");
    }

    #[test]
    fn errors_name_the_position() {
        let e = Signature::parse("f64(ptr,)").unwrap_err();
        assert_eq!(e.position, 8);
        let e = Signature::parse("f64(ptr usize)").unwrap_err();
        assert_eq!(e.position, 8);
        let e = Signature::parse("f64(void)").unwrap_err();
        assert_eq!(e.position, 4);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let text = format!("void({}i32{})", "{".repeat(1000), "}".repeat(1000));
        let e = Signature::parse(&text).unwrap_err();
        assert_eq!(e.position, 5 + MAX_STRUCT_DEPTH);
    }

    #[test]
    fn constructors_reject_void_args_and_bad_fixed_counts() {
        assert!(Signature::new(Type::Void, vec![Type::Void]).is_err());
        assert!(Signature::variadic(Type::I32, vec![Type::Ptr], 2).is_err());
        let s = Signature::variadic(Type::I32, vec![Type::Ptr, Type::F64], 1).unwrap();
        assert_eq!(s.to_string(), "i32(ptr, ..., f64)");
    }
}
