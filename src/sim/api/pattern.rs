//! A small case-insensitive regular-expression matcher for `listaccts`' `search`.
//!
//! It supports the subset searches use in practice: literal characters, `.`, `*`
//! (after any atom), `^`, `$` and backslash escapes. Anything richer is matched
//! literally; a real server uses Perl regexes.

/// Whether `pattern` matches somewhere in `text`, ignoring ASCII case.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pat = atoms(&pattern.to_ascii_lowercase());
    let text: Vec<char> = text.to_ascii_lowercase().chars().collect();
    if let Some(Atom::Start) = pat.first() {
        return here(&pat[1..], &text);
    }
    (0..=text.len()).any(|i| here(&pat, &text[i..]))
}

#[derive(Debug, Clone, PartialEq)]
enum Atom {
    Start,
    End,
    Any,
    Char(char),
    Star(Box<Atom>),
}

fn atoms(p: &str) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    let mut chars = p.chars().peekable();
    let mut first = true;
    while let Some(c) = chars.next() {
        let atom = match c {
            '^' if first => Atom::Start,
            '$' if chars.peek().is_none() => Atom::End,
            '.' => Atom::Any,
            '\\' => Atom::Char(chars.next().unwrap_or('\\')),
            '*' if out
                .last()
                .is_some_and(|a| !matches!(a, Atom::Start | Atom::Star(_))) =>
            {
                let prev = out.pop().expect("checked");
                Atom::Star(Box::new(prev))
            }
            c => Atom::Char(c),
        };
        first = false;
        out.push(atom);
    }
    out
}

fn one(a: &Atom, c: char) -> bool {
    match a {
        Atom::Any => true,
        Atom::Char(x) => *x == c,
        _ => false,
    }
}

fn here(pat: &[Atom], text: &[char]) -> bool {
    match pat.first() {
        None => true,
        Some(Atom::End) => text.is_empty(),
        Some(Atom::Star(a)) => {
            let mut i = 0;
            loop {
                if here(&pat[1..], &text[i..]) {
                    return true;
                }
                if i < text.len() && one(a, text[i]) {
                    i += 1;
                } else {
                    return false;
                }
            }
        }
        Some(a) => !text.is_empty() && one(a, text[0]) && here(&pat[1..], &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn subset() {
        assert!(matches("bob", "xBOBx"));
        assert!(matches("^bob$", "Bob") && !matches("^bob$", "bobby"));
        assert!(matches("b.b", "bab") && matches("^a.*z$", "abcz") && !matches("^a.*z$", "abc"));
        assert!(
            matches("example\\.com", "example.com") && !matches("example\\.com", "examplexcom")
        );
    }
}
