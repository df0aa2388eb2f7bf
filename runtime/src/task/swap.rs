//! Rule-set hot swap inside a partition task: which operators keep their
//! state when the active rules change.
//!
//! * same id and version: the operator is kept as it is;
//! * a new version whose state has the same shape (same stream schema, key,
//!   pattern structure with `within`, skip and timeout handling, or the same
//!   window): the new operator takes the old one's state, so outputs,
//!   severities and thresholds change in place;
//! * anything else (or a window rule, whose state cannot move yet): fresh;
//! * a rule no longer in the set: its state is dropped.

use cepheus_dsl::plan::{RuleBody, RulePlan};
use serde_json::Value as Json;

/// What a swap does to one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapAction {
    Keep,
    CarryState,
    Fresh,
}

/// How a task treats `new` given the operator of `old` it runs.
pub fn swap_action(old_version: u64, old: &RulePlan, new_version: u64, new: &RulePlan) -> SwapAction {
    if old_version == new_version && old == new {
        return SwapAction::Keep;
    }
    if state_shape(old) == state_shape(new) && matches!(new.body, RuleBody::Pattern(_)) {
        SwapAction::CarryState
    } else {
        SwapAction::Fresh
    }
}

/// What an operator's state depends on: the stream, the key and the
/// structure of the pattern (conditions reduced to whether they exist) or
/// the window. Outputs, filters and thresholds are left out.
pub fn state_shape(plan: &RulePlan) -> Json {
    let key: Vec<u32> = plan.partition_by.iter().map(|k| k.slot).collect();
    let body = match &plan.body {
        RuleBody::Pattern(p) => {
            let mut stages = serde_json::to_value(&p.stages).unwrap_or(Json::Null);
            mask_conditions(&mut stages);
            serde_json::json!({
                "kind": "pattern",
                "vars": p.vars.len(),
                "stages": stages,
                "within_ms": p.within_ms,
                "skip": serde_json::to_value(&p.skip).unwrap_or(Json::Null),
                "timeouts": p.on_timeout.is_some(),
            })
        }
        RuleBody::Window(w) => serde_json::json!({
            "kind": "window",
            "window": serde_json::to_value(w.kind).unwrap_or(Json::Null),
            "lateness": w.allowed_lateness_ms,
            "aggregates": serde_json::to_value(&w.aggregates).unwrap_or(Json::Null),
        }),
    };
    serde_json::json!({
        "stream": serde_json::to_value(&plan.stream).unwrap_or(Json::Null),
        "key": key,
        "body": body,
    })
}

fn mask_conditions(v: &mut Json) {
    match v {
        Json::Object(map) => {
            for (k, child) in map.iter_mut() {
                if k == "condition" || k == "until" {
                    *child = Json::Bool(!child.is_null());
                } else {
                    mask_conditions(child);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(mask_conditions),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cepheus_dsl::{compile, Catalog};

    fn plan(src: &str) -> RulePlan {
        compile(src, &Catalog::new()).plans.remove(0)
    }

    const S: &str = "stream s (id int, v int, ts timestamp) key id time ts;\n";

    #[test]
    fn thresholds_and_outputs_carry_state_structure_does_not() {
        let a = plan(&format!(
            "{S}rule r {{ from s partition by id pattern a -> b within 1m define a as v > 1, b as v > 2 }}"
        ));
        let thresholds = plan(&format!(
            "{S}rule r {{ from s partition by id pattern a -> b within 1m define a as v > 10, b as v > 20 }}"
        ));
        let within = plan(&format!(
            "{S}rule r {{ from s partition by id pattern a -> b within 2m define a as v > 1, b as v > 2 }}"
        ));
        assert_eq!(swap_action(1, &a, 1, &a), SwapAction::Keep);
        assert_eq!(swap_action(1, &a, 2, &thresholds), SwapAction::CarryState);
        assert_eq!(swap_action(1, &a, 2, &within), SwapAction::Fresh);
    }
}
