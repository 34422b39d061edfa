//! The HTTP contract of the query API, driven through [`router`] over a small temporary warehouse.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::json::ReaderBuilder;
use puhui_transforms::outputs;
use puhui_warehouse::Warehouse;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::router;

/// A warehouse in a fresh directory under the system temp dir, removed on drop.
struct TempWarehouse {
    dir: PathBuf,
    warehouse: Warehouse,
}

impl TempWarehouse {
    fn empty() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "puhui-queries-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let warehouse = Warehouse::open_local(&dir).unwrap();
        TempWarehouse { dir, warehouse }
    }

    /// Scorecards of three counties (one unranked), one township, two institutions, their plan
    /// targets, and `loans_sample` with a decimal and a timestamp.
    async fn with_scorecards() -> Self {
        let wh = Self::empty();
        let county = |unit_id: &str,
                      name: &str,
                      period_type: &str,
                      period: &str,
                      composite: Value,
                      rank: Value| {
            json!({
                "unit_type": "county", "unit_id": unit_id, "name": name, "county_code": unit_id,
                "period_type": period_type, "period": period,
                "availability": 80.0, "usage": 75.5, "quality": 90.0, "composite": composite,
                "band": if composite.is_null() { Value::Null } else { json!("良") },
                "rank": rank, "rank_of": 2, "change": 1.5, "change_pct": 0.0188,
            })
        };
        wh.append(
            outputs::REGION_SCORECARDS,
            outputs::region_scorecards_schema(),
            vec![
                county("410181", "巩义市", "year", "2021", json!(81.2), json!(2)),
                county("410182", "荥阳市", "year", "2021", json!(88.0), json!(1)),
                county("410183", "新密市", "year", "2021", Value::Null, Value::Null),
                county("410181", "巩义市", "year", "2020", json!(79.7), json!(1)),
                county("410181", "巩义市", "quarter", "2021-Q4", json!(82.0), json!(1)),
                json!({
                    "unit_type": "township", "unit_id": "410181100", "name": "米河镇", "county_code": "410181",
                    "period_type": "year", "period": "2021", "composite": 66.0, "band": "中", "rank": 1, "rank_of": 1,
                }),
            ],
        )
        .await;
        let target = |unit_type: &str,
                      unit_id: &str,
                      county: Option<&str>,
                      id: &str,
                      dir: &str,
                      target: f64,
                      value: f64| {
            let met = if dir == "up" {
                value >= target
            } else {
                value <= target
            };
            json!({
                "unit_type": unit_type, "unit_id": unit_id, "county_code": county, "period_type": "year",
                "period": "2021", "indicator_id": id, "direction": dir, "target": target, "value": value, "met": met,
            })
        };
        wh.append(
            outputs::TARGET_ATTAINMENT,
            outputs::target_attainment_schema(),
            vec![
                target("county", "410181", Some("410181"), "R12", "down", 6.75, 6.5),
                target("county", "410181", Some("410181"), "R09", "up", 0.6, 0.52),
                target("county", "410182", Some("410182"), "R09", "up", 0.6, 0.66),
                target(
                    "township",
                    "410181100",
                    Some("410181"),
                    "R09",
                    "up",
                    0.6,
                    0.7,
                ),
                target("institution", "I001", None, "I05", "down", 2.0, 3.1),
                target(
                    "institution_county",
                    "I001:410181",
                    Some("410181"),
                    "I05",
                    "down",
                    2.0,
                    1.2,
                ),
            ],
        )
        .await;
        let institution = |id: &str, name: &str, county: Value, composite: f64, rank: i64| {
            json!({
                "institution_id": id, "name": name, "county_code": county, "period_type": "year", "period": "2021",
                "composite": composite, "band": "良", "rank": rank, "rank_of": 2,
            })
        };
        wh.append(
            outputs::INSTITUTION_SCORECARDS,
            outputs::institution_scorecards_schema(),
            vec![
                institution("I001", "巩义农商银行", Value::Null, 75.0, 2),
                institution("I002", "邮储银行郑州分行", Value::Null, 90.0, 1),
                institution("I001", "巩义农商银行", json!("410181"), 70.0, 1),
            ],
        )
        .await;
        let loans = std::sync::Arc::new(Schema::new(vec![
            Field::new("loan_id", DataType::Utf8, false),
            Field::new("amount", DataType::Decimal128(18, 2), true),
            Field::new(
                "granted_at",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
        ]));
        wh.append(
            "loans_sample",
            loans,
            vec![json!({"loan_id": "L1", "amount": "30000.00", "granted_at": "2021-01-01T00:00:00Z"})],
        )
        .await;
        wh
    }

    /// Appends rows given as JSON objects; provenance columns get defaults.
    async fn append(&self, table: &str, schema: SchemaRef, rows: Vec<Value>) {
        let rows: Vec<Value> = rows
            .into_iter()
            .map(|mut row| {
                let object = row.as_object_mut().unwrap();
                object
                    .entry("methodology_version")
                    .or_insert(json!("2024.1"));
                object
                    .entry("computed_at")
                    .or_insert(json!("2022-01-05T00:00:00Z"));
                object.entry("source_versions").or_insert(json!("{}"));
                row
            })
            .collect();
        let mut decoder = ReaderBuilder::new(schema.clone()).build_decoder().unwrap();
        decoder.serialize(&rows).unwrap();
        let batch: RecordBatch = decoder.flush().unwrap().unwrap();
        self.warehouse
            .append(table, &schema, &[], vec![batch])
            .await
            .unwrap();
    }

    async fn call(&self, request: Request<Body>) -> (StatusCode, String, Vec<u8>) {
        let response = router(self.warehouse.clone())
            .oneshot(request)
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, content_type, body.to_vec())
    }

    async fn get(&self, uri: &str) -> (StatusCode, Value) {
        let (status, content_type, body) = self
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        assert!(
            content_type.starts_with("application/json"),
            "{uri}: {content_type}"
        );
        (status, serde_json::from_slice(&body).unwrap())
    }

    async fn get_text(&self, uri: &str) -> (StatusCode, String, String) {
        let (status, content_type, body) = self
            .call(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        (status, content_type, String::from_utf8(body).unwrap())
    }

    async fn sql(&self, uri: &str, sql: &str) -> (StatusCode, String, Vec<u8>) {
        self.call(
            Request::post(uri)
                .body(Body::from(sql.to_string()))
                .unwrap(),
        )
        .await
    }

    async fn sql_json(&self, sql: &str) -> (StatusCode, Value) {
        let (status, content_type, body) = self.sql("/v1/sql", sql).await;
        assert!(
            content_type.starts_with("application/json"),
            "{sql}: {content_type}"
        );
        (status, serde_json::from_slice(&body).unwrap())
    }
}

