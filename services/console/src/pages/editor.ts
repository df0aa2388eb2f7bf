// The rule editor: highlighted text, diagnostics from POST /rules/validate
// laid on their spans as the user types (debounced), save, and a backtest
// over uploaded NDJSON (POST /backtest) listing the alerts it would give.

import { Alert, ApiError, BacktestResult, Diagnostic, get, post, request, StoredRule, atLeast } from "../api";
import { Ctx } from "../app";
import { ALERT_HEAD, alertDetail, alertRow } from "../alertview";
import { byteToIndex, Mark, renderHighlighted } from "../highlight";
import { applyRole, clear, h, say } from "../ui";

const TEMPLATE = `-- A rule: see the language reference (rules-dsl/README.md).
rule my_rule {
  severity medium
  from transactions
  partition by card_id
  pattern small{3,} -> big
  define
    small as amount < 2.00,
    big   as amount > 500
  within 10m
  emit card_id, count(small) as tries
  message "Card {card_id}: {tries} small charges, then a big one"
}
`;

const DEBOUNCE_MS = 250;

export async function editorPage(ctx: Ctx, ruleId: string): Promise<void> {
  let stored: StoredRule | null = null;
  let diagnostics: Diagnostic[] = [];
  let seq = 0;
  let timer = 0;

  const status = h("p", { class: "status", id: "editor-status" });
  const title = h("h1", {}, ruleId ? `Rule ${ruleId}` : "New rule");
  const pre = h("pre", { class: "highlight", id: "highlight", "aria-hidden": "true" });
  const text = h("textarea", { id: "source", spellcheck: "false", autocomplete: "off", "data-role": "analyst", wrap: "off" });
  const diagList = h("ul", { id: "diagnostics", class: "diagnostics" });
  const validity = h("span", { id: "validity", class: "badge" }, "");
  const enableBox = h("input", { type: "checkbox", id: "enable-on-save", "data-role": "analyst" });
  const saveBtn = h("button", { id: "save", "data-role": "analyst", onclick: () => void save() }, "Save");

  const sync = () => {
    const marks: Mark[] = diagnostics.map((d, i) => ({
      start: byteToIndex(text.value, d.span.start),
      end: byteToIndex(text.value, d.span.end),
      cls: `diag diag-${d.level}`,
      title: `${d.level}[${d.code}]: ${d.message}${d.label ? ` (${d.label})` : ""}`,
      id: i,
    }));
    pre.innerHTML = renderHighlighted(text.value, marks);
    pre.scrollTop = text.scrollTop;
    pre.scrollLeft = text.scrollLeft;
  };

  const select = (d: Diagnostic) => {
    text.focus();
    text.setSelectionRange(byteToIndex(text.value, d.span.start), byteToIndex(text.value, d.span.end));
  };

  const showDiagnostics = (list: Diagnostic[], note?: string) => {
    diagnostics = list;
    clear(diagList);
    for (const [i, d] of list.entries()) {
      diagList.append(
        h(
          "li",
          { class: `diag-item level-${d.level}`, "data-code": d.code, "data-line": d.start.line, "data-column": d.start.column, "data-diag": i, onclick: () => select(d) },
          h("span", { class: "pos" }, `${d.start.line}:${d.start.column}`),
          h("span", { class: `level level-${d.level}` }, `${d.level}[${d.code}]`),
          h("span", { class: "msg" }, d.message),
          d.label ? h("span", { class: "label" }, ` — ${d.label}`) : "",
          d.help ? h("div", { class: "help" }, `help: ${d.help}`) : "",
          ...d.notes.map((n) => h("div", { class: "note" }, `note: ${n}`)),
        ),
      );
    }
    if (note) diagList.append(h("li", { class: "diag-item level-error", id: "diag-note" }, note));
    sync();
  };

  const validate = async () => {
    const mine = ++seq;
    const source = text.value;
    if (!atLeast(ctx.role, "analyst")) {
      validity.textContent = "checking needs the analyst role";
      return;
    }
    validity.textContent = "checking…";
    validity.className = "badge";
    try {
      const r = await post<{ valid: boolean; rule: string; stream: string; diagnostics: Diagnostic[] }>("/rules/validate", { source });
      if (mine !== seq) return;
      validity.textContent = `valid: rule ${r.rule} on ${r.stream}`;
      validity.className = "badge ok";
      showDiagnostics(r.diagnostics);
    } catch (e) {
      if (mine !== seq) return;
      const err = e as ApiError;
      const list: Diagnostic[] = err.details?.diagnostics ?? [];
      const nErr = list.filter((d) => d.level === "error").length;
      validity.textContent = nErr ? `${nErr} error${nErr > 1 ? "s" : ""}` : "not valid";
      validity.className = "badge error";
      // A 400 without spans (two rules, an unserved stream) still says why.
      showDiagnostics(list, nErr ? undefined : err.message);
    }
  };

  text.addEventListener("input", () => {
    sync();
    clearTimeout(timer);
    timer = window.setTimeout(() => void validate(), DEBOUNCE_MS);
  });
  text.addEventListener("scroll", () => {
    pre.scrollTop = text.scrollTop;
    pre.scrollLeft = text.scrollLeft;
  });
  text.addEventListener("keydown", (e) => {
    if (e.key === "Tab" && !e.shiftKey) {
      e.preventDefault();
      text.setRangeText("  ", text.selectionStart, text.selectionEnd, "end");
      text.dispatchEvent(new Event("input"));
    }
  });
  ctx.onLeave(() => clearTimeout(timer));

  const save = async () => {
    try {
      saveBtn.dataset.busy = "1";
      const body = { source: text.value, enabled: enableBox.checked };
      const r = stored
        ? await request<any>("PUT", `/rules/${encodeURIComponent(stored.id)}`, body)
        : await post<any>("/rules", body);
      stored = r.rule as StoredRule;
      say(status, `saved ${stored.id} as v${stored.version} (${r.active ? "running" : stored.enabled ? "enabled, not running yet" : "disabled"})`);
      if (!ruleId) history.replaceState(null, "", `#/editor/${encodeURIComponent(stored.id)}`);
      title.textContent = `Rule ${stored.id}`;
      drawRuleState();
    } catch (e) {
      const err = e as ApiError;
      say(status, `save: ${err.message}`, true);
      if (err.details?.diagnostics) showDiagnostics(err.details.diagnostics);
    } finally {
      delete saveBtn.dataset.busy;
      applyRole(ctx.main, ctx.role);
    }
  };

  const ruleState = h("span", { id: "rule-state" });
  const drawRuleState = () => {
    if (!stored) return clear(ruleState);
    const s = stored;
    const id = encodeURIComponent(s.id);
    const toggle = async (on: boolean) => {
      try {
        const r = await post<any>(`/rules/${id}/${on ? "enable" : "disable"}`);
        stored = r.rule;
        say(status, `${s.id} ${on ? "enabled" : "disabled"}`);
        drawRuleState();
      } catch (e) {
        say(status, String((e as Error).message), true);
      }
    };
    clear(
      ruleState,
      h("span", { class: `state state-${s.enabled ? "enabled" : "disabled"}` }, `v${s.version} ${s.enabled ? "enabled" : "disabled"}`),
      s.enabled
        ? h("button", { id: "editor-disable", "data-role": "analyst", onclick: () => void toggle(false) }, "Disable")
        : h("button", { id: "editor-enable", "data-role": "analyst", onclick: () => void toggle(true) }, "Enable"),
    );
    applyRole(ruleState, ctx.role);
  };

  // Backtest panel.
  const fileInput = h("input", { type: "file", id: "events-file", accept: ".ndjson,.jsonl,.json,application/x-ndjson,text/plain" });
  const eventsText = h("textarea", { id: "events", rows: 6, spellcheck: "false", placeholder: '{"card_id":"c-1","amount":1.5,"ts":"2024-05-01T10:00:00Z", ...}  one JSON event per line' });
  const btStatus = h("p", { class: "status", id: "backtest-status" });
  const btResult = h("div", { id: "backtest-result" });
  fileInput.addEventListener("change", async () => {
    const f = fileInput.files?.[0];
    if (!f) return;
    eventsText.value = await f.text();
    say(btStatus, `${f.name}: ${eventsText.value.split("\n").filter((l) => l.trim()).length} lines loaded`);
  });
  const runBacktest = async () => {
    say(btStatus, "running…");
    clear(btResult);
    try {
      const r = await post<BacktestResult>("/backtest", { source: text.value, events: eventsText.value });
      say(btStatus, `${r.events} events, ${r.alerts.length} alert${r.alerts.length === 1 ? "" : "s"}, ${r.malformed.length} malformed line${r.malformed.length === 1 ? "" : "s"}, ${r.late_events} late`);
      const detail = h("div", { class: "detail" });
      const open = (a: Alert) => clear(detail, alertDetail(a));
      clear(
        btResult,
        r.malformed.length ? h("ul", { class: "malformed" }, ...r.malformed.map((m) => h("li", {}, `line ${m.line}: ${m.error}`))) : "",
        r.alerts.length
          ? h("table", { class: "alerts", id: "backtest-alerts" }, h("tr", {}, ...ALERT_HEAD.map((c) => h("th", {}, c))), ...r.alerts.map((a) => alertRow(a, open)))
          : h("p", { class: "muted" }, "No alerts."),
        detail,
      );
    } catch (e) {
      const err = e as ApiError;
      say(btStatus, `backtest: ${err.message}`, true);
      if (err.details?.diagnostics) showDiagnostics(err.details.diagnostics);
    }
  };

  ctx.main.append(
    h("div", { class: "title" }, title, ruleState, validity),
    status,
    h("div", { class: "editor" }, pre, text),
    diagList,
    h("div", { class: "toolbar" }, saveBtn, h("label", {}, enableBox, " run it when saved")),
    h(
      "section",
      { class: "backtest" },
      h("h2", {}, "Backtest"),
      h("p", { class: "muted" }, "Runs the text above over events (NDJSON) with the live engine's operators, ending with a final watermark; nothing is notified."),
      h("div", { class: "toolbar" }, fileInput, h("button", { id: "run-backtest", "data-role": "analyst", onclick: () => void runBacktest() }, "Run backtest")),
      eventsText,
      btStatus,
      btResult,
    ),
  );

  if (ruleId) {
    try {
      stored = await get<StoredRule>(`/rules/${encodeURIComponent(ruleId)}`);
      text.value = stored.source;
      enableBox.checked = stored.enabled;
      drawRuleState();
    } catch (e) {
      say(status, `cannot load rule ${ruleId}: ${(e as Error).message}`, true);
    }
  } else {
    text.value = TEMPLATE;
  }
  sync();
  void validate();
}
