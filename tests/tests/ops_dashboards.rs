//! The dashboards and Prometheus files in `dashboards/`, checked offline:
//! promtool (config, rules, rule unit tests), Grafana's dashboard model for the
//! declared schemaVersion, provisioning, the metric contract, and every PromQL
//! expression parsed by a real Prometheus. The live check (a Prometheus
//! scraping a running Cepheus, every panel returning data) is `ops_live.rs`.

mod ops_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use ops_support::*;
use serde_json::Value as Json;

fn promtool(args: &[&str]) {
    let bin = std::env::var("CEPHEUS_PROMTOOL_BIN").unwrap_or_else(|_| "/usr/bin/promtool".into());
    let out = Command::new(&bin)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("running {bin} (Debian package `prometheus`; .ci/run installs it): {e}"));
    assert!(
        out.status.success(),
        "promtool {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn promtool_checks_config_rules_and_rule_unit_tests() {
    // (deploy/compose/prometheus.yml is checked by ops_deploy, beside its mounted rules.)
    promtool(&["check", "config", "dashboards/prometheus/prometheus.yml"]);
    promtool(&["check", "rules", ALERT_RULES]);
    promtool(&["test", "rules", "dashboards/prometheus/cepheus-rules.test.yml"]);
}

/// The alert rules' unit tests must cover every alert: a rule without a test
/// could never fire and nobody would know.
#[test]
fn every_alert_has_a_unit_test() {
    let tests = read("dashboards/prometheus/cepheus-rules.test.yml");
    for e in alert_exprs() {
        let name = e.origin.rsplit(": ").next().expect("name");
        assert!(
            tests.contains(&format!("alertname: {name}\n        exp_alerts:\n          - exp_labels")),
            "{name} has no promtool test case in which it fires"
        );
    }
}

/// Panel types built into Grafana (no plugin needed).
const CORE_PANELS: [&str; 7] = ["row", "timeseries", "stat", "gauge", "bargauge", "table", "text"];
const VARIABLE_TYPES: [&str; 7] = ["datasource", "query", "custom", "constant", "interval", "textbox", "adhoc"];

