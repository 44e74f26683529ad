"""Parsed rule files -> validated matching rules, with every problem reported at once with file, line and rule id.

The tables compiled here: `[[rule]]`, `[[unit]]` (unit families for quantities), `[[place]]` and `[[actor]]` (the
gazetteer) and `[terms]` (named term lists). The files are read by `rulefiles.py`; `[[escalation]]` is compiled by
the escalation stage. Unit families, gazetteer entries and term lists are shared by all files of the load.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import re2

from tocsin.items import Item
from tocsin.matching import conditions as c
from tocsin.matching.examples import Example, read_examples
from tocsin.matching.gazetteer import EntryKind, Gazetteer, GazetteerEntry
from tocsin.matching.quantities import QUANTITY_EXPRESSION, UnitFamily
from tocsin.matching.terms import RE2_OPTIONS, re2_error_text, term_problem
from tocsin.rulefiles import Problems, RuleFile, RuleFiles, compile_rule_files, did_you_mean
from tocsin.severity import Severity

META_KEYS = ("id", "title", "description", "severity", "tags", "feeds", "languages", "enabled", "alert", "examples",
             "quiet")
CONDITION_KEYS = ("any", "all", "none", "terms", "near", "quantity", "deadline", "regex", "places", "actors",
                  "starts", "asserted", "old_year")
SCOPE_KEY = "in"
"""Not a condition: the field (title or summary) that the conditions of its table look at."""
FIELDS = ("title", "summary")
NEAR_KEYS = ("a", "b", "within", "ordered", "unless", "unless_within")
ASSERTED_KEYS = ("terms", "unless", "within")
DEFAULT_HEDGE_WORDS = 3
UNIT_KEYS = ("name", "after", "before", "near", "gap", "window")
ENTRY_KEYS = ("name", "aliases", "lists")
PLACE_KEYS = (*ENTRY_KEYS, "country", "theatre", "capital")
DEFAULT_NEAR_WORDS = 10


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    description: str
    severity: Severity
    tags: tuple[str, ...]
    feeds: tuple[str, ...]
    languages: tuple[str, ...]
    condition: c.All
    source: str
    """Where it was defined, `rules/shootdown.toml:14`, for log lines and reports."""
    examples: tuple[Example, ...] = ()
    """Texts it must fire on and texts it must leave quiet, run by `tocsin check`."""
    alert: bool = True
    """False for a signal rule: its matches feed situations and deadlines but send no `match` alert of their own."""

    def in_scope(self, item: Item) -> bool:
        if self.feeds:
            names = {item.feed.lower()} | {f"tag:{tag.lower()}" for tag in item.feed_tags}
            if not names.intersection(self.feeds):
                return False
        if self.languages and item.language:
            # An item without a declared language passes: most feeds do not declare one.
            language = item.language.lower()
            return any(language == wanted or language.startswith(f"{wanted}-") for wanted in self.languages)
        return True


@dataclass(frozen=True)
class LoadedRules:
    rules: tuple[Rule, ...]
    units: dict[str, UnitFamily]
    gazetteer: Gazetteer
    files: tuple[Path, ...]


def _strings(value: Any) -> tuple[str, ...] | None:
    """A string or a list of strings as a tuple; None when it is neither."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    return None


