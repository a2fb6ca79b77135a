//! The README's five-minute tour, run as written against the real demo, so the README
//! cannot drift from what the binary answers (issue 12, item 13).
//!
//! The test starts the built binary with `serve --demo` on a free loopback port in a
//! temporary directory (SQLite only: the demo's own database, `data/demo.db`), reads the
//! admin key it prints, and runs every ```` ```sh ```` block of the README's "Five-minute
//! tour" section in order, in one bash process, with `API`, `ORDERLY_KEY` and `auth` set
//! as the tour's first block (the one starting the demo, which the test does itself) sets
//! them. `curl` is a shell function that records each call's status and body. A trailing
//! annotation on a command's last line, `# → 409 stale_count`, is its documented answer:
//! the status code, then optionally the answer's `code` (for an error) or its `status`
//! field (otherwise; a return's `state`, which has no `status`); the test checks each against the call the command made last, and
//! every unannotated call must answer 2xx. Documenting one more command is therefore one
//! README edit. After the tour, the `console` block showing `orderly check` with no
//! arguments is run too and its output compared line by line (`…` stands for any text).
//!
//! Bounded: the server's key must appear within 60 s and the tour must end within 180 s;
//! the server is killed when the test ends, passing or not.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_orderly");
const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
const TOUR_HEADING: &str = "## Five-minute tour";
const TOUR_DEADLINE: Duration = Duration::from_secs(180);

/// The demo server as a child process; dropping it kills the process.
struct DemoServer {
    child: Child,
    api: String,
    key: String,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DemoServer {
    /// Starts `orderly serve --demo` in `dir` on a port the OS picks, and waits for the
    /// address and admin key it prints.
    fn start(dir: &Path) -> DemoServer {
        let mut child = Command::new(EXE)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .current_dir(dir)
            .env("ORDERLY_LOG", "warn")
            .env_remove("ORDERLY_CONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start orderly serve --demo");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Drains stdout for the server's whole life so it can never block on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut server = DemoServer {
            child,
            api: String::new(),
            key: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut addr = None;
        while server.key.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .expect("the demo prints its address and admin key within 60 s");
            if let Some(rest) = line.split("running at http://").nth(1) {
                addr = Some(rest.trim().to_owned());
            }
            if let Some(rest) = line.split("Admin API key (shown once): ").nth(1) {
                server.key = rest.trim().to_owned();
            }
        }
        let addr = addr.expect("the demo prints its address before its key");
        server.api = format!("http://{addr}/api/v1");
        server
    }
}

/// A fenced block of the README: its info string, its first line's number (1-based) and
/// its lines.
struct Block {
    info: String,
    first_line: usize,
    lines: Vec<String>,
}

/// The fenced blocks of the README's tour section, in order.
fn tour_blocks(readme: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut in_tour = false;
    let mut open: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        if open.is_none() && line.starts_with("## ") {
            in_tour = line.trim() == TOUR_HEADING;
            continue;
        }
        if !in_tour {
            continue;
        }
        match open.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some(Block {
                        info: info.trim().to_owned(),
                        first_line: i + 2,
                        lines: Vec::new(),
                    });
                }
            }
            Some(block) if line.trim_end() == "```" => blocks.push(block),
            Some(mut block) => {
                block.lines.push(line.to_owned());
                open = Some(block);
            }
        }
    }
    assert!(
        open.is_none(),
        "the README's tour has an unclosed code block"
    );
    blocks
}

/// A documented answer: `# → 201 processing` is (201, Some("processing")).
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    status: u16,
    word: Option<String>,
}

