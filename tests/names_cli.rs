//! Names are data, not paths or terminal codes; repro lines are pasteable;
//! written files never replace their input or, without `--force`, an
//! existing file (issue 20, cases 18–21, 27 and 28). Every test runs the
//! built binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/cli.rs"]
mod cli;
use cli::{halab_in, stderr, stdout};

const SHRINK_ME: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/shrink-me.toml");
const STEADY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/catalogue/steady.toml");

/// A fresh directory for one test.
fn fresh_dir(tag: &str) -> PathBuf {
    cli::fresh_dir(&format!("names-cli-{tag}"))
}

/// `text` (a scenario file) with its top-level `key` set to `value` (a
/// TOML value as written).
fn with_key(text: &str, key: &str, value: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with(&format!("{key} =")) {
                format!("{key} = {value}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first line of `text` that starts with `reproduce: ` (after
/// indentation), without that prefix.
fn repro_line(text: &str) -> String {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix("reproduce: "))
        .unwrap_or_else(|| panic!("no repro line in:\n{text}"))
        .to_string()
}

/// Paste `line` (`cargo run --release -- ...`) into `sh`, with the built
/// binary in place of `cargo run --release --`, from `dir`.
fn paste(dir: &Path, line: &str) -> Output {
    let args = line
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("not a cargo run line: {line}"));
    let command = format!("'{}' {args}", env!("CARGO_BIN_EXE_halab"));
    Command::new("sh")
        .args(["-c", &command])
        .current_dir(dir)
        .output()
        .expect("sh runs")
}

#[test]
fn a_name_that_is_a_path_is_refused_where_it_is_written() {
    let dir = fresh_dir("case19");
    let deep = dir.join("d1/d2/d3");
    std::fs::create_dir_all(&deep).expect("dirs");
    let text = std::fs::read_to_string(SHRINK_ME).expect("fixture");
    for (file, name) in [
        ("c19.toml", "\"../../../escaped/x\""),
        ("abs.toml", "\"/tmp/abs-name\""),
    ] {
        std::fs::write(deep.join(file), with_key(&text, "name", name)).expect("write");
        let o = halab_in(&deep, &["shrink", file, "--seed", "1"]);
        assert_eq!(o.status.code(), Some(2), "{file}: {}", stdout(&o));
        let e = stderr(&o);
        // The fixture's `name` key is on line 4.
        assert!(e.contains(&format!("{file}:4:1: name: `")), "{e}");
        assert!(
            e.contains("holds only ASCII letters, digits, `-`, `_`, `.` and `=`"),
            "{e}"
        );
    }
    assert!(
        !dir.join("escaped").exists(),
        "nothing written outside the working directory"
    );
    let left: Vec<_> = std::fs::read_dir(&deep).expect("dir").collect();
    assert_eq!(left.len(), 2, "no shrunk file written");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_name_with_terminal_codes_is_refused_and_a_description_is_escaped() {
    let dir = fresh_dir("case20");
    let text = std::fs::read_to_string(STEADY).expect("catalogue file");
    let evil = r#""evil\nverdict: pass\u001b[31mRED\u001b[0m""#;
    std::fs::write(dir.join("name.toml"), with_key(&text, "name", evil)).expect("write");
    let o = halab_in(&dir, &["run", "name.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains(r"name.toml:1:1: name: `evil\nverdict: pass\u{1b}[31mRED"),
        "{e}"
    );
    assert!(!e.contains('\u{1b}') && e.trim_end().lines().count() == 1, "{e}");
    // An error that quotes a value as given is escaped too.
    let o = halab_in(
        &dir,
        &[
            "run",
            "steady",
            "--set",
            "job.key-distribution=x\u{1b}[2J\nverdict: pass",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(e.contains(r"x\u{1b}[2J\nverdict: pass"), "{e}");
    assert!(!e.contains('\u{1b}') && e.trim_end().lines().count() == 1, "{e}");

    let description = r#""calm\nverdict: violation\u001b[2J""#;
    std::fs::write(dir.join("desc.toml"), with_key(&text, "description", description)).expect("write");
    let o = halab_in(&dir, &["run", "desc.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(r"  calm\nverdict: violation\u{1b}[2J"), "{out}");
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(!out.lines().any(|l| l == "verdict: violation"), "{out}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn names_and_messages_read_from_records_are_escaped_on_the_terminal() {
    let dir = fresh_dir("case20-records");
    let o = halab_in(
        &dir,
        &["sweep", SHRINK_ME, "--seeds", "1..1", "--jobs", "1", "--out", "r.jsonl"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let mut record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.jsonl")).expect("records")).expect("a record");
    record["scenario"] = "evil\nverdict: pass\u{1b}[2J".into();
    record["message"] = "bad\u{1b}[31m\nverdict: pass".into();
    std::fs::write(dir.join("evil.jsonl"), format!("{record}\n")).expect("write");
    let o = halab_in(&dir, &["report", "--from", "evil.jsonl", "--out", "rep"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(!out.contains('\u{1b}'), "{out}");
    assert!(!out.lines().any(|l| l.trim() == "verdict: pass"), "{out}");
    assert!(
        out.contains(r"evil\nverdict: pass\u{1b}[2J seed 1 violation: bad\u{1b}[31m\nverdict: pass"),
        "{out}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_bare_word_is_a_built_in_and_a_file_needs_a_path() {
    let dir = fresh_dir("case21");
    let text = std::fs::read_to_string(STEADY).expect("catalogue file");
    std::fs::write(dir.join("tm-crash"), with_key(&text, "name", "\"from-file\"")).expect("write");
    let builtin = halab_in(&dir, &["run", "tm-crash", "--seed", "1"]);
    assert_eq!(builtin.status.code(), Some(0), "{}", stderr(&builtin));
    assert!(stdout(&builtin).starts_with("halab run: scenario tm-crash seed 1\n"));
    let file = halab_in(&dir, &["run", "./tm-crash", "--seed", "1"]);
    assert_eq!(file.status.code(), Some(0), "{}", stderr(&file));
    assert!(stdout(&file).starts_with("halab run: scenario from-file seed 1\n"));
    std::fs::write(dir.join("mine"), &text).expect("write");
    let unknown = halab_in(&dir, &["run", "mine", "--seed", "1"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", stdout(&unknown));
    let e = stderr(&unknown);
    assert!(e.contains("unknown built-in scenario `mine`"), "{e}");
    assert!(e.contains("give a path such as ./mine or mine.toml"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `DIR/my dir/it's bad.toml`: the failing fixture at a path with a space
/// and a quote.
fn awkward_copy(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("my dir")).expect("dir");
    let path = dir.join("my dir/it's bad.toml");
    std::fs::copy(SHRINK_ME, &path).expect("copy");
    path
}

#[test]
fn repro_lines_of_run_and_sweep_paste_into_a_shell() {
    let dir = fresh_dir("case27");
    awkward_copy(&dir);
    let run = halab_in(&dir, &["run", "my dir/it's bad.toml", "--seed", "1"]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let line = repro_line(&stdout(&run));
    assert_eq!(
        line,
        r"cargo run --release -- repro 'my dir/it'\''s bad.toml' --seed 1 --trace"
    );
    let sweep = halab_in(
        &dir,
        &["sweep", "my dir/it's bad.toml", "--seeds", "1..1", "--jobs", "1"],
    );
    assert_eq!(sweep.status.code(), Some(1), "{}", stderr(&sweep));
    assert_eq!(repro_line(&stdout(&sweep)), line);
    let pasted = paste(&dir, &line);
    assert_eq!(pasted.status.code(), Some(1), "{}", stderr(&pasted));
    let hash = |text: &str| text.split("hash ").nth(1).map(|h| h[..16].to_string());
    assert_eq!(hash(&stdout(&pasted)), hash(&stdout(&run)), "the same run");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn report_from_records_names_the_scenario_file_or_says_it_is_needed() {
    let dir = fresh_dir("case28");
    awkward_copy(&dir);
    let sweep = halab_in(
        &dir,
        &[
            "sweep",
            "my dir/it's bad.toml",
            "--seeds",
            "1..1",
            "--jobs",
            "1",
            "--out",
            "r.jsonl",
        ],
    );
    assert_eq!(sweep.status.code(), Some(1), "{}", stderr(&sweep));

    let unknown = halab_in(&dir, &["report", "--from", "r.jsonl", "--out", "rep"]);
    assert_eq!(unknown.status.code(), Some(1), "{}", stderr(&unknown));
    assert_eq!(
        repro_line(&stdout(&unknown)),
        "cargo run --release -- repro <file of scenario `shrink-me`> --seed 1 --trace"
    );

    let suite = "name = \"mine\"\nseeds = 1\n[[group]]\ntitle = \"t\"\nscenarios = [\"it's bad.toml\"]\n";
    std::fs::write(dir.join("my dir/suite.toml"), suite).expect("write");
    let known = halab_in(
        &dir,
        &[
            "report",
            "--from",
            "r.jsonl",
            "--suite",
            "my dir/suite.toml",
            "--out",
            "rep 2",
        ],
    );
    assert_eq!(known.status.code(), Some(1), "{}", stderr(&known));
    let line = repro_line(&stdout(&known));
    assert_eq!(
        line,
        "cargo run --release -- repro 'rep 2/scenarios/shrink-me.toml' --seed 1 --trace"
    );
    let pasted = paste(&dir, &line);
    assert_eq!(pasted.status.code(), Some(1), "{}", stderr(&pasted));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn write_plan_replaces_neither_its_input_nor_an_existing_file_without_force() {
    let dir = fresh_dir("case18-run");
    std::fs::copy(STEADY, dir.join("in.toml")).expect("copy");
    let input = std::fs::read(dir.join("in.toml")).expect("read");
    // A hard link is the input under another name.
    std::fs::hard_link(dir.join("in.toml"), dir.join("hard.toml")).expect("hard link");
    for args in [
        &["run", "in.toml", "--write-plan", "in.toml"][..],
        &["run", "in.toml", "--write-plan", "./in.toml", "--force"],
        &["run", "in.toml", "--write-plan", "hard.toml", "--force"],
    ] {
        let o = halab_in(&dir, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stdout(&o));
        assert!(
            stderr(&o).contains("is the scenario file this command reads"),
            "{}",
            stderr(&o)
        );
        assert!(stdout(&o).is_empty(), "refused before running: {}", stdout(&o));
        assert_eq!(std::fs::read(dir.join("in.toml")).expect("read"), input, "{args:?}");
    }
    std::fs::write(dir.join("precious.toml"), "precious").expect("write");
    let o = halab_in(&dir, &["run", "steady", "--write-plan", "precious.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("already exists; choose another file, or give --force"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("precious.toml")).expect("read"),
        "precious"
    );
    let o = halab_in(&dir, &["run", "steady", "--write-plan", "precious.toml", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let plan = std::fs::read_to_string(dir.join("precious.toml")).expect("read");
    assert!(plan.starts_with("name = \"steady\""), "{plan}");
    std::fs::remove_dir_all(&dir).ok();
}

/// `run --history` follows the same rule as `--write-plan`.
#[test]
fn history_replaces_neither_its_input_nor_an_existing_file_without_force() {
    let dir = fresh_dir("history-run");
    std::fs::copy(STEADY, dir.join("in.toml")).expect("copy");
    let input = std::fs::read(dir.join("in.toml")).expect("read");
    let o = halab_in(&dir, &["run", "in.toml", "--history", "in.toml", "--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--history in.toml is the scenario file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.join("in.toml")).expect("read"), input);
    std::fs::write(dir.join("h.jsonl"), "precious").expect("write");
    let o = halab_in(&dir, &["run", "steady", "--history", "h.jsonl"]);
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(stdout(&o).is_empty(), "refused before running: {}", stdout(&o));
    assert_eq!(std::fs::read_to_string(dir.join("h.jsonl")).expect("read"), "precious");
    let o = halab_in(&dir, &["run", "steady", "--history", "h.jsonl", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let history = std::fs::read_to_string(dir.join("h.jsonl")).expect("read");
    assert!(
        history
            .lines()
            .next()
            .is_some_and(|l| l.contains("\"kind\":\"header\"")),
        "{}",
        &history[..80.min(history.len())]
    );
    // One new file for both: refused before anything runs or is written.
    let o = halab_in(
        &dir,
        &[
            "run",
            "steady",
            "--write-plan",
            "both",
            "--history",
            "./both",
            "--force",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--write-plan and --history both name both"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty() && !dir.join("both").exists(), "{}", stdout(&o));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shrink_replaces_neither_its_input_nor_an_existing_file_without_force() {
    let dir = fresh_dir("case18-shrink");
    std::fs::copy(SHRINK_ME, dir.join("in.toml")).expect("copy");
    let input = std::fs::read(dir.join("in.toml")).expect("read");
    let o = halab_in(
        &dir,
        &["shrink", "in.toml", "--seed", "1", "--out", "in.toml", "--force"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    assert!(
        stderr(&o).contains("--out in.toml is the scenario file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(dir.join("in.toml")).expect("read"), input);

    // The default file, then the same again: refused without --force.
    let first = halab_in(&dir, &["shrink", "in.toml", "--seed", "1"]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let default = dir.join("shrink-me-seed1-shrunk.toml");
    std::fs::write(&default, "precious").expect("write");
    let again = halab_in(&dir, &["shrink", "in.toml", "--seed", "1"]);
    assert_eq!(again.status.code(), Some(2), "{}", stdout(&again));
    assert!(stderr(&again).contains("already exists"), "{}", stderr(&again));
    assert!(
        stdout(&again).is_empty(),
        "refused before shrinking: {}",
        stdout(&again)
    );
    assert_eq!(std::fs::read_to_string(&default).expect("read"), "precious");
    let forced = halab_in(&dir, &["shrink", "in.toml", "--seed", "1", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert!(std::fs::read_to_string(&default)
        .expect("read")
        .contains("name = \"shrink-me\""));
    std::fs::remove_dir_all(&dir).ok();
}

/// `stderr` of a usage error: exit 2, nothing on stdout, no raw escape,
/// no forged `verdict:` line, and clap's own last line kept on its own.
fn assert_escaped_usage_error(o: &Output) -> String {
    assert_eq!(o.status.code(), Some(2), "{}", stdout(o));
    assert!(o.stdout.is_empty(), "{}", stdout(o));
    let e = stderr(o);
    assert!(!e.contains('\u{1b}') && !e.contains('\r'), "{e}");
    assert!(!e.lines().any(|l| l.trim_start().starts_with("verdict:")), "{e}");
    assert!(e.starts_with("error: "), "{e}");
    assert!(e.lines().any(|l| l == "For more information, try '--help'."), "{e}");
    e
}

#[test]
fn clap_usage_errors_escape_the_users_words_and_keep_their_lines() {
    let dir = fresh_dir("clap-usage");
    let forged = "1\n\u{1b}[2Jverdict: pass";
    // A bad value, as a separate word and after `=`.
    for args in [
        vec!["run", "tm-crash", "--seed", forged],
        vec!["run", "tm-crash", "--seed=1\n\u{1b}[2Jverdict: pass"],
    ] {
        let e = assert_escaped_usage_error(&halab_in(&dir, &args));
        assert!(
            e.contains(r"invalid value '1\n\u{1b}[2Jverdict: pass' for '--seed <SEED>'"),
            "{e}"
        );
    }
    // An unknown subcommand and an unknown flag (clap's tip and usage lines
    // stay lines of their own).
    let e = assert_escaped_usage_error(&halab_in(&dir, &["\u{1b}[2Jrun\nverdict: pass"]));
    assert!(
        e.contains(r"unrecognized subcommand '\u{1b}[2Jrun\nverdict: pass'"),
        "{e}"
    );
    assert!(e.lines().any(|l| l == "Usage: halab <COMMAND>"), "{e}");
    let e = assert_escaped_usage_error(&halab_in(&dir, &["run", "tm-crash", "--se\u{1b}[2Jed\nverdict: pass"]));
    assert!(
        e.contains(r"unexpected argument '--se\u{1b}[2Jed\nverdict: pass' found"),
        "{e}"
    );
    assert!(
        e.lines().any(|l| l == "  tip: a similar argument exists: '--seed'"),
        "{e}"
    );
    // A value parser of ours that quotes the value.
    let e = assert_escaped_usage_error(&halab_in(
        &dir,
        &[
            "repro",
            "tm-crash",
            "--seed",
            "1",
            "--expect-hash",
            "ab\nverdict: pass\u{1b}[31m",
        ],
    ));
    assert!(e.contains(r"`ab\nverdict: pass\u{1b}[31m` is not a trace hash"), "{e}");
    // Escaping changes which argument is wrong (`1..3\n` is a range,
    // `1..3\\n` is not): the first error is printed on one line, its line
    // breaks escaped.
    let o = halab_in(
        &dir,
        &[
            "sweep",
            "steady",
            "--seeds",
            "1..3\n",
            "--jobs",
            "\u{1b}\nverdict: pass",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.starts_with("error: invalid value") && e.contains("'--jobs <J>'"),
        "{e}"
    );
    assert!(!e.contains('\u{1b}') && e.lines().count() == 1, "{e}");
    // Help and version still go to stdout with exit 0.
    for args in [vec!["run", "--help"], vec!["--version"]] {
        let o = halab_in(&dir, &args);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert!(!o.stdout.is_empty() && o.stderr.is_empty(), "{}", stderr(&o));
    }
    std::fs::remove_dir_all(&dir).ok();
}
