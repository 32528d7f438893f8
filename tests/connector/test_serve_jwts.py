"""The JWT of a Jira Cloud app's webhook: the canonical request on Atlassian's own examples,
and every way a token is refused (tokens made here with PyJWT's encoder or by hand)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import jwt
import pytest

from connector.serve import jwts
from connector.serve.jwts import Refused, Request

SECRET = "connect-shared-secret-" + "0123456789abcdef" * 3  # 70 bytes: enough for HS512
ISSUER = "jira:6b3c1d2e-7f80-4a91-b2c3-d4e5f6a7b8c9"
NOW = 1772445600.0
PATH = "/webhooks/jira/prod"
#: POST&/webhooks/jira/prod& hashed by hand, not by the module under test.
QSH = hashlib.sha256(b"POST&/webhooks/jira/prod&").hexdigest()


def claims(**override: Any) -> dict[str, Any]:
    made = {"iss": ISSUER, "iat": int(NOW) - 5, "exp": int(NOW) + 175, "qsh": QSH}
    made.update(override)
    return {k: v for k, v in made.items() if v is not None}


def header(token: str, scheme: str = "JWT") -> dict[str, str]:
    return {"authorization": f"{scheme} {token}"}


def request(headers: dict[str, str], path: str = PATH, query: str = "") -> Request:
    return Request("POST", path, query, headers)


def check(token: str, mode: jwts.Mode = "connect-jwt", **kw: Any) -> Refused | str:
    scheme = "JWT" if mode == "connect-jwt" else "Bearer"
    seen = request(header(token, scheme), kw.pop("path", PATH), kw.pop("query", ""))
    return jwts.verify(mode, SECRET, ISSUER, seen, kw.pop("now", NOW), 300.0)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def by_hand(alg: str, payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    return f"{head}.{b64(json.dumps(payload).encode())}.{b64(signature)}"


@pytest.mark.parametrize(
    ("method", "path", "query", "canonical"),
    [
        # Atlassian's JwtConstants.Claims.QUERY_HASH example (atlassian-jwt's javadoc).
        (
            "GET",
            "/path/to/service",
            "zee_last=param&repeated=parameter%201&first=param&repeated=parameter%202",
            "GET&/path/to/service&first=param&repeated=parameter%201,parameter%202&zee_last=param",
        ),
        # The "Query string hash" page's table.
        ("get", "/", "param=foo", "GET&/&param=foo"),
        ("POST", "/user", "", "POST&/user&"),
        ("POST", "", "", "POST&/&"),
        # An "&" in the path must not pass for the separator (atlassian-jwt 1.0.1).
        ("GET", "/rest/api/2/project&a=b", "x=y", "GET&/rest/api/2/project%26a=b&x=y"),
        ("GET", "/a/", "b=%2A+~&jwt=x", "GET&/a&b=%2A%20~"),
    ],
)
def test_the_canonical_request_is_atlassians(
    method: str, path: str, query: str, canonical: str
) -> None:
    assert jwts.canonical_request(method, path, query) == canonical


def test_the_query_hash_of_a_request_a_real_jira_signed() -> None:
    """A Jira 6 request to a Connect add-on and the qsh its token carried (a public gist of
    a developer's debugging output): the `jwt` parameter left out, the rest sorted."""
    query = (
        "lic=none&tz=Europe%2FMoscow&cp=%2Fjira&user_key=admin&loc=en-US&user_id=admin"
        "&jwt=eyJhbGciOiJIUzI1NiJ9.e30.x&xdm_e=http%3A%2F%2Flocalhost%3A2990"
        "&xdm_c=channel-servlet-click-me&xdm_p=1"
    )
    expected = "3a6ff1b66f60eb275d0e4cb6be4261d5d3b0216b91c58dc6524509227ef346de"
    assert jwts.query_hash("GET", "/addon/", query) == expected


def test_a_valid_token_is_accepted_and_returned() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert check(token) == token
    oauth = jwt.encode(claims(qsh=None, iss=ISSUER), SECRET, algorithm="HS256")
    assert check(oauth, "oauth-jwt") == oauth  # no qsh: not documented for OAuth 2.0 apps


def test_a_token_with_the_wrong_query_or_path_is_refused() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    for kw in ({"path": "/webhooks/jira/other"}, {"query": "a=1"}, {"path": PATH + "x"}):
        refused = check(token, **kw)
        assert isinstance(refused, Refused) and refused.result == "forged", kw
        assert "qsh" in refused.why
    assert check(token, query="jwt=ignored") == token  # the jwt parameter is not hashed
    oauth = jwt.encode(claims(), SECRET, algorithm="HS256")  # a qsh sent is checked
    assert isinstance(check(oauth, "oauth-jwt", path="/elsewhere"), Refused)


@pytest.mark.parametrize(
    ("token", "result"),
    [
        (jwt.encode(claims(), "not-the-secret-0123456789abcdef0123", algorithm="HS256"), "forged"),
        (jwt.encode(claims(iss="jira:someone-else"), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(iss=None), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(qsh=None), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(qsh="context-qsh"), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(exp=None), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(exp="soon"), SECRET, algorithm="HS256"), "forged"),
        (jwt.encode(claims(exp=int(NOW) - 11), SECRET, algorithm="HS256"), "stale"),
        (jwt.encode(claims(iat=int(NOW) + 60), SECRET, algorithm="HS256"), "stale"),
        (jwt.encode(claims(nbf=int(NOW) + 60), SECRET, algorithm="HS256"), "stale"),
        (jwt.encode(claims(iat=int(NOW) - 301), SECRET, algorithm="HS256"), "stale"),
        (jwt.encode(claims(), SECRET, algorithm="HS512"), "forged"),  # the true secret
        (jwt.encode(claims(), None, algorithm="none"), "forged"),
        (by_hand("none", claims()), "forged"),
        (by_hand("RS256", claims(), b"\x01" * 256), "forged"),
        (by_hand("HS256", claims()), "forged"),  # no signature at all
        ("not-a-token", "forged"),
    ],
    ids=[
        "wrong-secret",
        "wrong-issuer",
        "no-issuer",
        "no-qsh",
        "context-qsh",
        "no-exp",
        "exp-not-a-number",
        "expired",
        "issued-ahead",
        "not-before-ahead",
        "issued-too-long-ago",
        "hs512",
        "alg-none-pyjwt",
        "alg-none-by-hand",
        "rs256",
        "unsigned",
        "garbage",
    ],
)
def test_a_bad_token_is_refused(token: str, result: str) -> None:
    refused = check(token)
    assert isinstance(refused, Refused), refused
    assert refused.result == result
    assert SECRET not in refused.why


def test_expiry_has_a_small_leeway_on_the_injected_clock() -> None:
    token = jwt.encode(claims(exp=int(NOW)), SECRET, algorithm="HS256")
    assert check(token, now=NOW + 10) == token
    assert isinstance(check(token, now=NOW + 11), Refused)


def test_the_scheme_is_the_one_the_mode_documents() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    for headers in ({}, header(token, "Bearer"), header(token, "Basic"), {"authorization": "JWT"}):
        refused = jwts.verify("connect-jwt", SECRET, ISSUER, request(headers), NOW, 300.0)
        assert isinstance(refused, Refused) and refused.result == "forged", headers
    lower = request(header(token, "jwt"))
    assert jwts.verify("connect-jwt", SECRET, ISSUER, lower, NOW, 300.0) == token
    bearer = request(header(token, "JWT"))
    assert isinstance(jwts.verify("oauth-jwt", SECRET, ISSUER, bearer, NOW, 300.0), Refused)