impl Drop for TempWarehouse {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn sql_returns_rows_as_json_and_csv() {
    let wh = TempWarehouse::with_scorecards().await;
    let (status, out) = wh
        .sql_json(
            "SELECT unit_id, name, composite, rank FROM region_scorecards \
             WHERE unit_type = 'county' AND period = '2021' ORDER BY unit_id",
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out["columns"][0],
        json!({"name": "unit_id", "type": "Utf8"})
    );
    assert_eq!(out["rows"].as_array().unwrap().len(), 3);
    assert_eq!(
        out["rows"][0],
        json!({"unit_id": "410181", "name": "巩义市", "composite": 81.2, "rank": 2})
    );
    assert_eq!(out["rows"][2]["composite"], Value::Null);

    // JSON body; decimals as strings with their scale, timestamps with an offset.
    let request = Request::post("/v1/sql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"sql": "SELECT amount, granted_at FROM loans_sample"}).to_string(),
        ))
        .unwrap();
    let (status, _, body) = wh.call(request).await;
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        out["columns"][0],
        json!({"name": "amount", "type": "Decimal128(18, 2)"})
    );
    assert_eq!(
        out["rows"],
        json!([{"amount": "30000.00", "granted_at": "2021-01-01T00:00:00+00:00"}])
    );

    let (status, content_type, body) = wh
        .sql(
            "/v1/sql?format=csv",
            "SELECT loan_id, amount, amount * 2 AS twice FROM loans_sample",
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "loan_id,amount,twice\r\nL1,30000.00,60000.00\r\n"
    );

    let (_, _, body) = wh
        .sql("/v1/sql?format=csv&bom=true", "SELECT 1 AS one")
        .await;
    assert_eq!(body, b"\xEF\xBB\xBFone\r\n1\r\n");

    let (status, out) = wh
        .sql_json("SELECT unit_id FROM region_scorecards WHERE unit_id = 'none'")
        .await;
    assert_eq!((status, out["rows"].clone()), (StatusCode::OK, json!([])));

    // Several record batches stream as one JSON document and one CSV with one header.
    let many = "SELECT value FROM generate_series(1, 20000)";
    let (_, out) = wh.sql_json(many).await;
    assert_eq!(out["rows"].as_array().unwrap().len(), 20000);
    assert_eq!(out["rows"][19999], json!({"value": 20000}));
    let (_, _, body) = wh.sql("/v1/sql?format=csv", many).await;
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        (text.lines().count(), text.matches("value").count()),
        (20001, 1)
    );

    let request = Request::post("/v1/sql")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("SELECT 1"))
        .unwrap();
    let (status, _, body) = wh.call(request).await;
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, out["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_body"))
    );
}

