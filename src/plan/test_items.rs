//! Desired items for the plan's unit tests: one account, package or feature list as the
//! manifest loader would make it.

use crate::plan::input::DesiredItem;

/// An account of a root source, moved under its own name, with `extra` keys after
/// `user` and `localuser`.
pub fn account(user: &str, extra: &[(&str, &str)]) -> DesiredItem {
    let mut params = vec![
        ("user".to_owned(), user.to_owned()),
        ("localuser".to_owned(), user.to_owned()),
    ];
    params.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    DesiredItem {
        module: "AccountRemoteRoot".into(),
        type_id: 3000,
        key: user.into(),
        localuser: Some(user.into()),
        domain: None,
        force: false,
        overwrite_dbs: false,
        params,
        problems: vec![],
        waive: vec![],
        acknowledge: vec![],
    }
}

/// A package.
pub fn package(name: &str) -> DesiredItem {
    DesiredItem {
        module: "PackageRemoteRoot".into(),
        type_id: 2000,
        key: name.into(),
        localuser: None,
        domain: None,
        force: false,
        overwrite_dbs: false,
        params: vec![("package".into(), name.into())],
        problems: vec![],
        waive: vec![],
        acknowledge: vec![],
    }
}

/// A feature list.
pub fn featurelist(name: &str) -> DesiredItem {
    DesiredItem {
        module: "FeatureListRemoteRoot".into(),
        type_id: 1000,
        params: vec![("featurelist".into(), name.into())],
        ..package(name)
    }
}
