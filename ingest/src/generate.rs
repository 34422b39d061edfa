//! The deterministic data generator: reference tables and the loan, deposit and station streams
//! for the real villages of the seven areas of Zhengzhou and Lankao, 2020–2021.
//!
//! Every draw comes from a ChaCha8 generator seeded from the seed and a label (the village code and
//! the stream), so the same seed and scale give byte-identical files. Villages are generated one
//! after another and their events written as they are made, so memory stays small at any scale.

mod deposits;
mod loans;
mod output;
mod parties;
mod random;
mod stations;
#[cfg(test)]
mod tests;
mod world;

use std::path::PathBuf;
use std::str::FromStr;

use puhui_warehouse::contract::{DEPOSIT_EVENTS, LOAN_EVENTS, STATION_EVENTS};

use crate::{IngestError, Result};
use output::StreamWriter;
use parties::{IdFactory, Roster};
use world::World;

/// The largest scale accepted (1.0 generates the estimated real number of households).
const MAX_SCALE: f64 = 2.0;

/// How event streams are written; reference tables are always CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Ndjson,
    Csv,
}

impl OutputFormat {
    /// The file extension of event streams in this format.
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Ndjson => "ndjson",
            OutputFormat::Csv => "csv",
        }
    }
}

impl FromStr for OutputFormat {
    type Err = IngestError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "ndjson" => Ok(OutputFormat::Ndjson),
            "csv" => Ok(OutputFormat::Csv),
            _ => Err(IngestError::InvalidOption(format!(
                "unknown format `{s}`; expected ndjson or csv"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Share of the estimated real households to generate, in (0, 2].
    pub scale: f64,
    pub seed: u64,
    /// The directory written to (created if missing).
    pub out: PathBuf,
    pub format: OutputFormat,
}

/// One written file.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    pub table: &'static str,
    pub path: PathBuf,
    pub records: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct GenerateSummary {
    /// Reference tables first, in load order, then the event streams.
    pub files: Vec<GeneratedFile>,
}

/// Generates the reference tables and the event streams into `opts.out`.
pub fn generate(opts: &GenerateOptions) -> Result<GenerateSummary> {
    if !(opts.scale > 0.0 && opts.scale <= MAX_SCALE) {
        return Err(IngestError::InvalidOption(format!(
            "scale must be greater than 0 and at most {MAX_SCALE}, got {}",
            opts.scale
        )));
    }
    std::fs::create_dir_all(&opts.out).map_err(|source| IngestError::Write {
        path: opts.out.display().to_string(),
        source,
    })?;
    let world = World::build(opts.scale, opts.seed);
    let mut files = world.write_reference(&opts.out)?;
    let mut loans = StreamWriter::create(&opts.out, &LOAN_EVENTS, "L", opts.format)?;
    let mut deposits = StreamWriter::create(&opts.out, &DEPOSIT_EVENTS, "D", opts.format)?;
    let mut stations = StreamWriter::create(&opts.out, &STATION_EVENTS, "S", opts.format)?;
    let mut ids = IdFactory::new(opts.seed, world.counties.len());
    for village in &world.villages {
        let roster = Roster::draw(&world, village, &mut ids, opts.seed);
        loans::generate(&world, village, &roster, opts.seed, &mut loans)?;
        deposits::generate(&world, village, &roster, &mut ids, opts.seed, &mut deposits)?;
        stations::generate(&world, village, &roster, opts.seed, &mut stations)?;
    }
    files.extend([loans.finish()?, deposits.finish()?, stations.finish()?]);
    Ok(GenerateSummary { files })
}
