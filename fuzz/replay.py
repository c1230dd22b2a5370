"""Sends one recorded request again (a file from a run's findings/ directory) and checks its answer
the way the run did.

    scripts/fuzz replay /tmp/tickets-fuzz.XXXX/findings/0001-http_5xx.json   # a fresh server
    python fuzz/replay.py --port 8080 FILE                                    # a running one

Ids in the request (tickets, orders, users) belong to the run's database: against a fresh server
they are unknown, which reproduces most input-handling bugs but not those that need the row.
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import tempfile

from common import Fuzzer, Req


def replay_ws(fz: Fuzzer, req: Req) -> None:
    import ws_fuzz

    script = json.loads(req.body)
    headers = []
    for k, v in req.headers:
        if k == "Sec-WebSocket-Protocol":
            continue
        if k == "Origin":  # the run's own origin is this server's now
            v = re.sub(r"^http://127\.0\.0\.1:\d+$", f"http://127.0.0.1:{fz.port}", v)
        headers.append((k, v))
    run = ws_fuzz.WsRun(fz, script.get("protocols"), headers)
    if not run.open():
        print("handshake refused")
        return
    for m in script["messages"]:
        if isinstance(m, dict) and "note" in m:
            continue
        if isinstance(m, dict) and "binary_b64" in m:
            m = base64.b64decode(m["binary_b64"])
        elif isinstance(m, dict) and "text_bytes_b64" in m:
            m = ("text-bytes", base64.b64decode(m["text_bytes_b64"]))
        run.send(m)
        run.drain(0.05)
    run.drain(0.5)
    run.finish()
    for m in run.received:
        print("<", m[:2000])
    print("close:", run.close)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--log")
    args = p.parse_args()
    with open(args.file) as f:
        finding = json.load(f)
    req = Req.from_json(finding["request"])
    print(f"recorded: [{finding['kind']}] {finding.get('detail', '')[:500]}")
    fz = Fuzzer("127.0.0.1", args.port, args.pid, args.log, tempfile.mkdtemp(prefix="tickets-replay."))
    fz.category = "replay"
    if req.method == "WS":
        replay_ws(fz, req)
    else:
        import run as harness
        resp, _ = fz.http(req, expect=harness.expectation_from_spec(finding.get("expect")), fresh=True)
        if resp is not None:
            print(f"status {resp.status}")
            for k, v in resp.headers:
                print(f"{k}: {v}")
            print(resp.body[:20000].decode("utf-8", "replace"))
    fz.scan_log(None, None)
    found = list(fz.findings.values())
    for f in found:
        print(f"REPRODUCED: [{f['kind']}] {f['examples'][0]['detail'][:500]}")
    for f in fz.internal.values():
        print(f"INTERNAL_SERVER_ERROR: {f['signature']}")
    for e in fz.log_events:
        print(f"server log: {e['line'][:1000]}")
    if not found:
        print("not reproduced: the answer passes every check")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
