use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use chrono::DateTime;
use puhui_warehouse::contract::{self, FieldKind, TableSpec};
use serde_json::{Map, Value};

use super::*;
use crate::identity::canonical_identity;
use crate::reference;

/// A scratch directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let path =
            std::env::temp_dir().join(format!("puhui-generate-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Generates into a fresh scratch directory; returns every file's name and bytes.
fn generate_files(
    name: &str,
    scale: f64,
    seed: u64,
    format: OutputFormat,
) -> BTreeMap<String, Vec<u8>> {
    let dir = TempDir::new(name);
    let summary = generate(&GenerateOptions {
        scale,
        seed,
        out: dir.0.clone(),
        format,
    })
    .expect("generate");
    summary
        .files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(&f.path).expect("read generated file");
            assert_eq!(bytes.len() as u64, f.bytes, "{}", f.table);
            (
                f.path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect()
}

type Rows = Vec<Map<String, Value>>;

/// One NDJSON generation shared by the checks below.
struct Dataset {
    loans: Rows,
    deposits: Rows,
    stations: Rows,
    /// The reference tables the generator wrote, as rows of column → value.
    reference: BTreeMap<String, Vec<BTreeMap<String, String>>>,
}

fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(|| {
        let files = generate_files("dataset", 0.005, 7, OutputFormat::Ndjson);
        let ndjson = |name: &str| -> Rows {
            std::str::from_utf8(&files[name])
                .unwrap()
                .lines()
                .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
                .collect()
        };
        let reference = files
            .iter()
            .filter(|(name, _)| name.ends_with(".csv"))
            .map(|(name, bytes)| {
                let mut reader = csv::Reader::from_reader(bytes.as_slice());
                let header = reader.headers().unwrap().clone();
                let rows = reader
                    .records()
                    .map(|r| {
                        header
                            .iter()
                            .zip(r.unwrap().iter())
                            .map(|(h, v)| (h.to_string(), v.to_string()))
                            .collect()
                    })
                    .collect();
                (name.trim_end_matches(".csv").to_string(), rows)
            })
            .collect();
        Dataset {
            loans: ndjson("loan_events.ndjson"),
            deposits: ndjson("deposit_events.ndjson"),
            stations: ndjson("station_events.ndjson"),
            reference,
        }
    })
}

fn streams() -> [(&'static TableSpec, &'static Rows); 3] {
    let d = dataset();
    [
        (&contract::LOAN_EVENTS, &d.loans),
        (&contract::DEPOSIT_EVENTS, &d.deposits),
        (&contract::STATION_EVENTS, &d.stations),
    ]
}

fn text<'r>(row: &'r Map<String, Value>, field: &str) -> &'r str {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{field} in {row:?}"))
}

fn money(row: &Map<String, Value>) -> f64 {
    text(row, "amount").parse().unwrap()
}

#[test]
fn same_seed_gives_identical_files() {
    for format in [OutputFormat::Ndjson, OutputFormat::Csv] {
        let a = generate_files(&format!("same-a-{format:?}"), 0.002, 11, format);
        let b = generate_files(&format!("same-b-{format:?}"), 0.002, 11, format);
        assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
        for (name, bytes) in &a {
            assert!(
                bytes == &b[name],
                "{name} differs between two runs with the same seed"
            );
        }
    }
}

#[test]
fn different_seeds_give_different_data() {
    let a = generate_files("seed-1", 0.002, 1, OutputFormat::Ndjson);
    let b = generate_files("seed-2", 0.002, 2, OutputFormat::Ndjson);
    for name in [
        "loan_events.ndjson",
        "deposit_events.ndjson",
        "station_events.ndjson",
        "region_stats.csv",
    ] {
        assert_ne!(a[name], b[name], "{name}");
    }
}

#[test]
fn invalid_options_are_rejected() {
    for scale in [0.0, -0.5, f64::NAN, 2.5, f64::INFINITY] {
        let out = std::env::temp_dir().join("puhui-generate-never-written");
        let result = generate(&GenerateOptions {
            scale,
            seed: 1,
            out,
            format: OutputFormat::Csv,
        });
        assert!(
            matches!(result, Err(IngestError::InvalidOption(_))),
            "scale {scale}"
        );
    }
    assert!("xlsx".parse::<OutputFormat>().is_err());
    assert_eq!("csv".parse::<OutputFormat>().unwrap(), OutputFormat::Csv);
}

