"""Whether an email body clearly states a request (開示等の求め), and which.

A mail opens a case when it carries a form or says, in its own words, that the sender
requests something: 開示を請求します, 利用停止をお願いします, "please delete my data".
Saying the words is not enough; the sentence has to ask for the thing. So the body is read
sentence by sentence, each mention of a request type is paired with what follows it (or,
in English, with what precedes it), and counted only when that is a request:

* quoted text (``>`` lines, "-----Original Message-----", "… wrote:", "…様からのメッセージ")
  and the signature are not the sender's words today, and mail disclaimers ("if you received
  this in error, please delete it") are not requests;
* negations (開示は不要です, 開示ではなく…, "do not delete") cancel the mention;
* a question about *how* to request (開示請求の方法を教えてください, 開示請求はできますか,
  "how do I request disclosure?") is not a request: the person has not asked for the
  thing yet, and a general inquiry is left to staff rather than answered by the robot.
  A polite request in question form (開示していただけますか, "could you delete my data?")
  is a request.
* past tense (先日開示を請求しましたが…) reports an earlier request, not a new one, and a
  condition (開示を請求する場合は…) is not a request;
* opting out of a newsletter (配信停止) is a customer-service matter, not 利用停止等 under
  the APPI; asking to delete or erase one's data (アカウントの情報を削除してください) is 消去,
  counted as suspend (削除 inside 訂正・追加・削除 stays correct);
* forwarded messages are cut like quotes: what someone else wrote is not this sender's
  request.

Agents and names are best effort: 委任を受けた / 代理人として → voluntary, 親権者 →
minor_legal_rep, 成年後見人 → adult_guardian, a lawyer or judicial scrivener writing as
such → professional; the sender is the agent, and the principal is whoever the mail says
the sender acts for.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.models import RequestFacts
from parsers.request_form import checked_request_types, compact_spaces, normalize_text

__all__ = ["facts_from_body", "own_text", "stated_request_types", "written_language"]

MAX_BODY_CHARS = 100_000  # a request is stated near the top; this bounds the work on huge mails

# --------------------------------------------------------------------------- quotes, signatures

_QUOTE_HEADER_RE = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|forwarded message|元のメッセージ|転送(?:された)?メッセージ)\s*-{2,}"
    r"|.*\bwrote:\s*$|.*(?:様|さん)?からのメッセージ\s*:?\s*$|.*書きました\s*[:：]?\s*$"
    r"|.*のメッセージ\s*:\s*$|_{8,}\s*$|.*\d{4}.*<[^<>\s]+@[^<>\s]+>\s*:\s*$)",
    re.IGNORECASE,
)
_OUTLOOK_FROM_RE = re.compile(r"^\s*(?:from|差出人|送信者)\s*:", re.IGNORECASE)
_OUTLOOK_NEXT_RE = re.compile(r"^\s*(?:sent|date|to|subject|cc|送信日時|日付|日時|宛先|件名)\s*:", re.IGNORECASE)
_SEPARATOR_RE = re.compile(r"^\s*(?:--\s*|[-‐―—─━=_~〜*・.]{4,}\s*)$")
_DISCLAIMER_RE = re.compile(
    r"in error|intended recipient|confidential|privileged|誤って(?:送|配信|届|受信)|誤送信|心当たりの?ない|機密|守秘",
    re.IGNORECASE,
)

# --------------------------------------------------------------------------- Japanese

_JA_MENTIONS: tuple[tuple[str, str], ...] = (
    (
        "disclose_third_party_records",
        r"第三者(?:へ|に|から|と)?の?(?:提供|共有)(?:時|に係る|に関する|した)?(?:・?受領時?)?の?(?:記録|履歴)"
        r"(?:の|を)?(?:開示|閲覧|提示|送付)?|提供記録(?:の|を)?(?:開示)?|受領記録(?:の|を)?(?:開示)?",
    ),
    (
        "stop_third_party",
        r"第三者(?:へ|に|と)?の?(?:提供|共有|開示|販売|譲渡|移転)(?:する)?(?:こと|の)?(?:を|は|の)?"
        r"(?:停止|中止|止め|やめ|しないで|しないよう|せず|禁止|差し?止め)|第三者提供停止",
    ),
    ("notify_purpose", r"利用目的(?:の|を|について)?(?:通知|開示|教え|お知らせ|知らせ|説明|明示|ご?回答)?"),
    (
        "suspend",
        r"(?:利用|使用|取り?扱い|処理)(?:の|を)?(?:停止|中止|止め|やめ)|(?:利用|使用)(?:しないで|しないよう)"
        r"|利用停止|消去|(?:個人情報|データ|情報|登録)(?:を)?(?:すべて|全て|全部|完全に)?消し",
    ),
    (
        "correct",
        r"(?:内容の)?訂正(?:[・、,]|又は|または|及び|および|や)*(?:追加)?(?:[・、,]|又は|または|及び|および|や)*(?:削除)?",
    ),
    ("suspend", r"削除"),
    (
        "disclose",
        r"開示(?:等)?|(?:私|わたし|自分)の(?:個人情報|個人データ|データ|情報)(?:の内容)?を(?:すべて|全て)?"
        r"(?:教え|見せ|送っ|提示し)",
    ),
)
_JA_MENTION_RE = re.compile("|".join(f"(?P<j{i}>{p})" for i, (_, p) in enumerate(_JA_MENTIONS)))
_JA_JOIN_RE = re.compile(
    r"^(?:の|と|、|,|・|及び|および|並びに|ならびに|や|又は|または|か|も|/|\s|等|など|そして|また)*$"
)
_JA_VERB_RE = re.compile(
    r"(?:請求|申請|申し?込み|依頼|要求|要望)(?:を)?(?:し(?:ます|たい|たく)|いたし(?:ます|たく)|致し(?:ます|たく)"
    r"|申し上げ|させて|する次第|を?行い)"
    r"|(?:請求|申請)(?:です|となります|になります|でございます|いたす|する(?:[。.!！]|$))"
    r"|お願い(?:します|いたします|致します|申し上げ|したく|したい|できますか|できますでしょうか|できませんか"
    r"|いたしたく|致したく|できれば|です)"
    r"|(?:求め|要求し|要望し|希望し|申請し|依頼し|申し出|申し立て|申立て)(?:ます|いたします|致します|たい|たく|る次第)"
    r"|求める(?:[。.!！]|$|ものです)|申し?込み(?:ます|たい|たく)"
    r"|ください|下さい|いただきたい|頂きたい|いただきたく|頂きたく|いただけますか|頂けますか|いただけませんか"
    r"|頂けませんか|いただけないでしょうか|いただけますでしょうか|いただければ|頂ければ|ほしい|欲しい|もらえますか"
    r"|もらえませんか|もらいたい|くれませんか|願います|を希望"
)
_JA_NEG_RE = re.compile(
    r"不要|必要(?:は)?(?:ありません|ない|ございません)|いりません|要りません|結構です|しないで|しません|せず"
    r"|ではなく|ではありません|ではございません|じゃな|求めません|求めていません|希望しません|望みません|予定は"
    r"|つもりは|取り?下げ|撤回|キャンセル|中止します|やめます|止めます|しなくて|控え"
    # an earlier request reported, not a new one: 「先日開示を請求しましたが」
    r"|(?:請求|お願い|依頼|申請|申し込み|申込)(?:を)?(?:しました|いたしました|致しました|しておりました|していました)"
    r"|求めました|済み|済です"
    # a condition is not a request: 「開示を請求する場合は」
    r"|場合|際は|際に|ときは|時は|のであれば|ならば|としたら|とすれば"
)
_JA_ABOUT_RE = re.compile(r"について|に関して|に関する|に関わる|の件")
_JA_HOWTO_RE = re.compile(
    r"(?:方法|手続き?|手順|やり方|仕方|流れ|必要な?書類|書式|様式|用紙|フォーム|請求書|申請書|窓口|宛先|送付先)"
    r"(?:は|を|が|について|に関して|など|等)?(?:教え|知りたい|知らせ|ご?教示|ご?案内|わかり|分かり|わから|分から"
    r"|何|どう|どこ|どれ|ありますか|あるでしょうか|でしょうか|送って|送付して|お送り|いただけ|頂け|ダウンロード|入手)"
    r"|どう(?:すれば|したら|やって|すると)|どのように|どのような(?:手続|方法|書類)|何を(?:送れ|用意|準備|提出)"
    r"|どこ(?:に|へ|から)"
    r"|(?:請求|申請|申し込み|申込み?|依頼)(?:を)?(?:する)?(?:こと)?(?:は|が|も)?(?:でき|可能)"
    r"|(?:について|に関して|に関する|の件で)(?:の)?(?:質問|問い合わせ|問合せ|お問い合わせ|相談|確認|教え)"
    r"|には(?:どう|何|どのよう)"
)

# --------------------------------------------------------------------------- English

_EN_3P = r"third[- ]?part(?:y|ies)"
_EN_DATA = r"(?:personal\s+)?(?:data|information|details|account|records?|info)"
_EN_WHOSE = r"(?:my|the|his|her|their|our|all)"
_EN_MENTIONS: tuple[tuple[str, str], ...] = (
    (
        "disclose_third_party_records",
        rf"records? (?:of|on|regarding|about) (?:the |any )?(?:provision|transfer|sharing|disclosure|provid\w*)s? "
        rf"(?:of [\w ]{{0,40}}?)?(?:to|with|from) {_EN_3P}"
        rf"|{_EN_3P} (?:provision |transfer |sharing |disclosure )?records?",
    ),
    (
        "stop_third_party",
        rf"(?:stop|cease|halt|discontinue|end|refrain from|opt out of)\s+(?:\w+\s+){{0,3}}?(?:shar\w*|provi\w*"
        rf"|transfer\w*|disclos\w*|sell\w*|sale|giv\w*)\s+(?:\w+\s+){{0,6}}?(?:to|with)\s+(?:any\s+|other\s+)?{_EN_3P}"
        rf"|(?:do not|don't|never)\s+(?:share|provide|sell|transfer|disclose|give)\s+(?:\w+\s+){{0,6}}?(?:to|with)\s+"
        rf"(?:any\s+)?{_EN_3P}",
    ),
    (
        "notify_purpose",
        r"purposes? (?:of|for) (?:the )?(?:use|using|processing|utili[sz]ation|collect\w*)"
        r"|purposes? for which (?:you|your company|the company) (?:use|uses|are using|process|hold|collect)"
        r"|how (?:you|your company) (?:use|uses|are using|process|processes)|why you (?:hold|use|process|collect)",
    ),
    (
        "suspend",
        rf"(?:stop|cease|discontinue|suspend|halt|end)\s+(?:the\s+)?(?:using|use of|processing|utili[sz]\w*)"
        rf"|suspension of (?:the )?(?:use|processing)"
        rf"|(?:delete|erase|remove|destroy|purge|wipe)\s+(?:all\s+)?(?:of\s+)?{_EN_WHOSE}\s+{_EN_DATA}"
        rf"|(?:deletion|erasure|removal|destruction) of (?:all )?(?:of )?{_EN_WHOSE} {_EN_DATA}"
        r"|right to (?:be forgotten|erasure)|\berasure\b",
    ),
    (
        "correct",
        rf"\bcorrect(?:ion)?s? (?:of |to )?{_EN_WHOSE}|\brectif\w*|\bamend\w* {_EN_WHOSE}"
        rf"|\bupdate {_EN_WHOSE} (?:personal )?(?:data|information|details|address|phone|e-?mail|name)",
    ),
    (
        "disclose",
        rf"\bdisclos(?:e|ure)\b|copy of (?:all )?(?:the |my )?{_EN_DATA}"
        rf"|access (?:to )?(?:all )?(?:of )?{_EN_WHOSE} {_EN_DATA}"
        r"|(?:what|which) (?:personal )?(?:data|information) you (?:hold|have|keep|store|process)"
        r"|subject access request|\bdsar\b",
    ),
)
_EN_MENTION_RE = re.compile("|".join(f"(?P<e{i}>{p})" for i, (_, p) in enumerate(_EN_MENTIONS)))
_EN_ASK_RE = re.compile(
    r"\b(?:i|we)\s+(?:hereby\s+|formally\s+|would\s+like\s+to\s+|'d\s+like\s+to\s+|want\s+to\s+|wish\s+to\s+)?"
    r"(?:request|demand|ask|require)|\b(?:i|we) (?:would|'d) like\b|\b(?:i|we) (?:want|wish|need)\b|\bplease\b"
    r"|\bkindly\b|\b(?:could|can|would|will) you\b|\brequest(?:ing)? (?:that|for|the|a|to|you)\b"
    r"|\b(?:i am|i'm) (?:writing to |hereby )?(?:request|ask)\w*|\bexercis\w+ my right"
    r"|\b(?:and|to|hereby|formally) (?:request|ask for|demand)\b|\bask(?:ing)? you to\b"
)
_EN_NEG_RE = re.compile(
    r"\b(?:do not|don't|dont|does not|doesn't|no need|not necessary|not needed|not required|no longer need"
    r"|not (?:requesting|asking)|never mind|withdraw\w*|cancel\w*|instead of|rather than)\b|\bnot\s*$"
)
_EN_HOWTO_RE = re.compile(
    r"\bhow (?:do|can|should|would|to|may|does)\b|\bwhat (?:is|are) the (?:procedure|process|steps|requirements"
    r"|documents?|forms?)\b|\bwhat do i need\b|\bwhich documents\b|\bis it possible to\b|\bcan i\b|\bam i able to\b"
    r"|\b(?:send|give) me (?:the|a|your) (?:request )?form\b|\bwhere (?:do|can|should) i\b|\bquestions? about\b"
)

# --------------------------------------------------------------------------- units

_BULLET_RE = re.compile(r"^\s*(?:[・･\-*•●■◆○□☐☑✓]|\d{1,2}[.)、]|\(\d{1,2}\))\s*")
_KEYVAL_RE = re.compile(
    r"^\s*(?:ご?請求(?:の種類|の内容|内容|事項)|請求|request(?: type)?|type of request)\s*:\s*(?P<value>.+)$",
    re.IGNORECASE,
)
_EMPTY_BOXES = frozenset({"□", "☐", "○", "〇"})
_BOXES_RE = re.compile(r"[●■☑☒✓✔◉◎□☐○〇]|\[[ xX✓]?\]|\(\s?\)")  # a checklist pasted from a form
_ABBREVIATION_RE = re.compile(r"\b(?:Mr|Ms|Mrs|Dr|Prof|St|No|Co|Inc|Ltd|e\.g|i\.e|etc)\.", re.IGNORECASE)
_LIST_INTRO_RE = re.compile(r"以下|下記|次の|following|below|[:：]\s*$", re.IGNORECASE)


_ASKED, _NEGATED, _SILENT = "asked", "negated", "silent"  # what a clause does with a mention


@dataclass(frozen=True)
class _Unit:
    """A sentence, bullet or key: value line of the sender's own text."""

    text: str
    bullet: str | None = None  # the bullet glyph of a list item: ・, -, 1. … or a box □ ■
    value: str | None = None  # for "請求の種類: 開示"


