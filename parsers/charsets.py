"""Japanese-aware decoding of mail bytes to text.

Python's own codecs get Japanese mail wrong in several common ways: `iso2022_jp` rejects
the NEC/IBM extension characters (①, ㈱, №, Ⅱ …) that Windows and iPhone mailers send,
and every au/KDDI emoji; strict `shift_jis` rejects docomo/SoftBank emoji; labels lie
(ISO-2022-JP over raw UTF-8, gb2312 over Japanese). Each of these silently turns a
requester's words into U+FFFD, so this module decodes from bytes itself:

* ISO-2022-JP is walked escape sequence by escape sequence and every JIS X 0208 pair is
  converted to Shift_JIS arithmetically, then decoded with `cp932` (CP50220 behaviour):
  extension rows land on the cp932 characters, carrier emoji on the cp932 private-use area.
* Shift_JIS labels decode with `cp932`; EUC-JP goes through the same arithmetic.
* Unknown, missing or lying labels fall back to UTF-8, cp932, EUC-JP (best score), then
  windows-1252 / latin-1, so decoding never raises and never returns nothing.

Everything public here returns `str` and never raises on any input.
"""

from __future__ import annotations

import binascii
import codecs
import functools
import re
from collections.abc import Iterable

__all__ = [
    "charset_family",
    "decode_bytes",
    "decode_header_value",
    "decode_iso2022jp",
    "jis_to_sjis",
]

# --------------------------------------------------------------------------- labels

_JIS_NAMES = frozenset(
    {
        "jis", "jis7", "csiso2022jp", "csiso2022jp2", "cp50220", "cp50221", "cp50222",
        "x-windows-iso2022jp", "iso-2022-jp-ms", "x-jis", "jis_encoding", "csjisencoding",
    }
)  # fmt: skip
_SJIS_NAMES = frozenset(
    {
        "cp932", "ms932", "windows-31j", "ms_kanji", "csshiftjis", "x-ms-cp932", "ibm-943",
        "ibm943", "cswindows31j", "mskanji", "ibm-943_p130-1999", "x-sjis", "sjis-win",
    }
)  # fmt: skip
_UTF8_NAMES = frozenset({"utf-8", "utf8", "unicode-1-1-utf-8", "x-unicode20utf8", "utf-8-sig"})
_ASCII_NAMES = frozenset(
    {
        "", "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", "us", "7bit", "8bit",
        "default", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "none", "binary",
    }
)  # fmt: skip
# Labels whose codec is a superset that decodes what real mailers put under them.
_SUPERSETS = {
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
    "euc-cn": "gb18030", "csgb2312": "gb18030", "gb_2312-80": "gb18030",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "ksc5601": "cp949",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "iso-8859-9": "cp1254", "tis-620": "cp874",
}  # fmt: skip
# Codecs that are not mail charsets and would only do harm under an attacker's label.
_REFUSED_CODECS = frozenset({"undefined", "unicode_escape", "raw_unicode_escape", "punycode", "idna", "mbcs", "oem"})

_ISO2022_PROBE = re.compile(rb"\x1b(?:\$[@AB]|\$\([@A-Z]|\([BJIH])")


def _normalize_label(label: str | None) -> str:
    """Lower-case a charset label and undo the ways mailers mangle it.

    Seen in real mail: quotes, trailing comments or parameters, an RFC 2231 language
    suffix (`iso-2022-jp*ja`) and the whole `charset=us-ascii` pasted into the value.
    """
    if not label:
        return ""
    text = label.strip().strip("\"'").strip().lower()
    if "=" in text:
        text = text.rsplit("=", 1)[1].strip("\"' ")
    text = re.split(r"[\s;,()*]", text, maxsplit=1)[0]
    return text.strip("\"'")


