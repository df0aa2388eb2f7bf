//! The README's commands, run against the real binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn cepheus(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cepheus"))
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("runs the cepheus binary")
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn readme_check_accepts_the_example_rules() {
    let out = cepheus(&["rules", "check", "examples/fraud.cep"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ok: 1 rule(s)"));
}

#[test]
fn readme_run_finds_the_planted_card_testing() {
    let out = cepheus(&[
        "run",
        "--rules",
        "examples/fraud.cep",
        "--events",
        "examples/transactions.jsonl",
        "--now",
        "2024-05-01T10:05:00Z",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let alerts: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(a["rule"], "card_testing");
    assert_eq!(a["key"]["card_id"], "c-17");
    assert_eq!(a["fields"]["tries"], 3);
    assert_eq!(a["fields"]["amount"], 812.0);
    assert_eq!(a["message"], "Card c-17: 3 tiny charges, then 812.0");
    assert_eq!(a["event_time"], "2024-05-01T10:02:00.000Z");
    let small: Vec<&str> = a["matched"]["small"]
        .as_array()
        .expect("small events")
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect();
    assert_eq!(small, ["t1", "t3", "t4"]);
    // The malformed line is reported with its line number, not dropped silently.
    assert!(text(&out.stderr).contains("transactions.jsonl:7: skipped malformed event"));
}

#[test]
fn run_is_reproducible_and_ids_are_stable() {
    let args = [
        "run",
        "--rules",
        "examples/fraud.cep",
        "--events",
        "examples/transactions.jsonl",
        "--now",
        "2024-05-01T10:05:00Z",
    ];
    let a = cepheus(&args);
    let b = cepheus(&args);
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn run_reads_stdin() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_cepheus"))
        .args(["run", "--rules", "examples/fraud.cep", "--events", "-"])
        .current_dir(repo_root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawns");
    let events = std::fs::read(repo_root().join("examples/transactions.jsonl")).expect("example events");
    child.stdin.take().expect("stdin").write_all(&events).expect("writes");
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).lines().count(), 1);
}

#[test]
fn check_reports_mistakes_with_a_caret_and_exit_1() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.cep");
    let src = std::fs::read_to_string(repo_root().join("examples/fraud.cep"))
        .expect("example")
        .replace("amount < 2.00", "amout < 2.00");
    std::fs::write(&path, src).expect("writes");
    let out = cepheus(&["rules", "check", path.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("amout"), "{err}");
    assert!(err.contains("did you mean 'amount'?"), "{err}");
    assert!(err.contains('^'), "{err}");

    let json = cepheus(&["rules", "check", "--format", "json", path.to_str().expect("utf-8 path")]);
    assert_eq!(json.status.code(), Some(1));
    let diags: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json diagnostics");
    let first = &diags[0];
    assert_eq!(first["level"], "error");
    assert!(first["start"]["line"].as_u64().is_some());
}

#[test]
fn fmt_check_accepts_formatted_files_and_fmt_rewrites_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("r.cep");
    std::fs::write(&path, "stream s (id int, ts timestamp) time ts;\nrule r { from s pattern a -> b within 1m }\n")
        .expect("writes");
    let p = path.to_str().expect("utf-8 path");
    let before = cepheus(&["rules", "fmt", "--check", p]);
    assert_eq!(before.status.code(), Some(1), "{}", text(&before.stderr));
    let fmt = cepheus(&["rules", "fmt", p]);
    assert!(fmt.status.success(), "{}", text(&fmt.stderr));
    let after = cepheus(&["rules", "fmt", "--check", p]);
    assert!(after.status.success(), "{}", text(&after.stderr));
    let check = cepheus(&["rules", "check", p]);
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn explain_prints_the_plan() {
    let out = cepheus(&["rules", "explain", "examples/fraud.cep"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    assert_eq!(plan["name"], "card_testing");
    assert!(plan["body"]["pattern"]["stages"].is_array());
}
