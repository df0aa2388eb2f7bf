// Small DOM helpers: an element builder, messages, role gating.

import { atLeast, Role } from "./api";

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return el;
}

export function clear(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  for (const c of children.flat()) if (c) el.append(typeof c === "string" ? document.createTextNode(c) : c);
}

/** A status line under a page's title: errors in red, the rest plain. */
export function say(el: Element, text: string, isError = false): void {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

/** Elements marked `data-role="analyst"` (or admin) are disabled, with a
 * tooltip, when the token's role is lower; the server checks anyway. */
export function applyRole(root: ParentNode, role: Role | null): void {
  for (const el of root.querySelectorAll<HTMLElement>("[data-role]")) {
    const need = el.dataset.role as Role;
    const ok = atLeast(role, need);
    if ("disabled" in el) (el as HTMLButtonElement).disabled = !ok || el.dataset.busy === "1";
    if ("readOnly" in el && el.tagName === "TEXTAREA") (el as HTMLTextAreaElement).readOnly = !ok;
    el.classList.toggle("role-denied", !ok);
    if (!ok) el.title = `needs the ${need} role`;
  }
}

export function fmtValue(v: unknown): string {
  if (v === null || v === undefined) return "";
  return typeof v === "string" ? v : JSON.stringify(v);
}

export function fmtKey(key: Record<string, unknown>): string {
  return Object.entries(key)
    .map(([k, v]) => `${k}=${fmtValue(v)}`)
    .join(", ");
}

export function fmtRate(v: number | undefined): string {
  return v === undefined ? "–" : v < 10 ? v.toFixed(1) : Math.round(v).toString();
}

/** A JSON value as a collapsible tree-ish <pre>. */
export function jsonBlock(v: unknown): HTMLElement {
  return h("pre", { class: "json" }, JSON.stringify(v, null, 2));
}