class _RuleBuilder:
    """Builds one rule's condition tree, reporting problems against the rule's file and line."""

    def __init__(self, source: RuleFile, index: int, rule_id: str, problems: Problems, loaded: _Shared) -> None:
        self.source = source
        self.index = index
        self.subject = f'rule "{rule_id}"'
        self.problems = problems
        self.shared = loaded
        self.top_key = ""

    def problem(self, message: str, key: str | None = None) -> None:
        line = self.source.line("rule", self.index, key or self.top_key or None)
        self.problems.add(self.source, line, self.subject, message)

    def table(self, table: dict[str, Any], path: str, top: bool = False) -> c.Condition | None:
        children: list[c.Condition] = []
        failed = False
        scope = table.get(SCOPE_KEY)
        if scope is not None and scope not in FIELDS:
            self.problem(f'{path}{SCOPE_KEY}: expected "title" or "summary", got {scope!r}', SCOPE_KEY)
            failed = True
        for key, value in table.items():
            if key == SCOPE_KEY:
                continue
            if top:
                if key in META_KEYS:
                    continue
                self.top_key = key
            if key not in CONDITION_KEYS:
                known = (*META_KEYS, *CONDITION_KEYS, SCOPE_KEY) if top else (*CONDITION_KEYS, SCOPE_KEY)
                self.problem(f'unknown key "{path}{key}"{did_you_mean(key, known)}', key)
                failed = True
                continue
            child = self.key(key, value, f"{path}{key}")
            if child is None:
                failed = True
            else:
                children.append(child)
        if failed:
            return None
        if not children:
            if not top:
                self.problem(f"{path.rstrip('.') or 'condition'}: empty condition table")
            return None
        condition = children[0] if len(children) == 1 else c.All(tuple(children))
        if scope is not None:
            condition = c.InField(condition, scope)
        return c.All((condition,)) if top and not isinstance(condition, c.All) else condition

    def item(self, value: Any, path: str) -> c.Condition | None:
        if isinstance(value, str):
            return self.terms((value,), path)
        if isinstance(value, dict):
            return self.table(value, f"{path}.")
        self.problem(f"{path}: expected a term (string) or a condition table, got {type(value).__name__}")
        return None

    def key(self, key: str, value: Any, path: str) -> c.Condition | None:
        builders: dict[str, Callable[[Any, str], c.Condition | None]] = {
            "any": self.group, "all": self.group, "none": self.group, "terms": self.terms_value,
            "near": self.near, "quantity": self.quantity, "deadline": self.deadline, "regex": self.regex,
            "places": self.watchlist, "actors": self.watchlist, "starts": self.starts, "asserted": self.asserted,
            "old_year": self.old_year,
        }
        return builders[key](value, path)

    def group(self, value: Any, path: str) -> c.Condition | None:
        kind = path.rsplit(".", 1)[-1]
        if not isinstance(value, list) or not value:
            self.problem(f"{path}: expected a non-empty list of terms or condition tables")
            return None
        children = tuple(child for n, item in enumerate(value) if (child := self.item(item, f"{path}[{n}]")))
        if len(children) != len(value):
            return None
        return {"any": c.Any, "all": c.All, "none": c.NoneOf}[kind](children)

    def terms_value(self, value: Any, path: str) -> c.Condition | None:
        terms = _strings(value)
        if terms is None or not terms:
            self.problem(f"{path}: expected a term or a list of terms")
            return None
        return self.terms(terms, path)

    def starts(self, value: Any, path: str) -> c.Condition | None:
        built = self.terms_value(value, path)
        return c.Starts(built.terms) if isinstance(built, c.Terms) else None

    def keyed_table(self, value: Any, path: str, known: Sequence[str], shape: str) -> dict[str, Any] | None:
        """`value` as a table of a condition (`near`, `asserted`), every unknown key reported; None if not a table.

        The condition is still built with unknown keys present, so that its other problems show in the same run.
        """
        if not isinstance(value, dict):
            self.problem(f"{path}: expected a table such as {shape}")
            return None
        for key in value:
            if key not in known:
                self.problem(f'{path}: unknown key "{key}"{did_you_mean(key, known)}')
        return value

    def asserted(self, value: Any, path: str) -> c.Condition | None:
        table = self.keyed_table(value, path, ASSERTED_KEYS, '{ terms = ["invade*"], unless = ["@hedges"] }')
        if table is None:
            return None
        built = self.terms_value(table.get("terms"), f"{path}.terms")
        hedges = self.hedges(table, "unless", "within", path)
        if not isinstance(built, c.Terms) or hedges is None:
            if hedges is None and "unless" not in table:
                self.problem(f"{path}.unless: expected the hedge terms (write plain `terms` for none)")
            return None
        return c.Asserted(built.terms, hedges)

    def hedges(self, table: dict[str, Any], key: str, within_key: str, path: str) -> c.Hedges | None:
        """The hedges of `table[key]` within `table[within_key]` words; None when absent or invalid."""
        if key not in table:
            return None
        terms = _strings(table[key])
        built = self.terms(terms, f"{path}.{key}") if terms else None
        if not terms:
            self.problem(f"{path}.{key}: expected a term or a list of terms")
        within = table.get(within_key, DEFAULT_HEDGE_WORDS)
        if isinstance(within, bool) or not isinstance(within, int) or within < 0:
            self.problem(f"{path}.{within_key}: expected a number of words, got {within!r}")
            return None
        return c.Hedges(built, within) if built is not None else None

    def old_year(self, value: Any, path: str) -> c.Condition | None:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.problem(f"{path}: expected a number of years, such as `old_year = 10`, got {value!r}")
            return None
        return c.OldYear(value)

    def terms(self, terms: tuple[str, ...], path: str) -> c.Terms | None:
        """Terms, with `@name` standing for a named list from a `[terms]` table."""
        expanded: list[str] = []
        valid = True
        for term in terms:
            if term.startswith("@"):
                named = self.shared.term_lists.get(term[1:])
                if named is None:
                    hint = did_you_mean(term[1:], sorted(self.shared.term_lists), "known lists")
                    self.problem(f'{path}: unknown term list "{term}"{hint}')
                    valid = False
                else:
                    expanded.extend(named)
            elif problem := term_problem(term):
                self.problem(f"{path}: {problem}")
                valid = False
            else:
                expanded.append(term)
        return c.Terms(tuple(dict.fromkeys(expanded))) if valid else None

    def near(self, value: Any, path: str) -> c.Condition | None:
        table = self.keyed_table(value, path, NEAR_KEYS, '{ a = ["helicopter*"], b = ["shot down"], within = 8 }')
        if table is None:
            return None
        sides = []
        for side in ("a", "b"):
            terms = _strings(table.get(side))
            if not terms:
                self.problem(f"{path}.{side}: expected a term or a list of terms")
                return None
            built = self.terms(terms, f"{path}.{side}")
            if built is None:
                return None
            sides.append(built)
        ordered = table.get("ordered", False)
        if not isinstance(ordered, bool):
            self.problem(f"{path}.ordered: expected true (a before b) or false")
            return None
        hedges = self.hedges(table, "unless", "unless_within", path)
        if hedges is None and "unless" in table:
            return None
        within = table.get("within", DEFAULT_NEAR_WORDS)
        if within == "sentence":
            return c.Near(sides[0], sides[1], None, ordered, hedges)
        if isinstance(within, bool) or not isinstance(within, int) or within < 0:
            self.problem(f'{path}.within: expected a number of words or "sentence", got {within!r}')
            return None
        return c.Near(sides[0], sides[1], within, ordered, hedges)

    def quantity(self, value: Any, path: str) -> c.Condition | None:
        expressions = _strings(value)
        if not expressions:
            self.problem(f'{path}: expected an expression such as "troops >= 1000" (or a list of them)')
            return None
        built: list[c.Condition] = []
        for expression in expressions:
            parsed = QUANTITY_EXPRESSION.match(expression)
            if not parsed:
                self.problem(f'{path}: "{expression}" is not a quantity condition (write e.g. "troops >= 1000")')
                continue
            unit = parsed["unit"]
            family = self.shared.units.get(unit)
            if family is None:
                hint = did_you_mean(unit, sorted(self.shared.units), "known units")
                self.problem(f'{path}: unknown unit family "{unit}"{hint}')
                continue
            threshold = float(parsed["value"].replace(",", "").replace("_", ""))
            built.append(c.QuantityCondition(family, parsed["op"], threshold))
        if len(built) != len(expressions):
            return None
        return built[0] if len(built) == 1 else c.Any(tuple(built))

    def deadline(self, value: Any, path: str) -> c.Condition | None:
        if value is not True:
            self.problem(f"{path}: write `deadline = true` (a resolvable deadline phrase must be present)")
            return None
        return c.DeadlineCondition()

    def regex(self, value: Any, path: str) -> c.Condition | None:
        regexes = _strings(value)
        if not regexes:
            self.problem(f"{path}: expected an RE2 regular expression (or a list of them)")
            return None
        valid = True
        for regex in regexes:
            try:
                compiled = re2.compile(f"({regex})", RE2_OPTIONS)
            except re2.error as exc:
                self.problem(f"{path}: invalid regex {regex!r}: {re2_error_text(exc)} "
                             "(RE2 syntax: no lookaround, no backreferences)")
                valid = False
                continue
            if compiled.search("") is not None:
                self.problem(f"{path}: regex {regex!r} matches the empty string, so it would match every item")
                valid = False
        return c.Regex(regexes) if valid else None

    def watchlist(self, value: Any, path: str) -> c.Condition | None:
        kind: EntryKind = "place" if path.rsplit(".", 1)[-1] == "places" else "actor"
        names = _strings(value)
        if not names:
            self.problem(f"{path}: expected a watchlist name or a list of them")
            return None
        known = self.shared.gazetteer.list_names(kind)
        entries: list[GazetteerEntry] = []
        valid = True
        for name in names:
            if name.lower() not in known:
                hint = did_you_mean(name.lower(), sorted(known), f"known {kind} lists")
                self.problem(f'{path}: unknown {kind} list "{name}"{hint}')
                valid = False
                continue
            entries.extend(self.shared.gazetteer.members(kind, name))
        return c.Watchlist(tuple(dict.fromkeys(entries))) if valid else None