# =========================================================================== API


def facts_from_body(text: str, subject: str = "") -> RequestFacts:
    """The request a mail body states (types, agent, names); empty types when it states none."""
    own = own_text(text)
    main, signature = _split_signature(own)
    verdicts = _verdicts(_units(main))
    types = {code for code, verdict in verdicts if verdict == _ASKED}
    negated = {code for code, verdict in verdicts if verdict == _NEGATED}
    if not types:
        types |= checked_request_types(main)
    types |= _subject_types(subject) - negated
    agent_type, agent_present = _agent(own)
    sender = _sender_name(main, signature)
    return RequestFacts(
        request_types=frozenset(types),
        requester_name=_principal_name(main) if agent_present else sender,
        requester_email=None if agent_present else _labelled_email(own),
        requester_phone=None if agent_present else _labelled_phone(own),
        agent_present=agent_present,
        agent_type=agent_type,
        agent_name=sender if agent_present else None,
        disclosure_method=_method(main) if types else None,
        source="body",
        lang=_language(main, subject),
    )


def stated_request_types(text: str) -> frozenset[str]:
    """The request types a free text asks for (also used for forms written as letters)."""
    return frozenset(code for code, verdict in _verdicts(_units(normalize_text(text))) if verdict == _ASKED)


_JA_CHAR_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")


