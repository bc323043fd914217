"""The answer policy (bot/policy.py), end to end over pages whose condition titles need
reading (tests/policy_world.py): specific and general cancer pages, conditions named the
way a site titles them ("Cancer-Related Anxiety and Depression", "Cancer Pain",
"Chemotherapy-Induced Nausea"), and brands given in a title or an introduction. Questions
about the site itself are in test_site_questions.py."""

from __future__ import annotations

import pytest
from policy_world import PAGES, ask, make_bot, title_of, titles_of

from bot.assistant import Assistant
from bot.model import Entities, Relation, Status
from bot.policy import Catalogue, Verdict, decide


@pytest.fixture(scope="module")
def bot(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    return make_bot(tmp_path_factory.mktemp("policy"))


@pytest.mark.parametrize(
    ("question", "page"),
    [
        # a page for the specific condition wins over the general one
        ("velbrazine for glioblastoma", "Velbrazine (Velbrex) for Glioblastoma"),
        ("is velbrex any good for gbm?", "Velbrazine (Velbrex) for Glioblastoma"),
        # brands: in the title's brackets, in the introduction
        ("Velbrex for metastatic cancer", "Velbrazine (Velbrex) for Stage IV Cancer"),
        ("Orvanta for cancer pain", "Orvantide for Cancer Pain"),
        # conditions as the pages title them
        (
            "pemtarol for anxiety in cancer patients",
            "Pemtarol for Cancer-Related Anxiety and Depression",
        ),
        (
            "does pemtarol help depression after a cancer diagnosis",
            "Pemtarol for Cancer-Related Anxiety and Depression",
        ),
        ("orvantide for the pain from my cancer", "Orvantide for Cancer Pain"),
        ("kelvadine for nausea from chemo", "Kelvadine for Chemotherapy-Induced Nausea"),
        ("kelvadine for pancreatic cancer", "Kelvadine for Metastatic Pancreatic Cancer"),
        ("talmexin for MS", "Talmexin for Multiple Sclerosis"),
        # a stage alone: the pages about stage IV disease
        ("velbrazine stage 4", "Velbrazine (Velbrex) for Stage IV Cancer"),
        ("kelvadine for stage 4", "Kelvadine for Metastatic Pancreatic Cancer"),
    ],
)
def test_the_page_that_fits_best_is_answered(bot: Assistant, question: str, page: str) -> None:
    reply = ask(bot, question)
    assert reply.status is Status.ANSWERED and title_of(reply) == page


def test_a_general_page_says_it_is_not_specific(bot: Assistant) -> None:
    reply = ask(bot, "velbrazine for my dad's stage 4 lung cancer")
    assert title_of(reply) == "Velbrazine (Velbrex) for Stage IV Cancer"
    assert (
        "This assessment is about Stage IV Cancer in general; it is not specific to "
        "stage 4 lung cancer." in reply.answer
    )
    specific = ask(bot, "velbrazine for glioblastoma")
    assert "not specific" not in specific.answer
    # ... and the general page is offered next to the specific one
    assert any("Stage IV Cancer" in s for s in specific.suggestions)


def test_a_narrower_page_says_what_it_is_about(bot: Assistant) -> None:
    reply = ask(bot, "pemtarol - not for cancer, for depression")
    assert title_of(reply) == "Pemtarol for Treatment-Resistant Depression"
    assert "specifically, not depression in general" in reply.answer


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("talmexin for diabetes", "Talmexin for diabetes"),
        ("kelvadine for motion sickness", "Kelvadine for motion sickness"),
        ("velbrazine for stage 2 breast cancer", "Velbrazine (Velbrex) for stage II breast cancer"),
        ("talmexin for stage 4 cancer", "Talmexin for stage 4 cancer"),
        ("does norvaxil help glioblastoma?", "norvaxil"),
        ("Keytruda for glioblastoma", "Keytruda (pembrolizumab)"),
    ],
)
def test_what_no_page_covers_is_not_found(bot: Assistant, question: str, missing: str) -> None:
    reply = ask(bot, question)
    assert reply.status is Status.NOT_FOUND
    assert f"We have no assessment of {missing}" in reply.answer


