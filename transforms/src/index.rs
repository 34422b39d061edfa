//! The index job: runs the methodology's views and indicator SQL over the warehouse, rolls the
//! village and institution-county grains up the hierarchy as ratios of sums, scores, aggregates,
//! ranks, and writes the four derived tables of METHODOLOGY.md §8.

use puhui_warehouse::store::strings;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{Decimal128Type, SchemaRef};
use chrono::Utc;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use puhui_warehouse::contract::TABLES;
use puhui_warehouse::Warehouse;
use tracing::info;

use crate::aggregate::{band, competition_ranks, composite, Composite, ScoredIndicator, SubWeights};
use crate::error::{Result, TransformError};
use crate::methodology::{Denominator, Dimension, Indicator, Level, Methodology};
use crate::outputs::*;
use crate::periods::{period_months_batch, periods_batch, periods_covering, Period};
use crate::reference::ReferenceData;
use crate::scoring::{met, Direction};

/// Scale of the exact numerators and denominators (Decimal128(38, 6)).
const EXACT_SCALE: i32 = 6;
/// The stream tables whose months define the periods computed.
const STREAMS: &[&str] = &["loan_events", "deposit_events", "station_events"];

/// What an index run produced.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexSummary {
    pub methodology_version: String,
    pub periods: usize,
    pub first_period: String,
    pub last_period: String,
    pub indicator_values: usize,
    pub region_scorecards: usize,
    pub institution_scorecards: usize,
    pub target_attainment: usize,
}

/// Exact numerator and denominator sums of one unit (scale [`EXACT_SCALE`]).
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    numerator: i128,
    denominator: Option<i128>,
}

impl Sums {
    fn add(&mut self, numerator: i128, denominator: Option<i128>) {
        self.numerator += numerator;
        if let Some(d) = denominator {
            *self.denominator.get_or_insert(0) += d;
        }
    }
}

/// One indicator of one unit in one period.
#[derive(Debug, Clone, Copy)]
struct Measured {
    numerator: Option<i128>,
    denominator: Option<i128>,
    value: Option<f64>,
    score: Option<f64>,
    score_uncapped: Option<f64>,
}

fn measure(indicator: &Indicator, numerator: i128, denominator: Option<i128>) -> Measured {
    let value = denominator
        .filter(|d| *d != 0)
        .map(|d| numerator as f64 / d as f64 * indicator.scale);
    let score = value.map(|v| indicator.scoring.score(v));
    Measured {
        numerator: Some(numerator),
        denominator,
        value,
        score: score.map(|s| s.capped),
        score_uncapped: score.map(|s| s.uncapped),
    }
}

/// A scored unit: region (county, township, village) or institution (overall, per county).
#[derive(Debug, Clone)]
struct Unit {
    unit_type: &'static str,
    unit_id: String,
    name: Option<String>,
    county_code: Option<String>,
    /// Units ranked together share a group.
    rank_group: String,
}