def written_language(text: str, subject: str = "") -> str:
    """"en" when the sender wrote in English, else "ja": the language replies are written in.

    Foreign residents write in English and attach a 在留カード; a Japanese signature, company
    name or quoted Japanese text under an English mail does not make it Japanese, so only
    the sender's own words above the signature count, and English must clearly dominate.
    """
    main, _ = _split_signature(own_text(text))
    return _language(main, subject)


def _language(main: str, subject: str) -> str:
    sample = f"{subject}\n{main}"
    ja = len(_JA_CHAR_RE.findall(sample))
    words = len(_LATIN_WORD_RE.findall(sample))
    return "en" if words >= 8 and ja * 2 < words else "ja"


def own_text(text: str) -> str:
    """The sender's own words: the text above the first quote header, without ``>`` lines."""
    lines = normalize_text(text[:MAX_BODY_CHARS]).split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if len(line) < 500 and (_QUOTE_HEADER_RE.match(line) or _outlook_header(lines, i)):
            if kept and line.strip() and re.match(r"^\s*On\b", kept[-1]) and "wrote" in line.lower():
                kept.pop()
            break
        if not line.lstrip().startswith((">", "|")):
            kept.append(line)
    return "\n".join(kept)


def _outlook_header(lines: Sequence[str], i: int) -> bool:
    """An Outlook-style quote header: From: followed by Sent:/To:/Subject: lines."""
    if not _OUTLOOK_FROM_RE.match(lines[i]):
        return False
    return any(_OUTLOOK_NEXT_RE.match(ln) for ln in lines[i + 1 : i + 5])


