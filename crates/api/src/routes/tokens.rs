//! Token lifecycle over the API (admin only): issue, list, rotate, revoke.
//! Secrets appear only in the answers to issue and rotate.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_store::tokens::{self, NewToken, Role, TokenError, TokenRecord};
use utoipa::ToSchema;

use crate::auth::Auth;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueToken {
    /// admin, agent, bot, analyst or auditor.
    pub role: String,
    /// Bind to an agent: messages written with the token are that agent's.
    pub agent_id: Option<String>,
    pub label: Option<String>,
    /// When the token stops working (RFC 3339, in the future).
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateToken {
    /// How long the old secret keeps working (default 24 h, at most 30 days).
    pub grace_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub role: String,
    pub agent_id: Option<String>,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub previous_valid_until: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<TokenRecord> for TokenView {
    fn from(r: TokenRecord) -> Self {
        Self {
            id: r.id,
            role: r.role.to_string(),
            agent_id: r.agent_id,
            label: r.label,
            created_at: r.created_at,
            expires_at: r.expires_at,
            rotated_at: r.rotated_at,
            previous_valid_until: r.previous_valid_until,
            revoked_at: r.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IssuedToken {
    pub token: TokenView,
    /// The secret, shown this once.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<TokenView>,
}

fn map_err(e: TokenError) -> ApiError {
    match e {
        TokenError::NotFound => ApiError::NotFound("token not found".into()),
        TokenError::Revoked => ApiError::Conflict {
            slug: "token-revoked",
            detail: "the token is revoked".into(),
        },
        TokenError::Conflict => ApiError::Conflict {
            slug: "contended",
            detail: "the token changed concurrently; try again".into(),
        },
        TokenError::Database(d) => d.into(),
        TokenError::Json(j) => ApiError::Internal(anyhow::Error::new(j)),
    }
}

/// Issue a token in the caller's workspace.
#[utoipa::path(post, path = "/v1/tokens", tag = "auth", request_body = IssueToken,
    responses((status = 201, body = IssuedToken), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn issue(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<IssueToken>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let role: Role = body
        .role
        .parse()
        .map_err(|e: String| ApiError::field("role", e))?;
    let agent = match body.agent_id.as_deref() {
        Some(a) => Some(
            a.parse::<tgcrm_domain::AgentId>()
                .map_err(|_| ApiError::field("agent_id", "must be a UUID"))?
                .to_string(),
        ),
        None => None,
    };
    if let Some(l) = &body.label
        && (l.trim().is_empty() || l.chars().count() > 100)
    {
        return Err(ApiError::field("label", "must be 1–100 characters"));
    }
    let now = state.clock.now();
    if body.expires_at.is_some_and(|e| e <= now) {
        return Err(ApiError::field("expires_at", "must be in the future"));
    }
    let (record, secret) = tokens::issue(
        state.store.db(),
        state.config.token_env,
        &NewToken {
            workspace_id: auth.workspace.as_str(),
            role,
            agent_id: agent.as_deref(),
            label: body.label.as_deref(),
            expires_at: body.expires_at,
        },
        &auth.metadata(),
        now,
    )
    .await
    .map_err(map_err)?;
    // Its event is in the log: the readers here look now.
    state.store.notify_appended();
    Ok(HttpResponse::Created().json(IssuedToken {
        token: record.into(),
        secret: secret.expose().to_owned(),
    }))
}

/// The workspace's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/tokens", tag = "auth",
    responses((status = 200, body = TokenList), (status = 401, body = Problem), (status = 403, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let items = tokens::list(state.store.db(), auth.workspace.as_str()).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        items: items.into_iter().map(Into::into).collect(),
    }))
}

/// A new secret; the old one keeps working for the grace period, then stops.
#[utoipa::path(post, path = "/v1/tokens/{id}/rotate", tag = "auth", request_body(content = Option<RotateToken>),
    params(("id" = String, Path)),
    responses((status = 200, body = IssuedToken), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Option<web::Json<RotateToken>>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let grace = match body.grace_seconds {
        None => state.config.rotation_grace,
        Some(s) if (0..=30 * 86_400).contains(&s) => chrono::Duration::seconds(s),
        Some(_) => {
            return Err(ApiError::field(
                "grace_seconds",
                "must be between 0 and 2592000",
            ));
        }
    };
    let (record, secret) = tokens::rotate(
        state.store.db(),
        state.config.token_env,
        auth.workspace.as_str(),
        &path,
        grace,
        &auth.metadata(),
        state.clock.now(),
    )
    .await
    .map_err(map_err)?;
    // Its event is in the log: the readers here look now.
    state.store.notify_appended();
    Ok(HttpResponse::Ok().json(IssuedToken {
        token: record.into(),
        secret: secret.expose().to_owned(),
    }))
}

/// Revoke a token at once.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 200, body = TokenView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let record = tokens::revoke(
        state.store.db(),
        auth.workspace.as_str(),
        &path,
        &auth.metadata(),
        state.clock.now(),
    )
    .await
    .map_err(map_err)?;
    // Its event is in the log: the readers here look now.
    state.store.notify_appended();
    Ok(HttpResponse::Ok().json(TokenView::from(record)))
}
