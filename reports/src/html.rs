//! The HTML page: one self-contained file (inline CSS, one small inline
//! script, nothing fetched from the network) with the per-scenario summary
//! table, the repro line of every failed run, and the plots.
//!
//! Every plot is embedded as an `<img>` whose source is the SVG itself, as a
//! base64 `data:` URL, so the page alone shows everything, wherever it is
//! copied; each figure also links its SVG and PNG files beside the page, by
//! relative URL. Every text that comes from a record is escaped.
//!
//! The script ([`IMAGE_CHECK_SCRIPT`]) only reports, after the window's
//! `load` event, how many plot images actually loaded: it sets
//! `data-images-loaded="<ok>/<total>"` on `<body>` and `data-loaded="yes"` or
//! `"no"` on every `<img>`, so a headless browser's `--dump-dom` shows whether
//! the page is complete (a missing or undecodable file counts as not loaded).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

use crate::comparison::{ComparisonGroup, ComparisonRow};
use crate::plots::PlotDescription;
use crate::summary::{FailedRun, ScenarioRow};

/// Escape text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape a relative file name for an `href`/`src` attribute: percent-encode
/// what is not safe in a URL path segment, then HTML-escape.
pub fn url(file_name: &str) -> String {
    let mut out = String::new();
    for b in file_name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    escape(&out)
}

/// A heading and the plots under it.
#[derive(Clone, Debug, Default)]
pub struct Section {
    pub heading: String,
    /// Paragraphs shown under the heading, before the plots.
    pub notes: Vec<String>,
    /// Links shown after the notes: `(text, relative URL)`.
    pub links: Vec<(String, String)>,
    pub plots: Vec<PlotDescription>,
}

/// Everything the page shows.
#[derive(Clone, Debug)]
pub struct Page<'a> {
    pub title: &'a str,
    pub records: usize,
    pub rows: &'a [ScenarioRow],
    pub failed: &'a [FailedRun],
    pub sections: &'a [Section],
    /// Data files beside the page (records.jsonl, records.csv).
    pub data_files: &'a [String],
    /// The SVG text of each plot, by plot name, embedded in the page. A plot
    /// missing here is shown from its file beside the page instead.
    pub svg: &'a BTreeMap<String, String>,
    /// Strategies side by side on identical fault schedules.
    pub comparisons: &'a [ComparisonGroup],
}

/// No plots embedded: [`Page::default`]'s `svg`.
static NO_SVG: BTreeMap<String, String> = BTreeMap::new();

impl Default for Page<'_> {
    fn default() -> Self {
        Page {
            title: "",
            records: 0,
            rows: &[],
            failed: &[],
            sections: &[],
            data_files: &[],
            svg: &NO_SVG,
            comparisons: &[],
        }
    }
}

/// `n` bytes in decimal megabytes, one decimal.
fn bytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}