@dataclass
class _Shared:
    units: dict[str, UnitFamily]
    gazetteer: Gazetteer
    term_lists: dict[str, tuple[str, ...]]


def _check_keys(source: RuleFile, kind: str, index: int, table: dict[str, Any], known: Sequence[str],
                subject: str, problems: Problems) -> None:
    for key in table:
        if key not in known:
            problems.add(source, source.line(kind, index, key), subject,
                         f'unknown key "{key}"{did_you_mean(key, known)}')


def _units(sources: list[RuleFile], problems: Problems) -> dict[str, UnitFamily]:
    units: dict[str, UnitFamily] = {}
    for source in sources:
        for index, table in enumerate(source.tables("unit", problems)):
            name = table.get("name")
            subject = f'unit "{name}"' if isinstance(name, str) else f"unit #{index + 1}"
            _check_keys(source, "unit", index, table, UNIT_KEYS, subject, problems)
            if not isinstance(name, str) or not name:
                problems.add(source, source.line("unit", index), subject, "needs a name")
                continue
            if name in units:
                problems.add(source, source.line("unit", index, "name"), subject, "defined twice")
                continue
            words = {key: _strings(table.get(key, [])) for key in ("after", "before", "near")}
            valid = True
            for key, terms in words.items():
                bad = ["expected a list of terms"] if terms is None else [p for t in terms if (p := term_problem(t))]
                for problem in bad:
                    problems.add(source, source.line("unit", index, key), subject, f"{key}: {problem}")
                    valid = False
            if not (words["after"] or words["before"]):
                problems.add(source, source.line("unit", index), subject, "needs `after` or `before` terms")
                valid = False
            limits = {key: table.get(key, default) for key, default in (("gap", 3), ("window", 8))}
            for key, limit in limits.items():
                if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                    problems.add(source, source.line("unit", index, key), subject, f"{key}: expected a word count")
                    valid = False
            if valid:
                units[name] = UnitFamily(name, words["after"] or (), words["before"] or (), words["near"] or (),
                                         limits["gap"], limits["window"])
    return units


