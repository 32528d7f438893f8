"""A connection that failed, as one sentence naming the host and what to check.

requests raises its `ConnectionError` for very different things. Those that waiting does not
fix fail at once as `Unreachable`, without a retry: a refused connection, a host name that
does not resolve, a TLS certificate that cannot be verified (or names another host) or a TLS
handshake that cannot work (plain HTTP on that port), a proxy that fails. Each happens before
anything is sent, so a write that meets one cannot have landed. What may pass by itself (a
timeout, a connection dropped mid-request, a TLS error mid-request) stays a `TransientError`
(`adapters.http.timeout_error`) and is retried as before.

    except requests.RequestException as exc:
        raise connection_error("GET /api/v2/users/me", url, exc, sent=False) from None
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import requests
from requests.utils import get_environ_proxies, select_proxy
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError
from urllib3.exceptions import ProxyError as Urllib3ProxyError

from adapters.errors import AdapterError, Unreachable
from adapters.http import timeout_error
from adapters.secrets import mask

CHECK_URL = "check the instance's url (host and port)"
#: OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH and X509_V_ERR_IP_ADDRESS_MISMATCH.
MISMATCH = frozenset({62, 64})
#: TLS failures that only a handshake raises, so nothing was sent (a TLS error mid-request, a
#: bad record or an EOF, may follow a request that landed: it stays a retried timeout error).
HANDSHAKE = frozenset(
    {
        "WRONG_VERSION_NUMBER",  # plain HTTP on that port
        "UNSUPPORTED_PROTOCOL",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "SSLV3_ALERT_HANDSHAKE_FAILURE",
        "NO_PROTOCOLS_AVAILABLE",
        "UNSAFE_LEGACY_RENEGOTIATION_DISABLED",
    }
)


def connection_error(what: str, url: str, exc: Exception, *, sent: bool) -> AdapterError:
    """`Unreachable` when the platform could not be reached at all, else the retried
    timeout error (`MaybeLanded` for a write that was `sent`)."""
    return unreachable(url, exc) or timeout_error(what, exc, sent=sent)


def unreachable(url: str, exc: BaseException) -> Unreachable | None:
    """The one sentence for a connection that cannot be made to `url`'s host; None when the
    failure may pass by itself (a timeout, a dropped connection)."""
    chain = list(_chain(exc))
    if isinstance(exc, requests.Timeout) or any(_timed_out(e) for e in chain):
        return None
    where = _where(url)
    if any(isinstance(e, requests.exceptions.ProxyError | Urllib3ProxyError) for e in chain):
        return _proxy(url, where, chain)
    if any(isinstance(e, ssl.SSLError) for e in chain):
        return _tls(where, chain)
    resolving = next((e for e in chain if isinstance(e, socket.gaierror)), None)
    if resolving is not None:
        host = urlsplit(url).hostname or url
        return Unreachable(
            f"{host} does not resolve (DNS: {_reason(resolving)}): check the host name in the"
            " instance's url, and this machine's DNS settings"
        )
    if any(isinstance(e, NewConnectionError) for e in chain):
        return Unreachable(
            f"cannot connect to {where} ({_why(chain)}): {CHECK_URL}, that the server is up,"
            " and that no firewall blocks the connection"
        )
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and every error it wraps: requests wraps urllib3's MaxRetryError, which holds the
    reason, which holds (or was raised from) the socket's or the ssl module's error."""
    todo, seen = [exc], set()
    while todo:
        error = todo.pop(0)
        if id(error) in seen:
            continue
        seen.add(id(error))
        yield error
        inner = [*error.args, error.__cause__, error.__context__]
        inner += [getattr(error, "reason", None), getattr(error, "original_error", None)]
        todo += [e for e in inner if isinstance(e, BaseException)]


def _timed_out(error: BaseException) -> bool:
    """A timeout (of the server or of a proxy): retried. urllib3's NewConnectionError is a
    ConnectTimeoutError by inheritance only."""
    if isinstance(error, ConnectTimeoutError):
        return not isinstance(error, NewConnectionError)
    return isinstance(error, TimeoutError | ReadTimeoutError)


def _where(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or url
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port or (443 if parts.scheme == 'https' else 80)}"


def _why(chain: list[BaseException]) -> str:
    """What the socket said, in a few words ("connection refused", "no route to host")."""
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "connection refused"
    for error in reversed(chain):
        if isinstance(error, OSError) and error.strerror and not isinstance(error, ssl.SSLError):
            return _reason(error)
    return mask(str(chain[-1]))


def _reason(error: OSError) -> str:
    text = error.strerror or str(error)
    return text[:1].lower() + text[1:]


def _tls(where: str, chain: list[BaseException]) -> Unreachable | None:
    verify = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
    if verify is not None:
        why = str(verify.verify_message or "certificate verify failed").rstrip(".")
        if verify.verify_code in MISMATCH or "mismatch" in why:
            return Unreachable(
                f"the TLS certificate of {where} is for another name ({why}): use a host name"
                " the certificate names in the instance's url"
            )
        return Unreachable(
            f"the TLS certificate of {where} could not be verified ({why}): if the server's"
            " certificate comes from an internal certificate authority, point the"
            " REQUESTS_CA_BUNDLE environment variable at that authority's certificate (PEM);"
            " verification stays on"
        )
    found = (getattr(e, "reason", None) for e in chain if isinstance(e, ssl.SSLError))
    reason = next((str(r) for r in found if r), "")
    if reason not in HANDSHAKE:
        return None
    return Unreachable(
        f"the TLS handshake with {where} failed ({reason.replace('_', ' ').lower()}):"
        " check that the instance's url is the server's HTTPS address (this port may not"
        " speak TLS)"
    )


def _proxy(url: str, where: str, chain: list[BaseException]) -> Unreachable:
    proxy = _strip_userinfo(select_proxy(url, get_environ_proxies(url)) or "")
    wrapped = next((e for e in chain if isinstance(e, Urllib3ProxyError)), None)
    inner = list(_chain(wrapped.original_error)) if wrapped is not None else []
    resolving = next((e for e in inner if isinstance(e, socket.gaierror)), None)
    if resolving is not None:
        why = f"its host name does not resolve: {_reason(resolving)}"
    elif any(isinstance(e, NewConnectionError) for e in inner):
        why = _why(inner)
    else:  # the proxy refused the tunnel: "Tunnel connection failed: 407 Proxy Auth..."
        why = mask(str(inner[0])) if inner else "proxy error"
    return Unreachable(
        f"cannot reach {where} through the proxy {proxy or '(from the environment)'} ({why}):"
        " check the HTTPS_PROXY, HTTP_PROXY and NO_PROXY environment variables (the proxy's"
        " address and credentials), and that the proxy is up"
    )


def _strip_userinfo(proxy: str) -> str:
    """A proxy URL without its user name and password."""
    parts = urlsplit(proxy)
    if parts.hostname is None or "@" not in parts.netloc:
        return proxy
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()
