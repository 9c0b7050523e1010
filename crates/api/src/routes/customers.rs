//! `POST /v1/customers/{telegram_user_id}/erase`: the right to erasure, by
//! crypto-shredding (see `tgcrm_store::personal`).

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_domain::values::TelegramUserId;
use tgcrm_store::personal;
use tgcrm_store::tokens::Role;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Erasure {
    pub telegram_user_id: i64,
    pub erased_at: DateTime<Utc>,
    /// Cached aggregate states dropped because they held the data decrypted.
    pub snapshots_dropped: u64,
}

/// Make a customer's personal data unreadable everywhere: their key is
/// destroyed, so names, subjects, messages and attachment references in the
/// log read as `[erased]`; read models scrub theirs. The events, the hash
/// chain and every count stay intact. Irreversible.
#[utoipa::path(post, path = "/v1/customers/{telegram_user_id}/erase", tag = "customers",
    params(("telegram_user_id" = i64, Path)),
    responses((status = 200, body = Erasure), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn erase(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let id = path
        .parse::<i64>()
        .ok()
        .and_then(|i| TelegramUserId::parse(i).ok())
        .ok_or_else(|| ApiError::NotFound("no such customer".into()))?;
    let now = state.clock.now();
    let subject = personal::subject_for(id.get());
    let dropped = personal::erase(
        state.store.db(),
        auth.workspace.as_str(),
        &subject,
        id.get(),
        &auth.metadata(),
        now,
    )
    .await
    .map_err(|e| match e {
        tgcrm_store::append::AppendError::Database(d) => ApiError::from(d),
        // The erasure's own write names no live subject.
        tgcrm_store::append::AppendError::Conflict
        | tgcrm_store::append::AppendError::SubjectErased => ApiError::Conflict {
            slug: "contended",
            detail: "the customer was being erased concurrently; try again".into(),
        },
    })?;
    // The states and keys this process keeps hold personal fields in the
    // clear, or open them; every append checks the subject's key in the
    // database before using one, but nothing of the customer's need stay
    // in memory meanwhile.
    state.store.aggregates().clear();
    state.store.keys().clear();
    state.store.notify_appended();
    Ok(HttpResponse::Ok().json(Erasure {
        telegram_user_id: id.get(),
        erased_at: now,
        snapshots_dropped: dropped,
    }))
}
