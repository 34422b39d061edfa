//! Encoders of Arrow record batches: JSON and CSV, written batch by batch so that an HTTP
//! response can stream, and an aligned text [`table`] for the terminal.
//!
//! Values are written exactly: decimals keep their scale (`"30000.00"`, a JSON string), timestamps
//! are RFC 3339 with their offset (`2021-01-01T00:00:00+00:00`), dates `YYYY-MM-DD`.
//!
//! JSON result shape:
//! `{"columns":[{"name":"unit_id","type":"Utf8"},…],"rows":[{"unit_id":"410181","composite":81.2,…},…]}`
//! with integers and floats as numbers (NaN and ±∞ as `null`), booleans as booleans, lists as
//! arrays, structs as objects and nulls as `null`.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::csv::writer::{Terminator, Writer as CsvWriter, WriterBuilder};
use datafusion::arrow::datatypes::*;
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::arrow::util::pretty::pretty_format_batches_with_options;
use serde::Deserialize;
use serde_json::{Map, Number, Value};

const TIMESTAMP_TZ_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f%:z";
const TIMESTAMP_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.f";
const DATE_FORMAT: &str = "%Y-%m-%d";

/// How every encoder renders values that have no native JSON or CSV form.
const FORMAT: FormatOptions<'static> = FormatOptions::new()
    .with_date_format(Some(DATE_FORMAT))
    .with_timestamp_format(Some(TIMESTAMP_FORMAT))
    .with_timestamp_tz_format(Some(TIMESTAMP_TZ_FORMAT));

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// A result format an HTTP client can ask for with `?format=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[default]
    Json,
    Csv,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Json => "application/json; charset=utf-8",
            Format::Csv => "text/csv; charset=utf-8",
        }
    }

    /// A fresh encoder; `bom` (CSV only) starts the output with a UTF-8 byte-order mark for Excel.
    pub fn encoder(self, bom: bool) -> Box<dyn BatchEncoder> {
        match self {
            Format::Json => Box::new(JsonEncoder::default()),
            Format::Csv => Box::new(CsvEncoder { bom }),
        }
    }
}

/// Writes one result as chunks: [`begin`](Self::begin) once, [`batch`](Self::batch) for each
/// record batch, [`finish`](Self::finish) once.
pub trait BatchEncoder: Send {
    /// The bytes that open the result (JSON column list, CSV header).
    fn begin(&mut self, schema: &Schema) -> Result<Vec<u8>, ArrowError>;
    /// The bytes of the rows of one batch.
    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, ArrowError>;
    /// The bytes that close the result.
    fn finish(&mut self) -> Vec<u8>;
}

/// Encodes a whole, already collected result.
pub fn encode_all(
    encoder: &mut dyn BatchEncoder,
    schema: &Schema,
    batches: &[RecordBatch],
) -> Result<Vec<u8>, ArrowError> {
    let mut out = encoder.begin(schema)?;
    for batch in batches {
        out.extend(encoder.batch(batch)?);
    }
    out.extend(encoder.finish());
    Ok(out)
}

/// `{"columns":[…],"rows":[…]}`, one JSON object per row.
#[derive(Debug, Default)]
pub struct JsonEncoder {
    wrote_row: bool,
}

impl BatchEncoder for JsonEncoder {
    fn begin(&mut self, schema: &Schema) -> Result<Vec<u8>, ArrowError> {
        let columns: Vec<Value> = schema
            .fields()
            .iter()
            .map(|f| serde_json::json!({ "name": f.name(), "type": type_name(f.data_type()) }))
            .collect();
        let mut out = br#"{"columns":"#.to_vec();
        serde_json::to_writer(&mut out, &columns).map_err(json_error)?;
        out.extend_from_slice(br#","rows":["#);
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
        let mut out = Vec::new();
        for row in 0..batch.num_rows() {
            if self.wrote_row {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, &json_row(batch, row)?).map_err(json_error)?;
            self.wrote_row = true;
        }
        Ok(out)
    }

    fn finish(&mut self) -> Vec<u8> {
        b"]}".to_vec()
    }
}

/// The type name shown to clients. View types are an engine-internal layout of strings and
/// binaries, so they are named like their plain counterparts.
fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8View => DataType::Utf8.to_string(),
        DataType::BinaryView => DataType::Binary.to_string(),
        other => other.to_string(),
    }
}

fn json_error(e: serde_json::Error) -> ArrowError {
    ArrowError::JsonError(e.to_string())
}

/// One row of a batch as a JSON object, column name → [`json_value`].
pub fn json_row(batch: &RecordBatch, row: usize) -> Result<Map<String, Value>, ArrowError> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(field, column)| Ok((field.name().clone(), json_value(column.as_ref(), row)?)))
        .collect()
}

