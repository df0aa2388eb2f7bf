// What every page gets: the role of the token, where to draw, and a way to
// register what must stop (timers, streams) when the user leaves the page.

import { Role } from "./api";

export interface Ctx {
  role: Role | null;
  main: HTMLElement;
  /** Called when the page is left. */
  onLeave(fn: () => void): void;
  /** Whether this page is still the one shown. */
  alive(): boolean;
  go(hash: string): void;
}

export type Page = (ctx: Ctx, arg: string) => void | Promise<void>;

/** Repeats `fn` every `ms` while the page is shown (and once now). */
export function every(ctx: Ctx, ms: number, fn: () => Promise<void> | void): void {
  let stopped = false;
  const tick = async () => {
    if (stopped || !ctx.alive()) return;
    try {
      await fn();
    } finally {
      if (!stopped && ctx.alive()) timer = window.setTimeout(tick, ms);
    }
  };
  let timer = window.setTimeout(tick, 0);
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });
}
