"""Replies rendered from Jinja2 templates, as plain text and as escaped HTML.

Each template under `bot/templates/answers/` is rendered twice from the same context:
once as text and once as HTML. Templates write content through small helpers (`para`,
`quote`, `items`, `level`), which escape in the HTML rendering, so no template can emit
a page's or a user's text unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from bot.model import CrisisKind, Status, Trace
from bot.pages import PageSummary
from bot.retrieval import Hit
from bot.triage import Contact

__all__ = ["Citation", "Renderer", "Reply", "Status", "Trace"]


@dataclass(frozen=True)
class Citation:
    page_id: str
    title: str
    compound: str
    condition: str
    evidence_level: str
    section: str
    url: str | None
    passage: str
    score: float
    passage_id: str = ""
    anchor: str | None = None

    @classmethod
    def from_hit(cls, hit: Hit) -> Citation:
        a, p = hit.assessment, hit.passage
        section = f"{p.section}: {p.question}" if p.question else p.section
        return cls(
            page_id=a.id,
            title=a.title,
            compound=a.compound,
            condition=a.condition,
            evidence_level=a.evidence_level,
            section=section,
            url=a.url,
            passage=p.text,
            score=round(hit.score, 4),
            passage_id=p.id,
            anchor=p.anchor,
        )

    @property
    def link(self) -> str | None:
        """The page's URL, at the cited section when the page has an anchor for it."""
        if self.url and self.anchor and "#" not in self.url:
            return f"{self.url}#{self.anchor}"
        return self.url

    def to_json(self) -> dict[str, Any]:
        return {
            "page_id": self.page_id,
            "title": self.title,
            "compound": self.compound,
            "condition": self.condition,
            "evidence_level": self.evidence_level,
            "section": self.section,
            "url": self.link,
            "passage": self.passage,
            "score": self.score,
        }


@dataclass(frozen=True)
class Reply:
    status: Status
    answer: str
    html: str
    evidence_level: str | None
    disclaimer: str
    citations: tuple[Citation, ...]
    suggestions: tuple[str, ...]
    session_id: str
    answer_id: str
    template: str
    # What produced the reply, kept for the audit trail (not part of the HTTP object).
    trace: Trace = field(default_factory=Trace, compare=False)
    crisis_kind: CrisisKind | None = None  # urgent replies: whose contacts come first

    def to_json(self) -> dict[str, Any]:
        """Exactly the HTTP reply object of the design contract."""
        return {
            "status": self.status.value,
            "answer": self.answer,
            "html": self.html,
            "evidence_level": self.evidence_level,
            "disclaimer": self.disclaimer,
            "citations": [c.to_json() for c in self.citations],
            "suggestions": list(self.suggestions),
            "crisis_kind": self.crisis_kind.value if self.crisis_kind else None,
            "session_id": self.session_id,
            "answer_id": self.answer_id,
        }


def _safe_url(url: str | None) -> str | None:
    return url if url and re.match(r"https?://", url, re.I) else None


SOURCE_LINK = "Read the full assessment"


def page_url(site_url: str, source: str) -> str:
    """A page's address on the site (BOT_SITE_URL): `{slug}` in the setting is replaced by
    the page's file name without its extension; without it, the slug is appended."""
    slug = quote(PurePosixPath(source).stem)
    if "{slug}" in site_url:
        return site_url.replace("{slug}", slug)
    return f"{site_url.rstrip('/')}/{slug}"


def _text_helpers() -> dict[str, Callable[..., str]]:
    return {
        "para": lambda text, cls="": f"{text}\n\n",
        "quote": lambda text: "\n".join(f"> {ln}" for ln in str(text).splitlines()) + "\n\n",
        "items": lambda items: "".join(f"- {i}\n" for i in items) + "\n",
        "level": lambda text: f"Evidence level: {text}\n\n",
        "link": lambda text, url: f"{text} ({url})" if _safe_url(url) else str(text),
        "contacts": lambda items: "".join(f"{c.text}\n" for c in items) + "\n",
        "source": lambda c: (
            f"Source: {c.title} — {c.section}"
            + (f". {SOURCE_LINK} ({c.link})" if _safe_url(c.link) else "")
            + "\n\n"
        ),
        # One listed assessment: its title and its level on one line, then its address.
        "entry": lambda title, url, level: (
            f"{title} — Evidence level: {level}" + (f" ({url})" if _safe_url(url) else "") + "\n\n"
        ),
    }


