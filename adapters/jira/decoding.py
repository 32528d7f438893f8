"""A sweep's search pages decoded into what the sweep reads, not whole (msgspec).

A search page is mostly what the sweep never looks at: each comment carries its author twice
(`author` and `updateAuthor`, each with URLs, time zone and avatar links), an ADF body of nested
nodes, and `self` links. `page_decoder` decodes a page against a schema of plain dicts
(`TypedDict`, so the mapping reads the same `dict`s as ever): of the page, its paging keys; of
each issue, `id`, `key`, the fields the search asked for (nothing else comes back for them) and
Data Center's expanded changelog (each entry's time, author and items); of each comment, what
`adapters.jira.events` and the writer read (id, times, author, visibility, properties,
`jsdPublic`), its body kept undecoded (`msgspec.Raw`) until `adapters.jira.markup.body_text`
reads it: a sweep reads one comment's text per issue. Of a user (a comment's or changelog
entry's author, the assignee, the reporter), who it is, its kind of account, name and e-mail.
Whatever the schema does not expect (a field that is not an object where one is expected, say)
is parsed whole instead, as before, so an odd answer costs time, never data.

Why msgspec: it skips what a schema leaves out without building it, where orjson (which parses
every other answer) builds every object of the page and the sweep then frees it; on the recorded
Jira Cloud sweep, parsing and freeing a page cost a quarter less (BENCHMARKS.md, "Full sweeps").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import GenericAlias
from typing import Any, TypedDict, cast

import msgspec

from adapters.sweeping import loads

Decode = Callable[[bytes], Any]
_typed_dict = cast(Any, TypedDict)  # the functional form, with names only known at run time

#: What is read of a user (`adapters.jira.context`: who it is, what kind of account, its
#: name and e-mail); its links, avatars, time zone and the rest are left out.
User = _typed_dict(
    "User",
    dict.fromkeys(("accountId", "accountType", "name", "key", "displayName", "emailAddress"), Any),
    total=False,
)
#: What is read of a comment; its body stays raw until read (`markup.body_text`).
COMMENT_KEYS = ("id", "created", "updated", "visibility", "properties", "jsdPublic")
Comment = _typed_dict(
    "Comment",
    {**dict.fromkeys(COMMENT_KEYS, Any), "author": User | None, "body": msgspec.Raw},
    total=False,
)
Comments = _typed_dict(
    "Comments",
    {"comments": GenericAlias(list, Comment), "total": Any, "startAt": Any, "maxResults": Any},
    total=False,
)
#: A Data Center search's expanded changelog: each entry's time, author and items.
History = _typed_dict(
    "History", {"id": Any, "created": Any, "author": User | None, "items": Any}, total=False
)
Changelog = _typed_dict(
    "Changelog",
    {"histories": GenericAlias(list, History), "total": Any, "startAt": Any, "maxResults": Any},
    total=False,
)
PAGE_KEYS = ("startAt", "maxResults", "total", "isLast", "nextPageToken")
USER_FIELDS = ("assignee", "reporter")


def page_decoder(fields: Sequence[str]) -> Decode:
    """The decoding of a search answer that asked for `fields` (see the module)."""
    shape: dict[str, Any] = dict.fromkeys(fields, Any)
    if "comment" in shape:
        shape["comment"] = Comments | None
    for name in USER_FIELDS:
        if name in shape:
            shape[name] = User | None
    issue = _typed_dict(
        "Issue",
        {
            "id": Any,
            "key": Any,
            "changelog": Changelog | None,
            "fields": _typed_dict("Fields", shape, total=False),  # a field may be left out
        },
        total=False,
    )
    issues = GenericAlias(list, issue)
    page = _typed_dict("Page", {**dict.fromkeys(PAGE_KEYS, Any), "issues": issues}, total=False)
    decoder = msgspec.json.Decoder(page)

    def decode(content: bytes) -> Any:
        try:
            page = loads(content, decoder.decode)
        except msgspec.DecodeError:  # not the shape expected (or not JSON): parsed whole
            return loads(content)
        # Not a search result at all: parsed whole, so that the error names what it holds.
        return page if "issues" in page else loads(content)

    return decode
