//! Any UTF-8 text: parsing and checking never panic, and whatever parsed
//! prints back to the same tree (the formatter's contract).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let compiled = cepheus_dsl::compile(source, &cepheus_dsl::Catalog::new());
    for d in &compiled.diagnostics {
        assert!(d.primary.span.start <= d.primary.span.end && d.primary.span.end <= source.len());
    }
    let _ = cepheus_dsl::diagnostic::render("fuzz.cep", source, &compiled.diagnostics);
    let text = cepheus_dsl::format(&compiled.file);
    let (again, diags) = cepheus_dsl::parse(&text);
    assert!(diags.is_empty(), "formatted text does not parse:\n{text}\n{diags:?}");
    assert_eq!(again, compiled.file, "formatted text parses differently:\n{text}");
    assert_eq!(cepheus_dsl::format(&again), text, "formatting is not idempotent");
});
