"""Who may call, and how fast: credential checks and the rate-limit headers of each answer."""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulators.jira.site import Site


def signed_in(site: Site, auth: str) -> bool:
    """Basic e-mail:token on Cloud, Bearer PAT on Data Center; any, unless some are set."""
    scheme, _, credential = auth.partition(" ")
    if scheme != ("Basic" if site.cloud else "Bearer"):
        return False
    if not site.cloud:
        return not site.pats or credential in site.pats
    if not site.api_tokens:
        return True
    try:
        email, _, token = base64.b64decode(credential).decode().partition(":")
    except ValueError:
        return False
    return site.api_tokens.get(email) == token


def rate(site: Site) -> tuple[dict[str, str], bool]:
    """This answer's rate-limit headers, and whether the request is over the limit.

    Cloud sends `X-RateLimit-NearLimit: true` when under 20% is left, and the full set
    (`Retry-After`, `X-RateLimit-Limit/-Remaining/-Reset`, `RateLimit-Reason`) with a 429.
    Data Center (an admin-configured token bucket, approximated here as a one-minute window)
    sends its headers with every answer."""
    if site.rate_limit is None:
        return {}, False
    now = site.clock()
    while site.window and site.window[0] <= now - 60.0:
        site.window.popleft()
    site.window.append(now)
    left = max(0, site.rate_limit - len(site.window))
    over = site.enforce_rate_limit and len(site.window) > site.rate_limit
    wait = max(1, int(site.window[0] + 60.0 - now))
    full = {"X-RateLimit-Limit": str(site.rate_limit), "X-RateLimit-Remaining": str(left)}
    if not site.cloud:
        full |= {"X-RateLimit-Interval-Seconds": "60", "X-RateLimit-FillRate": str(site.rate_limit)}
        return full | {"retry-after": str(wait if over else 0)}, over
    if over:
        reset = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(now + wait))
        return full | {
            "Retry-After": str(wait),
            "X-RateLimit-Reset": reset,
            "RateLimit-Reason": "jira-burst-based",
        }, True
    return ({"X-RateLimit-NearLimit": "true"} if left < 0.2 * site.rate_limit else {}), False
