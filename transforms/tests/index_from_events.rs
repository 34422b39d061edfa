//! The index job on small hand-made inputs whose answers are computed by hand (METHODOLOGY.md §7):
//! events go in through the real ingest path, indicators come out of the real methodology SQL.

use arrow::array::{Array, AsArray};
use arrow::datatypes::Float64Type;
use puhui_ingest::identity::resident_check_char;
use puhui_ingest::{Format, IdentityHasher, Ingestor};
use puhui_transforms::{compute_index, Methodology};
use puhui_warehouse::store::strings;
use puhui_warehouse::Warehouse;

const TOWNSHIP: &str = "410181002";
const VILLAGES: [&str; 3] = ["410181002201", "410181002202", "410181002203"];

/// The n-th valid resident ID number of the test.
fn person(n: u32) -> String {
    let body = format!("41018119900101{n:03}");
    format!("{body}{}", resident_check_char(&body).unwrap())
}

struct Fixture {
    dir: std::path::PathBuf,
    warehouse: Warehouse,
    ingestor: Ingestor,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Fixture {
    async fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("puhui-index-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let warehouse = Warehouse::open_local(&dir).unwrap();
        let ingestor = Ingestor::new(warehouse.clone(), IdentityHasher::new(b"index-test-secret-key"));
        let f = Fixture { dir, warehouse, ingestor };
        let mut regions = String::from("code,name,level,parent_code,kind\n410181,巩义市,county,410100,\n");
        regions.push_str(&format!("{TOWNSHIP},测试镇,township,410181,town\n"));
        for (i, v) in VILLAGES.iter().enumerate() {
            regions.push_str(&format!("{v},村{i},village,{TOWNSHIP},villagers_committee\n"));
        }
        f.csv("regions", &regions).await;
        f.csv(
            "institutions",
            "institution_id,name_zh,type,local_legal_person\ngongyi_rcb,巩义农商行,rural_commercial_bank,true\n",
        )
        .await;
        f.csv(
            "products",
            "product_id,institution_id,name,category,inclusive_credit,online\n\
             hnd,gongyi_rcb,惠农贷,credit,true,true\nbiz,gongyi_rcb,经营贷,credit,false,false\n",
        )
        .await;
        // E10: farm households 100, 300, 100.
        let mut stats = String::from("region_code,year,households,farm_households\n");
        for (v, farm) in VILLAGES.iter().zip([100, 300, 100]) {
            stats.push_str(&format!("{v},2021,{},{farm}\n", farm + 20));
        }
        f.csv("region_stats", &stats).await;
        let mut areas = String::from("region_code,institution_id,valid_from,valid_to\n");
        for v in VILLAGES {
            areas.push_str(&format!("{v},gongyi_rcb,2019-01-01,\n"));
        }
        f.csv("service_areas", &areas).await;
        f
    }

    async fn csv(&self, table: &str, text: &str) {
        let r = self.ingestor.ingest_bytes(table, "test", text.as_bytes(), Format::Csv).await.unwrap();
        assert_eq!(r.rejected, 0, "{table}: {:?}", r.first_rejections);
    }

    async fn events(&self, stream: &str, lines: &[serde_json::Value]) {
        let body: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        let r = self.ingestor.ingest_bytes(stream, "test", body.join("\n").as_bytes(), Format::Ndjson).await.unwrap();
        assert_eq!(r.rejected, 0, "{stream}: {:?}", r.first_rejections);
    }

    /// (value, score) of one indicator of one unit in one period.
    async fn indicator(&self, id: &str, unit: &str, period: &str) -> (Option<f64>, Option<f64>) {
        let sql = format!(
            "SELECT value, score FROM indicator_values WHERE indicator_id = '{id}' AND unit_id = '{unit}' AND period = '{period}'"
        );
        let b = self.warehouse.query(&sql).await.unwrap();
        assert_eq!(b.iter().map(|b| b.num_rows()).sum::<usize>(), 1, "{id} {unit} {period}");
        let (v, s) = (b[0].column(0).as_primitive::<Float64Type>(), b[0].column(1).as_primitive::<Float64Type>());
        ((!v.is_null(0)).then(|| v.value(0)), (!s.is_null(0)).then(|| s.value(0)))
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 5e-6
}

fn line(n: u32, village: &str, at: &str, t: &str) -> serde_json::Value {
    serde_json::json!({
        "event_id": format!("CL-{n}-{t}"), "event_time": at, "event_type": t, "institution_id": "gongyi_rcb",
        "product_id": "hnd", "borrower_id": person(n), "borrower_type": "farm_household", "region_code": village,
        "credit_line_id": format!("CL-{n}"), "amount": "30000.00"
    })
}

/// E10 through the whole path: 80 of 100, 30 of 300 and 45 of 100 farm households hold an active
/// inclusive line; the township's coverage is 155 / 500 = 0.31 (score 0.516667), not the mean of
/// the village ratios. A revoked line and a line granted after the period do not count.
#[tokio::test]
async fn e10_coverage_is_a_ratio_of_sums_from_events() {
    let f = Fixture::new("e10").await;
    let mut lines = Vec::new();
    let mut n = 0;
    for (village, covered) in VILLAGES.iter().zip([80, 30, 45]) {
        for _ in 0..covered {
            n += 1;
            lines.push(line(n, village, "2021-03-01T10:00:00+08:00", "credit_granted"));
        }
    }
    // Granted then revoked before the end of 2021: not active.
    lines.push(line(900, VILLAGES[0], "2021-02-01T10:00:00+08:00", "credit_granted"));
    let mut revoked = line(900, VILLAGES[0], "2021-06-01T10:00:00+08:00", "credit_revoked");
    revoked.as_object_mut().unwrap().remove("amount");
    lines.push(revoked);
    f.events("loan_events", &lines).await;
    compute_index(&f.warehouse, &Methodology::embedded()).await.unwrap();

    let (value, score) = f.indicator("R09", TOWNSHIP, "2021").await;
    assert!(close(value.unwrap(), 0.31), "{value:?}");
    assert!(close(score.unwrap(), 0.516667 * 1.0), "{score:?}");
    let (village, _) = f.indicator("R09", VILLAGES[0], "2021").await;
    assert!(close(village.unwrap(), 0.80));
    // In February the revoked line was still active: 1 of 100 in village one.
    let (february, _) = f.indicator("R09", VILLAGES[0], "2021-02").await;
    assert!(close(february.unwrap(), 0.01), "{february:?}");
    // The county is the same ratio of sums here (one township).
    let (county, _) = f.indicator("R09", "410181", "2021").await;
    assert!(close(county.unwrap(), 0.31));
    // I02: the institution is responsible for all three villages.
    let (i02, _) = f.indicator("I02", "gongyi_rcb", "2021").await;
    assert!(close(i02.unwrap(), 0.31));
}

fn loan(id: &str, amount: &str, rate: &str, reference: &str, at: &str) -> serde_json::Value {
    serde_json::json!({
        "event_id": format!("D-{id}"), "event_time": at, "event_type": "loan_disbursed", "institution_id": "gongyi_rcb",
        "product_id": "hnd", "borrower_id": person(1), "borrower_type": "farm_household", "region_code": VILLAGES[1],
        "loan_id": id, "amount": amount, "annual_rate_pct": rate, "reference_rate_pct": reference,
        "term_months": 12, "purpose": "agriculture"
    })
}

/// E16: inclusive loans (30000 at 6.5 %, reference 7.2), (50000 at 7.0, reference 7.0) and
/// (20000 at 6.0, reference 6.8) give a weighted rate of 6.65 % and a below-reference share of
/// 2/3 (7.0 is not below 7.0). An ordinary (non-inclusive) loan is left out.
/// NPL: one loan classed substandard after a partial repayment.
#[tokio::test]
async fn e16_rates_and_npl_from_events() {
    let f = Fixture::new("e16").await;
    let mut ordinary = loan("L9", "90000.00", "9.0", "9.5", "2021-05-03T10:00:00+08:00");
    ordinary["product_id"] = "biz".into();
    let mut repaid = loan("L2", "10000.00", "7.0", "7.0", "2021-09-01T10:00:00+08:00");
    repaid["event_type"] = "loan_repaid".into();
    repaid["event_id"] = "R-L2".into();
    let mut classified = loan("L3", "0", "6", "6", "2021-10-01T10:00:00+08:00");
    let c = classified.as_object_mut().unwrap();
    for k in ["amount", "annual_rate_pct", "reference_rate_pct", "term_months", "purpose", "product_id"] {
        c.remove(k);
    }
    c.insert("event_type".into(), "loan_classified".into());
    c.insert("event_id".into(), "C-L3".into());
    c.insert("classification".into(), "substandard".into());
    f.events(
        "loan_events",
        &[
            loan("L1", "30000", "6.5", "7.2", "2021-05-01T10:00:00+08:00"),
            loan("L2", "50000.00", "7.0", "7.0", "2021-05-02T10:00:00+08:00"),
            loan("L3", "20000.00", "6.0", "6.8", "2021-05-03T10:00:00+08:00"),
            ordinary,
            repaid,
            classified,
        ],
    )
    .await;
    compute_index(&f.warehouse, &Methodology::embedded()).await.unwrap();

    let (rate, rate_score) = f.indicator("R20", VILLAGES[1], "2021").await;
    assert!(close(rate.unwrap(), 6.65), "{rate:?}");
    assert!(close(rate_score.unwrap(), 1.0));
    let (below, _) = f.indicator("R21", VILLAGES[1], "2021").await;
    assert!(close(below.unwrap(), 2.0 / 3.0), "{below:?}");
    let (quarter, _) = f.indicator("R20", TOWNSHIP, "2021-Q2").await;
    assert!(close(quarter.unwrap(), 6.65));
    // Outstanding inclusive principal at the end of 2021: 30000 + (50000 − 10000) + 20000 = 90000,
    // of which 20000 non-performing: 22.2222 %.
    let (npl, npl_score) = f.indicator("R28", VILLAGES[1], "2021").await;
    assert!(close(npl.unwrap(), 20000.0 / 90000.0 * 100.0), "{npl:?}");
    assert_eq!(npl_score, Some(0.0));
    // Before the classification (2021-09) the loan was performing.
    let (september, _) = f.indicator("R28", VILLAGES[1], "2021-09").await;
    assert!(close(september.unwrap(), 0.0));
    // R12: 90000 over 300 farm households.
    let (balance, _) = f.indicator("R12", VILLAGES[1], "2021").await;
    assert!(close(balance.unwrap(), 300.0));
    // The institution's own R20 (I13) is the same.
    let (i13, _) = f.indicator("I13", "gongyi_rcb", "2021").await;
    assert!(close(i13.unwrap(), 6.65));
    // Every scorecard row names the methodology and the versions it was computed from.
    let b = f.warehouse.query("SELECT DISTINCT methodology_version, source_versions FROM region_scorecards").await.unwrap();
    assert_eq!(b[0].num_rows(), 1);
    assert_eq!(strings(b[0].column(0)).value(0), "v1");
    assert!(strings(b[0].column(1)).value(0).contains("\"loan_events\""));
}