def _split_signature(text: str) -> tuple[str, str]:
    """Body and signature, split at the last separator line with a short block below it."""
    lines = text.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if _SEPARATOR_RE.match(lines[i]):
            below = [ln for ln in lines[i + 1 :] if ln.strip()]
            if len(below) <= 12:
                return "\n".join(lines[:i]), "\n".join(lines[i + 1 :])
            break
    return text, ""


# --------------------------------------------------------------------------- units


def _units(text: str) -> list[_Unit]:
    """Sentences of paragraphs (hard-wrapped lines rejoined), bullets and key: value lines."""
    units: list[_Unit] = []
    para: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        keyval = _KEYVAL_RE.match(line)
        if not line or keyval or _BULLET_RE.match(line):
            units.extend(_sentences(para))
            para = []
            if keyval:
                units.append(_Unit(line, value=keyval.group("value")))
            elif line:
                glyph = _BULLET_RE.match(line)
                units.append(_Unit(_BULLET_RE.sub("", line), bullet=glyph.group(0).strip() if glyph else ""))
            continue
        para.append(line)
    units.extend(_sentences(para))
    return [u for u in units if not _DISCLAIMER_RE.search(u.text)]


def _sentences(lines: Sequence[str]) -> list[_Unit]:
    joined = ""
    for line in lines:
        glue = "" if joined and not joined[-1].isascii() and not line[0].isascii() else " "
        joined = f"{joined}{glue}{line}" if joined else line
    joined = _ABBREVIATION_RE.sub(lambda m: m.group(0)[:-1], joined)
    parts = re.split(r"(?<=[。！？!?])|(?<=[.])\s+", joined)
    return [_Unit(p.strip()) for p in parts if p.strip()]


