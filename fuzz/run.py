"""The fuzz run against a server that scripts/fuzz started: setup through the API, then each
category for its share of the time budget, then results.json for report.py.

    python fuzz/run.py --port P --pid PID --log server.log --out DIR --seed S --seconds N
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
import traceback
import urllib.parse
import zlib

import hypothesis
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed

import gen
import ws_fuzz
from common import Fuzzer, Req, ServerGone, gql_post
from gen import Pool, Values

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "correct horse battery"

# Share of the time budget per category, in this order.
PHASES = [
    ("limits", 0.05),
    ("hypothesis_queries", 0.16),
    ("hypothesis_mutations", 0.14),
    ("hypothesis_negative", 0.08),
    ("variables", 0.13),
    ("mutated_documents", 0.10),
    ("json_bodies", 0.08),
    ("http_misc", 0.07),
    ("get_requests", 0.05),
    ("websocket", 0.14),
]


def sub_seed(seed: int, name: str) -> int:
    return (seed * 1_000_003 + zlib.crc32(name.encode())) % (2**32)


class Sessions:
    """The harness's accounts: A and B (sellers and buyers), C (spare). A token that a fuzzed
    document may have revoked (signOut, changePassword) is replaced before it is used again; an
    account whose password a document changed, or that got rate-limited, is replaced by a new one."""

    def __init__(self, fz: Fuzzer):
        self.fz = fz
        self.creds: dict[str, tuple[str, str]] = {}
        self.tokens: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}
        self.revoked: str = ""
        self.stale: set[str] = set()
        self.generation = 0

    def sign_up(self, slot: str) -> None:
        self.generation += 1
        email = f"fuzz-{slot.lower()}{self.generation}@example.com"
        _, data = self.fz.http(gql_post(
            "mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token user { id } } }",
            {"e": email, "p": PASSWORD}))
        payload = ((data or {}).get("data") or {}).get("signUp")
        if not payload:
            raise RuntimeError(f"setup: signUp failed: {data}")
        self.creds[slot] = (email, PASSWORD)
        self.tokens[slot] = payload["token"]
        self.user_ids[slot] = payload["user"]["id"]

    def sign_in(self, slot: str) -> None:
        email, password = self.creds[slot]
        _, data = self.fz.http(gql_post(
            "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
            {"e": email, "p": password}))
        payload = ((data or {}).get("data") or {}).get("signIn")
        if payload:
            self.tokens[slot] = payload["token"]
        else:
            self.sign_up(slot)

    def token(self, slot: str) -> str:
        if slot in self.stale:
            self.stale.discard(slot)
            saved = self.fz.category
            self.fz.category = "session_refresh"
            try:
                self.sign_in(slot)
            finally:
                self.fz.category = saved
        return self.tokens[slot]

    def headers(self, auth: str, pool: Pool, rng_pick: int, text: str = "") -> tuple[list[tuple[str, str]], str | None]:
        """Headers for an auth mode, and the slot whose session the request may end. A request
        that may end its session (`text` mentions signOut or changePassword) gets C's instead of
        A's or B's, so that A and B keep theirs."""
        if auth in ("A", "B") and ("signOut" in text or "changePassword" in text):
            auth = "C"
        if auth in ("A", "B", "C"):
            return [("Authorization", f"Bearer {self.token(auth)}")], auth
        if auth == "cookie":
            return [("Cookie", f"session={self.token('C')}")], "C"
        if auth == "bad":
            return [("Authorization", f"Bearer {pool.bad_tokens[rng_pick % len(pool.bad_tokens)]}")], None
        if auth == "revoked":
            return [("Authorization", f"Bearer {self.revoked}")], None
        return [], None

    def after(self, slot: str | None, doc: str) -> None:
        if slot and ("signOut" in doc or "changePassword" in doc):
            self.stale.add(slot)


def setup(fz: Fuzzer) -> tuple[Sessions, Pool]:
    """Accounts, tickets, orders (paid, cancelled, reserved) and cursors, through the API."""
    fz.category = "setup"
    s = Sessions(fz)
    for slot in ("A", "B", "C"):
        s.sign_up(slot)
    # A revoked token: a second session of C, signed out.
    email, password = s.creds["C"]
    _, data = fz.http(gql_post('mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }',
                               {"e": email, "p": password}))
    s.revoked = data["data"]["signIn"]["token"]
    fz.http(gql_post("mutation { signOut }", token=s.revoked))
    pool = Pool(bad_tokens=gen.make_bad_tokens())
    tickets: dict[str, list[str]] = {"A": [], "B": []}
    for slot, n in (("A", 6), ("B", 3)):
        for i in range(n):
            _, data = fz.http(gql_post(
                "mutation($t: String!, $p: Decimal!) { createTicket(input: {title: $t, price: $p}) { id } }",
                {"t": f"Fuzz ticket {slot}{i}", "p": f"{10 + i}.50"}, token=s.tokens[slot]))
            tickets[slot].append(data["data"]["createTicket"]["id"])
    order_q = "mutation($t: ID!) { createOrder(ticketId: $t) { id } }"
    orders = []
    for t in tickets["A"][:3]:
        _, data = fz.http(gql_post(order_q, {"t": t}, token=s.tokens["B"]))
        orders.append(data["data"]["createOrder"]["id"])
    _, data = fz.http(gql_post('mutation($o: ID!) { payOrder(orderId: $o, token: "tok_visa") { id } }',
                               {"o": orders[0]}, token=s.tokens["B"]))
    charge = ((data.get("data") or {}).get("payOrder") or {}).get("id")
    fz.http(gql_post('mutation($o: ID!) { cancelOrder(id: $o) { id } }', {"o": orders[1]}, token=s.tokens["B"]))
    # orders[2] stays reserved and expires after ORDER_TTL_SECONDS, during the run.
    _, data = fz.http(gql_post(order_q, {"t": tickets["B"][0]}, token=s.tokens["A"]))
    orders.append(data["data"]["createOrder"]["id"])
    cursors = []
    for q, tok in (("{ tickets(first: 2) { pageInfo { endCursor } } }", None),
                   ("{ orders(first: 1) { pageInfo { endCursor } } }", s.tokens["B"])):
        _, data = fz.http(gql_post(q, token=tok))
        conn = next(iter(data["data"].values()))
        if conn["pageInfo"]["endCursor"]:
            cursors.append(conn["pageInfo"]["endCursor"])
    pool.user_ids = list(s.user_ids.values())
    pool.ticket_ids = tickets["A"] + tickets["B"]
    pool.order_ids = orders
    pool.charge_ids = [charge] if charge else []
    pool.cursors = cursors
    pool.emails = [c[0] for c in s.creds.values()]
    pool.passwords = [PASSWORD]
    return s, pool


def throttle_race(fz: Fuzzer) -> None:
    """Concurrency against the sign-in throttle: 100 wrong passwords for one email sent at once
    get at most 10 verdicts (UNAUTHENTICATED); the rest are RATE_LIMITED."""
    import concurrent.futures
    import http.client

    email = f"fuzz-throttle-{time.monotonic_ns()}@example.com"
    fz.http(gql_post("mutation($e: String!, $p: String!) { signUp(email: $e, password: $p) { token } }",
                     {"e": email, "p": PASSWORD}))
    body = lambda n: json.dumps({"query": "mutation($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }",
                                 "variables": {"e": email, "p": f"wrong {n}"}})

    def guess(n: int) -> str:
        conn = http.client.HTTPConnection(fz.host, fz.port, timeout=fz.timeout)
        try:
            conn.request("POST", "/graphql", body(n), {"Content-Type": "application/json"})
            data = json.loads(conn.getresponse().read())
            return ((data.get("errors") or [{}])[0].get("extensions") or {}).get("code") or "none"
        except Exception as e:  # noqa: BLE001 - a transport failure is counted, not raised
            return f"transport {type(e).__name__}"
        finally:
            conn.close()

    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        codes = list(pool.map(guess, range(100)))
    verdicts = codes.count("UNAUTHENTICATED")
    if verdicts > 10:
        fz.finding("limit_not_enforced", "sign-in throttle race",
                   f"{verdicts} of 100 concurrent wrong passwords for one email were judged (at most 10)",
                   gql_post("mutation { signIn }"), None, {"codes": sorted(set(codes))})


class Harness:
    def __init__(self, args):
        self.args = args
        self.seed = args.seed
        self.fz = Fuzzer("127.0.0.1", args.port, args.pid, args.log, args.out, timeout=args.timeout)
        self.deadline = time.monotonic() + args.seconds
        self.corpus: list[str] = list(gen.SEED_DOCS)
        self.mutation_docs: list[str] = []
        self.phase_times: dict[str, float] = {}
        self.schema = gen.load_schema(args.schema)

    def remember(self, doc: str, rng: random.Random) -> None:
        if len(doc) > 20000:
            return
        if len(self.corpus) < 400:
            self.corpus.append(doc)
        else:
            self.corpus[rng.randrange(len(self.corpus))] = doc

    # ---------- Hypothesis-driven categories ----------

    def hypothesis_loop(self, name: str, strategy, handle, until: float, batch: int = 40) -> None:
        rounds = 0
        while time.monotonic() < until and not self.fz.dead:

            @hypothesis_seed(sub_seed(self.seed, f"{name}/{rounds}"))
            @settings(max_examples=batch, database=None, phases=[Phase.generate], deadline=None,
                      suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet,
                      report_multiple_bugs=False, derandomize=False)
            @given(strategy)
            def body(example):
                if time.monotonic() >= until or self.fz.dead:
                    return
                handle(example)

            body()
            rounds += 1

    def send_document(self, doc: str, auth: str, variant: int, is_mutation: bool, rng: random.Random) -> None:
        headers, slot = self.sessions.headers(auth, self.pool, variant, doc)
        base = [("Content-Type", "application/json")]
        if variant <= 6:
            req = Req("POST", "/graphql", base + headers, gen.dumps({"query": doc}).encode())
            self.fz.http(req)
        elif variant == 7:
            from urllib.parse import urlencode
            req = Req("GET", "/graphql?" + urlencode({"query": doc}), headers)
            self.fz.http(req, expect=get_mutation_refused if is_mutation else get_must_not_mutate)
        elif variant == 8:
            batch = [{"query": doc}] + [{"query": rng.choice(self.corpus)} for _ in range(rng.randrange(1, 4))]
            # A batch must not sign the harness out either.
            if any("signOut" in b["query"] or "changePassword" in b["query"] for b in batch[1:]):
                self.sessions.after(slot, "signOut")
            self.fz.http(Req("POST", "/graphql", base + headers, gen.dumps(batch).encode()))
        else:
            self.fz.http(Req("POST", "/graphql", base + headers,
                             gen.dumps({"query": doc, "operationName": None, "variables": {}}).encode()))
        self.sessions.after(slot, doc)

    def phase_hypothesis(self, name: str, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, name + "/rng"))
        key = {"hypothesis_queries": "queries", "hypothesis_mutations": "mutations",
               "hypothesis_negative": "negative"}[name]
        strategy = self.strategies[key]

        def handle(example):
            doc, auth, variant = example
            is_mutation = doc.lstrip().startswith("mutation")
            if is_mutation and len(self.mutation_docs) < 200:
                self.mutation_docs.append(doc)
            self.remember(doc, rng)
            self.send_document(doc, auth, variant, is_mutation, rng)

        self.hypothesis_loop(name, strategy, handle, until)

    # ---------- random.Random-driven categories ----------

    def phase_variables(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "variables"))
        vals = Values(rng, self.pool)
        tpls = [t for t in gen.templates(self.schema) if t.kind != "subscription"]
        while time.monotonic() < until and not self.fz.dead:
            t = rng.choice(tpls)
            doc, variables, _ = gen.variables_request(t, vals)
            auth = rng.choice(gen.AUTHS)
            headers, slot = self.sessions.headers(auth, self.pool, rng.randrange(100), doc)
            body = {"query": doc}
            if variables is not None or rng.random() < 0.5:
                body["variables"] = variables
            raw = gen.dumps(body).encode()
            path = "/graphql"
            if t.kind == "query" and rng.random() < 0.15 and len(raw) < 30000:
                from urllib.parse import urlencode
                self.fz.http(Req("GET", "/graphql?" + urlencode({"query": doc, "variables": gen.dumps(variables)}), headers))
            else:
                self.fz.http(Req("POST", path, [("Content-Type", "application/json")] + headers, raw,
                                 may_reset=len(raw) > 1024 * 1024))
            self.sessions.after(slot, doc)

    def phase_mutated(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "mutated"))
        while time.monotonic() < until and not self.fz.dead:
            doc = gen.mutate_doc(rng.choice(self.corpus), rng, self.corpus)
            auth = rng.choice(["none", "none", "A", "B", "bad"])
            if rng.random() < 0.9:
                body = gen.dumps({"query": doc}).encode()
            else:  # the mutation applied to the whole JSON body
                body = gen.mutate_doc(gen.dumps({"query": rng.choice(self.corpus)}), rng, self.corpus).encode()
            headers, slot = self.sessions.headers(auth, self.pool, rng.randrange(100),
                                                  body.decode("utf-8", "replace"))
            self.fz.http(Req("POST", "/graphql", [("Content-Type", "application/json")] + headers, body))
            self.sessions.after(slot, body.decode("utf-8", "replace"))

    def phase_json(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "json"))
        vals = Values(rng, self.pool)
        while time.monotonic() < until and not self.fz.dead:
            body, label = gen.json_body(rng, self.corpus, vals)
            # Random documents may sign out: only ever with no session or a spare one.
            auth = rng.choice(["none", "C"])
            headers, slot = self.sessions.headers(auth, self.pool, 0)
            self.fz.http(Req("POST", "/graphql", [("Content-Type", "application/json")] + headers, body,
                             may_reset=len(body) > 1024 * 1024, note=label))
            self.sessions.after(slot, body.decode("utf-8", "replace"))

    def phase_http_misc(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "http_misc"))
        tokens = {"C": self.sessions.token("C")}
        while time.monotonic() < until and not self.fz.dead:
            req = gen.http_misc(rng, self.corpus, tokens, self.pool)
            # Oddly framed requests each get a connection of their own.
            self.fz.http(req, fresh=True)
            if tokens["C"] in str(req.headers):
                self.sessions.after("C", req.body.decode("utf-8", "replace"))
                tokens["C"] = self.sessions.token("C")

    def phase_get(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "get"))
        vals = Values(rng, self.pool)
        while time.monotonic() < until and not self.fz.dead:
            req, is_mutation = gen.get_request(rng, self.corpus, self.mutation_docs, vals)
            if rng.random() < 0.3:
                req.headers.append(("Authorization", f"Bearer {self.sessions.token('C')}"))
                # A GET never runs a mutation; should one slip through, the token is renewed.
                self.sessions.after("C", urllib.parse.unquote_plus(req.path))
            self.fz.http(req, expect=get_mutation_refused if is_mutation else get_must_not_mutate)

    def phase_limits(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "limits"))
        # First, whatever the phase's share: it takes a second or two.
        throttle_race(self.fz)
        for label, req, expectation in gen.limit_probes(rng):
            if time.monotonic() >= until or self.fz.dead:
                break
            req.note = f"limit probe: {label}"
            self.fz.http(req, expect=limit_expectation(label, expectation), fresh=req.may_reset)

    def phase_websocket(self, until: float) -> None:
        rng = random.Random(sub_seed(self.seed, "websocket"))
        vals = Values(rng, self.pool)
        # Subscription documents from the schema (the Subscription type through hypothesis-graphql).
        subs: list[str] = []

        def collect(doc):
            if len(subs) < 80:
                subs.append(doc)

        self.hypothesis_loop("subscriptions", self.strategies["subscriptions"], collect,
                             min(until, time.monotonic() + 3), batch=80)
        docs = subs + [d for d in self.corpus[:60]] + ["subscription { ticketCreated { id } }"]
        tokens = {k: self.sessions.token(k) for k in ("A", "B")}
        ws_fuzz.ws_events(self.fz, tokens["A"])
        ws_fuzz.ws_subscription_cap(self.fz)
        ws_fuzz.ws_revoked_session(self.fz)
        while time.monotonic() < until and not self.fz.dead:
            run = ws_fuzz.ws_connection(self.fz, rng, vals, tokens, self.pool, docs)
            # Documents sent over a signed-in socket may sign its session out: renew it.
            for k, tok in list(tokens.items()):
                if run is not None and tok in str(run.sent) + str(run.headers) and (
                        "signOut" in str(run.sent) or "changePassword" in str(run.sent)):
                    self.sessions.stale.add(k)
                    tokens[k] = self.sessions.token(k)

    # ---------- the run ----------

    def run(self) -> int:
        fz = self.fz
        status = "complete"
        try:
            fz.health("at start")
            self.sessions, self.pool = setup(fz)
            self.strategies = gen.doc_strategies(self.schema, self.pool)
            weights_left = sum(w for _, w in PHASES)
            for name, weight in PHASES:
                left = self.deadline - time.monotonic()
                until = time.monotonic() + max(0.0, left) * weight / weights_left
                weights_left -= weight
                fz.category = name
                t0 = time.monotonic()
                if name.startswith("hypothesis_"):
                    self.phase_hypothesis(name, until)
                else:
                    getattr(self, {"variables": "phase_variables", "mutated_documents": "phase_mutated",
                                   "json_bodies": "phase_json", "http_misc": "phase_http_misc",
                                   "get_requests": "phase_get", "limits": "phase_limits",
                                   "websocket": "phase_websocket"}[name])(until)
                self.phase_times[name] = round(time.monotonic() - t0, 1)
                print(f"  {name:<22} {self.phase_times[name]:>6.1f} s  {fz.per_category.get(name, 0):>6} requests",
                      file=sys.stderr, flush=True)
            fz.category = "final"
            fz.health("at the end")
        except ServerGone:
            status = "server gone"
        except Exception:
            status = "harness error"
            fz.harness_error = traceback.format_exc()[-6000:]
            print(fz.harness_error, file=sys.stderr)
        fz.scan_log(None, None)
        result = fz.result()
        result.update({
            "status": status, "seed": self.seed, "budget_seconds": self.args.seconds,
            "phase_seconds": self.phase_times, "hypothesis_version": hypothesis.__version__,
            "harness_error": getattr(fz, "harness_error", None),
        })
        with open(os.path.join(self.args.out, "results.json"), "w") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
        return 2 if status == "harness error" else 0


MUTATION_FIELDS = {"signUp", "signIn", "signOut", "changePassword", "createTicket", "updateTicket", "createOrder",
                   "cancelOrder", "payOrder"}


def get_must_not_mutate(req: Req, resp, parsed) -> list[tuple[str, str]]:
    """GET never runs a mutation: no answer to GET carries a mutation field's result."""
    data = parsed.get("data") if isinstance(parsed, dict) else None
    if isinstance(data, dict) and MUTATION_FIELDS & set(data):
        return [("get_ran_mutation", f"GET ran a mutation: {json.dumps(parsed)[:300]}")]
    return []


