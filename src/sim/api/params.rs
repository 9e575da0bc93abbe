//! Call arguments: the query string and a form body merged (query first), with every
//! `api.*` input stripped before the function sees them (REFERENCE §1).

use rand::Rng;

use super::envelope::{Reply, api_failure, xid};
use crate::sim::session::valid_id;
use crate::sim::state::Inner;

/// The arguments of one call, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// The `api.version` value, if given.
    pub api_version: Option<String>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` text from the query and the body.
    pub fn parse(query: &str, body: &str) -> Self {
        let mut p = Self::default();
        for (k, v) in decode(query).into_iter().chain(decode(body)) {
            if k == "api.version" {
                p.api_version.get_or_insert(v);
            } else if !k.starts_with("api.") {
                p.pairs.push((k, v));
            }
        }
        p
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` when non-empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    /// All argument names, first occurrence order, without repeats.
    pub fn keys(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &self.pairs {
            if !seen.contains(&k.as_str()) {
                seen.push(k);
            }
        }
        seen
    }

    /// A required, non-empty argument; otherwise the `API failure:` answer.
    pub fn required(&self, rng: &mut impl Rng, name: &str, function: &str) -> Result<&str, Reply> {
        match self.get(name) {
            None => Err(Reply::fail(api_failure(
                rng,
                &format!("Provide the “{name}” parameter for the “{function}” function."),
            ))),
            Some("") => Err(Reply::fail(api_failure(
                rng,
                &format!("The value of “{name}” may not be empty."),
            ))),
            Some(v) => Ok(v),
        }
    }

    /// The `transfer_session_id` of an existing session visible to `caller`.
    pub fn session(
        &self,
        inner: &mut Inner,
        function: &str,
        caller: &str,
    ) -> Result<String, Reply> {
        let id = self
            .required(&mut inner.rng, "transfer_session_id", function)?
            .to_owned();
        session_lookup(inner, &id, caller)
    }
}

/// Checks a session id's shape and existence (REFERENCE §5.1, §4.5).
pub fn session_lookup(inner: &mut Inner, id: &str, caller: &str) -> Result<String, Reply> {
    if !valid_id(id) {
        return Err(Reply::fail(format!(
            "{}The session ID “{id}” may only contain alphanumeric characters and underscores.",
            xid(&mut inner.rng)
        )));
    }
    match inner.sessions.get(id) {
        Some(s) if caller == "root" || s.creator == caller => Ok(id.to_owned()),
        _ => Err(Reply::fail(format!(
            "{}The session ID “{id}” does not exist.",
            xid(&mut inner.rng)
        ))),
    }
}

/// Decodes `a=b&c=d` (`+` is a space, `%XX` a byte; invalid UTF-8 is replaced).
fn decode(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unescape(k), unescape(v))
        })
        .collect()
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_query_and_body_and_strips_api_inputs() {
        let p = Params::parse(
            "api.version=1&module=Package%20X&api.sort.a=1",
            "size=3&x=a+b&e=",
        );
        assert_eq!(p.api_version.as_deref(), Some("1"));
        assert_eq!(p.keys(), ["module", "size", "x", "e"]);
        assert_eq!(p.get("module"), Some("Package X"));
        assert_eq!(p.get("x"), Some("a b"));
        assert_eq!(p.get("e"), Some(""));
        assert_eq!(unescape("%E2%80%9C%zz%4"), "“%zz%4");
    }
}
