"""Settings: embedded defaults, then a TOML file, then `MADOGUCHI_*` environment variables.

Read once at start and validated there, so that a typo stops the program with one line
naming the setting (exit 2) instead of failing at 3 a.m. on the first mail.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ENV_PREFIX = "MADOGUCHI_"

DEFAULTS: dict[str, str] = {
    "mailbox_url": "maildir:./var/mail",
    "outbox_url": "dir:./var/outbox",
    "database_url": "sqlite:///./var/madoguchi.db",
    "data_dir": "./var",
    "window_address": "info@example.jp",
    "staff_addresses": "",
    "policy": "builtin:seed",
    "now": "",
    "mailbox_password": "",
    "mailbox_password_file": "",
    "outbox_password": "",
    "outbox_password_file": "",
    "mailbox_ca_file": "",
    "outbox_ca_file": "",
    "inquiry_handling": "leave_unread",
    "staff_name": "",
    "timezone": "Asia/Tokyo",
    "digest_time": "08:30",
    "housekeeping_time": "03:30",
    "ocr_cache_days": "30",
    "poll_seconds": "60",
    "delivery_retry_hours": "48",
    "trusted_authserv_ids": "",
    "mailbox_processed_folder": "",
    "mailbox_quarantine_folder": "",
    "max_message_bytes": str(25 * 1024 * 1024),
    "mailbox_batch_size": "50",
    "read_ahead": "auto",
    "mailbox_oauth_token_command": "",
    "mailbox_oauth_token_url": "",
    "mailbox_oauth_client_id": "",
    "mailbox_oauth_client_secret": "",
    "mailbox_oauth_client_secret_file": "",
    "mailbox_oauth_scope": "",
    "outbox_auth": "password",
    "log_format": "text",
    "store_key": "",
    "store_key_file": "",
    "templates_dir": "",
}

INQUIRY_HANDLING = ("leave_unread", "mark_seen")
OUTBOX_AUTH = ("password", "xoauth2")
LOG_FORMATS = ("text", "json")
READ_AHEAD = ("auto", "off")  # auto: a reader process for a backlog when there is a second core
ENV_ONLY = frozenset({"store_key"})
# What a [windows.NAME] table may not set: secrets (environment only) and what belongs to
# the process rather than to a window.
NOT_PER_WINDOW = ENV_ONLY | {"log_format", "staff_name", "now"}
WINDOW_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
DEFAULT_WINDOW = "default"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class SettingsError(ValueError):
    """A setting cannot be used; str() is the one line shown to the operator."""


@dataclass(frozen=True)
class Settings:
    mailbox_url: str
    outbox_url: str
    database_url: str
    data_dir: Path
    window_address: str
    staff_addresses: tuple[str, ...]
    policy: str
    now: dt.datetime | None
    mailbox_password: str | None
    outbox_password: str | None
    mailbox_ca_file: Path | None
    outbox_ca_file: Path | None
    inquiry_handling: str
    staff_name: str | None
    timezone: str
    digest_time: dt.time
    poll_seconds: int
    delivery_retry_hours: int
    trusted_authserv_ids: tuple[str, ...]
    max_message_bytes: int
    mailbox_batch_size: int = 50
    read_ahead: str = "auto"
    mailbox_processed_folder: str | None = None
    mailbox_quarantine_folder: str | None = None
    # XOAUTH2 (docs/mail-servers.md): a token command, or the client-credentials grant.
    mailbox_oauth_token_command: str | None = None
    mailbox_oauth_token_url: str | None = None
    mailbox_oauth_client_id: str | None = None
    mailbox_oauth_client_secret: str | None = field(default=None, repr=False)
    mailbox_oauth_scope: str | None = None
    outbox_auth: str = "password"
    housekeeping_time: dt.time = dt.time(3, 30)
    ocr_cache_days: int = 30
    log_format: str = "text"  # "json": one object per line, for a log collector
    store_key: bytes | None = None  # the store key from the environment (base64), else the key file
    store_key_file: Path | None = None  # default: data_dir/keys/store.key
    templates_dir: Path | None = None  # reply templates that replace the packaged ones (ja/, en/)
    window: str = DEFAULT_WINDOW  # the window's name; "default" when the deployment has one
    base_dir: Path = field(default_factory=Path.cwd)
    source: str = "defaults"


def load_settings(config_path: str | None = None, environ: Mapping[str, str] | None = None,
                  window: str | None = None) -> Settings:
    """One window's settings: the only one, or the one named (`--window`, else MADOGUCHI_WINDOW)."""
    env = dict(os.environ if environ is None else environ)
    windows = load_deployment(config_path, env)
    name = window or env.get("MADOGUCHI_WINDOW") or None
    if name is None:
        if len(windows) == 1:
            return windows[0]
        raise SettingsError(f"this deployment serves several windows ({', '.join(w.window for w in windows)}): "
                            "say which with --window NAME or MADOGUCHI_WINDOW")
    for settings in windows:
        if settings.window == name:
            return settings
    raise SettingsError(f"MADOGUCHI_WINDOW: no window {name!r}; this deployment serves "
                        f"{', '.join(w.window for w in windows)}")


