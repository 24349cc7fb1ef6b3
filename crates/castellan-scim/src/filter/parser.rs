//! Recursive-descent parser for RFC 7644 §3.4.2.2 Figure 1 (filters) and Figure 7's PATCH
//! `path` (`attrPath / valuePath [subAttr]`).
//!
//! Precedence, loosest first: `or`, `and`, then `not (…)`, `(…)` and attribute expressions;
//! `and` and `or` associate to the left. Only groups (`(`, `not (`, `[`) recurse, and they are
//! bounded by [`MAX_DEPTH`]; chains of `and`/`or` are built in a loop.

use super::lexer::{tokenize, Tok, Token};
use super::{CompareOp, Filter, FilterError, MAX_DEPTH, MAX_FILTER_LEN};
use crate::path::{parse_at, valid_name, AttrPath};
use serde_json::Value;

const OPERATORS: &str = "eq, ne, co, sw, ew, gt, ge, lt, le or pr";

pub(crate) struct Parser<'a> {
    input: &'a str,
    toks: Vec<Token<'a>>,
    at: usize,
    depth: usize,
    /// Inside `attr[…]`: names are sub-attributes, and value paths do not nest.
    in_value_filter: bool,
}

/// What a PATCH path (RFC 7644 §3.5.2, Figure 7) parses into: the attribute, and for a value
/// path its filter and optional sub-attribute after `]`.
pub(crate) type RawPatchPath = (AttrPath, Option<(Filter, Option<String>)>);

impl<'a> Parser<'a> {
    pub(crate) fn new(input: &'a str) -> Result<Parser<'a>, FilterError> {
        if input.len() > MAX_FILTER_LEN {
            return Err(FilterError::new(
                MAX_FILTER_LEN,
                format!("longer than {MAX_FILTER_LEN} bytes ({} bytes)", input.len()),
            ));
        }
        Ok(Parser {
            input,
            toks: tokenize(input)?,
            at: 0,
            depth: 0,
            in_value_filter: false,
        })
    }

    /// A whole filter (Figure 1's `FILTER`), up to the end of the input.
    pub(crate) fn filter(mut self) -> Result<Filter, FilterError> {
        if self.peek().tok == Tok::End {
            return Err(FilterError::new(0, "empty filter"));
        }
        let f = self.or()?;
        let t = self.peek();
        if t.tok != Tok::End {
            let msg = match t.tok {
                Tok::RParen => "unexpected `)` with no `(` to close".to_string(),
                Tok::RBracket => "unexpected `]` with no `[` to close".to_string(),
                _ => format!(
                    "unexpected {} after a complete expression (expected `and`, `or` or the end)",
                    self.describe(t)
                ),
            };
            return Err(FilterError::new(t.start, msg));
        }
        Ok(f)
    }

    /// A whole PATCH path: `attrPath`, or `attrPath "[" valFilter "]" ["." subAttr]`.
    pub(crate) fn patch_path(mut self) -> Result<RawPatchPath, FilterError> {
        let t = self.next();
        let Tok::Word(word) = t.tok else {
            return Err(FilterError::new(
                t.start,
                format!("expected an attribute path, found {}", self.describe(&t)),
            ));
        };
        let path = parse_at(word, t.start)?;
        let mut filter = None;
        if self.peek().tok == Tok::LBracket {
            let f = self.value_filter(&path)?;
            let mut sub = None;
            if self.peek().tok == Tok::Dot {
                self.next();
                let t = self.next();
                match t.tok {
                    Tok::Word(name) if valid_name(name) => sub = Some(name.to_string()),
                    _ => {
                        return Err(FilterError::new(
                            t.start,
                            format!(
                                "expected a sub-attribute name after `].`, found {}",
                                self.describe(&t)
                            ),
                        ))
                    }
                }
            }
            filter = Some((f, sub));
        }
        let t = self.peek();
        if t.tok != Tok::End {
            return Err(FilterError::new(
                t.start,
                format!(
                    "unexpected {} after the path (a path is `attr`, `attr.sub`, `attr[filter]` \
                     or `attr[filter].sub`)",
                    self.describe(t)
                ),
            ));
        }
        Ok((path, filter))
    }

    fn peek(&self) -> &Token<'a> {
        // The last token is End, which is never consumed past.
        &self.toks[self.at.min(self.toks.len() - 1)]
    }

