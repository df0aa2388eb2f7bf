// Live alerts: the recent ones (GET /alerts), then new ones as they come
// (GET /alerts/stream, Server-Sent Events), filtered by rule, severity and
// key on the server; an alert opens to its matched events.

import { Alert, ApiError, authHeaders, get, StoredRule } from "../api";
import { Ctx } from "../app";
import { ALERT_HEAD, alertDetail, alertRow } from "../alertview";
import { follow } from "../sse";
import { clear, h, say } from "../ui";

const KEEP = 500;
const SEVERITIES = ["", "info", "low", "medium", "high", "critical"];

/** "card_id=c-17, merchant=m1" -> query pairs `key.card_id=c-17&...`. */
export function keyQuery(text: string): [string, string][] | string {
  const out: [string, string][] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return `key filter '${part}': write field=value`;
    out.push([`key.${part.slice(0, eq).trim()}`, part.slice(eq + 1).trim()]);
  }
  return out;
}

export async function alertsPage(ctx: Ctx, ruleArg: string): Promise<void> {
  const rule = h("input", { id: "filter-rule", list: "rule-names", placeholder: "any rule", value: ruleArg });
  const names = h("datalist", { id: "rule-names" });
  const severity = h("select", { id: "filter-severity" }, ...SEVERITIES.map((s) => h("option", { value: s }, s || "any severity")));
  const key = h("input", { id: "filter-key", placeholder: "key: field=value, ..." });
  const status = h("p", { class: "status", id: "alerts-status" });
  const live = h("span", { id: "live-state", class: "badge" }, "connecting");
  const body = h("tbody", { id: "alerts-body" });
  const detail = h("div", { class: "detail", id: "alert-detail" });
  const count = h("span", { id: "alert-count", class: "muted" });
  let alerts: Alert[] = [];
  let abort: AbortController | null = null;

  const open = (a: Alert) => {
    for (const tr of body.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    body.querySelector(`tr[data-alert="${CSS.escape(a.id)}"]`)?.classList.add("selected");
    clear(detail, alertDetail(a));
  };

  const draw = () => {
    clear(body, ...alerts.map((a) => alertRow(a, open)));
    count.textContent = `${alerts.length} shown`;
  };

  const add = (a: Alert) => {
    if (alerts.some((x) => x.id === a.id)) return;
    alerts.unshift(a);
    if (alerts.length > KEEP) alerts.length = KEEP;
    const row = alertRow(a, open);
    row.classList.add("fresh");
    body.prepend(row);
    while (body.children.length > KEEP) body.lastElementChild?.remove();
    count.textContent = `${alerts.length} shown`;
  };

  const restart = async () => {
    abort?.abort();
    const kq = keyQuery(key.value);
    if (typeof kq === "string") return say(status, kq, true);
    const q = new URLSearchParams();
    if (rule.value.trim()) q.append("rule", rule.value.trim());
    if (severity.value) q.append("severity", severity.value);
    for (const [k, v] of kq) q.append(k, v);
    say(status, "");
    const ac = new AbortController();
    abort = ac;
    try {
      alerts = await get<Alert[]>(`/alerts?${q}&limit=200`);
      if (ac.signal.aborted) return;
      draw();
    } catch (e) {
      return say(status, `recent alerts: ${e instanceof ApiError ? e.message : e}`, true);
    }
    void follow(
      `/alerts/stream?${q}`,
      authHeaders(),
      (ev) => {
        if (ev.event === "alert") add(JSON.parse(ev.data) as Alert);
        else if (ev.event === "lagged") say(status, `the server skipped ${ev.data} alerts this page was too slow to take`, true);
      },
      (s) => {
        if (ac.signal.aborted) return;
        live.textContent = s === "open" ? "live" : s;
        live.className = `badge ${s === "open" ? "ok" : "error"}`;
      },
      ac.signal,
    );
  };
  ctx.onLeave(() => abort?.abort());

  let debounce = 0;
  const later = () => {
    clearTimeout(debounce);
    debounce = window.setTimeout(() => void restart(), 300);
  };
  rule.addEventListener("input", later);
  key.addEventListener("input", later);
  severity.addEventListener("change", () => void restart());

  ctx.main.append(
    h("div", { class: "title" }, h("h1", {}, "Live alerts"), live, count),
    h("div", { class: "toolbar filters" }, rule, names, severity, key, h("button", { onclick: () => { alerts = []; draw(); } }, "Clear list")),
    status,
    h("div", { class: "split" }, h("table", { class: "alerts", id: "alerts-table" }, h("thead", {}, h("tr", {}, ...ALERT_HEAD.map((c) => h("th", {}, c)))), body), detail),
  );
  get<StoredRule[]>("/rules")
    .then((rs) => clear(names, ...rs.map((r) => h("option", { value: r.id }))))
    .catch(() => undefined);
  await restart();
}