/// Computes the index for every period present and replaces the derived tables.
pub async fn compute_index(warehouse: &Warehouse, methodology: &Methodology) -> Result<IndexSummary> {
    let versions = warehouse.table_versions().await?;
    let derived = [INDICATOR_VALUES, REGION_SCORECARDS, INSTITUTION_SCORECARDS, TARGET_ATTAINMENT];
    let sources: BTreeMap<&String, &i64> = versions.iter().filter(|(k, _)| !derived.contains(&k.as_str())).collect();
    let source_versions = serde_json::to_string(&sources).expect("versions serialise");
    let tables: BTreeSet<String> = versions.keys().cloned().collect();

    let ctx = warehouse.session().await?;
    // A table nothing was ingested into yet is empty, not an error.
    for spec in TABLES.iter().filter(|t| !tables.contains(t.name)) {
        register_table(&ctx, spec.name, spec.schema(), Vec::new())?;
    }
    let periods = present_periods(&ctx, &tables).await?;
    let reference = ReferenceData::load(warehouse, &tables).await?;
    register_helpers(&ctx, &periods, &reference)?;
    for view in &methodology.views {
        let (schema, batches) = run_with_schema(&ctx, &view.name, &view.sql).await?;
        register_table(&ctx, &view.name, schema, batches)?;
    }

    let mut out = Outputs::new(methodology, source_versions);
    let period_labels: Vec<String> = periods.iter().map(Period::to_string).collect();
    let period_of: HashMap<&str, &Period> = period_labels.iter().map(String::as_str).zip(&periods).collect();

    // Region dimension: village grains rolled up to townships and counties.
    let mut region_measures: HashMap<(Level, String, String), Vec<(usize, Measured)>> = HashMap::new();
    let region_indicators: Vec<&Indicator> = methodology.indicators_of(Dimension::Region).collect();
    for (k, indicator) in region_indicators.iter().enumerate() {
        let village_rows = region_grain(&ctx, indicator).await?;
        for &level in &indicator.levels {
            let mut sums: HashMap<(&str, &str), Sums> = HashMap::new();
            for ((period, village), s) in &village_rows {
                if reference.regions.contains_key(village.as_str()) {
                    sums.entry((period.as_str(), level.unit_of(village))).or_default().add(s.numerator, s.denominator);
                }
            }
            for (p, period) in period_labels.iter().zip(&periods) {
                let year = reference.stats_year(period.year);
                for unit in reference.units(level) {
                    let s = sums.get(&(p.as_str(), unit.code.as_str())).copied();
                    let measured = match indicator.denominator {
                        Denominator::Sql => match s {
                            Some(s) => measure(indicator, s.numerator, s.denominator),
                            None => continue_no_data(),
                        },
                        stat => {
                            let d = reference.stats(&unit.code, year).get(stat).map(|d| d as i128 * 10i128.pow(EXACT_SCALE as u32));
                            measure(indicator, s.map_or(0, |s| s.numerator), d)
                        }
                    };
                    region_measures.entry((level, unit.code.clone(), p.clone())).or_default().push((k, measured));
                }
            }
        }
        info!(indicator = %indicator.id, "computed");
    }
    for level in [Level::County, Level::Township, Level::Village] {
        let units: Vec<Unit> = reference
            .units(level)
            .map(|r| Unit {
                unit_type: level.as_str(),
                unit_id: r.code.clone(),
                name: Some(r.name.clone()),
                county_code: Some(r.code[..6].to_string()),
                rank_group: match level {
                    Level::County => String::new(),
                    Level::Township => r.code[..6].to_string(),
                    Level::Village => r.code[..9].to_string(),
                },
            })
            .collect();
        let applicable: Vec<(usize, &Indicator)> =
            region_indicators.iter().enumerate().filter(|(_, i)| i.levels.contains(&level)).map(|(k, i)| (k, *i)).collect();
        let lookup = |unit: &Unit, period: &str, k: usize| {
            region_measures
                .get(&(level, unit.unit_id.clone(), period.to_string()))
                .and_then(|v| v.iter().find(|(j, _)| *j == k).map(|(_, m)| *m))
        };
        out.score_units(&units, &applicable, &period_labels, &period_of, methodology.sub_weights.region, lookup, false);
    }

    // Institution dimension: institution × county grains, and institutions overall.
    let inst_indicators: Vec<&Indicator> = methodology.indicators_of(Dimension::Institution).collect();
    let mut inst_measures: HashMap<(String, String), Vec<(usize, Measured)>> = HashMap::new();
    let mut inst_units: BTreeMap<String, Unit> = BTreeMap::new();
    for (k, indicator) in inst_indicators.iter().enumerate() {
        let grain = institution_grain(&ctx, indicator).await?;
        let mut overall: HashMap<(String, String), Sums> = HashMap::new();
        for ((period, institution, county), s) in &grain {
            overall.entry((period.clone(), institution.clone())).or_default().add(s.numerator, s.denominator);
            let id = format!("{institution}:{county}");
            inst_units.entry(id.clone()).or_insert_with(|| Unit {
                unit_type: "institution_county",
                unit_id: id.clone(),
                name: reference.institution_names.get(institution).cloned(),
                county_code: Some(county.clone()),
                rank_group: county.clone(),
            });
            inst_measures.entry((id, period.clone())).or_default().push((k, measure(indicator, s.numerator, s.denominator)));
        }
        for ((period, institution), s) in overall {
            inst_units.entry(institution.clone()).or_insert_with(|| Unit {
                unit_type: "institution",
                unit_id: institution.clone(),
                name: reference.institution_names.get(&institution).cloned(),
                county_code: None,
                rank_group: String::new(),
            });
            inst_measures.entry((institution, period)).or_default().push((k, measure(indicator, s.numerator, s.denominator)));
        }
        info!(indicator = %indicator.id, "computed");
    }
    let applicable: Vec<(usize, &Indicator)> = inst_indicators.iter().enumerate().map(|(k, i)| (k, *i)).collect();
    let units: Vec<Unit> = inst_units.into_values().collect();
    let lookup = |unit: &Unit, period: &str, k: usize| {
        inst_measures
            .get(&(unit.unit_id.clone(), period.to_string()))
            .and_then(|v| v.iter().find(|(j, _)| *j == k).map(|(_, m)| *m))
    };
    out.score_units(&units, &applicable, &period_labels, &period_of, methodology.sub_weights.institution, lookup, true);

    let summary = IndexSummary {
        methodology_version: methodology.version.clone(),
        periods: periods.len(),
        first_period: period_labels.first().cloned().unwrap_or_default(),
        last_period: period_labels.last().cloned().unwrap_or_default(),
        indicator_values: out.values.len(),
        region_scorecards: out.region_cards.len(),
        institution_scorecards: out.institution_cards.len(),
        target_attainment: out.targets.len(),
    };
    out.write(warehouse).await?;
    Ok(summary)
}