def load_deployment(config_path: str | None = None, environ: Mapping[str, str] | None = None) -> list[Settings]:
    """Every window the deployment serves: one, or one per [windows.NAME] table of the file.

    Precedence: embedded defaults, the file's own settings, MADOGUCHI_* variables (shared
    by every window), then the window's table. A window keeps its cases in a database of
    its own (a schema on PostgreSQL, a file on SQLite) and its documents in a folder of its
    own unless the table says otherwise: one window's data is out of reach of another's
    queries by construction, not by a filter someone could forget.
    """
    env = dict(os.environ if environ is None else environ)
    path = config_path or env.get("MADOGUCHI_CONFIG") or ("madoguchi.toml" if Path("madoguchi.toml").is_file()
                                                          else None)
    raw: dict[str, tuple[str, Path]] = {k: (v, Path.cwd()) for k, v in DEFAULTS.items()}
    source = "defaults"
    tables: dict[str, dict[str, str]] = {}
    file_dir = Path.cwd()
    if path:
        file_values, file_dir, tables = _read_toml(Path(path))
        raw.update({k: (v, file_dir) for k, v in file_values.items()})
        source = str(path)
    for key in DEFAULTS:
        value = env.get(ENV_PREFIX + key.upper())
        if value is not None:
            raw[key] = (value, Path.cwd())
    if not tables:
        return [_validate(raw, source)]
    windows = [_validate(_window_layer(raw, name, table, file_dir), source, window=name)
               for name, table in tables.items()]
    _distinct(windows)
    return windows


def _window_layer(raw: dict[str, tuple[str, Path]], name: str, table: dict[str, str],
                  file_dir: Path) -> dict[str, tuple[str, Path]]:
    layered = dict(raw)
    layered.update({k: (v, file_dir) for k, v in table.items()})
    if "data_dir" not in table:
        shared, base = raw["data_dir"]
        layered["data_dir"] = (str(_resolve(shared.strip(), base) / "windows" / name), base)
    if "database_url" not in table:
        shared, base = raw["database_url"]
        layered["database_url"] = (_window_database(shared.strip(), base, name, layered["data_dir"]), base)
    return layered


def _window_database(shared: str, base: Path, name: str, data_dir: tuple[str, Path]) -> str:
    """SQLite: a file in the window's folder. PostgreSQL: the same database, a schema per window."""
    url = _database_url(shared, base)
    if url.startswith("sqlite:///"):
        return "sqlite:///" + str(_resolve(data_dir[0], data_dir[1]) / "madoguchi.db")
    from sqlalchemy.engine import make_url

    return make_url(url).update_query_dict({"options": f"-csearch_path={window_schema(name)}"}) \
        .render_as_string(hide_password=False)


def window_schema(name: str) -> str:
    return f"window_{name}"


def _distinct(windows: list[Settings]) -> None:
    """Two windows sharing an address, a mailbox or a store would see each other's mail."""
    for attr in ("window_address", "mailbox_url", "data_dir", "database_url"):
        seen: dict[object, str] = {}
        for w in windows:
            value = getattr(w, attr)
            if value in seen:
                raise SettingsError(f"[windows.{w.window}] {attr}: the same as [windows.{seen[value]}]'s; "
                                    "each window needs its own")
            seen[value] = w.window