def charset_family(label: str | None) -> str:
    """Which decoder a label asks for: 'jis', 'sjis', 'eucjp', 'utf8', 'latin', 'unknown', a codec.

    Anything Python cannot look up, or would decode dangerously, is 'unknown', which
    means: sniff the bytes.
    """
    name = _normalize_label(label)
    if name in _ASCII_NAMES:
        return "unknown"
    if name in _JIS_NAMES or name.replace("_", "-").startswith(("iso-2022-jp", "iso2022-jp", "iso2022jp")):
        return "jis"
    if name in _SJIS_NAMES or "sjis" in name or "shift" in name:
        return "sjis"
    if ("euc" in name and "jp" in name) or name in {"ujis", "cp51932", "euc-jisx0213", "euc-jis-2004"}:
        return "eucjp"
    if name in _UTF8_NAMES:
        return "utf8"
    name = _SUPERSETS.get(name, name)
    info = _lookup(name) or _lookup(re.sub(r"^(iso-?8859-\d+)-[ie]$", r"\1", name))
    if info is None:
        return "unknown"
    if info.name.replace("-", "_") in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return "unknown"
    if info.name in {"utf-8", "utf_8"}:
        return "utf8"
    if info.name == "ascii":
        return "unknown"
    if info.name in {"latin_1", "iso8859-1", "cp1252"}:
        return "latin"
    return info.name


def _lookup(name: str) -> codecs.CodecInfo | None:
    try:
        return codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None


# --------------------------------------------------------------------------- ISO-2022-JP


def jis_to_sjis(j1: int, j2: int, *, au_emoji: bool = False) -> bytes:
    """Convert one JIS X 0208 code (two bytes 0x21-0x7E) to Shift_JIS arithmetically.

    The arithmetic covers all 94 rows, which is what makes the extensions decodable: rows
    0x2D (NEC specials) and 0x79-0x7C (NEC-selected IBM) land on the cp932 codes for them.
    Rows 0x75-0x78 are unassigned in CP50220 and are where au/KDDI put emoji in mail; they
    are moved to the au Shift_JIS emoji (0xF6/0xF7, cp932 private use). With `au_emoji`
    rows 0x79-0x7B are read as au emoji too (0xF3/0xF4) instead of IBM kanji.
    """
    lead = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
    # odd rows use trail 0x40-0x9E (skipping 0x7F), even rows 0x9F-0xFC
    trail = (j2 + 0x1F + (j2 >= 0x60)) if j1 & 1 else j2 + 0x7E
    if lead in (0xEB, 0xEC):
        lead += 0x0B
    elif au_emoji and lead in (0xED, 0xEE):
        lead += 0x06
    return bytes((lead, trail))


def _build_pair_tables() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Precompute jis_to_sjis for every pair, once, so decoding is a lookup per character."""
    plain: list[bytes] = []
    au: list[bytes] = []
    for j1 in range(0x21, 0x7F):
        for j2 in range(0x21, 0x7F):
            plain.append(jis_to_sjis(j1, j2))
            au.append(jis_to_sjis(j1, j2, au_emoji=True))
    return tuple(plain), tuple(au)


_PAIRS_PLAIN, _PAIRS_AU = _build_pair_tables()

_TOKEN_RE = re.compile(rb"\x1b(?:\$[@AB]|\$\([@A-Z]|\$\)[@A-Z]|\([A-Z]|\)[A-Z]|&@|\.[A-Z]|N[\x20-\x7f]?)?|[\x0e\x0f]")
_ESC_MODES = {
    b"\x1b(B": "ascii", b"\x1b(J": "ascii", b"\x1b(H": "ascii",
    b"\x1b(I": "kana",
    b"\x1b$@": "jis0208", b"\x1b$B": "jis0208", b"\x1b$(B": "jis0208", b"\x1b$(@": "jis0208",
    b"\x1b$(D": "jis0212",
    b"\x1b$(O": "jis0213", b"\x1b$(Q": "jis0213", b"\x1b$(P": "jis0213p2",
    b"\x1b$A": "gb2312", b"\x1b$(C": "ksc5601",
}  # fmt: skip
_PAIRABLE = re.compile(rb"([\x21-\x7e]+)")


class _Output:
    """Collects decoded text; Shift_JIS bytes are buffered and decoded with cp932 in one go."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.sjis = bytearray()

    def flush(self) -> None:
        if self.sjis:
            self.pieces.append(bytes(self.sjis).decode("cp932", "replace"))
            self.sjis.clear()

    def text(self, value: str) -> None:
        self.flush()
        self.pieces.append(value)

    def result(self) -> str:
        self.flush()
        return "".join(self.pieces)