#[tokio::test]
async fn sql_refuses_everything_but_one_read_only_query() {
    let wh = TempWarehouse::with_scorecards().await;
    for sql in [
        "DROP TABLE region_scorecards",
        "INSERT INTO region_scorecards (unit_id) VALUES ('x')",
        "CREATE EXTERNAL TABLE leak STORED AS CSV LOCATION '/etc/'",
        "COPY region_scorecards TO '/tmp/puhui-leak.csv'",
        "SET datafusion.execution.batch_size = 1",
        "SELECT 1; DROP TABLE x",
        "SELECT 1 AS a INTO copied",
        "",
    ] {
        let (status, out) = wh.sql_json(sql).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{sql}: {out}");
        assert_eq!(out["error"], "refused", "{sql}: {out}");
        let message = out["message"].as_str().unwrap();
        assert!(
            message.starts_with("refused ") && message.contains("only one read-only SELECT"),
            "{message}"
        );
    }
    let (_, out) = wh.sql_json("DROP TABLE region_scorecards").await;
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("`DROP TABLE region_scorecards`"),
        "{out}"
    );
    let (_, out) = wh.sql_json("SELECT 1; DROP TABLE x").await;
    assert!(
        out["message"].as_str().unwrap().contains("2 statements"),
        "{out}"
    );

    let (status, out) = wh
        .sql_json("SELECT count(*) AS n FROM region_scorecards")
        .await;
    assert_eq!(
        (status, out["rows"][0]["n"].clone()),
        (StatusCode::OK, json!(6)),
        "nothing was dropped"
    );

    let (status, out) = wh.sql_json("SELECT * FROM no_such_table").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert_eq!(out["error"], "invalid_sql");
    assert!(
        out["message"].as_str().unwrap().contains("no_such_table"),
        "{out}"
    );

    let (status, out) = wh
        .sql_json("SELECT no_such_column FROM region_scorecards")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{out}");
    assert!(
        out["message"].as_str().unwrap().contains("no_such_column"),
        "{out}"
    );

    let (status, _, body) = wh.sql("/v1/sql?format=xml", "SELECT 1").await;
    let out: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, out["error"].clone()),
        (StatusCode::BAD_REQUEST, json!("bad_parameter"))
    );
}

