// Queryable state: a rule's open windows and partial matches for one key
// (GET /rules/{id}/state?key.<field>=<value>).

import { ApiError, get, StoredRule } from "../api";
import { Ctx } from "../app";
import { clear, h, jsonBlock, say } from "../ui";

/** The `partition by` fields of a rule text (best effort, for the form). */
export function partitionFields(source: string): string[] {
  const noComments = source.replace(/(--|\/\/)[^\n]*/g, "");
  const m = /\bpartition\s+by\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)/i.exec(noComments);
  return m ? m[1].split(",").map((s) => s.trim()) : [];
}

export async function statePage(ctx: Ctx, ruleArg: string): Promise<void> {
  const ruleSel = h("select", { id: "state-rule" });
  const fields = h("span", { id: "state-fields" });
  const status = h("p", { class: "status", id: "state-status" });
  const out = h("div", { id: "state-result" });
  let rules: StoredRule[] = [];

  const drawFields = () => {
    const r = rules.find((x) => x.id === ruleSel.value);
    const fs = r ? partitionFields(r.source) : [];
    clear(
      fields,
      ...(fs.length ? fs : ["key"]).map((f) =>
        h("label", {}, `${f} `, h("input", { class: "state-key", "data-field": f, placeholder: fs.length ? "value" : "field=value" })),
      ),
    );
  };

  const query = async () => {
    const q = new URLSearchParams();
    for (const inp of fields.querySelectorAll<HTMLInputElement>("input.state-key")) {
      const f = inp.dataset.field!;
      if (f === "key") {
        const [k, ...v] = inp.value.split("=");
        if (k) q.append(`key.${k.trim()}`, v.join("=").trim());
      } else q.append(`key.${f}`, inp.value);
    }
    say(status, "querying…");
    try {
      const st = await get(`/rules/${encodeURIComponent(ruleSel.value)}/state?${q}`);
      say(status, "");
      clear(out, jsonBlock(st));
    } catch (e) {
      say(status, e instanceof ApiError ? e.message : String(e), true);
      clear(out);
    }
  };

  ctx.main.append(
    h("div", { class: "title" }, h("h1", {}, "State for a key")),
    h("p", { class: "muted" }, "A rule's live state for one key: its partial matches and open windows, as the engine holds them now."),
    h(
      "form",
      { class: "toolbar", onsubmit: (e: Event) => { e.preventDefault(); void query(); } },
      h("label", {}, "rule ", ruleSel),
      fields,
      h("button", { type: "submit", id: "state-query" }, "Query"),
    ),
    status,
    out,
  );
  ruleSel.addEventListener("change", drawFields);
  try {
    rules = (await get<StoredRule[]>("/rules")).filter((r) => r.enabled);
    clear(ruleSel, ...rules.map((r) => h("option", { value: r.id, selected: r.id === ruleArg }, r.id)));
    if (!rules.length) say(status, "No enabled rule: state exists only for running rules.");
    drawFields();
  } catch (e) {
    say(status, e instanceof ApiError ? e.message : String(e), true);
  }
}
