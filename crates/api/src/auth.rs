//! Bearer-token authentication and role checks. A token belongs to one
//! workspace; everything it reads or writes is scoped to it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tgcrm_domain::ticket::Author;
use tgcrm_domain::{AgentId, WorkspaceId};
use tgcrm_store::tokens::{self, Role, TokenRecord};
use tgcrm_store::{Metadata, Source};

use crate::error::ApiError;
use crate::request_meta::RequestMeta;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth {
    pub token: TokenRecord,
    pub workspace: WorkspaceId,
    pub agent: Option<AgentId>,
    pub meta: RequestMeta,
}

impl Auth {
    /// Refuse unless the token's role is one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.token.role) {
            Ok(())
        } else {
            let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::Forbidden(format!(
                "a {} token may not do this; allowed roles: {}",
                self.token.role,
                allowed.join(", ")
            )))
        }
    }

    /// May this caller read internal notes?
    pub fn is_agent_role(&self) -> bool {
        matches!(self.token.role, Role::Admin | Role::Agent)
    }

    /// The actor recorded on events this caller causes.
    pub fn actor(&self) -> String {
        match self.agent {
            Some(a) => format!("agent:{a}"),
            None => format!("token:{}", self.token.id),
        }
    }

    /// Event metadata for a command this request issues.
    pub fn metadata(&self) -> Metadata {
        Metadata {
            actor: self.actor(),
            source: Source::Api,
            correlation_id: Some(self.meta.correlation_id.clone()),
            causation_id: None,
            request_id: Some(self.meta.request_id.clone()),
        }
    }

    /// Who a message written with this token is from. Bot tokens relay customers.
    pub fn message_author(&self) -> Author {
        match (self.token.role, self.agent) {
            (Role::Bot, _) => Author::Customer,
            (_, Some(agent_id)) => Author::Agent { agent_id },
            (_, None) => Author::Staff {
                token_id: self.token.id.clone(),
            },
        }
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("send a token: Authorization: Bearer <token>".into())
        })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not valid text".into()))?;
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        ApiError::Unauthorized("use the Bearer scheme: Authorization: Bearer <token>".into())
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "use the Bearer scheme: Authorization: Bearer <token>".into(),
        ));
    }
    Ok(token.trim().to_owned())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let secret = bearer(req);
        let method = req.method().to_string();
        let path = req.path().to_owned();
        let query = req.query_string().to_owned();
        let req_for_ext = Some(req.clone());
        let meta = RequestMeta::from_request(req, payload).into_inner();
        Box::pin(async move {
            let secret = secret?;
            let state = state
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            if secret.len() > 200 {
                return Err(ApiError::Unauthorized("the token is not valid".into()));
            }
            let token = match tokens::authenticate(
                state.store.db(),
                state.config.token_env,
                &secret,
                state.clock.now(),
            )
            .await?
            {
                Ok(t) => t,
                Err(tokens::Rejection::WrongEnvironment {
                    token_env,
                    deployment_env,
                }) => {
                    return Err(ApiError::Unauthorized(format!(
                        "this is a {token_env} token; this deployment accepts only {deployment_env} tokens"
                    )));
                }
                Err(tokens::Rejection::Expired) => {
                    return Err(ApiError::Unauthorized("the token has expired".into()));
                }
                Err(tokens::Rejection::Unknown) => {
                    return Err(ApiError::Unauthorized(
                        "the token is not valid or has been revoked".into(),
                    ));
                }
            };
            if let Some(rate) = state.limiter.check(token.role, &token.id) {
                if let Some(req) = &req_for_ext {
                    req.extensions_mut().insert(rate);
                }
                if !rate.allowed {
                    return Err(ApiError::TooManyRequests {
                        limit: rate.limit,
                        retry_after: rate.reset_seconds,
                    });
                }
            }
            let workspace = WorkspaceId::parse(&token.workspace_id).map_err(|e| {
                ApiError::Internal(anyhow::anyhow!("stored token has a bad workspace: {e}"))
            })?;
            let agent = token.agent_id.as_deref().and_then(|a| a.parse().ok());
            let meta = meta.map_err(|_| ApiError::Internal(anyhow::anyhow!("request meta")))?;
            if matches!(token.role, Role::Analyst | Role::Auditor) {
                // Reads of history by analysts and auditors are themselves on record.
                tgcrm_store::access_log::record(
                    state.store.db(),
                    &tgcrm_store::access_log::Access {
                        workspace_id: &token.workspace_id,
                        token_id: &token.id,
                        role: token.role.as_str(),
                        method: &method,
                        path: &path,
                        query: (!query.is_empty()).then_some(query.as_str()),
                        request_id: Some(&meta.request_id),
                        at: state.clock.now(),
                    },
                )
                .await?;
            }
            Ok(Auth {
                token,
                workspace,
                agent,
                meta,
            })
        })
    }
}
