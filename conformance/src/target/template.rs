//! `{{name}}` placeholders in target files.
//!
//! In a JSON body a placeholder becomes the JSON encoding of its value (so `{"data": {{data}}}` takes an object
//! and `{"key": {{key}}}` a quoted string); in a URL it becomes the value's string form, URL-encoded; in a header
//! its string form.

use std::collections::BTreeMap;

use serde_json::Value;

/// Values for placeholders.
pub type Vars = BTreeMap<String, Value>;

/// Where a template is used, which decides how a value is written into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// JSON encoding of the value.
    Body,
    /// String form, URL-encoded; a placeholder at the very start of the URL is the base URL and goes in as is.
    Url,
    /// String form.
    Header,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unknown placeholder `{{{{{name}}}}}` in {template:?} (known: {known})")]
    Unknown {
        name: String,
        template: String,
        known: String,
    },
    #[error("unclosed `{{{{` in {0:?}")]
    Unclosed(String),
    #[error("the body is not JSON once its placeholders are filled: {reason}\n  body: {body}")]
    BodyNotJson { reason: String, body: String },
}

/// The placeholder names in a template, in order.
pub fn placeholders(template: &str) -> Result<Vec<String>, TemplateError> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed(template.to_owned()))?;
        names.push(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    Ok(names)
}

/// Fills every placeholder of `template` from `vars`.
pub fn render(template: &str, vars: &Vars, context: Context) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .ok_or_else(|| TemplateError::Unclosed(template.to_owned()))?;
        let name = after[..end].trim();
        let value = vars.get(name).ok_or_else(|| TemplateError::Unknown {
            name: name.to_owned(),
            template: template.to_owned(),
            known: vars.keys().cloned().collect::<Vec<_>>().join(", "),
        })?;
        match context {
            Context::Body => out.push_str(&value.to_string()),
            Context::Header => out.push_str(&string_form(value)),
            // A placeholder opening the URL (`{{endpoint}}/api/…`) is the base URL, not a component.
            Context::Url if out.is_empty() => out.push_str(&string_form(value)),
            Context::Url => out.push_str(&url_encode(&string_form(value))),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Renders a JSON body template and parses the result.
pub fn render_body(template: &str, vars: &Vars) -> Result<Value, TemplateError> {
    let text = render(template, vars, Context::Body)?;
    serde_json::from_str(&text).map_err(|e| TemplateError::BodyNotJson {
        reason: e.to_string(),
        body: text,
    })
}

/// Checks a body template is JSON whatever its placeholders hold (each is tried as `null`).
pub fn check_body(template: &str) -> Result<(), TemplateError> {
    let vars: Vars = placeholders(template)?
        .into_iter()
        .map(|n| (n, Value::Null))
        .collect();
    render_body(template, &vars).map(drop)
}

/// A value as plain text: strings without quotes, everything else as JSON.
pub fn string_form(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
