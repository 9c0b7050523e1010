//! Webhook mode: updates arrive on our own route, checked with the secret token.

use secrecy::SecretString;
use serde_json::json;

use crate::helpers::spawn_with;

#[tokio::test]
async fn webhook_updates_need_the_secret_token_and_then_work_like_polled_ones() {
    let bot = spawn_with(|c| {
        c.mode = tgcrm_bot_adapter::Mode::Webhook;
        c.webhook_secret = Some(SecretString::from("s3cret".to_owned()));
    })
    .await;
    let update = json!({
        "update_id": 1,
        "message": {
            "message_id": 17,
            "from": {"id": 555000111, "is_bot": false, "first_name": "Ivan"},
            "chat": {"id": 555000111, "first_name": "Ivan", "type": "private"},
            "date": 1_763_856_000,
            "text": "/start"
        }
    });
    let client = reqwest::Client::new();
    let url = format!("{}/telegram/webhook", bot.address);
    let refused = client.post(&url).json(&update).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let wrong = client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "nope")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 401);
    let ok = client
        .post(&url)
        .header("X-Telegram-Bot-Api-Secret-Token", "s3cret")
        .json(&update)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    bot.wait("the greeting", |calls| {
        calls.iter().any(|c| c.name() == "sendmessage")
    })
    .await;
    assert!(
        bot.telegram.calls_of("getUpdates").is_empty(),
        "no polling in webhook mode"
    );
}
