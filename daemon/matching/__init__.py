"""The rule language: loading and validating rule files, and matching items against them.

Public surface: `load_rules(paths) -> RuleSet` (raises RuleError listing every problem), `RuleSet.match(item)
-> list[Match]`; the result types live in `tocsin.matching.model`.
"""
