// End-to-end test of the console in a real headless Chromium (Debian's),
// driven by playwright-core, against a running `cepheus serve`. Run by
// services/tests/console_e2e.rs, which starts the server and passes:
//   CEPHEUS_URL, CEPHEUS_ANALYST_TOKEN, CEPHEUS_VIEWER_TOKEN, CEPHEUS_EVENTS
//   (an NDJSON file), CEPHEUS_SCREENSHOTS (a folder), CHROMIUM (the browser).
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`set ${k}`); })();
const BASE = env("CEPHEUS_URL");
const ANALYST = env("CEPHEUS_ANALYST_TOKEN");
const VIEWER = env("CEPHEUS_VIEWER_TOKEN");
const EVENTS = env("CEPHEUS_EVENTS");
const SHOTS = env("CEPHEUS_SCREENSHOTS");
const STEP_MS = 15000;
mkdirSync(SHOTS, { recursive: true });

// The rule of examples/fraud.cep with a typo on line 6 (`amout`).
const RULE_BAD = `rule card_testing {
  severity high
  from transactions
  partition by card_id
  pattern small{3,} -> big
  define small as amout < 2.00,
    big as amount > 500 and country != small[0].country
  within 10m
  after match skip past last event
  emit card_id, count(small) as tries, big.amount as amount
  message "Card {card_id}: {tries} tiny charges, then {amount}"
}
`;
const RULE_GOOD = RULE_BAD.replace("amout", "amount");

