"""The typed values that flow between the edges and the pure core.

Everything here is a frozen dataclass so that a value handed from the parser to the
policy cannot be changed on the way, and so that tests can build inputs by hand.
The string codes are the contract's (`shared/docs/contract.md`); they are kept as
plain strings (with the allowed values listed here) because they cross the JSON export,
the database and the policy file unchanged.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

# --------------------------------------------------------------------------- codes

REQUEST_TYPES: tuple[str, ...] = (
    "notify_purpose",
    "disclose",
    "correct",
    "suspend",
    "stop_third_party",
    "disclose_third_party_records",
)

AGENT_TYPES: tuple[str, ...] = ("minor_legal_rep", "adult_guardian", "voluntary", "professional")

DOCUMENT_KINDS: tuple[str, ...] = (
    "request_form",
    "drivers_license",
    "passport",
    "basic_resident_card",
    "my_number_card",
    "health_insurance_card",
    "alien_registration_card",
    "residence_card",
    "special_permanent_resident_certificate",
    "insurance_eligibility_certificate",
    "resident_record",
    "family_register",
    "guardianship_ruling",
    "power_of_attorney",
    "seal_certificate",
    "qualification_proof",
    "unknown",
)

STATUSES: tuple[str, ...] = (
    "awaiting_documents",
    "awaiting_verification",
    "awaiting_fee",
    "in_progress",
    "closed",
    "rejected",
)
FINAL_STATUSES = frozenset({"closed", "rejected"})

FLAGS: tuple[str, ...] = (
    "my_number_detected",
    "insurance_number_unmasked",
    "unreadable_attachment",
    "sender_unverified",
    "form_needs_confirmation",
)

DisclosureMethod = Literal["electronic", "paper", "other"]
Holder = Literal["principal", "agent", "unknown"]


# --------------------------------------------------------------------------- mail


@dataclass(frozen=True)
class Attachment:
    """One leaf of a MIME tree that is not the body text: a file the requester sent."""

    filename: str | None
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMessage:
    """What the parser read from the bytes of one mail.

    `headers` keeps every header (lower-case name, decoded value) in order, because the
    robot rules need headers the model does not name, and a header may repeat.
    """

    message_id: str | None
    from_addr: str  # lower-case addr-spec, "" when absent or unreadable
    from_name: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    date: dt.datetime | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    text: str  # the body as plain text (HTML converted), forwarded parts' text appended
    attachments: tuple[Attachment, ...]
    headers: tuple[tuple[str, str], ...]
    content_type: str = "text/plain"
    is_report: bool = False  # multipart/report anywhere at the top (bounces, DSNs, MDNs)
    return_path: str | None = None  # None: header absent; "": empty (<>)
    defects: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        low = name.lower()
        for key, value in self.headers:
            if key == low:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        low = name.lower()
        return [value for key, value in self.headers if key == low]


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class RequestFacts:
    """What a request says, from the form or the body; None/empty where it says nothing."""

    request_types: frozenset[str] = frozenset()
    requester_name: str | None = None
    requester_email: str | None = None
    requester_phone: str | None = None
    agent_present: bool = False
    agent_type: str | None = None
    agent_name: str | None = None
    disclosure_method: str | None = None
    source: Literal["form", "body", "none"] = "none"
    lang: str = "ja"  # the language the sender wrote in (the body's; a form does not say)
    read_from_image: bool = False  # a scan or photo: OCR'd names, measured boxes; staff confirm
    confidence: float | None = None  # of the check boxes so read (0 = on the line, 1 = clear)

    @property
    def states_request(self) -> bool:
        return bool(self.request_types)


@dataclass(frozen=True)
class DocumentEvidence:
    """One document found in an attachment (a PDF may hold several)."""

    kind: str
    filename: str
    pages: tuple[int, ...] = ()
    names: tuple[str, ...] = ()  # person names read on the document, for holder matching
    holder: Holder = "unknown"
    issued_on: dt.date | None = None
    my_number: bool = False
    insurance_number_unmasked: bool = False
    unreadable: bool = False
    confidence: float = 1.0


@dataclass(frozen=True)
class AttachmentReading:
    """All that one attachment yielded. `form` is set when it held a request form."""

    filename: str
    documents: tuple[DocumentEvidence, ...]
    form: RequestFacts | None = None
    unreadable_reason: str | None = None
    masked_data: bytes | None = None  # the bytes to store when a number had to be hidden


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class DocumentFact:
    kind: str
    holder: Holder = "unknown"
    issued_on: dt.date | None = None


@dataclass(frozen=True)
class CaseFacts:
    """Everything the policy needs to know about a case, and nothing it must not see."""

    request_types: frozenset[str]
    agent_present: bool
    agent_type: str | None
    documents: tuple[DocumentFact, ...]
    paid_yen: int = 0
    verified: bool = False
    final_status: str | None = None  # "closed" / "rejected" once staff ended it
    fee_notice_sent: bool = False
    form_received: bool = False


@dataclass(frozen=True)
class Decision:
    """What the policy concluded; `rules` names every rule that fired, for the audit trail."""

    status: str
    missing: tuple[str, ...]
    fee_yen: int
    replies: tuple[str, ...]  # reply kinds to queue: ack, missing_documents, fee_notice, receipt …
    rules: tuple[str, ...] = field(default=())