/// The annotation at the end of a command line, if any: `→`, a three-digit status, then
/// optionally a snake_case word (the problem `code` or the `status` field); anything after
/// that is prose for the reader.
fn annotation(line: &str) -> Option<Expected> {
    let (_, rest) = line.rsplit_once("# →")?;
    let mut words = rest.split_whitespace();
    let status = words.next()?;
    let status = status.trim_end_matches([':', ',', ';']);
    let status: u16 = status.parse().ok().filter(|s| (100..600).contains(s))?;
    let next_is_word = rest
        .trim_start()
        .strip_prefix(&status.to_string())
        .is_some_and(|after| after.starts_with(' '));
    let word = words
        .next()
        .filter(|_| next_is_word)
        .map(|w| w.trim_end_matches([':', ',', ';']))
        .filter(|w| {
            w.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && w.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned);
    Some(Expected { status, word })
}

/// What the harness defines before the tour: the variables the tour's first block sets,
/// and a `curl` that records every call (status, body, the script line it came from) in
/// `calls/`, numbered in order, so an annotation can be checked against the last call.
fn prelude(server: &DemoServer, calls: &Path) -> String {
    format!(
        r#"set -euo pipefail
export API='{api}'
export ORDERLY_KEY='{key}'
auth="Authorization: Bearer $ORDERLY_KEY"
__calls='{calls}'
echo 0 > "$__calls/count"
curl() {{
    local n rc=0
    n=$(( $(cat "$__calls/count") + 1 ))
    echo "$n" > "$__calls/count"
    echo "${{BASH_LINENO[0]}}" > "$__calls/$n.line"
    command curl --max-time 30 "$@" -w '%{{stderr}}%{{http_code}}' \
        2>"$__calls/$n.status" >"$__calls/$n.body" || rc=$?
    cat "$__calls/$n.body"
    return $rc
}}
__expect() {{
    echo "$(cat "$__calls/count") $*" >> "$__calls/expected"
}}
"#,
        api = server.api,
        key = server.key,
        calls = calls.display()
    )
}

/// The tour as one script, and for each script line the README line it came from.
fn tour_script(blocks: &[Block], prelude: &str) -> (String, Vec<usize>) {
    let mut script = String::from(prelude);
    let mut origin: Vec<usize> = vec![0; prelude.lines().count()];
    for block in blocks.iter().filter(|b| b.info == "sh") {
        if block.lines.iter().any(|l| l.contains("serve --demo")) {
            // The harness started the demo; its prelude must define what this block does.
            let text = block.lines.join("\n");
            for defined in [
                "export ORDERLY_KEY=",
                "export API=",
                "auth=\"Authorization: Bearer $ORDERLY_KEY\"",
            ] {
                assert!(
                    text.contains(defined),
                    "the tour's first block no longer sets `{defined}`: update the test's prelude"
                );
            }
            continue;
        }
        for (i, line) in block.lines.iter().enumerate() {
            let readme_line = block.first_line + i;
            script.push_str(line);
            script.push('\n');
            origin.push(readme_line);
            if let Some(expected) = annotation(line) {
                script.push_str(&format!(
                    "__expect {readme_line} {} {}\n",
                    expected.status,
                    expected.word.as_deref().unwrap_or("-")
                ));
                origin.push(readme_line);
            }
        }
    }
    (script, origin)
}

/// One recorded curl call.
struct Call {
    status: u16,
    body: String,
    readme_line: usize,
}

fn read_calls(calls: &Path, origin: &[usize]) -> Vec<Call> {
    let count: usize = std::fs::read_to_string(calls.join("count"))
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .unwrap_or(0);
    (1..=count)
        .map(|n| {
            let read = |ext: &str| {
                std::fs::read_to_string(calls.join(format!("{n}.{ext}"))).unwrap_or_default()
            };
            let status_text = read("status");
            // The last three characters are the status; curl's own errors come before.
            let status = status_text
                .trim()
                .get(status_text.trim().len().saturating_sub(3)..)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let script_line: usize = read("line").trim().parse().unwrap_or(0);
            Call {
                status,
                body: read("body"),
                readme_line: origin
                    .get(script_line.wrapping_sub(1))
                    .copied()
                    .unwrap_or(0),
            }
        })
        .collect()
}

/// Every way the recorded calls differ from what the README documents.
fn mismatches(calls: &[Call], expected_file: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let mut checked = std::collections::HashSet::new();
    for entry in expected_file.lines() {
        let parts: Vec<&str> = entry.split_whitespace().collect();
        let [n, readme_line, status, word] = parts[..] else {
            problems.push(format!("malformed expectation {entry:?}"));
            continue;
        };
        let n: usize = n.parse().unwrap_or(0);
        let Some(call) = n.checked_sub(1).and_then(|i| calls.get(i)) else {
            problems.push(format!(
                "README.md:{readme_line}: an annotated command made no curl call"
            ));
            continue;
        };
        if !checked.insert(n) {
            problems.push(format!(
                "README.md:{readme_line}: an annotated command made no curl call of its own"
            ));
            continue;
        }
        let body = call.body.chars().take(600).collect::<String>();
        if status.parse::<u16>().ok() != Some(call.status) {
            problems.push(format!(
                "README.md:{readme_line}: documented {status}, answered {}: {body}",
                call.status
            ));
            continue;
        }
        if word != "-" {
            let json: serde_json::Value = serde_json::from_str(&call.body).unwrap_or_default();
            // A return has no `status`: its `state` is what the reader follows.
            let field = match (call.status >= 400, json.get("status").is_some()) {
                (true, _) => "code",
                (false, true) => "status",
                (false, false) => "state",
            };
            if json[field] != word {
                problems.push(format!(
                    "README.md:{readme_line}: documented {field} {word:?}, answered {}: {body}",
                    json[field]
                ));
            }
        }
    }
    for (i, call) in calls.iter().enumerate() {
        if !checked.contains(&(i + 1)) && !(200..300).contains(&call.status) {
            problems.push(format!(
                "README.md:{}: an unannotated command answered {}: {}",
                call.readme_line,
                call.status,
                call.body.chars().take(600).collect::<String>()
            ));
        }
    }
    problems
}

/// Runs `script` with bash in `dir`, killing it after the deadline; returns its output.
fn run_bash(dir: &Path, script: &Path) -> (bool, String) {
    let out_path = dir.join("tour.out");
    let out = std::fs::File::create(&out_path).expect("tour output file");
    let err = out.try_clone().expect("tour output file");
    let mut bash = Command::new("bash")
        .args(["--noprofile", "--norc"])
        .arg(script)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("run bash");
    let deadline = Instant::now() + TOUR_DEADLINE;
    let success = loop {
        if let Some(status) = bash.try_wait().expect("wait for bash") {
            break status.success();
        }
        if Instant::now() > deadline {
            let _ = bash.kill();
            let _ = bash.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (
        success,
        std::fs::read_to_string(&out_path).unwrap_or_default(),
    )
}

/// The `console` block showing `orderly check`: the command's arguments and the lines it
/// documents.
fn check_example(blocks: &[Block]) -> (Vec<String>, Vec<String>) {
    let block = blocks
        .iter()
        .find(|b| b.info == "console" && b.lines.iter().any(|l| l.contains("-- check")))
        .expect("the tour shows `orderly check` in a console block");
    let (command, output) = block.lines.split_first().expect("a command line");
    let args = command
        .split("-- ")
        .nth(1)
        .expect("`$ cargo run --release -- ARGS`")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    (args, output.to_vec())
}

/// Whether `text` is `pattern` with each `…` standing for any text.
fn matches_elided(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('…').collect();
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut left) = text.strip_prefix(first) else {
        return false;
    };
    for (i, part) in rest.iter().enumerate() {
        let last = i + 1 == rest.len();
        match (last, left.find(part)) {
            (true, _) => return left.ends_with(part),
            (false, Some(at)) => left = &left[at + part.len()..],
            (false, None) => return false,
        }
    }
    left.is_empty()
}

#[test]
fn the_readme_tour_answers_as_documented() {
    let readme = std::fs::read_to_string(README).expect("read README.md");
    let blocks = tour_blocks(&readme);
    let dir = tempfile::tempdir().expect("temp dir");
    let calls: PathBuf = dir.path().join("calls");
    std::fs::create_dir(&calls).expect("calls dir");
    let server = DemoServer::start(dir.path());

    let (script, origin) = tour_script(&blocks, &prelude(&server, &calls));
    let annotated = script.matches("\n__expect ").count();
    assert!(annotated >= 20, "the tour documents {annotated} answers");
    let script_path = dir.path().join("tour.sh");
    std::fs::write(&script_path, &script).expect("write the tour script");
    let (success, output) = run_bash(dir.path(), &script_path);
    let recorded = read_calls(&calls, &origin);
    let expected = std::fs::read_to_string(calls.join("expected")).unwrap_or_default();
    let mut problems = mismatches(&recorded, &expected);
    if !success {
        let tail: String = output.lines().rev().take(15).collect::<Vec<_>>().join("\n");
        problems.push(format!(
            "the tour's script failed or timed out after {} calls; its last output (newest first):\n{tail}",
            recorded.len()
        ));
    }
    assert!(
        problems.is_empty(),
        "the README's tour does not answer as documented:\n{}",
        problems.join("\n")
    );
    assert_eq!(
        expected.lines().count(),
        annotated,
        "every documented answer was checked"
    );

    // `orderly check` as the tour shows it: no arguments, in the demo's directory.
    let (args, documented) = check_example(&blocks);
    let check = Command::new(EXE)
        .args(&args)
        .current_dir(dir.path())
        .env_remove("ORDERLY_CONFIG")
        .output()
        .expect("run orderly check");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stderr),
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(check.status.success(), "orderly check failed:\n{printed}");
    for line in &documented {
        assert!(
            printed
                .lines()
                .any(|p| matches_elided(line.trim(), p.trim())),
            "README documents `{line}` from `orderly {}`; it printed:\n{printed}",
            args.join(" ")
        );
    }
    drop(server);
}

#[test]
fn annotations_read_status_then_code_or_status() {
    let exp = |status, word: Option<&str>| {
        Some(Expected {
            status,
            word: word.map(str::to_owned),
        })
    };
    assert_eq!(
        annotation("curl x   # → 409 stale_count"),
        exp(409, Some("stale_count"))
    );
    assert_eq!(
        annotation("curl x   # → 200 on_hold: the review stays"),
        exp(200, Some("on_hold"))
    );
    assert_eq!(annotation("curl x   # → 201: pick list"), exp(201, None));
    assert_eq!(annotation("curl x   # → 200"), exp(200, None));
    assert_eq!(
        annotation("curl x   # → 200 processing (finance only)"),
        exp(200, Some("processing"))
    );
    assert_eq!(annotation("curl x   # pick list"), None);
    assert!(matches_elided(
        "checked 9 orders (… events) in …",
        "checked 9 orders (7 events) in x"
    ));
    assert!(!matches_elided(
        "checked 9 orders (… events)",
        "checked 8 orders (7 events)"
    ));
    assert!(matches_elided("ok", "ok") && !matches_elided("ok", "ok!"));
    assert_eq!(annotation("curl x   # → soon"), None);
}

#[test]
fn check_without_a_database_names_the_files_it_looked_for() {
    let dir = tempfile::tempdir().expect("temp dir");
    let check = Command::new(EXE)
        .arg("check")
        .current_dir(dir.path())
        .env_remove("ORDERLY_CONFIG")
        .output()
        .expect("run orderly check");
    let printed = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "check with no database passed");
    for named in [
        "data/orderly.db",
        "data/demo.db",
        "--config FILE",
        "--database URL",
    ] {
        assert!(printed.contains(named), "no `{named}` in: {printed}");
    }
    assert!(
        !dir.path().join("data").exists(),
        "check created a database directory"
    );
}

