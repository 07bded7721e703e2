//! Helpers shared by the tests that run the built `halab` binary.
#![allow(dead_code)] // not every CLI test file uses every helper

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Run `halab` with `args` in the test's working directory.
pub fn halab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .output()
        .expect("halab runs")
}

/// Run `halab` with `args` in `dir`.
pub fn halab_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_halab"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("halab runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh, empty directory named `name` under cargo's temporary directory
/// for integration tests.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `p` as text (temporary paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}
