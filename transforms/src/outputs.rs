//! The derived tables of METHODOLOGY.md §8 and their Arrow schemas.
//!
//! Every row carries `methodology_version`, `period_type` (`month`, `quarter`, `year`), `period`
//! (`2021-07`, `2021-Q3`, `2021`), `computed_at` (UTC) and `source_versions` (JSON object: table →
//! Delta version it was computed from).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use puhui_warehouse::contract::timestamp_type;

pub const INDICATOR_VALUES: &str = "indicator_values";
pub const REGION_SCORECARDS: &str = "region_scorecards";
pub const INSTITUTION_SCORECARDS: &str = "institution_scorecards";
pub const TARGET_ATTAINMENT: &str = "target_attainment";

/// Numerators and denominators are exact: Decimal128(38, 6).
pub fn exact_type() -> DataType {
    DataType::Decimal128(38, 6)
}

fn with_provenance(fields: Vec<Field>) -> SchemaRef {
    let mut all = vec![
        Field::new("methodology_version", DataType::Utf8, false),
        Field::new("period_type", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
    ];
    all.extend(fields);
    all.push(Field::new("computed_at", timestamp_type(), false));
    all.push(Field::new("source_versions", DataType::Utf8, false));
    Arc::new(Schema::new(all))
}

fn score_columns() -> Vec<Field> {
    vec![
        Field::new("availability", DataType::Float64, true),
        Field::new("usage", DataType::Float64, true),
        Field::new("quality", DataType::Float64, true),
        Field::new("composite", DataType::Float64, true),
        Field::new("band", DataType::Utf8, true),
        Field::new("rank", DataType::Int64, true),
        Field::new("rank_of", DataType::Int64, true),
        Field::new("change", DataType::Float64, true),
        Field::new("change_pct", DataType::Float64, true),
    ]
}

pub fn indicator_values_schema() -> SchemaRef {
    with_provenance(vec![
        Field::new("unit_type", DataType::Utf8, false),
        Field::new("unit_id", DataType::Utf8, false),
        Field::new("county_code", DataType::Utf8, true),
        Field::new("indicator_id", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("numerator", exact_type(), true),
        Field::new("denominator", exact_type(), true),
        Field::new("score", DataType::Float64, true),
        Field::new("score_uncapped", DataType::Float64, true),
        Field::new("status", DataType::Utf8, false),
    ])
}

pub fn region_scorecards_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("unit_type", DataType::Utf8, false),
        Field::new("unit_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("county_code", DataType::Utf8, true),
    ];
    fields.extend(score_columns());
    with_provenance(fields)
}

pub fn institution_scorecards_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new("institution_id", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("county_code", DataType::Utf8, true),
    ];
    fields.extend(score_columns());
    with_provenance(fields)
}

pub fn target_attainment_schema() -> SchemaRef {
    with_provenance(vec![
        Field::new("unit_type", DataType::Utf8, false),
        Field::new("unit_id", DataType::Utf8, false),
        Field::new("county_code", DataType::Utf8, true),
        Field::new("indicator_id", DataType::Utf8, false),
        Field::new("direction", DataType::Utf8, false),
        Field::new("target", DataType::Float64, false),
        Field::new("value", DataType::Float64, true),
        Field::new("met", DataType::Boolean, true),
    ])
}
