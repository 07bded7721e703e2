//! A headless Chromium for the tests that open halab's pages: Debian's
//! `chromium` package (or `chromium-browser`/`google-chrome` on PATH, or a
//! binary named by the `HALAB_CHROMIUM` environment variable). When none is
//! there, [`browser`] installs Debian's package itself where it can (as
//! root, or with passwordless sudo, through apt-get), so the README's plain
//! `cargo test` works on a fresh machine; where it cannot, it fails and
//! says how to install one. Never skipped.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser: `HALAB_CHROMIUM`, else the first of chromium,
/// chromium-browser, google-chrome on PATH.
pub fn find_browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("HALAB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        })
}

/// `--dump-dom` of a page after its scripts ran, with a time limit.
pub fn dump_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let page = page.canonicalize().expect("page exists");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let out = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let mut out = out;
        std::io::Read::read_to_string(&mut out, &mut s).map(|_| s)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if child.try_wait().expect("wait for the browser").is_some() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{} --dump-dom did not finish within 120 s", browser.display());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    reader
        .join()
        .expect("reader thread")
        .expect("the browser's output is text")
}

/// Install Debian's `chromium` package through apt-get, as root or with
/// passwordless sudo; the transcript of what was tried otherwise.
fn install_chromium() -> Result<(), String> {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let sudo = !root
        && Command::new("sudo")
            .args(["-n", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !root && !sudo {
        return Err("not root, and no passwordless sudo".into());
    }
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            c
        };
        let o = cmd
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output()
            .map_err(|e| format!("apt-get: {e}"))?;
        if o.status.success() {
            Ok(())
        } else {
            Err(format!(
                "apt-get {args:?} failed: {}",
                String::from_utf8_lossy(&o.stderr)
            ))
        }
    };
    apt(&["update", "-q"])?;
    apt(&["install", "-y", "-q", "--no-install-recommends", "chromium"])
}

/// The browser, installed first if need be (once per test binary).
pub fn browser() -> PathBuf {
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _once = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(b) = find_browser() {
        return b;
    }
    eprintln!("no headless browser found: installing Debian's chromium package for this test");
    let why = install_chromium().err();
    find_browser().unwrap_or_else(|| {
        panic!(
            "no headless browser found, and installing one failed ({}): install Debian's `chromium` package \
             (sudo apt-get install chromium), or set HALAB_CHROMIUM to a Chromium or Chrome binary",
            why.unwrap_or_else(|| "apt-get installed no chromium on PATH".into())
        )
    })
}
