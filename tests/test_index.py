"""The FAISS index: build/load round trip, search, staleness, corruption and crash safety."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import faiss
import numpy as np
import pytest

import bot.index.store
import bot.index.vectors
from bot.chunks import chunk
from bot.embedding import FakeEmbedder
from bot.index import (
    BUILDS,
    CURRENT,
    FILES,
    FORMAT_VERSION,
    KEEP_BUILDS,
    Index,
    IndexCorrupt,
    IndexMissing,
    IndexOutdated,
    LexicalIndex,
    build,
    current_build,
    durable,
    embed_passages,
    is_current,
    load,
    read_manifest,
)
from bot.pages import Assessment, PageSummary, corpus_hash, load_corpus
from bot.settings import Settings

OTHER_HASH = "f" * 64


@pytest.fixture
def assessments(settings: Settings) -> list[Assessment]:
    loaded = load_corpus(settings.corpus)
    assert not loaded.problems
    assert len(loaded.assessments) == 3
    return loaded.assessments


def _builds(index_dir: Path) -> list[Path]:
    return sorted(p for p in (index_dir / BUILDS).iterdir())


def _tmp_leftovers(index_dir: Path) -> list[Path]:
    return [p for p in index_dir.rglob("*") if ".tmp-" in p.name]


def _current_name(index_dir: Path) -> str:
    return (index_dir / CURRENT).read_text()


# --- build / load round trip -----------------------------------------------------------


def test_build_then_load_round_trips_everything(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    # Built here, not the session's copy: the manifest's build time must be now.
    parsed = load_corpus(settings.corpus).assessments
    built = build(parsed, fake_embedder, settings.index, corpus_hash(settings.corpus))
    loaded = load(settings.index)
    expected_passages = [p for a in load_corpus(settings.corpus).assessments for p in chunk(a)]

    assert list(loaded.passages) == list(built.passages) == expected_passages
    assert loaded.passages[-1] == expected_passages[-1]
    assert loaded.passages[1:3] == expected_passages[1:3]
    assert loaded.assessments == built.assessments
    pages = {a.id: a for a in load_corpus(settings.corpus).assessments}
    assert set(loaded.assessments) == set(pages)
    for a in loaded.assessments.values():
        # Served pages keep everything but their sections and FAQs (the passages): a
        # summary, which has no sections to ask for.
        assert a == replace(pages[a.id].summary(), source=a.source)
        assert a.source == pages[a.id].source and type(a) is PageSummary
        assert not hasattr(a, "sections") and not hasattr(a, "faqs")
        rows = loaded.rows_of(a.id)
        assert [loaded.passages[int(r)] for r in rows] == list(chunk(pages[a.id]))
    np.testing.assert_allclose(
        loaded.lexical.scores("quorvastin trials"),
        built.lexical.scores("quorvastin trials"),
    )
    assert loaded.manifest == built.manifest
    assert loaded.manifest.digest == built.manifest.digest
    assert loaded.path == built.path == current_build(settings.index)
    assert _current_name(settings.index) == loaded.path.name

    manifest = loaded.manifest
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.model == fake_embedder.name
    assert manifest.dims == fake_embedder.dim
    assert manifest.corpus_hash == corpus_hash(settings.corpus)
    assert manifest.assessments == 3
    assert manifest.passages == len(expected_passages) == loaded.faiss.ntotal
    assert set(manifest.files) == set(FILES)
    built_at = datetime.fromisoformat(manifest.built_at)
    assert built_at.tzinfo is not None
    assert abs(datetime.now(UTC) - built_at) < timedelta(minutes=5)

    # The stored vectors are the passages' embeddings, row for row.
    stored = loaded.faiss.reconstruct_n(0, loaded.faiss.ntotal)
    np.testing.assert_allclose(stored, embed_passages(loaded.passages, fake_embedder), atol=1e-6)
    assert loaded.faiss.d == fake_embedder.dim


def test_rows_of_maps_each_assessment_to_its_passages(fixture_index: Index) -> None:
    for assessment_id in fixture_index.assessments:
        rows = fixture_index.rows_of(assessment_id)
        assert len(rows) > 0
        assert all(fixture_index.passages[r].assessment_id == assessment_id for r in rows)
    assert sum(len(fixture_index.rows_of(a)) for a in fixture_index.assessments) == len(
        fixture_index.passages
    )
    assert fixture_index.rows_of("no-such-assessment").size == 0


def test_progress_callbacks_count_every_passage(
    assessments: list[Assessment], fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    seen: list[int] = []
    total: list[int] = []
    index = build(assessments, fake_embedder, tmp_path / "ix", "a" * 64, seen.append, total.append)
    assert total == [len(index.passages)]
    assert sum(seen) == len(index.passages)


# --- search ----------------------------------------------------------------------------


def test_search_scores_are_unit_interval_and_sorted(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    query = fake_embedder.encode(["evidence level of Zelnoprine for Testcase Syndrome"])[0]
    hits = fixture_index.search(query, 10)
    assert len(hits) == 10
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(-1e-6 <= s <= 1 + 1e-5 for s in scores)
    assert len({p.id for p, _ in hits}) == len(hits)
    # k beyond the index size returns every passage once.
    everything = fixture_index.search(query, 10_000)
    assert len(everything) == len(fixture_index.passages)
    assert {p.id for p, _ in everything} == {p.id for p in fixture_index.passages}
    assert fixture_index.search(query, 0) == []


def test_search_top_hit_for_text_copied_from_a_passage_is_that_passage(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    counts = Counter(p.text for p in fixture_index.passages)
    unique = [p for p in fixture_index.passages if counts[p.text] == 1]
    assert len(unique) >= 18
    for passage in unique:
        query = fake_embedder.encode([passage.text])[0]
        (top, score), *_ = fixture_index.search(query, 3)
        assert top.id == passage.id, passage.text[:60]
        assert score > 0.8


def test_search_for_a_copied_faq_question_finds_that_faq(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    faqs = [p for p in fixture_index.passages if p.kind == "faq"]
    assert len(faqs) == 9
    for passage in faqs:
        assert passage.question is not None
        query = fake_embedder.encode([passage.question])[0]
        assert passage.id in {p.id for p, _ in fixture_index.search(query, 3)}
        scoped = fixture_index.search(query, 10_000, assessment_ids=[passage.assessment_id])
        top_faq = next(p for p, _ in scoped if p.kind == "faq")
        assert top_faq.id == passage.id, passage.question


def test_search_for_a_copied_passage_finds_it_with_full_score(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    by_text: dict[str, int] = {}
    for p in fixture_index.passages:
        by_text[p.embed_text] = by_text.get(p.embed_text, 0) + 1
    for passage in fixture_index.passages:
        query = fake_embedder.encode([passage.embed_text])[0]
        (top, score), *_ = fixture_index.search(query, 1)
        assert score == pytest.approx(1.0, abs=1e-5)
        assert top.embed_text == passage.embed_text
        if by_text[passage.embed_text] == 1:  # identical boilerplate may tie across pages
            assert top.id == passage.id


def test_scoped_search_only_returns_that_assessment(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    query = fake_embedder.encode(["What does this evidence level mean for patients?"])[0]
    unscoped = {p.id: s for p, s in fixture_index.search(query, 10_000)}
    for assessment_id in fixture_index.assessments:
        own = [p for p in fixture_index.passages if p.assessment_id == assessment_id]
        hits = fixture_index.search(query, 10_000, assessment_ids=[assessment_id])
        assert {p.id for p, _ in hits} == {p.id for p in own}
        assert all(p.assessment_id == assessment_id for p, _ in hits)
        scores = [s for _, s in hits]
        assert scores == sorted(scores, reverse=True)
        # Scoped scores are the same cosine similarities as the unscoped search.
        for passage, score in hits:
            assert score == pytest.approx(unscoped[passage.id], abs=1e-5)
        top3 = fixture_index.search(query, 3, assessment_ids=[assessment_id])
        assert top3 == hits[:3]


def test_scoped_search_over_two_assessments_and_unknown_ids(
    fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    query = fake_embedder.encode(["mechanism of action"])[0]
    first, second, third = list(fixture_index.assessments)
    hits = fixture_index.search(query, 10_000, assessment_ids=[first, second])
    assert {p.assessment_id for p, _ in hits} == {first, second}
    assert third not in {p.assessment_id for p, _ in hits}
    assert fixture_index.search(query, 5, assessment_ids=["unknown"]) == []
    assert fixture_index.search(query, 5, assessment_ids=[]) == []


# --- staleness -------------------------------------------------------------------------


def test_is_current_after_build_and_stale_after_changes(
    settings: Settings, fixture_index: Index, fake_embedder: FakeEmbedder
) -> None:
    digest = corpus_hash(settings.corpus)
    assert is_current(settings.index, digest, fake_embedder.name)
    assert not is_current(settings.index, OTHER_HASH, fake_embedder.name)
    assert not is_current(settings.index, digest, FakeEmbedder(dim=64).name)
    assert not is_current(settings.index, digest, "all-MiniLM-L6-v2 (other)")

    # Editing a corpus page changes the corpus hash, so the index is stale.
    page = next(settings.corpus.glob("*.txt"))
    page.write_text(page.read_text(encoding="utf-8") + "\nAppended fixture line.\n", "utf-8")
    assert corpus_hash(settings.corpus) != digest
    assert not is_current(settings.index, corpus_hash(settings.corpus), fake_embedder.name)


def test_is_current_false_when_missing(tmp_path: Path, fake_embedder: FakeEmbedder) -> None:
    assert not is_current(tmp_path / "nothing-here", "a" * 64, fake_embedder.name)
    (tmp_path / "empty").mkdir()
    assert not is_current(tmp_path / "empty", "a" * 64, fake_embedder.name)


@pytest.mark.parametrize("exists", [True, False])
def test_load_without_index_raises_index_missing(tmp_path: Path, exists: bool) -> None:
    index_dir = tmp_path / "index"
    if exists:
        index_dir.mkdir()
    with pytest.raises(IndexMissing, match="bot build"):
        load(index_dir)
    with pytest.raises(IndexMissing):
        read_manifest(index_dir)


# --- corruption ------------------------------------------------------------------------


def _truncate_vectors(build_dir: Path) -> None:
    path = build_dir / "vectors.faiss"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _flip_passages_byte(build_dir: Path) -> None:
    path = build_dir / "passages.jsonl"
    data = bytearray(path.read_bytes())
    position = data.index(b"Zelnoprine") if b"Zelnoprine" in data else len(data) // 2
    data[position] ^= 0x20  # Z -> z: still valid JSON, different content
    path.write_bytes(bytes(data))


def _delete_assessments(build_dir: Path) -> None:
    (build_dir / "assessments.json").unlink()


def _garbage_manifest(build_dir: Path) -> None:
    (build_dir / "manifest.json").write_bytes(b"\x00\xffnot json{{{")


def _delete_manifest(build_dir: Path) -> None:
    (build_dir / "manifest.json").unlink()


def _manifest_missing_field(build_dir: Path) -> None:
    path = build_dir / "manifest.json"
    data = json.loads(path.read_text())
    del data["dims"]
    path.write_text(json.dumps(data))


def _manifest_files_not_a_mapping(build_dir: Path) -> None:
    path = build_dir / "manifest.json"
    data = json.loads(path.read_text())
    data["files"] = "vectors.faiss"
    path.write_text(json.dumps(data))


def _manifest_forgets_a_file(build_dir: Path) -> None:
    path = build_dir / "manifest.json"
    data = json.loads(path.read_text())
    del data["files"]["passages.jsonl"]
    path.write_text(json.dumps(data))
    _flip_passages_byte(build_dir)


def _manifest_is_a_list(build_dir: Path) -> None:
    (build_dir / "manifest.json").write_text("[1, 2, 3]")


def _manifest_future_format(build_dir: Path) -> None:
    path = build_dir / "manifest.json"
    data = json.loads(path.read_text())
    data["format_version"] = FORMAT_VERSION + 1
    path.write_text(json.dumps(data))


CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated-vectors": (_truncate_vectors, "vectors.faiss"),
    "altered-passages": (_flip_passages_byte, "passages.jsonl"),
    "deleted-assessments": (_delete_assessments, "assessments.json"),
    "garbage-manifest": (_garbage_manifest, "manifest.json"),
    "deleted-manifest": (_delete_manifest, "manifest.json"),
    "manifest-missing-field": (_manifest_missing_field, "manifest.json"),
    "manifest-files-not-a-mapping": (_manifest_files_not_a_mapping, "manifest.json"),
    "manifest-forgets-a-file": (_manifest_forgets_a_file, "manifest.json"),
    "manifest-is-a-list": (_manifest_is_a_list, "manifest.json"),
    "manifest-future-format": (_manifest_future_format, "manifest.json"),
    "truncated-bm25": (lambda d: _truncate(d / "bm25.counts.npy"), "bm25.counts.npy"),
}


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-7])


def test_an_index_of_an_older_format_is_outdated_not_corrupt(
    settings: Settings, fixture_index: Index
) -> None:
    path = fixture_index.path / "manifest.json"
    data = json.loads(path.read_text())
    data["format_version"] = FORMAT_VERSION - 1
    path.write_text(json.dumps(data))
    with pytest.raises(IndexOutdated, match="bot build"):
        load(settings.index)
    assert not is_current(settings.index, fixture_index.manifest.corpus_hash, "fake-hashing-256")


def test_bm25_rebuilt_from_previous_counts_equals_a_fresh_one(fixture_index: Index) -> None:
    passages = list(fixture_index.passages)
    edited = [replace(passages[0], id="edited", text=passages[0].text + " zorblax trials")]
    changed = edited + passages[2:] + [replace(passages[1], id="new", text="brand new words")]
    previous = fixture_index.lexical
    rows = {pid: row for row, pid in enumerate(fixture_index.passage_ids())}
    reused = LexicalIndex.build(changed, previous, rows)
    fresh = LexicalIndex.build(changed)
    for question in ["zorblax trials", "quorvastin synthetic enzyme", "brand new", "evidence"]:
        np.testing.assert_allclose(reused.scores(question), fresh.scores(question), rtol=1e-6)
    assert reused.scores("zorblax").max() > 0
    assert set(fresh.vocab) <= set(reused.vocab)  # kept ids may leave unused words behind


def test_passage_ids_are_read_without_decoding(settings: Settings, fixture_index: Index) -> None:
    loaded = load(settings.index)
    assert loaded.passage_ids() == [p.id for p in fixture_index.passages]


def test_bm25_weights_are_bm25s_scores(fixture_index: Index) -> None:
    import bm25s
    import Stemmer

    texts = [p.embed_text for p in fixture_index.passages]
    stemmer = Stemmer.Stemmer("english")
    reference = bm25s.BM25()
    reference.index(bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False))
    ours = LexicalIndex.build(list(fixture_index.passages))
    for question in ["quorvastin synthetic enzyme trials", "evidence level", "how does it work"]:
        tokens = bm25s.tokenize([question], stopwords="en", stemmer=stemmer, return_ids=False)[0]
        expected = reference.get_scores(tokens)
        np.testing.assert_allclose(ours.scores(question), expected, rtol=1e-5, atol=1e-6)
        assert expected.max() > 0


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_corruption_is_detected_with_a_clear_message(
    settings: Settings, fixture_index: Index, corruption: str
) -> None:
    damage, filename = CORRUPTIONS[corruption]
    damage(fixture_index.path)
    with pytest.raises(IndexCorrupt) as excinfo:
        load(settings.index)
    message = str(excinfo.value)
    assert filename in message
    assert str(fixture_index.path) in message


@pytest.mark.parametrize(
    "content",
    ["20990101T000000000000-deadbeef", "", "   \n", "../x", "..", ".", "/etc", "builds/../.."],
)
def test_current_naming_a_missing_or_outside_build_is_corrupt(
    settings: Settings, fixture_index: Index, content: str
) -> None:
    (settings.index / CURRENT).write_text(content)
    with pytest.raises(IndexCorrupt, match=CURRENT):
        current_build(settings.index)
    with pytest.raises(IndexCorrupt, match=CURRENT):
        load(settings.index)


def test_current_traversal_to_a_valid_looking_build_is_refused(
    settings: Settings, fixture_index: Index
) -> None:
    """A complete, valid build outside builds/ must not be loaded through CURRENT."""
    outside = settings.index / "x"
    outside.mkdir()
    for name in [*FILES, "manifest.json"]:
        (outside / name).write_bytes((fixture_index.path / name).read_bytes())
    (settings.index / CURRENT).write_text("../x")
    with pytest.raises(IndexCorrupt):
        load(settings.index)


def test_undecodable_current_is_corrupt(settings: Settings, fixture_index: Index) -> None:
    (settings.index / CURRENT).write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(IndexCorrupt, match=CURRENT):
        load(settings.index)


def test_vectors_that_disagree_with_passages_are_corrupt(
    settings: Settings, fixture_index: Index
) -> None:
    """Files that match their manifest but not each other (e.g. a hand-edited build)."""
    path = fixture_index.path
    smaller = faiss.IndexFlatIP(fixture_index.faiss.d)
    smaller.add(fixture_index.faiss.reconstruct_n(0, fixture_index.faiss.ntotal - 1))
    faiss.write_index(smaller, str(path / "vectors.faiss"))
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["files"]["vectors.faiss"] = durable.sha256(path / "vectors.faiss")
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(IndexCorrupt, match="disagree"):
        load(settings.index)


# --- crash safety, publishing, pruning ---------------------------------------------------


def _fail_fsync_write_on(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real = durable.write

    def failing(path: Path, data: bytes) -> None:
        if path.name.startswith(name):
            raise OSError(28, "No space left on device (simulated)")
        real(path, data)

    monkeypatch.setattr(durable, "write", failing)


def _fail_write_index(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object) -> None:
        raise RuntimeError("simulated faiss write failure")

    monkeypatch.setattr(faiss, "write_index", failing)


def _fail_replace(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*args: object) -> None:
        raise OSError(5, "simulated I/O error on rename")

    monkeypatch.setattr(os, "replace", failing)


def _fail_pointer_write_after_creating(monkeypatch: pytest.MonkeyPatch) -> None:
    real = durable.write

    def failing(path: Path, data: bytes) -> None:
        if path.name.startswith(f"{CURRENT}.tmp-"):
            path.write_bytes(data[:1])  # a partial pointer file, then the crash
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(durable, "write", failing)


FAILURES: dict[str, Callable[[pytest.MonkeyPatch], None]] = {
    "write-vectors": _fail_write_index,
    "write-passages": lambda mp: _fail_fsync_write_on("passages.jsonl", mp),
    "write-assessments": lambda mp: _fail_fsync_write_on("assessments.json", mp),
    "write-manifest": lambda mp: _fail_fsync_write_on("manifest.json", mp),
    "write-pointer": lambda mp: _fail_fsync_write_on(f"{CURRENT}.tmp-", mp),
    "interrupt-in-pointer": _fail_pointer_write_after_creating,
    "replace-pointer": _fail_replace,
}


@pytest.mark.parametrize("failure", list(FAILURES))
def test_crash_mid_build_keeps_the_previous_index(
    settings: Settings,
    fixture_index: Index,
    assessments: list[Assessment],
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
    failure: str,
) -> None:
    before_current = _current_name(settings.index)
    before_builds = _builds(settings.index)
    FAILURES[failure](monkeypatch)

    with pytest.raises((OSError, RuntimeError, KeyboardInterrupt)):
        build(assessments[:1], fake_embedder, settings.index, OTHER_HASH)
    monkeypatch.undo()

    assert _current_name(settings.index) == before_current
    again = load(settings.index)
    assert again.manifest == fixture_index.manifest
    assert again.passages == fixture_index.passages
    assert again.path == fixture_index.path
    assert _tmp_leftovers(settings.index) == []
    # The failed build is not left behind as an unpublished build either.
    assert _builds(settings.index) == before_builds

    # And the next build works normally.
    rebuilt = build(assessments[:1], fake_embedder, settings.index, OTHER_HASH)
    assert load(settings.index).manifest == rebuilt.manifest
    assert rebuilt.manifest.corpus_hash == OTHER_HASH


def test_failure_after_publishing_keeps_the_new_build(
    settings: Settings,
    fixture_index: Index,
    assessments: list[Assessment],
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Once CURRENT names the new build, cleaning up after an error must not delete it."""
    real = durable.sync_dir

    def failing(path: Path) -> None:
        if path == settings.index:
            raise OSError(5, "simulated fsync failure")
        real(path)

    monkeypatch.setattr(durable, "sync_dir", failing)
    with pytest.raises(OSError, match="simulated"):
        build(assessments[:1], fake_embedder, settings.index, OTHER_HASH)
    monkeypatch.undo()

    assert _current_name(settings.index) != fixture_index.path.name
    loaded = load(settings.index)
    assert loaded.manifest.corpus_hash == OTHER_HASH
    assert len(loaded.assessments) == 1
    assert _tmp_leftovers(settings.index) == []


