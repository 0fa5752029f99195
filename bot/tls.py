"""The one way madoguchi opens TLS as a client (IMAP, SMTP, the OAuth token endpoint)."""

from __future__ import annotations

import ssl
from pathlib import Path


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification always on, TLS 1.2 at least; a configured CA file replaces the system's trust store."""
    ctx = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx
