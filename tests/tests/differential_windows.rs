//! Differential test: random window (aggregation) rules and keyed event
//! streams through Cepheus (`cepheus_dsl::compile` + `run_batch`) and through
//! Flink's own window operator (the Java peer `cepheus.peer.window.Main`),
//! compared firing by firing.
//!
//! - `CEPHEUS_WINDOW_DIFF_CASES` (default 500): how many cases;
//! - `CEPHEUS_WINDOW_DIFF_SEED` (default fixed): the generator's seed;
//! - `CEPHEUS_WINDOW_DIFF_DUMP=FILE`: also write the peer's input (JSONL) there;
//! - `CEPHEUS_SKIP_PEER=1`: run without the peer (prints loudly, compares nothing).
//!
//! Compared: per key and window, every firing (the first one and each update
//! made by a late event within `allow lateness`), its `update` flag and its
//! values (floats within 1e-9 relative); and the number of late events dropped.
//! Zero differences are required. On a difference the case is shrunk (events,
//! then aggregates, dropped while the difference remains) and the smallest case
//! is printed with both outputs.

use std::collections::BTreeMap;
use std::time::Instant;

use cepheus_tests::window_gen::{
    self, compare, describe, generate, peer_or_skip, run_cepheus, CepheusError, Func, Outcome, Rng, WindowCase,
    WindowPeer, FUNCS,
};

const DEFAULT_SEED: u64 = 0xCE9E_0004;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => {
            let v = v.trim();
            let parsed = if let Some(hex) = v.strip_prefix("0x") {
                u64::from_str_radix(hex, 16)
            } else {
                v.parse()
            };
            parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        }
        Err(_) => default,
    }
}

/// Our outcome vs Flink's for each candidate: true = still different.
fn still_differs(peer: &WindowPeer, cands: &[WindowCase]) -> Vec<bool> {
    let answers = match peer.run(cands) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("[shrink] peer failed: {e}");
            return vec![false; cands.len()];
        }
    };
    cands
        .iter()
        .zip(&answers)
        .map(|(c, a)| {
            if a.error.is_some() {
                return false;
            }
            match run_cepheus(c) {
                Ok(ours) => !compare(c, &ours, &a.outcome).is_empty(),
                Err(CepheusError::Failed(_)) => true,
                Err(_) => false,
            }
        })
        .collect()
}

