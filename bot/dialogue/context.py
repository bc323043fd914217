"""What a conversation is about so far (Context), as stored between turns, and what the
next turn keeps after a reply of each status (next_context)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.model import Status

FORMAT_VERSION = 1  # stored contexts of another version are dropped, not misread


@dataclass(frozen=True)
class Option:
    compound: str
    condition: str


def _strings(*values: object, optional: bool = False) -> bool:
    return all(isinstance(v, str) or (optional and v is None) for v in values)


@dataclass(frozen=True)
class Context:
    """What a conversation is about so far."""

    compound: str | None = None
    condition: str | None = None
    options: tuple[Option, ...] = ()  # offered by the last `clarify` reply, or listed
    rest: tuple[Option, ...] = ()  # a listing's pages not shown yet ("show me more")
    earlier: tuple[Option, ...] = ()  # the page discussed before this one ("the two")
    # Every page condition that fits the condition the person named, best first: "sorry, I
    # meant orsecanib" after a question about pancreatic cancer that a Stage IV Cancer page
    # answered is about orsecanib's pancreatic cancer page, not the page's condition.
    fits: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.compound or self.condition or self.options)

    @property
    def fitting(self) -> tuple[str, ...]:
        """The page conditions that fit what was asked, best first (at least the topic's)."""
        if self.condition is None:
            return ()
        return self.fits if self.condition in self.fits else (self.condition,)

    def to_json(self) -> str:
        options = [[o.compound, o.condition] for o in self.options]
        rest = [[o.compound, o.condition] for o in self.rest]
        earlier = [[o.compound, o.condition] for o in self.earlier]
        data = {"v": FORMAT_VERSION, "compound": self.compound, "condition": self.condition}
        more = {"options": options, "rest": rest, "earlier": earlier, "fits": list(self.fits)}
        return json.dumps({**data, **more}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Context:
        """Tolerant: a corrupt, foreign or older record is an empty context, never an error."""
        try:
            data = json.loads(text)
            compound, condition, pairs = data["compound"], data["condition"], data["options"]
            # Absent from contexts stored before they existed.
            rest, earlier = data.get("rest", []), data.get("earlier", [])
            fits = data.get("fits", [])
            # A string pair would unpack into letters: only [str, str] lists are options.
            if (
                data["v"] == FORMAT_VERSION
                and _strings(compound, condition, optional=True)
                and isinstance(fits, list)
                and _strings(*fits)
                and all(
                    isinstance(p, list) and len(p) == 2 and _strings(*p)
                    for p in (*pairs, *rest, *earlier)
                )
            ):
                return cls(
                    compound,
                    condition,
                    tuple(Option(*p) for p in pairs),
                    tuple(Option(*p) for p in rest),
                    tuple(Option(*p) for p in earlier),
                    tuple(fits),
                )
        except (ValueError, TypeError, KeyError, RecursionError):
            pass
        return cls()


def next_context(
    previous: Context | None,
    status: Status,
    compound: str | None,
    condition: str | None,
    options: Sequence[Option] = (),
    rest: Sequence[Option] = (),
    fits: Sequence[str] | None = None,
) -> Context:
    """Context to store after a reply with this status. `fits`: the page conditions that fit
    the condition this message named, best first; None when it named none (the ones named
    before stay while the topic's condition is one of them)."""
    previous, status = previous or Context(), Status(status)
    if fits is None:
        fits = previous.fits
    if status is Status.ANSWERED and options:
        # A listing or a comparison: "the second one" picks from it; the condition listed
        # stays the topic; "show me more" shows the rest of a long listing.
        conditions = {o.condition for o in options}
        shared = conditions.pop() if len(conditions) == 1 else condition
        return Context(None, shared, tuple(options), tuple(rest), fits=_kept(fits, shared))
    if status in (Status.ANSWERED, Status.DECLINED):
        # A declined reply with no single assessment may be about a new, unclear subject.
        if not compound:
            return Context()
        here = Option(compound, condition) if condition else None
        before = Option(previous.compound, previous.condition) if previous.condition else None
        earlier = (before,) if before and previous.compound and before != here else ()
        kept = _kept(fits, condition)
        if here is not None and here in previous.options:
            # Picked from a listing: "and the third one?" still picks from it.
            return Context(
                compound,
                condition,
                previous.options,
                previous.rest,
                earlier or previous.earlier,
                kept,
            )
        return Context(compound, condition, earlier=earlier or previous.earlier, fits=kept)
    if status is Status.CLARIFY:
        # The topic becomes what every option shares ("Brimadol: for which condition?"): the
        # earlier one is dropped, or "how does it work?" would answer for a compound left.
        if not options:
            return replace(previous, options=())
        compounds, conditions = {o.compound for o in options}, {o.condition for o in options}
        shared = conditions.pop() if len(conditions) == 1 else None
        return Context(
            compounds.pop() if len(compounds) == 1 else None,
            shared,
            tuple(options),
            fits=_kept(fits, shared),
        )
    if status is Status.NOT_FOUND:
        # Keep the pair the person asked about, even if we have no page for it ("ketamine for
        # depression"): "and how does it work?" then gets the same honest not_found, and "what
        # about stage 4 cancer then?" continues with ketamine. Never the older topic.
        return Context(compound, condition, fits=_kept(fits, condition)) if compound else Context()
    if status in (Status.URGENT, Status.SUPPORT):
        return previous
    raise ValueError(f"unknown reply status {status!r}")


def _kept(fits: Sequence[str], condition: str | None) -> tuple[str, ...]:
    """What fitted the condition named, while the topic is still one of them."""
    return tuple(fits) if condition is not None and condition in fits else ()
