//! End-to-end tests: the real `puhui` binary, driven as a user drives it.
//!
//! One demo run (small scale) is shared by the tests of this file; they then check its output
//! with SQL, independently of the index code, and through the HTTP server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

const SCALE: &str = "0.003";
const COUNTIES: [(&str, &str); 8] = [
    ("410106", "上街区"),
    ("410122", "中牟县"),
    ("410181", "巩义市"),
    ("410182", "荥阳市"),
    ("410183", "新密市"),
    ("410184", "新郑市"),
    ("410185", "登封市"),
    ("410225", "兰考县"),
];

fn puhui() -> Command {
    Command::new(env!("CARGO_BIN_EXE_puhui"))
}

struct Demo {
    root: PathBuf,
    stdout: String,
}

impl Demo {
    fn data(&self) -> PathBuf {
        self.root.join("data")
    }
    fn input(&self) -> PathBuf {
        self.root.join("input")
    }
}

/// Runs `puhui demo --once` once for all tests of this file.
fn demo() -> &'static Demo {
    static DEMO: OnceLock<Demo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let root = std::env::temp_dir().join(format!("puhui-e2e-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let out = puhui()
            .args(["demo", "--once", "--scale", SCALE, "--input-dir"])
            .arg(root.join("input"))
            .arg("--data-dir")
            .arg(root.join("data"))
            .env_remove("PUHUI_SECRET")
            .output()
            .expect("run puhui demo");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(out.status.success(), "demo failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
        Demo { root, stdout }
    })
}

fn sql_json(data: &Path, query: &str) -> Vec<Value> {
    let out = puhui().args(["sql", "--format", "json", query]).arg("--data-dir").arg(data).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("sql --format json prints JSON");
    v["rows"].as_array().expect("rows").clone()
}

fn number(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap(),
        Value::String(s) => s.parse().unwrap(),
        other => panic!("not a number: {other}"),
    }
}

#[test]
fn demo_prints_the_county_scorecard_by_real_names() {
    let d = demo();
    for (code, name) in COUNTIES {
        assert!(d.stdout.contains(code) && d.stdout.contains(name), "{code} {name} missing:\n{}", d.stdout);
    }
    assert!(d.stdout.contains("✓") || d.stdout.contains("✗"));
}

#[test]
fn every_county_has_a_2021_scorecard_within_bounds() {
    let rows = sql_json(
        &demo().data(),
        "SELECT unit_id, composite, availability, usage, quality, band, rank FROM region_scorecards \
         WHERE unit_type = 'county' AND period_type = 'year' AND period = '2021' ORDER BY unit_id",
    );
    let codes: Vec<&str> = rows.iter().map(|r| r["unit_id"].as_str().unwrap()).collect();
    let mut expected: Vec<&str> = COUNTIES.iter().map(|c| c.0).collect();
    expected.sort();
    assert_eq!(codes, expected);
    for r in &rows {
        for col in ["composite", "availability", "usage", "quality"] {
            let x = number(&r[col]);
            assert!((0.0..=100.0).contains(&x), "{col} = {x} in {r}");
        }
        assert!(number(&r["rank"]) >= 1.0);
    }
}

/// R04 of one county, recounted from the generated files without any puhui code.
#[test]
fn station_coverage_matches_an_independent_count_from_the_generated_files() {
    let d = demo();
    let county = "410181";
    let regions = std::fs::read_to_string(d.input().join("regions.csv")).unwrap();
    let admin: std::collections::BTreeSet<String> = regions
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split(',').collect();
            (cols.len() == 5 && cols[2] == "village" && cols[4] == "villagers_committee" && cols[0].starts_with(county))
                .then(|| cols[0].to_string())
        })
        .collect();
    // Open at the end of 2021 (2022-01-01T00:00+08:00): opened before and not closed before.
    let instant = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap();
    let end = instant("2021-12-31T16:00:00Z");
    let mut opened: std::collections::HashMap<String, (String, chrono::DateTime<chrono::FixedOffset>)> =
        Default::default();
    let mut closed: std::collections::HashMap<String, chrono::DateTime<chrono::FixedOffset>> = Default::default();
    let stations = std::fs::File::open(d.input().join("station_events.ndjson")).unwrap();
    for line in BufReader::new(stations).lines() {
        let v: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let t = instant(v["event_time"].as_str().unwrap());
        let station = v["station_id"].as_str().unwrap().to_string();
        match v["event_type"].as_str().unwrap() {
            "station_opened" if t < end => {
                opened.insert(station, (v["region_code"].as_str().unwrap().to_string(), t));
            }
            "station_closed" if t < end => {
                closed.insert(station, t);
            }
            _ => {}
        }
    }
    let covered: std::collections::BTreeSet<&String> = opened
        .iter()
        .filter(|(s, (_, t))| closed.get(*s).is_none_or(|c| c < t))
        .map(|(_, (village, _))| village)
        .filter(|v| admin.contains(*v))
        .collect();
    let expected = covered.len() as f64 / admin.len() as f64;
    let rows = sql_json(
        &d.data(),
        "SELECT value FROM indicator_values WHERE indicator_id = 'R04' AND unit_type = 'county' \
         AND unit_id = '410181' AND period_type = 'year' AND period = '2021'",
    );
    assert_eq!(rows.len(), 1);
    let got = number(&rows[0]["value"]);
    assert!((got - expected).abs() < 1e-9, "R04 {got} vs independent count {expected}");
    assert!(expected > 0.5 && expected < 1.0, "generated coverage is realistic: {expected}");
}

