"""Which document a page of text is, from its content: titles and fixed phrases.

Each document kind has titles (運転免許証, 住民票, 委任状 …) and phrases printed only on it
(公安委員会, 電子証明書の有効期限, 'P<JPN' passport lines, 住民票の原本と相違ない …).
A title counts most when it stands in the first lines, or anywhere on a short text such
as an OCR'd card (a licence prints its title at the bottom); a title deep inside a long
text counts little, because the request form's checklist names every document
(運転免許証, 住民票の写し …) and a 住民票 has a column called 個人番号. The request form
wins outright when its own title heads the page.

File names are a weak hint only (IMG_0412.jpg says nothing): they break ties between
kinds already seen in the text, and name the kind only when there is no text at all.

Besides the kind, a page yields the names printed on it (for holder matching), its issue
date (和暦 included), whether it shows a valid individual number, and, for insurance cards,
whether the insurer / insured numbers are readable.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

from parsers.japanese import compact, find_dates, find_my_numbers, normalize
from parsers.mrz import find_mrz

__all__ = [
    "CARD_KINDS",
    "TextReading",
    "classify_text",
    "filename_hint",
    "find_issue_date",
    "find_names",
    "insurance_number_readable",
    "insurance_number_spans",
    "read_text",
]

MIN_SCORE = 2.5  # below this a page is not recognised as any kind
FORM_BY_SECTIONS = 4.0  # a request form's section marks without its title (see _form_by_its_sections)
VERIFIED_MRZ = 4.0  # a machine-readable zone whose check digits agree (parsers.mrz)
_HEAD_LINES = 4
_HIRAGANA = re.compile(r"[\u3041-\u3096]")
_LISTED_AFTER = re.compile(r"[、,:：・]")  # 添付：住民票の写し, 運転免許証、住民票, 在留カード・特別永住者証明書
_PARTICLES = frozenset("のをにはがとへもでや")
_LIST_ITEM = re.compile(r"(?:\d{1,2}[.)]|\(\d{1,2}\)|[・●○◯■□◆◇\-])")  # 2. 住民票の写し under 添付書類
_SHORT_TEXT = 450  # compact characters: an ID card's OCR text is shorter than this

CARD_KINDS = frozenset(
    {
        "drivers_license", "passport", "basic_resident_card", "my_number_card", "health_insurance_card",
        "alien_registration_card", "residence_card", "special_permanent_resident_certificate",
        "insurance_eligibility_certificate",
    }
)  # fmt: skip
_CERTIFICATE_KINDS = frozenset(
    {
        "request_form", "resident_record", "family_register", "guardianship_ruling", "power_of_attorney",
        "seal_certificate", "qualification_proof",
    }
)  # fmt: skip


@dataclass(frozen=True)
class _Rule:
    """How one kind shows itself. Patterns are regexes on `compact()` text (upper-cased for
    Latin), marks are (pattern, weight), `requires` must also match for the rule to count."""

    kind: str
    titles: tuple[str, ...]
    marks: tuple[tuple[str, float], ...] = ()
    requires: str | None = None
    against: tuple[tuple[str, float], ...] = ()
    short_only: bool = False  # one side of a card: a long text that shows the same words is not it


_RULES: tuple[_Rule, ...] = (
    _Rule(
        "request_form",
        titles=(
            r"(開示|訂正|利用停止|利用目的の?通知|第三者提供の?停止)等?の?(ご)?(請求|求め|申請|申出|依頼)"
            r"(書|申請書|申出書|依頼書|申込書|請求書|用紙)",
            r"開示等(の)?(請求|求め)に(係る|関する)(請求|申請?|申出)書?",  # 書 is often left off a title
            r"REQUESTFOR(THE)?(NOTIFICATION|DISCLOSURE|CORRECTION|SUSPENSION|CESSATION)",
        ),
        marks=(
            (r"請求の種類|請求内容|ご請求の内容|申請の内容|TYPEOFREQUEST", 1.5),
            (r"(示|正|停止|通知)(等の)?請求書", 1.5),  # a title whose first characters OCR lost (示請求書)
            (r"(請求|申請)者(氏名)?|REQUESTER", 1.0),
            (r"添付(した)?書類|DOCUMENTSATTACHED", 1.0),
            (r"本人との関係", 1.0),
            (r"利用目的の通知", 0.5),
            (r"第三者提供", 0.5),
            (r"手数料", 0.5),
            (r"様式", 0.5),
            (r"利用停止", 0.3),
            (r"代理人", 0.3),
        ),
    ),
    _Rule(
        "drivers_license",
        titles=(r"運転免許証",),
        marks=(
            (r"公安委員会", 2.5),
            (r"免許の条件", 1.5),
            (r"[二ニ]・?小・?原", 1.0),
            (r"番号第?\d{12}号", 1.5),
            (r"(?<!番号)(?<!番号第)\d{12}号", 1.0),  # the licence number's form, OCR having lost 番号
            (r"眼鏡等", 0.5),
            (r"優良|一般|違反", 0.3),
            (r"普通|中型|大型|準中型|原付|大特|普自二|大自二", 0.3),
            (r"交付", 0.3),
            (r"まで有効", 0.3),
        ),
        against=((r"運転経歴証明書", 6.0),),
    ),
    _Rule(
        "passport",
        titles=(r"旅券|PASSPORT",),
        marks=(
            (r"P[<く][A-Z0-9]{3}[A-Z0-9<]{4,}", 3.0),
            (r"[A-Z0-9<]{9}\d[A-Z]{3}\d{7}[MF<]\d{7}", 2.0),
            (r"SURNAME", 1.0),
            (r"GIVENNAME", 1.0),
            (r"DATEOFEXPIRY|有効期間満了日", 1.0),
            (r"ISSUINGCOUNTRY|発行国", 0.5),
            (r"AUTHORITY|発行官庁", 0.5),
            (r"MINISTRYOFFOREIGNAFFAIRS|外務大臣", 1.0),
            (r"所持人自署|SIGNATUREOFBEARER", 1.0),
            (r"REGISTEREDDOMICILE", 0.3),
            (r"NATIONALITY", 0.3),
        ),
    ),
    _Rule(
        "my_number_card",
        titles=(r"個人番号カード|マイナンバーカード",),
        marks=(
            (r"電子証明書の有効期限|有効期限の記載", 3.0),  # OCR garbles 電子証明書 more than the rest
            (r"臓器提供意思", 1.0),
            (r"まで有効", 0.3),
            (r"性別", 0.3),
        ),
    ),
    # The back of the card has no title: it shows 個人番号 over the number, 氏名, 生年月日 and the
    # organ-donation box. A 住民票 with a 個人番号 column shows the same label and number, so
    # its own words (住民票, 世帯, 写し) count against; a letter quoting a number is too long.
    _Rule(
        "my_number_card",
        titles=(),
        marks=(
            (r"個人番号[:：]?\d{12}(?!\d)", 2.5),
            (r"(?<!\d)\d{12}(?!\d)", 1.5),  # the number read apart from its label (above it, or a line off)
            (r"臓器提供意思", 1.0),
            (r"生年月日", 0.3),
            (r"氏名", 0.3),
        ),
        requires=r"個人番号",
        against=((r"住民票|世帯|写し|続柄|住民となった", 6.0),),
        short_only=True,
    ),
    _Rule(
        "basic_resident_card",
        titles=(r"住民基本台帳カード|住基カード",),
        marks=((r"有効期限", 0.3), (r"(市|区|町|村)長", 0.3)),
    ),
    _Rule(
        "health_insurance_card",
        titles=(r"被保険者証|組合員証|加入者証",),
        marks=(
            (r"保険者番号", 2.0),
            (r"記号", 0.5),
            (r"被保険者氏名", 1.0),
            (r"資格取得年月日", 1.5),
            (r"保険者名称", 1.0),
            (r"事業所名称", 1.0),
            (r"本人\(被保険者\)|家族\(被扶養者\)", 1.0),
            (r"健康保険|国民健康保険|後期高齢者医療|共済組合", 1.0),
            (r"交付年月日", 0.3),
        ),
        against=((r"介護保険", 6.0), (r"資格確認書", 4.0)),
    ),
    _Rule(
        "insurance_eligibility_certificate",
        titles=(r"資格確認書",),
        marks=(
            (r"保険者番号", 1.5),
            (r"被保険者", 0.5),
            (r"資格取得年月日", 1.0),
            (r"保険者名称", 0.5),
            (r"健康保険|国民健康保険|後期高齢者医療|共済組合", 0.5),
        ),
    ),
    _Rule(
        "residence_card",
        titles=(r"在留カード|RESIDENCECARD",),
        marks=(
            (r"在留資格", 1.5),
            (r"在留期間", 1.5),
            (r"STATUS", 0.5),
            (r"PERIODOFSTAY", 1.0),
            (r"就労制限", 1.5),
            (r"法務大臣", 1.0),
            (r"国籍・?地域|NATIONALITY/REGION", 1.0),
            (r"出入国在留管理", 0.5),
        ),
        against=((r"特別永住者証明書|SPECIALPERMANENTRESIDENT", 5.0),),
    ),
    _Rule(
        "special_permanent_resident_certificate",
        titles=(r"特別永住者証明書|SPECIALPERMANENTRESIDENTCERTIFICATE",),
        marks=((r"法務大臣", 0.5), (r"特別永住者", 1.0), (r"国籍・?地域", 0.5)),
    ),
    _Rule(
        "alien_registration_card",
        titles=(r"外国人登録証明書|外国人登録証|CERTIFICATEOFALIENREGISTRATION",),
        marks=((r"登録原票", 1.5), (r"在留の資格", 1.0), (r"居住地", 0.5), (r"登録番号", 0.3)),
    ),
    _Rule(
        "resident_record",
        titles=(r"住民票(?!コード)(の)?(写し?|\(写\)|謄本|抄本|記載事項証明書)?",),
        marks=(
            (r"住民票の原本と相違ない|住民票の写しである|原本と相違ないことを証明", 3.0),
            (r"世帯主", 1.0),
            (r"住民となった", 2.0),  # 住民となった日 / 年月日, often cut short by OCR
            (r"続柄", 0.5),
            (r"住民票コード", 0.5),
            (r"前住所", 0.5),
            (r"(市|区|町|村)長", 0.5),
        ),
    ),
    _Rule(
        "family_register",
        titles=(r"戸籍謄本|戸籍抄本|除籍謄本|戸籍(全部|個人)事項証明", r"(全部|個人)事項証明書?"),
        marks=(
            (r"戸籍に記録されている者", 3.0),
            (r"戸籍に記録されている事項の(全部|一部)を証明", 3.0),
            (r"身分事項", 1.5),
            (r"戸籍事項", 1.5),
            (r"戸籍編製", 1.5),
            (r"本籍", 0.5),
            (r"筆頭者", 0.5),
            (r"出生", 0.3),
            (r"婚姻", 0.3),
        ),
        requires=r"戸籍|(全部|個人)事項証明",  # the title alone is enough: a 登記 is 登記事項 / 事項全部証明
    ),
    _Rule(
        "guardianship_ruling",
        titles=(r"後見開始の?審判", r"審判書", r"登記事項証明書"),
        marks=(
            (r"成年後見人", 1.5),
            (r"成年被後見人", 1.5),
            (r"家庭裁判所", 1.0),
            (r"後見登記等に関する法律", 2.0),
            (r"後見登記", 1.0),
            (r"主文", 0.5),
            (r"法務局", 0.5),
            (r"後見を開始する", 2.0),
        ),
        requires=r"後見|保佐|補助人",
    ),
    _Rule(
        "power_of_attorney",
        titles=(r"委任状",),
        marks=(
            (r"代理人と定め", 2.0),
            (r"権限を委任", 2.0),
            (r"委任します|委任する", 1.0),
            (r"委任者", 1.0),
            (r"受任者", 1.0),
            (r"代理人", 0.5),
        ),
    ),
    _Rule(
        "seal_certificate",
        titles=(r"印鑑登録証明書|印鑑証明書",),
        marks=((r"登録されている印影と相違ない", 3.0), (r"印影", 1.0), (r"印鑑登録番号", 1.0)),
    ),
    _Rule(
        "qualification_proof",
        titles=(r"資格証明書|会員証|身分証明書|登録証明書|職印証明書|資格を証明",),
        marks=(
            (r"登録番号", 1.5),
            (r"日本弁護士連合会|日本司法書士会連合会", 2.0),
            (r"弁護士会|司法書士会", 1.5),
            (r"弁護士|司法書士|行政書士|弁理士|税理士|社会保険労務士", 1.0),
            (r"職印", 1.0),
        ),
        requires=r"弁護士|司法書士|行政書士|弁理士|税理士|社会保険労務士",
    ),
)

_FILENAME_HINTS: tuple[tuple[str, str], ...] = (
    ("request_form", r"請求書|seikyu|request_?form|様式"),
    ("drivers_license", r"免許|menkyo|licen[cs]e|driver"),
    ("passport", r"passport|旅券|パスポート"),
    ("my_number_card", r"マイナンバー|個人番号|my_?number|mynumber"),
    ("basic_resident_card", r"住基|jyuki|juki"),
    ("health_insurance_card", r"保険証|hoken|insurance"),
    ("insurance_eligibility_certificate", r"資格確認書|shikaku_?kakunin"),
    ("residence_card", r"在留|zairyu|residence_?card"),
    ("special_permanent_resident_certificate", r"特別永住|tokubetsu"),
    ("resident_record", r"住民票|ju[mn]inhyo|residen(ce|t)_?record"),
    ("family_register", r"戸籍|koseki"),
    ("guardianship_ruling", r"後見|kouken|koken|guardian"),
    ("power_of_attorney", r"委任状|ininjo|attorney|proxy"),
    ("seal_certificate", r"印鑑|inkan|seal"),
    ("qualification_proof", r"資格証明|弁護士|司法書士|bengoshi|qualification"),
)

# On these documents a bare 番号 labels the document's own number (licence number printed
# 番号 第…号, where OCR may lose 第 and 号).
_NUMBER_LABELS_BY_KIND = {"drivers_license": ("番号",)}
# A licence prints its own 12-digit number (番号 第…号); OCR often loses that label, and a
# licence never carries an individual number, so no 12-digit run on it is one.
_NO_MY_NUMBER_KINDS = frozenset({"drivers_license"})
# Words that survive on a licence photo too poor to be classified (the page then reads as
# 'unknown'), so that its own number, which may pass the check digit, is still not taken
# for an individual number. 番号 …号 around twelve digits is how a licence prints its number.
_OWN_NUMBER_CUES = {"drivers_license": r"運転免許|公安委員会|免許の条件|\d{12}号"}  # an individual number has no 号
# Any of these on the page and a 12-digit run may be an individual number whatever else the
# page shows (a licence copied on the sheet of a 住民票 with its 個人番号 column).
_INDIVIDUAL_NUMBER_CUES = r"個人番号|マイナンバー|MYNUMBER|INDIVIDUALNUMBER"

_VARIANTS = (
    frozenset({"health_insurance_card", "insurance_eligibility_certificate"}),
    frozenset({"residence_card", "special_permanent_resident_certificate", "alien_registration_card"}),
    frozenset({"my_number_card", "basic_resident_card"}),
)


@dataclass(frozen=True)
class TextReading:
    """What one page (or one image) of text says about itself."""

    kind: str  # a DOCUMENT_KINDS code; 'unknown' when nothing was recognised
    confidence: float
    candidates: tuple[tuple[str, float], ...]
    names: tuple[str, ...] = ()
    issued_on: dt.date | None = None
    my_number: bool = False
    insurance_number_unmasked: bool = False
    titled: bool = False  # the kind's title heads the text (a new document starts here)
    also: tuple[str, ...] = ()  # other documents on the same page (a licence copied beside a 住民票)


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class _Prepared:
    """A text in the forms the rules look at: all of it compact, and its compact lines."""

    full: str
    lines: tuple[str, ...]


def _prepare(text: str) -> _Prepared:
    lines = tuple(c for c in (compact(ln).upper() for ln in normalize(text).splitlines()) if c)
    return _Prepared("".join(lines), lines)


def _standing(title: str, lines: tuple[str, ...]) -> bool:
    """Whether the title stands as a title on one of the lines, not inside a sentence:
    運転免許証 at a line's end or before another word, but not 運転免許証の写しを添付します,
    添付：運転免許証、住民票 nor an item of a numbered list (2. 住民票の写し)."""
    for line in lines:
        for m in re.finditer(title, line):
            rest = line[m.end():]
            after_ok = not rest or _stray_end(rest) or not (_HIRAGANA.match(rest[0]) or rest[0] in "等番")
            before_ok = m.start() == 0 or not (
                _LISTED_AFTER.match(line[m.start() - 1]) or _LIST_ITEM.fullmatch(line[: m.start()])
            )
            if after_ok and before_ok:
                return True
    return False


def _stray_end(rest: str) -> bool:
    """One character after a title at a line's end that no sentence would put there: OCR
    noise beside a card's title band (個人番号カードた), not a particle (運転免許証の / 写しを)."""
    return len(rest) == 1 and rest not in _PARTICLES