def _verdicts(units: Sequence[_Unit]) -> list[tuple[str, str]]:
    """(request type, verdict) for every mention; a bullet list inherits its intro's request."""
    out: list[tuple[str, str]] = []
    list_open = False
    for unit in units:
        if unit.value is not None:
            ticked = _BOXES_RE.search(unit.value)
            codes = checked_request_types(unit.text) if ticked else _mentioned(unit.value)
            out.extend((code, _ASKED) for code in codes)
            continue
        if unit.bullet is not None and list_open:
            verdict = _NEGATED if _negated_bullet(unit.text) else _ASKED
            if unit.bullet in _EMPTY_BOXES:
                verdict = _SILENT  # an unticked box of a pasted checklist
            out.extend((code, verdict) for code in _mentioned(unit.text))
            continue
        found = _ja_verdicts(unit.text) + _en_verdicts(unit.text)
        out.extend(found)
        list_open = (not found and _is_generic_request(unit.text)) or (list_open and unit.bullet is not None)
    return out


def _mentioned(text: str) -> list[str]:
    codes = [
        _JA_MENTIONS[int(m.lastgroup[1:])][0] for m in _JA_MENTION_RE.finditer(compact_spaces(text)) if m.lastgroup
    ]
    codes += [_EN_MENTIONS[int(m.lastgroup[1:])][0] for m in _EN_MENTION_RE.finditer(text.lower()) if m.lastgroup]
    return codes


def _negated_bullet(text: str) -> bool:
    return bool(_JA_NEG_RE.search(compact_spaces(text)) or _EN_NEG_RE.search(text.lower()))


def _is_generic_request(text: str) -> bool:
    """ "下記のとおり請求いたします：" — a request whose types follow as a list."""
    compact = compact_spaces(text)
    return bool(_LIST_INTRO_RE.search(compact) and (_JA_VERB_RE.search(compact) or _EN_ASK_RE.search(text.lower())))


# --------------------------------------------------------------------------- Japanese sentences


