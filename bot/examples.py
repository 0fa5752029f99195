"""The bundled example requests for the demo: seed a Maildir, then show the replies.

`python -m bot.examples MAILDIR` copies the examples into MAILDIR/new;
`python -m bot.examples --show-outbox DIR` prints who each reply went to, its subject and
its opening lines, so the demo shows what a requester receives.
"""

from __future__ import annotations

import email
import email.policy
import sys
import time
from importlib import resources
from pathlib import Path


def seed(maildir: Path) -> int:
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    n = 0
    stamp = int(time.time())
    for item in sorted(resources.files("bot").joinpath("examples").iterdir(), key=lambda p: p.name):
        if not item.name.endswith(".eml"):
            continue
        n += 1
        (maildir / "new" / f"{stamp}.{n:02d}.{item.name}").write_bytes(item.read_bytes())
    print(f"seeded {n} example mails into {maildir}/new")
    return n


def show_outbox(folder: Path) -> None:
    files = sorted(folder.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    if not files:
        print("(no replies)")
    for path in files:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = msg.get_body(("plain",))
        text = body.get_content() if body is not None else ""
        attached = [p.get_filename() for p in msg.iter_attachments()]
        print(f"--- {path.name}")
        print(f"To: {msg['To']}")
        print(f"Subject: {msg['Subject']}")
        if attached:
            print(f"Attached: {', '.join(str(a) for a in attached)}")
        for line in str(text).splitlines()[:14]:
            print(f"  | {line}")
        print("  | …")


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--show-outbox":
        show_outbox(Path(argv[1]))
        return 0
    if len(argv) == 1:
        seed(Path(argv[0]))
        return 0
    print("usage: python -m bot.examples MAILDIR | --show-outbox DIR", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
