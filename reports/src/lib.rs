//! halab-reports: reads run records (JSON Lines, see `docs/records.md`) and
//! turns them into a CSV file, plots (SVG and PNG) and one HTML page. It
//! never runs a simulation and depends on no other halab crate: it reads the
//! records' JSON form.

pub mod csv;
pub mod duration;
pub mod error;
pub mod faults;
pub mod record;
pub mod stats;

pub use error::{RecordLineError, ReportError};
pub use record::{parse_records, RunRecord, Verdict};