def _title_score(rule: _Rule, text: _Prepared) -> tuple[float, bool]:
    """4 for a title heading the text, 3 for one standing anywhere in a short text (a card's
    title may be printed at the bottom), 1.5 for a mention anywhere; and whether it heads."""
    head = text.lines[:_HEAD_LINES]
    short = len(text.full) < _SHORT_TEXT
    best = 0.0
    for title in rule.titles:
        if _standing(title, head) or _alone_on_a_line(title, text.lines):
            return 4.0, True
        if short and _standing(title, text.lines):
            best = max(best, 3.0)
        elif re.search(title, text.full):
            best = max(best, 1.5)
    return best, False


def _alone_on_a_line(title: str, lines: tuple[str, ...]) -> bool:
    """A title that fills a line of its own heads a document, even below a letter's address
    block (a lawyer's 「保有個人データ開示等請求書」 under the sender's letterhead)."""
    pattern = re.compile(rf"[^\w()]*(?:保有)?(?:個人情報|個人データ)?(?:の|に関する)?(?:{title})[^\w()]*")
    return any(pattern.fullmatch(line) for line in lines)


@dataclass
class _Verdict:
    """Scores per kind, the kinds whose title heads the text, and those whose title stands."""

    scores: dict[str, float]
    heading: set[str]
    standing: set[str]


