//! `GET /v1/audit/digest`: the head of the workspace's hash chain, for an
//! auditor to keep outside the system and compare later.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use tgcrm_projections::audit_chain;
use tgcrm_store::tokens::Role;
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{Problem, Result};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Digest {
    pub workspace: String,
    /// How many events the chain covers.
    pub chain_length: i64,
    /// Position token of the newest chained event.
    pub position: Option<String>,
    pub event_id: Option<String>,
    /// SHA-256 (hex) of the newest link; the genesis value when empty.
    pub hash: String,
}

/// The latest head hash and position of this workspace's event chain.
#[utoipa::path(get, path = "/v1/audit/digest", tag = "audit",
    responses((status = 200, body = Digest), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn digest(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Auditor])?;
    let head = audit_chain::head(state.store.db(), auth.workspace.as_str()).await?;
    let body = match head {
        Some(h) => Digest {
            workspace: auth.workspace.to_string(),
            chain_length: h.chain_index,
            position: Some(tgcrm_store::Position::new(h.transaction_id, h.position).token()),
            event_id: Some(h.event_id),
            hash: h.hash,
        },
        None => Digest {
            workspace: auth.workspace.to_string(),
            chain_length: 0,
            position: None,
            event_id: None,
            hash: audit_chain::GENESIS.to_owned(),
        },
    };
    Ok(HttpResponse::Ok().json(body))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AccessLogQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccessLogPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<tgcrm_store::access_log::AccessRow>,
    pub next_cursor: Option<String>,
}

/// Every request made with an analyst or auditor token, newest first.
#[utoipa::path(get, path = "/v1/audit/access-log", tag = "audit", params(AccessLogQuery),
    responses((status = 200, body = AccessLogPage), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn access_log(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<AccessLogQuery>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Auditor])?;
    let limit = super::page_limit(q.limit)?;
    let before = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(
            tgcrm_projections::cursor::decode_i64(c)
                .map_err(|e| crate::ApiError::field("cursor", e.to_string()))?,
        ),
    };
    let mut items =
        tgcrm_store::access_log::list(state.store.db(), auth.workspace.as_str(), before, limit + 1)
            .await?;
    let next = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items
            .last()
            .map(|r| tgcrm_projections::cursor::encode_i64(r.id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AccessLogPage {
        items,
        next_cursor: next,
    }))
}
