"""Deterministic request mail for the intake benchmark, written into a Maildir's new/.

    python bench/make_mail.py --count 1000 --variant text --out /tmp/bench-mail
    python bench/make_mail.py --count 1000 --variant pdf  --out /tmp/bench-mail-pdf

Every mail is a request in Japanese (「保有個人データの開示を請求します。」 and the like) from
its own sender (distinct address, display name and Message-ID), in one of the charsets
Japanese mailers use: UTF-8 (base64 or 8bit), ISO-2022-JP (7bit) and Shift_JIS (base64 or
8bit); subject and display name are MIME-encoded words in the same charset as the body.

Two variants share everything but the attachments:

- ``text``: text/plain only;
- ``pdf``: every third mail (index % 3 == 0) is multipart/mixed with one text-layer PDF
  drawn with reportlab and the IPAex Gothic font: alternately a one-page 住民票（写）, and
  a two-page file (a request form as text, then the 住民票). Those mails say in the body
  that they attach it; the rest are byte-for-byte the mails of the ``text`` variant.

The same (index, variant, seed) always gives the same bytes (reportlab runs with
``invariant=1``, MIME boundaries are derived from the index), and the mails for
``--count 1000`` are the first 1000 of ``--count 5000``. File names sort in index order
and each file's mtime is set one second after the previous one, so a Maildir reader that
orders by mtime reads them in index order. A manifest (``bench-manifest.json``, in the
Maildir's root, outside new/) records the count, the variant and the PDF pages per mail.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import io
import json
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from email.header import Header
from pathlib import Path
from typing import Any

WINDOW = "info@example.jp"
FONT = Path("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf")
FONT_NAME = "BenchIPAexG"
BASE_TIME = dt.datetime(2025, 6, 2, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=9)))
MANIFEST = "bench-manifest.json"

# Names and places drawn only from JIS X 0208, so every charset can carry them.
SURNAMES = [
    ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("伊藤", "ito"),
    ("渡辺", "watanabe"), ("山本", "yamamoto"), ("中村", "nakamura"), ("小林", "kobayashi"), ("加藤", "kato"),
    ("吉田", "yoshida"), ("山田", "yamada"), ("佐々木", "sasaki"), ("山口", "yamaguchi"), ("松本", "matsumoto"),
    ("井上", "inoue"), ("木村", "kimura"), ("林", "hayashi"), ("斎藤", "saito"), ("清水", "shimizu"),
]
GIVEN = [
    ("太郎", "taro"), ("花子", "hanako"), ("健一", "kenichi"), ("陽子", "yoko"), ("誠", "makoto"),
    ("美咲", "misaki"), ("直樹", "naoki"), ("裕子", "yuko"), ("修", "osamu"), ("明美", "akemi"),
    ("大輔", "daisuke"), ("真由美", "mayumi"), ("翔太", "shota"), ("恵子", "keiko"), ("浩", "hiroshi"),
]
DOMAINS = ["example.com", "example.net", "example.org", "example.co.jp", "example.ne.jp"]
PLACES = [
    "東京都例区見本町", "大阪府例阪市北区見本町", "北海道例幌市中央区見本",
    "福岡県例岡市博多区見本", "愛知県例古屋市中区見本",
]

# (request type as the form names it, the sentence that states it, the subject)
REQUESTS = [
    ("開示", "保有個人データの開示を請求します。", "保有個人データの開示請求"),
    ("利用目的の通知", "私の個人情報の利用目的の通知を求めます。", "利用目的の通知のお願い"),
    ("開示", "御社が保有する私の個人情報の開示を請求いたします。", "個人情報の開示について"),
    ("利用停止等", "私の個人情報の利用停止を請求します。", "個人情報の利用停止請求"),
    ("第三者提供記録の開示", "第三者提供記録の開示を請求します。", "第三者提供記録の開示請求"),
]
FORM_TYPES = ["利用目的の通知", "開示", "訂正等", "利用停止等", "第三者提供の停止", "第三者提供記録の開示"]

# (charset label in the header, Python codec, Content-Transfer-Encoding)
CHARSETS = [
    ("utf-8", "utf-8", "base64"),
    ("ISO-2022-JP", "iso-2022-jp", "7bit"),
    ("Shift_JIS", "shift_jis", "base64"),
    ("UTF-8", "utf-8", "8bit"),
    ("ISO-2022-JP", "iso-2022-jp", "7bit"),
    ("Shift_JIS", "shift_jis", "8bit"),
]


@dataclass(frozen=True)
class Person:
    name: str
    address: str
    email: str
    phone: str


@dataclass(frozen=True)
class BenchMail:
    index: int
    filename: str  # the Maildir file name in new/
    raw: bytes
    pdf_pages: int  # pages of the attached PDF, 0 when none


def person(index: int, seed: int) -> Person:
    rng = random.Random(f"{seed}:{index}")
    (sur, sur_r), (giv, giv_r) = rng.choice(SURNAMES), rng.choice(GIVEN)
    domain = rng.choice(DOMAINS)
    address = f"{rng.choice(PLACES)}{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}"
    phone = f"0{rng.randint(70, 90)}-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}"
    return Person(f"{sur} {giv}", address, f"{giv_r}.{sur_r}.{index:06d}@{domain}", phone)


def pdf_pages_for(index: int, variant: str) -> int:
    """0 for a text-only mail; otherwise 1 (住民票) or 2 (request form + 住民票), alternately."""
    if variant != "pdf" or index % 3 != 0:
        return 0
    return 1 if (index // 3) % 2 == 0 else 2


def make_mail(index: int, variant: str = "text", seed: int = 0) -> BenchMail:
    rng = random.Random(f"{seed}:{index}:mail")
    who = person(index, seed)
    form_type, sentence, subject = REQUESTS[rng.randrange(len(REQUESTS))]
    label, codec, cte = CHARSETS[(index // 3) % len(CHARSETS)]
    pages = pdf_pages_for(index, variant)
    body_lines = [
        "個人情報苦情及び相談窓口 御中",
        "",
        f"{who.name.replace(' ', '')}と申します。",
        sentence,
    ]
    if pages == 1:
        body_lines.append("本人確認のため、住民票の写しを添付いたします。")
    elif pages == 2:
        body_lines.append("請求書と住民票の写しを一つのファイルにして添付いたします。")
    body_lines += [
        "",
        "連絡先は本メールアドレスにお願いいたします。",
        "よろしくお願いいたします。",
        "",
        who.name,
        f"電話 {who.phone}",
        "",
    ]
    body = "\n".join(body_lines)
    sent = BASE_TIME + dt.timedelta(seconds=7 * index)
    msgid = f"<bench.{index:06d}.{_tag(seed, index)}@{who.email.split('@')[1]}>"
    head = [
        f"From: {Header(who.name, label).encode()} <{who.email}>",
        f"To: {WINDOW}",
        f"Subject: {Header(subject, label).encode()}",
        f"Message-ID: {msgid}",
        f"Date: {sent.strftime('%a, %d %b %Y %H:%M:%S %z')}",
        "MIME-Version: 1.0",
        f"X-Mailer: bench-{label.lower()}-{cte}",
    ]
    text_headers, text_body = _text_part(body, label, codec, cte)
    if pages == 0:
        raw = _join(head + text_headers, text_body)
    else:
        pdf = request_pdf(who, form_type, index, pages)
        boundary = f"=_bench_{_tag(seed, index)}"
        parts = [
            b"--" + boundary.encode() + b"\r\n" + _join(text_headers, text_body),
            b"--" + boundary.encode() + b"\r\n" + _join(
                [
                    f'Content-Type: application/pdf; name="scan_{index:06d}.pdf"',
                    "Content-Transfer-Encoding: base64",
                    f'Content-Disposition: attachment; filename="scan_{index:06d}.pdf"',
                ],
                _b64_lines(pdf),
            ),
        ]
        raw = _join(
            head + [f'Content-Type: multipart/mixed; boundary="{boundary}"'],
            b"This is a multi-part message in MIME format.\r\n\r\n" + b"\r\n".join(parts)
            + b"\r\n--" + boundary.encode() + b"--\r\n",
        )
    epoch = int(BASE_TIME.timestamp()) + index
    filename = f"{epoch}.B{index:06d}.bench-{variant}"
    return BenchMail(index, filename, raw, pages)


def generate(count: int, variant: str = "text", seed: int = 0) -> Iterator[BenchMail]:
    for index in range(count):
        yield make_mail(index, variant, seed)


def write_maildir(root: Path, count: int, variant: str = "text", seed: int = 0) -> dict[str, Any]:
    """Write `count` mails into root/new (creating cur/ and tmp/); return the manifest."""
    for sub in ("new", "cur", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    pages: list[int] = []
    total_bytes = 0
    for mail in generate(count, variant, seed):
        path = root / "new" / mail.filename
        path.write_bytes(mail.raw)
        stamp = BASE_TIME.timestamp() + mail.index
        os.utime(path, (stamp, stamp))
        pages.append(mail.pdf_pages)
        total_bytes += len(mail.raw)
    manifest: dict[str, Any] = {
        "count": count,
        "variant": variant,
        "seed": seed,
        "bytes": total_bytes,
        "pdf_mails": sum(1 for p in pages if p),
        "pdf_pages": sum(pages),
        "pages": pages,
    }
    (root / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return manifest


# --------------------------------------------------------------------------- PDF


def request_pdf(who: Person, form_type: str, index: int, pages: int) -> bytes:
    """A text-layer PDF: a 住民票（写）, preceded by a request form when `pages` is 2."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT)))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1)
    c.setTitle(f"scan_{index:06d}")
    if pages == 2:
        _draw_rows(c, A4, _form_rows(who, form_type))
        c.showPage()
    _draw_rows(c, A4, _resident_record_rows(who, index))
    c.showPage()
    c.save()
    return buf.getvalue()


