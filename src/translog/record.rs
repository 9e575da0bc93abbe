//! Serde shapes of one log line, borrowing from the input.
//!
//! One line deserializes in a single pass into [`RawRecord`]: the strings the events
//! need borrow from the line where they have no escapes, counts are read whether they
//! are numbers or strings, and everything else is skipped without building a
//! `serde_json::Value`. These shapes are private to the module; [`super::decode`] turns
//! them into the public events.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::counts::CountOrList;
use super::loose::{LooseI64, LooseStr, LooseText, LooseU64, drain_seq};

/// One line of a master or item log: `{"type", "pid", "contents", ...}`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct RawRecord<'a> {
    /// The record kind as written at the top level: `control`, `out`, `start`, …
    /// Read it through [`RawRecord::kind`], which also knows the guide's layouts.
    #[serde(rename = "type", borrow, default)]
    pub kind: LooseStr<'a>,
    /// The writing process.
    #[serde(default)]
    pub pid: LooseU64,
    /// A top-level time, used when `contents` has none.
    #[serde(default)]
    pub time: LooseI64,
    /// The payload.
    #[serde(borrow, default)]
    pub contents: Contents<'a>,
}

impl RawRecord<'_> {
    /// The record kind, wherever the log put it (REFERENCE §7.2).
    ///
    /// The top-level `type` first (current logs); else `contents.type`, where one
    /// printing of the guide puts it; else, for a record with no `type` at all, what
    /// its `contents.action` says: only `control` records carry an `action`, so an
    /// object with one is a `control` record (the guide's `process-item` and
    /// `success-item` lines). Nothing is scanned again: the nested `type` was read in
    /// the same pass as the rest of `contents`.
    pub(crate) fn kind(&self) -> Option<&str> {
        if let Some(kind) = self.kind.as_deref() {
            return Some(kind);
        }
        let Contents::Object(fields) = &self.contents else {
            return None;
        };
        match fields.kind.as_deref() {
            Some(kind) => Some(kind),
            None if fields.action.0.is_some() => Some("control"),
            None => None,
        }
    }
}

/// The `contents` of a record: an object for `control` records, text for others.
#[derive(Debug, Default)]
pub(crate) enum Contents<'a> {
    /// No `contents` key, or `null`.
    #[default]
    Missing,
    /// A JSON object.
    Object(Box<Fields<'a>>),
    /// A string or an array of strings.
    Text(Cow<'a, str>),
    /// A number or a boolean: kept only as "present but not usable".
    Scalar,
}

struct ContentsVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ContentsVisitor<'a> {
    type Value = Contents<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or a string")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let fields = Fields::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Contents::Object(Box::new(fields)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let text = LooseText::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(text.0.map_or(Contents::Missing, Contents::Text))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Contents::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Contents::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Contents::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Contents::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Contents::Scalar)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Contents::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Contents::Missing)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Contents<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ContentsVisitor(PhantomData))
    }
}

/// The fields of an object `contents` (master `control` records and item-log records).
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct Fields<'a> {
    /// The record kind, when the log writes it here instead of at the top level (the
    /// guide's nested layout); see [`RawRecord::kind`].
    #[serde(rename = "type", borrow, default)]
    pub kind: LooseStr<'a>,
    /// What happened (`control` records).
    #[serde(borrow, default)]
    pub action: LooseStr<'a>,
    /// 0 for the master, 1..N for a worker.
    #[serde(default)]
    pub child_number: LooseU64,
    /// Epoch seconds.
    #[serde(default)]
    pub time: LooseI64,
    /// `TRANSFER` or `RESTORE`.
    #[serde(borrow, default)]
    pub queue: LooseStr<'a>,
    /// The item's primary key on the source.
    #[serde(borrow, default)]
    pub item: LooseStr<'a>,
    /// The local name when it differs.
    #[serde(borrow, default)]
    pub local_item: LooseStr<'a>,
    /// The module name (`AccountRemoteRoot`).
    #[serde(borrow, default)]
    pub item_type: LooseStr<'a>,
    /// The human kind (`Account`).
    #[serde(borrow, default)]
    pub item_name: LooseStr<'a>,
    /// The item log's name.
    #[serde(borrow, default)]
    pub logfile: LooseStr<'a>,
    /// Depends on the action.
    #[serde(borrow, default)]
    pub msg: Msg<'a>,
    /// Item logs: `percentage` records.
    #[serde(default)]
    pub percentage: LooseU64,
    /// Item logs: `summary` records.
    #[serde(borrow, default)]
    pub warnings: CountOrList<'a>,
    /// Item logs: `summary` records.
    #[serde(borrow, default)]
    pub skipped_items: CountOrList<'a>,
    /// Item logs: `summary` records.
    #[serde(borrow, default)]
    pub dangerous_items: CountOrList<'a>,
    /// Item logs: `summary` records.
    #[serde(borrow, default)]
    pub altered_items: CountOrList<'a>,
}

