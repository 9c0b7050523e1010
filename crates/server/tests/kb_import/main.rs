//! `crm kb import <folder>` as a user runs it: the real binary, a folder of
//! exported Markdown pages, on SQLite and on Postgres. Importing again
//! updates instead of copying; a bad page fails alone and the exit code says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use tgcrm_testkit::TestDb;

/// The `DATABASE_URL` for the binary: on SQLite a file it creates itself in
/// `dir`; on Postgres a fresh test database, dropped by finishing the
/// returned [`TestDb`].
async fn database_url(postgres: bool, dir: &Path) -> (String, Option<TestDb>) {
    if !postgres {
        return (format!("sqlite:{}", dir.join("crm.db").display()), None);
    }
    let test_db = tgcrm_testkit::postgres().await;
    (test_db.url.clone(), Some(test_db))
}

fn crm(url: &str, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_crm"))
        .args(args)
        .env("DATABASE_URL", url)
        .env_remove("CRM_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

async fn imports_a_folder_and_reimports_it_idempotently(postgres: bool) {
    let dir = tempfile::tempdir().unwrap();
    let (url, test_db) = database_url(postgres, dir.path()).await;
    let export = dir.path().join("export");
    write(
        &export,
        "Billing/Refunds.md",
        "---\ntitle: Refund policy\ntags: [billing]\n---\nWe refund within 14 days.\n",
    );
    write(
        &export,
        "Reset password 0123456789abcdef0123456789abcdef.md",
        "# Reset your password\n\nOpen Settings.\n",
    );
    write(&export, "notes.txt", "not markdown");
    write(&export, ".hidden/secret.md", "# Hidden\n\nskip me");
    let folder = export.to_str().unwrap();

    let (ok, out, err) = crm(&url, &["kb", "import", folder, "--workspace", "acme"]);
    assert!(ok, "{err}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("created")).count(),
        2,
        "{out}"
    );
    assert!(
        err.contains("2 created, 0 updated, 0 unchanged, 0 failed"),
        "{err}"
    );

    // Again, with one page changed: the same articles, updated in place.
    write(
        &export,
        "Billing/Refunds.md",
        "---\ntitle: Refund policy\ntags: [billing]\n---\nWe refund within 30 days.\n",
    );
    let (ok, out, err) = crm(&url, &["kb", "import", folder, "--workspace", "acme"]);
    assert!(ok, "{err}");
    assert!(out.contains("updated    Billing/Refunds.md"), "{out}");
    assert!(
        out.contains("unchanged  Reset password 0123456789abcdef0123456789abcdef.md"),
        "{out}"
    );

    // A page that cannot be read fails alone; the exit code tells.
    write(&export, "Broken.md", "---\nstatus: live\n---\nText");
    let (ok, out, err) = crm(&url, &["kb", "import", folder, "--workspace", "acme"]);
    assert!(!ok);
    assert!(out.contains("failed     Broken.md"), "{out}");
    assert!(err.contains("1 file(s) could not be imported"), "{err}");

    // The events are there: two articles, created once each.
    let (ok, out, _) = crm(&url, &["events", "export", "--type", "ArticleCreated"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.contains("Refund policy") && out.contains("Reset your password"));

    let (ok, _, err) = crm(
        &url,
        &["kb", "import", "/nonexistent/folder", "--workspace", "acme"],
    );
    assert!(!ok);
    assert!(err.contains("is not a folder"), "{err}");
    if let Some(test_db) = test_db {
        test_db.finish().await;
    }
}

#[tokio::test]
async fn imports_a_folder_and_reimports_it_idempotently_on_sqlite() {
    imports_a_folder_and_reimports_it_idempotently(false).await;
}

#[tokio::test]
async fn imports_a_folder_and_reimports_it_idempotently_on_postgres() {
    imports_a_folder_and_reimports_it_idempotently(true).await;
}
