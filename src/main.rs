//! # puhui
//!
//! The one binary of puhui: the CLI, its configuration, and the wiring of the parts
//! (`puhui-warehouse`, `puhui-ingest`, `puhui-transforms`, `puhui-queries`, `puhui-dashboards`)
//! into one process. Subcommands: `demo`, `generate`, `ingest`, `index`, `serve`, `sql`.

mod commands;
mod config;
mod error;

use clap::{Parser, Subcommand};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(name = "puhui", version, about = "普惠 — inclusive-finance evaluation warehouse for the Zhengzhou pilots")]
struct Cli {
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The main job in one command: generate, ingest, index, then serve.
    Demo(commands::DemoArgs),
    /// Generate realistic activity on the real regions (NDJSON/CSV files per stream).
    Generate(commands::GenerateArgs),
    /// Ingest files into a stream or reference table.
    Ingest(commands::IngestArgs),
    /// Compute the evaluation index for every period present.
    Index,
    /// Serve the query API, the ingest endpoint and the dashboard.
    Serve,
    /// Run one read-only SQL query against the warehouse.
    Sql(commands::SqlArgs),
}

/// Stack of each runtime worker thread.
const WORKER_STACK_BYTES: usize = 64 * 1024 * 1024;

fn main() {
    let cli = Cli::parse();
    let level = std::env::var("PUHUI_LOG").ok().and_then(|l| l.parse().ok()).unwrap_or(tracing::Level::WARN);
    tracing_subscriber::fmt().with_max_level(level).with_writer(std::io::stderr).init();
    // Deeply nested SQL expressions recurse in the planner: give workers room (virtual memory only).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        let settings = cli.overrides.settings()?;
        match cli.command {
            Command::Demo(args) => commands::demo(&settings, args).await,
            Command::Generate(args) => commands::generate(args),
            Command::Ingest(args) => commands::ingest(&settings, args).await,
            Command::Index => commands::index(&settings).await.map(|_| ()),
            Command::Serve => commands::serve(&settings).await,
            Command::Sql(args) => commands::sql(&settings, args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.kind().exit_code());
    }
}
