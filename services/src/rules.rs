//! Rule text -> checked plans, against the server's catalog: the streams of
//! the config (with their schemas) plus those the text declares. Errors carry
//! the same JSON diagnostics as `cepheus rules check --format json`.

use std::collections::BTreeSet;

use cepheus_dsl::diagnostic::JsonDiagnostic;
use cepheus_dsl::{ast, Catalog, RulePlan};
use serde_json::json;

use crate::config::StreamConfig;
use crate::error::ApiError;

/// What rules may read on this instance.
#[derive(Debug, Clone)]
pub struct RuleCatalog {
    pub catalog: Catalog,
    /// Streams the instance serves (has a source for).
    pub served: BTreeSet<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("stream '{stream}': {reason}")]
pub struct SchemaError {
    pub stream: String,
    pub reason: String,
}

impl RuleCatalog {
    /// Builds the catalog from `[[streams]]`; sink names, when known, make
    /// `notify` names checked.
    pub fn new(streams: &[StreamConfig], sinks: Option<Vec<String>>) -> Result<RuleCatalog, SchemaError> {
        let mut catalog = Catalog::new();
        if let Some(s) = sinks {
            catalog = catalog.with_sinks(s);
        }
        let mut served = BTreeSet::new();
        for s in streams {
            served.insert(s.name.clone());
            let text = match (&s.schema, &s.schema_file) {
                (Some(t), _) => t.clone(),
                (None, Some(f)) => std::fs::read_to_string(f).map_err(|e| SchemaError {
                    stream: s.name.clone(),
                    reason: format!("schema_file {}: {e}", f.display()),
                })?,
                (None, None) => continue,
            };
            let compiled = cepheus_dsl::compile(&text, &Catalog::new());
            if compiled.has_errors() {
                let rendered = cepheus_dsl::diagnostic::render(&format!("streams.{}.schema", s.name), &text, &compiled.diagnostics);
                return Err(SchemaError {
                    stream: s.name.clone(),
                    reason: format!("the schema does not check:\n{rendered}"),
                });
            }
            let schema = compiled
                .streams
                .into_iter()
                .find(|st| st.name == s.name)
                .ok_or_else(|| SchemaError {
                    stream: s.name.clone(),
                    reason: format!("the schema must declare `stream {} (...)`", s.name),
                })?;
            catalog = catalog.with_stream(schema);
        }
        Ok(RuleCatalog { catalog, served })
    }

    /// Compiles a text that must hold exactly one rule. `expected` is the id
    /// the caller addressed (PUT /rules/{id}): the rule must carry that name.
    /// `require_served`: the rule's stream must be one this instance reads
    /// (not so for backtests, which bring their own events).
    pub fn compile_one(&self, source: &str, expected: Option<&str>, require_served: bool) -> Result<Compiled, ApiError> {
        let file_name = format!("{}.cep", expected.unwrap_or("request"));
        let compiled = cepheus_dsl::compile(source, &self.catalog);
        let diagnostics: Vec<JsonDiagnostic> = compiled.diagnostics.iter().map(|d| d.to_json(&file_name, source)).collect();
        if compiled.has_errors() {
            let n = diagnostics.iter().filter(|d| d.level == cepheus_dsl::Level::Error).count();
            return Err(ApiError::bad_request(format!("the rule does not check: {n} error(s)"))
                .with_details(json!({ "diagnostics": diagnostics })));
        }
        let mut plans = compiled.plans;
        if plans.len() != 1 {
            return Err(ApiError::bad_request(format!(
                "send exactly one rule per request; this text has {}",
                plans.len()
            ))
            .with_details(json!({ "diagnostics": diagnostics })));
        }
        let plan = plans.remove(0);
        if let Some(id) = expected {
            if plan.name != id {
                return Err(ApiError::bad_request(format!(
                    "the rule is named '{}' but the request is for '{id}'; rename one of them",
                    plan.name
                )));
            }
        }
        if require_served && !self.served.contains(&plan.stream.name) {
            return Err(ApiError::bad_request(format!(
                "rule '{}' reads stream '{}', which this instance does not serve; add a [[streams]] entry named '{}' to the config",
                plan.name, plan.stream.name, plan.stream.name
            )));
        }
        Ok(Compiled { plan, diagnostics })
    }
}