/// A unit with no SQL row for an indicator whose SQL gives the denominator has no data.
fn continue_no_data() -> Measured {
    Measured { numerator: None, denominator: None, value: None, score: None, score_uncapped: None }
}

async fn present_periods(ctx: &SessionContext, tables: &BTreeSet<String>) -> Result<Vec<Period>> {
    let mut months = Vec::new();
    for stream in STREAMS.iter().filter(|s| tables.contains(**s)) {
        for b in run(ctx, stream, &format!("SELECT DISTINCT event_month FROM {stream}")).await? {
            let col = strings(b.column(0));
            months.extend((0..b.num_rows()).map(|i| col.value(i).to_string()));
        }
    }
    let periods = periods_covering(&months);
    if periods.is_empty() {
        return Err(TransformError::NoPeriods);
    }
    Ok(periods)
}

fn register_helpers(ctx: &SessionContext, periods: &[Period], reference: &ReferenceData) -> Result<()> {
    let (village_stats, admin_villages) = reference.sql_tables();
    for (name, batch) in [
        ("periods", periods_batch(periods, |y| reference.stats_year(y))),
        ("period_months", period_months_batch(periods)),
        ("village_stats", village_stats),
        ("admin_villages", admin_villages),
    ] {
        register_table(ctx, name, batch.schema(), vec![batch])?;
    }
    Ok(())
}

fn register_table(ctx: &SessionContext, name: &str, schema: SchemaRef, batches: Vec<RecordBatch>) -> Result<()> {
    let table = MemTable::try_new(schema, vec![batches]).map_err(puhui_warehouse::WarehouseError::from)?;
    ctx.deregister_table(name).map_err(puhui_warehouse::WarehouseError::from)?;
    ctx.register_table(name, Arc::new(table)).map_err(puhui_warehouse::WarehouseError::from)?;
    Ok(())
}

async fn run(ctx: &SessionContext, name: &str, sql: &str) -> Result<Vec<RecordBatch>> {
    Ok(run_with_schema(ctx, name, sql).await?.1)
}

/// Runs a query; the schema is returned too, since an empty result has no batch to carry it.
async fn run_with_schema(ctx: &SessionContext, name: &str, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
    let fail = |e: datafusion::error::DataFusionError| TransformError::Indicator {
        indicator: name.to_string(),
        message: e.to_string(),
    };
    let frame = ctx.sql(sql).await.map_err(fail)?;
    let planned = Arc::new(frame.schema().as_arrow().clone());
    let batches = frame.collect().await.map_err(fail)?;
    Ok((batches.first().map_or(planned, |b| b.schema()), batches))
}

fn exact_sql(expr: &str) -> String {
    format!("CAST({expr} AS DECIMAL(38, {EXACT_SCALE}))")
}