def test_a_condition_alone_lists_the_pages_specific_first(bot: Assistant) -> None:
    reply = ask(bot, "anything for stage 4 glioblastoma?")
    assert reply.status is Status.ANSWERED and reply.template == "answered_listing"
    titles = titles_of(reply)
    assert titles[0] == "Velbrazine (Velbrex) for Glioblastoma"
    assert "Velbrazine (Velbrex) for Stage IV Cancer" in titles
    assert "Kelvadine for Metastatic Pancreatic Cancer" not in titles  # another cancer
    # The pages about every stage IV cancer only where the question says stage IV, or
    # where nothing fits closer: an unstaged glioblastoma is not known to have spread.
    assert titles_of(ask(bot, "anything for glioblastoma?")) == [
        "Velbrazine (Velbrex) for Glioblastoma"
    ]
    # For stage 4 cancer itself, the pages about it; a page about one kind of cancer (a
    # glioblastoma is not known to have spread) is not listed as if it were about it.
    assert titles_of(ask(bot, "what do you have for stage 4 cancer?")) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]
    # Lung cancer with no stage given: the stage IV pages cover it only if it has spread;
    # they are named as such, not listed with their levels as if they were about it.
    lung = ask(bot, "anything for lung cancer?")
    assert lung.status is Status.NOT_FOUND and not lung.citations
    assert "stage IV cancer in general (if the cancer has spread)" in lung.answer
    assert "Dravostin for Stage IV Cancer" in lung.answer
    assert titles_of(ask(bot, "anything for stage 4 lung cancer?")) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]


def test_a_compound_alone(bot: Assistant) -> None:
    assert ask(bot, "velbrazine").status is Status.CLARIFY
    listed = ask(bot, "what do you have on pemtarol?")
    assert listed.status is Status.ANSWERED and len(listed.citations) == 2
    assert title_of(ask(bot, "orvantide")) == "Orvantide for Cancer Pain"


def test_a_follow_up_about_it_keeps_the_compound(bot: Assistant) -> None:
    first = ask(bot, "talmexin for ms")
    again = ask(bot, "could it help my dad's stage 4 lung cancer?", first.session_id)
    assert again.status is Status.NOT_FOUND and "Talmexin for stage 4 lung cancer" in again.answer
    first = ask(bot, "orvantide for my mom's cancer pain")
    dose = ask(bot, "can she take it together with her morphine?", first.session_id)
    assert dose.status is Status.DECLINED and title_of(dose) == "Orvantide for Cancer Pain"


def test_decide_names_the_rule_of_each_decision(bot: Assistant) -> None:
    catalogue = Catalogue.of(bot.index.assessments.values())
    assert decide(Entities(unknown_compounds=("x",)), catalogue).rule == "unknown-compound"
    assert decide(Entities(), catalogue).rule == "no-names"
    d = decide(Entities(compounds=("Talmexin",), unknown_conditions=("gout",)), catalogue)
    assert (d.verdict, d.rule, d.missing) == (
        Verdict.NOT_FOUND,
        "unknown-condition",
        "Talmexin for gout",
    )
    d = decide(Entities(compounds=("Orvantide",)), catalogue)
    assert (d.verdict, d.rule) == (Verdict.ANSWER, "compound-only")
    reply = bot.reply("velbrazine for my stage 4 lung cancer")
    assert reply.trace.policy == "pair"
    assert reply.trace.conditions[0]["relation"] == Relation.BROADER.name.lower()


# -- beyond one page: comparisons, listings in parts, trials, subjects no page discusses


