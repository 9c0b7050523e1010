//! Extractor configuration: JSON bodies are size-limited and strict, and every
//! extractor failure becomes a problem+json answer.

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, web};

use crate::error::ApiError;

/// Largest JSON body accepted (overridable by [`crate::ApiConfig`] at wiring time).
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config(DEFAULT_BODY_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(web::PathConfig::default().error_handler(path_error));
}

pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(json_error)
}

fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { length, limit } => ApiError::PayloadTooLarge(
            format!("the body is {length} bytes; at most {limit} are accepted"),
        ),
        JsonPayloadError::Overflow { limit } => ApiError::PayloadTooLarge(format!(
            "the body is larger than the {limit} bytes accepted"
        )),
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "send the body as JSON with Content-Type: application/json".into(),
        ),
        JsonPayloadError::Deserialize(e) => {
            ApiError::BadRequest(format!("the JSON body does not fit: {e}"))
        }
        JsonPayloadError::Serialize(_) => {
            ApiError::BadRequest("the JSON body could not be read".into())
        }
        JsonPayloadError::Payload(e) => {
            ApiError::BadRequest(format!("the body could not be read: {e}"))
        }
        _ => ApiError::BadRequest("the JSON body could not be read".into()),
    };
    api.into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let detail = match &err {
        QueryPayloadError::Deserialize(e) => format!("the query string does not fit: {e}"),
        _ => "the query string could not be read".to_owned(),
    };
    ApiError::BadRequest(detail).into()
}

fn path_error(_err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound("no such resource".into()).into()
}
