"""Parsing of assessment pages (txt/md/html) and corpus loading."""

from __future__ import annotations

import hashlib
import json
import logging
import pickle
import shutil
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from bot.chunks import chunk
from bot.pages import (
    Assessment,
    PageError,
    PageProblem,
    corpus_files,
    corpus_hash,
    load_corpus,
    parse_page,
    parse_text,
)

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "corpus" / "ketamine-iv-esketamine--stage-iv-cancer.txt"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CORPUS = FIXTURES / "corpus"
BAD = FIXTURES / "bad"
TXT = CORPUS / "zelnoprine--stage-iv-testcase-syndrome.txt"
MD = CORPUS / "quorvastin--chronic-fakeitis.md"
HTML = CORPUS / "brimadol--stage-iv-testcase-syndrome.html"


def all_text(page: Assessment) -> str:
    """Every string the Assessment holds, for "appears nowhere" checks."""
    return json.dumps(asdict(page), ensure_ascii=False)


# --- the seed page ---------------------------------------------------------------------


def test_seed_page_fields() -> None:
    page = parse_page(SEED)
    assert page.source == SEED.name
    assert page.title == "Ketamine (IV / Esketamine) for Stage IV Cancer: Evidence Level Assessment"
    assert page.compound == "Ketamine (IV / Esketamine)"
    assert page.condition == "Stage IV Cancer"
    assert page.evidence_level == (
        "Strong data for treatment-resistant depression; Phase II for neuropathic pain; "
        "cancer anxiety studies"
    )
    assert len(page.mechanism) == 4
    assert page.mechanism[0] == "NMDA receptor antagonism"
    assert page.mechanism[-1] == "BDNF release"
    assert len(page.faqs) == 3
    assert all(f.question.endswith("?") and f.answer for f in page.faqs)
    assert page.disclaimer is not None
    assert page.disclaimer.startswith("Medical Disclaimer:")
    assert page.byline is not None
    assert page.byline.startswith("By Insight Swarm Research Team")
    assert page.url is None


def test_seed_page_sections() -> None:
    page = parse_page(SEED)
    titles = [s.title for s in page.sections]
    assert titles[0] == "Introduction"
    assert "Evidence Hierarchy Overview" in titles
    assert "Mechanistic Evidence" in titles
    assert "Frequently Asked Questions" not in titles
    hierarchy = page.section("Evidence Hierarchy Overview")
    assert hierarchy is not None
    # List items become their own paragraphs, markers stripped.
    assert "Level 1: Systematic reviews and meta-analyses of RCTs" in hierarchy.paragraphs
    classification = page.section("Current Evidence Classification")
    assert classification is not None
    assert classification.paragraphs[0].startswith("Evidence level: Strong data")
    # The repeated title line, byline and disclaimer are not section content.
    intro = page.sections[0].paragraphs
    assert intro[0].startswith("Understanding the evidence level")
    text = all_text(page)
    assert text.count("Medical Disclaimer:") == 1
    assert "insightswarm.ai" not in text
    assert "personalized AI-generated research report" not in text


# --- fixture pages, one per format ------------------------------------------------------


def test_txt_fixture() -> None:
    page = parse_page(TXT)
    assert page.title == (
        "Zelnoprine (Oral / Inhaled) for Stage IV Testcase Syndrome: Evidence Level Assessment"
    )
    assert page.compound == "Zelnoprine (Oral / Inhaled)"
    assert page.condition == "Stage IV Testcase Syndrome"
    assert page.evidence_level == "Preclinical only; two Phase I fixture studies"
    assert page.mechanism == (
        "fixture receptor agonism",
        "placebo pathway modulation",
        "mock kinase inhibition",
    )
    assert len(page.faqs) == 3
    assert page.url is None
    assert "example.ai" not in all_text(page)


def test_md_fixture() -> None:
    page = parse_page(MD)
    assert page.title == "Quorvastin for Chronic Fakeitis: Evidence Level Assessment"
    assert (page.compound, page.condition) == ("Quorvastin", "Chronic Fakeitis")
    assert page.evidence_level == "Level 4: Cohort fixture data; no RCTs"
    assert page.mechanism == (
        "synthetic enzyme blocking",
        "fixture channel opening",
        "test signal damping",
    )
    assert page.url == "https://example.org/assessments/quorvastin-chronic-fakeitis"
    assert len(page.faqs) == 3
    # A multi-paragraph answer keeps its paragraphs apart.
    assert page.faqs[0].answer.count("\n") == 1
    assert page.disclaimer is not None
    assert page.disclaimer.startswith("Medical Disclaimer:")
    bullets = page.section("What This Evidence Level Means")
    assert bullets is not None
    assert "Fixture bullet one for tests" in bullets.paragraphs
    text = all_text(page)
    assert "newsletter" not in text
    assert "tags" not in text  # front matter is metadata, not content


