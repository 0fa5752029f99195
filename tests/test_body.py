"""Reading a request stated in an email body: which types, and only when really asked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parsers.body import facts_from_body, own_text, stated_request_types

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCENARIOS = SHARED / "samples" / "scenarios.json"

GREETING = "株式会社例示\n個人情報窓口 御中\n\nお世話になっております。山田太郎と申します。\n\n"
SIGNATURE = "\n\nよろしくお願いいたします。\n\n――――――――――――\n山田 太郎\nTEL: 03-0000-0000\n"

# (body, expected request types); the body is wrapped in a greeting and a signature
CASES: list[tuple[str, set[str]]] = [
    # requests, Japanese
    ("私の個人情報の開示を請求します。", {"disclose"}),
    ("登録情報の開示をお願いします。", {"disclose"}),
    ("保有個人データの開示をお願いいたします。", {"disclose"}),
    ("御社が保有する私の情報の開示を求めます。", {"disclose"}),
    ("利用目的の通知及び開示を請求いたします。", {"notify_purpose", "disclose"}),
    ("私の個人情報の利用停止をお願いします。", {"suspend"}),
    ("登録されている私のデータを消去してください。", {"suspend"}),
    ("住所に誤りがあるので訂正を請求します。", {"correct"}),
    ("私の情報を第三者に提供するのを停止してください。", {"stop_third_party"}),
    ("第三者提供を停止してください。", {"stop_third_party"}),
    ("第三者提供記録の開示を請求します。", {"disclose_third_party_records"}),
    ("第三者への提供記録を開示してください。", {"disclose_third_party_records"}),
    ("会員情報の利用目的を通知していただきたく、ご連絡しました。", {"notify_purpose"}),
    ("開示と利用停止をお願いいたします。", {"disclose", "suspend"}),
    ("開示ではなく、訂正をお願いします。", {"correct"}),
    ("開示は不要ですが、利用停止をお願いします。", {"suspend"}),
    ("下記のとおり請求いたします。\n・利用目的の通知\n・開示", {"notify_purpose", "disclose"}),
    ("請求の種類：開示\n氏名：山田太郎", {"disclose"}),
    ("お手数ですが、私の個人情報を開示していただけますでしょうか。", {"disclose"}),
    ("私の個人情報を第三者に提供しないでください。", {"stop_third_party"}),
    ("個人情報の\n開示を請求\nいたします。", {"disclose"}),
    ("登録されている電話番号が誤っているため、訂正してください。", {"correct"}),
    ("私に関する保有個人データの利用停止及び消去を求めます。", {"suspend"}),
    ("貴社が第三者に提供した記録の開示を請求します。", {"disclose_third_party_records"}),
    ("保有個人データの開示を請求したく、本メールをお送りします。", {"disclose"}),
    ("開示の申請をいたします。", {"disclose"}),
    ("私の個人データの開示を求める。", {"disclose"}),
    # requests, English
    ("I request disclosure of my personal data.", {"disclose"}),
    ("Please delete my data.", {"suspend"}),
    ("Please stop using my personal information.", {"suspend"}),
    ("I would like to request a copy of my personal data and the purpose of use.", {"disclose", "notify_purpose"}),
    ("Please stop sharing my information with third parties.", {"stop_third_party"}),
    ("Could you correct my address? It is wrong.", {"correct"}),
    ("Please correct my personal data: my address changed.", {"correct"}),
    ("I hereby request the records of provision of my data to third parties.", {"disclose_third_party_records"}),
    ("退会したので、私の個人情報を削除してください。", {"suspend"}),
    ("開示請求を申し込みます。", {"disclose"}),
    ("I'd like to exercise my right to access my personal data.", {"disclose"}),
    ("以下の通り請求します。\n請求の種類：■開示 □訂正 ■利用停止", {"disclose", "suspend"}),
    ("下記の請求をします。\n■開示\n□訂正\n・利用停止", {"disclose", "suspend"}),
    ("Under the APPI, I request that you disclose the personal data you hold about me.", {"disclose"}),
    ("I object to the processing of my data and ask you to stop processing it.", {"suspend"}),
    ("Kindly delete my account and all associated data.", {"suspend"}),
    # not requests
    ("御社のBPOサービスの料金プランについて資料をいただけますか。", set()),
    ("開示請求の方法を教えてください。", set()),
    ("開示請求はできますか？", set()),
    ("開示請求に必要な書類を教えてください。", set()),
    ("開示を請求したいのですが、どうすればよいですか。", set()),
    ("開示請求書を送ってください。", set()),
    ("開示請求について質問があります。", set()),
    ("開示請求をする場合の手数料を教えてください。", set()),
    ("開示を請求するにはどうすればいいですか", set()),
    ("開示は不要です。", set()),
    ("データは削除しないでください。", set()),
    ("先日、開示を請求しましたが、まだ回答がありません。", set()),
    ("開示を請求する場合、手数料はいくらですか。", set()),
    ("メールマガジンの配信を停止してください。", set()),
    ("開示請求について、よろしくお願いいたします。", set()),
    ("メールマガジンの配信停止をお願いします。", set()),
    ("Please unsubscribe me from your newsletter.", set()),
    ("What is the fee for a disclosure request?", set()),
    ("開示・第三者提供記録の開示を請求する場合は、方法をお選びください。", set()),
    ("How do I request disclosure of my personal data?", set()),
    ("Please do not delete my data.", set()),
    ("Thank you for the documents. See you next week.", set()),
    ("住民票を取得しましたので添付します。", set()),
]


@pytest.mark.parametrize(("body", "want"), CASES, ids=[c[0][:24] for c in CASES])
def test_request_types(body: str, want: set[str]) -> None:
    facts = facts_from_body(GREETING + body + SIGNATURE)
    assert facts.request_types == frozenset(want)
    assert facts.source == "body"
    assert facts.states_request == bool(want)


QUOTED = [
    "お世話になります。書類を添付しました。\n\n> 開示を請求します。\n> よろしくお願いします。\n",
    "承知しました。\n\n-----Original Message-----\nFrom: info@example.jp\n開示を請求します。\n",
    "了解です。\n\n2025年6月2日(月) 10:00 窓口 <info@example.jp>:\n> 開示の請求を受け付けました。\n",
    "Thanks.\n\nOn Mon, Jun 2, 2025 at 10:00 AM Window <info@example.jp> wrote:\n> Please delete my data.\n",
    "ありがとうございます。\n\n山田様からのメッセージ:\n利用停止をお願いします。\n",
    "確認しました。\n\nFrom: 窓口 <info@example.jp>\nSent: Monday\nTo: me\nSubject: 開示\n開示を請求します。\n",
]


@pytest.mark.parametrize("body", QUOTED)
def test_quoted_text_does_not_count(body: str) -> None:
    assert facts_from_body(body).request_types == frozenset()


def test_signature_and_disclaimer_do_not_count() -> None:
    body = (
        "資料をありがとうございました。\n\n-- \n山田 太郎\n個人情報の開示請求はこちら: https://example.jp\n"
        "このメールに心当たりのない場合は、削除してください。\n"
        "If you received this email in error, please delete it and all of your data copies.\n"
    )
    assert facts_from_body(body).request_types == frozenset()


def test_own_text_keeps_the_sender_words() -> None:
    text = "開示を請求します。\n\n> 引用\n-----Original Message-----\n利用停止をお願いします。"
    assert own_text(text).strip() == "開示を請求します。"


# --------------------------------------------------------------------------- subject


@pytest.mark.parametrize(
    ("subject", "body", "want"),
    [
        ("保有個人データの開示のお願い", "必要書類を添付します。", {"disclose"}),
        ("Request for erasure of my data", "Attached is my ID.", {"suspend"}),
        ("開示請求について", "添付のとおりです。", set()),
        ("Re: 開示請求のお願い", "ありがとうございます。", set()),
        ("開示請求の方法", "教えてください。", set()),
        ("開示のお願い", "開示ではなく訂正をお願いします。", {"correct"}),
        ("開示請求", "開示請求書を添付します。", {"disclose"}),
        ("Out of Office Re: 開示等請求について", "只今休暇中のため、6月6日以降に返信いたします。", set()),
    ],
)
def test_subject(subject: str, body: str, want: set[str]) -> None:
    assert facts_from_body(body, subject).request_types == frozenset(want)


# --------------------------------------------------------------------------- agents and names


def test_voluntary_agent_names_the_principal() -> None:
    body = (
        "お世話になっております。藤井里奈と申します。\n\n遠藤勝さんから委任を受けた藤井と申します。\n"
        "遠藤さんの電話番号の訂正を請求します。\n\n――――\n藤井 里奈\nTEL: 080-0123-0123\n"
    )
    facts = facts_from_body(body)
    assert facts.request_types == {"correct"}
    assert (facts.agent_present, facts.agent_type) == (True, "voluntary")
    assert facts.agent_name == "藤井 里奈"
    assert facts.requester_name == "遠藤勝"
    assert facts.requester_phone is None  # the phone in the signature is the agent's


@pytest.mark.parametrize(
    ("body", "agent_type"),
    [
        ("長男（15歳）の親権者として、長男の個人情報の開示を請求します。", "minor_legal_rep"),
        ("娘の法定代理人として、娘の登録情報の利用停止をお願いします。", "minor_legal_rep"),
        ("私は父の成年後見人です。父の個人情報の開示を請求いたします。", "adult_guardian"),
        ("私は弁護士の田中と申します。依頼者の代理人として、保有個人データの開示を請求します。", "professional"),
        ("母の代理で、母の個人情報の開示をお願いします。", None),  # authority not stated: agent_authority
        (
            "I am writing on behalf of my client, Mr. Ken Ito, to request disclosure of his personal data.",
            "professional",
        ),
        ("I am acting on behalf of my mother and request deletion of her personal data.", None),
        ("母から委任を受けて、母の個人情報の開示をお願いします。", "voluntary"),
    ],
)
def test_agent_types(body: str, agent_type: str | None) -> None:
    facts = facts_from_body(body)
    assert facts.states_request
    assert facts.agent_present and facts.agent_type == agent_type


def test_no_agent_for_own_request() -> None:
    facts = facts_from_body(GREETING + "私の個人情報の開示を請求します。" + SIGNATURE)
    assert not facts.agent_present and facts.agent_type is None and facts.agent_name is None
    assert facts.requester_name == "山田 太郎"
    assert facts.requester_phone == "03-0000-0000"


def test_threatening_a_lawyer_is_not_being_one() -> None:
    facts = facts_from_body("開示してくれないなら弁護士に相談します。開示を請求します。")
    assert facts.request_types == {"disclose"}
    assert not facts.agent_present


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ("はじめまして、東京都在住の青木と申します。開示を請求します。", "青木"),
        ("My name is John Smith. I request disclosure of my personal data.", "John Smith"),
        ("開示を請求します。\n\n--\n坂本 修\n", "坂本 修"),
    ],
)
def test_sender_name(body: str, name: str) -> None:
    assert facts_from_body(body).requester_name == name


def test_disclosure_method_in_the_body() -> None:
    facts = facts_from_body("開示を請求します。回答は郵送でお願いします。")
    assert facts.disclosure_method == "paper"
    facts = facts_from_body("開示を請求します。PDFでの開示を希望します。")
    assert facts.disclosure_method == "electronic"


def test_stated_request_types_for_letters() -> None:
    assert stated_request_types("貴社が保有する私の個人情報の開示を請求します。") == {"disclose"}
    assert stated_request_types("開示・第三者提供記録の開示を請求する場合にお選びください") == frozenset()


# --------------------------------------------------------------------------- samples


def sample_messages() -> list[tuple[str, dict[str, object]]]:
    if not SCENARIOS.is_file():
        return []
    data = json.loads(SCENARIOS.read_text(encoding="utf-8"))
    return [(s["id"], st["message"]) for s in data["scenarios"] for st in s["steps"] if st.get("message")]


SAMPLE_TYPES = {
    "s01_principal_complete": {"disclose"},
    "s02_missing_resident_record_then_reply": {"notify_purpose"},
    "s03_body_only_request": {"notify_purpose", "disclose"},
    "s04_agent_voluntary_complete": {"correct"},
    "s05_general_inquiry": set(),
    "s06_auto_reply": set(),
    "s07_my_number_in_resident_record": {"disclose"},
    "s08_staff_payment_and_verify": {"disclose"},
}


@pytest.mark.skipif(not SCENARIOS.is_file(), reason=f"shared acceptance samples not found at {SCENARIOS}")
def test_sample_bodies() -> None:
    seen = set()
    for scenario, message in sample_messages():
        if scenario in seen:
            continue  # the first mail of each scenario states (or not) the request
        seen.add(scenario)
        facts = facts_from_body(str(message["body"]), str(message.get("subject") or ""))
        assert facts.request_types == frozenset(SAMPLE_TYPES[scenario]), scenario
    assert seen == set(SAMPLE_TYPES)


def test_the_salutation_line_is_not_part_of_the_name() -> None:
    body = "株式会社クロス・プロップワークス\n個人情報苦情及び相談窓口 御中\n\n斎藤大輔と申します。\n私の個人情報の開示を請求します。\n"
    assert facts_from_body(body).requester_name == "斎藤大輔"
