//! The ingest pipeline: decode → validate → hash identities → deduplicate → commit, with every
//! rejected record written to the quarantine. Files, HTTP pushes and the demo all come through
//! [`Ingestor::ingest_bytes`].

use puhui_warehouse::store::{conform, strings};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::Array;
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use chrono::Utc;
use puhui_warehouse::contract::{
    table_spec, FieldKind, RegionLevel, TableKind, TableSpec, QUARANTINE, TABLES,
};
use puhui_warehouse::Warehouse;
use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::Mutex;
use tracing::info_span;

use crate::batch::{quarantine_batch, table_batch, Provenance, QuarantineRow};
use crate::decode::{decode, Format};
use crate::error::{IngestError, Result};
use crate::identity::{mask, mask_runs, IdentityHasher};
use crate::validate::{References, ValidRecord, Validator};

/// Records per Delta commit.
const COMMIT_ROWS: usize = 100_000;
/// Rejections listed in a report (all of them are in the quarantine).
const REPORT_REJECTIONS: usize = 10;

/// What happened to one ingested input.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IngestReport {
    pub stream: String,
    pub source: String,
    pub batch_id: String,
    pub received: u64,
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// Fields the contract does not know, on accepted records (ignored).
    pub unknown_fields_ignored: u64,
    /// The first rejections (all are in the `quarantine` table under this `batch_id`).
    pub first_rejections: Vec<RejectionSummary>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectionSummary {
    pub line: u64,
    pub reason: String,
    pub field: Option<String>,
    pub message: String,
}

/// `event_id` → content hash of what a stream table holds, at a table version.
struct SeenIndex {
    version: i64,
    ids: HashMap<String, String>,
}

/// What the index says of a valid record.
enum Seen {
    New,
    /// The same `event_id` with the same content.
    Duplicate,
    /// The same `event_id` with other content.
    Conflict,
}

impl SeenIndex {
    fn check(&self, id: &str, record: &ValidRecord) -> Seen {
        match self.ids.get(id) {
            None => Seen::New,
            Some(hash) if *hash == record.record_hash => Seen::Duplicate,
            Some(_) => Seen::Conflict,
        }
    }
}

#[derive(Default)]
struct State {
    refs: Option<(BTreeMap<&'static str, i64>, References)>,
    seen: HashMap<&'static str, SeenIndex>,
}

/// Ingests inputs into the warehouse. One per process; inputs are ingested one at a time.
pub struct Ingestor {
    warehouse: Warehouse,
    hasher: IdentityHasher,
    state: Mutex<State>,
    batches: AtomicU64,
}

impl Ingestor {
    pub fn new(warehouse: Warehouse, hasher: IdentityHasher) -> Self {
        Ingestor { warehouse, hasher, state: Mutex::new(State::default()), batches: AtomicU64::new(0) }
    }

    /// Ingests a file; the format comes from its extension, else from its content.
    pub async fn ingest_file(&self, stream: &str, path: &Path) -> Result<IngestReport> {
        spec_of(stream)?;
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| IngestError::Read { path: path.display().to_string(), source })?;
        let name = path.display().to_string();
        let format = Format::from_name(&name).unwrap_or_else(|| Format::sniff(&String::from_utf8_lossy(&bytes)));
        self.ingest_bytes(stream, &name, &bytes, format).await
    }

