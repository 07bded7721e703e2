//! The `halab` command line as a library, so a crate that registers its own
//! strategies (`halab_engine::restart::registry`) can run every `halab`
//! command with them: `std::process::exit(halab::cli::main_with(std::env::args_os()))`
//! after registering (`examples/restart_budget/`).

pub mod cli;
