//! Writing generated tables: the calendar of the period, field values and their text forms, the
//! stream writers (NDJSON or CSV) and the reference-table CSV writer.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate};
use puhui_warehouse::contract::TableSpec;

use super::{GeneratedFile, OutputFormat};
use crate::{IngestError, Result};

/// An instant of the period: seconds since 2020-01-01T00:00:00+08:00 (Asia/Shanghai has kept
/// +08:00 without daylight saving since 1991).
pub type Secs = u32;
pub const DAY: Secs = 86_400;
/// Days of the period, 2020-01-01 ..= 2021-12-31.
const PERIOD_DAYS: u32 = 731;
/// The end of the period (exclusive), 2022-01-01T00:00:00+08:00.
pub const END: Secs = PERIOD_DAYS * DAY;
/// Months of the period.
pub const MONTHS: usize = 24;

/// Yuan in cents.
pub type Cents = i64;
pub const YUAN: Cents = 100;

pub fn period_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2020, 1, 1).expect("valid date")
}

/// The instants at which the period's months start, and `END` last.
pub fn month_starts() -> [Secs; MONTHS + 1] {
    std::array::from_fn(|m| {
        let first = NaiveDate::from_ymd_opt(2020 + m as i32 / 12, m as u32 % 12 + 1, 1)
            .expect("valid date");
        (first - period_start()).num_days() as Secs * DAY
    })
}

/// A field value of a generated record. `Absent` is omitted in NDJSON and empty in CSV.
#[derive(Debug, Clone, Copy)]
pub enum Val<'a> {
    Absent,
    Str(&'a str),
    Money(Cents),
    /// Percent a year in ten-thousandths (6.5% is 65_000).
    Rate(u32),
    Int(i64),
    Bool(bool),
    Time(Secs),
    List(&'a [&'static str]),
}

impl<'a> From<&'a str> for Val<'a> {
    fn from(s: &'a str) -> Self {
        Val::Str(s)
    }
}

impl<'a, T: Into<Val<'a>>> From<Option<T>> for Val<'a> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Val::Absent, Into::into)
    }
}

impl From<bool> for Val<'_> {
    fn from(b: bool) -> Self {
        Val::Bool(b)
    }
}

/// Text forms of dates and instants of the period.
struct Calendar {
    /// `YYYY-MM-DD` of every day of the period.
    days: Vec<String>,
}

impl Calendar {
    fn new() -> Self {
        let days = (0..PERIOD_DAYS)
            .map(|d| (period_start() + Days::new(u64::from(d))).to_string())
            .collect();
        Calendar { days }
    }

    /// RFC 3339 with the +08:00 offset.
    fn push_time(&self, t: Secs, out: &mut String) {
        let s = t % DAY;
        out.push_str(&self.days[(t / DAY) as usize]);
        push_fmt(
            out,
            format_args!("T{:02}:{:02}:{:02}+08:00", s / 3600, s / 60 % 60, s % 60),
        );
    }
}

fn push_fmt(out: &mut String, args: std::fmt::Arguments<'_>) {
    std::fmt::Write::write_fmt(out, args).expect("writing to a String cannot fail");
}

/// The text form of a value: a CSV cell, or (quoted, for strings, money, rates and times) a JSON value.
fn push_text(val: Val<'_>, cal: &Calendar, out: &mut String) {
    match val {
        Val::Absent => {}
        Val::Str(s) => out.push_str(s),
        Val::Money(c) => push_fmt(out, format_args!("{}.{:02}", c / YUAN, c % YUAN)),
        Val::Rate(r) => push_fmt(out, format_args!("{}.{:04}", r / 10_000, r % 10_000)),
        Val::Int(i) => push_fmt(out, format_args!("{i}")),
        Val::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Val::Time(t) => cal.push_time(t, out),
        Val::List(items) => out.push_str(&items.join(";")),
    }
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> IngestError + '_ {
    move |source| IngestError::Write {
        path: path.display().to_string(),
        source,
    }
}

enum Sink {
    Ndjson(BufWriter<File>),
    Csv(Box<csv::Writer<BufWriter<File>>>),
}

/// Writes one event stream, numbering its events `<prefix>-000000001`, `<prefix>-000000002`, …
pub struct StreamWriter {
    spec: &'static TableSpec,
    prefix: &'static str,
    path: PathBuf,
    sink: Sink,
    records: u64,
    calendar: Calendar,
    line: Vec<u8>,
    text: String,
}

