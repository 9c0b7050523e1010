//! Request and correlation ids: taken from `X-Request-Id` / `X-Correlation-Id`
//! when a client sends sane ones, made up otherwise; echoed in the response and
//! written into the metadata of every event the request appends.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};

pub const REQUEST_ID: &str = "x-request-id";
pub const CORRELATION_ID: &str = "x-correlation-id";

#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub correlation_id: String,
}

fn sane(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn header(req: &ServiceRequest, name: &str) -> Option<String> {
    req.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .filter(|v| sane(v))
        .map(str::to_owned)
}

/// Middleware (use with `actix_web::middleware::from_fn`).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let request_id = header(&req, REQUEST_ID).unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let correlation_id = header(&req, CORRELATION_ID).unwrap_or_else(|| request_id.clone());
    req.extensions_mut().insert(RequestMeta {
        request_id: request_id.clone(),
        correlation_id: correlation_id.clone(),
    });
    let span =
        tracing::info_span!("request", request_id = %request_id, correlation_id = %correlation_id);
    let _entered = span.enter();
    drop(_entered);
    let mut res = tracing::Instrument::instrument(next.call(req), span).await?;
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert(HeaderName::from_static(REQUEST_ID), v);
    }
    if let Ok(v) = HeaderValue::from_str(&correlation_id) {
        headers.insert(HeaderName::from_static(CORRELATION_ID), v);
    }
    Ok(res)
}

impl FromRequest for RequestMeta {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let meta = req
            .extensions()
            .get::<RequestMeta>()
            .cloned()
            .unwrap_or_else(|| {
                let id = uuid::Uuid::now_v7().to_string();
                RequestMeta {
                    request_id: id.clone(),
                    correlation_id: id,
                }
            });
        ready(Ok(meta))
    }
}
