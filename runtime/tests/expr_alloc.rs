//! Evaluating numeric, boolean and comparison expressions allocates nothing;
//! decoding allocates only the record (values, kept bytes) and its strings.
//! Counted with a global allocator, in a test binary of its own.

mod expr_support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use cepheus_dsl::ast::BinaryOp::*;
use cepheus_dsl::plan::{FieldSchema, Func, StreamSchema, VarAggFunc};
use cepheus_dsl::types::{BaseType, Type};
use cepheus_runtime::record::Decoder;
use expr_support::*;

struct Counting;

static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations(f: impl FnOnce()) -> usize {
    let before = ALLOCS.load(Ordering::Relaxed);
    f();
    ALLOCS.load(Ordering::Relaxed) - before
}

fn schema() -> StreamSchema {
    let f = |name: &str, base| FieldSchema {
        name: name.to_string(),
        path: name.split('.').map(str::to_string).collect(),
        ty: Type::new(base),
    };
    StreamSchema {
        name: "transactions".into(),
        fields: vec![
            f("card_id", BaseType::String),
            f("amount", BaseType::Float),
            f("country", BaseType::String),
            f("n", BaseType::Int),
            f("ts", BaseType::Timestamp),
            f("device.lat", BaseType::Float),
        ],
        key: vec![0],
        time: Some(4),
        lateness_ms: 0,
    }
}

// One test function, so no other test thread allocates while counting.
#[test]
fn hot_paths_do_not_allocate() {
    let d = Decoder::new(&schema());
    let event = br#"{"card_id":"c-17","amount":812.5,"country":"US","n":3,"ts":"2024-05-01T10:00:00Z","device":{"lat":1.5,"ua":"x"},"extra":[1,{"a":"b"}]}"#;
    // values + kept bytes + two strings + serde_json's scratch stack when it
    // skips a nested undeclared value (`extra`).
    let n = allocations(|| {
        let r = d.decode_at(event, 0);
        assert!(r.is_ok());
    });
    assert!(n <= 5, "decode made {n} allocations");

    let current = d.decode_at(event, 0).unwrap_or_else(|e| panic!("{e}"));
    let small = d
        .decode_at(br#"{"amount":1.5,"country":"DE","n":1,"ts":0}"#, 0)
        .unwrap_or_else(|e| panic!("{e}"));
    let scope = TestScope {
        event: Some(current),
        vars: vec![vec![small.clone(), small.clone(), small]],
        ..TestScope::default()
    };
    let (amount, country, n) = (1, 2, 3);
    let exprs = vec![
        bin(Gt, field(amount), f(2.0)),
        bin(
            And,
            bin(Gt, field(amount), i(500)),
            bin(Ne, field(country), var_field(0, 0, country)),
        ),
        bin(
            Gt,
            bin(Sub, bin(Mul, field(amount), f(1.2)), i(10)),
            bin(Mul, var_agg(0, VarAggFunc::Avg, Some(amount)), i(100)),
        ),
        bin(Ge, bin(Add, field(n), bin(Rem, i(7), field(n))), i(2)),
        bin(Gt, bin(Sub, field(4), var_field(0, -1, 4)), dur(600_000)),
        bin(Gt, var_agg(0, VarAggFunc::Count, None), i(2)),
        bin(Eq, var_agg(0, VarAggFunc::Max, Some(country)), s("DE")),
        in_list(field(country), vec![s("RU"), s("US")], false),
        between(field(amount), i(100), f(1000.0), false),
        is_null(field(5), true),
        matches(field(country), "^[A-Z]{2}$"),
        bin(Eq, call(Func::Upper, vec![field(country)]), s("US")),
        bin(
            Gt,
            call(
                Func::GeoDistanceKm,
                vec![field(5), field(5), f(0.0), f(0.0)],
            ),
            i(1),
        ),
        bin(Eq, call(Func::Hour, vec![field(4)]), i(10)),
        bin(Gt, call(Func::Coalesce, vec![null(), field(amount)]), i(0)),
        not(bin(
            Or,
            is_null(field(amount), false),
            bin(Lt, field(amount), i(0)),
        )),
    ];
    for e in &exprs {
        let c = compile(e);
        assert!(c.eval_bool(&scope), "{e:?}");
        let n = allocations(|| {
            for _ in 0..10 {
                std::hint::black_box(c.eval_bool(std::hint::black_box(&scope)));
            }
        });
        assert_eq!(n, 0, "{e:?}");
    }
}
