//! Golden diagnostics: every `tests/diagnostics/<name>.cep` is one mistake (or
//! a few) that must be reported exactly as in `<name>.stderr`, rendered as
//! `cepheus rules check` prints it. `BLESS=1 cargo test --test
//! golden_diagnostics` rewrites the expected files; review them by eye.

mod check_support;

use std::path::PathBuf;

#[test]
fn diagnostics_match_golden_files() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics");
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let catalog = check_support::catalog();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/diagnostics")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cep"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 45, "only {} golden cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("case.cep");
        let src = std::fs::read_to_string(case).expect("case text");
        let compiled = cepheus_dsl::compile(&src, &catalog);
        let actual = cepheus_dsl::diagnostic::render(name, &src, &compiled.diagnostics);
        if !compiled.has_errors() && !name.starts_with("warn_") {
            failures.push(format!("{name}: expected at least one error, got none\n{actual}"));
            continue;
        }
        let expected_path = case.with_extension("stderr");
        if bless {
            std::fs::write(&expected_path, &actual).expect("write .stderr");
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected != actual {
            failures.push(format!(
                "{name}: diagnostics differ (- expected, + actual; BLESS=1 to accept)\n{}",
                check_support::diff(&expected, &actual)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
