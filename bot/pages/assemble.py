"""The assembler: blocks (from any reader) -> `Assessment`. Finds the title, the sections
(each given its kind by the page schema), the evidence level, the mechanism, the FAQ
pairs, the byline and the disclaimer; drops marketing lines."""

from __future__ import annotations

import re
from dataclasses import replace

from bot import page_schema
from bot.model import SectionKind
from bot.pages.blocks import MARKETING_RE, MAX_MARKETING_CHARS, Block, clean
from bot.pages.records import FAQ, Assessment, PageError, Section

TITLE_FORM = "<Compound> for <Condition>: Evidence Level Assessment"
TITLE_RE = re.compile(r"(?P<subject>.+?)\s*:\s*evidence level assessment\b", re.IGNORECASE)
FOR_RE = re.compile(r"\s+for\s+", re.IGNORECASE)
EVIDENCE_LEVEL_RE = re.compile(r"evidence level\s*:\s*(?P<value>.*)", re.IGNORECASE)
MECHANISM_RE = re.compile(r"\boperates via\s*:\s*(?P<items>.+)", re.IGNORECASE)
DISCLAIMER_RE = re.compile(r"medical disclaimer\s*:", re.IGNORECASE)


def _match_title(text: str | None) -> re.Match[str] | None:
    if not text:
        return None
    match = TITLE_RE.match(clean(text))
    return match if match and FOR_RE.search(match["subject"]) else None


def _split_subject(subject: str, blocks: list[Block]) -> tuple[str, str]:
    """Compound/condition, preferring the classification heading's explicit "+" split
    ("Current Evidence Classification: <compound> + <condition>")."""
    for block in blocks:
        classification = (
            block.is_heading and page_schema.kind_of(block.text) is SectionKind.CLASSIFICATION
        )
        if classification and ":" in block.text:
            pair = block.text.partition(":")[2].strip()
            for plus in re.finditer(r"\s+\+\s+", pair):
                compound, condition = pair[: plus.start()], pair[plus.end() :]
                if f"{compound} for {condition}".casefold() == subject.casefold():
                    return compound, condition
    compound, condition = FOR_RE.split(subject, maxsplit=1)
    return compound, condition


def _mechanism(sections: list[Section]) -> tuple[str, ...]:
    for section in sections:
        if section.kind is not SectionKind.MECHANISM:
            continue
        for paragraph in section.paragraphs:
            if match := MECHANISM_RE.search(paragraph):
                # Stop at the end of the sentence when more prose follows the list.
                items = re.split(r"\.\s+(?=[A-Z])", match["items"], maxsplit=1)[0]
                return tuple(i.strip().rstrip(".").strip() for i in items.split(";") if i.strip())
    return ()


def _split_sections(blocks: list[Block]) -> tuple[list[Section], list[FAQ]]:
    sections: list[Section] = []
    faqs: list[FAQ] = []
    title, anchor, paragraphs = page_schema.load().untitled.heading, None, []
    faq_level: int | None = None  # heading level of the FAQ section we are inside
    question: Block | None = None
    answer: list[str] = []

    def close_question() -> None:
        if question and answer:
            faqs.append(FAQ(question.text, "\n".join(answer), question.anchor))

    for block in blocks:
        if faq_level is not None:
            if block.text.endswith("?"):
                close_question()
                question, answer = block, []
                continue
            if not block.is_heading:
                if question:
                    answer.append(block.text)
                continue
            if block.level > faq_level:  # a sub-heading inside the FAQ: not content
                continue
            close_question()
            faq_level, question = None, None
        if block.is_heading:
            if paragraphs:
                sections.append(
                    Section(title, tuple(paragraphs), anchor, page_schema.kind_of(title))
                )
            title, anchor, paragraphs = block.text, block.anchor, []
            if page_schema.kind_of(block.text) is SectionKind.FAQ:
                faq_level = block.level
        else:
            paragraphs.append(block.text)
    close_question()
    if paragraphs:
        sections.append(Section(title, tuple(paragraphs), anchor, page_schema.kind_of(title)))
    return sections, faqs


# How a page names a compound's brands or other names in its text: "sold under the brand
# name Orsivex", "marketed as Paxorva and Paxorva XR", "also known as ...", "(brand name X)".
ALIAS_RE = re.compile(
    r"(?:(?:sold|marketed|available|known|distributed)\s+(?:commercially\s+)?"
    r"(?:under|as)\s+(?:the\s+)?(?:(?:brand|trade)(?:\s+|-)names?\s+)?"
    r"|\b(?:brand|trade)(?:\s+|-)names?\s*(?:include|includes|such\s+as|:|is|are)?\s*"
    r"|also\s+called\s+)"
    r"(?P<names>[A-Z0-9][\w-]*(?:\s[A-Z0-9][\w-]*)?"
    r"(?:(?:,\s*|\s+(?:and|or)\s+)[A-Z0-9][\w-]*(?:\s[A-Z0-9][\w-]*)?)*)"
)


def _intro_aliases(page: Assessment) -> list[str]:
    """Names the page's introduction gives the compound (brands, other names)."""
    intro = page.section(SectionKind.INTRODUCTION)
    text = " ".join(intro.paragraphs) if intro else ""
    found: list[str] = []
    for m in ALIAS_RE.finditer(text):
        found += [n.strip() for n in re.split(r",\s*|\s+(?:and|or)\s+", m["names"]) if n.strip()]
    return found


def assemble(
    blocks: list[Block],
    source: str,
    url: str | None,
    fallback_title: str | None,
    aliases: list[str] | None = None,
) -> Assessment:
    """The page the blocks are (PageError when it has no title of the template's form or no
    evidence level). `aliases`: other names of the compound its front matter gives (those
    its introduction gives are added)."""
    start = next((i for i, b in enumerate(blocks) if b.level == 1 and _match_title(b.text)), None)
    match = _match_title(blocks[start].text) if start is not None else _match_title(fallback_title)
    if match is None:
        raise PageError(source, f"no title of the form {TITLE_FORM!r}")
    title = match[0]
    body = [
        b
        for b in blocks[(start + 1 if start is not None else 0) :]
        if b.text.casefold() != title.casefold()  # the template repeats the title
        and not (len(b.text) <= MAX_MARKETING_CHARS and MARKETING_RE.match(b.text))
    ]

    disclaimers = [b for b in body if not b.is_heading and DISCLAIMER_RE.match(b.text)]
    body = [b for b in body if b not in disclaimers]
    first_heading = next((i for i, b in enumerate(body) if b.is_heading), len(body))
    byline = next((b for b in body[:first_heading] if b.text.startswith("By ")), None)
    body = [b for b in body if b is not byline]

    level = next(
        (m for b in body if not b.is_heading and (m := EVIDENCE_LEVEL_RE.match(b.text))), None
    )
    if level is None:
        raise PageError(source, "no 'Evidence level:' line")
    if not level["value"].strip():
        raise PageError(source, "empty 'Evidence level:' line")

    compound, condition = _split_subject(match["subject"], body)
    sections, faqs = _split_sections(body)
    page = Assessment(
        source=source,
        title=title,
        compound=compound.strip(),
        condition=condition.strip(),
        evidence_level=level["value"].strip(),
        mechanism=_mechanism(sections),
        sections=tuple(sections),
        faqs=tuple(faqs),
        disclaimer=disclaimers[0].text if disclaimers else None,
        url=url,
        byline=byline.text if byline else None,
    )
    named = [*(aliases or ()), *_intro_aliases(page)]
    return replace(page, aliases=tuple(dict.fromkeys(named)))
