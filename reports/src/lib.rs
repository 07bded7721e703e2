//! halab-reports: reads run records (JSON Lines, see `docs/records.md`) and
//! turns them into a CSV file, plots (SVG and PNG) and one HTML page. It
//! never runs a simulation and depends on no other halab crate: it reads the
//! records' JSON form.
//!
//! The entry point is [`render_report`]; the plot functions in [`plots`] can
//! also be called one by one.

pub mod comparison;
pub mod csv;
pub mod duration;
pub mod error;
pub mod faults;
pub mod html;
pub mod layout;
pub mod optimum;
pub mod plots;
pub mod record;
pub mod report;
pub mod stats;
pub mod summary;
pub mod timeline;

pub use comparison::{comparison_groups, ComparisonGroup, ComparisonRow};
pub use error::{RecordLineError, ReportError};
pub use layout::{IntervalLayout, StateLayout, SuiteLayout};
pub use plots::checkpoints::{plot_alignment, plot_checkpoints_over_time};
pub use plots::interval_sweep::{plot_interval_sweep, IntervalGroup, IntervalSweep};
pub use plots::latency::plot_latency;
pub use plots::migration::plot_migration;
pub use plots::policies::plot_restart_policies;
pub use plots::rebalancing::{plot_rebalancing, RebalanceStats};
pub use plots::recovery::{plot_recovery_breakdown, plot_recovery_cdf};
pub use plots::state_size::{plot_state_size, StateSizeLine};
pub use plots::throughput::plot_throughput;
pub use plots::PlotDescription;
pub use record::{parse_numbered_records, parse_records, RunRecord, Verdict};
pub use report::{render_report, RecordsFile, ReportInputs, ReportSummary};
