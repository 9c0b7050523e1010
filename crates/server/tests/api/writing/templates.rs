use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::on_both;
use crate::writing::TestApp;

const APOLOGY: &str = "{{#if \"vip\" in tags}}Dear {{customer_name}}{{else}}Hi {{customer_name}}{{/if}},\n\
{{#if priority == \"urgent\"}}\nwe are on it right now.\n{{else if segment == \"enterprise\"}}\nyour account manager will call you.\n{{else}}\nwe will answer within a day.\n{{/if}}";

on_both!(
    conditions_follow_the_ticket_type_priority_tags_and_segment,
    |app: TestApp| async move {
        let created = app
            .post(
                &app.admin,
                "/v1/templates",
                json!({"name": "Apology", "body": APOLOGY, "sharing": {"scope": "workspace"}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let render = |t: String| {
            let (app, id) = (&app, id.clone());
            async move {
                app.post(
                    &app.admin,
                    &format!("/v1/templates/{id}/render"),
                    json!({"ticket_id": t}),
                )
                .await
            }
        };
        let urgent_vip = app
            .ticket(
                "Down",
                "Everything is down",
                json!({"priority": "urgent", "tags": ["vip"]}),
            )
            .await;
        assert_eq!(
            render(urgent_vip).await.body["text"],
            "Dear Ivan,\nwe are on it right now."
        );
        let enterprise = app
            .ticket(
                "Slow",
                "Slow",
                json!({"fields": {"customer_segment": "enterprise"}}),
            )
            .await;
        assert_eq!(
            render(enterprise).await.body["text"],
            "Hi Ivan,\nyour account manager will call you."
        );
        let plain = app
            .ticket("Question", "Hi", json!({"priority": "low"}))
            .await;
        assert_eq!(
            render(plain).await.body["text"],
            "Hi Ivan,\nwe will answer within a day."
        );
        let typed = app
            .post(
                &app.admin,
                "/v1/templates",
                json!({"name": "Bug ack", "body": "{{#if type == \"bug\"}}Thanks for the report{{else}}Thanks{{/if}}", "sharing": {"scope": "workspace"}}),
            )
            .await;
        let typed = typed.body["id"].as_str().unwrap();
        let bug = app
            .ticket(
                "Crash",
                "It crashes",
                json!({"fields": {"ticket_type": "bug"}}),
            )
            .await;
        assert_eq!(
            app.post(
                &app.admin,
                &format!("/v1/templates/{typed}/render"),
                json!({"ticket_id": bug})
            )
            .await
            .body["text"],
            "Thanks for the report"
        );
    }
);

on_both!(
    every_edit_is_a_version_and_a_reply_records_the_version_it_used,
    |app: TestApp| async move {
        let t = app.ticket("Hello", "Hi", json!({})).await;
        let created = app
            .post(
                &app.admin,
                "/v1/templates",
                json!({"name": "Greeting", "body": "Hi {{customer_name}}"}),
            )
            .await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(created.body["version"], 1);
        let v2 = app
            .patch(
                &app.admin,
                &format!("/v1/templates/{id}"),
                json!({"body": "Hello {{customer_name}}"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(v2.status, 200);
        assert_eq!(v2.body["version"], 2);
        assert_eq!(v2.etag.as_deref(), Some("\"2\""));
        let same = app
            .patch(
                &app.admin,
                &format!("/v1/templates/{id}"),
                json!({"body": "Hello {{customer_name}}"}),
                None,
            )
            .await;
        assert_eq!(
            same.body["version"], 2,
            "an edit that changes nothing is no version"
        );
        let stale = app
            .patch(
                &app.admin,
                &format!("/v1/templates/{id}"),
                json!({"body": "x"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(stale.status, 412);

        // The old version is still what it was, and can still be sent.
        let rendered = app
            .post(
                &app.admin,
                &format!("/v1/templates/{id}/render"),
                json!({"ticket_id": t, "version": 1}),
            )
            .await;
        assert_eq!(rendered.body["text"], "Hi Ivan");
        assert_eq!(rendered.body["version"], 1);
        let sent = app
            .post(
                &app.admin,
                &format!("/v1/templates/{id}/send"),
                json!({"ticket_id": t, "version": 1}),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        assert_eq!(sent.body["message"]["text"], "Hi Ivan");
        assert_eq!(sent.body["template"]["version"], 1);
        let current = app
            .post(
                &app.admin,
                &format!("/v1/templates/{id}/send"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(current.body["message"]["text"], "Hello Ivan");
        assert_eq!(current.body["template"]["version"], 2);
        let missing = app
            .post(
                &app.admin,
                &format!("/v1/templates/{id}/render"),
                json!({"ticket_id": t, "version": 9}),
            )
            .await;
        assert_eq!(missing.status, 422);

        let versions = app
            .get_after(
                &app.admin,
                &format!("/v1/templates/{id}/versions"),
                &current.position,
            )
            .await;
        let items = versions.body["items"].as_array().unwrap();
        let summary: Vec<(i64, &str, i64)> = items
            .iter()
            .map(|v| {
                (
                    v["version"].as_i64().unwrap(),
                    v["body"].as_str().unwrap(),
                    v["uses"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (2, "Hello {{customer_name}}", 1),
                (1, "Hi {{customer_name}}", 1)
            ]
        );
        let v1 = app
            .get(&app.admin, &format!("/v1/templates/{id}/versions/1"))
            .await;
        assert_eq!(v1.body["body"], "Hi {{customer_name}}");
        assert_eq!(
            app.get(&app.admin, &format!("/v1/templates/{id}/versions/7"))
                .await
                .status,
            404
        );
    }
);

on_both!(
    private_and_team_templates_are_invisible_to_everyone_else,
    |app: TestApp| async move {
        let (maria_id, oleg_id) = (
            uuid::Uuid::now_v7().to_string(),
            uuid::Uuid::now_v7().to_string(),
        );
        let maria = app.token("acme", Role::Agent, Some(&maria_id)).await;
        let oleg = app.token("acme", Role::Agent, Some(&oleg_id)).await;
        let analyst = app.token("acme", Role::Analyst, None).await;
        let t = app.ticket("Hello", "Hi", json!({})).await;

        // An agent's template is private to it by default.
        let mine = app
            .post(
                &maria,
                "/v1/templates",
                json!({"name": "Maria's sign-off", "body": "Cheers, {{customer_name}}"}),
            )
            .await;
        assert_eq!(mine.status, 201, "{}", mine.body);
        assert_eq!(mine.body["sharing"]["scope"], "private");
        assert_eq!(mine.body["sharing"]["agent_id"], maria_id.as_str());
        let mine = mine.body["id"].as_str().unwrap().to_owned();
        let shared = app
            .post(
                &maria,
                "/v1/templates",
                json!({"name": "Shared hello", "body": "Hello", "sharing": {"scope": "workspace"}}),
            )
            .await;
        let shared_id = shared.body["id"].as_str().unwrap().to_owned();

        let path = format!("/v1/templates/{mine}");
        assert_eq!(app.get(&maria, &path).await.status, 200);
        assert_eq!(
            app.get(&app.admin, &path).await.status,
            200,
            "admins see all"
        );
        for who in [&oleg, &analyst] {
            assert_eq!(app.get(who, &path).await.status, 404);
            assert_eq!(app.get(who, &format!("{path}/versions")).await.status, 404);
            assert_eq!(
                app.post(who, &format!("{path}/render"), json!({"ticket_id": t}))
                    .await
                    .status,
                404
            );
        }
        assert_eq!(
            app.post(&oleg, &format!("{path}/send"), json!({"ticket_id": t}))
                .await
                .status,
            404
        );
        assert_eq!(
            app.patch(&oleg, &path, json!({"body": "hijack"}), None)
                .await
                .status,
            404
        );

        // Lists show each viewer only what is shared with them.
        let names = |token: String| {
            let (app, position) = (&app, shared.position.clone());
            async move {
                app.get_after(&token, "/v1/templates", &position).await.body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            names(maria.clone()).await,
            vec!["Maria's sign-off", "Shared hello"]
        );
        assert_eq!(names(oleg.clone()).await, vec!["Shared hello"]);
        assert_eq!(
            names(app.admin.clone()).await,
            vec!["Maria's sign-off", "Shared hello"]
        );

        // A workspace template is usable by all, editable by its owner and admins only.
        let sent = app
            .post(
                &oleg,
                &format!("/v1/templates/{shared_id}/send"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        assert_eq!(sent.body["message"]["author"]["kind"], "agent");
        assert_eq!(
            app.patch(
                &oleg,
                &format!("/v1/templates/{shared_id}"),
                json!({"body": "x"}),
                None
            )
            .await
            .status,
            403
        );
        assert_eq!(
            app.patch(
                &maria,
                &format!("/v1/templates/{shared_id}"),
                json!({"body": "Hello!"}),
                None
            )
            .await
            .status,
            200
        );

        // Sharing with a team the agent is not in, or privately for someone else, is refused.
        let team = uuid::Uuid::now_v7().to_string();
        let not_member = app
            .post(
                &oleg,
                "/v1/templates",
                json!({"name": "Team", "body": "x", "sharing": {"scope": "team", "team_id": team}}),
            )
            .await;
        assert_eq!(not_member.status, 403);
        let for_other = app
            .post(&oleg, "/v1/templates", json!({"name": "Other", "body": "x", "sharing": {"scope": "private", "agent_id": maria_id}}))
            .await;
        assert_eq!(for_other.status, 403);
        // Admins may; a team template is then hidden from agents outside the team.
        let team_tpl = app
            .post(
                &app.admin,
                "/v1/templates",
                json!({"name": "Team", "body": "x", "sharing": {"scope": "team", "team_id": team}}),
            )
            .await;
        assert_eq!(team_tpl.status, 201);
        let team_tpl = team_tpl.body["id"].as_str().unwrap();
        assert_eq!(
            app.get(&oleg, &format!("/v1/templates/{team_tpl}"))
                .await
                .status,
            404
        );
        let bad_scope = app
            .post(
                &app.admin,
                "/v1/templates",
                json!({"name": "Bad", "body": "x", "sharing": {"scope": "galaxy"}}),
            )
            .await;
        assert_eq!(bad_scope.status, 422);

        // Another workspace sees none of it.
        let other = app.token("globex", Role::Admin, None).await;
        assert_eq!(
            app.get(&other, &format!("/v1/templates/{shared_id}"))
                .await
                .status,
            404
        );
        assert_eq!(names(other).await, Vec::<String>::new());
    }
);

on_both!(
    a_team_template_is_for_the_teams_members_and_names_the_sending_agent,
    |app: TestApp| async move {
        let team = uuid::Uuid::now_v7().to_string();
        let register = |name: &str, teams: Vec<String>| {
            let (app, name) = (&app, name.to_owned());
            async move {
                let r = app
                    .post(
                        &app.admin,
                        "/v1/agents",
                        json!({"name": name, "teams": teams}),
                    )
                    .await;
                assert_eq!(r.status, 201, "{}", r.body);
                r
            }
        };
        let maria = register("Maria", vec![team.clone()]).await;
        let oleg = register("Oleg", vec![]).await;
        // Wait until the agents directory has them.
        let mut listed = 0;
        for _ in 0..200 {
            let l = app.get(&app.admin, "/v1/agents").await;
            listed = l.body["items"].as_array().map_or(0, Vec::len);
            if listed == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(listed, 2, "the agents directory never listed both agents");
        let maria_token = app
            .token("acme", Role::Agent, maria.body["id"].as_str())
            .await;
        let oleg_token = app
            .token("acme", Role::Agent, oleg.body["id"].as_str())
            .await;
        let t = app.ticket("Hello", "Hi", json!({})).await;

        let created = app
            .post(
                &maria_token,
                "/v1/templates",
                json!({"name": "Team hello", "body": "{{agent_name}} from billing, hi {{customer_name}}",
                       "sharing": {"scope": "team", "team_id": team}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_owned();
        let rendered = app
            .post(
                &maria_token,
                &format!("/v1/templates/{id}/render"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(rendered.status, 200, "{}", rendered.body);
        assert_eq!(rendered.body["text"], "Maria from billing, hi Ivan");
        assert_eq!(
            app.get(&oleg_token, &format!("/v1/templates/{id}"))
                .await
                .status,
            404
        );
        let in_list = app
            .get_after(&oleg_token, "/v1/templates", &created.position)
            .await;
        assert_eq!(in_list.body["items"], json!([]));
        // An admin token has no agent, so no name: a 422 naming the variable.
        let no_name = app
            .post(
                &app.admin,
                &format!("/v1/templates/{id}/render"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(no_name.status, 422);
        assert_eq!(no_name.body["errors"][0]["field"], "agent_name");
    }
);
