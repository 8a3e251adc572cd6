//! Expressions cut into tokens, each with its position, and the errors that point at a
//! position of an expression.

use crate::SystemsError;

/// Where an expression came from, to place errors.
pub(crate) struct Origin<'a> {
    pub key: String,
    pub expression: &'a str,
}

pub(super) fn expression_error(
    origin: &Origin<'_>,
    position: usize,
    message: impl Into<String>,
) -> SystemsError {
    SystemsError::Expression {
        key: origin.key.clone(),
        expression: origin.expression.to_string(),
        position,
        message: message.into(),
        line: None,
        column: None,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(String),
    Ident(String),
    Op(char),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) pos: usize,
}

pub(super) fn tokenize(origin: &Origin<'_>) -> Result<Vec<Token>, SystemsError> {
    let chars: Vec<char> = origin.expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let is_digit = |k: usize| k < chars.len() && chars[k].is_ascii_digit();
        if c.is_ascii_digit() || (c == '.' && is_digit(i + 1)) {
            while is_digit(i) {
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                while is_digit(i) {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut k = i + 1;
                if k < chars.len() && (chars[k] == '+' || chars[k] == '-') {
                    k += 1;
                }
                if is_digit(k) {
                    i = k;
                    while is_digit(i) {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value: f64 = text.parse().map_err(|_| {
                expression_error(origin, start, format!("malformed number '{text}'"))
            })?;
            if !value.is_finite() {
                return Err(expression_error(
                    origin,
                    start,
                    format!("number '{text}' is out of range"),
                ));
            }
            // exmex reads plain decimals only; Display of f64 never uses an exponent and
            // round-trips exactly.
            out.push(Token {
                tok: Tok::Num(format!("{value}")),
                pos: start,
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                pos: start,
            });
            continue;
        }
        let tok = match c {
            '+' | '-' | '*' | '/' | '^' => Tok::Op(c),
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            _ => {
                return Err(expression_error(
                    origin,
                    start,
                    format!("unexpected character '{c}'"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
        i += 1;
    }
    Ok(out)
}
