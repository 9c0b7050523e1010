//! `POST /v1/intake`: a bot's intake form becomes a Telegram ticket.

use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::TestApp;

both!(
    an_intake_submission_opens_a_telegram_ticket_with_its_answers_as_fields,
    |app: TestApp| async move {
        let bot = app.create_token(Role::Bot, None).await;
        let submission = json!({
            "telegram_user_id": 987654321,
            "name": "Carla",
            "username": "carla_k",
            "text": "\n  My card was charged twice  \nOrder 5521, yesterday.",
            "metadata": {"order_id": "5521", "plan": "pro", "seats": 3},
            "priority": "high",
        });
        let a = app.post_json("/v1/intake", &bot, &submission).await;
        a.expect(201);
        let id = a.id();
        assert_eq!(a.body["channel"], "telegram");
        assert_eq!(a.body["subject"], "My card was charged twice");
        assert_eq!(a.body["priority"], "high");
        assert_eq!(a.body["status"], "open");
        assert_eq!(a.body["customer"]["telegram_user_id"], 987654321_i64);
        assert_eq!(a.body["customer"]["name"], "Carla");
        assert_eq!(
            a.body["fields"],
            json!({"order_id": "5521", "plan": "pro", "seats": 3})
        );
        assert!(a.header("etag").is_some());
        let position = a.position();

        let agent = app.create_token(Role::Agent, None).await;
        let messages = app
            .get(
                &format!("/v1/tickets/{id}/messages?consistent_with={position}"),
                &agent,
            )
            .await;
        messages.expect(200);
        assert_eq!(messages.items().len(), 1);
        assert_eq!(messages.items()[0]["author"]["kind"], "customer");
        assert!(
            messages.items()[0]["text"]
                .as_str()
                .unwrap()
                .contains("Order 5521"),
            "{}",
            messages.text
        );
        let list = app
            .get(&format!("/v1/tickets?consistent_with={position}"), &agent)
            .await;
        assert_eq!(list.items()[0]["channel"], "telegram");

        // Repeating the submission with its key opens nothing new.
        let keyed = |app: TestApp, bot: String, submission: serde_json::Value| async move {
            app.post_json_with(
                "/v1/intake",
                &bot,
                &submission,
                &[("idempotency-key", "tg-update-1")],
            )
            .await
        };
        let first = keyed(app.clone(), bot.clone(), submission.clone()).await;
        first.expect(201);
        let before = app.event_count().await;
        let again = keyed(app.clone(), bot.clone(), submission.clone()).await;
        again.expect(200);
        assert_eq!(again.id(), first.id());
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    intake_is_for_bots_and_checks_its_fields,
    |app: TestApp| async move {
        let bot = app.create_token(Role::Bot, None).await;
        let agent = app.create_token(Role::Agent, None).await;
        let before = app.event_count().await;
        let ok = json!({"telegram_user_id": 5, "name": "Dan", "text": "Help"});
        app.post_json("/v1/intake", &agent, &ok)
            .await
            .expect_problem(403);
        let a = app
            .post_json(
                "/v1/intake",
                &bot,
                &json!({"telegram_user_id": 5, "name": "Dan", "text": "   "}),
            )
            .await;
        a.expect_problem(422);
        assert!(a.body["errors"].is_array(), "{}", a.text);
        app.post_json(
            "/v1/intake",
            &bot,
            &json!({"telegram_user_id": 5, "name": "Dan", "text": "x", "metadata": {"Not A Key": 1}}),
        )
        .await
        .expect_problem(422);
        app.post_json(
            "/v1/intake",
            &bot,
            &json!({"telegram_user_id": 5, "name": "", "text": "x"}),
        )
        .await
        .expect_problem(422);
        assert_eq!(app.event_count().await, before);
    }
);
