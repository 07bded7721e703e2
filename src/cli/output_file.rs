//! Files the CLI writes on request (`run --write-plan`, `shrink --out`):
//! never the scenario file the command read (by any path or link), and
//! never an existing file unless `--force` says so.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};
use halab_sim::names::escape_control;

/// Whether an existing file may be replaced (`--force`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse an existing file (the default).
    Refuse,
    /// Replace an existing file, but never the command's input.
    Allow,
}

/// Whether `a` and `b` are the same existing file (through symbolic and
/// hard links and relative paths).
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Whether `a` and `b` are the same existing file (through links and
/// relative paths).
#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether `a` and `b` name one file: the same existing file, or the same
/// path (one that may not exist yet).
pub fn same_target(a: &Path, b: &Path) -> bool {
    same_file(a, b) || matches!((std::path::absolute(a), std::path::absolute(b)), (Ok(a), Ok(b)) if a == b)
}

/// Refuse to write `path` (given by `flag`) when it is `input`, the file
/// the command read, or when it exists and `overwrite` is `Refuse`. Call it
/// before the work, so a refusal costs nothing.
pub fn check(path: &Path, flag: &str, input: Option<&Path>, overwrite: Overwrite) -> anyhow::Result<()> {
    let shown = escape_control(&path.display().to_string()).into_owned();
    if input.is_some_and(|input| same_file(path, input)) {
        bail!("{flag} {shown} is the scenario file this command reads; choose another file");
    }
    if overwrite == Overwrite::Refuse && std::fs::symlink_metadata(path).is_ok() {
        bail!("{flag} {shown} already exists; choose another file, or give --force to replace it");
    }
    Ok(())
}

/// Write `text` to `path`, checked as [`check`] does; with `Refuse` the
/// file is created only if it still does not exist.
pub fn write(path: &Path, flag: &str, input: Option<&Path>, overwrite: Overwrite, text: &str) -> anyhow::Result<()> {
    check(path, flag, input, overwrite)?;
    let mut options = std::fs::OpenOptions::new();
    match overwrite {
        Overwrite::Refuse => options.write(true).create_new(true),
        Overwrite::Allow => options.write(true).create(true).truncate(true),
    };
    let shown = escape_control(&path.display().to_string()).into_owned();
    let mut file = options.open(path).with_context(|| format!("cannot write {shown}"))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_and_existing_files_are_kept() {
        let dir = std::env::temp_dir().join(format!("halab-output-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let input = dir.join("in.toml");
        std::fs::write(&input, "precious").expect("write");
        let other = dir.join("plan.toml");
        let _ = std::fs::remove_file(&other);
        write(&other, "--write-plan", Some(&input), Overwrite::Refuse, "one").expect("a new file");
        let e = write(&other, "--write-plan", Some(&input), Overwrite::Refuse, "two").expect_err("exists");
        assert!(e.to_string().contains("--force"), "{e}");
        write(&other, "--write-plan", Some(&input), Overwrite::Allow, "two").expect("forced");
        assert_eq!(std::fs::read_to_string(&other).expect("read"), "two");
        let same = dir.join(".").join("in.toml");
        let e = write(&same, "--write-plan", Some(&input), Overwrite::Allow, "x").expect_err("the input");
        assert!(e.to_string().contains("is the scenario file"), "{e}");
        // A hard link is the input under another name.
        let hard = dir.join("hard.toml");
        let _ = std::fs::remove_file(&hard);
        std::fs::hard_link(&input, &hard).expect("hard link");
        let e = write(&hard, "--write-plan", Some(&input), Overwrite::Allow, "x").expect_err("the input");
        assert!(e.to_string().contains("is the scenario file"), "{e}");
        assert_eq!(std::fs::read_to_string(&input).expect("read"), "precious");
        assert!(same_target(&dir.join("new.toml"), &dir.join(".").join("new.toml")));
        assert!(!same_target(&dir.join("new.toml"), &other));
        std::fs::remove_dir_all(&dir).ok();
    }
}
