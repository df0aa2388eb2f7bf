//! The deployment files in `deploy/`, checked by real validators: the
//! Kubernetes manifests against the API's JSON schemas (`kubernetes-validate`),
//! the compose file against the compose specification (the `docker-compose` v2
//! binary's `config`), Alertmanager's config with `amtool`; plus the wiring
//! between them (probes on the service's endpoints, selectors, mounts, the
//! ConfigMap equal to `deploy/config/cluster.toml`) and the Dockerfile building
//! the README's binary. There is no Docker engine here: the image is not built.
//!
//! The validators come from PyPI into a private venv (`deploy/ci/ops-tools.sh`,
//! run on demand). `CEPHEUS_SKIP_OPS_VALIDATORS=1` skips them, loudly.

mod ops_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ops_support::*;
use serde_json::Value as Json;

/// The venv's bin folder, installing the validators the first time; `None`
/// when skipped.
fn validators() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        if std::env::var("CEPHEUS_SKIP_OPS_VALIDATORS").is_ok_and(|v| v == "1") {
            eprintln!("########## CEPHEUS_SKIP_OPS_VALIDATORS=1: schema validators SKIPPED ##########");
            return None;
        }
        let out = Command::new("bash")
            .arg(repo_root().join("deploy/ci/ops-tools.sh"))
            .output()
            .expect("running deploy/ci/ops-tools.sh");
        assert!(
            out.status.success(),
            "deploy/ci/ops-tools.sh could not install the validators from PyPI \
             (set CEPHEUS_SKIP_OPS_VALIDATORS=1 to skip them):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
    })
    .as_deref()
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", bin.display()))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn yaml_docs(rel: &str) -> Vec<serde_yaml_ng::Value> {
    let src = read(rel);
    serde_yaml_ng::Deserializer::from_str(&src)
        .map(|d| serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{rel}: {e}")))
        .collect()
}

const K8S: [&str; 5] = [
    "deploy/k8s/configmap.yaml",
    "deploy/k8s/service.yaml",
    "deploy/k8s/statefulset.yaml",
    "deploy/k8s/pdb.yaml",
    "deploy/k8s/hpa.yaml",
];

#[test]
fn kubernetes_manifests_validate_against_the_api_schemas() {
    let Some(bin) = validators() else { return };
    let kv = bin.join("kubernetes-validate");
    for version in ["1.30.0", "1.37.0"] {
        let mut args = vec!["--strict", "-k", version];
        args.extend(K8S);
        let out = run(&kv, &args);
        assert!(out.status.success(), "kubernetes-validate -k {version}:\n{}", text(&out));
    }
    // The validator rejects a misspelt field (so the check can fail).
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, read("deploy/k8s/statefulset.yaml").replace("readinessProbe", "readinesProbe"))
        .expect("write");
    let out = run(&kv, &["--strict", bad.to_str().expect("utf-8 path")]);
    assert!(!out.status.success(), "a misspelt field passed:\n{}", text(&out));
}

