//! `verify --http`: judging what a site answers from the destination against what it
//! answers from the source. What is fetched, and how, is [`super::fetch`]; this module
//! only compares two answers, so every rule is tested without a network.

use super::{Check, Outcome};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The name of the check a fetched domain gets.
pub const CHECK: &str = "site";

/// How one server answered `GET /` for a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fetched {
    /// `https` or `http`: the scheme that answered; `None` when neither did.
    pub scheme: Option<String>,
    /// The status of the last answer (a redirect to another host is not followed).
    pub status: Option<u16>,
    /// The page's `<title>`, whitespace collapsed.
    pub title: Option<String>,
    /// Where a redirect to another host points.
    pub location: Option<String>,
    /// Why the certificate was not trusted, when the page was then fetched without
    /// checking it.
    pub certificate: Option<String>,
    /// Why HTTPS gave no answer, when HTTP was then used.
    pub https_error: Option<String>,
    /// Why there is no answer at all.
    pub error: Option<String>,
}

impl Fetched {
    /// No answer, for `why`.
    pub fn failed(why: impl Into<String>) -> Self {
        Self {
            error: Some(why.into()),
            ..Self::default()
        }
    }

    fn answered(&self) -> bool {
        self.status.is_some()
    }

    fn is_https(&self) -> bool {
        self.scheme.as_deref() == Some("https")
    }

    /// What a reader compares: status, then title or redirect target.
    fn content(&self) -> (Option<u16>, Option<&str>, Option<&str>) {
        (self.status, self.title.as_deref(), self.location.as_deref())
    }
}

impl fmt::Display for Fetched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(status) = self.status else {
            return write!(
                f,
                "no answer ({})",
                self.error.as_deref().unwrap_or("unknown")
            );
        };
        write!(f, "{status}")?;
        if let Some(location) = &self.location {
            write!(f, " → {location}")?;
        } else {
            match &self.title {
                Some(t) => write!(f, " “{t}”")?,
                None => f.write_str(" (no title)")?,
            }
        }
        let scheme = self.scheme.as_deref().unwrap_or("?").to_uppercase();
        write!(f, " over {scheme}")?;
        if let Some(why) = &self.certificate {
            write!(f, " (certificate not trusted: {why})")?;
        }
        if let Some(why) = &self.https_error {
            write!(f, " (no HTTPS: {why})")?;
        }
        Ok(())
    }
}

/// One domain of an account, as both servers answered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAnswers {
    /// The domain fetched.
    pub domain: String,
    /// From the destination's IP for the account.
    pub destination: Fetched,
    /// From the source's address.
    pub source: Fetched,
    /// The source account has a dedicated IP the analysis does not name, so the source
    /// answer came from the source's main address and may be another site's.
    pub source_dedicated: bool,
}

/// The `site` check of one domain. Fails when the destination does not answer, answers
/// 5xx, lost HTTPS the source has, or differs from the source in status, title or
/// redirect target; warns when its certificate is not trusted (common before AutoSSL
/// runs) or the source gave nothing to compare with.
pub fn judge(a: &SiteAnswers) -> Check {
    let (dest, src) = (&a.destination, &a.source);
    let both = format!("{}: destination {dest}; source {src}", a.domain);
    let check = |outcome, why: &str| {
        let detail = if why.is_empty() {
            both.clone()
        } else {
            format!("{why}: {both}")
        };
        Check::new(CHECK, outcome, detail)
    };
    if !dest.answered() {
        return check(Outcome::Fail, "the destination does not answer");
    }
    if dest.status.is_some_and(|s| s >= 500) && src.status != dest.status {
        return check(Outcome::Fail, "the destination answers with a server error");
    }
    if !src.answered() {
        return check(
            Outcome::Warn,
            "the source does not answer, nothing to compare",
        );
    }
    if src.is_https() && !dest.is_https() {
        return check(Outcome::Fail, "the destination lost HTTPS");
    }
    if dest.content() != src.content() {
        return if a.source_dedicated {
            check(
                Outcome::Warn,
                "the answers differ, but the source account has a dedicated IP, so the source answer may be another site's",
            )
        } else {
            check(Outcome::Fail, "the answers differ")
        };
    }
    if dest.status.is_some_and(|s| s >= 500) {
        return check(Outcome::Warn, "both servers answer with a server error");
    }
    if dest.certificate.is_some() {
        return check(
            Outcome::Warn,
            "the destination's certificate is not trusted",
        );
    }
    check(Outcome::Pass, "")
}

