//! Lenient decoders for the value types WHM sends inconsistently (REFERENCE §8):
//! flags as `1`/`"1"`/`true`, counts and ids as numbers or digit strings, nulls where
//! the docs promise a value.

use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// A 0/1 flag as WHM sends it: `0`, `1`, `"0"`, `"1"`, `true`, `false` or `null`
/// (null and the empty string read as false).
pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(FlagVisitor)
}

/// Like [`flag`], but keeps `null` apart as `None`.
pub fn opt_flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<bool>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("0, 1, \"0\", \"1\", a boolean or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            flag(d).map(Some)
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            FlagVisitor.visit_bool(v).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            FlagVisitor.visit_u64(v).map(Some)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            FlagVisitor.visit_i64(v).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            FlagVisitor.visit_str(v).map(Some)
        }
    }
    d.deserialize_option(V)
}

struct FlagVisitor;

impl Visitor<'_> for FlagVisitor {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("0, 1, \"0\", \"1\" or a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        match v {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Signed(v), &self)),
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "0" | "" => Ok(false),
            "1" => Ok(true),
            _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// An unsigned integer sent as a number or a digit string (`null` or `""` read as 0).
pub fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(UintVisitor)
}

/// Like [`uint`], but `null` (or a missing key, with `#[serde(default)]`) is `None`.
pub fn opt_uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<u64>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an unsigned integer, a digit string or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            uint(d).map(Some)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            UintVisitor.visit_i64(v).map(Some)
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            UintVisitor.visit_f64(v).map(Some)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            if v.trim().is_empty() {
                Ok(None)
            } else {
                UintVisitor.visit_str(v).map(Some)
            }
        }
    }
    d.deserialize_option(V)
}

struct UintVisitor;

impl Visitor<'_> for UintVisitor {
    type Value = u64;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an unsigned integer or a digit string")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u64, E> {
        // WHM sometimes writes whole numbers as floats (`1024.0`).
        if v >= 0.0 && v.fract() == 0.0 && v < 1.8e19 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Ok(v as u64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(v), &self))
        }
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        let t = v.trim();
        if t.is_empty() {
            return Ok(0);
        }
        t.parse()
            .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }
    fn visit_none<E: de::Error>(self) -> Result<u64, E> {
        Ok(0)
    }
}

/// A string that may arrive as a number (`0`, `11.9`) or `null` (read as empty).
pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A string that may arrive as a number; `null` is `None`.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string, a number or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(if v { "1" } else { "0" }.to_owned()))
        }
    }
    d.deserialize_option(V)
}

#[cfg(test)]
mod tests {
    use super::{flag, opt_flag, opt_uint, string, uint};
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct T {
        #[serde(deserialize_with = "flag", default)]
        f: bool,
        #[serde(deserialize_with = "opt_flag", default)]
        of: Option<bool>,
        #[serde(deserialize_with = "uint", default)]
        n: u64,
        #[serde(deserialize_with = "opt_uint", default)]
        on: Option<u64>,
        #[serde(deserialize_with = "string", default)]
        s: String,
    }

    fn t(json: &str) -> Result<T, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn flags_accept_every_spelling() {
        assert!(t(r#"{"f":1}"#).unwrap().f);
        assert!(t(r#"{"f":"1"}"#).unwrap().f);
        assert!(t(r#"{"f":true}"#).unwrap().f);
        assert!(!t(r#"{"f":"0"}"#).unwrap().f);
        assert!(!t(r#"{"f":null}"#).unwrap().f);
        assert_eq!(t(r#"{"of":null}"#).unwrap().of, None);
        assert_eq!(t(r#"{"of":"1"}"#).unwrap().of, Some(true));
        assert!(t(r#"{"f":2}"#).is_err());
        assert!(t(r#"{"f":"yes"}"#).is_err());
    }

    #[test]
    fn numbers_accept_strings() {
        assert_eq!(t(r#"{"n":"3"}"#).unwrap().n, 3);
        assert_eq!(t(r#"{"n":3}"#).unwrap().n, 3);
        assert_eq!(t(r#"{"n":1024.0}"#).unwrap().n, 1024);
        assert_eq!(t(r#"{"on":null}"#).unwrap().on, None);
        assert_eq!(t(r#"{"on":"12"}"#).unwrap().on, Some(12));
        assert!(t(r#"{"n":"x"}"#).is_err());
        assert!(t(r#"{"n":-1}"#).is_err());
    }

    #[test]
    fn strings_accept_numbers() {
        assert_eq!(t(r#"{"s":0}"#).unwrap().s, "0");
        assert_eq!(t(r#"{"s":"11.90"}"#).unwrap().s, "11.90");
        assert_eq!(t(r#"{"s":null}"#).unwrap().s, "");
    }
}
