"""The one place that turns settings into concrete objects (the bootstrap).

Tests build the same graph with a fixed clock and loopback servers by passing their own
settings; nothing else in the code reads the environment.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.db import make_engine, make_sessionmaker
from bot.keys import open_keyring
from bot.mailbox import Mailbox, MaildirMailbox
from bot.mailbox_state import DbMailboxState, MailboxStateStore
from bot.migrate import upgrade
from bot.ocr_cache import EncryptedOcrCache
from bot.outbox import DirOutbox, Outbox
from bot.rawstore import BlobStore
from bot.reply_parts import ReplyParts
from config.policy import Policy, load_policy
from config.settings import Settings, SettingsError
from parsers.attachments import ReadLimits
from parsers.ocr import OcrEngine, TesseractOcr, ocr_available


@dataclass
class App:
    settings: Settings
    policy: Policy
    clock: Clock
    engine: Engine
    session: Callable[[], Session]
    raw: BlobStore
    documents: BlobStore
    actor: str
    reply_parts: ReplyParts | None = None  # None: replies carry their attachments inline
    ocr: OcrEngine | None = None  # None: Tesseract (with ocr_cache), started on the first scan
    ocr_cache: EncryptedOcrCache | None = None
    read_limits: ReadLimits = field(default_factory=ReadLimits)
    _ocr_started: bool = field(default=False, repr=False)
    _mailbox: Mailbox | None = field(default=None, repr=False)
    _outbox: Outbox | None = field(default=None, repr=False)

    @property
    def mailbox(self) -> Mailbox:
        if self._mailbox is None:
            self._mailbox = make_mailbox(self.settings, positions=DbMailboxState(self.session, self.clock.now))
        return self._mailbox

    def reader_ocr(self) -> OcrEngine | None:
        """The engine given (tests), else Tesseract keeping its results in the encrypted
        cache; looked for on the first scan only, so staff commands never start it."""
        if self.ocr is None and not self._ocr_started:
            self._ocr_started = True
            if ocr_available():
                self.ocr = TesseractOcr(store=self.ocr_cache)
        return self.ocr

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            self._outbox = make_outbox(self.settings)
        return self._outbox

    def forget_mailbox(self) -> None:
        """Log out and drop the mailbox; the next use opens it again from the stored position."""
        if self._mailbox is not None:
            mailbox, self._mailbox = self._mailbox, None
            mailbox.close()

    def close(self) -> None:
        for edge in (self._mailbox, self._outbox):
            if edge is not None:
                edge.close()
        self.engine.dispose()


def build_app(settings: Settings, *, actor: str | None = None) -> App:
    """Open the store (migrating it), the key and the policy; mail edges open lazily."""
    policy = load_policy(settings.policy)
    _check_templates(settings)
    _prepare_dirs(settings)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    cipher = open_keyring(settings)  # environment or key file; refuses keys that open no stored file
    return App(
        settings=settings,
        policy=policy,
        clock=Clock(settings.now, settings.timezone),
        engine=engine,
        session=make_sessionmaker(engine),
        raw=BlobStore(settings.data_dir / "raw", cipher),
        documents=BlobStore(settings.data_dir / "documents", cipher),
        reply_parts=ReplyParts(BlobStore(settings.data_dir / "parts", cipher)),
        actor=actor or settings.staff_name or _os_user(),
        ocr_cache=EncryptedOcrCache(settings.data_dir / "ocr-cache", cipher) if settings.ocr_cache_days else None,
    )


def _check_templates(settings: Settings) -> None:
    if settings.templates_dir is None:
        return
    from replies.render import template_problems

    found = template_problems(settings.templates_dir)
    if found:
        raise SettingsError(f"MADOGUCHI_TEMPLATES_DIR {settings.templates_dir}: {found[0]}"
                            + (f" (and {len(found) - 1} more: madoguchi health lists them)" if len(found) > 1 else ""))


def _prepare_dirs(settings: Settings) -> None:
    old = os.umask(0o077)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if settings.database_url.startswith("sqlite:///"):
            Path(settings.database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    finally:
        os.umask(old)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "staff"



def make_mailbox(settings: Settings, positions: MailboxStateStore | None = None) -> Mailbox:
    """The inbox the settings name; `positions` keeps an IMAP folder's position (else in memory)."""
    url = settings.mailbox_url
    if url.startswith("maildir:"):
        flags = "S" if settings.inquiry_handling == "mark_seen" else ""
        return MaildirMailbox(Path(url.removeprefix("maildir:")), inquiry_flags=flags,
                              batch_size=settings.mailbox_batch_size)
    if urlsplit(url).scheme in ("imap", "imaps"):
        from bot.imap_mailbox import ImapMailbox, MailboxError
        from bot.oauth import provider_from_settings

        tokens = provider_from_settings(
            settings.mailbox_oauth_token_command, settings.mailbox_oauth_token_url, settings.mailbox_oauth_client_id,
            settings.mailbox_oauth_client_secret, settings.mailbox_oauth_scope, cwd=settings.base_dir)
        if tokens is None and not settings.mailbox_password:
            raise SettingsError("MADOGUCHI_MAILBOX_PASSWORD: needed for an imap:// or imaps:// mailbox (or OAuth: "
                                "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND or MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL)")
        if tokens is not None and settings.mailbox_password:
            raise SettingsError("MADOGUCHI_MAILBOX_PASSWORD: not used with OAuth (MADOGUCHI_MAILBOX_OAUTH_…); "
                                "set one of them")
        try:
            return ImapMailbox.from_url(url, settings.mailbox_password, token_provider=tokens,
                                        ca_file=settings.mailbox_ca_file,
                                        inquiry_seen=settings.inquiry_handling == "mark_seen",
                                        processed_folder=settings.mailbox_processed_folder,
                                        quarantine_folder=settings.mailbox_quarantine_folder,
                                        positions=positions, batch_uids=settings.mailbox_batch_size)
        except MailboxError as exc:
            raise SettingsError(f"MADOGUCHI_MAILBOX_URL: {exc}") from exc
    raise SettingsError(f"MADOGUCHI_MAILBOX_URL: {urlsplit(url).scheme}:// mailboxes are not supported yet")


