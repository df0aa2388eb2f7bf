//! `window_bench`: Cepheus' window operator against Flink's `WindowOperator`
//! on the same generated keyed stream.
//!
//! For each shape (`sliding 5m every 1s`, `tumbling 1m`; `count()`,
//! `sum(v)`, `avg(v)` per key over 100,000 keys) the same JSONL file goes
//! through
//!
//! * Cepheus, twice: the keyed, event-time `WindowOperator`, a watermark
//!   `max_ts - 1` after every batch of `--watermark-every` events and a final
//!   watermark at +infinity, all timed; in mode `alerts` (the service's
//!   path) each event's JSON bytes are decoded (`Decoder::decode_at`) in the
//!   loop and every fired window becomes a full alert (id, RFC 3339 bounds,
//!   emit fields), read and counted; in mode `operator` (Flink's harness'
//!   work) the events are decoded before the loop and the fired windows'
//!   aggregates go to a function (`FiringSink`);
//! * Flink: the window peer's bench mode (`cepheus.peer.window.Main --bench`,
//!   `tests/peers/flinkcep`): Flink 1.20's `WindowOperator` in its keyed test
//!   harness, heap state backend, an incremental `AggregateFunction`
//!   (count, sum) plus a `ProcessWindowFunction`, the same watermarks, after
//!   a JIT warm-up run.
//!
//! It prints events/s (wall and on-CPU for both), the ratio, the fired window
//! counts and checksums (sum of `count()` and of `sum(v)` over all firings;
//! a loud MISMATCH and a non-zero exit when they differ), the state per open
//! (key, window) pair in bytes on both sides, and Cepheus' alert latency.
//! Results also go to a JSON file. See `tests/BENCHMARKS.md` ("Windows").
//!
//! ```text
//! window_bench [--quick] [--shapes sliding,tumbling] [--n N] [--keys K] [--step-ms D]
//!              [--watermark-every W] [--seed S] [--json FILE] [--no-peer]
//!              [--peer-dir DIR] [--peer-warmup N] [--modes alerts,operator] [--keep]
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use cepheus_dsl::plan::{RuleBody, RulePlan};
use cepheus_dsl::Catalog;
use cepheus_runtime::event::Position;
use cepheus_runtime::record::Decoder;
use cepheus_runtime::window::WindowOperator;
use serde_json::{json, Value as Json};

use cepheus_tests::measure::{CountingAlloc, Histogram, live_bytes, peak_bytes, reset_peak, thread_cpu_ns};

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

// ---------------------------------------------------------------- shapes

const BASE_TS: i64 = 1_700_000_000_000;

/// One benchmark case: a window, its Flink spelling and its default stream.
struct Shape {
    id: &'static str,
    /// The DSL window clause.
    window: &'static str,
    /// The peer's `--window` argument.
    peer_window: &'static str,
    /// Default events, keys and event-time step (full and `--quick`).
    n: usize,
    n_quick: usize,
    keys: u32,
    keys_quick: u32,
    step_ms: i64,
    /// Default JIT warm-up events of the peer.
    warmup: usize,
}

/// Why these densities: Flink keeps one accumulator and one timer per key
/// and window, so every event of `sliding 5m every 1s` touches 300 of them
/// and they live 5 minutes of event time. At 1 event/ms over 100,000 keys
/// that is ~50-90 million live accumulators: more than a 3 GiB heap holds
/// (the earlier attempt ran out of memory). At 1 event per 10 ms a 5-minute
/// window holds ~30,000 events and Flink stays around 1.5 GiB.
fn shapes() -> Vec<Shape> {
    vec![
        Shape {
            id: "sliding",
            window: "sliding 5m every 1s",
            peer_window: "sliding:300000:1000",
            n: 60_000,
            n_quick: 2_000,
            keys: 100_000,
            keys_quick: 100,
            step_ms: 10,
            warmup: 10_000,
        },
        Shape {
            id: "tumbling",
            window: "tumbling 1m",
            peer_window: "tumbling:60000",
            n: 1_000_000,
            n_quick: 5_000,
            keys: 100_000,
            keys_quick: 100,
            step_ms: 1,
            warmup: 200_000,
        },
    ]
}