def get_mutation_refused(req: Req, resp, parsed) -> list[tuple[str, str]]:
    """A GET whose only operation is a mutation: 405 Method Not Allowed (400 if it does not parse)."""
    out = get_must_not_mutate(req, resp, parsed)
    from urllib.parse import parse_qs, urlsplit
    import graphql
    params = parse_qs(urlsplit(req.path).query)
    try:
        graphql.parse(params["query"][0])
        parses = True
    except Exception:
        parses = False
    if parses and resp.status not in (405, 414, 431):
        out.append(("get_mutation_not_405", f"GET with a mutation answered {resp.status}, not 405: {resp.body[:300]!r}"))
    return out


get_must_not_mutate.spec = "get_must_not_mutate"
get_mutation_refused.spec = "get_mutation_refused"


def expectation_from_spec(spec: str | None):
    """The check a finding was made with (its `expect` field), for replay.py."""
    if not spec:
        return None
    if spec.startswith("limit\t"):
        _, label, expectation = spec.split("\t")
        return limit_expectation(label, expectation)
    return {"get_must_not_mutate": get_must_not_mutate, "get_mutation_refused": get_mutation_refused}.get(spec)


def limit_expectation(label: str, expectation: str):
    def check(req: Req, resp, parsed) -> list[tuple[str, str]]:
        errors = []
        if isinstance(parsed, dict):
            errors = parsed.get("errors") or []
        codes = {((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)}
        refused = resp.status in (400, 413) or ("BAD_USER_INPUT" in codes and not (parsed or {}).get("data"))
        if expectation == "refused" and not refused:
            return [("limit_not_enforced", f"{label}: expected a BAD_USER_INPUT refusal with no data, got "
                     f"{resp.status} {resp.body[:300]!r}")]
        if expectation == "ok" and resp.status != 200:
            return [("limit_too_strict", f"{label}: expected 200, got {resp.status} {resp.body[:300]!r}")]
        if expectation == "ok" and any("too many" in str(e.get("message", "")).lower() or "limit" in str(e.get("message", "")).lower()
                                       for e in errors if isinstance(e, dict)):
            return [("limit_too_strict", f"{label}: refused within the limit: {resp.body[:300]!r}")]
        if expectation.startswith("status:") and resp.status != int(expectation[7:]):
            return [("limit_not_enforced", f"{label}: expected status {expectation[7:]}, got {resp.status} "
                     f"{resp.body[:200]!r}")]
        if expectation.startswith("batch:"):
            n = int(expectation[6:])
            if resp.status != 200 or not isinstance(parsed, list) or len(parsed) != n:
                return [("limit_too_strict", f"{label}: expected {n} answers, got {resp.status} {resp.body[:200]!r}")]
        return []

    check.spec = f"limit\t{label}\t{expectation}"
    return check


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--log")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=80)
    p.add_argument("--timeout", type=float, default=10)
    p.add_argument("--schema", default=os.path.join(HERE, "..", "schema.graphql"))
    args = p.parse_args()
    return Harness(args).run()


if __name__ == "__main__":
    sys.exit(main())
