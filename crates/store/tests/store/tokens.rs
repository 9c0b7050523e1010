//! API tokens: only hashes are stored, secrets authenticate until revoked,
//! expired or rotated away, and every change is an event auditors can read.

use chrono::Duration;
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::tokens::{
    self, NewToken, Rejection, Role, TokenEnv, authenticate, issue, revoke, rotate,
};
use tgcrm_store::{Db, Metadata, Position, Source, args};
use tgcrm_testkit::both_backends;

use crate::t0;

#[derive(sqlx::FromRow)]
struct Hash {
    secret_hash: String,
}

fn new_token(expires_in: Option<Duration>) -> NewToken<'static> {
    NewToken {
        workspace_id: "acme",
        role: Role::Agent,
        agent_id: None,
        label: Some("laptop"),
        expires_at: expires_in.map(|d| t0() + d),
    }
}

both_backends!(
    an_issued_token_authenticates_and_an_unknown_secret_does_not,
    |db: Db| async move {
        let admin = Metadata::new("token:admin", Source::Api);
        let (record, secret) = issue(&db, TokenEnv::Test, &new_token(None), &admin, t0())
            .await
            .unwrap();
        assert!(secret.expose().starts_with("crm_test_"));
        assert_eq!(format!("{secret:?}"), "Secret(****)");
        assert_eq!(record.role, Role::Agent);

        let got = authenticate(&db, TokenEnv::Test, secret.expose(), t0())
            .await
            .unwrap();
        assert_eq!(got, Ok(record.clone()));

        // Only a hash is kept.
        let stored: Hash = db
            .fetch_one(
                "SELECT secret_hash FROM api_tokens WHERE id = $1",
                args![record.id.as_str()],
            )
            .await
            .unwrap();
        assert!(!stored.secret_hash.contains(secret.expose()));
        assert_ne!(stored.secret_hash, secret.expose());

        let unknown = format!("crm_test_{}", "0".repeat(64));
        assert_eq!(
            authenticate(&db, TokenEnv::Test, &unknown, t0())
                .await
                .unwrap(),
            Err(Rejection::Unknown)
        );
        assert_eq!(
            authenticate(&db, TokenEnv::Test, "", t0()).await.unwrap(),
            Err(Rejection::Unknown)
        );
        // A test token shown to a live deployment says why it is refused.
        assert_eq!(
            authenticate(&db, TokenEnv::Live, secret.expose(), t0())
                .await
                .unwrap(),
            Err(Rejection::WrongEnvironment {
                token_env: "test",
                deployment_env: "live"
            })
        );

        let revoked = revoke(&db, "acme", &record.id, &admin, t0() + Duration::minutes(1))
            .await
            .unwrap();
        assert!(revoked.revoked_at.is_some());
        assert_eq!(
            authenticate(
                &db,
                TokenEnv::Test,
                secret.expose(),
                t0() + Duration::minutes(2)
            )
            .await
            .unwrap(),
            Err(Rejection::Unknown)
        );
    }
);

both_backends!(a_cli_token_works_in_its_deployment, |db: Db| async move {
    let (record, secret) = tokens::create(&db, "acme", Role::Admin, None, None, t0())
        .await
        .unwrap();
    // `create` names the deployment's environment the way the server does.
    let env: TokenEnv = std::env::var("CRM_TOKEN_ENV")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or_default();
    assert!(secret.expose().starts_with(env.prefix()));
    let got = authenticate(&db, env, secret.expose(), t0()).await.unwrap();
    assert_eq!(got.map(|r| r.id), Ok(record.id));
});

both_backends!(
    tokens_expire_and_rotation_keeps_the_old_secret_for_the_grace_period,
    |db: Db| async move {
        let admin = Metadata::new("token:admin", Source::Api);
        let (expiring, secret) = issue(
            &db,
            TokenEnv::Test,
            &new_token(Some(Duration::hours(1))),
            &admin,
            t0(),
        )
        .await
        .unwrap();
        let at = |d| t0() + d;
        assert!(
            authenticate(
                &db,
                TokenEnv::Test,
                secret.expose(),
                at(Duration::minutes(59))
            )
            .await
            .unwrap()
            .is_ok()
        );
        assert_eq!(
            authenticate(&db, TokenEnv::Test, secret.expose(), at(Duration::hours(1)))
                .await
                .unwrap(),
            Err(Rejection::Expired)
        );

        let (record, old) = issue(&db, TokenEnv::Test, &new_token(None), &admin, t0())
            .await
            .unwrap();
        let (rotated, new) = rotate(
            &db,
            TokenEnv::Test,
            "acme",
            &record.id,
            Duration::minutes(10),
            &admin,
            at(Duration::minutes(1)),
        )
        .await
        .unwrap();
        assert_eq!(rotated.rotated_at, Some(at(Duration::minutes(1))));
        assert_ne!(old.expose(), new.expose());
        for (secret, when, ok) in [
            (&new, Duration::minutes(2), true),
            (&old, Duration::minutes(2), true),
            (&old, Duration::minutes(11), false),
            (&new, Duration::minutes(11), true),
        ] {
            let got = authenticate(&db, TokenEnv::Test, secret.expose(), at(when))
                .await
                .unwrap();
            assert_eq!(got.is_ok(), ok, "at +{when}: {got:?}");
        }
        // Another workspace cannot rotate it.
        assert!(matches!(
            rotate(
                &db,
                TokenEnv::Test,
                "globex",
                &record.id,
                Duration::zero(),
                &admin,
                t0()
            )
            .await,
            Err(tokens::TokenError::NotFound)
        ));
        revoke(&db, "acme", &record.id, &admin, at(Duration::minutes(3)))
            .await
            .unwrap();

        // The lifecycle is in the log, without secrets.
        tgcrm_testkit::fixtures::wait_until_readable(&db).await;
        let events = read_after(
            &db,
            Position::START,
            100,
            &EventFilter {
                aggregate_type: Some(tokens::AGGREGATE_TYPE.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let lifecycle: Vec<(&str, &str, i64)> = events
            .iter()
            .map(|e| (e.aggregate_id.as_str(), e.event_type.as_str(), e.sequence))
            .collect();
        assert_eq!(
            lifecycle,
            [
                (expiring.id.as_str(), "TokenIssued", 1),
                (record.id.as_str(), "TokenIssued", 1),
                (record.id.as_str(), "TokenRotated", 2),
                (record.id.as_str(), "TokenRevoked", 3),
            ]
        );
        assert!(events.iter().all(|e| e.actor == "token:admin"));
        for e in &events {
            let text = e.payload.to_string();
            for s in [&secret, &old, &new] {
                assert!(!text.contains(s.expose()), "a secret leaked into the log");
            }
        }
    }
);
