//! `pattern_bench`: Cepheus against FlinkCEP on the same generated streams.
//!
//! One run pushes, for each pattern shape, the same generated event stream
//! through
//!
//! * Cepheus: `Decoder::decode` of each event's JSON bytes, then the keyed,
//!   event-time `PatternOperator` (`on_event`), a watermark `max_ts - 1` after
//!   every batch of `--watermark-every` events and a final watermark at
//!   +infinity, all timed; alerts are built in full (as the service does) and
//!   counted;
//! * the FlinkCEP peer (`tests/peers/flinkcep`, `--bench` mode): the real
//!   `CepOperator`, keyed, event time, heap state backend, the same watermark
//!   cadence, after a JIT warm-up run; it counts matches.
//!
//! and prints events/s, match counts (a loud MISMATCH when they differ), peak
//! memory and the Cepheus/FlinkCEP ratios, plus Cepheus' per-alert latency
//! (p50/p99/p999 from `on_event` of the event that completed a match to the
//! end of the watermark call that emitted its alert). Results also go to a
//! JSON file. See `tests/BENCHMARKS.md`.
//!
//! ```text
//! pattern_bench [--quick] [--n N] [--scale F] [--shapes s1,s2,..] [--watermark-every W]
//!               [--json FILE] [--no-peer] [--peer-dir DIR] [--peer-warmup N] [--keep]
//!               [--list]
//! ```
//!
//! The binary is self-contained on purpose (only the DSL and runtime crates):
//! each shape is written twice, as a rule in our DSL and as the equivalent
//! FlinkCEP `PatternSpec`, side by side below.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::Instant;

use cepheus_dsl::plan::{RuleBody, RulePlan};
use cepheus_dsl::Catalog;
use cepheus_runtime::event::{Event, Position};
use cepheus_runtime::pattern::PatternOperator;
use cepheus_runtime::record::Decoder;
use serde_json::{json, Value as Json};

use cepheus_tests::measure::{CountingAlloc, Histogram, live_bytes, peak_bytes, reset_peak, reset_rss_peak, rss_peak_bytes, thread_cpu_ns};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------- shapes

/// How a shape's stream is generated.
#[derive(Clone)]
struct Gen {
    /// Number of distinct keys (`k0` .. `k{keys-1}`), uniform.
    keys: u32,
    /// Event `i` has `ts = BASE_TS + i * step_ms`.
    step_ms: i64,
    /// Event types and their weights.
    types: Vec<(String, u32)>,
}

/// One benchmark case: a rule in our DSL, the same pattern as a FlinkCEP
/// PatternSpec, and its stream.
struct Shape {
    id: String,
    title: String,
    rule: String,
    spec: Json,
    gen: Gen,
    /// `--quick` streams may be denser, so that a small N still matches.
    types_quick: Option<Vec<(String, u32)>>,
    n_default: usize,
    n_quick: usize,
    /// For alert latency: an alert completes `extra_ms` after its last
    /// event (trailing absence: the window end), 0 otherwise.
    completes_after_ms: i64,
}

const BASE_TS: i64 = 1_700_000_000_000;

fn types(t: &[(&str, u32)]) -> Vec<(String, u32)> {
    t.iter().map(|(n, w)| (n.to_string(), *w)).collect()
}

/// `a:1,b:2,c:7` -> weighted types.
fn parse_types(s: &str) -> Result<Vec<(String, u32)>, String> {
    s.split(',')
        .map(|part| {
            let (n, w) = part.split_once(':').unwrap_or((part, "1"));
            let w: u32 = w.parse().map_err(|e| format!("--types {part}: {e}"))?;
            Ok((n.to_string(), w))
        })
        .collect()
}

const STREAM: &str =
    "stream ev (id int, key string, ts timestamp, type string, v float)\nkey key\ntime ts;\n";

fn ty(t: &str) -> Json {
    json!({"op": "==", "args": [{"field": "type"}, {"lit": t}]})
}

fn stage(name: &str, contiguity: &str, condition: Json) -> Json {
    json!({"name": name, "contiguity": contiguity, "condition": condition})
}

fn rule(name: &str, body: &str) -> String {
    format!("{STREAM}\nrule {name} {{\n  from ev\n  partition by key\n{body}}}\n")
}