def _html_helpers() -> dict[str, Callable[..., Markup]]:
    def para(text: str, cls: str = "") -> Markup:
        attr = Markup(' class="{}"').format(cls) if cls else ""
        return Markup("<p{}>{}</p>\n").format(attr, text)

    def quote(text: str) -> Markup:
        lines = Markup("<br>").join(escape(ln) for ln in str(text).splitlines())
        return Markup("<blockquote>{}</blockquote>\n").format(lines)

    def items(values: Sequence[str]) -> Markup:
        inner = Markup("").join(Markup("<li>{}</li>").format(v) for v in values)
        return Markup("<ul>{}</ul>\n").format(inner)

    def level(text: str) -> Markup:
        return Markup('<p class="evidence-level"><strong>Evidence level:</strong> {}</p>\n').format(
            text
        )

    def link(text: str, url: str | None) -> Markup:
        safe = _safe_url(url)
        if not safe:
            return escape(text)
        return Markup('<a href="{}" rel="noopener">{}</a>').format(safe, text)

    def contacts(values: Sequence[Contact]) -> Markup:
        # Contact links come from the staff's contacts file (checked: tel:, sms:, https:).
        inner = Markup("").join(
            Markup('<li><a href="{}">{}</a></li>').format(c.href, c.text)
            if c.href
            else Markup("<li>{}</li>").format(c.text)
            for c in values
        )
        return Markup('<ul class="crisis">{}</ul>\n').format(inner)

    def source(c: Citation) -> Markup:
        # The link names what it opens; the sentence around it names the page.
        safe = _safe_url(c.link)
        more = (
            Markup('. <a href="{}" rel="noopener">{}</a>').format(safe, SOURCE_LINK) if safe else ""
        )
        return Markup('<p class="citation">Source: {} — {}{}</p>\n').format(
            c.title, c.section, more
        )

    def entry(title: str, url: str | None, value: str) -> Markup:
        return Markup('<p class="listing">{} — <strong>Evidence level:</strong> {}</p>\n').format(
            link(title, url), value
        )

    return {
        "para": para,
        "quote": quote,
        "items": items,
        "level": level,
        "link": link,
        "contacts": contacts,
        "source": source,
        "entry": entry,
    }


def _environment(html: bool) -> Environment:
    env = Environment(
        loader=PackageLoader("bot", "templates/answers"),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # Templates ship with the code: no file checks on every reply.
        auto_reload=False,
    )
    env.globals.update(_html_helpers() if html else _text_helpers())
    # Lets a template leave out of the HTML what the clients show another way (a clarify's
    # options are its suggestion chips there).
    env.globals["html"] = html
    return env


class Renderer:
    """Renders one reply from a template name and its context."""

    def __init__(
        self, site_url: str | None = None, pages: Mapping[str, PageSummary] | None = None
    ) -> None:
        """`site_url` (BOT_SITE_URL) links the citations of `pages` that name no URL of
        their own to the page on the site."""
        self.site_url = site_url
        self.pages = pages or {}
        self.text_env = _environment(html=False)
        self.html_env = _environment(html=True)
        self._templates = frozenset(self.text_env.list_templates())

    def render(
        self,
        template: str,
        *,
        status: Status,
        disclaimer: str,
        session_id: str,
        answer_id: str,
        evidence_level: str | None = None,
        citations: Sequence[Citation] = (),
        suggestions: Sequence[str] = (),
        crisis: Sequence[Contact] = (),
        notes: Sequence[str] = (),
        lead_notes: Sequence[str] = (),
        trace: Trace | None = None,
        crisis_kind: CrisisKind | None = None,
        language: str = "en",
        **context: Any,
    ) -> Reply:
        citations = [self._linked(c) for c in citations]
        ctx = {
            "status": status.value,
            "disclaimer": disclaimer,
            "evidence_level": evidence_level,
            "citations": citations,
            "crisis": crisis,
            "notes": notes,
            "lead_notes": lead_notes,
            "inline_citations": False,
            **context,
        }
        name = self._name(template, language)
        text = self.text_env.get_template(name).render(ctx)
        html = self.html_env.get_template(name).render(ctx)
        return Reply(
            status=status,
            answer=re.sub(r"\n{3,}", "\n\n", text).strip(),
            html=html.strip(),
            evidence_level=evidence_level,
            disclaimer=disclaimer,
            citations=tuple(citations),
            suggestions=tuple(suggestions),
            session_id=session_id,
            answer_id=answer_id,
            template=template,
            trace=trace if trace is not None else Trace(),
            crisis_kind=crisis_kind,
        )

    def _linked(self, citation: Citation) -> Citation:
        """The citation, with the page's address on the site when it has none of its own."""
        if citation.url or not self.site_url:
            return citation
        page = self.pages.get(citation.page_id)
        if page is None:
            return citation
        return replace(citation, url=page_url(self.site_url, page.source))

    def _name(self, template: str, language: str) -> str:
        """The template in the reply's language where one is written ("urgent.es.j2")."""
        if language != "en":
            localised = f"{template}.{language}.j2"
            if localised in self._templates:
                return localised
        return f"{template}.j2"
