// Syntax highlighting of the rule language (shared/DSL.md): a small lexer
// that never fails, so half-typed text still colours, and a renderer that
// lays the diagnostics' spans over the tokens.

export type TokenKind = "comment" | "string" | "number" | "duration" | "keyword" | "type" | "severity" | "literal" | "ident" | "op" | "space";

export interface Token {
  kind: TokenKind;
  start: number; // string index (UTF-16), inclusive
  end: number; // exclusive
}

const KEYWORDS = new Set(
  (
    "stream key time lateness rule severity from partition by pattern define as within after match skip past last event " +
    "to next first no emit message notify suppress where window tumbling sliding every session gap count having allow " +
    "and or not in between is matches greedy consecutive any until on timeout labels"
  ).split(" "),
);
const TYPES = new Set("string int float bool timestamp duration json".split(" "));
const SEVERITIES = new Set("info low medium high critical".split(" "));
const LITERALS = new Set("true false null".split(" "));

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number) => {
    out.push({ kind, start: i, end });
    i = end;
  };
  while (i < src.length) {
    const c = src[i];
    const rest = src.slice(i, i + 2);
    if (/\s/.test(c)) {
      let j = i + 1;
      while (j < src.length && /\s/.test(src[j])) j++;
      push("space", j);
    } else if (rest === "--" || rest === "//") {
      const nl = src.indexOf("\n", i);
      push("comment", nl < 0 ? src.length : nl);
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"' && src[j] !== "\n") j += src[j] === "\\" ? 2 : 1;
      push("string", Math.min(src.length, src[j] === '"' ? j + 1 : j));
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?(ms|s|m|h|d)?(?![A-Za-z0-9_])/.exec(src.slice(i)) ?? /^[0-9][0-9.]*/.exec(src.slice(i))!;
      push(m[2] ? "duration" : "number", i + m[0].length);
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      const w = m[0].toLowerCase();
      const kind: TokenKind = KEYWORDS.has(w) ? "keyword" : TYPES.has(w) ? "type" : SEVERITIES.has(w) ? "severity" : LITERALS.has(w) ? "literal" : "ident";
      push(kind, i + m[0].length);
    } else {
      const m = /^(->>|->|!=|<=|>=|==|[-+*/%<>=!{}()\[\],;.?|&])/.exec(src.slice(i));
      push("op", i + (m ? m[0].length : 1));
    }
  }
  return out;
}

/** A JS string index of a UTF-8 byte offset (the API's spans are bytes). */
export function byteToIndex(src: string, byte: number): number {
  let b = 0;
  let i = 0;
  while (i < src.length && b < byte) {
    const cp = src.codePointAt(i)!;
    b += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

export interface Mark {
  start: number; // string index
  end: number;
  cls: string; // e.g. "diag diag-error"
  title: string;
  id: number;
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * HTML for the highlight layer: token spans, with every mark (a diagnostic
 * span) wrapped around the characters it covers. An empty span (an error at
 * the end of the text) is widened to one visible character.
 */
export function renderHighlighted(src: string, marks: Mark[]): string {
  const tokens = tokenize(src);
  const ms = marks.map((m) => (m.end > m.start ? m : { ...m, end: m.start + 1 }));
  const text = src.length && ms.some((m) => m.end > src.length) ? src + " " : src;
  const cuts = new Set<number>([0, text.length]);
  for (const t of tokens) cuts.add(t.start).add(t.end);
  for (const m of ms) cuts.add(Math.min(m.start, text.length)).add(Math.min(m.end, text.length));
  const points = [...cuts].sort((a, b) => a - b);
  let html = "";
  let ti = 0;
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    while (ti < tokens.length && tokens[ti].end <= a) ti++;
    const tok = ti < tokens.length && tokens[ti].start <= a ? tokens[ti] : null;
    let piece = escapeHtml(text.slice(a, b));
    if (tok && tok.kind !== "space") piece = `<span class="tok-${tok.kind}">${piece}</span>`;
    for (const m of ms) {
      if (m.start <= a && b <= m.end) piece = `<span class="${m.cls}" data-diag="${m.id}" title="${escapeHtml(m.title)}">${piece}</span>`;
    }
    html += piece;
  }
  // A trailing newline needs a character after it to take up a line in <pre>.
  return html + "\n";
}
