//! Runs one case through Cepheus and the FlinkCEP peer and prints both.
//!
//! ```text
//! cargo run -p cepheus-tests --bin diff_case -- RULE.cep EVENTS.jsonl [--no-peer] [--nfa] [--final-only]
//! ```
//! By default our side is the batch mode (`run_batch`) and the peer gets the
//! same watermark schedule. `--nfa` drives the bare NFA instead (time advanced
//! per distinct timestamp, then +infinity) and `--final-only` gives the peer
//! only the final watermark (the schedule `--nfa` models). `--model` runs
//! the bare NFA inside the model of FlinkCEP's CepOperator timers.

use cepheus_tests::case::{describe_difference, Case};
use cepheus_tests::engine::{self, Drive};
use cepheus_tests::peer::Peer;
use cepheus_tests::plan_to_peer::{self, Precompute, Schedule};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let files: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    if files.len() != 2 {
        eprintln!("usage: diff_case RULE.cep EVENTS.jsonl [--no-peer] [--no-flush]");
        std::process::exit(2);
    }
    let rule = std::fs::read_to_string(files[0]).expect("rule file");
    let events: Vec<serde_json::Value> = std::fs::read_to_string(files[1])
        .expect("events file")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("event JSON"))
        .collect();
    let case = Case { rule, events };
    let nfa = args.iter().any(|a| a == "--nfa");
    let schedule = if args.iter().any(|a| a == "--final-only") {
        Schedule::FinalOnly
    } else {
        Schedule::Batch
    };
    let plan = match engine::compile_rule(&case.rule) {
        Ok(p) => p,
        Err(e) => {
            println!("{e}");
            std::process::exit(1);
        }
    };
    match plan_to_peer::case_to_peer_with(&plan, &case.events, Precompute::No, schedule) {
        Ok(c) => println!("peer case:\n{}", serde_json::to_string(&c).unwrap()),
        Err(e) => println!("not convertible: {e}"),
    }
    let t = std::time::Instant::now();
    let model = args.iter().any(|a| a == "--model");
    let ours = if model {
        engine::run_cep_operator_model(&plan, &case.events)
    } else if nfa {
        engine::run_nfa(&plan, &case.events, Drive::Operator, None)
    } else {
        engine::run_plan(&plan, &case.events)
    };
    println!("Cepheus ({:.3}s):", t.elapsed().as_secs_f64());
    match &ours {
        Ok(o) => println!("  {}", o.render()),
        Err(e) => println!("  {e}"),
    }
    if args.iter().any(|a| a == "--no-peer") {
        return;
    }
    let peer = Peer::locate().unwrap_or_else(|e| panic!("{e}"));
    let pc = plan_to_peer::case_to_peer_with(&plan, &case.events, Precompute::No, schedule)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = peer.run(&[pc]).unwrap_or_else(|e| panic!("{e}"));
    println!("FlinkCEP:");
    match &r[0].error {
        Some(e) => println!("  error: {e}"),
        None => println!("  {}", r[0].outcome.render()),
    }
    if let (Ok(o), None) = (&ours, &r[0].error) {
        let d = describe_difference("Cepheus", o, "FlinkCEP", &r[0].outcome);
        println!("{}", if d.is_empty() { "SAME".to_string() } else { d });
    }
}