def test_crash_during_first_build_leaves_no_index(
    assessments: list[Assessment],
    fake_embedder: FakeEmbedder,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_dir = tmp_path / "index"
    _fail_fsync_write_on("assessments.json", monkeypatch)
    with pytest.raises(OSError, match="simulated"):
        build(assessments, fake_embedder, index_dir, "a" * 64)
    with pytest.raises(IndexMissing):
        load(index_dir)
    assert _tmp_leftovers(index_dir) == []
    assert _builds(index_dir) == []


def test_second_build_switches_current_and_prunes_old_builds(
    settings: Settings,
    fixture_index: Index,
    assessments: list[Assessment],
    fake_embedder: FakeEmbedder,
) -> None:
    names = [fixture_index.path.name]
    for n in range(1, KEEP_BUILDS + 2):
        index = build(assessments[:n], fake_embedder, settings.index, f"{n}" * 64)
        names.append(index.path.name)
        assert _current_name(settings.index) == index.path.name
        loaded = load(settings.index)
        assert loaded.manifest == index.manifest
        assert loaded.manifest.corpus_hash == f"{n}" * 64
        assert len(loaded.assessments) == min(n, 3)
        remaining = [p.name for p in _builds(settings.index)]
        assert len(remaining) <= KEEP_BUILDS
        # The newest builds survive: the current one and the one it replaced.
        assert remaining == sorted(names[-KEEP_BUILDS:])
    assert len(set(names)) == len(names)
    assert _tmp_leftovers(settings.index) == []


def test_prune_removes_stale_tmp_builds_but_not_fresh_ones(
    settings: Settings, assessments: list[Assessment], fake_embedder: FakeEmbedder
) -> None:
    builds = settings.index / BUILDS
    builds.mkdir(parents=True)
    stale = builds / "20000101T000000000000-deadbeef.tmp-99999"
    fresh = builds / "20990101T000000000000-deadbeef.tmp-99998"
    for path in (stale, fresh):
        path.mkdir()
        (path / "vectors.faiss").write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))

    index = build(assessments, fake_embedder, settings.index, "a" * 64)
    assert not stale.exists()
    assert fresh.exists()  # may be another process's build in progress
    assert load(settings.index).manifest == index.manifest


