"""A platform package as the registry (`adapters/registry.py`) holds it: its settings model,
loaded with the package, and its adapter's `build`, imported when an instance is first built
(so checking a configuration loads no client library). Light: importing this module loads
neither requests nor a client library."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from adapters.settings import InstanceSettings

if TYPE_CHECKING:  # the types only: importing them would load requests
    from requests.adapters import BaseAdapter

    from adapters.http import Clock, Sleeper
    from adapters.protocol import Adapter
    from rules.policy import Policy
    from state import HistoryRows, OwedRows, Store

S = TypeVar("S", bound=InstanceSettings)


@dataclass(frozen=True)
class Wiring:
    """What an adapter takes from its surroundings: the clock and the sleeper (tests inject
    both), where the instance's journal and caches live (`store`; else SQLite files in
    `state_dir`; neither: nothing is kept), and what carries its requests under its own
    transport (an emulator in process; None: the network)."""

    clock: Clock
    sleep: Sleeper
    state_dir: Path | None = None
    transport: BaseAdapter | None = None
    store: Store | None = None

    def _store(self) -> Store | None:
        if self.store is not None:
            return self.store
        from state.sqlite import SqliteStore  # noqa: PLC0415 (sqlite3, only when kept)

        return SqliteStore(self.state_dir) if self.state_dir is not None else None

    def owed(self, instance: str) -> OwedRows | None:
        """The instance's owed-comment table, if anything is kept."""
        store = self._store()
        return store.owed(instance) if store is not None else None

    def history(self, instance: str) -> HistoryRows | None:
        """The instance's history-cache table, if anything is kept."""
        store = self._store()
        return store.history(instance) if store is not None else None


#: A platform's `build`: the adapter for one instance, sending nothing until it is used.
Builder = Callable[[str, S, "Policy", Wiring], "Adapter"]


class Package(Generic[S]):
    """A platform: `name`, its instances' settings model, and a function that imports and
    returns its typed `build`."""

    def __init__(self, name: str, settings: type[S], builder: Callable[[], Builder[S]]) -> None:
        self.name, self.settings, self.builder = name, settings, builder

    def settings_model(self) -> type[InstanceSettings]:
        return self.settings

    def build(
        self, instance: str, settings: InstanceSettings, policy: Policy, wiring: Wiring
    ) -> Adapter:
        if not isinstance(settings, self.settings):
            raise TypeError(f"instance {instance}: not a {self.name} instance's settings")
        return self.builder()(instance, settings, policy, wiring)
