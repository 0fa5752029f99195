"""Every mail in the shared third-party corpus goes through parse_message without raising,
and the Japanese cases the corpus README lists decode to the right characters.

The corpus lives outside the repository (`shared/corpora/email`, see its README.md); when
it is absent the tests are skipped, not failed.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.models import ParsedMessage
from parsers.headers import robot_reasons
from parsers.mime import parse_message

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpora" / "email"
WINDOW = "info@example.jp"
SKIPPED_NAMES = frozenset({"COPYING", "SOURCE.md"})
EXPECTED_MIN_FILES = 1400  # README: 1,420 emails

# Japanese mail that must decode without a single U+FFFD (README "Japanese coverage";
# jpmobile/iphone-mail3.eml is left out because its UTF-8 really contains U+FFFD).
CLEAN_JAPANESE = (
    "jpmobile/au-attached.eml",
    "jpmobile/au-decomail.eml",
    "jpmobile/au-email.eml",
    "jpmobile/au-emoji.eml",
    "jpmobile/au-emoji2.eml",
    "jpmobile/au-emoji5.eml",
    "jpmobile/au-kigou.eml",
    "jpmobile/docomo-emoji.eml",
    "jpmobile/docomo-gmail-sjis.eml",
    "jpmobile/docomo-jis.eml",
    "jpmobile/iphone-circled-numbers-in-jis.eml",
    "jpmobile/iphone-cp932.eml",
    "jpmobile/iphone-jis.eml",
    "jpmobile/softbank-emoji.eml",
    "jpmobile/softbank-gmail-sjis.eml",
    "kuroda-mail-iso-2022-jp/sample0.eml",
    "sisimai-set-of-emails/maildir/bsd/lhost-ezweb-02.eml",
    "sisimai-set-of-emails/maildir/bsd/lhost-ezweb-03.eml",
    "sisimai-set-of-emails/maildir/bsd/lhost-ezweb-04.eml",
    "sisimai-set-of-emails/maildir/bsd/lhost-ezweb-05.eml",
    # ISO-2022-JP labels over raw UTF-8 (sisimai SOURCE.md)
    "sisimai-set-of-emails/maildir/bsd/lhost-kddi-01.eml",
    "sisimai-set-of-emails/maildir/dos/lhost-kddi-01.eml",
    "sisimai-set-of-emails/maildir/mac/lhost-kddi-01.eml",
    "sisimai-set-of-emails/maildir/dos/lhost-mfilter-01.eml",
    "sisimai-set-of-emails/maildir/mac/lhost-mfilter-01.eml",
    "sisimai-set-of-emails/maildir/dos/lhost-notes-01.eml",
    "sisimai-set-of-emails/maildir/mac/lhost-notes-01.eml",
    "sisimai-set-of-emails/maildir/err/make-test-06.eml",
    "sisimai-set-of-emails/maildir/err/make-test-09.eml",
    "sisimai-set-of-emails/maildir/err/make-test-11.eml",
    "sisimai-set-of-emails/maildir/err/make-test-31.eml",
)


def corpus_root() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"email corpus not found at {CORPUS} (see shared/corpora/README.md)")
    return CORPUS


def corpus_files(root: Path) -> list[Path]:
    """The README's selection: every file except *.json, COPYING, SOURCE.md and the
    zbateson expected attachments."""
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file()
        and path.suffix != ".json"
        and path.name not in SKIPPED_NAMES
        and "expected-attachments" not in path.relative_to(root).parts
    ]


def parse(relative: str) -> ParsedMessage:
    path = corpus_root() / relative
    if not path.is_file():
        pytest.skip(f"{relative} is not in this corpus copy")
    return parse_message(path.read_bytes())


@pytest.mark.slow
def test_every_corpus_mail_parses_without_raising() -> None:
    root = corpus_root()
    files = corpus_files(root)
    assert len(files) >= EXPECTED_MIN_FILES
    failures: list[str] = []
    slowest = (0.0, "")
    started = time.perf_counter()
    for path in files:
        before = time.perf_counter()
        try:
            msg = parse_message(path.read_bytes())
            assert isinstance(msg, ParsedMessage)
            robot_reasons(msg, WINDOW)  # the next step must not fail on it either
        except BaseException as exc:  # noqa: BLE001 - collect them all, report once
            failures.append(f"{path.relative_to(root)}: {type(exc).__name__}: {exc}")
        slowest = max(slowest, (time.perf_counter() - before, str(path.relative_to(root))))
    elapsed = time.perf_counter() - started
    print(
        f"\nparsed {len(files)} corpus mails in {elapsed:.2f}s "
        f"({elapsed / len(files) * 1000:.1f} ms each; slowest {slowest[0]:.3f}s: {slowest[1]})"
    )
    assert not failures, "\n".join(failures)


def test_circled_numbers_in_jis() -> None:
    msg = parse("jpmobile/iphone-circled-numbers-in-jis.eml")
    assert msg.subject == "テスト①"
    assert msg.text == "丸数字のテストです②ⅱ"


def test_au_emoji_subject_is_decoded_not_left_raw() -> None:
    msg = parse("jpmobile/au-emoji.eml")
    assert "=?" not in msg.subject
    assert msg.subject.startswith("題名")
    assert len(msg.subject) == 3 and "\ue000" <= msg.subject[2] <= "\uf8ff"  # the emoji
    assert msg.text.startswith("本文")


def test_docomo_shift_jis_emoji() -> None:
    msg = parse("jpmobile/docomo-emoji.eml")
    assert msg.subject.startswith("題名")
    assert msg.text.startswith("本文")
    assert "\ufffd" not in msg.subject + msg.text


def test_kuroda_iso_2022_jp_sample() -> None:
    msg = parse("kuroda-mail-iso-2022-jp/sample0.eml")
    assert msg.subject == "投稿0"
    assert msg.text.startswith("投稿テスト")
    assert (msg.from_addr, msg.from_name) == ("yamada@example.jp", "Taro Yamada")
    assert msg.message_id == "<49D416F1.8070504@oiax.jp>"
    assert msg.header_all("x-uidl") == ['Sj!#!TDi"!QpG!!2V>!!', 'Sj!#!TDi"!QpG!!2V>!!']


def test_iphone_half_width_kana_in_jis() -> None:
    msg = parse("jpmobile/iphone-jis.eml")
    assert msg.text == "(=ﾟωﾟ)ﾉ"


def test_au_kigou_nec_row_13() -> None:
    text = parse("jpmobile/au-kigou.eml").text
    assert "①②③" in text and "㈱" in text and "№" in text


def test_cp932_iphone_mail() -> None:
    assert parse("jpmobile/iphone-cp932.eml").text == "テストです。㈱"


@pytest.mark.parametrize("relative", CLEAN_JAPANESE)
def test_japanese_mail_has_no_replacement_characters(relative: str) -> None:
    msg = parse(relative)
    assert "\ufffd" not in msg.subject
    assert "\ufffd" not in msg.text
    assert any("\u3040" <= ch <= "\u9fff" or "\uff61" <= ch <= "\uff9f" for ch in msg.subject + msg.text)


def test_gb2312_labelled_japanese_ndr() -> None:
    msg = parse("php-mime-mail-parser/failure.eml")
    assert "次の受信者またはグループへの配信に失敗しました" in msg.text
    assert msg.is_report


def test_long_japanese_rfc2231_filename() -> None:
    msg = parse("mikel-mail/multi_charset/japanese_attachment_long_name.eml")
    assert [a.filename for a in msg.attachments] == ["かきくけこ" * 5 + ".txt"]
    assert msg.subject == "まみむめも" * 10


def test_group_address_placeholder() -> None:
    msg = parse("mimekit/messages/delivery-status.txt")
    assert msg.to == ()
    assert msg.from_addr == "postmaster@mm1.sprynet.com"
    assert "multipart_report" in robot_reasons(msg, WINDOW)


def test_crlf_in_encoded_display_name() -> None:
    msg = parse("enmime/mail/qp-utf8-header-recursed.raw")
    assert msg.from_addr == "jamehi03@jamehi03lx.noa.com"
    assert msg.from_name is not None and "\n" not in msg.from_name


def test_outlook_msg_file_is_not_mail() -> None:
    msg = parse("spamscope-mail-parser/mail_outlook_1")
    assert msg.text == ""
    assert [a.content_type for a in msg.attachments] == ["application/vnd.ms-outlook"]


def test_japanese_bounce_is_a_robot() -> None:
    msg = parse("jpmobile/rails-mobile_mailer/bounced-jp.eml")
    assert {"mailer_daemon", "multipart_report"} <= set(robot_reasons(msg, WINDOW))


def test_sisimai_bounces_are_mostly_robots() -> None:
    """Sisimai's set is bounces and auto-replies; the contract's rules catch nearly all.

    The rest are bounces dressed as ordinary mail (AWS notifications, ARF reports, Apple
    vacation replies with vendor headers only), which the contract does not name.
    """
    root = corpus_root() / "sisimai-set-of-emails" / "maildir"
    if not root.is_dir():
        pytest.skip("sisimai set not in this corpus copy")
    files = [p for p in corpus_files(root) if p.parent.name != "not"]
    missed = [p for p in files if not robot_reasons(parse_message(p.read_bytes()), WINDOW)]
    assert len(missed) <= len(files) // 20, [str(p.relative_to(root)) for p in missed]