def _ja_verdicts(sentence: str) -> list[tuple[str, str]]:
    """Each mention with what its clause does with it: asks, negates, or only talks about it.

    Mentions joined by 及び / と / 、 share the words after the last one; a clause with
    neither a request nor a negation takes the verdict of the clause after it
    (「第三者提供記録の開示と、保有個人データの開示を請求します」). A clause that is about the
    request (「開示請求について、よろしくお願いします」) does not ask for it.
    """
    text = compact_spaces(sentence)
    if _JA_HOWTO_RE.search(text):
        return []
    verdicts: list[tuple[str, str]] = []
    following = _SILENT
    for codes, tail in reversed(_ja_groups(text)):
        if _JA_NEG_RE.search(tail):
            verdict = _NEGATED
        elif _JA_ABOUT_RE.search(tail):
            verdict = _SILENT
        elif _JA_VERB_RE.search(tail):
            verdict = _ASKED
        else:
            verdict = following
        following = verdict
        verdicts.extend((code, verdict) for code in codes)
    return verdicts


def _ja_groups(text: str) -> list[tuple[list[str], str]]:
    """Runs of joined mentions, each with the text up to the next run."""
    matches = [m for m in _JA_MENTION_RE.finditer(text) if m.lastgroup]
    groups: list[tuple[list[str], int, int]] = []  # codes, end of last mention, start of run
    for m in matches:
        code = _JA_MENTIONS[int(m.lastgroup[1:])][0]  # type: ignore[index]
        if groups and _JA_JOIN_RE.match(text[groups[-1][1] : m.start()]):
            groups[-1][0].append(code)
            groups[-1] = (groups[-1][0], m.end(), groups[-1][2])
        else:
            groups.append(([code], m.end(), m.start()))
    out = []
    for i, (codes, end, _) in enumerate(groups):
        nxt = groups[i + 1][2] if i + 1 < len(groups) else len(text)
        out.append((codes, text[end:nxt]))
    return out


# --------------------------------------------------------------------------- English sentences


def _en_verdicts(sentence: str) -> list[tuple[str, str]]:
    """English puts the request before its object: "please delete my data", "I request disclosure"."""
    text = " ".join(sentence.lower().split())
    if not text.isascii() and not re.search(r"[a-z]{3}", text):
        return []
    if _EN_HOWTO_RE.search(text):
        return []
    asked = bool(_EN_ASK_RE.search(text))
    out: list[tuple[str, str]] = []
    previous_end = 0
    for m in _EN_MENTION_RE.finditer(text):
        if not m.lastgroup:
            continue
        before = text[max(previous_end, m.start() - 40) : m.start()]
        after = text[m.end() : m.end() + 30]
        negated = bool(_EN_NEG_RE.search(before) or re.match(r"^\s*(?:is|are)?\s*(?:not|unnecessary)\b", after))
        verdict = _NEGATED if negated else _ASKED if asked else _SILENT
        out.append((_EN_MENTIONS[int(m.lastgroup[1:])][0], verdict))
        previous_end = m.end()
    return out


# --------------------------------------------------------------------------- subject


_SUBJECT_REPLY_RE = re.compile(r"^\s*(?:re|fw|fwd|aw|返信|転送)\s*[:：]", re.IGNORECASE)
_SUBJECT_ASK_RE = re.compile(r"請求|お願い|依頼|申請|申し込み|申込|求め|希望|request", re.IGNORECASE)
_SUBJECT_ABOUT_RE = re.compile(
    r"について|に関して|に関する|方法|手続|質問|問い?合わ?せ|相談|確認|\?|about|question|how", re.IGNORECASE
)


def _subject_types(subject: str) -> set[str]:
    """A subject that is itself a request (「保有個人データの開示のお願い」, "Request for erasure").

    Replies and forwards carry someone else's subject, and 「…について」 announces a topic,
    not a request, so neither counts.
    """
    text = normalize_text(subject or "")
    if not text.strip() or _SUBJECT_REPLY_RE.match(text) or _SUBJECT_ABOUT_RE.search(text):
        return set()
    if not _SUBJECT_ASK_RE.search(text) or _negated_bullet(text):
        return set()
    return set(_mentioned(text))


# --------------------------------------------------------------------------- agents


