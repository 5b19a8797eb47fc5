"""What a search on the synthetic city should find, worked out in plain Python from the generated
resources, without any of the server's code (no `tobiume.indexing`, no `tobiume.search`).

Each matcher is the specification's rule written out as simply as possible
(https://hl7.org/fhir/R4/search.html): string prefix matching after JP Core's folding, token
`system|code`, references by id or `Type/id`, dates and numbers as ranges with the prefix table
of https://hl7.org/fhir/R4/search.html#prefix. The tests compare the server's answers, page by
page over HTTP, with these.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from tests.conftest import BASE

Resource = dict[str, Any]
SYL = "SYL"
REPRESENTATION = "http://hl7.org/fhir/StructureDefinition/iso21090-EN-representation"


# --- the world -------------------------------------------------------------------------------


@dataclass
class World:
    """Every resource the server holds, as last written, by type and by `Type/id`."""

    resources: list[Resource]
    by_key: dict[str, Resource] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_key = {key(r): r for r in self.resources}
        assert len(self.by_key) == len(self.resources), "ids must be unique per type"

    def of(self, res_type: str) -> list[Resource]:
        return [r for r in self.resources if r["resourceType"] == res_type]

    def ids(self, res_type: str, keep: Callable[[Resource], bool]) -> set[str]:
        return {r["id"] for r in self.of(res_type) if keep(r)}


def key(resource: Resource) -> str:
    return f"{resource['resourceType']}/{resource['id']}"


# --- strings ---------------------------------------------------------------------------------

_KATAKANA_FIRST, _KATAKANA_LAST = ord("ァ"), ord("ヶ")
_SOUND_MARKS = {"\u3099", "\u309a", "\u309b", "\u309c"}


def fold(text: str) -> str:
    """JP Core's string-search equivalences, applied step by step: width (NFKC), case, voiced
    and semi-voiced sound marks (and other combining accents), katakana = hiragana, and no
    spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out: list[str] = []
    for ch in unicodedata.normalize("NFD", text):
        if ch in _SOUND_MARKS or unicodedata.combining(ch):
            continue
        if ch.isspace() or unicodedata.category(ch).startswith("P"):
            continue
        if _KATAKANA_FIRST <= ord(ch) <= _KATAKANA_LAST:
            ch = chr(ord(ch) - 0x60)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def name_parts(name: Resource) -> list[str]:
    """The strings a HumanName is searched by (https://hl7.org/fhir/R4/search.html#string)."""
    parts = [name.get("text"), name.get("family")]
    parts += name.get("given", []) + name.get("prefix", []) + name.get("suffix", [])
    return [p for p in parts if p]


def is_kana(name: Resource) -> bool:
    return any(
        e.get("url") == REPRESENTATION and e.get("valueCode") == SYL
        for e in name.get("extension", [])
    )


def starts(query: str) -> Callable[[Iterable[str]], bool]:
    """Plain string search: some value starts with the query, both folded."""
    wanted = fold(query)
    return lambda values: any(fold(v).startswith(wanted) for v in values)


def contains(query: str) -> Callable[[Iterable[str]], bool]:
    wanted = fold(query)
    return lambda values: any(wanted in fold(v) for v in values)


def exact(query: str) -> Callable[[Iterable[str]], bool]:
    return lambda values: any(v == query for v in values)


# --- tokens and references -------------------------------------------------------------------


def codings(concepts: Iterable[Resource | None]) -> list[Resource]:
    return [c for concept in concepts if concept for c in concept.get("coding", [])]


def token(query: str, pairs: Iterable[tuple[str | None, str | None]]) -> bool:
    """`code`, `system|code`, `|code` (no system) or `system|` against (system, code) pairs."""
    if "|" not in query:
        return any(code == query for _, code in pairs)
    system, _, code = query.partition("|")
    for s, c in pairs:
        if system == "" and s is None and c == code:
            return True
        if system and s == system and (code == "" or c == code):
            return True
    return False


def coding_pairs(items: Iterable[Resource]) -> list[tuple[str | None, str | None]]:
    return [(c.get("system"), c.get("code")) for c in items]


def identifier_pairs(items: Iterable[Resource]) -> list[tuple[str | None, str | None]]:
    return [(i.get("system"), i.get("value")) for i in items]


