use tgcrm_domain::CannedResponseId;
use tgcrm_domain::WorkspaceId;
use tgcrm_domain::canned::{CannedCommand, CannedResponse, CreateCanned, UpdateCanned};
use tgcrm_domain::templating::TemplateBody;
use tgcrm_domain::values::ResourceName;
use tgcrm_projections::canned as rm;
use tgcrm_store::named::{NamedError, execute_named, owner_of};

use crate::harness::Env;
use crate::on_both;

fn create(ws: &str, id: CannedResponseId, name: &str) -> CannedCommand {
    CannedCommand::Create(CreateCanned {
        id,
        workspace_id: WorkspaceId::parse(ws).unwrap(),
        name: ResourceName::parse(name).unwrap(),
        category: None,
        body: TemplateBody::parse("Hi {{customer_name}}").unwrap(),
    })
}

async fn run(
    env: &Env,
    ws: &str,
    id: CannedResponseId,
    cmd: CannedCommand,
) -> Result<(), NamedError<tgcrm_domain::canned::CannedError>> {
    execute_named::<CannedResponse>(&env.store, &env.clock, &id.to_string(), &env.ctx(ws), cmd)
        .await
        .map(|_| ())
}

fn taken(r: Result<(), NamedError<tgcrm_domain::canned::CannedError>>) -> bool {
    matches!(r, Err(NamedError::NameTaken { .. }))
}

on_both!(
    a_name_is_held_by_one_response_per_workspace,
    |env: Env| async move {
        let first = CannedResponseId::new();
        run(&env, "acme", first, create("acme", first, "Refund"))
            .await
            .unwrap();
        let second = CannedResponseId::new();
        assert!(taken(
            run(&env, "acme", second, create("acme", second, "  REFUND ")).await
        ));
        // Another workspace has its own names.
        let other = CannedResponseId::new();
        run(&env, "globex", other, create("globex", other, "Refund"))
            .await
            .unwrap();
        let ws = WorkspaceId::parse("acme").unwrap();
        assert_eq!(
            owner_of::<CannedResponse>(&env.store, &ws, "refund")
                .await
                .unwrap(),
            Some(first.to_string())
        );
        // Renaming moves the claim: the old name is free, the new one taken.
        run(
            &env,
            "acme",
            first,
            CannedCommand::Update(UpdateCanned {
                name: Some(ResourceName::parse("Refund policy").unwrap()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
        run(&env, "acme", second, create("acme", second, "Refund"))
            .await
            .unwrap();
        let third = CannedResponseId::new();
        assert!(taken(
            run(&env, "acme", third, create("acme", third, "refund policy")).await
        ));
        // Renaming onto a taken name is refused and changes nothing.
        assert!(taken(
            run(
                &env,
                "acme",
                second,
                CannedCommand::Update(UpdateCanned {
                    name: Some(ResourceName::parse("Refund Policy").unwrap()),
                    ..Default::default()
                }),
            )
            .await
        ));
        // A case-only rename keeps the claim.
        run(
            &env,
            "acme",
            first,
            CannedCommand::Update(UpdateCanned {
                name: Some(ResourceName::parse("refund POLICY").unwrap()),
                ..Default::default()
            }),
        )
        .await
        .unwrap();
        // Deleting frees the name.
        run(&env, "acme", first, CannedCommand::Delete)
            .await
            .unwrap();
        run(&env, "acme", third, create("acme", third, "Refund policy"))
            .await
            .unwrap();
        env.project().await;
        let page = rm::list(
            env.db(),
            &rm::CannedFilter {
                workspace_id: "acme".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let names: Vec<&str> = page.items.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["Refund", "Refund policy"]);
    }
);

on_both!(
    concurrent_creates_of_one_name_leave_exactly_one,
    |env: Env| async move {
        let env = std::sync::Arc::new(env);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let env = env.clone();
            tasks.push(tokio::spawn(async move {
                let id = CannedResponseId::new();
                run(&env, "acme", id, create("acme", id, "Greeting")).await
            }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(()) => won += 1,
                Err(NamedError::NameTaken { .. }) => {}
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!(won, 1);
        env.project().await;
        let page = rm::list(
            env.db(),
            &rm::CannedFilter {
                workspace_id: "acme".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(page.items.len(), 1);
    }
);