impl StreamWriter {
    pub fn create(
        dir: &Path,
        spec: &'static TableSpec,
        prefix: &'static str,
        format: OutputFormat,
    ) -> Result<Self> {
        let path = dir.join(format!("{}.{}", spec.name, format.extension()));
        let file = BufWriter::new(File::create(&path).map_err(write_error(&path))?);
        let sink = match format {
            OutputFormat::Ndjson => Sink::Ndjson(file),
            OutputFormat::Csv => {
                let mut csv = csv::Writer::from_writer(file);
                csv.write_record(spec.fields.iter().map(|f| f.name))
                    .map_err(|e| write_error(&path)(e.into()))?;
                Sink::Csv(Box::new(csv))
            }
        };
        Ok(StreamWriter {
            spec,
            prefix,
            path,
            sink,
            records: 0,
            calendar: Calendar::new(),
            line: Vec::new(),
            text: String::new(),
        })
    }

    /// Writes one event: `values` are the spec's fields after `event_id`, in the spec's order.
    pub fn write(&mut self, values: &[Val<'_>]) -> Result<()> {
        debug_assert_eq!(
            values.len() + 1,
            self.spec.fields.len(),
            "{}",
            self.spec.name
        );
        self.records += 1;
        let event_id = format!("{}-{:09}", self.prefix, self.records);
        let fields = self.spec.fields.iter().map(|f| f.name);
        let values = std::iter::once(Val::Str(&event_id)).chain(values.iter().copied());
        let written = match &mut self.sink {
            Sink::Ndjson(out) => {
                self.line.clear();
                self.line.push(b'{');
                for (name, val) in fields
                    .zip(values)
                    .filter(|(_, v)| !matches!(v, Val::Absent))
                {
                    if self.line.len() > 1 {
                        self.line.push(b',');
                    }
                    push_json_str(&mut self.line, name);
                    self.line.push(b':');
                    push_json(&mut self.line, val, &self.calendar, &mut self.text);
                }
                self.line.extend_from_slice(b"}\n");
                out.write_all(&self.line)
            }
            Sink::Csv(out) => fields
                .zip(values)
                .try_for_each(|(_, val)| {
                    self.text.clear();
                    push_text(val, &self.calendar, &mut self.text);
                    out.write_field(&self.text)
                })
                .and_then(|()| out.write_record(std::iter::empty::<&[u8]>()))
                .map_err(Into::into),
        };
        written.map_err(write_error(&self.path))
    }

    pub fn finish(self) -> Result<GeneratedFile> {
        let flushed = match self.sink {
            Sink::Ndjson(out) => out.into_inner().map(drop).map_err(|e| e.into_error()),
            Sink::Csv(out) => out
                .into_inner()
                .map_err(|e| e.into_error())
                .and_then(|file| file.into_inner().map(drop).map_err(|e| e.into_error())),
        };
        file_summary(self.spec.name, self.path, self.records, flushed)
    }
}

fn push_json_str(line: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(line, s).expect("serialising a string to memory cannot fail");
}

fn push_json(line: &mut Vec<u8>, val: Val<'_>, cal: &Calendar, text: &mut String) {
    match val {
        Val::Int(_) | Val::Bool(_) => {
            text.clear();
            push_text(val, cal, text);
            line.extend_from_slice(text.as_bytes());
        }
        Val::Str(s) => push_json_str(line, s),
        Val::List(items) => {
            line.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    line.push(b',');
                }
                push_json_str(line, item);
            }
            line.push(b']');
        }
        _ => {
            text.clear();
            push_text(val, cal, text);
            push_json_str(line, text);
        }
    }
}

fn file_summary(
    table: &'static str,
    path: PathBuf,
    records: u64,
    done: std::io::Result<()>,
) -> Result<GeneratedFile> {
    let bytes = done
        .and_then(|()| std::fs::metadata(&path))
        .map_err(write_error(&path))?
        .len();
    Ok(GeneratedFile {
        table,
        path,
        records,
        bytes,
    })
}

/// Writes a reference table as CSV with a header row.
pub fn write_reference<I, R>(
    dir: &Path,
    table: &'static str,
    header: &[&str],
    rows: I,
) -> Result<GeneratedFile>
where
    I: IntoIterator<Item = R>,
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let path = dir.join(format!("{table}.csv"));
    let fail = |e: csv::Error| write_error(&path)(e.into());
    let mut out = csv::Writer::from_path(&path).map_err(fail)?;
    out.write_record(header).map_err(fail)?;
    let mut records = 0;
    for row in rows {
        out.write_record(row).map_err(fail)?;
        records += 1;
    }
    let flushed = out.into_inner().map(drop).map_err(|e| e.into_error());
    file_summary(table, path, records, flushed)
}

/// Writes a reference table shipped as CSV text, verbatim.
pub fn write_verbatim(dir: &Path, table: &'static str, csv_text: &str) -> Result<GeneratedFile> {
    let path = dir.join(format!("{table}.csv"));
    let records = csv_text
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count() as u64;
    let done = std::fs::write(&path, csv_text);
    file_summary(table, path, records, done)
}
