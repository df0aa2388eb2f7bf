//! The web console (services/console/):
//! - `console_bundle_is_current`: its TypeScript type-checks, its unit tests
//!   pass, and the committed dist/ (embedded in the binary) is what the
//!   sources build to. Needs Node.js; skipped with a notice without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn console_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("console")
}

fn have(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

/// `npm ci` once, when node_modules is missing (the npm registry is one of
/// the reachable registries; the lock file pins every package).
fn npm_ci() {
    let dir = console_dir();
    if dir.join("node_modules/.package-lock.json").exists() {
        return;
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        .output()
        .expect("run npm ci in services/console");
    assert!(out.status.success(), "npm ci in services/console failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn console_bundle_is_current() {
    if !have("node") || !have("npm") {
        eprintln!("SKIPPED console_bundle_is_current: Node.js is not installed (apt-get install nodejs npm), so the committed services/console/dist is not checked against its sources");
        return;
    }
    npm_ci();
    let out = Command::new("npm").args(["run", "--silent", "check"]).current_dir(console_dir()).output().expect("run npm run check");
    assert!(
        out.status.success(),
        "services/console: `npm run check` failed (type errors, unit tests, or dist/ out of date: run `npm run build` there and commit dist/):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
