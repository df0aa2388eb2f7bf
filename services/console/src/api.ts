// The REST API of the Cepheus server (see /openapi.json), with the bearer
// token of this browser tab. Nothing here knows about the page.

export type Role = "viewer" | "analyst" | "admin";
const ORDER: Role[] = ["viewer", "analyst", "admin"];

export function atLeast(have: Role | null, need: Role): boolean {
  return have !== null && ORDER.indexOf(have) >= ORDER.indexOf(need);
}

const TOKEN_KEY = "cepheus.token";

export function getToken(): string {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

export function setToken(token: string): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An error answer of the API: `{error, kind, details}` with its status. */
export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
    public kind: string,
    public details: any,
  ) {
    super(message);
  }
}

export function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export async function request<T = any>(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<T> {
  const headers: Record<string, string> = { ...authHeaders(), Accept: "application/json" };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    headers["Content-Type"] = contentType;
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: payload });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server: ${e}`, "external", null);
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let json: any = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!resp.ok) {
    const msg = json && typeof json.error === "string" ? json.error : `${method} ${path}: HTTP ${resp.status} ${text.slice(0, 200)}`;
    throw new ApiError(resp.status, msg, json?.kind ?? "external", json?.details ?? null);
  }
  return (json ?? text) as T;
}

export const get = <T = any>(path: string) => request<T>("GET", path);
export const post = <T = any>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});

/**
 * The role of the current token. The API has no "who am I" route, so this
 * asks the auth layer with requests it rejects before doing anything: an
 * empty JSON body to an analyst route and to an admin route. The server
 * authorizes before it reads the body, so 403 means the role is too low and
 * any other answer (422: the body is incomplete) means it is enough.
 */
export async function detectRole(): Promise<Role | null> {
  const probe = async (path: string): Promise<number> => {
    const r = await fetch(path, {
      method: "POST",
      headers: { ...authHeaders(), "Content-Type": "application/json" },
      body: "{}",
    });
    return r.status;
  };
  const viewer = await fetch("/rules", { headers: authHeaders() });
  if (viewer.status === 401) return null;
  if (!viewer.ok) throw new ApiError(viewer.status, `GET /rules: HTTP ${viewer.status}`, "external", null);
  const analyst = await probe("/rules/validate");
  if (analyst === 401 || analyst === 403) return "viewer";
  const admin = await probe("/savepoints");
  if (admin === 401 || admin === 403) return "analyst";
  return "admin";
}

export interface StoredRule {
  id: string;
  version: number;
  enabled: boolean;
  source: string;
  stored_at: string;
  versions: number;
}

export interface RuleVersion {
  version: number;
  source: string;
  stored_at: string;
  author: string;
  change: string;
}

export interface LineCol {
  line: number;
  column: number;
}

export interface Diagnostic {
  file: string;
  level: "error" | "warning";
  code: string;
  message: string;
  span: { start: number; end: number };
  start: LineCol;
  end: LineCol;
  label: string;
  secondary: { span: { start: number; end: number }; start: LineCol; end: LineCol; message: string }[];
  help: string | null;
  notes: string[];
  rendered: string;
}

export interface Alert {
  id: string;
  rule: string;
  rule_version: number;
  severity: string;
  key: Record<string, unknown>;
  fields: Record<string, unknown>;
  message: string;
  event_time: string;
  detected_at: string;
  matched?: Record<string, Record<string, unknown>[]>;
  window?: { start: string; end: string };
  timeout?: boolean;
  update?: boolean;
  labels?: Record<string, string>;
  notify?: string[];
}

export interface BacktestResult {
  rule: string;
  version: number;
  events: number;
  late_events: number;
  alerts: Alert[];
  malformed: { line: number; error: string }[];
}