def _rule_score(rule: _Rule, text: _Prepared) -> tuple[float, float, bool]:
    """(score, title score, title in head) of one kind on one text."""
    if rule.requires and not re.search(rule.requires, text.full):
        return 0.0, 0.0, False
    if rule.short_only and len(text.full) >= _SHORT_TEXT:
        return 0.0, 0.0, False
    title, heading = _title_score(rule, text)
    score = title + sum(weight for pattern, weight in rule.marks if re.search(pattern, text.full))
    score -= sum(weight for pattern, weight in rule.against if re.search(pattern, text.full))
    return max(score, 0.0), title, heading


def _confidence(score: float) -> float:
    return round(1.0 - math.exp(-score / 4.0), 3)


def _verdict(text: str) -> _Verdict:
    prepared = _prepare(text)
    verdict = _Verdict({}, set(), set())
    for rule in _RULES:
        score, title, heading = _rule_score(rule, prepared)
        if score > verdict.scores.get(rule.kind, 0.0):  # a kind may have a rule per side
            verdict.scores[rule.kind] = score
        if heading:
            verdict.heading.add(rule.kind)
        if title >= 3.0 or (score >= MIN_SCORE and any(_standing(t, prepared.lines) for t in rule.titles)):
            verdict.standing.add(rule.kind)
    if find_mrz(text) is not None:  # every check digit agrees: a passport, whatever else OCR missed
        verdict.scores["passport"] = verdict.scores.get("passport", 0.0) + VERIFIED_MRZ
        verdict.standing.add("passport")
    if _form_by_its_sections(verdict):
        verdict.heading.add("request_form")
    if "request_form" in verdict.heading:  # its checklist names every other document
        verdict.scores = {k: (v if k == "request_form" else min(v, 1.0)) for k, v in verdict.scores.items()}
        verdict.standing = {"request_form"}
    return verdict


