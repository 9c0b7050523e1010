//! `/canned <name>` in a ticket's topic: the canned response, rendered for the
//! ticket and the agent, reaches the customer as the agent's reply.

use serde_json::{Value, json};
use tgcrm_store::args;

use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const ANNA: i64 = 555_000_777;
const AGENT_USER: i64 = 900_100;

/// An agent bound to a Telegram user, once the agents directory lists it.
async fn agent(bot: &TestBot) {
    let admin = bot.admin_token().await;
    let (status, body) = bot
        .post(
            &admin,
            "/v1/agents",
            json!({"name": "Maria", "telegram_user_id": AGENT_USER, "telegram_username": "maria_support"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    for _ in 0..200 {
        let listed = bot
            .db
            .fetch_optional::<N>(
                "SELECT COUNT(*) AS n FROM rm_agents WHERE telegram_user_id = $1",
                args![AGENT_USER],
            )
            .await;
        if matches!(listed, Ok(Some(N { n: 1 }))) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the agents directory never listed the agent");
}

async fn thread_of(bot: &TestBot, ticket: &str) -> i64 {
    #[derive(sqlx::FromRow)]
    struct T {
        thread_id: i64,
    }
    let t: T = bot
        .db
        .fetch_one(
            "SELECT thread_id FROM tg_topics WHERE ticket_id = $1",
            args![ticket],
        )
        .await
        .unwrap();
    t.thread_id
}

fn agent_writes(bot: &TestBot, thread: i64, message_id: i64, text: &str) {
    bot.telegram.push_update(json!({
        "update_id": 300_000_000 + message_id,
        "message": {
            "message_id": message_id,
            "message_thread_id": thread,
            "is_topic_message": true,
            "from": {"id": AGENT_USER, "is_bot": false, "first_name": "Maria", "username": "maria_support"},
            "chat": {"id": GROUP, "title": "Support", "type": "supergroup", "is_forum": true},
            "date": 1_763_856_500,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}]
        }
    }));
}

on_both!(
    a_canned_response_sent_from_the_topic_reaches_the_customer,
    |bot: TestBot| async move {
        let ticket = bot.open_ticket(ANNA, "I was charged twice").await;
        agent(&bot).await;
        let admin = bot.admin_token().await;
        let (status, body) = bot
            .post(
                &admin,
                "/v1/canned-responses",
                json!({"name": "Double charge", "body": "Hi {{customer_name}}, {{agent_name}} here: the second charge is refunded."}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let canned = body["id"].as_str().unwrap().to_owned();
        let thread = thread_of(&bot, &ticket).await;

        agent_writes(&bot, thread, 70_001, "/canned double CHARGE");
        let expected = "the second charge is refunded.";
        bot.wait("the reply to the customer", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params["chat_id"] == ANNA
                    && text_of(c).contains(expected)
            })
        })
        .await;
        let to_customer: Vec<String> = bot
            .calls_to(ANNA, "sendMessage")
            .iter()
            .map(text_of)
            .filter(|t| t.contains(expected))
            .collect();
        assert_eq!(to_customer.len(), 1);
        assert!(to_customer[0].contains("Maria here"), "{}", to_customer[0]);
        assert!(!to_customer[0].contains("/canned"));
        // The message records the canned response and its version.
        let events: Value = reqwest::Client::new()
            .get(format!("{}/v1/tickets/{ticket}/events", bot.address))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let used = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| {
                e["payload"]["MessageAdded"]["template"]
                    .as_object()
                    .cloned()
            })
            .collect::<Vec<_>>();
        assert_eq!(used.len(), 1);
        assert_eq!(used[0]["id"], canned.as_str());
        assert_eq!(used[0]["version"], 1);

        // An unknown name is answered in the topic, and nothing is sent.
        agent_writes(&bot, thread, 70_002, "/canned no such thing");
        bot.wait("the refusal in the topic", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params["chat_id"] == GROUP
                    && text_of(c).contains("no canned response named")
            })
        })
        .await;
    }
);