/// A checked rule and its warnings.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub plan: RulePlan,
    pub diagnostics: Vec<JsonDiagnostic>,
}

/// Splits a file of several rules into one self-contained text per rule: the
/// file's stream declarations followed by the rule.
pub fn split_file(source: &str) -> Vec<(String, String)> {
    let (file, _) = cepheus_dsl::parse(source);
    let slice = |span: cepheus_dsl::span::Span| {
        let mut end = span.end.min(source.len());
        // Take the declaration's `;` along when the span stops before it.
        if let Some(rest) = source.get(end..) {
            let trimmed = rest.trim_start();
            if trimmed.starts_with(';') && !source[span.start..end].trim_end().ends_with(';') {
                end += rest.len() - trimmed.len() + 1;
            }
        }
        source.get(span.start..end).unwrap_or("").to_string()
    };
    let streams: Vec<String> = file
        .items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Stream(s) => Some(slice(s.span)),
            ast::Item::Rule(_) => None,
        })
        .collect();
    file.items
        .iter()
        .filter_map(|i| match i {
            ast::Item::Rule(r) => {
                let mut text = streams.join("\n\n");
                if !text.is_empty() {
                    text.push_str("\n\n");
                }
                text.push_str(&slice(r.span));
                text.push('\n');
                Some((r.name.name.clone(), text))
            }
            ast::Item::Stream(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAUD: &str = include_str!("../../examples/fraud.cep");

    fn served(name: &str) -> RuleCatalog {
        RuleCatalog::new(
            &[StreamConfig { name: name.into(), schema: None, schema_file: None, partitions: None, topic: None }],
            None,
        )
        .expect("catalog")
    }

    #[test]
    fn split_gives_self_contained_rules() {
        let two = format!("{FRAUD}\nrule second {{ from transactions pattern a -> b within 1m }}\n");
        let parts = split_file(&two);
        assert_eq!(parts.len(), 2);
        let cat = served("transactions");
        for (name, text) in &parts {
            let c = cat.compile_one(text, Some(name), true).unwrap_or_else(|e| panic!("{name}: {e} {}", e.details));
            assert_eq!(&c.plan.name, name);
        }
    }

    #[test]
    fn errors_carry_check_json_diagnostics() {
        let bad = FRAUD.replace("amount < 2.00", "amout < 2.00");
        let e = served("transactions").compile_one(&bad, None, true).expect_err("bad field");
        assert_eq!(e.status, axum::http::StatusCode::BAD_REQUEST);
        let d = &e.details["diagnostics"][0];
        assert_eq!(d["code"], "unknown-field");
        assert_eq!(d["start"]["line"], 20);
        assert!(d["help"].as_str().expect("help").contains("amount"));
    }

    #[test]
    fn unserved_stream_and_wrong_name_are_rejected() {
        assert!(served("other").compile_one(FRAUD, None, true).expect_err("unserved").message.contains("[[streams]]"));
        assert!(served("transactions").compile_one(FRAUD, Some("x"), true).expect_err("name").message.contains("named 'card_testing'"));
    }

    #[test]
    fn config_schemas_join_the_catalog() {
        let schema = "stream tx (id string, amount float, ts timestamp) time ts;";
        let cat = RuleCatalog::new(
            &[StreamConfig { name: "tx".into(), schema: Some(schema.into()), schema_file: None, partitions: None, topic: None }],
            None,
        )
        .expect("catalog");
        let c = cat.compile_one("rule big { from tx pattern a define a as amount > 10 }", None, true).expect("compiles against the catalog");
        assert_eq!(c.plan.stream.name, "tx");
    }
}