/// A running `puhui serve` on a free port, killed on drop.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    let mut child = puhui()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| line.trim().strip_prefix("dashboard").map(|url| url.trim().trim_end_matches('/').to_string()))
        .expect("serve prints its address");
    // Keep reading what it prints, as a terminal would.
    std::thread::spawn(move || lines.for_each(drop));
    Server { child, base }
}

#[test]
fn served_sql_scorecards_ingest_and_page() {
    let d = demo();
    let server = serve(&d.data());
    let query = "SELECT unit_id, composite FROM region_scorecards WHERE unit_type = 'county' AND period_type = 'year' AND period = '2021'";
    let body: Value = ureq::post(&format!("{}/v1/sql", server.base)).send_string(query).unwrap().into_json().unwrap();
    assert_eq!(body["rows"].as_array().unwrap().len(), 8);

    let card: Value = ureq::get(&format!("{}/v1/scorecards/region?level=county&period=2021", server.base))
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!(card["rows"].as_array().unwrap().len(), 8);
    let inst: Value =
        ureq::get(&format!("{}/v1/scorecards/institution?period=2021", server.base)).call().unwrap().into_json().unwrap();
    assert!(!inst["rows"].as_array().unwrap().is_empty());

    // Writes are refused on the query endpoint with a clear 400.
    match ureq::post(&format!("{}/v1/sql", server.base)).send_string("DROP TABLE region_scorecards") {
        Err(ureq::Error::Status(400, r)) => assert!(r.into_string().unwrap().to_lowercase().contains("read-only")),
        other => panic!("expected 400, got {other:?}"),
    }

    // Push ingest: one good record and one bad; the reply counts both.
    let good = r#"{"event_id":"E2E-1","event_time":"2021-06-01T10:00:00+08:00","event_type":"cash_deposit","station_id":"ST-E2E","amount":"10.00"}"#;
    let bad = r#"{"event_id":"E2E-2","event_time":"2021-06-01T10:00:00+08:00","event_type":"cash_deposit","station_id":"ST-E2E","amount":"ten"}"#;
    let report: Value = ureq::post(&format!("{}/v1/ingest/station_events", server.base))
        .set("Content-Type", "application/x-ndjson")
        .send_string(&format!("{good}\n{bad}\n"))
        .unwrap()
        .into_json()
        .unwrap();
    assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(1), Some(1)));
    assert_eq!(report["first_rejections"][0]["reason"], "invalid_amount");
    assert_eq!(report["first_rejections"][0]["field"], "amount");

    // A deeply nested expression is planned (or refused), never a crash of the server.
    let deep = format!("SELECT count(*) AS n FROM regions WHERE {}", vec!["code = 'x'"; 3000].join(" OR "));
    let body: Value = ureq::post(&format!("{}/v1/sql", server.base)).send_string(&deep).unwrap().into_json().unwrap();
    assert_eq!(body["rows"][0]["n"], 0);
    match ureq::get(&format!("{}/no/such/route", server.base)).call() {
        Err(ureq::Error::Status(404, r)) => assert_eq!(r.into_json::<Value>().unwrap()["error"], "not_found"),
        other => panic!("expected a JSON 404, got {other:?}"),
    }

    let page = ureq::get(&format!("{}/", server.base)).call().unwrap().into_string().unwrap();
    assert!(page.contains("/v1/scorecards/region"));
    let health = ureq::get(&format!("{}/healthz", server.base)).call().unwrap();
    assert_eq!(health.status(), 200);
}

#[test]
fn bad_input_gets_a_clear_error_and_exit_code() {
    let d = demo();
    let out = puhui().args(["sql", "DELETE FROM regions"]).arg("--data-dir").arg(d.data()).output().unwrap();
    assert_eq!(out.status.code(), Some(65));
    let out = puhui().args(["ingest", "nonsense", "x.csv"]).arg("--data-dir").arg(d.data()).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown stream `nonsense`"));
    let out = puhui().args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(78));
}
