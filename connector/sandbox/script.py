"""The seeding scripts, platform-neutral: a ticket (`Spec`) is who opened it, when, about what,
and the steps that followed (`Step`: a customer's reply, an agent's update, a past connector
run), which the platform seeders replay with the emulator clock set to each step's time."""

from __future__ import annotations

from dataclasses import dataclass, field

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    email: str
    org: str | None = None  # an organisation name from ORGS


#: Organisations: name, e-mail domain, Zendesk organisation tags. The example policy treats
#: tags vip/strategic (Zendesk) and the domain bigbank.example (both platforms) as VIP.
ORGS = {
    "BigBank": ("bigbank.example", ("vip",)),
    "Globex": ("globex.example", ("strategic",)),
    "Initech": ("initech.example", ()),
    "Umbrella Corp": ("umbrella.example", ()),
    "Hooli": ("hooli.example", ()),
    "Acme Retail": ("acmeretail.example", ()),
}


@dataclass(frozen=True, slots=True)
class Step:
    """One thing that happened to a ticket, in one update (as a person submits it)."""

    at: float
    actor: str  # "customer" | "agent" | "approver" | "connector"
    comment: str | None = None
    public: bool = True
    status: str | None = None  # neutral: new, open, pending, hold, solved
    priority: str | None = None  # neutral: P1..P4
    assign: bool = False  # the agent takes the ticket
    request: str | None = None  # the escalation request field
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class Spec:
    kind: str
    due: bool  # built to be changed by the example policy at `now`
    created: float
    title: str
    priority: str  # neutral, at creation
    status: str  # neutral, at creation
    customer: Customer
    group: str | None = "Support L1"
    tags: tuple[str, ...] = ()
    components: tuple[str, ...] = ()  # Jira components (both platforms also get a tag)
    area: str | None = None  # the "Product area" field
    ask_manager: bool = False  # the customer ticked "Escalate to a manager"
    steps: tuple[Step, ...] = field(default=())


class Frozen:
    """An emulator clock that stands still at `t` while a step is replayed."""

    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