fn seconds(ms: Option<u64>) -> String {
    ms.map(|v| format!("{:.2} s", v as f64 / 1000.0))
        .unwrap_or_else(|| "–".into())
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1300px}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}\
th{background:#f2f2f2}td.name,th.name{text-align:left}\
tr.bad td{background:#fde8e8}\
code{background:#f6f6f6;padding:2px 4px;user-select:all}\
figure{margin:1.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\
figcaption{font-size:90%;color:#555}\
table.comparison caption{text-align:left;font-size:90%;color:#555;padding:4px 0}";

/// Counts the images that loaded (complete and with a natural width) once
/// everything has loaded, and writes the result into the DOM. Plain ES5, no
/// external input: nothing from a record reaches it.
pub const IMAGE_CHECK_SCRIPT: &str = "<script>\n\
window.addEventListener(\"load\", function () {\n\
  var imgs = document.getElementsByTagName(\"img\"), ok = 0;\n\
  for (var i = 0; i < imgs.length; i++) {\n\
    var loaded = imgs[i].complete && imgs[i].naturalWidth > 0;\n\
    imgs[i].setAttribute(\"data-loaded\", loaded ? \"yes\" : \"no\");\n\
    if (loaded) { ok++; }\n\
  }\n\
  document.body.setAttribute(\"data-images-loaded\", ok + \"/\" + imgs.length);\n\
});\n\
</script>\n";

/// Render the page.
pub fn render_html(page: &Page<'_>) -> String {
    let mut h = String::new();
    let title = escape(page.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    let _ = write!(h, "<p>{} run records over {} scenarios.", page.records, page.rows.len());
    if !page.data_files.is_empty() {
        h.push_str(" Data: ");
        let links: Vec<String> = page
            .data_files
            .iter()
            .map(|f| format!("<a href=\"{}\">{}</a>", url(f), escape(f)))
            .collect();
        h.push_str(&links.join(", "));
        h.push('.');
    }
    h.push_str("</p>\n");

    render_summary(&mut h, page.rows);
    render_comparisons(&mut h, page.comparisons);
    render_failed(&mut h, page.failed);
    render_sections(&mut h, page);
    h.push_str(IMAGE_CHECK_SCRIPT);
    h.push_str("</body>\n</html>\n");
    h
}

/// The summary table: one row per scenario.
fn render_summary(h: &mut String, rows: &[ScenarioRow]) {
    h.push_str(
        "<h2 id=\"summary\">Summary</h2>\n<table id=\"summary-table\">\n<thead><tr>\
        <th class=\"name\">scenario</th><th>runs</th><th>passed</th><th>violations</th>\
        <th>liveness failures</th><th>crashes</th><th>median restarts</th><th>median recovery</th></tr></thead>\n<tbody>\n",
    );
    for r in rows {
        let bad = if r.violations + r.liveness + r.crashes > 0 {
            " class=\"bad\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{bad} data-scenario=\"{name}\"><td class=\"name\">{name}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.runs,
            r.passes,
            r.violations,
            r.liveness,
            r.crashes,
            r.median_restarts.map(|v| v.to_string()).unwrap_or_else(|| "–".into()),
            seconds(r.median_recovery_ms),
            name = escape(&r.scenario),
        );
    }
    h.push_str("</tbody>\n</table>\n");
}

/// The failed runs with their repro lines, or a line saying all passed.
fn render_failed(h: &mut String, failed: &[FailedRun]) {
    h.push_str("<h2 id=\"failures\">Failed runs</h2>\n");
    if failed.is_empty() {
        h.push_str("<p>Every run passed.</p>\n");
    } else {
        h.push_str(
            "<table id=\"failed-table\">\n<thead><tr><th class=\"name\">scenario</th><th>seed</th>\
             <th class=\"name\">verdict</th><th class=\"name\">message</th><th class=\"name\">reproduce</th></tr></thead>\n<tbody>\n",
        );
        for f in failed {
            let _ = writeln!(
                h,
                "<tr class=\"failed\"><td class=\"name\">{}</td><td>{}</td><td class=\"name\">{}</td>\
                 <td class=\"name\">{}</td><td class=\"name\"><code class=\"repro\">{}</code></td></tr>",
                escape(&f.scenario),
                f.seed,
                escape(f.verdict.as_str()),
                escape(f.message.as_deref().unwrap_or("")),
                escape(&f.repro),
            );
        }
        h.push_str("</tbody>\n</table>\n");
    }
}

/// Each section with plots: its heading, notes and figures.
fn render_sections(h: &mut String, page: &Page<'_>) {
    for s in page.sections.iter().filter(|s| !s.plots.is_empty()) {
        let _ = writeln!(h, "<h2>{}</h2>", escape(&s.heading));
        for n in &s.notes {
            let _ = writeln!(h, "<p>{}</p>", escape(n));
        }
        if !s.links.is_empty() {
            h.push_str("<ul class=\"links\">\n");
            for (text, href) in &s.links {
                let _ = writeln!(h, "<li><a href=\"{}\">{}</a></li>", url(href), escape(text));
            }
            h.push_str("</ul>\n");
        }
        for p in &s.plots {
            let [svg, png] = p.file_names();
            let src = match page.svg.get(&p.name) {
                Some(text) => data_url(text),
                None => url(&svg),
            };
            let _ = writeln!(
                h,
                "<figure id=\"{id}\">\n<img src=\"{src}\" alt=\"{title}\" width=\"{w}\" height=\"{hh}\">\n\
                 <figcaption>{title} — <a href=\"{svg_url}\">SVG</a> · <a href=\"{png_url}\">PNG</a></figcaption>\n</figure>",
                id = escape(&p.name),
                svg_url = url(&svg),
                png_url = url(&png),
                title = escape(&p.title),
                w = p.size.0,
                hh = p.size.1,
            );
        }
    }
}

/// The side-by-side tables: one per group of scenarios that ran identical
/// fault schedules; the lowest recovery times and downtime of a group in
/// bold.
fn render_comparisons(h: &mut String, groups: &[ComparisonGroup]) {
    if groups.is_empty() {
        return;
    }
    h.push_str(
        "<h2 id=\"comparisons\">Strategies side by side</h2>\n<p>Each table compares scenarios that ran the \
         same seeds with the same fault plan under every seed: only the strategy differs. Recovery is fault \
         &rarr; first commit after it; downtime is the total time the job was not running, and for a strategy that \
         gave up in some runs (&ge;) only a lower bound: such a job stays down after the run ends. Catch-up is \
         restored state &rarr; source lag back at its level before the fault; the hottest TaskManager is the \
         median over runs of the busiest TaskManager's busy time per second; tasks lost per crash are the \
         tasks running on a killed TaskManager; records rolled back are the source records read again after \
         restores (median over runs). The lowest recovery times and downtime of each table are in \
         bold.</p>\n",
    );
    for g in groups {
        let names: Vec<String> = g.rows.iter().map(|r| escape(&r.scenario)).collect();
        let _ = writeln!(
            h,
            "<table class=\"comparison\" data-scenarios=\"{}\">\n<caption>{} scenarios &times; {} seeds; \
             seed {}: <code>{}</code></caption>\n<thead><tr><th class=\"name\">scenario</th><th>runs</th>\
             <th>passed</th><th>recovered</th><th>median recovery</th><th>p90 recovery</th>\
             <th>median restarts</th><th>gave up</th><th>median downtime</th><th>median checkpoint</th>\
             <th>median catch-up</th><th>hottest TaskManager</th><th>tasks lost per crash</th>\
             <th>records rolled back</th><th>checkpoint messages</th><th>checkpoint bytes</th>\
             <th>forced snapshots</th></tr></thead>\n<tbody>",
            names.join(" "),
            g.rows.len(),
            g.seeds.len(),
            g.seeds.first().copied().unwrap_or_default(),
            escape(&g.example_plan),
        );
        let bests = Bests::of(g);
        for r in &g.rows {
            render_comparison_row(h, r, &bests);
        }
        h.push_str("</tbody>\n</table>\n");
    }
}

/// The figures a comparison table shows in bold (with more than one row).
struct Bests {
    p50: Option<u64>,
    p90: Option<u64>,
    downtime: Option<u64>,
    rows: usize,
}

impl Bests {
    fn of(g: &ComparisonGroup) -> Bests {
        let best = |f: fn(&ComparisonRow) -> Option<u64>| g.rows.iter().filter_map(f).min();
        Bests {
            p50: best(|r| r.median_recovery_ms),
            p90: best(|r| r.p90_recovery_ms),
            // A job that gave up stays down: its downtime, counted to the end
            // of the run, is only a lower bound and never the best.
            downtime: g
                .rows
                .iter()
                .filter(|r| r.gave_up == 0)
                .filter_map(|r| r.median_downtime_ms)
                .min(),
            rows: g.rows.len(),
        }
    }

    fn mark(&self, v: Option<u64>, best: Option<u64>, text: String) -> String {
        if v.is_some() && v == best && self.rows > 1 {
            format!("<strong>{text}</strong>")
        } else {
            text
        }
    }
}

/// One row of a comparison table.
fn render_comparison_row(h: &mut String, r: &ComparisonRow, b: &Bests) {
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "–".into());
    let _ = writeln!(
        h,
        "<tr data-compared=\"{name}\"><td class=\"name\">{name}</td><td>{}</td><td>{}</td><td>{}/{}</td>\
         <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td><td>{}</td></tr>",
        r.runs,
        r.passes,
        r.recovered,
        r.episodes,
        b.mark(r.median_recovery_ms, b.p50, seconds(r.median_recovery_ms)),
        b.mark(r.p90_recovery_ms, b.p90, seconds(r.p90_recovery_ms)),
        or_dash(r.median_restarts.map(|v| v.to_string())),
        r.gave_up,
        b.mark(r.median_downtime_ms, b.downtime, downtime(r)),
        or_dash(r.median_checkpoint_ms.map(|v| format!("{v} ms"))),
        seconds(r.median_catch_up_ms),
        or_dash(r.median_hottest_task_manager_ms_per_s.map(|v| format!("{v} ms/s busy"))),
        or_dash(r.tasks_lost_per_crash().map(|v| format!("{v:.1}"))),
        or_dash(r.median_records_rolled_back.map(|v| v.to_string())),
        or_dash(r.median_checkpoint_messages.map(|v| v.to_string())),
        or_dash(r.median_checkpoint_bytes.map(bytes)),
        or_dash(r.median_forced_snapshots.map(|v| v.to_string())),
        name = escape(&r.scenario),
    );
}

/// The median downtime of a comparison row; `≥` when some of its runs gave
/// up, whose downtime ends only with the run.
fn downtime(r: &ComparisonRow) -> String {
    let text = seconds(r.median_downtime_ms);
    if r.gave_up > 0 && r.median_downtime_ms.is_some() {
        format!("&ge; {text}")
    } else {
        text
    }
}

/// An SVG document as a `data:` URL (base64, so no character of it needs
/// escaping in an attribute).
pub fn data_url(svg: &str) -> String {
    format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_urls() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(url("a b&c.svg"), "a%20b%26c.svg");
    }

    #[test]
    fn record_text_is_escaped_in_the_page() {
        let rows = [ScenarioRow {
            scenario: "<script>".into(),
            runs: 1,
            passes: 0,
            violations: 1,
            liveness: 0,
            crashes: 0,
            median_restarts: Some(0),
            median_recovery_ms: None,
        }];
        let failed = [FailedRun {
            scenario: "<script>".into(),
            seed: 4,
            verdict: crate::Verdict::Violation,
            message: Some("lost 1 & <b>".into()),
            repro: "cargo run --release -- repro <script> --seed 4 --trace".into(),
        }];
        let html = render_html(&Page {
            title: "t",
            records: 1,
            rows: &rows,
            failed: &failed,
            ..Default::default()
        });
        // The only script is the page's own image check.
        assert_eq!(html.matches("<script>").count(), 1);
        assert!(html.contains(IMAGE_CHECK_SCRIPT));
        assert!(html.contains("<td class=\"name\">&lt;script&gt;</td>"));
        assert!(html.contains("lost 1 &amp; &lt;b&gt;"));
        assert!(html.contains("repro &lt;script&gt; --seed 4 --trace"));
    }

    #[test]
    fn the_image_check_runs_after_load_and_reports_into_the_body() {
        let html = render_html(&Page {
            title: "t",
            ..Default::default()
        });
        let script = html.find("<script>").expect("the image check is on the page");
        assert!(script < html.find("</body>").expect("body closes"), "inside <body>");
        for needle in [
            "addEventListener(\"load\"",
            "complete && imgs[i].naturalWidth > 0",
            "setAttribute(\"data-images-loaded\", ok + \"/\" + imgs.length)",
            "setAttribute(\"data-loaded\"",
        ] {
            assert!(IMAGE_CHECK_SCRIPT.contains(needle), "{needle}");
        }
        // Nothing in the script closes the element early.
        assert_eq!(IMAGE_CHECK_SCRIPT.matches("</script>").count(), 1);
    }

    #[test]
    fn plots_are_embedded_as_svg_data_urls_and_link_their_files() {
        use base64::Engine as _;

        let plot = |name: &str| crate::plots::PlotDescription {
            name: name.into(),
            title: format!("Plot {name}"),
            svg: format!("{name}.svg").into(),
            png: format!("{name}.png").into(),
            size: (640, 480),
            x_label: String::new(),
            y_label: String::new(),
            legend: Vec::new(),
            series: Vec::new(),
            intervals: Vec::new(),
            markers: Vec::new(),
            bars: Vec::new(),
        };
        let sections = [Section {
            heading: "h".into(),
            notes: vec!["C < 2·M & more".into()],
            links: vec![("timeline <1>".into(), "timeline x.html".into())],
            plots: vec![plot("a"), plot("b c")],
        }];
        let svg_a = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"480\"></svg>";
        let svg = BTreeMap::from([("a".to_string(), svg_a.to_string())]);
        let html = render_html(&Page {
            sections: &sections,
            svg: &svg,
            ..Default::default()
        });
        let src = attribute_after(&html, "<figure id=\"a\">", "src");
        let payload = src.strip_prefix("data:image/svg+xml;base64,").expect("a data URL");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(payload)
            .expect("base64");
        assert_eq!(String::from_utf8(decoded).expect("utf-8"), svg_a);
        assert!(html.contains("<a href=\"a.svg\">SVG</a> · <a href=\"a.png\">PNG</a>"));
        assert!(
            html.contains("<h2>h</h2>\n<p>C &lt; 2·M &amp; more</p>"),
            "notes are escaped"
        );
        assert!(
            html.contains("<li><a href=\"timeline%20x.html\">timeline &lt;1&gt;</a></li>"),
            "links are escaped"
        );
        // Without its text, a plot is shown from the file beside the page.
        assert_eq!(attribute_after(&html, "<figure id=\"b c\">", "src"), "b%20c.svg");
    }

    #[test]
    fn comparison_tables_bold_the_best_and_never_a_give_up_for_downtime() {
        let row = |name: &str, recovery: u64, downtime: u64, gave_up: usize| ComparisonRow {
            scenario: name.into(),
            runs: 2,
            passes: 2,
            median_recovery_ms: Some(recovery),
            p90_recovery_ms: Some(recovery + 500),
            episodes: 2,
            recovered: 2,
            median_restarts: Some(1),
            gave_up,
            median_downtime_ms: Some(downtime),
            median_checkpoint_ms: Some(80),
            median_catch_up_ms: Some(1_500),
            median_hottest_task_manager_ms_per_s: Some(700),
            crashes: 4,
            tasks_lost: 10,
            median_records_rolled_back: Some(1_234),
            median_checkpoint_messages: Some(321),
            median_checkpoint_bytes: Some(2_500_000),
            median_forced_snapshots: Some(7),
        };
        let groups = [ComparisonGroup {
            rows: vec![row("patient", 4_000, 9_000, 0), row("quitter", 1_000, 2_000, 2)],
            seeds: vec![1, 2],
            example_plan: "2000ms kill tm-0".into(),
        }];
        let html = render_html(&Page {
            comparisons: &groups,
            ..Default::default()
        });
        let line = |name: &str| {
            html.lines()
                .find(|l| l.starts_with(&format!("<tr data-compared=\"{name}\">")))
                .unwrap_or_else(|| panic!("{name} row in {html}"))
                .to_string()
        };
        assert!(
            line("patient").ends_with(
                "<td>1.50 s</td><td>700 ms/s busy</td><td>2.5</td><td>1234</td><td>321</td><td>2.5 MB</td>\
                 <td>7</td></tr>"
            ),
            "catch-up, hottest TaskManager, tasks lost per crash, records rolled back, checkpoint messages, \
             bytes, forced snapshots: {}",
            line("patient")
        );
        // The quitter recovers fastest, but its downtime is a lower bound.
        assert!(
            line("quitter").contains("<td><strong>1.00 s</strong></td>"),
            "{}",
            line("quitter")
        );
        assert!(line("quitter").contains("<td>&ge; 2.00 s</td>"), "{}", line("quitter"));
        assert!(
            line("patient").contains("<td><strong>9.00 s</strong></td>"),
            "{}",
            line("patient")
        );
        assert!(line("patient").contains("<td>4.00 s</td>"), "{}", line("patient"));
        assert!(html.contains("2 scenarios &times; 2 seeds; seed 1: <code>2000ms kill tm-0</code>"));
    }

    /// The value of the first `attr` after `marker` in `html`.
    fn attribute_after<'a>(html: &'a str, marker: &str, attr: &str) -> &'a str {
        let rest = &html[html.find(marker).expect("marker")..];
        let rest = &rest[rest.find(&format!("{attr}=\"")).expect("attribute") + attr.len() + 2..];
        &rest[..rest.find('"').expect("closing quote")]
    }
}