def _form_rows(who: Person, form_type: str) -> list[list[tuple[float, str]]]:
    boxes = [("■" if t == form_type else "□") + t for t in FORM_TYPES]
    return [
        [(200, "保有個人データ開示等請求書")],
        [(40, "■ご請求者（ご本人）について")],
        [(40, "お名前"), (150, f"{who.name} 様")],
        [(40, "ご住所"), (150, who.address)],
        [(40, "メールアドレス"), (150, who.email)],
        [(40, "電話番号"), (150, who.phone)],
        [(40, "■ご請求内容")],
        [(40, boxes[0]), (200, boxes[1]), (320, boxes[2])],
        [(40, boxes[3]), (200, boxes[4]), (320, boxes[5])],
        [(40, "■開示の方法"), (150, "□書面（郵送）"), (280, "■電磁的記録")],
        [(40, "■代理人による請求の場合")],
        [(40, "代理人氏名"), (150, "")],
        [(40, "■添付書類"), (150, "■住民票の写し")],
        [(40, "令和7年6月1日")],
    ]


def _resident_record_rows(who: Person, index: int) -> list[list[tuple[float, str]]]:
    return [
        [(230, "住民票（写）")],
        [(60, f"住所 {who.address}")],
        [(60, f"世帯主氏名 {who.name}")],
        [(60, "氏名 生年月日 性別 続柄 住民となった日 個人番号")],
        [(60, f"{who.name} 1980年{index % 12 + 1}月{index % 28 + 1}日 世帯主 2020年4月1日 省略")],
        [(60, "この写しは、住民票の原本と相違ないことを証明します。")],
        [(60, "令和7年5月27日")],
        [(60, "例市長 例 太郎")],
    ]


