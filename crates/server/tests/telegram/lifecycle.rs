//! A ticket's life as the customer and the topic see it.

use serde_json::json;

use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const OLEG: i64 = 555_000_333;

async fn status_of(bot: &crate::helpers::TestBot, token: &str, ticket: &str, want: &str) -> bool {
    for _ in 0..100 {
        if bot.ticket(token, ticket).await["status"] == want {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

on_both!(
    a_message_on_a_resolved_ticket_reopens_it_and_the_topic_follows,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(OLEG, "Printer on fire").await;
        bot.post(
            &token,
            &format!("/v1/tickets/{ticket}/status"),
            json!({"status": "resolved"}),
        )
        .await;
        bot.wait("the topic renamed to resolved", |calls| {
            calls.iter().any(|c| {
                c.name() == "editforumtopic"
                    && c.params["name"].as_str().unwrap_or("").starts_with("✅")
            })
        })
        .await;
        bot.customer_text(OLEG, "It is burning again");
        assert!(
            status_of(&bot, &token, &ticket, "open").await,
            "the ticket reopened"
        );
        bot.wait("the topic renamed to open", |calls| {
            calls.iter().any(|c| {
                c.name() == "editforumtopic"
                    && c.params["name"].as_str().unwrap_or("").starts_with("🟢")
            })
        })
        .await;
        assert_eq!(bot.tickets().await.len(), 1);
    }
);

on_both!(
    after_a_closed_ticket_a_new_one_opens_and_follows_it_up,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let first = bot.open_ticket(OLEG, "Invoice wrong").await;
        bot.post(
            &token,
            &format!("/v1/tickets/{first}/status"),
            json!({"status": "resolved"}),
        )
        .await;
        bot.post(
            &token,
            &format!("/v1/tickets/{first}/status"),
            json!({"status": "closed"}),
        )
        .await;
        bot.wait("the topic closed", |calls| {
            calls.iter().any(|c| c.name() == "closeforumtopic")
        })
        .await;
        bot.customer_text(OLEG, "Another question about my invoice");
        let mut second = None;
        for _ in 0..100 {
            let t = bot.tickets().await;
            if t.len() == 2 {
                second = Some(t[1].clone());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let second = second.expect("a second ticket");
        assert_eq!(second["follows_up"], first.as_str());
        bot.wait("a topic for the new ticket", |calls| {
            calls
                .iter()
                .filter(|c| c.name() == "createforumtopic")
                .count()
                == 2
        })
        .await;
        bot.wait("the follow-up noted in the header", |calls| {
            calls.iter().any(|c| {
                c.params["chat_id"] == GROUP && text_of(c).contains("Follows up on ticket")
            })
        })
        .await;
    }
);
