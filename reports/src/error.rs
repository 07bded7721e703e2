//! The errors of the reports crate: one enum for everything `render_report`
//! and the plot functions can run into, plus the error of one bad record line.

use std::path::PathBuf;

/// A line of a JSON Lines file that is not a run record.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {source}")]
pub struct RecordLineError {
    /// 1-based line number.
    pub line: usize,
    #[source]
    pub source: serde_json::Error,
}

/// Anything that can go wrong while writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Reading run records failed.
    #[error(transparent)]
    RecordLine(#[from] RecordLineError),
    /// A file or directory could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A record could not be turned back into JSON.
    #[error("cannot serialise the record of {scenario} seed {seed}: {source}")]
    Serialize {
        scenario: String,
        seed: u64,
        #[source]
        source: serde_json::Error,
    },
    /// A record read from JSON was changed in code: neither its text nor
    /// its fields would write it as it now is without losing something.
    #[error(
        "the record of {scenario} seed {seed} was changed after it was read: it cannot be written as read, \
         and writing its known fields alone would drop the others (RunRecord::forget_json writes them alone)"
    )]
    Changed { scenario: String, seed: u64 },
    /// plotters failed to draw or to write a figure.
    #[error("cannot draw {}: {message}", path.display())]
    Draw { path: PathBuf, message: String },
    /// The embedded font is not a font plotters can read.
    #[error("the embedded font cannot be registered with plotters")]
    Font,
    /// The caller's inputs cannot be plotted (e.g. a sweep with no groups).
    #[error("invalid report input: {0}")]
    Input(String),
}

impl ReportError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ReportError::Io {
            path: path.into(),
            source,
        }
    }
}
