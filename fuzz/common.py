"""Transport, property checks and bookkeeping shared by every fuzz category.

Every HTTP exchange goes through `Fuzzer.http()`, which sends one request, checks the properties
of its answer (see README.md, "What is checked") and records what it saw: counts per category,
status codes, error codes, findings (which fail the run), `INTERNAL_SERVER_ERROR`s with a clean
message (suspicious, listed apart) and observations (worth a look, never failing).
"""

from __future__ import annotations

import base64
import collections
import http.client
import json
import os
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

# The API's error codes: a copy of api/src/error.rs `code::ALL`, checked against it by the
# integration test contract::every_copy_of_the_error_codes_is_the_list.
ALLOWED_CODES = {
    "UNAUTHENTICATED",
    "FORBIDDEN",
    "NOT_FOUND",
    "BAD_USER_INPUT",
    "CONFLICT",
    "PAYMENT_FAILED",
    "RATE_LIMITED",
    "PERSISTED_QUERY_NOT_FOUND",
    "INTERNAL_SERVER_ERROR",
}
INTERNAL_MESSAGE = "internal server error"

# Statuses a client's garbage may get from /graphql: 200 with GraphQL errors, or an HTTP-level
# refusal. 414/431 are hyper's own refusals of an oversized request line or header block.
GRAPHQL_STATUSES = {200, 400, 405, 413, 414, 415, 431}
# Other paths (the web UI placeholder, /healthz, /metrics, /readyz, the Stripe webhook) may also
# answer 404 (webhook without a secret) or 403 (a WebSocket upgrade from a foreign Origin).
OTHER_STATUSES = GRAPHQL_STATUSES | {403, 404}

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH_SIZE = 10
MAX_ROOT_FIELDS = 10
MAX_QUERY_DEPTH = 16
MAX_QUERY_COMPLEXITY = 2000
WS_MAX_MESSAGE_BYTES = 64 * 1024
WS_MAX_SUBSCRIPTIONS = 100

# Text that must never reach a client unless the client sent it itself: SQL, ORM and driver
# names, Rust panics and source locations, file paths, password hashes.
LEAK_PATTERNS = [
    re.compile(p)
    for p in (
        r"sqlx",
        r"sea_orm|sea-orm|SeaORM|DbErr",
        r"RedisError|redis::",
        r"anyhow",
        r"panicked",
        r"stack backtrace|RUST_BACKTRACE",
        r"called `(?:Option|Result)::unwrap",
        r"thread '[^']*'",
        r"\bSELECT\b[^\n]{0,200}?\bFROM\b",
        r"\bINSERT INTO\b",
        r"\bUPDATE\s+\"?\w+\"?\s+SET\b",
        r"\bDELETE FROM\b",
        r"SQLITE_|SqliteError|sqlite3?::|no such (?:table|column)|UNIQUE constraint",
        r"\.rs:\d+",
        r"(?<![\w.])/(?:home|root|usr|tmp|var|src|rustc|cargo|proc|etc)/",
        r"\$argon2",
        r"tokio-runtime-worker",
    )
]


def leaks(text: str, request_text: str = "") -> list[str]:
    """The leak patterns `text` matches that the request itself did not contain."""
    found = []
    for pattern in LEAK_PATTERNS:
        for m in pattern.finditer(text):
            if m.group(0) not in request_text:
                found.append(m.group(0)[:120])
                break
    return found