#[test]
fn ndjson_records_follow_the_contract() {
    for (spec, rows) in streams() {
        assert!(!rows.is_empty(), "{}", spec.name);
        let mut ids = BTreeSet::new();
        for row in rows {
            assert!(
                ids.insert(text(row, "event_id")),
                "duplicate event_id in {}",
                spec.name
            );
            let event_type = text(row, "event_type");
            for name in row.keys() {
                assert!(
                    spec.field(name).is_some(),
                    "{}.{name} is not in the contract",
                    spec.name
                );
            }
            for field in spec.fields {
                let Some(value) = row.get(field.name) else {
                    assert!(
                        !field.is_required(Some(event_type)),
                        "{}.{} missing on {event_type}",
                        spec.name,
                        field.name
                    );
                    continue;
                };
                check_value(field.kind, value, &format!("{}.{}", spec.name, field.name));
            }
        }
    }
}

/// A value is of its field's kind, in the form the generator promises.
fn check_value(kind: FieldKind, value: &Value, what: &str) {
    let decimals = |s: &str, places: usize| {
        s.split_once('.')
            .is_some_and(|(w, f)| w.parse::<u64>().is_ok() && f.len() == places)
    };
    match kind {
        FieldKind::Enum(values) => {
            assert!(values.contains(&value.as_str().unwrap()), "{what}: {value}")
        }
        FieldKind::EnumList(values) => {
            let items = value
                .as_array()
                .unwrap_or_else(|| panic!("{what}: {value}"));
            assert!((2..=4).contains(&items.len()), "{what}: {value}");
            assert!(
                items.iter().all(|i| values.contains(&i.as_str().unwrap())),
                "{what}: {value}"
            );
        }
        FieldKind::Identity => assert!(
            canonical_identity(value.as_str().unwrap()).is_some(),
            "{what}: {value}"
        ),
        FieldKind::Account => {
            let s = value.as_str().unwrap();
            assert!(
                s.len() == 19 && s.bytes().all(|b| b.is_ascii_digit()),
                "{what}: {value}"
            );
        }
        FieldKind::Money => assert!(
            value.as_str().is_some_and(|s| decimals(s, 2)),
            "{what}: {value}"
        ),
        FieldKind::Rate => {
            assert!(
                value
                    .as_str()
                    .is_some_and(|s| decimals(s, 4) && s.parse::<f64>().unwrap() <= 36.0),
                "{what}: {value}"
            )
        }
        FieldKind::Bool => assert!(value.is_boolean(), "{what}: {value}"),
        FieldKind::Int { min, max } => assert!(
            value.as_i64().is_some_and(|i| (min..=max).contains(&i)),
            "{what}: {value}"
        ),
        FieldKind::EventId => {
            let s = value.as_str().unwrap();
            assert!(
                s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b)),
                "{what}: {value}"
            );
        }
        _ => assert!(value.is_string(), "{what}: {value}"),
    }
}

#[test]
fn event_times_lie_within_2020_and_2021() {
    let start = DateTime::parse_from_rfc3339("2020-01-01T00:00:00+08:00").unwrap();
    let end = DateTime::parse_from_rfc3339("2022-01-01T00:00:00+08:00").unwrap();
    for (spec, rows) in streams() {
        for row in rows {
            for field in ["event_time", "applied_at"] {
                let Some(time) = row.get(field).and_then(Value::as_str) else {
                    continue;
                };
                assert!(time.ends_with("+08:00"), "{time}");
                let t = DateTime::parse_from_rfc3339(time).unwrap();
                assert!(start <= t && t < end, "{}.{field} {time}", spec.name);
            }
        }
    }
}

#[test]
fn regions_used_are_real_villages() {
    let villages: BTreeSet<&str> = reference::REGIONS_CSV
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols[2] == "village").then_some(cols[0])
        })
        .collect();
    for (spec, rows) in streams() {
        for row in rows {
            if let Some(code) = row.get("region_code") {
                assert!(
                    villages.contains(code.as_str().unwrap()),
                    "{}: {code}",
                    spec.name
                );
            }
        }
    }
    let d = dataset();
    for table in ["region_stats", "service_areas"] {
        for row in &d.reference[table] {
            assert!(
                villages.contains(row["region_code"].as_str()),
                "{table}: {row:?}"
            );
        }
    }
    // Every village has its two years of figures, with at least one household.
    assert_eq!(d.reference["region_stats"].len(), villages.len() * 2);
    for row in &d.reference["region_stats"] {
        let n = |c: &str| row[c].parse::<u64>().unwrap();
        assert!(
            n("households") >= 1 && n("farm_households") <= n("households"),
            "{row:?}"
        );
    }
}

