"""Find the compounds and conditions a question names, and the ones no page covers.

Names come from the corpus (each page's compound and condition in all their forms, the
brands a page gives, and every name the drug dictionary has for the same drug) and from
vocabularies of names the corpus lacks (drugs and brands, remedies, MeSH diseases). A
name in a compound's place that no vocabulary knows is still heard as a compound
(bot/data/rules/name_slots.yaml), and so is an unknown word shaped like a drug name. The
policy this serves: a page is cited only for a compound the question names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from functools import cache
from itertools import product

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from bot import rules as rule_engine
from bot.entities.conditions import (
    STAGE_IV,
    Concept,
    ConditionIndex,
    Mention,
    Stage,
    mesh_concept,
    read_page_condition,
)
from bot.entities.forms import QUALIFIERS, compound_forms, condition_forms
from bot.model import Entities
from bot.pages import Assessment
from bot.resources import read_lines
from bot.text import NegationRules, Normalised, Normaliser, Speller, Synonyms, basic
from bot.vocab import Disease, Drug, Vocabulary, common_english, english_buckets, english_ranks
from bot.vocab import load as load_vocabulary

# A typo is only forgiven in words this long, against words this similar (0-100).
FUZZY_MIN_LEN = 5
FUZZY_CUTOFF = 86
MAX_CORRECTIONS = 3  # candidate corrections tried per typo'd word
MAX_NGRAM = 5
# A drug word followed by one of these names a target in the body, not a treatment:
# "how does the NMDA receptor part work?" asks nothing about a drug called NMDA.
BIOLOGY_WORDS = frozenset(
    """receptor receptors pathway pathways antagonism antagonist antagonists agonist
    agonists signalling signaling signal levels level system systems release activation
    modulation transporter transporters blockade inhibition channel channels""".split()
)
# A negation right before a compound ("not ketamine, esketamine") takes it back; a
# contracted auxiliary ("isn't ketamine approved?") does not.
COMPOUND_NEGATORS = frozenset({"not", "no", "never", "without", "except"})
# Words that stand for the compound already being discussed ("could it help her pain?").
REFERRING = frozenset({"it", "this", "that", "they", "these", "those"})
# "cancer pain", "cancer-related fatigue", "pain from cancer": the words that tie a symptom
# to the cancer it comes with.
CANCER_WORDS = frozenset({"cancer", "cancers", "tumor", "tumour", "tumors", "tumours"})
LINK_WORDS = frozenset({"related", "associated", "induced", "caused", "from", "of", "in", "with"})
EARLY_STAGES = (("stage", "i"), ("stage", "ii"), ("stage", "iii"), ("stage", "0"))
EARLY_WORDS = (("early", "stage"), ("early",), ("localized",), ("localised",), ("in", "situ"))


@cache
def not_names() -> frozenset[str]:
    return frozenset(w for line in read_lines("vocab/not_names.txt") for w in line.split())


@cache
def drug_stems() -> tuple[str, ...]:
    return tuple(sorted(read_lines("vocab/stems.txt"), key=len, reverse=True))


class Kind(Enum):
    COMPOUND = 0  # a compound a page covers
    CONDITION = 1  # a page's condition, by its own forms
    DRUG = 2  # a drug or remedy from the vocabularies
    DISEASE = 3  # a disease from the vocabularies


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    kind: Kind
    value: object  # frozenset of page compounds | frozenset of Concepts | Drug | Disease
    exact: bool
    corrected: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class _Masked:
    tokens: tuple[str, ...]
    origin: tuple[int, ...]
    ends: tuple[int, ...]

    @property
    def text(self) -> str:
        return " ".join(self.tokens)

    def token_at(self, offset: int) -> int | None:
        pos = 0
        for k, token in enumerate(self.tokens):
            if pos == offset:
                return k
            pos += len(token) + 1
        return None


@dataclass(frozen=True)
class Analysis:
    entities: Entities
    # Words of the question that are neither a name nor filler: none left means a bare
    # "ketamine please" or "the second one", asking for the overview.
    leftover: tuple[str, ...]
    normalised: Normalised | None = None
    leftover_at: tuple[int, ...] = ()  # the terms of `leftover`
    corrections: tuple[tuple[str, str], ...] = ()  # keyword and name typos, as corrected
    negated: tuple[str, ...] = ()  # names a negation took back
    rule: str | None = None  # the name-slot rule that heard an unknown compound
    refers: bool = False  # a pronoun stands where a compound goes ("could it help ...?")


@dataclass
class Lexicon:
    synonyms: Synonyms
    vocabulary: Vocabulary | None = None
    compounds: dict[str, set[str]] = field(default_factory=dict)  # form -> page compounds
    conditions: dict[str, set[Concept]] = field(default_factory=dict)  # form -> concepts
    index: ConditionIndex = field(default_factory=ConditionIndex)
    normaliser: Normaliser | None = None
    _typo_words: frozenset[str] = frozenset()
    _typo_buckets: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        assessments: Iterable[Assessment],
        synonyms: Synonyms | None = None,
        vocabulary: bool = True,
        spelling: Iterable[str] = (),
    ) -> Lexicon:
        lex = cls(synonyms or Synonyms.load(), load_vocabulary() if vocabulary else None)
        pages = list(assessments)
        lex.normaliser = Normaliser(lex.synonyms, NegationRules.load())
        vocab = lex.vocabulary
        # Each name once: a site has many pages per compound and per condition.
        by_compound: dict[str, set[str]] = {}
        for a in pages:
            by_compound.setdefault(a.compound, set()).update(a.aliases)
        for compound, aliases in by_compound.items():
            forms = compound_forms(compound) | {basic(x) for x in aliases}
            if vocab is not None:
                forms |= _dictionary_forms(forms, vocab)
            for form in forms:
                lex.compounds.setdefault(lex.normalise(form), set()).add(compound)
        for condition in dict.fromkeys(a.condition for a in pages):
            terms = lex.normaliser.terms(condition)
            page = read_page_condition(condition, terms, lex._disease)
            lex.index.add(page)
            own = page.facets[0].head
            forms = {" ".join(terms)}
            if len(page.facets) == 1:  # no vocabulary knows it: its own words name it
                forms |= {lex.normalise(f) for f in condition_forms(condition)}
            for form in forms:
                lex.conditions.setdefault(form, set()).add(own)
        lex._typo_words = frozenset(
            w
            for table in (lex.compounds, lex.conditions)
            for n in table
            for w in n.split()
            if len(w) >= FUZZY_MIN_LEN
        )
        buckets: dict[str, set[str]] = {}
        for w in lex._typo_words | (_cancer_words() if vocab is not None else set()):
            buckets.setdefault(w[0], set()).add(w)
        lex._typo_buckets = {k: tuple(sorted(v)) for k, v in buckets.items()}
        if vocab is not None:
            targets = set(spelling) | rule_engine.keywords() | _cancer_words() | lex._typo_words
            lex.normaliser = Normaliser(
                lex.synonyms,
                NegationRules.load(),
                Speller(targets, lex.known_word, english_ranks()),
            )
        return lex

    # --- vocabulary ------------------------------------------------------------------------

    def normalise(self, text: str) -> str:
        """A name's key (words, synonyms applied)."""
        return self.synonyms.apply(basic(text))

    def normalise_message(self, text: str) -> Normalised:
        """A message as every stage reads it (bot.text), with this corpus's names known."""
        assert self.normaliser is not None
        return self.normaliser.normalise(text)

    def known_word(self, word: str) -> bool:
        """A word of its own: English, a vocabulary name's, or a page name's."""
        if word in self._typo_words or word in not_names():
            return True
        return self.vocabulary is not None and self.vocabulary.known_word(word)

    def _disease(self, words: str) -> Disease | None:
        return self.vocabulary.diseases.get(words) if self.vocabulary else None

    def _drug(self, words: str) -> Drug | None:
        return self.vocabulary.drugs.get(words) if self.vocabulary else None

    def _english_typo(self, word: str) -> bool:
        """One edit from an English word ("medicin"): a typo, not a name."""
        if self.vocabulary is None:
            return False
        buckets = english_buckets()
        for size in (len(word) - 1, len(word), len(word) + 1):
            bucket = buckets.get((word[0], size), ())
            if bucket and process.extractOne(
                word, bucket, scorer=Levenshtein.distance, score_cutoff=1
            ):
                return True
        return False

    def _corrections(self, token: str) -> list[str]:
        """Name words a typo'd token may stand for, best first: words of the pages' names
        and of cancer names, with the same first letter. Typos are forgiven word by word
        and only in long words ("quorvamin j" is not "Quorvamin K")."""
        if len(token) < FUZZY_MIN_LEN or token in self._typo_words:
            return []
        bucket = self._typo_buckets.get(token[0], ())
        hits = process.extract(
            token, bucket, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=MAX_CORRECTIONS
        )
        return [word for word, _, _ in hits if word != token]

    # --- spans -----------------------------------------------------------------------------

    def _spans(self, n: Normalised) -> list[_Span]:
        terms = n.terms
        fixes = [self._corrections(t) for t in terms]
        spans: list[_Span] = []
        for size in range(1, MAX_NGRAM + 1):
            for i in range(len(terms) - size + 1):
                if n.clause[i] != n.clause[i + size - 1]:
                    continue
                words = terms[i : i + size]
                gram = " ".join(words)
                if gram in self.compounds:
                    spans.append(
                        _Span(i, i + size, Kind.COMPOUND, frozenset(self.compounds[gram]), True)
                    )
                if gram in self.conditions:
                    spans.append(
                        _Span(i, i + size, Kind.CONDITION, frozenset(self.conditions[gram]), True)
                    )
                if (drug := self._drug(gram)) is not None:
                    spans.append(_Span(i, i + size, Kind.DRUG, drug, True))
                if (disease := self._disease(gram)) is not None:
                    spans.append(_Span(i, i + size, Kind.DISEASE, disease, True))
                if any(fixes[i : i + size]):
                    # One typo'd word alone must not be a word of its own ("dancer" is not
                    # "cancer"); inside a longer name it may ("brest cancer").
                    if size == 1 and self.known_word(words[0]):
                        continue
                    for option in _typo_grams(words, fixes[i : i + size]):
                        fixed = tuple(
                            (a, b) for a, b in zip(words, option.split(), strict=True) if a != b
                        )
                        if option in self.compounds:
                            found = frozenset(self.compounds[option])
                            spans.append(_Span(i, i + size, Kind.COMPOUND, found, False, fixed))
                            break
                        if option in self.conditions:
                            found = frozenset(self.conditions[option])
                            spans.append(_Span(i, i + size, Kind.CONDITION, found, False, fixed))
                            break
                        if size > 1 and (disease := self._disease(option)) is not None:
                            spans.append(_Span(i, i + size, Kind.DISEASE, disease, False, fixed))
                            break
        return spans

    def resolve(self, question: str) -> Entities:
        return self.analyse(question).entities

    def analyse(self, message: str | Normalised) -> Analysis:
        assert self.normaliser is not None
        n = message if isinstance(message, Normalised) else self.normaliser.normalise(message)
        terms = n.terms
        # Longest, exact-first spans win, pages' names before the vocabularies' (a brand of
        # a covered compound is that compound); a shorter span inside a chosen one is
        # dropped ("breast cancer" is not also "cancer").
        ordered = sorted(
            self._spans(n), key=lambda s: (-(s.end - s.start), not s.exact, s.kind.value)
        )
        taken: set[int] = set()
        chosen: list[_Span] = []
        negated: list[str] = []
        negated_spans: list[_Span] = []
        for span in ordered:
            cells = set(range(span.start, span.end))
            if cells & taken:
                continue
            if (
                span.kind is Kind.DRUG
                and span.end < len(terms)
                and terms[span.end] in BIOLOGY_WORDS
            ):
                continue
            words = " ".join(terms[span.start : span.end])
            if span.kind in (Kind.COMPOUND, Kind.DRUG):
                if _negated_name(n, span.start):
                    negated.append(words)
                    negated_spans.append(span)
                    taken |= cells
                    continue
            elif n.negated[span.start]:
                # "I don't have cancer, just the depression": a negated condition is not
                # the topic.
                negated.append(words)
                negated_spans.append(span)
                taken |= cells
                continue
            taken |= cells
            chosen.append(span)
        chosen.sort(key=lambda s: s.start)

        compounds = list(
            dict.fromkeys(c for s in chosen if s.kind is Kind.COMPOUND for c in sorted(s.value))
        )  # type: ignore[attr-defined]
        said = []
        for s in chosen:
            if s.kind is Kind.COMPOUND and len(s.value) == 1:  # type: ignore[arg-type]
                (compound,) = s.value  # type: ignore[misc]
                words = " ".join(terms[s.start : s.end])
                if not set(words.split()) & set(self.normalise(compound).split()):
                    said.append((compound, _surface(n.raw, words) or words))
        mentions, stage = self._mentions(n, chosen, negated_spans)
        # "hot flushes from tamoxifen": a drug named as the cause of the condition asked
        # about is context, not a compound the question asks about.
        unknown_compounds = [
            self._display(n, s)
            for s in chosen
            if s.kind is Kind.DRUG
            and not s.value.weak  # type: ignore[attr-defined]
            and not (
                _caused_by(n.terms, s.start)
                and any(m.end <= s.start and not m.context for m in mentions)
            )
        ]
        at = {m.words: m for m in mentions}
        matches = [
            replace(m, mention=_mention_label(n, at[m.mention]) if m.mention in at else m.mention)
            for m in self.index.matches(mentions, stage, self._says_no_cancer(negated))
        ]
        # A mention is accounted for when a page fits it as asked (not a page about a kind
        # of cancer it did not name); mentions of one concept go together ("scanxiety",
        # "anxious").
        explained = {w for m in matches if m.answerable for w in m.explains}
        explained_keys = {m.concept.ident for m in mentions if m.words in explained}
        unknown_conditions = [
            _condition_label(n, m, stage)
            for m in mentions
            if m.concept.ident not in explained_keys and not m.context and m.concept != STAGE_IV
        ]
        rule = None
        refers = False
        if compounds and not mentions and stage is None:
            unlisted = self._unlisted_condition(n, chosen)
            if unlisted is not None:
                unknown_conditions.append(unlisted)
        if not compounds and not unknown_compounds:
            # A cancer named by its site ("and for prostate?") is a condition, not a name.
            sites = [
                _Span(m.start, m.end, Kind.DISEASE, None, True)
                for m in mentions
                if m.concept != STAGE_IV
                and not m.context
                and not any(c.start <= m.start < c.end for c in chosen)
            ]
            spans = sorted([*chosen, *sites], key=lambda x: x.start)
            found, refers = self._unlisted_compound(n, spans, negated_spans)
            if found is not None:
                start, end, rule = found
                taken |= set(range(start, end))
                listed = self._drug(" ".join(terms[start:end]))
                span = _Span(start, end, Kind.DRUG, listed, True)
                unknown_compounds.append(self._display(n, span))
        corrections = list(n.corrections) + [c for s in chosen for c in s.corrected]
        taken |= {i for m in mentions for i in range(m.start, m.end)}
        leftover_at = tuple(
            i
            for i, t in enumerate(terms)
            if i not in taken and t not in not_names() and t not in ("stage", "iv")
        )
        leftover = tuple(terms[i] for i in leftover_at)
        return Analysis(
            Entities(
                compounds=tuple(compounds),
                conditions=tuple(m.condition for m in matches if m.answerable and not m.unstaged),
                unknown_compounds=tuple(dict.fromkeys(unknown_compounds)),
                unknown_conditions=tuple(dict.fromkeys(unknown_conditions)),
                matches=tuple(matches),
                stage_iv=stage is Stage.IV,
                said=tuple(said),
            ),
            leftover,
            n,
            leftover_at,
            tuple(dict.fromkeys(corrections)),
            tuple(negated),
            rule,
            refers,
        )

    # --- conditions ------------------------------------------------------------------------

    def _says_no_cancer(self, negated: Sequence[str]) -> bool:
        """A cancer or its treatment is among the names the message negates ("not from
        chemo", "I don't have cancer")."""
        return any((d := self._disease(w)) is not None and d.cancer for w in negated)

    def _mentions(
        self, n: Normalised, chosen: Sequence[_Span], negated_spans: Sequence[_Span]
    ) -> tuple[list[Mention], Stage | None]:
        terms = n.terms
        mentions: list[Mention] = []
        for s in chosen:
            fixed = dict(s.corrected)  # "brest cancer" is named as "breast cancer"
            words = " ".join(fixed.get(t, t) for t in terms[s.start : s.end])
            if s.kind is Kind.CONDITION:
                mentions += [
                    Mention(words, c, s.start, s.end) for c in sorted(s.value, key=lambda c: c.key)
                ]  # type: ignore[attr-defined]
            elif s.kind is Kind.DISEASE:
                d: Disease = s.value  # type: ignore[assignment]
                parts = self._split_cancer(words, s.start) if not d.cancer else None
                if parts:
                    mentions += parts
                    continue
                mentions.append(
                    Mention(words, mesh_concept(d), s.start, s.end, d.treatment, d.stage_iv)
                )
        mentions += self._sites(n, chosen, mentions)
        # "I do NOT have cancer ... your page about it for stage 4 cancer": a condition the
        # writer says they do not have is not what they ask about, wherever else it appears.
        denied = {
            mesh_concept(s.value).ident
            for s in negated_spans
            if isinstance(s.value, Disease) and not s.value.treatment
        }
        mentions = [m for m in mentions if m.concept.ident not in denied]
        stage = _stage(n, mentions)
        at = _find(terms, ("stage", "iv"), default=-1)
        named = any(s.start <= at < s.end for s in chosen)  # "stage iv testcase syndrome"
        if stage is Stage.IV and at >= 0 and not named and not any(m.cancer for m in mentions):
            # "halvorene for stage 4": the pages about stage IV disease.
            mentions.append(Mention(" ".join(terms[at : at + 2]), STAGE_IV, at, at + 2))
        return mentions, stage

    def _split_cancer(self, words: str, start: int) -> list[Mention] | None:
        """ "cancer pain", "cancer related fatigue": a symptom named with the cancer it comes
        with is the symptom and a cancer (so a Stage IV Cancer page fits the cancer half)."""
        terms = words.split()
        cancer_at = [i for i, t in enumerate(terms) if t in CANCER_WORDS]
        if not cancer_at or self.vocabulary is None:
            return None
        rest = [t for i, t in enumerate(terms) if i not in cancer_at and t not in LINK_WORDS]
        symptom = self._disease(" ".join(rest)) if rest else None
        cancer = self._disease(terms[cancer_at[0]])
        if symptom is None or cancer is None or symptom.cancer:
            return None
        i = cancer_at[0]
        return [
            Mention(" ".join(rest), mesh_concept(symptom), start, start + len(terms)),
            Mention(terms[i], mesh_concept(cancer), start + i, start + i + 1),
        ]

    def _sites(
        self, n: Normalised, chosen: Sequence[_Span], mentions: Sequence[Mention]
    ) -> list[Mention]:
        """A cancer named by its site alone: "stage 4 ovarian", "for colorectal"."""
        if self.vocabulary is None:
            return []
        sites = cancer_sites()
        inside = {i for s in chosen for i in range(s.start, s.end)}
        found = []
        for i, t in enumerate(n.terms):
            disease = sites.get(t)
            if disease is None or i in inside or n.negated[i]:
                continue
            staged = i >= 2 and n.terms[i - 2 : i] in (("stage", "iv"), *EARLY_STAGES)
            if staged or _adjective_site(t):
                found.append(Mention(t, mesh_concept(disease), i, i + 1))
        return found

    # --- names no vocabulary knows -----------------------------------------------------

    def _masked(
        self, n: Normalised, chosen: Sequence[_Span], negated: Sequence[_Span] = ()
    ) -> _Masked:
        """The terms with names replaced by placeholders, as name-slot rules read them."""
        terms = n.terms
        masked: list[str] = []
        origin: list[int] = []  # masked token -> its first term
        ends: list[int] = []  # masked token -> the term after it
        by_start = {s.start: s for s in chosen}
        gone = {s.start: s for s in negated}
        i = 0
        while i < len(terms):
            span = gone.get(i) or by_start.get(i)
            if i in gone:
                token = "_neg_"
            elif span is not None and span.kind in (Kind.CONDITION, Kind.DISEASE):
                token = "_cond_"
            elif span is not None and span.kind is Kind.COMPOUND:
                token = "_comp_"
            elif span is not None and span.kind is Kind.DRUG:
                token = "_drug_"  # a listed name (one the vocabulary calls weak)
            elif tuple(terms[i : i + 2]) in (("stage", "iv"), *EARLY_STAGES):
                token, span = "_stage_", _Span(i, i + 2, Kind.DISEASE, None, True)
            else:
                token, span = terms[i], None
            end = span.end if span is not None else i + 1
            masked.append(token)
            origin.append(i)
            ends.append(end)
            i = end
            if i < len(terms) and n.clause[i] != n.clause[i - 1]:
                masked.append("_br_")  # a comma or a sentence end: "takes X, does it ..."
                origin.append(i)
                ends.append(i)
        return _Masked(tuple(masked), tuple(origin), tuple(ends))

    def _slot_names(
        self, n: Normalised, masked: _Masked, kind: str
    ) -> tuple[list[tuple[int, int, int, str]], bool]:
        """(score, first term, end term, rule id) of each candidate name the rules of this
        kind find (a word no vocabulary knows scores above a listed weak drug, which scores
        above an everyday word), and whether a pronoun stood in a name's place."""
        found = []
        refers = False
        for rule in rule_engine.load("name_slots"):
            if rule.kind != kind:
                continue
            for m in rule.pattern.finditer(masked.text):
                first = masked.token_at(m.start("name"))
                if first is None:
                    continue
                words = masked.tokens[first : first + len(m.group("name").split())]
                if words[0] in REFERRING:
                    refers = True
                edges = self._name_in(words)
                if edges is None:
                    continue
                a, b = first + edges[0], first + edges[1]
                start, end = masked.origin[a], masked.ends[b - 1]
                if _negated_name(n, start):
                    continue
                chosen = n.terms[start:end]
                if all(w in not_names() for w in chosen):
                    continue  # "more": a listed brand's name, and a word that names nothing
                if any(not self.known_word(w) for w in chosen):
                    score = 3
                elif self._drug(" ".join(chosen)) is not None or any(
                    self._drug(w) is not None for w in chosen
                ):
                    score = 2
                else:
                    score = 1
                if score == 1 and (
                    rule.accepts == "names"
                    or (kind == "compound" and any(w in common_english() for w in chosen))
                ):
                    continue
                found.append((score, start, end, rule.id))
        return found, refers

    def _unlisted_compound(
        self, n: Normalised, chosen: Sequence[_Span], negated: Sequence[_Span] = ()
    ) -> tuple[tuple[int, int, str] | None, bool]:
        """A name in a compound's place, or an unknown word shaped like a drug's name; and
        whether a pronoun stood in a compound's place instead."""
        if self.vocabulary is None:  # nothing to tell names from words by
            return None, False
        candidates, refers = self._slot_names(n, self._masked(n, chosen, negated), "compound")
        # An everyday word right before a condition qualifies it ("anything on menopause hot
        # flushes"): not a compound's name.
        conditions = {s.start for s in chosen if s.kind in (Kind.CONDITION, Kind.DISEASE)}
        candidates = [
            c
            for c in candidates
            if not (
                c[2] in conditions
                and self.vocabulary is not None
                and all(w in self.vocabulary.english for w in n.terms[c[1] : c[2]])
            )
        ]
        if candidates:
            best = max(c[0] for c in candidates)
            _, start, end, rule = next(c for c in candidates if c[0] == best)
            if best > 1 or not any(self._looks_like_a_drug(t) for t in n.terms):
                return (start, end, rule), refers
        inside = {i for s in (*chosen, *negated) for i in range(s.start, s.end)}
        for i, t in enumerate(n.terms):
            if i not in inside and not _negated_name(n, i) and self._looks_like_a_drug(t):
                return (i, i + 1, "drug-shaped-word"), refers
        return None, refers

    def _unlisted_condition(self, n: Normalised, chosen: Sequence[_Span]) -> str | None:
        """ "halvorene lupus", "ketamine for sleep": a word in a condition's place that no
        vocabulary knows as a condition is still a condition we have no page for."""
        if self.vocabulary is None:
            return None
        for _, start, end, _rule in self._slot_names(n, self._masked(n, chosen), "condition")[0]:
            words = n.terms[start:end]
            if all(w.isalpha() and len(w) >= 3 for w in words):
                return _surface(n.raw, " ".join(words)) or " ".join(words)
        return None

    def _name_in(self, words: Sequence[str]) -> tuple[int, int] | None:
        """The candidate words without those that name nothing at its edges."""
        stop = not_names()

        def nothing(w: str) -> bool:
            return w in stop or (w.startswith("_") and w != "_drug_")

        a, b = 0, len(words)
        while a < b and nothing(words[a]):
            a += 1
        while b > a and nothing(words[b - 1]):
            b -= 1
        if a == b or any((nothing(w) and w.startswith("_")) or w.isdigit() for w in words[a:b]):
            return None
        if all(len(w) < 2 for w in words[a:b]):
            return None
        return a, b

    def _looks_like_a_drug(self, word: str) -> bool:
        if len(word) < 3 or word in not_names() or self.known_word(word):
            return False
        if any(c.isdigit() for c in word) and any(c.isalpha() for c in word):
            return True  # a code name: onc201, abt 737 (as "abt737")
        if len(word) < 5 or not word.isalpha() or self._english_typo(word):
            return False
        return word.endswith(drug_stems())

    def _display(self, n: Normalised, span: _Span) -> str:
        """A name as the reply gives it: as the question wrote it, and the drug it is when
        that reads differently ("Keytruda (pembrolizumab)")."""
        words = " ".join(n.terms[span.start : span.end])
        written = _surface(n.raw, words) or words
        drug = span.value if isinstance(span.value, Drug) else None
        if drug is None:
            return written
        label = drug.label or drug.canonical
        if basic(label) in (words, basic(written)):
            return written
        return f"{written} ({label[:1].lower() + label[1:] if label[1:2].islower() else label})"