@pytest.mark.parametrize(
    ("question", "pages"),
    [
        # two compounds for a condition: each one's best fitting page
        (
            "which has stronger evidence for stage 4 pancreatic cancer, velbrazine or kelvadine?",
            [
                "Velbrazine (Velbrex) for Stage IV Cancer",
                "Kelvadine for Metastatic Pancreatic Cancer",
            ],
        ),
        ("talmexin vs orvanta", ["Talmexin for Multiple Sclerosis", "Orvantide for Cancer Pain"]),
        # one compound across its conditions, when asked to compare
        (
            "pemtarol for treatment resistant depression vs for cancer anxiety, same evidence?",
            [
                "Pemtarol for Cancer-Related Anxiety and Depression",
                "Pemtarol for Treatment-Resistant Depression",
            ],
        ),
    ],
)
def test_a_comparison_shows_each_page_with_its_own_level(
    bot: Assistant, question: str, pages: list[str]
) -> None:
    reply = ask(bot, question)  # the invariants: each level verbatim next to its title
    assert reply.status is Status.ANSWERED and reply.template == "answered_compare"
    assert sorted(titles_of(reply)) == sorted(pages) and reply.evidence_level is None
    assert "we do not rank treatments" in reply.answer
    assert reply.trace.policy.startswith("compare")


def test_a_compared_compound_with_no_page_is_named_never_replaced(bot: Assistant) -> None:
    reply = ask(bot, "talmexin or orvantide for glioblastoma, which is better studied")
    assert reply.status is Status.NOT_FOUND
    assert "We have no assessment of Talmexin for glioblastoma or Orvantide for" in reply.answer
    one = ask(bot, "velbrazine vs talmexin for glioblastoma")
    assert titles_of(one) == ["Velbrazine (Velbrex) for Glioblastoma"]
    assert "We have no assessment of Talmexin for glioblastoma." in one.answer
    # An unknown compound beside a known one: that one's page, the other named.
    other = ask(bot, "keytruda vs velbrazine for stage 4, which has more evidence")
    assert titles_of(other) == ["Velbrazine (Velbrex) for Stage IV Cancer"]
    assert "we have no assessment of keytruda" in other.answer.lower()


def test_one_compound_for_two_conditions_is_a_choice_unless_compared(bot: Assistant) -> None:
    assert ask(bot, "velbrazine for stage 4 glioblastoma").template != "answered_compare"
    compared = ask(
        bot, "velbrazine - is the evidence stronger for glioblastoma or stage 4 in general"
    )
    assert len(compared.citations) == 2


def test_follow_ups_compare_with_what_was_discussed(bot: Assistant) -> None:
    first = ask(bot, "velbrazine for stage 4 cancer")
    better = ask(bot, "is it better than dravostin?", first.session_id)
    assert sorted(titles_of(better)) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]
    # ... and "the second one" picks from the pages compared
    second = ask(bot, "the second one", better.session_id)
    assert titles_of(second) == [titles_of(better)[1]]
    # a compound with no page for the condition discussed is named, not swapped
    again = ask(bot, "velbrazine for stage 4 cancer")
    none = ask(bot, "is it better than talmexin?", again.session_id)
    assert titles_of(none) == ["Velbrazine (Velbrex) for Stage IV Cancer"]
    assert "We have no assessment of Talmexin for Stage IV Cancer." in none.answer
    gbm = ask(bot, "velbrex for glioblastoma")
    general = ask(bot, "how does that compare with the general stage 4 one", gbm.session_id)
    assert sorted(titles_of(general)) == [
        "Velbrazine (Velbrex) for Glioblastoma",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]
    listed = ask(bot, "what do you have on pemtarol?")
    two = ask(bot, "which of the two is stronger", listed.session_id)
    assert two.template == "answered_compare" and len(two.citations) == 2