@dataclass
class Req:
    method: str
    path: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    chunked: bool = False
    # A request whose body is over MAX_BODY_BYTES: the server may answer 413 before reading it
    # all and close the connection, so a reset while sending is allowed.
    may_reset: bool = False
    note: str = ""

    def to_json(self, limit: int | None = None) -> dict:
        body = self.body if limit is None else self.body[:limit]
        out: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "headers": [list(h) for h in self.headers],
            "body_len": len(self.body),
        }
        try:
            out["body"] = body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_b64"] = base64.b64encode(body).decode()
        if limit is not None and len(self.body) > limit:
            out["body_truncated"] = True
        if self.chunked:
            out["chunked"] = True
        if self.note:
            out["note"] = self.note
        return out

    @staticmethod
    def from_json(d: dict) -> "Req":
        body = d["body"].encode("utf-8") if "body" in d else base64.b64decode(d.get("body_b64", ""))
        return Req(
            d["method"], d["path"], [tuple(h) for h in d.get("headers", [])], body, d.get("chunked", False)
        )

    def text(self) -> str:
        """What the client sent, as text, for telling echoed input from a leak."""
        t = urllib.parse.unquote_plus(self.path) + "\n" + self.body.decode("utf-8", "replace")
        try:  # JSON escapes (\u0053ELECT) are what the server sees decoded
            t += "\n" + json.dumps(json.loads(self.body), ensure_ascii=False)
        except Exception:
            pass
        return t


@dataclass
class Resp:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    elapsed: float

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def to_json(self, limit: int = 20000) -> dict:
        return {
            "status": self.status,
            "headers": [list(h) for h in self.headers],
            "body": self.body[:limit].decode("utf-8", "replace"),
            "body_len": len(self.body),
            "elapsed_s": round(self.elapsed, 3),
        }


class TransportError(Exception):
    def __init__(self, kind: str, detail: str, elapsed: float, before_response: bool = False):
        super().__init__(f"{kind}: {detail}")
        self.before_response = before_response
        self.kind = kind  # "timeout" or "connection"
        self.detail = detail
        self.elapsed = elapsed


