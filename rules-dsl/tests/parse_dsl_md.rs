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