def refs(value: Any) -> Iterator[str]:
    """Every literal `reference` inside a resource or element, anywhere."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for child in value.values():
            yield from refs(child)
    elif isinstance(value, list):
        for child in value:
            yield from refs(child)


def refers(reference: Resource | None, query: str, res_type: str | None = None) -> bool:
    """A Reference element against `id` or `Type/id` (and the `:Type` modifier)."""
    if not reference or "reference" not in reference:
        return False
    target_type, _, target_id = reference["reference"].partition("/")
    if "/" in query:
        wanted_type, _, wanted_id = query.partition("/")
        return (target_type, target_id) == (wanted_type, wanted_id)
    return target_id == query and (res_type is None or target_type == res_type)


# --- dates -----------------------------------------------------------------------------------

Range = tuple[datetime, datetime]
"""Half-open [low, high) in UTC."""
LOWEST = datetime(1, 1, 1, tzinfo=UTC)
HIGHEST = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def date_range(text: str) -> Range:
    """The implicit range of a date, dateTime or instant as written
    (https://hl7.org/fhir/R4/search.html#date). A value without a zone is taken as UTC, the
    server's documented choice where the specification leaves it open."""
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    if re.fullmatch(r"\d{4}-\d{2}", text):
        year, month = int(text[:4]), int(text[5:])
        low = datetime(year, month, 1, tzinfo=UTC)
        high = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
        return low, high
    if _DAY.fullmatch(text):
        low = datetime.fromisoformat(text).replace(tzinfo=UTC)
        return low, low + timedelta(days=1)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    clock = text[11:].split("+")[0].split("-")[0].rstrip("Z")
    if clock.count(":") == 1:
        width = timedelta(minutes=1)
    elif "." in clock:
        width = timedelta(microseconds=10 ** max(0, 6 - len(clock.split(".")[1])))
    else:
        width = timedelta(seconds=1)
    return moment.astimezone(UTC), moment.astimezone(UTC) + width


def period_range(period: Resource) -> Range:
    low = date_range(period["start"])[0] if "start" in period else LOWEST
    high = date_range(period["end"])[1] if "end" in period else HIGHEST
    return low, high


def date_matches(query: str, target: Range) -> bool:
    """One prefixed date against one stored range, per the table in
    https://hl7.org/fhir/R4/search.html#prefix (ap is tested apart: its width is the
    server's choice)."""
    prefix, text = (query[:2], query[2:]) if query[:2].isalpha() else ("eq", query)
    low, high = date_range(text)
    t_low, t_high = target
    inside = low <= t_low and t_high <= high
    return {
        "eq": inside,
        "ne": not inside,
        "gt": t_high > high,
        "lt": t_low < low,
        "ge": t_high > high or inside,
        "le": t_low < low or inside,
        "sa": t_low >= high,
        "eb": t_high <= low,
    }[prefix]


# --- numbers and quantities ------------------------------------------------------------------


def number_matches(query: str, value: Decimal) -> bool:
    """https://hl7.org/fhir/R4/search.html#number: `eq` (and `ne`) within the precision the
    value is written with (`100` is [99.5, 100.5)); the other prefixes against the exact value."""
    prefix, text = (query[:2], query[2:]) if query[:2].isalpha() else ("eq", query)
    exact_value = Decimal(text)
    exponent = exact_value.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    within = exact_value - half <= value < exact_value + half
    return {
        "eq": within,
        "ne": not within,
        "gt": value > exact_value,
        "lt": value < exact_value,
        "ge": value >= exact_value,
        "le": value <= exact_value,
    }[prefix]


def quantity_matches(query: str, quantity: Resource | None) -> bool:
    """`[prefix]number`, `number|system|code` or `number||code` (code or unit, any system)."""
    if not quantity or "value" not in quantity:
        return False
    number, _, unit = query.partition("|")
    system, _, code = unit.partition("|")
    if system and quantity.get("system") != system:
        return False
    if system and code and quantity.get("code") != code:
        return False
    if not system and code and code not in (quantity.get("code"), quantity.get("unit")):
        return False
    return number_matches(number, Decimal(str(quantity["value"])))


# --- talking to the server -------------------------------------------------------------------


@dataclass
class Found:
    """Every page of one search: the matches in order, the included resources per page."""

    matches: list[str]
    includes: list[set[str]]
    """Per page, `Type/id` of the entries with search.mode include."""
    pages: list[list[str]]
    """Per page, `Type/id` of the matches."""
    total: int | None

    @property
    def ids(self) -> set[str]:
        assert len(set(self.matches)) == len(self.matches), f"duplicates: {self.matches}"
        return {m.partition("/")[2] for m in self.matches}


async def search_all(
    client: httpx.AsyncClient, path: str, params: list[tuple[str, str]], count: int = 100
) -> Found:
    """GET `path` with `params` and every `next` page after it."""
    first = await client.get(path, params=[*params, ("_count", str(count))])
    assert first.status_code == 200, f"{path}?{params}: {first.text[:500]}"
    found = Found([], [], [], None)
    page: httpx.Response | None = first
    while page is not None:
        assert page.status_code == 200, page.text[:500]
        bundle = page.json()
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "searchset"
        if found.total is None:
            found.total = bundle.get("total")
        matched: list[str] = []
        included: set[str] = set()
        for entry in bundle.get("entry", []):
            res = entry["resource"]
            mode = entry["search"]["mode"]
            if mode == "match":
                matched.append(key(res))
            elif mode == "include":
                included.add(key(res))
        found.matches.extend(matched)
        found.pages.append(matched)
        found.includes.append(included)
        links = {link["relation"]: link["url"] for link in bundle.get("link", [])}
        nxt = links.get("next")
        page = await client.get(nxt.removeprefix(BASE + "/")) if nxt else None
        assert len(found.pages) < 200, "paging does not end"
    return found
