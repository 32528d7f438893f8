"""The archetypes of the mix: each builds one ticket's script, due at `now` (the example
policy changes it on the next run) or quiet (it does not), whatever the weekday, the hour or
the holidays.

A quiet ticket is young, waiting on the customer (the standard SLA pauses), or escalated and
handled since; a due one crossed a calendar-time trigger or has no clock at all (a VIP, three
customer replies, a request, an approval). Business-time triggers are only relied on with
margins that hold across weekends and the Berlin holidays, and never on a P2 that waits (its
SLA does not pause).
"""

from __future__ import annotations

import random
from dataclasses import replace

from connector.sandbox.script import DAY, HOUR, MINUTE, ORGS, Customer, Spec, Step

FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Greta", "Hiro", "Ines", "Jonas", "Kim")
LAST = ("Novak", "Okafor", "Schmidt", "Tanaka", "Rossi", "Dubois", "Kowalski", "Haddad", "Berg")

TITLES: dict[str | None, tuple[str, ...]] = {
    "network": (
        "VPN drops every few minutes",
        "DNS does not resolve intranet hosts",
        "Site-to-site tunnel to Hamburg is down",
        "Firewall blocks port 443 to the payment gateway",
        "Packet loss on the office uplink",
        "Cannot reach the VPN portal from home",
    ),
    "billing": (
        "Invoice charged twice this month",
        "Refund not received after cancellation",
        "Card payment declined at checkout",
        "Wrong VAT rate on the last invoice",
        "Need a copy of the March invoice",
    ),
    None: (
        "Cannot log in after password reset",
        "Export to CSV times out",
        "Mobile app crashes on start",
        "Need admin rights for a new hire",
        "E-mail notifications arrive hours late",
        "Dashboard shows stale data",
        "SSO error when opening the portal",
        "Printer on the 3rd floor is offline",
        "Report totals do not match the ledger",
    ),
}
TAGS: dict[str | None, tuple[str, ...]] = {
    "network": ("network", "vpn", "dns"),
    "billing": ("billing",),
    None: ("sso", "mobile", "export", "onboarding", "printer", "reporting"),
}
AREAS: dict[str | None, tuple[str, ...]] = {
    "network": ("network",),
    "billing": ("billing",),
    None: ("account", "hardware", "software"),
}
FOLLOW_UPS = (
    "Any update on this?",
    "This is still happening this morning.",
    "We are losing orders because of this.",
    "Hello? Is anyone looking at this?",
    "Still broken for the whole team.",
)
FIRST_FOLLOW_UP = ("Thanks, I tried that but it did not help.", "Here is a screenshot of it.")
ANGRY = (
    "This is unacceptable. I want to speak to a manager.",
    "Please escalate this, it has been days.",
    "Consider this a formal complaint.",
)
REPLIES = (
    "Thanks for reporting this, we are looking into it.",
    "Could you send us the exact error message?",
    "We have reproduced it and are working on a fix.",
    "I have restarted the service; please try again.",
)
HANDLED = (
    "I have taken this over and will keep you posted.",
    "Our specialists are on it; we need a log file from you.",
)
APPROVER = "maria.manager@example.com"