def test_a_long_listing_comes_in_parts(bot: Assistant, monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.assistant.listings as listings_module

    monkeypatch.setattr(listings_module, "MAX_LISTED", 3)
    first = ask(bot, "can you list all your pages")
    assert first.status is Status.ANSWERED and len(first.citations) == 3
    assert f"We have {len(PAGES)} assessments" in first.answer and "show me more" in first.answer
    assert first.suggestions[0] == "Show me more"
    seen = titles_of(first)
    session = first.session_id
    while len(seen) < len(PAGES):
        more = ask(bot, "show me more", session)
        assert more.status is Status.ANSWERED and set(titles_of(more)).isdisjoint(seen)
        seen += titles_of(more)
    assert sorted(seen) == sorted(f"{c} for {d}" for c, d, _ in PAGES.values())
    assert "show me more" not in more.answer  # nothing left to show


def test_trial_answers_link_a_clinicaltrials_search(bot: Assistant) -> None:
    reply = ask(bot, "are there any clinical trials of velbrex for glioblastoma?")
    url = "https://clinicaltrials.gov/search?cond=Glioblastoma&intr=Velbrazine"
    assert url in reply.answer and f'href="{url.replace("&", "&amp;")}"' in reply.html
    assert url not in ask(bot, "how does velbrex work for glioblastoma?").answer


def test_a_subject_no_page_discusses_is_not_found_before_any_clarify(bot: Assistant) -> None:
    for question in ("what are the side effects of velbrazine", "is velbrazine fda approved"):
        reply = ask(bot, question)
        assert reply.status is Status.NOT_FOUND and "None of our assessments of Velbrazine" in (
            reply.answer.replace("Velbrazine (Velbrex)", "Velbrazine")
        ), question


def test_a_correction_keeps_the_condition_that_was_asked(bot: Assistant) -> None:
    # The first answer is the general page; the condition asked was pancreatic cancer that
    # has spread, so the corrected compound gets its page for exactly that.
    first = ask(bot, "dravostin for pancreatic cancer that has spread to the liver")
    assert title_of(first) == "Dravostin for Stage IV Cancer"
    meant = ask(bot, "sorry, I meant kelvadine", first.session_id)
    # (the fake embedder finds no passage for "sorry, I meant": the page is named, no level)
    assert "Kelvadine for Metastatic Pancreatic Cancer" in meant.answer
    # ... and a follow-up about "it" stays on that page
    level = ask(bot, "and what is its evidence level?", meant.session_id)
    assert title_of(level) == "Kelvadine for Metastatic Pancreatic Cancer"


def test_a_listing_includes_pages_about_the_condition_in_cancer(bot: Assistant) -> None:
    # "Cancer-Related Anxiety and Depression" is about depression in people with cancer: a
    # kind of depression, listed after the page about depression as asked.
    assert titles_of(ask(bot, "what do you have for depression")) == [
        "Pemtarol for Treatment-Resistant Depression",
        "Pemtarol for Cancer-Related Anxiety and Depression",
    ]
    # Asked for a compound, the page that fits better is answered, the other suggested.
    reply = ask(bot, "pemtarol for depression")
    assert title_of(reply) == "Pemtarol for Treatment-Resistant Depression"


def test_distress_that_names_a_condition_makes_it_the_topic(bot: Assistant) -> None:
    upset = ask(bot, "i just got told it's stage 4 and i can't stop crying")
    assert upset.status is Status.SUPPORT
    listed = ask(bot, "ok. what pages do you have for it", upset.session_id)
    assert titles_of(listed) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]


@pytest.mark.parametrize(
    ("question", "page"),
    [
        ("is kelvadine any good for chemo sickness", "Kelvadine for Chemotherapy-Induced Nausea"),
        ("what is there for nerve damage from chemo", None),
    ],
)
def test_everyday_names_of_conditions(bot: Assistant, question: str, page: str | None) -> None:
    reply = ask(bot, question)
    if page is None:  # no page about neuropathy: named as what we have no page for
        assert reply.status is Status.NOT_FOUND and "nerve damage" in reply.answer
    else:
        assert title_of(reply) == page


def test_of_two_pages_covering_more_than_was_asked_the_narrower_fits(bot: Assistant) -> None:
    # Colon cancer is a colorectal cancer: both pages cover it, the colorectal one closer.
    reply = ask(bot, "dravostin for metastatic colon cancer")
    assert title_of(reply) == "Dravostin for Colorectal Cancer"


