//! Three-way merge of two journals written from the same base, for a shared store
//! where a conditional write lost a race to another writer (a `plan --no-keep` beside
//! an `apply`).
//!
//! It works on the JSON the journal is saved as: objects merge key by key, a list that
//! both sides only appended to keeps both appendices, and any other value changed on
//! one side only takes that side's value. A value both sides changed differently is a
//! conflict: the write stops with an error instead of dropping either change.

use serde_json::{Map, Value};

/// Where both sides changed the same value differently (a JSON pointer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict(pub String);

/// Merges `ours` and `theirs`, both changed from `base`.
pub fn merge(base: &Value, ours: &Value, theirs: &Value) -> Result<Value, Conflict> {
    merge_at("", Some(base), Some(ours), Some(theirs))?.ok_or_else(|| Conflict("/".to_owned()))
}

/// `None` stands for an absent key.
fn merge_at(
    at: &str,
    base: Option<&Value>,
    ours: Option<&Value>,
    theirs: Option<&Value>,
) -> Result<Option<Value>, Conflict> {
    if ours == theirs || theirs == base {
        return Ok(ours.cloned());
    }
    if ours == base {
        return Ok(theirs.cloned());
    }
    // The journal leaves out empty maps and lists: an absent key beside maps (or
    // lists) is an empty one, so adding to, or emptying, one merges like any change.
    let (empty_map, empty_list) = (Value::Object(Map::new()), Value::Array(Vec::new()));
    let sides = [base, ours, theirs];
    let all = |kind: fn(&Value) -> bool| {
        sides.iter().all(|v| v.is_none_or(kind)) && sides.iter().any(Option::is_some)
    };
    let empty = if all(Value::is_object) {
        Some(&empty_map)
    } else if all(Value::is_array) {
        Some(&empty_list)
    } else {
        None
    };
    let [base, ours, theirs] = sides.map(|v| v.or(empty));
    if ours == theirs || theirs == base {
        return Ok(ours.cloned());
    }
    if ours == base {
        return Ok(theirs.cloned());
    }
    match (base, ours, theirs) {
        (Some(Value::Object(b)), Some(Value::Object(o)), Some(Value::Object(t))) => {
            merge_objects(at, b, o, t).map(|m| Some(Value::Object(m)))
        }
        (Some(Value::Array(b)), Some(Value::Array(o)), Some(Value::Array(t)))
            if o.starts_with(b) && t.starts_with(b) =>
        {
            let mut merged = t.clone();
            // What both appended (the same record, observed by both) is kept once.
            merged.extend(
                o[b.len()..]
                    .iter()
                    .filter(|v| !t[b.len()..].contains(v))
                    .cloned(),
            );
            Ok(Some(Value::Array(merged)))
        }
        _ => Err(Conflict(if at.is_empty() {
            "/".to_owned()
        } else {
            at.to_owned()
        })),
    }
}

fn merge_objects(
    at: &str,
    base: &Map<String, Value>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
) -> Result<Map<String, Value>, Conflict> {
    let mut keys: Vec<&String> = theirs.keys().collect();
    keys.extend(ours.keys().filter(|k| !theirs.contains_key(*k)));
    keys.extend(
        base.keys()
            .filter(|k| !theirs.contains_key(*k) && !ours.contains_key(*k)),
    );
    let mut out = Map::new();
    for key in keys {
        let path = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
        if let Some(v) = merge_at(&path, base.get(key), ours.get(key), theirs.get(key))? {
            out.insert(key.clone(), v);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{Conflict, merge};
    use serde_json::json;

    #[test]
    fn changes_to_different_keys_are_both_kept() {
        let base = json!({"sources": {"a": {"items": {}}, "b": {"items": {}}}});
        let ours = json!({"sources": {"a": {"items": {"x": 1}}, "b": {"items": {}}}});
        let theirs = json!({"sources": {"a": {"items": {}}, "b": {"items": {"y": 2}}, "c": {}}});
        assert_eq!(
            merge(&base, &ours, &theirs).unwrap(),
            json!({"sources": {"a": {"items": {"x": 1}}, "b": {"items": {"y": 2}}, "c": {}}})
        );
    }

    #[test]
    fn appended_lists_keep_both_appendices_and_a_shared_one_once() {
        let base = json!({"l": [1]});
        let ours = json!({"l": [1, 2, 9]});
        let theirs = json!({"l": [1, 3, 9]});
        assert_eq!(
            merge(&base, &ours, &theirs).unwrap(),
            json!({"l": [1, 3, 9, 2]})
        );
    }

    #[test]
    fn a_list_both_sides_added_keeps_both() {
        let base = json!({"s": {}});
        let ours = json!({"s": {"new": {"l": [1]}}});
        let theirs = json!({"s": {"new": {"l": [2, 3]}}});
        assert_eq!(
            merge(&base, &ours, &theirs).unwrap(),
            json!({"s": {"new": {"l": [2, 3, 1]}}})
        );
    }

    #[test]
    fn an_emptied_map_left_out_merges_with_an_addition() {
        // Ours removed the only probe (the map is left out); theirs added another.
        let base = json!({"s": {"probes": {"a": 1}}});
        let ours = json!({"s": {}});
        let theirs = json!({"s": {"probes": {"a": 1, "b": 2}}});
        assert_eq!(
            merge(&base, &ours, &theirs).unwrap(),
            json!({"s": {"probes": {"b": 2}}})
        );
    }

    #[test]
    fn a_removal_on_one_side_is_kept() {
        let base = json!({"s": {"session": {"id": "1"}, "n": 1}});
        let ours = json!({"s": {"n": 1}});
        let theirs = json!({"s": {"session": {"id": "1"}, "n": 2}});
        assert_eq!(
            merge(&base, &ours, &theirs).unwrap(),
            json!({"s": {"n": 2}})
        );
    }

    #[test]
    fn the_same_value_changed_differently_is_a_conflict_named_by_its_place() {
        let base = json!({"sources": {"a/b": {"session": {"id": "1"}}}});
        let ours = json!({"sources": {"a/b": {"session": {"id": "2"}}}});
        let theirs = json!({"sources": {"a/b": {"session": {"id": "3"}}}});
        assert_eq!(
            merge(&base, &ours, &theirs),
            Err(Conflict("/sources/a~1b/session/id".to_owned()))
        );
        // A list rewritten (not appended to) on both sides is one too.
        let conflict = merge(&json!([1, 2]), &json!([2]), &json!([1])).unwrap_err();
        assert_eq!(conflict, Conflict("/".to_owned()));
    }
}
