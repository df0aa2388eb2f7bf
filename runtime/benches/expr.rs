//! Decode and expression-evaluation costs on the hot path (ns per event).
//!
//! `cargo bench -p cepheus-runtime --bench expr`

use std::hint::black_box;
use std::sync::Arc;

use cepheus_dsl::ast::BinaryOp;
use cepheus_dsl::plan::{self, Expr, FieldSchema, Func, Pick, StreamSchema, VarAggFunc, VarId};
use cepheus_dsl::types::{BaseType, Type};
use cepheus_runtime::expr::{CompiledExpr, Scope};
use cepheus_runtime::record::{Decoder, Record};
use cepheus_runtime::value::Value;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const EVENT: &[u8] = br#"{"id":"tx-000184467","card_id":"c-17","amount":812.0,"currency":"EUR","country":"US","merchant":"electronics-4411","mcc":5732,"lat":40.7128,"lon":-74.006,"channel":"ecom","device":{"id":"d-99","ip":"203.0.113.9","ua":"Mozilla/5.0"},"ts":"2024-05-01T10:00:00.123Z"}"#;

fn schema() -> StreamSchema {
    let f = |name: &str, base| FieldSchema {
        name: name.to_string(),
        path: name.split('.').map(str::to_string).collect(),
        ty: Type::new(base),
    };
    StreamSchema {
        name: "transactions".into(),
        fields: vec![
            f("id", BaseType::String),        // 0
            f("card_id", BaseType::String),   // 1
            f("amount", BaseType::Float),     // 2
            f("country", BaseType::String),   // 3
            f("merchant", BaseType::String),  // 4
            f("lat", BaseType::Float),        // 5
            f("lon", BaseType::Float),        // 6
            f("device.ip", BaseType::String), // 7
            f("ts", BaseType::Timestamp),     // 8
        ],
        key: vec![1],
        time: Some(8),
        lateness_ms: 5_000,
    }
}

const AMOUNT: u32 = 2;
const COUNTRY: u32 = 3;
const MERCHANT: u32 = 4;

fn field(slot: u32) -> Expr {
    Expr::Field {
        slot,
        steps: vec![],
    }
}
fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}
fn lit(v: plan::Value) -> Expr {
    Expr::Literal(v)
}

/// A scope like the NFA's: the current event and the accepted `small` events.
struct MatchScope<'a> {
    event: &'a Record,
    small: &'a [Record],
}

impl Scope for MatchScope<'_> {
    fn event(&self) -> Option<&Record> {
        Some(self.event)
    }
    fn var_len(&self, var: VarId) -> usize {
        if var == 0 {
            self.small.len()
        } else {
            0
        }
    }
    fn var_event(&self, var: VarId, i: usize) -> Option<&Record> {
        if var == 0 {
            self.small.get(i)
        } else {
            None
        }
    }
}

fn decode(c: &mut Criterion) {
    let decoder = Decoder::new(&schema());
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bytes_streaming", |b| {
        b.iter(|| decoder.decode_at(black_box(EVENT), 0))
    });
    g.bench_function("bytes_via_tree", |b| {
        b.iter(|| {
            let v: serde_json::Value = serde_json::from_slice(black_box(EVENT)).unwrap_or_default();
            decoder.decode_value_at(v, 0)
        })
    });
    let tree = Arc::new(serde_json::from_slice::<serde_json::Value>(EVENT).unwrap_or_default());
    g.bench_function("tree_only", |b| {
        b.iter(|| decoder.decode_value_at(black_box(tree.clone()), 0))
    });
    g.bench_function("baseline_serde_json_from_slice", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(black_box(EVENT)).unwrap_or_default())
    });
    g.finish();
}

fn eval(c: &mut Criterion) {
    let decoder = Decoder::new(&schema());
    let event = decoder
        .decode_at(EVENT, 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let small: Vec<Record> = ["DE", "DE", "FR"]
        .iter()
        .map(|country| {
            let json = format!(
                r#"{{"card_id":"c-17","amount":1.5,"country":"{country}","merchant":"m","ts":"2024-05-01T09:59:00Z"}}"#
            );
            decoder.decode_at(json.as_bytes(), 0).unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let scope = MatchScope {
        event: &event,
        small: &small,
    };

    let exprs: Vec<(&str, Expr)> = vec![
        (
            "amount_lt_2",
            bin(BinaryOp::Lt, field(AMOUNT), lit(plan::Value::Float(2.0))),
        ),
        (
            "big_condition",
            // amount > 500 and country != small[0].country
            bin(
                BinaryOp::And,
                bin(BinaryOp::Gt, field(AMOUNT), lit(plan::Value::Int(500))),
                bin(
                    BinaryOp::Ne,
                    field(COUNTRY),
                    Expr::VarField {
                        var: 0,
                        pick: Pick::Index(0),
                        slot: COUNTRY,
                        steps: vec![],
                    },
                ),
            ),
        ),
        (
            "in_list_5",
            Expr::In {
                expr: Box::new(field(COUNTRY)),
                list: ["RU", "KP", "IR", "SY", "US"]
                    .iter()
                    .map(|s| lit(plan::Value::String(s.to_string())))
                    .collect(),
                negated: false,
            },
        ),
        (
            "in_list_12_hashed",
            Expr::In {
                expr: Box::new(field(COUNTRY)),
                list: [
                    "RU", "KP", "IR", "SY", "CU", "VE", "BY", "MM", "AF", "LY", "SD", "US",
                ]
                .iter()
                .map(|s| lit(plan::Value::String(s.to_string())))
                .collect(),
                negated: false,
            },
        ),
        (
            "arith_cmp",
            // amount * 1.2 - 10 > avg(small.amount) * 100
            bin(
                BinaryOp::Gt,
                bin(
                    BinaryOp::Sub,
                    bin(BinaryOp::Mul, field(AMOUNT), lit(plan::Value::Float(1.2))),
                    lit(plan::Value::Int(10)),
                ),
                bin(
                    BinaryOp::Mul,
                    Expr::VarAgg {
                        var: 0,
                        func: VarAggFunc::Avg,
                        slot: Some(AMOUNT),
                    },
                    lit(plan::Value::Int(100)),
                ),
            ),
        ),
        (
            "matches_regex",
            Expr::Matches {
                expr: Box::new(field(MERCHANT)),
                regex: "^electronics-[0-9]+$".into(),
            },
        ),
        (
            "geo_distance",
            bin(
                BinaryOp::Gt,
                Expr::Call {
                    func: Func::GeoDistanceKm,
                    args: vec![
                        field(5),
                        field(6),
                        lit(plan::Value::Float(48.8566)),
                        lit(plan::Value::Float(2.3522)),
                    ],
                },
                lit(plan::Value::Int(500)),
            ),
        ),
    ];
    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(1));
    for (name, e) in &exprs {
        let compiled = CompiledExpr::compile(e).unwrap_or_else(|err| panic!("{err}"));
        g.bench_function(*name, |b| b.iter(|| compiled.eval_bool(black_box(&scope))));
    }
    let lower = CompiledExpr::compile(&Expr::Call {
        func: Func::Upper,
        args: vec![field(COUNTRY)],
    })
    .unwrap_or_else(|err| panic!("{err}"));
    g.bench_function("upper_already_upper", |b| {
        b.iter(|| lower.eval(black_box(&scope)))
    });
    g.finish();
    let _ = Value::Null;
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = decode, eval
}
criterion_main!(benches);
