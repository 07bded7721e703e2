//! One run's timeline as a self-contained HTML page: a lane per node with
//! its task placements (by attempt) and the faults that struck it shaded,
//! the job's restarts and their phases, checkpoints from trigger to
//! completion, leader epochs, and each subtask's CPU load and state size
//! over time.
//!
//! The page carries the timeline as JSON and draws it with its own script
//! (no network, no library), as Jepsen's `timeline.html` stands beside its
//! history. Hovering an element names it; clicking it lists the trace
//! events behind it. Every drawn element carries `data-lane`, `data-kind`,
//! `data-start-ms` and `data-end-ms`, so a test can read the drawing back.
//!
//! What happened is the caller's to say ([`Timeline`]); this module only
//! draws it.

use serde::{Deserialize, Serialize};

use crate::html::escape;

/// Everything the page shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// The page's title (scenario and seed).
    pub title: String,
    /// Lines shown under the title (the repro command, the verdict).
    pub notes: Vec<String>,
    /// The run's end in simulated ms.
    pub end_ms: u64,
    pub lanes: Vec<Lane>,
    pub charts: Vec<Chart>,
}

/// One horizontal lane: a node, the job, the checkpoints, a JobManager's
/// leadership.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lane {
    pub name: String,
    /// `node`, `job`, `checkpoints` or `leadership`.
    pub group: String,
    pub spans: Vec<Span>,
    pub marks: Vec<Mark>,
}

/// Something that lasted: a task attempt, a fault, a restart phase, a
/// checkpoint, a leadership.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Span {
    pub start_ms: u64,
    pub end_ms: u64,
    pub label: String,
    /// How it is drawn: `task`, `fault`, `restart-failing`,
    /// `restart-backoff`, `restart-waiting`, `checkpoint-completed`,
    /// `checkpoint-aborted`, `checkpoint-open`, `leader`.
    pub kind: String,
    /// The trace events behind it, one per line.
    pub events: Vec<String>,
}

/// Something that happened at one moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    pub t_ms: u64,
    pub label: String,
    pub kind: String,
    pub events: Vec<String>,
}

/// A small chart of lines over simulated time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub title: String,
    pub unit: String,
    pub lines: Vec<ChartLine>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartLine {
    pub name: String,
    /// `(t_ms, value)` in time order.
    pub points: Vec<(u64, f64)>,
}

impl Timeline {
    /// The lane named `name`, if any.
    pub fn lane(&self, name: &str) -> Option<&Lane> {
        self.lanes.iter().find(|l| l.name == name)
    }
}

/// The page of `timeline`.
pub fn render_timeline(timeline: &Timeline) -> String {
    for l in &timeline.lanes {
        for s in &l.spans {
            assert!(
                s.start_ms <= s.end_ms,
                "invariant: span {s:?} of lane {} ends after it starts",
                l.name
            );
        }
    }
    let data = serde_json::to_string(timeline).expect("invariant: a timeline serialises");
    // Inside <script>, `</` would end the element: JSON allows `<\/`.
    let data = data.replace("</", "<\\/");
    let notes: String = timeline
        .notes
        .iter()
        .map(|n| format!("<p class=\"note\">{}</p>\n", escape(n)))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n{notes}<div id=\"legend\"></div>\n<div id=\"lanes\"></div>\n<div id=\"charts\"></div>\n<h2>Selected</h2>\n<pre id=\"details\">Click an element to list its trace events.</pre>\n<script type=\"application/json\" id=\"timeline-data\">{data}</script>\n<script>{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(&timeline.title),
    )
}

const STYLE: &str = r#"
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; } h2 { font-size: 15px; }
.note { margin: 2px 0; font-family: monospace; }
svg { display: block; margin: 8px 0; }
svg text { font: 11px system-ui, sans-serif; }
.lane-name { font-weight: 600; }
[data-kind] { cursor: pointer; }
#details { background: #f6f6f6; padding: 8px; max-height: 320px; overflow: auto; }
#legend span { display: inline-block; margin-right: 12px; }
#legend i { display: inline-block; width: 12px; height: 10px; margin-right: 4px; vertical-align: middle; }
"#;

