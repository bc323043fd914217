"""Storing: file names, the canonical link that makes citations point at the live page,
decoding, and the sync's state beside (never inside) the corpus listing."""

from __future__ import annotations

from pathlib import Path

from sync_site import assessment_html

from bot.pages import corpus_files, parse_text
from bot.sync.store import (
    Entry,
    SyncStore,
    decode_html,
    relative_path,
    with_canonical,
)

URL = "https://site.example/assessments/zelnoprine--stage-iv-testcase-syndrome"


def test_file_names_are_readable_stable_and_unique() -> None:
    path = relative_path(URL)
    assert path.startswith("site.example/assessments-zelnoprine--stage-iv-testcase-syndrome-")
    assert path.endswith(".html") and path == relative_path(URL)
    assert relative_path(URL + "/") != path
    assert relative_path("http://127.0.0.1:8123/").startswith("127.0.0.1_8123/index-")
    assert relative_path("https://site.example/.hidden?x=1").split("/")[1][0] != "."
    assert len(relative_path("https://site.example/" + "a" * 500)) < 120


def test_the_fetched_url_is_the_pages_url_even_over_its_own_canonical() -> None:
    page = assessment_html("Zelnoprine").replace(
        "<head>", '<head><link rel="canonical" href="https://elsewhere.example/z">'
    )
    stored = with_canonical(page, URL)
    assert parse_text(stored, "html", URL).url == URL
    assert stored.count("<link") == 2 and page in stored.replace(
        f'\n<link rel="canonical" href="{URL}">', ""
    )


def test_the_canonical_link_is_escaped_and_works_without_a_head() -> None:
    odd = 'https://site.example/a?b="c"&d=<e>'
    stored = with_canonical("<h1>x</h1>", odd)
    assert stored.startswith('<link rel="canonical" href="https://site.example/a?b=&quot;c&quot;')
    assert "<e>" not in stored


def test_decoding_follows_the_declared_or_sniffed_charset() -> None:
    text = "<p>Zelnopriné</p>"
    assert decode_html(text.encode("latin-1"), "text/html; charset=ISO-8859-1") == text
    sniffed = f'<meta charset="windows-1252">{text}'
    assert decode_html(sniffed.encode("cp1252"), "text/html") == sniffed
    assert decode_html(text.encode(), None) == text


def test_state_round_trips_and_a_broken_one_counts_as_empty(tmp_path: Path) -> None:
    store = SyncStore(tmp_path)
    entry = Entry(URL, relative_path(URL), "ab" * 32, etag='"x"', last_modified="Mon")
    store.save({URL: entry}, "https://site.example/sitemap.xml")
    assert store.load() == {URL: entry}
    assert entry.validators() == {"etag": '"x"', "last_modified": "Mon"}
    (tmp_path / ".sync" / "state.json").write_text("{not json")
    assert store.load() == {}


def test_pages_are_in_the_corpus_and_the_state_is_not(tmp_path: Path) -> None:
    store = SyncStore(tmp_path)
    entry = Entry(URL, relative_path(URL), "00")
    store.write_page(entry.path, with_canonical(assessment_html("Zelnoprine"), URL).encode())
    store.save({URL: entry}, "https://site.example/sitemap.xml")
    store.save_last_run({"ok": True})
    assert corpus_files(tmp_path) == [tmp_path / entry.path]
    assert store.last_run() == {"ok": True}
    store.remove_page(entry)
    assert not (tmp_path / entry.path).exists()
    assert not (tmp_path / "site.example").exists()  # the emptied host folder goes too
    assert tmp_path.is_dir()