const steps = [];
const step = async (name, fn) => {
  const t = Date.now();
  try {
    await fn();
    steps.push(`ok   ${name} (${Date.now() - t} ms)`);
    console.log(`ok   ${name} (${Date.now() - t} ms)`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    throw e;
  }
};

const browser = await chromium.launch({ executablePath: env("CHROMIUM", "/usr/bin/chromium"), args: ["--no-sandbox", "--disable-dev-shm-usage"] });
const shot = (page, name) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(STEP_MS);
  const consoleErrors = [];
  page.on("pageerror", (e) => consoleErrors.push(String(e)));

  await step("the console loads and takes an analyst token", async () => {
    await page.goto(`${BASE}/`);
    await page.fill("#token", ANALYST);
    await page.click("#token-use");
    await page.waitForFunction(() => document.querySelector("#role")?.textContent === "analyst");
    await page.waitForSelector("#rules-table");
    await shot(page, "01-rules-empty");
  });

  await step("a mistake is marked at its span as the rule is typed", async () => {
    await page.goto(`${BASE}/#/editor`);
    await page.fill("#source", "");
    // Type the last part by keystroke, so the debounced check runs on input.
    const cut = RULE_BAD.indexOf("within");
    await page.fill("#source", RULE_BAD.slice(0, cut));
    await page.focus("#source");
    await page.keyboard.press("Control+End");
    await page.keyboard.type(RULE_BAD.slice(cut), { delay: 2 });
    // Earlier checks of the half-typed text may list other errors; the last
    // one (debounced, stale answers dropped) lists just the typo.
    await page.waitForFunction(() => {
      const errs = [...document.querySelectorAll("#diagnostics li.level-error")];
      return errs.length === 1 && errs[0].dataset.code === "unknown-field";
    });
    const item = page.locator("#diagnostics li.level-error").first();
    assert.equal(await item.getAttribute("data-code"), "unknown-field");
    assert.equal(await item.getAttribute("data-line"), "6");
    assert.equal(await item.getAttribute("data-column"), String(RULE_BAD.split("\n")[5].indexOf("amout") + 1));
    assert.match(await item.textContent(), /amout/);
    // The underline in the editor covers exactly the misspelt name.
    const marked = await page.$$eval("#highlight .diag-error", (els) => els.map((e) => e.textContent).join(""));
    assert.equal(marked, "amout");
    assert.match(await page.textContent("#validity"), /error/);
    await shot(page, "02-editor-diagnostic");
  });

  await step("fixed, it checks clean and a backtest over a file gives the expected alert", async () => {
    await page.fill("#source", RULE_GOOD);
    await page.waitForFunction(() => /valid: rule card_testing/.test(document.querySelector("#validity")?.textContent ?? ""));
    assert.equal(await page.locator("#highlight .diag-error").count(), 0);
    await page.setInputFiles("#events-file", EVENTS);
    await page.waitForFunction(() => /lines loaded/.test(document.querySelector("#backtest-status")?.textContent ?? ""));
    await page.click("#run-backtest");
    await page.waitForSelector("#backtest-alerts tr.alert");
    const rows = page.locator("#backtest-alerts tr.alert");
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /card_id=c-17/);
    assert.match(await page.textContent("#backtest-status"), /1 alert, 1 malformed line/);
    await rows.first().click();
    await page.waitForSelector("#backtest-result .alert-detail");
    assert.match(await page.textContent("#backtest-result [data-var=small] h5"), /small \(3\)/);
    assert.match(await page.textContent("#backtest-result [data-var=big]"), /812/);
    await shot(page, "03-editor-backtest");
  });

  await step("saved disabled, then enabled from the rules list", async () => {
    await page.click("#save");
    await page.waitForFunction(() => /saved card_testing as v1/.test(document.querySelector("#editor-status")?.textContent ?? ""));
    await page.goto(`${BASE}/#/rules`);
    const row = page.locator('#rules-table tr[data-rule="card_testing"]');
    await row.locator(".state-disabled").waitFor();
    await row.locator("button.enable").click();
    await row.locator(".state-enabled").waitFor();
    await shot(page, "04-rules");
  });

  await step("events posted to the stream give live alerts on the alerts page", async () => {
    await page.goto(`${BASE}/#/alerts`);
    await page.waitForFunction(() => document.querySelector("#live-state")?.textContent === "live");
    // A late event of another card moves the watermark past the incident.
    const body = readFileSync(EVENTS, "utf8") + '{"id":"t9","card_id":"c-00","amount":5.0,"country":"FR","merchant":"m9","ts":"2024-05-01T11:00:00Z"}\n';
    const r = await fetch(`${BASE}/streams/transactions/events`, { method: "POST", headers: { Authorization: `Bearer ${ANALYST}`, "Content-Type": "application/x-ndjson" }, body });
    assert.equal(r.status, 200, await r.text());
    const row = page.locator('#alerts-body tr[data-rule="card_testing"]');
    await row.first().waitFor({ timeout: 20000 });
    assert.match(await row.first().textContent(), /Card c-17: 3 tiny charges, then 812/);
    await row.first().click();
    await page.waitForSelector("#alert-detail [data-var=big]");
    await shot(page, "05-alerts-live");
    // Filtering by another severity hides it; by its own shows it again.
    await page.selectOption("#filter-severity", "low");
    await page.waitForFunction(() => document.querySelectorAll("#alerts-body tr.alert").length === 0);
    await page.selectOption("#filter-severity", "high");
    await row.first().waitFor();
  });

  await step("state for a key and the overview show", async () => {
    // Two small charges of card c-55 (and a later event that moves the
    // watermark past them) leave a partial match of card_testing.
    const more = [
      { id: "s1", card_id: "c-55", amount: 1.0, country: "FR", merchant: "m1", ts: "2024-05-01T11:00:10Z" },
      { id: "s2", card_id: "c-55", amount: 0.5, country: "FR", merchant: "m1", ts: "2024-05-01T11:00:20Z" },
      { id: "w1", card_id: "c-00", amount: 5.0, country: "FR", merchant: "m9", ts: "2024-05-01T11:01:00Z" },
    ].map((e) => JSON.stringify(e)).join("\n");
    const r = await fetch(`${BASE}/streams/transactions/events`, { method: "POST", headers: { Authorization: `Bearer ${ANALYST}` }, body: more });
    assert.equal(r.status, 200, await r.text());
    await page.goto(`${BASE}/#/state/card_testing`);
    await page.fill('#state-fields input[data-field="card_id"]', "c-55");
    const deadline = Date.now() + STEP_MS;
    for (;;) {
      await page.click("#state-query");
      await page.waitForFunction(() => document.querySelector("#state-result pre") || document.querySelector("#state-status.error"));
      const err = await page.locator("#state-status.error").count();
      assert.equal(err, 0, `state query failed: ${await page.textContent("#state-status")}`);
      if (/"id": "s2"/.test(await page.textContent("#state-result pre"))) break;
      assert.ok(Date.now() < deadline, `no partial match of c-55 in ${await page.textContent("#state-result pre")}`);
      await page.waitForTimeout(200);
    }
    await shot(page, "06-state");
    await page.goto(`${BASE}/#/overview`);
    await page.waitForSelector("#streams-table");
    await page.waitForSelector("#ov-engine pre");
    assert.match(await page.textContent("#ov-engine pre"), /transactions/);
    // Checkpoints need the admin role: disabled for an analyst.
    assert.equal(await page.isDisabled("#take-checkpoint"), true);
    await shot(page, "07-overview");
  });

  await step("a viewer sees rules but cannot edit; the server refuses too", async () => {
    const vctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const vpage = await vctx.newPage();
    vpage.setDefaultTimeout(STEP_MS);
    await vpage.goto(`${BASE}/`);
    await vpage.fill("#token", VIEWER);
    await vpage.click("#token-use");
    await vpage.waitForFunction(() => document.querySelector("#role")?.textContent === "viewer");
    const row = vpage.locator('#rules-table tr[data-rule="card_testing"]');
    await row.waitFor();
    assert.equal(await row.locator("button.disable").isDisabled(), true);
    assert.equal(await vpage.isDisabled("#new-rule"), true);
    await vpage.goto(`${BASE}/#/editor/card_testing`);
    await vpage.waitForFunction(() => /card_testing/.test(document.querySelector("#source")?.value ?? ""));
    assert.equal(await vpage.$eval("#source", (t) => t.readOnly), true);
    assert.equal(await vpage.isDisabled("#save"), true);
    assert.equal(await vpage.isDisabled("#run-backtest"), true);
    await shot(vpage, "08-viewer-editor");
    const r = await fetch(`${BASE}/rules/card_testing/disable`, { method: "POST", headers: { Authorization: `Bearer ${VIEWER}` } });
    assert.equal(r.status, 403);
    await vctx.close();
  });

  assert.deepEqual(consoleErrors, [], "the page threw");
} catch (e) {
  failed = true;
} finally {
  await browser.close();
}
console.log(`screenshots in ${SHOTS}`);
process.exit(failed ? 1 : 0);