/// The JSON value of one cell.
pub fn json_value(array: &dyn Array, row: usize) -> Result<Value, ArrowError> {
    if array.is_null(row) || *array.data_type() == DataType::Null {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::Bool(array.as_boolean().value(row)),
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).into(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).into(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).into(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).into(),
        DataType::UInt8 => array.as_primitive::<UInt8Type>().value(row).into(),
        DataType::UInt16 => array.as_primitive::<UInt16Type>().value(row).into(),
        DataType::UInt32 => array.as_primitive::<UInt32Type>().value(row).into(),
        DataType::UInt64 => array.as_primitive::<UInt64Type>().value(row).into(),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(row).to_f64()),
        // Through the shortest decimal form, so that 81.2f32 stays 81.2 rather than 81.19999694824219.
        DataType::Float32 => float(
            array
                .as_primitive::<Float32Type>()
                .value(row)
                .to_string()
                .parse()
                .unwrap_or(f64::NAN),
        ),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => array.as_string::<i32>().value(row).into(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).into(),
        DataType::Utf8View => array.as_string_view().value(row).into(),
        DataType::List(_) => json_array(array.as_list::<i32>().value(row).as_ref())?,
        DataType::LargeList(_) => json_array(array.as_list::<i64>().value(row).as_ref())?,
        DataType::FixedSizeList(..) => json_array(array.as_fixed_size_list().value(row).as_ref())?,
        DataType::Struct(fields) => {
            let columns = array.as_struct().columns();
            let object = fields
                .iter()
                .zip(columns)
                .map(|(field, column)| {
                    Ok((field.name().clone(), json_value(column.as_ref(), row)?))
                })
                .collect::<Result<Map<_, _>, ArrowError>>()?;
            Value::Object(object)
        }
        // Decimals, dates, times, timestamps, intervals, binaries, dictionaries: their exact text.
        _ => ArrayFormatter::try_new(array, &FORMAT)?
            .value(row)
            .try_to_string()?
            .into(),
    })
}

