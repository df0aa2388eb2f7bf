// Rules: every stored rule with its state, version and rates; enable,
// disable, roll back. Polled every second, so a change made through another
// instance's API shows here within about a second.

import { ApiError, get, post, RuleVersion, StoredRule } from "../api";
import { Ctx, every } from "../app";
import { perMinute, scrape, Scrape } from "../metrics";
import { applyRole, clear, fmtRate, h, say } from "../ui";

export async function rulesPage(ctx: Ctx): Promise<void> {
  const status = h("p", { class: "status", id: "rules-status" });
  const body = h("tbody");
  const table = h(
    "table",
    { id: "rules-table" },
    h("thead", {}, h("tr", {}, ...["rule", "state", "version", "matches/min", "alerts/min", "stored", "actions"].map((c) => h("th", {}, c)))),
    body,
  );
  ctx.main.append(
    h("div", { class: "title" }, h("h1", {}, "Rules"), h("button", { id: "new-rule", "data-role": "analyst", onclick: () => ctx.go("#/editor") }, "New rule")),
    status,
    table,
  );

  let prev: Scrape | null = null;
  let rates = { matches: new Map<string, number>(), alerts: new Map<string, number>() };
  let lastDrawn = "";
  let scrapeAt = 0;
  const open = new Set<string>(); // rules whose version list is shown

  const act = async (label: string, fn: () => Promise<unknown>) => {
    try {
      say(status, `${label}…`);
      await fn();
      say(status, `${label}: done`);
      lastDrawn = "";
      await refresh();
    } catch (e) {
      say(status, `${label}: ${e instanceof ApiError ? e.message : e}`, true);
    }
  };

  const versionsRow = async (r: StoredRule, row: HTMLTableRowElement) => {
    const cell = h("td", { colspan: 7 }, "loading versions…");
    const tr = h("tr", { class: "versions", "data-versions-of": r.id }, cell);
    row.after(tr);
    try {
      const vs = await get<RuleVersion[]>(`/rules/${encodeURIComponent(r.id)}/versions`);
      clear(
        cell,
        h(
          "table",
          { class: "inner" },
          h("tr", {}, ...["version", "stored", "by", "change", ""].map((c) => h("th", {}, c))),
          ...vs
            .slice()
            .reverse()
            .map((v) =>
              h(
                "tr",
                {},
                h("td", {}, `v${v.version}`),
                h("td", {}, v.stored_at),
                h("td", {}, v.author),
                h("td", {}, v.change),
                h(
                  "td",
                  {},
                  v.version === r.version
                    ? "current"
                    : h("button", {
                        class: "rollback",
                        "data-role": "analyst",
                        "data-version": v.version,
                        onclick: () => act(`roll ${r.id} back to v${v.version}`, () => post(`/rules/${encodeURIComponent(r.id)}/rollback`, { version: v.version })),
                      }, `roll back to v${v.version}`),
                ),
              ),
            ),
        ),
      );
      applyRole(cell, ctx.role);
    } catch (e) {
      clear(cell, h("span", { class: "error" }, String(e)));
    }
  };

  const draw = (rules: StoredRule[], notRunning: Record<string, string>) => {
    const sig = JSON.stringify([rules, notRunning, [...rates.matches], [...rates.alerts], [...open]]);
    if (sig === lastDrawn) return;
    lastDrawn = sig;
    clear(body);
    if (!rules.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No rules yet. Write one in the editor.")));
    for (const r of rules) {
      const broken = notRunning[r.id];
      const state = broken ? "not running" : r.enabled ? "enabled" : "disabled";
      const id = encodeURIComponent(r.id);
      const row = h(
        "tr",
        { "data-rule": r.id },
        h("td", {}, h("a", { href: `#/editor/${id}` }, r.id)),
        h("td", {}, h("span", { class: `state state-${state.replace(" ", "-")}`, title: broken ?? "" }, state)),
        h("td", {}, `v${r.version}`, r.versions > 1 ? h("span", { class: "muted" }, ` of ${r.versions}`) : ""),
        h("td", { class: "num", "data-col": "matches" }, fmtRate(rates.matches.get(r.id))),
        h("td", { class: "num", "data-col": "alerts" }, fmtRate(rates.alerts.get(r.id))),
        h("td", { class: "muted" }, r.stored_at),
        h(
          "td",
          { class: "actions" },
          r.enabled
            ? h("button", { class: "disable", "data-role": "analyst", onclick: () => act(`disable ${r.id}`, () => post(`/rules/${id}/disable`)) }, "Disable")
            : h("button", { class: "enable", "data-role": "analyst", onclick: () => act(`enable ${r.id}`, () => post(`/rules/${id}/enable`)) }, "Enable"),
          h("button", {
            class: "show-versions",
            onclick: () => {
              if (open.has(r.id)) open.delete(r.id);
              else open.add(r.id);
              lastDrawn = "";
              void refresh();
            },
          }, open.has(r.id) ? "Hide versions" : "Versions"),
          h("a", { class: "button", href: `#/alerts/${id}` }, "Alerts"),
        ),
      );
      body.append(row);
      if (open.has(r.id)) void versionsRow(r, row);
    }
    applyRole(ctx.main, ctx.role);
  };

  const refresh = async () => {
    try {
      const [rules, st] = await Promise.all([get<StoredRule[]>("/rules"), get<any>("/status").catch(() => null)]);
      if (Date.now() - scrapeAt > 5000) {
        scrapeAt = Date.now();
        const cur = await scrape().catch(() => null);
        if (cur) {
          if (prev) rates = { matches: perMinute(prev, cur, "cepheus_rule_matches_total", "rule"), alerts: perMinute(prev, cur, "cepheus_alerts_total", "rule") };
          prev = cur;
        }
      }
      if (!ctx.alive()) return;
      draw(rules, st?.rules?.not_running ?? {});
      if (status.classList.contains("error") === false && !status.textContent) say(status, "");
    } catch (e) {
      say(status, `cannot list rules: ${e instanceof ApiError ? e.message : e}`, true);
    }
  };
  every(ctx, 1000, refresh);
}
