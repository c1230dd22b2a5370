"""WebSocket fuzzing of /graphql/ws: random and malformed graphql-transport-ws and legacy
graphql-ws messages, in random orders, on connections with and without a session.

Checked per connection: the handshake is never answered 5xx; every JSON message is valid JSON and
every GraphQL error in it has a code from the list (as over HTTP); the server never closes with
1011 (internal error) for what a client sent; a connection still open answers a protocol ping
within the timeout; a message over WS_MAX_MESSAGE_BYTES closes the socket; the 101st live
subscription is refused; a subscriber hears the ticket it sees created.
"""

from __future__ import annotations

import base64
import json
import random
import time
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from common import ALLOWED_CODES, WS_MAX_MESSAGE_BYTES, WS_MAX_SUBSCRIPTIONS, Fuzzer, Req, _signature, gql_post
from gen import Pool, Values

T, L = "graphql-transport-ws", "graphql-ws"


class WsRun:
    """One connection: what was sent and received, for the checks and for findings."""

    def __init__(self, fz: Fuzzer, protocols: list[str] | None, headers: list[tuple[str, str]]):
        self.fz = fz
        self.protocols = protocols
        self.headers = headers
        self.sent: list[Any] = []
        self.received: list[str] = []
        self.close: tuple[int | None, str] | None = None  # (code, reason); code None: no close frame
        self.ws = None
        self.oversized_sent = False

    def req(self) -> Req:
        script = []
        for m in self.sent:
            if isinstance(m, bytes):
                script.append({"binary_b64": base64.b64encode(m).decode()})
            elif isinstance(m, tuple):
                script.append({"text_bytes_b64": base64.b64encode(m[1]).decode()})
            elif isinstance(m, dict):
                script.append(m)
            else:
                script.append(m)
        return Req("WS", "/graphql/ws", [("Sec-WebSocket-Protocol", ",".join(self.protocols or []))] + self.headers,
                   json.dumps({"protocols": self.protocols, "messages": script}, ensure_ascii=False).encode(),
                   note="websocket script")

    def open(self) -> bool:
        fz = self.fz
        fz.ws_connections += 1
        try:
            self.ws = connect(f"ws://{fz.host}:{fz.port}/graphql/ws", subprotocols=self.protocols,
                              additional_headers=self.headers, open_timeout=fz.timeout, close_timeout=2,
                              max_size=None, compression=None, ping_interval=None)
            return True
        except InvalidStatus as e:
            status = e.response.status_code
            fz.ws_close_hist[f"handshake {status}"] += 1
            if status >= 500:
                fz.finding("ws_handshake_5xx", str(status), f"the upgrade got {status}", self.req())
            return False
        except (InvalidHandshake, OSError, TimeoutError) as e:
            fz.ws_close_hist["handshake failed"] += 1
            fz.finding("ws_handshake_failed", type(e).__name__, f"the upgrade failed: {e!r}", self.req())
            return False

    def send(self, m: Any) -> bool:
        if self.close is not None:
            return False
        self.sent.append(m)
        self.fz.ws_messages_sent += 1
        try:
            if isinstance(m, str):
                self.ws.send(m)
            elif isinstance(m, tuple):  # ("text-bytes", raw): a text frame whose bytes are not UTF-8
                self.ws.send(m[1], text=True)
            else:
                self.ws.send(m)
            return True
        except ConnectionClosed as e:
            self.closed(e)
            return False
        except Exception as e:  # the client library refusing to send is not the server's doing
            self.sent.append({"note": f"the client could not send the message before: {e!r}"})
            return True

    def closed(self, e: ConnectionClosed) -> None:
        if self.close is None:
            self.close = (e.rcvd.code, e.rcvd.reason) if e.rcvd is not None else (None, "")

    def drain_until(self, needle: str, wait: float) -> bool:
        """Reads until a message containing `needle` arrives (True), or `wait` passes."""
        end = time.monotonic() + wait
        start = len(self.received)
        while self.close is None and time.monotonic() < end:
            self.drain(min(0.05, max(0.0, end - time.monotonic())))
            if any(needle in r for r in self.received[start:]):
                return True
        return False

    def drain(self, wait: float) -> None:
        end = time.monotonic() + wait
        while self.close is None:
            left = end - time.monotonic()
            try:
                m = self.ws.recv(timeout=max(0.0, left))
            except TimeoutError:
                return
            except ConnectionClosed as e:
                self.closed(e)
                return
            self.received.append(m if isinstance(m, str) else repr(m))
            self.fz.ws_messages_received += 1
            self.check_message(m)

    def check_message(self, m: Any) -> None:
        fz = self.fz
        try:
            msg = json.loads(m)
        except Exception:
            fz.finding("ws_invalid_json", "message", f"a WebSocket message that is not JSON: {m!r:.300}", self.req())
            return
        if not isinstance(msg, dict):
            fz.finding("ws_malformed", "not an object", f"{m!r:.300}", self.req())
            return
        kind = msg.get("type")
        payload = msg.get("payload")
        errors: list = []
        if kind in ("next", "data") and isinstance(payload, dict):
            errors = payload.get("errors") or []
        elif kind == "error":
            errors = payload if isinstance(payload, list) else [payload]
        elif kind == "connection_error":
            if not (isinstance(payload, dict) and isinstance(payload.get("extensions"), dict)
                    and payload["extensions"].get("code") in ALLOWED_CODES):
                fz.observe("ws_connection_error_without_code", "connection_error",
                           f"legacy connection_error payload without extensions.code: {json.dumps(payload)[:300]}",
                           self.req())
        req = None
        for err in errors:
            req = req or self.req()
            fz.check_error(err, req, None, req.text(), where="ws")

    def finish(self) -> None:
        """Closes politely; checks the close code and, when still open, that it still answers."""
        fz = self.fz
        if self.close is None and self.protocols == [T] and any(
                '"connection_ack"' in r for r in self.received):
            self.send(json.dumps({"type": "ping"}))
            got_pong = self.drain_until('"pong"', fz.timeout)
            if self.close is None and not got_pong:
                fz.finding("ws_hang", "no pong", f"no pong within {fz.timeout:.0f} s on an open connection",
                           self.req(), None, {"received": self.received[-20:]})
            if self.close is None and self.oversized_sent:
                fz.finding("ws_limit_not_enforced", "WS_MAX_MESSAGE_BYTES",
                           f"a message over WS_MAX_MESSAGE_BYTES ({WS_MAX_MESSAGE_BYTES}) did not close the "
                           "socket: it still answers ping", self.req(), None, {"received": self.received[-10:]})
        if self.close is None:
            try:
                self.ws.close()
            except Exception:
                pass
            code = "client closed"
        else:
            code, reason = self.close
            fz.ws_close_hist[f"{code} {_signature(reason)[:44]}".strip() if code is not None else "no close frame"] += 1
            code = code
            if code == 1011:
                fz.finding("ws_close_1011", reason[:80], f"the server closed with 1011 (internal error), "
                           f"reason {reason!r}, for what the client sent", self.req(), None,
                           {"received": self.received[-10:]})
            elif code is None:
                fz.observe("ws_abnormal_close", "no close frame", "the server dropped the connection without a "
                           "close frame", self.req(), None, {"received": self.received[-10:]})
            elif code == 1002 or (code == 1000 and self.protocols == [T] and not self.oversized_sent):
                fz.observe("ws_close_code", f"{code}", f"closed with {code} {reason!r} "
                           "(graphql-ws closes bad messages with 4400, refused inits with 4403)", self.req())
        if code == "client closed":
            fz.ws_close_hist["left open (client closed)"] += 1


