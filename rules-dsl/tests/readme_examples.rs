//! Every ```cep block of README.md is checked: plain blocks compile with no
//! diagnostic at all; blocks marked ```cep,error must produce an error.

mod check_support;

#[derive(Debug)]
struct Block {
    line: usize,
    expect_error: bool,
    text: String,
}

fn blocks(readme: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for (i, line) in readme.lines().enumerate() {
        let trimmed = line.trim();
        match current.take() {
            Some(block) if trimmed == "```" => out.push(block),
            Some(mut block) => {
                block.text.push_str(line);
                block.text.push('\n');
                current = Some(block);
            }
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let info = info.trim();
                    if info == "cep" || info == "cep,error" {
                        current = Some(Block {
                            line: i + 1,
                            expect_error: info == "cep,error",
                            text: String::new(),
                        });
                    }
                }
            }
        }
    }
    assert!(current.is_none(), "unclosed ```cep block in README.md");
    out
}

/// Diagnostic codes written at the start of `--` comments.
fn commented_codes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.split_once("-- ").map(|(_, c)| c))
        .filter_map(|c| c.split([':', ',', ' ']).next())
        .filter(|w| w.contains('-') && w.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_cep_blocks_check_as_documented() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let readme = std::fs::read_to_string(path).expect("README.md");
    let blocks = blocks(&readme);
    assert!(blocks.len() >= 20, "only {} cep blocks", blocks.len());
    assert!(blocks.iter().any(|b| b.expect_error));
    let catalog = check_support::catalog();
    let mut failures = Vec::new();
    for b in &blocks {
        let name = format!("README.md:{}", b.line);
        let c = cepheus_dsl::compile(&b.text, &catalog);
        let rendered = cepheus_dsl::diagnostic::render(&name, &b.text, &c.diagnostics);
        if b.expect_error {
            if !c.has_errors() {
                failures.push(format!("{name}: marked cep,error but compiles clean"));
            }
            // `-- some-code: ...` in the block names a code that must be reported.
            for code in commented_codes(&b.text) {
                if !c.diagnostics.iter().any(|d| d.code == code) {
                    failures.push(format!("{name}: the comment promises `{code}`\n{rendered}"));
                }
            }
        } else if !c.diagnostics.is_empty() {
            failures.push(format!("{name}: expected no diagnostic\n{rendered}"));
        } else {
            let rules = b.text.matches("rule ").count();
            if rules > 0 && c.plans.is_empty() {
                failures.push(format!("{name}: no plan"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
