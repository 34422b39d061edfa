//! Building Arrow record batches from validated records and from rejections.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Date32Builder, Decimal128Builder, Int64Builder, ListBuilder, StringBuilder,
    TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Utc};
use puhui_warehouse::contract::{quarantine_schema, TableKind, TableSpec};
use puhui_warehouse::time::event_month;

use crate::validate::{Cell, ValidRecord};

/// One rejected record, ready for the quarantine table.
#[derive(Debug, Clone)]
pub struct QuarantineRow {
    pub line: u64,
    pub event_id: Option<String>,
    pub reason: String,
    pub field: Option<String>,
    pub message: String,
    /// The record as received, identities masked.
    pub raw: String,
}

/// Per-ingest provenance columns.
#[derive(Debug, Clone)]
pub struct Provenance {
    pub batch_id: String,
    pub received_at: DateTime<Utc>,
    pub source: String,
}

fn column_for(data_type: &DataType, cells: &mut dyn Iterator<Item = &Cell>) -> ArrayRef {
    match data_type {
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            for c in cells {
                match c {
                    Cell::Str(s) => b.append_value(s),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Timestamp(_, tz) => {
            let mut b = TimestampMicrosecondBuilder::new();
            for c in cells {
                match c {
                    Cell::Micros(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish().with_timezone_opt(tz.clone()))
        }
        DataType::Date32 => {
            let mut b = Date32Builder::new();
            for c in cells {
                match c {
                    Cell::Date(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Decimal128(p, s) => {
            let mut b = Decimal128Builder::new();
            for c in cells {
                match c {
                    Cell::Decimal(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish().with_precision_and_scale(*p, *s).expect("contract precision is valid"))
        }
        DataType::Int64 => {
            let mut b = Int64Builder::new();
            for c in cells {
                match c {
                    Cell::Int(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Boolean => {
            let mut b = BooleanBuilder::new();
            for c in cells {
                match c {
                    Cell::Bool(v) => b.append_value(*v),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::List(_) => {
            let mut b = ListBuilder::new(StringBuilder::new());
            for c in cells {
                match c {
                    Cell::List(items) => {
                        for i in items {
                            b.values().append_value(i);
                        }
                        b.append(true);
                    }
                    _ => b.append(false),
                }
            }
            Arc::new(b.finish())
        }
        other => unreachable!("the contract has no {other} columns"),
    }
}

/// The stored batch of a table's accepted records (contract columns plus provenance columns).
pub fn table_batch(spec: &TableSpec, records: &[ValidRecord], provenance: &Provenance) -> RecordBatch {
    let schema: SchemaRef = spec.schema();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (i, field) in spec.fields.iter().enumerate() {
        let data_type = schema.field_with_name(&field.column()).expect("column of spec").data_type();
        columns.push(column_for(data_type, &mut records.iter().map(|r| &r.cells[i])));
    }
    let n = records.len();
    if spec.kind == TableKind::Stream {
        columns.push(Arc::new(arrow::array::StringArray::from_iter_values(records.iter().map(|r| &r.record_hash))));
    }
    let ingested = provenance.received_at.timestamp_micros();
    columns.push(Arc::new(
        arrow::array::TimestampMicrosecondArray::from(vec![ingested; n]).with_timezone("UTC"),
    ));
    columns.push(Arc::new(arrow::array::StringArray::from(vec![provenance.batch_id.as_str(); n])));
    if spec.kind == TableKind::Stream {
        columns.push(Arc::new(arrow::array::StringArray::from_iter_values(
            records.iter().map(|r| event_month(r.event_time.expect("streams require event_time"))),
        )));
    }
    RecordBatch::try_new(schema, columns).expect("columns follow the table schema")
}

/// The quarantine batch of rejected records.
pub fn quarantine_batch(stream: &str, rows: &[QuarantineRow], provenance: &Provenance) -> RecordBatch {
    use arrow::array::{Int64Array, StringArray, TimestampMicrosecondArray};
    let n = rows.len();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![stream; n])),
        Arc::new(
            TimestampMicrosecondArray::from(vec![provenance.received_at.timestamp_micros(); n]).with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec![provenance.source.as_str(); n])),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.line as i64))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.event_id.as_deref()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.reason.as_str()))),
        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.field.as_deref()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.message.as_str()))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.raw.as_str()))),
        Arc::new(StringArray::from(vec![provenance.batch_id.as_str(); n])),
    ];
    RecordBatch::try_new(quarantine_schema(), columns).expect("columns follow the quarantine schema")
}