def _gazetteer(sources: list[RuleFile], problems: Problems) -> Gazetteer:
    entries: list[GazetteerEntry] = []
    lines: dict[GazetteerEntry, tuple[RuleFile, int | None]] = {}
    for source in sources:
        for kind in ("place", "actor"):
            for index, table in enumerate(source.tables(kind, problems)):
                name = table.get("name")
                subject = f'{kind} "{name}"' if isinstance(name, str) else f"{kind} #{index + 1}"
                _check_keys(source, kind, index, table, PLACE_KEYS if kind == "place" else ENTRY_KEYS, subject,
                            problems)
                aliases, lists = _strings(table.get("aliases", [])), _strings(table.get("lists", []))
                if not isinstance(name, str) or aliases is None or lists is None:
                    problems.add(source, source.line(kind, index), subject,
                                 "needs a name, and aliases/lists as lists of strings")
                    continue
                bad = [p for term in (name, *aliases) if (p := term_problem(term))]
                for problem in bad:
                    problems.add(source, source.line(kind, index, "aliases"), subject, problem)
                hierarchy, wrong = _hierarchy(table)
                for key, message in wrong:
                    problems.add(source, source.line(kind, index, key), subject, message)
                if not bad and not wrong:
                    entry = GazetteerEntry(kind, name, aliases, lists, *hierarchy)
                    entries.append(entry)
                    lines[entry] = (source, source.line(kind, index, "country"))
    _check_countries(entries, lines, problems)
    return Gazetteer(tuple(entries))