def _form_by_its_sections(verdict: _Verdict) -> bool:
    """A page that shows a request form's sections (請求の種類, 添付書類, 本人との関係 …) is
    the form even when OCR garbled its title, unless a document heading the page outscores
    them (a 委任状 that names the same sections). Otherwise the form's checklist (住民票の写し,
    登記事項証明書, 成年後見人) names other kinds, and one of them may outscore it: a dark
    scan of such a form was read as a 後見 certificate."""
    form = verdict.scores.get("request_form", 0.0)
    heading_others = verdict.heading - {"request_form"}
    return form >= FORM_BY_SECTIONS and all(verdict.scores.get(k, 0.0) < form for k in heading_others)


def _numbered_kinds(kind: str, text: _Prepared) -> frozenset[str]:
    """Kinds whose own numbers the page may show: the kind it was read as, and, when nothing
    on it names an individual number, every kind whose cues it shows even though they were
    too few to name the page (a licence photo in shadow that lost its title)."""
    if re.search(_INDIVIDUAL_NUMBER_CUES, text.full):
        return frozenset({kind})
    return frozenset({kind, *(k for k, cue in _OWN_NUMBER_CUES.items() if re.search(cue, text.full))})


def _shows_my_number(text: str, kind: str) -> bool:
    """Whether the page shows an individual number, once the numbers of the documents it is
    seen to be (by kind or by cues) are set aside."""
    kinds = _numbered_kinds(kind, _prepare(text))
    if kinds & _NO_MY_NUMBER_KINDS:
        return False
    labels = tuple(label for k in sorted(kinds) for label in _NUMBER_LABELS_BY_KIND.get(k, ()))
    return bool(find_my_numbers(text, labels))