/// A `msg` value: text (also numbers, kept as their JSON text), an object, or nothing.
#[derive(Debug, Default)]
pub(crate) enum Msg<'a> {
    /// Missing, `null`, or a shape we do not read.
    #[default]
    None,
    /// A string or a scalar, or an array of strings joined.
    Text(Cow<'a, str>),
    /// An object: the item report of `*-item` actions.
    Object(Box<MsgObject<'a>>),
}

impl Msg<'_> {
    /// The text, if `msg` was text.
    pub(crate) fn text(&self) -> Option<&str> {
        match self {
            Msg::Text(t) => Some(t),
            _ => None,
        }
    }
}

struct MsgVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for MsgVisitor<'a> {
    type Value = Msg<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let obj = MsgObject::deserialize(MapAccessDeserializer::new(map))?;
        Ok(Msg::Object(Box::new(obj)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let text = LooseText::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))?;
        Ok(text.0.map_or(Msg::None, Msg::Text))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v.to_string())))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v.to_string())))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v.to_string())))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Msg::Text(Cow::Owned(v.to_string())))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Msg::None)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Msg::None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Msg::deserialize(d)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Msg<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(MsgVisitor(PhantomData))
    }
}

/// The object `msg` of `start-item`, `success-item`, `warning-item` and `failed-item`.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct MsgObject<'a> {
    /// The item's size.
    #[serde(default)]
    pub size: LooseU64,
    /// Warning count (or list).
    #[serde(borrow, default)]
    pub warnings: CountOrList<'a>,
    /// Skipped-item count (or list).
    #[serde(borrow, default)]
    pub skipped_items: CountOrList<'a>,
    /// Dangerous-item count (or list).
    #[serde(borrow, default)]
    pub dangerous_items: CountOrList<'a>,
    /// Altered-item count (or list).
    #[serde(borrow, default)]
    pub altered_items: CountOrList<'a>,
    /// The failure text of `failed-item`.
    #[serde(borrow, default)]
    pub failure: LooseText<'a>,
    /// A free message.
    #[serde(borrow, default)]
    pub message: LooseText<'a>,
    /// The lists behind the counts.
    #[serde(borrow, default)]
    pub contents: ObjectOr<Details<'a>>,
}

/// `msg.contents`: the lists behind the counts, each `null` or an array.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct Details<'a> {
    /// Warning entries.
    #[serde(borrow)]
    pub warnings: CountOrList<'a>,
    /// Skipped entries.
    #[serde(borrow)]
    pub skipped_items: CountOrList<'a>,
    /// Dangerous entries.
    #[serde(borrow)]
    pub dangerous_items: CountOrList<'a>,
    /// Altered entries.
    #[serde(borrow)]
    pub altered_items: CountOrList<'a>,
}

/// A value read with `T`'s derive when it is an object, and `T::default()` otherwise
/// (`null`, a scalar or an array, which are skipped).
#[derive(Debug, Default)]
pub(crate) struct ObjectOr<T>(pub T);

struct ObjectOrVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de> + Default> Visitor<'de> for ObjectOrVisitor<T> {
    type Value = ObjectOr<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(ObjectOr)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(ObjectOr(T::default()))
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(ObjectOr(T::default()))
    }
}

impl<'de, T: Deserialize<'de> + Default> Deserialize<'de> for ObjectOr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectOrVisitor(PhantomData))
    }
}