def test_html_fixture() -> None:
    page = parse_page(HTML)
    assert page.title == (
        "Brimadol (Low-Dose) for Stage IV Testcase Syndrome: Evidence Level Assessment"
    )
    assert (page.compound, page.condition) == ("Brimadol (Low-Dose)", "Stage IV Testcase Syndrome")
    assert page.evidence_level == "Level 5: Expert fixture opinion"
    assert page.mechanism == (
        "imaginary ion exchange",
        "fixture membrane binding",
        "sample transporter blockade",
    )
    # The canonical link wins over og:url.
    assert page.url == "https://example.org/assessments/brimadol-stage-iv-testcase-syndrome"
    assert page.byline is not None
    assert page.byline.startswith("By Fixture Research Team")
    mechanistic = page.section("Mechanistic Evidence")
    assert mechanistic is not None
    assert mechanistic.anchor == "mechanistic-evidence"
    hierarchy = page.section("Evidence Hierarchy Overview")
    assert hierarchy is not None
    assert hierarchy.anchor == "evidence-hierarchy-overview"  # from the enclosing <section>
    assert [f.anchor for f in page.faqs] == ["faq-grade", "faq-strong-enough", "faq-trials"]
    # Inline markup does not add stray spaces.
    intro = page.sections[0].paragraphs[0]
    assert intro.startswith("This is fixture text for tests. Brimadol (Low-Dose) and Stage IV")


def test_html_fixture_drops_page_chrome() -> None:
    text = all_text(parse_page(HTML))
    for chrome in (
        "All assessments",  # nav
        "We use cookies",  # cookie banner
        "Accept",  # button
        "alert(1)",  # script
        "fixtureTracking",  # script in head
        "font-family",  # style
        "© Example",  # footer
        "sidebar",  # aside
        "Share on",  # share buttons
        "example.ai",  # marketing line
        "personalized",
        "| Example",
    ):
        assert chrome not in text, chrome


def test_html_escaped_script_stays_literal_text() -> None:
    page = parse_page(HTML)
    answers = [f.answer for f in page.faqs if '<script>alert("xss")</script>' in f.answer]
    assert len(answers) == 1
    assert "&lt;" not in answers[0]


def test_formats_agree_on_shape() -> None:
    pages = [parse_page(p) for p in (TXT, MD, HTML)]
    expected = [
        "Introduction",
        "Evidence Hierarchy Overview",
        "Current Evidence Classification",
        "Mechanistic Evidence",
        "What This Evidence Level Means for Patients",
        "How Evidence Levels Evolve",
    ]
    for page in pages:
        assert [s.title.split(":")[0] for s in page.sections] == expected, page.source
        assert len(page.sections[1].paragraphs) == 7  # lead-in + six levels
        assert page.disclaimer == (
            "Medical Disclaimer: This fixture page is invented for tests and is not medical "
            "advice. Always consult qualified healthcare professionals."
        )


def test_html_without_h1_uses_title_element_and_og_url() -> None:
    html = (
        "<html><head><title>Vexomab for Imaginary Fatigue: Evidence Level Assessment | Site"
        '</title><meta property="og:url" content="https://example.org/vexomab"></head>'
        "<body><p>Evidence level: Level 5: fixture</p></body></html>"
    )
    page = parse_text(html, "html", "vexomab.html")
    assert page.title == "Vexomab for Imaginary Fatigue: Evidence Level Assessment"
    assert (page.compound, page.condition) == ("Vexomab", "Imaginary Fatigue")
    assert page.url == "https://example.org/vexomab"


def test_md_front_matter_title_when_no_heading() -> None:
    md = (
        "---\ntitle: Vexomab for Imaginary Fatigue: Evidence Level Assessment\n"
        "canonical_url: https://example.org/v\n---\n\nEvidence level: Level 5: fixture\n"
    )
    # The title contains ": " so YAML needs it quoted; an unquoted one is a YAML error.
    with pytest.raises(PageError, match="front matter"):
        parse_text(md, "md", "v.md")
    quoted = md.replace("title: V", "title: 'V").replace("Assessment\n", "Assessment'\n")
    page = parse_text(quoted, "md", "v.md")
    assert page.compound == "Vexomab"
    assert page.url == "https://example.org/v"


def test_compound_containing_for_uses_classification_heading() -> None:
    text = (
        "Tea for Two for Imaginary Fatigue: Evidence Level Assessment\n\n"
        "Current Evidence Classification: Tea for Two + Imaginary Fatigue\n\n"
        "Evidence level: Level 5: fixture\n"
    )
    page = parse_text(text, "txt", "t.txt")
    assert (page.compound, page.condition) == ("Tea for Two", "Imaginary Fatigue")