/// The demo holds a return resting in every state but the two that pass on their own:
/// `requested` (judged in the same write) and `refund_pending` (the simulator answers
/// every refund at once). Each is found by the list's state filter, as the README says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_holds_a_return_in_every_resting_state() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = DemoServer::start(dir.path());
    let client = crate::helpers::client();
    for state in [
        "needs_review",
        "authorized",
        "rejected",
        "in_transit",
        "lost",
        "received",
        "inspected",
        "refund_failed",
        "completed",
        "cancelled",
        "expired",
    ] {
        let page: serde_json::Value = client
            .get(format!("{}/returns?state={state}", server.api))
            .bearer_auth(&server.key)
            .send()
            .await
            .expect("list returns")
            .json()
            .await
            .expect("a page of returns");
        let found = page["data"].as_array().map_or(0, Vec::len);
        assert!(found > 0, "no demo return is {state}: {page}");
    }
    let walkthrough: serde_json::Value = client
        .get(format!("{}/orders/WEB-1005", server.api))
        .bearer_auth(&server.key)
        .send()
        .await
        .expect("the walkthrough's order")
        .json()
        .await
        .expect("an order");
    assert_eq!(walkthrough["status"], "delivered", "{walkthrough}");
    assert_eq!(walkthrough["return_state"], "none", "{walkthrough}");
    drop(server);
}
