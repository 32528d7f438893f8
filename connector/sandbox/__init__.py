"""The sandbox: local emulated Zendesk, Jira Cloud and Jira Data Center over real HTTP on
127.0.0.1, seeded with a realistic mix of tickets for the example policy, and a config that
points the policy at them (`escalate demo`, `escalate sandbox serve`, end-to-end tests and the
run benchmark).

Modules: `script` (a ticket's neutral script: who did what, when), `archetypes` (the kinds of
ticket, each due or quiet at `now`), `mix` (their proportions, deterministic per seed),
`catalog` (what the policy names: groups, people, fields), `zendesk` and `jira` (seeding each
emulator), `connection` (the real adapters on the emulators, in process: past connector runs
while seeding, and the tickets as a run reads them), `config`
(secret files and escalate.yaml), `box` (the `Sandbox` context manager), `inspect` (queues as
agents see them, and what is still due), `cli` (`escalate sandbox serve`).
"""

from connector.sandbox.box import INSTANCES, PLATFORMS, Sandbox
from connector.sandbox.inspect import Row, due, snapshot

__all__ = ["INSTANCES", "PLATFORMS", "Row", "Sandbox", "due", "snapshot"]
