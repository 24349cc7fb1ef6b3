//! Checks recorded exchanges ([`crate::record::Exchange`]) against a vendor's OpenAPI 3.0
//! description: the operation (method and path template) must exist; its path and query
//! parameters must be declared and match their schemas (required ones present); a JSON request
//! body must match the operation's `requestBody` schema (and there must be none where it
//! declares none); the answer's status must be one the operation documents, and its body must
//! match that answer's schema (or be empty where it has none).
//!
//! Schemas are OpenAPI 3.0's dialect of JSON Schema: `nullable: true` is rewritten as a `null`
//! type (OpenAPI 3.0.3 §4.7.24), and the rest is checked as JSON Schema draft 4 with formats
//! (`email`, `uri`, `date-time`) enforced, by the `jsonschema` crate. `$ref`s to
//! `#/components/…` resolve inside the description.
//!
//! One exception, written down where it is made: [`Spec::also_answers`] lists answers the vendor
//! documents for every operation outside the description (GitHub's rate-limit answers), each
//! with the schema its body must match and a header that must mark it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use jsonschema::Validator;
use serde_json::{json, Map, Value};

use crate::record::Exchange;

/// The values of a request's path parameters, by name.
type PathParams = Vec<(String, String)>;

/// An answer the vendor documents for every operation: its status, the answer headers one of
/// which must mark it, and the component schema of its body.
#[derive(Debug, Clone)]
pub struct GlobalAnswer {
    /// The status, e.g. 403.
    pub status: u16,
    /// Answer headers (lowercase) one of which marks it, with the value it must have (`None`:
    /// any), e.g. `x-ratelimit-remaining: 0`.
    pub marked_by: Vec<(String, Option<String>)>,
    /// The schema of its body, e.g. `#/components/schemas/basic-error`.
    pub schema: String,
}

/// An OpenAPI 3.0 description, ready to check exchanges against.
pub struct Spec {
    /// `{"components": …}` with schemas rewritten (the root every `$ref` resolves against).
    root: Value,
    /// `(method, template segments, operation)`.
    ops: Vec<(String, Vec<String>, Value)>,
    global: Vec<GlobalAnswer>,
    validators: Mutex<HashMap<String, Arc<Validator>>>,
}

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("operations", &self.ops.len())
            .finish_non_exhaustive()
    }
}

