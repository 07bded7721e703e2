//! Clap's usage errors, printed with the user's words escaped.
//!
//! Clap echoes what the user wrote (a bad value, an unknown flag or
//! subcommand) inside its message, between lines of its own. A newline or
//! a terminal escape in those words could forge a line of output
//! (`verdict: pass`) or clear the screen, so they must be escaped as our
//! own errors are ([`escape_control`]); but the line breaks clap puts
//! between its own lines must stay. Escaping the rendered text line by
//! line would keep a newline the user wrote as a real line break, and
//! finding the user's words in clap's text again is guesswork (clap echoes
//! part of `--flag=value`, value parsers echo trimmed pieces). So when an
//! argument holds a control character, the arguments are escaped and
//! parsed again: clap then writes the escaped words into the same message
//! itself, and every line break left is clap's.

use std::ffi::OsString;

use clap::error::{ContextKind, Error};
use clap::Parser;
use halab_sim::names::escape_control;

use super::Cli;

/// Print clap's error `e` for `args` (the program name first) and return
/// its exit code: help and version on stdout as clap prints them (0); a
/// usage error on stderr, escaped (2).
pub fn report(e: &Error, args: &[OsString]) -> i32 {
    if e.use_stderr() {
        eprint!("{}", usage_text(e, args));
    } else {
        let _ = e.print();
    }
    e.exit_code()
}

/// The text of usage error `e` for `args`, without styling, holding no
/// control character but the line breaks between clap's lines.
pub fn usage_text(e: &Error, args: &[OsString]) -> String {
    let escaped: Vec<String> = args
        .iter()
        .map(|a| escape_control(&a.to_string_lossy()).into_owned())
        .collect();
    let holds_control = args.iter().zip(&escaped).any(|(a, b)| *a.to_string_lossy() != **b);
    let text = if holds_control {
        match Cli::try_parse_from(&escaped) {
            Err(again) if same_error(e, &again) => again.render().to_string(),
            // Escaping changed the error (or cured it): print the first
            // error on one line, its line breaks escaped too.
            _ => return format!("{}\n", escape_control(e.render().to_string().trim_end())),
        }
    } else {
        e.render().to_string()
    };
    // Defence in depth: clap's own lines hold no control character.
    text.split('\n')
        .map(|line| escape_control(line).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `escaped`, the error for the escaped arguments, is `first` with the
/// user's words escaped: the same kind, about the same argument (which is
/// the user's word for an unknown argument).
fn same_error(first: &Error, escaped: &Error) -> bool {
    let arg = |e: &Error| e.get(ContextKind::InvalidArg).map(ToString::to_string);
    first.kind() == escaped.kind() && arg(first).map(|a| escape_control(&a).into_owned()) == arg(escaped)
}
