"""The summary of a fuzz run, after the server stopped: results.json plus a full scan of the server
log. Exit status: 0 clean, 1 findings, 2 the harness itself failed.

    python fuzz/report.py --out DIR --log server.log [--server-exit N]

FUZZ_ALLOW=kind,kind  lists finding kinds that are reported but do not fail the run.
FUZZ_STRICT=1         also fails on INTERNAL_SERVER_ERRORs with a clean message and on ERROR log lines.
"""

from __future__ import annotations

import argparse
import json
import os
import sys


def scan_log(path: str) -> tuple[list[str], list[str], int]:
    panics, errors, warns = [], [], 0
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                level = None
                try:
                    level = json.loads(line).get("level")
                except Exception:
                    pass
                if "panicked" in line:
                    panics.append(line)
                elif level == "ERROR":
                    errors.append(line)
                elif level == "WARN":
                    warns += 1
    except OSError:
        pass
    return panics, errors, warns


def hist(d: dict, width: int = 34, top: int = 40) -> str:
    items = sorted(d.items(), key=lambda kv: (-kv[1], str(kv[0])))
    lines = [f"    {str(k)[:width]:<{width}} {v:>7}" for k, v in items[:top]]
    if len(items) > top:
        lines.append(f"    … {len(items) - top} more ({sum(v for _, v in items[top:])}) in results.json")
    return "\n".join(lines) or "    (none)"


def short(ex: dict, limit: int = 1500) -> str:
    out = []
    req = ex.get("request")
    if req:
        body = req.get("body", req.get("body_b64", ""))
        if len(body) > limit:
            body = body[:limit] + f"… ({req.get('body_len')} bytes)"
        hdrs = "; ".join(f"{k}: {v[:80]}" for k, v in req.get("headers", []))
        out.append(f"      request:  {req['method']} {req['path'][:300]}  [{hdrs}]" + (f"  ({req['note']})" if req.get("note") else ""))
        if body:
            out.append(f"      body:     {body}")
    resp = ex.get("response")
    if resp:
        out.append(f"      response: {resp['status']} {resp['body'][:limit]}")
    for key in ("log_line", "received", "last_requests", "elapsed_s"):
        if key in ex:
            val = json.dumps(ex[key], ensure_ascii=False)
            out.append(f"      {key}: {val[:limit]}")
    if ex.get("file"):
        out.append(f"      full request: {ex['file']}")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--server-exit", default="")
    p.add_argument("--seconds", default="")
    args = p.parse_args()
    allow = {k.strip() for k in os.environ.get("FUZZ_ALLOW", "").split(",") if k.strip()}
    strict = os.environ.get("FUZZ_STRICT") == "1"

    path = os.path.join(args.out, "results.json")
    try:
        with open(path) as f:
            r = json.load(f)
    except (OSError, ValueError) as e:
        print(f"fuzz: no results ({e}): the harness did not finish; see {args.out}")
        return 2
    panics, log_errors, warns = scan_log(args.log)

    print()
    print(f"=== API fuzzing: seed {r['seed']}, budget {r['budget_seconds']:.0f} s, status: {r['status']}"
          + (f", wall {args.seconds} s" if args.seconds else ""))
    print(f"  requests: {r['requests']} HTTP, {r['ws']['messages_sent']} WebSocket messages sent on "
          f"{r['ws']['connections']} connections ({r['ws']['messages_received']} received)")
    print("  HTTP requests per category:")
    print(hist(r["per_category"]))
    print("  phase seconds: " + ", ".join(f"{k} {v}" for k, v in r["phase_seconds"].items()))
    print("  HTTP status codes:")
    print(hist(r["status_hist"]))
    print("  GraphQL error codes (HTTP and WebSocket):")
    print(hist(r["code_hist"]))
    print("  WebSocket closes:")
    print(hist(r["ws"]["close_codes"], width=60, top=12))
    if r.get("slowest"):
        print("  slowest answers (s, seq, request):")
        for s, seq, req in r["slowest"][:5]:
            print(f"    {s:>6} #{seq} {req[:200]}")
    print(f"  server log: {len(panics)} panicked, {len(log_errors)} ERROR, {warns} WARN lines"
          + (f"; server exit status {args.server_exit}" if args.server_exit != "" else ""))

    failing, allowed = [], []
    for f in r["findings"]:
        (allowed if f["kind"] in allow else failing).append(f)
    # Panics seen only in the final log scan (e.g. while shutting down).
    if panics and not any(f["kind"] == "panic" for f in r["findings"]):
        failing.append({"kind": "panic", "category": "log", "signature": "log", "count": len(panics),
                        "examples": [{"detail": "panicked in the server log", "log_line": p[:2000]} for p in panics[:3]]})
    if r["status"] == "harness error":
        print("\n  HARNESS ERROR (not a server finding):\n" + (r.get("harness_error") or ""))

    def show(title: str, entries: list[dict]) -> None:
        print(f"\n  {title}: {len(entries)}")
        for f in entries:
            print(f"    - [{f['kind']}] {f['signature']}  (category {f['category']}, {f['count']}x)")
            for ex in f["examples"][:2]:
                print(f"      detail:   {ex.get('detail', '')[:600]}")
                print(short(ex))

    show("FINDINGS (fail the run)", failing)
    if allowed:
        show("findings allowed by FUZZ_ALLOW", allowed)
    internal = r["internal_errors"]
    show("INTERNAL_SERVER_ERROR with a clean message (suspicious for client input)", internal)
    if log_errors:
        print(f"\n  ERROR lines in the server log: {len(log_errors)} (first 5; those tied to a request are in results.json)")
        for line in log_errors[:5]:
            print(f"    {line[:600]}")
        tied = [e for e in r.get("log_events", []) if e.get("request")]
        for e in tied[:3]:
            req = e["request"]
            print(f"    during #{e['seq']} ({e['category']}): {req['method']} {req['path'][:100]} "
                  f"{(req.get('body') or '')[:400]}")
    obs = r["observations"]
    if obs:
        print(f"\n  observations (not failing): {len(obs)}")
        for o in obs:
            ex = o["examples"][0] if o["examples"] else {}
            print(f"    - [{o['kind']}] {o['signature']} ({o['count']}x): {ex.get('detail', '')[:300]}")
    print(f"\n  output: {args.out}  (results.json, findings/, server.log)")
    print(f"  reproduce: FUZZ_SEED={r['seed']} FUZZ_SECONDS={args.seconds or int(r['budget_seconds'])} scripts/fuzz;"
          f" one request: scripts/fuzz replay {args.out}/findings/<file>.json")

    fail = bool(failing) or r["status"] != "complete"
    if strict and (internal or log_errors):
        fail = True
    if r["status"] == "harness error" and not failing:
        print("\nfuzz: HARNESS ERROR")
        return 2
    n_fail = sum(f["count"] for f in failing)
    print(f"\nfuzz: {r['requests'] + r['ws']['messages_sent'] - n_fail} passed, {n_fail} failed"
          if fail else f"\nfuzz: {r['requests'] + r['ws']['messages_sent']} passed, 0 failed")
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