def _read_toml(path: Path) -> tuple[dict[str, str], Path, dict[str, dict[str, str]]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path}: {exc}") from exc
    section: Any = dict(data.get("madoguchi", data))
    windows: Any = data.get("windows", section.pop("windows", {}))
    section.pop("windows", None)
    values = _section_values(path, section, "")
    if not isinstance(windows, dict):
        raise SettingsError(f"config file {path}: [windows] holds one table per window: [windows.NAME]")
    tables: dict[str, dict[str, str]] = {}
    for name, table in windows.items():
        if not WINDOW_NAME.fullmatch(name) or not isinstance(table, dict):
            raise SettingsError(f"config file {path}: [windows.{name}]: a window's name is lower-case letters, "
                                "digits and _ (at most 40), and its settings a table")
        tables[name] = _section_values(path, table, f"[windows.{name}] ")
        for key in tables[name]:
            if key in NOT_PER_WINDOW:
                raise SettingsError(f"config file {path}: [windows.{name}] {key!r} cannot differ per window; "
                                    "set it once for the deployment")
    return values, path.resolve().parent, tables


def _section_values(path: Path, section: dict[str, Any], where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in section.items():
        if key not in DEFAULTS:
            raise SettingsError(f"config file {path}: {where}unknown setting {key!r}")
        if key in ENV_ONLY:
            raise SettingsError(f"config file {path}: {where}{key!r} is a secret; give it by "
                                f"MADOGUCHI_{key.upper()} or MADOGUCHI_{key.upper()}_FILE, not in a file that is "
                                "shared and backed up")
        if isinstance(value, list):
            value = ",".join(str(v) for v in value)
        values[key] = str(value)
    return values


def _validate(raw: dict[str, tuple[str, Path]], source: str, window: str = DEFAULT_WINDOW) -> Settings:
    def val(key: str) -> str:
        return raw[key][0].strip()

    def base(key: str) -> Path:
        return raw[key][1]

    return Settings(
        mailbox_url=_mailbox_url(val("mailbox_url"), base("mailbox_url")),
        outbox_url=_outbox_url(val("outbox_url"), base("outbox_url")),
        database_url=_database_url(val("database_url"), base("database_url")),
        data_dir=_resolve(val("data_dir"), base("data_dir")),
        window_address=_address("MADOGUCHI_WINDOW_ADDRESS", val("window_address")),
        staff_addresses=tuple(
            _address("MADOGUCHI_STAFF_ADDRESSES", a) for a in val("staff_addresses").split(",") if a.strip()
        ),
        policy=_policy(val("policy"), base("policy")),
        now=_now(val("now")),
        mailbox_password=_password(val("mailbox_password"), val("mailbox_password_file"),
                                   base("mailbox_password_file")),
        outbox_password=_password(val("outbox_password"), val("outbox_password_file"),
                                  base("outbox_password_file"), "MADOGUCHI_OUTBOX_PASSWORD_FILE"),
        mailbox_ca_file=_ca_file("MADOGUCHI_MAILBOX_CA_FILE", val("mailbox_ca_file"), base("mailbox_ca_file")),
        outbox_ca_file=_ca_file("MADOGUCHI_OUTBOX_CA_FILE", val("outbox_ca_file"), base("outbox_ca_file")),
        inquiry_handling=_choice("MADOGUCHI_INQUIRY_HANDLING", val("inquiry_handling"), INQUIRY_HANDLING),
        staff_name=val("staff_name") or None,
        timezone=_timezone(val("timezone")),
        digest_time=_clock_time("MADOGUCHI_DIGEST_TIME", val("digest_time")),
        poll_seconds=_positive_int("MADOGUCHI_POLL_SECONDS", val("poll_seconds")),
        delivery_retry_hours=_positive_int("MADOGUCHI_DELIVERY_RETRY_HOURS", val("delivery_retry_hours")),
        trusted_authserv_ids=tuple(a.strip() for a in val("trusted_authserv_ids").split(",") if a.strip()),
        mailbox_processed_folder=val("mailbox_processed_folder") or None,
        mailbox_quarantine_folder=val("mailbox_quarantine_folder") or None,
        max_message_bytes=_positive_int("MADOGUCHI_MAX_MESSAGE_BYTES", val("max_message_bytes")),
        mailbox_batch_size=_positive_int("MADOGUCHI_MAILBOX_BATCH_SIZE", val("mailbox_batch_size")),
        read_ahead=_choice("MADOGUCHI_READ_AHEAD", val("read_ahead"), READ_AHEAD),
        **_mailbox_oauth(val, base),
        outbox_auth=_choice("MADOGUCHI_OUTBOX_AUTH", val("outbox_auth"), OUTBOX_AUTH),
        housekeeping_time=_clock_time("MADOGUCHI_HOUSEKEEPING_TIME", val("housekeeping_time")),
        ocr_cache_days=_whole_number("MADOGUCHI_OCR_CACHE_DAYS", val("ocr_cache_days")),
        log_format=_choice("MADOGUCHI_LOG_FORMAT", val("log_format"), LOG_FORMATS),
        store_key=_store_key(val("store_key")),
        store_key_file=_resolve(val("store_key_file"), base("store_key_file")) if val("store_key_file") else None,
        templates_dir=_templates_dir(val("templates_dir"), base("templates_dir")),
        window=window,
        base_dir=Path.cwd(),
        source=source,
    )


def _mailbox_oauth(val: Callable[[str], str], base: Callable[[str], Path]) -> dict[str, str | None]:
    """The OAuth token source: a command, or the client-credentials grant, complete and not both."""
    command = _token_command(val("mailbox_oauth_token_command"), base("mailbox_oauth_token_command"))
    url = val("mailbox_oauth_token_url")
    grant = {"MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID": val("mailbox_oauth_client_id"),
             "MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET": _password(
                 val("mailbox_oauth_client_secret"), val("mailbox_oauth_client_secret_file"),
                 base("mailbox_oauth_client_secret_file"), "MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET_FILE") or "",
             "MADOGUCHI_MAILBOX_OAUTH_SCOPE": val("mailbox_oauth_scope")}
    if command and url:
        raise SettingsError("MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND: set either it or "
                            "MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL, not both")
    if url:
        parts = urlsplit(url)
        if not parts.hostname or not (parts.scheme == "https"
                                      or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)):
            raise SettingsError(f"MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL: {url!r} is not an https:// URL")
        missing = [name for name, value in grant.items() if not value]
        if missing:
            raise SettingsError(f"{missing[0]}: needed with MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL"
                                + (" (the secret, or …_CLIENT_SECRET_FILE)" if "SECRET" in missing[0] else ""))
    else:
        given = [name for name, value in grant.items() if value]
        if given:
            raise SettingsError(f"{given[0]}: only used with MADOGUCHI_MAILBOX_OAUTH_TOKEN_URL, which is not set")
    return {"mailbox_oauth_token_command": command or None,
            "mailbox_oauth_token_url": url or None,
            "mailbox_oauth_client_id": grant["MADOGUCHI_MAILBOX_OAUTH_CLIENT_ID"] or None,
            "mailbox_oauth_client_secret": grant["MADOGUCHI_MAILBOX_OAUTH_CLIENT_SECRET"] or None,
            "mailbox_oauth_scope": grant["MADOGUCHI_MAILBOX_OAUTH_SCOPE"] or None}


