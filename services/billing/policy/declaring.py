"""How a policy rule is declared: once, with its code, effect, stages, the parameters it reads,
its whole description and its reasons in English and Slovenian, and the function that judges it.

    @POLICY.rule(
        "P-REMOTE", "paid", stages=FINAL,
        description=Texts(en="Help is paid when ...", sl="Pomoč je plačljiva, če ..."),
        reasons={"remote": Texts(en="The request required ...", sl="Za rešitev je bila ...")},
    )
    def rule_remote(work: WorkFacts) -> RuleHit | None:
        return rule_remote.hit("remote") if work.remote_session else None

The decisions, `RULES` and `GET /api/billing/rules` are computed from the catalogue
(`services/billing/policy/decisions.py`). A rule's function names what it reads by its
parameters' names (`facts`, `inputs`, `params`, `work`, the fields of `Case`), so the decisions
can call every rule the same way while the function stays testable on its own.
"""

from __future__ import annotations

import inspect
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, Generic, Literal, NotRequired, ParamSpec, TypedDict, Unpack
from zoneinfo import ZoneInfo

from contracts.common import Language, RuleHit
from services.billing.policy.facts import PolicyInputs, PolicyParameters, TicketFacts, WorkFacts
from services.runtime.local_time import LOCAL_ZONE, format_day, format_moment

Stage = Literal["provisional", "final"]
Effect = Literal["refused", "paid", "free"]
HitEffect = Literal["refused", "paid", "free", "deferred"]
"""What a reason says the rule did: its effect, or `deferred` (R-OUTSIDE-HOURS at submission)."""
BOTH: tuple[Stage, ...] = ("provisional", "final")
FINAL: tuple[Stage, ...] = ("final",)

P = ParamSpec("P")


class _Words(string.Formatter):
    """`str.format` for one language: `{x:moment}` is a date and time, `{x:day}` a date, both
    written by Babel for the language (docs/time.md); other fields format as usual."""

    def __init__(self, language: Language) -> None:
        self.language = language

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec == "moment" and isinstance(value, datetime):
            zone = value.tzinfo if isinstance(value.tzinfo, ZoneInfo) else LOCAL_ZONE
            return format_moment(value, self.language, zone)
        if format_spec == "day" and isinstance(value, date):
            return format_day(value, self.language)
        return str(super().format_field(value, format_spec))


_FORMATTERS: dict[Language, _Words] = {"en": _Words("en"), "sl": _Words("sl")}


@dataclass(frozen=True)
class Texts:
    """One text in English and Slovenian. `{name}` fields are filled in when it is used;
    `{params.x}` is a policy parameter, `{x:moment}` and `{x:day}` are written by Babel."""

    en: str
    sl: str

    def render(self, language: Language, values: Mapping[str, object]) -> str:
        """The text in `language` with `values` filled in."""
        return _FORMATTERS[language].vformat(getattr(self, language), (), values)

    def fields(self) -> Iterator[str]:
        """The names of the fields both texts use (`params.short_help_minutes`, `minutes`)."""
        for text in (self.en, self.sl):
            for _, name, _, _ in string.Formatter().parse(text):
                if name:
                    yield name


@dataclass(frozen=True)
class RuleDescription:
    """What a rule says, whole, in both languages (for `GET /api/billing/rules`)."""

    code: str
    effect: Effect
    stages: tuple[Stage, ...]
    en: str
    sl: str


@dataclass(frozen=True)
class Declaration:
    """A rule's words and place: the code of docs/product.md, its effect, the stages it applies
    at, the policy parameters it reads, its whole description and the reasons it can give."""

    code: str
    effect: Effect
    stages: tuple[Stage, ...]
    description: Texts
    reasons: Mapping[str, Texts]
    """The reasons a decision can name, by variant (a rule may word a case differently)."""
    parameters: tuple[str, ...] = ()
    """The `PolicyParameters` fields the rule's judgement and texts depend on."""
    leads_at: tuple[Stage, ...] = ()
    """Stages at which this rule's reason is named before the others of its effect."""

    def hit(self, variant: str, /, *, effect: HitEffect | None = None, **values: object) -> RuleHit:
        """The rule applied, with its reason `variant` in English and Slovenian."""
        texts = self.reasons[variant]
        return RuleHit(
            code=self.code,
            effect=effect or self.effect,
            explanation=texts.render("en", values),
            explanation_sl=texts.render("sl", values),
        )

    def describe(self, params: PolicyParameters) -> RuleDescription:
        """The whole rule, with the thresholds of `params`, in both languages."""
        values = {"params": params}
        return RuleDescription(
            self.code,
            self.effect,
            self.stages,
            self.description.render("en", values),
            self.description.render("sl", values),
        )


