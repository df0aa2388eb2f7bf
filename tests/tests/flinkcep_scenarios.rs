//! The FlinkCEP scenarios (`tests/scenarios/flinkcep/*.toml`, ported from
//! FlinkCEP's own test suite) through Cepheus, and through FlinkCEP itself.
//!
//! 1. Cepheus: every scenario's rule is compiled by our DSL compiler and run
//!    by the runtime's pattern operator the way the folder's README says:
//!    all events, then one watermark at the last event's timestamp (time is
//!    advanced to each timestamp before its events, nothing after the last
//!    one: FlinkCEP's `NFATestHarness`). Its matches (and timeouts, where the
//!    file lists them) must equal the file's.
//! 2. FlinkCEP: every scenario also runs through the peer (one JVM for all),
//!    which checks the ported facts. The peer always ends the input with a
//!    final watermark (+infinity), which the files do not model: for a rule
//!    with `within`, what that final watermark adds (trailing absences that
//!    complete, partial matches that time out) is taken from our own run
//!    with and without it, and the peer must give exactly the file's matches
//!    plus those. Sub-conditions the peer cannot express (`contains(...)`)
//!    are evaluated on our side into extra event fields
//!    (`plan_to_peer::Precompute::EventLocal`).

use std::collections::BTreeSet;

use cepheus_dsl::plan::{PatternPlan, RuleBody, RulePlan};

use cepheus_tests::case::{describe_difference, minus, MatchRec, Outcome};
use cepheus_tests::engine::{self, RunError};
use cepheus_tests::peer::peer_or_skip;
use cepheus_tests::plan_to_peer::{self, Precompute, Schedule};
use cepheus_tests::scenario::{self, strip_timeout_ts, Scenario};

/// Scenarios whose FlinkCEP pattern our checker rejects on purpose
/// (rules-dsl/README.md, "Rejected patterns"). Each is still run: the rule is
/// compiled in an accepted spelling and the plan is then patched into the
/// FlinkCEP pattern, so the peer checks the ported facts and our engine is
/// tried on the shape too (informational: the checker keeps such rules out).
/// The test also asserts the checker still rejects the original with the
/// listed code, so this list cannot go stale.
struct ByDesign {
    scenario: &'static str,
    code: &'static str,
    /// (text in the rule, accepted replacement)
    accept_with: (&'static str, &'static str),
    patch: fn(&mut PatternPlan),
}

// Empty since the checker accepts every pattern FlinkCEP accepts (trailing
// notNext, optional terms after a negation, a greedy last loop, all-optional
// patterns). Keep the mechanism: a future deliberate rejection goes here.
const BY_DESIGN: &[ByDesign] = &[];

/// The plan to run: the checker's, or for a rejected-by-design scenario the
/// patched plan of its accepted spelling.
fn plan_for(s: &Scenario) -> Result<(RulePlan, Option<&'static ByDesign>), String> {
    let by_design = BY_DESIGN.iter().find(|b| b.scenario == s.name);
    match (engine::compile_rule(&s.case.rule), by_design) {
        (Ok(plan), None) => Ok((plan, None)),
        (Ok(_), Some(b)) => Err(format!(
            "our checker now ACCEPTS the rule (listed in BY_DESIGN as rejected with `{}`): remove it from the list",
            b.code
        )),
        (Err(RunError::Rejected { codes, rendered }), Some(b)) => {
            if !codes.contains(&b.code) {
                return Err(format!("rejected, but not with `{}`:\n{rendered}", b.code));
            }
            let (from, to) = b.accept_with;
            if !s.case.rule.contains(from) {
                return Err(format!("BY_DESIGN: the rule no longer contains `{from}`"));
            }
            let accepted = s.case.rule.replacen(from, to, 1);
            let mut plan = engine::compile_rule(&accepted).map_err(|e| format!("the accepted spelling fails: {e}"))?;
            let RuleBody::Pattern(p) = &mut plan.body else { unreachable!() };
            (b.patch)(p);
            Ok((plan, Some(b)))
        }
        (Err(RunError::Rejected { rendered, .. }), None) => Err(format!("our checker rejects the rule:\n{rendered}")),
        (Err(e), _) => Err(e.to_string()),
    }
}

fn dedup(v: Vec<MatchRec>) -> Vec<MatchRec> {
    v.into_iter().collect::<BTreeSet<_>>().into_iter().collect()
}

/// What the scenario expects from a runner without the final watermark.
fn expected(s: &Scenario) -> Outcome {
    Outcome::new(s.matches.clone(), s.timeouts.clone().unwrap_or_default())
}

/// Our outcome in the file's terms: timeouts as a set without timestamps,
/// and only where the file lists them.
fn as_file_sees_it(s: &Scenario, o: &Outcome) -> Outcome {
    let timeouts = if s.timeouts.is_some() {
        dedup(strip_timeout_ts(&o.timeouts))
    } else {
        Vec::new()
    };
    Outcome::new(o.matches.clone(), timeouts)
}

