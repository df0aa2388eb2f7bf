//! The Flink window peer's hand-made cases (`tests/peers/flinkcep/examples/
//! windows_cases.jsonl`) against the firings real Flink produced for them
//! (`windows_expected.jsonl`), when those files are present: every firing's
//! key, bounds, update flag and values, and the dropped late events.

#[path = "window_common.rs"]
mod common;

use std::path::Path;

use common::{Fired, Harness};
use serde_json::{json, Value as Json};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/peers/flinkcep/examples");

fn rule_for(case: &Json) -> Option<String> {
    let w = &case["window"];
    let window = match w["kind"].as_str()? {
        "tumbling" => format!("tumbling {}ms", w["size_ms"].as_i64()?),
        "sliding" => format!("sliding {}ms every {}ms", w["size_ms"].as_i64()?, w["slide_ms"].as_i64()?),
        "session" => format!("session gap {}ms", w["gap_ms"].as_i64()?),
        "count" => match w["slide"].as_i64() {
            Some(m) => format!("count {} every {m}", w["size"].as_i64()?),
            None => format!("count {}", w["size"].as_i64()?),
        },
        _ => return None,
    };
    let lateness = case["allowed_lateness_ms"].as_i64().unwrap_or(0);
    let lateness = if lateness > 0 && w["kind"] != "count" {
        format!("allow lateness {lateness}ms")
    } else {
        String::new()
    };
    let mut emit = Vec::new();
    for (i, a) in case["aggregates"].as_array()?.iter().enumerate() {
        let f = a["field"].as_str().unwrap_or("");
        let e = match a["func"].as_str()? {
            "count" => "count()".to_string(),
            "count_nonnull" => format!("count({f})"),
            "percentile" => format!("percentile({f}, {})", a["q"].as_f64()?),
            other => format!("{other}({f})"),
        };
        emit.push(format!("{e} as a{i}"));
    }
    // every member but the key and the time as `json`, so that values keep
    // their JSON type (ints stay ints), as they do in the peer
    let mut fields = std::collections::BTreeSet::new();
    for e in case["events"].as_array()? {
        for name in e.as_object()?.keys() {
            if !["key", "ts", "watermark"].contains(&name.as_str()) {
                fields.insert(name.clone());
            }
        }
    }
    for a in case["aggregates"].as_array()? {
        if let Some(f) = a["field"].as_str() {
            fields.insert(f.to_string());
        }
    }
    let decl: String = fields.iter().map(|f| format!("{f} json, ")).collect();
    Some(format!(
        "stream w (k string, {decl}ts timestamp) time ts lateness 0s;
rule r {{ from w partition by k window {window} {lateness} emit k, {} }}",
        emit.join(", ")
    ))
}

fn close(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()),
        _ => a == b,
    }
}

#[test]
fn hand_made_cases_give_what_flink_gave() {
    let (cases, expected) = (Path::new(DIR).join("windows_cases.jsonl"), Path::new(DIR).join("windows_expected.jsonl"));
    let (Ok(cases), Ok(expected)) = (std::fs::read_to_string(cases), std::fs::read_to_string(expected)) else {
        eprintln!("no peer examples at {DIR}; skipped");
        return;
    };
    let mut checked = 0;
    for (line, want) in cases.lines().zip(expected.lines()) {
        let case: Json = serde_json::from_str(line).unwrap();
        let want: Json = serde_json::from_str(want).unwrap();
        assert_eq!(case["case"], want["case"]);
        let name = case["case"].as_str().unwrap_or("?").to_string();
        let Some(rule) = rule_for(&case) else {
            assert!(!want["error"].is_null(), "{name}: peer accepted a case we cannot express");
            continue;
        };
        let plan = common::plan_of(&rule);
        let mut h = Harness::from_plan(&plan);
        if let Some(lag) = case["watermark"]["lag_ms"].as_i64() {
            h = h.with_lag(lag);
        }
        let count = case["window"]["kind"] == "count";
        for e in case["events"].as_array().unwrap() {
            if let Some(wm) = e.get("watermark").and_then(Json::as_i64) {
                h.watermark(wm);
                continue;
            }
            let mut ev = e.clone();
            if let Some(k) = ev.as_object_mut().unwrap().remove("key") {
                ev["k"] = k;
            }
            h.send(ev);
        }
        h.finish();
        let norm = |key: &Json, start: &Json, end: &Json, update: &Json, values: Vec<Json>| {
            let mut v = vec![key.clone()];
            if !count {
                v.extend([start.clone(), end.clone(), update.clone()]);
            }
            (v, values)
        };
        let mut got: Vec<_> = h
            .fired()
            .iter()
            .map(|f: &Fired| {
                let values = (0..case["aggregates"].as_array().unwrap().len())
                    .map(|i| f.f(&format!("a{i}")).clone())
                    .collect();
                norm(&f.key, &json!(f.start), &json!(f.end), &json!(f.update), values)
            })
            .collect();
        let mut exp: Vec<_> = want["firings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| norm(&f["key"], &f["start"], &f["end"], &f["update"], f["values"].as_array().unwrap().clone()))
            .collect();
        let sort = |v: &mut Vec<(Vec<Json>, Vec<Json>)>| v.sort_by_key(|(k, vals)| format!("{k:?}{vals:?}"));
        sort(&mut got);
        sort(&mut exp);
        assert_eq!(got.len(), exp.len(), "{name}: got {got:?}\nflink {exp:?}");
        for (g, e) in got.iter().zip(&exp) {
            assert_eq!(g.0, e.0, "{name}: got {got:?}\nflink {exp:?}");
            for (a, b) in g.1.iter().zip(&e.1) {
                assert!(close(a, b), "{name}: {a} vs {b}: got {got:?}\nflink {exp:?}");
            }
        }
        assert_eq!(h.op.stats().dropped_late, want["late_dropped"].as_u64().unwrap_or(0), "{name}: dropped");
        checked += 1;
    }
    eprintln!("{checked} peer cases agree with Flink");
}