def filename_hint(filename: str | None) -> str | None:
    """The kind a file name suggests (menkyo.jpg, 住民票.pdf), or None. A hint only."""
    if not filename:
        return None
    name = unicodedata.normalize("NFKC", filename).lower()
    for kind, pattern in _FILENAME_HINTS:
        if re.search(pattern, name):
            return kind
    return None


def classify_text(text: str, filename: str | None = None) -> list[tuple[str, float]]:
    """Kinds the text reads as, best first, as (kind, confidence in 0..1).

    Only kinds that reach the recognition threshold are listed; an empty list means the
    text is not a document we know. The file name breaks ties between kinds the text
    already shows, and is used alone (confidence 0.3) only when there is no text.
    """
    return _classify(text, filename)[0]


def _classify(text: str, filename: str | None) -> tuple[list[tuple[str, float]], _Verdict]:
    verdict = _verdict(text)
    scores = dict(verdict.scores)
    hint = filename_hint(filename)
    if hint in scores and scores[hint] >= MIN_SCORE:  # breaks ties, never makes a kind
        scores[hint] += 0.75
    ranked = sorted(((k, v) for k, v in scores.items() if v >= MIN_SCORE), key=lambda kv: -kv[1])
    if not ranked and hint and len(compact(text)) < 10:
        return [(hint, 0.3)], verdict
    return [(kind, _confidence(score)) for kind, score in ranked], verdict