    /// Ingests one input of a stream or reference table.
    pub async fn ingest_bytes(&self, stream: &str, source: &str, bytes: &[u8], format: Format) -> Result<IngestReport> {
        let spec = spec_of(stream)?;
        let span = info_span!("ingest", stream, source);
        let _entered = span.enter();
        let records = decode(bytes, format)?;
        let provenance = Provenance {
            batch_id: self.next_batch_id(),
            received_at: Utc::now(),
            source: source.to_string(),
        };
        let mut report = IngestReport {
            stream: stream.to_string(),
            source: source.to_string(),
            batch_id: provenance.batch_id.clone(),
            received: records.len() as u64,
            accepted: 0,
            duplicates: 0,
            rejected: 0,
            unknown_fields_ignored: 0,
            first_rejections: Vec::new(),
        };

        let mut state = self.state.lock().await;
        let refs = self.references(&mut state).await?;
        let validator = Validator::new(spec, &refs, &self.hasher);
        if spec.kind == TableKind::Stream {
            self.refresh_seen(&mut state, spec).await?;
        }
        let mut accepted: Vec<ValidRecord> = Vec::new();
        let mut accepted_lines: Vec<u64> = Vec::new();
        let mut quarantined: Vec<QuarantineRow> = Vec::new();
        let mut seen = state.seen.get_mut(spec.name);
        for record in records {
            let fields = match record.fields {
                Ok(fields) => fields,
                Err(problem) => {
                    quarantined.push(QuarantineRow {
                        line: record.line,
                        event_id: None,
                        reason: problem.reason.to_string(),
                        field: None,
                        message: problem.message,
                        raw: mask_runs(&record.raw),
                    });
                    continue;
                }
            };
            let event_id = fields.get("event_id").and_then(Value::as_str).map(str::to_string);
            let reject = |reason: &str, field: Option<String>, message: String| QuarantineRow {
                line: record.line,
                event_id: event_id.clone(),
                reason: reason.to_string(),
                field,
                message: mask_runs(&message),
                raw: masked_record(spec, &fields),
            };
            match validator.validate(&fields, record.from_csv) {
                Err(r) => quarantined.push(reject(r.reason, r.field, r.message)),
                Ok(valid) => {
                    if let Some(seen) = seen.as_deref_mut() {
                        let id = event_id_of(&valid);
                        match seen.check(&id, &valid) {
                            Seen::Duplicate => {
                                report.duplicates += 1;
                                continue;
                            }
                            Seen::Conflict => {
                                quarantined.push(reject(
                                    "conflicting_duplicate",
                                    Some("event_id".into()),
                                    format!("event_id `{id}` was already accepted with different content; the first stays"),
                                ));
                                continue;
                            }
                            Seen::New => {
                                seen.ids.insert(id, valid.record_hash.clone());
                            }
                        }
                    }
                    report.unknown_fields_ignored += valid.unknown_fields as u64;
                    accepted.push(valid);
                    accepted_lines.push(record.line);
                }
            }
        }
        if spec.kind == TableKind::Stream {
            let loaded_at = state.seen.get(spec.name).map_or(-1, |s| s.version);
            let now = self.warehouse.version(spec.name).await?.unwrap_or(-1);
            if now != loaded_at {
                // Another process committed while this input was validated: check against it.
                let mut theirs = self.load_seen(spec, now).await?;
                let mut kept = Vec::with_capacity(accepted.len());
                for (valid, line) in accepted.into_iter().zip(accepted_lines) {
                    let id = event_id_of(&valid);
                    match theirs.check(&id, &valid) {
                        Seen::New => kept.push(valid),
                        Seen::Duplicate => report.duplicates += 1,
                        Seen::Conflict => quarantined.push(QuarantineRow {
                            line,
                            event_id: Some(id.clone()),
                            reason: "conflicting_duplicate".into(),
                            field: Some("event_id".into()),
                            message: format!("event_id `{id}` was accepted with different content by a concurrent writer; the first stays"),
                            raw: String::from("{}"),
                        }),
                    }
                }
                accepted = kept;
                theirs.ids.extend(accepted.iter().map(|v| (event_id_of(v), v.record_hash.clone())));
                state.seen.insert(spec.name, theirs);
            }
        }
        report.accepted = accepted.len() as u64;
        report.rejected = quarantined.len() as u64;
        report.first_rejections = quarantined
            .iter()
            .take(REPORT_REJECTIONS)
            .map(|q| RejectionSummary {
                line: q.line,
                reason: q.reason.clone(),
                field: q.field.clone(),
                message: q.message.clone(),
            })
            .collect();

        let committed = self.commit(spec, &accepted, &quarantined, &provenance).await;
        if let Err(e) = committed {
            // What this input added to the seen index was not committed: rebuild it next time.
            state.seen.remove(spec.name);
            return Err(e);
        }
        if let Some(index) = state.seen.get_mut(spec.name) {
            index.version = self.warehouse.version(spec.name).await?.unwrap_or(-1);
        }
        Ok(report)
    }

