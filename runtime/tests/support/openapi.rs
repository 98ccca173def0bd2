//! A small checker of the API's OpenAPI description, for the tests: its
//! operations, and whether a response body is what it documents (types,
//! required and extra properties, enums, ranges, `$ref`, `oneOf`). Shared by
//! the library's unit tests (`api/tests.rs`) and `tests/api.rs`.

#![allow(dead_code)]

use std::collections::BTreeSet;

use serde_json::Value;

/// The methods an OpenAPI path item may have.
const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// A parsed OpenAPI document.
pub struct Doc(pub Value);

impl Doc {
    pub fn parse(text: &str) -> Doc {
        Doc(serde_json::from_str(text).expect("the OpenAPI description is JSON"))
    }

    /// Every (METHOD, path template) it documents.
    pub fn operations(&self) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in self.0["paths"].as_object().expect("paths") {
            for (method, _) in item.as_object().expect("a path item") {
                if METHODS.contains(&method.as_str()) {
                    ops.insert((method.to_uppercase(), path.clone()));
                }
            }
        }
        ops
    }

    /// The documented template that a concrete path is an instance of.
    pub fn template_for(&self, path: &str) -> Option<String> {
        let path = path.split('?').next().unwrap_or(path);
        let parts: Vec<&str> = path.split('/').collect();
        self.0["paths"]
            .as_object()?
            .keys()
            .find(|t| {
                let tparts: Vec<&str> = t.split('/').collect();
                tparts.len() == parts.len()
                    && tparts.iter().zip(&parts).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
            })
            .cloned()
    }

    /// Follows a `$ref` (local ones only).
    pub fn resolve<'a>(&'a self, v: &'a Value) -> Result<&'a Value, String> {
        let mut v = v;
        for _ in 0..16 {
            let Some(r) = v.get("$ref").and_then(Value::as_str) else { return Ok(v) };
            let pointer = r.strip_prefix('#').ok_or_else(|| format!("not a local $ref: {r}"))?;
            v = self.0.pointer(pointer).ok_or_else(|| format!("$ref {r} points at nothing"))?;
        }
        Err("$ref loop".into())
    }

    /// Every `$ref` in the document that points at nothing.
    pub fn broken_refs(&self) -> Vec<String> {
        let mut broken = Vec::new();
        fn walk(doc: &Doc, v: &Value, broken: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref")
                        && doc.resolve(v).is_err()
                    {
                        broken.push(r.clone());
                    }
                    m.values().for_each(|v| walk(doc, v, broken));
                }
                Value::Array(a) => a.iter().for_each(|v| walk(doc, v, broken)),
                _ => {}
            }
        }
        walk(self, &self.0, &mut broken);
        broken
    }

    /// Whether `body`, answered with `status` to `method` on the concrete
    /// `path`, is what the description documents for it.
    pub fn check_response(&self, method: &str, path: &str, status: u16, body: &Value) -> Result<(), String> {
        let template = self.template_for(path).ok_or_else(|| format!("{path} is not documented"))?;
        let op = &self.0["paths"][&template][method.to_lowercase()];
        if op.is_null() {
            return Err(format!("{method} {template} is not documented"));
        }
        let response = op["responses"]
            .get(status.to_string())
            .ok_or_else(|| format!("{method} {template}: status {status} is not documented"))?;
        let response = self.resolve(response)?;
        let Some(schema) = response.pointer("/content/application~1json/schema") else {
            return Err(format!("{method} {template}: status {status} documents no JSON body"));
        };
        self.validate(schema, body, "$").map_err(|e| format!("{method} {path} -> {status}: {e}\nbody: {body}"))
    }

    /// Validates `value` against `schema`; `at` names where it is.
    pub fn validate(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema)?;
        if let Some(Value::Array(options)) = schema.get("oneOf") {
            let fits = options.iter().filter(|s| self.validate(s, value, at).is_ok()).count();
            if fits != 1 {
                let why: Vec<String> = options.iter().filter_map(|s| self.validate(s, value, at).err()).collect();
                return Err(format!("{at}: fits {fits} of the oneOf schemas, not one ({})", why.join("; ")));
            }
        }
        if let Some(t) = schema.get("type") {
            let types: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("{at}: a schema 'type' that is neither a string nor a list")),
            };
            if !types.iter().any(|t| is_type(value, t)) {
                return Err(format!("{at}: expected {}, found {value}", types.join(" or ")));
            }
        }
        if let Some(Value::Array(allowed)) = schema.get("enum")
            && !allowed.contains(value)
        {
            return Err(format!("{at}: {value} is not one of {}", Value::Array(allowed.clone())));
        }
        if let Some(n) = value.as_f64() {
            if schema.get("minimum").and_then(Value::as_f64).is_some_and(|min| n < min) {
                return Err(format!("{at}: {n} is below the minimum"));
            }
            if schema.get("maximum").and_then(Value::as_f64).is_some_and(|max| n > max) {
                return Err(format!("{at}: {n} is above the maximum"));
            }
        }
        if let Value::Object(map) = value {
            for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !map.contains_key(key) {
                    return Err(format!("{at}: the required property '{key}' is missing"));
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, v) in map {
                match properties.and_then(|p| p.get(key)) {
                    Some(s) => self.validate(s, v, &format!("{at}.{key}"))?,
                    None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                        return Err(format!("{at}: property '{key}' is not documented"));
                    }
                    None => {}
                }
            }
        }
        if let Value::Array(items) = value {
            if schema.get("minItems").and_then(Value::as_u64).is_some_and(|min| (items.len() as u64) < min) {
                return Err(format!("{at}: fewer items than minItems"));
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.validate(s, item, &format!("{at}[{i}]"))?;
                }
            }
        }
        Ok(())
    }
}

fn is_type(v: &Value, t: &str) -> bool {
    match t {
        "null" => v.is_null(),
        "boolean" => v.is_boolean(),
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "array" => v.is_array(),
        "object" => v.is_object(),
        _ => false,
    }
}
