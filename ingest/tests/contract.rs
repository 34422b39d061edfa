//! Contract tests, one per stream: good and bad records go in; every bad record lands in the
//! quarantine with the right reason and field; accepted + quarantined = received; a redelivered
//! `event_id` is not counted twice; no raw identity reaches disk.

use puhui_warehouse::store::strings;
use std::path::PathBuf;

use arrow::array::AsArray;
use puhui_ingest::reference::{INSTITUTIONS_CSV, REGIONS_CSV};
use puhui_ingest::{Format, IdentityHasher, IngestReport, Ingestor};
use puhui_warehouse::Warehouse;

const VILLAGE: &str = "410181002201"; // 常庄村, an administrative village of 巩义市
const ID: &str = "11010519491231002X"; // valid resident ID number (GB 11643)
const USCC: &str = "91350100M000100Y43"; // valid unified social credit code (GB 32100)

struct Fixture {
    dir: PathBuf,
    warehouse: Warehouse,
    ingestor: Ingestor,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn fixture(name: &str) -> Fixture {
    let dir = std::env::temp_dir().join(format!("puhui-contract-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let warehouse = Warehouse::open_local(&dir).unwrap();
    let ingestor = Ingestor::new(warehouse.clone(), IdentityHasher::new(b"contract-test-secret"));
    let csv = |stream: &str, text: &str| (stream.to_string(), text.to_string());
    for (stream, text) in [
        csv("regions", REGIONS_CSV),
        csv("institutions", INSTITUTIONS_CSV),
        csv(
            "products",
            "product_id,institution_id,name,category,inclusive_credit,online,launched_on\n\
             gy_hnd,gongyi_rcb,惠农贷,credit,true,true,2019-01-01\n",
        ),
    ] {
        let r = ingestor.ingest_bytes(&stream, "fixture", text.as_bytes(), Format::Csv).await.unwrap();
        assert_eq!(r.rejected, 0, "{stream}: {:?}", r.first_rejections);
    }
    assert!(VILLAGE.len() == 12 && REGIONS_CSV.contains(VILLAGE));
    Fixture { dir, warehouse, ingestor }
}

/// (line, reason, field) of the quarantine rows of one batch.
async fn quarantined(w: &Warehouse, batch_id: &str) -> Vec<(i64, String, Option<String>)> {
    let sql = format!("SELECT line, reason, field FROM quarantine WHERE batch_id = '{batch_id}' ORDER BY line");
    let mut rows = Vec::new();
    for b in w.query(&sql).await.unwrap() {
        let line = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
        let reason = strings(b.column(1));
        let field = strings(b.column(2));
        for i in 0..b.num_rows() {
            let f = (!arrow::array::Array::is_null(&field, i)).then(|| field.value(i).to_string());
            rows.push((line.value(i), reason.value(i).to_string(), f));
        }
    }
    rows
}

async fn count(w: &Warehouse, sql: &str) -> i64 {
    let b = w.query(sql).await.unwrap();
    b[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0)
}

/// Ingests `lines` (NDJSON) and checks the bookkeeping and each expected rejection.
async fn check_stream(f: &Fixture, stream: &str, lines: &[String], expected: &[(i64, &str, &str)]) -> IngestReport {
    let body = lines.join("\n");
    let r = f.ingestor.ingest_bytes(stream, "test", body.as_bytes(), Format::Ndjson).await.unwrap();
    assert_eq!(r.received, lines.len() as u64);
    assert_eq!(r.accepted + r.duplicates + r.rejected, r.received, "{r:?}");
    let got = quarantined(&f.warehouse, &r.batch_id).await;
    let want: Vec<(i64, String, Option<String>)> =
        expected.iter().map(|(l, r, f)| (*l, r.to_string(), (!f.is_empty()).then(|| f.to_string()))).collect();
    assert_eq!(got, want, "{stream}");
    let stored = count(&f.warehouse, &format!("SELECT count(*) FROM {stream} WHERE batch_id = '{}'", r.batch_id)).await;
    assert_eq!(stored as u64, r.accepted);
    r
}

fn line(fields: serde_json::Value) -> String {
    fields.to_string()
}

fn no_raw_identity_on_disk(f: &Fixture) {
    for entry in walk(&f.dir) {
        let bytes = std::fs::read(&entry).unwrap();
        for id in [ID.as_bytes(), USCC.as_bytes()] {
            assert!(!bytes.windows(id.len()).any(|w| w == id), "raw identity in {}", entry.display());
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

#[tokio::test]
async fn loan_events_contract() {
    let f = fixture("loans").await;
    let base = serde_json::json!({
        "event_id": "L-1", "event_time": "2021-03-01T10:00:00+08:00", "event_type": "loan_disbursed",
        "institution_id": "gongyi_rcb", "product_id": "gy_hnd", "borrower_id": ID, "borrower_type": "farm_household",
        "region_code": VILLAGE, "loan_id": "LN-1", "credit_line_id": "CL-1", "amount": "30000.00",
        "annual_rate_pct": "6.5", "reference_rate_pct": "7.2", "term_months": 12, "purpose": "agriculture"
    });
    let with = |id: &str, patch: serde_json::Value| {
        let mut v = base.clone();
        v["event_id"] = id.into();
        for (k, x) in patch.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        line(v)
    };
    let lines = vec![
        with("L-1", serde_json::json!({})),
        with("L-2", serde_json::json!({"event_type": "credit_granted", "amount": "50000.00", "borrower_id": USCC, "borrower_type": "new_agri_entity"})),
        with("L-3", serde_json::json!({"event_type": "loan_given"})),
        with("L-4", serde_json::json!({"amount": "1.005"})),
        with("L-5", serde_json::json!({"borrower_id": "110105194912310021"})),
        with("L-6", serde_json::json!({"region_code": 410181002201u64})),
        with("L-7", serde_json::json!({"region_code": "410181999999"})),
        with("L-8", serde_json::json!({"institution_id": "no_such_bank"})),
        with("L-9", serde_json::json!({"product_id": "no_such_product"})),
        with("L-10", serde_json::json!({"annual_rate_pct": null})),
        with("L-11", serde_json::json!({"event_time": "31/02/2021"})),
        "{not json".to_string(),
        with("L-1", serde_json::json!({"amount": "1.00"})),
        with("L-1", serde_json::json!({})),
        with("L-12", serde_json::json!({"region_code": "410181"})),
    ];
    let expected = [
        (3, "invalid_enum", "event_type"),
        (5, "invalid_id", "borrower_id"),
        (6, "code_not_string", "region_code"),
        (7, "unknown_region", "region_code"),
        (8, "unknown_institution", "institution_id"),
        (9, "unknown_product", "product_id"),
        (10, "missing_field", "annual_rate_pct"),
        (11, "invalid_time", "event_time"),
        (12, "bad_json", ""),
        (13, "conflicting_duplicate", "event_id"),
        (15, "wrong_region_level", "region_code"),
    ];
    // L-4 (3 decimals) is wrong too; it is checked separately below to keep the table readable.
    let mut expected = expected.to_vec();
    expected.insert(1, (4, "invalid_amount", "amount"));
    let r = check_stream(&f, "loan_events", &lines, &expected).await;
    assert_eq!((r.accepted, r.duplicates, r.rejected), (2, 1, 12));

    // Redelivery of the whole input: nothing new accepted, the good records are duplicates.
    let again = f.ingestor.ingest_bytes("loan_events", "test", lines.join("\n").as_bytes(), Format::Ndjson).await.unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 3));
    assert_eq!(count(&f.warehouse, "SELECT count(*) FROM loan_events").await, 2);
    assert_eq!(count(&f.warehouse, "SELECT count(DISTINCT event_id) FROM loan_events").await, 2);

    // Money is exact; the masked raw record keeps 6 + 4 characters of the identity.
    let b = f.warehouse.query("SELECT CAST(amount AS VARCHAR) FROM loan_events WHERE event_id = 'L-2'").await.unwrap();
    assert_eq!(strings(b[0].column(0)).value(0), "50000.00");
    let b = f.warehouse.query("SELECT raw FROM quarantine WHERE reason = 'invalid_id'").await.unwrap();
    assert!(strings(b[0].column(0)).value(0).contains("110105********0021"));
    // An identity sent where it does not belong is masked in the message and the raw record too.
    let stray = with("L-13", serde_json::json!({"amount": ID, "loan_id": USCC}));
    let r = f.ingestor.ingest_bytes("loan_events", "t", stray.as_bytes(), Format::Ndjson).await.unwrap();
    let sql = format!("SELECT message, raw FROM quarantine WHERE batch_id = '{}'", r.batch_id);
    let b = f.warehouse.query(&sql).await.unwrap();
    let (message, raw) = (strings(b[0].column(0)).value(0).to_string(), strings(b[0].column(1)).value(0).to_string());
    assert!(!message.contains(ID) && !raw.contains(ID) && !raw.contains(USCC), "{message} {raw}");
    no_raw_identity_on_disk(&f);
}

#[tokio::test]
async fn deposit_events_contract() {
    let f = fixture("deposits").await;
    let rec = |id: &str, t: &str, amount: Option<&str>| {
        let mut v = serde_json::json!({
            "event_id": id, "event_time": "2021-05-01 09:00:00", "event_type": t, "institution_id": "gongyi_rcb",
            "account_id": "6228480012345678901", "holder_id": ID, "holder_type": "farm_household", "region_code": VILLAGE,
            "channel": "station", "term": "demand"
        });
        if let Some(a) = amount {
            v["amount"] = a.into();
        }
        line(v)
    };
    let lines = vec![
        rec("D-1", "account_opened", None),
        rec("D-2", "deposit", Some("1200.50")),
        rec("D-3", "deposit", None),
        rec("D-4", "interest", Some("1.00")),
        rec("D-5", "withdrawal", Some("-3")),
        rec("D-2", "deposit", Some("1200.50")),
    ];
    let expected = [(3, "missing_field", "amount"), (4, "invalid_enum", "event_type"), (5, "invalid_amount", "amount")];
    let r = check_stream(&f, "deposit_events", &lines, &expected).await;
    assert_eq!((r.accepted, r.duplicates), (2, 1));
    // Account numbers are keyed-hashed too.
    let b = f.warehouse.query("SELECT account_key FROM deposit_events LIMIT 1").await.unwrap();
    assert_eq!(strings(b[0].column(0)).value(0).len(), 32);
    no_raw_identity_on_disk(&f);
}

#[tokio::test]
async fn station_events_contract_in_csv() {
    let f = fixture("stations").await;
    let csv = format!(
        "event_id,event_time,event_type,station_id,region_code,institution_id,functions,amount,participants,complaint_id,household_id\n\
         S-1,2020-01-02T09:00:00+08:00,station_opened,ST1,{VILLAGE},gongyi_rcb,financial_service;credit_service,,,,\n\
         S-2,2020/1/16,cash_withdrawal,ST1,,,,\"1,500.00\",,,{ID}\n\
         S-3,2020-01-20,station_opened,ST2,{VILLAGE},gongyi_rcb,,,,,\n\
         S-4,2020-01-20,literacy_session,ST1,,,,,many,,\n\
         S-5,2020-01-20,functions_changed,ST1,,,financial_service;atm,,,,\n\
         S-6,2020-01-21,complaint_received,ST1,,,,,,,\n\
         S-7,2020-01-22,transfer,ST1,,,,20.00,,,12345\n\
         S-8,20200123,bill_payment,ST1,,,,99.99\n"
    );
    let r = f.ingestor.ingest_bytes("station_events", "test.csv", csv.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!(r.received, 8);
    assert_eq!(r.accepted + r.rejected, r.received);
    let got = quarantined(&f.warehouse, &r.batch_id).await;
    let want = vec![
        (4, "missing_field".to_string(), Some("functions".to_string())),
        (5, "invalid_number".to_string(), Some("participants".to_string())),
        (6, "invalid_enum".to_string(), Some("functions".to_string())),
        (7, "missing_field".to_string(), Some("complaint_id".to_string())),
        (8, "invalid_id".to_string(), Some("household_id".to_string())),
        (9, "bad_csv".to_string(), None),
    ];
    assert_eq!(got, want);
    assert_eq!(r.accepted, 2);
    // The CSV thousands separator and the local date forms were understood.
    let b = f
        .warehouse
        .query("SELECT CAST(amount AS VARCHAR), event_month FROM station_events WHERE event_id = 'S-2'")
        .await
        .unwrap();
    assert_eq!(strings(b[0].column(0)).value(0), "1500.00");
    assert_eq!(strings(b[0].column(1)).value(0), "2020-01");
    no_raw_identity_on_disk(&f);
}

#[tokio::test]
async fn late_new_year_eve_event_is_in_january() {
    let f = fixture("newyear").await;
    let rec = line(serde_json::json!({
        "event_id": "S-NY", "event_time": "2020-12-31T16:30:00Z", "event_type": "station_opened", "station_id": "ST9",
        "region_code": VILLAGE, "institution_id": "gongyi_rcb", "functions": ["financial_service"]
    }));
    let r = f.ingestor.ingest_bytes("station_events", "t", rec.as_bytes(), Format::Ndjson).await.unwrap();
    assert_eq!(r.accepted, 1);
    let b = f.warehouse.query("SELECT event_month FROM station_events").await.unwrap();
    assert_eq!(strings(b[0].column(0)).value(0), "2021-01");
}

#[tokio::test]
async fn reference_tables_upsert_and_validate() {
    let f = fixture("reference").await;
    let stats = format!(
        "region_code,year,households,farm_households\n{VILLAGE},2021,300,250\n{VILLAGE},2021,310,260\n410181,2021,x,1\n999999,2021,1,1\n"
    );
    let r = f.ingestor.ingest_bytes("region_stats", "s.csv", stats.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!((r.accepted, r.rejected), (2, 2));
    let reasons: Vec<String> = quarantined(&f.warehouse, &r.batch_id).await.into_iter().map(|q| q.1).collect();
    assert_eq!(reasons, vec!["invalid_number", "unknown_region"]);
    // The last row of a key wins, and a later upsert replaces it.
    assert_eq!(count(&f.warehouse, "SELECT households FROM region_stats").await, 310);
    let update = format!("region_code,year,households,farm_households\n{VILLAGE},2021,320,270\n{VILLAGE},2020,290,240\n");
    f.ingestor.ingest_bytes("region_stats", "s2.csv", update.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!(count(&f.warehouse, "SELECT count(*) FROM region_stats").await, 2);
    assert_eq!(count(&f.warehouse, "SELECT households FROM region_stats WHERE year = 2021").await, 320);
    // Rules between fields: farm households within households; codes shaped as their level.
    let bad = format!("region_code,year,households,farm_households\n{VILLAGE},2021,10,50\n");
    let r = f.ingestor.ingest_bytes("region_stats", "s3.csv", bad.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!((r.first_rejections[0].reason.as_str(), r.first_rejections[0].field.as_deref()), ("inconsistent", Some("households")));
    let bad = "code,name,level,parent_code,kind\nabc,假村,village,410181002,\n4101810022,长码村,village,410181002,\n";
    let r = f.ingestor.ingest_bytes("regions", "r.csv", bad.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!(r.rejected, 2);
    assert!(r.first_rejections.iter().all(|q| q.reason == "invalid_code" && q.field.as_deref() == Some("code")));
    let areas = format!("region_code,institution_id,valid_from,valid_to\n{VILLAGE},gongyi_rcb,2019-01-01,\n410181001,gongyi_rcb,2019-01-01,\n");
    let r = f.ingestor.ingest_bytes("service_areas", "a.csv", areas.as_bytes(), Format::Csv).await.unwrap();
    assert_eq!((r.accepted, r.rejected), (1, 1));
    assert_eq!(r.first_rejections[0].reason, "wrong_region_level");
}

#[tokio::test]
async fn unknown_stream_is_an_error_not_a_quarantine() {
    let f = fixture("unknown").await;
    let e = f.ingestor.ingest_bytes("loans", "t", b"{}", Format::Ndjson).await.unwrap_err();
    assert!(e.to_string().contains("unknown stream `loans`"));
}
