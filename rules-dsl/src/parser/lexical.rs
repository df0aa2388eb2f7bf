//! The lexical layer: whitespace and comments, names, numbers, strings and
//! punctuation, written with nom on `&str`.
//!
//! The whole source is turned into tokens first. Every token has a byte span
//! from the start of the source (the inputs are suffixes of the source, so an
//! offset is `source.len() - rest.len()`). Lexical errors (an unterminated
//! string, a stray character) become diagnostics and an [`Tok::Error`] token,
//! which the grammar treats as "already reported".

use nom::branch::alt;
use nom::bytes::complete::{tag, take_till, take_while, take_while1};
use nom::character::complete::{char, digit1, multispace1, one_of, satisfy};
use nom::combinator::{opt, recognize, value};
use nom::multi::many0_count;
use nom::{IResult, Parser};

use crate::diagnostic::Diagnostic;
use crate::span::Span;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Punct {
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Comma,
    Dot,
    Semi,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Eq,
    EqEq,
    Ne,
    LtGt,
    Lt,
    Le,
    Gt,
    Ge,
    Arrow,
    ArrowArrow,
    Bang,
    Question,
}

impl Punct {
    pub fn as_str(self) -> &'static str {
        match self {
            Punct::LParen => "(",
            Punct::RParen => ")",
            Punct::LBracket => "[",
            Punct::RBracket => "]",
            Punct::LBrace => "{",
            Punct::RBrace => "}",
            Punct::Comma => ",",
            Punct::Dot => ".",
            Punct::Semi => ";",
            Punct::Plus => "+",
            Punct::Minus => "-",
            Punct::Star => "*",
            Punct::Slash => "/",
            Punct::Percent => "%",
            Punct::Eq => "=",
            Punct::EqEq => "==",
            Punct::Ne => "!=",
            Punct::LtGt => "<>",
            Punct::Lt => "<",
            Punct::Le => "<=",
            Punct::Gt => ">",
            Punct::Ge => ">=",
            Punct::Arrow => "->",
            Punct::ArrowArrow => "->>",
            Punct::Bang => "!",
            Punct::Question => "?",
        }
    }
}

/// A numeric token: digits, an optional fraction and exponent, and an
/// optional suffix of letters glued to it (`10s`, `500ms`, or a bad `10x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumTok {
    /// The numeric part as written.
    pub digits: String,
    /// Whether the numeric part has a fraction or an exponent.
    pub is_float: bool,
    /// The letters right after the number, if any.
    pub suffix: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A bare word: a keyword or a name (the text is in the source at the span).
    Ident(String),
    /// A name in backticks, without them.
    Quoted(String),
    Number(NumTok),
    /// A string literal with escapes resolved.
    Str(String),
    Punct(Punct),
    /// Something the lexer already reported.
    Error,
    Eof,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn comment(i: &str) -> IResult<&str, &str> {
    recognize((alt((tag("--"), tag("//"))), take_till(|c| c == '\n'))).parse(i)
}

/// Whitespace and comments.
fn trivia(i: &str) -> IResult<&str, usize> {
    many0_count(alt((multispace1, comment))).parse(i)
}

fn ident(i: &str) -> IResult<&str, &str> {
    recognize((satisfy(is_ident_start), take_while(is_ident_char))).parse(i)
}

/// `12`, `2.00`, `1.5e3`, `1e-7`, then letters glued to it, if any.
fn number(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    (
        recognize((
            digit1,
            opt((char('.'), digit1)),
            opt((one_of("eE"), opt(one_of("+-")), digit1)),
        )),
        opt(take_while1(is_ident_char)),
    )
        .parse(i)
}

