//! The WHM API 1 response envelope (REFERENCE §3) and the reason-text helpers:
//! `(XID xxxxxx) ` prefixes and `API failure: ` wrapping.

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::sim::options::ResultStyle;

/// A handler's answer before it is typed and wrapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// Success (1) or failure (0).
    pub ok: bool,
    /// `metadata.reason`.
    pub reason: String,
    /// `data`, when the function returned a hash.
    pub data: Option<Value>,
    /// `metadata.output`, when present.
    pub output: Option<Value>,
}

impl Reply {
    /// Success with `data`.
    pub fn ok(data: Value) -> Self {
        Self {
            ok: true,
            reason: "OK".into(),
            data: Some(data),
            output: None,
        }
    }

    /// Success without `data` (metadata only).
    pub fn ok_empty() -> Self {
        Self {
            ok: true,
            reason: "OK".into(),
            data: None,
            output: None,
        }
    }

    /// Failure with this reason.
    pub fn fail(reason: impl Into<String>) -> Self {
        Self {
            ok: false,
            reason: reason.into(),
            data: None,
            output: None,
        }
    }

    /// Adds `data` (e.g. accountsummary's data on failure).
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }
}

/// Functions whose 11.120 handlers set success from the string literal `'1'`.
pub fn uses_string_result(function: &str) -> bool {
    !matches!(
        function,
        "listaccts" | "accountsummary" | "get_featurelists"
    )
}

/// Wraps a reply in the envelope for `function` with the given result style. The reply
/// is moved in: its data can be a whole log of megabytes.
pub fn envelope(function: &str, reply: Reply, style: ResultStyle) -> Value {
    let as_string = match style {
        ResultStyle::String => true,
        ResultStyle::Integer => false,
        // Failure paths set the numeric 0 (REFERENCE §3).
        ResultStyle::Documented => reply.ok && uses_string_result(function),
    };
    let n = u8::from(reply.ok);
    let result = if as_string {
        json!(n.to_string())
    } else {
        json!(n)
    };
    let mut meta = Map::new();
    meta.insert("command".into(), json!(function));
    meta.insert("reason".into(), Value::String(reply.reason));
    meta.insert("result".into(), result);
    meta.insert("version".into(), json!(1));
    if let Some(out) = reply.output {
        meta.insert("output".into(), out);
    }
    let mut top = Map::new();
    if let Some(d) = reply.data {
        top.insert("data".into(), d);
    }
    top.insert("metadata".into(), Value::Object(meta));
    Value::Object(top)
}

const XID_CHARS: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// A random `(XID xxxxxx) ` prefix.
pub fn xid(rng: &mut impl Rng) -> String {
    let id: String = (0..6)
        .map(|_| char::from(XID_CHARS[rng.random_range(0..XID_CHARS.len())]))
        .collect();
    format!("(XID {id}) ")
}

/// `API failure: (XID …) TEXT\n`: an exception that escaped the function.
pub fn api_failure(rng: &mut impl Rng, text: &str) -> String {
    format!("API failure: {}{text}\n", xid(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn documented_style_per_function() {
        let ok = Reply::ok(json!({}));
        let style = ResultStyle::Documented;
        assert_eq!(
            envelope("listpkgs", ok.clone(), style)["metadata"]["result"],
            "1"
        );
        assert_eq!(envelope("listaccts", ok, style)["metadata"]["result"], 1);
        assert_eq!(
            envelope("listpkgs", Reply::fail("x"), style)["metadata"]["result"],
            0
        );
        assert_eq!(
            envelope("listpkgs", Reply::fail("x"), ResultStyle::String)["metadata"]["result"],
            "0"
        );
        assert!(
            envelope("x", Reply::ok_empty(), style)
                .get("data")
                .is_none()
        );
    }

    #[test]
    fn xid_shape() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let x = xid(&mut rng);
        assert_eq!(x.len(), "(XID abcdef) ".len());
        assert!(x[5..11].bytes().all(|b| XID_CHARS.contains(&b)));
    }
}