impl Spec {
    /// Reads the description at `path` (JSON).
    ///
    /// Errors: the file cannot be read or is not an OpenAPI 3.0 description with paths.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let doc: Value =
            serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::from_doc(doc)
    }

    /// The description `doc`.
    ///
    /// Errors: it is not an OpenAPI 3.0 description with paths.
    pub fn from_doc(mut doc: Value) -> Result<Self, String> {
        if !doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.0"))
        {
            return Err("not an OpenAPI 3.0 description".into());
        }
        let paths = doc["paths"].as_object().cloned().ok_or("no paths")?;
        let mut components = doc["components"].take();
        rewrite(&mut components);
        let root = json!({ "components": components });
        let mut ops = Vec::new();
        for (template, item) in paths {
            let segments: Vec<String> = template.split('/').map(str::to_owned).collect();
            let shared = item["parameters"].as_array().cloned().unwrap_or_default();
            for method in ["get", "put", "post", "delete", "patch", "head"] {
                if let Some(op) = item.get(method) {
                    let mut op = op.clone();
                    let mut params = shared.clone();
                    params.extend(op["parameters"].as_array().cloned().unwrap_or_default());
                    op["parameters"] = Value::Array(params);
                    ops.push((method.to_uppercase(), segments.clone(), op));
                }
            }
        }
        Ok(Self {
            root,
            ops,
            global: vec![],
            validators: Mutex::new(HashMap::new()),
        })
    }

    /// With answers the vendor documents for every operation outside the description.
    pub fn also_answers(mut self, answers: Vec<GlobalAnswer>) -> Self {
        self.global = answers;
        self
    }

    /// How many operations the description has.
    pub fn operations(&self) -> usize {
        self.ops.len()
    }

    /// The operation for `method` and a request `path` (percent-encoded), with the values of its
    /// path parameters by name: the matching template with the most literal segments.
    fn operation(&self, method: &str, path: &str) -> Option<(&Value, PathParams)> {
        let got: Vec<&str> = path.split('/').collect();
        let mut best: Option<(usize, &Value, PathParams)> = None;
        for (m, segs, op) in &self.ops {
            if m != method || segs.len() != got.len() {
                continue;
            }
            let mut params = Vec::new();
            let mut literal = 0;
            let fits = segs.iter().zip(&got).all(|(s, g)| {
                match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if !g.is_empty() => {
                        let v = percent_encoding::percent_decode_str(g).decode_utf8_lossy();
                        params.push((name.to_owned(), v.into_owned()));
                        true
                    }
                    Some(_) => false,
                    None => {
                        literal += 1;
                        s == g
                    }
                }
            });
            if fits && best.as_ref().is_none_or(|(l, _, _)| literal > *l) {
                best = Some((literal, op, params));
            }
        }
        best.map(|(_, op, params)| (op, params))
    }

    /// A validator of `schema` (an OpenAPI schema, maybe a `$ref`), cached under `key`.
    fn validator(&self, key: &str, schema: &Value) -> Result<Arc<Validator>, String> {
        if let Some(v) = self
            .validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
        {
            return Ok(v.clone());
        }
        let mut schema = schema.clone();
        rewrite(&mut schema);
        let mut root = self.root.clone();
        root["allOf"] = json!([schema]);
        let v = jsonschema::draft4::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|e| format!("{key}: the schema does not compile: {e}"))?;
        let v = Arc::new(v);
        self.validators
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), v.clone());
        Ok(v)
    }

    /// What `instance` breaks of `schema` (cached under `key`), each prefixed with `what`.
    fn violations(&self, key: &str, schema: &Value, instance: &Value, what: &str) -> Vec<String> {
        match self.validator(key, schema) {
            Err(e) => vec![e],
            Ok(v) => v
                .iter_errors(instance)
                .map(|e| format!("{what}: {} at '{}'", e, e.instance_path()))
                .take(5)
                .collect(),
        }
    }

    /// A `$ref`'d parameter, request body or response, resolved (one level).
    fn resolve<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str().and_then(|r| r.strip_prefix("#/")) {
            Some(ptr) => self
                .root
                .pointer(&format!("/{ptr}"))
                .unwrap_or(&Value::Null),
            None => v,
        }
    }

    /// What the request of `ex` breaks: an unknown operation, undeclared or missing parameters,
    /// parameter values or a body against their schemas.
    pub fn check_request(
        &self,
        method: &str,
        path: &str,
        query: Option<&str>,
        body: &str,
    ) -> Vec<String> {
        let here = format!("{method} {path}");
        let Some((op, path_params)) = self.operation(method, path) else {
            return vec![format!("{here}: no such operation in the description")];
        };
        let id = op["operationId"].as_str().unwrap_or("?");
        let mut out = Vec::new();
        let params: Vec<&Value> = op["parameters"]
            .as_array()
            .map(|a| a.iter().map(|p| self.resolve(p)).collect())
            .unwrap_or_default();
        let pairs: Vec<(String, String)> =
            url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect();
        for (name, _) in &pairs {
            if !params
                .iter()
                .any(|p| p["in"] == "query" && p["name"] == name.as_str())
            {
                out.push(format!(
                    "{here} ({id}): query parameter {name:?} is not declared"
                ));
            }
        }
        for p in &params {
            let (name, place) = (
                p["name"].as_str().unwrap_or(""),
                p["in"].as_str().unwrap_or(""),
            );
            let value = match place {
                "path" => path_params
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone()),
                "query" => pairs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone()),
                _ => continue,
            };
            let Some(value) = value else {
                if p["required"] == true {
                    out.push(format!(
                        "{here} ({id}): required {place} parameter {name:?} is missing"
                    ));
                }
                continue;
            };
            let typed = typed(&value, &p["schema"]);
            let key = format!("{id} param {name}");
            out.extend(self.violations(
                &key,
                &p["schema"],
                &typed,
                &format!("{here} ({id}) {place} parameter {name}"),
            ));
        }
        let declared = self.resolve(&op["requestBody"]);
        let schema = &declared["content"]["application/json"]["schema"];
        match (body.trim().is_empty(), schema.is_null()) {
            (true, _) if declared["required"] == true => {
                out.push(format!("{here} ({id}): the required body is missing"))
            }
            (true, _) => {}
            (false, true) => out.push(format!(
                "{here} ({id}): a body where the operation takes none"
            )),
            (false, false) => match serde_json::from_str::<Value>(body) {
                Err(e) => out.push(format!("{here} ({id}): the body is not JSON: {e}")),
                Ok(v) => out.extend(self.violations(
                    &format!("{id} request"),
                    schema,
                    &v,
                    &format!("{here} ({id}) request body"),
                )),
            },
        }
        out
    }

    /// What the answer of `ex` breaks: an undocumented status, or a body against its schema.
    pub fn check_response(&self, ex: &Exchange) -> Vec<String> {
        let here = format!("{} {} → {}", ex.method, ex.path, ex.status);
        let Some((op, _)) = self.operation(&ex.method, &ex.path) else {
            return vec![format!("{here}: no such operation in the description")];
        };
        let id = op["operationId"].as_str().unwrap_or("?");
        let status = ex.status.to_string();
        let documented = op["responses"].get(&status).map(|r| self.resolve(r));
        let schema = match documented {
            Some(r) => r["content"]["application/json"]["schema"].clone(),
            None => match self.global.iter().find(|g| {
                let marks = |(h, want): &(String, Option<String>)| match ex.response_header(h) {
                    Some(v) => want.as_deref().is_none_or(|w| w == v.trim()),
                    None => false,
                };
                g.status == ex.status && g.marked_by.iter().any(marks)
            }) {
                Some(g) => json!({ "$ref": g.schema }),
                None => return vec![format!("{here} ({id}): the status is not documented")],
            },
        };
        if schema.is_null() {
            return match ex.response_body.trim().is_empty() {
                true => vec![],
                false => vec![format!("{here} ({id}): a body where the answer has none")],
            };
        }
        match serde_json::from_str::<Value>(&ex.response_body) {
            Err(e) => vec![format!("{here} ({id}): the body is not JSON: {e}")],
            Ok(v) => self.violations(
                &format!("{id} {status}"),
                &schema,
                &v,
                &format!("{here} ({id}) body"),
            ),
        }
    }

    /// Everything `ex` breaks, request and answer.
    pub fn check(&self, ex: &Exchange) -> Vec<String> {
        let mut out =
            self.check_request(&ex.method, &ex.path, ex.query.as_deref(), &ex.request_body);
        out.extend(self.check_response(ex));
        out
    }
}

