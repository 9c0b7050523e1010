//! `GET /v1/me`: who this token is.

use actix_web::{HttpResponse, web};

use crate::auth::Auth;
use crate::dto::MeView;
use crate::error::{Problem, Result};

/// The token's workspace, role, id and bound agent.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = MeView), (status = 401, body = Problem)),
    security(("bearer" = [])))]
pub async fn me(auth: Auth, _: web::Data<crate::AppState>) -> Result<HttpResponse> {
    Ok(HttpResponse::Ok().json(MeView {
        workspace: auth.workspace.to_string(),
        role: auth.token.role.to_string(),
        token_id: auth.token.id.clone(),
        agent_id: auth.agent.map(|a| a.to_string()),
    }))
}
