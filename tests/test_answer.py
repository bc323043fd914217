"""Templates render by name and context, as text and as escaped HTML."""

from __future__ import annotations

from dataclasses import replace

import pytest
from jinja2 import UndefinedError
from markupsafe import escape

from bot.answer import Citation, Renderer, Status
from bot.pages import FAQ, Assessment, Section
from bot.triage import Contact

XSS = "<img src=x onerror=alert(1)>"


def _assessment(level: str = "Level 4: Cohort fixture data; no RCTs") -> Assessment:
    return Assessment(
        source="x.txt",
        title=f"Zelnoprine {XSS} for Chronic Fakeitis: Evidence Level Assessment",
        compound=f"Zelnoprine {XSS}",
        condition="Chronic Fakeitis",
        evidence_level=level,
        mechanism=("fixture <b>agonism</b>", "mock & pathway"),
        sections=(Section("Mechanistic Evidence", ("Fixture text.",)),),
        faqs=(FAQ("Is it <script>?", "Fixture answer."),),
        disclaimer="Medical Disclaimer: fixture, not medical advice.",
        url="javascript:alert(1)",
    )


def _citation(a: Assessment) -> Citation:
    return Citation(
        page_id=a.id,
        title=a.title,
        compound=a.compound,
        condition=a.condition,
        evidence_level=a.evidence_level,
        section="Mechanistic Evidence",
        url=a.url,
        passage="Fixture <script>alert(2)</script> text.",
        score=0.9,
    )


def _render(template: str, **context: object):
    a = _assessment()
    defaults: dict[str, object] = {
        "status": Status.ANSWERED,
        "disclaimer": a.disclaimer,
        "session_id": "s",
        "answer_id": "a",
    }
    return Renderer().render(template, **{**defaults, **context})


ALL_TEMPLATES = {
    "answered_evidence_level": {"a": _assessment(), "passage": "Quoted <x> passage."},
    "answered_mechanism": {"a": _assessment(), "passage": "Quoted <x> passage."},
    "answered_section": {"a": _assessment(), "passage": "Quoted <x>.", "section": "S <y>"},
    "answered_faq": {"a": _assessment(), "passage": "Answer <x>.", "question": "Q <y>?"},
    "not_found": {
        "missing": f"turmeric {XSS}",
        "off_scope": None,
        "covered": ["A <b>"],
        "covered_intro": "We have:",
        "more": 0,
    },
    "clarify": {"options": [f"Zelnoprine {XSS} for A", "Zelnoprine for B"]},
    "urgent": {"crisis": (Contact("Call 988 <now>", "tel:988"),)},
    "smalltalk": {"covered": ["A <b>"]},
    "answered_hierarchy": {"a": _assessment(), "passage": "Level 1: <x>"},
    "answered_trials": {"a": _assessment(), "passage": "Trials <x>."},
    "answered_consider": {"a": _assessment(), "passage": "Consider <x>."},
    "answered_meaning": {"a": _assessment(), "passage": "Means <x>."},
    "answered_evolve": {"a": _assessment(), "passage": "Evolves <x>."},
    "declined": {"a": _assessment()},
}


@pytest.mark.parametrize("template", sorted(ALL_TEMPLATES))
def test_every_template_carries_the_disclaimer_and_escapes_html(template: str) -> None:
    a = _assessment()
    reply = _render(
        template,
        evidence_level=a.evidence_level,
        citations=[_citation(a)],
        **ALL_TEMPLATES[template],
    )
    assert reply.answer.rstrip().endswith(a.disclaimer)
    assert "not medical advice" in reply.html
    assert "<script" not in reply.html and "<img" not in reply.html and "<b>" not in reply.html
    assert "&lt;" in reply.html
    # A javascript: URL from a page is never turned into a link.
    assert "javascript:" not in reply.html
    assert f"Evidence level: {a.evidence_level}" in reply.answer
    assert reply.template == template


def test_evidence_level_line_is_verbatim_in_text_and_html() -> None:
    level = 'Phase II "fixture" <data> & more'
    a = _assessment(level)
    reply = _render(
        "answered_evidence_level", a=a, passage="p", evidence_level=level, citations=[_citation(a)]
    )
    assert f"Evidence level: {level}" in reply.answer
    assert "Phase II &#34;fixture&#34; &lt;data&gt; &amp; more" in reply.html
    assert reply.evidence_level == level


def test_urgent_puts_crisis_contacts_first_as_tappable_links() -> None:
    crisis = (Contact("Call or text 988.", "tel:988"), Contact("Chat <online>.", None))
    reply = _render("urgent", status=Status.URGENT, crisis=crisis)
    assert reply.answer.startswith("Call or text 988.\nChat <online>.\n")
    assert reply.html.startswith(
        '<ul class="crisis"><li><a href="tel:988">Call or text 988.</a></li>'
        "<li>Chat &lt;online&gt;.</li></ul>"
    )