@pytest.mark.parametrize(
    ("question", "status"),
    [
        ("is velbrazine a pill or an infusion", Status.NOT_FOUND),
        ("does dravostin make you lose your hair", Status.NOT_FOUND),
        ("is dravostin cheaper than chemo", Status.NOT_FOUND),
        ("should we ask the gp to start her on pemtarol", Status.DECLINED),
    ],
)
def test_subjects_and_requests_decided_before_a_clarify(
    bot: Assistant, question: str, status: Status
) -> None:
    assert ask(bot, question).status is status


def test_one_compound_compared_across_conditions_and_its_pages_listed(bot: Assistant) -> None:
    why = ask(bot, "why is velbrex rated so differently for glioblastoma than for stage 4 cancer")
    assert why.template == "answered_compare" and len(why.citations) == 2
    listed = ask(bot, "what are the velbrazine pages")
    assert listed.status is Status.ANSWERED and len(listed.citations) == 2


def test_stage_4_alone_lists_the_pages_about_stage_4_cancer_itself(bot: Assistant) -> None:
    # "Metastatic Pancreatic Cancer" is about one kind of cancer that has spread: not what
    # "stage 4" alone asks about while pages about stage IV cancer itself exist.
    assert titles_of(ask(bot, "anything for stage 4?")) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Stage IV Cancer",
    ]
    # Named, it is that page.
    assert title_of(ask(bot, "kelvadine for stage 4 pancreatic cancer")) == (
        "Kelvadine for Metastatic Pancreatic Cancer"
    )


def test_choosing_a_page_by_its_words_or_as_the_other_one(bot: Assistant) -> None:
    offered = ask(bot, "velbrazine")
    assert offered.status is Status.CLARIFY
    # The words that choose an option ask nothing else: the chosen page's level.
    gbm = ask(bot, "the glioblastoma one", offered.session_id)
    assert gbm.status is Status.ANSWERED
    assert title_of(gbm) == "Velbrazine (Velbrex) for Glioblastoma"
    other = ask(bot, "and the other one?", gbm.session_id)
    assert title_of(other) == "Velbrazine (Velbrex) for Stage IV Cancer"


def test_is_it_better_than_x_uses_x_page_for_what_was_asked(bot: Assistant) -> None:
    # Dravostin has no glioblastoma page, but the glioblastoma asked about is stage 4: its
    # stage IV page fits, as it would have fitted the question itself.
    first = ask(bot, "velbrex for stage 4 glioblastoma")
    assert title_of(first) == "Velbrazine (Velbrex) for Glioblastoma"
    better = ask(bot, "is it better than dravostin?", first.session_id)
    assert sorted(titles_of(better)) == [
        "Dravostin for Stage IV Cancer",
        "Velbrazine (Velbrex) for Glioblastoma",
    ]


def test_a_cancer_given_no_stage_is_not_answered_from_a_stage_iv_page(bot: Assistant) -> None:
    # Velbrazine's stage IV page covers ovarian cancer only once it has spread; the question
    # does not say so: we have no page for velbrazine for ovarian cancer, and say which we have.
    reply = ask(bot, "whats the evidence for velbrazine in ovarian cancer")
    assert reply.status is Status.NOT_FOUND
    assert "We have no assessment of Velbrazine (Velbrex) for ovarian cancer" in reply.answer
    assert "Velbrazine (Velbrex) for Stage IV Cancer" in reply.answer  # what we do have
    for staged in (
        "velbrazine for stage 4 ovarian cancer",
        "velbrazine for ovarian cancer, it came back in her liver",
    ):
        assert title_of(ask(bot, staged)) == "Velbrazine (Velbrex) for Stage IV Cancer", staged


