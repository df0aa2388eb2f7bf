//! Every example of shared/DSL.md (copied into `tests/fixtures/dsl_md/`) parses
//! with no diagnostic and survives a trip through the formatter.

use std::path::PathBuf;

fn fixtures() -> Vec<(PathBuf, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsl_md");
    let mut files: Vec<(PathBuf, String)> = std::fs::read_dir(&dir)
        .expect("fixture folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cep"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("fixture text");
            (p, text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 3, "fixtures missing in {}", dir.display());
    files
}

#[test]
fn dsl_md_examples_parse_without_diagnostics() {
    for (path, src) in fixtures() {
        let (file, diags) = cepheus_dsl::parse(&src);
        assert!(
            diags.is_empty(),
            "{}:\n{}",
            path.display(),
            cepheus_dsl::diagnostic::render(&path.display().to_string(), &src, &diags)
        );
        assert!(!file.items.is_empty(), "{}: no items", path.display());
    }
}

#[test]
fn dsl_md_examples_round_trip_through_the_formatter() {
    for (path, src) in fixtures() {
        let (file, _) = cepheus_dsl::parse(&src);
        let text = cepheus_dsl::format(&file);
        let (again, diags) = cepheus_dsl::parse(&text);
        assert!(diags.is_empty(), "{}: formatted text does not parse:\n{text}\n{diags:?}", path.display());
        assert_eq!(again, file, "{}: formatted text parses differently:\n{text}", path.display());
        assert_eq!(cepheus_dsl::format(&again), text, "{}: formatting is not idempotent", path.display());
    }
}

#[test]
fn card_testing_formats_canonically() {
    let src = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/dsl_md/rule_card_testing.cep"),
    )
    .expect("fixture");
    let (file, _) = cepheus_dsl::parse(&src);
    let text = cepheus_dsl::format(&file);
    let expected = r#"stream transactions (
  id       string,
  card_id  string,
  amount   float,
  country  string,
  merchant string,
  lat      float,
  lon      float,
  ts       timestamp
)
key card_id
time ts
lateness 5s;

rule card_testing {
  severity high
  from transactions
  partition by card_id
  pattern small{3,} -> big
  define
    small as amount < 2.0,
    big   as amount > 500 and country != small[0].country
  within 10m
  after match skip past last event
  emit card_id, count(small) as tries, big.amount as amount
  message "Card {card_id}: {tries} tiny charges, then {amount}"
  notify fraud_webhook, alerts_topic
  suppress 30m
}
"#;
    assert_eq!(text, expected);
}
