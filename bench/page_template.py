"""The page template synthetic pages are written from: the seed page's lines and order
(`corpus/ketamine-iv-esketamine--stage-iv-cancer.txt`), with the headings the page schema
(bot/data/page_schema.yaml) gives each section kind, so a renamed heading is renamed here too.
"""

from __future__ import annotations

from bot import page_schema

PAGE_TEMPLATE = """\
{title}

By Synthetic Benchmark Team, Medical Advisor: Placeholder Reviewer, MD

{title}

Understanding the evidence level for any compound is essential for making informed decisions. \
This page provides a structured evidence assessment for {compound} in the context of \
{condition}, following evidence-based medicine standards. This is a research summary — not \
medical advice. Synthetic benchmark page: the compound and the condition are invented.

{hierarchy_heading}

Evidence in medicine is evaluated on a hierarchy from strongest to weakest:

  1. Level 1: Systematic reviews and meta-analyses of RCTs
  2. Level 2: Randomized controlled trials (RCTs)
  3. Level 3: Non-randomized controlled trials
  4. Level 4: Case-control and cohort studies
  5. Level 5: Case reports and expert opinion
  6. Preclinical: Animal and cell culture studies (not sufficient for clinical decisions)

{classification_heading}

Evidence level: {level}

This evidence level reflects direct research on {compound} in {condition} contexts.

{mechanism_heading}

Mechanistic plausibility does not equal clinical efficacy, but it helps contextualize why \
researchers investigate compounds. {compound} operates via: {mechanism}

This mechanism has documented relevance to {condition} biology.

{meaning_heading}

An evidence level of "{level}" means:

  • Treatment decisions should not be based solely on this evidence
  • Enrollment in clinical trials (if available) may be the highest-evidence option
  • Compassionate use or off-label consideration requires careful risk/benefit analysis with \
your oncologist
  • The absence of strong evidence does not mean the compound doesn't work — it means we \
don't yet know

{evolve_heading}

The evidence for {compound} in {condition} may improve over time as more clinical trials are \
completed. Monitor ClinicalTrials.gov for emerging studies. Evidence levels are not \
permanent — they reflect the current state of published research.{revision}


Medical Disclaimer: This page summarizes published research and is not medical advice. Never \
start, stop, or change any treatment based on information found online. Always consult \
qualified healthcare professionals before making treatment decisions.

Get a personalized research report at example.org.

{faq_heading}

What grade of evidence exists for {compound} in {condition}?

The current evidence classification is: {level}. This is based on the available published \
literature as of 2026. Evidence grades can change as new clinical trials are completed and \
published.

Is the evidence strong enough to consider {compound} for {condition}?

Whether the current evidence level ({level}) is sufficient to consider {compound} for your \
specific {condition} case is a clinical decision that requires your oncologist's assessment of \
your individual circumstances, risk tolerance, and available alternatives.

Are there clinical trials that could improve the evidence for {compound} in {condition}?

To find active trials: search ClinicalTrials.gov for '{compound}' as intervention. Trial \
participation is how evidence levels improve over time. Ask your oncologist whether trial \
enrollment might be appropriate for your situation."""


def headings(compound: str, condition: str) -> dict[str, str]:
    """Each {<kind>_heading} of PAGE_TEMPLATE as the page schema writes it on this page."""
    specs = page_schema.load().specs.values()
    return {f"{s.kind}_heading": s.written(compound, condition) for s in specs if not s.untitled}


def unfilled() -> str:
    """The template with its headings written and the page's own values left as
    `{placeholders}` (the words no invented name may resemble)."""
    text = PAGE_TEMPLATE
    for key, heading in headings("{compound}", "{condition}").items():
        text = text.replace(f"{{{key}}}", heading)
    return text