/// (period, village) → sums of a region indicator's SQL.
async fn region_grain(ctx: &SessionContext, indicator: &Indicator) -> Result<HashMap<(String, String), Sums>> {
    let denominator = if indicator.denominator == Denominator::Sql { "denominator" } else { "NULL" };
    let sql = format!(
        "SELECT period, region_code, {}, {} FROM ({}) q",
        exact_sql("numerator"),
        exact_sql(denominator),
        indicator.sql
    );
    let mut grain: HashMap<(String, String), Sums> = HashMap::new();
    for b in run(ctx, &indicator.id, &sql).await? {
        let (period, code) = (strings(b.column(0)), strings(b.column(1)));
        let (num, den) = (decimals(&b, 2), decimals(&b, 3));
        for i in 0..b.num_rows() {
            let d = (!den.is_null(i)).then(|| den.value(i));
            let n = if num.is_null(i) { 0 } else { num.value(i) };
            grain.entry((period.value(i).to_string(), code.value(i).to_string())).or_default().add(n, d);
        }
    }
    Ok(grain)
}

/// (period, institution, county) → sums of an institution indicator's SQL.
async fn institution_grain(
    ctx: &SessionContext,
    indicator: &Indicator,
) -> Result<HashMap<(String, String, String), Sums>> {
    let sql = format!(
        "SELECT period, institution_id, county_code, {}, {} FROM ({}) q \
         WHERE institution_id IS NOT NULL AND county_code IS NOT NULL",
        exact_sql("numerator"),
        exact_sql("denominator"),
        indicator.sql
    );
    let mut grain: HashMap<(String, String, String), Sums> = HashMap::new();
    for b in run(ctx, &indicator.id, &sql).await? {
        let strings = |i: usize| strings(b.column(i));
        let (period, inst, county) = (strings(0), strings(1), strings(2));
        let (num, den) = (decimals(&b, 3), decimals(&b, 4));
        for i in 0..b.num_rows() {
            let d = (!den.is_null(i)).then(|| den.value(i));
            let n = if num.is_null(i) { 0 } else { num.value(i) };
            let key = (period.value(i).to_string(), inst.value(i).to_string(), county.value(i).to_string());
            grain.entry(key).or_default().add(n, d);
        }
    }
    Ok(grain)
}

fn decimals(b: &RecordBatch, i: usize) -> Decimal128Array {
    b.column(i).as_primitive::<Decimal128Type>().clone()
}

/// The rows of the four output tables, built column-wise.
struct Outputs {
    version: String,
    computed_at: i64,
    source_versions: String,
    values: Vec<ValueRow>,
    region_cards: Vec<CardRow>,
    institution_cards: Vec<CardRow>,
    targets: Vec<TargetRow>,
}

/// Which unit, indicator and period an indicator value or target row is about.
struct RowKey {
    period_type: &'static str,
    period: String,
    unit_type: &'static str,
    unit_id: String,
    county_code: Option<String>,
    indicator_id: String,
}

struct ValueRow {
    key: RowKey,
    m: Measured,
}

struct CardRow {
    period_type: &'static str,
    period: String,
    unit: Unit,
    c: Composite,
    rank: Option<i64>,
    rank_of: Option<i64>,
    change: Option<f64>,
    change_pct: Option<f64>,
}

struct TargetRow {
    key: RowKey,
    direction: Direction,
    target: f64,
    value: Option<f64>,
}