fn punct(i: &str) -> IResult<&str, Punct> {
    alt((
        alt((
            value(Punct::ArrowArrow, tag("->>")),
            value(Punct::Arrow, tag("->")),
            value(Punct::EqEq, tag("==")),
            value(Punct::Ne, tag("!=")),
            value(Punct::LtGt, tag("<>")),
            value(Punct::Le, tag("<=")),
            value(Punct::Ge, tag(">=")),
        )),
        alt((
            value(Punct::LParen, char('(')),
            value(Punct::RParen, char(')')),
            value(Punct::LBracket, char('[')),
            value(Punct::RBracket, char(']')),
            value(Punct::LBrace, char('{')),
            value(Punct::RBrace, char('}')),
            value(Punct::Comma, char(',')),
            value(Punct::Dot, char('.')),
            value(Punct::Semi, char(';')),
            value(Punct::Plus, char('+')),
            value(Punct::Minus, char('-')),
            value(Punct::Star, char('*')),
            value(Punct::Slash, char('/')),
            value(Punct::Percent, char('%')),
            value(Punct::Eq, char('=')),
            value(Punct::Lt, char('<')),
            value(Punct::Gt, char('>')),
            value(Punct::Bang, char('!')),
            value(Punct::Question, char('?')),
        )),
    ))
    .parse(i)
}

/// Splits `source` into tokens, ending with one [`Tok::Eof`].
pub fn tokenize(source: &str, diags: &mut Vec<Diagnostic>) -> Vec<Token> {
    let mut lexer = Lexer {
        source,
        rest: source,
        tokens: Vec::new(),
        diags,
    };
    lexer.run();
    lexer.tokens
}

struct Lexer<'s, 'd> {
    source: &'s str,
    rest: &'s str,
    tokens: Vec<Token>,
    diags: &'d mut Vec<Diagnostic>,
}