/// The `<title>` of an HTML page, entities of the common kind decoded and whitespace
/// collapsed; `None` when the page has none.
pub fn title_of(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let raw = &html[start..end];
    let decoded = raw
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    Some(decoded.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(scheme: &str, status: u16, title: &str) -> Fetched {
        Fetched {
            scheme: Some(scheme.into()),
            status: Some(status),
            title: Some(title.into()),
            ..Fetched::default()
        }
    }

    fn answers(destination: Fetched, source: Fetched) -> SiteAnswers {
        SiteAnswers {
            domain: "shop.example".into(),
            destination,
            source,
            source_dedicated: false,
        }
    }

    #[test]
    fn the_same_page_passes() {
        let c = judge(&answers(
            page("https", 200, "Shop"),
            page("https", 200, "Shop"),
        ));
        assert_eq!(c.outcome, Outcome::Pass, "{c:?}");
        assert_eq!(c.name, CHECK);
        assert!(
            c.detail
                .starts_with("shop.example: destination 200 “Shop” over HTTPS")
        );
    }

    #[test]
    fn a_server_error_fails_naming_both_answers() {
        let c = judge(&answers(
            page("http", 500, "Error"),
            page("http", 200, "Shop"),
        ));
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(c.detail.contains("server error"), "{}", c.detail);
        assert!(c.detail.contains("destination 500 “Error” over HTTP"));
        assert!(c.detail.contains("source 200 “Shop” over HTTP"));
    }

    #[test]
    fn a_different_title_fails_unless_the_source_answer_may_be_another_sites() {
        let mut a = answers(
            page("http", 200, "Default Web Site Page"),
            page("http", 200, "Shop"),
        );
        assert_eq!(judge(&a).outcome, Outcome::Fail);
        a.source_dedicated = true;
        assert_eq!(judge(&a).outcome, Outcome::Warn);
    }

    #[test]
    fn an_untrusted_certificate_warns_and_lost_https_fails() {
        let mut dest = page("https", 200, "Shop");
        dest.certificate = Some("self-signed".into());
        let c = judge(&answers(dest, page("https", 200, "Shop")));
        assert_eq!(c.outcome, Outcome::Warn);
        assert!(c.detail.contains("certificate not trusted: self-signed"));
        let mut plain = page("http", 200, "Shop");
        plain.https_error = Some("handshake refused".into());
        let c = judge(&answers(plain, page("https", 200, "Shop")));
        assert_eq!(c.outcome, Outcome::Fail, "{c:?}");
    }

    #[test]
    fn no_answer_fails_at_the_destination_and_warns_at_the_source() {
        let c = judge(&answers(
            Fetched::failed("connection refused"),
            page("http", 200, "Shop"),
        ));
        assert_eq!(c.outcome, Outcome::Fail);
        assert!(c.detail.contains("no answer (connection refused)"));
        let c = judge(&answers(
            page("http", 200, "Shop"),
            Fetched::failed("timed out"),
        ));
        assert_eq!(c.outcome, Outcome::Warn);
    }

    #[test]
    fn titles_are_found_decoded_and_collapsed() {
        let html = "<HTML><head><Title lang=en>\n  Tom &amp; Jerry&#39;s\tshop </TITLE>";
        assert_eq!(title_of(html).as_deref(), Some("Tom & Jerry's shop"));
        assert_eq!(title_of("<p>no title</p>"), None);
        assert_eq!(title_of("<title>unterminated"), None);
    }
}
