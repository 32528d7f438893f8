"""Validate the requests an adapter sent against the official OpenAPI documents.

`SpecChecker("zendesk.json", "https://acme.zendesk.com").check_calls(rsps.calls)` fails the test
with every request that the published document does not allow: an unknown path or method, a
missing or undeclared query parameter, or a body that does not match the operation's schema. The
documents are the trimmed copies in tests/specs/ (see tests/specs/extract.py).

Zendesk paths are documented without the `.json` suffix that zenpy adds, so it is stripped. Jira
v2 paths (Data Center, and Cloud's wiki-markup twin of v3) are checked for path, method and query
parameters against the v3 operation, but not for their body, whose rich-text fields differ.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.request.validators import V30RequestParametersValidator

SPECS = Path(__file__).parents[1] / "specs"


@cache
def _document(name: str) -> dict[str, Any]:
    return json.loads((SPECS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


class SpecChecker:
    def __init__(self, spec: str, base_url: str, allow_params: Iterable[str] = ()) -> None:
        doc = json.loads(json.dumps(_document(spec)))
        doc["servers"] = [{"url": base_url.rstrip("/")}]
        self.doc = doc
        self.base_url = base_url.rstrip("/")
        self.allow_params = set(allow_params)
        self.api = OpenAPI.from_dict(doc, config=Config(spec_validator_cls=None))
        self.checked = 0

    def check(self, request: requests.PreparedRequest) -> None:
        """Raise AssertionError naming the request and what the document says about it."""
        method = (request.method or "GET").lower()
        url = str(request.url)
        parts = urlsplit(url)
        path = parts.path
        if path.endswith(".json"):
            path = path[: -len(".json")]
        body_checked = True
        if path.startswith("/rest/api/2/"):
            path = "/rest/api/3/" + path[len("/rest/api/2/") :]
            body_checked = False
        if path.startswith("/rest/api/latest/"):
            path = "/rest/api/3/" + path[len("/rest/api/latest/") :]
            body_checked = False
        rewritten = requests.Request(
            method.upper(),
            f"{self.base_url}{path}",
            data=request.body if body_checked else None,
            headers={
                k: v for k, v in request.headers.items() if body_checked or k != "Content-Type"
            },
        ).prepare()
        rewritten.url = f"{self.base_url}{path}" + (f"?{parts.query}" if parts.query else "")
        where = f"{method.upper()} {url}"
        params = self._parameters(rewritten, where)
        declared = {p["name"] for p in params if p.get("in") == "query"}
        sent = {name for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
        undeclared = sent - declared - self.allow_params
        if undeclared:
            raise AssertionError(
                f"{where}: query parameters not in the published document: {sorted(undeclared)}"
                f" (declared: {sorted(declared)})"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "Unsupported scheme type" for Zendesk's auth schemes
            try:
                if body_checked:
                    self.api.validate_request(RequestsOpenAPIRequest(rewritten))
                else:  # v2: parameters only (a required body is not "missing" here)
                    V30RequestParametersValidator(self.api.spec, spec_validator_cls=None).validate(
                        RequestsOpenAPIRequest(rewritten)
                    )
            except Exception as exc:
                cause = exc.__cause__ or exc
                detail = getattr(cause, "schema_errors", None)
                text = "; ".join(e.message for e in detail) if detail else str(cause)
                raise AssertionError(f"{where}: {type(exc).__name__}: {text}") from None
        self.checked += 1

    def check_calls(self, calls: Iterable[Any]) -> int:
        """Check every `responses` call; returns how many were checked."""
        count = 0
        for call in calls:
            self.check(call.request)
            count += 1
        return count

    def _parameters(self, request: requests.PreparedRequest, where: str) -> list[dict[str, Any]]:
        """The path's and the operation's parameters, as the document declares them."""
        method = (request.method or "GET").lower()
        try:
            found = APICallPathFinder(self.api.spec).find(method, str(request.url).split("?")[0])
        except Exception as exc:
            raise AssertionError(
                f"{where}: not an operation of the published document ({exc})"
            ) from None
        template = str(found.path).split("#", 1)[1]
        item = self.doc["paths"][template]
        return [
            self._deref(p)
            for p in (*item.get("parameters", []), *item[method].get("parameters", []))
        ]

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return node
        target: Any = self.doc
        for part in ref[2:].split("/"):
            target = target[part]
        return dict(target)
