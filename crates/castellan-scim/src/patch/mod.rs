//! SCIM PATCH (RFC 7644 §3.5.2): reading a request body into operations and applying them.
//!
//! [`parse_request`] follows RFC 7644 §3.5.2 and tolerates what Okta and Microsoft Entra ID
//! send (Okta's "SCIM 2.0 protocol reference"; Microsoft's "Tutorial: Develop and plan
//! provisioning for a SCIM endpoint" and its known issues and compliance notes): `op` names in
//! any case (`Replace`, `Add`), member names in any case (`Operations`, `operations`), boolean
//! values sent as the strings `"True"`/`"False"`, path-less `add`/`replace` whose value object
//! has dotted (`name.givenName`) or URN-prefixed keys, and `remove` of group members with path
//! `members` and a `value` array `[{"value": "id"}]`.
//!
//! ```
//! use castellan_scim::{patch, CoreSchema};
//! use serde_json::json;
//!
//! let body = json!({
//!     "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
//! });
//! let ops = patch::parse_request(&body, &CoreSchema::User)?;
//! let mut user = json!({"id": "2819c223", "userName": "bjensen", "active": true});
//! patch::apply(&mut user, &ops, &CoreSchema::User)?;
//! assert_eq!(user["active"], json!(false));
//! # Ok::<(), castellan_scim::PatchError>(())
//! ```

mod apply;
mod edit;

pub use apply::apply;

use crate::error::ScimType;
use crate::filter::{check_in, parser::Parser, Filter};
use crate::json::get_ci;
use crate::path::AttrPath;
use crate::schema::AttributeTypes;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// The `schemas` value a PATCH request body must carry (RFC 7644 §3.5.2).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The most operations one request may carry; more is an `invalidValue` error (RFC 7644 has
/// no better keyword: `tooMany` is about filter results). Okta and Entra ID send a handful;
/// Entra ID batches group member changes by a few hundred at most.
pub const MAX_OPERATIONS: usize = 1000;

/// The most JSON values (counting every value nested in an operation's `value`) one request may
/// carry; more is an `invalidValue` error. Each value added to a multi-valued attribute is
/// compared with those already there, so the work grows with the square of this bound: it keeps
/// one request cheap (a request of 28,000 emails once held a server for minutes).
pub const MAX_VALUES: usize = 10_000;

/// How many JSON values `v` holds, itself included (stops counting past `MAX_VALUES`).
fn values_in(v: &Value) -> usize {
    let mut n = 1;
    let mut stack: Vec<&Value> = vec![v];
    while let Some(v) = stack.pop() {
        let inner: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Array(a) => Box::new(a.iter()),
            Value::Object(o) => Box::new(o.values()),
            _ => continue,
        };
        for x in inner {
            n += 1;
            if n > MAX_VALUES {
                return n;
            }
            stack.push(x);
        }
    }
    n
}

/// A PATCH operation's `op` (RFC 7644 §3.5.2.1-3). Read case-insensitively; serializes in
/// lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// `add` (RFC 7644 §3.5.2.1).
    Add,
    /// `replace` (RFC 7644 §3.5.2.3).
    Replace,
    /// `remove` (RFC 7644 §3.5.2.2).
    Remove,
}

impl Op {
    /// The operation name in lower case, e.g. `"replace"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Replace => "replace",
            Op::Remove => "remove",
        }
    }
}