def test_load_is_consistent_when_a_build_is_published_meanwhile(
    settings: Settings,
    fixture_index: Index,
    assessments: list[Assessment],
    fake_embedder: FakeEmbedder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another process switching CURRENT during a load must not make the load fail."""
    real = bot.index.store.current_build
    published: list[Index] = []
    racing_now = []

    def racing(index_dir: Path) -> Path:
        path = real(index_dir)
        if not racing_now:  # build itself reads the published index (to reuse vectors)
            racing_now.append(True)
            published.append(build(assessments[:1], fake_embedder, index_dir, OTHER_HASH))
        return path

    monkeypatch.setattr(bot.index.store, "current_build", racing)
    loaded = load(settings.index)
    monkeypatch.undo()

    assert published
    # Either the old or the new index, but one whole index: manifest and files agree.
    assert loaded.manifest in (fixture_index.manifest, published[0].manifest)
    expected = fixture_index if loaded.manifest == fixture_index.manifest else published[0]
    assert loaded.passages == expected.passages
    assert loaded.path == expected.path


def test_empty_corpus_builds_an_empty_index_that_loads(
    tmp_path: Path, fake_embedder: FakeEmbedder
) -> None:
    """Zero pages is a valid (if useless) index; callers decide whether to refuse it."""
    index_dir = tmp_path / "index"
    built = build([], fake_embedder, index_dir, "0" * 64)
    loaded = load(index_dir)
    assert loaded.passages == [] == built.passages
    assert loaded.assessments == {}
    assert loaded.manifest.passages == 0
    assert loaded.manifest.assessments == 0
    assert loaded.faiss.ntotal == 0
    assert loaded.faiss.d == fake_embedder.dim
    query = fake_embedder.encode(["anything at all"])[0]
    assert loaded.search(query, 5) == []
    assert loaded.search(query, 5, assessment_ids=["x"]) == []
    assert is_current(index_dir, "0" * 64, fake_embedder.name)


def test_scoped_bm25_equals_the_whole_index_scores_of_those_passages(
    fixture_index: Index,
) -> None:
    question = "quorvastin synthetic enzyme trials"
    everything = fixture_index.lexical.scores(question)
    for assessment_id in fixture_index.assessments:
        rows = fixture_index.rows_of(assessment_id)
        scoped = fixture_index.lexical.scores_for(question, rows)
        assert np.allclose(scoped, everything[rows])
    mixed = np.concatenate([fixture_index.rows_of(a) for a in fixture_index.assessments][::-1])
    assert np.allclose(fixture_index.lexical.scores_for(question, mixed), everything[mixed])
    assert fixture_index.lexical.scores_for("zzz qqq", rows).tolist() == [0.0] * rows.size


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.encoded = 0

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.encoded += len(texts)
        return super().encode(texts)


def test_a_rebuild_embeds_only_changed_passages(
    settings: Settings, fixture_index: Index, assessments: list[Assessment]
) -> None:
    counting = CountingEmbedder()
    again = build(assessments, counting, settings.index, "same")
    assert counting.encoded == 0
    assert np.allclose(
        again.faiss.reconstruct_n(0, again.faiss.ntotal),
        fixture_index.faiss.reconstruct_n(0, fixture_index.faiss.ntotal),
    )
    changed = replace(assessments[0], evidence_level="Level 5: edited fixture", id="")
    edited = [changed, *assessments[1:]]
    build(edited, counting, settings.index, "edited")
    # Only the edited page's passages (its content id changed) were embedded again.
    assert counting.encoded == len(chunk(edited[0]))
    fresh = CountingEmbedder()
    build(assessments, fresh, settings.index, "full", reuse=False)
    assert fresh.encoded == len(fixture_index.passages)


def test_above_the_threshold_the_whole_index_search_is_approximate(
    tmp_path: Path, assessments: list[Assessment], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.index.vectors, "APPROX_ABOVE", 5)
    index = build(assessments, FakeEmbedder(), tmp_path / "ivf", "h")
    loaded = load(tmp_path / "ivf")
    assert isinstance(loaded.faiss, faiss.IndexIVFFlat) and loaded.faiss.nprobe == bot.index.NPROBE
    for passage in loaded.passages[:10]:
        [(top, score)] = loaded.search(FakeEmbedder().encode([passage.embed_text])[0], 1)
        assert top.id == passage.id and score == pytest.approx(1.0, abs=1e-5)
    # Scoped search reads rows back from the approximate index too.
    some = next(iter(index.assessments))
    assert {p.assessment_id for p, _ in loaded.search(np.ones(256, "f4"), 50, [some])} == {some}