def _token_command(command: str, base: Path) -> str:
    """Split like a shell would (no shell runs it); a relative program path resolves like other paths."""
    if not command:
        return ""
    name = "MADOGUCHI_MAILBOX_OAUTH_TOKEN_COMMAND"
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise SettingsError(f"{name}: cannot be split into words ({exc})") from exc
    if not argv:
        return ""
    program = argv[0]
    if "/" in program:
        path = _resolve(program, base)
        if not path.is_file():
            raise SettingsError(f"{name}: no program at {path}")
        argv[0] = str(path)
    elif shutil.which(program) is None:
        raise SettingsError(f"{name}: {program!r} is not found on PATH")
    return shlex.join(argv)


def _templates_dir(value: str, base: Path) -> Path | None:
    if not value:
        return None
    path = _resolve(value, base)
    if not path.is_dir():
        raise SettingsError(f"MADOGUCHI_TEMPLATES_DIR: no folder at {path} (it holds ja/ and en/ templates that "
                            "replace the packaged ones by file name)")
    return path


def _resolve(p: str, base: Path) -> Path:
    path = Path(p).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _mailbox_url(url: str, base: Path) -> str:
    if url.startswith("maildir:"):
        return "maildir:" + str(_resolve(url.removeprefix("maildir:"), base))
    parts = urlsplit(url)
    if parts.scheme in ("imap", "imaps") and parts.hostname:
        return url
    raise SettingsError(
        f"MADOGUCHI_MAILBOX_URL: {url!r} is not maildir:/path, imap://user@host:port/FOLDER or imaps://…"
    )


