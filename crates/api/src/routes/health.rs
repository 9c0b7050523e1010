//! Liveness and readiness.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectorReadiness {
    pub name: String,
    /// Events in the log past this projector's checkpoint.
    pub lag_events: Option<i64>,
    pub checkpoint: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// ready or unavailable.
    pub status: String,
    pub database: String,
    pub projectors: Vec<ProjectorReadiness>,
    /// Postgres: the oldest running transaction, which no projector can pass.
    #[schema(value_type = Option<Object>)]
    pub oldest_transaction: Option<tgcrm_store::health::OldestTransaction>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = Health)))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
    })
}

/// The database is reachable and the projectors are running.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, body = Readiness), (status = 503, body = Readiness)))]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let db = state.store.db();
    if let Err(e) = tgcrm_store::health::ping(db).await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return HttpResponse::ServiceUnavailable().json(Readiness {
            status: "unavailable".into(),
            database: "unreachable".into(),
            projectors: vec![],
            oldest_transaction: None,
        });
    }
    let mut projectors = Vec::new();
    let mut all_running = true;
    for p in tgcrm_projections::all() {
        let cp = tgcrm_store::checkpoints::load(db, p.name())
            .await
            .ok()
            .flatten();
        if cp.is_none() {
            all_running = false;
        }
        let lag = match &cp {
            Some(c) => tgcrm_store::health::events_past(db, c.position).await.ok(),
            None => None,
        };
        projectors.push(ProjectorReadiness {
            name: p.name().to_owned(),
            lag_events: lag,
            checkpoint: cp.map(|c| c.position.token()),
        });
    }
    let oldest = tgcrm_store::health::oldest_transaction(db)
        .await
        .ok()
        .flatten();
    let body = Readiness {
        status: if all_running { "ready" } else { "starting" }.into(),
        database: "ok".into(),
        projectors,
        oldest_transaction: oldest,
    };
    if all_running {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
