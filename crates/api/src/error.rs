//! Every error answer is `application/problem+json` (RFC 9457). Refusals carry
//! their reason; infrastructure failures are logged with their cause and
//! answered opaquely.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use tgcrm_domain::ticket::TicketError;
use tgcrm_domain::values::ValueError;
use tgcrm_store::commands::CommandError;
use utoipa::ToSchema;

/// A field that failed validation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// The field's path in the request, e.g. `customer.name`.
    pub field: String,
    pub message: String,
}

impl From<ValueError> for FieldError {
    fn from(e: ValueError) -> Self {
        Self {
            field: e.field,
            message: e.reason,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be read (malformed JSON, bad header, bad query).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, or not a valid one.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the token's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: no such resource in this workspace.
    #[error("{0}")]
    NotFound(String),
    /// 405: the route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409: the ticket's state does not allow this.
    #[error("{detail}")]
    Conflict { slug: &'static str, detail: String },
    /// 412: `If-Match` names a version the resource is no longer at.
    #[error("the resource is at version {current}; If-Match named {expected}")]
    PreconditionFailed { expected: i64, current: i64 },
    /// 413: the body is larger than allowed.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415: the body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: too many requests for this token; retry after the given seconds.
    #[error(
        "too many requests: this token may make {limit} requests per minute; retry in {retry_after} s"
    )]
    TooManyRequests { limit: u32, retry_after: u64 },
    /// 422: fields failed validation.
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    /// 503: a dependency is not ready (retry after a moment).
    #[error("{0}")]
    Unavailable(String),
    /// 500: something broke on our side; details are logged, not sent.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = ApiError> = std::result::Result<T, E>;

impl ApiError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    fn slug_and_title(&self) -> (&'static str, &'static str) {
        match self {
            Self::BadRequest(_) => ("bad-request", "Bad request"),
            Self::Unauthorized(_) => ("unauthorized", "Unauthorized"),
            Self::Forbidden(_) => ("forbidden", "Forbidden"),
            Self::NotFound(_) => ("not-found", "Not found"),
            Self::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            Self::Conflict { slug, .. } => (slug, "Conflict"),
            Self::PreconditionFailed { .. } => ("precondition-failed", "Precondition failed"),
            Self::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            Self::UnsupportedMediaType(_) => ("unsupported-media-type", "Unsupported media type"),
            Self::Validation(_) => ("validation", "Invalid fields"),
            Self::TooManyRequests { .. } => ("rate-limited", "Too many requests"),
            Self::Unavailable(_) => ("unavailable", "Service unavailable"),
            Self::Internal(_) => ("internal", "Internal server error"),
        }
    }

    pub fn problem(&self) -> Problem {
        let (slug, title) = self.slug_and_title();
        let detail = match self {
            Self::Internal(_) => "something went wrong on our side; it has been logged".to_owned(),
            other => other.to_string(),
        };
        Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: self.status_code().as_u16(),
            detail,
            errors: match self {
                Self::Validation(errors) => errors.clone(),
                _ => vec![],
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(e) = self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.content_type("application/problem+json");
        match self {
            Self::Unauthorized(_) => {
                res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
            }
            Self::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            Self::TooManyRequests { retry_after, .. } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    res.insert_header((header::RETRY_AFTER, v));
                }
            }
            _ => {}
        }
        res.json(self.problem())
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        let detail = e.to_string();
        match e {
            TicketError::NotFound => Self::NotFound("ticket not found".into()),
            TicketError::MessageNotFound => Self::NotFound(detail),
            TicketError::NotMessageAuthor => Self::Forbidden(detail),
            TicketError::NothingToChange(_)
            | TicketError::TooManyTags { .. }
            | TicketError::TooManyFields { .. } => Self::Validation(vec![FieldError {
                field: String::new(),
                message: detail,
            }]),
            TicketError::Closed => Self::Conflict {
                slug: "ticket-closed",
                detail,
            },
            TicketError::CloseRequiresResolved { .. } => Self::Conflict {
                slug: "close-requires-resolved",
                detail,
            },
            TicketError::ArchiveRequiresClosed { .. } => Self::Conflict {
                slug: "archive-requires-closed",
                detail,
            },
            TicketError::NotAssigned => Self::Conflict {
                slug: "not-assigned",
                detail,
            },
        }
    }
}

impl<E: tgcrm_domain::Refusal + Into<ApiError>> From<CommandError<E>> for ApiError {
    fn from(e: CommandError<E>) -> Self {
        match e {
            CommandError::Refused(r) => r.into(),
            CommandError::NotFound => Self::NotFound("not found".into()),
            CommandError::VersionMismatch { expected, current } => {
                Self::PreconditionFailed { expected, current }
            }
            CommandError::Contended => Self::Conflict {
                slug: "contended",
                detail: "the resource kept changing under this request; try again".into(),
            },
            CommandError::Load(l) => l.into(),
            CommandError::Append(e) => e.into(),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<tgcrm_store::SqlError> for ApiError {
    fn from(e: tgcrm_store::SqlError) -> Self {
        if database_unreachable(&e) {
            tracing::error!(error = %e, "database unavailable");
            return Self::Unavailable(
                "the database is not reachable right now; retry shortly".into(),
            );
        }
        Self::Internal(anyhow::Error::new(e))
    }
}

/// The pool could not get a working connection, or the statement found its
/// connection ended by the server (a restart: `57P01`–`57P03`) or lost
/// (class `08`): worth a retry, not a bug.
fn database_unreachable(e: &tgcrm_store::SqlError) -> bool {
    use tgcrm_store::SqlError;
    match e {
        SqlError::PoolTimedOut | SqlError::Io(_) | SqlError::PoolClosed => true,
        SqlError::Database(d) => d
            .code()
            .is_some_and(|c| c.starts_with("57P") || c.starts_with("08")),
        _ => false,
    }
}

impl From<tgcrm_store::load::LoadError> for ApiError {
    fn from(e: tgcrm_store::load::LoadError) -> Self {
        match e {
            tgcrm_store::load::LoadError::Database(d) => d.into(),
            other => Self::Internal(anyhow::Error::new(other)),
        }
    }
}
