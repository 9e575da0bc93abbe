//! Errors of the WHM client, one variant per kind of trouble, so callers (and users)
//! can tell a network problem from a refused token from a server that said no.

use std::time::Duration;

/// Everything that can go wrong in one call to WHM API 1.
///
/// No variant ever holds the API token or a parameter value sent in the body: only the
/// function name, the server, and what came back.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum WhmError {
    /// The TCP connection (or DNS lookup) failed.
    #[error("cannot connect to {server} (calling {function}): {detail}")]
    #[diagnostic(
        code(whm::connect),
        help(
            "check the destination url and port (WHM API 1 is served on 2087), that the server is up, and that no firewall blocks this machine"
        )
    )]
    Connect {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// The underlying error, as text.
        detail: String,
    },

    /// The TLS handshake failed: most often an untrusted certificate.
    #[error("TLS handshake with {server} failed (calling {function}): {detail}")]
    #[diagnostic(code(whm::tls), help("{help}"))]
    Tls {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// What the TLS layer said.
        detail: String,
        /// How to trust the server, with its certificate fingerprint when known.
        help: String,
    },

    /// No complete answer within the call's timeout.
    #[error("{function} on {server} did not answer within {}", crate::units::duration(*.timeout))]
    #[diagnostic(
        code(whm::timeout),
        help(
            "the server may be overloaded; the call is retried automatically when it only reads. Raise the timeout in [destination] if the server is just slow"
        )
    )]
    Timeout {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// The timeout that ran out.
        timeout: Duration,
    },

    /// The connection broke before a whole response arrived.
    #[error("the connection to {server} broke during {function}: {detail}")]
    #[diagnostic(
        code(whm::transport),
        help(
            "a network or proxy problem; reads are retried automatically. When a change was lost this way, re-run the same command: apply asks the server what already happened and never repeats a transfer"
        )
    )]
    Transport {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// The underlying error, as text.
        detail: String,
    },

    /// The server answered with an HTTP error status.
    #[error("{function} on {server} answered HTTP {status}: {body}")]
    #[diagnostic(code(whm::http_status), help("{help}"))]
    HttpStatus {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// The HTTP status code.
        status: u16,
        /// A short description of the body (e.g. "an HTML page titled …").
        body: String,
        /// What to do about it.
        help: String,
    },

    /// The body is not WHM API 1 JSON: an HTML login page, an empty body, truncated JSON.
    #[error("{function} on {server} did not answer with WHM API 1 JSON: it sent {what}")]
    #[diagnostic(
        code(whm::not_json),
        help(
            "check that the url points at WHM (port 2087, not cPanel's 2083 or a proxy) and that the server is healthy"
        )
    )]
    NotWhmJson {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// What came instead.
        what: String,
    },

    /// The function ran and reported failure (`metadata.result` 0).
    #[error("{function} failed on {server}{}: {reason}", session_suffix(session_id.as_deref()))]
    #[diagnostic(code(whm::api_failure))]
    Api {
        /// `host:port` of the server.
        server: String,
        /// The WHM function that failed.
        function: String,
        /// The transfer session concerned, if any.
        session_id: Option<String>,
        /// The server's reason, without its `API failure:`/`(XID …)` decorations.
        reason: String,
        /// The `XID` the server logged the failure under, for its error log.
        xid: Option<String>,
    },

    /// The answer grew past the client's limit (a hostile or broken server streaming
    /// without end): cut off, never retried.
    #[error("{function} on {server} answered more than {}: the answer was cut off", crate::units::bytes(*.limit))]
    #[diagnostic(
        code(whm::too_large),
        help(
            "no WHM answer should be this large: check that the url points at WHM (port 2087); raise the limit only for a log known to be this large"
        )
    )]
    TooLarge {
        /// `host:port` of the server.
        server: String,
        /// The WHM function.
        function: String,
        /// The limit, in bytes.
        limit: u64,
    },

    /// The JSON is WHM's envelope but a field has an unexpected shape.
    #[error("{function} on {server} answered an unexpected shape at {path}: {detail}")]
    #[diagnostic(
        code(whm::shape),
        help(
            "this server version answers differently from the documented API; please report it with the server's version"
        )
    )]
    Shape {
        /// `host:port` of the server.
        server: String,
        /// The WHM function being called.
        function: String,
        /// The JSON path of the offending value, e.g. `data.acct[3].user`.
        path: String,
        /// What was wrong there.
        detail: String,
    },

    /// The client was configured wrongly (bad url, unreadable CA file, bad pin).
    #[error("{0}")]
    #[diagnostic(code(whm::config))]
    Config(String),
}

fn session_suffix(id: Option<&str>) -> String {
    id.map(|id| format!(" (session {id})")).unwrap_or_default()
}