def _sub_id(rng: random.Random, i: int) -> Any:
    roll = rng.random()
    if roll < 0.75:
        return str(i)
    return rng.choice(["", " ", "x" * rng.choice([1000, 60000]), 1, -1, None, {}, [], "1", "\x00", "😀" * 100, 1.5])


def subscribe_msg(proto: str, id_: Any, doc: str | None, vals: Values, rng: random.Random) -> str:
    payload: dict[str, Any] = {}
    if doc is not None:
        payload["query"] = doc
    if rng.random() < 0.3:
        payload["variables"] = rng.choice([vals.nasty(), {"id": vals.nasty()}, None])
    if rng.random() < 0.1:
        payload["operationName"] = rng.choice(["A", 1, None, ""])
    kind = "subscribe" if proto == T else "start"
    if rng.random() < 0.1:
        kind = "start" if kind == "subscribe" else "subscribe"
    body: dict[str, Any] = {"type": kind, "id": id_, "payload": payload}
    if rng.random() < 0.05:
        body["payload"] = rng.choice([None, "x", [], 1, {"query": 1}, {"query": None}])
    if rng.random() < 0.03:
        del body["id"]
    try:
        return json.dumps(body)
    except ValueError:
        return json.dumps({**body, "id": "nan"})


def random_message(proto: str, rng: random.Random, vals: Values, docs: list[str], next_id: int) -> Any:
    roll = rng.randrange(20)
    if roll < 8:
        return subscribe_msg(proto, _sub_id(rng, next_id), rng.choice(docs), vals, rng)
    if roll == 8:
        return json.dumps({"type": rng.choice(["complete", "stop"]), "id": rng.choice([str(next_id - 1), "nope", "", 1])})
    if roll == 9:
        return json.dumps({"type": rng.choice(["ping", "pong", "ka"]), "payload": rng.choice([None, {}, "x", [1]])})
    if roll == 10:
        return json.dumps({"type": rng.choice(["wat", "", "SUBSCRIBE", "connection_terminate", "connection_ack",
                                               "next", "error", "complete", None, 1])})
    if roll == 11:
        return rng.choice(["", "garbage", "{", "[]", "null", "1", '"x"', "{}", '{"type":', "\x00", "{\"type\":\"ping\"}" * 2])
    if roll == 12:
        return rng.randbytes(rng.randrange(1, 64))
    if roll == 13:
        return ("text-bytes", b"\xff\xfe" + rng.randbytes(8))
    if roll == 14:
        return json.dumps({"type": "connection_init", "payload": rng.choice([None, {}, "x", 1, []])})
    if roll == 15:
        return json.dumps({"type": "subscribe", "id": str(next_id), "payload": {"query": "{ " + "me { id } " * 3 + "}"}})
    if roll == 16:
        return subscribe_msg(proto, str(next_id), rng.choice(["{ __typename }", "mutation { signOut }",
                                                               "{ tickets(first: 0) { edges { cursor } } }",
                                                               "subscription { orderUpdated(id: \"x\") { id } }"]), vals, rng)
    if roll == 17:
        return json.dumps({"type": "subscribe", "id": str(next_id), "payload": {"query": rng.choice(docs)},
                           "extra": vals.deep(rng.choice([10, 200]))})
    if roll == 18:
        return json.dumps({"type": "subscribe", "id": str(next_id), "payload": {"query": "subscription { ticketCreated { id } }"}})
    return json.dumps(rng.choice([[], 1, "subscribe", None, {"id": "1"}, {"payload": {}}]))


