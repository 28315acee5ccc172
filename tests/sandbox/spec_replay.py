"""Replay the published `x-ms-examples` of the swagger files against the sandbox.

Each example of `../shared/reference/azure-rest-specs/` (verbatim copies of Azure/azure-rest-api-specs)
is a request and the responses the service documents for it. `load_examples()` finds every example a
swagger file references; `replay()` seeds a sandbox with what the example presupposes (its parents, and
the resource or listed resources its response shows), sends the request as written over HTTPS and
returns the mismatches between the answer and the example:

- the status must be one the example lists;
- every header the example shows must be present;
- the body's keys must match recursively: every key the example shows is present with the same JSON
  kind (object, array, scalar), and any extra key must be one the operation's response schema defines.
  Values are not compared: ids, etags, tokens, timestamps, principal ids are per resource. A `nextLink`
  may be absent (it depends on how many resources exist, and the seeded world holds only the listed ones).

Each example runs in its own subscription (a fresh id replaces the example's), so examples that share
names (`zone1`, `rg1`) never see each other's resources.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

SPECS_RELATIVE = "shared/reference/azure-rest-specs"
OPTIONAL_KEYS = frozenset({"nextLink"})
_SUBSCRIPTION_IN_ID = re.compile(r"^/subscriptions/[^/]+", re.IGNORECASE)
_TEMPLATE_PARAM = re.compile(r"\{([^}]+)\}")


def specs_root(start: Path) -> Path | None:
    """`<ancestor>/shared/reference/azure-rest-specs` for the nearest ancestor of `start` holding it.

    CI checks `shared/` out next to the repository (`Path(__file__).parents[3]` from a test); a worktree
    may sit deeper, so every ancestor is tried."""
    for ancestor in start.resolve().parents:
        candidate = ancestor / SPECS_RELATIVE
        if candidate.is_dir():
            return candidate
    return None


# ---- loading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    swagger: Path
    method: str  # upper case
    template: str  # the swagger path template
    operation_id: str
    parameters: tuple[dict[str, Any], ...]  # resolved parameter objects
    responses: dict[str, Any]  # status -> response object (schemas unresolved)


@dataclass(frozen=True)
class Example:
    """One `x-ms-examples` entry. `data` is None when the referenced file is not in the folder."""

    operation: Operation
    title: str
    path: Path
    data: dict[str, Any] | None

    @property
    def id(self) -> str:
        rel = self.path.relative_to(self.operation.swagger.parent)
        return f"{self.provider}/{self.operation.operation_id}/{rel.with_suffix('').as_posix()}"

    @property
    def provider(self) -> str:
        """The resource provider namespace (Microsoft.Network, Microsoft.Communication)."""
        return next(p for p in self.operation.swagger.parts if p.startswith("Microsoft."))


class Refs:
    """JSON documents by path, and `$ref` resolution relative to the referencing document."""

    def __init__(self) -> None:
        self._docs: dict[Path, Any] = {}

    def doc(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self._docs:
            self._docs[path] = json.loads(path.read_text(encoding="utf-8-sig"))
        return self._docs[path]

    def resolve(self, node: Any, base: Path) -> tuple[Any, Path]:
        """Follow `$ref`s until a node without one; return it with the file it lives in."""
        while isinstance(node, dict) and "$ref" in node:
            file_part, _, pointer = node["$ref"].partition("#")
            base = (base.parent / file_part).resolve() if file_part else base
            node = self.doc(base)
            for part in [p for p in pointer.split("/") if p]:
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, base


def load_examples(root: Path) -> list[Example]:
    """Every example referenced by every swagger file under `root` (missing files included, data None)."""
    refs = Refs()
    examples: list[Example] = []
    for swagger in sorted(root.rglob("*.json")):
        if "examples" in swagger.parts or "common-types" in swagger.parts:
            continue
        doc = refs.doc(swagger)
        if not isinstance(doc, dict) or "paths" not in doc:
            continue
        for template, ops in doc["paths"].items():
            shared = ops.get("parameters", [])
            for method, op in ops.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                params = tuple(refs.resolve(p, swagger)[0] for p in [*shared, *op.get("parameters", [])])
                operation = Operation(
                    swagger, method.upper(), template, op["operationId"], params, op.get("responses", {})
                )
                for title, ref in op.get("x-ms-examples", {}).items():
                    path = (swagger.parent / ref["$ref"]).resolve()
                    data = refs.doc(path) if path.is_file() else None
                    examples.append(Example(operation, title, path, data))
    examples.sort(key=lambda e: e.id)
    return examples


# ---- requests --------------------------------------------------------------------------------------
@dataclass
class WireRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def build_request(operation: Operation, values: dict[str, Any]) -> WireRequest:
    """The request an example describes: path template filled in, query, headers, body."""
    by_name = {p["name"]: p for p in operation.parameters}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        value = str(values[name])
        return value if by_name.get(name, {}).get("x-ms-skip-url-encoding") else quote(value, safe="")

    request = WireRequest(operation.method, _TEMPLATE_PARAM.sub(fill, operation.template), {})
    for param in operation.parameters:
        name, where = param["name"], param.get("in")
        if name not in values:
            continue
        if where == "query":
            request.query[name] = str(values[name])
        elif where == "header":
            request.headers[name] = str(values[name])
        elif where == "body":
            request.body = values[name]
    return request


def with_subscription(values: dict[str, Any], subscription: str) -> dict[str, Any]:
    out = dict(values)
    if "subscriptionId" in out:
        out["subscriptionId"] = subscription
    return out


def rebase_id(resource_id: str, subscription: str) -> str:
    return _SUBSCRIPTION_IN_ID.sub(f"/subscriptions/{subscription}", resource_id)


# ---- seeding ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Creator:
    """A PUT operation: a regex for its concrete paths, and the body of one of its examples per values."""

    regex: re.Pattern[str]
    operation: Operation
    examples: tuple[Example, ...]

    def seed_body(self, path: str) -> Any:
        """The request body of this PUT's example that best fits `path` (same recordType when there)."""
        match = self.regex.match(path)
        wanted = {k: v.lower() for k, v in (match.groupdict() if match else {}).items()}
        best, best_score = None, -1
        for example in self.examples:
            params = (example.data or {}).get("parameters", {})
            score = sum(1 for k, v in wanted.items() if str(params.get(k, "")).lower() == v)
            body = build_request(self.operation, params).body if example.data else None
            if body is not None and score > best_score:
                best, best_score = body, score
        return best


