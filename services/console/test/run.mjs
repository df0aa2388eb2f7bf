// Bundles test/unit.test.ts for node and runs it with node's test runner.
import * as esbuild from "esbuild";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = mkdtempSync(join(tmpdir(), "cepheus-console-test-"));
await esbuild.build({ entryPoints: [join(here, "unit.test.ts")], bundle: true, platform: "node", format: "esm", outfile: join(out, "unit.test.mjs"), logLevel: "error" });
const r = spawnSync(process.execPath, ["--test", join(out, "unit.test.mjs")], { stdio: "inherit" });
rmSync(out, { recursive: true, force: true });
process.exit(r.status ?? 1);
