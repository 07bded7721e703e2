//! Helpers shared by the integration tests: the fixture records, a fresh
//! output directory per test, and checks on the written files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use halab_reports::{parse_records, PlotDescription, RunRecord};

pub fn fixture() -> Vec<RunRecord> {
    parse_records(include_str!("../fixtures/records.jsonl")).expect("the fixture parses")
}

pub fn run<'a>(records: &'a [RunRecord], scenario: &str, seed: u64) -> &'a RunRecord {
    records
        .iter()
        .find(|r| r.scenario == scenario && r.seed == seed)
        .expect("the fixture holds this run")
}

/// An empty directory for one test under cargo's per-target temp dir.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("reports").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Width and height of a PNG, decoded (which also checks the file is a
/// complete, valid PNG).
pub fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("png written");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{} is not a PNG", path.display());
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("png header");
    let mut buf = vec![0; reader.output_buffer_size()];
    let frame = reader.next_frame(&mut buf).expect("png image data");
    (frame.width, frame.height)
}

pub fn svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("svg written");
    assert!(
        text.trim_start().starts_with("<svg"),
        "{} is not an SVG",
        path.display()
    );
    text
}

/// The SVG and PNG of `plot` exist, have its size, and the SVG holds its
/// title and every legend text (long legend entries are wrapped into lines,
/// so each word is looked for).
pub fn check_files(plot: &PlotDescription) -> String {
    let text = svg(&plot.svg);
    let (w, h) = plot.size;
    assert!(
        text.contains(&format!("width=\"{w}\" height=\"{h}\"")),
        "{}: SVG size",
        plot.name
    );
    assert_eq!(png_size(&plot.png), plot.size, "{}: PNG size", plot.name);
    assert!(text.contains(&escape(&plot.title)), "{}: title in the SVG", plot.name);
    for entry in &plot.legend {
        for word in entry.split(' ').filter(|w| !w.is_empty()) {
            assert!(
                text.contains(&escape(word)),
                "{}: legend word {word:?} of {entry:?} in the SVG",
                plot.name
            );
        }
    }
    text
}

/// How plotters' SVG backend escapes text.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}
