//! Scorecard endpoints: the region or institution scorecards of one period, each row with its
//! plan targets from `target_attainment`; JSON, or a flat CSV (one column per target) for Excel.
//!
//! They read through the read-only SQL layer. Every value that goes into SQL text is first
//! validated against a strict pattern (level and period type are enums, periods look like
//! `2021`, `2021-Q3` or `2021-07`, county codes are six digits).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use datafusion::arrow::array::{ArrayRef, BooleanArray, Float64Array, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use puhui_transforms::outputs::{INSTITUTION_SCORECARDS, REGION_SCORECARDS, TARGET_ATTAINMENT};
use puhui_warehouse::Warehouse;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tokio::time::Instant;

use crate::encode::{encode_all, json_row, json_value, CsvEncoder, Format};
use crate::error::{QueryError, Result};
use crate::http::{query_params, within, QUERY_TIMEOUT};
use crate::sql::plan_read_only;

const SCORE_COLUMNS: &str =
    "availability, usage, quality, composite, band, rank, rank_of, change, change_pct";

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    County,
    Township,
    Village,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::County => "county",
            Level::Township => "township",
            Level::Village => "village",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PeriodType {
    Year,
    Quarter,
    Month,
}

impl PeriodType {
    fn as_str(self) -> &'static str {
        match self {
            PeriodType::Year => "year",
            PeriodType::Quarter => "quarter",
            PeriodType::Month => "month",
        }
    }

    /// The type of a well-formed period label (`2021`, `2021-Q3`, `2021-07`), or `None`.
    fn of(label: &str) -> Option<Self> {
        let is_year = |s: &[u8]| s.len() == 4 && s.iter().all(u8::is_ascii_digit);
        match label.as_bytes() {
            year if is_year(year) => Some(PeriodType::Year),
            [y @ .., b'-', b'Q', b'1'..=b'4'] if is_year(y) => Some(PeriodType::Quarter),
            [y @ .., b'-', b'0', b'1'..=b'9'] | [y @ .., b'-', b'1', b'0'..=b'2'] if is_year(y) => {
                Some(PeriodType::Month)
            }
            _ => None,
        }
    }
}

/// The period asked for: its type, and its label unless the latest one is wanted.
fn resolve_period(
    period: Option<String>,
    period_type: Option<PeriodType>,
) -> Result<(PeriodType, Option<String>)> {
    let Some(label) = period else {
        return Ok((period_type.unwrap_or(PeriodType::Year), None));
    };
    let shape = PeriodType::of(&label).ok_or_else(|| {
        QueryError::BadParameter(format!(
            "period `{label}` is not a year (2021), a quarter (2021-Q3) or a month (2021-07)"
        ))
    })?;
    match period_type {
        Some(given) if given != shape => Err(QueryError::BadParameter(format!(
            "period `{label}` is a {} but period_type is {}",
            shape.as_str(),
            given.as_str()
        ))),
        _ => Ok((shape, Some(label))),
    }
}

