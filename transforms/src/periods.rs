//! Evaluation periods: months, quarters and years of the Asia/Shanghai calendar, labelled
//! `2020-07`, `2020-Q3`, `2020`, each the half-open UTC interval `[t_start, t_end)`.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use arrow::array::{ArrayRef, Date32Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::{Datelike, NaiveDate};
use puhui_warehouse::contract::timestamp_type;
use puhui_warehouse::time::day_start_utc;

/// The kind of a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PeriodType {
    Month,
    Quarter,
    Year,
}

impl PeriodType {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodType::Month => "month",
            PeriodType::Quarter => "quarter",
            PeriodType::Year => "year",
        }
    }

    fn months(self) -> u32 {
        match self {
            PeriodType::Month => 1,
            PeriodType::Quarter => 3,
            PeriodType::Year => 12,
        }
    }
}

/// One period: its kind and first month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub period_type: PeriodType,
    pub year: i32,
    /// First month of the period, 1–12.
    pub month: u32,
}

impl Period {
    /// The period of this kind that contains the month.
    pub fn containing(period_type: PeriodType, year: i32, month: u32) -> Period {
        let n = period_type.months();
        Period { period_type, year, month: (month - 1) / n * n + 1 }
    }

    /// First day (local).
    pub fn start_date(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("valid period")
    }

    /// First day after the period (local).
    pub fn end_date(&self) -> NaiveDate {
        self.start_date() + chrono::Months::new(self.period_type.months())
    }

    /// The period of the same kind just before this one.
    pub fn previous(&self) -> Period {
        let d = self.start_date() - chrono::Months::new(self.period_type.months());
        Period { period_type: self.period_type, year: d.year(), month: d.month() }
    }

    /// Number of months in the period.
    pub fn months(&self) -> u32 {
        self.period_type.months()
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period_type {
            PeriodType::Month => write!(f, "{:04}-{:02}", self.year, self.month),
            PeriodType::Quarter => write!(f, "{:04}-Q{}", self.year, (self.month - 1) / 3 + 1),
            PeriodType::Year => write!(f, "{:04}", self.year),
        }
    }
}

/// Every month, quarter and year that contains one of the given `YYYY-MM` months, sorted.
pub fn periods_covering(months: &[String]) -> Vec<Period> {
    let mut set = BTreeSet::new();
    for label in months {
        let Some((y, m)) = label.split_once('-') else { continue };
        let (Ok(year), Ok(month)) = (y.parse::<i32>(), m.parse::<u32>()) else { continue };
        if !(1..=12).contains(&month) {
            continue;
        }
        for kind in [PeriodType::Month, PeriodType::Quarter, PeriodType::Year] {
            set.insert(Period::containing(kind, year, month));
        }
    }
    set.into_iter().collect()
}

/// The `periods` table the indicator SQL joins: `period_type, period, year` (of the `region_stats`
/// used for the period), `months, t_start, t_end` (UTC instants of the local period boundaries) and
/// `last_day` (the period's last local date).
pub fn periods_batch(periods: &[Period], stats_year: impl Fn(i32) -> i32) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("period_type", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("year", DataType::Int64, false),
        Field::new("months", DataType::Int64, false),
        Field::new("t_start", timestamp_type(), false),
        Field::new("t_end", timestamp_type(), false),
        Field::new("last_day", DataType::Date32, false),
    ]));
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    let micros = |d: NaiveDate| day_start_utc(d).timestamp_micros();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(periods.iter().map(|p| p.period_type.as_str()))),
        Arc::new(StringArray::from_iter_values(periods.iter().map(|p| p.to_string()))),
        Arc::new(Int64Array::from_iter_values(periods.iter().map(|p| stats_year(p.year) as i64))),
        Arc::new(Int64Array::from_iter_values(periods.iter().map(|p| p.months() as i64))),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(periods.iter().map(|p| micros(p.start_date())))
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(periods.iter().map(|p| micros(p.end_date())))
                .with_timezone("UTC"),
        ),
        Arc::new(Date32Array::from_iter_values(
            periods.iter().map(|p| (p.end_date() - epoch).num_days() as i32 - 1),
        )),
    ];
    RecordBatch::try_new(schema, columns).expect("periods schema")
}

/// The `period_months` table: for every period, each of its months as `m_start, m_end` (UTC),
/// used for station-months.
pub fn period_months_batch(periods: &[Period]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        Field::new("period_type", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("m_start", timestamp_type(), false),
        Field::new("m_end", timestamp_type(), false),
    ]));
    let mut kinds = Vec::new();
    let mut labels = Vec::new();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for p in periods {
        for i in 0..p.months() {
            let start = p.start_date() + chrono::Months::new(i);
            kinds.push(p.period_type.as_str());
            labels.push(p.to_string());
            starts.push(day_start_utc(start).timestamp_micros());
            ends.push(day_start_utc(start + chrono::Months::new(1)).timestamp_micros());
        }
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(kinds)),
        Arc::new(StringArray::from(labels)),
        Arc::new(TimestampMicrosecondArray::from(starts).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(ends).with_timezone("UTC")),
    ];
    RecordBatch::try_new(schema, columns).expect("period_months schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_previous() {
        let q = Period::containing(PeriodType::Quarter, 2021, 8);
        assert_eq!(q.to_string(), "2021-Q3");
        assert_eq!(q.previous().to_string(), "2021-Q2");
        assert_eq!(Period::containing(PeriodType::Month, 2021, 1).previous().to_string(), "2020-12");
        assert_eq!(Period::containing(PeriodType::Year, 2021, 5).to_string(), "2021");
    }

    #[test]
    fn covering_months_quarters_years() {
        let p = periods_covering(&["2020-12".into(), "2021-01".into()]);
        let labels: Vec<String> = p.iter().map(|p| p.to_string()).collect();
        assert_eq!(labels, vec!["2020-12", "2021-01", "2020-Q4", "2021-Q1", "2020", "2021"]);
    }

    #[test]
    fn bounds_are_shanghai_midnights() {
        let batch = periods_batch(&[Period::containing(PeriodType::Month, 2021, 1)], |y| y);
        let start = batch.column(4).as_any().downcast_ref::<TimestampMicrosecondArray>().unwrap().value(0);
        // 2021-01-01T00:00+08:00 = 2020-12-31T16:00Z: an event at 16:30Z belongs to January.
        let event: chrono::DateTime<chrono::Utc> = "2020-12-31T16:30:00Z".parse().unwrap();
        assert!(event.timestamp_micros() >= start);
        assert_eq!(puhui_warehouse::time::from_micros(start).to_rfc3339(), "2020-12-31T16:00:00+00:00");
    }
}
