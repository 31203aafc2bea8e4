"""Synthetic case files for the benchmark: seeded, conforming to the shapes, in the proportions
of the ZPMC case (per 10 statements: one claim, about half an actor and half a source, some
evidence, reviews, reporting chains and contested claims).

``generate(n, seed)`` yields pyoxigraph quads in one named graph (``BENCH_GRAPH``);
``python -m bench.generate --statements 100000 -o bench.nq.gz`` writes them as N-Quads.
The data is fictional: invented organisations, people and ports, so that a benchmark file can
never be mistaken for a record of what real people said.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import random
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pyoxigraph as ox

from claimgraph.iris import CG, CITO, DIRECTION, SCHEMA, STANCE, TOPIC, VERDICT, Iris

BENCH_GRAPH = "https://claimgraph.org/graph/bench"
STATEMENTS_PER_BLOCK = 10  # one new claim per block, as in the ZPMC file
FIRST_DAY = dt.date(2014, 1, 1)
SPAN_DAYS = 3650  # every size spans the same ten years

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
OWL_SAME_AS = ox.NamedNode("http://www.w3.org/2002/07/owl#sameAs")
RDFS_LABEL = ox.NamedNode("http://www.w3.org/2000/01/rdf-schema#label")
PROV = "http://www.w3.org/ns/prov#"
WIKIDATA = "http://www.wikidata.org/entity/"
T_DATE = ox.NamedNode(XSD + "date")
T_GYEAR = ox.NamedNode(XSD + "gYear")
T_BOOLEAN = ox.NamedNode(XSD + "boolean")
T_DECIMAL = ox.NamedNode(XSD + "decimal")
T_INTEGER = ox.NamedNode(XSD + "integer")
T_LANGUAGE = ox.NamedNode(XSD + "language")
T_ANYURI = ox.NamedNode(XSD + "anyURI")
T_DATETIME = ox.NamedNode(XSD + "dateTime")


def _cg(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{CG}{name}")


def _schema(name: str) -> ox.NamedNode:
    return ox.NamedNode(f"{SCHEMA}{name}")


# Classes.
PERSON, ORGANIZATION, GOVERNMENT, MEDIA = (
    _cg("Person"),
    _cg("Organization"),
    _cg("GovernmentBody"),
    _cg("MediaOutlet"),
)
AFFILIATION, CLAIM, STATEMENT = _cg("Affiliation"), _cg("Claim"), _cg("Statement")
EVIDENCE, ASSESSMENT = _cg("Evidence"), _cg("EvidenceAssessment")
CLAIM_REVIEW, RATING = _schema("ClaimReview"), _schema("Rating")
SOURCE_KINDS: tuple[tuple[str, float], ...] = (
    ("NewsArticle", 0.50),
    ("Report", 0.10),
    ("Letter", 0.08),
    ("PressRelease", 0.10),
    ("WebPage", 0.08),
    ("SocialMediaPosting", 0.10),
    ("Photograph", 0.02),
    ("ExecutiveOrder", 0.02),
)

# Concepts.
ASSERTS, DENIES, QUESTIONS, REPORTS, ACKNOWLEDGES, DECLINES = (
    ox.NamedNode(f"{STANCE}{s}")
    for s in ("asserts", "denies", "questions", "reports", "acknowledges", "declinesToComment")
)
SUPPORTS, REFUTES, INCONCLUSIVE = (
    ox.NamedNode(f"{DIRECTION}{d}") for d in ("supports", "refutes", "inconclusive")
)
TOPICS = tuple(
    ox.NamedNode(f"{TOPIC}{t}")
    for t in (
        "port-security",
        "cellular-modems",
        "espionage",
        "crane-manufacturing",
        "trade-policy",
        "media-coverage",
        "port-automation",
        "industrial-policy",
    )
)

# Stance mixes: (stance, weight). A contested claim is asserted by some and denied by others.
UNCONTESTED = ((ASSERTS, 70), (QUESTIONS, 14), (ACKNOWLEDGES, 9), (DECLINES, 7))
CONTESTED = ((ASSERTS, 45), (DENIES, 35), (QUESTIONS, 10), (ACKNOWLEDGES, 5), (DECLINES, 5))
VERBS = {
    ASSERTS: ("said that", "表示"),
    DENIES: ("denied that", "否认"),
    QUESTIONS: ("questioned whether", "质疑"),
    REPORTS: ("reported that", "报道称"),
    ACKNOWLEDGES: ("acknowledged that", "承认"),
    DECLINES: ("declined to comment on whether", "拒绝评论"),
}
# Rating on a 1–5 scale as a checker gives it, and the normalized verdict it maps to.
RATINGS = (
    (1, "False", "FALSE"),
    (2, "Mostly false", "FALSE"),
    (3, "Half true", "MIXTURE"),
    (4, "Mostly true", "TRUE"),
    (5, "True", "TRUE"),
    (0, "Unproven", "OTHER"),
)

# --- a small fictional lexicon -----------------------------------------------------------
ZH_SURNAMES = (
    ("Wang", "王"),
    ("Li", "李"),
    ("Zhang", "张"),
    ("Liu", "刘"),
    ("Chen", "陈"),
    ("Yang", "杨"),
    ("Zhao", "赵"),
    ("Huang", "黄"),
    ("Zhou", "周"),
    ("Wu", "吴"),
    ("Xu", "徐"),
    ("Sun", "孙"),
)
ZH_GIVEN = (
    ("Wei", "伟"),
    ("Fang", "芳"),
    ("Jun", "军"),
    ("Lei", "磊"),
    ("Yan", "燕"),
    ("Qiang", "强"),
    ("Jing", "静"),
    ("Tao", "涛"),
    ("Hui", "慧"),
    ("Bin", "斌"),
    ("Xiaoming", "晓明"),
    ("Haiyan", "海燕"),
)
EN_FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Linda",
    "David",
    "Susan",
    "Carlos",
    "Aisha",
    "Kenji",
    "Olga",
    "Thomas",
    "Grace",
)
EN_LAST = (
    "Smith",
    "Johnson",
    "Garcia",
    "Miller",
    "Davis",
    "Martinez",
    "Walker",
    "Okafor",
    "Novak",
    "Tanaka",
    "Brennan",
    "Hughes",
    "Foster",
    "Reyes",
)
ZH_ORG_HEAD = (
    ("Huadong", "华东"),
    ("Haitong", "海通"),
    ("Changjiang", "长江"),
    ("Dongfang", "东方"),
    ("Zhenyuan", "振远"),
    ("Nanhai", "南海"),
    ("Jinqiao", "金桥"),
)
ZH_ORG_TRADE = (
    ("Port Machinery", "港机"),
    ("Heavy Industries", "重工"),
    ("Shipping", "航运"),
    ("Logistics", "物流"),
    ("Electronics", "电子"),
)
ZH_ORG_FORM = (("Group", "集团"), ("Company", "公司"), ("Research Institute", "研究院"))
EN_ORG_HEAD = (
    "Pacific",
    "Atlantic",
    "Gulf",
    "Northern",
    "Coastal",
    "Harbor",
    "Meridian",
    "Keystone",
)
EN_ORG_TRADE = ("Terminal", "Hoist", "Logistics", "Security", "Automation", "Freight")
EN_ORG_FORM = ("Group", "Partners", "Inc.", "Holdings", "Institute")
GOV_BODIES = (
    "Port Security Commission of {state}",
    "Department of Maritime Affairs of {state}",
    "Joint Transport Command, {state} District",
    "Senate Committee on Trade, {state} Delegation",
    "Office of Supply Chain Resilience, {state}",
)
STATES = ("Avalon", "Bellmark", "Carrow", "Dunmore", "Eastvale", "Fairhaven", "Glenport")
MEDIA_EN = ("{city} Ledger", "{city} Tribune", "{city} Wire", "The {city} Post", "{city} Radio")
MEDIA_ZH = (("{city} Daily", "{city_zh}日报"), ("{city} News Agency", "{city_zh}通讯社"))
CITIES = (
    ("Harborview", "港景"),
    ("Lakeside", "湖滨"),
    ("Westbridge", "西桥"),
    ("Redcliff", "赤崖"),
    ("Stonehaven", "石港"),
    ("Eastmere", "东湖"),
)
PORTS = (
    ("Port of Avalon", "阿瓦隆港"),
    ("Port of Bellmark", "贝尔马克港"),
    ("Port of Carrow", "卡罗港"),
    ("Port of Dunmore", "邓莫尔港"),
    ("Port of Eastvale", "伊斯特维尔港"),
    ("Port of Fairhaven", "费尔黑文港"),
    ("Port of Glenport", "格伦波特港"),
    ("Port of Harborview", "港景港"),
)
DEVICES = (
    ("cellular modems", "蜂窝调制解调器"),
    ("remote-access software", "远程访问软件"),
    ("GPS trackers", "GPS追踪器"),
    ("wireless routers", "无线路由器"),
    ("data loggers", "数据记录仪"),
    ("diagnostic sensors", "诊断传感器"),
)
VENDORS = ("Nordwerk Automation", "Helvetic Controls", "Kestrel Systems")
ROLES = (
    ("senior engineer", "高级工程师"),
    ("spokesperson", "发言人"),
    ("chair", "主席"),
    ("former president", "前总裁"),
    ("director", "主任"),
    ("analyst", "分析师"),
    ("commander", "司令"),
    ("port manager", "港口经理"),
    ("reporter", "记者"),
    ("editor", "编辑"),
)
# Claim templates: English and Chinese, filled from the same slots.
CLAIM_TEMPLATES = (
    (
        "{org} installed {device} on cranes delivered to the {port}",
        "{org_zh}在交付给{port_zh}的起重机上安装了{device_zh}",
    ),
    (
        "{device} on cranes at the {port} can transmit cargo data abroad",
        "{port_zh}起重机上的{device_zh}可以向境外传输货物数据",
    ),
    (
        "The contracts for cranes at the {port} did not include {device}",
        "{port_zh}的起重机合同不包括{device_zh}",
    ),
    (
        "Cranes made by {org} pose a national-security risk at the {port}",
        "{org_zh}制造的起重机对{port_zh}构成国家安全风险",
    ),
    (
        "Operators at the {port} knew that {device} were installed on their cranes",
        "{port_zh}的运营商知道起重机上安装了{device_zh}",
    ),
    (
        "Replacing foreign-made cranes at the {port} will cost {amount} billion dollars",
        "更换{port_zh}的外国制造起重机将耗资{amount}0亿美元",
    ),
    (
        "The crane control software at the {port} is supplied by {vendor}",
        "{port_zh}的起重机控制软件由{vendor}提供",
    ),
    (
        "{org} did not respond to questions about {device} at the {port}",
        "{org_zh}没有回应有关{port_zh}{device_zh}的问题",
    ),
)

# The fixed cast: the same IRIs at every size and seed, so the query battery can name them.
# (slug, class, English name, Chinese name, country, parent slug)
CAST: tuple[tuple[str, ox.NamedNode, str, str | None, str, str | None], ...] = (
    (
        "zenith-crane-corporation",
        ORGANIZATION,
        "Zenith Crane Corporation",
        "振远港机集团",
        "CN",
        None,
    ),
    (
        "zenith-design-institute",
        ORGANIZATION,
        "Zenith Crane Design and Research Institute",
        "振远港机设计研究院",
        "CN",
        "zenith-crane-corporation",
    ),
    (
        "port-security-subcommittee",
        GOVERNMENT,
        "House Subcommittee on Port Security",
        None,
        "US",
        None,
    ),
    (
        "eastern-republic-embassy",
        GOVERNMENT,
        "Embassy of the Eastern Republic in Washington",
        "东方共和国驻华盛顿大使馆",
        "CN",
        None,
    ),
    ("harbor-ledger", MEDIA, "The Harbor Ledger", None, "US", None),
    ("eastern-news-agency", MEDIA, "Eastern News Agency", "东方通讯社", "CN", None),
    (
        "port-authorities-association",
        ORGANIZATION,
        "Association of Port Authorities",
        None,
        "US",
        None,
    ),
    ("checkpoint-fact-desk", MEDIA, "Checkpoint Fact Desk", None, "US", None),
)
# (slug, English, Chinese, country, organisation slug, role index)
CAST_PEOPLE: tuple[tuple[str, str, str | None, str, str, int], ...] = (
    ("tang-wei", "Tang Wei", "唐伟", "CN", "zenith-design-institute", 0),
    ("maria-alvarez", "Maria Alvarez", None, "US", "port-security-subcommittee", 2),
    ("liu-ming", "Liu Ming", "刘明", "CN", "eastern-republic-embassy", 1),
)


@dataclass
class Actor:
    node: ox.NamedNode
    kind: ox.NamedNode
    name: str
    name_zh: str | None
    country: str


@dataclass
class Source:
    node: ox.NamedNode
    date: dt.date
    language: str
    publisher: Actor | None
    translation: ox.NamedNode | None = None


@dataclass
class Claim:
    node: ox.NamedNode
    text: str
    text_zh: str | None
    contested: bool
    about: list[Actor] = field(default_factory=list)


@dataclass
class Said:
    """A statement others may report (the target of a ``cg:reportedBy`` link)."""

    node: ox.NamedNode
    date: dt.date
    claim: Claim


class CaseFileGenerator:
    """Generates one synthetic case file block by block; keeps just enough state to link.

    Iterating yields the quads of ``n_statements`` statements and everything around them;
    ``write_batch`` then makes further statements (new claims and sources, existing actors)
    for timing validated writes on the generated data.
    """

    def __init__(self, n_statements: int, seed: int = 0, graph: str = BENCH_GRAPH) -> None:
        if n_statements < 1:
            raise ValueError("n_statements must be at least 1")
        self.n_statements = n_statements
        self.seed = seed
        self.graph = ox.NamedNode(graph)
        self.iris = Iris()
        self.rng = random.Random(f"claimgraph-bench:{seed}")
        self.n_blocks = -(-n_statements // STATEMENTS_PER_BLOCK)
        self.actors: list[Actor] = []
        self.by_kind: dict[ox.NamedNode, list[Actor]] = {
            k: [] for k in (PERSON, ORGANIZATION, GOVERNMENT, MEDIA)
        }
        self.members: dict[ox.NamedNode, list[Actor]] = {}  # organisation → affiliated people
        self.sources: deque[Source] = deque(maxlen=8)  # recent sources (time moves forward)
        self.claims: deque[Claim] = deque(maxlen=20)  # recent claims
        self.reportable: deque[Said] = deque(maxlen=30)  # recent statements, to be reported
        self.counts: dict[str, int] = {}
        self.blocks_done = 0
        self._out: list[ox.Quad] = []

    # -- minting and emitting ---------------------------------------------------------------
    def _mint(self, kind: str, label: str = "") -> ox.NamedNode:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return ox.NamedNode(self.iris.resource(kind, f"{kind[0]}{n} {label}"))

    def _add(self, s: ox.NamedNode, p: ox.NamedNode, o: ox.NamedNode | ox.Literal) -> None:
        self._out.append(ox.Quad(s, p, o, self.graph))

    def _text(self, s: ox.NamedNode, p: ox.NamedNode, text: str, lang: str) -> None:
        self._add(s, p, ox.Literal(text, language=lang))

    def _date(self, s: ox.NamedNode, p: ox.NamedNode, day: dt.date) -> None:
        self._add(s, p, ox.Literal(day.isoformat(), datatype=T_DATE))

    def _day(self, block: int) -> dt.date:
        # write batches come after the last block: they stay on its day, never in the future
        return FIRST_DAY + dt.timedelta(days=min(block, self.n_blocks) * SPAN_DAYS // self.n_blocks)

    # -- the whole file ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[ox.Quad]:
        if self.blocks_done:
            raise RuntimeError("a generator yields its case file once")
        self._graph_description()
        self._cast()
        yield from self._flush()
        for b in range(self.n_blocks):
            n = min(STATEMENTS_PER_BLOCK, self.n_statements - b * STATEMENTS_PER_BLOCK)
            self._block(b, n, new_actors=True, appraise=True)
            yield from self._flush()

    def write_batch(self, n_statements: int = 100) -> list[ox.Quad]:
        """Quads of ``n_statements`` new statements after the generated file (call it after
        iterating): new claims and sources, spoken by existing actors."""
        if self.blocks_done < self.n_blocks:
            raise RuntimeError("iterate over the generator before asking for write batches")
        done = 0
        while done < n_statements:
            n = min(STATEMENTS_PER_BLOCK, n_statements - done)
            self._block(self.blocks_done, n, new_actors=False, appraise=False)
            done += n
        return self._flush()

    def _flush(self) -> list[ox.Quad]:
        out, self._out = self._out, []
        return out

    def _graph_description(self) -> None:
        g = self.graph
        self._add(g, RDF_TYPE, ox.NamedNode(PROV + "Entity"))
        self._text(
            g,
            RDFS_LABEL,
            f"Synthetic benchmark case file ({self.n_statements} statements, seed {self.seed})",
            "en",
        )
        self._add(
            g,
            ox.NamedNode(PROV + "generatedAtTime"),
            ox.Literal("2025-01-01T00:00:00Z", datatype=T_DATETIME),
        )

    # -- actors -----------------------------------------------------------------------------
    def _actor(
        self,
        node: ox.NamedNode,
        kind: ox.NamedNode,
        name: str,
        name_zh: str | None,
        country: str,
        parent: Actor | None = None,
    ) -> Actor:
        actor = Actor(node, kind, name, name_zh, country)
        self._add(node, RDF_TYPE, kind)
        self._text(node, _schema("name"), name, "en")
        if name_zh:
            self._text(node, _schema("name"), name_zh, "zh")
        self._add(node, _cg("country"), ox.Literal(country))
        if parent is not None:
            self._add(node, _cg("parentOrganization"), parent.node)
        self.actors.append(actor)
        self.by_kind[kind].append(actor)
        return actor

    def _cast(self) -> None:
        by_slug: dict[str, Actor] = {}
        for slug, kind, name, zh, country, parent in CAST:
            node = ox.NamedNode(self.iris.resource("actor", slug))
            par = by_slug[parent] if parent else None
            by_slug[slug] = self._actor(node, kind, name, zh, country, par)
        for slug, name, zh, country, org, role in CAST_PEOPLE:
            person = self._actor(
                ox.NamedNode(self.iris.resource("actor", slug)), PERSON, name, zh, country
            )
            self._affiliation(person, by_slug[org], role, 2010, None)
        for name in ("Wen Jie", "Robert Hale"):  # translators
            self._actor(self._mint("actor", name), PERSON, name, None, "US")

    def _affiliation(
        self, person: Actor, org: Actor, role: int, start: int, end: int | None
    ) -> None:
        aff = self._mint("affiliation", f"{person.name} {org.name}")
        self._add(person.node, _cg("affiliation"), aff)
        self._add(aff, RDF_TYPE, AFFILIATION)
        self._add(aff, _cg("member"), person.node)
        self._add(aff, _cg("organization"), org.node)
        en, zh = ROLES[role]
        self._text(aff, _cg("role"), en, "en")
        if person.name_zh:
            self._text(aff, _cg("role"), zh, "zh")
        self._add(aff, _cg("startDate"), ox.Literal(str(start), datatype=T_GYEAR))
        if end is not None:
            self._add(aff, _cg("endDate"), ox.Literal(str(end), datatype=T_GYEAR))
        self.members.setdefault(org.node, []).append(person)

    def _new_actor(self, rng: random.Random) -> None:
        r = rng.random()
        chinese = rng.random() < 0.4
        country = "CN" if chinese else "US"
        if r < 0.5:
            if chinese:
                (sn, sz), (gn, gz) = rng.choice(ZH_SURNAMES), rng.choice(ZH_GIVEN)
                name, zh = f"{sn} {gn}", f"{sz}{gz}"
            else:
                name, zh = f"{rng.choice(EN_FIRST)} {rng.choice(EN_LAST)}", None
            person = self._actor(self._mint("actor", name), PERSON, name, zh, country)
            for _ in range(1 if rng.random() < 0.7 else 2):
                org = self._pick(rng, rng.choice((ORGANIZATION, ORGANIZATION, GOVERNMENT, MEDIA)))
                start = rng.randint(1995, 2020)
                end = start + rng.randint(1, 8) if rng.random() < 0.3 else None
                self._affiliation(person, org, rng.randrange(len(ROLES)), start, end)
            return
        if r < 0.7:
            kind = ORGANIZATION
            if chinese:
                (h, hz), (t, tz), (f, fz) = (
                    rng.choice(ZH_ORG_HEAD),
                    rng.choice(ZH_ORG_TRADE),
                    rng.choice(ZH_ORG_FORM),
                )
                name, zh = f"{h} {t} {f}", f"{hz}{tz}{fz}"
            else:
                words = (rng.choice(EN_ORG_HEAD), rng.choice(EN_ORG_TRADE), rng.choice(EN_ORG_FORM))
                name, zh = " ".join(words), None
        elif r < 0.85:
            kind, zh = GOVERNMENT, None
            name = rng.choice(GOV_BODIES).format(state=rng.choice(STATES))
        else:
            kind = MEDIA
            city, city_zh = rng.choice(CITIES)
            if chinese:
                en, zh_t = rng.choice(MEDIA_ZH)
                name, zh = en.format(city=city), zh_t.format(city_zh=city_zh)
            else:
                name, zh = rng.choice(MEDIA_EN).format(city=city), None
        orgs = self.by_kind[ORGANIZATION]
        parent = rng.choice(orgs) if kind == ORGANIZATION and rng.random() < 0.15 else None
        actor = self._actor(self._mint("actor", name), kind, name, zh, country, parent)
        if rng.random() < 0.1:
            self._add(
                actor.node, OWL_SAME_AS, ox.NamedNode(f"{WIKIDATA}Q{rng.randint(10**6, 10**8)}")
            )

    def _pick(self, rng: random.Random, kind: ox.NamedNode | None = None) -> Actor:
        """An actor, most often an early one: a few speak a lot, most rarely."""
        pool = self.actors if kind is None else self.by_kind[kind]
        return pool[int(len(pool) * rng.random() ** 2)]

    # -- sources ----------------------------------------------------------------------------
    def _new_source(self, day: dt.date, rng: random.Random) -> None:
        originals = [s for s in self.sources if s.language == "zh" and s.translation is None]
        if originals and rng.random() < 0.25:
            self._translation(rng.choice(originals), rng)
            return
        kind = rng.choices([k for k, _ in SOURCE_KINDS], [w for _, w in SOURCE_KINDS])[0]
        publisher_kind = {"NewsArticle": MEDIA, "Letter": GOVERNMENT, "ExecutiveOrder": GOVERNMENT}
        publisher = self._pick(rng, publisher_kind.get(kind, ORGANIZATION))
        zh = publisher.name_zh is not None and rng.random() < 0.7
        when = day + dt.timedelta(days=rng.randint(0, 3))
        topic = rng.choice(DEVICES)
        title = f"{publisher.name} on {topic[0]} at the ports ({when:%B %Y})"
        node = self._mint("source", title)
        self._add(node, RDF_TYPE, _cg(kind))
        self._text(node, _cg("title"), title, "en")
        if zh:
            self._text(node, _cg("title"), f"{publisher.name_zh}谈港口{topic[1]}", "zh")
        self._add(node, _cg("publisher"), publisher.node)
        if kind == "NewsArticle" and rng.random() < 0.5:
            self._add(node, _cg("author"), self._pick(rng, PERSON).node)
        self._date(node, _cg("datePublished"), when)
        lang = "zh" if zh else "en"
        self._add(node, _cg("language"), ox.Literal(lang, datatype=T_LANGUAGE))
        if rng.random() < 0.3:
            url = f"https://news.example/{node.value.rsplit('/', 1)[1]}"
            self._add(node, _schema("url"), ox.Literal(url, datatype=T_ANYURI))
        self.sources.append(Source(node, when, lang, publisher))

    def _translation(self, original: Source, rng: random.Random) -> None:
        when = original.date + dt.timedelta(days=rng.randint(0, 5))
        node = self._mint("source", f"translation of {original.node.value.rsplit('/', 1)[1]}")
        translator = self._pick(rng, PERSON)
        self._add(node, RDF_TYPE, _cg("WebPage"))
        self._text(node, _cg("title"), f"English translation ({when:%B %Y})", "en")
        self._add(node, _cg("translationOf"), original.node)
        self._add(node, _cg("translatedBy"), translator.node)
        self._add(node, _cg("publisher"), translator.node)  # on the translator's own page
        self._date(node, _cg("datePublished"), when)
        self._add(node, _cg("language"), ox.Literal("en", datatype=T_LANGUAGE))
        original.translation = node
        self.sources.append(Source(node, when, "en", translator))

    # -- claims -----------------------------------------------------------------------------
    def _new_claim(self, rng: random.Random, anchor: bool = False) -> Claim:
        orgs = self.by_kind[ORGANIZATION]
        org = orgs[int(len(orgs) * rng.random() ** 2)]
        port, port_zh = rng.choice(PORTS)
        device, device_zh = rng.choice(DEVICES)
        template, template_zh = CLAIM_TEMPLATES[
            0 if anchor else rng.randrange(len(CLAIM_TEMPLATES))
        ]
        if anchor:
            org, port, port_zh, device, device_zh = orgs[0], *PORTS[0], *DEVICES[0]
        slots = {
            "org": org.name,
            "org_zh": org.name_zh or org.name,
            "port": port,
            "port_zh": port_zh,
            "device": device,
            "device_zh": device_zh,
            "vendor": rng.choice(VENDORS),
            "amount": str(rng.randint(2, 30)),
        }
        text = template.format(**slots)
        text = text[0].upper() + text[1:]
        zh = template_zh.format(**slots) if rng.random() < 0.3 else None
        node = self._mint("claim", " ".join(text.split()[:6]))
        contested = anchor or rng.random() < 0.35
        claim = Claim(node, text, zh, contested)
        self._add(node, RDF_TYPE, CLAIM)
        self._text(node, _cg("text"), text, "en")
        if zh:
            self._text(node, _cg("text"), zh, "zh")
        picks = (TOPICS[int(len(TOPICS) * rng.random() ** 1.5)] for _ in range(rng.randint(1, 2)))
        for topic in dict.fromkeys(picks):
            self._add(node, _cg("topic"), topic)
        about = [org] if "{org" in template else []
        if rng.random() < 0.3:
            about.append(self._pick(rng))
        for actor in dict.fromkeys(a.node for a in about):
            self._add(node, _cg("about"), actor)
        claim.about = about
        if self.claims:
            r = rng.random()
            other = rng.choice(self.claims).node
            if r < 0.10:
                self._add(node, _cg("contradicts"), other)
            elif r < 0.13:
                self._add(node, _cg("sameClaimAs"), other)
            elif r < 0.18:
                self._add(node, _cg("partOf"), other)
        self.claims.append(claim)
        return claim

    # -- statements -------------------------------------------------------------------------
    def _statement(
        self,
        rng: random.Random,
        speaker: Actor,
        claim: Claim,
        stance: ox.NamedNode,
        source: Source,
        day: dt.date,
    ) -> Said:
        node = self._mint("statement")
        self._add(node, RDF_TYPE, STATEMENT)
        self._add(node, _cg("speaker"), speaker.node)
        self._add(node, _cg("claim"), claim.node)
        self._add(node, _cg("stance"), stance)
        self._date(node, _cg("date"), day)
        self._add(node, _cg("source"), source.node)
        verb, verb_zh = VERBS[stance]
        lowered = claim.text[0].lower() + claim.text[1:]
        if source.language == "zh" and claim.text_zh:
            excerpt = f"{speaker.name_zh or speaker.name}{verb_zh}{claim.text_zh}。"
            self._text(node, _cg("excerpt"), excerpt, "zh")
        else:
            self._text(node, _cg("excerpt"), f"{speaker.name} {verb} {lowered}.", "en")
        if stance in (ASSERTS, DENIES) and rng.random() < 0.55:
            words = claim.text if stance is ASSERTS else f"It is not true that {lowered}"
            if source.language == "zh" and source.translation is not None:
                self._text(node, _cg("quote"), f"{words}.", "en")
                self._add(node, _cg("quoteSource"), source.translation)
            elif source.language == "zh" and claim.text_zh:
                self._text(node, _cg("quote"), f"{claim.text_zh}。", "zh")
            else:
                self._text(node, _cg("quote"), f"{words}.", "en")
        r = rng.random()
        if r < 0.06:
            self._add(node, _cg("dateApproximate"), ox.Literal("true", datatype=T_BOOLEAN))
            self._text(node, _cg("dateNote"), "the source says “last month”", "en")
        elif r < 0.14:
            self._text(node, _cg("note"), "paraphrase, not a direct quote", "en")
        return Said(node, day, claim)

    def _block(self, b: int, n: int, *, new_actors: bool, appraise: bool) -> None:
        """One claim, ``n`` statements, and what a case file holds around them."""
        rng = self.rng
        day = self._day(b)
        if new_actors and (rng.random() < 0.5 or b == 0):
            self._new_actor(rng)
        for _ in range(3 if b == 0 else (1 if rng.random() < 0.5 else 0)):
            self._new_source(day, rng)
        claim = self._new_claim(rng, anchor=b == 0 and appraise)
        sources = list(self.sources)
        newest = max(sources, key=lambda s: s.date)
        for i in range(n):
            target = None
            if i >= 2 and rng.random() < 0.2:
                candidates = [s for s in self.reportable if s.date <= newest.date]
                target = rng.choice(candidates) if candidates else None
            if target is not None:
                # Reporting: a media outlet relays an earlier statement in the newest source.
                reporter = newest.publisher
                if reporter is None or reporter.kind != MEDIA:
                    reporter = self._pick(rng, MEDIA)
                span = (newest.date - target.date).days
                when = target.date + dt.timedelta(days=rng.randint(0, span))
                said = self._statement(rng, reporter, target.claim, REPORTS, newest, when)
                self._add(target.node, _cg("reportedBy"), said.node)
                self.reportable.append(said)
                continue
            about = claim if rng.random() < 0.7 else rng.choice(self.claims)
            mix = CONTESTED if about.contested else UNCONTESTED
            stance = rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
            insiders = [p for a in about.about for p in self.members.get(a.node, ())]
            # now and then someone speaks for an organisation the claim is about
            insider = insiders and rng.random() < 0.3
            speaker = rng.choice(insiders) if insider else self._pick(rng)
            source = rng.choice(sources)
            when = source.date - dt.timedelta(days=rng.randint(0, 20))
            said = self._statement(rng, speaker, about, stance, source, when)
            if stance is not DECLINES and rng.random() < 0.5:
                self.reportable.append(said)
        if appraise:
            self._evidence(claim, sources, day, rng)
            if rng.random() < 0.25 or b == 0:
                self._review(claim, day, rng)
        self.blocks_done = b + 1

    # -- evidence and reviews ---------------------------------------------------------------
    def _evidence(
        self, claim: Claim, sources: list[Source], day: dt.date, rng: random.Random
    ) -> None:
        r = rng.random()
        count = 0 if r < 0.45 else 1 if r < 0.75 else 2 if r < 0.95 else 3
        for k in range(count):
            if claim.contested and k < 2:
                direction = (SUPPORTS, REFUTES)[k]  # contested claims: evidence both ways
            else:
                direction = rng.choices((SUPPORTS, REFUTES, INCONCLUSIVE), (45, 35, 20))[0]
            doc = rng.choice(sources)
            ev = self._mint("evidence", f"{claim.text.split()[0]} evidence")
            self._add(ev, RDF_TYPE, EVIDENCE)
            self._text(
                ev,
                _cg("title"),
                f"Inspection record cited in {doc.node.value.rsplit('/', 1)[1]}",
                "en",
            )
            if rng.random() < 0.5:
                self._text(
                    ev,
                    _cg("description"),
                    "Photographs and a parts list from a crane inspection.",
                    "en",
                )
            self._add(ev, _cg("documentedIn"), doc.node)
            if rng.random() < 0.1:
                self._add(ev, _cg("evidenceSource"), doc.node)
            targets = [claim]
            if rng.random() < 0.2 and len(self.claims) > 1:
                other = rng.choice(self.claims)
                if other is not claim:
                    targets.append(other)
            for target in targets:
                # assessed after the document it rests on appeared
                self._assessment(ev, target, direction, max(day, doc.date), rng)
                direction = rng.choice((SUPPORTS, REFUTES, INCONCLUSIVE))

    def _assessment(
        self,
        ev: ox.NamedNode,
        claim: Claim,
        direction: ox.NamedNode,
        day: dt.date,
        rng: random.Random,
    ) -> None:
        node = self._mint("assessment")
        self._add(node, RDF_TYPE, ASSESSMENT)
        self._add(node, _cg("evidence"), ev)
        self._add(node, _cg("assessedClaim"), claim.node)
        self._add(node, _cg("direction"), direction)
        self._add(node, _cg("assessedBy"), self._pick(rng).node)
        self._date(node, _cg("assessmentDate"), day + dt.timedelta(days=rng.randint(1, 40)))
        confidence = f"{rng.randint(30, 100) / 100:.2f}"
        self._add(node, _cg("confidence"), ox.Literal(confidence, datatype=T_DECIMAL))
        if rng.random() < 0.3:
            self._text(
                node, _cg("rationale"), "The inspection record matches the claim's specifics.", "en"
            )
        if direction == SUPPORTS:
            self._add(ev, ox.NamedNode(f"{CITO}supports"), claim.node)
        elif direction == REFUTES:
            self._add(ev, ox.NamedNode(f"{CITO}refutes"), claim.node)

    def _review(self, claim: Claim, day: dt.date, rng: random.Random) -> None:
        review = self._mint("review", f"review of {claim.node.value.rsplit('/', 1)[1]}")
        rating = self._mint("rating", f"rating of {claim.node.value.rsplit('/', 1)[1]}")
        checker = self._pick(rng, MEDIA)
        value, label, verdict = rng.choice(RATINGS[2:5] if claim.contested else RATINGS)
        self._add(review, RDF_TYPE, CLAIM_REVIEW)
        self._add(review, _schema("itemReviewed"), claim.node)
        self._text(review, _schema("claimReviewed"), claim.text, "en")
        self._add(review, _schema("reviewRating"), rating)
        self._add(review, _schema("author"), checker.node)
        self._date(review, _schema("datePublished"), day + dt.timedelta(days=rng.randint(5, 60)))
        url = f"https://factcheck.example/{review.value.rsplit('/', 1)[1]}"
        self._add(review, _schema("url"), ox.Literal(url, datatype=T_ANYURI))
        self._add(review, _cg("normalizedVerdict"), ox.NamedNode(f"{VERDICT}{verdict}"))
        self._add(rating, RDF_TYPE, RATING)
        self._add(rating, _schema("ratingValue"), ox.Literal(str(value), datatype=T_INTEGER))
        self._add(rating, _schema("bestRating"), ox.Literal("5", datatype=T_INTEGER))
        self._add(rating, _schema("worstRating"), ox.Literal("1", datatype=T_INTEGER))
        self._add(rating, _schema("alternateName"), ox.Literal(label, language="en"))


def generate(n_statements: int, seed: int = 0) -> Iterator[ox.Quad]:
    """The quads of a synthetic case file with ``n_statements`` statements, in ``BENCH_GRAPH``."""
    return iter(CaseFileGenerator(n_statements, seed))


def write_nquads(quads: Iterator[ox.Quad], out: IO[bytes]) -> None:
    ox.serialize(quads, out, ox.RdfFormat.N_QUADS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.generate", description="Write a synthetic ClaimGraph case file."
    )
    parser.add_argument("--statements", type=int, default=10_000, help="how many statements")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "-o", "--output", type=Path, required=True, help="N-Quads file (.nq, or .nq.gz)"
    )
    args = parser.parse_args(argv)
    opener = gzip.open if args.output.suffix == ".gz" else open
    with opener(args.output, "wb") as out:
        write_nquads(generate(args.statements, args.seed), out)
    print(f"wrote {args.statements} statements to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
