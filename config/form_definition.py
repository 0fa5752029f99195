"""The project's own request form (個人情報開示等請求書), defined once.

`madoguchi form` draws the PDF from this table and the request-form parser reads the
AcroForm fields back by the same names, so the two can never drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FORM_ID = "madoguchi-request-form/1"  # stored in the PDF's /Subject to recognise our form


@dataclass(frozen=True)
class FormField:
    name: str
    label_ja: str
    kind: Literal["text", "checkbox"]
    section: str
    code: str | None = None  # the contract code a checkbox stands for


FIELDS: tuple[FormField, ...] = (
    FormField("date_submitted", "提出日", "text", "header"),
    FormField("requester_name", "請求者（ご本人）氏名", "text", "requester"),
    FormField("requester_kana", "フリガナ", "text", "requester"),
    FormField("requester_birthdate", "生年月日", "text", "requester"),
    FormField("requester_address", "住所", "text", "requester"),
    FormField("requester_phone", "電話番号", "text", "requester"),
    FormField("requester_email", "メールアドレス", "text", "requester"),
    FormField("type_notify_purpose", "利用目的の通知", "checkbox", "types", "notify_purpose"),
    FormField("type_disclose", "開示", "checkbox", "types", "disclose"),
    FormField("type_correct", "訂正・追加・削除", "checkbox", "types", "correct"),
    FormField("type_suspend", "利用停止・消去", "checkbox", "types", "suspend"),
    FormField("type_stop_third_party", "第三者提供の停止", "checkbox", "types", "stop_third_party"),
    FormField(
        "type_disclose_third_party_records",
        "第三者提供記録の開示",
        "checkbox",
        "types",
        "disclose_third_party_records",
    ),
    FormField("target_info", "対象となる個人情報", "text", "request"),
    FormField("reason", "請求の理由・訂正等の内容", "text", "request"),
    FormField("method_electronic", "電磁的記録（PDF等の電子ファイル）", "checkbox", "method", "electronic"),
    FormField("method_paper", "書面（郵送）", "checkbox", "method", "paper"),
    FormField("method_other", "その他の方法", "checkbox", "method", "other"),
    FormField("agent_name", "代理人氏名", "text", "agent"),
    FormField("agent_address", "代理人住所", "text", "agent"),
    FormField("agent_contact", "代理人連絡先（電話・メール）", "text", "agent"),
    FormField("agent_minor_legal_rep", "未成年者の法定代理人", "checkbox", "agent_type", "minor_legal_rep"),
    FormField(
        "agent_adult_guardian", "成年被後見人の法定代理人（成年後見人）", "checkbox", "agent_type", "adult_guardian"
    ),
    FormField("agent_voluntary", "本人が委任した代理人（任意代理人）", "checkbox", "agent_type", "voluntary"),
    FormField("agent_professional", "弁護士・司法書士等の資格者", "checkbox", "agent_type", "professional"),
)

FIELD_BY_NAME = {f.name: f for f in FIELDS}