    fn next(&mut self) -> Token<'a> {
        let t = self.peek().clone();
        if t.tok != Tok::End {
            self.at += 1;
        }
        t
    }

    fn describe(&self, t: &Token<'_>) -> String {
        match t.tok {
            Tok::End => "the end of the input".to_string(),
            _ => format!("`{}`", &self.input[t.start..t.end]),
        }
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn enter(&mut self, at: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FilterError::new(
                at,
                format!("nested deeper than {MAX_DEPTH} levels of parentheses and brackets"),
            ));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.next();
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.next();
            let right = self.unary()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `"(" FILTER ")"`, after the `(` at byte `open`.
    fn group(&mut self, open: usize) -> Result<Filter, FilterError> {
        self.enter(open)?;
        let f = self.or()?;
        let t = self.next();
        match t.tok {
            Tok::RParen => {}
            Tok::End => {
                return Err(FilterError::new(
                    t.start,
                    format!("missing `)` to close the `(` at byte {open}"),
                ))
            }
            _ => {
                return Err(FilterError::new(
                    t.start,
                    format!(
                        "unexpected {} (expected `and`, `or` or the `)` closing the `(` at byte {open})",
                        self.describe(&t)
                    ),
                ))
            }
        }
        self.depth -= 1;
        Ok(f)
    }

    fn unary(&mut self) -> Result<Filter, FilterError> {
        let t = self.next();
        match t.tok {
            Tok::LParen => self.group(t.start),
            Tok::Word(w) if w.eq_ignore_ascii_case("not") && self.peek().tok == Tok::LParen => {
                let open = self.next().start;
                Ok(Filter::Not(Box::new(self.group(open)?)))
            }
            Tok::Word(w) => self.attr_exp(w, t.start),
            Tok::End => Err(FilterError::new(
                t.start,
                "missing expression at the end (expected an attribute path, `(` or `not (`)",
            )),
            _ => Err(FilterError::new(
                t.start,
                format!(
                    "expected an attribute path, `(` or `not (`, found {}",
                    self.describe(&t)
                ),
            )),
        }
    }

    /// `valFilter` between `[` and `]` after `path`.
    fn value_filter(&mut self, path: &AttrPath) -> Result<Filter, FilterError> {
        let open = self.next().start;
        if self.in_value_filter {
            return Err(FilterError::new(
                open,
                "value filters do not nest (`a[b[…]]`)",
            ));
        }
        if path.sub_attr.is_some() {
            return Err(FilterError::new(
                open,
                format!("`{path}[`: a value filter follows an attribute, not a sub-attribute"),
            ));
        }
        self.enter(open)?;
        self.in_value_filter = true;
        let f = self.or()?;
        let t = self.next();
        match t.tok {
            Tok::RBracket => {}
            Tok::End => {
                return Err(FilterError::new(
                    t.start,
                    format!("missing `]` to close the `[` at byte {open}"),
                ))
            }
            _ => {
                return Err(FilterError::new(
                    t.start,
                    format!(
                        "unexpected {} (expected `and`, `or` or the `]` closing the `[` at byte {open})",
                        self.describe(&t)
                    ),
                ))
            }
        }
        self.in_value_filter = false;
        self.depth -= 1;
        Ok(f)
    }

    /// `attrPath SP "pr"`, `attrPath SP compareOp SP compValue`, or `valuePath`.
    fn attr_exp(&mut self, word: &str, start: usize) -> Result<Filter, FilterError> {
        let path = parse_at(word, start)?;
        if self.in_value_filter && (path.uri.is_some() || path.sub_attr.is_some()) {
            return Err(FilterError::new(
                start,
                format!(
                    "`{word}`: inside `[…]` name a sub-attribute of the filtered attribute, \
                     such as `type` or `value`"
                ),
            ));
        }
        if self.peek().tok == Tok::LBracket {
            let filter = self.value_filter(&path)?;
            if self.peek().tok == Tok::Dot {
                return Err(FilterError::new(
                    self.peek().start,
                    "`attr[…].sub` is a PATCH path, not a filter: in a filter write \
                     `attr[sub …]` or `attr.sub …`",
                ));
            }
            return Ok(Filter::ValuePath {
                path,
                filter: Box::new(filter),
            });
        }
        let t = self.next();
        let Tok::Word(op_word) = t.tok else {
            return Err(FilterError::new(
                t.start,
                format!(
                    "missing operator after `{word}`: found {} (expected {OPERATORS})",
                    self.describe(&t)
                ),
            ));
        };
        if op_word.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::from_keyword(op_word) else {
            return Err(FilterError::new(
                t.start,
                format!("unknown operator `{op_word}` after `{word}` (expected {OPERATORS})"),
            ));
        };
        let v = self.next();
        let value = match v.tok {
            Tok::Str(s) => Value::String(s),
            Tok::Num(n) => Value::Number(n),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Value::Null,
            Tok::Word(w) => {
                return Err(FilterError::new(
                    v.start,
                    format!(
                        "`{w}` is not a comparison value: strings need double quotes \
                         (`\"{w}\"`); other values are numbers, true, false and null"
                    ),
                ))
            }
            _ => {
                return Err(FilterError::new(
                    v.start,
                    format!(
                        "missing comparison value after `{op_word}`: found {} (expected a string \
                         in double quotes, a number, true, false or null)",
                        self.describe(&v)
                    ),
                ))
            }
        };
        Ok(Filter::Compare { path, op, value })
    }
}
