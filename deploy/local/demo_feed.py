#!/usr/bin/env python3
"""Feeds a running Cepheus (embedded log) a generated stream with planted incidents
and prints the alerts as they arrive on /alerts/stream. Python standard library only.

  demo_feed.py --url http://127.0.0.1:8080 [--batches 40] [--pause 0.4] [--seed 7]

Streams and rules: examples/fraud.cep (transactions: card_testing) and
examples/equipment.cep (machines: overheat_then_shutdown, vibration_high).
Event time runs 15 s per batch from the current time, so ten minutes of traffic
pass in about twenty seconds. Planted incidents (and only they) should alert:
  - cards c-1007 and c-2042: three tiny charges, then a big one from another country
  - machine m-03: four readings above 90 C, then a shutdown
  - machine m-05: two minutes of vibration around 9 mm/s
Exits 1 if a planted incident gave no alert, or an alert named a key nobody planted.
"""
import argparse
import datetime as dt
import json
import random
import sys
import threading
import time
import urllib.request

CARDS = [f"c-{1000 + i}" for i in range(1, 41)]
MACHINES = [f"m-{i:02d}" for i in range(1, 9)]
COUNTRIES = ["FR", "DE", "ES", "IT", "NL"]
SITES = {m: ("lyon" if i % 2 else "turin") for i, m in enumerate(MACHINES)}
BATCH_SECONDS = 15

EXPECTED = {
    ("card_testing", "c-1007"),
    ("card_testing", "c-2042"),
    ("overheat_then_shutdown", "m-03"),
    ("vibration_high", "m-05"),
}


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def generate(batches, seed):
    """Yields (transactions, machines) NDJSON lines per batch."""
    rnd = random.Random(seed)
    start = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    n = 0
    for b in range(batches):
        base = start + dt.timedelta(seconds=b * BATCH_SECONDS)
        tx, mx = [], []

        def t_at(sec):
            return iso(base + dt.timedelta(seconds=sec))

        def txn(card, amount, country, sec):
            nonlocal n
            n += 1
            tx.append((sec, {"id": f"t{n}", "card_id": card, "amount": round(amount, 2), "country": country,
                             "merchant": f"shop-{rnd.randint(1, 30)}", "ts": t_at(sec)}))

        # Ordinary card traffic: moderate amounts, never three tiny charges in a row.
        for _ in range(12):
            txn(rnd.choice(CARDS), rnd.uniform(5, 300), rnd.choice(COUNTRIES), rnd.uniform(0, BATCH_SECONDS - 1))
        # Planted card testing (c-2042 is not in CARDS: a stolen number probed from abroad).
        for card, at in (("c-1007", 6), ("c-2042", 24)):
            if b == at:
                for i, amt in enumerate((0.99, 1.00, 0.50)):
                    txn(card, amt, "FR", 1 + 3 * i)
            if b == at + 1:
                txn(card, 812.00 if card == "c-1007" else 1499.00, "US", 2)

        # Machines: one reading each every 3 s.
        for m in MACHINES:
            for k in range(BATCH_SECONDS // 3):
                sec = 3 * k + rnd.uniform(0, 0.5)
                temp, vib, status = rnd.uniform(55, 80), rnd.uniform(1, 4), "running"
                if m == "m-03" and b == 12 and k >= 1:
                    temp = 92 + 2 * k  # running hot...
                if m == "m-03" and b == 13:
                    temp, status = (96, "shutdown") if k == 0 else (30, "stopped")
                if m == "m-03" and b > 13:
                    temp, status = 25, "stopped"
                if m == "m-05" and 20 <= b < 28:
                    vib = rnd.uniform(8.5, 9.5)
                n += 1
                mx.append((sec, {"id": f"r{n}", "machine_id": m, "site": SITES[m], "temp_c": round(temp, 1),
                                 "vibration": round(vib, 2), "status": status, "ts": t_at(sec)}))
        tx.sort(key=lambda p: p[0])
        mx.sort(key=lambda p: p[0])
        lines_tx = [json.dumps(e) for _, e in tx]
        if b == 3:
            lines_tx.append('{"id": "broken", "card_id": ')  # one malformed line: counted, skipped
        yield [l for l in lines_tx], [json.dumps(e) for _, e in mx]


def post(url, lines):
    body = ("\n".join(lines) + "\n").encode()
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def listen(url, seen, ready, t0, stop):
    """Reads the SSE stream and prints each alert as it arrives."""
    try:
        with urllib.request.urlopen(url + "/alerts/stream", timeout=120) as r:
            ready.set()
            event, data = None, []
            for raw in r:
                if stop.is_set():
                    return
                line = raw.decode().rstrip("\n")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif line == "" and data:
                    if event == "alert":
                        a = json.loads("\n".join(data))
                        key = ",".join(str(v) for v in a.get("key", {}).values())
                        seen.append((a["rule"], key))
                        print(f"  [{time.time() - t0:5.1f}s] ALERT {a['severity']:<8} {a['rule']:<24} {a['message']}",
                              flush=True)
                    event, data = None, []
    except Exception as e:  # the server going away ends the demo anyway
        if not stop.is_set():
            print(f"alert stream ended: {e}", file=sys.stderr)
        ready.set()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--batches", type=int, default=40)
    ap.add_argument("--pause", type=float, default=0.4, help="seconds between batches")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--wait", type=float, default=10, help="seconds to wait for the last alerts")
    args = ap.parse_args()
    url = args.url.rstrip("/")

    seen, ready, stop, t0 = [], threading.Event(), threading.Event(), time.time()
    threading.Thread(target=listen, args=(url, seen, ready, t0, stop), daemon=True).start()
    ready.wait(10)
    print(f"feeding {args.batches} batches ({args.batches * BATCH_SECONDS // 60} min of event time) to {url}")
    totals = {"transactions": [0, 0], "machines": [0, 0]}
    for tx, mx in generate(args.batches, args.seed):
        for stream, lines in (("transactions", tx), ("machines", mx)):
            rep = post(f"{url}/streams/{stream}/events", lines)
            totals[stream][0] += rep.get("accepted", 0)
            totals[stream][1] += rep.get("malformed", 0)
        time.sleep(args.pause)
    for stream, (acc, bad) in totals.items():
        print(f"{stream}: {acc} events accepted, {bad} malformed")

    deadline = time.time() + args.wait
    while time.time() < deadline and not EXPECTED <= set(seen):
        time.sleep(0.2)
    stop.set()
    got = set(seen)
    missing, unplanted = EXPECTED - got, {k for k in got if k not in EXPECTED}
    print(f"{len(seen)} alerts; planted incidents found: {len(EXPECTED - missing)}/{len(EXPECTED)}")
    for rule, key in sorted(missing):
        print(f"MISSING: no {rule} alert for {key}")
    for rule, key in sorted(unplanted):
        print(f"UNEXPECTED: {rule} alert for {key}")
    sys.exit(1 if missing or unplanted else 0)


if __name__ == "__main__":
    main()