const SCRIPT: &str = r#"
(function () {
  const data = JSON.parse(document.getElementById('timeline-data').textContent);
  const NS = 'http://www.w3.org/2000/svg';
  const colours = {
    'task': '#4e79a7', 'fault': 'rgba(225, 87, 89, 0.28)',
    'restart-failing': '#e15759', 'restart-backoff': '#f28e2b', 'restart-waiting': '#edc948',
    'checkpoint-completed': '#59a14f', 'checkpoint-aborted': '#b07aa1', 'checkpoint-open': '#bab0ac',
    'leader': '#76b7b2', 'mark': '#222'
  };
  const left = 170, width = 1100, row = 14, pad = 6;
  const end = Math.max(1, data.end_ms);
  const x = (t) => left + (Math.min(t, end) / end) * width;
  const details = document.getElementById('details');
  function el(name, attrs, parent) {
    const e = document.createElementNS(NS, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function describe(e, lane, kind, start, stop, label, events) {
    e.setAttribute('data-lane', lane);
    e.setAttribute('data-kind', kind);
    e.setAttribute('data-start-ms', start);
    e.setAttribute('data-end-ms', stop);
    e.setAttribute('data-label', label);
    const title = el('title', {}, e);
    title.textContent = label + ' (' + start + (stop === start ? '' : '..' + stop) + ' ms)';
    e.addEventListener('click', () => {
      details.textContent = lane + ': ' + label + ' (' + start + '..' + stop + ' ms)\n' + events.join('\n');
    });
  }
  // Spans that overlap go on separate rows of their lane.
  function rows(spans) {
    const ends = [];
    return spans.map((s) => {
      let r = ends.findIndex((e) => e <= s.start_ms);
      if (r < 0) { r = ends.length; ends.push(0); }
      ends[r] = Math.max(s.end_ms, s.start_ms + 1);
      return r;
    });
  }
  const legend = document.getElementById('legend');
  for (const k in colours) {
    const s = document.createElement('span');
    s.innerHTML = '<i style="background:' + colours[k] + '"></i>' + k;
    legend.appendChild(s);
  }
  const lanes = document.getElementById('lanes');
  const layout = data.lanes.map((l) => {
    const own = l.spans.filter((s) => s.kind !== 'fault');
    const r = rows(own);
    return { lane: l, own: own, rowOf: r, rows: Math.max(1, ...r.map((v) => v + 1)) };
  });
  const height = layout.reduce((h, l) => h + l.rows * row + 2 * pad, 30);
  const svg = el('svg', { width: left + width + 20, height: height, id: 'timeline' }, lanes);
  for (let t = 0; t <= end; t += Math.max(1000, Math.ceil(end / 20000) * 1000)) {
    el('line', { x1: x(t), x2: x(t), y1: 0, y2: height, stroke: '#eee' }, svg);
    const label = el('text', { x: x(t) + 2, y: 10, fill: '#888' }, svg);
    label.textContent = (t / 1000) + 's';
  }
  let y = 16;
  for (const l of layout) {
    const h = l.rows * row + 2 * pad;
    const g = el('g', { 'data-lane-name': l.lane.name, 'data-group': l.lane.group }, svg);
    el('rect', { x: 0, y: y, width: left + width, height: h, fill: l.lane.group === 'node' ? '#fafafa' : '#fff', stroke: '#ddd' }, g);
    const name = el('text', { x: 4, y: y + h / 2 + 4, class: 'lane-name' }, g);
    name.textContent = l.lane.name;
    for (const s of l.lane.spans.filter((s) => s.kind === 'fault')) {
      const r = el('rect', { x: x(s.start_ms), y: y, width: Math.max(2, x(s.end_ms) - x(s.start_ms)), height: h, fill: colours.fault }, g);
      describe(r, l.lane.name, 'fault', s.start_ms, s.end_ms, s.label, s.events);
    }
    l.own.forEach((s, i) => {
      const top = y + pad + l.rowOf[i] * row;
      const r = el('rect', { x: x(s.start_ms), y: top, width: Math.max(2, x(s.end_ms) - x(s.start_ms)), height: row - 3, fill: colours[s.kind] || '#999', rx: 2 }, g);
      describe(r, l.lane.name, s.kind, s.start_ms, s.end_ms, s.label, s.events);
    });
    for (const m of l.lane.marks) {
      const c = el('path', { d: 'M' + x(m.t_ms) + ' ' + (y + 2) + ' l4 6 l-8 0 z', fill: colours.mark }, g);
      describe(c, l.lane.name, m.kind, m.t_ms, m.t_ms, m.label, m.events);
    }
    y += h;
  }
  const charts = document.getElementById('charts');
  const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
  for (const c of data.charts) {
    const h2 = document.createElement('h2');
    h2.textContent = c.title + ' (' + c.unit + ')';
    charts.appendChild(h2);
    const ch = 160, svgc = el('svg', { width: left + width + 20, height: ch + 30, 'data-chart': c.title }, charts);
    const max = Math.max(1e-9, ...c.lines.flatMap((l) => l.points.map((p) => p[1])));
    const yv = (v) => 10 + ch - (v / max) * ch;
    el('line', { x1: left, x2: left + width, y1: yv(0), y2: yv(0), stroke: '#999' }, svgc);
    const top = el('text', { x: 4, y: 14 }, svgc);
    top.textContent = 'max ' + (Math.round(max * 100) / 100) + ' ' + c.unit;
    c.lines.forEach((line, i) => {
      const pts = line.points.map((p) => x(p[0]) + ',' + yv(p[1])).join(' ');
      const pl = el('polyline', { points: pts, fill: 'none', stroke: palette[i % palette.length], 'stroke-width': 1.5 }, svgc);
      const first = line.points.length ? line.points[0][0] : 0, last = line.points.length ? line.points[line.points.length - 1][0] : 0;
      describe(pl, c.title, 'series', first, last, line.name, line.points.map((p) => p[0] + ' ms: ' + p[1]));
      const lab = el('text', { x: left + width - 150 + 0, y: 14 + 12 * i, fill: palette[i % palette.length] }, svgc);
      if (i < 12) lab.textContent = line.name;
    });
  }
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_carries_its_timeline_as_json_and_escapes_text() {
        let t = Timeline {
            title: "a <b> run".into(),
            notes: vec!["repro: halab repro x --seed 1".into()],
            end_ms: 5000,
            lanes: vec![Lane {
                name: "tm-0".into(),
                group: "node".into(),
                spans: vec![Span {
                    start_ms: 10,
                    end_ms: 4000,
                    label: "v0[0]#1 </script>".into(),
                    kind: "task".into(),
                    events: vec![],
                }],
                marks: vec![],
            }],
            charts: vec![],
        };
        let page = render_timeline(&t);
        assert!(page.contains("<title>a &lt;b&gt; run</title>"));
        assert!(!page.contains("#1 </script>"), "a label cannot end the data element");
        let start = page.find("id=\"timeline-data\">").expect("data") + "id=\"timeline-data\">".len();
        let json = &page[start..page[start..].find("</script>").expect("end") + start];
        let back: Timeline = serde_json::from_str(json).expect("the embedded JSON");
        assert_eq!(back, t);
        assert_eq!(back.lane("tm-0").map(|l| l.spans.len()), Some(1));
    }
}