_AGENT_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "adult_guardian",
        re.compile(
            r"(?<!未)成年後見人|成年被後見人|(?<!未成年)後見人(?:として|です|の|を)|保佐人|補助人|adult guardian"
            r"|court[- ]appointed guardian|guardian of (?:an |the )?adult",
            re.IGNORECASE,
        ),
    ),
    (
        "minor_legal_rep",
        re.compile(
            r"親権者|未成年後見人|未成年(?:者)?の?(?:子|息子|娘)|法定代理人.{0,20}(?:子|息子|娘|未成年|歳)"
            r"|(?:子|息子|娘|未成年|長男|長女|次男|次女).{0,20}法定代理人|parent(?:al)? (?:of|authority)"
            r"|(?:my|our) (?:minor )?(?:son|daughter|child)(?: \(\d+\))?,? (?:who is|aged|is) (?:a minor|under|\d+)"
            r"|legal (?:guardian|representative) of (?:my|our|a) (?:son|daughter|child|minor)",
            re.IGNORECASE,
        ),
    ),
    (
        "professional",
        re.compile(
            r"(?:弁護士|司法書士|行政書士)(?:の[^\s、。]{1,10}(?:と申します|です)|として|をしております|をしています"
            r"|である|です)|代理人弁護士|(?:法律|弁護士|司法書士|行政書士)(?:事務所|法人)"
            r"|attorney at law|law (?:firm|office)|solicitors?\b|(?:i am|as) (?:a |the |his |her |their )?"
            r"(?:lawyer|attorney|counsel|legal counsel)|on behalf of (?:my|our) client",
            re.IGNORECASE,
        ),
    ),
    (
        "voluntary",
        re.compile(
            r"委任を受け|委任され|委任により|委任による|委任状|任意代理人|power of attorney|authori[sz]ed by"
            r"|mandated by",
            re.IGNORECASE,
        ),
    ),
)
# Acting for someone without saying on what authority: an agent of unstated type, whom
# the policy asks for the relationship (agent_authority) instead of guessing 委任.
_GENERIC_AGENT_RE = re.compile(
    r"代理人として|代理で|の代理人|に代わって|の代わりに|代理申請|代理請求|代理人です|代理人を務め|on behalf of"
    r"|as (?:an? |the |his |her |their )?(?:agent|representative|proxy)|authori[sz]ed (?:agent|representative)"
    r"|i represent\b",
    re.IGNORECASE,
)
_NOT_AGENT_RE = re.compile(r"代理人(?:では|じゃ)|本人(?:です|が請求|として請求)|not (?:an |the )?agent", re.IGNORECASE)
_LEGAL_REP_RE = re.compile(r"法定代理人|legal representative", re.IGNORECASE)


def _agent(text: str) -> tuple[str | None, bool]:
    """The agent type the sender claims, most specific first, and whether they claim one."""
    compact = compact_spaces(text)
    if _NOT_AGENT_RE.search(compact) and not any(p.search(compact) for _, p in _AGENT_CUES[:3]):
        return None, False
    for code, pattern in _AGENT_CUES:
        if pattern.search(compact):
            return code, True
    if _LEGAL_REP_RE.search(compact) or _GENERIC_AGENT_RE.search(compact):
        return None, True
    return None, False


# --------------------------------------------------------------------------- names

_NAME_TAIL_RE = re.compile(
    r"((?:[\u4e00-\u9fff々〆ヶァ-ヴー]+ ?)?[\u4e00-\u9fff々〆ヶァ-ヴー]+[ぁ-ゖ]{0,3}|[A-Za-z][A-Za-z.'\- ]*[A-Za-z])$"
)
_NOT_NAMES = frozenset(
    {
        "私",
        "わたし",
        "わたくし",
        "僕",
        "本人",
        "ご本人",
        "当方",
        "弊社",
        "御社",
        "貴社",
        "母",
        "父",
        "妻",
        "夫",
        "息子",
        "娘",
        "子",
        "子ども",
        "子供",
        "祖母",
        "祖父",
        "兄",
        "姉",
        "弟",
        "妹",
        "家族",
        "依頼者",
        "依頼人",
        "以上",
        "敬具",
        "草々",
        "拝啓",
        "追伸",
        "記",
        "署名",
        "担当",
        "担当者",
        "長男",
        "長女",
        "次男",
        "次女",
        "親",
        "両親",
        "主人",
        "家内",
        "知人",
        "友人",
        "会員",
        "顧客",
        "お客様",
        "利用者",
    }
)
_SIG_NAME_RE = re.compile(
    r"^(?:[\u4e00-\u9fff々〆ヶ]{1,4} ?[\u4e00-\u9fff々〆ヶぁ-ゖァ-ヴー]{1,6}|[A-Z][a-z]+(?: [A-Z][a-z]+){1,2})$"
)


def _trailing_name(chunk: str) -> str | None:
    """The name at the end of "…受けた藤井" / "東京都在住の青木陽子": the last run of name characters."""
    chunk = chunk.strip()
    chunk = re.split(r"[、。,:「」()\n]", chunk)[-1].strip()
    match = _NAME_TAIL_RE.search(chunk)
    if not match:
        return None
    name = " ".join(match.group(1).split())
    name = re.sub(r"^(?:私|わたくし|わたし|僕)", "", name).strip()
    if not name or name in _NOT_NAMES or len(name) > 24:
        return None
    return name


