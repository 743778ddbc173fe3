//! What every answer carries: security headers (CSP and friends), the explorer's static files,
//! request counting.

use super::*;

/// The Content-Security-Policy of every HTML page the relay serves (the landing page, the demo,
/// the offline verifier, the explorer): scripts only from this origin, as files — no inline
/// script, no `eval` (WebAssembly compilation is allowed: the verifier is wasm) — and no framing.
/// `connect-src` allows any relay over HTTP(S) and libp2p WebSocket (`ws:`/`wss:`), since the
/// explorer and the badges read the relays a reader names; WebRTC is not governed by CSP. Inline
/// `style` stays allowed (the badge's shadow-DOM style sheet, Leptos' style attributes): styles
/// cannot run script.
pub const PAGE_CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
     connect-src 'self' http: https: ws: wss:; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy of everything else (JSON, receipts, scripts, wasm): nothing may
/// run when such a file is opened as a document. A policy on a script or module file does not
/// bind the page that loads it, so other sites still embed the widget (CORS allows them).
pub const FILE_CSP: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

/// Security headers on every answer: a CSP (pages: [`PAGE_CSP`], other files: [`FILE_CSP`]),
/// `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, and for pages
/// `X-Frame-Options: DENY` (older browsers' `frame-ancestors`).
pub(super) async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut res = next.run(req).await;
    // A 304 answers a browser's revalidation of a cached file; the browser merges its headers
    // into the cached response. It carries no Content-Type, so it must not carry a policy either:
    // FILE_CSP on a 304 for a cached page would sandbox that page on reload.
    let not_modified = res.status() == StatusCode::NOT_MODIFIED;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let h = res.headers_mut();
    if !not_modified {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(if html { PAGE_CSP } else { FILE_CSP }),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if html && !not_modified {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    res
}

/// `<`, `>`, `&`, `"` and `'` as HTML entities.
pub(super) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The explorer (`web_dir/explorer`, a single-page app): its files, and for every other path
/// under `/explorer/` its `index.html`, so the app's own URLs (`/explorer/scenarios/demo%2Fbudget`)
/// can be shared and reloaded.
pub(super) fn explorer_files(
    dir: &std::path::Path,
) -> tower_http::services::ServeDir<tower_http::services::ServeFile> {
    let dir = dir.join("explorer");
    tower_http::services::ServeDir::new(&dir)
        .fallback(tower_http::services::ServeFile::new(dir.join("index.html")))
}

pub(super) async fn count_requests(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    s.metrics.http_requests.add(1);
    let mut res = next.run(req).await;
    // The API is public and read-mostly; browsers on other origins (the explorer, project pages)
    // may read it.
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}
