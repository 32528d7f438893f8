"""Moving what a store keeps to another: `escalate state export` writes every instance's owed
comments and kept histories as JSON lines, `escalate state import` writes them into the store
the config names (e.g. from a state directory into PostgreSQL), each instance under its lock,
so no run can act on an owed comment half-way through the move.

A line: {"instance": ..., "table": "owed" | "history" | "notices", "identity": ..., "row": [...]}
(notices: what notify/outbox.py keeps, so nothing sent is sent again after the move). The
identity (the account and format the rows were written for) travels with the rows: the
importing store keeps them under it, and a run for another account drops them, as it would have.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from state.errors import StoreError
from state.protocol import HistoryRow, NoticeRow, OwedRow, Store

TABLES = ("owed", "history", "notices")


def export(store: Store, instances: Sequence[str]) -> Iterator[dict[str, Any]]:
    """Every row the store keeps for `instances` (each read under the instance's lock)."""
    for instance in instances:
        lease = store.lock(instance)
        try:
            yield from _instance(store, instance)
        finally:
            lease.release()


def _instance(store: Store, instance: str) -> Iterator[dict[str, Any]]:
    owed, history = store.owed(instance), store.history(instance)
    notices = store.notices(instance)
    try:
        identity = owed.stored_identity()
        if identity is not None:
            owed.open(identity)
            for row in owed.select():
                yield {"instance": instance, "table": "owed", "identity": identity, "row": row}
        identity = history.stored_identity()
        if identity is not None:
            history.open(identity)
            for hrow in history.dump():
                yield {"instance": instance, "table": "history", "identity": identity, "row": hrow}
        for nrow in notices.select():
            yield {"instance": instance, "table": "notices", "identity": "1", "row": nrow}
    finally:
        owed.close()
        history.close()
        notices.close()


def import_(store: Store, lines: Iterable[dict[str, Any]]) -> dict[tuple[str, str], int]:
    """Write exported rows into `store`; (instance, table) -> rows given. A table written for
    another identity is replaced, as a run for that identity would replace it; an owed row the
    store has already (a run there since) stays as it is."""
    grouped: dict[tuple[str, str, str], list[list[Any]]] = defaultdict(list)
    for n, line in enumerate(lines, 1):
        try:
            key = (str(line["instance"]), str(line["table"]), str(line["identity"]))
            row = list(line["row"])
        except (KeyError, TypeError) as exc:
            raise StoreError(f"line {n}: not an exported row ({exc})") from None
        if key[1] not in TABLES:
            raise StoreError(f"line {n}: unknown table {key[1]!r}")
        grouped[key].append(row)
    done: dict[tuple[str, str], int] = {}
    for (instance, table, identity), rows in grouped.items():
        lease = store.lock(instance)
        try:
            _write(store, instance, table, identity, rows)
        finally:
            lease.release()
        done[(instance, table)] = len(rows)
    return done


def _write(store: Store, instance: str, table: str, identity: str, rows: list[list[Any]]) -> None:
    try:
        if table == "owed":
            target = store.owed(instance)
            target.open(identity)
            target.put([_owed(r) for r in rows], keep=True)  # a newer row stays
        elif table == "notices":
            kept = store.notices(instance)
            kept.add([_notice(r) for r in rows])  # a notice the store has already stays
            kept.close()
        else:
            hist = store.history(instance)
            hist.open(identity)
            hist.put([_history(r) for r in rows])
    except (ValueError, TypeError) as exc:
        raise StoreError(f"instance {instance}, {table}: a row does not fit ({exc})") from None


def _owed(r: Sequence[Any]) -> OwedRow:
    t, s, k, b, x, w, a, c, o, st = r
    return (str(t), str(s), str(k), str(b), str(x), str(w), float(a), bool(c), str(o), str(st))


def _notice(r: Sequence[Any]) -> NoticeRow:
    i, t, c, k, e, d, st, a, n, err, cr, up = r
    return (
        str(i), str(t), str(c), str(k), str(e), float(d), str(st), int(a), str(n), str(err),
        float(cr), float(up),
    )  # fmt: skip


def _history(r: Sequence[Any]) -> HistoryRow:
    t, u, e = r
    return (str(t), str(u), str(e))