fn county_code(code: &str) -> Result<&str> {
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(QueryError::BadParameter(format!(
            "county `{code}` is not a six-digit county code"
        )))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegionParams {
    level: Level,
    period: Option<String>,
    period_type: Option<PeriodType>,
    county: Option<String>,
    #[serde(default)]
    format: Format,
    #[serde(default)]
    bom: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstitutionParams {
    period: Option<String>,
    period_type: Option<PeriodType>,
    county: Option<String>,
    #[serde(default)]
    format: Format,
    #[serde(default)]
    bom: bool,
}

/// What one scorecard request reads. The SQL fragments are built from validated values only.
struct Scope {
    /// `level` of the response: a region level, `institution` or `institution_county`.
    level: &'static str,
    table: &'static str,
    /// The unit id column of `table`; rows are ordered by rank, then by it.
    id_column: &'static str,
    /// Selects the units in `table`.
    units: String,
    /// Selects their rows in `target_attainment`.
    targets: String,
    /// A row's `unit_id` in `target_attainment`, as an expression over `table`.
    target_key: &'static str,
}

/// `GET /v1/scorecards/region?level=…[&period=…][&period_type=…][&county=…][&format=csv[&bom=true]]`
pub(crate) async fn region(
    State(warehouse): State<Warehouse>,
    params: Result<Query<RegionParams>, QueryRejection>,
) -> Result<Response> {
    let p = query_params(params)?;
    let level = p.level.as_str();
    let in_county = match p.county.as_deref().map(county_code).transpose()? {
        Some(code) => format!(" AND county_code = '{code}'"),
        None => String::new(),
    };
    let scope = Scope {
        level,
        table: REGION_SCORECARDS,
        id_column: "unit_id",
        units: format!("unit_type = '{level}'{in_county}"),
        targets: format!("unit_type = '{level}'{in_county}"),
        target_key: "unit_id",
    };
    let (period_type, period) = resolve_period(p.period, p.period_type)?;
    respond(&warehouse, &scope, period_type, period, p.format, p.bom).await
}

/// `GET /v1/scorecards/institution?[period=…][&period_type=…][&county=…][&format=csv[&bom=true]]`:
/// overall rows by default, the rows of one county with `county=`.
pub(crate) async fn institution(
    State(warehouse): State<Warehouse>,
    params: Result<Query<InstitutionParams>, QueryRejection>,
) -> Result<Response> {
    let p = query_params(params)?;
    let scope = match p.county.as_deref().map(county_code).transpose()? {
        None => Scope {
            level: "institution",
            table: INSTITUTION_SCORECARDS,
            id_column: "institution_id",
            units: "county_code IS NULL".into(),
            targets: "unit_type = 'institution'".into(),
            target_key: "institution_id",
        },
        Some(code) => Scope {
            level: "institution_county",
            table: INSTITUTION_SCORECARDS,
            id_column: "institution_id",
            units: format!("county_code = '{code}'"),
            targets: format!("unit_type = 'institution_county' AND county_code = '{code}'"),
            target_key: "institution_id || ':' || county_code",
        },
    };
    let (period_type, period) = resolve_period(p.period, p.period_type)?;
    respond(&warehouse, &scope, period_type, period, p.format, p.bom).await
}

async fn respond(
    warehouse: &Warehouse,
    scope: &Scope,
    period_type: PeriodType,
    period: Option<String>,
    format: Format,
    bom: bool,
) -> Result<Response> {
    let deadline = Instant::now() + QUERY_TIMEOUT;
    let card = within(deadline, async {
        let ctx = warehouse.session_within(Some(crate::sql::QUERY_MEMORY_BYTES)).await?;
        if !ctx.table_exist(scope.table).map_err(QueryError::Sql)? {
            return Err(QueryError::NotFound(format!(
                "table `{}` does not exist yet: the index has not been computed",
                scope.table
            )));
        }
        let period = match period {
            Some(label) => label,
            None => latest_period(&ctx, scope, period_type).await?,
        };
        Scorecard::load(&ctx, scope, period_type, period).await
    })
    .await?;
    match format {
        Format::Json => Ok(([(CONTENT_TYPE, format.content_type())], card.json()?).into_response()),
        Format::Csv => {
            let file = format!(
                "attachment; filename=\"scorecards-{}-{}.csv\"",
                card.level, card.period
            );
            let headers = [
                (CONTENT_TYPE, format.content_type().to_string()),
                (CONTENT_DISPOSITION, file),
            ];
            Ok((headers, card.csv(bom)?).into_response())
        }
    }
}

/// Runs one read-only query in `ctx` and returns its result as one batch.
async fn query(ctx: &SessionContext, sql: &str) -> Result<RecordBatch> {
    let frame = plan_read_only(ctx, sql).await?;
    let schema = frame.schema().inner().clone();
    let batches = frame.collect().await.map_err(QueryError::Execution)?;
    concat_batches(&schema, &batches).map_err(|e| QueryError::Execution(e.into()))
}

async fn latest_period(
    ctx: &SessionContext,
    scope: &Scope,
    period_type: PeriodType,
) -> Result<String> {
    let Scope { table, units, .. } = scope;
    let pt = period_type.as_str();
    let sql = format!("SELECT max(period) FROM {table} WHERE {units} AND period_type = '{pt}'");
    let latest = query(ctx, &sql).await?;
    match json_value(latest.column(0).as_ref(), 0)? {
        Value::String(label) => Ok(label),
        _ => Err(QueryError::NotFound(format!(
            "there are no {} scorecards of any {pt}",
            scope.level
        ))),
    }
}

/// The scorecard rows of one period with their plan targets.
struct Scorecard {
    level: &'static str,
    period_type: PeriodType,
    period: String,
    /// Of the first row (a period is computed under one methodology version).
    methodology_version: Value,
    /// The response columns, one row per unit, in rank order.
    rows: RecordBatch,
    /// The plan targets of each row (same order as `rows`), as JSON objects
    /// `{"indicator_id", "direction", "target", "value", "met"}` in indicator order.
    targets: Vec<Vec<Map<String, Value>>>,
}

impl Scorecard {
    async fn load(
        ctx: &SessionContext,
        scope: &Scope,
        period_type: PeriodType,
        period: String,
    ) -> Result<Self> {
        let Scope {
            level,
            table,
            id_column,
            units,
            targets,
            target_key,
        } = scope;
        let in_period = format!(
            "period_type = '{}' AND period = '{period}'",
            period_type.as_str()
        );
        let rows = query(
            ctx,
            &format!(
                "SELECT {id_column}, name, county_code, {SCORE_COLUMNS}, methodology_version, {target_key} AS target_key \
                 FROM {table} WHERE {units} AND {in_period} ORDER BY rank ASC NULLS LAST, {id_column}"
            ),
        )
        .await?;
        if rows.num_rows() == 0 {
            return Err(QueryError::NotFound(format!(
                "there are no {level} scorecards for the {} {period}",
                period_type.as_str()
            )));
        }
        let column = |name: &str| rows.schema().index_of(name).map_err(QueryError::Encode);
        let (version_col, key_col) = (column("methodology_version")?, column("target_key")?);
        let methodology_version = json_value(rows.column(version_col).as_ref(), 0)?;
        let mut by_unit = if ctx
            .table_exist(TARGET_ATTAINMENT)
            .map_err(QueryError::Sql)?
        {
            let sql = format!(
                "SELECT unit_id, indicator_id, direction, target, value, met FROM {TARGET_ATTAINMENT} \
                 WHERE {targets} AND {in_period} ORDER BY unit_id, indicator_id"
            );
            targets_by_unit(&query(ctx, &sql).await?)?
        } else {
            BTreeMap::new()
        };
        let targets = (0..rows.num_rows())
            .map(|row| {
                let key = json_value(rows.column(key_col).as_ref(), row)?;
                Ok(key
                    .as_str()
                    .and_then(|k| by_unit.remove(k))
                    .unwrap_or_default())
            })
            .collect::<Result<Vec<_>>>()?;
        let shown: Vec<usize> = (0..rows.num_columns())
            .filter(|&i| i != version_col && i != key_col)
            .collect();
        Ok(Scorecard {
            level,
            period_type,
            period,
            methodology_version,
            rows: rows.project(&shown)?,
            targets,
        })
    }

    fn json(&self) -> Result<Vec<u8>> {
        let rows = self
            .targets
            .iter()
            .enumerate()
            .map(|(row, targets)| {
                let mut object = json_row(&self.rows, row)?;
                object.insert(
                    "targets".into(),
                    targets.iter().cloned().map(Value::Object).collect(),
                );
                Ok(Value::Object(object))
            })
            .collect::<Result<Vec<_>>>()?;
        let body = json!({
            "level": self.level,
            "period_type": self.period_type.as_str(),
            "period": self.period,
            "methodology_version": self.methodology_version,
            "rows": rows,
        });
        Ok(body.to_string().into_bytes())
    }

    /// The rows flat: the score columns, then `<indicator>_value` and `<indicator>_met` per target.
    fn csv(&self, bom: bool) -> Result<Vec<u8>> {
        let indicators: BTreeSet<&str> = self
            .targets
            .iter()
            .flatten()
            .filter_map(|t| t.get("indicator_id")?.as_str())
            .collect();
        let mut fields: Vec<Field> = self
            .rows
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut columns: Vec<ArrayRef> = self.rows.columns().to_vec();
        for indicator in indicators {
            let target = |targets: &Vec<Map<String, Value>>| {
                targets
                    .iter()
                    .find(|t| t.get("indicator_id").and_then(Value::as_str) == Some(indicator))
                    .cloned()
            };
            let values: Float64Array = self
                .targets
                .iter()
                .map(|ts| target(ts).and_then(|t| t.get("value")?.as_f64()))
                .collect();
            let met: BooleanArray = self
                .targets
                .iter()
                .map(|ts| target(ts).and_then(|t| t.get("met")?.as_bool()))
                .collect();
            fields.push(Field::new(
                format!("{indicator}_value"),
                DataType::Float64,
                true,
            ));
            fields.push(Field::new(
                format!("{indicator}_met"),
                DataType::Boolean,
                true,
            ));
            columns.push(Arc::new(values));
            columns.push(Arc::new(met));
        }
        let flat = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
        Ok(encode_all(
            &mut CsvEncoder { bom },
            &flat.schema(),
            &[flat],
        )?)
    }
}

/// Groups target rows by their first column, `unit_id`; each target becomes a JSON object of
/// the other columns.
fn targets_by_unit(batch: &RecordBatch) -> Result<BTreeMap<String, Vec<Map<String, Value>>>> {
    let attributes = batch.project(&(1..batch.num_columns()).collect::<Vec<_>>())?;
    let mut by_unit: BTreeMap<String, Vec<Map<String, Value>>> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        if let Value::String(unit) = json_value(batch.column(0).as_ref(), row)? {
            by_unit
                .entry(unit)
                .or_default()
                .push(json_row(&attributes, row)?);
        }
    }
    Ok(by_unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_labels_are_strict() {
        assert_eq!(PeriodType::of("2021"), Some(PeriodType::Year));
        assert_eq!(PeriodType::of("2021-Q3"), Some(PeriodType::Quarter));
        assert_eq!(PeriodType::of("2021-07"), Some(PeriodType::Month));
        assert_eq!(PeriodType::of("2021-12"), Some(PeriodType::Month));
        for bad in [
            "",
            "21",
            "2021-Q5",
            "2021-13",
            "2021-00",
            "2021-7",
            "2021'",
            "2021' OR '1'='1",
        ] {
            assert_eq!(PeriodType::of(bad), None, "{bad}");
        }
    }

    #[test]
    fn period_type_defaults_from_the_label() {
        assert_eq!(
            resolve_period(None, None).unwrap(),
            (PeriodType::Year, None)
        );
        assert_eq!(
            resolve_period(Some("2021-Q3".into()), None).unwrap(),
            (PeriodType::Quarter, Some("2021-Q3".into()))
        );
        assert!(resolve_period(Some("2021-07".into()), Some(PeriodType::Quarter)).is_err());
        assert!(resolve_period(Some("last".into()), None).is_err());
    }

    #[test]
    fn county_codes_are_six_digits() {
        assert_eq!(county_code("410181").unwrap(), "410181");
        for bad in ["41018", "4101811", "41018x", "'; --"] {
            assert!(county_code(bad).is_err(), "{bad}");
        }
    }
}
