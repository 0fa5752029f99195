"""The window's policy as validated data.

The policy is data so that a company can follow its own published procedure without a
code change; it is validated strictly (unknown keys and codes are errors) because a
typo in a policy would silently ask requesters for the wrong documents.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.deadlines import ChaseRules, WorkCalendar
from bot.models import AGENT_TYPES, DOCUMENT_KINDS, REQUEST_TYPES

MISSING_CODES: tuple[str, ...] = (
    "request_form",
    "identity_document",
    "resident_record",
    "principal_identity_document",
    "agent_identity_document",
    "principal_resident_record",
    "family_register",
    "guardianship_ruling",
    "power_of_attorney",
    "seal_certificate",
    "qualification_proof",
    "agent_authority",
)
PAYMENT_METHODS = ("bank_transfer", "registered_cash", "postal_money_order")
# What a requirement in the policy may name: a document kind, or "identity_document".
REQUIREMENTS = frozenset(DOCUMENT_KINDS) | {"identity_document"}


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the key at fault."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Company(_Strict):
    name: str
    window_name: str
    privacy_officer: str
    postal_address: str
    phone: str | None = None
    hours: str | None = None


class ComplaintBody(_Strict):
    name: str
    department: str | None = None
    postal_address: str
    phone: str | None = None


class RequestType(_Strict):
    label: str
    fee_yen: int = Field(ge=0)


class AgentRequires(_Strict):
    principal: tuple[str, ...]
    agent: tuple[str, ...]
    authority: dict[str, tuple[str, ...]]

    @field_validator("principal", "agent")
    @classmethod
    def _known(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_requirements(v)

    @field_validator("authority")
    @classmethod
    def _authority(cls, v: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for agent_type, reqs in v.items():
            if agent_type not in AGENT_TYPES:
                raise ValueError(f"unknown agent type {agent_type!r}")
            _check_requirements(reqs)
        missing = set(AGENT_TYPES) - set(v)
        if missing:
            raise ValueError(f"no authority documents for agent type(s) {sorted(missing)}")
        return v


class BankAccount(_Strict):
    bank: str
    branch: str
    account_type: str
    number: str
    holder: str


class Payment(_Strict):
    methods: tuple[str, ...]
    bank_account: BankAccount
    postal_address: str
    postal_recipient: str

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [m for m in v if m not in PAYMENT_METHODS]
        if bad:
            raise ValueError(f"unknown payment method(s) {bad}; use {list(PAYMENT_METHODS)}")
        return v


class Deadline(_Strict):
    """How the response period is counted (see bot/deadlines.py)."""

    count: Literal["calendar_days", "business_days"] = "calendar_days"
    stop_while_waiting_on_requester: bool = True
    closed_days: tuple[dt.date, ...] = ()  # the company's own closed days (business_days only)
    closed_every_year: tuple[str, ...] = ()  # "MM-DD", e.g. 年末年始 12-29 … 01-03
    due_soon_days: int = Field(default=3, ge=0, le=60)

    @field_validator("closed_every_year")
    @classmethod
    def _month_days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            try:
                dt.date(2024, int(item[:2]), int(item[3:]))  # a leap year, so 02-29 is allowed
            except ValueError:
                raise ValueError(f"closed_every_year: {item!r} is not a MM-DD date") from None
            if len(item) != 5 or item[2] != "-":
                raise ValueError(f"closed_every_year: {item!r} is not a MM-DD date")
        return v


class Chasing(_Strict):
    """Reminders to a requester who owes documents or the fee, and when the request lapses."""

    reminder_after_days: int = Field(default=14, ge=0, le=365)  # 0: never remind, never lapse
    lapse_after_days: int = Field(default=30, ge=0, le=365)  # after the reminder; 0: never lapse


class Alerts(_Strict):
    new_case: bool = False  # mail staff at once when a case opens (no personal data in it)


class Retention(_Strict):
    """How long personal data is kept (APPI art. 22); see bot/retention.py. null: never automatically."""

    identity_documents_days: int | None = Field(default=30, ge=1, le=3650)  # after verified or ended
    raw_messages_days: int | None = Field(default=90, ge=1, le=3650)  # after receipt, and after the case ended
    closed_cases_years: int | None = Field(default=3, ge=1, le=30)  # after ended: names and addresses purged


class Policy(_Strict):
    name: str
    version: int = 1
    company: Company
    complaint_body: ComplaintBody
    request_types: dict[str, RequestType]
    identity_documents: tuple[str, ...]
    principal_requires: tuple[str, ...]
    agent_requires: AgentRequires
    document_labels: dict[str, str]
    missing_labels: dict[str, str]
    payment: Payment
    response_period_days: int = Field(ge=1, le=365)
    auto_replies_per_address_per_day: int = Field(ge=1, le=100)
    deadline: Deadline = Deadline()
    chasing: Chasing = Chasing()
    alerts: Alerts = Alerts()
    retention: Retention = Retention()

    @field_validator("request_types")
    @classmethod
    def _types(cls, v: dict[str, RequestType]) -> dict[str, RequestType]:
        _only_known(v, REQUEST_TYPES, "request type")
        _all_present(v, REQUEST_TYPES, "request_types")
        return v

    @field_validator("identity_documents")
    @classmethod
    def _ids(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        _only_known(v, DOCUMENT_KINDS, "document kind")
        return v

    @field_validator("principal_requires")
    @classmethod
    def _principal(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return _check_requirements(v)

    @field_validator("document_labels")
    @classmethod
    def _doc_labels(cls, v: dict[str, str]) -> dict[str, str]:
        _only_known(v, DOCUMENT_KINDS, "document kind")
        _all_present(v, DOCUMENT_KINDS, "document_labels")
        return v

    @field_validator("missing_labels")
    @classmethod
    def _missing_labels(cls, v: dict[str, str]) -> dict[str, str]:
        _only_known(v, MISSING_CODES, "missing code")
        _all_present(v, MISSING_CODES, "missing_labels")
        return v

    @model_validator(mode="after")
    def _identity_list_needed(self) -> Policy:
        uses_identity = "identity_document" in (
            self.principal_requires + self.agent_requires.principal + self.agent_requires.agent
        )
        if uses_identity and not self.identity_documents:
            raise ValueError("identity_documents is empty but a requirement names identity_document")
        return self

    def work_calendar(self) -> WorkCalendar:
        d = self.deadline
        annual = frozenset((int(x[:2]), int(x[3:])) for x in d.closed_every_year)
        return WorkCalendar(business_days=d.count == "business_days", closed_dates=frozenset(d.closed_days),
                            closed_annually=annual)

    def chase_rules(self) -> ChaseRules:
        return ChaseRules(self.chasing.reminder_after_days, self.chasing.lapse_after_days)

    def fee_for(self, request_types: frozenset[str] | set[str]) -> int:
        return sum(self.request_types[t].fee_yen for t in request_types if t in self.request_types)


def _only_known(values: object, allowed: tuple[str, ...], what: str) -> None:
    bad = [x for x in values if x not in allowed]  # type: ignore[attr-defined]
    if bad:
        raise ValueError(f"unknown {what}(s) {bad}")


def _all_present(values: object, needed: tuple[str, ...], key: str) -> None:
    absent = [x for x in needed if x not in values]  # type: ignore[operator]
    if absent:
        raise ValueError(f"{key} lacks {absent}")


def _check_requirements(reqs: tuple[str, ...]) -> tuple[str, ...]:
    bad = [r for r in reqs if r not in REQUIREMENTS]
    if bad:
        raise ValueError(f"unknown requirement(s) {bad}")
    return reqs


def load_policy(spec: str, base_dir: Path | None = None) -> Policy:
    """Load `builtin:NAME` or a YAML path; raise PolicyError with a one-line reason."""
    try:
        text = _policy_text(spec, base_dir)
        data = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"cannot read policy {spec!r}: {_first_line(str(exc))}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"policy {spec!r} is not a mapping")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise PolicyError(f"policy {spec!r}: {where}: {err['msg']}") from exc


def _policy_text(spec: str, base_dir: Path | None) -> str:
    if spec.startswith("builtin:"):
        name = spec.removeprefix("builtin:")
        resource = resources.files("config").joinpath("policies", f"{name}.yaml")
        if not resource.is_file():
            raise OSError(f"no built-in policy named {name!r}")
        return resource.read_text(encoding="utf-8")
    path = Path(spec)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path.read_text(encoding="utf-8")


def _first_line(s: str) -> str:
    return s.strip().splitlines()[0] if s.strip() else s
