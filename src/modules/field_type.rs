//! Typed form of the SQL-like `def` strings of `transfer_module_schema`
//! (`char(255) DEFAULT NULL`, `int(1) DEFAULT 0`, `BIGINT UNSIGNED DEFAULT 1`, `text`).

use std::fmt;
use std::str::FromStr;

/// The storage kind of a module key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// `char(N)`: a string of at most `max` characters.
    Char {
        /// The largest number of characters.
        max: u32,
    },
    /// `varchar(N)`: a string of at most `max` characters (trailing spaces kept).
    VarChar {
        /// The largest number of characters.
        max: u32,
    },
    /// `int(W)`: a signed 32-bit integer. `W` is MySQL's display width, not a size.
    Int,
    /// `BIGINT UNSIGNED`: an integer from 0 to 2^64 - 1.
    BigIntUnsigned,
    /// `text`: a string of at most 65,535 bytes.
    Text,
}

/// A parsed `def` string: kind, default and whether NULL is allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    /// The storage kind.
    pub kind: FieldKind,
    /// The numeric default (`DEFAULT 0`), if any. `DEFAULT NULL` is `None`.
    pub default: Option<i64>,
    /// Whether the column may be NULL (unset).
    pub nullable: bool,
}

/// A `def` string this crate does not understand.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported column definition `{def}`: {reason}")]
pub struct FieldTypeError {
    /// The definition as the server wrote it.
    pub def: String,
    /// What was wrong with it.
    pub reason: String,
}

/// The largest value of a MySQL `INT`.
pub const INT_MAX: i64 = i32::MAX as i64;
/// The smallest value of a MySQL `INT`.
pub const INT_MIN: i64 = i32::MIN as i64;
/// The largest byte length of a MySQL `TEXT`.
pub const TEXT_MAX_BYTES: usize = 65_535;

impl FieldType {
    /// Parses a `def` string, case-insensitively.
    pub fn parse(def: &str) -> Result<Self, FieldTypeError> {
        let err = |reason: &str| FieldTypeError {
            def: def.to_owned(),
            reason: reason.to_owned(),
        };
        let lower = def.trim().to_ascii_lowercase();
        let mut tokens = lower.split_whitespace().peekable();
        let head = tokens.next().ok_or_else(|| err("it is empty"))?;
        let (name, width) = match head.split_once('(') {
            Some((name, rest)) => {
                let digits = rest.strip_suffix(')').ok_or_else(|| err("unclosed `(`"))?;
                let width: u32 = digits
                    .parse()
                    .map_err(|_| err("the width is not a number"))?;
                (name, Some(width))
            }
            None => (head, None),
        };
        let unsigned = tokens.peek() == Some(&"unsigned");
        if unsigned {
            tokens.next();
        }
        let kind = match (name, width, unsigned) {
            ("char", Some(max), false) => FieldKind::Char { max },
            ("varchar", Some(max), false) => FieldKind::VarChar { max },
            ("int" | "integer", _, false) => FieldKind::Int,
            ("bigint", _, true) => FieldKind::BigIntUnsigned,
            ("text", None, false) => FieldKind::Text,
            ("char" | "varchar", None, _) => return Err(err("a string type needs a length")),
            _ => return Err(err("unknown column type")),
        };
        let mut default = None;
        let mut nullable = true;
        let mut saw_default = false;
        while let Some(token) = tokens.next() {
            match token {
                "not" => {
                    if tokens.next() != Some("null") {
                        return Err(err("`NOT` must be followed by `NULL`"));
                    }
                    nullable = false;
                }
                "null" => nullable = true,
                "default" => {
                    let value = tokens
                        .next()
                        .ok_or_else(|| err("`DEFAULT` needs a value"))?;
                    saw_default = true;
                    if value != "null" {
                        let number: i64 = value
                            .trim_matches('\'')
                            .parse()
                            .map_err(|_| err("the default is not a number or NULL"))?;
                        default = Some(number);
                    }
                }
                _ => return Err(err("unexpected words after the type")),
            }
        }
        if saw_default && default.is_none() && !nullable {
            return Err(err("`DEFAULT NULL` on a `NOT NULL` column"));
        }
        if let Some(value) = default
            && !kind_holds(kind, value)
        {
            return Err(err("the default does not fit the type"));
        }
        Ok(Self {
            kind,
            default,
            nullable,
        })
    }

    /// A flag: an `int` key whose default is 0. It is a boolean in a manifest and `1`/`0`
    /// on the wire. (`priority`, `int(1) DEFAULT 255`, is an integer, not a flag.)
    pub fn is_flag(&self) -> bool {
        self.kind == FieldKind::Int && self.default == Some(0)
    }

    /// Whether the key holds a string.
    pub fn is_string(&self) -> bool {
        matches!(
            self.kind,
            FieldKind::Char { .. } | FieldKind::VarChar { .. } | FieldKind::Text
        )
    }

