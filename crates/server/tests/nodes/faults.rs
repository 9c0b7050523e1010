//! Postgres restarted under load: requests fail fast with 503 problem+json,
//! the server reconnects by itself, nothing acknowledged is lost. Runs a
//! private Postgres cluster (initdb as the `postgres` user) so the shared one
//! is never disturbed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Row;

use crate::{crm, free_port, open_ticket, start_node, wait_healthy};

fn pg_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "the Postgres server binaries under /usr/lib/postgresql (apt-get install postgresql)",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("initdb under /usr/lib/postgresql/*/bin")
}

fn as_postgres(bin: &Path, args: &[&str]) -> std::process::Output {
    let output = if nix_is_root() {
        Command::new("runuser")
            .arg("-u")
            .arg("postgres")
            .arg("--")
            .arg(bin)
            .args(args)
            .output()
    } else {
        Command::new(bin).args(args).output()
    }
    .unwrap();
    assert!(
        output.status.success(),
        "{} {:?} failed: {}",
        bin.display(),
        args,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
}

impl Cluster {
    fn create() -> Self {
        let bin = pg_bin();
        let dir = std::env::temp_dir().join(format!("tgcrm-pg-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if nix_is_root() {
            assert!(
                Command::new("chown")
                    .arg("postgres")
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.join("data");
        as_postgres(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        let c = Self {
            dir,
            port: free_port(),
            bin,
        };
        c.start();
        c
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn start(&self) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        as_postgres(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &opts,
                "-w",
                "start",
            ],
        );
    }

    fn stop(&self) {
        let data = self.dir.join("data");
        as_postgres(
            &self.bin.join("pg_ctl"),
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new(if nix_is_root() { "runuser" } else { "true" })
            .args(["-u", "postgres", "--"])
            .arg(self.bin.join("pg_ctl"))
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn a_postgres_restart_gives_fast_503s_then_the_server_recovers_by_itself() {
    let cluster = Cluster::create();
    let url = cluster.url();
    assert!(crm(&url).arg("migrate").output().unwrap().status.success());
    let out = crm(&url)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let node = start_node(&url, "faulty");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    wait_healthy(&client, &node).await;

    let mut acknowledged = Vec::new();
    for i in 0..10 {
        acknowledged.push(
            open_ticket(&client, node.port, &token, i)
                .await
                .expect("before the restart"),
        );
    }

    cluster.stop();
    let started = Instant::now();
    let r = client
        .post(format!("http://127.0.0.1:{}/v1/tickets", node.port))
        .bearer_auth(&token)
        .json(&json!({"subject": "down", "body": "x", "customer": {"telegram_user_id": 9, "name": "C"}}))
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get("retry-after").is_some());
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    assert!(
        took < Duration::from_secs(6),
        "failed fast enough: {took:?}"
    );
    let ready = client
        .get(format!("http://127.0.0.1:{}/readyz", node.port))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);

    cluster.start();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut after = None;
    while after.is_none() {
        after = open_ticket(&client, node.port, &token, 100).await;
        assert!(
            Instant::now() < deadline,
            "the server did not recover after Postgres came back"
        );
        if after.is_none() {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    acknowledged.extend(after);

    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    for id in &acknowledged {
        let n: i64 = sqlx::query("SELECT COUNT(*) FROM events WHERE aggregate_id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        assert!(n >= 2, "acknowledged ticket {id} is in the log");
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed: i64 = sqlx::query("SELECT COUNT(*) FROM rm_tickets")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        if listed == acknowledged.len() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the projections did not catch up after the restart ({listed})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    pool.close().await;
    drop(node);
}
