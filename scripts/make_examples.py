"""Regenerate bot/examples/*.eml, the demo's example mails (all people are fictitious)."""

from __future__ import annotations

from email.header import Header
from pathlib import Path

from tests import factory

OUT = Path(__file__).resolve().parents[1] / "bot" / "examples"
WINDOW = "info@example.jp"


def iso2022jp_mail(sender_name: str, sender: str, subject: str, body: str, msgid: str) -> bytes:
    """A mail as a Japanese mailer of the old school sends it: ISO-2022-JP, 7bit."""
    head = (
        f"From: {Header(sender_name, 'iso-2022-jp').encode()} <{sender}>\n"
        f"To: {WINDOW}\n"
        f"Subject: {Header(subject, 'iso-2022-jp').encode()}\n"
        f"Message-ID: <{msgid}>\n"
        "Date: Mon, 02 Jun 2025 09:12:00 +0900\n"
        "MIME-Version: 1.0\n"
        'Content-Type: text/plain; charset="ISO-2022-JP"\n'
        "Content-Transfer-Encoding: 7bit\n\n"
    )
    return head.encode("ascii") + body.encode("iso-2022-jp")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    name, addr = "山田 太郎", "東京都例区見本町1-2-3"
    examples = {
        "01_complete_request.eml": factory.mail(
            sender=f"{name} <taro.yamada@example.com>", to=WINDOW, message_id="<ex01@example.com>",
            subject="保有個人データの開示請求",
            body="個人情報苦情及び相談窓口 御中\n\n山田太郎と申します。\n御社が保有する私の個人情報の開示を請求します。\n"
                 "請求書、運転免許証の写し、住民票の写しを添付いたします。\n\nよろしくお願いいたします。\n山田 太郎\n",
            attachments=(
                ("seikyusho.pdf", "application/pdf", factory.filled_form(
                    {"requester_name": name, "requester_email": "taro.yamada@example.com",
                     "requester_address": addr, "target_info": "会員登録情報"},
                    ["type_disclose", "method_electronic"])),
                ("scan0001.pdf", "application/pdf", factory.drivers_license(name, addr)),
                ("scan0002.pdf", "application/pdf", factory.resident_record(name, addr)),
            )),
        "02_body_only_iso2022jp.eml": iso2022jp_mail(
            "近藤 明美", "akemi.kondo@example.org", "個人情報について",
            "個人情報苦情及び相談窓口 御中\n\nはじめてご連絡いたします。\n御社が保有している私の個人情報について、"
            "利用目的の通知及び開示を請求いたします。\n手続きに必要な書類をお知らせください。\n\n近藤 明美\n", "ex02@example.org"),
        "03_suspend_missing_resident_record.eml": factory.mail(
            sender="佐藤 花子 <hanako.sato@example.net>", to=WINDOW, message_id="<ex03@example.net>",
            subject="メールマガジン配信の利用停止について",
            body="お世話になっております。佐藤花子です。\n私の個人情報の利用停止をお願いします。請求書と免許証を添付します。\n",
            attachments=(
                ("form.pdf", "application/pdf", factory.filled_form(
                    {"requester_name": "佐藤 花子", "requester_email": "hanako.sato@example.net"},
                    ["type_suspend"])),
                ("IMG_0412.pdf", "application/pdf", factory.drivers_license("佐藤 花子", "大阪府例市1-1")),
            )),
        "04_general_inquiry.eml": factory.mail(
            sender="西村 光 <hikaru@example.net>", to=WINDOW, message_id="<ex04@example.net>",
            subject="料金プランについての質問", body="御社のBPOサービスの料金プランについて資料をいただけますか。\n西村\n"),
        "05_out_of_office.eml": factory.mail(
            sender="福田 <fukuda@example.co.jp>", to=WINDOW, message_id="<ex05@example.co.jp>",
            subject="不在通知 Re: 開示等請求について", body="只今休暇中のため、6月6日以降に返信いたします。\n",
            headers={"Auto-Submitted": "auto-replied"}),
    }
    for name_, raw in examples.items():
        (OUT / name_).write_bytes(raw)
        print(f"wrote {OUT / name_} ({len(raw):,} bytes)")


if __name__ == "__main__":
    main()