fn shapes() -> Vec<Shape> {
    const ABC: &[(&str, u32)] = &[("a", 1), ("b", 1), ("c", 1)];
    let mut v = vec![
        // (1) a three-step sequence, relaxed contiguity, over 10k keys.
        Shape {
            id: "seq3".into(),
            title: "a -> b -> c within 1m, 10k keys".into(),
            rule: rule(
                "seq3",
                "  pattern a -> b -> c\n  define\n    a as type = \"a\",\n    b as type = \"b\",\n    c as type = \"c\"\n  within 1m\n",
            ),
            spec: json!({"stages": [
                stage("a", "begin", ty("a")),
                stage("b", "followedBy", ty("b")),
                stage("c", "followedBy", ty("c"))],
                "within_ms": 60_000, "skip": {"strategy": "noSkip"}}),
            gen: Gen {
                keys: 10_000,
                step_ms: 1,
                types: types(ABC),
            },
            types_quick: None,
            n_default: 200_000,
            n_quick: 5_000,
            completes_after_ms: 0,
        },
        // (2) a relaxed counted loop, then one more event.
        Shape {
            id: "loop3".into(),
            title: "a{3,} -> b within 1m, 1k keys".into(),
            rule: rule(
                "loop3",
                "  pattern a{3,} -> b\n  define\n    a as type = \"a\",\n    b as type = \"b\"\n  within 1m\n",
            ),
            spec: json!({"stages": [
                {"name": "a", "contiguity": "begin", "condition": ty("a"),
                 "quantifier": {"kind": "timesOrMore", "from": 3}},
                stage("b", "followedBy", ty("b"))],
                "within_ms": 60_000, "skip": {"strategy": "noSkip"}}),
            gen: Gen {
                keys: 1_000,
                step_ms: 20,
                types: types(&[("a", 1), ("b", 1), ("c", 2)]),
            },
            types_quick: None,
            n_default: 300_000,
            n_quick: 5_000,
            completes_after_ms: 0,
        },
        // (3) non-deterministic relaxed contiguity: every later b.
        Shape {
            id: "any".into(),
            title: "a ->> b within 1m, 1k keys".into(),
            rule: rule(
                "any",
                "  pattern a ->> b\n  define\n    a as type = \"a\",\n    b as type = \"b\"\n  within 1m\n",
            ),
            spec: json!({"stages": [
                stage("a", "begin", ty("a")),
                stage("b", "followedByAny", ty("b"))],
                "within_ms": 60_000, "skip": {"strategy": "noSkip"}}),
            gen: Gen {
                keys: 1_000,
                step_ms: 20,
                types: types(&[("a", 1), ("b", 1), ("c", 4)]),
            },
            types_quick: None,
            n_default: 300_000,
            n_quick: 5_000,
            completes_after_ms: 0,
        },
        // (4) trailing absence: no b within 5m after a.
        Shape {
            id: "absence".into(),
            title: "a -> !b within 5m, 10k keys".into(),
            rule: rule(
                "absence",
                "  pattern a -> !b\n  define\n    a as type = \"a\",\n    b as type = \"b\"\n  within 5m\n",
            ),
            spec: json!({"stages": [
                stage("a", "begin", ty("a")),
                stage("b", "notFollowedBy", ty("b"))],
                "within_ms": 300_000, "skip": {"strategy": "noSkip"}}),
            gen: Gen {
                keys: 10_000,
                step_ms: 5,
                types: types(&[("a", 1), ("b", 1), ("c", 8)]),
            },
            types_quick: None,
            n_default: 300_000,
            n_quick: 5_000,
            completes_after_ms: 300_000,
        },
        // (5) an iterative condition reading the first a.
        Shape {
            id: "iter".into(),
            title: "a -> b, b.v > a[0].v, within 1m, 1k keys".into(),
            rule: rule(
                "iter",
                "  pattern a -> b\n  define\n    a as type = \"a\",\n    b as type = \"b\" and v > a[0].v\n  within 1m\n",
            ),
            spec: json!({"stages": [
                stage("a", "begin", ty("a")),
                stage("b", "followedBy", json!({"op": "and", "args": [
                    ty("b"),
                    {"op": ">", "args": [{"field": "v"}, {"agg": "first", "var": "a", "field": "v"}]}]}))],
                "within_ms": 60_000, "skip": {"strategy": "noSkip"}}),
            gen: Gen {
                keys: 1_000,
                step_ms: 10,
                types: types(ABC),
            },
            types_quick: None,
            n_default: 200_000,
            n_quick: 5_000,
            completes_after_ms: 0,
        },
    ];
    // (6) the Kleene window sweep: one key, the window spans W events' time.
    for (span, n_default) in [(100u32, 500_000), (1_000, 300_000), (10_000, 100_000)] {
        let id = format!("kleene-{span}");
        v.push(Shape {
            title: format!("a ->> b+ -> c, skip past last, within {span} events"),
            rule: rule(
                &id.replace('-', "_"),
                &format!(
                    "  pattern a ->> b+ -> c\n  define\n    a as type = \"a\",\n    b as type = \"b\",\n    c as type = \"c\"\n  within {span}ms\n  after match skip past last event\n"
                ),
            ),
            id,
            spec: json!({"stages": [
                stage("a", "begin", ty("a")),
                {"name": "b", "contiguity": "followedByAny", "condition": ty("b"),
                 "quantifier": {"kind": "oneOrMore"}},
                stage("c", "followedBy", ty("c"))],
                "within_ms": span, "skip": {"strategy": "skipPastLastEvent"}}),
            gen: Gen {
                keys: 1,
                step_ms: 1,
                types: types(KLEENE_TYPES),
            },
            types_quick: Some(types(KLEENE_TYPES_QUICK)),
            n_default,
            n_quick: 5_000,
            completes_after_ms: 0,
        });
    }
    v
}

