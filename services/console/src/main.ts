// The console's shell: token entry, navigation (hash routes), and the page.

import { ApiError, detectRole, getToken, Role, setToken } from "./api";
import { Ctx, Page } from "./app";
import { h, clear, applyRole } from "./ui";
import { rulesPage } from "./pages/rules";
import { editorPage } from "./pages/editor";
import { alertsPage } from "./pages/alerts";
import { statePage } from "./pages/state";
import { overviewPage } from "./pages/overview";

const PAGES: { route: string; title: string; page: Page; nav: boolean }[] = [
  { route: "rules", title: "Rules", page: rulesPage, nav: true },
  { route: "editor", title: "Editor", page: editorPage, nav: true },
  { route: "alerts", title: "Live alerts", page: alertsPage, nav: true },
  { route: "state", title: "State", page: statePage, nav: true },
  { route: "overview", title: "Overview", page: overviewPage, nav: true },
];

let role: Role | null = null;
let leave: (() => void)[] = [];
let generation = 0;

const main = h("main", { id: "page" });
const roleBadge = h("span", { id: "role", class: "badge" }, "");
const tokenInput = h("input", { id: "token", type: "password", placeholder: "bearer token", autocomplete: "off", size: 24 });
const nav = h("nav", {}, ...PAGES.filter((p) => p.nav).map((p) => h("a", { href: `#/${p.route}`, "data-route": p.route }, p.title)));

async function refreshRole(): Promise<void> {
  try {
    role = await detectRole();
    roleBadge.textContent = role ? role : "no access: enter a valid token";
    roleBadge.className = `badge ${role ? "role-" + role : "error"}`;
  } catch (e) {
    role = null;
    roleBadge.textContent = e instanceof ApiError ? e.message : String(e);
    roleBadge.className = "badge error";
  }
  document.body.dataset.role = role ?? "none";
}

function show(): void {
  for (const fn of leave) fn();
  leave = [];
  const gen = ++generation;
  const [route, ...rest] = location.hash.replace(/^#\/?/, "").split("/");
  const entry = PAGES.find((p) => p.route === route) ?? PAGES[0];
  for (const a of nav.querySelectorAll("a")) a.classList.toggle("active", a.dataset.route === entry.route);
  clear(main);
  document.title = `${entry.title} · Cepheus`;
  const ctx: Ctx = {
    role,
    main,
    onLeave: (fn) => leave.push(fn),
    alive: () => gen === generation,
    go: (hash) => {
      if (location.hash === hash) show();
      else location.hash = hash;
    },
  };
  Promise.resolve(entry.page(ctx, decodeURIComponent(rest.join("/"))))
    .then(() => applyRole(main, role))
    .catch((e) => main.append(h("p", { class: "error" }, String(e))));
}

async function useToken(): Promise<void> {
  setToken(tokenInput.value.trim());
  tokenInput.value = "";
  tokenInput.placeholder = getToken() ? "token set (enter another to change)" : "bearer token";
  await refreshRole();
  show();
}

async function start(): Promise<void> {
  const header = h(
    "header",
    {},
    h("a", { class: "brand", href: "#/rules" }, "Cepheus"),
    nav,
    h(
      "form",
      { id: "token-form", onsubmit: (e: Event) => { e.preventDefault(); void useToken(); } },
      tokenInput,
      h("button", { type: "submit", id: "token-use" }, "Use token"),
      h("button", { type: "button", id: "token-clear", onclick: () => { tokenInput.value = ""; void useToken(); } }, "Sign out"),
      roleBadge,
    ),
  );
  document.body.append(header, main);
  if (getToken()) tokenInput.placeholder = "token set (enter another to change)";
  await refreshRole();
  window.addEventListener("hashchange", show);
  show();
}

void start();
