//! Turning a match (or fired window) into an [`Alert`]: emit fields, message
//! template, key, matched events, deterministic id.

use std::collections::BTreeMap;

use cepheus_alerts::{Alert, AlertIdBuilder};
use cepheus_dsl::plan::{OutputPlan, RulePlan, Template, TemplatePart};

use crate::expr::{CompileError, CompiledExpr, Scope};
use crate::time::format_rfc3339;
use crate::value::Value;

/// The parts of a rule every alert repeats.
#[derive(Debug, Clone)]
pub struct RuleIdentity {
    pub name: String,
    pub version: u64,
    pub severity: String,
    pub key_names: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub notify: Vec<String>,
}

impl RuleIdentity {
    pub fn new(plan: &RulePlan, version: u64) -> Self {
        RuleIdentity {
            name: plan.name.clone(),
            version,
            severity: plan.severity.as_str().to_string(),
            key_names: plan.partition_by.iter().map(|k| k.name.clone()).collect(),
            labels: plan.labels.clone(),
            notify: plan.notify.clone(),
        }
    }

    /// An id builder already fed with the rule and the key.
    pub fn id_builder(&self, key: &[Value]) -> AlertIdBuilder {
        let mut b = AlertIdBuilder::new(&self.name, self.version);
        for v in key {
            b.str(&v.to_json().to_string());
        }
        b
    }
}

/// Compiled `emit` and `message`.
#[derive(Debug, Clone)]
pub struct Output {
    fields: Vec<(String, CompiledExpr)>,
    message: Option<Template>,
}

impl Output {
    pub fn compile(plan: &OutputPlan) -> Result<Output, CompileError> {
        let fields = plan
            .fields
            .iter()
            .map(|f| Ok((f.name.clone(), CompiledExpr::compile(&f.expr)?)))
            .collect::<Result<_, CompileError>>()?;
        Ok(Output {
            fields,
            message: plan.message.clone(),
        })
    }

    /// Evaluates the fields and renders the message.
    pub fn render(&self, scope: &impl Scope) -> (serde_json::Map<String, serde_json::Value>, String) {
        let values: Vec<Value> = self.fields.iter().map(|(_, e)| e.eval(scope)).collect();
        let mut message = String::new();
        if let Some(t) = &self.message {
            for part in &t.parts {
                match part {
                    TemplatePart::Text(s) => message.push_str(s),
                    TemplatePart::Field(i) => {
                        if let Some(v) = values.get(*i as usize) {
                            push_plain(&mut message, v);
                        }
                    }
                }
            }
        }
        let fields = self
            .fields
            .iter()
            .zip(values)
            .map(|((name, _), v)| (name.clone(), v.to_json()))
            .collect();
        (fields, message)
    }
}

/// A value as a person reads it in a message: strings without quotes.
fn push_plain(out: &mut String, v: &Value) {
    match v {
        Value::Str(s) => out.push_str(s),
        other => out.push_str(&other.to_string()),
    }
}

/// Builds the common part of an alert.
pub fn alert(
    rule: &RuleIdentity,
    id: String,
    key: &[Value],
    (fields, message): (serde_json::Map<String, serde_json::Value>, String),
    event_time_ms: i64,
    detected_at_ms: i64,
) -> Alert {
    let key = rule
        .key_names
        .iter()
        .zip(key)
        .map(|(n, v)| (n.clone(), v.to_json()))
        .collect();
    Alert {
        id,
        rule: rule.name.clone(),
        rule_version: rule.version,
        severity: rule.severity.clone(),
        key,
        fields,
        message,
        event_time: format_rfc3339(event_time_ms),
        detected_at: format_rfc3339(detected_at_ms),
        matched: None,
        window: None,
        timeout: false,
        update: false,
        labels: rule.labels.clone(),
        notify: rule.notify.clone(),
    }
}
