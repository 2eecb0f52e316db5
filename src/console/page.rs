//! The page, its script and its style, compiled into the binary so the
//! console works on a machine with no internet and no files beside it.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};

use super::Shared;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/console.js");
const STYLE: &str = include_str!("assets/console.css");

pub(super) async fn index() -> impl IntoResponse {
    ([(header::CACHE_CONTROL, "no-store")], Html(INDEX))
}

pub(super) async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        SCRIPT,
    )
}

pub(super) async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        STYLE,
    )
}

/// What a supervisor or a person checking on the console wants to know.
pub(super) async fn status(State(shared): State<Shared>) -> impl IntoResponse {
    use std::sync::atomic::Ordering;
    Json(serde_json::json!({
        "ready": true,
        "backend": shared.backend,
        "open_relays": shared.stats.relays.load(Ordering::SeqCst),
        "max_websockets": shared.max_websockets,
        "backend_connections": shared.stats.backends.load(Ordering::SeqCst),
    }))
}
