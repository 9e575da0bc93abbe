//! The WHM API 1 response envelope (REFERENCE §3): `metadata` with a result that may be
//! `1`, `"1"`, `0` or `"0"`, and an optional `data`.

use crate::whm::error::{WhmError, clean_reason};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

/// `metadata.output`: warnings and messages some functions attach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Output {
    /// Warnings raised during the call (e.g. transport fallbacks at session creation).
    #[serde(default, deserialize_with = "strings")]
    pub warnings: Vec<String>,
    /// Informational lines (e.g. `delete_account_archives`' script output).
    #[serde(default, deserialize_with = "strings")]
    pub messages: Vec<String>,
    /// Raw output text of some functions.
    #[serde(default, deserialize_with = "crate::domain::lenient::opt_string")]
    pub raw: Option<String>,
}

/// The decoded `metadata` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// `metadata.command`: the function name, when sent.
    pub command: Option<String>,
    /// Whether the function succeeded (`result` 1).
    pub success: bool,
    /// `metadata.reason`, as sent.
    pub reason: String,
    /// `metadata.output`, when sent.
    pub output: Output,
}

/// A decoded response: metadata plus the still-encoded `data`, if any.
#[derive(Debug)]
pub struct Envelope {
    /// The metadata block.
    pub metadata: Metadata,
    /// `data`, absent for metadata-only functions and for `listaccts` with no accounts.
    pub data: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    metadata: Option<RawMetadata>,
    // Borrowed from the body: a large `data` is not copied until a caller asks.
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct RawMetadata {
    #[serde(default, deserialize_with = "crate::domain::lenient::opt_string")]
    command: Option<String>,
    result: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "crate::domain::lenient::string")]
    reason: String,
    #[serde(default)]
    output: Option<Output>,
}

fn strings<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    // A single string, a list of strings, or null.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<Option<String>>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v.into_iter().flatten().collect(),
    })
}

/// Where a response came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct CallSite<'a> {
    /// `host:port` of the server.
    pub server: &'a str,
    /// The function called.
    pub function: &'a str,
    /// The session the call concerns, if any.
    pub session_id: Option<&'a str>,
}

impl CallSite<'_> {
    pub(crate) fn not_json(&self, what: String) -> WhmError {
        WhmError::NotWhmJson {
            server: self.server.to_owned(),
            function: self.function.to_owned(),
            what,
        }
    }

    fn shape(&self, path: impl Into<String>, detail: impl Into<String>) -> WhmError {
        WhmError::Shape {
            server: self.server.to_owned(),
            function: self.function.to_owned(),
            path: path.into(),
            detail: detail.into(),
        }
    }
}

/// Decodes a response body into an [`Envelope`], failing on bodies that are not WHM
/// JSON and on `result` 0.
pub fn decode(body: &[u8], site: CallSite<'_>) -> Result<Envelope, WhmError> {
    decode_any(body, site)?.success(site)
}

/// Decodes a response body into an [`Envelope`] whatever its `result`; only bodies
/// that are not WHM JSON fail. For the few functions whose failures carry data.
pub fn decode_any(body: &[u8], site: CallSite<'_>) -> Result<Envelope, WhmError> {
    let (metadata, data) = decode_borrowed(body, site)?;
    Ok(Envelope {
        metadata,
        data: data.map(ToOwned::to_owned),
    })
}

/// A shape error at `path` of `site`'s answer.
pub(crate) fn shape(site: CallSite<'_>, path: &str, detail: String) -> WhmError {
    site.shape(path, detail)
}

/// Like [`decode_any`], with `data` left in the body, undecoded.
pub(crate) fn decode_borrowed<'a>(
    body: &'a [u8],
    site: CallSite<'_>,
) -> Result<(Metadata, Option<&'a RawValue>), WhmError> {
    let raw: RawEnvelope = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(e) => return Err(site.not_json(describe_body(body, Some(&e)))),
    };
    let Some(meta) = raw.metadata else {
        return Err(site.not_json(
            "JSON without a `metadata` block (is `api.version=1` being dropped by a proxy?)"
                .to_owned(),
        ));
    };
    let success = match &meta.result {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1) => true,
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(0) => false,
        Some(serde_json::Value::String(s)) if s == "1" => true,
        Some(serde_json::Value::String(s)) if s == "0" => false,
        other => {
            return Err(site.shape(
                "metadata.result",
                format!(
                    "expected 1, \"1\", 0 or \"0\", found {}",
                    other
                        .as_ref()
                        .map_or_else(|| "nothing".to_owned(), std::string::ToString::to_string)
                ),
            ));
        }
    };
    Ok((
        Metadata {
            command: meta.command,
            success,
            reason: meta.reason,
            output: meta.output.unwrap_or_default(),
        },
        raw.data,
    ))
}

impl Envelope {
    /// Turns a `result` 0 envelope into [`WhmError::Api`] with the cleaned reason.
    pub fn success(self, site: CallSite<'_>) -> Result<Self, WhmError> {
        if self.metadata.success {
            return Ok(self);
        }
        let (reason, xid) = clean_reason(&self.metadata.reason);
        Err(WhmError::Api {
            server: site.server.to_owned(),
            function: site.function.to_owned(),
            session_id: site.session_id.map(ToOwned::to_owned),
            reason: if reason.is_empty() {
                "the server gave no reason".to_owned()
            } else {
                reason
            },
            xid,
        })
    }