def make_outbox(settings: Settings) -> Outbox:
    url = settings.outbox_url
    if url.startswith("dir:"):
        return DirOutbox(Path(url.removeprefix("dir:")))
    if urlsplit(url).scheme in ("smtp", "smtps"):
        from bot.smtp_outbox import SmtpOutbox

        password = settings.outbox_password
        tokens = None
        if settings.outbox_auth == "xoauth2":  # the mailbox's token source; its own provider and cache
            from bot.oauth import provider_from_settings

            tokens = provider_from_settings(
                settings.mailbox_oauth_token_command, settings.mailbox_oauth_token_url,
                settings.mailbox_oauth_client_id, settings.mailbox_oauth_client_secret, settings.mailbox_oauth_scope,
                cwd=settings.base_dir)
            if tokens is None:
                raise SettingsError("MADOGUCHI_OUTBOX_AUTH: xoauth2 needs MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND or "
                                    "MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL (the mailbox's token source serves SMTP too)")
            if not urlsplit(url).username:
                raise SettingsError("MADOGUCHI_OUTBOX_URL: xoauth2 needs the user in the URL (smtp://user@host:587)")
            if password:
                raise SettingsError("MADOGUCHI_OUTBOX_PASSWORD: not used with MADOGUCHI_OUTBOX_AUTH=xoauth2")
        elif urlsplit(url).username and not password:
            raise SettingsError("MADOGUCHI_OUTBOX_PASSWORD: needed when MADOGUCHI_OUTBOX_URL names a user "
                                "(or MADOGUCHI_OUTBOX_AUTH=xoauth2)")
        try:
            return SmtpOutbox.from_url(url, password=password, ca_file=settings.outbox_ca_file, token_provider=tokens)
        except ValueError as exc:
            raise SettingsError(f"MADOGUCHI_OUTBOX_URL: {exc}") from exc
    raise SettingsError(f"MADOGUCHI_OUTBOX_URL: {urlsplit(url).scheme}:// outboxes are not supported yet")
