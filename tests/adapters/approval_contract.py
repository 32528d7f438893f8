"""Approvals no one can forge, checked on every adapter (mixed into each platform's contract).

An approval counts only when the platform's own record (Zendesk audit, Jira changelog, the
in-memory store's setter) says an allowed approver set the field: a named user or a member of
a named group. Each step runs the real engine on what the adapter read, and writes through the
adapter, so what is asserted is what the platform holds.
"""

from __future__ import annotations

from typing import Protocol

from adapters.results import WriteStatus
from rules.policy import Policy, load_policy
from tests.adapters.contract import CONTRACT_POLICY, AdapterContract, Harness

APPROVAL_POLICY = CONTRACT_POLICY.replace(
    "  - name: L2\n    owner: {group: Support L2}\n",
    "  - name: L2\n    owner: {group: Support L2}\n    approval:\n"
    # Maria by e-mail (Zendesk, Jira Cloud) and by username (Jira Data Center)
    "      approvers: [maria@acme.example, maria]\n      groups: [Managers]\n",
).replace(
    "      state: Escalation state\n",
    "      state: Escalation state\n      approved_by: Escalation approved by\n",
)
MARIA, LEE, DANA = "maria@acme.example", "lee@acme.example", "dana@acme.example"


class Approving(Harness, Protocol):
    def use_approvals(self, policy: Policy) -> None:
        """Run `policy` from now on, on a platform that has its approval field."""
        ...

    def approve(self, ticket_id: str, value: str, *, by: str) -> None:
        """The person `by` (an agent's e-mail) types `value` into the approval field."""
        ...

    def in_group(self, group: str, person: str) -> None:
        """Make the agent `person` (an e-mail) a member of `group`."""
        ...

    def rename(self, person: str, name: str) -> None:
        """The agent `person` (an e-mail) changes their own display name to `name`."""
        ...


def approval_policy() -> Policy:
    assert "approved_by" in APPROVAL_POLICY and "Managers" in APPROVAL_POLICY
    return load_policy(APPROVAL_POLICY, "approval-contract.yaml")


class ApprovalContract(AdapterContract):
    def run(self, harness: Approving) -> dict[str, WriteStatus]:
        """One connector run: fetch, plan, write; each ticket's write status."""
        policy = harness.policy()
        adapter = harness.adapter()
        changes = self.plan(policy, self.fetch(adapter, policy).values())
        return {t: r.status for t, r in self.write(adapter, policy, changes).items()}

    def awaiting(self, harness: Approving) -> str:
        harness.use_approvals(approval_policy())
        (tid,) = harness.seed(1, priority="P1")
        assert self.run(harness) == {tid: WriteStatus.APPLIED}  # asks for the approval
        view = harness.view(tid)
        assert view.tracking.get("level") is None and view.group == "Support L1"
        assert any("awaiting approval" in n for n in view.notes())
        return tid

    def approval_field(self, harness: Approving, tid: str) -> str | None:
        ticket = self.fetch(harness.adapter(), harness.policy())[tid]
        return ticket.tracking.approved_by

    def test_a_forged_approval_is_refused_cleared_and_noted(self, harness: Approving) -> None:
        tid = self.awaiting(harness)
        harness.approve(tid, MARIA, by=LEE)  # Lee types the approver's name
        assert self.run(harness) == {tid: WriteStatus.APPLIED}
        view = harness.view(tid)
        assert view.group == "Support L1" and view.tracking.get("level") is None
        refusal = view.notes()[-1].replace("\\", "")  # Zendesk's markdown escapes
        assert "refused" in refusal and LEE in refusal, refusal
        assert self.approval_field(harness, tid) is None
        assert self.run(harness) == {}  # nothing more to do until someone decides

    def test_a_display_name_is_no_identity(self, harness: Approving) -> None:
        """Anyone may rename themselves: Lee calling himself Maria approves nothing."""
        tid = self.awaiting(harness)
        harness.approve(tid, "ok", by=LEE)
        harness.rename(LEE, MARIA)
        harness.rename(LEE, "maria")
        assert self.run(harness) == {tid: WriteStatus.APPLIED}
        view = harness.view(tid)
        assert view.tracking.get("level") is None and view.group == "Support L1"
        assert "refused" in view.notes()[-1]

    def test_the_named_approver_moves_it(self, harness: Approving) -> None:
        tid = self.awaiting(harness)
        harness.approve(tid, "approved", by=MARIA)
        assert self.run(harness) == {tid: WriteStatus.APPLIED}
        view = harness.view(tid)
        assert view.group == "Support L2" and view.tracking.get("level") == "L2"
        assert view.tracking.get("rule") == "p1-to-l2"  # the rule that asked for the approval
        notes = [n.replace("\\", "") for n in view.notes()]  # Zendesk's markdown escapes
        assert any("approved by" in n and MARIA in n for n in notes)
        assert self.approval_field(harness, tid) is None

    def test_a_member_of_an_approver_group_moves_it(self, harness: Approving) -> None:
        tid = self.awaiting(harness)
        harness.in_group("Managers", DANA)
        harness.approve(tid, "ok", by=DANA)
        assert self.run(harness) == {tid: WriteStatus.APPLIED}
        assert harness.view(tid).tracking.get("level") == "L2"