impl Outputs {
    fn new(methodology: &Methodology, source_versions: String) -> Self {
        Outputs {
            version: methodology.version.clone(),
            computed_at: Utc::now().timestamp_micros(),
            source_versions,
            values: Vec::new(),
            region_cards: Vec::new(),
            institution_cards: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// Scores, aggregates, ranks and compares every unit in every period.
    #[allow(clippy::too_many_arguments)]
    fn score_units(
        &mut self,
        units: &[Unit],
        applicable: &[(usize, &Indicator)],
        period_labels: &[String],
        period_of: &HashMap<&str, &Period>,
        weights: SubWeights,
        lookup: impl Fn(&Unit, &str, usize) -> Option<Measured>,
        institutions: bool,
    ) {
        let mut cards: HashMap<(usize, &str), Composite> = HashMap::new();
        for (u, unit) in units.iter().enumerate() {
            for p in period_labels {
                let period_type = period_of[p.as_str()].period_type.as_str();
                let mut scored = Vec::with_capacity(applicable.len());
                for (k, indicator) in applicable {
                    let m = lookup(unit, p, *k);
                    let key = || RowKey {
                        period_type,
                        period: p.clone(),
                        unit_type: unit.unit_type,
                        unit_id: unit.unit_id.clone(),
                        county_code: unit.county_code.clone(),
                        indicator_id: indicator.id.clone(),
                    };
                    if let Some(m) = m {
                        self.values.push(ValueRow { key: key(), m });
                    }
                    if indicator.plan_target {
                        if let Some((direction, target)) = indicator.scoring.plan_target() {
                            self.targets.push(TargetRow {
                                key: key(),
                                direction,
                                target,
                                value: m.and_then(|m| m.value),
                            });
                        }
                    }
                    scored.push(ScoredIndicator {
                        id: &indicator.id,
                        sub: indicator.sub,
                        weight: indicator.weight,
                        score: m.and_then(|m| m.score),
                    });
                }
                cards.insert((u, p.as_str()), composite(&scored, &weights));
            }
        }
        // Ranks within each group and period; change against the previous period.
        let mut groups: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for (u, unit) in units.iter().enumerate() {
            for p in period_labels {
                groups.entry((unit.rank_group.as_str(), p.as_str())).or_default().push(u);
            }
        }
        let mut ranks: HashMap<(usize, &str), (Option<i64>, i64)> = HashMap::new();
        for ((_, p), members) in &groups {
            let scores: Vec<Option<f64>> = members.iter().map(|u| cards[&(*u, *p)].composite).collect();
            let ranked = scores.iter().filter(|s| s.is_some()).count() as i64;
            for (u, r) in members.iter().zip(competition_ranks(&scores)) {
                ranks.insert((*u, *p), (r, ranked));
            }
        }
        for (u, unit) in units.iter().enumerate() {
            for p in period_labels {
                let c = cards[&(u, p.as_str())];
                let period = period_of[p.as_str()];
                let previous = period.previous().to_string();
                let before = cards.get(&(u, previous.as_str())).and_then(|c| c.composite);
                let change = c.composite.zip(before).map(|(now, then)| now - then);
                let change_pct = change.zip(before).filter(|(_, b)| *b > 0.0).map(|(d, b)| d / b * 100.0);
                let (rank, ranked) = ranks[&(u, p.as_str())];
                let row = CardRow {
                    period_type: period.period_type.as_str(),
                    period: p.clone(),
                    unit: unit.clone(),
                    c,
                    rank,
                    rank_of: rank.map(|_| ranked),
                    change,
                    change_pct,
                };
                if institutions {
                    self.institution_cards.push(row);
                } else {
                    self.region_cards.push(row);
                }
            }
        }
    }

    async fn write(self, warehouse: &Warehouse) -> Result<()> {
        let values = self.values_batch();
        let region = self.cards_batch(&self.region_cards, false);
        let institution = self.cards_batch(&self.institution_cards, true);
        let targets = self.targets_batch();
        for (name, batch) in [
            (INDICATOR_VALUES, values),
            (REGION_SCORECARDS, region),
            (INSTITUTION_SCORECARDS, institution),
            (TARGET_ATTAINMENT, targets),
        ] {
            let schema = batch.schema();
            warehouse.replace(name, &schema, &[], vec![batch]).await?;
        }
        Ok(())
    }

    /// The provenance columns that open and close every output row.
    fn provenance(&self, n: usize, kinds: Vec<&str>, periods: Vec<&str>) -> (Vec<ArrayRef>, Vec<ArrayRef>) {
        (
            vec![
                Arc::new(StringArray::from(vec![self.version.as_str(); n])),
                Arc::new(StringArray::from(kinds)),
                Arc::new(StringArray::from(periods)),
            ],
            vec![
                Arc::new(TimestampMicrosecondArray::from(vec![self.computed_at; n]).with_timezone("UTC")),
                Arc::new(StringArray::from(vec![self.source_versions.as_str(); n])),
            ],
        )
    }

    /// Provenance columns and the unit and indicator columns of keyed rows.
    fn keyed<'a>(&self, keys: impl Iterator<Item = &'a RowKey> + Clone) -> (Vec<ArrayRef>, Vec<ArrayRef>) {
        let kinds = keys.clone().map(|k| k.period_type).collect();
        let periods = keys.clone().map(|k| k.period.as_str()).collect();
        let (mut columns, tail) = self.provenance(keys.clone().count(), kinds, periods);
        columns.extend::<[ArrayRef; 4]>([
            Arc::new(StringArray::from_iter_values(keys.clone().map(|k| k.unit_type))),
            Arc::new(StringArray::from_iter_values(keys.clone().map(|k| k.unit_id.as_str()))),
            Arc::new(StringArray::from_iter(keys.clone().map(|k| k.county_code.as_deref()))),
            Arc::new(StringArray::from_iter_values(keys.map(|k| k.indicator_id.as_str()))),
        ]);
        (columns, tail)
    }

    fn values_batch(&self) -> RecordBatch {
        let rows = &self.values;
        let (mut columns, tail) = self.keyed(rows.iter().map(|r| &r.key));
        let exact = |f: fn(&Measured) -> Option<i128>| -> ArrayRef {
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| f(&r.m)).collect::<Vec<_>>())
                    .with_precision_and_scale(38, EXACT_SCALE as i8)
                    .expect("valid decimal"),
            )
        };
        columns.extend::<[ArrayRef; 6]>([
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.m.value))),
            exact(|m| m.numerator),
            exact(|m| m.denominator),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.m.score))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.m.score_uncapped))),
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|r| if r.m.value.is_some() { "ok" } else { "no_data" }),
            )),
        ]);
        columns.extend(tail);
        RecordBatch::try_new(indicator_values_schema(), columns).expect("indicator_values schema")
    }

    fn cards_batch(&self, rows: &[CardRow], institutions: bool) -> RecordBatch {
        let (mut columns, tail) = self.provenance(
            rows.len(),
            rows.iter().map(|r| r.period_type).collect(),
            rows.iter().map(|r| r.period.as_str()).collect(),
        );
        let float = |f: fn(&CardRow) -> Option<f64>| -> ArrayRef { Arc::new(Float64Array::from_iter(rows.iter().map(f))) };
        if institutions {
            let institution_id = rows.iter().map(|r| r.unit.unit_id.split(':').next().unwrap_or_default());
            columns.push(Arc::new(StringArray::from_iter_values(institution_id)));
            columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.unit.name.as_deref()))));
            columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.unit.county_code.as_deref()))));
        } else {
            columns.push(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.unit.unit_type))));
            columns.push(Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.unit.unit_id.as_str()))));
            columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.unit.name.as_deref()))));
            columns.push(Arc::new(StringArray::from_iter(rows.iter().map(|r| r.unit.county_code.as_deref()))));
        }
        columns.extend::<[ArrayRef; 9]>([
            float(|r| r.c.availability),
            float(|r| r.c.usage),
            float(|r| r.c.quality),
            float(|r| r.c.composite),
            Arc::new(StringArray::from_iter(rows.iter().map(|r| r.c.composite.map(band)))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.rank))),
            Arc::new(Int64Array::from_iter(rows.iter().map(|r| r.rank_of))),
            float(|r| r.change),
            float(|r| r.change_pct),
        ]);
        columns.extend(tail);
        let schema = if institutions { institution_scorecards_schema() } else { region_scorecards_schema() };
        RecordBatch::try_new(schema, columns).expect("scorecard schema")
    }

    fn targets_batch(&self) -> RecordBatch {
        let rows = &self.targets;
        let (mut columns, tail) = self.keyed(rows.iter().map(|r| &r.key));
        columns.extend::<[ArrayRef; 4]>([
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.direction.as_str()))),
            Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.target))),
            Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.value))),
            Arc::new(BooleanArray::from_iter(rows.iter().map(|r| r.value.map(|v| met(r.direction, r.target, v))))),
        ]);
        columns.extend(tail);
        RecordBatch::try_new(target_attainment_schema(), columns).expect("target_attainment schema")
    }
}