fn rule(window: &str) -> String {
    format!(
        "stream ev (id int, key string, ts timestamp, v float) key key time ts lateness 0s;\n\
         rule r {{ from ev partition by key window {window}\n  \
         emit key, count() as n, sum(v) as s, avg(v) as a }}"
    )
}

fn compile(window: &str) -> Result<RulePlan, String> {
    let src = rule(window);
    let compiled = cepheus_dsl::compile(&src, &Catalog::new());
    if compiled.has_errors() {
        return Err(cepheus_dsl::diagnostic::render("window_bench.cep", &src, &compiled.diagnostics));
    }
    let mut plans = compiled.plans;
    if plans.len() != 1 || !matches!(plans[0].body, RuleBody::Window(_)) {
        return Err("expected exactly one window rule".into());
    }
    Ok(plans.remove(0))
}

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

/// Event `i` (1-based): `ts = BASE + (i-1) * step`, `key` uniform over
/// `k0..k{keys-1}`, `v` uniform in [0, 100) with 2 decimals.
fn generate(n: usize, keys: u32, step_ms: i64, seed: u64) -> Stream {
    let mut rng = Rng(seed);
    let mut lines = Vec::with_capacity(n);
    let mut ts = Vec::with_capacity(n);
    for i in 1..=n {
        let key = rng.below(u64::from(keys));
        let v = rng.below(10_000) as f64 / 100.0;
        let time = BASE_TS + (i as i64 - 1) * step_ms;
        let line = format!(r#"{{"id":{i},"key":"k{key}","ts":{time},"v":{v}}}"#);
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
    fired: u64,
    checksum_count: f64,
    checksum_sum: f64,
    elapsed_s: f64,
    /// On-CPU time of the thread over the timed part.
    cpu_s: Option<f64>,
    decode_only_s: f64,
    peak_bytes: u64,
    /// Live heap above the baseline before the final watermark (counting
    /// allocator: exact).
    retained_bytes: u64,
    /// The operator's own estimate (`WindowOperator::state_bytes`).
    state_bytes: u64,
    keys: usize,
    live_windows: usize,
    panes: usize,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
    p999_ns: Option<u64>,
    latency_samples: u64,
}

/// What Cepheus' timed loop includes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The service's path: decode each event's JSON, the operator, a full
    /// alert per fired window (id, RFC 3339 times, JSON fields), read.
    Alerts,
    /// What the Flink harness does: events decoded before the timed loop,
    /// the operator hands each fired window's aggregates to a function
    /// (`FiringSink`), no alert.
    Operator,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Alerts => "alerts",
            Mode::Operator => "operator",
        }
    }
}

/// Checksums and latency of fired windows, fed by alerts or by the sink.
///
/// The window ending at `end` could fire once an event with `ts >= end`
/// arrived (the watermark is `max_ts - 1`); its latency runs from that
/// event's arrival to the end of the call that fired it. Firings are grouped
/// by end (one watermark fires many keys' windows with the same end), so
/// recording allocates nothing and looks each end up once.
struct Tally<'a> {
    ts: &'a [i64],
    fired: u64,
    checksum_count: f64,
    checksum_sum: f64,
    /// (index of the first event at or past the end, firings) of this call.
    pending: Vec<(usize, u64)>,
    last_end: i64,
    hist: Histogram,
    error: Option<String>,
}

impl<'a> Tally<'a> {
    fn new(ts: &'a [i64]) -> Self {
        Tally {
            ts,
            fired: 0,
            checksum_count: 0.0,
            checksum_sum: 0.0,
            pending: Vec::with_capacity(1024),
            last_end: i64::MIN,
            hist: Histogram::new(),
            error: None,
        }
    }

    fn add(&mut self, end: i64, count: Option<f64>, sum: Option<f64>) {
        self.fired += 1;
        match (count, sum) {
            (Some(c), Some(s)) => {
                self.checksum_count += c;
                self.checksum_sum += s;
            }
            _ => {
                self.error
                    .get_or_insert_with(|| format!("a fired window without count/sum (end {end})"));
            }
        }
        match self.pending.last_mut() {
            Some(p) if end == self.last_end => p.1 += 1,
            _ => {
                self.last_end = end;
                self.pending.push((self.ts.partition_point(|&x| x < end), 1));
            }
        }
    }