/// A PATCH operation's `path` (RFC 7644 §3.5.2, Figure 7: `attrPath / valuePath [subAttr]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PatchPath {
    /// An attribute or sub-attribute: `active`, `name.givenName`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
    Attr(AttrPath),
    /// Some values of a multi-valued attribute, and optionally one of their sub-attributes:
    /// `members[value eq "2819c223"]`, `emails[type eq "work"].value`.
    ValuePath {
        /// The multi-valued attribute (without sub-attribute).
        path: AttrPath,
        /// Which of its values; paths in it name sub-attributes.
        filter: Filter,
        /// The sub-attribute after `].`, if any.
        sub_attr: Option<String>,
    },
    /// A whole schema of the resource, e.g.
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User` (per
    /// [`AttributeTypes::is_schema_uri`]); its value is an object of that schema's attributes.
    Schema(String),
}

impl PatchPath {
    /// Parses a PATCH `path` (RFC 7644 §3.5.2, Figure 7). A string equal to one of the
    /// resource type's schema URIs ([`AttributeTypes::is_schema_uri`]) is [`PatchPath::Schema`].
    /// Errors: `invalidFilter` for a bad filter between `[` and `]` (or one [`crate::filter::check`]
    /// refuses), `invalidPath` for anything else (RFC 7644 §3.12, Table 9).
    pub fn parse(text: &str, schema: &dyn AttributeTypes) -> Result<PatchPath, PatchError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(PatchError::new(ScimType::InvalidPath, "empty path"));
        }
        if schema.is_schema_uri(trimmed) {
            return Ok(PatchPath::Schema(trimmed.to_string()));
        }
        let parsed = Parser::new(trimmed).and_then(Parser::patch_path);
        let (path, filter) = parsed.map_err(|e| {
            // Inside `[…]` it is the filter that is wrong.
            let in_filter = match (trimmed.find('['), e.position()) {
                (Some(open), Some(at)) => {
                    at > open && trimmed.rfind(']').is_none_or(|close| at <= close)
                }
                _ => false,
            };
            if in_filter {
                PatchError::new(ScimType::InvalidFilter, format!("path `{trimmed}`: {e}"))
            } else {
                let at = e.position().unwrap_or(0);
                let detail = format!(
                    "path `{trimmed}`: invalid path at byte {at}: {}",
                    e.message()
                );
                PatchError::new(ScimType::InvalidPath, detail)
            }
        })?;
        let Some((filter, sub_attr)) = filter else {
            return Ok(PatchPath::Attr(path));
        };
        check_in(&filter, Some(&path), schema).map_err(|e| {
            PatchError::new(ScimType::InvalidFilter, format!("path `{trimmed}`: {e}"))
        })?;
        Ok(PatchPath::ValuePath {
            path,
            filter,
            sub_attr,
        })
    }
}

impl fmt::Display for PatchPath {
    /// Writes the path back in RFC 7644 Figure 7 form (filters in their canonical form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatchPath::Attr(p) => write!(f, "{p}"),
            PatchPath::ValuePath {
                path,
                filter,
                sub_attr,
            } => {
                write!(f, "{path}[{filter}]")?;
                if let Some(sub) = sub_attr {
                    write!(f, ".{sub}")?;
                }
                Ok(())
            }
            PatchPath::Schema(uri) => f.write_str(uri),
        }
    }
}

/// One PATCH operation (RFC 7644 §3.5.2): what to do, where, with what.
///
/// [`parse_request`] guarantees: `add` and `replace` have a `value`, and one that is an object
/// when `path` is `None`; `remove` has a `path`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// `add`, `replace` or `remove`.
    pub op: Op,
    /// The target; `None` means the resource itself.
    pub path: Option<PatchPath>,
    /// The value as sent (booleans-as-strings are normalized by [`apply`], which knows the
    /// attribute).
    pub value: Option<Value>,
}

impl fmt::Display for PatchOp {
    /// `replace emails[type eq "work"].value` or `add (no path)`: for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{} {p}", self.op.as_str()),
            None => write!(f, "{} (no path)", self.op.as_str()),
        }
    }
}

/// A PATCH request that cannot be carried out, as an HTTP 400 SCIM error (RFC 7644 §3.12):
/// a `scimType` keyword and a `detail` message naming the operation (`Operations[2] (replace
/// id): …`) and what is wrong. Displays as the detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct PatchError {
    kind: ScimType,
    detail: String,
}

impl PatchError {
    pub(crate) fn new(kind: ScimType, detail: impl Into<String>) -> PatchError {
        PatchError {
            kind,
            detail: detail.into(),
        }
    }

    /// The same error with `Operations[i] (op path): ` before its detail.
    pub(crate) fn in_op(self, i: usize, op: &PatchOp) -> PatchError {
        PatchError {
            kind: self.kind,
            detail: format!("Operations[{i}] ({op}): {}", self.detail),
        }
    }

    /// The `scimType` keyword (RFC 7644 §3.12, Table 9): `invalidSyntax`, `invalidPath`,
    /// `invalidFilter`, `invalidValue`, `noTarget` or `mutability`.
    pub fn scim_type(&self) -> &'static str {
        self.kind.as_str()
    }

    /// The `scimType` as an enum.
    pub fn kind(&self) -> ScimType {
        self.kind
    }

    /// The human-readable `detail` of the error response.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// Reads a PATCH request body (RFC 7644 §3.5.2) into its operations.
