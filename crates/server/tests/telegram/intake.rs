use crate::helpers::{GROUP, TestBot, text_of};
use crate::on_both;

const IVAN: i64 = 555_000_111;

on_both!(
    a_new_customer_is_walked_through_the_form_and_gets_a_ticket_with_a_topic,
    |bot: TestBot| async move {
        bot.customer_text(IVAN, "/start");
        bot.wait("the category keyboard", |calls| {
            calls
                .iter()
                .any(|c| c.name() == "sendmessage" && c.params.get("reply_markup").is_some())
        })
        .await;
        bot.customer_callback(IVAN, "intake:category:1");
        bot.wait("the description prompt", |calls| {
            calls
                .iter()
                .any(|c| c.name() == "sendmessage" && text_of(c).contains("describe"))
        })
        .await;
        bot.customer_text(
            IVAN,
            "I cannot log in since yesterday.\nIt says the token is invalid.",
        );
        bot.wait("the ticket's topic", |calls| {
            calls.iter().any(|c| c.name() == "createforumtopic")
        })
        .await;
        let tickets = bot.tickets().await;
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0]["subject"], "I cannot log in since yesterday.");
        assert_eq!(tickets[0]["fields"]["category"], "Login");
        assert_eq!(tickets[0]["channel"], "telegram");
        let topic = bot.telegram.calls_of("createForumTopic");
        assert_eq!(topic[0].params["chat_id"], GROUP);
        assert!(
            topic[0].params["name"]
                .as_str()
                .unwrap()
                .contains("I cannot log in")
        );
        // The customer's message appears in the topic, copied from their chat.
        bot.wait("the message copied into the topic", |calls| {
            calls.iter().any(|c| {
                c.name() == "copymessage"
                    && c.params["chat_id"] == GROUP
                    && c.params["from_chat_id"] == IVAN
            })
        })
        .await;
        // And the customer is told their request is open.
        bot.wait("the acknowledgement", |calls| {
            calls.iter().any(|c| {
                c.name() == "sendmessage"
                    && c.params["chat_id"] == IVAN
                    && text_of(c).contains("is open")
            })
        })
        .await;
        // Further messages land on the same ticket.
        bot.customer_text(IVAN, "Any news?");
        bot.wait("the second message copied", |calls| {
            calls
                .iter()
                .filter(|c| c.name() == "copymessage" && c.params["chat_id"] == GROUP)
                .count()
                == 2
        })
        .await;
        assert_eq!(bot.tickets().await.len(), 1);
        assert_eq!(bot.telegram.calls_of("createForumTopic").len(), 1);
    }
);
