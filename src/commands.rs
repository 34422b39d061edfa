//! The subcommands.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use axum::Json;
use puhui_ingest::generate::{generate as generate_files, GenerateOptions, OutputFormat};
use puhui_ingest::{IdentityHasher, IngestReport, Ingestor, DEMO_SECRET};
use puhui_queries::{encode, QueryError};
use puhui_transforms::{compute_index, IndexSummary, Methodology};
use puhui_warehouse::Warehouse;

use crate::config::Settings;
use crate::error::{CliError, Result};

/// The demo's default scale: about 18,000 households on the real 2,517 villages.
pub const DEMO_SCALE: f64 = 0.01;
/// The demo's fixed seed.
pub const DEMO_SEED: u64 = 20_211_231;

#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Share of the real size of the eight counties (1.0 ≈ 1.8 million households).
    #[arg(long, default_value_t = DEMO_SCALE)]
    pub scale: f64,
    #[arg(long, default_value_t = DEMO_SEED)]
    pub seed: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Format of the event streams (reference tables are always CSV).
    #[arg(long, value_enum, default_value_t = FormatArg::Ndjson)]
    pub format: FormatArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Ndjson,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// Stream or reference table: loan_events, deposit_events, station_events, regions,
    /// region_stats, institutions, products, service_areas, outlets.
    pub stream: String,
    /// NDJSON (.ndjson, .jsonl, .json) or CSV (.csv) files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct SqlArgs {
    /// One read-only SELECT.
    pub query: String,
    #[arg(long, value_enum, default_value_t = SqlFormat::Table)]
    pub format: SqlFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SqlFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = DEMO_SCALE)]
    pub scale: f64,
    #[arg(long, default_value_t = DEMO_SEED)]
    pub seed: u64,
    /// Where the generated input files go.
    #[arg(long, default_value = "./puhui-demo-input")]
    pub input_dir: PathBuf,
    /// Stop after printing the scorecard instead of serving.
    #[arg(long)]
    pub once: bool,
}

fn open_warehouse(settings: &Settings) -> Result<Warehouse> {
    Ok(Warehouse::open_local(&settings.data_dir)?)
}

fn hasher(settings: &Settings) -> IdentityHasher {
    match &settings.secret {
        Some(secret) => IdentityHasher::new(secret.as_bytes()),
        None => {
            eprintln!("note: identities are hashed with the fixed DEMO key; set PUHUI_SECRET for real data");
            IdentityHasher::new(DEMO_SECRET.as_bytes())
        }
    }
}

fn methodology(settings: &Settings) -> Result<Methodology> {
    match &settings.methodology {
        Some(path) => Ok(Methodology::from_file(path)?),
        None => Ok(Methodology::embedded()),
    }
}

pub fn generate(args: GenerateArgs) -> Result<()> {
    let started = Instant::now();
    let options = GenerateOptions {
        scale: args.scale,
        seed: args.seed,
        out: args.out,
        format: match args.format {
            FormatArg::Ndjson => OutputFormat::Ndjson,
            FormatArg::Csv => OutputFormat::Csv,
        },
    };
    let summary = generate_files(&options)?;
    for f in &summary.files {
        println!("{:<16} {:>10} records {:>12} bytes  {}", f.table, f.records, f.bytes, f.path.display());
    }
    println!("generated in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn print_report(r: &IngestReport) {
    println!(
        "{:<16} {:>9} received {:>9} accepted {:>7} duplicates {:>6} rejected  ({})",
        r.stream, r.received, r.accepted, r.duplicates, r.rejected, r.source
    );
    for q in &r.first_rejections {
        println!(
            "    line {}: {} [{}] {}",
            q.line,
            q.reason,
            q.field.as_deref().unwrap_or("-"),
            q.message
        );
    }
    if r.rejected > r.first_rejections.len() as u64 {
        println!("    … all {} rejections are in the quarantine table (batch_id '{}')", r.rejected, r.batch_id);
    }
}

pub async fn ingest(settings: &Settings, args: IngestArgs) -> Result<()> {
    let ingestor = Ingestor::new(open_warehouse(settings)?, hasher(settings));
    for file in &args.files {
        let report = ingestor.ingest_file(&args.stream, file).await?;
        print_report(&report);
    }
    Ok(())
}

pub async fn index(settings: &Settings) -> Result<IndexSummary> {
    let started = Instant::now();
    let summary = compute_index(&open_warehouse(settings)?, &methodology(settings)?).await?;
    println!(
        "index {} computed for {} periods ({} … {}): {} indicator values, {} region and {} institution scorecards, {} target rows in {:.1} s",
        summary.methodology_version,
        summary.periods,
        summary.first_period,
        summary.last_period,
        summary.indicator_values,
        summary.region_scorecards,
        summary.institution_scorecards,
        summary.target_attainment,
        started.elapsed().as_secs_f64()
    );
    Ok(summary)
}

fn app(warehouse: Warehouse, ingestor: Arc<Ingestor>) -> axum::Router {
    let error = |status: StatusCode, code: &'static str, message: &'static str| {
        move || async move { (status, Json(serde_json::json!({ "error": code, "message": message }))) }
    };
    puhui_queries::router(warehouse)
        .merge(puhui_ingest::http::router(ingestor))
        .merge(puhui_dashboards::router())
        .fallback(error(StatusCode::NOT_FOUND, "not_found", "no such route; see README.md for the API"))
        .method_not_allowed_fallback(error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not take that HTTP method",
        ))
}

