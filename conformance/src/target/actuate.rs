//! Performing an HTTP actuator: fill its templates, send it, check the status, read its outputs.

use std::time::Duration;

use serde_json::Value;

use super::template::{self, Context, Vars};
use super::HttpActuator;
use crate::case::CaseError;
use crate::transcript::{EntryKind, Transcript};

/// What an actuator call produced.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    /// The JSON body, or `null` when the body is empty or not JSON.
    pub body: Value,
    /// The values named by the actuator's `outputs`.
    pub outputs: Vars,
}

/// A rendered request, before it is sent (kept separate so it can be tested without a network).
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
}

/// Fills the actuator's templates from `vars`.
pub fn render(actuator: &HttpActuator, vars: &Vars) -> Result<Rendered, template::TemplateError> {
    Ok(Rendered {
        method: actuator.method.to_uppercase(),
        url: template::render(&actuator.url, vars, Context::Url)?,
        headers: actuator
            .headers
            .iter()
            .map(|(k, v)| Ok((k.clone(), template::render(v, vars, Context::Header)?)))
            .collect::<Result<_, template::TemplateError>>()?,
        body: actuator
            .body
            .as_deref()
            .map(|b| template::render_body(b, vars))
            .transpose()?,
    })
}

/// Sends the actuator's request and checks its status; the exchange goes into the transcript.
pub async fn perform(
    http: &reqwest::Client,
    transcript: &Transcript,
    name: &str,
    actuator: &HttpActuator,
    vars: &Vars,
    timeout: Duration,
) -> Result<Response, CaseError> {
    let rendered = render(actuator, vars)
        .map_err(|e| CaseError::harness(format!("actuator `{name}`: {e}")))?;
    let method = reqwest::Method::from_bytes(rendered.method.as_bytes())
        .map_err(|e| CaseError::harness(format!("actuator `{name}`: {e}")))?;
    let mut request = http.request(method, &rendered.url).timeout(timeout);
    for (k, v) in &rendered.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &rendered.body {
        request = request.json(body);
    }
    let shown_body = rendered
        .body
        .as_ref()
        .map(|b| format!(" {b}"))
        .unwrap_or_default();
    let label = format!("http:{name}");
    transcript.record(
        &label,
        EntryKind::Http,
        format!("{} {}{shown_body}", rendered.method, rendered.url),
    );
    let response = request.send().await.map_err(|e| {
        CaseError::fail(format!(
            "actuator `{name}`: {} {} failed: {e}",
            rendered.method, rendered.url
        ))
    })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    transcript.record(&label, EntryKind::Http, format!("{status} {}", text.trim()));
    if !actuator.status.accepts(status) {
        return Err(CaseError::fail(format!(
            "actuator `{name}`: {} {} answered HTTP {status} (the target expects {:?}): {}",
            rendered.method,
            rendered.url,
            actuator.status,
            text.trim()
        )));
    }
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let mut outputs = Vars::new();
    for (key, pointer) in &actuator.outputs {
        let value = body.pointer(pointer).cloned().ok_or_else(|| {
            CaseError::fail(format!(
                "actuator `{name}`: the response has nothing at `{pointer}` (output `{key}`): {}",
                text.trim()
            ))
        })?;
        outputs.insert(key.clone(), value);
    }
    Ok(Response {
        status,
        body,
        outputs,
    })
}