/// Kleene sweep stream: one key, 99.6% noise (`d`); `a`, `b` and `c` rare
/// enough that partial matches live until the window closes them rather
/// than until the next match, so the window decides how many are open
/// (about 0.001 * 0.002 * W^2 / 2 `b+` runs at window W).
const KLEENE_TYPES: &[(&str, u32)] = &[("a", 1), ("b", 2), ("c", 1), ("d", 996)];

/// `--quick`: dense (uniform a, b, c, d), so that 5,000 events give
/// hundreds of matches to compare.
const KLEENE_TYPES_QUICK: &[(&str, u32)] = &[("a", 1), ("b", 1), ("c", 1), ("d", 1)];

// ---------------------------------------------------------------- stream

/// splitmix64: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((self.next() >> 32) * n) >> 32
    }
}

/// The stream as JSON lines (what both engines read) and the timestamps.
struct Stream {
    lines: Vec<Box<[u8]>>,
    ts: Vec<i64>,
}

fn generate(g: &Gen, n: usize, seed: u64) -> Stream {
    let mut rng = Rng(seed);
    let total: u32 = g.types.iter().map(|(_, w)| w).sum();
    let mut lines = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    for i in 1..=n {
        let key = rng.below(g.keys as u64);
        let mut pick = rng.below(total as u64) as u32;
        let mut t = g.types[0].0.as_str();
        for (name, w) in &g.types {
            if pick < *w {
                t = name;
                break;
            }
            pick -= w;
        }
        let v = rng.below(10_000) as f64 / 100.0;
        let time = BASE_TS + (i as i64 - 1) * g.step_ms;
        let line = format!(r#"{{"id":{i},"key":"k{key}","ts":{time},"type":"{t}","v":{v}}}"#);
        lines.push(line.into_bytes().into_boxed_slice());
        ts.push(time);
    }
    Stream { lines, ts }
}

fn write_jsonl(path: &Path, s: &Stream) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for l in &s.lines {
        w.write_all(l)?;
        w.write_all(b"\n")?;
    }
    w.flush()
}

// ---------------------------------------------------------------- Cepheus

#[derive(Default)]
struct CepheusRun {
    matches: u64,
    elapsed_s: f64,
    /// On-CPU time of the thread over the timed part (excludes time the
    /// scheduler gave to other processes: the machine may be shared).
    cpu_s: Option<f64>,
    decode_only_s: f64,
    peak_bytes: u64,
    retained_bytes: u64,
    rss_peak_bytes: Option<u64>,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
    p999_ns: Option<u64>,
    latency_samples: u64,
    keys: usize,
    late: u64,
}

fn compile(shape: &Shape) -> Result<RulePlan, String> {
    let compiled = cepheus_dsl::compile(&shape.rule, &Catalog::new());
    if compiled.has_errors() {
        return Err(cepheus_dsl::diagnostic::render(
            &format!("{}.cep", shape.id),
            &shape.rule,
            &compiled.diagnostics,
        ));
    }
    let mut plans = compiled.plans;
    if plans.len() != 1 || !matches!(plans[0].body, RuleBody::Pattern(_)) {
        return Err("expected exactly one pattern rule".into());
    }
    Ok(plans.remove(0))
}