CAUSED_BY = (("from",), ("after",), ("caused", "by"), ("due", "to"), ("because", "of"))


def _caused_by(terms: Sequence[str], start: int) -> bool:
    """The words before `start` say what follows caused something ("from", "due to")."""
    return any(tuple(terms[max(0, start - len(c)) : start]) == c for c in CAUSED_BY)


def _negated_name(n: Normalised, start: int) -> bool:
    """ "I'm not asking about quorvastin", "not ketamine": a compound a negation word takes
    back. A contracted auxiliary ("isn't ketamine approved?") asks about it instead."""
    if not n.negated[start]:
        return False
    i = start - 1
    while i >= 0 and n.clause[i] == n.clause[start] and start - i <= 6:
        if n.terms[i] in COMPOUND_NEGATORS:
            return True
        i -= 1
    return False


def _find(terms: Sequence[str], phrase: tuple[str, ...], default: int = 0) -> int:
    for i in range(len(terms) - len(phrase) + 1):
        if tuple(terms[i : i + len(phrase)]) == phrase:
            return i
    return default


def _stage(n: Normalised, mentions: Sequence[Mention]) -> Stage | None:
    """Stage IV when the question says so (and no negation takes it back), early when it
    names an earlier stage ("stage 2", "early stage", "not metastatic")."""
    terms = n.terms
    for i in range(len(terms) - 1):
        if terms[i : i + 2] == ("stage", "iv"):
            if n.negated[i] or (i and terms[i - 1] == "non"):
                return Stage.EARLY
            return Stage.IV
    # "came back in her lungs": words that say it has spread (bot/data/rules/stage.yaml)
    if any(m.stage_iv for m in mentions) or rule_engine.first(rule_engine.load("stage"), n.folded):
        return Stage.IV
    for i in range(len(terms)):
        for phrase in (*EARLY_STAGES, *EARLY_WORDS):
            if tuple(terms[i : i + len(phrase)]) == phrase:
                return Stage.EARLY
    return None