/// What Grafana's dashboard model (schemaVersion 39, Grafana 10.3+) requires of a
/// dashboard loaded from a file: the fields without defaults, data source
/// references as objects (strings were migrated away at schemaVersion 36),
/// panel positions on the 24-column grid without overlaps.
fn check_grafana_model(rel: &str, dash: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    let mut err = |m: String| errs.push(format!("{rel}: {m}"));
    if dash["schemaVersion"] != 39 {
        err(format!("schemaVersion is {}, these checks are for 39", dash["schemaVersion"]));
    }
    for field in ["title", "uid"] {
        if dash[field].as_str().unwrap_or_default().is_empty() {
            err(format!("missing string field {field}"));
        }
    }
    let uid = dash["uid"].as_str().unwrap_or_default();
    if uid.len() > 40 || !uid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        err(format!("uid {uid:?}: at most 40 of [A-Za-z0-9-_]"));
    }
    for field in ["panels", "tags"] {
        if !dash[field].is_array() {
            err(format!("{field} must be an array"));
        }
    }
    if !dash["templating"]["list"].is_array() {
        err("templating.list must be an array".into());
    }
    if !(dash["time"]["from"].is_string() && dash["time"]["to"].is_string()) {
        err("time.from and time.to are required".into());
    }

    let vars: BTreeMap<String, &Json> = dash["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["name"].as_str().unwrap_or_default().to_owned(), v))
        .collect();
    for (name, v) in &vars {
        let ty = v["type"].as_str().unwrap_or_default();
        if name.is_empty() || !VARIABLE_TYPES.contains(&ty) {
            err(format!("variable {name:?} has type {ty:?}"));
        }
        if ty == "query" && v["datasource"] != serde_json::json!({"type": "prometheus", "uid": "${datasource}"}) {
            err(format!("variable {name} must query the ${{datasource}} variable"));
        }
    }
    match vars.get("datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        _ => err("a `datasource` variable of type datasource with query \"prometheus\" is required".into()),
    }

    let mut ids = BTreeSet::new();
    let mut cells: Vec<(String, i64, i64, i64, i64)> = Vec::new();
    for p in panels(dash) {
        let title = p["title"].as_str().unwrap_or_default().to_owned();
        let ty = p["type"].as_str().unwrap_or_default();
        if !CORE_PANELS.contains(&ty) {
            err(format!("panel {title:?}: type {ty:?} is not a core panel"));
        }
        match p["id"].as_u64() {
            Some(id) if ids.insert(id) => {}
            id => err(format!("panel {title:?}: id {id:?} missing or repeated")),
        }
        let g = &p["gridPos"];
        let pos: Vec<Option<i64>> = ["h", "w", "x", "y"].iter().map(|k| g[k].as_i64()).collect();
        let [Some(h), Some(w), Some(x), Some(y)] = pos[..] else {
            err(format!("panel {title:?}: gridPos needs integer h, w, x, y"));
            continue;
        };
        if h < 1 || w < 1 || x < 0 || y < 0 || x + w > 24 {
            err(format!("panel {title:?}: gridPos {g} is off the 24-column grid"));
        }
        for (other, ox, oy, ow, oh) in &cells {
            if x < ox + ow && *ox < x + w && y < oy + oh && *oy < y + h {
                err(format!("panels {title:?} and {other:?} overlap"));
            }
        }
        cells.push((title.clone(), x, y, w, h));
        if ty == "row" {
            if !p["collapsed"].is_boolean() || !p["panels"].is_array() {
                err(format!("row {title:?} needs collapsed (bool) and panels (array)"));
            }
            continue;
        }
        if title.is_empty() {
            err("a panel has no title".into());
        }
        let ds_ref = serde_json::json!({"type": "prometheus", "uid": "${datasource}"});
        if p["datasource"] != ds_ref {
            err(format!("panel {title:?}: datasource must be {ds_ref}"));
        }
        if !(p["fieldConfig"]["defaults"].is_object() && p["fieldConfig"]["overrides"].is_array()) {
            err(format!("panel {title:?}: fieldConfig needs defaults (object) and overrides (array)"));
        }
        if !p["options"].is_object() {
            err(format!("panel {title:?}: options must be an object"));
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            err(format!("panel {title:?}: no targets"));
        }
        let mut refs = BTreeSet::new();
        for t in &targets {
            if !t["refId"].as_str().is_some_and(|r| refs.insert(r.to_owned())) {
                err(format!("panel {title:?}: target refId missing or repeated"));
            }
            if t["datasource"] != ds_ref {
                err(format!("panel {title:?}: target datasource must be {ds_ref}"));
            }
            let expr = t["expr"].as_str().unwrap_or_default();
            if expr.trim().is_empty() {
                err(format!("panel {title:?}: target without expr"));
            }
            for var in variables_used(expr) {
                if !var.starts_with("__") && !vars.contains_key(&var) {
                    err(format!("panel {title:?}: ${var} is not a dashboard variable"));
                }
            }
        }
    }
    errs
}

/// `$name` and `${name}` references in a query.
fn variables_used(expr: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find('$') {
        rest = &rest[i + 1..];
        let body = rest.strip_prefix('{').unwrap_or(rest);
        let name: String = body.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

#[test]
fn dashboards_fit_grafanas_model_for_their_schema_version() {
    let mut errs = Vec::new();
    for rel in DASHBOARDS {
        errs.extend(check_grafana_model(rel, &dashboard(rel)));
    }
    assert!(errs.is_empty(), "dashboard errors:\n{}", errs.join("\n"));

    let rule = dashboard(DASHBOARDS[1]);
    assert!(
        rule["templating"]["list"].as_array().expect("list").iter().any(|v| v["name"] == "rule"),
        "the per-rule dashboard needs a `rule` variable"
    );
}

/// The model check itself catches what it should (it is not a test that cannot fail).
#[test]
fn grafana_model_check_rejects_broken_dashboards() {
    let good = dashboard(DASHBOARDS[0]);
    assert!(check_grafana_model("good", &good).is_empty());
    let mut cases: Vec<(&str, Json)> = Vec::new();
    let mut d = good.clone();
    d["panels"][1]["datasource"] = Json::String("Prometheus".into());
    cases.push(("datasource must be", d));
    let mut d = good.clone();
    d["panels"][1]["gridPos"]["x"] = 20.into();
    cases.push(("off the 24-column grid", d));
    let mut d = good.clone();
    d["panels"][2]["gridPos"] = d["panels"][1]["gridPos"].clone();
    cases.push(("overlap", d));
    let mut d = good.clone();
    d["panels"][1]["targets"][0]["expr"] = "rate(cepheus_events_total{stream=\"$stream\"}[1m])".into();
    cases.push(("$stream is not a dashboard variable", d));
    let mut d = good.clone();
    d["schemaVersion"] = 16.into();
    cases.push(("schemaVersion", d));
    let mut d = good;
    d.as_object_mut().expect("object").remove("uid");
    cases.push(("uid", d));
    for (want, dash) in cases {
        let errs = check_grafana_model("broken", &dash);
        assert!(errs.iter().any(|e| e.contains(want)), "expected an error containing {want:?}, got {errs:?}");
    }
}

#[test]
fn provisioning_points_grafana_at_the_dashboards() {
    let ds: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("dashboards/grafana/provisioning/datasources/cepheus.yml")).expect("YAML");
    assert_eq!(ds["apiVersion"].as_i64(), Some(1));
    let sources = ds["datasources"].as_sequence().expect("datasources");
    assert_eq!(sources.len(), 1);
    assert_eq!(sources[0]["type"].as_str(), Some("prometheus"));
    let uid = sources[0]["uid"].as_str().expect("datasource uid");
    // The dashboards' datasource variable defaults to the provisioned source.
    for rel in DASHBOARDS {
        let dash = dashboard(rel);
        let var = dash["templating"]["list"].as_array().expect("list").iter().find(|v| v["name"] == "datasource");
        assert_eq!(var.map(|v| &v["current"]["value"]), Some(&Json::String(uid.into())), "{rel}");
    }

    let prov: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("dashboards/grafana/provisioning/dashboards/cepheus.yml")).expect("YAML");
    assert_eq!(prov["apiVersion"].as_i64(), Some(1));
    let path = prov["providers"][0]["options"]["path"].as_str().expect("provider path");
    assert_eq!(prov["providers"][0]["type"].as_str(), Some("file"));
    // compose mounts dashboards/grafana/dashboards at the provider's path.
    let compose = read("deploy/compose/compose.yaml");
    assert!(
        compose.contains(&format!("../../dashboards/grafana/dashboards:{path}:ro")),
        "deploy/compose/compose.yaml must mount the dashboards at {path}"
    );
}