class HttpClient:
    """One keep-alive connection, re-opened after any error; full control over headers."""

    def __init__(self, host: str, port: int, timeout: float):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
        self.conn = None

    def send(self, req: Req, fresh: bool = False) -> Resp:
        """Like every HTTP client with a pool: a reused keep-alive connection that turns out to be
        closed already (the server may close after answering 413 without reading the body) is
        retried once on a new connection; a new connection failing is the server's doing."""
        if fresh:
            self.close()
        reused = self.conn is not None
        try:
            return self._send(req)
        except TransportError as e:
            if not reused or e.kind != "connection" or not e.before_response:
                raise
            return self._send(req)

    def _send(self, req: Req) -> Resp:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        conn = self.conn
        got_response = False
        t0 = time.monotonic()
        try:
            names = {k.lower() for k, _ in req.headers}
            conn.putrequest(req.method, req.path, skip_host="host" in names, skip_accept_encoding=True)
            for k, v in req.headers:
                conn.putheader(k, v)
            if req.chunked:
                if "transfer-encoding" not in names:
                    conn.putheader("Transfer-Encoding", "chunked")
                conn.endheaders()
                step = max(1, len(req.body) // 3 or 1)
                for i in range(0, len(req.body), step):
                    chunk = req.body[i : i + step]
                    conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                conn.send(b"0\r\n\r\n")
            else:
                if "content-length" not in names and (req.body or req.method in ("POST", "PUT", "PATCH")):
                    conn.putheader("Content-Length", str(len(req.body)))
                conn.endheaders()
                if req.body:
                    try:
                        conn.send(req.body)
                    except (BrokenPipeError, ConnectionResetError):
                        if not req.may_reset:
                            raise
                        # The server refused early (413); its answer may still be readable.
            r = conn.getresponse()
            got_response = True
            body = r.read()
            resp = Resp(r.status, r.getheaders(), body, time.monotonic() - t0)
            if r.will_close:
                self.close()
            return resp
        except (socket.timeout, TimeoutError) as e:
            self.close()
            raise TransportError("timeout", repr(e), time.monotonic() - t0)
        except (OSError, http.client.HTTPException) as e:
            self.close()
            before = not got_response and isinstance(
                e, (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected))
            raise TransportError("connection", repr(e), time.monotonic() - t0, before)


def gql_post(query: str | None, variables: Any = None, token: str | None = None, extra: dict | None = None) -> Req:
    body: dict[str, Any] = {}
    if query is not None:
        body["query"] = query
    if variables is not None:
        body["variables"] = variables
    if extra:
        body.update(extra)
    headers = [("Content-Type", "application/json")]
    if token:
        headers.append(("Authorization", f"Bearer {token}"))
    return Req("POST", "/graphql", headers, json.dumps(body).encode())


class Budget:
    def __init__(self, deadline: float):
        self.deadline = deadline  # time.monotonic() based

    def left(self) -> float:
        return self.deadline - time.monotonic()


class ServerGone(Exception):
    pass


class Fuzzer:
    """Sends requests, checks every answer, keeps the tallies and findings."""

    def __init__(self, host: str, port: int, pid: int | None, log_path: str | None, out_dir: str,
                 timeout: float = 10.0, strict: bool = False):
        self.host, self.port, self.pid = host, port, pid
        self.log_path = log_path
        self.log_pos = 0
        self.out_dir = out_dir
        self.timeout = timeout
        self.strict = strict
        self.client = HttpClient(host, port, timeout)
        self.seq = 0
        self.category = "setup"
        self.per_category: collections.Counter = collections.Counter()
        self.status_hist: collections.Counter = collections.Counter()
        self.status_by_category: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.code_hist: collections.Counter = collections.Counter()
        self.ws_close_hist: collections.Counter = collections.Counter()
        self.ws_messages_sent = 0
        self.ws_messages_received = 0
        self.ws_connections = 0
        self.findings: dict[str, dict] = {}
        self.internal: dict[str, dict] = {}
        self.observations: dict[str, dict] = {}
        self.log_events: list[dict] = []
        self.recent: collections.deque = collections.deque(maxlen=20)
        self.slowest: list[tuple[float, int, str]] = []
        self.dead = False
        self.last_health = time.monotonic()
        self.finding_files = 0
        self._counted_codes: set[str] = set()  # error codes of the answer being checked
        os.makedirs(os.path.join(out_dir, "findings"), exist_ok=True)

    # ---------- bookkeeping ----------

    def _store(self, table: dict, kind: str, signature: str, detail: str, req: Req | None,
               resp: Resp | None, extra: dict | None = None, keep: int = 3) -> None:
        # Observations are grouped across categories; findings per category.
        key = f"{kind}|{signature}" if table is self.observations else f"{kind}|{self.category}|{signature}"
        entry = table.get(key)
        if entry is None:
            entry = table[key] = {"kind": kind, "category": self.category, "signature": signature,
                                  "count": 0, "examples": []}
        entry["count"] += 1
        if len(entry["examples"]) < keep:
            ex: dict[str, Any] = {"seq": self.seq, "detail": detail}
            if req is not None:
                ex["request"] = req.to_json(limit=4000)
            if resp is not None:
                ex["response"] = resp.to_json(limit=4000)
            if extra:
                ex.update(extra)
            if req is not None and table is not self.observations:
                # The whole request, for replay.py.
                self.finding_files += 1
                path = os.path.join(self.out_dir, "findings", f"{self.finding_files:04d}-{kind}.json")
                with open(path, "w") as f:
                    json.dump({"kind": kind, "category": self.category, "detail": detail,
                               "request": req.to_json(),
                               "response": resp.to_json(limit=200000) if resp else None, **(extra or {})},
                              f, indent=1, ensure_ascii=False)
                ex["file"] = path
            entry["examples"].append(ex)

    def finding(self, kind: str, signature: str, detail: str, req: Req | None = None,
                resp: Resp | None = None, extra: dict | None = None) -> None:
        self._store(self.findings, kind, signature, detail, req, resp, extra)

    def observe(self, kind: str, signature: str, detail: str, req: Req | None = None,
                resp: Resp | None = None, extra: dict | None = None) -> None:
        self._store(self.observations, kind, signature, detail, req, resp, extra, keep=2)

    # ---------- the server's life ----------

    def server_alive(self) -> bool:
        if self.pid is None:
            return True
        try:
            with open(f"/proc/{self.pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            return state not in ("Z", "X")
        except OSError:
            return False

    def health(self, why: str = "periodic") -> bool:
        """GET /healthz on its own connection; a finding and ServerGone when the server is gone."""
        self.last_health = time.monotonic()
        c = HttpClient(self.host, self.port, self.timeout)
        try:
            r = c.send(Req("GET", "/healthz"))
            ok = r.status == 200
        except TransportError as e:
            ok = False
            r = None
            detail = str(e)
        finally:
            c.close()
        alive = self.server_alive()
        if ok and alive:
            return True
        self.dead = True
        self.finding(
            "server_down" if alive else "server_died",
            "healthz",
            f"/healthz failed ({why}); process {'alive' if alive else 'gone'}; the last requests follow",
            None,
            r,
            {"last_requests": list(self.recent), "log_tail": self.log_tail(60)},
        )
        raise ServerGone()

    def log_tail(self, n: int) -> list[str]:
        if not self.log_path:
            return []
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - 200_000))
                return f.read().decode("utf-8", "replace").splitlines()[-n:]
        except OSError:
            return []

    def scan_log(self, req: Req | None, resp: Resp | None) -> None:
        """New server log lines since the last look: panics and ERROR lines, tied to `req`."""
        if not self.log_path:
            return
        try:
            size = os.path.getsize(self.log_path)
        except OSError:
            return
        if size <= self.log_pos:
            return
        with open(self.log_path, "rb") as f:
            f.seek(self.log_pos)
            chunk = f.read(size - self.log_pos)
        # Only whole lines; the rest is read next time.
        cut = chunk.rfind(b"\n")
        if cut < 0:
            return
        self.log_pos += cut + 1
        for raw in chunk[: cut + 1].decode("utf-8", "replace").splitlines():
            level = None
            try:
                level = json.loads(raw).get("level")
            except Exception:
                pass
            panicked = "panicked" in raw
            if not panicked and level != "ERROR":
                continue
            event = {"seq": self.seq, "category": self.category, "line": raw[:4000],
                     "request": req.to_json(limit=2000) if req else None}
            self.log_events.append(event)
            if panicked:
                self.finding("panic", _signature(raw), "the server log says panicked while this request ran",
                             req, resp, {"log_line": raw[:4000]})

    def tick(self) -> None:
        """Between requests: the server must live; look at it every 2 s."""
        if time.monotonic() - self.last_health > 2.0:
            self.health()

    # ---------- HTTP ----------

    def http(self, req: Req, expect: Callable[[Req, Resp, Any], list[tuple[str, str]]] | None = None,
             fresh: bool = False) -> tuple[Resp | None, Any]:
        """Send, check, record. Returns the response and its parsed JSON (None when not JSON)."""
        if self.dead:
            raise ServerGone()
        self.seq += 1
        self.per_category[self.category] += 1
        summary = req.to_json(limit=600)
        summary["seq"] = self.seq
        summary["category"] = self.category
        self.recent.append(summary)
        try:
            resp = self.client.send(req, fresh=fresh)
        except TransportError as e:
            self.status_hist[e.kind] += 1
            self.status_by_category[self.category][e.kind] += 1
            self.scan_log(req, None)
            if e.kind == "timeout":
                self.finding("hang", "timeout", f"no answer within {self.timeout:.0f} s ({e.detail})", req, None,
                             {"elapsed_s": round(e.elapsed, 3)})
            elif req.may_reset:
                self.observe("reset_oversized", "reset", f"connection reset on an oversized body: {e.detail}", None)
            else:
                self.finding("connection_dropped", e.detail.split("(")[0],
                             f"the connection failed instead of an answer: {e.detail}", req, None)
            self.health("after a failed request")
            return None, None
        self.status_hist[resp.status] += 1
        self.status_by_category[self.category][resp.status] += 1
        if resp.elapsed > 2.0:
            self.slowest.append((round(resp.elapsed, 3), self.seq, json.dumps(req.to_json(limit=300))[:400]))
            self.slowest.sort(reverse=True)
            del self.slowest[10:]
        self._counted_codes = set()
        parsed = self.check(req, resp, expect)
        self.scan_log(req, resp)
        self.tick()
        return resp, parsed

    def check(self, req: Req, resp: Resp, expect) -> Any:
        path = req.path.split("?", 1)[0]
        is_graphql = path == "/graphql"
        if resp.status >= 500:
            self.finding("http_5xx", str(resp.status), f"status {resp.status} for client input", req, resp)
        elif resp.status not in (GRAPHQL_STATUSES if is_graphql else OTHER_STATUSES):
            self.finding("unexpected_status", f"{path} {resp.status}",
                         f"status {resp.status} is none of {sorted(GRAPHQL_STATUSES)}", req, resp)
        ctype = (resp.header("content-type") or "").lower()
        parsed = None
        if "json" in ctype and req.method != "HEAD":
            try:
                parsed = json.loads(resp.body)
            except Exception as e:
                self.finding("invalid_json", ctype, f"content-type says JSON but the body does not parse: {e}",
                             req, resp)
        elif is_graphql and resp.status != 200 and not (resp.status == 405 and req.method not in ("GET", "POST")):
            # An HTTP-level refusal that is not a GraphQL-shaped JSON error (axum's own 413, ...).
            self.observe("non_json_refusal", f"{req.method} {resp.status} {ctype or 'no content-type'}",
                         f"/graphql answered {resp.status} with {ctype or 'no content-type'} "
                         f"({resp.body[:120]!r}), not a GraphQL JSON error", req, resp)
        elif is_graphql and resp.status == 200 and "text/html" not in ctype and req.method != "HEAD":
            self.observe("non_json_answer", f"{req.method} {ctype or 'no content-type'}",
                         f"/graphql answered 200 with {ctype or 'no content-type'}", req, resp)
        request_text = None
        if parsed is not None and is_graphql:
            request_text = req.text()
            self.check_graphql(req, resp, parsed, request_text)
        # No internals anywhere in any answer (echoes of the request aside).
        body_text = resp.body[:300_000].decode("utf-8", "replace")
        if any(p.search(body_text) for p in LEAK_PATTERNS):
            request_text = request_text or req.text()
            found = leaks(body_text, request_text)
            if found and not ("text/html" in ctype and not is_graphql):
                self.finding("leak", found[0], f"the answer shows internals: {found}", req, resp)
        if expect is not None:
            for kind, detail in expect(req, resp, parsed):
                self.finding(kind, detail.split(":")[0][:80], detail, req, resp,
                             {"expect": getattr(expect, "spec", None)})
        return parsed

    def check_graphql(self, req: Req, resp: Resp, parsed: Any, request_text: str) -> None:
        items = parsed if isinstance(parsed, list) else [parsed]
        if isinstance(parsed, list):
            try:
                sent = json.loads(req.body)
                if isinstance(sent, list) and len(sent) != len(parsed):
                    self.finding("batch_mismatch", "length",
                                 f"a batch of {len(sent)} got {len(parsed)} answers", req, resp)
            except Exception:
                pass
        for item in items:
            if not isinstance(item, dict):
                self.finding("malformed_response", type(item).__name__, "a GraphQL answer that is not an object",
                             req, resp)
                continue
            if "data" not in item and "errors" not in item:
                self.finding("malformed_response", "no data nor errors", "a GraphQL answer with neither", req, resp)
            errors = item.get("errors")
            if errors is None:
                continue
            if not isinstance(errors, list) or not errors:
                self.finding("malformed_response", "errors not a list", f"errors is {errors!r:.200}", req, resp)
                continue
            for err in errors:
                self.check_error(err, req, resp, request_text)

    def check_error(self, err: Any, req: Req | None, resp: Resp | None, request_text: str,
                    where: str = "http") -> None:
        """One GraphQL error object, over HTTP or WebSocket."""
        if not isinstance(err, dict) or not isinstance(err.get("message"), str):
            self.finding("malformed_error", "no message", f"error without a string message: {err!r:.300}", req, resp)
            return
        ext = err.get("extensions")
        code = ext.get("code") if isinstance(ext, dict) else None
        counted = self._counted_codes
        if str(code) not in counted:
            counted.add(str(code))
            self.code_hist[str(code)] += 1
        message = err["message"]
        if code is None:
            self.finding("missing_code", _signature(message), f"error without extensions.code ({where}): "
                         f"{message[:300]}", req, resp)
            return
        if code not in ALLOWED_CODES:
            self.finding("unknown_code", str(code), f"extensions.code {code!r} is not in the list", req, resp)
            return
        if code == "BAD_USER_INPUT":
            fields = ext.get("fields")
            if not isinstance(fields, list):
                self.finding("bad_user_input_without_fields", _signature(message),
                             f"BAD_USER_INPUT without a fields list: {message[:300]}", req, resp)
            elif not all(isinstance(f, dict) and isinstance(f.get("field"), str)
                         and isinstance(f.get("message"), str) for f in fields):
                self.finding("bad_fields_shape", "fields", f"fields is not a list of {{field, message}}: "
                             f"{fields!r:.300}", req, resp)
        if code == "RATE_LIMITED":
            ra = ext.get("retryAfterSeconds")
            if not isinstance(ra, int) or isinstance(ra, bool) or ra < 0:
                self.finding("rate_limited_without_retry", "retryAfterSeconds",
                             f"RATE_LIMITED with retryAfterSeconds={ra!r}", req, resp)
        if code == "INTERNAL_SERVER_ERROR":
            blob = json.dumps(err, ensure_ascii=False)
            found = leaks(blob)
            if message != INTERNAL_MESSAGE or found:
                self.finding("internal_error_reveals", _signature(message),
                             f"INTERNAL_SERVER_ERROR whose message is {message[:300]!r} (leaks: {found})", req, resp)
            else:
                path = err.get("path")
                self._store(self.internal, "internal_server_error", json.dumps(path), f"path {path}", req, resp)
        else:
            found = leaks(message, request_text)
            if found:
                self.finding("leak", found[0], f"{code} message shows internals: {message[:400]!r}", req, resp)

    def result(self) -> dict:
        return {
            "requests": self.seq,
            "per_category": dict(self.per_category),
            "status_hist": {str(k): v for k, v in self.status_hist.items()},
            "status_by_category": {c: {str(k): v for k, v in h.items()} for c, h in self.status_by_category.items()},
            "code_hist": dict(self.code_hist),
            "ws": {"connections": self.ws_connections, "messages_sent": self.ws_messages_sent,
                   "messages_received": self.ws_messages_received,
                   "close_codes": {str(k): v for k, v in self.ws_close_hist.items()}},
            "findings": list(self.findings.values()),
            "internal_errors": list(self.internal.values()),
            "observations": list(self.observations.values()),
            "log_events": self.log_events[:200],
            "log_event_count": len(self.log_events),
            "slowest": self.slowest,
            "server_dead": self.dead,
        }


def _signature(text: str) -> str:
    """A finding's grouping key: the text with numbers, ids and quoted parts blurred."""
    t = re.sub(r'"[^"]*"', '"…"', text)
    t = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27,}", "<uuid>", t)
    t = re.sub(r"\d+", "N", t)
    return t[:100]
