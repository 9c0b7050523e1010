//! Agents in the forum topic: replies reach the customer, commands change the
//! ticket, refusals are answered in the topic, strangers are ignored.

use serde_json::json;

use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const CUSTOMER: i64 = 555_000_555;
const MARIA: i64 = 222_000_333;

async fn with_agent(bot: &TestBot) -> (String, String) {
    let token = bot.admin_token().await;
    let (status, agent) = bot
        .post(
            &token,
            "/v1/agents",
            json!({"name": "Maria", "telegram_user_id": MARIA, "telegram_username": "maria_support"}),
        )
        .await;
    assert_eq!(status, 201, "{agent}");
    (token, agent["id"].as_str().unwrap().to_owned())
}

async fn wait_ticket(
    bot: &TestBot,
    token: &str,
    ticket: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..100 {
        let t = bot.ticket(token, ticket).await;
        if pred(&t) {
            return t;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!(
        "the ticket never got there: {}",
        bot.ticket(token, ticket).await
    );
}

on_both!(
    an_agents_reply_in_the_topic_reaches_the_customer_as_their_reply,
    |bot: TestBot| async move {
        let (token, agent_id) = with_agent(&bot).await;
        let ticket = bot.open_ticket(CUSTOMER, "Refund please").await;
        let thread = bot.thread_of(&ticket).await;
        let m = bot.group_text(
            MARIA,
            "maria_support",
            thread,
            "Refund sent, it takes 3 days.",
        );
        bot.wait("the reply copied to the customer", |calls| {
            calls.iter().any(|c| {
                c.name() == "copymessage"
                    && c.params["chat_id"] == CUSTOMER
                    && c.params["from_chat_id"] == GROUP
                    && c.params["message_id"] == m
            })
        })
        .await;
        // The conversation is a read model: give it a moment to see the reply.
        let mut last = serde_json::Value::Null;
        for _ in 0..100 {
            let messages: serde_json::Value = reqwest::Client::new()
                .get(format!("{}/v1/tickets/{ticket}/messages", bot.address))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            last = messages["items"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            if last["author"]["kind"] != "customer" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(last["author"]["kind"], "agent");
        assert_eq!(last["author"]["id"], agent_id.as_str());
        assert_eq!(last["visibility"], "public");
    }
);

on_both!(
    topic_commands_change_the_ticket_and_refusals_are_answered_in_the_topic,
    |bot: TestBot| async move {
        let (token, agent_id) = with_agent(&bot).await;
        let ticket = bot.open_ticket(CUSTOMER, "Broken login").await;
        let thread = bot.thread_of(&ticket).await;
        bot.group_text(
            MARIA,
            "maria_support",
            thread,
            "/note@acme_support_bot checked the logs",
        );
        bot.group_text(MARIA, "maria_support", thread, "/assign me");
        bot.group_text(MARIA, "maria_support", thread, "/priority urgent");
        bot.group_text(MARIA, "maria_support", thread, "/close");
        bot.wait("the refusal in the topic", |calls| {
            calls.iter().any(|c| {
                c.params["chat_id"] == GROUP
                    && text_of(c).contains("can be closed only once it is resolved")
            })
        })
        .await;
        let t = wait_ticket(&bot, &token, &ticket, |t| {
            t["assignee_agent_id"] == agent_id.as_str() && t["priority"] == "urgent"
        })
        .await;
        assert_eq!(t["status"], "open");
        bot.group_text(MARIA, "maria_support", thread, "/resolve");
        wait_ticket(&bot, &token, &ticket, |t| t["status"] == "resolved").await;
        // The note stayed internal: nothing of it went to the customer.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert!(
            !bot.calls_to(CUSTOMER, "sendMessage")
                .iter()
                .any(|c| text_of(c).contains("checked the logs"))
        );
    }
);

on_both!(
    messages_from_people_who_are_not_agents_are_ignored,
    |bot: TestBot| async move {
        let (token, _) = with_agent(&bot).await;
        let ticket = bot.open_ticket(CUSTOMER, "Hello").await;
        let thread = bot.thread_of(&ticket).await;
        let before = bot.ticket(&token, &ticket).await["version"].clone();
        bot.group_text(999_000_111, "stranger", thread, "I am not an agent");
        bot.group_text(999_000_111, "stranger", thread, "/resolve");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert_eq!(bot.ticket(&token, &ticket).await["version"], before);
        assert!(
            !bot.calls_to(CUSTOMER, "copyMessage")
                .iter()
                .any(|c| c.params["from_chat_id"] == GROUP)
        );
    }
);
