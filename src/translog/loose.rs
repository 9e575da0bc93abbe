//! Tolerant scalar deserializers for log fields.
//!
//! WHM writes the same field as a number in one version and a string in another, and
//! `null` where a value is unknown (REFERENCE §8, "Log text"). These wrappers accept any
//! JSON value and never fail: what they cannot read becomes `None`, and nested arrays or
//! objects they do not want are skipped with [`IgnoredAny`], without building a
//! `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Skips the rest of a sequence.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skips the rest of a map.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Converts a float to an unsigned integer when it is finite and not negative.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn float_to_u64(v: f64) -> Option<u64> {
    // `as` saturates at u64::MAX, which is what a count this large deserves.
    (v.is_finite() && v >= 0.0).then_some(v.trunc() as u64)
}

/// Converts a signed integer to an unsigned one when it is not negative.
fn i64_to_u64(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

/// Converts an unsigned integer to a signed one when it fits.
fn u64_to_i64(v: u64) -> Option<i64> {
    i64::try_from(v).ok()
}

/// Converts a float to a signed integer when it is finite.
#[allow(clippy::cast_possible_truncation)]
fn float_to_i64(v: f64) -> Option<i64> {
    v.is_finite().then_some(v.trunc() as i64)
}

/// A string field that may arrive as a string, a number or a boolean.
///
/// Borrows from the input when the JSON string has no escapes. `null`, arrays and
/// objects give `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LooseStr<'a>(pub Option<Cow<'a, str>>);

impl LooseStr<'_> {
    /// The value as an owned string, if any.
    pub(crate) fn owned(self) -> Option<String> {
        self.0.map(Cow::into_owned)
    }

    /// The value as a borrowed `&str`, if any.
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct LooseStrVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LooseStrVisitor<'a> {
    type Value = LooseStr<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(LooseStr(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseStr(None))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseStr(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        LooseStr::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(seq)?;
        Ok(LooseStr(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(LooseStr(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseStrVisitor(PhantomData))
    }
}

/// Joins text pieces, putting a newline between two pieces unless the first already
/// ends with one.
pub(crate) fn push_piece(buf: &mut String, piece: &str) {
    if !buf.is_empty() && !buf.ends_with('\n') {
        buf.push('\n');
    }
    buf.push_str(piece);
}

/// A text field that may be a string, a scalar, or an array of those (item-log `msg`).
///
/// Array pieces are joined with [`push_piece`]; non-scalar pieces are skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct LooseText<'a>(pub Option<Cow<'a, str>>);

struct LooseTextVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for LooseTextVisitor<'a> {
    type Value = LooseText<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut first: Option<Cow<'a, str>> = None;
        let mut buf: Option<String> = None;
        while let Some(LooseStr(piece)) = seq.next_element::<LooseStr<'a>>()? {
            let Some(piece) = piece else { continue };
            if let Some(buf) = buf.as_mut() {
                push_piece(buf, &piece);
            } else if let Some(prev) = first.take() {
                let mut joined = prev.into_owned();
                push_piece(&mut joined, &piece);
                buf = Some(joined);
            } else {
                first = Some(piece);
            }
        }
        Ok(LooseText(buf.map(Cow::Owned).or(first)))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Borrowed(v))))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v))))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(LooseText(Some(Cow::Owned(v.to_string()))))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(LooseText(None))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(LooseText(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        LooseText::deserialize(d)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        drain_map(map)?;
        Ok(LooseText(None))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for LooseText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseTextVisitor(PhantomData))
    }
}

/// Generates a tolerant integer wrapper: numbers and numeric strings are read, anything
/// else gives `None`.
macro_rules! loose_int {
    ($name:ident, $visitor:ident, $ty:ty, $from_u64:expr, $from_i64:expr, $from_f64:expr) => {
        #[doc = concat!("A `", stringify!($ty), "` that may arrive as a number or a string.")]
        #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
        pub(crate) struct $name(pub Option<$ty>);

        struct $visitor;

        impl<'de> Visitor<'de> for $visitor {
            type Value = $name;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a numeric string")
            }
            fn visit_u64<E>(self, v: u64) -> Result<$name, E> {
                Ok($name($from_u64(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<$name, E> {
                Ok($name($from_i64(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<$name, E> {
                Ok($name($from_f64(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<$name, E> {
                let v = v.trim();
                let parsed = match v.parse::<$ty>() {
                    Ok(n) => Some(n),
                    Err(_) => v.parse::<f64>().ok().and_then($from_f64),
                };
                Ok($name(parsed))
            }
            fn visit_bool<E>(self, _: bool) -> Result<$name, E> {
                Ok($name(None))
            }
            fn visit_unit<E>(self) -> Result<$name, E> {
                Ok($name(None))
            }
            fn visit_none<E>(self) -> Result<$name, E> {
                Ok($name(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<$name, D::Error> {
                $name::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<$name, A::Error> {
                drain_seq(seq)?;
                Ok($name(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$name, A::Error> {
                drain_map(map)?;
                Ok($name(None))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_any($visitor)
            }
        }
    };
}

loose_int!(
    LooseU64,
    LooseU64Visitor,
    u64,
    Some,
    i64_to_u64,
    float_to_u64
);
loose_int!(
    LooseI64,
    LooseI64Visitor,
    i64,
    u64_to_i64,
    Some,
    float_to_i64
);

#[cfg(test)]
mod tests {
    use super::{LooseI64, LooseStr, LooseText, LooseU64};

    #[test]
    fn numbers_and_strings_read_alike() {
        for (json, want) in [
            ("3", Some(3)),
            ("\"3\"", Some(3)),
            ("\" 7 \"", Some(7)),
            ("2.0", Some(2)),
            ("-1", None),
            ("null", None),
            ("[1]", None),
            ("{\"a\":1}", None),
            ("\"x\"", None),
        ] {
            let got: LooseU64 = serde_json::from_str(json).unwrap();
            assert_eq!(got.0, want, "{json}");
        }
        let t: LooseI64 = serde_json::from_str("\"1598991042\"").unwrap();
        assert_eq!(t.0, Some(1_598_991_042));
    }

    #[test]
    fn strings_borrow_and_scalars_stringify() {
        let s: LooseStr<'_> = serde_json::from_str("\"copyacct\"").unwrap();
        assert!(matches!(s.0, Some(std::borrow::Cow::Borrowed("copyacct"))));
        let v: LooseStr<'_> = serde_json::from_str("2.3").unwrap();
        assert_eq!(v.as_deref(), Some("2.3"));
        let n: LooseStr<'_> = serde_json::from_str("[\"a\"]").unwrap();
        assert_eq!(n.0, None);
    }

    #[test]
    fn text_joins_array_pieces() {
        let t: LooseText<'_> = serde_json::from_str(r#"["a","b\n","c",null,{}]"#).unwrap();
        assert_eq!(t.0.as_deref(), Some("a\nb\nc"));
        let one: LooseText<'_> = serde_json::from_str(r#"["only"]"#).unwrap();
        assert_eq!(one.0.as_deref(), Some("only"));
        let empty: LooseText<'_> = serde_json::from_str("[]").unwrap();
        assert_eq!(empty.0, None);
    }
}
