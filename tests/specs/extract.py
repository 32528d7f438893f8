"""Cut the official OpenAPI documents down to the operations the adapters call.

The full documents live outside the repository (`../shared/specs/`, 3.6 MB). The tests validate
every request the adapters send against the trimmed copies written here, which keep each listed
operation exactly as published plus every component it references. Regenerate after adding an
operation to OPERATIONS:

    python tests/specs/extract.py ../shared/specs
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent

# (source file, output file, {path: [methods]})
OPERATIONS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "zendesk.json": (
        "zendesk-support.openapi.yaml",
        {
            "/api/v2/search/export": ["get"],
            "/api/v2/search": ["get"],
            "/api/v2/tickets/{ticket_id}": ["get", "put"],
            "/api/v2/tickets/show_many": ["get"],
            "/api/v2/tickets/update_many": ["put"],
            "/api/v2/tickets/{ticket_id}/comments": ["get"],
            "/api/v2/tickets/{ticket_id}/audits": ["get"],
            "/api/v2/ticket_metrics": ["get"],
            "/api/v2/incremental/ticket_events": ["get"],
            "/api/v2/job_statuses/{job_status_id}": ["get"],
            "/api/v2/job_statuses/show_many": ["get"],
            "/api/v2/ticket_fields": ["get", "post"],
            "/api/v2/groups": ["get"],
            "/api/v2/group_memberships": ["get"],
            "/api/v2/users": ["get"],
            "/api/v2/users/me": ["get"],
            "/api/v2/users/show_many": ["get"],
            "/api/v2/users/search": ["get"],
            "/api/v2/views": ["get", "post"],
            "/api/v2/organizations/show_many": ["get"],
            "/api/v2/custom_roles": ["get"],
            "/api/v2/triggers": ["get", "post"],
            "/oauth/tokens": ["post"],
        },
    ),
    "jira-cloud.json": (
        "jira-cloud-platform.openapi.json",
        {
            "/rest/api/3/serverInfo": ["get"],
            "/rest/api/3/myself": ["get"],
            "/rest/api/3/search/jql": ["get", "post"],
            "/rest/api/3/search": ["get", "post"],
            "/rest/api/3/issue/{issueIdOrKey}": ["get", "put"],
            "/rest/api/3/issue/{issueIdOrKey}/comment": ["get", "post"],
            "/rest/api/3/issue/{issueIdOrKey}/editmeta": ["get"],
            "/rest/api/3/issue/{issueIdOrKey}/changelog": ["get"],
            "/rest/api/3/issue/bulkfetch": ["post"],
            "/rest/api/3/changelog/bulkfetch": ["post"],
            "/rest/api/3/field": ["get", "post"],
            "/rest/api/3/priority/search": ["get"],
            "/rest/api/3/user/search": ["get"],
            "/rest/api/3/group/member": ["get"],
            "/rest/api/3/user/assignable/search": ["get"],
            "/rest/api/3/user": ["get"],
            "/rest/api/3/status": ["get"],
            "/rest/api/3/mypermissions": ["get"],
            "/rest/api/3/priority": ["get"],
            "/rest/api/3/filter": ["post"],
            "/rest/api/3/filter/search": ["get"],
            "/rest/api/3/filter/favourite": ["get"],
        },
    ),
}


class _Loader(yaml.CSafeLoader):
    """The Zendesk document uses the `=` (tag:yaml.org,2002:value) scalar in examples."""


_Loader.add_constructor(
    "tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node)
)


def load(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        if path.suffix == ".json":
            return json.load(fh)  # type: ignore[no-any-return]
        return yaml.load(fh, Loader=_Loader)  # type: ignore[no-any-return]


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/"):
            out.add(ref)
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def trim(doc: dict[str, Any], wanted: dict[str, list[str]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, methods in wanted.items():
        item = doc["paths"][path]
        kept = {k: v for k, v in item.items() if k in methods or k == "parameters"}
        missing = [m for m in methods if m not in item]
        if missing:
            raise SystemExit(f"{path}: no {missing} in the published document")
        paths[path] = kept
    seen: set[str] = set()
    todo: set[str] = set()
    _refs(paths, todo)
    components: dict[str, dict[str, Any]] = {}
    while todo:
        ref = todo.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        node = _resolve(doc, ref)
        components.setdefault(kind, {})[name] = node
        _refs(node, todo)
    if "securitySchemes" in doc.get("components", {}):
        components["securitySchemes"] = doc["components"]["securitySchemes"]
    return {
        "openapi": doc["openapi"],
        "info": {**doc["info"], "x-trimmed": "operations used by escalation-connector"},
        "servers": doc.get("servers", []),
        "paths": paths,
        "components": components,
    }


# Known errors in the published documents, fixed here so that the tests check what the API
# accepts. Each entry names the documentation that the fix follows.
def _zendesk_errata(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    # TicketUpdateInput.custom_fields points at the ticket-*field definition* schema (which
    # requires key/type/title and marks id read-only). The tickets API takes [{id, value}]:
    # developer.zendesk.com "Setting custom field values".
    schemas["TicketUpdateInput"]["properties"]["custom_fields"]["items"] = {
        "type": "object",
        "required": ["id", "value"],
        "additionalProperties": False,
        "properties": {"id": {"type": "integer"}, "value": {"nullable": True}},
    }
    # List Groups declares the `user_id` path parameter of its sibling operation (GET
    # /api/v2/users/{user_id}/groups, "List Groups" in the Groups reference lists both paths);
    # /api/v2/groups has no path parameter.
    groups = doc["paths"]["/api/v2/groups"]["get"]
    groups["parameters"] = [
        p for p in groups.get("parameters", []) if p.get("$ref") != "#/components/parameters/UserId"
    ]
    # Unassigning sends `"assignee_id": null` (tickets read back with assignee_id null when
    # unassigned); the schema declares a plain integer. NOT confirmed by the reference text:
    # verify on a sandbox account (docs/zendesk.md, "Open questions").
    schemas["TicketUpdateInput"]["properties"]["assignee_id"]["nullable"] = True
    # Create View declares no request body; its description ("JSON Format", "View columns",
    # "View sorting") documents one: a `view` with a required title and `all` conditions
    # (field, operator, value), optional `any`, `output` (up to 10 columns, a custom field by
    # its id; sort_by/group_by a column; sort_order/group_order asc or desc), `restriction`.
    column = {"oneOf": [{"type": "string"}, {"type": "integer"}]}
    condition = {
        "type": "object",
        "required": ["field", "operator"],
        "additionalProperties": False,
        "properties": {"field": {"type": "string"}, "operator": {"type": "string"}, "value": {}},
    }
    order = {"type": "string", "enum": ["asc", "desc"]}
    view = {
        "type": "object",
        "required": ["title", "all"],
        "additionalProperties": False,
        "properties": {
            "title": {"type": "string"},
            "raw_title": {"type": "string"},
            "description": {"type": "string"},
            "active": {"type": "boolean"},
            "position": {"type": "integer"},
            "restriction": {"type": "object"},
            "all": {"type": "array", "minItems": 1, "items": condition},
            "any": {"type": "array", "items": condition},
            "output": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "columns": {"type": "array", "maxItems": 10, "items": column},
                    "sort_by": column,
                    "group_by": column,
                    "sort_order": order,
                    "group_order": order,
                },
            },
        },
    }
    # List Memberships is published under /api/v2/group_memberships with the `group_id` and
    # `user_id` path parameters of its two sibling paths; the reference ("List Memberships")
    # documents GET /api/v2/groups/{group_id}/memberships, the one the connector calls.
    listing = copy.deepcopy(doc["paths"]["/api/v2/group_memberships"]["get"])
    listing["parameters"] = [{"$ref": "#/components/parameters/GroupId"}]
    listing["operationId"] = "ListGroupMembershipsOfGroup"
    doc["paths"]["/api/v2/groups/{group_id}/memberships"] = {"get": listing}
    doc["paths"]["/api/v2/views"]["post"]["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["view"],
                    "additionalProperties": False,
                    "properties": {"view": view},
                }
            }
        },
    }


ERRATA = {"zendesk.json": _zendesk_errata}


def main(source_dir: str) -> None:
    for out_name, (source, wanted) in OPERATIONS.items():
        doc = load(Path(source_dir) / source)
        trimmed = trim(doc, wanted)
        if out_name in ERRATA:
            ERRATA[out_name](trimmed)
        (HERE / out_name).write_text(json.dumps(trimmed, indent=1, sort_keys=True) + "\n")
        components = sum(map(len, trimmed["components"].values()))
        print(f"{out_name}: {len(trimmed['paths'])} paths, {components} components")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(HERE.parents[2] / "shared" / "specs"))
