"""The region gazetteer: provinces and places in four scripts, longest match, counts, bad data."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.classify.regions import Gazetteer, RegionMention
from monitor.errors import ConfigError

GAZETTEER = Gazetteer.default()

PROVINCES = (
    "Beijing", "Tianjin", "Hebei", "Shanxi", "Inner Mongolia", "Liaoning", "Jilin", "Heilongjiang",
    "Shanghai", "Jiangsu", "Zhejiang", "Anhui", "Fujian", "Jiangxi", "Shandong", "Henan", "Hubei",
    "Hunan", "Guangdong", "Guangxi", "Hainan", "Chongqing", "Sichuan", "Guizhou", "Yunnan", "Tibet",
    "Shaanxi", "Gansu", "Qinghai", "Ningxia", "Xinjiang", "Hong Kong", "Macau", "Taiwan",
)

# province, simplified, traditional, English, French
NAMES = [
    ("Beijing", "北京市", "北京", "Beijing", "Pékin"),
    ("Tianjin", "天津", "天津市", "Tianjin", "Tianjin"),
    ("Hebei", "河北省", "河北", "Hebei", "Hebei"),
    ("Shanxi", "山西", "山西省", "Shanxi", "Shanxi"),
    ("Inner Mongolia", "内蒙古自治区", "內蒙古", "Inner Mongolia", "Mongolie-Intérieure"),
    ("Liaoning", "辽宁", "遼寧省", "Liaoning", "Liaoning"),
    ("Jilin", "吉林省", "吉林", "Jilin", "Jilin"),
    ("Heilongjiang", "黑龙江", "黑龍江省", "Heilongjiang", "Heilongjiang"),
    ("Shanghai", "上海", "上海市", "Shanghai", "Shanghaï"),
    ("Jiangsu", "江苏", "江蘇省", "Jiangsu", "Jiangsu"),
    ("Zhejiang", "浙江省", "浙江", "Zhejiang", "Zhejiang"),
    ("Anhui", "安徽", "安徽省", "Anhui", "Anhui"),
    ("Fujian", "福建", "福建省", "Fujian", "Fujian"),
    ("Jiangxi", "江西省", "江西", "Jiangxi", "Jiangxi"),
    ("Shandong", "山东", "山東省", "Shandong", "Shandong"),
    ("Henan", "河南", "河南省", "Henan", "Henan"),
    ("Hubei", "湖北省", "湖北", "Hubei", "Hubei"),
    ("Hunan", "湖南", "湖南省", "Hunan", "Hunan"),
    ("Guangdong", "广东省", "廣東", "Guangdong", "Guangdong"),
    ("Guangxi", "广西壮族自治区", "廣西", "Guangxi", "Guangxi"),
    ("Hainan", "海南", "海南省", "Hainan", "Hainan"),
    ("Chongqing", "重庆市", "重慶", "Chongqing", "Chongqing"),
    ("Sichuan", "四川", "四川省", "Szechuan", "Setchouan"),
    ("Guizhou", "贵州", "貴州省", "Guizhou", "Guizhou"),
    ("Yunnan", "云南省", "雲南", "Yunnan", "Yunnan"),
    ("Tibet", "西藏自治区", "西藏", "Tibet", "Tibet"),
    ("Shaanxi", "陕西", "陝西省", "Shaanxi", "Shaanxi"),
    ("Gansu", "甘肃", "甘肅", "Gansu", "Gansu"),
    ("Qinghai", "青海省", "青海", "Qinghai", "Qinghai"),
    ("Ningxia", "宁夏回族自治区", "寧夏", "Ningxia", "Ningxia"),
    ("Xinjiang", "新疆维吾尔自治区", "新疆維吾爾自治區", "Xinjiang", "Xinjiang"),
    ("Hong Kong", "香港特别行政区", "香港特別行政區", "Hong Kong", "Hong Kong"),
    ("Macau", "澳门", "澳門特別行政區", "Macao", "Macao"),
    ("Taiwan", "台湾", "臺灣", "Taiwan", "Taïwan"),
]


def _provinces(text: str) -> dict[str, int]:
    return GAZETTEER.provinces_in(text)


def _places(text: str) -> list[tuple[str, str, int]]:
    return [(m.province, m.place, m.count) for m in GAZETTEER.find(text)]


# --- the packaged data --------------------------------------------------------------------------


def test_the_packaged_data_has_the_34_provinces_in_conventional_order() -> None:
    assert GAZETTEER.provinces() == PROVINCES
    assert Gazetteer.default() is GAZETTEER
    assert {row[0] for row in NAMES} == set(PROVINCES)


def _packaged() -> dict[str, Any]:
    source = resources.files("monitor.classify") / "data" / "regions.yaml"
    data: dict[str, Any] = yaml.safe_load(source.read_text(encoding="utf-8"))
    return data


def test_every_entry_maps_to_a_province_and_has_names_in_four_languages() -> None:
    data = _packaged()
    for entry in data["places"]:
        assert entry["province"] in PROVINCES, entry
        assert all(entry[language] for language in ("zh-Hans", "zh-Hant", "en", "fr")), entry
    own = {entry["place"] for entry in data["places"] if entry["place"] == entry["province"]}
    assert own == set(PROVINCES)


def test_every_name_of_an_entry_is_found_as_that_place() -> None:
    for entry in _packaged()["places"]:
        for language in ("zh-Hans", "zh-Hant", "en", "fr"):
            for name in entry[language]:
                found = GAZETTEER.find(name)
                assert found == (RegionMention(entry["province"], entry["place"], 1, 0),), name


# --- provinces in each script -------------------------------------------------------------------


@pytest.mark.parametrize(("province", "hans", "hant", "english", "french"), NAMES)
def test_each_province_is_found_in_each_language(province: str, hans: str, hant: str,
                                                 english: str, french: str) -> None:
    assert _provinces(f"关于{hans}区块链发展的通知") == {province: 1}
    assert _provinces(f"關於{hant}區塊鏈發展的通知") == {province: 1}
    assert _provinces(f"Blockchain pilot zones announced in {english} on Monday.") == {province: 1}
    assert _provinces(f"Un plan d'action pour {french} sur la blockchain.") == {province: 1}


@pytest.mark.parametrize(("text", "province", "place"), [
    ("武汉市发布区块链行动计划", "Hubei", "Wuhan"),
    ("深圳", "Guangdong", "Shenzhen"),
    ("廈門", "Fujian", "Xiamen"),
    ("Amoy", "Fujian", "Xiamen"),
    ("Canton", "Guangdong", "Guangzhou"),
    ("Guangzhou", "Guangdong", "Guangzhou"),
    ("Nankin", "Jiangsu", "Nanjing"),
    ("Peking", "Beijing", "Beijing"),
    ("Ürümqi", "Xinjiang", "Urumqi"),
    ("苏州工业园区", "Jiangsu", "Suzhou"),
    ("青島", "Shandong", "Qingdao"),
    ("大连", "Liaoning", "Dalian"),
    ("Ningbo", "Zhejiang", "Ningbo"),
    ("无锡", "Jiangsu", "Wuxi"),
    ("Foshan", "Guangdong", "Foshan"),
    ("东莞", "Guangdong", "Dongguan"),
    ("珠海", "Guangdong", "Zhuhai"),
    ("三亚", "Hainan", "Sanya"),
    ("桂林", "Guangxi", "Guilin"),
    ("义乌", "Zhejiang", "Yiwu"),
    ("Wenzhou", "Zhejiang", "Wenzhou"),
    ("鄭州", "Henan", "Zhengzhou"),
    ("洛阳", "Henan", "Luoyang"),
    ("烟台", "Shandong", "Yantai"),
    ("威海", "Shandong", "Weihai"),
    ("唐山", "Hebei", "Tangshan"),
    ("保定市", "Hebei", "Baoding"),
    ("衡阳", "Hunan", "Hengyang"),
    ("株洲", "Hunan", "Zhuzhou"),
    ("湘潭", "Hunan", "Xiangtan"),
    ("宜昌", "Hubei", "Yichang"),
    ("Xiangyang", "Hubei", "Xiangyang"),
    ("绵阳", "Sichuan", "Mianyang"),
    ("遵义", "Guizhou", "Zunyi"),
    ("大理", "Yunnan", "Dali"),
    ("麗江", "Yunnan", "Lijiang"),
    ("吉林市", "Jilin", "Jilin City"),
    ("中山市", "Guangdong", "Zhongshan"),
    ("雄安新区", "Hebei", "Xiong'an"),
    ("Xiongan", "Hebei", "Xiong'an"),
    ("Xiong’an New Area", "Hebei", "Xiong'an"),
    ("浦东新区", "Shanghai", "Pudong"),
    ("临港新片区", "Shanghai", "Lingang"),
    ("滨海新区", "Tianjin", "Binhai New Area"),
    ("两江新区", "Chongqing", "Liangjiang New Area"),
    ("天府新區", "Sichuan", "Tianfu New Area"),
    ("Gui'an New Area", "Guizhou", "Gui'an"),
    ("横琴粤澳深度合作区", "Guangdong", "Hengqin"),
    ("前海合作区", "Guangdong", "Qianhai"),
    ("Nansha", "Guangdong", "Nansha"),
    ("舟山群岛新区", "Zhejiang", "Zhoushan"),
    ("海南自由贸易港", "Hainan", "Hainan Free Trade Port"),
    ("the Hainan Free Trade Port", "Hainan", "Hainan Free Trade Port"),
])
def test_cities_and_new_areas_map_to_their_province(text: str, province: str, place: str) -> None:
    assert _places(text) == [(province, place, 1)]


# --- longest match, groups, words that are not places -------------------------------------------


def test_the_longest_name_wins_and_names_never_overlap() -> None:
    assert _places("浙江西部") == [("Zhejiang", "Zhejiang", 1)]
    assert _places("黑龙江西部") == [("Heilongjiang", "Heilongjiang", 1)]
    assert _places("广西壮族自治区") == [("Guangxi", "Guangxi", 1)]
    assert _places("陕西安康") == [("Shaanxi", "Shaanxi", 1)]
    assert _provinces("山西省和陕西省") == {"Shanxi": 1, "Shaanxi": 1}
    assert _provinces("吉林省吉林市") == {"Jilin": 2}


def test_groups_count_once_for_each_member() -> None:
    assert _places("京津冀协同发展") == [
        ("Beijing", "Beijing", 1), ("Tianjin", "Tianjin", 1), ("Hebei", "Hebei", 1)]
    assert _places("粤港澳大湾区") == [
        ("Guangdong", "Guangdong", 1), ("Hong Kong", "Hong Kong", 1), ("Macau", "Macau", 1)]
    assert _provinces("长三角一体化") == {"Shanghai": 1, "Jiangsu": 1, "Zhejiang": 1, "Anhui": 1}
    assert _provinces("香港澳门") == {"Hong Kong": 1, "Macau": 1}
    assert [m.first for m in GAZETTEER.find("推进京津冀")] == [2, 2, 2]


@pytest.mark.parametrize(("text", "provinces"), [
    ("中山大学", {}),
    ("孙中山先生", {}),
    ("中山西路", {}),
    ("隆重庆祝", {}),
    ("大理石", {}),
    ("形成都市圈", {}),
    ("东西藏在", {}),
    ("推广西部经验", {}),
    ("沿海南部", {}),
    ("黄河南岸", {}),
    ("医保定点", {}),
    ("平台北京节点", {"Beijing": 1}),
    ("美丽江苏", {"Jiangsu": 1}),
    ("吉林市场监管", {"Jilin": 1}),
])
def test_words_containing_a_name_are_not_places(text: str, provinces: dict[str, int]) -> None:
    assert _provinces(text) == provinces


def test_jilin_market_is_the_province_not_the_city() -> None:
    assert _places("吉林市场") == [("Jilin", "Jilin", 1)]


# --- Latin names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["Xi'an", "Xi’an", "Xiʼan", "Xian", "XI'AN", "xi'an's"])
def test_xian_in_its_spellings(text: str) -> None:
    assert _places(text) == [("Shaanxi", "Xi'an", 1)]


def test_xian_is_not_found_inside_xiangyang() -> None:
    assert _places("Xiangyang") == [("Hubei", "Xiangyang", 1)]
    assert _places("Xianyang") == []


def test_latin_names_match_whole_words_in_any_case() -> None:
    assert _places("Beijing's plan") == [("Beijing", "Beijing", 1)]
    assert _places("BEIJING, beijing") == [("Beijing", "Beijing", 2)]
    assert _places("Hubeiprovince") == []
    assert _places("Jilin") == [("Jilin", "Jilin", 1)]
    assert _provinces("Shanxi and Shaanxi") == {"Shanxi": 1, "Shaanxi": 1}


def test_hong_kong_with_any_spacing() -> None:
    assert _places("Hong  Kong, Hong\nKong, Hongkong, Hong-Kong") == [
        ("Hong Kong", "Hong Kong", 4)]


def test_accents_and_full_width_letters_are_folded_but_offsets_kept() -> None:
    assert _places("Pekin, Pékin, PÉKIN") == [("Beijing", "Beijing", 3)]
    assert GAZETTEER.find("À Ｐéｋｉｎ") == (RegionMention("Beijing", "Beijing", 1, 2),)
    assert GAZETTEER.find("北京（Ｂｅｉｊｉｎｇ）") == (RegionMention("Beijing", "Beijing", 2, 0),)


def test_canton_counts_only_as_the_city() -> None:
    assert _places("the Canton Fair") == [("Guangdong", "Guangzhou", 1)]
    assert _places("le canton de Zoug, the canton of Zug, Canton de Genève") == []
    assert _places("each canton, Cantonese cuisine") == []


# --- counts and order ---------------------------------------------------------------------------


def test_counts_and_first_offsets_in_order_of_first_mention() -> None:
    text = "武汉市与北京市签约。Wuhan and Hubei; 湖北省武汉"
    assert GAZETTEER.find(text) == (
        RegionMention("Hubei", "Wuhan", 3, 0),
        RegionMention("Beijing", "Beijing", 1, 4),
        RegionMention("Hubei", "Hubei", 2, text.index("Hubei")),
    )
    provinces = GAZETTEER.provinces_in(text)
    assert provinces == {"Hubei": 5, "Beijing": 1}
    assert list(provinces) == ["Hubei", "Beijing"]


def test_a_province_is_ordered_by_its_first_place() -> None:
    assert list(GAZETTEER.provinces_in("北京 … 湖北 … 武汉 … 深圳 … 广东")) == [
        "Beijing", "Hubei", "Guangdong"]


def test_a_text_with_no_region() -> None:
    assert GAZETTEER.find("区块链技术创新与产业发展。The blockchain industry grows.") == ()
    assert GAZETTEER.provinces_in("") == {}


# --- user files ----------------------------------------------------------------------------------

GOOD = """\
provinces: [Hubei, Hunan]
places:
  - {place: Hubei, province: Hubei, zh-Hans: [湖北], zh-Hant: [湖北], en: [Hubei], fr: [Hubei]}
  - {place: Hunan, province: Hunan, zh-Hans: [湖南], zh-Hant: [湖南], en: [Hunan], fr: [Hunan]}
  - {place: Wuhan, province: Hubei, zh-Hans: [武汉], zh-Hant: [武漢], en: [Wuhan], fr: [Wuhan]}
