//! Webhook mode: Telegram POSTs updates to `/telegram/webhook`; the
//! `X-Telegram-Bot-Api-Secret-Token` header must match the configured secret.

use actix_web::{HttpRequest, HttpResponse, web};
use teloxide::types::Update;

use crate::adapter::BotContext;
use crate::inbound::handle_update;

pub const PATH: &str = "/telegram/webhook";

pub fn configure(ctx: BotContext) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(ctx))
            .service(web::resource(PATH).post(receive));
    }
}

async fn receive(req: HttpRequest, ctx: web::Data<BotContext>, body: web::Bytes) -> HttpResponse {
    let expected = ctx.config.webhook_secret().unwrap_or_default();
    let given = req
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), given.as_bytes()) {
        return HttpResponse::Unauthorized().finish();
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "webhook body is not an Update");
            return HttpResponse::BadRequest().finish();
        }
    };
    match handle_update(&ctx, update).await {
        Ok(()) => HttpResponse::Ok().finish(),
        // Telegram retries non-2xx answers: exactly what a failed handling needs.
        Err(e) => {
            tracing::error!(error = ?e, "handling a webhook update failed");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