fn run_cepheus(shape: &Shape, stream: &Stream, wm_every: usize) -> Result<CepheusRun, String> {
    let plan = compile(shape)?;
    let lateness = plan.stream.lateness_ms as i64;
    let decoder = Decoder::new(&plan.stream);
    let n = stream.lines.len();

    // Decode alone, to see what share of the time it is.
    let t0 = Instant::now();
    for l in &stream.lines {
        let r = decoder.decode_at(l, 0).map_err(|e| e.to_string())?;
        std::hint::black_box(&r);
    }
    let decode_only_s = t0.elapsed().as_secs_f64();

    let mut op = PatternOperator::new(&plan, 1).map_err(|e| e.to_string())?;
    // Everything the measurement needs is allocated before the baseline.
    let mut arrival_ns: Vec<u64> = vec![0; n];
    let mut hist = Histogram::new();
    let mut alerts = Vec::with_capacity(1 << 16);
    let mut matches = 0u64;
    let rss_ok = reset_rss_peak();
    let baseline = live_bytes();
    reset_peak();

    // The alert type comes from the operator's signature; a macro keeps this
    // binary free of a direct dependency on `cepheus-alerts`.
    macro_rules! drain {
        ($start:expr) => {
            if !alerts.is_empty() {
                let now = $start.elapsed().as_nanos() as u64;
                for a in alerts.iter() {
                    if a.timeout {
                        continue;
                    }
                    matches += 1;
                    // The event that completed the match: the last matched
                    // event, or for a trailing absence the first event whose
                    // watermark passes the window's end.
                    if let Some(t) = cepheus_runtime::time::parse_rfc3339(&a.event_time) {
                        let done = if shape.completes_after_ms > 0 {
                            t + shape.completes_after_ms + 1
                        } else {
                            t
                        };
                        let i = stream.ts.partition_point(|&x| x < done);
                        if i < arrival_ns.len() && arrival_ns[i] != 0 {
                            hist.record(now.saturating_sub(arrival_ns[i]));
                        }
                    }
                }
                alerts.clear();
            }
        };
    }

    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut max_ts = i64::MIN;
    let mut since = 0usize;
    for (i, line) in stream.lines.iter().enumerate() {
        arrival_ns[i] = (start.elapsed().as_nanos() as u64).max(1);
        let record = decoder
            .decode_at(line, 0)
            .map_err(|e| format!("event {}: {e}", i + 1))?;
        let event = Arc::new(Event {
            record,
            position: Position {
                partition: 0,
                offset: i as u64 + 1,
            },
        });
        max_ts = max_ts.max(event.time());
        op.on_event(event, 0, &mut alerts);
        since += 1;
        if since >= wm_every {
            since = 0;
            op.on_watermark(max_ts - lateness - 1, 0, &mut alerts);
            drain!(start);
        }
    }
    let mid = start.elapsed();
    let cpu_mid = thread_cpu_ns();
    // Untimed: what the operator holds before the final watermark.
    let retained = live_bytes().saturating_sub(baseline);
    let cpu_resume = thread_cpu_ns();
    let resume = Instant::now();
    op.on_watermark(i64::MAX, 0, &mut alerts);
    drain!(start);
    let elapsed_s = mid.as_secs_f64() + resume.elapsed().as_secs_f64();
    let cpu_end = thread_cpu_ns();
    let cpu_s = match (cpu0, cpu_mid, cpu_resume, cpu_end) {
        (Some(a), Some(b), Some(c), Some(d)) => Some((b - a + d - c) as f64 / 1e9),
        _ => None,
    };
    let peak = peak_bytes().saturating_sub(baseline);
    let keys = op.key_count();
    let late = op.stats().late_events;
    drop(op);
    Ok(CepheusRun {
        matches,
        elapsed_s,
        cpu_s,
        decode_only_s,
        peak_bytes: peak as u64,
        retained_bytes: retained as u64,
        rss_peak_bytes: if rss_ok { rss_peak_bytes() } else { None },
        p50_ns: hist.percentile(0.50),
        p99_ns: hist.percentile(0.99),
        p999_ns: hist.percentile(0.999),
        latency_samples: hist.count(),
        keys,
        late,
    })
}

// ---------------------------------------------------------------- FlinkCEP

