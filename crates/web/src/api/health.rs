//! Liveness and readiness.

use axum::extract::State;
use axum::http::StatusCode;
use schemars::JsonSchema;
use serde::Serialize;

use crate::AppState;

#[derive(Debug, Serialize, JsonSchema)]
pub struct Health {
    pub status: &'static str,
}

pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, axum::Json<Health>) {
    match state.services.store().ping().await {
        Ok(()) => (StatusCode::OK, axum::Json(Health { status: "ready" })),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(Health {
                    status: "database unavailable",
                }),
            )
        }
    }
}