def _emit_single(chunk: bytes, out: _Output) -> None:
    """ASCII mode: ASCII as is; stray 8-bit runs as UTF-8 when they are, else as Shift_JIS."""
    if chunk.isascii():
        out.sjis += chunk
        return
    for run in re.split(rb"([\x80-\xff]+(?:[\x20-\x7f]{1,3}[\x80-\xff]+)*)", chunk):
        if run and not run.isascii():
            utf8 = _strict(run, "utf-8")
            if utf8 is not None:
                out.text(utf8)
                continue
        out.sjis += run


def _emit_pairs(chunk: bytes, mode: str, out: _Output, au_emoji: bool) -> None:
    """A two-byte mode: convert each pair; controls and line breaks inside pass through."""
    table = _PAIRS_AU if au_emoji else _PAIRS_PLAIN
    for index, run in enumerate(_PAIRABLE.split(chunk)):
        if not run:
            continue
        if index % 2 == 0:  # not pairable: CR/LF, space, 8-bit junk
            _emit_single(run, out)
            continue
        if len(run) % 2:
            run = run[:-1]
        if mode == "jis0208":
            out.sjis += b"".join(table[(run[i] - 0x21) * 94 + run[i + 1] - 0x21] for i in range(0, len(run), 2))
        else:
            out.text(_decode_other_plane(run, mode))


def _decode_other_plane(run: bytes, mode: str) -> str:
    """JIS X 0212/0213, GB 2312, KS C 5601 pairs, via their EUC forms in Python's codecs."""
    high = bytes(b | 0x80 for b in run)
    if mode == "jis0212":
        return b"".join(b"\x8f" + high[i : i + 2] for i in range(0, len(high), 2)).decode("euc_jp", "replace")
    if mode == "jis0213":
        return high.decode("euc_jis_2004", "replace")
    if mode == "jis0213p2":
        return b"".join(b"\x8f" + high[i : i + 2] for i in range(0, len(high), 2)).decode("euc_jis_2004", "replace")
    if mode == "gb2312":
        return high.decode("gb18030", "replace")
    return high.decode("cp949", "replace")


def _emit(chunk: bytes, mode: str, out: _Output, au_emoji: bool) -> None:
    if not chunk:
        return
    if mode == "ascii":
        _emit_single(chunk, out)
    elif mode == "kana":
        out.sjis += bytes(b | 0x80 if 0x21 <= b <= 0x5F else b for b in chunk)
    else:
        _emit_pairs(chunk, mode, out, au_emoji)


def decode_iso2022jp(data: bytes, *, au_emoji: bool = False) -> str:
    """Decode ISO-2022-JP (and its CP5022x / mobile variants) without losing characters.

    Handles ESC $ @ / $ B / ( B / ( J / ( I, SO/SI half-width kana, JIS X 0212/0213, stray
    8-bit bytes (raw UTF-8 or Shift_JIS) and unknown escapes (dropped). Never raises.
    """
    try:
        out = _Output()
        mode, shifted_from = "ascii", "ascii"
        pos = 0
        for match in _TOKEN_RE.finditer(data):
            _emit(data[pos : match.start()], mode, out, au_emoji)
            token = match.group()
            if token == b"\x0e":
                if mode != "kana":
                    shifted_from, mode = mode, "kana"
            elif token == b"\x0f":
                mode = shifted_from if mode == "kana" else mode
            elif token.startswith(b"\x1bN") and len(token) == 3:
                out.text(bytes((token[2] | 0x80,)).decode("latin-1"))
            else:
                mode = _ESC_MODES.get(token, mode)
            pos = match.end()
        _emit(data[pos:], mode, out, au_emoji)
        return out.result()
    except Exception:  # noqa: BLE001 - a decoder for mail must degrade, not fail
        return data.decode("latin-1")