#[test]
fn differential_windows() {
    let t_start = Instant::now();
    let want = env_u64("CEPHEUS_WINDOW_DIFF_CASES", 500) as usize;
    let seed = env_u64("CEPHEUS_WINDOW_DIFF_SEED", DEFAULT_SEED);
    println!(
        "differential_windows: {want} cases, seed {seed:#x} (CEPHEUS_WINDOW_DIFF_CASES, CEPHEUS_WINDOW_DIFF_SEED)"
    );

    // 1. Generate; every rule must pass our checker (they are all valid DSL).
    let mut rng = Rng::new(seed);
    let cases: Vec<WindowCase> = (0..want)
        .map(|i| generate(&mut rng, format!("{seed:#x}/{i}"), i))
        .collect();
    let mut rejected = Vec::new();
    for c in &cases {
        let compiled = cepheus_dsl::compile(&c.rule_source(), &cepheus_dsl::Catalog::new());
        if compiled.has_errors() {
            rejected.push((c, cepheus_dsl::diagnostic::render("rule.cep", &c.rule_source(), &compiled.diagnostics)));
        }
    }
    if let Some((c, rendered)) = rejected.first() {
        panic!(
            "{} of {} generated window rules were rejected by the DSL checker; the first:\n{}\n{}",
            rejected.len(),
            cases.len(),
            c.rule_source(),
            rendered
        );
    }
    if let Ok(path) = std::env::var("CEPHEUS_WINDOW_DIFF_DUMP") {
        let mut s = String::new();
        for (i, c) in cases.iter().enumerate() {
            let mut j = c.peer_json();
            j["case"] = serde_json::json!(i);
            s.push_str(&j.to_string());
            s.push('\n');
        }
        std::fs::write(&path, s).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        println!("wrote the peer input to {path}");
    }

    // Coverage of the generated cases.
    let mut by_kind: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    let mut by_func: BTreeMap<Func, usize> = FUNCS.iter().map(|f| (*f, 0)).collect();
    let mut events = 0;
    let mut out_of_order = 0;
    let mut keys_multi = 0;
    for c in &cases {
        *by_kind.entry((c.window.kind(), c.allowed_lateness_ms > 0)).or_default() += 1;
        for a in &c.aggs {
            *by_func.entry(a.func).or_default() += 1;
        }
        events += c.events.len();
        out_of_order += c.out_of_order();
        let mut ks: Vec<&str> = c.events.iter().map(|e| e.key.as_str()).collect();
        ks.sort_unstable();
        ks.dedup();
        keys_multi += usize::from(ks.len() > 1);
    }
    println!(
        "generated {} cases in {:.2}s: {events} events ({out_of_order} out of order), {keys_multi} cases with several keys",
        cases.len(),
        t_start.elapsed().as_secs_f64()
    );
    println!("window kinds (kind, allow lateness): {by_kind:?}");
    println!("aggregates: {by_func:?}");
    if want >= 50 {
        for f in FUNCS {
            assert!(by_func[&f] > 0, "no case uses {f:?}");
        }
    }

    // 2. Flink.
    let Some(peer) = peer_or_skip("differential_windows") else {
        return;
    };
    let t_peer = Instant::now();
    let answers = peer.run(&cases).unwrap_or_else(|e| panic!("differential_windows: {e}"));
    let peer_wall = t_peer.elapsed();
    let peer_cases_ms: f64 = answers.iter().filter_map(|a| a.elapsed_ms).sum();
    let errors: Vec<(usize, &String)> = answers
        .iter()
        .enumerate()
        .filter_map(|(i, a)| a.error.as_ref().map(|e| (i, e)))
        .collect();
    let fires: usize = answers.iter().map(|a| a.outcome.fires.len()).sum();
    let updates: usize = answers.iter().map(|a| a.outcome.updates()).sum();
    let dropped: u64 = answers.iter().map(|a| a.outcome.late_dropped).sum();
    let with_updates = answers.iter().filter(|a| a.outcome.updates() > 0).count();
    let with_drops = answers.iter().filter(|a| a.outcome.late_dropped > 0).count();
    println!(
        "flink: {} cases in {:.2}s wall, one JVM ({:.2}s inside the cases): {fires} firings, {updates} updates \
         ({with_updates} cases), {dropped} late events dropped ({with_drops} cases), {} errors",
        cases.len(),
        peer_wall.as_secs_f64(),
        peer_cases_ms / 1000.0,
        errors.len()
    );
    if let Some((i, e)) = errors.first() {
        panic!(
            "the Flink peer failed on {} case(s); the first:\n{e}\n{}",
            errors.len(),
            describe(&cases[*i], None, None)
        );
    }
    if want >= 200 {
        assert!(with_updates > 0, "the generator made no case where a late event updates a window");
        assert!(with_drops > 0, "the generator made no case where a late event is dropped");
    }

    // 3. Cepheus.
    let t_ours = Instant::now();
    let ours: Vec<Result<Outcome, CepheusError>> = cases.iter().map(run_cepheus).collect();
    let ours_time = t_ours.elapsed();
    let unsupported: Vec<&CepheusError> = ours
        .iter()
        .filter_map(|r| match r {
            Err(e @ CepheusError::Unsupported(_)) => Some(e),
            _ => None,
        })
        .collect();
    if let Some(e) = unsupported.first() {
        panic!(
            "differential_windows: Cepheus cannot run window rules yet ({} of {} cases): {e}\n\
             The Rust window operator (runtime/src/window/, run by cepheus_runtime::batch::run_batch) is \
             required; Flink's side ran fine ({fires} firings over {} cases).",
            unsupported.len(),
            cases.len(),
            cases.len()
        );
    }
    println!("cepheus: {} cases in {:.2}s", cases.len(), ours_time.as_secs_f64());

    // 4. Compare.
    let mut failing: Vec<(usize, Vec<String>)> = Vec::new();
    let mut diff_by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (c, (mine, theirs))) in cases.iter().zip(ours.iter().zip(&answers)).enumerate() {
        let diffs = match mine {
            Ok(o) => compare(c, o, &theirs.outcome),
            Err(e) => vec![format!("cepheus {e}")],
        };
        if !diffs.is_empty() {
            *diff_by_kind.entry(c.window.kind()).or_default() += 1;
            failing.push((i, diffs));
        }
    }
    println!(
        "compared {} cases: {} same, {} different {diff_by_kind:?} ({:.1}s in all)",
        cases.len(),
        cases.len() - failing.len(),
        failing.len(),
        t_start.elapsed().as_secs_f64()
    );
    if failing.is_empty() {
        return;
    }

    // 5. Shrink a few (one per window kind) and report.
    let mut report = String::new();
    let mut shrunk_kinds = Vec::new();
    for (i, diffs) in &failing {
        let case = &cases[*i];
        if shrunk_kinds.contains(&case.window.kind()) || shrunk_kinds.len() >= 3 {
            continue;
        }
        shrunk_kinds.push(case.window.kind());
        let t = Instant::now();
        let (small, rounds) = window_gen::shrink(case.clone(), &mut |cands| still_differs(&peer, cands), 60);
        let theirs = peer.run(std::slice::from_ref(&small)).ok().and_then(|mut a| a.pop());
        let mine = run_cepheus(&small);
        let small_diffs = match (&mine, &theirs) {
            (Ok(o), Some(t)) => compare(&small, o, &t.outcome),
            (Err(e), _) => vec![format!("cepheus {e}")],
            _ => vec!["(peer failed on the shrunk case)".into()],
        };
        report.push_str(&format!(
            "\n==== case #{i} ({}): {} difference(s), e.g. {}\n     shrunk from {} to {} events, {} aggregates, in {rounds} rounds ({:.1}s):\n",
            case.window.kind(),
            diffs.len(),
            diffs[0],
            case.events.len(),
            small.events.len(),
            small.aggs.len(),
            t.elapsed().as_secs_f64()
        ));
        for d in &small_diffs {
            report.push_str(&format!("  DIFF {d}\n"));
        }
        report.push_str(&describe(&small, mine.as_ref().ok(), theirs.as_ref().map(|a| &a.outcome)));
    }
    let mut listing = String::new();
    for (i, diffs) in failing.iter().take(20) {
        listing.push_str(&format!("  #{i} {}: {}\n", cases[*i].window.kind(), diffs[0]));
    }
    panic!(
        "differential_windows: {} of {} cases differ from Flink (seed {seed:#x}):\n{listing}{report}",
        failing.len(),
        cases.len()
    );
}
