//! The token-by-token check of an expression before `exmex` sees it (unknown names,
//! missing operands or operators, unbalanced parentheses, a unary minus before `^`), which
//! returns the normalized text handed to `exmex`.

use super::names::{BINARY_FUNCTIONS, CONSTANTS, EPS_NAME, UNARY_FUNCTIONS};
use super::tokens::{Origin, Tok, Token, expression_error, tokenize};
use crate::SystemsError;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Plain,
    Unary,
    Binary,
}

struct Paren {
    pos: usize,
    kind: Group,
    commas: usize,
    /// Position of a unary minus applying to the whole group (or function call).
    negated: Option<usize>,
}

/// Checks the token sequence and returns the text handed to exmex.
pub(super) fn validate(origin: &Origin<'_>, known: &[String]) -> Result<String, SystemsError> {
    let tokens = tokenize(origin)?;
    if tokens.is_empty() {
        return Err(expression_error(origin, 0, "empty expression"));
    }
    let mut stack: Vec<Paren> = Vec::new();
    let mut expect_operand = true;
    // Position of a unary minus that applies to the operand being read.
    let mut pending_minus: Option<usize> = None;
    // The completed operand was negated by a unary minus at this position.
    let mut last_negated: Option<usize> = None;
    let mut normalized = Vec::with_capacity(tokens.len());
    let mut k = 0;
    while k < tokens.len() {
        let Token { tok, pos } = &tokens[k];
        let pos = *pos;
        if expect_operand {
            match tok {
                Tok::Num(s) => {
                    normalized.push(s.clone());
                    expect_operand = false;
                    last_negated = pending_minus.take();
                }
                Tok::Ident(name) => {
                    let is_fn = UNARY_FUNCTIONS.contains(&name.as_str());
                    let is_bin = BINARY_FUNCTIONS.contains(&name.as_str());
                    if is_fn || is_bin {
                        if !matches!(tokens.get(k + 1).map(|t| &t.tok), Some(Tok::Open)) {
                            return Err(expression_error(
                                origin,
                                pos,
                                format!("function '{name}' must be followed by '('"),
                            ));
                        }
                        stack.push(Paren {
                            pos: tokens[k + 1].pos,
                            kind: if is_bin { Group::Binary } else { Group::Unary },
                            commas: 0,
                            negated: pending_minus.take(),
                        });
                        normalized.push(name.clone());
                        normalized.push("(".into());
                        k += 2;
                        continue;
                    }
                    if !(CONSTANTS.contains(&name.as_str())
                        || name == EPS_NAME
                        || known.iter().any(|n| n == name))
                    {
                        let hint = if known.is_empty() {
                            String::new()
                        } else {
                            format!(" (known: {}, {EPS_NAME})", known.join(", "))
                        };
                        return Err(expression_error(
                            origin,
                            pos,
                            format!(
                                "unknown name '{name}': not a variable, parameter, function or constant{hint}"
                            ),
                        ));
                    }
                    normalized.push(name.clone());
                    expect_operand = false;
                    last_negated = pending_minus.take();
                }
                Tok::Open => {
                    stack.push(Paren {
                        pos,
                        kind: Group::Plain,
                        commas: 0,
                        negated: pending_minus.take(),
                    });
                    normalized.push("(".into());
                }
                Tok::Op(c @ ('-' | '+')) => {
                    if *c == '-' {
                        pending_minus = Some(pos);
                    }
                    normalized.push(c.to_string());
                }
                Tok::Op(c) => {
                    return Err(expression_error(
                        origin,
                        pos,
                        format!("operator '{c}' is missing its left operand"),
                    ));
                }
                Tok::Close => {
                    return Err(expression_error(origin, pos, "missing operand before ')'"));
                }
                Tok::Comma => {
                    return Err(expression_error(origin, pos, "missing operand before ','"));
                }
            }
        } else {
            match tok {
                Tok::Op(c) => {
                    if *c == '^'
                        && let Some(m) = last_negated
                    {
                        return Err(expression_error(
                            origin,
                            m,
                            "a unary '-' binds tighter than '^' here (it would compute (-a)^b); write -(a^b), or (-a)^b if that is meant",
                        ));
                    }
                    normalized.push(c.to_string());
                    expect_operand = true;
                    last_negated = None;
                }
                Tok::Close => {
                    let Some(p) = stack.pop() else {
                        return Err(expression_error(origin, pos, "unmatched ')'"));
                    };
                    if p.kind == Group::Binary && p.commas != 1 {
                        return Err(expression_error(
                            origin,
                            p.pos,
                            "this function takes two arguments separated by ','",
                        ));
                    }
                    normalized.push(")".into());
                    last_negated = p.negated;
                }
                Tok::Comma => match stack.last_mut() {
                    Some(p) if p.kind == Group::Binary && p.commas == 0 => {
                        p.commas += 1;
                        normalized.push(",".into());
                        expect_operand = true;
                        last_negated = None;
                    }
                    _ => {
                        return Err(expression_error(
                            origin,
                            pos,
                            "',' is only allowed between the two arguments of atan2, min or max",
                        ));
                    }
                },
                Tok::Num(_) | Tok::Ident(_) | Tok::Open => {
                    return Err(expression_error(
                        origin,
                        pos,
                        "missing operator before this token (write products with '*')",
                    ));
                }
            }
        }
        k += 1;
    }
    if expect_operand {
        let last = tokens.last().map_or(0, |t| t.pos);
        return Err(expression_error(
            origin,
            last,
            "the expression ends where an operand is expected",
        ));
    }
    if let Some(p) = stack.last() {
        return Err(expression_error(origin, p.pos, "this '(' is never closed"));
    }
    Ok(normalized.join(" "))
}
