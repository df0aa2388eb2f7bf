//! Runs cases through both Cepheus and the FlinkCEP peer and compares them.

use std::time::{Duration, Instant};

use serde_json::Value as Json;

use crate::case::{describe_difference, Case, Outcome};
use crate::engine::{self, RunError};
use crate::peer::{Peer, PeerResult};
use crate::plan_to_peer;

/// How a case came out.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Same matches (and timeouts, where the rule reports them).
    Same,
    /// Our checker rejected the rule (not a difference: the generator may
    /// produce invalid patterns); the diagnostic codes.
    Rejected(Vec<&'static str>),
    /// Left out of the comparison, for a NAMED reason (see [`EXCLUSIONS`]).
    Excluded(&'static str),
    /// A difference.
    Differ(Difference),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    pub kind: DiffKind,
    pub detail: String,
    pub ours: Option<Outcome>,
    pub peer: Option<Outcome>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiffKind {
    /// Both ran; the matches or timeouts differ.
    Mismatch,
    /// We accept and run the rule; FlinkCEP throws.
    PeerError,
    /// Our checker accepts the rule but the engine (or decoding) refuses it.
    OursError,
    /// We accepted a rule the peer cannot be given (a converter gap).
    NotConvertible,
}

/// Named exclusions: shapes left out of the comparison, with the reason.
/// The differential test prints this list and how often each one applied.
pub const EXCLUSIONS: &[(&str, &str)] = &[
    (
        PEER_BUDGET,
        "FlinkCEP exceeded the per-case time budget (combinatorial patterns): there is no reference answer",
    ),
    (
        GREEDY_UNTIL_AFTER_NOT,
        "`-> !x -> y* greedy` / `y{0,n} greedy` with `until` (an optional greedy loop with `until` right after a \
         notFollowedBy): FlinkCEP's compiler leaves a PROCEED edge to a missing state (NFACompiler looks the \
         state up by name in originalStateMap and gets null), so it throws a NullPointerException as soon as an \
         event meeting `until` reaches the loop's first iteration; our engine refuses the plan up front \
         (CompileError::GreedyUntilUnsupported). Our checker now rejects the rule (greedy-until-after-negation), so \
         this should stay at 0: kept as a safety net for shapes the checker misses",
    ),
];

pub const PEER_BUDGET: &str = "peer-over-budget";
pub const GREEDY_UNTIL_AFTER_NOT: &str = "greedy-until-after-notFollowedBy";

/// The result of running a batch.
pub struct BatchRun {
    pub verdicts: Vec<Verdict>,
    /// Our outcome per case (None when rejected or failed).
    pub ours: Vec<Option<Outcome>>,
    /// The peer's result per case (None when it was not sent to the peer).
    pub peer: Vec<Option<PeerResult>>,
    pub ours_time: Duration,
    pub peer_time: Duration,
}

/// What one case needs from our side before the peer runs.
enum Prepared {
    Rejected(Vec<&'static str>),
    Ready {
        plan: Box<cepheus_dsl::plan::RulePlan>,
        ours: Result<Outcome, RunError>,
        peer_case: Option<Json>,
        convert_error: Option<String>,
    },
}

fn prepare(case: &Case) -> Prepared {
    let plan = match engine::compile_rule(&case.rule) {
        Ok(p) => p,
        Err(RunError::Rejected { codes, .. }) => return Prepared::Rejected(codes),
        Err(e) => {
            return Prepared::Ready {
                plan: Box::new(dummy_plan()),
                ours: Err(e),
                peer_case: None,
                convert_error: None,
            }
        }
    };
    let ours = engine::run_plan(&plan, &case.events);
    let (peer_case, convert_error) = match plan_to_peer::case_to_peer(&plan, &case.events) {
        Ok(c) => (Some(c), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Prepared::Ready {
        plan: Box::new(plan),
        ours,
        peer_case,
        convert_error,
    }
}

fn dummy_plan() -> cepheus_dsl::plan::RulePlan {
    // Only used to carry an error; never run.
    engine::compile_rule(
        "stream s (id int, ts timestamp) time ts;\nrule r {\n  from s\n  pattern a\n}\n",
    )
    .expect("the dummy rule compiles")
}

fn greedy_until_refused(ours: &Result<Outcome, RunError>) -> bool {
    matches!(ours, Err(RunError::Unsupported(m)) if m.contains("`greedy` with `until`"))
}

/// Compares our outcome with the peer's for one rule.
pub fn compare(
    plan: &cepheus_dsl::plan::RulePlan,
    ours: &Result<Outcome, RunError>,
    peer: &PeerResult,
) -> Verdict {
    let reports_timeouts = engine::pattern_of(plan).on_timeout.is_some();
    if let Some(err) = &peer.error {
        if err.contains("BudgetExceeded") {
            return Verdict::Excluded(PEER_BUDGET);
        }
        if err.starts_with("NullPointerException") && greedy_until_refused(ours) {
            return Verdict::Excluded(GREEDY_UNTIL_AFTER_NOT);
        }
        return Verdict::Differ(Difference {
            kind: DiffKind::PeerError,
            detail: format!("FlinkCEP rejects or fails on a rule we accept: {err}"),
            ours: ours.as_ref().ok().cloned(),
            peer: None,
        });
    }
    if greedy_until_refused(ours) {
        // FlinkCEP ran without error only because no event reached the broken edge.
        return Verdict::Excluded(GREEDY_UNTIL_AFTER_NOT);
    }
    let ours = match ours {
        Ok(o) => o,
        Err(e) => {
            return Verdict::Differ(Difference {
                kind: DiffKind::OursError,
                detail: format!("our checker accepts the rule but it does not run: {e}"),
                ours: None,
                peer: Some(peer.outcome.clone()),
            })
        }
    };
    let (o, p) = if reports_timeouts {
        (ours.clone(), peer.outcome.clone())
    } else {
        (ours.without_timeouts(), peer.outcome.without_timeouts())
    };
    if o == p {
        Verdict::Same
    } else {
        Verdict::Differ(Difference {
            kind: DiffKind::Mismatch,
            detail: describe_difference("Cepheus", &o, "FlinkCEP", &p),
            ours: Some(o),
            peer: Some(p),
        })
    }
}

/// Runs every case through Cepheus, then all of them through the peer in
/// one JVM, and compares.
pub fn run_batch(peer: &Peer, cases: &[Case]) -> Result<BatchRun, String> {
    let t0 = Instant::now();
    let trace = std::env::var("CEPHEUS_DIFF_TRACE").is_ok_and(|v| v == "1");
    let prepared: Vec<Prepared> = cases
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let t = Instant::now();
            if trace {
                eprintln!("[ours] case #{i} ({} events) ...\n{}", c.events.len(), c.rule);
            }
            let p = prepare(c);
            if trace {
                eprintln!("[ours] case #{i}: {:.3}s", t.elapsed().as_secs_f64());
            }
            p
        })
        .collect();
    let ours_time = t0.elapsed();
    let mut peer_cases = Vec::new();
    let mut slot = Vec::new();
    for p in &prepared {
        match p {
            Prepared::Ready {
                peer_case: Some(c), ..
            } => {
                slot.push(Some(peer_cases.len()));
                peer_cases.push(c.clone());
            }
            _ => slot.push(None),
        }
    }
    let t1 = Instant::now();
    let results = peer.run(&peer_cases)?;
    let peer_time = t1.elapsed();
    let peer_results: Vec<Option<PeerResult>> = slot.iter().map(|s| s.map(|i| results[i].clone())).collect();
    let verdicts = prepared
        .iter()
        .zip(slot)
        .map(|(p, s)| match p {
            Prepared::Rejected(codes) => Verdict::Rejected(codes.clone()),
            Prepared::Ready {
                plan,
                ours,
                convert_error,
                ..
            } => match s {
                Some(i) => compare(plan, ours, &results[i]),
                None => match ours {
                    Err(e) => Verdict::Differ(Difference {
                        kind: DiffKind::OursError,
                        detail: e.to_string(),
                        ours: None,
                        peer: None,
                    }),
                    Ok(o) => Verdict::Differ(Difference {
                        kind: DiffKind::NotConvertible,
                        detail: convert_error.clone().unwrap_or_default(),
                        ours: Some(o.clone()),
                        peer: None,
                    }),
                },
            },
        })
        .collect();
    let ours = prepared
        .iter()
        .map(|p| match p {
            Prepared::Ready { ours: Ok(o), .. } => Some(o.clone()),
            _ => None,
        })
        .collect();
    Ok(BatchRun {
        verdicts,
        ours,
        peer: peer_results,
        ours_time,
        peer_time,
    })
}