    async fn commit(
        &self,
        spec: &'static TableSpec,
        accepted: &[ValidRecord],
        quarantined: &[QuarantineRow],
        provenance: &Provenance,
    ) -> Result<()> {
        let schema = spec.schema();
        let partitions = spec.partition_columns();
        match spec.kind {
            TableKind::Stream => {
                for chunk in accepted.chunks(COMMIT_ROWS) {
                    let batch = table_batch(spec, chunk, provenance);
                    self.warehouse.append(spec.name, &schema, partitions, vec![batch]).await?;
                }
                self.warehouse.ensure_table(spec.name, &schema, partitions).await?;
            }
            TableKind::Reference => {
                let batch = table_batch(spec, accepted, provenance);
                self.upsert(spec, batch).await?;
            }
        }
        let quarantine = quarantine_batch(spec.name, quarantined, provenance);
        self.warehouse
            .append(QUARANTINE, &puhui_warehouse::contract::quarantine_schema(), &[], vec![quarantine])
            .await?;
        Ok(())
    }

    /// Replaces the rows of a reference table whose key is in `incoming` (the last of equal keys
    /// wins) and keeps the others.
    async fn upsert(&self, spec: &'static TableSpec, incoming: RecordBatch) -> Result<()> {
        if incoming.num_rows() == 0 {
            return Ok(());
        }
        let incoming_keys = key_strings(spec, &incoming)?;
        let last_of_key: HashMap<&str, usize> =
            incoming_keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
        let keep_incoming: arrow::array::BooleanArray =
            (0..incoming.num_rows()).map(|i| Some(last_of_key[incoming_keys[i].as_str()] == i)).collect();
        let mut batches = vec![filter_record_batch(&incoming, &keep_incoming).map_err(puhui_warehouse::WarehouseError::from)?];
        if self.warehouse.version(spec.name).await?.is_some() {
            for existing in self.warehouse.query(&format!("SELECT * FROM {}", spec.name)).await? {
                let keys = key_strings(spec, &existing)?;
                let keep: arrow::array::BooleanArray =
                    keys.iter().map(|k| Some(!last_of_key.contains_key(k.as_str()))).collect();
                let kept = filter_record_batch(&existing, &keep).map_err(puhui_warehouse::WarehouseError::from)?;
                batches.push(conform(&kept, &spec.schema())?);
            }
        }
        self.warehouse.replace(spec.name, &spec.schema(), &[], batches).await?;
        Ok(())
    }

    /// The reference data, reloaded when one of its tables changed version.
    async fn references(&self, state: &mut State) -> Result<References> {
        let mut versions = BTreeMap::new();
        for table in ["regions", "institutions", "products"] {
            versions.insert(table, self.warehouse.version(table).await?.unwrap_or(-1));
        }
        if let Some((v, refs)) = &state.refs {
            if *v == versions {
                return Ok(refs.clone());
            }
        }
        let mut refs = References::default();
        if versions["regions"] >= 0 {
            for batch in self.warehouse.query("SELECT code, level FROM regions").await? {
                let codes = strings(batch.column(0));
                let levels = strings(batch.column(1));
                for i in 0..batch.num_rows() {
                    let level = match levels.value(i) {
                        "county" => Some(RegionLevel::County),
                        "township" => Some(RegionLevel::Township),
                        "village" => Some(RegionLevel::Village),
                        _ => None,
                    };
                    refs.regions.insert(codes.value(i).to_string(), level);
                }
            }
        }
        for (table, column, set) in [
            ("institutions", "institution_id", &mut refs.institutions),
            ("products", "product_id", &mut refs.products),
        ] {
            if versions[table] >= 0 {
                for batch in self.warehouse.query(&format!("SELECT {column} FROM {table}")).await? {
                    let ids = strings(batch.column(0));
                    set.extend((0..batch.num_rows()).map(|i| ids.value(i).to_string()));
                }
            }
        }
        state.refs = Some((versions, refs.clone()));
        Ok(refs)
    }