def _hierarchy(table: dict[str, Any]) -> tuple[tuple[Any, Any, Any], list[tuple[str, str]]]:
    """A place's country, theatre and capital flag, and what is wrong with them (key, message)."""
    country, theatre, capital = table.get("country"), table.get("theatre"), table.get("capital", False)
    wrong = []
    for key, value, example in (("country", country, "the name of a place of the gazetteer"),
                                ("theatre", theatre, 'e.g. "Israel/Palestine"')):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            wrong.append((key, f'"{key}" must be a non-empty string: {example}'))
    if not isinstance(capital, bool):
        wrong.append(("capital", "capital must be true or false"))
    if isinstance(country, str) and country.strip() and isinstance(theatre, str):
        wrong.append(("theatre", f'a theatre belongs on the country: set it on "{country}", not on a place inside it'))
    return (country, theatre, capital), wrong


def _check_countries(entries: list[GazetteerEntry], lines: dict[GazetteerEntry, tuple[RuleFile, int | None]],
                     problems: Problems) -> None:
    """Each place's country is a place of the gazetteer that lies in no country itself."""
    places = {entry.name: entry for entry in entries if entry.kind == "place"}
    for entry in list(entries):
        if entry.country is None:
            continue
        source, line = lines[entry]
        subject = f'place "{entry.name}"'
        country = places.get(entry.country)
        if country is None:
            problems.add(source, line, subject, f'country "{entry.country}" is not a place of the gazetteer'
                         f"{did_you_mean(entry.country, sorted(places), 'known places')}")
        elif country.country is not None:
            problems.add(source, line, subject, f'country "{entry.country}" lies in "{country.country}" itself: '
                         "name the country")
        elif country is entry:
            problems.add(source, line, subject, "a place cannot be its own country: leave country out")
        else:
            continue
        entries.remove(entry)


def _term_lists(sources: list[RuleFile], problems: Problems) -> dict[str, tuple[str, ...]]:
    """Named term lists (`[terms]` tables) that rules use as `@name`, shared by all files."""
    lists: dict[str, tuple[str, ...]] = {}
    for source in sources:
        table = source.data.get("terms", {})
        if not isinstance(table, dict):
            problems.add(source, source.top_line("terms"), "", "write named term lists as a [terms] table")
            continue
        for name, value in table.items():
            terms = _strings(value)
            subject = f'term list "{name}"'
            line = source.top_line(name)
            if terms is None:
                problems.add(source, line, subject, "expected a list of terms")
            elif name in lists:
                problems.add(source, line, subject, "defined twice")
            elif bad := [p for term in terms if (p := term_problem(term))]:
                for problem in bad:
                    problems.add(source, line, subject, problem)
            else:
                lists[name] = terms
    return lists


