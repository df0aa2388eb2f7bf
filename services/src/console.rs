//! The web console (services/console/), embedded in the binary: `/` and
//! `/console/` serve its page, `/console/<file>` its script and stylesheet.
//! The files are built by `npm run build` in services/console into dist/,
//! which is committed, so building the binary needs no Node.js.
//!
//! Caching: the script and stylesheet carry a content hash in their names and
//! never change (`immutable`, a year); the page itself is revalidated on every
//! load (`no-cache` with an ETag), so a new binary's console is picked up at once.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// One embedded file of services/console/dist.
pub struct Asset {
    pub name: &'static str,
    /// A quoted strong ETag: a hash of the content.
    pub etag: &'static str,
    /// Its name carries its content hash: cache it for good.
    pub immutable: bool,
    pub body: &'static [u8],
}

/// Written by services/console/build.mjs; `include_bytes!` makes cargo
/// rebuild when a file of dist/ changes.
pub static ASSETS: &[Asset] = include!(concat!(env!("CARGO_MANIFEST_DIR"), "/console/dist/assets.rs"));

/// The page's policy: only this origin's script, style and API.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's routes, without state: merge it into the API router
/// (`api::router(svc).merge(console::router())`). It has no fallback, so the
/// API's JSON 404 stays the answer for unknown paths.
pub fn router() -> Router {
    Router::new()
        .route("/", get(index))
        .route("/console", get(index))
        .route("/console/", get(index))
        .route("/console/{file}", get(file))
}

async fn index(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn file(Path(name): Path<String>, headers: HeaderMap) -> Response {
    serve(&name, &headers)
}

fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(name: &str, req: &HeaderMap) -> Response {
    // assets.rs is the build's list, not a page file: never served.
    let Some(asset) = find(name).filter(|a| !a.name.ends_with(".rs")) else {
        return (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("no console file '{name}'; open /console/"),
        )
            .into_response();
    };
    let cache = if asset.immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(asset.name)));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::ETAG, HeaderValue::from_static(asset.etag));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if asset.name.ends_with(".html") {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    let fresh = req
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag || t.trim() == "*"));
    if fresh {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    (StatusCode::OK, headers, asset.body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::{to_bytes, Body};
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(path: &str, if_none_match: Option<&str>) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(path);
        if let Some(tag) = if_none_match {
            req = req.header(header::IF_NONE_MATCH, tag);
        }
        let resp = router().oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = to_bytes(resp.into_body(), usize::MAX).await.expect("body");
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn page_script_and_style_with_types_and_caching() {
        for path in ["/", "/console", "/console/"] {
            let (status, h, body) = call(path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}");
            assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
            assert_eq!(h[header::CACHE_CONTROL], "no-cache");
            assert!(h[header::CONTENT_SECURITY_POLICY].to_str().expect("csp").contains("script-src 'self'"));
            assert!(body.contains("<title>Cepheus</title>"), "{body}");
        }
        let (_, _, page) = call("/", None).await;
        // Every file the page names is served, typed and cached for good.
        let refs: Vec<&str> = page.split('"').filter(|s| s.starts_with("/console/app-")).collect();
        assert_eq!(refs.len(), 2, "{page}");
        for r in refs {
            let (status, h, body) = call(r, None).await;
            assert_eq!(status, StatusCode::OK, "{r}");
            let ct = h[header::CONTENT_TYPE].to_str().expect("ct");
            assert!(ct.starts_with(if r.ends_with(".js") { "text/javascript" } else { "text/css" }), "{r}: {ct}");
            assert_eq!(h[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
            assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert!(body.len() > 1000, "{r} is {} bytes", body.len());
        }
    }

    #[tokio::test]
    async fn etag_revalidation_and_unknown_files() {
        let (_, h, _) = call("/", None).await;
        let tag = h[header::ETAG].to_str().expect("etag").to_string();
        let (status, _, body) = call("/", Some(&tag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED);
        assert!(body.is_empty());
        let (status, _, _) = call("/", Some("\"something-else\"")).await;
        assert_eq!(status, StatusCode::OK);
        for missing in ["/console/nope.js", "/console/assets.rs", "/console/..%2Fsrc%2Fmain.ts"] {
            let (status, _, _) = call(missing, None).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
        }
    }
}