def _draw_rows(c: object, size: tuple[float, float], rows: list[list[tuple[float, str]]]) -> None:
    y = size[1] - 60
    for i, row in enumerate(rows):
        for x, text in row:
            c.setFont(FONT_NAME, 18 if i == 0 else 11)  # type: ignore[attr-defined]
            c.drawString(x, y, text)  # type: ignore[attr-defined]
        y -= 34 if i == 0 else 22


# --------------------------------------------------------------------------- MIME by hand


def _text_part(body: str, label: str, codec: str, cte: str) -> tuple[list[str], bytes]:
    data = body.replace("\n", "\r\n").encode(codec)
    headers = [f'Content-Type: text/plain; charset="{label}"', f"Content-Transfer-Encoding: {cte}"]
    return headers, _b64_lines(data) if cte == "base64" else data


def _b64_lines(data: bytes) -> bytes:
    enc = base64.b64encode(data)
    return b"\r\n".join(enc[i:i + 76] for i in range(0, len(enc), 76)) + b"\r\n"


def _join(headers: list[str], body: bytes) -> bytes:
    return "\r\n".join(headers).encode("ascii") + b"\r\n\r\n" + body


def _tag(seed: int, index: int) -> str:
    return hashlib.sha256(f"madoguchi-bench:{seed}:{index}".encode()).hexdigest()[:12]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--variant", choices=("text", "pdf"), default="text")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True, help="the Maildir (its new/ is written)")
    args = ap.parse_args(argv)
    if (args.out / "new").is_dir() and any((args.out / "new").iterdir()):
        print(f"{args.out}/new is not empty; give an empty or new directory", file=sys.stderr)
        return 2
    m = write_maildir(args.out, args.count, args.variant, args.seed)
    print(f"wrote {m['count']} mails ({m['bytes']:,} bytes; {m['pdf_mails']} with a PDF, "
          f"{m['pdf_pages']} pages) to {args.out}/new")
    return 0


if __name__ == "__main__":
    sys.exit(main())
