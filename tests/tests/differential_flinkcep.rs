//! Differential test: random pattern rules and events through Cepheus and
//! through FlinkCEP (the Java peer), compared case by case.
//!
//! - `CEPHEUS_DIFF_CASES` (default 2000): how many accepted cases to run;
//! - `CEPHEUS_DIFF_SEED` (default fixed): the generator's seed;
//! - `CEPHEUS_SKIP_PEER=1`: run without the peer (prints loudly, compares nothing);
//! - `CEPHEUS_DIFF_SHOW_REJECTED=1`: print every rule our checker rejects;
//! - `CEPHEUS_DIFF_CHECK_MODEL=1`: also compare every case's FlinkCEP output
//!   with our NFA inside the model of CepOperator's timers
//!   (`engine::run_cep_operator_model`), and report where they differ.
//!
//! Zero differences are required. On a difference the case is shrunk and the
//! smallest reproducing case is printed with both outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use cepheus_tests::case::Case;
use cepheus_tests::diff::{self, DiffKind, Verdict, EXCLUSIONS};
use cepheus_tests::gen::{self, Rng, FEATURES};
use cepheus_tests::peer::{peer_or_skip, Peer};
use cepheus_tests::shrink::{self, Candidate};

const DEFAULT_SEED: u64 = 0xCE9E_0001;

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

fn kind_of(v: &Verdict) -> Option<DiffKind> {
    match v {
        Verdict::Differ(d) => Some(d.kind),
        _ => None,
    }
}

fn shrink_case(peer: &Peer, start: Candidate, kind: DiffKind) -> (Candidate, Verdict, usize) {
    let mut still_fails = |cands: &[Candidate]| -> Vec<bool> {
        let cases: Vec<Case> = cands.iter().map(|c| c.case.clone()).collect();
        match diff::run_batch(peer, &cases) {
            Ok(run) => run.verdicts.iter().map(|v| kind_of(v) == Some(kind)).collect(),
            Err(e) => {
                eprintln!("[shrink] peer failed: {e}");
                vec![false; cands.len()]
            }
        }
    };
    let (small, rounds) = shrink::shrink(start, &mut still_fails, 200);
    let verdict = diff::run_batch(peer, std::slice::from_ref(&small.case))
        .map(|r| r.verdicts[0].clone())
        .unwrap_or(Verdict::Same);
    (small, verdict, rounds)
}

