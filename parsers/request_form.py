"""What a request form asks for: request types, the principal, the agent, the method.

Two inputs reach this module. Our own fillable form arrives as AcroForm values, named as
in `config.form_definition`, and is read exactly (`facts_from_fields`). Every other form —
another company's template, a Word file printed to PDF, a scan put through OCR — arrives
as the text a PDF library extracts, one line per printed row (`facts_from_text`).

Text forms differ in everything but their vocabulary, so the reader is built on that:

* each line is split into *marks* (● ■ ☑ ✓ ◉ ◎, a standalone レ, bracketed (○) / [x],
  and the empty □ ☐ ○ ( )) and *items* (phrases naming a request type, an agent type or a
  disclosure method); a mark belongs to the item next to it, before or after depending on
  which way the whole document writes them;
* ○ is ambiguous — the empty box of a ●/○ form, or the circle a requester draws around an
  option — and is decided per document (instructions, filled glyphs, how many options it
  marks);
* lines are grouped into sections by their headers (請求者 / 代理人 / 請求の種類 / 開示の方法 /
  添付書類 …), so that a 氏名 under 代理人 is the agent's and the 添付書類 checklist is
  ignored (document kinds are decided from the documents themselves);
* labelled values (氏名：…, メール …) are cut at the next label on the same line.

Everything here is pure: strings in, `RequestFacts` out.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from bot.models import RequestFacts
from config.form_definition import FIELD_BY_NAME, FIELDS

__all__ = ["checked_request_types", "compact_spaces", "facts_from_fields", "facts_from_text", "normalize_text"]

# --------------------------------------------------------------------------- normalising

_GLYPHS = str.maketrans(
    {
        "〇": "○",
        "◯": "○",
        "⭕": "○",
        "❍": "○",
        "✅": "☑",
        "✔": "✓",
        "√": "✓",
        "⬤": "●",
        "◼": "■",
        "◾": "■",
        "⬛": "■",
        "▣": "■",
        "▢": "□",
        "◻": "□",
        "◽": "□",
        "⬜": "□",
    }
)


def normalize_text(text: str) -> str:
    """NFKC plus one spelling per check glyph.

    PDF producers and OCR engines disagree on full- vs half-width letters, colons and
    brackets, and on which of the many circle and box code points they emit; after this
    the rest of the module only has to know one of each.
    """
    text = unicodedata.normalize("NFKC", text).translate(_GLYPHS)
    return text.replace("\r\n", "\n").replace("\r", "\n")


@functools.lru_cache(maxsize=32)
def compact_spaces(text: str) -> str:
    """`text` without the spaces OCR and letter-spacing put between Japanese characters.

    What `_compact` keeps of the line, found with one regular expression (the body reader
    asks for it a few dozen times a mail, mostly of the same text: hence the cache too).
    """
    return _SPACES.sub(_space_kept, text)


_SPACES = re.compile(r"\s+")


def _space_kept(m: re.Match[str]) -> str:
    """One space between two ASCII characters; nothing elsewhere (as `_compact` decides)."""
    text, start, end = m.string, m.start(), m.end()
    if start == 0 or end == len(text):
        return ""
    return " " if text[start - 1].isascii() and text[end].isascii() else ""


def _compact(line: str) -> tuple[str, list[int]]:
    """The line without spaces between non-ASCII characters, and where each kept char was.

    Letter-spaced labels (請 求 者) and OCR put spaces inside Japanese words; dropping them
    lets one vocabulary match both, while the index map keeps positions in the real line.
    English keeps its (single) spaces.
    """
    following = [""] * (len(line) + 1)  # the next non-space character after each position
    for i in range(len(line) - 1, -1, -1):
        following[i] = following[i + 1] if line[i].isspace() else line[i]
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(line):
        if ch.isspace():
            nxt = following[i + 1]
            prev = out[-1] if out else ""
            if not prev or prev == " " or not nxt or not (prev.isascii() and nxt.isascii()):
                continue
            ch = " "
        out.append(ch)
        where.append(i)
    return "".join(out), where


# --------------------------------------------------------------------------- vocabulary

_EN_3P = r"third[- ]?part(?:y|ies)"
_VOCAB: tuple[tuple[str, str | None, str], ...] = (
    # request types; the records and stop-providing phrases come first so that their
    # 開示 / 提供 is not read as a separate disclose
    (
        "type",
        "disclose_third_party_records",
        r"第三者(?:へ|に|から)?の?提供(?:時|に係る|に関する)?(?:・?受領時?)?の?記録(?:の|を)?(?:開示)?"
        r"|提供記録(?:の|を)?(?:開示)?|受領記録(?:の|を)?(?:開示)?"
        rf"|(?:disclosure of (?:the )?)?(?:records? (?:of|on|regarding) (?:the )?(?:provision|provid\w*|transfer\w*|"
        rf"shar\w*|disclosure)s? (?:of [\w ]{{0,30}}?)?(?:to|with|from) {_EN_3P}|{_EN_3P} (?:provision |transfer "
        r"|sharing |disclosure )?records?)",
    ),
    (
        "type",
        "stop_third_party",
        r"第三者(?:へ|に)?の?(?:提供|開示)(?:の|を)?(?:停止|中止)|第三者提供停止"
        r"|(?:stop\w*|cessation|ceas\w*|discontinu\w*|suspension|halt\w*)(?: of| the){0,2} (?:provi\w+|shar\w+|"
        rf"transfer\w*|disclos\w+|sale|sell\w*)(?: of [\w ]{{0,30}}?)? (?:to|with) {_EN_3P}"
        rf"|{_EN_3P} (?:provision|sharing|transfer) (?:stop\w*|cessation|suspension)",
    ),
    (
        "type",
        "notify_purpose",
        r"利用目的(?:の|を)?(?:通知|開示)?(?:の求め)?"
        r"|(?:notification|notice|notify\w*)(?: of| the){0,2} (?:the )?purposes? of (?:use|utili[sz]ation|processing)"
        r"|purposes? of (?:use|utili[sz]ation|processing)",
    ),
    (
        "type",
        "suspend",
        r"利用(?:の|を)?(?:停止|中止)(?:等)?|消去"
        r"|(?:suspension|cessation|discontinu\w*|stop\w*|ceas\w*) (?:of )?(?:the )?(?:use|using|processing)"
        r"|erasure|erase",
    ),
    ("type", "correct", r"(?:内容の)?訂正|追加|削除|correct\w*|rectif\w*|amend\w*|addition|deletion"),
    ("type", "disclose", r"開示|disclos\w*|access to (?:my |the )?(?:personal )?(?:data|information)"),
    # agent types; the specific 法定代理人 phrases before the bare one
    (
        "agent",
        "minor_legal_rep",
        r"未成年(?:者)?の?(?:法定代理人|後見人)?|法定代理人\(?未成年者?\)?|親権者"
        r"|(?:legal representatives?|parents?|guardians?) of (?:a |the )?minors?|parental authority|parents?|minors?",
    ),
    (
        "agent",
        "adult_guardian",
        r"成年被後見人(?:の法定代理人)?|成年後見人|後見人|保佐人|補助人|法定代理人\(?成年被?後見人\)?"
        r"|adult guardian|guardian of (?:an |the )?adult|(?:legal|court[- ]appointed) guardian|guardian",
    ),
    (
        "agent",
        "voluntary",
        r"任意代理人|本人が委任した代理人|委任(?:による|を受けた|された)?(?:代理人|者)|委任代理人"
        r"|voluntary (?:agent|representative)|authori[sz]ed (?:agent|representative)"
        r"|(?:agent|representative) (?:appointed|authori[sz]ed|entrusted) by|proxy",
    ),
    (
        "agent",
        "professional",
        r"弁護士|司法書士|行政書士|資格者|専門家|専門職|attorney|lawyer|solicitor|judicial scrivener"
        r"|(?:licensed|qualified|legal) professional",
    ),
    ("agent", None, r"法定代理人|代理人|agent|representative"),
    # disclosure methods (only counted in a method section)
    (
        "method",
        "electronic",
        r"電磁的(?:記録|方法)|電子(?:ファイル|データ|メール|媒体|的)?|PDF|CD-?R|DVD|e-?mail|electronic\w*|digital",
    ),
    (
        "method",
        "paper",
        r"書面|郵送|郵便|紙|paper|in writing|written|postal(?: mail)?|post|hard ?copy|printed",
    ),
    ("method", "other", r"窓口|来社|来所|手渡し|閲覧|in person"),
    # words that take a mark but mean nothing here
    ("other", None, r"その他|other"),
    ("neutral", None, r"ご?本人|principal|data subject|myself"),
)
_HIT_RE = re.compile("|".join(f"(?P<v{i}>{pat})" for i, (_, _, pat) in enumerate(_VOCAB)), re.IGNORECASE)

# --------------------------------------------------------------------------- marks

_MARK_RE = re.compile(
    r"(?P<br>[\[(【〔《<]\s*(?P<inner>[xX✓●■○☑☒レvV*◎◉])?\s*[\])】〕》>])"
    r"|(?P<on>[●■☑☒✓◉◎])"
    r"|(?P<off>[□☐])"
    r"|(?<![^\s])(?P<circle>○|[Oo](?=\s+[\u3040-\u9fff]))(?!○)"
    r"|(?<![^\s])(?P<ocr_off>口)(?=\s)"
    r"|(?<![^\s□☐])(?P<tick>レ)(?=$|\s|(?!点)[\u4e00-\u9fff])"
)
_QUOTED_GLYPH_RE = re.compile(r"「[^」]{0,3}」|『[^』]{0,3}』|\"[^\"]{0,3}\"|'[^']{0,3}'")
_INSTRUCTION_RE = re.compile(
    r"ください|下さい|願います|please|tick|check (?:the|one|all|any)|mark (?:the|one|all|any)", re.IGNORECASE
)
_PAREN_INSTRUCTION_RE = re.compile(r"\([^()]*(?:ください|下さい|please|tick|check|mark)[^()]*\)", re.IGNORECASE)
_CIRCLE_IS_BOX_RE = re.compile(r"○.{0,6}(?:●|塗りつぶ|塗り潰|黒く|塗って)")
_CIRCLE_IS_TICK_RE = re.compile(
    r"○\s*(?:で囲|を囲|をつけ|を付け|印を|を記入|をご記入|をして|をお付け)|\bcircle\b", re.IGNORECASE
)

# --------------------------------------------------------------------------- sections

_LEAD_RE = re.compile(r"^[\s\d.,、)(\[\]【】■□◆◇▼▶・*#\-●○]*")
_NOTE_LEAD_RE = re.compile(r"[※＊*\s①-⑳]+")
_SECTIONS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pat, re.IGNORECASE))
    for name, pat in (
        (
            "attach",
            r"^(?:添付|同封|提出書類|必要書類|本人確認(?:書類|資料|の書類)|確認書類|確認資料|証明書類"
            r"|attach\w*|enclos\w*|supporting documents?|identity documents?|documents? (?:attached|enclosed))",
        ),
        ("agent", r"^(?:代理人|代理請求|(?:authori[sz]ed )?(?:agent|representative|proxy)\b)"),
        (
            "principal",
            r"^(?:ご?請求者|請求人|申請者|申請人|申出人|ご?本人|御本人)(?:様)?(?:\([^)]*\))?"
            r"(?:の?(?:氏名|情報|記入欄|欄|について|お名前|名前|住所|連絡先|区分))?"
            r"(?!との|確認|が|以外|限定|の(?:署名|同意|意思))"
            r"|^(?:requester|applicant|principal|data subject)\b",
        ),
        (
            "types",
            r"^(?:ご?請求の(?:種類|内容|区分|項目)|ご?請求内容|請求事項|請求項目|請求区分|求めの(?:種類|内容)"
            r"|開示等の(?:求め|請求)の(?:種類|内容)|請求する(?:内容|事項|項目)"
            r"|type of request|request type|requested action|nature of (?:the )?request|request details)",
        ),
        (
            "method",
            r"^(?:(?:ご?希望する)?(?:開示|交付|回答|通知|受領|受取|受け取り|送付|提供)(?:等)?の?方法|方法"
            r"|(?:method|means|manner) of (?:disclosure|delivery|response)|(?:delivery|disclosure) method)",
        ),
        (
            "free",
            r"^(?:対象となる|対象情報|対象の|請求の理由|理由|訂正等?の内容|内容の詳細|手数料|備考|注意|注記|※"
            r"|fees?\b|reasons?\b|details\b|remarks\b|notes?\b)",
        ),
    )
)
_OPTION_SECTIONS = frozenset({"head", "principal", "filer", "types", "agent", "method"})
# "請求者（代理人による請求の場合は代理人）": the one who files, principal or agent
_FILER_RE = re.compile(
    r"^(?:ご?請求者|請求人|申請者|申請人|申出人|requester|applicant).*(?:代理人|agent|representative)", re.IGNORECASE
)
_PERSON_SECTIONS = frozenset({"head", "principal", "filer", "agent"})
_COMPANY_LINE_RE = re.compile(
    r"御中|宛|あて|提出先|送付先|株式会社|窓口|当社|弊社|貴社|ページ|page|\bto\b|inc\.|ltd", re.IGNORECASE
)

# --------------------------------------------------------------------------- labels


def _spaced(words: Iterable[str]) -> str:
    """Alternation of words that may carry spaces between their characters (氏 名)."""
    return "|".join(r"\s*".join(re.escape(c) for c in w) for w in sorted(words, key=len, reverse=True))


_JA_AGENT = _spaced(["代理人"])
_JA_PRINCIPAL = _spaced(["請求者", "ご請求者", "請求人", "申請者", "申請人", "申出人", "ご本人", "御本人", "本人"])
_JA_CORES: dict[str, list[str]] = {
    "kana": ["フリガナ", "ふりがな", "カナ", "よみがな", "氏名(フリガナ)", "氏名(ふりがな)", "氏名(カナ)"],
    "name": ["氏名", "お名前", "御名前", "名前", "姓名", "フルネーム"],
    "rolename": ["様氏名", "様お名前", "名"],
    "email": ["メールアドレス", "電子メール", "Eメール", "メール"],
    "phone": ["電話番号", "電話", "携帯電話", "携帯番号", "携帯", "TEL", "FAX"],
    "contact": ["連絡先"],
    "address": ["住所", "所在地", "郵便番号"],
    "birth": ["生年月日"],
    "relation": ["との関係", "関係", "続柄", "代理人の種類", "代理人の区分"],
    "misc": ["提出日", "請求日", "記入日", "日付", "性別", "年齢", "署名", "押印"],
}
_EN_CORES: dict[str, str] = {
    "name": r"(?:full |family |given )?name",
    "email": r"(?:e-?)?mail(?: address)?",
    "phone": r"(?:tele)?phone(?: number)?|tel|mobile|fax",
    "contact": r"contact(?: details| information)?",
    "address": r"(?:postal )?address",
    "birth": r"date of birth|birth ?date|dob",
    "relation": r"relationship(?: to (?:the )?(?:principal|data subject|requester))?",
    "misc": r"date|signature",
}
_EN_AGENT = r"agent|representative|proxy"
_EN_PRINCIPAL = r"requester|applicant|principal|data subject"


def _label_pattern() -> re.Pattern[str]:
    """One regex for every label: [role][(…)][の] core, or a bare role followed by a colon."""
    ja_cores = "|".join(f"(?P<ja_{k}>{_spaced(v)})" for k, v in _JA_CORES.items())
    en_cores = "|".join(f"(?P<en_{k}>{v})" for k, v in _EN_CORES.items())
    # an English name label without a role must not end a longer noun ("Company name")
    fn_cores = "|".join(
        f"(?P<fn_{k}>{v})" if k != "name" else f"(?<![A-Za-z]\\s)(?P<fn_{k}>{v})" for k, v in _EN_CORES.items()
    )
    ja = (
        rf"(?:(?P<ja_agent>{_JA_AGENT})|(?P<ja_principal>{_JA_PRINCIPAL}))?\s*(?:\([^)]{{0,12}}\))?\s*(?:の\s*)?"
        rf"(?:{ja_cores})"
    )
    en = rf"(?:(?P<en_agent>{_EN_AGENT})|(?P<en_principal>{_EN_PRINCIPAL}))(?:'s)?\s+(?:{en_cores})"
    fn = (
        rf"(?:{fn_cores})"
        rf"(?:\s+of\s+(?:the\s+)?(?:(?P<fn_agent>{_EN_AGENT})|(?P<fn_principal>{_EN_PRINCIPAL})))?"
    )
    bare = (
        rf"(?:(?P<bare_agent>{_JA_AGENT}|{_EN_AGENT})|(?P<bare_principal>{_JA_PRINCIPAL}|{_EN_PRINCIPAL}))"
        r"(?:\s*\([^)]{0,12}\))?(?=\s*:)"
    )
    note = r"(?:\s*\((?!フリガナ|ふりがな|カナ)[^)]{0,12}\))?"  # 氏名（自署）, Name (print)
    return re.compile(rf"(?<![^\s:)\]|/])(?:{ja}|{en}|{fn}|{bare}){note}(?=\s*:|\s|$)", re.IGNORECASE)


_LABEL_RE = _label_pattern()
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_PHONE_RE = re.compile(r"\+?\d[\d\- ()]{7,}\d")
# letters of names: kana, kanji, hangul, Latin (with accents), and the marks names use
_NAME_OK_RE = re.compile(
    r"^[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uac00-\ud7afA-Za-z\u00c0-\u024f 々〆ヶ・.'\-]{1,40}$"
)
_NAME_LIKE_RE = re.compile(r"^[\u4e00-\u9fff\u3040-\u30ffA-Za-z][\u4e00-\u9fff\u3040-\u30ffA-Za-z .'\-]{0,24}$")
_NOT_A_NAME_RE = re.compile(r"情報|記入|欄|場合|について|form|request|details|information|section|only|if\b", re.I)
_PLACEHOLDERS = frozenset({"", "-", "ー", "なし", "無し", "n/a", "none", "na", "様", "殿"})

# --------------------------------------------------------------------------- form detection

_TITLE_RE = re.compile(
    r"請求書|申請書|申込書|申出書|届出書|請求様式|請求用紙|開示等の求め|request form|application form"
    r"|request for|data subject request|subject access request",
    re.IGNORECASE,
)
_NOT_FORM_RE = re.compile(
    r"委任状|住民票|印鑑登録|証明書|戸籍|旅券|運転免許|被保険者証|在留カード|power of attorney|certificate|passport"
    r"|driver'?s licen[cs]e",
    re.IGNORECASE,
)


# =========================================================================== AcroForm


def facts_from_fields(fields: Mapping[str, str | None]) -> RequestFacts | None:
    """Our own form's AcroForm values, read by the names `config.form_definition` gives them.

    Field names are matched on their last dotted part (pypdf qualifies kids with their
    parent's name); a dict holding fewer than three of our names is someone else's form.
    """
    values = {name.rsplit(".", 1)[-1]: ("" if v is None else str(v)) for name, v in fields.items()}
    if sum(1 for name in values if name in FIELD_BY_NAME) < 3:
        return None
    checked = {f.code for f in FIELDS if f.kind == "checkbox" and f.code and _is_checked(values.get(f.name))}
    section_codes = {f.code: f.section for f in FIELDS if f.code}
    agent_types = [f.code for f in FIELDS if f.section == "agent_type" and f.code in checked]
    methods = [f.code for f in FIELDS if f.section == "method" and f.code in checked]
    agent_name = _clean_value(values.get("agent_name", ""))
    return RequestFacts(
        request_types=frozenset(c for c in checked if section_codes.get(c) == "types"),
        requester_name=_clean_value(values.get("requester_name", "")),
        requester_email=_clean_value(values.get("requester_email", "")),
        requester_phone=_clean_value(values.get("requester_phone", "")),
        agent_present=bool(agent_name or agent_types),
        agent_type=agent_types[0] if agent_types else None,
        agent_name=agent_name,
        disclosure_method=methods[0] if methods else None,
        source="form",
    )


def _is_checked(value: str | None) -> bool:
    """A checkbox is on for any export value but Off: viewers write /Yes, /On, /1 …"""
    return value is not None and value.strip().lower() not in ("", "/off", "off")


def _clean_value(value: str) -> str | None:
    """A typed value, normalised and with runs of spaces collapsed; None when blank."""
    text = " ".join(normalize_text(value).split())
    return text or None


# =========================================================================== text forms


@dataclass(frozen=True)
class _Mark:
    pos: int
    state: str  # "on" | "off" | "circle"


@dataclass(frozen=True)
class _Item:
    start: int
    end: int
    category: str  # type | agent | method | other | neutral
    code: str | None


@dataclass(frozen=True)
class _Label:
    start: int
    end: int
    kind: str  # name | email | phone | contact | relation | kana | address | birth | misc
    role: str | None  # "agent" | "principal" | None (decided by the section)


@dataclass
class _Line:
    text: str  # the line with quoted glyphs and bracketed instructions blanked out
    raw: str
    section: str
    instruction: bool
    header_value: str | None = None  # what follows "請求の種類:" on a header line
    header_rest: str | None = None  # what follows "ご本人" in a table row ("ご本人  青木 陽子")
    marks: list[_Mark] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)
    labels: list[_Label] = field(default_factory=list)


@dataclass
class _Reading:
    """What the lines yield, gathered in document order (first one wins for single values)."""

    types: list[str] = field(default_factory=list)
    agent_types: list[str] = field(default_factory=list)
    agent_marked: bool = False
    methods: list[str] = field(default_factory=list)
    principal_name: str | None = None
    agent_name: str | None = None
    filer_name: str | None = None  # under "請求者（代理人の場合は代理人）": either one
    email: str | None = None
    phone: str | None = None
    filer_email: str | None = None
    filer_phone: str | None = None


def facts_from_text(text: str, *, marks_legible: bool = True) -> RequestFacts | None:
    """A request form of any layout, from its text layer (or OCR); None if it is not one.

    `marks_legible=False` is for OCR text: Tesseract turns a printed box into a glyph
    whether it is ticked or not. On scans and photos of six other companies' layouts,
    trusting those glyphs gave 5 right sets of request types and 1 wrong one (a free
    利用停止 + 第三者提供の停止 read as a 1,000-yen 開示, with a fee notice to match), so
    there request types come only from words (typed answers, sentences) and the requester
    is asked for the rest.
    """
    lines = _read_lines(text)
    if not _looks_like_form(lines):
        return None
    reading = _Reading()
    _read_choices(lines, reading, marks_legible)
    _read_values(lines, reading)
    if not reading.types and not _has_checklist(lines):
        reading.types.extend(_letter_types(lines))
    return RequestFacts(
        request_types=frozenset(reading.types),
        requester_name=reading.principal_name,
        requester_email=reading.email,
        requester_phone=reading.phone,
        agent_present=bool(reading.agent_name or reading.agent_types or reading.agent_marked),
        agent_type=reading.agent_types[0] if reading.agent_types else None,
        agent_name=reading.agent_name,
        disclosure_method=reading.methods[0] if reading.methods else None,
        source="form",
    )


def checked_request_types(text: str) -> frozenset[str]:
    """Request types ticked or typed in a checklist that is not a whole form (pasted into a mail)."""
    reading = _Reading()
    _read_choices(_read_lines(text), reading)
    return frozenset(reading.types)


# --------------------------------------------------------------------------- lines


def _read_lines(text: str) -> list[_Line]:
    """Every line with its section, marks, option items and labels."""
    out: list[_Line] = []
    section = "head"
    for raw in normalize_text(text).split("\n"):
        line = _blank_instructions(raw)
        instruction = bool(_INSTRUCTION_RE.search(line))
        found = None if instruction else _section_header(line)  # 「代理人の場合も…ご記入ください」
        body_start = 0
        parsed = _Line(text=line, raw=raw, section=section, instruction=instruction)
        if found is not None:
            section, body_start = found
            parsed.section = section
            _header_rest(parsed, line[body_start:])
        parsed.labels = _labels(line)
        if not instruction:
            parsed.marks = _marks(line, body_start)
            parsed.items = _items(line, body_start, parsed.marks)
        out.append(parsed)
    return out


def _header_rest(parsed: _Line, rest: str) -> None:
    """Keep what follows a header: a typed answer after a colon, or a table cell after a gap."""
    if rest.lstrip().startswith(":"):
        parsed.header_value = rest.lstrip()[1:].strip()
    elif rest[:1].isspace() and rest.strip() and not _NOT_A_NAME_RE.search(rest):
        parsed.header_rest = rest.strip()


def _blank_instructions(line: str) -> str:
    """The line with quoted glyphs (「○」) and parenthesised instructions blanked out.

    Blanked with spaces of the same length, so positions stay valid for the raw line.
    """
    for pattern in (_QUOTED_GLYPH_RE, _PAREN_INSTRUCTION_RE):
        line = pattern.sub(lambda m: " " * len(m.group(0)), line)
    return line


def _section_header(line: str) -> tuple[str, int] | None:
    """The section a header at the start of this line opens, and where the header ends."""
    compact, where = _compact(line)
    if _TITLE_RE.search(compact):
        return None  # "Data Subject Request Form" is the title, not the data subject's section
    lead = _LEAD_RE.match(compact)
    offset = lead.end() if lead else 0
    note = _NOTE_LEAD_RE.match(compact, offset)
    if note:  # 「※請求の種類」: a required-field mark before a heading, not a note
        found = _match_section(compact, note.end(), where)
        if found is not None and found[0] != "free":
            return found
    return _match_section(compact, offset, where)


def _match_section(compact: str, offset: int, where: list[int]) -> tuple[str, int] | None:
    for name, pattern in _SECTIONS:
        match = pattern.match(compact[offset:])
        if match:
            end = offset + match.end()
            if name == "principal" and _FILER_RE.match(compact[offset:]):
                name = "filer"
            return name, (where[end - 1] + 1 if end > 0 else 0)
    return None


def _marks(line: str, start: int) -> list[_Mark]:
    out: list[_Mark] = []
    for m in _MARK_RE.finditer(line, start):
        if m.group("br") is not None:
            state = "on" if m.group("inner") else "off"
        elif m.group("circle"):
            state = "circle"
        elif m.group("off") or m.group("ocr_off"):
            state = "off"
        else:
            state = "on"
        out.append(_Mark(m.start(), state))
    return out


def _items(line: str, start: int, marks: Sequence[_Mark]) -> list[_Item]:
    """Vocabulary hits, adjacent ones merged into one printed option (訂正等(訂正・追加・削除))."""
    compact, where = _compact(line[start:])
    hits: list[_Item] = []
    for m in _HIT_RE.finditer(compact):
        if m.lastgroup is None or m.end() == m.start():
            continue
        category, code, _ = _VOCAB[int(m.lastgroup[1:])]
        hits.append(_Item(start + where[m.start()], start + where[m.end() - 1] + 1, category, code))
    merged: list[_Item] = []
    mark_positions = [mk.pos for mk in marks]
    for hit in hits:
        if merged and _joined(line, merged[-1], hit, mark_positions):
            prev = merged[-1]
            # 法定代理人(親権者): the bracket says which kind the bare word is
            first = hit if prev.code is None and hit.code is not None and hit.category == prev.category else prev
            merged[-1] = _Item(prev.start, hit.end, first.category, first.code)
        else:
            merged.append(hit)
    return merged


def _joined(line: str, a: _Item, b: _Item, mark_positions: Sequence[int]) -> bool:
    """Two hits are one printed option when only a bracket or 「・」 stands between them."""
    gap = line[a.end : b.start]
    if len(gap) > 3 or ":" in gap or any(ch.isspace() for ch in gap):
        return False
    k = bisect.bisect_left(mark_positions, a.end)  # positions are sorted: no scan per pair
    return not (k < len(mark_positions) and mark_positions[k] < b.start)


def _codes(text: str, category: str) -> list[str]:
    """Every code of one kind a typed answer names, in order ("開示、利用停止")."""
    out: list[str] = []
    for m in _HIT_RE.finditer(compact_spaces(text)):
        if m.lastgroup is not None:
            kind, code, _ = _VOCAB[int(m.lastgroup[1:])]
            if kind == category and code and code not in out:
                out.append(code)
    return out


def _labels(line: str) -> list[_Label]:
    out: list[_Label] = []
    for m in _LABEL_RE.finditer(line):
        groups = {k: v for k, v in m.groupdict().items() if v is not None}
        if not groups:
            continue
        role = None
        if any(k in groups for k in ("ja_agent", "en_agent", "fn_agent", "bare_agent")):
            role = "agent"
        elif any(k in groups for k in ("ja_principal", "en_principal", "fn_principal", "bare_principal")):
            role = "principal"
        kind = next((k[3:] for k in groups if k[:3] in ("ja_", "en_", "fn_") and k[3:] in _JA_CORES), "name")
        if kind == "rolename":
            if role is None:
                continue  # a bare 名 is a label only after a role: 請求者名, 代理人名
            kind = "name"
        if kind == "relation":
            role = None  # 本人との関係 is the agent's answer, not the principal's field
        out.append(_Label(m.start(), m.end(), kind, role))
    return out


# --------------------------------------------------------------------------- detection


def _looks_like_form(lines: Sequence[_Line]) -> bool:
    """A title that names a request form (or a list of request types), and not another document.

    The 委任状 and 住民票 that come with a request mention requests too; their own titles
    tell them apart.
    """
    texts = [_compact(ln.text)[0] for ln in lines if ln.text.strip()]
    title = " ".join(texts[:2])  # a form number (［様式Ｍ－１］) may come before the title
    if _NOT_FORM_RE.search(title) and not _TITLE_RE.search(title):
        return False
    codes = {it.code for ln in lines if ln.section != "attach" for it in ln.items if it.category == "type"}
    titled = bool(_TITLE_RE.search(" ".join(texts[:8])))
    return bool(codes) and (titled or len(codes) >= 3)


def _has_checklist(lines: Sequence[_Line]) -> bool:
    """Whether the request types are offered as options (marked or not) rather than written.

    An option row prints its choices apart (「利用目的の通知 開示の請求」); a sentence joins
    them (「利用目的の通知及び開示を請求します」). A checklist whose ticks are graphics has
    no marks in its text, and must not be read as a letter either.
    """
    for ln in lines:
        types = [it for it in ln.items if it.category == "type"]
        if any(it.category == "type" for it in ln.items) and ln.marks and ln.section != "attach":
            return True
        if any(any(ch.isspace() for ch in ln.text[a.end : b.start]) for a, b in zip(types, types[1:], strict=False)):
            return True
    return False


# --------------------------------------------------------------------------- choices


def _read_choices(lines: Sequence[_Line], reading: _Reading, marks_legible: bool = True) -> None:
    """Checked options, then typed answers ("請求の種類: 開示") where nothing is marked."""
    option_lines = [ln for ln in lines if ln.section in _OPTION_SECTIONS and ln.marks and ln.items]
    prefix = _marks_precede(option_lines)
    circle_on = _circle_means_checked(lines, option_lines)
    for ln in option_lines:
        method_line = ln.section == "method" or _methodish(ln)
        for item in _checked_items(ln, prefix, circle_on):
            if marks_legible or item.category != "type" or method_line:
                _record_choice(item, method_line, reading)
    _read_typed_choices(lines, reading)


def _marks_precede(lines: Iterable[_Line]) -> bool:
    """Whether this document writes its marks before the options (● 開示) or after (開示 ■).

    Decided over the whole document, as one form uses one convention; a tie (the レ layout,
    where unticked options have no glyph) goes to "before", the Japanese default.
    """
    before = after = 0
    for ln in lines:
        tokens = _tokens(ln)
        for i, tok in enumerate(tokens):
            if isinstance(tok, _Mark):
                before += i + 1 < len(tokens) and isinstance(tokens[i + 1], _Item)
                after += i > 0 and isinstance(tokens[i - 1], _Item)
    return before >= after


def _tokens(ln: _Line) -> list[_Mark | _Item]:
    tokens: list[_Mark | _Item] = [*ln.marks, *ln.items]
    return sorted(tokens, key=lambda t: t.pos if isinstance(t, _Mark) else t.start)


def _circle_means_checked(lines: Sequence[_Line], option_lines: Sequence[_Line]) -> bool:
    """Whether a bare ○ is a drawn circle (checked) rather than an empty box.

    The form's own instructions decide first (「○」を「●」に塗りつぶす vs ○で囲む); then any
    filled glyph makes ○ the empty box; otherwise ○ is a circle when it marks only some of
    the options it stands among (an empty-box ○ stands before every option).
    """
    instructions = " ".join(ln.raw for ln in lines if _INSTRUCTION_RE.search(ln.raw))
    if _CIRCLE_IS_BOX_RE.search(instructions):
        return False
    if _CIRCLE_IS_TICK_RE.search(instructions):
        return True
    if any(mk.state == "on" for ln in option_lines for mk in ln.marks):
        return False
    with_circles = [ln for ln in option_lines if any(mk.state == "circle" for mk in ln.marks)]
    circles = sum(1 for ln in with_circles for mk in ln.marks if mk.state == "circle")
    options = sum(1 for ln in with_circles for it in ln.items if it.category in ("type", "agent", "method"))
    return 0 < circles < options


def _checked_items(ln: _Line, prefix: bool, circle_on: bool) -> list[_Item]:
    """The items this line's marks tick: each mark takes its neighbour on the document's side,
    or the other neighbour when that side has no free item (a mark at the end of a line)."""
    tokens = _tokens(ln)
    taken: set[int] = set()
    out: list[_Item] = []
    for i, tok in enumerate(tokens):
        if not isinstance(tok, _Mark):
            continue
        sides = (i + 1, i - 1) if prefix else (i - 1, i + 1)
        for j in sides:
            if 0 <= j < len(tokens) and isinstance(tokens[j], _Item) and j not in taken:
                taken.add(j)
                if tok.state == "on" or (tok.state == "circle" and circle_on):
                    out.append(tokens[j])  # type: ignore[arg-type]
                break
    return out


def _record_choice(item: _Item, method_line: bool, reading: _Reading) -> None:
    """File a checked item by its kind; on a method line only methods count."""
    if method_line:
        if item.category == "other":
            _add(reading.methods, "other")
        elif item.category == "method" and item.code:
            _add(reading.methods, item.code)
    elif item.category == "type" and item.code:
        _add(reading.types, item.code)
    elif item.category == "agent":
        reading.agent_marked = True
        if item.code:
            _add(reading.agent_types, item.code)


def _methodish(ln: _Line) -> bool:
    """A line offering two or more disclosure methods is a method choice wherever it stands."""
    return len({it.code for it in ln.items if it.category == "method"}) >= 2


def _add(bucket: list[str], code: str) -> None:
    if code not in bucket:
        bucket.append(code)


def _read_typed_choices(lines: Sequence[_Line], reading: _Reading) -> None:
    """Answers typed after a header ("請求の種類: 開示", "開示の方法: 書面", "関係: 親権者").

    Only where the answer is short: a header followed by the whole list of options is an
    unmarked checklist (boxes drawn as graphics), not an answer.
    """
    for i, ln in enumerate(lines):
        if ln.header_value and not ln.marks:
            if ln.section == "types" and not reading.types and _few_types(lines, i):
                for code in _codes(ln.header_value, "type"):
                    _add(reading.types, code)
            elif ln.section == "method" and not reading.methods:
                methods = _codes(ln.header_value, "method")
                if len(methods) == 1:
                    _add(reading.methods, methods[0])
        if ln.section == "agent" and not reading.agent_types:
            _read_relation(ln, reading)


def _few_types(lines: Sequence[_Line], index: int) -> bool:
    """Fewer than four request types named in the section that starts at `index`."""
    codes: set[str] = set()
    for ln in lines[index:]:
        if ln is not lines[index] and ln.section != "types":
            break
        codes.update(_codes(ln.header_value if ln is lines[index] and ln.header_value else ln.text, "type"))
    return len(codes) < 4


def _read_relation(ln: _Line, reading: _Reading) -> None:
    for label, value in _label_values(ln):
        if label.kind == "relation" and value and not _MARK_RE.search(value):
            codes = _codes(value, "agent")
            if len(codes) == 1:
                reading.agent_types.append(codes[0])


def _letter_types(lines: Sequence[_Line]) -> list[str]:
    """A form written as a letter (…の開示を請求します) has sentences, not boxes."""
    from parsers.body import stated_request_types

    text = "\n".join(
        ln.text for ln in lines if ln.section != "attach" and not ln.instruction and ln.header_value is None
    )
    return sorted(stated_request_types(text))


# --------------------------------------------------------------------------- values


def _label_values(ln: _Line) -> list[tuple[_Label, str]]:
    """Each label of the line with the text up to the next label."""
    out = []
    for i, label in enumerate(ln.labels):
        end = ln.labels[i + 1].start if i + 1 < len(ln.labels) else len(ln.text)
        value = ln.text[label.end : end].strip()
        out.append((label, value[1:].strip() if value.startswith(":") else value))
    return out


def _read_values(lines: Sequence[_Line], reading: _Reading) -> None:
    """Names, e-mail and phone, each from its labelled field, the principal's and the agent's apart.

    A label that names no role belongs to the section it stands in. Contact details count
    only in the person sections (a footer's メール is the company's), names anywhere but
    in the free-text and attachment parts; lines addressing the company never count.
    """
    for i, ln in enumerate(lines):
        if ln.section in ("attach", "free") or _COMPANY_LINE_RE.search(ln.text):
            continue
        person = ln.section in _PERSON_SECTIONS
        if person and ln.header_rest and not ln.labels and not ln.marks and not ln.items:
            _set_name(reading, _role(None, ln), _name_value(ln.header_rest))
        for label, value in _label_values(ln):
            role = _role(label.role, ln)
            if label.kind == "name":
                _set_name(reading, role, _name_value(value) or (_next_line_name(lines, i) if not value else None))
            elif role in ("principal", "filer") and (person or label.role is not None):
                _set_contact(reading, role, label.kind, value)
    if reading.email is None:
        reading.email = _unlabelled_email(lines)
    _settle_filer(reading)


def _set_contact(reading: _Reading, role: str, kind: str, value: str) -> None:
    """The first e-mail address and phone number given for the principal (or the filer)."""
    email_attr, phone_attr = ("filer_email", "filer_phone") if role == "filer" else ("email", "phone")
    if kind in ("email", "contact") and getattr(reading, email_attr) is None:
        found = _EMAIL_RE.search(value)
        setattr(reading, email_attr, found.group(0) if found else None)
    if kind in ("phone", "contact") and getattr(reading, phone_attr) is None:
        setattr(reading, phone_attr, _phone_value(value))


def _role(label_role: str | None, ln: _Line) -> str:
    if label_role is not None:
        return label_role
    return ln.section if ln.section in ("agent", "filer") else "principal"


def _settle_filer(reading: _Reading) -> None:
    """The filer is the principal unless a separate 本人 section names someone else."""
    filer = reading.filer_name
    if filer is None:
        return
    if reading.principal_name is None or filer == reading.principal_name:
        reading.principal_name = filer
        reading.email = reading.email or reading.filer_email
        reading.phone = reading.phone or reading.filer_phone
    elif reading.agent_name is None:
        reading.agent_name = filer


def _set_name(reading: _Reading, role: str, name: str | None) -> None:
    if name is None:
        return
    if role == "agent" and reading.agent_name is None:
        reading.agent_name = name
    elif role == "filer" and reading.filer_name is None:
        reading.filer_name = name
    elif role == "principal" and reading.principal_name is None:
        reading.principal_name = name


def _name_value(value: str) -> str | None:
    """A person's name from a field value: without the reading in brackets, 様 or 印."""
    mark = _MARK_RE.search(value)
    value = value[: mark.start()] if mark else value  # a second column's options on the same row
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", value)
    text = re.sub(r"(?:\s*(?:様|殿|印|\(印\)))+$", "", text.strip())
    text = " ".join(text.split())
    if text.lower() in _PLACEHOLDERS or not _NAME_OK_RE.match(text) or _MARK_RE.search(text):
        return None
    if _HIT_RE.search(_compact(text)[0]) or _LABEL_RE.search(text) or _NOT_A_NAME_RE.search(text):
        return None  # 「請求の場合」: the second line of a heading cell, not a person
    return text


def _next_line_name(lines: Sequence[_Line], index: int) -> str | None:
    """The value of a label printed in a cell above its value (氏名 / 青木 陽子)."""
    if index + 1 >= len(lines):
        return None
    nxt = lines[index + 1]
    text = " ".join(nxt.text.split())
    if nxt.labels or nxt.marks or nxt.items or _section_header(nxt.text) or not _NAME_LIKE_RE.match(text):
        return None
    return _name_value(text)


def _phone_value(value: str) -> str | None:
    found = _PHONE_RE.search(value)
    if not found:
        return None
    phone = re.sub(r"\s+", "", found.group(0))
    return phone if sum(ch.isdigit() for ch in phone) >= 9 else None


def _unlabelled_email(lines: Sequence[_Line]) -> str | None:
    """An address standing alone in the principal's section (a table cell without label)."""
    for ln in lines:
        if ln.section == "principal":
            found = _EMAIL_RE.search(ln.text)
            if found:
                return found.group(0)
    return None