pub async fn serve(settings: &Settings) -> Result<()> {
    let warehouse = open_warehouse(settings)?;
    let ingestor = Arc::new(Ingestor::new(warehouse.clone(), hasher(settings)));
    let listener = tokio::net::TcpListener::bind(settings.listen).await.map_err(CliError::Serve)?;
    let address = listener.local_addr().map_err(CliError::Serve)?;
    let banner = format!(
        "puhui serving the warehouse at {}\n\
         \x20 dashboard     http://{address}/\n\
         \x20 SQL           curl -X POST http://{address}/v1/sql -d 'SELECT * FROM region_scorecards LIMIT 5'\n\
         \x20 scorecards    http://{address}/v1/scorecards/region?level=county&period=2021\n\
         \x20               http://{address}/v1/scorecards/institution?period=2021\n\
         \x20 ingest        curl -X POST http://{address}/v1/ingest/loan_events -H 'Content-Type: application/x-ndjson' --data-binary @loan_events.ndjson\n\
         \x20 health        http://{address}/healthz\n\
         press Ctrl-C to stop\n",
        settings.data_dir.display()
    );
    // A closed stdout (the launcher stopped reading) must not stop the server.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), banner.as_bytes());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    axum::serve(listener, app(warehouse, ingestor))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(CliError::Serve)
}

pub async fn sql(settings: &Settings, args: SqlArgs) -> Result<()> {
    let warehouse = open_warehouse(settings)?;
    let frame = puhui_queries::read_only_query(&warehouse, &args.query).await?;
    let schema = frame.schema().as_arrow().clone();
    let batches = frame.collect().await.map_err(QueryError::Execution)?;
    let encoded = |format: encode::Format| encode::encode_all(format.encoder(false).as_mut(), &schema, &batches);
    let mut bytes = match args.format {
        SqlFormat::Table => encode::table(&batches).map(String::into_bytes),
        SqlFormat::Csv => encoded(encode::Format::Csv),
        SqlFormat::Json => encoded(encode::Format::Json),
    }
    .map_err(QueryError::Encode)?;
    bytes.push(b'\n');
    match std::io::Write::write_all(&mut std::io::stdout(), &bytes) {
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.map_err(CliError::Output),
    }
}

/// The county scorecard of the latest year, with plan targets met (✓) or missed (✗).
const COUNTY_SCORECARD_SQL: &str = "
SELECT s.unit_id AS code, s.name, round(s.composite, 1) AS composite, s.band, s.rank,
       round(s.availability, 1) AS availability, round(s.usage, 1) AS usage, round(s.quality, 1) AS quality,
       string_agg(t.indicator_id || CASE WHEN t.met THEN ' ✓' WHEN NOT t.met THEN ' ✗' ELSE ' –' END, '  '
                  ORDER BY t.indicator_id) AS plan_targets
FROM region_scorecards s
LEFT JOIN target_attainment t
  ON t.unit_type = s.unit_type AND t.unit_id = s.unit_id AND t.period_type = s.period_type AND t.period = s.period
WHERE s.unit_type = 'county' AND s.period_type = 'year'
  AND s.period = (SELECT max(period) FROM region_scorecards WHERE period_type = 'year')
GROUP BY s.unit_id, s.name, s.composite, s.band, s.rank, s.availability, s.usage, s.quality
ORDER BY s.rank NULLS LAST, s.unit_id";

pub async fn demo(settings: &Settings, args: DemoArgs) -> Result<()> {
    let started = Instant::now();
    let step = |n: u32, what: &str| println!("[{n}/4] {what} ({:.1} s)", started.elapsed().as_secs_f64());
    step(1, &format!("generating scale {} seed {} into {}", args.scale, args.seed, args.input_dir.display()));
    let summary = generate_files(&GenerateOptions {
        scale: args.scale,
        seed: args.seed,
        out: args.input_dir.clone(),
        format: OutputFormat::Ndjson,
    })?;
    step(2, &format!("ingesting into {}", settings.data_dir.display()));
    let warehouse = open_warehouse(settings)?;
    let ingestor = Arc::new(Ingestor::new(warehouse.clone(), hasher(settings)));
    for file in &summary.files {
        let report = ingestor.ingest_file(file.table, &file.path).await?;
        print_report(&report);
    }
    step(3, "computing the index");
    index(settings).await?;
    step(4, "county scorecard, latest year (plan targets: ✓ met, ✗ missed, – no data)");
    let batches = warehouse.query(COUNTY_SCORECARD_SQL).await?;
    println!("{}", encode::table(&batches).map_err(QueryError::Encode)?);
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    if args.once {
        println!(
            "to browse it: puhui serve --data-dir {}  →  http://{}/",
            settings.data_dir.display(),
            settings.listen
        );
        return Ok(());
    }
    serve(settings).await
}
