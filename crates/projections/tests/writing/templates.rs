use tgcrm_domain::response_template::{
    CreateTemplate, EditTemplate, ResponseTemplate, Sharing, TemplateCommand,
};
use tgcrm_domain::templating::{TemplateBody, TemplateKind, TemplateRef};
use tgcrm_domain::ticket::{
    AddMessage, Author, MessageVisibility, SendTemplate, Ticket, TicketCommand,
};
use tgcrm_domain::values::{MessageText, ResourceName};
use tgcrm_domain::{AgentId, MessageId, TeamId, TemplateId, WorkspaceId};
use tgcrm_projections::templates::{self as rm, TemplateFilter, Viewer};
use tgcrm_store::commands::execute;
use tgcrm_store::named::{execute_named, load_version};

use crate::harness::Env;
use crate::kb::ticket;
use crate::on_both;

async fn template(
    env: &Env,
    name: &str,
    body: &str,
    sharing: Sharing,
    owner: Option<AgentId>,
) -> TemplateId {
    let id = TemplateId::new();
    execute_named::<ResponseTemplate>(
        &env.store,
        &env.clock,
        &id.to_string(),
        &env.ctx("acme"),
        TemplateCommand::Create(CreateTemplate {
            id,
            workspace_id: WorkspaceId::parse("acme").unwrap(),
            name: ResourceName::parse(name).unwrap(),
            category: None,
            body: TemplateBody::parse(body).unwrap(),
            sharing,
            owner,
        }),
    )
    .await
    .unwrap();
    id
}

async fn edit(env: &Env, id: TemplateId, body: &str) {
    execute_named::<ResponseTemplate>(
        &env.store,
        &env.clock,
        &id.to_string(),
        &env.ctx("acme"),
        TemplateCommand::Edit(EditTemplate {
            body: Some(TemplateBody::parse(body).unwrap()),
            ..Default::default()
        }),
    )
    .await
    .unwrap();
}

on_both!(
    versions_are_kept_and_a_reply_counts_for_the_version_it_used,
    |env: Env| async move {
        let id = template(
            &env,
            "Greeting",
            "Hi {{customer_name}}",
            Sharing::Workspace,
            None,
        )
        .await;
        edit(&env, id, "Hello {{customer_name}}").await;
        edit(&env, id, "Good day {{customer_name}}").await;
        let t = ticket(&env, "acme", "Question", "Hi there").await;
        execute::<Ticket>(
            &env.store,
            &env.clock,
            &t.to_string(),
            &env.ctx("acme"),
            TicketCommand::SendTemplate(SendTemplate {
                message: AddMessage {
                    message_id: MessageId::new(),
                    author: Author::Agent {
                        agent_id: AgentId::new(),
                    },
                    visibility: MessageVisibility::Public,
                    text: MessageText::parse("Hello Ivan").unwrap(),
                    attachments: vec![],
                },
                template: TemplateRef {
                    kind: TemplateKind::ResponseTemplate,
                    id: id.to_string(),
                    version: 2,
                },
            }),
        )
        .await
        .unwrap();
        env.project().await;
        let versions = rm::versions(env.db(), "acme", &id.to_string())
            .await
            .unwrap();
        let summary: Vec<(i64, &str, i64)> = versions
            .iter()
            .map(|v| (v.version, v.body.as_str(), v.uses))
            .collect();
        assert_eq!(
            summary,
            vec![
                (3, "Good day {{customer_name}}", 0),
                (2, "Hello {{customer_name}}", 1),
                (1, "Hi {{customer_name}}", 0),
            ]
        );
        // An old version read straight from the log is what was saved.
        let v1 = load_version::<ResponseTemplate>(env.db(), &id.to_string(), 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(v1.body, "Hi {{customer_name}}");
        assert!(
            load_version::<ResponseTemplate>(env.db(), &id.to_string(), 4)
                .await
                .unwrap()
                .is_none()
        );
        // The message records the template and version.
        let events = tgcrm_store::reader::read_stream(env.db(), "ticket", &t.to_string(), 0, 10)
            .await
            .unwrap();
        let last = events.last().unwrap();
        assert_eq!(last.payload["MessageAdded"]["template"]["version"], 2);
        assert_eq!(
            last.payload["MessageAdded"]["template"]["kind"],
            "response_template"
        );
    }
);

on_both!(
    lists_show_each_viewer_only_what_is_shared_with_them,
    |env: Env| async move {
        let (maria, oleg) = (AgentId::new(), AgentId::new());
        let team = TeamId::new();
        template(&env, "Everyone", "a", Sharing::Workspace, None).await;
        template(
            &env,
            "Maria's own",
            "b",
            Sharing::Private { agent_id: maria },
            Some(maria),
        )
        .await;
        template(
            &env,
            "Billing team",
            "c",
            Sharing::Team { team_id: team },
            Some(oleg),
        )
        .await;
        env.project().await;
        let names = |viewer: Viewer| {
            let env = &env;
            async move {
                rm::list(
                    env.db(),
                    &TemplateFilter {
                        workspace_id: "acme".into(),
                        viewer,
                        limit: 50,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
            }
        };
        assert_eq!(
            names(Viewer {
                sees_all: true,
                ..Default::default()
            })
            .await,
            vec!["Billing team", "Everyone", "Maria's own"]
        );
        assert_eq!(
            names(Viewer {
                agent_id: Some(maria.to_string()),
                ..Default::default()
            })
            .await,
            vec!["Everyone", "Maria's own"]
        );
        assert_eq!(
            names(Viewer {
                agent_id: Some(oleg.to_string()),
                team_ids: vec![team.to_string()],
                ..Default::default()
            })
            .await,
            vec!["Billing team", "Everyone"]
        );
        assert_eq!(names(Viewer::default()).await, vec!["Everyone"]);
    }
);