    /// Decodes `data` into `T`; a missing or null `data` decodes as `T`'s empty form
    /// when `T` allows it (every field defaulted), else it is a shape error.
    pub fn data<T: DeserializeOwned>(&self, site: CallSite<'_>) -> Result<T, WhmError> {
        let text = self.data.as_deref().map_or("{}", RawValue::get);
        let text = if text == "null" { "{}" } else { text };
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                "data".to_owned()
            } else {
                format!("data.{path}")
            };
            site.shape(path, e.into_inner().to_string())
        })
    }
}

/// Says in a few words what a body that is not JSON looks like.
pub fn describe_body(body: &[u8], err: Option<&serde_json::Error>) -> String {
    let text = String::from_utf8_lossy(body);
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return "an empty body".to_owned();
    }
    if trimmed.starts_with('<') {
        let lower = trimmed.to_ascii_lowercase();
        let title = lower.find("<title>").and_then(|start| {
            let rest = &trimmed[start + 7..];
            rest.to_ascii_lowercase()
                .find("</title>")
                .map(|end| rest[..end].split_whitespace().collect::<Vec<_>>().join(" "))
        });
        return match title {
            Some(t) if !t.is_empty() => format!("an HTML page titled “{}”", excerpt(&t, 80)),
            _ => "an HTML page".to_owned(),
        };
    }
    if let Some(e) = err {
        if e.is_eof() {
            return format!("truncated JSON ({} bytes, cut off: {e})", body.len());
        }
        return format!("text that is not JSON ({e}): “{}”", excerpt(trimmed, 80));
    }
    format!("“{}”", excerpt(trimmed, 80))
}

fn excerpt(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::{CallSite, decode, describe_body};
    use crate::whm::error::WhmError;

    const SITE: CallSite<'static> = CallSite {
        server: "h:2087",
        function: "f",
        session_id: Some("s1"),
    };

    #[test]
    fn result_may_be_number_or_string() {
        for r in ["1", "\"1\""] {
            let body = format!(r#"{{"metadata":{{"result":{r},"reason":"OK"}}}}"#);
            assert!(decode(body.as_bytes(), SITE).unwrap().metadata.success);
        }
        for r in ["0", "\"0\""] {
            let body = format!(
                r#"{{"metadata":{{"result":{r},"reason":"API failure: (XID abc234) Bad.\n"}}}}"#
            );
            match decode(body.as_bytes(), SITE).unwrap_err() {
                WhmError::Api {
                    reason,
                    xid,
                    session_id,
                    ..
                } => {
                    assert_eq!(reason, "Bad.");
                    assert_eq!(xid.as_deref(), Some("abc234"));
                    assert_eq!(session_id.as_deref(), Some("s1"));
                }
                e => panic!("unexpected {e:?}"),
            }
        }
        let err = decode(br#"{"metadata":{"result":2}}"#, SITE).unwrap_err();
        assert!(
            matches!(&err, WhmError::Shape { path, .. } if path == "metadata.result"),
            "{err}"
        );
    }

    #[test]
    fn bodies_that_are_not_whm_json_say_what_they_are() {
        let html = b"<!DOCTYPE html><html><head><title>WHM Login</title></head></html>";
        assert_eq!(describe_body(html, None), "an HTML page titled “WHM Login”");
        let err = decode(br#"{"metadata":{"result":1,"rea"#, SITE).unwrap_err();
        assert!(err.to_string().contains("truncated JSON"), "{err}");
        let err = decode(b"", SITE).unwrap_err();
        assert!(err.to_string().contains("an empty body"), "{err}");
        let err = decode(br#"{"data":{}}"#, SITE).unwrap_err();
        assert!(
            err.to_string().contains("without a `metadata` block"),
            "{err}"
        );
    }

    #[test]
    fn shape_errors_name_the_json_path() {
        #[derive(serde::Deserialize, Debug)]
        struct D {
            #[allow(dead_code)]
            acct: Vec<A>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct A {
            #[allow(dead_code)]
            user: String,
        }
        let env = decode(
            br#"{"metadata":{"result":1},"data":{"acct":[{"user":"a"},{"user":7}]}}"#,
            SITE,
        )
        .unwrap();
        let err = env.data::<D>(SITE).unwrap_err();
        assert!(
            matches!(&err, WhmError::Shape { path, .. } if path == "data.acct[1].user"),
            "{err}"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            // The property is "no panic"; either answer is fine.
            let _ = decode(&body, SITE).map(|env| env.data::<serde_json::Value>(SITE));
        }

        #[test]
        fn arbitrary_json_envelopes_never_panic(
            result in proptest::prop_oneof![
                proptest::strategy::Just("1".to_owned()),
                proptest::strategy::Just("\"0\"".to_owned()),
                "[0-9]{1,3}",
                "\"[a-z0-9]{0,4}\"",
            ],
            reason in "[ -~]{0,40}",
            data in "[ -~]{0,60}",
        ) {
            let body = format!(
                r#"{{"metadata":{{"result":{result},"reason":{reason:?}}},"data":{data}}}"#
            );
            if let Ok(env) = decode(body.as_bytes(), SITE) {
                // The property is "no panic"; either answer is fine.
                let _ = env.data::<crate::domain::RemoteAnalysis>(SITE);
            }
        }
    }
}