def _also(ranked: list[tuple[str, float]], verdict: _Verdict) -> tuple[str, ...]:
    """Other documents on the same page: recognised on their own title, not variants of the
    first (a health insurance card is not also a 資格確認書)."""
    if not ranked:
        return ()
    first = ranked[0][0]
    if first == "request_form":
        return ()  # a form's checklist names documents it is not
    group = next((g for g in _VARIANTS if first in g), frozenset({first}))
    # A second document on one page is a card copied beside a certificate (a licence on the
    # sheet of a 住民票); a letter that mentions 委任状 and 住民票 is neither of them.
    first_is_card = first in CARD_KINDS
    return tuple(
        k for k, _ in ranked[1:]
        if k in verdict.standing and k not in group and (k in CARD_KINDS) != first_is_card
    )


# --------------------------------------------------------------------------- details

_NAME_LABEL = re.compile(
    r"(?:請求者|代理人|世帯主|被保険者|筆頭者|委任者|受任者|申請者|本人)?(?:氏[ \u3000]*名|お名前|名[ \u3000]*前)"
    r"(?:\(自署\))?[ \u3000]*[:：]?[ \u3000]*"
)
_NAME_CHARS = r"[\u4e00-\u9fff\u3005\u3006\u30f6\u3041-\u3096\u30a1-\u30fa\u30fc]"
_NAME_VALUE = re.compile(rf"({_NAME_CHARS}{{1,6}}(?:[ \u3000]{_NAME_CHARS}{{1,6}})?)")
_NOT_NAMES = frozenset(
    {
        "生年月日", "住所", "性別", "続柄", "本籍", "筆頭者", "世帯主", "氏名", "ふりがな", "フリガナ", "電話",
        "連絡先", "印", "殿", "様", "署名", "記名", "押印", "男", "女", "本人", "代理人", "国籍", "有効期限",
        "交付", "番号", "年", "月", "日",
    }
)  # fmt: skip
_ERA_START = re.compile(r"(?:明治|大正|昭和|平成|令和)(?=[0-9元]|$)")
_MISREAD_LABEL_LINE = re.compile(rf"^[A-Za-z]{{1,3}}[ \u3000]+({_NAME_CHARS}{{2,7}})[ \u3000]*$")
_MRZ_NAME = re.compile(r"P[<く]([A-Z0-9]{3})([A-Z0-9]+)<<([A-Z0-9]+(?:<[A-Z0-9]+)*)")
_LATIN_NAME_LABEL = re.compile(r"((?i:surname|given ?names?))[ \t]*\n[ \t]*([A-Z]{2,}(?:[ \-][A-Z]{2,})*)[ \t]*$", re.M)
_SIGNATURE_LINE = re.compile(rf"^\s*({_NAME_CHARS}{{2,6}})\s+(?:MINISTRY|$)")
_PASSPORT_WORDS = frozenset({"日本国", "旅券", "国籍", "性別", "本籍", "発行官庁", "所持人自署", "型"})