    /// The call that fired the pending windows ended at `now`.
    fn flush(&mut self, now: u64, arrival_ns: &[u64]) {
        for &(i, n) in &self.pending {
            if let Some(&a) = arrival_ns.get(i).filter(|&&a| a != 0) {
                self.hist.record_n(now.saturating_sub(a), n);
            }
        }
        self.pending.clear();
        self.last_end = i64::MIN;
    }
}

impl cepheus_runtime::window::FiringSink for Tally<'_> {
    fn fired(&mut self, f: &cepheus_runtime::window::Firing<'_>) {
        // aggregates in plan order: count(), sum(v), avg(v)
        let count = f.aggregates.first().and_then(|v| v.as_f64());
        let sum = f.aggregates.get(1).and_then(|v| v.as_f64());
        self.add(f.end, count, sum);
    }
}

fn run_cepheus(shape: &Shape, stream: &Stream, wm_every: usize, mode: Mode) -> Result<CepheusRun, String> {
    let plan = compile(shape.window)?;
    let decoder = Decoder::new(&plan.stream);
    let n = stream.lines.len();

    // Decode alone, to see what share of the time it is; the operator mode
    // keeps the records (decoded before the timed loop, as Flink's are).
    let t0 = Instant::now();
    let mut records = Vec::with_capacity(if mode == Mode::Operator { n } else { 0 });
    for l in &stream.lines {
        let r = decoder.decode_at(l, 0).map_err(|e| e.to_string())?;
        if mode == Mode::Operator {
            records.push(r);
        } else {
            std::hint::black_box(&r);
        }
    }
    let decode_only_s = t0.elapsed().as_secs_f64();

    let mut op = WindowOperator::new(&plan, 1).map_err(|e| e.to_string())?;
    let mut arrival_ns: Vec<u64> = vec![0; n];
    let mut tally = Tally::new(&stream.ts);
    let mut alerts = Vec::with_capacity(1 << 16);
    let mut run = CepheusRun::default();
    let baseline = live_bytes();
    reset_peak();

    // Reads every alert: count and sum for the checksums, its end for the
    // latency (the alert's window end, parsed once per run of equal ends).
    let mut last_text = String::new();
    let mut last_end = 0i64;
    macro_rules! drain {
        ($start:expr) => {
            if !alerts.is_empty() {
                for a in alerts.iter() {
                    let (mut count, mut sum) = (None, None);
                    for (k, v) in a.fields.iter() {
                        match k.as_str() {
                            "n" => count = v.as_f64(),
                            "s" => sum = v.as_f64(),
                            _ => {}
                        }
                    }
                    let end_text = a.window.as_ref().map_or("", |w| w.end.as_str());
                    if end_text != last_text {
                        last_text.clear();
                        last_text.push_str(end_text);
                        last_end = cepheus_runtime::time::parse_rfc3339(end_text).unwrap_or(i64::MAX);
                    }
                    tally.add(last_end, count, sum);
                }
                alerts.clear();
            }
            if !tally.pending.is_empty() {
                tally.flush($start.elapsed().as_nanos() as u64, &arrival_ns);
            }
        };
    }

    let cpu0 = thread_cpu_ns();
    let start = Instant::now();
    let mut max_ts = i64::MIN;
    let mut since = 0usize;
    let mut clock = 0u64;
    for i in 0..n {
        // The clock is read every 16 events (a read costs about as much as
        // a tenth of an event): an event's arrival is the last read before
        // it, so latencies are overstated by at most 16 events' time.
        if i % 16 == 0 {
            clock = (start.elapsed().as_nanos() as u64).max(1);
        }
        arrival_ns[i] = clock;
        let pos = Position {
            partition: 0,
            offset: i as u64 + 1,
        };
        let watermark = |since: &mut usize, max_ts: i64| {
            *since += 1;
            (*since >= wm_every).then(|| {
                *since = 0;
                max_ts - 1
            })
        };
        match mode {
            Mode::Alerts => {
                let record = decoder
                    .decode_at(&stream.lines[i], 0)
                    .map_err(|e| format!("event {}: {e}", i + 1))?;
                max_ts = max_ts.max(record.time());
                op.on_record(&record, pos, 0, &mut alerts);
                if let Some(wm) = watermark(&mut since, max_ts) {
                    op.on_watermark(wm, 0, &mut alerts);
                }
            }
            Mode::Operator => {
                let record = &records[i];
                max_ts = max_ts.max(record.time());
                op.on_record_to_sink(record, pos, 0, &mut tally);
                if let Some(wm) = watermark(&mut since, max_ts) {
                    op.on_watermark_to_sink(wm, 0, &mut tally);
                }
            }
        }
        drain!(start);
    }
    let mid = start.elapsed();
    let cpu_mid = thread_cpu_ns();
    // Untimed: the state before the final watermark.
    run.retained_bytes = live_bytes().saturating_sub(baseline) as u64;
    run.state_bytes = op.state_bytes() as u64;
    run.keys = op.key_count();
    run.live_windows = op.live_windows();
    run.panes = op.open_windows();
    let cpu_resume = thread_cpu_ns();
    let resume = Instant::now();
    match mode {
        Mode::Alerts => op.on_watermark(i64::MAX, 0, &mut alerts),
        Mode::Operator => op.on_watermark_to_sink(i64::MAX, 0, &mut tally),
    }
    drain!(start);
    run.elapsed_s = mid.as_secs_f64() + resume.elapsed().as_secs_f64();
    let cpu_end = thread_cpu_ns();
    run.cpu_s = match (cpu0, cpu_mid, cpu_resume, cpu_end) {
        (Some(a), Some(b), Some(c), Some(d)) => Some((b - a + d - c) as f64 / 1e9),
        _ => None,
    };
    run.peak_bytes = peak_bytes().saturating_sub(baseline) as u64;
    if let Some(e) = tally.error.take() {
        return Err(e);
    }
    if op.stats().windows_fired != tally.fired {
        return Err(format!(
            "the operator fired {} windows but {} came out",
            op.stats().windows_fired,
            tally.fired
        ));
    }
    run.fired = tally.fired;
    run.checksum_count = tally.checksum_count;
    run.checksum_sum = tally.checksum_sum;
    run.decode_only_s = decode_only_s;
    run.p50_ns = tally.hist.percentile(0.50);
    run.p99_ns = tally.hist.percentile(0.99);
    run.p999_ns = tally.hist.percentile(0.999);
    run.latency_samples = tally.hist.count();
    Ok(run)
}