class Words(TypedDict):
    """What a declaration says besides its code and effect (`Declaration`'s fields)."""

    stages: tuple[Stage, ...]
    description: Texts
    reasons: Mapping[str, Texts]
    parameters: NotRequired[tuple[str, ...]]
    leads_at: NotRequired[tuple[Stage, ...]]


@dataclass(frozen=True)
class Case:
    """Everything a rule may read; at submission there is no `work` yet."""

    facts: TicketFacts
    inputs: PolicyInputs
    params: PolicyParameters
    work: WorkFacts | None = None


_CASE_FIELDS = frozenset(f.name for f in fields(Case))


@dataclass(frozen=True)
class Rule(Generic[P]):
    """A declared rule with the function that judges it; called like that function."""

    declaration: Declaration
    judge: Callable[P, RuleHit | None]
    judged_at: tuple[Stage, ...]
    reads: tuple[str, ...] = field(default=())

    @property
    def code(self) -> str:
        return self.declaration.code

    @property
    def effect(self) -> Effect:
        return self.declaration.effect

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> RuleHit | None:
        return self.judge(*args, **kwargs)

    def hit(self, variant: str, /, *, effect: HitEffect | None = None, **values: object) -> RuleHit:
        """The rule applied, with its reason `variant` (see `Declaration.hit`)."""
        return self.declaration.hit(variant, effect=effect, **values)

    def on(self, case: Case) -> RuleHit | None:
        """Judge the rule on `case`, passing the function what it names."""
        judge: Callable[..., RuleHit | None] = self.judge
        return judge(**{name: getattr(case, name) for name in self.reads})


class Catalog:
    """The policy's rules in the order they are declared, which is the order a decision names
    them in (refused, paid, free, each in declaration order; see `Declaration.leads_at`)."""

    def __init__(self) -> None:
        self.declared: list[Declaration] = []
        self.judged: list[Rule[Any]] = []

    def declare(self, code: str, effect: Effect, **words: Unpack[Words]) -> Declaration:
        """Declare a rule no function judges (a decision applies it itself)."""
        if any(d.code == code for d in self.declared):
            raise ValueError(f"{code} is declared twice")
        declaration = Declaration(code, effect, **words)
        self.declared.append(declaration)
        return declaration

    def rule(
        self,
        code: str,
        effect: Effect,
        *,
        judged_at: tuple[Stage, ...] | None = None,
        **words: Unpack[Words],
    ) -> Callable[[Callable[P, RuleHit | None]], Rule[P]]:
        """Declare a rule judged by the decorated function at `judged_at` (its `stages` unless
        a decision handles a stage itself)."""
        declaration = self.declare(code, effect, **words)
        stages = declaration.stages

        def judged_by(judge: Callable[P, RuleHit | None]) -> Rule[P]:
            reads = tuple(inspect.signature(judge).parameters)
            unknown = set(reads) - _CASE_FIELDS
            if unknown:
                raise TypeError(f"{code}: a rule reads only {sorted(_CASE_FIELDS)}, not {unknown}")
            judged = Rule(declaration, judge, stages if judged_at is None else judged_at, reads)
            self.judged.append(judged)
            return judged

        return judged_by

    def judged_at(self, stage: Stage) -> list[Rule[Any]]:
        """The rules judged at `stage`, in the order a decision names them within an effect."""
        rules = [r for r in self.judged if stage in r.judged_at]
        return sorted(rules, key=lambda r: stage not in r.declaration.leads_at)
