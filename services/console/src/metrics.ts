// The Prometheus text format of /metrics, read into samples, and per-minute
// rates between two scrapes (the overview and the rules list use them).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      let l: RegExpExecArray | null;
      while ((l = re.exec(m[3]))) labels[l[1]] = l[2].replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    }
    const v = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

/** Sum of a metric's samples grouped by one label ("" groups all). */
export function sumBy(samples: Sample[], name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name) continue;
    const k = label ? (s.labels[label] ?? "") : "";
    out.set(k, (out.get(k) ?? 0) + s.value);
  }
  return out;
}

export interface Scrape {
  at: number; // ms
  samples: Sample[];
}

/** Per-minute increase of a counter between two scrapes, by label. */
export function perMinute(prev: Scrape | null, cur: Scrape, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  if (!prev || cur.at <= prev.at) return out;
  const a = sumBy(prev.samples, name, label);
  const b = sumBy(cur.samples, name, label);
  const minutes = (cur.at - prev.at) / 60000;
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    out.set(k, d < 0 ? v / minutes : d / minutes); // a reset restarts the counter
  }
  return out;
}

export async function scrape(): Promise<Scrape> {
  const r = await fetch("/metrics");
  if (!r.ok) throw new Error(`GET /metrics: HTTP ${r.status}`);
  return { at: Date.now(), samples: parseMetrics(await r.text()) };
}