def test_txt_short_answer_is_not_a_heading() -> None:
    text = (
        "Vexomab for Imaginary Fatigue: Evidence Level Assessment\n\n"
        "Evidence level: Level 5: fixture\n\n"
        "Frequently Asked Questions\n\nIs this a fixture?\n\nYes it is\n\n"
        "Is there a second question?\nThe answer follows directly.\n"
    )
    page = parse_text(text, "txt", "v.txt")
    assert [(f.question, f.answer) for f in page.faqs] == [
        ("Is this a fixture?", "Yes it is"),
        ("Is there a second question?", "The answer follows directly."),
    ]


# --- ids ---------------------------------------------------------------------------------


def test_id_stable_and_content_based(tmp_path: Path) -> None:
    first, second = parse_page(TXT), parse_page(TXT)
    assert first.id == second.id
    assert len(first.id) == 16

    renamed = tmp_path / "another-name.txt"
    shutil.copy(TXT, renamed)
    moved = parse_page(renamed)
    assert moved.source == "another-name.txt"
    assert moved.id == first.id

    edited = tmp_path / TXT.name
    edited.write_text(TXT.read_text().replace("invented text", "changed text"))
    assert parse_page(edited).id != first.id


def test_round_trip_through_dict() -> None:
    for path in (SEED, TXT, MD, HTML):
        page = parse_page(path)
        data = json.loads(json.dumps(page.to_dict()))  # as stored in the index
        again = Assessment.from_dict(data)
        assert again == page
        assert again.id == page.id


# --- errors ------------------------------------------------------------------------------


def test_error_no_title() -> None:
    with pytest.raises(PageError) as info:
        parse_page(BAD / "no-title.txt")
    assert info.value.source == "no-title.txt"
    assert info.value.reason == (
        "no title of the form '<Compound> for <Condition>: Evidence Level Assessment'"
    )
    assert str(info.value) == f"no-title.txt: {info.value.reason}"


def test_error_no_evidence_level() -> None:
    with pytest.raises(PageError) as info:
        parse_page(BAD / "no-evidence-level.md")
    assert info.value.reason == "no 'Evidence level:' line"
    assert str(info.value) == "no-evidence-level.md: no 'Evidence level:' line"


@pytest.mark.parametrize("content", [b"", b"  \n\t\n", b"\xef\xbb\xbf \n"])
def test_error_empty(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(content)
    with pytest.raises(PageError) as info:
        parse_page(path)
    assert info.value.reason == "empty file"


def test_error_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(TXT.read_bytes()[:10] + b"\xff" + TXT.read_bytes()[10:])
    with pytest.raises(PageError) as info:
        parse_page(path)
    assert info.value.reason == "not valid UTF-8 text (byte 10)"


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / TXT.name
    path.write_bytes(b"\xef\xbb\xbf" + TXT.read_bytes())
    assert parse_page(path) == parse_page(TXT)


def test_error_too_big(tmp_path: Path) -> None:
    size = TXT.stat().st_size
    with pytest.raises(PageError) as info:
        parse_page(TXT, max_bytes=100)
    assert info.value.reason == f"file is {size} bytes, over the 100-byte limit"

    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"x" * 3_000_000)
    with pytest.raises(PageError, match="over the 2000000-byte limit"):
        parse_page(huge)


def test_error_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "page.pdf"
    path.write_bytes(TXT.read_bytes())
    with pytest.raises(PageError) as info:
        parse_page(path)
    assert info.value.reason == "unsupported file type '.pdf'"
    with pytest.raises(PageError, match="unsupported format 'pdf'"):
        parse_text(TXT.read_text(), "pdf", "page.pdf")


def test_source_override() -> None:
    with pytest.raises(PageError) as info:
        parse_page(BAD / "no-title.txt", source="sub/no-title.txt")
    assert str(info.value).startswith("sub/no-title.txt: ")


def test_page_error_pickles() -> None:
    error = pickle.loads(pickle.dumps(PageError("a.txt", "empty file")))
    assert (error.source, error.reason, str(error)) == ("a.txt", "empty file", "a.txt: empty file")


# --- corpus loading ----------------------------------------------------------------------


def make_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return corpus


def test_load_fixture_corpus() -> None:
    loaded = load_corpus(CORPUS)
    assert loaded.problems == []
    assert [a.source for a in loaded.assessments] == sorted(p.name for p in CORPUS.iterdir())


