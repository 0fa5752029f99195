"""`madoguchi policy check NEW.yaml`: what a policy change would do, before anyone switches.

The new policy is validated (a `PolicyError` propagates: one line naming the key), then
every open case is replayed under the current and the new policy: its status, missing
documents, fee and due date. Final cases (closed, rejected) are counted, not replayed:
their outcome stands. Nothing is written: the session is rolled back, no reply is queued,
no event recorded.

The comparison is pure (`compare`, `policy_differences`); `check_policy` only gathers facts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import casestore
from bot.case_clock import received_on, stops_of
from bot.deadlines import Stop, deadline
from bot.models import FINAL_STATUSES, CaseFacts
from bot.policy import missing_documents, status_for
from config.policy import Policy, load_policy

if TYPE_CHECKING:
    from bot.app import App

Value = str | int | tuple[str, ...] | None
CHANGED = "changed"  # a part shown as changed only (addresses, account numbers)
FIELDS = ("fee", "missing", "status", "due")  # the causes first, then what follows


@dataclass(frozen=True)
class Change:
    """One field of one case that the new policy would change."""

    field: str  # fee | missing | status | due
    before: Value
    after: Value


@dataclass(frozen=True)
class CaseChange:
    case_id: str
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class PolicyDiff:
    """A difference between the two policies that a requester would notice."""

    key: str  # e.g. request_types.disclose.fee_yen, identity_documents, payment.methods
    before: Value
    after: Value


@dataclass(frozen=True)
class CaseClock:
    """What the due date of a case is computed from (see bot/case_clock.py)."""

    received_on: dt.date
    stops: tuple[Stop, ...]
    today: dt.date


@dataclass(frozen=True)
class PolicyCheck:
    spec: str
    policy_changes: tuple[PolicyDiff, ...]
    open_cases: int
    final_cases: int
    changed: tuple[CaseChange, ...]


# --------------------------------------------------------------------------- pure core


def outcome(facts: CaseFacts, policy: Policy, clock: CaseClock | None = None) -> dict[str, Value]:
    """Where a case stands under `policy`: status, missing, fee and (given its clock) due date."""
    fee = policy.fee_for(facts.request_types)
    missing = missing_documents(facts, policy)
    out: dict[str, Value] = {"status": status_for(facts, missing, fee), "missing": missing, "fee": fee}
    if clock is not None:
        try:
            due = deadline(clock.received_on, policy.response_period_days, policy.work_calendar(),
                           clock.stops, clock.today).due_on
            out["due"] = due.isoformat()
        except ValueError:  # a calendar that closes every day
            out["due"] = None
    return out


def compare(facts: CaseFacts, old: Policy, new: Policy, clock: CaseClock | None = None) -> list[Change]:
    """The fields of one case whose value differs under `new` from `old` (in FIELDS order)."""
    before, after = outcome(facts, old, clock), outcome(facts, new, clock)
    return [Change(f, before[f], after[f]) for f in FIELDS if f in before and before[f] != after[f]]


def policy_differences(old: Policy, new: Policy) -> list[PolicyDiff]:
    """Field-by-field differences of the parts of a policy that matter to requesters."""
    out: list[PolicyDiff] = []

    def diff(key: str, a: Any, b: Any) -> None:
        if a != b:
            out.append(PolicyDiff(key, _plain(a), _plain(b)))

    for t in sorted(set(old.request_types) | set(new.request_types)):
        a, b = old.request_types.get(t), new.request_types.get(t)
        diff(f"request_types.{t}.fee_yen", a.fee_yen if a else None, b.fee_yen if b else None)
    diff("identity_documents", old.identity_documents, new.identity_documents)
    diff("principal_requires", old.principal_requires, new.principal_requires)
    diff("agent_requires.principal", old.agent_requires.principal, new.agent_requires.principal)
    diff("agent_requires.agent", old.agent_requires.agent, new.agent_requires.agent)
    for t in sorted(set(old.agent_requires.authority) | set(new.agent_requires.authority)):
        diff(f"agent_requires.authority.{t}", old.agent_requires.authority.get(t, ()),
             new.agent_requires.authority.get(t, ()))
    diff("response_period_days", old.response_period_days, new.response_period_days)
    diff("deadline.count", old.deadline.count, new.deadline.count)
    diff("deadline.stop_while_waiting_on_requester", str(old.deadline.stop_while_waiting_on_requester).lower(),
         str(new.deadline.stop_while_waiting_on_requester).lower())
    diff("deadline.closed_days", tuple(d.isoformat() for d in old.deadline.closed_days),
         tuple(d.isoformat() for d in new.deadline.closed_days))
    diff("deadline.closed_every_year", old.deadline.closed_every_year, new.deadline.closed_every_year)
    diff("payment.methods", old.payment.methods, new.payment.methods)
    if old.payment.bank_account != new.payment.bank_account:
        out.append(PolicyDiff("payment.bank_account", None, CHANGED))
    if (old.payment.postal_address, old.payment.postal_recipient) != (
            new.payment.postal_address, new.payment.postal_recipient):
        out.append(PolicyDiff("payment.postal_address", None, CHANGED))
    return out


def _plain(v: Any) -> Value:
    if v is None or isinstance(v, str | int):
        return v
    return tuple(str(x) for x in v)


# --------------------------------------------------------------------------- gathering


def check_policy(app: App, spec: str, base_dir: Path | None = None) -> PolicyCheck:
    """Validate `spec` (PolicyError propagates) and replay the open cases under it, read-only."""
    new = load_policy(spec, base_dir)
    today, tz = app.clock.today(), app.clock.tz
    changed: list[CaseChange] = []
    open_cases = final_cases = 0
    with app.session() as s:
        try:
            with s.no_autoflush:
                for case in casestore.all_cases(s):
                    if case.final_status in FINAL_STATUSES or case.status in FINAL_STATUSES:
                        final_cases += 1
                        continue
                    open_cases += 1
                    clock = CaseClock(received_on(case, tz), tuple(stops_of(case)), today)
                    changes = compare(casestore.case_facts(case), app.policy, new, clock)
                    if changes:
                        changed.append(CaseChange(case.id, tuple(changes)))
        finally:
            s.rollback()  # nothing to keep: a check never writes
    return PolicyCheck(spec, tuple(policy_differences(app.policy, new)), open_cases, final_cases, tuple(changed))


# --------------------------------------------------------------------------- output


def lines(check: PolicyCheck) -> list[str]:
    """The text report (see docs/policy.md, "Checking a policy change")."""
    out = [f"policy {check.spec} is valid"]
    if check.policy_changes:
        out.append("policy differences:")
        out += [f"  {_diff_text(d)}" for d in check.policy_changes]
    else:
        out.append("no policy differences that matter to requesters")
    out.append(f"{check.open_cases} open cases replayed, {len(check.changed)} would change")
    if check.final_cases:
        out.append(f"{check.final_cases} closed or rejected cases not replayed (their outcome stands)")
    for cc in check.changed:
        out.append(f"{cc.case_id}  " + "; ".join(_change_text(c) for c in cc.changes))
    return out


def to_json(check: PolicyCheck) -> dict[str, Any]:
    return {
        "policy": check.spec,
        "valid": True,
        "policy_changes": [{"key": d.key, "before": _json(d.before), "after": _json(d.after)}
                           for d in check.policy_changes],
        "open_cases": check.open_cases,
        "final_cases_not_replayed": check.final_cases,
        "changed_cases": [{"id": cc.case_id, "changes": [
            {"field": c.field, "before": _json(c.before), "after": _json(c.after)} for c in cc.changes]}
            for cc in check.changed],
    }


def _json(v: Value) -> Any:
    return list(v) if isinstance(v, tuple) else v


def _change_text(c: Change) -> str:
    if c.field == "missing":
        return "missing " + _set_delta(_seq(c.before), _seq(c.after))
    if c.field == "fee":
        return f"fee {_yen(c.before)} → {_yen(c.after)}"
    return f"{c.field} {_show(c.before)} → {_show(c.after)}"


def _diff_text(d: PolicyDiff) -> str:
    if d.before is None and d.after == CHANGED:
        return f"{d.key} changed"
    if isinstance(d.before, tuple) or isinstance(d.after, tuple):
        return f"{d.key} {_set_delta(_seq(d.before), _seq(d.after))}"
    if d.key.endswith("fee_yen"):
        return f"{d.key} {_yen(d.before)} → {_yen(d.after)}"
    return f"{d.key} {_show(d.before)} → {_show(d.after)}"


def _set_delta(before: Sequence[str], after: Sequence[str]) -> str:
    parts = [f"+{x}" for x in after if x not in before] + [f"-{x}" for x in before if x not in after]
    return " ".join(parts) if parts else f"order {','.join(before)} → {','.join(after)}"


def _seq(v: Value) -> tuple[str, ...]:
    return v if isinstance(v, tuple) else ()


def _yen(v: Value) -> str:
    return f"{v:,}" if isinstance(v, int) else _show(v)


def _show(v: Value) -> str:
    return "none" if v is None else str(v)