// ---------------------------------------------------------------- Flink

/// Java and the peer's classpath (`build.sh` builds it when its sources
/// changed).
struct Peer {
    java: String,
    classpath: String,
}

fn locate_peer(dir: &Path) -> Result<Peer, String> {
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
    let cpf = text
        .lines()
        .find_map(|l| l.strip_prefix("PEER_CLASSPATH_FILE="))
        .ok_or_else(|| format!("{} printed no PEER_CLASSPATH_FILE", script.display()))?;
    let classpath = std::fs::read_to_string(cpf.trim())
        .map_err(|e| format!("reading {cpf}: {e}"))?
        .trim()
        .to_string();
    let java = std::env::var_os("JAVA_HOME")
        .map(|h| PathBuf::from(h).join("bin").join("java"))
        .filter(|p| p.is_file())
        .map_or_else(|| "java".to_string(), |p| p.display().to_string());
    Ok(Peer { java, classpath })
}

#[derive(Default, Clone)]
struct PeerRun {
    fired: u64,
    checksum_count: f64,
    checksum_sum: f64,
    elapsed_s: f64,
    events_per_sec: f64,
    /// CPU time of the JVM's main thread / of the whole JVM over the timed part.
    thread_cpu_s: Option<f64>,
    process_cpu_s: Option<f64>,
    peak_heap_bytes: u64,
    retained_heap_bytes: u64,
    state_entries: u64,
    flink_version: String,
    raw: Json,
}

/// JVM flags unless `PEER_JAVA_OPTS` says otherwise: a fixed heap so that
/// the sliding case fits and heap figures are comparable between runs.
const DEFAULT_JAVA_OPTS: &str = "-Xms3g -Xmx3g -XX:+UseParallelGC";

