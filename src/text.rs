//! Text bound for a terminal. Reasons, log messages and item names come from servers
//! this tool does not control: a control sequence in them could move the cursor, retitle
//! the window, write to the clipboard (OSC 52) or hide what follows. Every such
//! character is shown escaped (`\x1b`); only line breaks, tabs and plain colour
//! sequences (SGR, `ESC [ … m`, which this tool's own output uses) pass.

use std::borrow::Cow;

/// `text` with every control character but `\n` and `\t` escaped, and colour
/// sequences kept. Borrowed when there is nothing to escape.
pub fn for_terminal(text: &str) -> Cow<'_, str> {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && let Some(len) = sgr_len(rest)
        {
            out.push_str(&rest[..len]);
            rest = &rest[len..];
            continue;
        }
        if c == '\r' && rest[1..].starts_with('\n') {
            // A Windows line ending is a line break.
        } else if c.is_control() && c != '\n' && c != '\t' {
            put!(out, "\\x{:02x}", u32::from(c));
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The length of the colour sequence (`ESC [ digits ; … m`) `text` starts with.
fn sgr_len(text: &str) -> Option<usize> {
    let body = text.strip_prefix("\x1b[")?;
    let params = body
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';')
        .count();
    (body.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::for_terminal;

    #[test]
    fn control_sequences_are_escaped_and_colours_kept() {
        assert!(matches!(
            for_terminal("plain\ttext\n"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            for_terminal("a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\x1b]52;c;ZXZpbA==\\x07b"
        );
        assert_eq!(for_terminal("x\x1b[2J\x1b[Hy"), "x\\x1b[2J\\x1b[Hy");
        assert_eq!(
            for_terminal("\x1b[33mwarning\x1b[0m: ok"),
            "\x1b[33mwarning\x1b[0m: ok"
        );
        assert_eq!(for_terminal("line\r\nnext\rover"), "line\nnext\\x0dover");
        assert_eq!(for_terminal("c1\u{9b}31m"), "c1\\x9b31m");
        assert_eq!(for_terminal("tail\x1b"), "tail\\x1b");
    }
}