/// A parameter's text as its schema's type: integers and booleans parsed (left as text when they
/// do not parse, so the schema reports them).
fn typed(value: &str, schema: &Value) -> Value {
    match schema["type"].as_str() {
        Some("integer") => value
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.into()),
        Some("number") => value
            .parse::<f64>()
            .map(Value::from)
            .unwrap_or_else(|_| value.into()),
        Some("boolean") => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            v => v.into(),
        },
        _ => value.into(),
    }
}

/// OpenAPI 3.0's `nullable: true` as JSON Schema, everywhere in `v`: a `null` type (and a
/// `null` among an `enum`'s values), or `anyOf` with `{"type": "null"}` for a schema without a
/// type.
fn rewrite(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite(child);
            }
            if map.remove("nullable") == Some(Value::Bool(true)) {
                nullable(map);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite),
        _ => {}
    }
}

fn nullable(map: &mut Map<String, Value>) {
    if let Some(Value::Array(e)) = map.get_mut("enum") {
        e.push(Value::Null);
    }
    match map.get("type").cloned() {
        Some(Value::String(t)) => {
            map.insert("type".into(), json!([t, "null"]));
        }
        Some(_) => {}
        None => {
            let inner = Value::Object(std::mem::take(map));
            map.insert("anyOf".into(), json!([inner, { "type": "null" }]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::from_doc(json!({
            "openapi": "3.0.3",
            "paths": {
                "/orgs/{org}/invitations": {
                    "post": {
                        "operationId": "invite",
                        "parameters": [{"$ref": "#/components/parameters/org"},
                            {"name": "per_page", "in": "query", "schema": {"type": "integer"}}],
                        "requestBody": {"content": {"application/json": {"schema": {
                            "type": "object", "properties": {"role": {"type": "string", "enum": ["admin"]}}}}}},
                        "responses": {"201": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/inv"}}}},
                            "204": {"description": "none"}}
                    }
                }
            },
            "components": {
                "parameters": {"org": {"name": "org", "in": "path", "required": true, "schema": {"type": "string"}}},
                "schemas": {"inv": {"type": "object", "required": ["id", "email"],
                    "properties": {"id": {"type": "integer"}, "email": {"type": "string", "nullable": true, "format": "email"}}}}
            }
        })).unwrap()
    }

    fn answer(status: u16, body: &str) -> Exchange {
        Exchange {
            method: "POST".into(),
            path: "/orgs/acme/invitations".into(),
            query: None,
            request_headers: vec![],
            request_body: String::new(),
            status,
            response_headers: vec![],
            response_body: body.into(),
        }
    }

    #[test]
    fn requests_are_checked_against_their_operation() {
        let s = spec();
        assert!(s
            .check_request(
                "POST",
                "/orgs/acme/invitations",
                Some("per_page=100"),
                r#"{"role":"admin"}"#
            )
            .is_empty());
        let bad = s.check_request(
            "POST",
            "/orgs/acme/invitations",
            Some("per_page=x&page=2"),
            r#"{"role":"owner"}"#,
        );
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("\"page\" is not declared")));
        assert!(bad
            .iter()
            .any(|b| b.contains("request body") && b.contains("owner")));
        assert!(!s
            .check_request("GET", "/orgs/acme/invitations", None, "")
            .is_empty());
        assert!(!s
            .check_request("POST", "/orgs//invitations", None, "")
            .is_empty());
    }

    #[test]
    fn answers_are_checked_against_their_status() {
        let s = spec();
        assert!(s
            .check_response(&answer(201, r#"{"id": 1, "email": null}"#))
            .is_empty());
        assert!(s.check_response(&answer(204, "")).is_empty());
        assert_eq!(
            s.check_response(&answer(201, r#"{"id": 1, "email": "no"}"#))
                .len(),
            1
        );
        assert_eq!(
            s.check_response(&answer(201, r#"{"email": "a@b.org"}"#))
                .len(),
            1
        );
        assert!(s.check_response(&answer(403, "{}"))[0].contains("not documented"));
        let s = s.also_answers(vec![GlobalAnswer {
            status: 403,
            marked_by: vec![("x-limited".into(), Some("1".into()))],
            schema: "#/components/schemas/inv".into(),
        }]);
        let mut limited = answer(403, r#"{"id": 2, "email": null}"#);
        assert!(!s.check_response(&limited).is_empty(), "not marked");
        limited
            .response_headers
            .push(("x-limited".into(), "1".into()));
        assert!(s.check_response(&limited).is_empty());
    }
}