class Maker:
    """Builds one archetype's spec; each `kind` has a method of that name (dashes as _)."""

    def __init__(self, rng: random.Random, now: float) -> None:
        self.rng, self.now = rng, now
        self.customers = [
            Customer(f"{f} {s}", f"{f.lower()}.{s.lower()}@{domain}", org)
            for org, (domain, _) in ORGS.items()
            for f in FIRST[:4]
            for s in LAST[:2]
        ]
        self.customers += [
            Customer(f"{f} {s}", f"{f.lower()}.{s.lower()}@mail.example")
            for f in FIRST
            for s in LAST
        ]

    # --- building blocks ------------------------------------------------------------------

    def ago(self, low: float, high: float) -> float:
        return self.now - self.rng.uniform(low, high)

    def customer(self, *, vip: bool = False, globex: bool = False) -> Customer:
        if vip or globex:
            org = "BigBank" if vip else "Globex"
            return self.rng.choice([c for c in self.customers if c.org == org])
        return self.rng.choice([c for c in self.customers if c.org not in ("BigBank", "Globex")])

    def base(
        self,
        kind: str,
        due: bool,
        created: float,
        priority: str,
        *,
        customer: Customer | None = None,
        status: str = "new",
        ask_manager: bool = False,
    ) -> Spec:
        rng = self.rng
        function = rng.choices(["network", "billing", None], [25, 20, 55])[0]
        components: tuple[str, ...] = ()
        if function == "network" and rng.random() < 0.6:
            components = (rng.choice(("Network", "VPN")),)
        return Spec(
            kind=kind,
            due=due,
            created=created,
            title=rng.choice(TITLES[function]),
            priority=priority,
            status=status,
            customer=customer or self.customer(),
            group="Support L1" if rng.random() < 0.85 else None,
            tags=(rng.choice(TAGS[function]),),
            components=components,
            area=rng.choice(AREAS[function]) if rng.random() < 0.5 else None,
            ask_manager=ask_manager,
        )

    def plain_priority(self, p2: float = 20) -> str:
        return self.rng.choices(["P2", "P3", "P4"], [p2, 55, 25])[0]

    def reply(self, at: float) -> Step:
        return Step(at, "agent", self.rng.choice(REPLIES), status="open")

    def follow_up(self, at: float, first: bool = False) -> Step:
        return Step(at, "customer", self.rng.choice(FIRST_FOLLOW_UP if first else FOLLOW_UPS))

    def handled(self, at: float, status: str | None = None) -> list[Step]:
        """An agent takes an escalated ticket and answers; the connector's next run follows."""
        status = status or self.rng.choices(["pending", "hold"], [80, 20])[0]
        took = Step(at, "agent", self.rng.choice(HANDLED), status=status, assign=True)
        return [took, Step(at + self.rng.uniform(3, 8) * MINUTE, "connector")]

    # --- due at now ------------------------------------------------------------------------

    def p1_breach(self) -> Spec:
        if self.rng.random() < 0.5:  # opened as a P1 just over an hour ago
            return self.base("p1-breach", True, self.ago(61 * MINUTE, 70 * MINUTE), "P1")
        created = self.ago(3 * HOUR, 20 * HOUR)  # an agent raised it to P1 a moment ago
        raised = Step(self.ago(1 * MINUTE, 4 * MINUTE), "agent", priority="P1", status="open")
        spec = self.base("p1-breach", True, created, "P3")
        return replace(spec, steps=(self.reply(created + 20 * MINUTE), raised))

    def vip(self) -> Spec:
        created = self.ago(2 * MINUTE, 3 * HOUR)
        vip = self.customer(vip=True)
        return self.base("vip", True, created, self.plain_priority(), customer=vip)

    def complaints(self) -> Spec:
        created = self.ago(6 * HOUR, 2 * DAY)
        first = created + self.rng.uniform(20 * MINUTE, 2 * HOUR)
        count = self.rng.choice((3, 3, 4))
        times = [self.rng.uniform(first + MINUTE, self.now - MINUTE) for _ in range(count)]
        spec = self.base("complaints", True, created, self.plain_priority())
        return replace(spec, steps=(self.reply(first), *(self.follow_up(t) for t in times)))

    def reopened_twice(self) -> Spec:
        created = self.ago(3 * DAY, 10 * DAY)
        gap = (self.now - created) / 6
        steps = []
        for start in (created, created + 2 * gap):
            steps.append(Step(start + gap / 2, "agent", self.rng.choice(REPLIES), status="solved"))
            steps.append(Step(start + gap * 1.5, "customer", "It is broken again.", status="open"))
        spec = self.base("reopened-twice", True, created, self.plain_priority(p2=0))
        return replace(spec, steps=tuple(steps))

    def customer_field(self) -> Spec:
        created = self.ago(10 * MINUTE, 2 * DAY)
        return self.base("customer-field", True, created, self.plain_priority(), ask_manager=True)

    def customer_phrase(self) -> Spec:
        created = self.ago(5 * HOUR, 2 * DAY)
        spec = self.base("customer-phrase", True, created, self.plain_priority())
        angry = Step(self.ago(5 * MINUTE, 3 * HOUR), "customer", self.rng.choice(ANGRY))
        return replace(spec, steps=(self.reply(created + 30 * MINUTE), angry))

    def agent_request(self) -> Spec:
        created = self.ago(1 * HOUR, 3 * DAY)
        level = "L3" if self.rng.random() < 0.3 else "L2"
        spec = self.base("agent-request", True, created, self.plain_priority())
        ask = Step(self.ago(2 * MINUTE, 50 * MINUTE), "agent", request=level)
        return replace(spec, steps=(self.reply(created + 15 * MINUTE), ask))

    def stale(self) -> Spec:
        created = self.ago(15 * DAY, 40 * DAY)
        spec = self.base("stale", True, created, self.plain_priority(p2=10))
        return replace(spec, steps=(self.reply(created + self.rng.uniform(1, 20) * HOUR),))

    def unacknowledged(self) -> Spec:
        """Escalated for a VIP a week or more ago, and nobody has touched it since."""
        created = self.ago(7 * DAY, 12 * DAY)
        vip = self.customer(vip=True)
        spec = self.base("unacknowledged", True, created, "P4", customer=vip, status="open")
        return replace(spec, steps=(Step(created + self.rng.uniform(3, 9) * MINUTE, "connector"),))

    def approved(self) -> Spec:
        created = self.ago(2 * DAY, 6 * DAY)
        asked = created + self.rng.uniform(1 * HOUR, 1 * DAY)
        spec = self.base("approved", True, created, self.rng.choice(("P3", "P4")))
        steps = (
            self.reply(created + 10 * MINUTE),
            Step(asked, "agent", request="L3"),
            Step(asked + 5 * MINUTE, "connector"),
            *self.handled(asked + 2 * HOUR),
            Step(self.ago(5 * MINUTE, 60 * MINUTE), "approver", approved_by=APPROVER),
        )
        return replace(spec, steps=steps)

    # --- quiet at now ----------------------------------------------------------------------

    def fresh(self) -> Spec:
        priority = self.rng.choices(["P1", "P2", "P3", "P4"], [6, 22, 47, 25])[0]
        young = {"P1": 50 * MINUTE, "P2": 14 * HOUR}.get(priority, 28 * HOUR)
        created = self.ago(3 * MINUTE, young)
        spec = self.base("fresh", False, created, priority)
        if self.rng.random() < 0.5:
            return spec
        answered = self.rng.uniform(created, self.now)
        steps = [self.reply(answered)]
        if self.rng.random() < 0.4:
            steps.append(self.follow_up(self.rng.uniform(answered, self.now), first=True))
        return replace(spec, steps=tuple(steps))

    def waiting(self) -> Spec:
        """Waiting on the customer, some for weeks: the standard SLA is paused meanwhile."""
        created = self.ago(1 * DAY, 35 * DAY)
        who = self.rng.random()
        customer = self.customer(vip=who < 0.1, globex=0.1 <= who < 0.2)
        priority = self.rng.choice(("P3", "P4"))
        spec = self.base("waiting", False, created, priority, customer=customer)
        status = self.rng.choices(["pending", "hold"], [80, 20])[0]
        at = created + self.rng.uniform(10 * MINUTE, 4 * HOUR)
        return replace(spec, steps=(Step(at, "agent", self.rng.choice(REPLIES), status=status),))

    def few_replies(self) -> Spec:
        created = self.ago(2 * HOUR, 12 * HOUR)
        answered = created + self.rng.uniform(5 * MINUTE, 1 * HOUR)
        times = [self.rng.uniform(answered, self.now) for _ in range(self.rng.choice((1, 2)))]
        spec = self.base("few-replies", False, created, self.plain_priority())
        follow = (self.follow_up(t, first=True) for t in times)
        return replace(spec, steps=(self.reply(answered), *follow))

    def reopened_once(self) -> Spec:
        created = self.ago(20 * HOUR, 40 * HOUR)
        solved = created + self.rng.uniform(1 * HOUR, 4 * HOUR)
        back = self.rng.uniform(solved + HOUR, self.now - 2 * HOUR)
        spec = self.base("reopened-once", False, created, self.rng.choice(("P3", "P4")))
        steps = (
            Step(solved, "agent", self.rng.choice(REPLIES), status="solved"),
            Step(back, "customer", "Sorry, it is back.", status="open"),
            self.reply(back + self.rng.uniform(10 * MINUTE, 1 * HOUR)),
        )
        return replace(spec, steps=steps)

    def escalated_recently(self) -> Spec:
        """A P1 the connector moved to L2 within the last hour."""
        created = self.ago(70 * MINUTE, 100 * MINUTE)
        spec = self.base("escalated-recently", False, created, "P1", status="open")
        return replace(
            spec, steps=(Step(created + self.rng.uniform(61, 64) * MINUTE, "connector"),)
        )

    def escalated_handled(self) -> Spec:
        """Escalated days ago (SLA at risk, the customer's form, an agent's request); an agent
        took it and now waits for the customer, and the connector has run since."""
        how = self.rng.choice(("stale", "asks", "request"))
        if how == "stale":
            created = self.ago(25 * DAY, 45 * DAY)
            at = created + self.rng.uniform(14 * DAY, 18 * DAY)
            spec = self.base("escalated-handled", False, created, self.rng.choice(("P3", "P4")))
            steps = [self.reply(created + HOUR), Step(at, "connector")]
        elif how == "asks":
            created = self.ago(3 * DAY, 20 * DAY)
            at = created + self.rng.uniform(3, 15) * MINUTE
            priority = self.plain_priority(p2=0)
            spec = self.base("escalated-handled", False, created, priority, ask_manager=True)
            steps = [Step(at, "connector")]
        else:
            created = self.ago(2 * DAY, 20 * DAY)
            asked = created + self.rng.uniform(1 * HOUR, 1 * DAY)
            at = asked + 5 * MINUTE
            spec = self.base("escalated-handled", False, created, self.plain_priority(p2=0))
            steps = [self.reply(created + 20 * MINUTE), Step(asked, "agent", request="L2")]
            steps.append(Step(at, "connector"))
        steps += self.handled(at + self.rng.uniform(30 * MINUTE, 4 * HOUR))
        return replace(spec, steps=tuple(steps))

    def escalated_active(self) -> Spec:
        """A VIP ticket escalated a few hours ago that an agent is working on right now."""
        created = self.ago(3 * HOUR, 6 * HOUR)
        at = created + self.rng.uniform(2, 10) * MINUTE
        vip = self.customer(vip=True)
        spec = self.base("escalated-active", False, created, "P4", customer=vip)
        worked = self.ago(20 * MINUTE, 2 * HOUR)
        return replace(spec, steps=(Step(at, "connector"), *self.handled(worked, status="open")))

    def awaiting_approval(self) -> Spec:
        """An agent asked for L3; the approver has not signed off yet."""
        created = self.ago(2 * DAY, 10 * DAY)
        asked = created + self.rng.uniform(1 * HOUR, 1 * DAY)
        spec = self.base("awaiting-approval", False, created, self.rng.choice(("P3", "P4")))
        steps = (
            self.reply(created + 10 * MINUTE),
            Step(asked, "agent", request="L3"),
            Step(asked + 5 * MINUTE, "connector"),
            *self.handled(asked + 2 * HOUR),
        )
        return replace(spec, steps=steps)

    # --- the past month (quiet at now: done, and reviewed where escalated) ----------------

    def past_solved(self) -> Spec:
        """Opened in the last 30 days, answered and solved; a quarter were parked in pending
        right after the customer wrote, with no answer (the report's SLA gaming)."""
        created = self.ago(4 * DAY, 30 * DAY)  # solved by now, whatever the draws
        spec = self.base("past-solved", False, created, self.plain_priority())
        answered = created + self.rng.uniform(10 * MINUTE, 6 * HOUR)
        steps = [self.reply(answered)]
        at = answered + self.rng.uniform(1 * HOUR, 12 * HOUR)
        if self.rng.random() < 0.25:
            steps.append(self.follow_up(at, first=True))
            parked = at + self.rng.uniform(2, 20) * MINUTE
            steps.append(Step(parked, "agent", status="pending"))
            at = parked + self.rng.uniform(4 * HOUR, 2 * DAY)
        solved = at + self.rng.uniform(1 * HOUR, 1 * DAY)
        steps.append(Step(solved, "agent", self.rng.choice(REPLIES), status="solved"))
        return replace(spec, steps=tuple(steps))

    def past_p1(self) -> Spec:
        """A P1 of the last 30 days: escalated to L2 by the connector after its hour, handled
        and solved, then reviewed by the next run (close-and-review); some were reopened
        after their escalation and solved again."""
        created = self.ago(2 * DAY, 30 * DAY)
        spec = self.base("past-p1", False, created, "P1", status="open")
        at = created + self.rng.uniform(61, 75) * MINUTE
        steps = [Step(at, "connector"), *self.handled(at + self.rng.uniform(0.5, 3) * HOUR)]
        solved = at + self.rng.uniform(4 * HOUR, 20 * HOUR)
        steps.append(Step(solved, "agent", self.rng.choice(REPLIES), status="solved"))
        if self.rng.random() < 0.25:
            back = solved + self.rng.uniform(2 * HOUR, 12 * HOUR)
            steps.append(Step(back, "customer", "It is broken again.", status="open"))
            solved = back + self.rng.uniform(1 * HOUR, 6 * HOUR)
            steps.append(Step(solved, "agent", self.rng.choice(REPLIES), status="solved"))
        steps.append(Step(solved + self.rng.uniform(3, 8) * MINUTE, "connector"))
        return replace(spec, steps=tuple(steps))