groups:
  - {names: [两湖], places: [Hubei, Hunan]}
not-places: [汉堡]
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regions.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_user_file_of_the_same_format(tmp_path: Path) -> None:
    gazetteer = Gazetteer.from_file(_write(tmp_path, GOOD))
    assert gazetteer.provinces() == ("Hubei", "Hunan")
    assert gazetteer.provinces_in("两湖 Wuhan 汉堡") == {"Hubei": 2, "Hunan": 1}
    assert gazetteer.find("北京") == ()


@pytest.mark.parametrize(("change", "expected"), [
    (("province: Hubei, zh-Hans: [武汉]", "province: Hubey, zh-Hans: [武汉]"),
     ":5: places[2] (Wuhan).province: 'Hubey' is not listed under provinces"),
    (("zh-Hant: [武漢], ", ""), ":5: places[2] (Wuhan).zh-Hant: Field required"),
    (("en: [Wuhan]", "en: [武汉市]"),
     "places[2] (Wuhan).en[0]: Value error, '武汉市' has characters"),
    (("zh-Hans: [武汉]", "zh-Hans: [Wuhan]"),
     "places[2] (Wuhan).zh-Hans[0]: Value error, 'Wuhan' is not written in Chinese characters"),
    (("zh-Hans: [武汉]", "zh-Hans: [湖南]"),
     "places[2] (Wuhan): '湖南' also names places[1] (Hunan)"),
    (("fr: [Wuhan]}", "fr: [Hu-bei]}"),
     "places[2] (Wuhan): 'Hu-bei' also names places[0] (Hubei)"),
    (("places: [Hubei, Hunan]", "places: [Hubei, Henan]"),
     ":7: groups[0] (两湖).places: 'Henan' is not the place of any entry under places"),
    (("provinces: [Hubei, Hunan]", "provinces: [Hubei, Hunan, Henan]"),
     ":1: provinces[2]: 'Henan' has no entry of its own under places"),
    (("not-places: [汉堡]", "not-places: [武汉]"),
     "not-places[0]: '武汉' also names places[2] (Wuhan)"),
    (("  - {names", "  - {nmes"), "groups[0].nmes: Extra inputs are not permitted"),
    (("places:\n", "places: [\n"), ": invalid YAML"),
])
def test_a_bad_file_names_file_line_and_entry(tmp_path: Path, change: tuple[str, str],
                                               expected: str) -> None:
    assert change[0] in GOOD
    path = _write(tmp_path, GOOD.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as raised:
        Gazetteer.from_file(path)
    assert f"{path}" in str(raised.value)
    assert expected in str(raised.value)


def test_the_same_entry_may_spell_a_name_twice(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("fr: [Wuhan]}", "fr: [Wuhan, WUHAN]}"))
    assert Gazetteer.from_file(path).provinces_in("wuhan") == {"Hubei": 1}


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the region gazetteer"):
        Gazetteer.from_file(tmp_path / "missing.yaml")


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"regions.yaml:1: \(top\): Input should be"):
        Gazetteer.from_file(_write(tmp_path, "- just a list\n"))