/// The built peer's launcher (`target/run-peer`).
fn locate_peer(dir: &Path) -> Result<PathBuf, String> {
    let script = dir.join("build.sh");
    if !script.is_file() {
        return Err(format!("{} not found", script.display()));
    }
    let out = Command::new("bash")
        .arg(&script)
        .current_dir(dir)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!("{} failed ({})", script.display(), out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let run = text
        .lines()
        .find_map(|l| l.strip_prefix("PEER_RUN="))
        .ok_or_else(|| format!("{} printed no PEER_RUN", script.display()))?;
    Ok(PathBuf::from(run.trim()))
}

#[derive(Default)]
struct PeerRun {
    matches: u64,
    elapsed_s: f64,
    events_per_sec: f64,
    peak_heap_bytes: u64,
    retained_heap_bytes: u64,
    peak_heap_after_gc_bytes: Option<u64>,
    flink_version: String,
    raw: Json,
}

fn run_peer(
    run_peer: &Path,
    pattern_file: &Path,
    events_file: &Path,
    wm_every: usize,
    warmup: usize,
) -> Result<PeerRun, String> {
    let out = Command::new(run_peer)
        .arg("--bench")
        .arg("--pattern")
        .arg(pattern_file)
        .arg("--events")
        .arg(events_file)
        .args(["--watermark-every", &wm_every.to_string()])
        .args(["--lag-ms", "0"])
        .args(["--warmup", &warmup.to_string()])
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("starting {}: {e}", run_peer.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        return Err(format!(
            "FlinkCEP peer failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or("FlinkCEP peer printed no result")?;
    let r: Json = serde_json::from_str(line).map_err(|e| format!("peer output: {e}: {line}"))?;
    let u = |k: &str| r.get(k).and_then(Json::as_u64);
    let f = |k: &str| r.get(k).and_then(Json::as_f64);
    Ok(PeerRun {
        matches: u("matches").ok_or("peer output lacks matches")?,
        elapsed_s: f("elapsed_ms").unwrap_or(0.0) / 1e3,
        events_per_sec: f("events_per_sec").unwrap_or(0.0),
        peak_heap_bytes: u("peak_heap_bytes").unwrap_or(0),
        retained_heap_bytes: u("retained_heap_bytes").unwrap_or(0),
        peak_heap_after_gc_bytes: u("peak_heap_after_gc_bytes"),
        flink_version: r
            .pointer("/config/flink_version")
            .and_then(Json::as_str)
            .unwrap_or("?")
            .to_string(),
        raw: r,
    })
}

// ---------------------------------------------------------------- main

struct Opts {
    quick: bool,
    n: Option<usize>,
    scale: f64,
    shapes: Option<Vec<String>>,
    wm_every: usize,
    json: Option<PathBuf>,
    no_peer: bool,
    peer_dir: PathBuf,
    peer_warmup: Option<usize>,
    keep: bool,
    seed: u64,
    types: Option<Vec<(String, u32)>>,
    keys: Option<u32>,
}

const USAGE: &str = "usage: pattern_bench [--quick] [--n N] [--scale F] [--shapes s1,s2,..] \
[--watermark-every W] [--json FILE] [--no-peer] [--peer-dir DIR] [--peer-warmup N] [--seed S] \
[--types a:1,b:1,c:2] [--keys K] [--keep] [--list]";

fn parse_args() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        quick: false,
        n: None,
        scale: 1.0,
        shapes: None,
        wm_every: 1000,
        json: None,
        no_peer: std::env::var("CEPHEUS_SKIP_PEER").is_ok_and(|v| v == "1"),
        peer_dir: std::env::var_os("CEPHEUS_PEER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("peers")
                    .join("flinkcep")
            }),
        peer_warmup: None,
        keep: false,
        seed: 42,
        types: None,
        keys: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--n" => o.n = Some(val("--n")?.parse().map_err(|e| format!("--n: {e}"))?),
            "--scale" => {
                o.scale = val("--scale")?
                    .parse()
                    .map_err(|e| format!("--scale: {e}"))?
            }
            "--shapes" => {
                o.shapes = Some(val("--shapes")?.split(',').map(str::to_string).collect())
            }
            "--watermark-every" => {
                o.wm_every = val("--watermark-every")?
                    .parse()
                    .map_err(|e| format!("--watermark-every: {e}"))?
            }
            "--json" => o.json = Some(PathBuf::from(val("--json")?)),
            "--no-peer" => o.no_peer = true,
            "--peer-dir" => o.peer_dir = PathBuf::from(val("--peer-dir")?),
            "--peer-warmup" => {
                o.peer_warmup = Some(
                    val("--peer-warmup")?
                        .parse()
                        .map_err(|e| format!("--peer-warmup: {e}"))?,
                )
            }
            "--seed" => o.seed = val("--seed")?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--keep" => o.keep = true,
            "--types" => o.types = Some(parse_types(&val("--types")?)?),
            "--keys" => o.keys = Some(val("--keys")?.parse().map_err(|e| format!("--keys: {e}"))?),
            "--list" => {
                for s in shapes() {
                    println!("{:<14} {}", s.id, s.title);
                    println!("{}", s.rule);
                    println!("{}\n", serde_json::to_string(&s.spec).unwrap_or_default());
                }
                return Ok(None);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if o.wm_every == 0 {
        return Err("--watermark-every must be positive".into());
    }
    Ok(Some(o))
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

fn fmt_ns(ns: Option<u64>) -> String {
    match ns {
        None => "-".into(),
        Some(n) if n >= 1_000_000 => format!("{:.1}ms", n as f64 / 1e6),
        Some(n) if n >= 1_000 => format!("{:.0}us", n as f64 / 1e3),
        Some(n) => format!("{n}ns"),
    }
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(Some(o)) => o,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let all = shapes();
    let selected: Vec<&Shape> = match &opts.shapes {
        None => all.iter().collect(),
        Some(ids) => {
            let mut v = Vec::new();
            for id in ids {
                // "kleene" selects the whole sweep
                let m: Vec<&Shape> = all
                    .iter()
                    .filter(|s| s.id == *id || s.id.starts_with(&format!("{id}-")))
                    .collect();
                if m.is_empty() {
                    eprintln!("unknown shape {id}; --list shows them");
                    return ExitCode::from(2);
                }
                v.extend(m);
            }
            v
        }
    };

    let peer = if opts.no_peer {
        eprintln!("################################################################");
        eprintln!("## FlinkCEP peer SKIPPED (--no-peer / CEPHEUS_SKIP_PEER=1):    ##");
        eprintln!("## Cepheus figures only, no match-count cross-check.          ##");
        eprintln!("################################################################");
        None
    } else {
        match locate_peer(&opts.peer_dir) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("FlinkCEP peer unavailable: {e}\n(set CEPHEUS_SKIP_PEER=1 or pass --no-peer to run Cepheus alone)");
                return ExitCode::FAILURE;
            }
        }
    };

    let work = std::env::temp_dir().join(format!("cepheus-pattern-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("creating {}: {e}", work.display());
        return ExitCode::FAILURE;
    }

    let mode = if opts.quick { "quick" } else { "full" };
    eprintln!(
        "pattern_bench: {mode} mode, {} case(s), watermark every {} events{}",
        selected.len(),
        opts.wm_every,
        if peer.is_some() { "" } else { ", no peer" }
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    let mut failures = Vec::new();
    let mut flink_version = String::new();
    for shape in &selected {
        let base_n = if opts.quick {
            shape.n_quick
        } else {
            shape.n_default
        };
        let n = opts
            .n
            .unwrap_or(((base_n as f64) * opts.scale).round().max(1.0) as usize);
        eprintln!("\n== {} ({}), {} events", shape.id, shape.title, n);
        let t = Instant::now();
        let mut gen = shape.gen.clone();
        if let (true, Some(t)) = (opts.quick, &shape.types_quick) {
            gen.types = t.clone();
        }
        if let Some(t) = &opts.types {
            gen.types = t.clone();
        }
        if let Some(k) = opts.keys {
            gen.keys = k.max(1);
        }
        let stream = generate(&gen, n, opts.seed);
        let events_file = work.join(format!("{}.jsonl", shape.id));
        let pattern_file = work.join(format!("{}.pattern.json", shape.id));
        let io = write_jsonl(&events_file, &stream).and_then(|()| {
            std::fs::write(
                &pattern_file,
                serde_json::to_vec_pretty(&shape.spec).unwrap_or_default(),
            )
        });
        if let Err(e) = io {
            eprintln!("writing the inputs: {e}");
            return ExitCode::FAILURE;
        }
        eprintln!("   generated in {:.1}s", t.elapsed().as_secs_f64());

        let cep = match run_cepheus(shape, &stream, opts.wm_every) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("   Cepheus FAILED: {e}");
                failures.push(format!("{}: Cepheus: {e}", shape.id));
                continue;
            }
        };
        drop(stream);
        let cep_eps = n as f64 / cep.elapsed_s;
        eprintln!(
            "   Cepheus : {:>9} ev/s, {} matches, peak {:.1} MiB, {:.2}s wall, {} on CPU (decode alone {:.2}s)",
            fmt_rate(cep_eps),
            cep.matches,
            mib(cep.peak_bytes),
            cep.elapsed_s,
            cep.cpu_s.map_or("?".to_string(), |c| format!("{c:.2}s")),
            cep.decode_only_s
        );

        let flink = match &peer {
            None => None,
            Some(p) => {
                let warmup = opts.peer_warmup.unwrap_or(if opts.quick {
                    n.min(1_000)
                } else {
                    n.min(100_000)
                });
                match run_peer(p, &pattern_file, &events_file, opts.wm_every, warmup) {
                    Ok(r) => {
                        eprintln!(
                            "   FlinkCEP: {:>9} ev/s, {} matches, peak heap {:.1} MiB, {:.2}s",
                            fmt_rate(r.events_per_sec),
                            r.matches,
                            mib(r.peak_heap_bytes),
                            r.elapsed_s
                        );
                        flink_version = r.flink_version.clone();
                        Some(r)
                    }
                    Err(e) => {
                        eprintln!("   FlinkCEP FAILED: {e}");
                        failures.push(format!("{}: FlinkCEP: {e}", shape.id));
                        None
                    }
                }
            }
        };
        if !opts.keep {
            let _ = std::fs::remove_file(&events_file);
        }
        let mismatch = flink.as_ref().is_some_and(|f| f.matches != cep.matches);
        if let Some(f) = flink.as_ref().filter(|_| mismatch) {
            let msg = format!(
                "{}: Cepheus found {} matches, FlinkCEP {}",
                shape.id, cep.matches, f.matches
            );
            eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! MISMATCH {msg}");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
            mismatches.push(msg);
        }
        rows.push((shape, gen, n, cep, flink, mismatch));
    }
    let total_s = started.elapsed().as_secs_f64();

    // ------------------------------------------------------------ table
    println!();
    println!(
        "{:<13} {:>8} | {:>9} {:>9} {:>6} | {:>8} {:>8} {:>4} | {:>8} {:>8} {:>6} {:>8} {:>6} | {:>7} {:>7} {:>7}",
        "shape", "events", "cepheus/s", "flink/s", "x", "cep.m", "flink.m", "same",
        "cep.MiB", "flk.MiB", "mem.x", "flk.gc", "live.x", "p50", "p99", "p999"
    );
    println!("{}", "-".repeat(150));
    let mut results = Vec::new();
    for (shape, gen, n, cep, flink, mismatch) in &rows {
        let cep_eps = *n as f64 / cep.elapsed_s;
        let cep_mem = cep.peak_bytes.max(1) as f64;
        let speed = flink.as_ref().map(|f| cep_eps / f.events_per_sec);
        let mem_x = flink.as_ref().map(|f| f.peak_heap_bytes as f64 / cep_mem);
        let live_x = flink
            .as_ref()
            .and_then(|f| f.peak_heap_after_gc_bytes)
            .map(|b| b as f64 / cep_mem);
        let ret_x = flink
            .as_ref()
            .map(|f| f.retained_heap_bytes as f64 / cep.retained_bytes.max(1) as f64);
        let dash = || "-".to_string();
        println!(
            "{:<13} {:>8} | {:>9} {:>9} {:>6} | {:>8} {:>8} {:>4} | {:>8.1} {:>8} {:>6} {:>8} {:>6} | {:>7} {:>7} {:>7}",
            shape.id,
            n,
            fmt_rate(cep_eps),
            flink.as_ref().map_or_else(dash, |f| fmt_rate(f.events_per_sec)),
            speed.map_or_else(dash, |x| format!("{x:.1}x")),
            cep.matches,
            flink.as_ref().map_or_else(dash, |f| f.matches.to_string()),
            match (flink, mismatch) {
                (None, _) => "-",
                (Some(_), true) => "NO!!",
                (Some(_), false) => "yes",
            },
            mib(cep.peak_bytes),
            flink.as_ref().map_or_else(dash, |f| format!("{:.1}", mib(f.peak_heap_bytes))),
            mem_x.map_or_else(dash, |x| format!("{x:.1}x")),
            flink
                .as_ref()
                .and_then(|f| f.peak_heap_after_gc_bytes)
                .map_or_else(dash, |b| format!("{:.1}", mib(b))),
            live_x.map_or_else(dash, |x| format!("{x:.1}x")),
            fmt_ns(cep.p50_ns),
            fmt_ns(cep.p99_ns),
            fmt_ns(cep.p999_ns),
        );
        results.push(json!({
            "shape": shape.id,
            "title": shape.title,
            "rule": shape.rule,
            "pattern_spec": shape.spec,
            "events": n,
            "stream": {
                "keys": gen.keys,
                "step_ms": gen.step_ms,
                "types": gen.types.iter().map(|(t, w)| json!([t, w])).collect::<Vec<_>>(),
                "seed": opts.seed,
            },
            "cepheus": {
                "matches": cep.matches,
                "elapsed_s": cep.elapsed_s,
                "events_per_sec": cep_eps,
                "cpu_s": cep.cpu_s,
                "events_per_cpu_sec": cep.cpu_s.map(|c| *n as f64 / c),
                "decode_only_s": cep.decode_only_s,
                "peak_heap_bytes": cep.peak_bytes,
                "retained_heap_bytes": cep.retained_bytes,
                "process_peak_rss_bytes": cep.rss_peak_bytes,
                "keys": cep.keys,
                "late_events": cep.late,
                "alert_latency_ns": {
                    "samples": cep.latency_samples,
                    "p50": cep.p50_ns, "p99": cep.p99_ns, "p999": cep.p999_ns,
                },
            },
            "flinkcep": flink.as_ref().map(|f| json!({
                "matches": f.matches,
                "elapsed_s": f.elapsed_s,
                "events_per_sec": f.events_per_sec,
                "peak_heap_bytes": f.peak_heap_bytes,
                "retained_heap_bytes": f.retained_heap_bytes,
                "peak_heap_after_gc_bytes": f.peak_heap_after_gc_bytes,
                "peer_output": f.raw,
            })),
            "match_counts_equal": flink.as_ref().map(|_| !*mismatch),
            "ratios": {
                "throughput_cepheus_over_flinkcep": speed,
                "peak_memory_flinkcep_over_cepheus": mem_x,
                "peak_live_memory_flinkcep_after_gc_over_cepheus": live_x,
                "retained_memory_flinkcep_over_cepheus": ret_x,
            },
        }));
    }
    println!();
    println!(
        "cepheus/s, flink/s: events per second (Cepheus: decode + operator + alerts; FlinkCEP: operator on pre-parsed events, after JIT warm-up)"
    );
    println!("x: Cepheus/FlinkCEP throughput. cep.MiB: Cepheus peak live heap above the loaded input (counting allocator)");
    println!("flk.MiB: FlinkCEP peak used heap above its baseline, garbage included; flk.gc: its peak heap after GC (live estimate)");
    println!("mem.x = flk.MiB / cep.MiB, live.x = flk.gc / cep.MiB (how many times less memory Cepheus needs)");
    println!("p50/p99/p999: Cepheus alert latency, from on_event of the completing event to the end of the watermark call that emitted the alert");
    println!(
        "{} case(s) in {:.1}s; {}",
        rows.len(),
        total_s,
        if mismatches.is_empty() && failures.is_empty() {
            "match counts agree".to_string()
        } else {
            format!(
                "{} MISMATCH(ES), {} failure(s)",
                mismatches.len(),
                failures.len()
            )
        }
    );

    let report = json!({
        "mode": mode,
        "watermark_every": opts.wm_every,
        "flink_version": if flink_version.is_empty() { Json::Null } else { json!(flink_version) },
        "peer": peer.is_some(),
        "total_seconds": total_s,
        "host": {
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "loadavg": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
        },
        "results": results,
        "mismatches": mismatches,
        "failures": failures,
    });
    let json_path = opts
        .json
        .clone()
        .unwrap_or_else(|| work.join("pattern_bench.json"));
    match std::fs::write(
        &json_path,
        serde_json::to_vec_pretty(&report).unwrap_or_default(),
    ) {
        Ok(()) => println!("results: {}", json_path.display()),
        Err(e) => eprintln!("writing {}: {e}", json_path.display()),
    }
    if !opts.keep && opts.json.is_some() {
        let _ = std::fs::remove_dir_all(&work);
    } else if opts.keep {
        println!("inputs kept in {}", work.display());
    }
    if mismatches.is_empty() && failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