def ws_connection(fz: Fuzzer, rng: random.Random, vals: Values, tokens: dict[str, str], pool: Pool,
                  docs: list[str]) -> WsRun:
    roll = rng.random()
    if roll < 0.6:
        protocols = [T]
    elif roll < 0.9:
        protocols = [L]
    else:
        protocols = rng.choice([None, ["foo"], [T, L], [L, "foo"], ["GRAPHQL-TRANSPORT-WS"], ["graphql-transport-ws2"]])
    headers: list[tuple[str, str]] = []
    if rng.random() < 0.15:
        headers.append(("Cookie", f"session={rng.choice(list(tokens.values()) + pool.bad_tokens[:3])}"))
    if rng.random() < 0.05:
        headers.append(("Origin", rng.choice(["http://evil.example", "null", f"http://{fz.host}:{fz.port}"])))
    run = WsRun(fz, protocols, headers)
    if not run.open():
        return run
    proto = protocols[0] if protocols else T
    # connection_init first, mostly; sometimes never, twice, or with a bad session.
    roll = rng.random()
    if roll < 0.75:
        payload: Any = {}
        r2 = rng.random()
        if r2 < 0.35:
            payload = {"authorization": f"Bearer {rng.choice(list(tokens.values()))}"}
        elif r2 < 0.45:
            payload = {rng.choice(["authorization", "Authorization"]): rng.choice(pool.bad_tokens + ["Bearer", "Bearer x"])}
        elif r2 < 0.5:
            payload = rng.choice([None, "x", 1, [], {"authorization": 1}, {"authorization": None}])
        run.send(json.dumps({"type": "connection_init", "payload": payload}))
        run.drain_until("connection_", 1.0)
        if rng.random() < 0.05:
            run.send(json.dumps({"type": "connection_init", "payload": {}}))
    n = rng.choice([1, 2, 4, 8, 12])
    for i in range(n):
        if run.close is not None:
            break
        if rng.random() < 0.03:
            size = rng.choice([WS_MAX_MESSAGE_BYTES + 1, WS_MAX_MESSAGE_BYTES * 2, WS_MAX_MESSAGE_BYTES * 20])
            pad = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(64)) * (size // 64 + 1)
            m = json.dumps({"type": "subscribe" if proto == T else "start", "id": f"big{i}",
                            "payload": {"query": "subscription { ticketCreated { id } } # " + pad[:size]}})
            run.oversized_sent = run.send(m) or run.oversized_sent
        else:
            run.send(random_message(proto, rng, vals, docs, i + 1))
        run.drain(0.01)
    run.drain(0.1)
    run.finish()
    fz.tick()
    return run


def ws_subscription_cap(fz: Fuzzer) -> None:
    """WS_MAX_SUBSCRIPTIONS live subscriptions on one socket; one more is BAD_USER_INPUT."""
    run = WsRun(fz, [T], [])
    if not run.open():
        return
    run.send(json.dumps({"type": "connection_init", "payload": {}}))
    run.drain_until("connection_ack", 5.0)
    for i in range(WS_MAX_SUBSCRIPTIONS + 1):
        run.send(json.dumps({"type": "subscribe", "id": f"s{i}", "payload": {"query": "subscription { ticketCreated { id } }"}}))
    # The server resolves the subscribes of one socket concurrently, so which one is refused is
    # not fixed: exactly one of the WS_MAX_SUBSCRIPTIONS + 1 must be, whatever its id.
    run.drain(3.0)
    refused = [r for r in run.received if "BAD_USER_INPUT" in r and "too many subscriptions" in r]
    if len(refused) != 1:
        fz.finding("ws_limit_not_enforced" if not refused else "ws_limit_wrong", "WS_MAX_SUBSCRIPTIONS",
                   f"{len(refused)} of {WS_MAX_SUBSCRIPTIONS + 1} subscriptions on one socket were refused "
                   "(exactly one must be)",
                   run.req(), None, {"received": (refused or run.received)[-5:], "close": run.close})
    run.finish()


def ws_events(fz: Fuzzer, token: str) -> None:
    """Sanity: a subscriber to ticketCreated hears a ticket created over HTTP."""
    run = WsRun(fz, [T], [])
    if not run.open():
        return
    run.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    run.drain_until("connection_ack", 5.0)
    run.send(json.dumps({"type": "subscribe", "id": "t", "payload": {"query": "subscription { ticketCreated { id title } }"}}))
    run.drain(0.3)
    _, data = fz.http(gql_post('mutation { createTicket(input: {title: "ws sanity", price: "5.00"}) { id } }', token=token))
    created = (((data or {}).get("data") or {}).get("createTicket") or {}).get("id")
    heard = bool(created) and run.drain_until(created, 5.0)
    if created and not heard:
        fz.finding("ws_no_event", "ticketCreated", "a subscriber to ticketCreated did not hear a new ticket within 5 s",
                   run.req(), None, {"received": run.received[-5:], "ticket": created})
    run.finish()


def ws_revoked_session(fz: Fuzzer) -> None:
    """A session signed out over HTTP loses its open socket: closed with 4403 within 5 s, and no
    private event reaches it after the sign-out (the orderCreated of the account's other session)."""
    email = f"fuzz-revoke-{time.monotonic_ns()}@example.com"
    sign_up = "mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token } }"
    sign_in = "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }"
    _, data = fz.http(gql_post(sign_up, {"e": email, "p": "correct horse battery"}))
    token = (((data or {}).get("data") or {}).get("signUp") or {}).get("token")
    _, data = fz.http(gql_post(sign_in, {"e": email, "p": "correct horse battery"}))
    other = (((data or {}).get("data") or {}).get("signIn") or {}).get("token")
    if not token or not other:
        return
    run = WsRun(fz, [T], [])
    if not run.open():
        return
    run.send(json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}))
    run.drain_until("connection_ack", 5.0)
    run.send(json.dumps({"type": "subscribe", "id": "mine", "payload": {"query": "subscription { userUpdated { id email } }"}}))
    run.drain(0.3)
    fz.http(gql_post("mutation { signOut }", token=token))
    # The account's other session changes its password: an event the revoked socket must not hear.
    fz.http(gql_post('mutation { changePassword(currentPassword: "correct horse battery", newPassword: "correct horse battery 2") { id } }',
                     token=other))
    end = time.monotonic() + 5.0
    while run.close is None and time.monotonic() < end:
        run.drain(0.1)
    heard = [r for r in run.received if '"next"' in r]
    if heard:
        fz.finding("ws_revoked_session_heard", "after signOut", "a socket whose session was signed out heard a "
                   "private event", run.req(), None, {"received": heard[-5:]})
    if run.close is None or run.close[0] != 4403:
        fz.finding("ws_revoked_session_open", "after signOut", f"a socket whose session was signed out was not "
                   f"closed with 4403 within 5 s (close: {run.close})", run.req(), None, {"received": run.received[-5:]})
    run.finish()
