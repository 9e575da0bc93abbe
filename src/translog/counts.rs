//! Counts that may arrive as numbers, strings, `null` or lists of entries.
//!
//! `dangerous_items` and `altered_items` are counts at the top of an item result and
//! arrays of `[[module, function, line], text, detail]` inside its `contents`
//! (REFERENCE §7.3). [`CountOrList`] reads either and keeps the entries' texts.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::loose::{LooseStr, LooseText, LooseU64, drain_map, drain_seq};

/// A count that may be a number, a numeric string, `null`, or an array of entries
/// (`[[module, function, line], text, detail]` or plain strings).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CountOrList<'a> {
    /// The count: the number given, or the array's length.
    pub count: Option<u64>,
    /// The texts of the array's entries.
    pub texts: Vec<Cow<'a, str>>,
}

struct CountOrListVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for CountOrListVisitor<'a> {
    type Value = CountOrList<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a count or a list")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut texts = Vec::new();
        let mut count = 0u64;
        while let Some(entry) = seq.next_element::<ListEntry<'a>>()? {
            count += 1;
            if let Some(text) = entry.0 {
                texts.push(text);
            }
        }
        Ok(CountOrList {
            count: Some(count),
            texts,
        })
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(counted(LooseU64(Some(v))))
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        LooseU64::deserialize(serde::de::value::I64Deserializer::<E>::new(v)).map(counted)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        LooseU64::deserialize(serde::de::value::F64Deserializer::<E>::new(v)).map(counted)
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        LooseU64::deserialize(serde::de::value::StrDeserializer::<E>::new(v)).map(counted)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(CountOrList::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(CountOrList::default())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(CountOrList::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        CountOrList::deserialize(d)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(CountOrList::default())
    }
}

fn counted<'a>(n: LooseU64) -> CountOrList<'a> {
    CountOrList {
        count: n.0,
        texts: Vec::new(),
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for CountOrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountOrListVisitor(PhantomData))
    }
}

/// One entry of a list: `[[module, function, line], text, detail]` gives `text`; a
/// plain string gives itself; an object gives its `message`/`msg` if any.
struct ListEntry<'a>(Option<Cow<'a, str>>);

struct ListEntryVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ListEntryVisitor<'a> {
    type Value = ListEntry<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list entry")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Element 0 is the location (an array) or, in a bare list, the text itself.
        let first = seq.next_element::<LooseStr<'a>>()?.and_then(|s| s.0);
        let second = seq.next_element::<LooseStr<'a>>()?.and_then(|s| s.0);
        drain_seq(seq)?;
        Ok(ListEntry(second.or(first)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        #[derive(serde::Deserialize)]
        struct Entry<'a> {
            #[serde(borrow, default)]
            message: LooseText<'a>,
            #[serde(borrow, default)]
            msg: LooseText<'a>,
        }
        let entry = Entry::deserialize(MapAccessDeserializer::new(map))?;
        Ok(ListEntry(entry.message.0.or(entry.msg.0)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(ListEntry(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(ListEntry(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ListEntry(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ListEntry(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ListEntry(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ListEntry(None))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ListEntry(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ListEntry<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListEntryVisitor(PhantomData))
    }
}
