// Unit tests of the console's pure parts (run by `npm test`, which bundles
// this file with esbuild and runs it with node's test runner).
import { test } from "node:test";
import assert from "node:assert/strict";
import { byteToIndex, renderHighlighted, tokenize } from "../src/highlight";
import { SseParser } from "../src/sse";
import { parseMetrics, perMinute, sumBy } from "../src/metrics";
import { keyQuery } from "../src/pages/alerts";
import { partitionFields } from "../src/pages/state";
import { atLeast } from "../src/api";

test("lexer classes keywords, durations, strings, comments, case-insensitively", () => {
  const src = 'RULE r { within 10m -- note\n message "a {b}" }';
  const kinds = tokenize(src).filter((t) => t.kind !== "space").map((t) => [t.kind, src.slice(t.start, t.end)]);
  assert.deepEqual(kinds, [
    ["keyword", "RULE"], ["ident", "r"], ["op", "{"], ["keyword", "within"], ["duration", "10m"],
    ["comment", "-- note"], ["keyword", "message"], ["string", '"a {b}"'], ["op", "}"],
  ]);
});

test("the lexer covers every character of any text, also unfinished ones", () => {
  for (const src of ['"open string', "a ->> b{2,} !c", "x ≥ 1 ☃ y", ""]) {
    const toks = tokenize(src);
    assert.equal(toks.map((t) => src.slice(t.start, t.end)).join(""), src);
  }
});

test("byte offsets of the API map to string indexes past multi-byte characters", () => {
  const src = 'é "☃" amout';
  const byte = Buffer.from(src.slice(0, src.indexOf("amout")), "utf8").length;
  assert.equal(byteToIndex(src, byte), src.indexOf("amout"));
  assert.equal(byteToIndex("😀x", 4), 2);
});

test("a diagnostic span wraps exactly the characters it covers", () => {
  const src = "small as amout < 2";
  const html = renderHighlighted(src, [{ start: 9, end: 14, cls: "diag diag-error", title: "unknown <field>", id: 0 }]);
  assert.match(html, /<span class="diag diag-error" data-diag="0" title="unknown &lt;field&gt;"><span class="tok-ident">amout<\/span><\/span>/);
  // An empty span at the end still shows.
  assert.match(renderHighlighted("rule r {", [{ start: 8, end: 8, cls: "diag", title: "", id: 1 }]), /data-diag="1"/);
  assert.doesNotMatch(renderHighlighted("<b>", []), /<b>/);
});

test("SSE parser joins chunks, multi-line data and skips comments", () => {
  const p = new SseParser();
  assert.deepEqual(p.push("event: alert\nid: 1\nda"), []);
  assert.deepEqual(p.push("ta: {\"a\"\n"), []);
  assert.deepEqual(p.push(":keep-alive\ndata: :1}\n\n"), [{ event: "alert", id: "1", data: '{"a"\n:1}' }]);
  assert.deepEqual(p.push("data: x\r\n\r\n"), [{ event: "message", id: "1", data: "x" }]);
});

test("metrics: parse labels and rates per minute between scrapes", () => {
  const a = parseMetrics('# HELP x\ncepheus_rule_matches_total{rule="r1"} 10\ncepheus_rule_matches_total{rule="r2"} 5\n');
  const b = parseMetrics('cepheus_rule_matches_total{rule="r1"} 40\ncepheus_rule_matches_total{rule="r2"} 5\ncepheus_outbox_depth 3\n');
  const r = perMinute({ at: 0, samples: a }, { at: 30000, samples: b }, "cepheus_rule_matches_total", "rule");
  assert.equal(r.get("r1"), 60);
  assert.equal(r.get("r2"), 0);
  assert.equal(sumBy(b, "cepheus_outbox_depth", "").get(""), 3);
  assert.deepEqual(parseMetrics('m{a="x\\"y",b="z"} 1e3')[0].labels, { a: 'x"y', b: "z" });
});

test("key filters and partition fields", () => {
  assert.deepEqual(keyQuery("card_id=c-17, merchant = m1"), [["key.card_id", "c-17"], ["key.merchant", "m1"]]);
  assert.equal(typeof keyQuery("card_id"), "string");
  assert.deepEqual(partitionFields("rule r {\n -- partition by nope\n partition by card_id, merchant\n pattern a\n}"), ["card_id", "merchant"]);
  assert.deepEqual(partitionFields("rule r { from s pattern a }"), []);
});

test("roles are ordered", () => {
  assert.ok(atLeast("admin", "analyst"));
  assert.ok(!atLeast("viewer", "analyst"));
  assert.ok(!atLeast(null, "viewer"));
});