impl<'s> Lexer<'s, '_> {
    fn offset(&self, rest: &str) -> usize {
        self.source.len().saturating_sub(rest.len())
    }

    fn push(&mut self, tok: Tok, start: usize, rest: &'s str) {
        let end = self.offset(rest);
        self.tokens.push(Token {
            tok,
            span: Span::new(start, end),
        });
        self.rest = rest;
    }

    fn run(&mut self) {
        loop {
            if let Ok((rest, _)) = trivia(self.rest) {
                self.rest = rest;
            }
            let start = self.offset(self.rest);
            let Some(first) = self.rest.chars().next() else {
                self.tokens.push(Token {
                    tok: Tok::Eof,
                    span: Span::new(start, start),
                });
                return;
            };
            if let Ok((rest, word)) = ident(self.rest) {
                self.push(Tok::Ident(word.to_string()), start, rest);
            } else if let Ok((rest, (digits, suffix))) = number(self.rest) {
                let num = NumTok {
                    digits: digits.to_string(),
                    is_float: digits.contains(['.', 'e', 'E']),
                    suffix: suffix.map(str::to_string),
                };
                self.push(Tok::Number(num), start, rest);
            } else if first == '"' {
                self.string(start);
            } else if first == '`' {
                self.quoted(start);
            } else if let Ok((rest, p)) = punct(self.rest) {
                self.push(Tok::Punct(p), start, rest);
            } else {
                self.stray(start);
            }
        }
    }

    /// `"..."` with the escapes `\" \\ \n \t`. A string ends at the end of its
    /// line at the latest.
    fn string(&mut self, start: usize) {
        let body = self.rest.get(1..).unwrap_or("");
        let mut value = String::new();
        let mut bad_escape = false;
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let rest = body.get(i + 1..).unwrap_or("");
                    let tok = if bad_escape { Tok::Error } else { Tok::Str(value) };
                    self.push(tok, start, rest);
                    return;
                }
                '\n' => {
                    let rest = body.get(i..).unwrap_or("");
                    self.unterminated_string(start, rest);
                    return;
                }
                '\\' => match chars.next() {
                    Some((_, '"')) => value.push('"'),
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 't')) => value.push('\t'),
                    Some((j, other)) if other != '\n' => {
                        bad_escape = true;
                        let at = start + 1 + i;
                        let end = start + 1 + j + other.len_utf8();
                        self.diags.push(
                            Diagnostic::error(
                                "bad-escape",
                                format!("unknown escape '\\{other}' in string"),
                                Span::new(at, end),
                            )
                            .with_label("unknown escape")
                            .with_help(r#"the escapes are \" \\ \n \t"#),
                        );
                    }
                    Some((j, _)) => {
                        let rest = body.get(j..).unwrap_or("");
                        self.unterminated_string(start, rest);
                        return;
                    }
                    None => break,
                },
                other => value.push(other),
            }
        }
        self.unterminated_string(start, "");
    }

    fn unterminated_string(&mut self, start: usize, rest: &'s str) {
        let end = self.offset(rest);
        self.diags.push(
            Diagnostic::error("unterminated-string", "unterminated string", Span::new(start, end))
                .with_label("this string has no closing quote")
                .with_help("close it with `\"` on the same line (write a line break as \\n)"),
        );
        self.push(Tok::Error, start, rest);
    }

    /// `` `name` ``: a name that may be spelt like a keyword.
    fn quoted(&mut self, start: usize) {
        let body = self.rest.get(1..).unwrap_or("");
        let (after, name) = match take_till::<_, _, nom::error::Error<&str>>(|c| c == '`' || c == '\n')
            .parse(body)
        {
            Ok(ok) => ok,
            Err(_) => ("", body),
        };
        if let Some(rest) = after.strip_prefix('`') {
            if name.is_empty() {
                self.diags.push(
                    Diagnostic::error("syntax", "empty quoted name", Span::new(start, start + 2))
                        .with_label("a name in backticks cannot be empty"),
                );
                self.push(Tok::Error, start, rest);
            } else {
                self.push(Tok::Quoted(name.to_string()), start, rest);
            }
        } else {
            let end = self.offset(after);
            self.diags.push(
                Diagnostic::error("syntax", "unterminated quoted name", Span::new(start, end))
                    .with_label("this name has no closing backtick"),
            );
            self.push(Tok::Error, start, after);
        }
    }

    /// Characters that start no token; consecutive ones are reported once.
    fn stray(&mut self, start: usize) {
        let rest = self.rest;
        let len: usize = rest
            .chars()
            .take_while(|&c| {
                !(c.is_whitespace()
                    || is_ident_char(c)
                    || matches!(c, '"' | '`')
                    || "()[]{},.;+-*/%=<>!?".contains(c))
            })
            .map(char::len_utf8)
            .sum::<usize>()
            .max(rest.chars().next().map_or(1, char::len_utf8));
        let text = rest.get(..len).unwrap_or(rest);
        let after = rest.get(len..).unwrap_or("");
        let mut d = Diagnostic::error(
            "syntax",
            format!("unexpected character{} '{}'", if text.chars().count() > 1 { "s" } else { "" }, text),
            Span::new(start, start + text.len()),
        )
        .with_label("not part of the rule language");
        if text.starts_with("&&") {
            d = d.with_help("write `and`");
        } else if text.starts_with("||") {
            d = d.with_help("write `or`");
        } else if text.starts_with('\'') {
            d = d.with_help("strings use double quotes: \"...\"");
        }
        self.diags.push(d);
        self.push(Tok::Error, start, after);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let mut d = Vec::new();
        tokenize(src, &mut d).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn comments_and_arrows() {
        let toks = kinds("a -> b ->> c -- x\n// y\n d");
        assert_eq!(toks.len(), 7);
        assert_eq!(toks[1], Tok::Punct(Punct::Arrow));
        assert_eq!(toks[3], Tok::Punct(Punct::ArrowArrow));
    }

    #[test]
    fn numbers_with_suffix() {
        let toks = kinds("500ms 2.00 1e3 10x 1.5m");
        let Tok::Number(n) = &toks[0] else { panic!() };
        assert_eq!(n.suffix.as_deref(), Some("ms"));
        let Tok::Number(n) = &toks[1] else { panic!() };
        assert!(n.is_float && n.suffix.is_none());
        let Tok::Number(n) = &toks[2] else { panic!() };
        assert!(n.is_float);
        let Tok::Number(n) = &toks[4] else { panic!() };
        assert!(n.is_float && n.suffix.as_deref() == Some("m"));
    }

    #[test]
    fn strings_and_errors() {
        let mut d = Vec::new();
        let toks = tokenize(r#""a\"b\n" "oops"#, &mut d);
        assert_eq!(toks[0].tok, Tok::Str("a\"b\n".into()));
        assert_eq!(toks[1].tok, Tok::Error);
        assert_eq!(d[0].code, "unterminated-string");
        assert_eq!(d[0].primary.span, Span::new(9, 14));
    }
}
