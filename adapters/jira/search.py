"""The read requests: issues page by page, their changelogs in bulk, one issue's comments.

- Cloud: `POST /rest/api/3/search/jql`, paged with `nextPageToken` (absent, with `isLast`, on the
  last page; there is no total). The old `/search` answers 410 on Cloud.
- Data Center: `GET /rest/api/2/search` with `startAt`/`maxResults`/`total`. The server may cap
  `maxResults`, so we advance by what came back, and check at the end that the distinct issues
  add up to `total` (and that `total` held still): a result set that moved while we paged is
  refused rather than acted on.
- History on Cloud: `POST /rest/api/3/changelog/bulkfetch`, up to 1,000 issues and 10 fields a
  call. On Data Center (no bulk changelog API) the search itself expands `changelog`.
- Named issues now (the re-read before writing): on Cloud `POST /rest/api/3/issue/bulkfetch`,
  100 a call, read from the database like GET issue (search is eventually consistent: it could
  show an issue as it was before a person's edit); on Data Center, whose search index is
  updated as the issue is, a search `key in (...)`, with `validateQuery=false` so that an issue
  gone since does not fail the others. Issues not found are left out.
Any failure raises, so the caller acts on nothing (never a partial set presented as complete).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from adapters.errors import AdapterError
from adapters.jira.client import Flavour, JiraClient
from adapters.jira.decoding import Decode
from adapters.jira.jql import ordered, quoted

MAX_PAGES = 10_000
BULK_ISSUES = 100
BULK_CHANGELOG_ISSUES = 1000
BULK_CHANGELOG_FIELDS = 10


def search(
    client: JiraClient,
    jql: str,
    fields: Sequence[str],
    page_size: int,
    expand: str | None = None,
    *,
    grows: bool = False,
    decode: Decode | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Pages of issues, each issue once; raises on any failure or inconsistency. With `grows`
    (a backtest's window, in key order: new issues come last, none leaves), a Data Center
    total that grows while paging is followed instead of refused. `decode`: how to decode each
    page, if not whole (a sweep's: `adapters.jira.decoding`)."""
    if client.flavour is Flavour.CLOUD:
        yield from _search_cloud(client, ordered(jql), fields, page_size, expand, decode)
    else:
        yield from _search_dc(client, ordered(jql), fields, page_size, expand, grows, decode=decode)


def _search_cloud(
    client: JiraClient,
    jql: str,
    fields: Sequence[str],
    size: int,
    expand: str | None,
    decode: Decode | None = None,
) -> Iterator[list[dict[str, Any]]]:
    path = f"{client.api}/search/jql"
    token: str | None = None
    seen: set[str] = set()
    tokens: set[str] = set()
    for _ in range(MAX_PAGES):
        body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": size}
        if expand:
            body["expand"] = expand
        if token is not None:
            body["nextPageToken"] = token
        page = _page(client.post(path, body, decode=decode), f"POST {path}")
        yield _fresh(page["issues"], seen)
        token = page.get("nextPageToken")
        if not token:
            if page.get("isLast") is False:
                raise AdapterError(
                    f"POST {path}: a page said it was not the last but gave no nextPageToken;"
                    " the search cannot be completed, so nothing is acted on"
                )
            return
        if page.get("isLast") is True:
            return
        if token in tokens:
            raise AdapterError(f"POST {path}: the same nextPageToken came back twice")
        tokens.add(token)
    raise AdapterError(f"POST {path}: more than {MAX_PAGES} pages; narrow the instance's scope")


def _search_dc(
    client: JiraClient,
    jql: str,
    fields: Sequence[str],
    size: int,
    expand: str | None,
    grows: bool = False,
    extra: Mapping[str, str] | None = None,
    decode: Decode | None = None,
) -> Iterator[list[dict[str, Any]]]:
    path = f"{client.api}/search"
    start, total = 0, -1
    seen: set[str] = set()
    for _ in range(MAX_PAGES):
        params: dict[str, Any] = {
            "jql": jql,
            "startAt": start,
            "maxResults": size,
            "fields": ",".join(fields),
            **(extra or {}),
        }
        if expand:
            params["expand"] = expand
        page = _page(client.get(path, params, decode=decode), f"GET {path}", "total")
        issues = page["issues"]
        reported = int(page["total"])
        if total < 0 or (grows and reported > total):
            total = reported
        elif reported != total:
            raise _moved(path, f"total was {total}, then {reported}")
        yield _fresh(issues, seen)
        start += len(issues)
        if start >= total:
            if len(seen) != total:
                raise _moved(path, f"{len(seen)} distinct issues for a total of {total}")
            return
        if not issues:
            raise _moved(path, f"an empty page at startAt={start} of total {total}")
    raise AdapterError(f"GET {path}: more than {MAX_PAGES} pages; narrow the instance's scope")


