//! SCIM filters (RFC 7644 §3.4.2.2): parsing, checking, matching and writing back.
//!
//! ```
//! use castellan_scim::{filter, CoreSchema};
//! use serde_json::json;
//!
//! let f = filter::parse(r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#)?;
//! let user = json!({
//!     "userName": "bjensen", "userType": "Employee",
//!     "emails": [{"type": "work", "value": "bjensen@EXAMPLE.com"}],
//! });
//! assert!(filter::matches(&f, &user, &CoreSchema::User));
//! assert_eq!(filter::parse(&f.to_string())?, f);
//! # Ok::<(), castellan_scim::FilterError>(())
//! ```

pub(crate) mod eval;
mod lexer;
pub(crate) mod parser;

pub use eval::matches;

use crate::error::ScimType;
use crate::path::AttrPath;
use crate::schema::AttributeTypes;
use serde_json::Value;
use std::fmt;

/// The longest filter [`parse`] reads, in bytes; longer input is an error. SCIM clients send
/// filters of a few dozen bytes; this bounds the work and the size of the tree.
pub const MAX_FILTER_LEN: usize = 4096;

/// The deepest nesting of `(…)`, `not (…)` and `attr[…]` that [`parse`] accepts; deeper input
/// is an error, so hostile filters cannot overflow the stack of the parser or evaluator.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter (RFC 7644 §3.4.2.2, Figure 1).
///
/// `and` binds tighter than `or`; both are left-associative, so `a or b or c` is
/// `Or(Or(a, b), c)`. Parentheses leave no node of their own.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `attrPath SP compareOp SP compValue`, e.g. `userName eq "bjensen"`. `value` is a JSON
    /// string, number, boolean or null (never an array or object).
    Compare {
        /// The attribute compared.
        path: AttrPath,
        /// The comparison.
        op: CompareOp,
        /// The literal it is compared with.
        value: Value,
    },
    /// `attrPath SP "pr"`: the attribute has a non-empty value.
    Present(AttrPath),
    /// `FILTER SP "and" SP FILTER`.
    And(Box<Filter>, Box<Filter>),
    /// `FILTER SP "or" SP FILTER`.
    Or(Box<Filter>, Box<Filter>),
    /// `"not" "(" FILTER ")"`.
    Not(Box<Filter>),
    /// `attrPath "[" valFilter "]"`, e.g. `emails[type eq "work" and value co "@example.com"]`:
    /// some value of the multi-valued (or complex) attribute `path` matches `filter`, whose
    /// paths name its sub-attributes (no URI, no sub-attribute of their own).
    ValuePath {
        /// The filtered attribute (without sub-attribute).
        path: AttrPath,
        /// The filter on its values.
        filter: Box<Filter>,
    },
}

/// A comparison operator of RFC 7644 §3.4.2.2 Table 3 (`pr` is [`Filter::Present`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `eq`: equal.
    Eq,
    /// `ne`: not equal.
    Ne,
    /// `co`: contains (strings).
    Co,
    /// `sw`: starts with (strings).
    Sw,
    /// `ew`: ends with (strings).
    Ew,
    /// `gt`: greater than.
    Gt,
    /// `ge`: greater than or equal to.
    Ge,
    /// `lt`: less than.
    Lt,
    /// `le`: less than or equal to.
    Le,
}

impl CompareOp {
    /// The operator for a keyword, case-insensitively (`eq`, `EQ`, …); `None` for others.
    pub fn from_keyword(word: &str) -> Option<CompareOp> {
        const ALL: [(&str, CompareOp); 9] = [
            ("eq", CompareOp::Eq),
            ("ne", CompareOp::Ne),
            ("co", CompareOp::Co),
            ("sw", CompareOp::Sw),
            ("ew", CompareOp::Ew),
            ("gt", CompareOp::Gt),
            ("ge", CompareOp::Ge),
            ("lt", CompareOp::Lt),
            ("le", CompareOp::Le),
        ];
        ALL.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(word))
            .map(|(_, op)| *op)
    }

    /// The operator's keyword in lower case, e.g. `"eq"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// Whether this is one of the ordering operators `gt`, `ge`, `lt`, `le`.
    pub fn is_ordering(self) -> bool {
        matches!(
            self,
            CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
        )
    }
}

impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A filter that cannot be used: malformed ([`parse`]), or a comparison RFC 7644 §3.4.2.2
/// refuses ([`check`]). Its `scimType` is always `invalidFilter` (RFC 7644 §3.12, Table 9).
///
/// Displays as `invalid filter at byte N: what is wrong`, or without the position for
/// [`check`]'s errors, which concern a whole comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    position: Option<usize>,
    message: String,
}

impl FilterError {
    pub(crate) fn new(position: usize, message: impl Into<String>) -> FilterError {
        FilterError {
            position: Some(position),
            message: message.into(),
        }
    }