def _clean_name(raw: str) -> str | None:
    """A name candidate without trailing labels or a date that OCR glued to it."""
    tokens = re.sub(r"[ \u3000]+", " ", raw).strip().split(" ")
    if not tokens[0] or tokens[0] in _NOT_NAMES:
        return None
    kept = [tokens[0]] + [t for t in tokens[1:2] if t not in _NOT_NAMES and not _ERA_START.match(t)]
    name = _ERA_START.split(" ".join(kept))[0]
    for label in ("生年月日", "住所", "性別"):
        name = name.split(label)[0]
    return name.strip() or None


def _labelled_names(lines: list[str]) -> list[str]:
    names = []
    for i, line in enumerate(lines):
        for m in _NAME_LABEL.finditer(line):
            value = _NAME_VALUE.match(line, m.end())
            name = _clean_name(value.group(1)) if value else None
            if name:
                names.append(name)
            elif i + 1 < len(lines) and line[m.end() :].lstrip().startswith("生年月日"):
                names.extend(_table_row_name(lines[i + 1]))  # 住民票: header row, then the row
    return names


def _table_row_name(row: str) -> list[str]:
    value = _NAME_VALUE.match(row.strip())
    name = _clean_name(value.group(1)) if value else None
    return [name] if name else []


def _passport_names(text: str, lines: list[str]) -> list[str]:
    names = []
    upper = re.sub(r"[ \t]", "", text.upper())
    for m in _MRZ_NAME.finditer(upper):
        surname = m.group(2).replace("0", "O")
        given = m.group(3).replace("0", "O").replace("<", " ").strip()
        names.append(f"{surname} {given}".strip())
    latin = {
        label.upper().replace(" ", "")[:5]: value.strip().upper() for label, value in _LATIN_NAME_LABEL.findall(text)
    }
    if "SURNA" in latin and "GIVEN" in latin:
        names.append(f"{latin['SURNA']} {latin['GIVEN']}")
    for line in lines:
        signature = _SIGNATURE_LINE.match(line)
        if signature and signature.group(1) not in _PASSPORT_WORDS:
            names.append(signature.group(1))
    return names


def find_names(text: str, kind: str | None = None) -> tuple[str, ...]:
    """Person names printed on the document (氏名 …; passports: MRZ, Surname/Given name and
    the signature), in order of appearance, without duplicates."""
    norm = normalize(text)
    lines = norm.splitlines()
    names = _labelled_names(lines)
    if kind == "passport":
        names += _passport_names(norm, lines)
    elif kind in CARD_KINDS and not names:  # the small 氏名 label is often misread as Latin
        names = [m.group(1) for line in lines if (m := _MISREAD_LABEL_LINE.match(line))]
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(compact(name), name)  # OCR passes read 山田 花子 and 山田花子
    return tuple(list(seen.values())[:8])