def test_load_corpus_collects_problems(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = make_corpus(tmp_path)
    (corpus / "sub").mkdir()
    shutil.copy(BAD / "no-title.txt", corpus / "sub" / "no-title.txt")
    (corpus / "empty.md").write_bytes(b"")
    with caplog.at_level(logging.WARNING, logger="bot.pages"):
        loaded = load_corpus(corpus)
    assert len(loaded.assessments) == 3
    assert loaded.problems == [
        PageProblem("empty.md", "empty file"),
        PageProblem(
            "sub/no-title.txt",
            "no title of the form '<Compound> for <Condition>: Evidence Level Assessment'",
        ),
    ]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("sub/no-title.txt" in w and "no title" in w for w in warnings)
    assert any("empty.md" in w and "empty file" in w for w in warnings)


def test_load_corpus_flags_duplicates(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    corpus = make_corpus(tmp_path)
    # Same compound/condition in another case and format: the later file is the problem.
    (corpus / "zz-copy.txt").write_text(
        TXT.read_text().replace("Zelnoprine", "ZELNOPRINE").replace("Testcase", "testcase")
    )
    with caplog.at_level(logging.WARNING, logger="bot.pages"):
        loaded = load_corpus(corpus)
    assert len(loaded.assessments) == 3
    assert loaded.problems == [
        PageProblem("zz-copy.txt", "duplicate of zelnoprine--stage-iv-testcase-syndrome.txt")
    ]
    assert "zz-copy.txt" in caplog.text


def test_load_corpus_missing_dir(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_corpus(tmp_path / "nope")


def test_corpus_files_skips_hidden_and_other_suffixes(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    (corpus / ".hidden.txt").write_text("x")
    (corpus / ".git").mkdir()
    (corpus / ".git" / "page.md").write_text("x")
    (corpus / "notes.pdf").write_text("x")
    (corpus / "b").mkdir()
    (corpus / "b" / "UPPER.HTM").write_text("x")
    names = [p.relative_to(corpus).as_posix() for p in corpus_files(corpus)]
    assert names == [
        "b/UPPER.HTM",
        "brimadol--stage-iv-testcase-syndrome.html",
        "quorvastin--chronic-fakeitis.md",
        "zelnoprine--stage-iv-testcase-syndrome.txt",
    ]


def test_corpus_hash(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path)
    original = corpus_hash(corpus)
    assert corpus_hash(corpus) == original
    assert len(original) == 64

    (corpus / ".ignored.txt").write_text("hidden files do not count")
    (corpus / "notes.pdf").write_text("neither do other suffixes")
    assert corpus_hash(corpus) == original

    page = corpus / TXT.name
    page.write_text(page.read_text() + "\nEdited.\n")
    edited = corpus_hash(corpus)
    assert edited != original

    page.rename(corpus / "renamed.txt")
    renamed = corpus_hash(corpus)
    assert renamed not in (original, edited)

    (corpus / "extra.md").write_text("# new page\n")
    added = corpus_hash(corpus)
    assert added not in (original, edited, renamed)

    (corpus / "extra.md").unlink()
    assert corpus_hash(corpus) == renamed


def test_to_dict_is_asdict_as_json_and_the_id_is_unchanged() -> None:
    a = parse_page(SEED)
    assert a.to_dict() == json.loads(json.dumps(asdict(a)))
    data = asdict(a)
    # aliases are read from the content, so the id (a hash of the content) leaves them out
    del data["id"], data["source"], data["aliases"]
    for section in data["sections"]:  # the page schema's reading of a heading, not content
        del section["kind"]
    payload = json.dumps(data, sort_keys=True, ensure_ascii=False).encode()
    assert a.id == hashlib.sha256(payload).hexdigest()[:16]
    for p in chunk(a):
        assert p.to_dict() == asdict(p)


def test_a_known_parse_is_reused_by_its_page_key(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    first = load_corpus(corpus)
    assert set(first.keys) == {a.id for a in first.assessments}
    page = next(a for a in first.assessments if a.source == TXT.name)
    # A stand-in under the page's key proves the file was not parsed again.
    marked = replace(page, evidence_level="cached", source="elsewhere.txt")
    again = load_corpus(corpus, known={first.keys[page.id]: marked})
    reused = next(a for a in again.assessments if a.compound == page.compound)
    assert reused.evidence_level == "cached" and reused.source == TXT.name
    # Edited bytes: a new key, so the page is parsed.
    (corpus / TXT.name).write_text(TXT.read_text() + "\nOne more line.\n")
    edited = load_corpus(corpus, known={first.keys[page.id]: marked})
    assert next(a for a in edited.assessments if a.compound == page.compound).evidence_level == (
        page.evidence_level
    )


def test_txt_front_matter_gives_the_page_its_url() -> None:
    text = TXT.read_text(encoding="utf-8")
    front = "---\nurl: https://example.org/evidence/zelnoprine\n---\n"
    page = parse_text(front + text, "txt", TXT.name)
    plain = parse_page(TXT)
    assert page.url == "https://example.org/evidence/zelnoprine"
    assert (page.title, page.evidence_level, page.faqs) == (
        plain.title,
        plain.evidence_level,
        plain.faqs,
    )
    assert "url:" not in all_text(page).replace('"url": ', "")