/// The manifests fit together: the kustomization lists them, selectors match the
/// pods, probes use the service's health endpoints on the declared port, the HPA
/// scales the StatefulSet, and the ConfigMap is `deploy/config/cluster.toml`.
#[test]
fn kubernetes_manifests_are_wired_together() {
    let kust = yaml_docs("deploy/k8s/kustomization.yaml").remove(0);
    let listed: Vec<String> = kust["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| format!("deploy/k8s/{}", r.as_str().expect("string")))
        .collect();
    assert_eq!(listed, K8S, "kustomization.yaml must list every manifest");

    let docs: Vec<serde_yaml_ng::Value> = K8S.iter().flat_map(|f| yaml_docs(f)).collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(kind) && d["metadata"]["name"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("no {kind} {name}"))
    };
    let sts = find("StatefulSet", "cepheus");
    let pod_labels = &sts["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&sts["spec"]["selector"]["matchLabels"], pod_labels);
    assert_eq!(&find("PodDisruptionBudget", "cepheus")["spec"]["selector"]["matchLabels"], pod_labels);
    for svc in ["cepheus", "cepheus-headless"] {
        assert_eq!(&find("Service", svc)["spec"]["selector"], pod_labels, "Service {svc} selects the pods");
    }
    assert_eq!(sts["spec"]["serviceName"].as_str(), Some("cepheus-headless"));

    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    let http_port = c["ports"]
        .as_sequence()
        .expect("ports")
        .iter()
        .find(|p| p["name"].as_str() == Some("http"))
        .and_then(|p| p["containerPort"].as_u64())
        .expect("an http port");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"].as_str(), Some("/healthz"));
    assert_eq!(c["readinessProbe"]["httpGet"]["path"].as_str(), Some("/readyz"));
    assert_eq!(c["livenessProbe"]["httpGet"]["port"].as_str(), Some("http"));
    assert_eq!(c["readinessProbe"]["httpGet"]["port"].as_str(), Some("http"));
    let env_id = c["env"].as_sequence().expect("env").iter().any(|e| {
        e["name"].as_str() == Some("CEPHEUS__ENGINE__INSTANCE_ID")
            && e["valueFrom"]["fieldRef"]["fieldPath"].as_str() == Some("metadata.name")
    });
    assert!(env_id, "each pod's instance id must be its name");
    assert_eq!(c["args"][2].as_str(), Some("/etc/cepheus/cepheus.toml"));

    let hpa = find("HorizontalPodAutoscaler", "cepheus");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"].as_str(), Some("StatefulSet"));
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"].as_str(), Some("cepheus"));

    let cm = find("ConfigMap", "cepheus-config");
    let cluster = read("deploy/config/cluster.toml");
    assert_eq!(cm["data"]["cepheus.toml"].as_str(), Some(cluster.as_str()), "ConfigMap != deploy/config/cluster.toml");
    // The service listens where the probes and Services point.
    let cfg: toml::Value = toml::from_str(&cluster).expect("cluster.toml");
    let listen = cfg["server"]["listen"].as_str().expect("server.listen");
    assert!(listen.ends_with(&format!(":{http_port}")), "server.listen {listen} vs containerPort {http_port}");
}

#[test]
fn compose_file_validates_against_the_compose_spec() {
    let Some(bin) = validators() else { return };
    let dc = bin.join("compose");
    let out = run(&dc, &["-f", "deploy/compose/compose.yaml", "config", "--format", "json"]);
    assert!(out.status.success(), "docker-compose config:\n{}", text(&out));
    let model: Json = serde_json::from_slice(&out.stdout).expect("compose config JSON");
    let services = model["services"].as_object().expect("services");
    for s in ["kafka", "cepheus-1", "cepheus-2", "prometheus", "alertmanager", "grafana"] {
        assert!(services.contains_key(s), "compose has no service {s}");
    }
    // Every bind mount's source exists in the repository.
    for (name, svc) in services {
        for v in svc["volumes"].as_array().into_iter().flatten() {
            if v["type"] == "bind" {
                let src = v["source"].as_str().expect("source");
                assert!(Path::new(src).exists(), "service {name} mounts {src}, which does not exist");
            }
        }
    }
    // Both instances are the image deploy/Dockerfile builds, each with its own id.
    for (i, s) in ["cepheus-1", "cepheus-2"].iter().enumerate() {
        let svc = &services[*s];
        assert_eq!(svc["build"]["dockerfile"], "deploy/Dockerfile", "{s}");
        assert_eq!(svc["environment"]["CEPHEUS__ENGINE__INSTANCE_ID"], *s);
        assert_eq!(svc["ports"][0]["published"], format!("{}", 8080 + i));
    }
    // Prometheus scrapes exactly the two instances on the port they listen on.
    let prom = yaml_docs("deploy/compose/prometheus.yml").remove(0);
    let targets: Vec<&str> = prom["scrape_configs"][0]["static_configs"][0]["targets"]
        .as_sequence()
        .expect("targets")
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    let cfg: toml::Value = toml::from_str(&read("deploy/compose/cepheus.toml")).expect("compose cepheus.toml");
    let port = cfg["server"]["listen"].as_str().and_then(|l| l.rsplit(':').next()).expect("server.listen");
    assert_eq!(targets, [format!("cepheus-1:{port}"), format!("cepheus-2:{port}")]);

    // The validator rejects an unknown key (so the check can fail).
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("compose.yaml");
    std::fs::write(&bad, "services:\n  a:\n    image: x\n    restart_policy: always\n").expect("write");
    let out = run(&dc, &["-f", bad.to_str().expect("utf-8"), "config", "--quiet"]);
    assert!(!out.status.success(), "an unknown compose key passed:\n{}", text(&out));
}

#[test]
fn alertmanager_and_prometheus_configs_of_compose_pass_their_checkers() {
    let out = run(Path::new("/usr/bin/amtool"), &["check-config", "deploy/compose/alertmanager.yml"]);
    assert!(out.status.success(), "amtool check-config:\n{}", text(&out));
    // Prometheus in compose sees the rules file beside its config: check it so.
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("prometheus.yml"), read("deploy/compose/prometheus.yml")).expect("write");
    std::fs::write(dir.path().join("cepheus-rules.yml"), read(ALERT_RULES)).expect("write");
    let cfg = dir.path().join("prometheus.yml");
    let out = run(Path::new("/usr/bin/promtool"), &["check", "config", cfg.to_str().expect("utf-8")]);
    assert!(out.status.success(), "promtool check config (compose):\n{}", text(&out));
}