#[test]
fn metric_lexer_names_only_metrics() {
    let names = metric_names(
        r#"histogram_quantile(0.99, sum by (sink, le) (rate(cepheus_alert_delivery_seconds_bucket{sink=~"a|b", x="}"}[5m] offset 1m)))
           / on (instance) group_left (rule) max without (job) (cepheus_outbox_depth) and bool up > 1e3"#,
    );
    let want: BTreeSet<String> =
        ["cepheus_alert_delivery_seconds_bucket", "cepheus_outbox_depth", "up"].iter().map(|s| s.to_string()).collect();
    assert_eq!(names, want);
}

#[test]
fn dashboards_and_alerts_use_only_contract_metrics() {
    let contract = contract();
    let mut used = BTreeSet::new();
    let mut errs = Vec::new();
    for e in dashboard_exprs("card_testing").into_iter().chain(alert_exprs()) {
        let names = metric_names(&e.promql);
        if names.is_empty() {
            errs.push(format!("{}: reads no metric: {}", e.origin, e.promql));
        }
        for n in names {
            match family(&n, &contract) {
                Some(f) => {
                    used.insert(f.to_owned());
                }
                None if n == "up" => {}
                None => errs.push(format!("{}: {n} is not in dashboards/metrics.tsv", e.origin)),
            }
        }
    }
    assert!(errs.is_empty(), "{}", errs.join("\n"));
    // The overview shows every metric of the contract.
    let unused: Vec<_> = contract.keys().filter(|k| !used.contains(*k)).collect();
    assert!(unused.is_empty(), "contract metrics shown nowhere: {unused:?}");
}

/// Every expression goes through Prometheus's own parser (an instant query on
/// an empty server: a syntax or type error comes back as `bad_data`).
#[test]
fn every_expression_parses_in_prometheus() {
    let prom = Prometheus::start("global:\n  scrape_interval: 15s\nscrape_configs: []\n", &[]);
    // The check can fail: a broken expression is rejected.
    let bad = prom.query("sum by (stream (rate(cepheus_events_total[1m]))");
    assert!(bad.is_err(), "Prometheus accepted a broken expression");
    let exprs: Vec<Expr> = dashboard_exprs("card_testing").into_iter().chain(alert_exprs()).collect();
    assert!(exprs.len() > 30, "only {} expressions found", exprs.len());
    let errs: Vec<String> = exprs
        .iter()
        .filter_map(|e| prom.query(&e.promql).err().map(|err| format!("{}: {err}\n    {}", e.origin, e.promql)))
        .collect();
    assert!(errs.is_empty(), "expressions Prometheus rejects:\n{}", errs.join("\n"));
    eprintln!("{} expressions parsed by Prometheus", exprs.len());
}