    /// Loads the `event_id`s a stream table holds, unless the cached index is current.
    async fn refresh_seen(&self, state: &mut State, spec: &'static TableSpec) -> Result<()> {
        let version = self.warehouse.version(spec.name).await?.unwrap_or(-1);
        if state.seen.get(spec.name).is_some_and(|s| s.version == version) {
            return Ok(());
        }
        let index = self.load_seen(spec, version).await?;
        state.seen.insert(spec.name, index);
        Ok(())
    }

    /// The `event_id`s and content hashes a stream table holds at `version` (-1: no table yet).
    async fn load_seen(&self, spec: &'static TableSpec, version: i64) -> Result<SeenIndex> {
        let mut ids = HashMap::new();
        if version >= 0 {
            let sql = format!("SELECT event_id, record_hash FROM {}", spec.name);
            for batch in self.warehouse.query(&sql).await? {
                let id = strings(batch.column(0));
                let hash = strings(batch.column(1));
                for i in 0..batch.num_rows() {
                    ids.insert(id.value(i).to_string(), hash.value(i).to_string());
                }
            }
        }
        Ok(SeenIndex { version, ids })
    }

    fn next_batch_id(&self) -> String {
        let n = self.batches.fetch_add(1, Ordering::Relaxed);
        format!("{}-{}-{n}", Utc::now().format("%Y%m%dT%H%M%S%.6fZ"), std::process::id())
    }
}

/// The `event_id` of a valid stream record (the first field of every stream).
fn event_id_of(record: &ValidRecord) -> String {
    match &record.cells[0] {
        crate::validate::Cell::Str(id) => id.clone(),
        _ => unreachable!("event_id is the first field of every stream"),
    }
}

/// The contract of a stream or reference table, or an error listing the known ones.
fn spec_of(stream: &str) -> Result<&'static TableSpec> {
    table_spec(stream).ok_or_else(|| {
        let names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        IngestError::UnknownStream(stream.to_string(), names.join(", "))
    })
}

/// The key of each row of a reference-table batch, as text.
fn key_strings(spec: &TableSpec, batch: &RecordBatch) -> Result<Vec<String>> {
    let options = FormatOptions::default().with_null("");
    let columns: Vec<&dyn Array> = spec
        .key
        .iter()
        .map(|k| batch.column_by_name(k).expect("key columns exist").as_ref())
        .collect();
    let formatters: Vec<ArrayFormatter> = columns
        .iter()
        .map(|c| ArrayFormatter::try_new(*c, &options))
        .collect::<std::result::Result<_, _>>()
        .map_err(puhui_warehouse::WarehouseError::from)?;
    Ok((0..batch.num_rows())
        .map(|i| formatters.iter().map(|f| f.value(i).to_string()).collect::<Vec<_>>().join("\u{1f}"))
        .collect())
}

/// A rejected record as JSON for the quarantine: identities and account numbers masked, and then
/// any long alphanumeric run anywhere (an identity sent in the wrong field) masked too.
fn masked_record(spec: &TableSpec, fields: &Map<String, Value>) -> String {
    let masked: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| {
            let text = || match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let value = match spec.field(k).map(|f| f.kind) {
                Some(FieldKind::Identity | FieldKind::Account) => Value::String(mask(&text())),
                _ => v.clone(),
            };
            (k.clone(), value)
        })
        .collect();
    mask_runs(&Value::Object(masked).to_string())
}
