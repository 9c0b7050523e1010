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
