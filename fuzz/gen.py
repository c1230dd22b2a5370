"""What the harness sends: Hypothesis strategies built from schema.graphql (hypothesis-graphql, with
strategies of our own for the custom scalars and for the values that matter to this API), and
seeded `random.Random` generators for everything that is not a well-formed document: wrong-typed
and huge variables, mutated documents, random JSON bodies, HTTP oddities, limit probes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import graphql
import hypothesis_graphql as hg
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from common import MAX_BODY_BYTES, Req


@dataclass
class Pool:
    """What the setup made through the API: ids, cursors, accounts. Fixed before strategies are
    built, so the choices among them depend on the seed only."""

    user_ids: list[str] = field(default_factory=list)
    ticket_ids: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    charge_ids: list[str] = field(default_factory=list)
    cursors: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    passwords: list[str] = field(default_factory=list)
    bad_tokens: list[str] = field(default_factory=list)

    def ids(self) -> list[str]:
        return self.user_ids + self.ticket_ids + self.order_ids + self.charge_ids


# ---------------------------------------------------------------- interesting values

WEIRD_IDS = [
    "", " ", "0", "-1", "null", "undefined", "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff", "01a211b1-7aff-700e-9073-d415620ed44", "01a211b1-7aff-700e-9073-d415620ed4488",
    "{01a211b1-7aff-700e-9073-d415620ed448}", "01A211B1-7AFF-700E-9073-D415620ED448", "urn:uuid:01a211b1-7aff-700e-9073-d415620ed448",
    "01a211b17aff700e9073d415620ed448", "g1a211b1-7aff-700e-9073-d415620ed448", "' OR '1'='1", "1; DROP TABLE tickets; --",
    "%", "_", "\\", "\x00", "a\x00b", "\u202e", "😀", "Ticket:1", "VGlja2V0OjE=", "x" * 300, "9" * 40,
]
PRICES = [
    "20.00", "0.01", "1", "1000000", "1000000.00", "1000000.01", "999999.99", "0", "0.00", "-0", "-0.00", "-1",
    "0.001", "0.005", "1.999", "1e309", "-1e309", "1e2", "1E2", "1e-2", "NaN", "nan", "Infinity", "-Infinity", "inf",
    "", " ", " 20.00 ", "20,00", "20.", ".5", "+5", "0x10", "1_000", "١٢٣", "20.00\x00", "9" * 60, "0." + "0" * 50 + "1",
    "79228162514264337593543950335", "79228162514264337593543950336", "-79228162514264337593543950336",
    "18446744073709551616", "9223372036854775807", "9223372036854775808", "abc", "1e", "e5", "--1", "1..2",
]
DATETIMES = ["2020-01-01T00:00:00Z", "2020-13-01T00:00:00Z", "not a date", "", "9999-12-31T23:59:59Z",
             "0000-01-01T00:00:00Z", "2020-01-01T00:00:00+25:00", "1e309"]
INTERESTING_STRINGS = [
    "tok_visa", "tok_chargeDeclined", "pm_card_visa", "pm_card_chargeDeclined", "tok_", "tok_visa\x00", "sk_test_x",
    "correct horse", "correct horse battery", "12345678", "1234567", "x" * 128, "x" * 129, "a@example.com",
    "A@EXAMPLE.COM", "a@b", "@example.com", "a@", "a @example.com", "a@example.com\x00", "a\u0000@example.com",
    "user+tag@example.com", "ünïcödé@exämple.com", "\"quoted\"@example.com", "a@[127.0.0.1]", "a@localhost",
    "", " ", "  \t\n ", "null", "true", "0", "-1", "' OR 1=1 --", "'; DROP TABLE users; --", "%", "%%", "_",
    "\\", "\\u0000", "${jndi:ldap://x}", "{{7*7}}", "<script>alert(1)</script>", "../../../../etc/passwd",
    "\x00", "\x00\x00\x00", "\ufeff", "\u202e", "\u200b", "\ud7ff", "\U0001F600" * 50, "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
    "e" * 1000, "\n" * 300, "Concert", " Concert ", "MA==", "YXJyYXljb25uZWN0aW9uOjA=", "dGlja2V0OjE=",
]
INTS = [0, 1, -1, 2, 19, 20, 21, 99, 100, 101, 1000, -100, 2**31 - 1, -(2**31), 2**15, 255, 256, 65535, 65536]
BIG_INTS = [2**31, -(2**31) - 1, 2**32, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**30, -(10**30)]


def make_bad_tokens() -> list[str]:
    """Bearer tokens that must all be refused: garbage, alg none, a wrong key, an expired shape."""

    def b64(d: bytes) -> str:
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()

    header = b64(json.dumps({"typ": "JWT", "alg": "HS256"}).encode())
    claims = b64(json.dumps({"sub": "01a211b1-7aff-700e-9073-d415620ed448", "jti": str(uuid.UUID(int=1)),
                             "iat": 1700000000, "exp": 4102444800}).encode())
    expired = b64(json.dumps({"sub": "01a211b1-7aff-700e-9073-d415620ed448", "jti": str(uuid.UUID(int=2)),
                              "iat": 1000000000, "exp": 1000000001}).encode())
    signed = lambda h, c, key: f"{h}.{c}." + b64(hmac.new(key, f"{h}.{c}".encode(), hashlib.sha256).digest())
    none = b64(json.dumps({"typ": "JWT", "alg": "none"}).encode())
    return [
        "", "x", "null", "Bearer", "a.b.c", "...", "eyJ.eyJ.sig", f"{none}.{claims}.", f"{none}.{claims}",
        signed(header, claims, b"secret"), signed(header, expired, b"secret"), signed(header, claims, b""),
        "x" * 5000, "\u00e9\u00e9", f"{header}.{claims}.{'A' * 43}",
    ]


# ---------------------------------------------------------------- Hypothesis strategies

def load_schema(path: str) -> graphql.GraphQLSchema:
    with open(path) as f:
        return graphql.build_schema(f.read())


def _obj(fields: dict[str, graphql.ValueNode]) -> graphql.ObjectValueNode:
    return graphql.ObjectValueNode(fields=tuple(
        graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=v) for k, v in fields.items()))


def custom_scalars(pool: Pool) -> dict[str, st.SearchStrategy]:
    """Value strategies by scalar name. ID, String and Int are ours too, so that documents hit real
    ids, real accounts, card tokens, cursors and boundary numbers, not only random text."""
    known_ids = pool.ids() or ["00000000-0000-0000-0000-000000000000"]
    id_text = st.one_of(
        st.sampled_from(known_ids),
        st.sampled_from(known_ids),
        st.uuids().map(str),
        st.sampled_from(WEIRD_IDS),
        st.text(max_size=40),
    )
    ids = st.one_of(id_text.map(nodes.String), st.sampled_from(INTS + BIG_INTS[:2]).map(nodes.Int))
    strings = st.one_of(
        st.text(max_size=60),
        st.sampled_from(INTERESTING_STRINGS + pool.emails + pool.passwords + pool.cursors + known_ids),
        st.emails().map(str),
        st.integers(min_value=100, max_value=20000).map(lambda n: "ß" * n),
    ).map(nodes.String)
    ints = st.one_of(
        st.sampled_from(INTS).map(nodes.Int),
        st.integers(min_value=-(2**31), max_value=2**31 - 1).map(nodes.Int),
        st.sampled_from(BIG_INTS).map(nodes.Int),
    )
    decimals = st.one_of(
        st.sampled_from(PRICES).map(nodes.String),
        st.decimals(min_value=-10, max_value=2_000_000, places=2, allow_nan=False).map(lambda d: nodes.String(str(d))),
        st.decimals(allow_nan=True, allow_infinity=True).map(lambda d: nodes.String(str(d))),
        st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float),
        st.sampled_from([0, 1, 20, -5, 10**7]).map(nodes.Int),
    )
    datetimes = st.sampled_from(DATETIMES).map(nodes.String)
    typenames = st.sampled_from(["Ticket", "Order", "User", "Charge", "Query", "Nope", "", "ticket"])
    any_ = st.one_of(
        st.builds(lambda t, i: _obj({"__typename": nodes.String(t), "id": i}), typenames, ids),
        st.builds(lambda i: _obj({"id": i}), ids),
        st.builds(lambda t: _obj({"__typename": nodes.String(t)}), typenames),
        st.builds(lambda t, i: _obj({"__typename": nodes.String(t), "id": _obj({"id": i})}), typenames, ids),
        ids,
        st.just(nodes.Boolean(True)),
    )
    return {"ID": ids, "String": strings, "Int": ints, "Decimal": decimals, "DateTime": datetimes, "_Any": any_}


def subscription_schema(schema: graphql.GraphQLSchema) -> graphql.GraphQLSchema:
    """The Subscription type as a query root, so hypothesis-graphql generates its documents too."""
    return graphql.GraphQLSchema(query=schema.subscription_type, types=list(schema.type_map.values()))


AUTHS = ["none", "none", "A", "A", "B", "B", "C", "bad", "revoked", "cookie"]


def doc_strategies(schema: graphql.GraphQLSchema, pool: Pool) -> dict[str, st.SearchStrategy]:
    cs = custom_scalars(pool)
    auth = st.sampled_from(AUTHS)
    return {
        "queries": st.tuples(hg.queries(schema, custom_scalars=cs), auth, st.integers(0, 9)),
        "mutations": st.tuples(hg.mutations(schema, custom_scalars=cs), auth, st.integers(0, 9)),
        "negative": st.tuples(hg.from_schema(schema, custom_scalars=cs, mode=hg.Mode.NEGATIVE), auth,
                              st.integers(0, 9)),
        "subscriptions": hg.queries(subscription_schema(schema), custom_scalars=cs).map(
            lambda d: "subscription " + d.lstrip() if d.lstrip().startswith("{") else d.replace("query", "subscription", 1)),
    }


# ---------------------------------------------------------------- variables from the schema

def selection(t: graphql.GraphQLOutputType, depth: int = 0) -> str:
    """A selection of every scalar field of `t`, and of its object fields down to depth 2."""
    t = graphql.get_named_type(t)
    if isinstance(t, (graphql.GraphQLScalarType, graphql.GraphQLEnumType)):
        return ""
    if isinstance(t, graphql.GraphQLUnionType):
        return "{ __typename " + " ".join(f"... on {m.name} {{ id }}" for m in t.types) + " }"
    parts = ["__typename"]
    for name, f in t.fields.items():
        inner = graphql.get_named_type(f.type)
        if isinstance(inner, (graphql.GraphQLScalarType, graphql.GraphQLEnumType)):
            if not f.args or not any(graphql.is_non_null_type(a.type) for a in f.args.values()):
                parts.append(name)
        elif depth < 2 and not any(graphql.is_non_null_type(a.type) for a in f.args.values()):
            parts.append(name + " " + selection(f.type, depth + 1))
    return "{ " + " ".join(parts) + " }"


@dataclass
class Template:
    kind: str  # query | mutation | subscription
    field: str
    args: dict[str, graphql.GraphQLArgument]
    sel: str


def templates(schema: graphql.GraphQLSchema) -> list[Template]:
    out = []
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type),
                       ("subscription", schema.subscription_type)):
        for name, f in root.fields.items():
            out.append(Template(kind, name, dict(f.args), selection(f.type)))
    return out


class Raw(str):
    """JSON text written verbatim (numbers Python cannot write, lone surrogates, ...)."""


def dumps(v: Any) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, dict):
        return "{" + ",".join(json.dumps(str(k)) + ":" + dumps(x) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(dumps(x) for x in v) + "]"
    return json.dumps(v)


RAW_NUMBERS = ["1e309", "-1e309", "1e999999", "-0", "0.0", "-0.0", "1E+2", "123456789012345678901234567890",
               "-9223372036854775809", "18446744073709551616", "0.1e-400", "2147483648", "-2147483649",
               "4294967296", "1.5", "1e2", "100.0", "20.0000000000000000001"]
RAW_STRINGS = ['"\\ud800"', '"\\udc00x"', '"\\u0000"', '"a\\u0000b"', '"\\ud83d\\ude00"', '"\\uFFFF"', '"\\uFEFF"']


class Values:
    """Seeded generator of right- and wrong-typed variable values."""

    def __init__(self, rng: random.Random, pool: Pool):
        self.rng = rng
        self.pool = pool

    def deep(self, depth: int) -> Any:
        v: Any = self.rng.choice([1, "x", None, [], {}])
        for _ in range(depth):
            v = [v] if self.rng.random() < 0.5 else {"a": v}
        return v

    def nasty(self, depth: int = 0) -> Any:
        r = self.rng
        choice = r.randrange(16)
        if depth >= 2 and choice in (9, 10):
            choice = 4
        if choice == 0:
            return r.choice(["x", "ß", "😀", "\x00", "a\u202eb"]) * r.choice([1000, 70000, 300000])
        if choice == 1:
            return self.deep(r.choice([5, 30, 100, 126, 127, 128, 129, 300]))
        if choice == 2:
            return Raw(r.choice(RAW_NUMBERS))
        if choice == 3:
            return Raw(r.choice(RAW_STRINGS))
        if choice == 4:
            return r.choice(INTS + BIG_INTS)
        if choice == 5:
            return r.choice([True, False, None, [], {}, 1.5, -0.0, 1e308])
        if choice == 6:
            return r.choice(WEIRD_IDS)
        if choice == 7:
            return r.choice(PRICES)
        if choice == 8:
            return r.choice(INTERESTING_STRINGS)
        if choice == 9:
            n = r.choice([0, 1, 3, 1000])
            if n == 1000:
                return [r.choice(INTS + WEIRD_IDS) for _ in range(n)] if r.random() < 0.7 else list(range(20000))
            return [self.nasty(depth + 1) for _ in range(n)]
        if choice == 10:
            return {r.choice(["title", "price", "expectedVersion", "x", "", "__proto__"]): self.nasty(depth + 1)
                    for _ in range(r.randrange(4))}
        if choice == 11:
            return "".join(chr(r.randrange(0x20, 0x2FFF)) for _ in range(r.randrange(1, 80)))
        if choice == 12:
            return r.choice(self.pool.cursors or ["MA=="]) + r.choice(["", "=", "x", "=="])
        if choice == 13:
            return base64.b64encode(r.randbytes(r.randrange(1, 40))).decode()
        if choice == 14:
            return r.choice(self.pool.ids() or ["x"])
        return str(uuid.UUID(int=r.getrandbits(128)))

    def typed(self, t: graphql.GraphQLInputType) -> Any:
        """A value of type `t`, mostly sensible, sometimes at its edges."""
        r = self.rng
        nn = graphql.is_non_null_type(t)
        if nn:
            t = t.of_type
        if not nn and r.random() < 0.1:
            return None
        if r.random() < 0.15:
            return self.nasty()
        if isinstance(t, graphql.GraphQLList):
            return [self.typed(t.of_type) for _ in range(r.choice([0, 1, 2, 5]))]
        if isinstance(t, graphql.GraphQLEnumType):
            return r.choice(list(t.values) + ["available", "NOPE", ""])
        if isinstance(t, graphql.GraphQLInputObjectType):
            return {n: self.typed(f.type) for n, f in t.fields.items() if graphql.is_non_null_type(f.type) or r.random() < 0.6}
        name = t.name
        if name == "Int":
            return r.choice(INTS) if r.random() < 0.8 else r.choice(BIG_INTS)
        if name == "Float":
            return r.uniform(-1e6, 1e6)
        if name == "Boolean":
            return r.random() < 0.5
        if name == "ID":
            return r.choice(self.pool.ids() or ["x"]) if r.random() < 0.7 else r.choice(WEIRD_IDS)
        if name == "Decimal":
            return r.choice(PRICES) if r.random() < 0.8 else Raw(r.choice(RAW_NUMBERS))
        if name == "DateTime":
            return r.choice(DATETIMES)
        if name == "_Any":
            return {"__typename": r.choice(["Ticket", "Order", "User", "Charge", "X"]),
                    "id": r.choice(self.pool.ids() or ["x"])}
        return r.choice(INTERESTING_STRINGS + self.pool.emails + self.pool.passwords + self.pool.cursors)


WRONG_TYPES = ["String", "String!", "Int", "Int!", "ID", "[ID!]!", "Boolean", "Float!", "Decimal", "TicketStatus",
               "CreateTicketInput", "Nope", "[[Int]]", "_Any"]


def variables_request(t: Template, vals: Values) -> tuple[str, Any, bool]:
    """A document for one root field with every argument a variable, and its variables.
    Returns (document, variables, whether the variables are type-correct by construction)."""
    r = vals.rng
    decls, args, variables = [], [], {}
    sound = True
    for i, (name, arg) in enumerate(t.args.items()):
        declared = str(arg.type)
        if r.random() < 0.1:
            declared = r.choice(WRONG_TYPES)
            sound = False
        decls.append(f"$v{i}: {declared}")
        args.append(f"{name}: $v{i}")
        roll = r.random()
        if roll < 0.55:
            variables[f"v{i}"] = vals.typed(arg.type)
        elif roll < 0.9:
            variables[f"v{i}"] = vals.nasty()
            sound = False
        else:
            sound = False  # left out
    if r.random() < 0.1:
        variables["extra"] = vals.nasty()
    head = f"{t.kind} Fuzz" + (f"({', '.join(decls)})" if decls else "")
    doc = f"{head} {{ {t.field}" + (f"({', '.join(args)})" if args else "") + f" {t.sel} }}"
    roll = r.random()
    if roll < 0.05:
        variables = r.choice([None, [], "{}", 1, Raw('"\\ud800"'), [variables]])
        sound = False
    return doc, variables, sound


# ---------------------------------------------------------------- mutated documents

SEED_DOCS = [
    '{ me { id email createdAt } }',
    '{ tickets(first: 20, status: AVAILABLE) { edges { cursor node { id title price version status sellerId reservedUntil createdAt updatedAt } } pageInfo { hasNextPage endCursor } } }',
    '{ orders(first: 5) { edges { cursor node { id status expiresAt price ticket { id status } charge { id amount currency providerId } } } pageInfo { hasNextPage endCursor } } }',
    '{ paymentSettings { processor publishableKey currency } _service { sdl } }',
    'mutation { signUp(email: "ada@example.com", password: "correct horse") { token user { id } } }',
    'mutation { createTicket(input: {title: "Concert", price: "20.00"}) { id version status } }',
    'query Q($id: ID!) { ticket(id: $id) { id title price } }',
    'fragment T on Ticket { id title } query { tickets { edges { node { ...T } } } }',
    'query { __schema { types { name fields { name type { name kind ofType { name kind } } } } } }',
    'query A { me { id } } query B { paymentSettings { currency } }',
    '{ _entities(representations: [{__typename: "Ticket", id: "x"}]) { ... on Ticket { id } } }',
    'subscription { ticketUpdated { id status version } }',
]

GRAPHQL_TOKENS = ["{", "}", "(", ")", "[", "]", ":", "$", "!", "@", "...", "=", "|", "&", '"', '"""', "#", ",",
                  "query", "mutation", "subscription", "fragment", "on", "null", "true", "1e309", "-0", "__typename",
                  "__schema", "@skip(if: true)", "@include(if: $x)", "@deprecated", "\\u0000", "\x00", "\ufffd",
                  "\u2028", "me", "tickets", "ticket(id: 1)", "... on Ticket", "$v", "Int!"]