#[test]
fn differential_flinkcep() {
    let t_start = Instant::now();
    let want = env_u64("CEPHEUS_DIFF_CASES", 2000) as usize;
    let seed = env_u64("CEPHEUS_DIFF_SEED", DEFAULT_SEED);
    let show_rejected = std::env::var("CEPHEUS_DIFF_SHOW_REJECTED").is_ok_and(|v| v == "1");
    println!("differential_flinkcep: {want} cases, seed {seed:#x} (CEPHEUS_DIFF_CASES, CEPHEUS_DIFF_SEED)");

    // Generate until `want` cases are accepted by our checker.
    let mut rng = Rng::new(seed);
    let mut generated = Vec::new();
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut n_rejected = 0;
    let mut attempts = 0;
    while generated.len() < want {
        attempts += 1;
        assert!(attempts < want * 20 + 100, "the generator makes too many rejected rules");
        let g = gen::generate(&mut rng);
        match cepheus_tests::engine::compile_rule(&g.case.rule) {
            Err(cepheus_tests::engine::RunError::Rejected { codes, rendered }) => {
                n_rejected += 1;
                let codes: BTreeSet<&str> = codes.into_iter().collect();
                let key = codes.into_iter().collect::<Vec<_>>().join("+");
                *rejected.entry(key).or_default() += 1;
                if show_rejected {
                    println!("rejected:\n{}\n{rendered}", g.case.rule);
                }
            }
            _ => generated.push(g),
        }
    }
    let gen_time = t_start.elapsed();

    // Feature coverage of the accepted cases.
    let mut coverage: BTreeMap<&str, usize> = FEATURES.iter().map(|f| (*f, 0)).collect();
    for g in &generated {
        for f in g.spec.features() {
            *coverage.entry(f).or_default() += 1;
        }
    }
    let total_events: usize = generated.iter().map(|g| g.case.events.len()).sum();
    println!(
        "generated {} accepted cases ({} events) in {:.2}s; {} rejected by our checker (skipped):",
        generated.len(),
        total_events,
        gen_time.as_secs_f64(),
        n_rejected
    );
    for (codes, n) in &rejected {
        println!("  rejected {n:5} x {codes}");
    }
    println!("feature coverage (accepted cases using it):");
    for (f, n) in &coverage {
        println!("  {n:5}  {f}");
    }
    let uncovered: Vec<&str> = FEATURES.iter().copied().filter(|f| coverage[f] == 0).collect();

    let Some(peer) = peer_or_skip("differential_flinkcep") else {
        // Still run our side, so crashes and hangs show up.
        let t = Instant::now();
        for g in &generated {
            let _ = cepheus_tests::engine::run_source(&g.case.rule, &g.case.events);
        }
        println!("Cepheus alone: {:.2}s (nothing compared)", t.elapsed().as_secs_f64());
        return;
    };

    let cases: Vec<Case> = generated.iter().map(|g| g.case.clone()).collect();
    let run = diff::run_batch(&peer, &cases).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "Cepheus: {:.2}s, FlinkCEP peer (one JVM, incl. start-up): {:.2}s",
        run.ours_time.as_secs_f64(),
        run.peer_time.as_secs_f64()
    );

    let mut same = 0;
    let mut excluded: BTreeMap<&str, usize> = BTreeMap::new();
    let mut differing: Vec<usize> = Vec::new();
    let mut by_kind: BTreeMap<DiffKind, usize> = BTreeMap::new();
    let mut matches_total = 0;
    for (i, v) in run.verdicts.iter().enumerate() {
        match v {
            Verdict::Same => same += 1,
            Verdict::Rejected(_) => unreachable!("pre-filtered"),
            Verdict::Excluded(name) => *excluded.entry(name).or_default() += 1,
            Verdict::Differ(d) => {
                differing.push(i);
                *by_kind.entry(d.kind).or_default() += 1;
            }
        }
        if let (Verdict::Same, Some(o)) = (v, &run.ours[i]) {
            matches_total += o.matches.len();
        }
    }
    if std::env::var("CEPHEUS_DIFF_CHECK_MODEL").is_ok_and(|v| v == "1") {
        let mut agree = 0;
        let mut disagree = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            let Some(p) = run.peer[i].as_ref().filter(|p| p.error.is_none()) else { continue };
            let Ok(plan) = cepheus_tests::engine::compile_rule(&c.rule) else { continue };
            let t = Instant::now();
            let Ok(m) = cepheus_tests::engine::run_cep_operator_model(&plan, &c.events) else { continue };
            if t.elapsed().as_secs_f64() > 1.0 {
                println!("operator model: case #{i} took {:.1}s", t.elapsed().as_secs_f64());
            }
            let timeouts = cepheus_tests::engine::pattern_of(&plan).on_timeout.is_some();
            let (m, p) = if timeouts {
                (m, p.outcome.clone())
            } else {
                (m.without_timeouts(), p.outcome.without_timeouts())
            };
            if m == p {
                agree += 1;
            } else {
                disagree.push(i);
            }
        }
        println!("operator model: {agree} cases agree with FlinkCEP, {} differ: {:?}", disagree.len(), disagree);
    }
    println!(
        "compared {} cases: {same} identical ({matches_total} matches in all), {} differ, {} excluded",
        cases.len(),
        differing.len(),
        excluded.values().sum::<usize>()
    );
    println!("named exclusions (shapes left out of the comparison, and why):");
    for (name, why) in EXCLUSIONS {
        println!("  {:4} x {name}: {why}", excluded.get(name).copied().unwrap_or(0));
    }
    for (shape, why) in gen::GENERATOR_EXCLUSIONS {
        println!("  never generated: {shape}: {why}");
    }
    if !differing.is_empty() {
        println!("differences by kind: {by_kind:?}");
        // Shrink one case per kind (and at most 3 in all), then fail.
        let mut report = String::new();
        let mut shown: BTreeSet<DiffKind> = BTreeSet::new();
        for &i in &differing {
            let kind = kind_of(&run.verdicts[i]).expect("differs");
            if shown.contains(&kind) || shown.len() >= 3 {
                continue;
            }
            shown.insert(kind);
            let start = Candidate {
                spec: Some(generated[i].spec.clone()),
                case: cases[i].clone(),
            };
            let t = Instant::now();
            let (small, verdict, rounds) = shrink_case(&peer, start, kind);
            report.push_str(&format!(
                "\n=== {kind:?} (case #{i} of seed {seed:#x}; shrunk from {} to {} events in {rounds} rounds, {:.1}s) ===\n{}",
                cases[i].events.len(),
                small.case.events.len(),
                t.elapsed().as_secs_f64(),
                small.case.display()
            ));
            if let Verdict::Differ(d) = verdict {
                report.push_str(&format!("--- difference ---\n{}\n", d.detail));
                if let Some(o) = &d.ours {
                    report.push_str(&format!("--- Cepheus ---\n  {}\n", o.render()));
                }
                if let Some(p) = &d.peer {
                    report.push_str(&format!("--- FlinkCEP ---\n  {}\n", p.render()));
                }
            }
        }
        let others: Vec<String> = differing.iter().take(40).map(|i| format!("#{i}")).collect();
        panic!(
            "{} of {} cases differ from FlinkCEP (seed {seed:#x}); all differing cases: {}{}\n{report}",
            differing.len(),
            cases.len(),
            others.join(" "),
            if differing.len() > 40 { " ..." } else { "" }
        );
    }
    assert!(uncovered.is_empty(), "features never exercised: {uncovered:?}");
    println!("differential_flinkcep: OK in {:.2}s", t_start.elapsed().as_secs_f64());
}
