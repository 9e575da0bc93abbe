//! `verify --http` between the checks and the network: which domains of which items
//! are fetched, from which addresses, and how their `site` checks join the verdicts.

use super::checks::verdict_of;
use super::facts::{DestinationFacts, SourceFacts};
use super::fetch::SiteTarget;
use super::sites::{SiteAnswers, judge};
use super::{ItemVerdict, Verdict};
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// The domains to fetch, each with the index of its item in `items`: for every account
/// on the destination, its main domain there and every domain the analysis maps to it,
/// once each. `source_addresses` holds each source's address (by manifest name) or why
/// it has none.
pub fn targets(
    items: &[ItemVerdict],
    dest: &DestinationFacts,
    sources: &[SourceFacts],
    source_addresses: &BTreeMap<String, Result<IpAddr, String>>,
) -> Vec<(usize, SiteTarget)> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (index, item) in items.iter().enumerate() {
        let Some(local) = &item.localuser else {
            continue;
        };
        let Some(acct) = dest
            .account(local)
            .filter(|_| item.verdict != Verdict::NotTransferred)
        else {
            continue;
        };
        let facts = sources.iter().find(|f| f.name == item.source);
        let destination = match acct.ip.as_deref().map(str::parse::<IpAddr>) {
            Some(Ok(ip)) => Ok(ip),
            Some(Err(_)) => Err(format!("listaccts gives “{local}” no usable IP")),
            None => Err(format!("listaccts gives no IP for “{local}”")),
        };
        let source = source_addresses
            .get(&item.source)
            .cloned()
            .unwrap_or_else(|| Err(format!("no address for the source {}", item.source)));
        let source_dedicated = facts
            .and_then(|f| f.source_account(&item.key))
            .is_some_and(|a| a.has_dedicated_ip);
        let mapped = facts.map_or(&[][..], |f| f.domains_of(local));
        for domain in std::iter::once(&acct.domain).chain(mapped) {
            let domain = domain.to_ascii_lowercase();
            if domain.is_empty() || !seen.insert(domain.clone()) {
                continue;
            }
            out.push((
                index,
                SiteTarget {
                    domain,
                    destination: destination.clone(),
                    source: source.clone(),
                    source_dedicated,
                },
            ));
        }
    }
    out
}

/// Adds each domain's `site` check to its item and judges the item again.
pub fn add_site_checks(
    items: &mut [ItemVerdict],
    answers: impl IntoIterator<Item = (usize, SiteAnswers)>,
) {
    let mut touched = BTreeSet::new();
    for (index, a) in answers {
        if let Some(item) = items.get_mut(index) {
            item.checks.push(judge(&a));
            touched.insert(index);
        }
    }
    for index in touched {
        let item = &mut items[index];
        item.verdict = verdict_of(&item.checks);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Account;
    use crate::verify::sites::Fetched;
    use crate::verify::{Check, Outcome};

    fn account(user: &str, domain: &str, ip: Option<&str>) -> Account {
        serde_json::from_value(serde_json::json!({
            "user": user, "domain": domain, "ip": ip,
        }))
        .unwrap()
    }

    fn item(key: &str, verdict: Verdict) -> ItemVerdict {
        ItemVerdict {
            source: "old1".into(),
            module: "AccountRemoteRoot".into(),
            key: key.into(),
            localuser: Some(key.into()),
            verdict,
            checks: vec![Check::new("account", Outcome::Pass, "")],
        }
    }

    #[test]
    fn accounts_on_the_destination_are_fetched_from_their_ip_once_per_domain() {
        let dest = DestinationFacts {
            accounts: vec![
                account("alice", "Alice.example", Some("203.0.113.5")),
                account("bob", "bob.example", None),
            ],
            ..DestinationFacts::default()
        };
        let items = vec![
            item("alice", Verdict::Ok),
            item("bob", Verdict::Ok),
            item("carol", Verdict::NotTransferred),
        ];
        let addrs = BTreeMap::from([("old1".to_owned(), Ok("198.51.100.7".parse().unwrap()))]);
        let t = targets(&items, &dest, &[], &addrs);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].0, 0);
        assert_eq!(t[0].1.domain, "alice.example");
        assert_eq!(t[0].1.destination, Ok("203.0.113.5".parse().unwrap()));
        assert_eq!(t[0].1.source, Ok("198.51.100.7".parse().unwrap()));
        assert!(t[1].1.destination.as_ref().unwrap_err().contains("no IP"));
    }

    #[test]
    fn a_failed_site_fails_its_item_only() {
        let mut items = vec![item("alice", Verdict::Ok), item("bob", Verdict::Ok)];
        let page = |status| Fetched {
            scheme: Some("http".into()),
            status: Some(status),
            title: Some("Shop".into()),
            ..Fetched::default()
        };
        let answers = |status| SiteAnswers {
            domain: "x.example".into(),
            destination: page(status),
            source: page(200),
            source_dedicated: false,
        };
        add_site_checks(&mut items, [(0, answers(500)), (1, answers(200))]);
        assert_eq!(items[0].verdict, Verdict::Failed);
        assert_eq!(items[1].verdict, Verdict::Ok);
        assert_eq!(items[1].checks.last().unwrap().name, "site");
    }
}