    fn unpositioned(message: String) -> FilterError {
        FilterError {
            position: None,
            message,
        }
    }

    /// The byte offset in the input where the problem was found, when it is a parse error.
    pub fn position(&self) -> Option<usize> {
        self.position
    }

    /// What is wrong, without the position (e.g. "unknown operator `eqq` after `userName` …").
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The SCIM error keyword: always `"invalidFilter"` (RFC 7644 §3.12, Table 9).
    pub fn scim_type(&self) -> &'static str {
        ScimType::InvalidFilter.as_str()
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "invalid filter at byte {p}: {}", self.message),
            None => write!(f, "invalid filter: {}", self.message),
        }
    }
}

impl std::error::Error for FilterError {}

/// Parses a filter (RFC 7644 §3.4.2.2, Figure 1; attribute paths as in §3.10).
///
/// Keywords (`and`, `or`, `not`, operators, `true`, `false`, `null`) are case-insensitive;
/// strings are JSON strings (escapes included), numbers JSON numbers (negative, fraction,
/// exponent). Spaces, tabs and line breaks may separate tokens. A value path stands alone
/// (`emails[type eq "work"]`); the `].subAttr` form is for PATCH paths ([`crate::patch`]).
///
/// Errors, with the byte position: empty input, input over [`MAX_FILTER_LEN`] bytes, nesting
/// over [`MAX_DEPTH`], unbalanced `(`/`)`/`[`/`]`, unknown operators, missing or unquoted
/// values, bad attribute names, trailing tokens.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    parser::Parser::new(input)?.filter()
}

/// Checks a parsed filter for comparisons that RFC 7644 §3.4.2.2 answers with `invalidFilter`
/// rather than "no match": `gt`/`ge`/`lt`/`le` against `true`, `false` or `null` or on a
/// boolean attribute, and `co`/`sw`/`ew` with a value other than a string or on a boolean
/// attribute. [`matches()`] treats those as not matching; a server calls this first to answer 400.
pub fn check(filter: &Filter, schema: &dyn AttributeTypes) -> Result<(), FilterError> {
    check_in(filter, None, schema)
}

pub(crate) fn check_in(
    filter: &Filter,
    parent: Option<&AttrPath>,
    schema: &dyn AttributeTypes,
) -> Result<(), FilterError> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            check_in(a, parent, schema)?;
            check_in(b, parent, schema)
        }
        Filter::Not(a) => check_in(a, parent, schema),
        Filter::ValuePath { path, filter } => check_in(filter, Some(path), schema),
        Filter::Present(_) => Ok(()),
        Filter::Compare { path, op, value } => {
            let full = match parent {
                Some(p) => p.with_sub(&path.attr),
                None => path.clone(),
            };
            let boolean = schema.is_boolean(&full);
            let problem = if op.is_ordering() && (value.is_boolean() || value.is_null()) {
                Some("gt, ge, lt and le do not apply to booleans or null")
            } else if op.is_ordering() && boolean {
                Some("gt, ge, lt and le do not apply to a boolean attribute")
            } else if matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                && (!value.is_string() || boolean)
            {
                Some("co, sw and ew compare strings only")
            } else {
                None
            };
            match problem {
                Some(why) => Err(FilterError::unpositioned(format!("`{filter}`: {why}"))),
                None => Ok(()),
            }
        }
    }
}

/// Binding strength for writing: `or` 1, `and` 2, the rest 3.
fn strength(f: &Filter) -> u8 {
    match f {
        Filter::Or(..) => 1,
        Filter::And(..) => 2,
        _ => 3,
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, x: &Filter, min: u8) -> fmt::Result {
    if strength(x) < min {
        write!(f, "({x})")
    } else {
        write!(f, "{x}")
    }
}

impl fmt::Display for Filter {
    /// Writes the canonical form: lower-case keywords, single spaces, JSON literals, and
    /// parentheses only where precedence needs them. [`parse`] reads it back to an equal
    /// `Filter` (as long as it stays within [`MAX_FILTER_LEN`]: numbers are written as
    /// serde_json writes them, so `1e15` grows to `1000000000000000.0`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Compare { path, op, value } => write!(f, "{path} {op} {value}"),
            Filter::Present(path) => write!(f, "{path} pr"),
            Filter::And(a, b) => {
                write_operand(f, a, 2)?;
                f.write_str(" and ")?;
                write_operand(f, b, 3)
            }
            Filter::Or(a, b) => {
                write_operand(f, a, 1)?;
                f.write_str(" or ")?;
                write_operand(f, b, 2)
            }
            Filter::Not(a) => write!(f, "not ({a})"),
            Filter::ValuePath { path, filter } => write!(f, "{path}[{filter}]"),
        }
    }
}
