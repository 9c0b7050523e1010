//! Albums and edits from the customer.

use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const VERA: i64 = 555_000_444;

on_both!(
    an_album_is_one_message_and_is_copied_as_an_album,
    |bot: TestBot| async move {
        let token = bot.admin_token().await;
        let ticket = bot.open_ticket(VERA, "Broken screen").await;
        bot.customer_photo(VERA, "album-1", Some("Front and back"));
        bot.customer_photo(VERA, "album-1", None);
        bot.customer_photo(VERA, "album-1", None);
        bot.wait("the album copied in one call", |calls| {
            calls
                .iter()
                .any(|c| c.name() == "copymessages" && c.params["chat_id"] == GROUP)
        })
        .await;
        let album = bot.telegram.calls_of("copyMessages");
        assert_eq!(
            album[0].params["message_ids"].as_array().map(Vec::len),
            Some(3)
        );
        // The conversation is a read model: give it a moment to see the album.
        let mut messages = serde_json::Value::Null;
        for _ in 0..100 {
            messages = reqwest::Client::new()
                .get(format!("{}/v1/tickets/{ticket}/messages", bot.address))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if messages["items"].as_array().map(Vec::len) >= Some(2) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let items = messages["items"].as_array().unwrap();
        assert_eq!(items.len(), 2, "the first message and the album");
        assert_eq!(items[1]["text"], "Front and back");
        assert_eq!(items[1]["attachments"].as_array().map(Vec::len), Some(3));
        assert!(
            items[1]["attachments"][0]["reference"]
                .as_str()
                .unwrap()
                .starts_with("large")
        );
    }
);

on_both!(
    a_customer_edit_is_recorded_and_shown_in_the_topic,
    |bot: TestBot| async move {
        let _ticket = bot.open_ticket(VERA, "Typo").await;
        let m = bot.customer_text(VERA, "My order number is 1234");
        bot.wait("the message copied", |calls| {
            calls
                .iter()
                .filter(|c| c.name() == "copymessage" && c.params["chat_id"] == GROUP)
                .count()
                >= 2
        })
        .await;
        bot.customer_edit(VERA, m, "My order number is 4321");
        bot.wait("the edit in the topic", |calls| {
            calls.iter().any(|c| {
                c.params["chat_id"] == GROUP
                    && text_of(c).contains("edited a message")
                    && text_of(c).contains("4321")
            })
        })
        .await;
        #[derive(sqlx::FromRow)]
        struct Row {
            n: i64,
        }
        let edits: Row = bot
            .db
            .fetch_one(
                "SELECT COUNT(*) AS n FROM events WHERE event_type = 'MessageEdited'",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(edits.n, 1);
    }
);
