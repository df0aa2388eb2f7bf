//! `compile` (parse + check) of a file of 1,000 varied rules, pattern and
//! window rules mixed: `cargo bench -p cepheus-dsl --bench check`.

use std::fmt::Write;
use std::hint::black_box;

use cepheus_dsl::Catalog;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const STREAMS: &str = r#"
stream transactions (
  id string, card_id string, amount float, country string, merchant string,
  channel string?, lat float, lon float, ts timestamp
) key card_id time ts lateness 5s;

stream machines (
  machine_id string, site string, temp float, rpm int, status string,
  vibration float?, device.fw string, payload json, ts timestamp
) key machine_id time ts lateness 2s;
"#;

/// One rule of eight shapes, parameterised by `i` so that no two are equal.
fn rule(i: usize, out: &mut String) {
    let n = i % 7 + 2;
    let amount = 100 + i * 3;
    let _ = match i % 8 {
        0 => writeln!(
            out,
            r#"rule card_testing_{i} {{
  severity high
  from transactions
  partition by card_id
  pattern small{{{n},}} -> big
  define
    small as amount < 2.00,
    big   as amount > {amount} and country != small[0].country
  within {n}m
  after match skip past last event
  emit card_id, count(small) as tries, big.amount as amount
  message "Card {{card_id}}: {{tries}} tiny charges, then {{amount}}"
  notify fraud_webhook, alerts_topic
  suppress 30m
}}"#
        ),
        1 => writeln!(
            out,
            r#"rule velocity_{i} {{
  from transactions
  where amount > 0 and channel is not null
  partition by card_id
  window sliding {n}m every 1m
  having count() > {n}0 or sum(amount) > {amount}0
  emit card_id, count() as n, sum(amount) as total, window.end as at
  notify fraud_webhook
}}"#
        ),
        2 => writeln!(
            out,
            r#"rule travel_{i} {{
  severity critical
  from transactions
  partition by card_id
  pattern a -> b
  define b as geo_distance_km(a.lat, a.lon, lat, lon) > {amount} and ts - a.ts < {n}h
  within {n}h
  emit card_id, a.country as from_country, b.country as to_country
  message "{{card_id}}: {{from_country}} -> {{to_country}}"
}}"#
        ),
        3 => writeln!(
            out,
            r#"rule overheat_{i} {{
  from machines
  partition by machine_id
  pattern hot{{{n},}} consecutive -> shutdown
  define hot as temp > {n}0.5, shutdown as status = "shutdown" and rpm = 0
  within 10m
  emit machine_id, max(hot.temp) as peak, count(hot) as readings
  labels (team = "plant-{n}", runbook = "https://wiki.example/{i}")
}}"#
        ),
        4 => writeln!(
            out,
            r#"rule lost_{i} {{
  from machines
  partition by machine_id
  pattern beat -> !next_beat
  define beat as status != "off"
  within {n}m
  emit machine_id, beat.ts as last_seen
}}"#
        ),
        5 => writeln!(
            out,
            r#"rule vibration_{i} {{
  from machines
  where vibration is not null and starts_with(device.fw, "1.")
  partition by machine_id, site
  window tumbling {n}m
  allow lateness 1m
  having avg(vibration) > 2 * min(vibration) and percentile(temp, 0.99) > {n}0
  emit machine_id, site, avg(vibration) as avg_vibration, stddev(temp) as spread
}}"#
        ),
        6 => writeln!(
            out,
            r#"rule start_{i} {{
  from machines
  partition by machine_id
  pattern start -> !fault -> running{{1,{n}}} -> settled
  define
    start   as status = "starting",
    fault   as status = "fault" or payload.error.code = {n},
    running as rpm > {amount} and temp < 90,
    settled as rpm > running[0].rpm
  within {n}m
  on timeout emit machine_id, start.ts as started message "{{machine_id}} did not settle"
}}"#
        ),
        _ => writeln!(
            out,
            r#"rule sessions_{i} {{
  severity low
  from transactions
  where lower(merchant) matches "^shop-[0-9]+$" and hour(ts) between 0 and 5
  partition by merchant
  window session gap {n}m
  having count_distinct(card_id) > {n} and max(amount) - min(amount) > {amount}
  emit merchant, count_distinct(card_id) as cards, first(country) as first_country
}}"#
        ),
    };
}

fn thousand_rules() -> String {
    let mut src = String::from(STREAMS);
    for i in 0..1000 {
        rule(i, &mut src);
    }
    src
}

fn bench_compile(c: &mut Criterion) {
    let src = thousand_rules();
    let catalog = Catalog::new().with_sinks(["fraud_webhook", "alerts_topic"]);
    let compiled = cepheus_dsl::compile(&src, &catalog);
    assert!(
        compiled.diagnostics.is_empty(),
        "{}",
        cepheus_dsl::diagnostic::render("bench.cep", &src, &compiled.diagnostics)
    );
    assert_eq!(compiled.plans.len(), 1000);
    let mut group = c.benchmark_group("compile");
    group.throughput(Throughput::Bytes(src.len() as u64));
    group.sample_size(20);
    group.bench_function("1000_rules", |b| b.iter(|| cepheus_dsl::compile(black_box(&src), &catalog)));
    let (file, _) = cepheus_dsl::parse(&src);
    group.bench_function("1000_rules_check_only", |b| {
        b.iter(|| cepheus_dsl::check(black_box(&file), &src, &catalog))
    });
    group.finish();
}

criterion_group!(benches, bench_compile);
criterion_main!(benches);