_ISSUE_LABEL = re.compile(
    r"(交付|発行|作成|証明|提出|届出|DATEOFISSUE|ISSUE)(年月日|日)?[:：]?$|証明します[。.]?$|相違ない", re.IGNORECASE
)
_NOT_ISSUE = re.compile(r"(生年月日|生まれ|DATEOFBIRTH|BIRTH|有効期限|有効期間|EXPIRY|住民となった|満了)[^\d]{0,12}$")


def find_issue_date(text: str, kind: str | None = None) -> dt.date | None:
    """The date the document was issued: a date labelled 交付/発行/証明日/Date of issue, else
    (for certificates, letters and forms) the latest date that is not a birth or expiry
    date. Cards without a labelled date give None rather than a guess."""
    labelled: list[dt.date] = []
    others: list[dt.date] = []
    for found in find_dates(text):
        before = compact(text[max(0, found.start - 30) : found.start]).upper()
        after = compact(text[found.end : found.end + 6])
        if after.startswith(("生", "まで")) or _NOT_ISSUE.search(before):
            continue
        (labelled if _ISSUE_LABEL.search(before) else others).append(found.date)
    if labelled:
        return labelled[0]
    if kind in CARD_KINDS or not others:
        return None
    return max(others)


_S = r"[ \t\u3000]*"
_FW = r"0-9０-９"
_INSURER_NUMBER = re.compile(
    rf"(?:被{_S})?保{_S}険{_S}者{_S}(?:証{_S})?番{_S}号{_S}[:：]?{_S}([{_FW}](?:[{_FW} \t]{{4,20}})[{_FW}])"
)
_SYMBOL_NUMBER = re.compile(
    rf"記{_S}号[ \t\u3000:：・]*(?:番{_S}号{_S}[:：]?{_S})?"
    rf"([{_FW}A-Za-zＡ-Ｚ][{_FW}A-Za-zＡ-Ｚ\-－・]{{0,14}})"
    rf"(?:{_S}番{_S}号{_S}[:：]?{_S}([{_FW}]{{1,10}}))?"
)
_BRANCH_NUMBER = re.compile(rf"枝{_S}番{_S}[)）]?{_S}[:：]?{_S}([{_FW}]{{2}})")


def insurance_number_spans(text: str) -> list[tuple[int, int]]:
    """Where an insurance card shows its 保険者番号, 記号・番号 or 枝番 in digits: the
    offsets (in `text`) to black out. Masked values (＊＊, ●●, blanks) give nothing."""
    spans: list[tuple[int, int]] = []
    for pattern in (_INSURER_NUMBER, _SYMBOL_NUMBER, _BRANCH_NUMBER):
        for m in pattern.finditer(text):
            for group in range(1, (m.lastindex or 0) + 1):
                value = m.group(group)
                if value and re.search(f"[{_FW}]", value):
                    spans.append((m.start(group), m.end(group)))
    return sorted(spans)


def insurance_number_readable(text: str) -> bool:
    """Whether an insurance card's 保険者番号 or 記号・番号 shows digits (not masked)."""
    return bool(insurance_number_spans(text))


def read_text(text: str, filename: str | None = None) -> TextReading:
    """Everything a page of text says: kind, confidence, names, issue date, numbers."""
    ranked, verdict = _classify(text, filename)
    kind, confidence = ranked[0] if ranked else ("unknown", 0.0)
    insurance = kind in ("health_insurance_card", "insurance_eligibility_certificate") and (
        insurance_number_readable(text)
    )
    return TextReading(
        kind=kind,
        confidence=confidence,
        candidates=tuple(ranked),
        names=find_names(text, kind) if kind != "unknown" else (),
        issued_on=find_issue_date(text, kind) if kind != "unknown" else None,
        my_number=_shows_my_number(text, kind),
        insurance_number_unmasked=insurance,
        titled=kind in verdict.heading,
        also=_also(ranked, verdict),
    )
