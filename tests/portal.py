"""A fixture portal written for this project: list pages, detail pages and a feed, served live."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from tests.fixture_server import FixtureServer

ONE_SOURCE_CONFIG = """\
version: 1
sources:
  - id: portal
    kind: html-list
    url: {base}/zcwj/index.html
    items: {{selector: "ul.list li"}}
    follow: true
topics:
  - id: blockchain-policy
    terms: {{zh: [区块链]}}
subscriptions:
  - id: files
    channel: {{kind: file}}
defaults: {{allow_private: true, per_host_delay: 0s}}  # the test portal is on 127.0.0.1
"""
NAV = """<div class="nav"><ul>
<li><a href="/">首页</a></li><li><a href="/zt/qkl/">区块链专题</a></li>
<li><a href="/zcwj/">政策文件</a></li><li><a href="/hd/">互动交流</a></li></ul></div>"""
FOOTER = """<div class="footer"><p>主办：某省人民政府办公厅 地址：省府路1号</p>
<p>网站标识码 0000000001 ICP备案 00000000号</p><a href="/zt/qkl/">区块链服务网络</a></div>"""


@dataclass
class Post:
    """One document on the portal."""

    slug: str
    title: str
    date: str
    paragraphs: list[str] = field(default_factory=list)


def detail_page(post: Post, charset: str = "utf-8") -> str:
    body = "".join(f"<p>{text}</p>" for text in post.paragraphs)
    related = ('<div class="related"><h3>相关文章</h3><ul>'
               '<li><a href="/zt/qkl/1.html">区块链应用案例汇编</a></li></ul></div>')
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="{charset}">
<title>{post.title}_某省人民政府门户网站</title>
<meta name="ArticleTitle" content="{post.title}"><meta name="PubDate" content="{post.date} 09:00">
</head><body>{NAV}<div class="crumb">当前位置：首页 &gt; 政策文件</div>
<div class="article"><h1>{post.title}</h1><div class="info">发布时间：{post.date}</div>
<div class="content">{body}</div></div>{related}{FOOTER}</body></html>"""


def list_page(posts: list[Post], prefix: str, charset: str = "utf-8") -> str:
    items = "".join(f'<li><a href="{prefix}{p.slug}.html" title="{p.title}">{p.title}</a>'
                    f"<span>{p.date}</span></li>" for p in posts)
    return f"""<!DOCTYPE html><html><head><meta http-equiv="Content-Type"
content="text/html; charset={charset}"><title>政策文件</title></head>
<body>{NAV}<div class="main"><ul class="list">{items}</ul></div>{FOOTER}</body></html>"""


def rss_feed(posts: list[Post], base: str) -> str:
    entries = "".join(f"<item><title>{p.title}</title><link>{base}/news/{p.slug}.html</link>"
                      f"<description>{' '.join(p.paragraphs)}</description>"
                      f"<pubDate>Mon, 29 Jun 2020 08:00:00 +0000</pubDate></item>"
                      for p in posts)
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<title>Policy news</title><link>{base}/news/</link><description>news</description>
{entries}</channel></rss>"""


OLD_POSTS = [
    Post("a1", "关于做好2020年春季农业生产工作的通知", "2020-03-02",
         ["各市州人民政府：为做好春耕备耕工作，现就有关事项通知如下。",
          "一、抓好粮食生产。二、稳定生猪生产。"]),
    Post("a2", "省人民政府关于调整部分行政审批事项的决定", "2020-04-15",
         ["经研究，决定调整部分行政审批事项，现予公布。", "本决定自公布之日起施行。"]),
]
TOPIC_POST = Post("b1", "某省区块链技术创新发展行动计划（2020—2022年）", "2020-06-30", [
    "为贯彻落实国家关于把区块链作为核心技术自主创新重要突破口的部署，加快推动区块链技术和产业创新发展，制定本行动计划。",
    "到2022年，全省培育区块链骨干企业20家以上，建设区块链产业园区2个，形成一批可复制推广的应用示范。",
    "设立区块链产业发展专项资金，对符合条件的项目给予最高1000万元支持。",
])
OTHER_POST = Post("b2", "关于做好2020年防汛抗旱工作的通知", "2020-07-01", [
    "各市州、县市区人民政府：当前已进入主汛期，为切实做好防汛抗旱工作，现通知如下。",
    "一、压实防汛责任。二、加强监测预警。三、做好抢险救灾准备。",
])
GB_POSTS = [
    Post("g1", "关于印发䶮城数字经济发展规划的通知", "2020-05-20",
         ["各有关单位：现将规划印发给你们，请认真贯彻执行。㐀字测试。", "规划期为2020至2025年。"]),
]
FEED_POSTS = [
    Post("n1", "Province outlines grain subsidy rules", "2020-06-29",
         ["The provincial government published new rules for grain subsidies on Monday."]),
]


def serve_portal(server: FixtureServer, utf8: list[Post], gb: list[Post],
                 feed: list[Post]) -> None:
    """Publish the given posts on the server: UTF-8 list, GB18030 list, lying list, RSS."""
    listing = list_page(utf8, "./")
    etag = '"' + hashlib.sha1(listing.encode()).hexdigest()[:16] + '"'
    server.set("/zcwj/index.html", listing, headers={"ETag": etag})
    for post in utf8:
        server.set(f"/zcwj/{post.slug}.html", detail_page(post))
    server.set("/gb/index.html", list_page(gb, "/gb/", "gb18030").encode("gb18030"),
               content_type="text/html")
    for post in gb:
        server.set(f"/gb/{post.slug}.html", detail_page(post, "gb18030").encode("gb18030"),
                   content_type="text/html")
    server.set("/lying/index.html", list_page(utf8, "/lying/", "gb2312"),
               content_type="text/html")
    server.set("/feed.xml", rss_feed(feed, server.base_url), content_type="application/rss+xml")