#[test]
fn every_administrative_village_has_one_responsible_institution() {
    let admin: BTreeSet<&str> = reference::REGIONS_CSV
        .lines()
        .filter(|l| l.ends_with(",villagers_committee"))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let mut assigned = BTreeMap::new();
    for row in &dataset().reference["service_areas"] {
        *assigned.entry(row["region_code"].clone()).or_insert(0) += 1;
        assert_eq!(row["valid_from"], "2019-01-01");
    }
    assert_eq!(assigned.len(), admin.len());
    assert!(assigned
        .iter()
        .all(|(code, n)| admin.contains(code.as_str()) && *n == 1));
}

#[test]
fn inclusive_credit_coverage_per_county_is_between_30_and_70_percent() {
    let d = dataset();
    let inclusive: BTreeSet<&str> = d.reference["products"]
        .iter()
        .filter(|p| p["inclusive_credit"] == "true")
        .map(|p| p["product_id"].as_str())
        .collect();
    let mut farm_households: BTreeMap<&str, u64> = BTreeMap::new();
    for row in d.reference["region_stats"]
        .iter()
        .filter(|r| r["year"] == "2021")
    {
        *farm_households.entry(&row["region_code"][..6]).or_default() +=
            row["farm_households"].parse::<u64>().unwrap();
    }
    let revoked: BTreeSet<&str> = d
        .loans
        .iter()
        .filter(|e| text(e, "event_type") == "credit_revoked")
        .map(|e| text(e, "credit_line_id"))
        .collect();
    let mut covered: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in &d.loans {
        if text(e, "event_type") == "credit_granted"
            && text(e, "borrower_type") == "farm_household"
            && inclusive.contains(text(e, "product_id"))
            && !revoked.contains(text(e, "credit_line_id"))
        {
            covered
                .entry(&text(e, "region_code")[..6])
                .or_default()
                .insert(text(e, "borrower_id"));
        }
    }
    assert_eq!(farm_households.len(), 8);
    for (county, farm) in farm_households {
        let coverage = covered.get(county).map_or(0, BTreeSet::len) as f64 / farm as f64;
        assert!((0.30..=0.70).contains(&coverage), "{county}: {coverage:.3}");
    }
}

#[test]
fn repayments_never_exceed_principal() {
    let mut principal: BTreeMap<&str, f64> = BTreeMap::new();
    let mut repaid: BTreeMap<&str, f64> = BTreeMap::new();
    for e in &dataset().loans {
        match text(e, "event_type") {
            "loan_disbursed" | "balance_snapshot" => {
                assert!(principal.insert(text(e, "loan_id"), money(e)).is_none())
            }
            "loan_repaid" | "loan_written_off" => {
                *repaid.entry(text(e, "loan_id")).or_default() += money(e)
            }
            _ => {}
        }
    }
    assert!(repaid.values().any(|&r| r > 0.0));
    for (loan, paid) in repaid {
        let lent = principal
            .get(loan)
            .unwrap_or_else(|| panic!("{loan} repaid but never lent"));
        assert!(paid <= lent + 0.005, "{loan}: repaid {paid} of {lent}");
    }
}

#[test]
fn deposit_balances_never_go_negative() {
    let mut balances: BTreeMap<&str, f64> = BTreeMap::new();
    for e in &dataset().deposits {
        let balance = balances.entry(text(e, "account_id")).or_default();
        match text(e, "event_type") {
            "balance_snapshot" | "deposit" => *balance += money(e),
            "withdrawal" => *balance -= money(e),
            _ => {}
        }
        assert!(*balance > -0.005, "{e:?}");
    }
}

#[test]
fn csv_streams_have_the_contract_columns() {
    let files = generate_files("csv", 0.002, 5, OutputFormat::Csv);
    for spec in [
        &contract::LOAN_EVENTS,
        &contract::DEPOSIT_EVENTS,
        &contract::STATION_EVENTS,
    ] {
        let mut reader = csv::Reader::from_reader(files[&format!("{}.csv", spec.name)].as_slice());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        assert_eq!(
            header,
            spec.fields.iter().map(|f| f.name).collect::<Vec<_>>()
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty());
        if spec.name == "station_events" {
            let functions = header.iter().position(|h| h == "functions").unwrap();
            let opened = rows.iter().find(|r| &r[2] == "station_opened").unwrap();
            assert!(opened[functions].split(';').count() >= 2, "{opened:?}");
        }
    }
}