/// The `cargo build` commands of a text: each line (of a shell block or a
/// Dockerfile RUN) that starts with `cargo build`, up to `&&` or the line end.
fn cargo_builds(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.trim().trim_start_matches("RUN ").trim())
        .filter(|l| l.starts_with("cargo build"))
        .map(|l| l.split("&&").next().unwrap_or(l).trim_end_matches('\\').split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn dockerfile_builds_the_binary_the_readme_builds() {
    let dockerfile = read("deploy/Dockerfile");
    let docker_builds = cargo_builds(&dockerfile);
    assert_eq!(docker_builds.len(), 1, "one cargo build in deploy/Dockerfile: {docker_builds:?}");
    let readme_builds = cargo_builds(&read("README.md"));
    assert!(!readme_builds.is_empty(), "README.md builds nothing");
    for b in &readme_builds {
        assert_eq!(b, &docker_builds[0], "README.md and deploy/Dockerfile build differently");
    }
    // That command builds the `cepheus` binary of the services crate.
    assert_eq!(docker_builds[0], "cargo build --release -p cepheus");
    let services: toml::Value = toml::from_str(&read("services/Cargo.toml")).expect("services/Cargo.toml");
    assert_eq!(services["package"]["name"].as_str(), Some("cepheus"));
    assert!(dockerfile.contains("target/release/cepheus"), "the image must take target/release/cepheus");

    // Multi-stage: a build stage, and a runtime stage that copies from it.
    let froms: Vec<&str> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert!(froms.len() >= 2 && froms[0].ends_with(" AS build"), "multi-stage build expected: {froms:?}");
    assert!(dockerfile.contains("COPY --from=build "));
    // The toolchain image is at least the workspace's rust-version.
    let ws: toml::Value = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml");
    let msrv = ws["workspace"]["package"]["rust-version"].as_str().expect("rust-version");
    let image = froms[0].split_whitespace().nth(1).expect("image");
    let tag = image.strip_prefix("rust:").expect("a rust: image").split('-').next().expect("tag");
    let v = |s: &str| s.split('.').map(|p| p.parse::<u32>().expect("version")).collect::<Vec<_>>();
    assert!(v(tag) >= v(msrv), "{image} is older than rust-version {msrv}");
    // COPY sources exist; the default config listens on the exposed port.
    for l in dockerfile.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let src = l.split_whitespace().nth(1).expect("source");
        assert!(src == "." || repo_root().join(src).exists(), "COPY {src}: not in the repository");
    }
    let cfg: toml::Value = toml::from_str(&read("deploy/config/container.toml")).expect("container.toml");
    let port = cfg["server"]["listen"].as_str().and_then(|l| l.rsplit(':').next()).expect("listen");
    let expose = dockerfile.lines().find(|l| l.starts_with("EXPOSE ")).expect("EXPOSE");
    assert!(expose.split_whitespace().any(|p| p == port), "{expose} lacks the listen port {port}");
}

#[test]
fn config_examples_parse() {
    for rel in [
        "deploy/config/laptop.toml",
        "deploy/config/cluster.toml",
        "deploy/config/container.toml",
        "deploy/compose/cepheus.toml",
    ] {
        let cfg: toml::Value = toml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        for section in ["server", "engine", "streams"] {
            assert!(cfg.get(section).is_some(), "{rel}: no [{section}]");
        }
    }
}
