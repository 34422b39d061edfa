//! # puhui-dashboards
//!
//! The web dashboard of puhui. It owns the dashboard definitions (one JSON file per dashboard
//! under `assets/dashboards/`: a title, the SQL listing its periods, and panels, each a title, a
//! SQL query and a visual) and the web page that draws them (`assets/index.html`: inline CSS and
//! vanilla JavaScript, no external resources). Both are embedded in the binary.
//!
//! It depends only on the public HTTP contract of the query API, which the page calls from the
//! browser: `GET /v1/scorecards/region` for the `scorecard` visual (the panel's rows with their
//! plan targets) and `POST /v1/sql` for the period list and the `bar` and `table` panels. In a
//! panel's SQL, `{period_type}` and `{period}` stand for the period selected on the page.

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

/// The dashboard page.
pub const INDEX: &str = "/";

/// Every dashboard definition: its route and its JSON text.
const DASHBOARDS: &[(&str, &str)] = &[(
    "/dashboards/county.json",
    include_str!("../assets/dashboards/county.json"),
)];

const INDEX_HTML: &str = include_str!("../assets/index.html");

/// `GET /` (the page) and `GET /dashboards/<name>.json` (the definitions).
pub fn router() -> Router {
    let page = get(|| async { ([(CONTENT_TYPE, "text/html; charset=utf-8")], INDEX_HTML) });
    DASHBOARDS.iter().fold(
        Router::new().route(INDEX, page),
        |router, &(path, definition)| {
            router.route(
                path,
                get(move || async move { ([(CONTENT_TYPE, "application/json")], definition) }),
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get_page(uri: &str) -> (StatusCode, String, String) {
        let response = router()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn page_is_self_contained_html_that_calls_the_api() {
        let (status, content_type, html) = get_page("/").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type, "text/html; charset=utf-8");
        assert!(html.contains("<title>puhui — 普惠金融评价</title>"));
        for path in [
            "/v1/scorecards/region?level=county",
            "/v1/sql",
            "/dashboards/county.json",
        ] {
            assert!(html.contains(path), "the page does not call {path}");
        }
        for external in ["http://", "https://", "//cdn", "<link", "src="] {
            assert!(
                !html.contains(external),
                "the page loads an external resource: {external}"
            );
        }
    }

    #[tokio::test]
    async fn dashboard_definitions_are_json_with_panels() {
        for (path, _) in DASHBOARDS {
            let (status, content_type, body) = get_page(path).await;
            assert_eq!(
                (status, content_type.as_str()),
                (StatusCode::OK, "application/json"),
                "{path}"
            );
            let definition: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert!(
                definition["periods"]
                    .as_str()
                    .is_some_and(|s| s.starts_with("SELECT")),
                "{path}"
            );
            let panels = definition["panels"].as_array().unwrap();
            assert!(!panels.is_empty(), "{path}");
            for panel in panels {
                assert!(
                    panel["title"].is_string() && panel["visual"].is_string(),
                    "{path}: {panel}"
                );
                assert!(
                    panel["sql"]
                        .as_str()
                        .is_some_and(|s| s.starts_with("SELECT")),
                    "{path}: {panel}"
                );
            }
        }
    }
}
