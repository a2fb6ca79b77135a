//! The options every command that opens a database takes.

use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Configuration file (TOML).
    #[arg(long, env = "ORDERLY_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database URL: sqlite://PATH or a file path. Overrides the configuration.
    #[arg(long)]
    pub database: Option<String>,
}