fn run_peer(peer: &Peer, window: &str, events_file: &Path, wm_every: usize, warmup: usize) -> Result<PeerRun, String> {
    let opts = std::env::var("PEER_JAVA_OPTS").unwrap_or_else(|_| DEFAULT_JAVA_OPTS.to_string());
    let out = Command::new(&peer.java)
        .args(opts.split_whitespace())
        .arg("-cp")
        .arg(&peer.classpath)
        .arg("cepheus.peer.window.Main")
        .arg("--bench")
        .args(["--window", window])
        .arg("--events")
        .arg(events_file)
        .args(["--watermark-every", &wm_every.to_string()])
        .args(["--lag-ms", "0"])
        .args(["--warmup", &warmup.to_string()])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("starting {}: {e}", peer.java))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(15).collect();
        return Err(format!(
            "Flink window peer failed ({}):\n{}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        ));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .ok_or("Flink window peer printed no result")?;
    let r: Json = serde_json::from_str(line).map_err(|e| format!("peer output: {e}: {line}"))?;
    if let Some(e) = r.get("error").and_then(Json::as_str) {
        return Err(format!("Flink: {e}"));
    }
    let u = |k: &str| r.get(k).and_then(Json::as_u64);
    let f = |k: &str| r.get(k).and_then(Json::as_f64);
    Ok(PeerRun {
        fired: u("fired").ok_or("peer output lacks fired")?,
        checksum_count: f("checksum_count").ok_or("peer output lacks checksum_count")?,
        checksum_sum: f("checksum_sum").ok_or("peer output lacks checksum_sum")?,
        elapsed_s: f("elapsed_ms").unwrap_or(0.0) / 1e3,
        events_per_sec: f("events_per_sec").unwrap_or(0.0),
        thread_cpu_s: f("thread_cpu_ms").map(|x| x / 1e3),
        process_cpu_s: f("process_cpu_ms").map(|x| x / 1e3),
        peak_heap_bytes: u("peak_heap_bytes").unwrap_or(0),
        retained_heap_bytes: u("retained_heap_bytes").unwrap_or(0),
        state_entries: u("open_state_entries").unwrap_or(0),
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
    keys: Option<u32>,
    step_ms: Option<i64>,
    shapes: Option<Vec<String>>,
    wm_every: usize,
    seed: u64,
    json: Option<PathBuf>,
    no_peer: bool,
    peer_dir: PathBuf,
    peer_warmup: Option<usize>,
    keep: bool,
    modes: Vec<Mode>,
}

const USAGE: &str = "usage: window_bench [--quick] [--shapes sliding,tumbling] [--n N] [--keys K] \
[--step-ms D] [--watermark-every W] [--seed S] [--json FILE] [--no-peer] [--peer-dir DIR] \
[--peer-warmup N] [--modes alerts,operator] [--keep]";

fn parse_args() -> Result<Option<Opts>, String> {
    let mut o = Opts {
        quick: false,
        n: None,
        keys: None,
        step_ms: None,
        shapes: None,
        wm_every: 1000,
        seed: 42,
        json: None,
        no_peer: std::env::var("CEPHEUS_SKIP_PEER").is_ok_and(|v| v == "1"),
        peer_dir: std::env::var_os("CEPHEUS_PEER_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("peers").join("flinkcep")),
        peer_warmup: None,
        keep: false,
        modes: vec![Mode::Alerts, Mode::Operator],
    };
    fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, String>
    where
        T::Err: std::fmt::Display,
    {
        v.parse().map_err(|e| format!("{name}: {e}"))
    }
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match a.as_str() {
            "--quick" => o.quick = true,
            "--n" => o.n = Some(num("--n", val("--n")?)?),
            "--keys" => o.keys = Some(num::<u32>("--keys", val("--keys")?)?.max(1)),
            "--step-ms" => o.step_ms = Some(num::<i64>("--step-ms", val("--step-ms")?)?.max(0)),
            "--shapes" => o.shapes = Some(val("--shapes")?.split(',').map(str::to_string).collect()),
            "--watermark-every" => o.wm_every = num("--watermark-every", val("--watermark-every")?)?,
            "--seed" => o.seed = num("--seed", val("--seed")?)?,
            "--json" => o.json = Some(PathBuf::from(val("--json")?)),
            "--no-peer" => o.no_peer = true,
            "--peer-dir" => o.peer_dir = PathBuf::from(val("--peer-dir")?),
            "--peer-warmup" => o.peer_warmup = Some(num("--peer-warmup", val("--peer-warmup")?)?),
            "--keep" => o.keep = true,
            "--modes" => {
                o.modes = val("--modes")?
                    .split(',')
                    .map(|m| match m {
                        "alerts" => Ok(Mode::Alerts),
                        "operator" => Ok(Mode::Operator),
                        other => Err(format!("--modes: unknown mode {other} (alerts, operator)")),
                    })
                    .collect::<Result<_, _>>()?
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

/// Fired counts equal, checksums equal (the sum within 1e-9 relative:
/// Cepheus sums panes with compensated summation, the peer adds doubles).
fn agree(c: &CepheusRun, f: &PeerRun) -> Result<(), String> {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    if c.fired != f.fired {
        return Err(format!("fired windows: Cepheus {}, Flink {}", c.fired, f.fired));
    }
    if c.checksum_count != f.checksum_count {
        return Err(format!("sum of count(): Cepheus {}, Flink {}", c.checksum_count, f.checksum_count));
    }
    if !close(c.checksum_sum, f.checksum_sum) {
        return Err(format!("sum of sum(v): Cepheus {}, Flink {}", c.checksum_sum, f.checksum_sum));
    }
    Ok(())
}

fn per(bytes: u64, units: u64) -> Option<f64> {
    (units > 0).then(|| bytes as f64 / units as f64)
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
                match all.iter().find(|s| s.id == id) {
                    Some(s) => v.push(s),
                    None => {
                        eprintln!("unknown shape {id} (sliding, tumbling)");
                        return ExitCode::from(2);
                    }
                }
            }
            v
        }
    };
    let peer = if opts.no_peer {
        eprintln!("################################################################");
        eprintln!("## Flink window peer SKIPPED (--no-peer / CEPHEUS_SKIP_PEER=1): ##");
        eprintln!("## Cepheus figures only, no cross-check of fired windows.       ##");
        eprintln!("################################################################");
        None
    } else {
        match locate_peer(&opts.peer_dir) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("Flink window peer unavailable: {e}\n(set CEPHEUS_SKIP_PEER=1 or pass --no-peer to run Cepheus alone)");
                return ExitCode::FAILURE;
            }
        }
    };
    let work = std::env::temp_dir().join(format!("cepheus-window-bench-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&work) {
        eprintln!("creating {}: {e}", work.display());
        return ExitCode::FAILURE;
    }
    let mode = if opts.quick { "quick" } else { "full" };
    eprintln!(
        "window_bench: {mode} mode, watermark every {} events{}",
        opts.wm_every,
        if peer.is_some() { "" } else { ", no peer" }
    );
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut mismatches = Vec::new();
    let mut failures = Vec::new();
    let mut flink_version = String::new();
    for shape in &selected {
        let n = opts.n.unwrap_or(if opts.quick { shape.n_quick } else { shape.n });
        let keys = opts.keys.unwrap_or(if opts.quick { shape.keys_quick } else { shape.keys });
        let step = opts.step_ms.unwrap_or(shape.step_ms);
        eprintln!(
            "\n== {} ({}), {n} events, {keys} keys, one event every {step} ms",
            shape.id, shape.window
        );
        let stream = generate(n, keys, step, opts.seed);
        let events_file = work.join(format!("{}.jsonl", shape.id));
        if let Err(e) = write_jsonl(&events_file, &stream) {
            eprintln!("writing {}: {e}", events_file.display());
            return ExitCode::FAILURE;
        }
        let mut ceps = Vec::new();
        for &mode in &opts.modes {
            match run_cepheus(shape, &stream, opts.wm_every, mode) {
                Ok(cep) => {
                    eprintln!(
                        "   Cepheus ({:<8}): {:>9} ev/s, {} windows fired, {:.2}s wall, {} on CPU (decode alone {:.2}s)",
                        mode.name(),
                        fmt_rate(n as f64 / cep.elapsed_s),
                        cep.fired,
                        cep.elapsed_s,
                        cep.cpu_s.map_or("?".to_string(), |c| format!("{c:.2}s")),
                        cep.decode_only_s
                    );
                    ceps.push((mode, cep));
                }
                Err(e) => {
                    eprintln!("   Cepheus ({}) FAILED: {e}", mode.name());
                    failures.push(format!("{} ({}): Cepheus: {e}", shape.id, mode.name()));
                }
            }
        }
        drop(stream);
        let flink = match &peer {
            None => None,
            Some(p) => {
                let warmup = opts
                    .peer_warmup
                    .unwrap_or(if opts.quick { n.min(1_000) } else { n.min(shape.warmup) });
                match run_peer(p, shape.peer_window, &events_file, opts.wm_every, warmup) {
                    Ok(r) => {
                        eprintln!(
                            "   Flink               : {:>9} ev/s, {} windows fired, {:.2}s wall",
                            fmt_rate(r.events_per_sec),
                            r.fired,
                            r.elapsed_s
                        );
                        flink_version = r.flink_version.clone();
                        Some(r)
                    }
                    Err(e) => {
                        eprintln!("   Flink FAILED: {e}");
                        failures.push(format!("{}: Flink: {e}", shape.id));
                        None
                    }
                }
            }
        };
        if !opts.keep {
            let _ = std::fs::remove_file(&events_file);
        }
        for (mode, cep) in ceps {
            let verdict = flink.as_ref().map(|f| agree(&cep, f));
            if let Some(Err(msg)) = &verdict {
                let msg = format!("{} ({}): {msg}", shape.id, mode.name());
                eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
                eprintln!("!!! MISMATCH {msg}");
                eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
                mismatches.push(msg);
            }
            rows.push((shape, mode, n, keys, step, cep, flink.clone(), verdict.map(|v| v.is_ok())));
        }
    }
    let total_s = started.elapsed().as_secs_f64();

    println!();
    println!(
        "{:<9} {:<8} {:>8} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6} | {:>10} {:>4} | {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7}",
        "shape", "cepheus", "events", "cep/s", "flink/s", "x", "cep/cpu-s", "flk/cpu-s", "cpu.x", "fired", "same",
        "cep.B/w", "cep.est", "flk.B/w", "p50", "p99", "p999"
    );
    println!("{}", "-".repeat(160));
    let mut results = Vec::new();
    for (shape, mode, n, keys, step, cep, flink, same) in &rows {
        let n = *n as f64;
        let cep_eps = n / cep.elapsed_s;
        let cep_cpu_eps = cep.cpu_s.map(|c| n / c);
        let flk_cpu_eps = flink.as_ref().and_then(|f| f.thread_cpu_s).map(|c| n / c);
        let speed = flink.as_ref().map(|f| cep_eps / f.events_per_sec);
        let cpu_x = cep_cpu_eps.zip(flk_cpu_eps).map(|(a, b)| a / b);
        let cep_bw = per(cep.retained_bytes, cep.live_windows as u64);
        let cep_est = per(cep.state_bytes, cep.live_windows as u64);
        let flk_bw = flink.as_ref().and_then(|f| per(f.retained_heap_bytes, f.state_entries));
        let dash = || "-".to_string();
        let opt = |x: Option<f64>, f: &dyn Fn(f64) -> String| x.map_or_else(dash, f);
        println!(
            "{:<9} {:<8} {:>8} | {:>9} {:>9} {:>6} | {:>9} {:>9} {:>6} | {:>10} {:>4} | {:>8} {:>8} {:>8} | {:>7} {:>7} {:>7}",
            shape.id,
            mode.name(),
            n,
            fmt_rate(cep_eps),
            flink.as_ref().map_or_else(dash, |f| fmt_rate(f.events_per_sec)),
            opt(speed, &|x| format!("{x:.1}x")),
            opt(cep_cpu_eps, &fmt_rate),
            opt(flk_cpu_eps, &fmt_rate),
            opt(cpu_x, &|x| format!("{x:.1}x")),
            cep.fired,
            match same {
                None => "-",
                Some(true) => "yes",
                Some(false) => "NO!!",
            },
            opt(cep_bw, &|x| format!("{x:.1}")),
            opt(cep_est, &|x| format!("{x:.1}")),
            opt(flk_bw, &|x| format!("{x:.1}")),
            fmt_ns(cep.p50_ns),
            fmt_ns(cep.p99_ns),
            fmt_ns(cep.p999_ns),
        );
        results.push(json!({
            "shape": shape.id,
            "cepheus_mode": mode.name(),
            "rule": rule(shape.window),
            "peer_window": shape.peer_window,
            "events": n as u64,
            "stream": {"keys": keys, "step_ms": step, "seed": opts.seed},
            "cepheus": {
                "fired": cep.fired,
                "checksum_count": cep.checksum_count,
                "checksum_sum": cep.checksum_sum,
                "elapsed_s": cep.elapsed_s,
                "events_per_sec": cep_eps,
                "cpu_s": cep.cpu_s,
                "events_per_cpu_sec": cep_cpu_eps,
                "decode_only_s": cep.decode_only_s,
                "peak_heap_bytes": cep.peak_bytes,
                "retained_heap_bytes": cep.retained_bytes,
                "state_bytes_estimate": cep.state_bytes,
                "keys": cep.keys,
                "open_windows": cep.live_windows,
                "panes": cep.panes,
                "retained_bytes_per_open_window": cep_bw,
                "estimated_bytes_per_open_window": cep_est,
                "alert_latency_ns": {
                    "samples": cep.latency_samples,
                    "p50": cep.p50_ns, "p99": cep.p99_ns, "p999": cep.p999_ns,
                },
            },
            "flink": flink.as_ref().map(|f| json!({
                "fired": f.fired,
                "checksum_count": f.checksum_count,
                "checksum_sum": f.checksum_sum,
                "elapsed_s": f.elapsed_s,
                "events_per_sec": f.events_per_sec,
                "main_thread_cpu_s": f.thread_cpu_s,
                "process_cpu_s": f.process_cpu_s,
                "events_per_cpu_sec": flk_cpu_eps,
                "peak_heap_bytes": f.peak_heap_bytes,
                "retained_heap_bytes": f.retained_heap_bytes,
                "open_state_entries": f.state_entries,
                "retained_bytes_per_open_window": flk_bw,
                "peer_output": f.raw,
            })),
            "results_agree": same,
            "ratios": {
                "throughput_cepheus_over_flink": speed,
                "cpu_throughput_cepheus_over_flink": cpu_x,
                "bytes_per_open_window_flink_over_cepheus": flk_bw.zip(cep_bw).map(|(a, b)| a / b),
            },
        }));
    }
    println!();
    println!("cepheus: alerts = decode JSON + operator + a full alert per fired window, read (the service's path); operator = pre-decoded events, fired windows' aggregates handed to a function (what the Flink harness does)");
    println!("cep/s, flink/s: events per second, wall clock (Flink: WindowOperator on pre-parsed events, after JIT warm-up; AggregateFunction + ProcessWindowFunction); x = ratio");
    println!("cep/cpu-s, flk/cpu-s: events per CPU-second of the thread that ran the operator (Flink: the JVM's main thread; GC and JIT threads not charged); cpu.x = ratio");
    println!("fired: windows fired (= alerts); same: fired counts and checksums of count() and sum(v) agree");
    println!("cep.B/w: Cepheus live heap (counting allocator) before the final watermark per open (key, window); cep.est: WindowOperator::state_bytes per open window");
    println!("flk.B/w: Flink's live heap after GC above its baseline, before the final watermark, per keyed state entry (= open (key, window), timers included)");
    println!("p50/p99/p999: Cepheus alert latency, from on_record of the first event at or past the window's end to the drain after the call that fired it");
    println!(
        "{} case(s) in {:.1}s; {}",
        rows.len(),
        total_s,
        if mismatches.is_empty() && failures.is_empty() {
            "results agree".to_string()
        } else {
            format!("{} MISMATCH(ES), {} failure(s)", mismatches.len(), failures.len())
        }
    );
    let report = json!({
        "mode": mode,
        "watermark_every": opts.wm_every,
        "flink_version": if flink_version.is_empty() { Json::Null } else { json!(flink_version) },
        "peer": peer.is_some(),
        "java_opts": std::env::var("PEER_JAVA_OPTS").unwrap_or_else(|_| DEFAULT_JAVA_OPTS.to_string()),
        "total_seconds": total_s,
        "host": {
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "loadavg": std::fs::read_to_string("/proc/loadavg").ok().map(|s| s.trim().to_string()),
        },
        "results": results,
        "mismatches": mismatches,
        "failures": failures,
    });
    let json_path = opts.json.clone().unwrap_or_else(|| work.join("window_bench.json"));
    match std::fs::write(&json_path, serde_json::to_vec_pretty(&report).unwrap_or_default()) {
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