#[tokio::test]
async fn region_scorecards_with_targets() {
    let wh = TempWarehouse::with_scorecards().await;
    let (status, out) = wh
        .get("/v1/scorecards/region?level=county&period=2021")
        .await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(
        (
            &out["level"],
            &out["period_type"],
            &out["period"],
            &out["methodology_version"]
        ),
        (
            &json!("county"),
            &json!("year"),
            &json!("2021"),
            &json!("2024.1")
        )
    );
    let ids: Vec<&str> = out["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unit_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["410182", "410181", "410183"],
        "by rank, unranked last"
    );
    assert_eq!(
        out["rows"][1],
        json!({
            "unit_id": "410181", "name": "巩义市", "county_code": "410181",
            "availability": 80.0, "usage": 75.5, "quality": 90.0, "composite": 81.2, "band": "良",
            "rank": 2, "rank_of": 2, "change": 1.5, "change_pct": 0.0188,
            "targets": [
                {"indicator_id": "R09", "direction": "up", "target": 0.6, "value": 0.52, "met": false},
                {"indicator_id": "R12", "direction": "down", "target": 6.75, "value": 6.5, "met": true},
            ],
        })
    );
    assert_eq!(out["rows"][2]["targets"], json!([]));

    // The latest period by default; the period type from the label; a county filter.
    let (_, out) = wh.get("/v1/scorecards/region?level=county").await;
    assert_eq!(
        (&out["period"], out["rows"].as_array().unwrap().len()),
        (&json!("2021"), 3)
    );
    let (_, out) = wh
        .get("/v1/scorecards/region?level=county&period=2021-Q4")
        .await;
    assert_eq!(
        (&out["period_type"], &out["rows"][0]["composite"]),
        (&json!("quarter"), &json!(82.0))
    );
    let (_, out) = wh
        .get("/v1/scorecards/region?level=county&period_type=quarter")
        .await;
    assert_eq!(out["period"], "2021-Q4");
    let (_, out) = wh
        .get("/v1/scorecards/region?level=township&period=2021&county=410181")
        .await;
    assert_eq!(out["rows"][0]["unit_id"], "410181100");
    assert_eq!(out["rows"][0]["targets"][0]["value"], 0.7);

    for (uri, status) in [
        (
            "/v1/scorecards/region?level=province&period=2021",
            StatusCode::BAD_REQUEST,
        ),
        ("/v1/scorecards/region?period=2021", StatusCode::BAD_REQUEST),
        (
            "/v1/scorecards/region?level=county&period=2021-13",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/scorecards/region?level=county&period=2021'%20OR%20'1'='1",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/scorecards/region?level=county&period=2021&period_type=month",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/scorecards/region?level=county&county=41018x",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/scorecards/region?level=county&perod=2021",
            StatusCode::BAD_REQUEST,
        ),
        (
            "/v1/scorecards/region?level=county&period=2019",
            StatusCode::NOT_FOUND,
        ),
        ("/v1/scorecards/region?level=village", StatusCode::NOT_FOUND),
    ] {
        let (got, out) = wh.get(uri).await;
        assert_eq!(got, status, "{uri}: {out}");
        assert!(
            out["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{uri}: {out}"
        );
    }
    let (_, out) = wh
        .get("/v1/scorecards/region?level=county&period=2019")
        .await;
    let message = out["message"].as_str().unwrap();
    assert!(
        message.contains("county") && message.contains("2019"),
        "{message}"
    );
}

#[tokio::test]
async fn region_scorecards_as_flat_csv() {
    let wh = TempWarehouse::with_scorecards().await;
    let (status, content_type, text) = wh
        .get_text("/v1/scorecards/region?level=county&period=2021&format=csv&bom=true")
        .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    let lines: Vec<&str> = text.strip_prefix('\u{feff}').unwrap().lines().collect();
    assert_eq!(
        lines[0],
        "unit_id,name,county_code,availability,usage,quality,composite,band,rank,rank_of,change,change_pct,\
         R09_value,R09_met,R12_value,R12_met"
    );
    assert_eq!(
        lines[2],
        "410181,巩义市,410181,80.0,75.5,90.0,81.2,良,2,2,1.5,0.0188,0.52,false,6.5,true"
    );
    assert_eq!(
        lines[3],
        "410183,新密市,410183,80.0,75.5,90.0,,,,2,1.5,0.0188,,,,"
    );
}

#[tokio::test]
async fn institution_scorecards_with_targets() {
    let wh = TempWarehouse::with_scorecards().await;
    let (status, out) = wh.get("/v1/scorecards/institution?period=2021").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["level"], "institution");
    let ids: Vec<&str> = out["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["institution_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["I002", "I001"]);
    assert_eq!(out["rows"][1]["county_code"], Value::Null);
    assert_eq!(out["rows"][1]["targets"][0]["value"], 3.1);
    assert_eq!(out["rows"][0]["targets"], json!([]));

    let (status, out) = wh.get("/v1/scorecards/institution?county=410181").await;
    assert_eq!(status, StatusCode::OK, "{out}");
    assert_eq!(out["level"], "institution_county");
    assert_eq!(out["rows"].as_array().unwrap().len(), 1);
    assert_eq!(
        (&out["rows"][0]["composite"], &out["rows"][0]["county_code"]),
        (&json!(70.0), &json!("410181"))
    );
    assert_eq!(out["rows"][0]["targets"][0]["value"], 1.2);
}

#[tokio::test]
async fn health_and_missing_index() {
    let wh = TempWarehouse::with_scorecards().await;
    let (status, out) = wh.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(out["status"], "ok");
    assert!(
        out["tables"]["region_scorecards"].as_i64().is_some(),
        "{out}"
    );

    let empty = TempWarehouse::empty();
    let (status, out) = empty.get("/healthz").await;
    assert_eq!((status, out["tables"].clone()), (StatusCode::OK, json!({})));
    let (status, out) = empty.get("/v1/scorecards/region?level=county").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        out["message"]
            .as_str()
            .unwrap()
            .contains("not been computed"),
        "{out}"
    );
}
