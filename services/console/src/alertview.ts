// One alert as a list row, and opened: its fields and the events it matched.

import { Alert } from "./api";
import { fmtKey, fmtValue, h } from "./ui";

export function alertRow(a: Alert, onOpen: (a: Alert) => void): HTMLElement {
  return h(
    "tr",
    { class: `alert sev-${a.severity}`, "data-alert": a.id, "data-rule": a.rule, onclick: () => onOpen(a) },
    h("td", {}, h("span", { class: `sev sev-${a.severity}` }, a.severity)),
    h("td", {}, a.rule, h("span", { class: "muted" }, ` v${a.rule_version}`)),
    h("td", { class: "key" }, fmtKey(a.key)),
    h("td", { class: "message" }, a.message),
    h("td", { class: "muted" }, a.event_time),
  );
}

export const ALERT_HEAD = ["severity", "rule", "key", "message", "event time"];

/** Tables of events under one heading per pattern variable. */
function eventsTable(events: Record<string, unknown>[]): HTMLElement {
  const cols: string[] = [];
  for (const e of events) for (const k of Object.keys(e)) if (!cols.includes(k)) cols.push(k);
  return h(
    "table",
    { class: "events" },
    h("tr", {}, ...cols.map((c) => h("th", {}, c))),
    ...events.map((e) => h("tr", {}, ...cols.map((c) => h("td", {}, fmtValue(e[c]))))),
  );
}

export function alertDetail(a: Alert): HTMLElement {
  const matched = a.matched ?? {};
  return h(
    "section",
    { class: "alert-detail", "data-alert": a.id },
    h("h3", {}, `${a.rule} v${a.rule_version}`, h("span", { class: `sev sev-${a.severity}` }, a.severity), a.timeout ? h("span", { class: "badge" }, "timeout") : "", a.update ? h("span", { class: "badge" }, "update") : ""),
    h("p", { class: "message" }, a.message),
    h(
      "dl",
      {},
      h("dt", {}, "id"), h("dd", {}, a.id),
      h("dt", {}, "key"), h("dd", {}, fmtKey(a.key)),
      h("dt", {}, "fields"), h("dd", {}, fmtKey(a.fields)),
      h("dt", {}, "event time"), h("dd", {}, a.event_time),
      h("dt", {}, "detected at"), h("dd", {}, a.detected_at),
      a.window ? [h("dt", {}, "window"), h("dd", {}, `${a.window.start} – ${a.window.end}`)] : [],
      a.labels && Object.keys(a.labels).length ? [h("dt", {}, "labels"), h("dd", {}, fmtKey(a.labels))] : [],
      a.notify && a.notify.length ? [h("dt", {}, "notify"), h("dd", {}, a.notify.join(", "))] : [],
    ),
    Object.keys(matched).length
      ? h(
          "div",
          { class: "matched" },
          h("h4", {}, "Matched events"),
          ...Object.entries(matched).map(([v, evs]) => h("div", { class: "var", "data-var": v }, h("h5", {}, `${v} (${evs.length})`), eventsTable(evs))),
        )
      : "",
  );
}