def mutate_doc(doc: str, rng: random.Random, corpus: list[str]) -> str:
    b = bytearray(doc.encode("utf-8"))
    for _ in range(rng.choice([1, 1, 1, 2, 3, 8])):
        if not b:
            b = bytearray(rng.choice(SEED_DOCS).encode())
        op = rng.randrange(10)
        i = rng.randrange(len(b) + 1)
        if op == 0:  # flip a bit
            j = min(i, len(b) - 1)
            b[j] ^= 1 << rng.randrange(8)
        elif op == 1:  # random byte
            b.insert(i, rng.randrange(256))
        elif op == 2:  # delete a range
            del b[i : i + rng.randrange(1, 20)]
        elif op == 3:  # truncate
            del b[i:]
        elif op == 4:  # duplicate a range
            j = rng.randrange(len(b) + 1)
            lo, hi = sorted((i, j))
            chunk = b[lo:hi][:5000]
            b[hi:hi] = chunk * rng.choice([1, 2, 10])
        elif op == 5:  # insert a token
            b[i:i] = rng.choice(GRAPHQL_TOKENS).encode()
        elif op == 6:  # splice with another document
            other = rng.choice(corpus or SEED_DOCS).encode()
            j = rng.randrange(len(other) + 1)
            b = b[:i] + other[j:]
        elif op == 7:  # swap a digit run for an extreme number
            b[i:i] = rng.choice(["2147483648", "-1", "0", "1e309", "99999999999999999999"]).encode()
        elif op == 8:  # repeat the selection with aliases past MAX_ROOT_FIELDS
            n = rng.choice([11, 50])
            body = b.decode("utf-8", "replace")
            lb = body.find("{")
            if lb >= 0:
                inner = body[lb + 1 :].rstrip().rstrip("}")[:20000]
                b = bytearray((body[: lb + 1] + " ".join(f"a{k}: {inner}" for k in range(n)) + "}").encode())
        else:  # change case / swap two bytes
            if len(b) > 1:
                j = rng.randrange(len(b))
                b[min(i, len(b) - 1)], b[j] = b[j], b[min(i, len(b) - 1)]
        # Bounded after every step: repeating the selection (op 8) several times over would
        # otherwise grow the document geometrically (a seed once took the harness to 23 GiB).
        del b[MAX_BODY_BYTES // 2 :]
    return bytes(b).decode("utf-8", "replace")


# ---------------------------------------------------------------- random JSON bodies

def random_json(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.randrange(10 if depth < 3 else 6)
    if roll == 0:
        return None
    if roll == 1:
        return rng.choice([True, False])
    if roll == 2:
        return rng.choice(INTS + BIG_INTS + [1.5, -0.0])
    if roll == 3:
        return rng.choice(INTERESTING_STRINGS)
    if roll == 4:
        return Raw(rng.choice(RAW_NUMBERS + RAW_STRINGS))
    if roll == 5:
        return rng.choice(SEED_DOCS)
    if roll in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {rng.choice(["query", "variables", "operationName", "extensions", "x", "", "query "]): random_json(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def json_body(rng: random.Random, corpus: list[str], vals: Values) -> tuple[bytes, str]:
    """A random POST body and a label for it."""
    docs = corpus or SEED_DOCS
    kind = rng.randrange(16)
    if kind == 0:
        n = rng.choice([0, 1, 2, 9, 10, 11, 12, 50, 1000])
        return dumps([{"query": rng.choice(docs)} for _ in range(n)]).encode(), f"batch of {n}"
    if kind == 1:
        n = rng.choice([1, 3, 10])
        items = [rng.choice([{"query": rng.choice(docs)}, random_json(rng), {}, None, 1, "x", [], {"query": None}])
                 for _ in range(n)]
        return dumps(items).encode(), f"mixed batch of {n}"
    if kind == 2:
        return dumps(rng.choice([None, True, 1, -1, "query", "{ me { id } }", 1.5, Raw("1e309")])).encode(), "scalar body"
    if kind == 3:
        return dumps({k: v for k, v in {"variables": vals.nasty(), "operationName": rng.choice(["A", None, 1])}.items()}).encode(), "no query"
    if kind == 4:
        return dumps({"query": rng.choice([None, 1, True, [], {}, ["{ me { id } }"], Raw("1e309"), ""])}).encode(), "query not a string"
    if kind == 5:
        return dumps({"query": rng.choice(docs), "variables": rng.choice(["{}", "null", 1, [], True, "x", Raw('"\\ud800"')])}).encode(), "variables not an object"
    if kind == 6:
        return dumps({"query": rng.choice(docs), "operationName": rng.choice([1, [], {}, "", "Nope", "A", "B", "x" * 10000, "\x00"])}).encode(), "odd operationName"
    if kind == 7:
        ext = rng.choice([{"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}, {"persistedQuery": {"version": 2}},
                          {"persistedQuery": None}, [], "x", {"x": vals.deep(50)}, 1, {"apq": True}])
        return dumps({"query": rng.choice(docs + [None]), "extensions": ext}).encode(), "extensions"
    if kind == 8:
        d = rng.choice([10, 100, 127, 128, 129, 1000, 100000])
        return (b'{"query":"{ me { id } }","variables":{"a":' + b"[" * d + b"]" * d + b"}}"), f"deep variables {d}"
    if kind == 9:
        return b"[" * rng.choice([10, 128, 129, 100000]) + b"]", "deep array body"
    if kind == 10:
        body = dumps({"query": rng.choice(docs)}).encode()
        return rng.choice([b"\xef\xbb\xbf" + body, body + b" trailing", body + b"\x00", body[:-1], b"", b" ", b"\n\n",
                           b"{", b"}", b'{"query": "{ me { id } }", "query": "mutation { signOut }"}',
                           b"\xff\xfe" + body, body.replace(b"{", b"\xc0\xaf", 1), body * 2,
                           b'{"query":"{ me { id } }"}' + b" " * 100000]), "malformed JSON"
    if kind == 11:
        n = rng.choice([MAX_BODY_BYTES - 200, MAX_BODY_BYTES + 1, MAX_BODY_BYTES * 2])
        q = "{ me { id } } #"
        pad = "x" * max(0, n - len(q) - 15)
        return dumps({"query": q + pad}).encode(), f"body of about {n} bytes"
    if kind == 12:
        return dumps(random_json(rng)).encode(), "random JSON"
    if kind == 13:
        return dumps({"query": rng.choice(docs), "variables": {"id": vals.nasty(), "first": vals.nasty()}}).encode(), "nasty variables"
    if kind == 14:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))), "random bytes"
    return dumps([{"query": rng.choice(docs), "operationName": rng.choice([None, "A", "B"])} for _ in range(rng.randrange(1, 11))]).encode(), "batch with operation names"


# ---------------------------------------------------------------- HTTP oddities

CONTENT_TYPES = [None, "text/plain", "application/graphql", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=xyz", "application/json; charset=latin1", "APPLICATION/JSON",
                 "application/jsonx", "application/json, text/html", "application/graphql-response+json",
                 "application/json;", " application/json ", "application/*", "*/*", "", "application/json\x7f",
                 "application/problem+json", "text/json", "application/json; boundary=\"x\""]
METHODS = ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO", "CONNECT"]
PATHS = ["/graphql/", "/GRAPHQL", "/graphql?", "/graphql#x", "/graphql/ws", "/graphql/ws/x", "/healthz", "/readyz",
         "/metrics", "/webhooks/stripe", "/", "/index.html", "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
         "/%00", "/graphql%00", "/" + "a" * 10000, "//graphql", "/graphql;x", "/graphiql", "/assets/x.js",
         "/graphql?query=%7Bme%7Bid%7D%7D&query=mutation%7BsignOut%7D"]


def multipart_body() -> tuple[str, bytes]:
    b = "xyz"
    body = (f"--{b}\r\nContent-Disposition: form-data; name=\"operations\"\r\n\r\n"
            '{"query":"mutation($f: Upload!) { signUp(email: $f, password: $f) { token } }","variables":{"f":null}}\r\n'
            f"--{b}\r\nContent-Disposition: form-data; name=\"map\"\r\n\r\n{{\"0\":[\"variables.f\"]}}\r\n"
            f"--{b}\r\nContent-Disposition: form-data; name=\"0\"; filename=\"a.txt\"\r\n\r\nhello\r\n--{b}--\r\n")
    return f"multipart/form-data; boundary={b}", body.encode()


def http_misc(rng: random.Random, corpus: list[str], tokens: dict[str, str], pool: Pool) -> Req:
    docs = corpus or SEED_DOCS
    body = dumps({"query": rng.choice(docs)}).encode()
    kind = rng.randrange(9)
    if kind == 0:  # content types
        ct = rng.choice(CONTENT_TYPES)
        headers = [] if ct is None else [("Content-Type", ct)]
        if ct and ct.startswith("multipart") and rng.random() < 0.5:
            ct, body = multipart_body()
            headers = [("Content-Type", ct)]
        elif ct == "application/x-www-form-urlencoded":
            body = ("query=" + rng.choice(docs)).encode()
        elif ct == "application/graphql":
            body = rng.choice(docs).encode()
        return Req("POST", "/graphql", headers, body, note=f"content-type {ct!r}")
    if kind == 1:  # methods
        m = rng.choice(METHODS)
        return Req(m, "/graphql", [("Content-Type", "application/json")], body if m not in ("HEAD", "TRACE") else b"",
                   note=f"method {m}")
    if kind == 2:  # paths
        p = rng.choice(PATHS)
        m = rng.choice(["GET", "POST"])
        return Req(m, p, [("Content-Type", "application/json")] if m == "POST" else [], body if m == "POST" else b"",
                   note=f"path {p[:40]}")
    if kind == 3:  # Authorization headers
        tok = rng.choice(list(tokens.values()) + pool.bad_tokens)
        value = rng.choice([f"Bearer {tok}", f"bearer {tok}", f"BEARER {tok}", f"Bearer  {tok}", f"Bearer {tok} x",
                            f"Basic {tok}", tok, "Bearer", "Bearer ", f"Bearer {tok}\t", f"Token {tok}",
                            f"Bearer {tok}, Bearer {tok}", "Bearer " + "A" * 20000])
        extra = [("Authorization", value)]
        if rng.random() < 0.3:
            extra.append(("Authorization", f"Bearer {rng.choice(pool.bad_tokens)}"))
        doc = rng.choice(['{ me { id email } }', '{ orders { edges { node { id } } } }', 'mutation { signOut }',
                          rng.choice(docs)])
        if "signOut" in doc:  # never sign out the fuzzer's own sessions
            extra = [("Authorization", f"Bearer {rng.choice(pool.bad_tokens)}")]
        return Req("POST", "/graphql", [("Content-Type", "application/json")] + extra,
                   dumps({"query": doc}).encode(), note="authorization header")
    if kind == 4:  # cookies
        value = rng.choice([f"session={rng.choice(pool.bad_tokens)}", "session=", "session", "session=a; session=b",
                            f"session={tokens.get('C', 'x')}; session=garbage", "x=y", "session=" + "a" * 8000,
                            "session=\"quoted\""])
        return Req("POST", "/graphql", [("Content-Type", "application/json"), ("Cookie", value)],
                   dumps({"query": '{ me { id } }'}).encode(), note="cookie")
    if kind == 5:  # chunked bodies
        return Req("POST", "/graphql", [("Content-Type", "application/json")], body, chunked=True, note="chunked")
    if kind == 6:  # huge or many headers
        if rng.random() < 0.5:
            headers = [("Content-Type", "application/json"), ("X-Fuzz", "a" * rng.choice([1000, 50000, 200000]))]
        else:
            headers = [("Content-Type", "application/json")] + [(f"X-F{i}", "v") for i in range(rng.choice([50, 200, 2000]))]
        return Req("POST", "/graphql", headers, body, may_reset=True, note="big headers")
    if kind == 7:  # oversized or odd-sized bodies
        size = rng.choice([MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 3 * MAX_BODY_BYTES])
        raw = b'{"query":"{ me { id } }","x":"' + b"a" * size + b'"}'
        return Req("POST", "/graphql", [("Content-Type", "application/json")], raw, may_reset=True,
                   note=f"body over {size} bytes")
    # Webhook with random bodies and signatures (404 without a secret; never 5xx).
    sig = rng.choice(["", "t=1,v1=abc", "t=" + "9" * 30 + ",v1=" + "0" * 64, "garbage", "t=,v1="])
    return Req("POST", "/webhooks/stripe", [("Content-Type", "application/json"), ("Stripe-Signature", sig)],
               dumps(random_json(rng)).encode(), note="webhook")


def get_request(rng: random.Random, corpus: list[str], mutations: list[str], vals: Values) -> tuple[Req, bool]:
    """A GET /graphql with a random query string. Returns it and whether the operation it selects
    is a mutation (405 expected). No GET may run a mutation, whatever it carries."""
    from urllib.parse import quote, urlencode

    kind = rng.randrange(7)
    is_mutation = False
    if kind == 0 and mutations:
        q, is_mutation = rng.choice(mutations), True
        qs = urlencode({"query": q})
    elif kind == 1:
        qs = urlencode({"query": rng.choice(corpus or SEED_DOCS), "variables": dumps(vals.nasty())[:20000]})
    elif kind == 2:
        qs = urlencode({"query": rng.choice(SEED_DOCS), "operationName": rng.choice(["A", "B", "", "Nope"])})
    elif kind == 3:
        qs = rng.choice(["query=%FF%FE", "query=%00", "query=%", "query=%zz", "query", "=", "&&&", "query=&query=",
                         "variables=%7B", "query=%7Bme%7Bid%7D%7D&variables=%5B%5D", "extensions=%7Bx",
                         "query=%7Bme%7Bid%7D%7D&variables=%22%5Cud800%22",
                         "query=" + "%7B" * 5000, "a=" + "b" * 100000, "query=mutation%7BsignOut%7D&operationName="])
    elif kind == 4:
        q = mutate_doc(rng.choice(corpus or SEED_DOCS), rng, corpus)
        qs = urlencode({"query": q})
    elif kind == 5:
        name = rng.choice(["A", "B", "", "C"])
        qs = urlencode({"query": "query A { me { id } } mutation B { signOut }", "operationName": name})
        is_mutation = name == "B"
    else:
        qs = "".join(rng.choice(string.printable) for _ in range(rng.randrange(0, 200)))
        qs = quote(qs, safe="=&%")
    headers = [("Accept", rng.choice(["application/json", "text/html", "*/*", "application/graphql-response+json"]))]
    return Req("GET", "/graphql?" + qs, headers), is_mutation


# ---------------------------------------------------------------- limits

def limit_probes(rng: random.Random) -> list[tuple[str, Req, str]]:
    """(label, request, expectation) where expectation is one of: refused (a BAD_USER_INPUT error
    and no data, or a 4xx), status:N, batch:N (a list of N answers), ok (not refused by a limit)."""
    probes: list[tuple[str, Req, str]] = []
    post = lambda body: Req("POST", "/graphql", [("Content-Type", "application/json")], body)
    for n in (1, 10, 11, 30):
        q = "{ " + " ".join(f"a{i}: paymentSettings {{ currency }}" for i in range(n)) + " }"
        probes.append((f"root fields {n}", post(dumps({"query": q}).encode()), "refused" if n > 10 else "ok"))
    n = rng.choice([11, 12, 40])
    q = "fragment F on Query { " + " ".join(f"a{i}: __typename" for i in range(n)) + " } { ...F }"
    probes.append((f"root fields via fragment {n}", post(dumps({"query": q}).encode()), "refused"))
    for d in (5, 14, 18, 40):
        q = '{ __type(name: "Ticket") ' + "{ ofType " * d + "{ name }" + " }" * d + " }"
        probes.append((f"depth {d + 2}", post(dumps({"query": q}).encode()), "refused" if d + 2 > 17 else "ok"))
    for n in (100, 3000):
        q = "{ tickets(first: 1) { edges { node { " + " ".join(f"a{i}: id" for i in range(n)) + " } } } }"
        probes.append((f"complexity {n}", post(dumps({"query": q}).encode()), "refused" if n > 1100 else "ok"))
    for n in (0, 1, 10, 11, 100):
        probes.append((f"batch {n}", post(dumps([{"query": "{ __typename }"}] * n).encode()),
                       f"batch:{n}" if 1 <= n <= 10 else "refused"))
    probes.append(("body 1 MiB + 1", Req("POST", "/graphql", [("Content-Type", "application/json")],
                                         b'{"query":"{ __typename }","x":"' + b"a" * MAX_BODY_BYTES + b'"}',
                                         may_reset=True), "status:413"))
    probes.append(("body under 1 MiB", post(b'{"query":"{ __typename }","x":"' + b"a" * (MAX_BODY_BYTES - 1000) + b'"}'),
                   "ok"))
    # Parser and validator stress: deep, wide, repetitive documents.
    for n in (100, 5000, 200000):
        probes.append((f"nested lists {n}", post(dumps({"query": "{ tickets(after: " + "[" * n + "]" * n + ") { edges { cursor } } }"}).encode()), "refused"))
        probes.append((f"nested objects {n}", post(dumps({"query": "{ _entities(representations: " + "{a:" * n + "1" + "}" * n + ") { __typename } }"}).encode()), "refused"))
        probes.append((f"nested selections {n}", post(dumps({"query": "{ me " + "{ id " * n + "}" * n + " }"}).encode()), "refused"))
        probes.append((f"nested fragments {n}", post(dumps({"query": "{ " + "... on Query { " * n + "__typename" + " }" * n + " }"}).encode()), "refused"))
    for n in (1000, 20000):
        probes.append((f"{n} directives", post(dumps({"query": "{ me " + "@skip(if: false) " * n + "{ id } }"}).encode()), "any"))
        probes.append((f"{n} operations", post(dumps({"query": " ".join(f"query Q{i} {{ __typename }}" for i in range(n)), "operationName": "Q1"}).encode()), "any"))
        probes.append((f"{n} fragments", post(dumps({"query": " ".join(f"fragment F{i} on Query {{ ...F{i + 1} }}" for i in range(n)) + f" fragment F{n} on Query {{ __typename }} {{ ...F0 }}"}).encode()), "refused"))
        probes.append((f"{n} variables", post(dumps({"query": "query(" + " ".join(f"$v{i}: Int" for i in range(n)) + ") { __typename }"}).encode()), "any"))
        probes.append((f"{n} arguments", post(dumps({"query": "{ tickets(" + " ".join(f"a{i}: 1" for i in range(n)) + ") { edges { cursor } } }"}).encode()), "refused"))
        probes.append((f"{n} list items", post(dumps({"query": "{ _entities(representations: [" + ",".join('{__typename: "Ticket", id: "x"}' for _ in range(n)) + "]) { __typename } }"}).encode()), "any"))
    # Fragment fan-out: F1 spreads F2 twice, … (2^(n-1) selections in a document of n lines): must
    # be refused by measuring, not by expanding (the test is the refusal; the harness's slowest
    # list shows its time).
    for n in (5, 20, 40):
        q = "{ tickets(first: 1) { edges { node { ...F1 } } } } " + " ".join(
            f"fragment F{i} on Ticket {{ ...F{i + 1} ...F{i + 1} }}" for i in range(1, n)) + f" fragment F{n} on Ticket {{ id }}"
        probes.append((f"fragment fan-out {n}", post(dumps({"query": q}).encode()), "ok" if n == 5 else "refused"))
    # Wide documents: a query text past MAX_QUERY_BYTES (16 KiB) is refused before it is parsed.
    for size in (17_000, 900_000):
        probes.append((f"wide document {size} B", post(dumps({"query": "{ " + "a " * (size // 2) + "}"}).encode()), "refused"))
    # Entity floods: representations in a variable, past and within MAX_ENTITY_REPRESENTATIONS (500).
    for n in (100, 501, 12_000):
        reps = [{"__typename": "Ticket", "id": f"00000000-0000-7000-8000-{i:012d}"} for i in range(n)]
        q = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Ticket { id } } }"
        probes.append((f"entity flood {n}", post(dumps({"query": q, "variables": {"r": reps}}).encode()),
                       "refused" if n > 500 else "any"))
    probes.append(("fragment cycle", post(dumps({"query": "fragment A on Query { ...B } fragment B on Query { ...A } { ...A }"}).encode()), "refused"))
    probes.append(("self fragment x many", post(dumps({"query": "fragment A on Query { " + "...A " * 5000 + "} { ...A }"}).encode()), "refused"))
    probes.append(("long name", post(dumps({"query": "{ " + "a" * 500000 + " }"}).encode()), "refused"))
    probes.append(("long string", post(dumps({"query": '{ ticket(id: "' + "a" * 900000 + '") { id } }'}).encode()), "any"))
    probes.append(("many aliases of one field", post(dumps({"query": "{ me { " + " ".join(f"a{i}: id" for i in range(20000)) + " } }"}).encode()), "any"))
    probes.append(("wide introspection", post(dumps({"query": "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }"}).encode()), "any"))
    return probes
