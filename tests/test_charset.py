"""decode(): BOMs, declared charsets checked against the bytes, detection, and the last resort."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from monitor.fetch import Decoded, decode
from monitor.fetch import charset as charset_module

# Our own fixtures: simplified Chinese with GBK punctuation, and characters only GB18030 has.
NOTICE = "关于进一步防范和处置区块链虚拟货币交易炒作风险的通知——中国人民银行·2024年5月"
GB18030_ONLY = "罕见字：㐀、䶮、𠀀。"
TRADITIONAL = "關於區塊鏈技術應用與監管政策的公告"
PARAGRAPH = (
    "为进一步防范和处置虚拟货币交易炒作风险，各地区各部门要高度重视区块链技术应用的规范管理，"
    "严厉打击非法金融活动，维护经济金融秩序和社会稳定。金融机构和非银行支付机构不得为虚拟货币"
    "相关业务活动提供服务。各地人民政府要落实属地责任，加强监测预警，及时处置风险。"
)

FIXTURES = Path("/work/shared/fixtures")


def page(body: str, meta: str = "") -> str:
    return f"<html><head>{meta}<title>通知</title></head><body><p>{body}</p></body></html>"


def meta_charset(label: str) -> str:
    return f'<meta charset="{label}">'


def meta_http_equiv(label: str) -> str:
    return f'<meta http-equiv="Content-Type" content="text/html; charset={label}">'


def assert_decoded(decoded: Decoded, text: str, encoding: str) -> None:
    assert decoded.text == text
    assert decoded.encoding == encoding
    assert "\ufffd" not in decoded.text


@pytest.mark.parametrize(("bom", "codec", "expected"), [
    (codecs.BOM_UTF8, "utf-8", "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
])
def test_bom_wins_over_any_declaration(bom: bytes, codec: str, expected: str) -> None:
    text = page(NOTICE, meta_charset("gb2312"))
    decoded = decode(bom + text.encode(codec), "text/html; charset=big5")
    assert_decoded(decoded, text, expected)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_bom_are_recognised(codec: str) -> None:
    text = '<?xml version="1.0"?><title>' + NOTICE + "</title>"
    assert_decoded(decode(text.encode(codec)), text, codec)


def test_header_charset_is_used() -> None:
    text = page(NOTICE)
    assert_decoded(decode(text.encode("gbk"), "text/html; charset=GBK"), text, "gb18030")


def test_header_wins_over_meta() -> None:
    text = page(TRADITIONAL, meta_charset("gb2312"))
    body = text.encode("big5")
    body.decode("gb18030")  # the meta's charset would decode these bytes too, into nonsense
    assert_decoded(decode(body, 'text/html; charset="big5"'), text, "big5")


@pytest.mark.parametrize("meta", [meta_charset("gb2312"), meta_http_equiv("GBK")])
def test_meta_gb2312_on_utf8_bytes_decodes_as_utf8(meta: str) -> None:
    text = page(NOTICE + GB18030_ONLY, meta)
    assert_decoded(decode(text.encode("utf-8"), "text/html"), text, "utf-8")


def test_header_gbk_on_utf8_bytes_decodes_as_utf8() -> None:
    text = page(NOTICE)
    assert_decoded(decode(text.encode("utf-8"), "text/html; charset=gbk"), text, "utf-8")


@pytest.mark.parametrize("meta", [meta_charset("utf-8"), meta_http_equiv("UTF-8")])
def test_meta_utf8_on_gbk_bytes_decodes_as_gb18030(meta: str) -> None:
    text = page(NOTICE, meta)
    assert_decoded(decode(text.encode("gbk")), text, "gb18030")


def test_header_utf8_on_gb18030_bytes_decodes_as_gb18030() -> None:
    text = page(NOTICE + GB18030_ONLY)
    assert_decoded(decode(text.encode("gb18030"), "text/html; charset=utf-8"), text, "gb18030")


@pytest.mark.parametrize("label", ["gb2312", "GB2312", "gbk", "x-gbk", "gb_2312-80", "csgb2312",
                                   "chinese", "cp936", "GB18030", "euc-cn"])
def test_gb_labels_decode_as_gb18030_including_characters_outside_gb2312(label: str) -> None:
    text = page(NOTICE + GB18030_ONLY, meta_charset(label))
    assert_decoded(decode(text.encode("gb18030")), text, "gb18030")


def test_meta_big5() -> None:
    text = page(TRADITIONAL, meta_http_equiv("big5"))
    assert_decoded(decode(text.encode("big5")), text, "big5")


def test_meta_is_only_read_near_the_top() -> None:
    text = page(NOTICE) + " " * 5000 + meta_charset("big5")
    assert_decoded(decode(text.encode("utf-8")), text, "utf-8")


def test_xml_declaration() -> None:
    declaration = '<?xml version="1.0" encoding="gb2312"?>\n'
    text = f"{declaration}<rss><title>{NOTICE}{GB18030_ONLY}</title></rss>"
    assert_decoded(decode(text.encode("gb18030"), "application/rss+xml"), text, "gb18030")


def test_no_declaration_utf8() -> None:
    text = page(NOTICE + GB18030_ONLY)
    assert_decoded(decode(text.encode("utf-8")), text, "utf-8")


def test_unknown_label_counts_as_no_declaration() -> None:
    text = page(NOTICE, meta_charset("x-no-such-charset"))
    assert_decoded(decode(text.encode("utf-8"), "text/html; charset=bogus"), text, "utf-8")


def test_no_declaration_gbk_is_detected() -> None:
    text = page(PARAGRAPH * 3)
    assert_decoded(decode(text.encode("gbk")), text, "gb18030")


def test_ascii_page_keeps_its_declared_charset() -> None:
    text = "<html><head><title>Blockchain policy notice</title></head></html>"
    assert_decoded(decode(text.encode("ascii"), "text/html; charset=gb2312"), text, "gb18030")


def test_detection_is_not_run_when_a_declared_charset_decodes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_detection(body: bytes) -> None:
        raise AssertionError("detection ran")

    monkeypatch.setattr(charset_module, "from_bytes", no_detection)
    text = page(NOTICE, meta_charset("gbk"))
    assert_decoded(decode(text.encode("gbk")), text, "gb18030")


def test_undecodable_bytes_fall_back_to_the_declared_charset_with_replacement() -> None:
    text = page(PARAGRAPH, meta_charset("gbk"))
    body = text.encode("gbk") + b"\xff\xfe\x80"
    decoded = decode(body)
    assert decoded.text.startswith(text)
    assert "\ufffd" in decoded.text


def test_empty_body() -> None:
    assert decode(b"") == Decoded("", "utf-8")


def test_real_chinese_pages_decode_without_replacement_characters() -> None:
    pages = sorted((FIXTURES / "chinese-pages").glob("*/*.html"))
    if not pages:
        pytest.skip("the shared fixtures are not available")
    for path in pages:
        body = path.read_bytes()
        replaced = decode(body).text.count("\ufffd")
        assert replaced == body.count("\ufffd".encode()), path.name


# Our own sentences, each pair chosen so that the other family's codec also decodes the bytes.
TRADITIONAL_PAGE = (
    "特區政府今日發布政策宣言，推動區塊鏈技術的應用。行政院會議通過數位發展部組織法草案，"
    "加強資訊安全與產業創新。證監會提醒投資者留意加密貨幣交易平台的風險。"
)
SIMPLIFIED_VALID_BIG5 = ["国家广播电视总局关于加强网络视听节目管理的通知",
                         "我们在上海开会讨论了这个问题。",
                         "市政府发布关于加快推进智慧城市建设的实施意见。",
                         "国务院办公厅印发数字经济发展规划，推动产业转型升级。"]
TRADITIONAL_SENTENCES = ["特區政府今日發布政策宣言，推動區塊鏈技術的應用。",
                         "香港金融管理局發表虛擬資產監管框架，保障投資者權益。",
                         "經濟部公布今年第一季出口統計，半導體產品成長三成。",
                         "本府為落實智慧城市政策，將於明年擴大推動電子支付服務。"]


@pytest.mark.parametrize("sentence", TRADITIONAL_SENTENCES)
@pytest.mark.parametrize(("meta", "content_type"), [
    (meta_charset("gb2312"), ""), (meta_http_equiv("GBK"), ""), ("", "text/html; charset=gbk"),
    (meta_charset("utf-8"), ""), ("", "text/html; charset=utf-8")])
def test_big5_bytes_declared_gb_or_utf8_decode_as_big5(sentence: str, meta: str,
                                                       content_type: str) -> None:
    text = page(sentence, meta)
    body = text.encode("big5")
    body.decode("gb18030")  # GB18030 decodes these bytes too, into nonsense
    assert_decoded(decode(body, content_type), text, "big5")


def test_the_reported_big5_page_declared_gb2312() -> None:
    text = '<meta charset="gb2312"><p>' + "特區政府今日發布政策宣言，推動區塊鏈技術的應用。" * 3
    assert_decoded(decode(text.encode("big5"), ""), text, "big5")


@pytest.mark.parametrize("sentence", SIMPLIFIED_VALID_BIG5)
@pytest.mark.parametrize("label", ["gb2312", "gbk", "utf-8", "big5"])
def test_gbk_bytes_that_are_valid_big5_decode_as_gb18030(sentence: str, label: str) -> None:
    """Declared GB (or UTF-8) keeps GB18030; declared Big5 (a lying label) switches to it."""
    text = page(sentence, meta_charset(label))
    body = text.encode("gbk")
    body.decode("big5")  # Big5 decodes these bytes too, into nonsense
    assert_decoded(decode(body), text, "gb18030")


@pytest.mark.parametrize("sentence", TRADITIONAL_SENTENCES)
def test_traditional_text_in_gbk_stays_gb18030(sentence: str) -> None:
    text = page(sentence, meta_charset("gbk"))
    assert_decoded(decode(text.encode("gbk")), text, "gb18030")


def test_a_longer_big5_page_declared_big5_stays_big5() -> None:
    text = page(TRADITIONAL_PAGE, meta_charset("big5"))
    assert_decoded(decode(text.encode("big5"), "text/html; charset=big5"), text, "big5")


def test_gbk_bytes_not_valid_big5_skip_the_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_comparison(text: str) -> tuple[float, float]:
        raise AssertionError("the plausibility comparison ran")

    monkeypatch.setattr(charset_module, "_plausibility", no_comparison)
    text = page(PARAGRAPH, meta_charset("gbk"))
    body = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        body.decode("big5")
    assert_decoded(decode(body), text, "gb18030")