def test_a_compound_weighed_against_one_we_have_no_page_for(bot: Assistant) -> None:
    reply = ask(bot, "dravostin or mistletoe injections for stage 4 cancer?")
    assert titles_of(reply) == ["Dravostin for Stage IV Cancer"]
    assert "We have no assessment of mistletoe" in reply.answer
    # A comparison the message names in full does not pull in the page discussed before.
    first = ask(bot, "velbrex for glioblastoma")
    versus = ask(bot, "dravostin vs acupuncture for stage 4 cancer", first.session_id)
    assert titles_of(versus) == ["Dravostin for Stage IV Cancer"]
    assert "We have no assessment of acupuncture" in versus.answer


def test_a_compound_named_by_its_brand_is_missing_under_that_name(bot: Assistant) -> None:
    # Orvanta is Orvantide's brand (in its introduction, not its title), named as written.
    reply = ask(bot, "orvanta vs pemtarol for treatment resistant depression")
    assert titles_of(reply) == ["Pemtarol for Treatment-Resistant Depression"]
    assert "We have no assessment of orvanta (Orvantide) for treatment resistant depression" in (
        reply.answer
    )


def test_a_follow_up_naming_a_cancer_keeps_the_compound_that_covers_it(bot: Assistant) -> None:
    first = ask(bot, "dravostin for stage 4 cancer what level")
    colon = ask(bot, "is it different for bowel cancer that went to the liver", first.session_id)
    assert title_of(colon) == "Dravostin for Colorectal Cancer"
    why = ask(bot, "why is that one rated higher than the general one", colon.session_id)
    assert sorted(titles_of(why)) == [
        "Dravostin for Colorectal Cancer",
        "Dravostin for Stage IV Cancer",
    ]


def test_a_page_about_a_kind_of_the_cancer_named_is_answered_with_a_note(bot: Assistant) -> None:
    # Dravostin's page for an intestinal cancer is about colorectal cancer, one kind of it
    # (its stage IV page covers it only if it has spread, which is not said).
    reply = ask(bot, "dravostin for intestinal cancer")
    assert title_of(reply) == "Dravostin for Colorectal Cancer"
    assert "This assessment is about Colorectal Cancer specifically" in reply.answer
    # Listed for the cancer alone, it is named as about a kind of it, with no level.
    listed = ask(bot, "what do you have for intestinal cancer?")
    assert listed.status is Status.NOT_FOUND and not listed.citations
    assert "Dravostin for Colorectal Cancer" in listed.answer


def test_a_cancer_named_by_its_site_in_a_follow_up_is_no_compound(bot: Assistant) -> None:
    first = ask(bot, "kelvadine for chemo nausea")
    again = ask(bot, "and for pancreatic?", first.session_id)
    assert title_of(again) == "Kelvadine for Metastatic Pancreatic Cancer"
    assert "We have no assessment of pancreatic" not in again.answer


def test_a_subject_asked_after_a_comparison_is_not_found(bot: Assistant) -> None:
    first = ask(bot, "velbrazine for stage 4 cancer")
    better = ask(bot, "is it better than dravostin?", first.session_id)
    assert better.template == "answered_compare"
    effects = ask(bot, "ok and what side effects does it have", better.session_id)
    assert effects.status is Status.NOT_FOUND and not effects.citations


def test_a_drug_named_as_a_cause_is_context_not_the_subject(bot: Assistant) -> None:
    reply = ask(bot, "my nausea from keytruda is awful, anything on here for it?")
    assert reply.status is Status.ANSWERED
    assert titles_of(reply) == ["Kelvadine for Chemotherapy-Induced Nausea"]
    assert "We have no assessment of keytruda" not in reply.answer


def test_more_alone_continues_a_long_listing(
    bot: Assistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.assistant.listings as listings_module

    monkeypatch.setattr(listings_module, "MAX_LISTED", 3)
    first = ask(bot, "can you list all your pages")
    more = ask(bot, "more", first.session_id)
    assert more.status is Status.ANSWERED and more.citations
    assert set(titles_of(more)).isdisjoint(titles_of(first))
