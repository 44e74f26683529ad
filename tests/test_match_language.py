"""What the rule language means: terms, wildcards, Unicode word boundaries, all/any/none, proximity, regex,
quantities, deadlines, scope and watchlists."""

from __future__ import annotations

from pathlib import Path

from tests.matching_support import fired, item, rules_from
from tocsin.matching.rules import RuleSet

HEAD = 'title = "T"\nseverity = "medium"\ntags = ["t"]\n'


def one_rule(tmp_path: Path, body: str, extra: str = "") -> RuleSet:
    return rules_from(tmp_path, f'{extra}\n[[rule]]\nid = "r"\n{HEAD}{body}\n')


def fires(rules: RuleSet, title: str, summary: str = "", **kwargs: object) -> bool:
    return "r" in fired(rules.match(item(title, summary, **kwargs)))  # type: ignore[arg-type]


def test_terms_are_case_insensitive_whole_words(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shot down"]')
    assert fires(rules, "Rebels SHOT DOWN a jet")
    assert fires(rules, "a jet was shot-down")
    assert not fires(rules, "the gunshot downtown")


def test_wildcard_covers_inflections(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shoot* down", "down*"]')
    for text in ("they are shooting down drones", "it shoots down", "the downed pilot", "downing of MH17"):
        assert fires(rules, text), text
    assert not fires(rules, "a showdown")


def test_wildcard_inside_a_phrase(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shoot* down", "build* up"]')
    for text in ("they are shooting down drones", "the army builds up its forces", "building-up"):
        assert fires(rules, text), text
    assert not fires(rules, "a build-out")


def test_word_boundaries_work_beside_non_ascii_letters(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["Idleb", "Київ"]')
    assert fires(rules, "Frappes sur Idleb, à l'aube")
    assert fires(rules, "обстріл (Київ)")
    assert not fires(rules, "éIdleb")
    assert not fires(rules, "Idlebé")
    assert not fires(rules, "Київщина")
    matches = rules.match(item("à Idleb et Idleb"))
    assert [(e.start, e.end) for e in matches[0].evidence] == [(2, 7)]


def test_adjacent_occurrences_share_a_boundary(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'near = { a = ["jet"], b = ["down"], within = 0 }')
    matches = rules.match(item("jet down jet"))
    assert [e.text for e in matches[0].evidence] == ["jet", "down", "jet"]


def test_all_any_none_nest(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'all = [{ any = ["drone*", "missile*"] }, "intercepted"]\n'
                               'none = ["football", { all = ["drill", "exercise"] }]')
    assert fires(rules, "Missiles intercepted over the city")
    assert not fires(rules, "Missiles seen over the city")
    assert not fires(rules, "Drones intercepted at football match")
    assert not fires(rules, "drones intercepted in a drill", "part of an exercise")
    assert fires(rules, "drones intercepted in a drill")


def test_proximity_in_words_either_order(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'near = { a = ["helicopter*"], b = ["shot down", "downed"], within = 3 }')
    assert fires(rules, "Rebels shot down a Syrian army helicopter")
    assert fires(rules, "The helicopter was downed")
    assert not fires(rules, "Rebels shot down a proposal; later a Syrian army transport helicopter landed")
    assert not fires(rules, "helicopter", "shot down")


def test_proximity_in_the_same_sentence(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'near = { a = ["fled"], b = ["fighting"], within = "sentence" }')
    assert fires(rules, "Thousands fled their homes in the north as heavy fighting reached the outskirts")
    assert not fires(rules, "Thousands fled. Later there was fighting.")


def test_regex_escape_hatch(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, r'regex = "(?i)\\bSu-(?:24|25|34)\\b"')
    matches = rules.match(item("An su-25 was lost"))
    assert [e.text for e in matches[0].evidence] == ["su-25"]
    assert not fires(rules, "Su-27 flew")


def test_term_lists_by_name(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["@weapons"]', extra='[terms]\nweapons = ["howitzer*", "mortar*"]')
    assert fires(rules, "Mortars fired")
    assert not fires(rules, "Tanks fired")


UNITS = '[[unit]]\nname = "troops"\nafter = ["troop*", "soldiers"]\n'


def test_quantity_comparison(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'quantity = "troops >= 1000"', extra=UNITS)
    assert fires(rules, "Turkey sent 7000 Turkish troops")
    assert fires(rules, "thousands of soldiers massed")
    assert not fires(rules, "hundreds of troops")
    assert not fires(rules, "999 troops")
    [match] = rules.match(item("Turkey sent more than 1.5 million soldiers"))
    assert [(q.unit, q.value, q.qualifier, q.text) for q in match.quantities] == [
        ("troops", 1_500_000, "more than", "more than 1.5 million soldiers")
    ]


def test_quantity_unit_must_follow_closely(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'quantity = "troops > 10"', extra=UNITS)
    assert not fires(rules, "In 2020 the war began; troops arrived")
    assert not fires(rules, "500 tourists watched as many of the troops left")
    assert not fires(rules, "12 buses. Troops followed")


def test_deadline_condition_resolves_against_publication(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'deadline = true\nany = ["ultimatum"]')
    [match] = rules.match(item("A 48-hour ultimatum was issued"))
    assert match.deadline is not None
    assert match.deadline.at.isoformat() == "2020-02-19T09:00:00+00:00"
    assert not fires(rules, "An ultimatum without a time")


GAZETTEER = '''
[[place]]
name = "Idlib"
aliases = ["Idleb"]
lists = ["syria"]

[[place]]
name = "Kyiv"
aliases = ["Kiev"]
lists = ["ukraine"]

[[actor]]
name = "Turkey"
aliases = ["Turkish", "Ankara"]
lists = ["nato"]
'''


def test_place_watchlist_scopes_and_reports(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shelling"]\nplaces = ["syria"]', extra=GAZETTEER)
    [match] = rules.match(item("Shelling near Idleb", "Turkish officials and Kiev reacted"))
    # The evidence is in the title: the match is about the title's place; the summary's names are elsewhere.
    assert match.places == ("Idlib",)
    assert match.actors == ()
    assert not fires(rules, "Shelling near Kiev")


def test_a_match_reports_the_places_near_its_evidence(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shelling"]', extra=GAZETTEER)
    summary = ("Talks on Idleb were held in Kiev. Turkish forces reported heavy shelling. "
               "Markets in Kiev were calm.")
    [match] = rules.match(item("Ceasefire talks continue", summary))
    # The shelling sentence names no place: the sentence before it lends its names; the last one does not.
    assert match.places == ("Idlib", "Kyiv")
    assert match.actors == ("Turkey",)

    [alone] = rules.match(item("Ceasefire talks continue", "Heavy shelling was heard. Nothing else."))
    assert alone.places == () and alone.actors == ()


COUNTRY = """
[[place]]
name = "Ukraine"
lists = ["ukraine"]

[[actor]]
name = "Ukraine"
aliases = ["Ukrainian", "Zelensky*"]
lists = ["ukraine-war"]
"""


def test_a_country_word_is_reported_once_as_place_and_its_demonym_as_actor(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["drone"]', extra=COUNTRY)
    [as_place] = rules.match(item("Drone downed over Ukraine"))
    assert (as_place.places, as_place.actors) == (("Ukraine",), ())
    [both] = rules.match(item("Aircraft downed over Ukraine", "Zelensky's forces said it was a Shahed drone"))
    assert (both.places, both.actors) == (("Ukraine",), ("Ukraine",))
    # Scoping by actor still accepts the country's name: who acts is not decided by the word alone.
    scoped = one_rule(tmp_path, 'any = ["drone"]\nactors = ["ukraine-war"]', extra=COUNTRY)
    assert fires(scoped, "Ukraine downs drone")


def test_scope_by_feed_name_tag_and_language(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'any = ["shelling"]\nfeeds = ["wire", "tag:syria"]\nlanguages = ["en"]')
    assert fires(rules, "shelling", feed="wire")
    assert fires(rules, "shelling", feed="other", tags=("Syria",))
    assert not fires(rules, "shelling", feed="other")
    assert fires(rules, "shelling", feed="wire", language="en-GB")
    assert not fires(rules, "shelling", feed="wire", language="fr")


def test_only_rules_whose_terms_hit_are_evaluated(tmp_path: Path) -> None:
    body = "\n".join(f'[[rule]]\nid = "r{n}"\n{HEAD}any = ["word{n}"]\n' for n in range(500))
    rules = rules_from(tmp_path, body)
    candidates = {rule.id for rule in rules.candidates(rules.prefilter.hits("word7 and word123"))}
    # The prefilter is a superset (a long term may be found inside a longer word: "word12" in "word123") ...
    assert {"r7", "r123"} <= candidates <= {"r7", "r12", "r123"}
    # ... and the positional check decides.
    assert fired(rules.match(item("word7 and word123"))) == {"r7", "r123"}


def test_all_needs_a_hit_in_every_branch_to_be_a_candidate(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'all = [{ any = ["missile*"] }, { any = ["intercept*"] }]\nnone = ["drill"]')
    assert rules.candidates(rules.prefilter.hits("missiles seen")) == []
    assert rules.candidates(rules.prefilter.hits("a drill")) == []
    assert [r.id for r in rules.candidates(rules.prefilter.hits("missiles intercepted"))] == ["r"]


KILLED = '[[unit]]\nname = "killed"\nafter = ["people", "civilians"]\nbefore = ["killing"]\nnear = ["kill*", "dead"]\n'


def test_unit_family_with_near_words(tmp_path: Path) -> None:
    rules = one_rule(tmp_path, 'quantity = "killed >= 10"', extra=KILLED)
    [match] = rules.match(item("Airstrike kills 12 civilians in the north"))
    assert [(q.value, q.text) for q in match.quantities] == [(12, "12 civilians")]
    [match] = rules.match(item("Shelling of the market, killing at least 40"))
    assert [(q.value, q.qualifier, q.text) for q in match.quantities] == [(40, "at least", "killing at least 40")]
    assert not fires(rules, "12 civilians attended the festival")
    assert not fires(rules, "Home to 1 million people, the city saw 3 dead")