    /// The inclusive integer range of an integer key, `None` for strings.
    pub fn int_range(&self) -> Option<(i64, i64)> {
        match self.kind {
            FieldKind::Int if self.is_flag() => Some((0, 1)),
            FieldKind::Int => Some((INT_MIN, INT_MAX)),
            FieldKind::BigIntUnsigned => Some((0, i64::MAX)),
            _ => None,
        }
    }

    /// A short description for messages: `a boolean`, `a string of at most 255 characters`.
    pub fn describe(&self) -> String {
        match self.kind {
            _ if self.is_flag() => "a boolean (true or false)".to_owned(),
            FieldKind::Char { max } | FieldKind::VarChar { max } => {
                format!("a string of at most {max} characters")
            }
            FieldKind::Int => format!("an integer from {INT_MIN} to {INT_MAX}"),
            FieldKind::BigIntUnsigned => "a non-negative integer".to_owned(),
            FieldKind::Text => "a string".to_owned(),
        }
    }
}

fn kind_holds(kind: FieldKind, value: i64) -> bool {
    match kind {
        FieldKind::Int => (INT_MIN..=INT_MAX).contains(&value),
        FieldKind::BigIntUnsigned => value >= 0,
        FieldKind::Char { .. } | FieldKind::VarChar { .. } | FieldKind::Text => true,
    }
}

impl FromStr for FieldType {
    type Err = FieldTypeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for FieldType {
    /// The canonical `def` spelling (lower-case types, upper-case keywords).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            FieldKind::Char { max } => write!(f, "char({max})")?,
            FieldKind::VarChar { max } => write!(f, "varchar({max})")?,
            FieldKind::Int => f.write_str("int(1)")?,
            FieldKind::BigIntUnsigned => f.write_str("BIGINT UNSIGNED")?,
            FieldKind::Text => return f.write_str("text"),
        }
        if !self.nullable {
            f.write_str(" NOT NULL")?;
        }
        match self.default {
            Some(value) => write!(f, " DEFAULT {value}"),
            None if self.nullable => f.write_str(" DEFAULT NULL"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{FieldKind, FieldType};

    fn parse(def: &str) -> FieldType {
        FieldType::parse(def).unwrap()
    }

    #[test]
    fn parses_every_def_of_the_bundled_schemas() {
        assert_eq!(
            parse("char(255) DEFAULT NULL"),
            FieldType {
                kind: FieldKind::Char { max: 255 },
                default: None,
                nullable: true
            }
        );
        assert_eq!(
            parse("varchar(255) DEFAULT NULL").kind,
            FieldKind::VarChar { max: 255 }
        );
        let flag = parse("int(1) DEFAULT 0");
        assert_eq!((flag.kind, flag.default), (FieldKind::Int, Some(0)));
        assert!(flag.is_flag());
        assert_eq!(parse("INT(1) DEFAULT 0"), flag);
        let priority = parse("int(1) DEFAULT 255");
        assert!(!priority.is_flag());
        assert_eq!(
            priority.int_range(),
            Some((i64::from(i32::MIN), i64::from(i32::MAX)))
        );
        let size = parse("BIGINT UNSIGNED DEFAULT 1");
        assert_eq!(
            (size.kind, size.default),
            (FieldKind::BigIntUnsigned, Some(1))
        );
        let rbls = parse("BIGINT UNSIGNED DEFAULT 0");
        assert!(
            !rbls.is_flag(),
            "an unsigned bigint is a number, not a flag"
        );
        assert_eq!(parse("text").kind, FieldKind::Text);
        assert_eq!(parse("TEXT"), parse("text"));
    }

    #[test]
    fn parses_not_null_and_mixed_case() {
        let t = parse("bigint(20) unsigned NOT NULL");
        assert_eq!(t.kind, FieldKind::BigIntUnsigned);
        assert!(!t.nullable);
        assert_eq!(parse("Char(64)").kind, FieldKind::Char { max: 64 });
    }

    #[test]
    fn unknown_defs_are_typed_errors() {
        for def in [
            "",
            "blob",
            "char",
            "char(abc)",
            "char(255",
            "int(1) DEFAULT",
            "int(1) DEFAULT x",
            "int(1) DEFAULT 0 ZEROFILL",
            "bigint(20)",
            "int(1) NOT",
            "BIGINT UNSIGNED DEFAULT -1",
            "int(1) NOT NULL DEFAULT NULL",
        ] {
            let err = FieldType::parse(def).unwrap_err();
            assert_eq!(err.def, def);
        }
    }

    #[test]
    fn display_round_trips() {
        for def in [
            "char(255) DEFAULT NULL",
            "varchar(255) DEFAULT NULL",
            "int(1) DEFAULT 0",
            "int(1) DEFAULT 255",
            "BIGINT UNSIGNED DEFAULT 1",
            "text",
        ] {
            assert_eq!(parse(def).to_string(), def);
            assert_eq!(parse(&parse(def).to_string()), parse(def));
        }
    }
}
