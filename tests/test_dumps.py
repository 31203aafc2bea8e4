"""Dumps, against a live server: every dump parses back to the quads the store holds, per graph
too; gzip; ETag / Last-Modified and 304; a write makes a new dump; unknown dumps are 404."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from claimgraph.app import create_app
from claimgraph.claimreview import import_markup
from claimgraph.core import ClaimGraph
from claimgraph.dumps import parse_name
from claimgraph.formats import by_media_type, by_path
from claimgraph.validation import Validator
from tests.conftest import FIXTURES
from tests.live_server import fetch, seeded_with_reviews, serve

FULL = ["claimgraph.trig", "claimgraph.nq", "claimgraph.trig.gz", "claimgraph.nq.gz"]


@pytest.fixture(scope="module")
def live(validator: Validator) -> Iterator[tuple[str, ClaimGraph]]:
    cg = seeded_with_reviews(validator)
    with serve(create_app(cg.settings, graph=cg)) as url:
        yield url, cg
    cg.close()


def quads_of(body: bytes, filename: str) -> list[ox.Quad]:
    if filename.endswith(".gz"):
        body = gzip.decompress(body)
    return list(ox.parse(body, format=by_path(filename).ox))


def store_quads(cg: ClaimGraph, graph: ox.NamedNode | None = None) -> set[ox.Quad]:
    return set(cg.store.quads(None, None, None, graph))


@pytest.mark.parametrize(
    ("filename", "stem", "fmt", "gz"),
    [
        ("claimgraph.trig", "claimgraph", "trig", False),
        ("claimgraph.nq.gz", "claimgraph", "nquads", True),
        ("zpmc.nq", "zpmc", "nquads", False),
        ("claimgraph.ttl", None, None, None),
        (".trig", None, None, None),
    ],
)
def test_parse_name(filename: str, stem: str | None, fmt: str | None, gz: bool | None) -> None:
    name = parse_name(filename)
    if stem is None:
        assert name is None
    else:
        assert name is not None and (name.stem, name.fmt.name, name.gz) == (stem, fmt, gz)


@pytest.mark.parametrize("filename", FULL)
def test_full_dump_holds_every_quad(live: tuple[str, ClaimGraph], filename: str) -> None:
    url, cg = live
    reply = fetch(f"{url}/dumps/{filename}")
    assert reply.status == 200
    expected = "application/gzip" if filename.endswith(".gz") else by_path(filename).media_type
    assert reply.content_type == expected
    assert int(reply.headers["Content-Length"]) == len(reply.body)
    assert filename in reply.headers["Content-Disposition"]
    quads = quads_of(reply.body, filename)
    assert len(quads) == len(store_quads(cg)) == cg.store.count()
    assert set(quads) == store_quads(cg)


@pytest.mark.parametrize("suffix", [".trig", ".nq", ".trig.gz", ".nq.gz"])
def test_each_graph_has_its_own_dump(live: tuple[str, ClaimGraph], suffix: str) -> None:
    url, cg = live
    for graph in cg.store.graphs():
        path = cg.iris.dump_path(suffix, graph.value)
        assert path is not None
        reply = fetch(url + path)
        assert reply.status == 200, path
        quads = quads_of(reply.body, path)
        assert len(quads) == cg.store.count(graph)
        assert {q.graph_name for q in quads} == {graph}  # quads keep their graph's name


def test_conditional_requests_and_new_dumps_after_a_write(
    validator: Validator,
) -> None:
    cg = seeded_with_reviews(validator)
    with serve(create_app(cg.settings, graph=cg)) as url:
        first = fetch(f"{url}/dumps/claimgraph.nq")
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag and modified
        assert fetch(f"{url}/dumps/claimgraph.nq", {"If-None-Match": etag}).status == 304
        assert fetch(f"{url}/dumps/claimgraph.nq", {"If-Modified-Since": modified}).status == 304
        assert fetch(f"{url}/dumps/claimgraph.nq", {"If-None-Match": '"other"'}).status == 200
        variant = FIXTURES / "claimreview" / "number-only.jsonld"
        import_markup(cg, [("v", variant.read_bytes())])
        second = fetch(f"{url}/dumps/claimgraph.nq", {"If-None-Match": etag})
        assert second.status == 200
        assert second.headers["ETag"] != etag
        assert len(quads_of(second.body, "x.nq")) == cg.store.count()
    cg.close()


def test_a_graph_named_in_another_script_has_its_dump(graph: ClaimGraph) -> None:
    """A graph named after a file ``新闻.trig`` is ``graph/新闻``; its dump's headers carry the
    name percent-encoded (RFC 6266 ``filename*``), as HTTP headers can only carry ASCII."""
    name = graph.default_graph_for(Path("新闻.trig"))
    assert name.value == f"{graph.iris.base}graph/新闻"
    variant = FIXTURES / "claimreview" / "number-only.jsonld"
    import_markup(graph, [("v", variant.read_bytes())], graph=name.value)
    path = graph.iris.dump_path(".trig", name.value)
    assert path == "/dumps/graph/新闻.trig"
    with serve(create_app(graph.settings, graph=graph)) as url:
        reply = fetch(url + quote(path))
        assert reply.status == 200
        disposition = reply.headers["Content-Disposition"]
        assert disposition.isascii() and disposition.startswith("attachment;")
        assert "filename*=UTF-8''%E6%96%B0%E9%97%BB.trig" in disposition
        assert set(quads_of(reply.body, "x.trig")) == store_quads(graph, name)
        etag = reply.headers["ETag"]
        assert fetch(url + quote(path), {"If-None-Match": etag}).status == 304


@pytest.mark.parametrize(
    "path",
    [
        "/dumps/claimgraph.ttl",
        "/dumps/other.trig",
        "/dumps/graph/no-such-graph.trig",
        "/dumps/graph/zpmc.ttl",
        "/dumps/graph/ZPMC.trig",
    ],
)
def test_unknown_dumps_are_404(live: tuple[str, ClaimGraph], path: str) -> None:
    url, _ = live
    assert fetch(url + path).status == 404


@pytest.mark.parametrize("filename", ["claimgraph.nq", "claimgraph.trig.gz"])
def test_ranges_resume_a_download(live: tuple[str, ClaimGraph], filename: str) -> None:
    url, _ = live
    whole = fetch(f"{url}/dumps/{filename}")
    assert whole.headers["Accept-Ranges"] == "bytes"
    size = len(whole.body)
    part = fetch(f"{url}/dumps/{filename}", {"Range": "bytes=100-199"})
    assert part.status == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{size}"
    assert part.body == whole.body[100:200]
    tail = fetch(f"{url}/dumps/{filename}", {"Range": "bytes=-50"})
    assert tail.status == 206 and tail.body == whole.body[-50:]
    # If-Range with the current ETag: the range; with a stale one: the whole new file.
    etag = whole.headers["ETag"]
    same = fetch(f"{url}/dumps/{filename}", {"Range": "bytes=10-19", "If-Range": etag})
    assert same.status == 206 and same.body == whole.body[10:20]
    stale = fetch(f"{url}/dumps/{filename}", {"Range": "bytes=10-19", "If-Range": '"old"'})
    assert stale.status == 200 and stale.body == whole.body
    beyond = fetch(f"{url}/dumps/{filename}", {"Range": f"bytes={size + 10}-"})
    assert beyond.status == 416


def test_plain_dumps_are_gzip_encoded_for_clients_that_accept_it(
    live: tuple[str, ClaimGraph],
) -> None:
    url, cg = live
    identity = fetch(f"{url}/dumps/claimgraph.trig")
    encoded = fetch(f"{url}/dumps/claimgraph.trig", {"Accept-Encoding": "gzip, deflate"})
    archive = fetch(f"{url}/dumps/claimgraph.trig.gz", {"Accept-Encoding": "gzip"})
    # The same RDF document, its type unchanged; the bytes on the wire are the .gz file's.
    assert "Content-Encoding" not in identity.headers
    assert encoded.headers["Content-Encoding"] == "gzip"
    assert encoded.content_type == identity.content_type == "application/trig"
    assert encoded.body == archive.body
    assert gzip.decompress(encoded.body) == identity.body
    assert int(encoded.headers["Content-Length"]) == len(encoded.body)
    for reply in (identity, encoded):
        assert "Accept-Encoding" in reply.headers["Vary"]
    assert encoded.headers["ETag"] != identity.headers["ETag"]  # two representations
    # The archive stays an archive, whatever the client accepts.
    assert archive.content_type == "application/gzip"
    assert "Content-Encoding" not in archive.headers
    refused = fetch(f"{url}/dumps/claimgraph.nq", {"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers
    assert len(quads_of(refused.body, "x.nq")) == cg.store.count()
    # Conditional and range requests work on the encoded representation too.
    etag = encoded.headers["ETag"]
    again = fetch(
        f"{url}/dumps/claimgraph.trig", {"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert again.status == 304
    part = fetch(f"{url}/dumps/claimgraph.trig", {"Accept-Encoding": "gzip", "Range": "bytes=0-9"})
    assert part.status == 206 and part.body == encoded.body[:10]


def test_an_http_client_that_decodes_gzip_reads_the_rdf(live: tuple[str, ClaimGraph]) -> None:
    # What Comunica and browsers do: ask for gzip, decode by Content-Encoding, parse by type.
    url, cg = live
    reply = fetch(f"{url}/dumps/graph/zpmc.nq", {"Accept-Encoding": "gzip"})
    assert reply.headers["Content-Encoding"] == "gzip"
    fmt = by_media_type(reply.content_type)
    quads = list(ox.parse(gzip.decompress(reply.body), format=fmt.ox))
    assert len(quads) == cg.store.count(ox.NamedNode("https://claimgraph.org/graph/zpmc"))
