//! The API's description, `GET /v1/openapi.json` (OpenAPI 3.1).
//!
//! Written by hand in `openapi.json` rather than derived: the request and
//! answer types live in gocua-protocol, which the phone library builds too,
//! and the handlers read their bodies themselves (limits, bundles), so a
//! derive would describe little and cost every build. The tests hold the
//! document to the router: every path and method the router has
//! (`api::route_table`) is described, and nothing else.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /v1/openapi.json`.
pub async fn document() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        DOCUMENT,
    )
        .into_response()
}

/// The paths and methods (lower case, as OpenAPI writes them) `document`
/// describes, sorted.
pub fn described(document: &serde_json::Value) -> Vec<(String, String)> {
    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    let mut out: Vec<(String, String)> = document
        .get("paths")
        .and_then(serde_json::Value::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(path, item)| {
            METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (path.clone(), (*m).to_string()))
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out
}

/// The router's paths and methods, in the same form.
pub fn routed() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = crate::api::route_table()
        .into_iter()
        .map(|(path, method)| (path.to_string(), method.as_str().to_ascii_lowercase()))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Every `$ref` of `v` points at something in `root`.
    fn refs_resolve(root: &serde_json::Value, v: &serde_json::Value, bad: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(r)) = map.get("$ref") {
                    let found = r
                        .strip_prefix('#')
                        .and_then(|pointer| root.pointer(pointer))
                        .is_some();
                    if !found {
                        bad.push(r.clone());
                    }
                }
                for child in map.values() {
                    refs_resolve(root, child, bad);
                }
            }
            serde_json::Value::Array(items) => {
                for child in items {
                    refs_resolve(root, child, bad);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_document_describes_the_routes_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3."),
            "{}",
            doc["openapi"]
        );
        let routed = routed();
        // A router that records nothing would make this test pass empty.
        assert!(routed.contains(&("/v1/push".into(), "post".into())));
        assert_eq!(described(&doc), routed);
        let mut bad = Vec::new();
        refs_resolve(&doc, &doc, &mut bad);
        assert!(bad.is_empty(), "unresolved $ref: {bad:?}");
        // Every operation says what it answers, and has an id of its own.
        let mut ids = std::collections::BTreeSet::new();
        for (path, method) in described(&doc) {
            let op = &doc["paths"][&path][&method];
            assert!(op["responses"]["200"].is_object(), "{method} {path}");
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id), "{method} {path}: operationId used twice");
        }
    }
}
