//! Getting messages to the customer and into the topic despite Telegram's
//! failures: rate limits, deleted topics, blocked bots.

use serde_json::json;

use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const ANN: i64 = 555_000_222;

on_both!(
    a_reply_written_through_the_api_reaches_the_customer_and_the_topic,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(ANN, "My parcel is late").await;
        let (status, _) = bot
            .post(
                &token,
                &format!("/v1/tickets/{ticket}/messages"),
                json!({"text": "It ships today."}),
            )
            .await;
        assert_eq!(status, 201);
        bot.wait("the reply in the customer's chat", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params["chat_id"] == ANN
                    && text_of(c) == "It ships today."
            })
        })
        .await;
        bot.wait("the reply shown in the topic", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params["chat_id"] == GROUP
                    && text_of(c).contains("It ships today.")
            })
        })
        .await;
        // An internal note goes to the topic only.
        let (status, _) = bot
            .post(
                &token,
                &format!("/v1/tickets/{ticket}/messages"),
                json!({"text": "VIP customer", "visibility": "internal"}),
            )
            .await;
        assert_eq!(status, 201);
        bot.wait("the note in the topic", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == GROUP && text_of(c).contains("VIP customer"))
        })
        .await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !bot.calls_to(ANN, "sendMessage")
                .iter()
                .any(|c| text_of(c).contains("VIP"))
        );
    }
);

on_both!(
    a_rate_limited_send_is_waited_out_not_dropped,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(ANN, "Help").await;
        bot.wait("the acknowledgement", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == ANN && text_of(c).contains("is open"))
        })
        .await;
        bot.telegram.fail_next(
        "sendMessage",
        json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 1", "parameters": {"retry_after": 1}}),
    );
        bot.post(
            &token,
            &format!("/v1/tickets/{ticket}/messages"),
            json!({"text": "Patience pays."}),
        )
        .await;
        // The first attempt is refused with retry_after 1; the second, a second later, goes through.
        bot.wait("the reply tried again after the 429", |calls| {
            calls
                .iter()
                .filter(|c| {
                    c.name() == "sendmessage"
                        && c.params["chat_id"] == ANN
                        && text_of(c) == "Patience pays."
                })
                .count()
                == 2
        })
        .await;
        bot.wait("then shown in the topic", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == GROUP && text_of(c).contains("Patience pays."))
        })
        .await;
        let attempts = bot
            .calls_to(ANN, "sendMessage")
            .iter()
            .filter(|c| text_of(c) == "Patience pays.")
            .count();
        assert_eq!(attempts, 2, "tried again exactly once");
    }
);

on_both!(
    a_deleted_topic_is_recreated_with_the_transcript,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(ANN, "Where is my refund?").await;
        bot.wait("the first copy", |calls| {
            calls.iter().any(|c| c.name() == "copymessage")
        })
        .await;
        bot.telegram.fail_next(
        "sendMessage",
        json!({"ok": false, "error_code": 400, "description": "Bad Request: message thread not found"}),
    );
        // The status notice goes to the topic first and finds it gone.
        bot.post(
            &token,
            &format!("/v1/tickets/{ticket}/status"),
            json!({"status": "in_progress"}),
        )
        .await;
        bot.wait("a second topic", |calls| {
            calls
                .iter()
                .filter(|c| c.name() == "createforumtopic")
                .count()
                == 2
        })
        .await;
        bot.wait("the transcript in the new topic", |calls| {
            calls.iter().any(|c| {
                c.params["chat_id"] == GROUP
                    && text_of(c).contains("Transcript")
                    && text_of(c).contains("Where is my refund?")
            })
        })
        .await;
        bot.wait("the notice in the new topic", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == GROUP && text_of(c).contains("open → in_progress"))
        })
        .await;
    }
);

on_both!(
    a_customer_who_blocked_the_bot_is_marked_and_the_agents_are_told,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(ANN, "Question").await;
        bot.wait("the acknowledgement", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == ANN && text_of(c).contains("is open"))
        })
        .await;
        bot.telegram.fail_next(
        "sendMessage",
        json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}),
    );
        bot.post(
            &token,
            &format!("/v1/tickets/{ticket}/messages"),
            json!({"text": "Are you there?"}),
        )
        .await;
        bot.wait("the notice in the topic", |calls| {
            calls
                .iter()
                .any(|c| c.params["chat_id"] == GROUP && text_of(c).contains("blocked the bot"))
        })
        .await;
        let mut tagged = false;
        for _ in 0..100 {
            let t = bot.ticket(&token, &ticket).await;
            if t["tags"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == "telegram-blocked"))
            {
                tagged = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(tagged, "the ticket is tagged telegram-blocked");
    }
);