# --------------------------------------------------------------------------- EUC-JP

# Python's euc_jp uses the JIS mapping for these; cp932 (and eucJP-ms) the Windows one.
_EUC_TO_CP932 = str.maketrans(
    {
        "\u301c": "\uff5e",
        "\u2016": "\u2225",
        "\u2212": "\uff0d",
        "\xa2": "\uffe0",
        "\xa3": "\uffe1",
        "\xac": "\uffe2",
    }
)


def _eucjp_to_text(data: bytes, errors: str) -> str | None:
    """EUC-JP with the same result as the JIS path: ～ is U+FF5E, NEC row 13 decodes.

    Python's euc_jp maps 0xA1C1 to U+301C and rejects NEC row 13 (①); eucJP-ms, like
    cp932, gives U+FF5E and the extensions. The fast path is euc_jp plus a translation of
    the six characters that differ; bytes it rejects go through the JIS→Shift_JIS
    arithmetic. Returns None when `errors` is 'strict' and the bytes are not EUC-JP.
    """
    text = _strict(data, "euc_jp")
    if text is not None:
        return text.translate(_EUC_TO_CP932)
    out = _Output()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b < 0x80:
            out.sjis.append(b)
            i += 1
        elif b == 0x8E and i + 1 < n and 0xA1 <= data[i + 1] <= 0xDF:
            out.sjis.append(data[i + 1])
            i += 2
        elif b == 0x8F and i + 2 < n and data[i + 1] >= 0xA1 and data[i + 2] >= 0xA1:
            out.text(data[i : i + 3].decode("euc_jp", "replace"))
            i += 3
        elif 0xA1 <= b <= 0xFE and i + 1 < n and 0xA1 <= data[i + 1] <= 0xFE:
            out.sjis += _PAIRS_PLAIN[(b - 0xA1) * 94 + data[i + 1] - 0xA1]
            i += 2
        elif errors == "strict":
            return None
        else:
            out.text("\ufffd")
            i += 1
    result = out.result()
    if errors == "strict" and "\ufffd" in result:
        return None
    return result


# --------------------------------------------------------------------------- sniffing

_SCORE_SAMPLE = 65536
_HIGH_BYTES = bytes(range(0x80, 0x100))


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _japanese_score(text: str) -> float:
    """How much a decoding looks like Japanese prose: kana and kanji up, oddities down.

    Used to choose between cp932 and EUC-JP, which both accept much of the other's bytes
    (EUC-JP read as cp932 is a run of half-width kana). Only a sample is scored.
    """
    score = 0.0
    for ch in text[:_SCORE_SAMPLE]:
        code = ord(ch)
        if code < 0x80:
            continue
        if 0x3040 <= code <= 0x30FF or 0x4E00 <= code <= 0x9FFF or 0xFF01 <= code <= 0xFF5E:
            score += 2
        elif 0x3000 <= code <= 0x303F:
            score += 1
        elif 0xFF61 <= code <= 0xFF9F:
            score -= 1
        elif code == 0xFFFD or 0xE000 <= code <= 0xF8FF:
            score -= 3
        else:
            score -= 0.5
    return score


def _kana_count(text: str) -> int:
    return sum(1 for ch in text[:_SCORE_SAMPLE] if "\u3041" <= ch <= "\u30fe")


def _japanese_candidates(data: bytes) -> list[str]:
    return [c for c in (_strict(data, "cp932"), _eucjp_to_text(data, "strict")) if c is not None]


