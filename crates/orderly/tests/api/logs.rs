//! Logs an operator can use (issue 14, item 7), from the real binary writing to a pipe:
//! no terminal colour codes, JSON lines when `log.format` says so (set here through
//! `ORDERLY_LOG__FORMAT`), each line of a request carrying its correlation id, a failed
//! authentication logged with the key's prefix and never the secret, and `orderly
//! check` printing its report without the migration runner's chatter.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_orderly");

#[tokio::test]
async fn json_logs_carry_the_correlation_id_and_no_escape_codes() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(EXE)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("ORDERLY_LOG", "info")
        .env("ORDERLY_LOG__FORMAT", "json")
        .env_remove("ORDERLY_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let logs = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let (mut api, mut key) = (String::new(), String::new());
    while key.is_empty() {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the demo starts within 60 s");
        if let Some(rest) = line.split("running at http://").nth(1) {
            api = format!("http://{}/api/v1", rest.trim());
        }
        if let Some(rest) = line.split("Admin API key (shown once): ").nth(1) {
            key = rest.trim().to_owned();
        }
    }
    let client = crate::helpers::client();
    let wrong = "oly_5c1e00000000000000000000000000000000000000000000000000000000dead";
    let refused = client
        .get(format!("{api}/orders"))
        .bearer_auth(wrong)
        .header("x-request-id", "log-corr-1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let answered = client
        .get(format!("{api}/orders"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    let fresh_id = answered.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().unwrap();

    assert!(!logs.contains("\x1b["), "escape codes in: {logs}");
    assert!(!logs.contains(&wrong[8..]), "the secret was logged: {logs}");
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let of_request = |id: &str| -> Vec<&serde_json::Value> {
        lines
            .iter()
            .filter(|l| l["span"]["correlation_id"] == id)
            .collect()
    };
    let refused_lines = of_request("log-corr-1");
    let failed = refused_lines
        .iter()
        .find(|l| l["fields"]["message"] == "authentication failed")
        .unwrap_or_else(|| panic!("no failed-authentication line in: {logs}"));
    assert_eq!(failed["fields"]["key_prefix"], "oly_5c1e");
    assert_eq!(failed["fields"]["peer"], "127.0.0.1");
    assert_eq!(failed["level"], "WARN");
    assert!(
        refused_lines.len() >= 2,
        "the request's response line carries its id too: {logs}"
    );
    // A request without an id gets a fresh one, the same in its answer and its logs.
    assert!(
        !of_request(&fresh_id).is_empty(),
        "{fresh_id} not in: {logs}"
    );
}

#[test]
fn check_prints_its_report_plainly() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("c.db").display());
    let migrate = Command::new(EXE)
        .args(["migrate", "--database", &db])
        .env_remove("ORDERLY_LOG")
        .env_remove("ORDERLY_CONFIG")
        .output()
        .unwrap();
    assert!(migrate.status.success());
    let migrated = String::from_utf8_lossy(&migrate.stderr).into_owned();
    assert!(migrated.contains("applying migration"), "{migrated}");
    assert!(!migrated.contains("\x1b["), "escape codes in: {migrated}");

    // An empty file: check migrates it first, which refinery would announce line by line.
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    let check = Command::new(EXE)
        .args([
            "check",
            "--database",
            &format!("sqlite://{}", empty.display()),
        ])
        .env_remove("ORDERLY_LOG")
        .env_remove("ORDERLY_CONFIG")
        .output()
        .unwrap();
    assert!(check.status.success());
    let stdout = String::from_utf8_lossy(&check.stdout);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(stdout.contains("ok: no invariant violations"), "{stdout}");
    assert!(!stdout.contains("\x1b[") && !stderr.contains("\x1b["));
    assert!(!stderr.contains("refinery"), "migration chatter: {stderr}");
}