impl WhmError {
    /// Whether this is WHM's documented answer for a session it does not know
    /// (REFERENCE §4.5, §4.11, §4.12): result 0 with `The session ID “ID” does not
    /// exist.`, the `API failure:`/`(XID …)` decorations already removed. REFERENCE §8
    /// says never to match on reason text; this one documented sentence is the only way
    /// WHM says a session is gone, and a session is only ever forgotten on it, so any
    /// other wording (a busy server, a restart) leaves the session in place.
    pub fn is_unknown_session(&self, id: &str) -> bool {
        let Self::Api { reason, .. } = self else {
            return false;
        };
        [("“", "”"), ("\"", "\""), ("'", "'")]
            .iter()
            .any(|(open, close)| {
                reason.trim_end() == format!("The session ID {open}{id}{close} does not exist.")
            })
    }

    /// Whether reading session `id` again cannot help: WHM does not know the session, or
    /// the client is misconfigured or the answer unreadable. A result-0 answer with any
    /// other reason may be a busy or restarting server.
    pub fn is_final_for_session(&self, id: &str) -> bool {
        match self {
            Self::Api { .. } => self.is_unknown_session(id),
            _ => !self.is_transient(),
        }
    }

    /// Whether retrying the same read may succeed: network trouble, timeouts, server
    /// errors and garbled bodies. Never true for configuration or shape errors.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::NotWhmJson { .. } => true,
            Self::HttpStatus { status, .. } => *status >= 500 || *status == 429,
            Self::Api { .. }
            | Self::Tls { .. }
            | Self::Shape { .. }
            | Self::Config(_)
            | Self::TooLarge { .. } => false,
        }
    }

    /// Whether the call certainly had no effect on the server: it refused the call (a
    /// result-0 answer, 401/403), or the request never reached it. Anything else (a lost
    /// answer, a timeout, a 5xx, a garbled body) may hide a call that ran.
    pub fn server_did_not_act(&self) -> bool {
        match self {
            Self::Api { .. } | Self::Connect { .. } | Self::Tls { .. } | Self::Config(_) => true,
            Self::HttpStatus { status, .. } => matches!(status, 401 | 403),
            Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::NotWhmJson { .. }
            | Self::Shape { .. }
            | Self::TooLarge { .. } => false,
        }
    }

    /// The server's failure reason, when the function itself reported failure.
    pub fn api_reason(&self) -> Option<&str> {
        match self {
            Self::Api { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Splits a WHM failure reason into its text and its `XID`, removing the
/// `API failure: ` prefix and the trailing newline (REFERENCE §3).
pub fn clean_reason(raw: &str) -> (String, Option<String>) {
    let mut text = raw.trim();
    if let Some(rest) = text.strip_prefix("API failure:") {
        text = rest.trim_start();
    }
    let mut xid = None;
    if let Some(rest) = text.strip_prefix("(XID ")
        && let Some(end) = rest.find(')')
    {
        xid = Some(rest[..end].trim().to_owned());
        text = rest[end + 1..].trim_start();
    }
    (text.trim_end().to_owned(), xid)
}

#[cfg(test)]
mod tests {
    use super::{WhmError, clean_reason};

    fn api(reason: &str) -> WhmError {
        WhmError::Api {
            server: "s:2087".into(),
            function: "get_transfer_session_state".into(),
            session_id: Some("abc".into()),
            reason: clean_reason(reason).0,
            xid: None,
        }
    }

    #[test]
    fn only_the_documented_sentence_for_this_session_means_unknown() {
        for documented in [
            "API failure: (XID q1w2e3) The session ID “abc” does not exist.\n",
            "(XID q1w2e3) The session ID “abc” does not exist.",
            "The session ID “abc” does not exist.",
            "The session ID \"abc\" does not exist.",
        ] {
            assert!(api(documented).is_unknown_session("abc"), "{documented}");
        }
        for other in [
            "The session ID “abd” does not exist.",
            "The system is temporarily unable to answer (simulated fault).",
            "The system failed to fetch the transfer session state.",
            "Session abc does not exist",
        ] {
            assert!(!api(other).is_unknown_session("abc"), "{other}");
        }
    }

    #[test]
    fn reasons_lose_their_decorations() {
        assert_eq!(
            clean_reason("API failure: (XID abc234) The session ID “x” does not exist.\n"),
            (
                "The session ID “x” does not exist.".to_owned(),
                Some("abc234".to_owned())
            )
        );
        assert_eq!(
            clean_reason("(XID k2m3n4) Nope."),
            ("Nope.".to_owned(), Some("k2m3n4".to_owned()))
        );
        assert_eq!(clean_reason("Plain."), ("Plain.".to_owned(), None));
        assert_eq!(
            clean_reason("(XID broken"),
            ("(XID broken".to_owned(), None)
        );
    }
}