#[test]
fn flinkcep_scenarios() {
    let t0 = std::time::Instant::now();
    let scenarios = scenario::load_all();
    assert!(!scenarios.is_empty(), "no scenarios in {}", scenario::scenario_dir().display());
    let mut failures: Vec<String> = Vec::new();
    let mut ours_ok = 0;
    let mut loaded = Vec::new();
    for s in scenarios {
        match s {
            Ok(s) => loaded.push(s),
            Err(e) => failures.push(format!("unreadable scenario: {e}")),
        }
    }

    // 1. Cepheus against the files.
    struct Ran {
        plan: cepheus_dsl::plan::RulePlan,
        no_flush: Outcome,
        flush: Outcome,
    }
    let mut ran: Vec<Option<Ran>> = Vec::new();
    let mut by_design_notes: Vec<String> = Vec::new();
    for s in &loaded {
        let (plan, by_design) = match plan_for(s) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", s.name));
                ran.push(None);
                continue;
            }
        };
        let last_ts = s.case.events.iter().filter_map(|e| e.get("ts").and_then(|t| t.as_i64())).max().unwrap_or(0);
        let no_flush = engine::run_operator(&plan, &s.case.events, last_ts, true);
        let flush = engine::run_operator(&plan, &s.case.events, i64::MAX, true);
        match (no_flush, flush) {
            (Ok(no_flush), Ok(flush)) => {
                let got = as_file_sees_it(s, &no_flush);
                let want = expected(s);
                match (got == want, by_design) {
                    (true, None) => ours_ok += 1,
                    (false, None) => failures.push(format!(
                        "{} ({}): Cepheus differs from the file\n{}",
                        s.name,
                        s.source,
                        describe_difference("Cepheus", &got, "file", &want)
                    )),
                    (same, Some(b)) => by_design_notes.push(format!(
                        "  {} (rejected: `{}`): our engine on the patched plan {}",
                        s.name,
                        b.code,
                        if same {
                            "gives the file's matches".to_string()
                        } else {
                            format!("differs:\n{}", describe_difference("Cepheus", &got, "file", &want))
                        }
                    )),
                }
                ran.push(Some(Ran { plan, no_flush, flush }));
            }
            (Err(e), _) | (_, Err(e)) => {
                failures.push(format!("{}: Cepheus cannot run it: {e}", s.name));
                ran.push(None);
            }
        }
    }
    println!(
        "Cepheus: {ours_ok}/{} scenarios give the file's matches; {} are rejected by our checker by design (BY_DESIGN):",
        loaded.len() - BY_DESIGN.len(),
        BY_DESIGN.len()
    );
    for n in &by_design_notes {
        println!("{n}");
    }

    // 2. FlinkCEP against the files.
    let Some(peer) = peer_or_skip("flinkcep_scenarios") else {
        assert!(failures.is_empty(), "{} scenario failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
        return;
    };
    let mut batch = Vec::new();
    let mut slots = Vec::new();
    let mut precomputed = 0;
    for (s, r) in loaded.iter().zip(&ran) {
        let Some(r) = r else {
            slots.push(None);
            continue;
        };
        match plan_to_peer::case_to_peer_with(&r.plan, &s.case.events, Precompute::EventLocal, Schedule::FinalOnly) {
            Ok(c) => {
                if c.to_string().contains("__pre") {
                    precomputed += 1;
                }
                slots.push(Some(batch.len()));
                batch.push(c);
            }
            Err(e) => {
                failures.push(format!("{}: cannot be given to the peer: {e}", s.name));
                slots.push(None);
            }
        }
    }
    let results = peer.run(&batch).unwrap_or_else(|e| panic!("{e}"));
    let mut peer_ok = 0;
    let mut with_flush_delta = 0;
    for ((s, r), slot) in loaded.iter().zip(&ran).zip(&slots) {
        let (Some(r), Some(i)) = (r, slot) else { continue };
        let res = &results[*i];
        if let Some(err) = &res.error {
            failures.push(format!("{}: FlinkCEP fails: {err}", s.name));
            continue;
        }
        let has_within = engine::pattern_of(&r.plan).within_ms.is_some();
        // What the final watermark adds, per our own engine (only with `within`).
        let (extra_m, extra_t) = if has_within {
            (
                minus(&r.flush.matches, &r.no_flush.matches),
                minus(&strip_timeout_ts(&r.flush.timeouts), &strip_timeout_ts(&r.no_flush.timeouts)),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        if !extra_m.is_empty() || !extra_t.is_empty() && s.timeouts.is_some() {
            with_flush_delta += 1;
        }
        let mut want_m = s.matches.clone();
        want_m.extend(extra_m);
        let want_t = match &s.timeouts {
            Some(t) => {
                let mut t = t.clone();
                t.extend(extra_t);
                dedup(t)
            }
            None => Vec::new(),
        };
        let want = Outcome::new(want_m, want_t);
        let got = Outcome::new(
            res.outcome.matches.clone(),
            if s.timeouts.is_some() { dedup(strip_timeout_ts(&res.outcome.timeouts)) } else { Vec::new() },
        );
        if got == want {
            peer_ok += 1;
        } else {
            failures.push(format!(
                "{} ({}): FlinkCEP differs from the file{}\n{}",
                s.name,
                s.source,
                if has_within { " (+ what the final watermark adds)" } else { "" },
                describe_difference("FlinkCEP", &got, "file", &want)
            ));
        }
    }
    println!(
        "FlinkCEP: {peer_ok}/{} scenarios agree with the file ({precomputed} with precomputed sub-conditions, {with_flush_delta} where the final watermark adds output)",
        loaded.len()
    );
    println!("flinkcep_scenarios: {:.2}s", t0.elapsed().as_secs_f64());
    assert!(failures.is_empty(), "{} scenario failure(s):\n\n{}", failures.len(), failures.join("\n\n"));
}