///
/// The body is `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
/// "Operations": [{"op": …, "path": …, "value": …}, …]}`; member names are read
/// case-insensitively, `op` too. `path` is parsed by [`PatchPath::parse`].
///
/// Errors: `invalidSyntax` when the body is not an object, `schemas` lacks the PatchOp URI,
/// `Operations` is missing, not an array or empty, an operation is not an object or its `op`
/// is unknown; `invalidValue` for more than [`MAX_OPERATIONS`] operations or [`MAX_VALUES`]
/// values in their `value`s, an `add`/`replace`
/// without value, or a path-less one whose value is not an object; `noTarget` for a `remove`
/// without path (RFC 7644 §3.5.2.2); `invalidPath`/`invalidFilter` from the path.
pub fn parse_request(
    body: &Value,
    schema: &dyn AttributeTypes,
) -> Result<Vec<PatchOp>, PatchError> {
    let syntax = |detail: String| PatchError::new(ScimType::InvalidSyntax, detail);
    let Value::Object(body) = body else {
        return Err(syntax("a PATCH request body is a JSON object".into()));
    };
    let schema_ok = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if !schema_ok {
        return Err(syntax(format!(
            "`schemas` must contain \"{PATCH_OP_SCHEMA}\""
        )));
    }
    let Some(ops) = get_ci(body, "Operations") else {
        return Err(syntax("`Operations` is missing".into()));
    };
    let Value::Array(ops) = ops else {
        return Err(syntax("`Operations` is not an array".into()));
    };
    if ops.is_empty() {
        return Err(syntax(
            "`Operations` is empty (one or more operations are needed)".into(),
        ));
    }
    if ops.len() > MAX_OPERATIONS {
        return Err(PatchError::new(
            ScimType::InvalidValue,
            format!(
                "{} operations in one request; at most {MAX_OPERATIONS} are accepted",
                ops.len()
            ),
        ));
    }
    let mut values = 0;
    for op in ops {
        values += op
            .as_object()
            .and_then(|o| get_ci(o, "value"))
            .map_or(0, values_in);
        if values > MAX_VALUES {
            return Err(PatchError::new(
                ScimType::InvalidValue,
                format!("over {MAX_VALUES} values in one request's operations"),
            ));
        }
    }
    ops.iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op, schema))
        .collect()
}

fn parse_op(i: usize, op: &Value, schema: &dyn AttributeTypes) -> Result<PatchOp, PatchError> {
    let at = |kind, detail: String| PatchError::new(kind, format!("Operations[{i}]: {detail}"));
    let Value::Object(op) = op else {
        return Err(at(ScimType::InvalidSyntax, "not a JSON object".into()));
    };
    let name = get_ci(op, "op").and_then(Value::as_str).unwrap_or("");
    let kind = match name.to_ascii_lowercase().as_str() {
        "add" => Op::Add,
        "replace" => Op::Replace,
        "remove" => Op::Remove,
        _ => {
            let shown = get_ci(op, "op").map_or_else(|| "missing".to_string(), Value::to_string);
            return Err(at(
                ScimType::InvalidSyntax,
                format!("`op` is {shown}; expected add, replace or remove"),
            ));
        }
    };
    let path =
        match get_ci(op, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(PatchPath::parse(p, schema).map_err(|e| {
                PatchError::new(e.kind(), format!("Operations[{i}]: {}", e.detail()))
            })?),
            Some(other) => {
                return Err(at(
                    ScimType::InvalidPath,
                    format!("`path` is not a string: {other}"),
                ))
            }
        };
    let value = get_ci(op, "value").cloned();
    match (kind, &path, &value) {
        (Op::Remove, None, _) => Err(at(
            ScimType::NoTarget,
            "remove needs a `path` (RFC 7644 §3.5.2.2)".into(),
        )),
        (Op::Add | Op::Replace, _, None) => Err(at(
            ScimType::InvalidValue,
            format!("{} needs a `value`", kind.as_str()),
        )),
        (Op::Add | Op::Replace, None, Some(v)) if !v.is_object() => Err(at(
            ScimType::InvalidValue,
            format!(
                "{} without `path` needs an object of attributes as `value`, not {v}",
                kind.as_str()
            ),
        )),
        _ => Ok(PatchOp {
            op: kind,
            path,
            value,
        }),
    }
}