def test_mechanism_lists_every_mechanism_item() -> None:
    a = _assessment()
    reply = _render("answered_mechanism", a=a, passage="p", evidence_level=a.evidence_level)
    assert "- fixture <b>agonism</b>\n- mock & pathway" in reply.answer
    assert "<li>fixture &lt;b&gt;agonism&lt;/b&gt;</li><li>mock &amp; pathway</li>" in reply.html


def test_citation_links_only_http_urls() -> None:
    a = _assessment()
    safe = Citation(**{**_citation(a).__dict__, "url": "https://example.org/a?x=1&y=2"})
    reply = _render("answered_section", a=a, passage="p", section="S", citations=[safe])
    assert '<a href="https://example.org/a?x=1&amp;y=2" rel="noopener">' in reply.html
    assert "(https://example.org/a?x=1&y=2)" in reply.answer


def test_missing_context_is_an_error_not_a_silent_blank() -> None:
    with pytest.raises(UndefinedError):
        _render("answered_faq", a=_assessment())


def test_json_object_has_exactly_the_contract_keys(
    reply_keys: frozenset[str], citation_keys: frozenset[str]
) -> None:
    a = _assessment()
    reply = _render(
        "answered_section",
        a=a,
        passage="p",
        section="S",
        evidence_level=a.evidence_level,
        citations=[_citation(a)],
        suggestions=["next?"],
    )
    data = reply.to_json()
    assert set(data) == reply_keys
    assert set(data["citations"][0]) == citation_keys
    assert data["status"] == "answered" and data["suggestions"] == ["next?"]


def test_citation_links_to_the_section_anchor_when_the_page_has_one() -> None:
    a = _assessment()
    base = {**_citation(a).__dict__, "url": "https://example.org/page"}
    anchored = Citation(**{**base, "anchor": "mechanistic-evidence"})
    assert anchored.link == "https://example.org/page#mechanistic-evidence"
    assert anchored.to_json()["url"] == "https://example.org/page#mechanistic-evidence"
    reply = _render("answered_section", a=a, passage="p", section="S", citations=[anchored])
    assert 'href="https://example.org/page#mechanistic-evidence"' in reply.html
    assert Citation(**base).link == "https://example.org/page"


def test_clarify_lists_its_options_in_the_text_only() -> None:
    """In HTML the options are the suggestion chips, shown right under the question."""
    reply = _render(
        "clarify",
        status=Status.CLARIFY,
        options=["Zelnoprine for A", "Zelnoprine for B"],
        suggestions=["Zelnoprine for A?", "Zelnoprine for B?"],
    )
    assert "- Zelnoprine for A\n- Zelnoprine for B" in reply.answer
    assert "Zelnoprine for A" not in reply.html and "<ul" not in reply.html
    assert reply.html.startswith("<p>We have more than one assessment")


@pytest.mark.parametrize(
    ("site_url", "expected"),
    [
        ("https://example.org/evidence/", "https://example.org/evidence/zel--fakeitis"),
        ("https://example.org/evidence", "https://example.org/evidence/zel--fakeitis"),
        ("https://example.org/e/{slug}.html?x=1", "https://example.org/e/zel--fakeitis.html?x=1"),
    ],
)
def test_site_url_links_every_citation_to_its_page(site_url: str, expected: str) -> None:
    a = replace(_assessment(), source="zel--fakeitis.txt", url=None)
    cited = Citation(**{**_citation(a).__dict__, "url": None, "page_id": a.id})
    reply = _render_with(Renderer(site_url, {a.id: a}), a, cited)
    assert reply.to_json()["citations"][0]["url"] == expected
    link = f'<a href="{escape(expected)}" rel="noopener">Read the full assessment</a>'
    assert link in reply.html
    assert f"Read the full assessment ({expected})" in reply.answer
    # Without the setting, a page with no address of its own is not linked.
    plain = _render_with(Renderer(None, {a.id: a}), a, cited)
    assert "<a " not in plain.html and "Read the full assessment" not in plain.answer


def test_a_pages_own_url_comes_before_the_site_url() -> None:
    a = replace(_assessment(), url="https://example.org/own")
    own = Citation(**{**_citation(a).__dict__, "url": a.url, "page_id": a.id})
    reply = _render_with(Renderer("https://example.org/evidence", {a.id: a}), a, own)
    assert reply.to_json()["citations"][0]["url"] == "https://example.org/own"


def _render_with(renderer: Renderer, a: Assessment, citation: Citation):
    return renderer.render(
        "answered_section",
        status=Status.ANSWERED,
        disclaimer="d, not medical advice",
        session_id="s",
        answer_id="x",
        a=a,
        passage="p",
        section="S",
        citations=[citation],
    )