_STAGE_BEFORE = re.compile(
    r"(?:stage\s*(?:iv|4|four)[abc]?|metastatic|advanced|late[- ]stage|end[- ]stage|terminal)"
    r"\s+$",
    re.IGNORECASE,
)


def _mention_label(n: Normalised, m: Mention) -> str:
    """A mention as a reply names it: as written, with the stage written just before it
    ("stage 4 colon cancer", "metastatic breast cancer")."""
    words = m.words.removeprefix("stage iv ") if m.words != "stage iv" else m.words
    found = re.search(_surface_pattern(words), n.raw, re.IGNORECASE) if words else None
    if found is None:
        return _roman(m.words)
    before = _STAGE_BEFORE.search(n.raw[: found.start()])
    return (before.group(0) if before else "") + found.group(0)


def _roman(words: str) -> str:
    return re.sub(r"\bstage (i{1,3}|iv)\b", lambda x: f"stage {x.group(1).upper()}", words)


def _condition_label(n: Normalised, m: Mention, stage: Stage | None) -> str:
    """An uncovered condition as the reply names it: with its stage when that is why."""
    terms = n.terms
    if stage is Stage.EARLY and m.cancer:
        for phrase in (*EARLY_STAGES, *EARLY_WORDS):
            k = len(phrase)
            if m.start >= k and tuple(terms[m.start - k : m.start]) == phrase:
                return _roman(" ".join(terms[m.start - k : m.end]))
    return _surface(n.raw, m.words) or m.words


