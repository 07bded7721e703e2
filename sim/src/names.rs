//! Names are data: the rule a scenario name follows, and the three places
//! where user text leaves the program and must not act as anything but
//! text.
//!
//! - [`check_scenario_name`]: a scenario name holds only ASCII letters,
//!   digits, `-`, `_`, `.` and `=`, and does not start with `.` (the rule
//!   is [`NAME_RULE`]). Such a name is safe as a file name, in a terminal
//!   and as a shell word.
//! - [`file_name_part`]: a name made safe to put in a file name, for every
//!   place a name becomes a path (defence in depth: the name was checked,
//!   but a scenario built in code or read from records may not have been).
//! - [`escape_control`]: user text (names, descriptions, messages read
//!   from files) printed to a terminal, with control characters and
//!   bidirectional overrides written as escapes, so no text can move the
//!   cursor, change colours or fake a line of output.
//! - [`shell_quote`]: one word of a command line to paste into a POSIX
//!   shell: unchanged when it holds only characters with no meaning to the
//!   shell, else single-quoted.

use std::borrow::Cow;
use std::fmt::Write;

/// The scenario name rule, as error messages and docs state it.
pub const NAME_RULE: &str =
    "a scenario name holds only ASCII letters, digits, `-`, `_`, `.` and `=`, and does not start with `.`";

/// A character a scenario name may hold.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=')
}

/// `Ok` when `name` follows [`NAME_RULE`]; else the reason, naming the
/// name (escaped) and the rule.
pub fn check_scenario_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(format!("must not be empty; {NAME_RULE}"));
    }
    if name.starts_with('.') || !name.chars().all(is_name_char) {
        return Err(format!("`{}` is not a valid name: {NAME_RULE}", escape_control(name)));
    }
    Ok(())
}

/// `name` with every character the rule does not allow replaced by `_`,
/// and a leading `.` too: safe as (part of) one file name, never a path
/// of several components. An empty name gives `_`.
pub fn file_name_part(name: &str) -> String {
    let mut out: String = name.chars().map(|c| if is_name_char(c) { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with('.') {
        out.replace_range(0..0, "_");
    }
    out
}

/// A character that changes how a terminal shows text: a control
/// character (C0, DEL, C1) or a bidirectional override or isolate.
fn is_unsafe_on_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every control character and bidirectional override
/// written as an escape (`\n`, `\t`, `\u{1b}`); unchanged (borrowed) when
/// it holds none.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe_on_terminal) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_on_terminal(c) {
            let _ = write!(out, "{}", c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A character with no meaning to a POSIX shell anywhere in a word (but
/// the first word of a command, where `=` would make an assignment).
fn is_shell_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '=' | ':' | ',' | '+' | '@' | '%')
}

/// `word` as one word of a POSIX shell command line: unchanged when every
/// character is plain, else in single quotes, each `'` written `'\''`.
pub fn shell_quote(word: &str) -> Cow<'_, str> {
    if !word.is_empty() && word.chars().all(is_shell_plain) {
        return Cow::Borrowed(word);
    }
    Cow::Owned(format!("'{}'", word.replace('\'', "'\\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_rule() {
        for good in [
            "tm-crash",
            "a.b_c",
            "tm-crash--restart-strategy.type=failure-rate",
            "x1",
        ] {
            assert_eq!(check_scenario_name(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "../x",
            "/abs",
            "a b",
            "evil\nverdict: pass",
            "a\u{1b}[31m",
            "é",
        ] {
            let e = check_scenario_name(bad).expect_err(bad);
            assert!(e.contains(NAME_RULE), "{e}");
            assert!(!e.contains('\n') && !e.contains('\u{1b}'), "{e}");
        }
    }

    #[test]
    fn file_name_parts_stay_in_their_directory() {
        assert_eq!(file_name_part("../../../escaped/x"), "_.._.._.._escaped_x");
        assert_eq!(file_name_part("/etc/passwd"), "_etc_passwd");
        assert_eq!(file_name_part(".."), "_..");
        assert_eq!(file_name_part(""), "_");
        assert_eq!(file_name_part("tm-crash"), "tm-crash");
        assert_eq!(file_name_part("a b\n"), "a_b_");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(escape_control("plain text: ok"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("evil\nverdict: pass\u{1b}[31m\u{202e}"),
            "evil\\nverdict: pass\\u{1b}[31m\\u{202e}"
        );
        assert_eq!(escape_control("a\tb\r\u{7f}\u{9b}"), "a\\tb\\r\\u{7f}\\u{9b}");
    }

    #[test]
    fn shell_words_are_quoted_when_needed() {
        assert_eq!(shell_quote("tests/fixtures/x.toml"), "tests/fixtures/x.toml");
        assert_eq!(shell_quote("job.keys=301"), "job.keys=301");
        assert_eq!(shell_quote("my dir/bad scen.toml"), "'my dir/bad scen.toml'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("$(rm -rf ~)"), "'$(rm -rf ~)'");
        assert_eq!(shell_quote("~/x.toml"), "'~/x.toml'");
        assert_eq!(shell_quote(""), "''");
    }
}
