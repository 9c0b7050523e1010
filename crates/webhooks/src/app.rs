//! What the API asks of webhooks: each call decides a command on the endpoint
//! aggregate and appends its events; nothing is sent from here.
//!
//! Where secrets live: the signing secret must be kept in a form we can sign
//! with (HMAC needs the key itself, not a hash), so it cannot be stored like
//! an API token. It does not go into an event payload, because the log is
//! append-only, exported (`crm events export`, `GET /v1/events`) and read by
//! analysts and auditors: a secret there could never be withdrawn. It goes
//! into `webhook_secrets`, written in the same database transaction as the
//! event that names its key id ([`execute_with`]), so an endpoint and its key
//! can never exist one without the other. Events carry only the key id and a
//! fingerprint. Rows are deleted with the endpoint and once a rotated key's
//! grace period is over.

use chrono::{DateTime, Utc};
use tgcrm_domain::Clock;
use tgcrm_store::commands::{
    CommandContext, CommandError, CommandOutcome, SideWrite, execute_with,
};
use tgcrm_store::{EventStore, args};

use crate::endpoint::{
    CreateEndpoint, EndpointId, ReplayFrom, UpdateEndpoint, WebhookCommand, WebhookEndpoint,
    WebhookError, WebhookUrl,
};
use crate::endpoint::{Description, EventTypes};
use crate::signing::SigningSecret;
use crate::ssrf::{SsrfError, check_url};

pub type Outcome = CommandOutcome<WebhookEndpoint>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Command(#[from] CommandError<WebhookError>),
    /// The target may not be called (field `url`).
    #[error("{0}")]
    Target(#[from] SsrfError),
}

fn new_key_id() -> String {
    format!("key_{}", uuid::Uuid::now_v7().simple())
}

fn insert_secret(
    endpoint: &EndpointId,
    key_id: &str,
    secret: &SigningSecret,
    now: DateTime<Utc>,
) -> SideWrite {
    SideWrite {
        sql: "INSERT INTO webhook_secrets (endpoint_id, key_id, secret, created_at, expires_at) \
              VALUES ($1, $2, $3, $4, NULL)"
            .into(),
        args: args![endpoint.to_string(), key_id, secret.expose(), now],
    }
}

/// Refuse targets the SSRF guard would refuse at delivery.
pub async fn check_target(url: &WebhookUrl, allow_private: bool) -> Result<(), SsrfError> {
    let parsed = url.url().ok_or(SsrfError::NoHost)?;
    check_url(&parsed, allow_private).await.map(|_| ())
}

#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: WebhookUrl,
    pub event_types: EventTypes,
    pub description: Option<Description>,
    pub active: bool,
}

/// Create an endpoint; returns it and its secret (shown this once).
pub async fn create(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    new: NewEndpoint,
    allow_private: bool,
) -> Result<(Outcome, SigningSecret), AppError> {
    check_target(&new.url, allow_private).await?;
    let id = EndpointId::new();
    let secret = SigningSecret::generate();
    let key_id = new_key_id();
    let command = WebhookCommand::Create(CreateEndpoint {
        endpoint_id: id,
        workspace_id: ctx.workspace_id.clone(),
        url: new.url,
        event_types: new.event_types,
        description: new.description,
        active: new.active,
        key_id: key_id.clone(),
        key_fingerprint: secret.fingerprint(),
    });
    let writes = [insert_secret(&id, &key_id, &secret, clock.now())];
    let outcome =
        execute_with::<WebhookEndpoint>(store, clock, &id.to_string(), ctx, command, &writes)
            .await?;
    Ok((outcome, secret))
}

/// Change an endpoint; a new URL passes the SSRF guard first.
pub async fn update(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    id: &EndpointId,
    change: UpdateEndpoint,
    allow_private: bool,
) -> Result<Outcome, AppError> {
    if let Some(url) = &change.url {
        check_target(url, allow_private).await?;
    }
    Ok(execute_with::<WebhookEndpoint>(
        store,
        clock,
        &id.to_string(),
        ctx,
        WebhookCommand::Update(change),
        &[],
    )
    .await?)
}

/// A new secret; the previous one keeps signing until `now + grace`.
pub async fn rotate_secret(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    id: &EndpointId,
    grace: chrono::Duration,
) -> Result<(Outcome, SigningSecret), AppError> {
    let now = clock.now();
    let until = now + grace;
    let secret = SigningSecret::generate();
    let key_id = new_key_id();
    let endpoint = id.to_string();
    let writes = [
        SideWrite {
            sql: "UPDATE webhook_secrets SET expires_at = $3 WHERE endpoint_id = $1 AND key_id <> $2 \
                  AND (expires_at IS NULL OR expires_at > $3)"
                .into(),
            args: args![endpoint.as_str(), key_id.as_str(), until],
        },
        SideWrite {
            sql: "DELETE FROM webhook_secrets WHERE endpoint_id = $1 AND expires_at IS NOT NULL AND expires_at < $2"
                .into(),
            args: args![endpoint.as_str(), now],
        },
        insert_secret(id, &key_id, &secret, now),
    ];
    let outcome = execute_with::<WebhookEndpoint>(
        store,
        clock,
        &endpoint,
        ctx,
        WebhookCommand::RotateSecret {
            key_id,
            key_fingerprint: secret.fingerprint(),
            previous_valid_until: until,
        },
        &writes,
    )
    .await?;
    Ok((outcome, secret))
}

/// Delete an endpoint and its secrets; pending deliveries are cancelled by the router.
pub async fn delete(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    id: &EndpointId,
) -> Result<Outcome, AppError> {
    let endpoint = id.to_string();
    let writes = [SideWrite {
        sql: "DELETE FROM webhook_secrets WHERE endpoint_id = $1".into(),
        args: args![endpoint.as_str()],
    }];
    Ok(execute_with::<WebhookEndpoint>(
        store,
        clock,
        &endpoint,
        ctx,
        WebhookCommand::Delete,
        &writes,
    )
    .await?)
}

/// Ask for a delivery to start over (the router resets it).
pub async fn redeliver(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    endpoint: &EndpointId,
    delivery_id: &str,
) -> Result<Outcome, AppError> {
    Ok(execute_with::<WebhookEndpoint>(
        store,
        clock,
        &endpoint.to_string(),
        ctx,
        WebhookCommand::RequestRedelivery {
            delivery_id: delivery_id.to_owned(),
        },
        &[],
    )
    .await?)
}

/// Ask for the log from `from` to be delivered again to an endpoint.
pub async fn replay(
    store: &EventStore,
    clock: &dyn Clock,
    ctx: &CommandContext,
    endpoint: &EndpointId,
    from: ReplayFrom,
    event_types: Option<EventTypes>,
) -> Result<(Outcome, String), AppError> {
    let replay_id = format!("rpl_{}", uuid::Uuid::now_v7().simple());
    let outcome = execute_with::<WebhookEndpoint>(
        store,
        clock,
        &endpoint.to_string(),
        ctx,
        WebhookCommand::RequestReplay {
            replay_id: replay_id.clone(),
            from,
            event_types,
        },
        &[],
    )
    .await?;
    Ok((outcome, replay_id))
}