def _group(name: str) -> str:
    return re.sub(r"\W", "_", name)


def _template_regex(template: str) -> str:
    parts = re.split(r"(\{[^}]+\})", template)
    return "".join(f"(?P<{_group(p[1:-1])}>[^/]+)" if p.startswith("{") else re.escape(p) for p in parts)


def creators_for(examples: list[Example]) -> list[Creator]:
    by_template: dict[tuple[Path, str], list[Example]] = {}
    ops: dict[tuple[Path, str], Operation] = {}
    for example in examples:
        op = example.operation
        if op.method == "PUT" and example.data is not None:
            by_template.setdefault((op.swagger, op.template), []).append(example)
            ops[(op.swagger, op.template)] = op
    return [
        Creator(
            re.compile(_template_regex(template) + r"\Z", re.IGNORECASE), ops[(swagger, template)], tuple(exs)
        )
        for (swagger, template), exs in by_template.items()
    ]


def _prefixes(path: str) -> Iterator[str]:
    parts = path.split("/")
    for end in range(2, len(parts) + 1):
        yield "/".join(parts[:end])


class Replayer:
    """Sends examples to one sandbox over HTTPS with a dummy bearer token."""

    def __init__(self, base_url: str, ca_bundle: str, examples: list[Example]) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        self.session.verify = ca_bundle
        self.session.headers["Authorization"] = "Bearer spec-replay"
        self.creators = creators_for(examples)
        self.refs = Refs()

    def close(self) -> None:
        self.session.close()

    def send(self, request: WireRequest) -> requests.Response:
        headers = dict(request.headers)
        data = None
        if request.body is not None:
            data = json.dumps(request.body)
            headers["Content-Type"] = "application/json"
        query = "&".join(f"{quote(k, safe='$')}={quote(v, safe='')}" for k, v in request.query.items())
        url = f"{self.base_url}{request.path}" + (f"?{query}" if query else "")
        return self.session.request(request.method, url, data=data, headers=headers, timeout=30)

    # ---- what an example presupposes ---------------------------------------------------------------
    def seed(self, example: Example, subscription: str) -> list[str]:
        """PUT the example's parents, and the resource(s) its success response shows. Returns problems."""
        assert example.data is not None
        values = with_subscription(example.data.get("parameters", {}), subscription)
        request = build_request(example.operation, values)
        api_version = request.query.get("api-version", "")
        wanted: list[tuple[str, Any]] = []  # (path, body or None for "an example body")
        target = request.path
        if example.operation.method == "POST":
            target = target.rsplit("/", 1)[0]  # an action on a resource: the resource
        body = self._success_body(example)
        if example.operation.method != "PUT":
            items = body.get("value") if isinstance(body, dict) else None
            if isinstance(items, list):
                wanted += [
                    (rebase_id(i["id"], subscription), i) for i in items if isinstance(i, dict) and "id" in i
                ]
            elif isinstance(body, dict) and "id" in body and example.operation.method != "POST":
                wanted.append((target, body))
            elif self._creator(target) is not None:
                wanted.append((target, None))
        problems: list[str] = []
        done: set[str] = set()
        for path, seed_body in [*self._parents(request.path, wanted), *wanted]:
            if path.lower() in done:
                continue
            done.add(path.lower())
            problems += self._put(path, seed_body, api_version)
        return problems

    def _success_body(self, example: Example) -> Any:
        responses = (example.data or {}).get("responses", {})
        for status in sorted(s for s in responses if s.isdigit()):
            if 200 <= int(status) < 300 and "body" in responses[status]:
                return responses[status]["body"]
        return None

    def _creator(self, path: str) -> Creator | None:
        return next((c for c in self.creators if c.regex.match(path)), None)

    def _parents(self, request_path: str, wanted: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        for path in [request_path, *(p for p, _ in wanted)]:
            for prefix in list(_prefixes(path))[:-1]:
                if self._creator(prefix) is not None:
                    out.append((prefix, None))
        return out

    def _put(self, path: str, body: Any, api_version: str) -> list[str]:
        creator = self._creator(path)
        if creator is None:
            return [f"seed: no PUT operation in the swagger creates {path}"]
        if body is None:
            body = creator.seed_body(path)
        version = str(creator.examples[0].data["parameters"].get("api-version", api_version))  # type: ignore[index]
        response = self.send(WireRequest("PUT", path, {"api-version": version}, {}, body))
        if response.status_code >= 300:
            return [f"seed: PUT {path} answered {response.status_code}: {response.text[:300]}"]
        return []

    # ---- one example -------------------------------------------------------------------------------
    def replay(self, example: Example) -> list[str]:
        """Mismatches between the sandbox's answer and the example ([] when it matches)."""
        assert example.data is not None
        subscription = str(uuid.uuid4())
        problems = self.seed(example, subscription)
        if problems:
            return problems
        values = with_subscription(example.data.get("parameters", {}), subscription)
        response = self.send(build_request(example.operation, values))
        documented = example.data.get("responses", {})
        status = str(response.status_code)
        if status not in documented:
            listed = ", ".join(s for s in documented if s != "default")
            return [f"status {status} is not one the example lists ({listed}): {response.text[:400]}"]
        expected = documented[status]
        problems = [
            f"header {name!r} missing (the example shows it)"
            for name in expected.get("headers", {})
            if name.lower() not in {h.lower() for h in response.headers}
        ]
        if "body" in expected:
            try:
                actual = response.json()
            except ValueError:
                return [*problems, f"body is not JSON: {response.text[:200]!r}"]
            schema = self._response_schema(example, status)
            problems += compare_keys(expected["body"], actual, schema, self.refs, "body")
        return problems

    def _response_schema(self, example: Example, status: str) -> tuple[Any, Path] | None:
        response = example.operation.responses.get(status)
        if response is None:
            return None
        response, base = self.refs.resolve(response, example.operation.swagger)
        if "schema" not in response:
            return None
        return response["schema"], base


# ---- comparison ------------------------------------------------------------------------------------
def schema_properties(
    schema: tuple[Any, Path] | None, refs: Refs
) -> tuple[dict[str, tuple[Any, Path]], bool]:
    """The properties a schema defines (through $ref and allOf), and whether it allows any key."""
    if schema is None:
        return {}, True
    node, base = refs.resolve(*schema)
    if not isinstance(node, dict):
        return {}, True
    props: dict[str, tuple[Any, Path]] = {}
    open_ended = bool(node.get("additionalProperties"))
    for part in node.get("allOf", []):
        sub, sub_open = schema_properties((part, base), refs)
        props.update(sub)
        open_ended = open_ended or sub_open
    for name, sub in node.get("properties", {}).items():
        props[name] = (sub, base)
    if not props and "allOf" not in node and node.get("type") in (None, "object") and "items" not in node:
        open_ended = True  # a schema that names no properties at all says nothing about keys
    return props, open_ended


def _items_schema(schema: tuple[Any, Path] | None, refs: Refs) -> tuple[Any, Path] | None:
    if schema is None:
        return None
    node, base = refs.resolve(*schema)
    if isinstance(node, dict) and "items" in node:
        return node["items"], base
    return None


def _kind(value: Any) -> str:
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "scalar"


def compare_keys(
    expected: Any, actual: Any, schema: tuple[Any, Path] | None, refs: Refs, where: str
) -> list[str]:
    if _kind(expected) != _kind(actual) and not (expected is None or actual is None):
        return [f"{where}: expected {_kind(expected)}, got {_kind(actual)} ({json.dumps(actual)[:80]})"]
    problems: list[str] = []
    if isinstance(expected, dict):
        props, open_ended = schema_properties(schema, refs)
        for key, value in expected.items():
            if key not in actual:
                if key not in OPTIONAL_KEYS:
                    problems.append(f"{where}.{key}: missing")
                continue
            sub = props.get(key) if not open_ended or key in props else None
            problems += compare_keys(value, actual[key], sub, refs, f"{where}.{key}")
        for key in actual.keys() - expected.keys():
            if not open_ended and key not in props:
                problems.append(f"{where}.{key}: not in the example nor in the response schema")
    elif isinstance(expected, list) and expected and actual:
        item_schema = _items_schema(schema, refs)
        for i, item in enumerate(actual):
            problems += compare_keys(
                _counterpart(expected, item, i), item, item_schema, refs, f"{where}[{i}]"
            )
    return problems


def _counterpart(expected: list[Any], item: Any, index: int) -> Any:
    """The example item an actual list item corresponds to: the one with the same type and name when the
    example's items are named (an item the example does not show, such as a zone's apex SOA, is then held
    to the schema only), else the one at the same position."""
    named = [e for e in expected if isinstance(e, dict) and "name" in e]
    if isinstance(item, dict) and named:
        same = [
            e
            for e in named
            if str(e["name"]).lower() == str(item.get("name", "")).lower()
            and str(e.get("type", "")).lower() == str(item.get("type", "")).lower()
        ]
        return same[0] if same else {}
    return expected[min(index, len(expected) - 1)]