fn json_array(values: &dyn Array) -> Result<Value, ArrowError> {
    (0..values.len())
        .map(|i| json_value(values, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn float(x: f64) -> Value {
    Number::from_f64(x).map_or(Value::Null, Value::Number)
}

/// RFC 4180 CSV: a header row, CRLF line ends, fields quoted where needed, null as an empty field.
/// CSV has no lists or structs: such columns are written as their display text (`[a, b]`).
fn flatten_nested(batch: &RecordBatch) -> Result<RecordBatch, ArrowError> {
    if !batch.schema().fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let options = arrow::util::display::FormatOptions::default();
    let mut fields = Vec::new();
    let mut columns: Vec<arrow::array::ArrayRef> = Vec::new();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        if field.data_type().is_nested() {
            let formatter = arrow::util::display::ArrayFormatter::try_new(column.as_ref(), &options)?;
            let text: arrow::array::StringArray = (0..column.len())
                .map(|i| (!column.is_null(i)).then(|| formatter.value(i).to_string()))
                .collect();
            fields.push(arrow::datatypes::Field::new(field.name(), DataType::Utf8, true));
            columns.push(std::sync::Arc::new(text));
        } else {
            fields.push(field.as_ref().clone());
            columns.push(column.clone());
        }
    }
    RecordBatch::try_new(std::sync::Arc::new(arrow::datatypes::Schema::new(fields)), columns)
}

#[derive(Debug)]
pub struct CsvEncoder {
    /// Start with a UTF-8 byte-order mark, so that Excel reads the text as UTF-8.
    pub bom: bool,
}

impl CsvEncoder {
    fn writer(header: bool, out: &mut Vec<u8>) -> CsvWriter<&mut Vec<u8>> {
        WriterBuilder::new()
            .with_header(header)
            .with_line_terminator(Terminator::CRLF)
            .with_date_format(DATE_FORMAT.into())
            .with_timestamp_format(TIMESTAMP_FORMAT.into())
            .with_timestamp_tz_format(TIMESTAMP_TZ_FORMAT.into())
            .build(out)
    }
}

impl BatchEncoder for CsvEncoder {
    fn begin(&mut self, schema: &Schema) -> Result<Vec<u8>, ArrowError> {
        let mut out = if self.bom {
            UTF8_BOM.to_vec()
        } else {
            Vec::new()
        };
        let empty = RecordBatch::new_empty(std::sync::Arc::new(schema.clone()));
        Self::writer(true, &mut out).write(&flatten_nested(&empty)?)?;
        Ok(out)
    }

    fn batch(&mut self, batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
        let mut out = Vec::new();
        Self::writer(false, &mut out).write(&flatten_nested(batch)?)?;
        Ok(out)
    }

    fn finish(&mut self) -> Vec<u8> {
        Vec::new()
    }
}

/// An aligned text table of a whole result, for the terminal.
pub fn table(batches: &[RecordBatch]) -> Result<String, ArrowError> {
    Ok(pretty_format_batches_with_options(batches, &FORMAT)?.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float32Array, Float64Array,
        Int64Array, ListArray, StringArray, TimestampMicrosecondArray,
    };

    use super::*;

    fn sample() -> RecordBatch {
        let money = Decimal128Array::from(vec![Some(3_000_000), None, Some(-5)])
            .with_precision_and_scale(18, 2)
            .unwrap();
        let at = TimestampMicrosecondArray::from(vec![
            Some(1_609_459_200_000_000),
            None,
            Some(1_500_000),
        ])
        .with_timezone("UTC");
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(1), None]),
            None,
            Some(vec![]),
        ]);
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "name",
                Arc::new(StringArray::from(vec![
                    Some("巩义市"),
                    Some("a,\"b\"\nc"),
                    None,
                ])),
            ),
            (
                "n",
                Arc::new(Int64Array::from(vec![Some(7), Some(-1), None])),
            ),
            (
                "x",
                Arc::new(Float64Array::from(vec![81.2, f64::NAN, f64::INFINITY])),
            ),
            ("f", Arc::new(Float32Array::from(vec![81.2f32, 0.5, -1.0]))),
            (
                "ok",
                Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
            ),
            ("money", Arc::new(money)),
            ("at", Arc::new(at)),
            (
                "day",
                Arc::new(Date32Array::from(vec![Some(18628), None, Some(0)])),
            ),
            ("list", Arc::new(list)),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn json(batches: &[RecordBatch]) -> Value {
        let bytes = encode_all(&mut JsonEncoder::default(), &batches[0].schema(), batches).unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[test]
    fn json_values_are_exact_and_typed() {
        let out = json(&[sample()]);
        assert_eq!(
            out["columns"][5],
            serde_json::json!({"name": "money", "type": "Decimal128(18, 2)"})
        );
        assert_eq!(
            out["rows"][0],
            serde_json::json!({
                "name": "巩义市", "n": 7, "x": 81.2, "f": 81.2, "ok": true, "money": "30000.00",
                "at": "2021-01-01T00:00:00+00:00", "day": "2021-01-01", "list": [1, null]
            })
        );
        let second = &out["rows"][1];
        assert_eq!(second["x"], Value::Null, "NaN is null");
        assert_eq!(
            (second["money"].clone(), second["at"].clone()),
            (Value::Null, Value::Null)
        );
        let third = &out["rows"][2];
        assert_eq!(third["x"], Value::Null, "infinity is null");
        assert_eq!(third["money"], "-0.05");
        assert_eq!(third["at"], "1970-01-01T00:00:01.500+00:00");
        assert_eq!(third["list"], serde_json::json!([]));
    }

    #[test]
    fn json_rows_span_batches() {
        let out = json(&[sample(), sample().slice(0, 0), sample()]);
        assert_eq!(out["rows"].as_array().unwrap().len(), 6);
        let empty = json(&[sample().slice(0, 0)]);
        assert_eq!(empty["rows"], serde_json::json!([]));
        assert_eq!(empty["columns"].as_array().unwrap().len(), 9);
    }

    #[test]
    fn csv_writes_lists_as_text() {
        let mut list = arrow::array::ListBuilder::new(arrow::array::StringBuilder::new());
        list.values().append_value("a");
        list.values().append_value("b");
        list.append(true);
        let batch = RecordBatch::try_from_iter([("functions", std::sync::Arc::new(list.finish()) as _)]).unwrap();
        let out = encode_all(Format::Csv.encoder(false).as_mut(), &batch.schema(), &[batch]).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "functions\r\n\"[a, b]\"\r\n");
    }

    #[test]
    fn csv_has_header_quotes_and_exact_decimals() {
        let batch = sample().project(&[0, 1, 4, 5, 6, 7]).unwrap();
        let bytes = encode_all(
            &mut CsvEncoder { bom: false },
            &batch.schema(),
            &[batch.clone()],
        )
        .unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(
            text,
            "name,n,ok,money,at,day\r\n\
             巩义市,7,true,30000.00,2021-01-01T00:00:00+00:00,2021-01-01\r\n\
             \"a,\"\"b\"\"\nc\",-1,false,,,\r\n\
             ,,,-0.05,1970-01-01T00:00:01.500+00:00,1970-01-01\r\n"
        );
        let with_bom = encode_all(&mut CsvEncoder { bom: true }, &batch.schema(), &[]).unwrap();
        assert_eq!(with_bom, b"\xEF\xBB\xBFname,n,ok,money,at,day\r\n");
    }

    #[test]
    fn table_is_aligned_text() {
        let text = table(&[sample().project(&[5]).unwrap()]).unwrap();
        assert!(
            text.contains("| 30000.00 |") && text.contains("| -0.05    |"),
            "{text}"
        );
    }
}