def _rules(sources: list[RuleFile], shared: _Shared, problems: Problems) -> list[Rule]:
    rules: list[Rule] = []
    first_seen: dict[str, str] = {}
    for source in sources:
        for index, table in enumerate(source.tables("rule", problems)):
            rule = _rule(source, index, table, shared, problems, first_seen)
            if rule is not None and table.get("enabled", True):
                rules.append(rule)
    return rules


def _rule(source: RuleFile, index: int, table: dict[str, Any], shared: _Shared, problems: Problems,
          first_seen: dict[str, str]) -> Rule | None:
    rule_id = table.get("id")
    if not isinstance(rule_id, str) or not rule_id.strip():
        problems.add(source, source.line("rule", index), f"rule #{index + 1}", 'needs an id, e.g. id = "heli-down"')
        rule_id = f"#{index + 1}"
    builder = _RuleBuilder(source, index, rule_id, problems, shared)
    location = f"{source.name}:{source.line('rule', index, 'id')}"
    before = len(problems)
    if rule_id in first_seen:
        builder.problem(f"duplicate id (first defined at {first_seen[rule_id]})", "id")
    first_seen.setdefault(rule_id, location)
    title = table.get("title")
    if not isinstance(title, str) or not title.strip():
        builder.problem("needs a title", "title")
    severity = table.get("severity")
    levels = ", ".join(level.value for level in Severity)
    if severity is None:
        builder.problem(f"needs a severity (one of {levels})")
    elif severity not in {level.value for level in Severity}:
        builder.problem(f"bad severity {severity!r} (one of {levels})", "severity")
    lists = {key: _strings(table.get(key, [])) for key in ("tags", "feeds", "languages")}
    for key, value in lists.items():
        if value is None:
            builder.problem(f"{key}: expected a list of strings", key)
    if not isinstance(table.get("description", ""), str):
        builder.problem("description: expected a string", "description")
    for flag in ("enabled", "alert"):
        if not isinstance(table.get(flag, True), bool):
            builder.problem(f"{flag}: expected true or false", flag)
    condition = builder.table(table, "", top=True)
    examples = read_examples(source, index, table, builder.subject, tuple(shared.units), problems)
    if not any(key in CONDITION_KEYS for key in table):
        builder.problem(f"has no condition (add one of: {', '.join(CONDITION_KEYS)})")
    elif condition is not None and not condition.anchored():
        builder.problem("has only `none` conditions, so it would match almost every item; add a term to find")
    if len(problems) > before or not isinstance(condition, c.All):
        return None
    return Rule(
        id=rule_id, title=str(title), description=str(table.get("description", "")), severity=Severity(str(severity)),
        tags=lists["tags"] or (), feeds=tuple(feed.lower() for feed in lists["feeds"] or ()),
        languages=tuple(language.lower() for language in lists["languages"] or ()), condition=condition,
        source=location, examples=examples, alert=table.get("alert", True),
    )


def compile_gazetteer(read: RuleFiles) -> Gazetteer:
    """The gazetteer alone (escalation rules loaded without the matching rules); problems go to `read.problems`."""
    return _gazetteer(read.parsed, read.problems)


def compile_rules(read: RuleFiles) -> LoadedRules:
    """The matching rules of files already read; their problems are added to `read.problems` (the caller raises)."""
    sources, problems = read.parsed, read.problems
    shared = _Shared(units=_units(sources, problems), gazetteer=_gazetteer(sources, problems),
                     term_lists=_term_lists(sources, problems))
    rules = _rules(sources, shared, problems)
    return LoadedRules(tuple(rules), shared.units, shared.gazetteer, read.files)


def load(paths: Sequence[Path]) -> LoadedRules:
    """Read and validate every *.toml under `paths`; raise RuleError listing every problem found."""
    return compile_rule_files(paths, compile_rules)