def _sniff(data: bytes, hint: str | None = None) -> str:
    """Guess the charset of 8-bit bytes with no trustworthy label.

    UTF-8 is taken when valid (random 8-bit text almost never is); then the better scoring
    of cp932 and EUC-JP; then the hinted codec; then a lossy best effort.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8", "replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", "replace")
    text = _strict(data, "utf-8")
    if text is not None:
        return text
    scored = [(c, _japanese_score(c)) for c in _japanese_candidates(data)]
    plausible = [(c, score) for c, score in scored if score > 0]
    if plausible:
        return max(plausible, key=lambda pair: pair[1])[0]
    if hint is not None:
        labelled = _strict(data, hint)
        if labelled is not None:
            return labelled
    return _lossy_fallback(data, hint)


def _lossy_fallback(data: bytes, hint: str | None) -> str:
    """Nothing decodes strictly: keep mostly-Japanese text Japanese, else read it as Latin."""
    high = len(data) - len(data.translate(None, _HIGH_BYTES)) or 1
    for attempt in (data.decode("cp932", "replace"), _eucjp_to_text(data, "replace") or ""):
        if attempt.count("\ufffd") * 8 < high and _japanese_score(attempt) > 0:
            return attempt
    if hint is not None and (hint != "utf-8" or _mostly_utf8(data, high)):
        try:
            return data.decode(hint, "replace")
        except (LookupError, ValueError, TypeError):
            pass
    text = _strict(data, "cp1252")
    return text if text is not None else data.decode("latin-1")


def _mostly_utf8(data: bytes, high: int) -> bool:
    """UTF-8 with a few broken bytes (keep it UTF-8), or Latin-1 under a UTF-8 label?"""
    return data.decode("utf-8", "replace").count("\ufffd") * 4 < high


# --------------------------------------------------------------------------- bodies

_JAPANESE_FAMILIES = frozenset({"jis", "sjis", "eucjp", "utf8", "unknown", "latin"})


def decode_bytes(data: bytes, charset: str | None = None, *, au_emoji: bool = False) -> str:
    """Decode a MIME part's (or header word's) bytes to text, trusting the label only so far.

    `au_emoji` reads ISO-2022-JP rows 0x79-0x7B as au/KDDI emoji (set it for mail from au).
    Never raises.
    """
    try:
        return _decode(bytes(data), charset_family(charset), au_emoji)
    except Exception:  # noqa: BLE001 - last resort, so that a part is never lost
        return bytes(data).decode("latin-1", "replace")


def _looks_iso2022(data: bytes) -> bool:
    return b"\x1b" in data and _ISO2022_PROBE.search(data) is not None


def _decode(data: bytes, family: str, au_emoji: bool) -> str:
    if not data:
        return ""
    if family == "jis" and (b"\x1b" in data or b"\x0e" in data):
        return decode_iso2022jp(data, au_emoji=au_emoji)
    if family in _JAPANESE_FAMILIES:
        # Raw JIS under an ASCII, Latin or missing label is common in old Japanese mail.
        if _looks_iso2022(data) and (family == "unknown" or data.isascii()):
            return decode_iso2022jp(data, au_emoji=au_emoji)
        if data.isascii():
            return data.decode("ascii")
    if family == "sjis":
        text = _strict(data, "cp932")
        return text if text is not None else _sniff(data, "cp932")
    if family == "eucjp":
        text = _eucjp_to_text(data, "strict")
        return text if text is not None else _sniff(data, "euc_jis_2004")
    if family == "utf8":
        text = _strict(data, "utf-8-sig")
        return text if text is not None else _sniff(data, "utf-8")
    if family in {"jis", "unknown"}:
        return _sniff(data)
    return _decode_labelled(data, family)


@functools.lru_cache(maxsize=64)
def _is_single_byte(codec: str) -> bool:
    try:
        return len(_HIGH_BYTES.decode(codec, "replace")) == 0x80
    except (LookupError, ValueError, TypeError):
        return False


def _decode_labelled(data: bytes, codec: str) -> str:
    """A non-Japanese label: believe it unless the bytes clearly say otherwise.

    An 8-bit label never yields valid multi-byte UTF-8 by chance, and Latin or Cyrillic
    text essentially never decodes as Japanese containing kana; both lies are common.
    """
    if codec == "latin":
        codec = "cp1252"
    if _is_single_byte(codec) and not data.isascii():
        utf8 = _strict(data, "utf-8")
        if utf8 is not None:
            return utf8
        for candidate in _japanese_candidates(data):
            if _kana_count(candidate) >= 2 and _japanese_score(candidate) > 0:
                return candidate
    text = _strict(data, codec)
    if text is not None:
        return text
    if codec == "cp1252":
        return data.decode("latin-1")
    return _sniff(data, codec)


# --------------------------------------------------------------------------- RFC 2047

_ENCODED_WORD = re.compile(rb"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_Q_HEX = re.compile(rb"=([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]+")


def _b_decode(text: bytes) -> bytes:
    """Lenient base64: drop junk, repair padding. Broken words still yield their bytes."""
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", text)
    rest = len(clean) % 4
    if rest == 1:
        clean = clean[:-1]
    elif rest:
        clean += b"=" * (4 - rest)
    try:
        return binascii.a2b_base64(clean)
    except (binascii.Error, ValueError):
        return b""


def _q_decode(text: bytes) -> bytes:
    return _Q_HEX.sub(lambda m: bytes((int(m.group(1), 16),)), text.replace(b"_", b" "))


def _words(data: bytes) -> Iterable[tuple[str | None, bytes]]:
    """Split a header into (charset, bytes) for encoded words and (None, bytes) for the rest.

    Whitespace between two encoded words is dropped, as RFC 2047 says.
    """
    pos = 0
    previous_word = False
    for match in _ENCODED_WORD.finditer(data):
        between = data[pos : match.start()]
        if between and not (previous_word and not between.strip()):
            yield None, between
        charset = match.group(1).decode("ascii", "replace").split("*", 1)[0]
        payload = match.group(3)
        decoded = _b_decode(payload) if match.group(2) in b"bB" else _q_decode(payload)
        yield charset, decoded
        pos = match.end()
        previous_word = True
    if pos < len(data):
        yield None, data[pos:]


def decode_header_value(value: bytes | str, *, au_emoji: bool = False, hint: str | None = None) -> str:
    """Decode an unfolded or folded header value: RFC 2047 words, raw 8-bit, raw JIS.

    Adjacent encoded words in the same charset are joined as bytes before decoding, since
    mailers split multi-byte characters (and ISO-2022-JP states) across words. The result
    has no CR, LF or other control characters, so it is safe to put back into a header.
    """
    try:
        raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
        raw = re.sub(rb"\r\n|\r|\n", b"", raw)
        pieces: list[str] = []
        run_charset: str | None = None
        run = bytearray()
        for charset, chunk in _words(raw):
            key = charset.lower() if charset is not None else None
            if run and key != run_charset:
                pieces.append(_decode_run(bytes(run), run_charset, au_emoji, hint))
                run.clear()
            run_charset = key
            run += chunk
        if run:
            pieces.append(_decode_run(bytes(run), run_charset, au_emoji, hint))
        return _CONTROL.sub(" ", "".join(pieces)).strip()
    except Exception:  # noqa: BLE001
        text = value if isinstance(value, str) else bytes(value).decode("latin-1")
        return _CONTROL.sub(" ", text.encode("utf-8", "replace").decode("utf-8", "replace")).strip()


def _decode_run(data: bytes, charset: str | None, au_emoji: bool, hint: str | None) -> str:
    if charset is None:
        if data.isascii() and b"\x1b" not in data:
            return data.decode("ascii")
        return decode_bytes(data, hint, au_emoji=au_emoji)
    return decode_bytes(data, charset, au_emoji=au_emoji)
