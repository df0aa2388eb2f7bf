//! Smoke test of the benchmark harness (`src/bin/pattern_bench.rs`, see
//! `BENCHMARKS.md`): runs `pattern_bench --quick` and checks that Cepheus and
//! FlinkCEP found the same number of matches on every shape. Timings and
//! memory are printed by the harness but never asserted: CI machines are
//! shared and noisy.
//!
//! Needs Java and the FlinkCEP peer (built on demand by the harness). With
//! `CEPHEUS_SKIP_PEER=1` the peer is skipped (loudly) and only the Cepheus
//! side runs.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value as Json;

const SHAPES: [&str; 8] = [
    "seq3",
    "loop3",
    "any",
    "absence",
    "iter",
    "kleene-100",
    "kleene-1000",
    "kleene-10000",
];

fn scratch_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("cepheus-bench-smoke-{}-{name}", std::process::id()))
}

#[test]
fn quick_mode_match_counts_agree() {
    let skip_peer = std::env::var("CEPHEUS_SKIP_PEER").is_ok_and(|v| v == "1");
    let json_path = scratch_file("quick.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pattern_bench"));
    cmd.arg("--quick").arg("--json").arg(&json_path);
    if skip_peer {
        eprintln!("########## CEPHEUS_SKIP_PEER=1: FlinkCEP side SKIPPED, Cepheus only ##########");
        cmd.arg("--no-peer");
    }
    let out = cmd.output().expect("running pattern_bench");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "pattern_bench --quick failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );

    let bytes = std::fs::read(&json_path).expect("pattern_bench wrote no JSON report");
    let _ = std::fs::remove_file(&json_path);
    let report: Json = serde_json::from_slice(&bytes).expect("JSON report");
    assert_eq!(report["mode"], "quick");
    assert_eq!(
        report["mismatches"].as_array().map(Vec::len),
        Some(0),
        "{}",
        report["mismatches"]
    );
    assert_eq!(
        report["failures"].as_array().map(Vec::len),
        Some(0),
        "{}",
        report["failures"]
    );

    let results = report["results"].as_array().expect("results");
    let shapes: Vec<&str> = results.iter().filter_map(|r| r["shape"].as_str()).collect();
    assert_eq!(shapes, SHAPES, "every shape runs in quick mode");
    for r in results {
        let shape = r["shape"].as_str().unwrap_or("?");
        let cepheus = r["cepheus"]["matches"]
            .as_u64()
            .expect("Cepheus match count");
        // A shape that matches nothing would compare nothing.
        assert!(cepheus > 0, "{shape}: no match in quick mode");
        assert!(
            r["cepheus"]["events_per_sec"]
                .as_f64()
                .is_some_and(|x| x > 0.0),
            "{shape}: no throughput"
        );
        if skip_peer {
            continue;
        }
        let flink = r["flinkcep"]["matches"]
            .as_u64()
            .expect("FlinkCEP match count");
        assert_eq!(
            cepheus, flink,
            "{shape}: MISMATCH: Cepheus {cepheus} matches, FlinkCEP {flink}"
        );
        assert_eq!(r["match_counts_equal"], true, "{shape}");
    }
}