def _page(page: Any, what: str, *numbers: str) -> dict[str, Any]:
    """A search answer that really is one: an empty or foreign body (a proxy's, a maintenance
    page's) must not pass for "no more issues"."""
    issues = page.get("issues") if isinstance(page, dict) else None
    if isinstance(issues, list) and all(type(page.get(n)) is int for n in numbers):
        return page  # type: ignore[no-any-return]
    if page is None:
        got = "an empty body"
    elif isinstance(page, dict):
        got = "keys " + ", ".join(sorted(page)) if page else "{}"
    else:
        got = f"a JSON {type(page).__name__}"
    wanted = " and ".join(["an issues list", *(f"a {n}" for n in numbers)])
    raise AdapterError(
        f"{what} answered without {wanted} (got {got}): not a search result, so nothing is"
        " acted on this run"
    )


def _moved(path: str, what: str) -> AdapterError:
    return AdapterError(
        f"GET {path}: the results changed while paging ({what}); nothing is acted on this run"
    )


def _fresh(issues: list[dict[str, Any]], seen: set[str]) -> list[dict[str, Any]]:
    out = []
    for issue in issues:
        key = str(issue.get("key"))
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


def by_keys(
    client: JiraClient, keys: Sequence[str], fields: Sequence[str], *, changelog: bool
) -> list[dict[str, Any]]:
    """The issues named (at most BULK_ISSUES), as they are now; gone or hidden ones are left
    out. Cloud expands at most the 40 latest changelog entries (`total` says when more)."""
    if not 1 <= len(keys) <= BULK_ISSUES:
        raise ValueError(f"1 to {BULK_ISSUES} issues a call, not {len(keys)}")
    if client.flavour is Flavour.CLOUD:
        path = f"{client.api}/issue/bulkfetch"
        body: dict[str, Any] = {"issueIdsOrKeys": list(keys), "fields": list(fields)}
        if changelog:
            body["expand"] = ["changelog"]
        return list(_page(client.post(path, body), f"POST {path}")["issues"])
    jql = f"key in ({', '.join(quoted(k) for k in keys)}) ORDER BY key ASC"
    expand = "changelog" if changelog else None
    pages = _search_dc(client, jql, fields, len(keys), expand, extra={"validateQuery": "false"})
    return [issue for page in pages for issue in page]


def changelogs(
    client: JiraClient, issue_ids: Sequence[str], field_ids: Sequence[str]
) -> dict[str, list[Mapping[str, Any]]]:
    """Cloud: the changelog entries of each issue (by issue id), for the given fields only."""
    path = f"{client.api}/changelog/bulkfetch"
    out: dict[str, list[Mapping[str, Any]]] = {i: [] for i in issue_ids}
    fids = list(dict.fromkeys(field_ids))[:BULK_CHANGELOG_FIELDS]
    for at in range(0, len(issue_ids), BULK_CHANGELOG_ISSUES):
        chunk = list(issue_ids[at : at + BULK_CHANGELOG_ISSUES])
        token: str | None = None
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {"issueIdsOrKeys": chunk, "fieldIds": fids, "maxResults": 10000}
            if token:
                body["nextPageToken"] = token
            page = client.post(path, body) or {}
            for log in page.get("issueChangeLogs") or ():
                out.setdefault(str(log.get("issueId")), []).extend(log.get("changeHistories") or ())
            token = page.get("nextPageToken")
            if not token:
                break
        else:
            raise AdapterError(f"POST {path}: more than {MAX_PAGES} pages")
    return out


def issue_comments(client: JiraClient, key: str) -> list[Mapping[str, Any]]:
    """Every comment of one issue (when the search's `comment` field was truncated)."""
    path = f"{client.api}/issue/{key}/comment"
    out: list[Mapping[str, Any]] = []
    while True:
        page = client.get(path, {"startAt": len(out), "maxResults": 100}) or {}
        values = page.get("comments") or []
        out.extend(values)
        if not values or len(out) >= int(page.get("total") or 0):
            return out