def _outbox_url(url: str, base: Path) -> str:
    if url.startswith("dir:"):
        return "dir:" + str(_resolve(url.removeprefix("dir:"), base))
    parts = urlsplit(url)
    if parts.scheme in ("smtp", "smtps") and parts.hostname:
        return url
    raise SettingsError(f"MADOGUCHI_OUTBOX_URL: {url!r} is not dir:/path, smtp://host:port or smtps://host:port")


def _database_url(url: str, base: Path) -> str:
    if url.startswith("sqlite:///"):
        rest = url.removeprefix("sqlite:///")
        if rest in ("", ":memory:"):
            raise SettingsError("MADOGUCHI_DATABASE_URL: an in-memory database would lose every case")
        path = Path(rest) if rest.startswith("/") else _resolve(rest, base)
        return "sqlite:///" + str(path)
    if url.startswith("postgresql+psycopg://"):
        return url
    if url.startswith("postgresql://"):  # the driver madoguchi ships with (psycopg 3), not psycopg2
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    raise SettingsError(f"MADOGUCHI_DATABASE_URL: {url!r} is not sqlite:////abs/file.db or postgresql+psycopg://…")


def _address(name: str, value: str) -> str:
    value = value.strip()
    local, _, domain = value.rpartition("@")
    if not local or "." not in domain or any(c in value for c in " <>,;\r\n"):
        raise SettingsError(f"{name}: {value!r} is not an e-mail address")
    return value.lower()


def _policy(spec: str, base: Path) -> str:
    if spec.startswith("builtin:"):
        return spec
    path = _resolve(spec, base)
    if not path.is_file():
        raise SettingsError(f"MADOGUCHI_POLICY: no policy file at {path}")
    return str(path)


def _now(value: str) -> dt.datetime | None:
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"MADOGUCHI_NOW: {value!r} is not an ISO 8601 timestamp") from exc
    if t.tzinfo is None:
        raise SettingsError(f"MADOGUCHI_NOW: {value!r} has no UTC offset (e.g. 2025-06-02T10:00:00+09:00)")
    return t


def _password(value: str, file: str, base: Path, name: str = "MADOGUCHI_MAILBOX_PASSWORD_FILE") -> str | None:
    if value:
        return value
    if not file:
        return None
    path = _resolve(file, base)
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{name}: cannot read {path}: {exc.strerror}") from exc


def _ca_file(name: str, value: str, base: Path) -> Path | None:
    if not value:
        return None
    path = _resolve(value, base)
    if not path.is_file():
        raise SettingsError(f"{name}: no file at {path}")
    return path


def _store_key(value: str) -> bytes | None:
    """MADOGUCHI_STORE_KEY: 32 random bytes, base64 (`openssl rand -base64 32`)."""
    if not value:
        return None
    import base64
    import binascii

    try:
        key = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SettingsError("MADOGUCHI_STORE_KEY: not a base64 32-byte key; make one with `openssl rand -base64 32`")
    return key


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"{name}: {value!r} is not one of {', '.join(allowed)}")
    return value


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SettingsError(f"MADOGUCHI_TIMEZONE: {value!r} is not a time zone name") from exc
    return value


def _clock_time(name: str, value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError as exc:
        raise SettingsError(f"{name}: {value!r} is not HH:MM") from exc


def _positive_int(name: str, value: str) -> int:
    return _whole_number(name, value, minimum=1)


def _whole_number(name: str, value: str, minimum: int = 0) -> int:
    try:
        n = int(value)
    except ValueError as exc:
        raise SettingsError(f"{name}: {value!r} is not a whole number") from exc
    if n < minimum:
        raise SettingsError(f"{name}: must be greater than 0" if minimum == 1 else f"{name}: must be {minimum} or more")
    return n
