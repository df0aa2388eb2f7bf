// Overview for operators: throughput, lag, watermarks, checkpoints, sinks
// and their outbox, from /status, /checkpoints and /metrics; admins take
// checkpoints and savepoints here.

import { ApiError, get, post } from "../api";
import { Ctx, every } from "../app";
import { perMinute, scrape, Scrape, sumBy } from "../metrics";
import { applyRole, clear, fmtRate, fmtValue, h, jsonBlock, say } from "../ui";

function kvTable(id: string, head: string[], rows: (string | number)[][]): HTMLElement {
  return h(
    "table",
    { id, class: "kv" },
    h("tr", {}, ...head.map((c) => h("th", {}, c))),
    ...(rows.length ? rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, String(c))))) : [h("tr", {}, h("td", { colspan: head.length, class: "muted" }, "none yet"))]),
  );
}

function byLabel(samples: Scrape["samples"], name: string, label: string): Map<string, number> {
  return sumBy(samples, name, label);
}

export async function overviewPage(ctx: Ctx): Promise<void> {
  const status = h("p", { class: "status", id: "overview-status" });
  const streams = h("section", { id: "ov-streams" });
  const sinks = h("section", { id: "ov-sinks" });
  const checkpoints = h("section", { id: "ov-checkpoints" });
  const engine = h("section", { id: "ov-engine" });
  const spName = h("input", { id: "savepoint-name", placeholder: "savepoint name", "data-role": "admin" });
  const act = async (label: string, fn: () => Promise<unknown>) => {
    try {
      const r = await fn();
      say(status, `${label}: ${JSON.stringify(r)}`);
    } catch (e) {
      say(status, `${label}: ${e instanceof ApiError ? e.message : e}`, true);
    }
  };
  ctx.main.append(
    h("div", { class: "title" }, h("h1", {}, "Overview")),
    h(
      "div",
      { class: "toolbar" },
      h("button", { id: "take-checkpoint", "data-role": "admin", onclick: () => act("checkpoint", () => post("/checkpoints")) }, "Take checkpoint"),
      spName,
      h("button", { id: "take-savepoint", "data-role": "admin", onclick: () => act("savepoint", () => post("/savepoints", { name: spName.value.trim() })) }, "Take savepoint"),
    ),
    status,
    h("div", { class: "grid" }, streams, sinks, checkpoints),
    engine,
  );
  applyRole(ctx.main, ctx.role);

  let prev: Scrape | null = null;
  every(ctx, 2000, async () => {
    const [cur, st, cps] = await Promise.all([
      scrape().catch((e) => (say(status, String(e), true), null)),
      get("/status").catch((e) => ({ error: e instanceof ApiError ? e.message : String(e) })),
      get("/checkpoints").catch((e) => ({ error: e instanceof ApiError ? e.message : String(e) })),
    ]);
    if (!ctx.alive()) return;
    if (cur) {
      const rate = perMinute(prev, cur, "cepheus_events_total", "stream");
      const malformed = perMinute(prev, cur, "cepheus_events_malformed_total", "stream");
      const lag = byLabel(cur.samples, "cepheus_consumer_lag", "stream");
      const wm = byLabel(cur.samples, "cepheus_watermark_lag_seconds", "stream");
      const total = byLabel(cur.samples, "cepheus_events_total", "stream");
      const names = [...new Set([...total.keys(), ...lag.keys(), ...wm.keys()])].sort();
      clear(
        streams,
        h("h2", {}, "Streams"),
        kvTable("streams-table", ["stream", "events", "events/s", "malformed/min", "consumer lag", "watermark lag s"],
          names.map((s) => [s, total.get(s) ?? 0, prev ? fmtRate((rate.get(s) ?? 0) / 60) : "–", fmtRate(malformed.get(s)), lag.get(s) ?? "–", wm.has(s) ? (wm.get(s) as number).toFixed(1) : "–"])),
      );
      const delivered = cur.samples.filter((s) => s.name === "cepheus_alerts_delivered_total");
      const sinkNames = [...new Set(delivered.map((s) => s.labels.sink))].sort();
      const dead = byLabel(cur.samples, "cepheus_alerts_dead_letter_total", "sink");
      const outbox = byLabel(cur.samples, "cepheus_outbox_depth", "").get("");
      clear(
        sinks,
        h("h2", {}, "Sinks"),
        h("p", {}, "outbox depth: ", h("b", { id: "outbox-depth" }, outbox === undefined ? "–" : String(outbox))),
        kvTable("sinks-table", ["sink", "delivered", "failed", "dead letters"],
          sinkNames.map((k) => {
            const of = (o: string) => delivered.filter((s) => s.labels.sink === k && s.labels.outcome === o).reduce((a, s) => a + s.value, 0);
            return [k, of("ok") + of("success"), delivered.filter((s) => s.labels.sink === k && !["ok", "success"].includes(s.labels.outcome)).reduce((a, s) => a + s.value, 0), dead.get(k) ?? 0];
          })),
      );
      prev = cur;
      const lastOk = byLabel(cur.samples, "cepheus_checkpoint_last_success_timestamp_seconds", "").get("");
      const outcomes = byLabel(cur.samples, "cepheus_checkpoints_total", "outcome");
      clear(
        checkpoints,
        h("h2", {}, "Checkpoints"),
        h("p", {}, "last success: ", h("b", { id: "checkpoint-last" }, lastOk ? new Date(lastOk * 1000).toISOString() : "–"), " ",
          ...[...outcomes].map(([o, n]) => h("span", { class: "badge" }, `${o}: ${n}`))),
        Array.isArray(cps) ? kvTable("checkpoints-table", ["checkpoint"], cps.slice(-5).map((c) => [fmtValue(c)])) : jsonBlock(cps),
      );
    }
    const parts: (string | number)[][] = [];
    for (const s of (st as any)?.engine?.streams ?? []) {
      for (const p of s.partitions ?? []) {
        const wm = typeof p.watermark === "number" && p.watermark > -8e15 && p.watermark < 8e15 ? new Date(p.watermark).toISOString() : fmtValue(p.watermark);
        parts.push([s.name ?? p.stream, p.partition, p.next_offset ?? "", p.end_offset ?? "", wm, p.idle ? "idle" : ""]);
      }
    }
    clear(
      engine,
      h("h2", {}, "Partitions"),
      kvTable("partitions-table", ["stream", "partition", "next offset", "end offset", "watermark", ""], parts),
      h("h2", {}, "Engine status"),
      jsonBlock(st),
    );
  });
}