def _surface_pattern(words: str) -> str:
    return r"(?<![\w])" + r"[\W_]*".join(re.escape(w) for w in words.split()) + r"(?![\w])"


def _surface(raw: str, words: str) -> str | None:
    """The words as written in the message (case, hyphens), found by their letters."""
    if not words.split():
        return None
    found = re.search(_surface_pattern(words), raw, re.IGNORECASE)
    return found.group(0) if found else None


def _typo_grams(tokens: Sequence[str], fixes: Sequence[list[str]]) -> list[str]:
    """The n-gram with one or more of its words corrected (the n-gram itself left out)."""
    options = ([token, *fixed] for token, fixed in zip(tokens, fixes, strict=True))
    return [" ".join(words) for words in product(*options)][1:]


def _dictionary_forms(forms: set[str], vocab: Vocabulary) -> set[str]:
    """Every name the dictionary has for the drugs these forms name (brands, synonyms)."""
    canonicals = {d.canonical for f in forms if (d := vocab.drugs.get(f)) is not None}
    return {key for c in canonicals for key in vocab.names_of.get(c, ())}


@cache
def cancer_sites() -> dict[str, Disease]:
    """Site words of cancer names ("ovarian" of "ovarian cancer") -> that cancer."""
    sites: dict[str, Disease] = {}
    for key, d in load_vocabulary().diseases.items():
        words = key.split()
        by_site = any(t.startswith("C04.588") for t in d.trees)  # MeSH: neoplasms by site
        if by_site and len(words) == 2 and words[1] in ("cancer", "carcinoma", "tumor"):
            sites.setdefault(words[0], d)
    return sites


def _adjective_site(word: str) -> bool:
    """A site adjective names the cancer on its own ("for colorectal"); a noun ("breast",
    "liver": "it spread to her liver") or a route ("oral") does not."""
    return (
        len(word) >= 6
        and word not in QUALIFIERS
        and word.endswith(("ic", "ian", "al", "ar", "ine", "ate"))
    )


@cache
def _cancer_words() -> frozenset[str]:
    """Words of cancer names, as typo targets ("pancratic" -> "pancreatic")."""
    return frozenset(
        w
        for key, d in load_vocabulary().diseases.items()
        if d.cancer and len(key.split()) <= 3
        for w in key.split()
        if len(w) >= 5 and w.isalpha()
    )