def _sender_name(main: str, signature: str) -> str | None:
    """The writer's name: 「…と申します」 / "My name is …", completed from the signature."""
    compact = "\n".join(compact_spaces(line) for line in main.split("\n"))  # a name never spans lines
    said = [_trailing_name(m.group(1)) for m in re.finditer(r"([^。\n]{1,40}?)と申します", compact)]
    said += [
        _trailing_name(m.group(1))
        for m in re.finditer(r"(?:私|わたくし|わたし)(?:は|、)([^。、\n]{1,20}?)(?:です|でございます)", compact)
    ]
    english = re.search(r"\b(?i:my name is) ([A-Z][a-z]+(?: [A-Z][a-z]+){0,3})", main)
    if english:
        said.append(english.group(1))
    first = next((n for n in said if n), None)
    signed = _signature_name(signature)
    if signed and (first is None or signed.replace(" ", "").startswith(first.replace(" ", ""))):
        return signed
    return first


def _signature_name(signature: str) -> str | None:
    for line in signature.split("\n"):
        text = " ".join(line.split())
        if text:
            return text if _SIG_NAME_RE.match(text) and text not in _NOT_NAMES else None
    return None


_PRINCIPAL_RES: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?:本人|ご本人|請求者|本人氏名)(?:氏名)?:([^\n]+)"),
    re.compile(r"([^。\n]{1,30}?)(?:さん|様|氏|殿)?(?:から|より)(?:の)?(?:委任|依頼)"),
    re.compile(r"([^。\n]{1,30}?)(?:さん|様|氏|殿)?の(?:法定)?(?:代理人|代理|成年後見人|後見人|親権者)"),
    re.compile(
        r"([^。\n]{1,30}?)(?:さん|様|氏|殿)?(?:\([^)]*\))?の(?:母|父|母親|父親|親|保護者|妻|夫|子|息子|娘)(?:で|です|として)"
    ),
)


def _principal_name(main: str) -> str | None:
    """Whom an agent acts for: 「遠藤勝さんから委任を受けた」, 「父・遠藤勝の代理人」, "on behalf of X"."""
    compact = compact_spaces(main)
    for pattern in _PRINCIPAL_RES:
        for m in pattern.finditer(compact):
            name = _trailing_name(m.group(1))
            if name:
                return name
    english = re.search(
        r"(?i:on behalf of (?:my \w+,? )?(?:(?:mr|ms|mrs|dr)\.? )?)([A-Z][a-z]+(?: [A-Z][a-z]+){0,3})", main
    )
    return english.group(1) if english else None


# --------------------------------------------------------------------------- contact, method


def _labelled_email(text: str) -> str | None:
    m = re.search(
        r"(?:メール|e-?mail|mail)(?:アドレス| address)?\s*:\s*([\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)+)", text, re.IGNORECASE
    )
    return m.group(1) if m else None


def _labelled_phone(text: str) -> str | None:
    m = re.search(r"(?:電話(?:番号)?|tel|phone|携帯)\s*:?\s*(\+?\d[\d\- ()]{7,}\d)", text, re.IGNORECASE)
    return re.sub(r"\s+", "", m.group(1)) if m else None


_METHOD_CUES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "paper",
        re.compile(
            r"(?:書面|郵送|紙|郵便)(?:で|にて|による|での)|by (?:post|mail|letter)\b|in writing|on paper"
            r"|(?:paper|hard) copy",
            re.IGNORECASE,
        ),
    ),
    (
        "electronic",
        re.compile(
            r"(?:電子メール|メール|電磁的記録|電磁的方法|電子データ|電子ファイル|PDF|データ)(?:で|にて|による|での)"
            r"(?:の)?(?:開示|回答|送付|交付|受け取|いただ|頂|お願い|希望|ご?連絡|提供|通知|送っ|お送り)"
            r"|by e-?mail|electronically|in electronic form|as a pdf|by pdf",
            re.IGNORECASE,
        ),
    ),
)


def _method(main: str) -> str | None:
    """How the answer should come, when a sentence about the answer says so."""
    for unit in _units(main):
        compact = compact_spaces(unit.text)
        if not re.search(r"開示|回答|通知|結果|送|disclos|answer|repl|send|receive", compact, re.IGNORECASE):
            continue
        for code, pattern in _METHOD_CUES:
            if pattern.search(compact):
                return code
    return None
