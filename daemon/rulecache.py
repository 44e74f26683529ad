"""The compiled rules kept in the state directory and reused while the rule files are unchanged.

Reading, validating and compiling the shipped rules is about a third of what `tocsin run --once` spends before its
first poll. `cached_rules` keys the compiled matching and escalation rules on the SHA-256 of everything they are
made from: the bytes and path of every rule file, the working directory (rule sources are named relative to it),
tocsin's version and the source of the modules that compile rules (so an edited checkout never reuses rules
compiled by older code). A key that differs, a file that does not parse, or one whose payload does not match its
digest is ignored and rebuilt; the cache never makes a load fail. Only the Set of the prefilter (RE2, not
serialisable) is compiled again each time, by RuleSet.

The format is JSON, not pickle: unpickling runs whatever callables the file names, so a damaged or planted file
could run code in the daemon. The decoder here makes only data (strings, numbers, lists, tuples, sets, dicts,
paths, durations, times) and instances of the rule classes of tocsin's own matching and escalation modules, by
`object.__new__` and their attributes: no constructor, no `__setstate__`, nothing named by the file is called. The
worst a changed file can do is describe other rules, and the file lives in the daemon's own state directory,
writable only by the daemon (as its state database is). Written by hand for those limits: no library offers a
typed object graph decoder that calls nothing.

Layout: one line of JSON header (`format`, `key`, `digest` of the rest), then the payload: objects as
`{"~o": "module.Class", "~i": n, "~s": {attribute: value}}` (a later `{"~r": n}` is the same object again, so
shared term lists stay shared), tuples `{"~t": [...]}`, frozensets `{"~f": [...]}`, dicts `{"~d": [[k, v]...]}`,
enums `{"~e": "module.Class", "~v": value}`, `{"~p": path}`, `{"~td": [days, seconds, microseconds]}`,
`{"~dt": isoformat}`, and the comparison functions of quantity conditions `{"~fn": ">="}` (looked up in
quantities.COMPARISONS).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

from tocsin import __version__
from tocsin.escalate.rules import EscalationRuleSet
from tocsin.matching.load import LoadedRules
from tocsin.matching.quantities import COMPARISONS
from tocsin.rulefiles import rule_files

log = logging.getLogger(__name__)

FILE_NAME = "rules.cache.json"
FORMAT = 1
_RULE_MODULES = ("tocsin.matching.", "tocsin.escalate.rules", "tocsin.severity")
"""Modules whose classes a cache may hold."""
_PACKAGE = Path(__file__).resolve().parent
_CODE = ("matching/*.py", "escalate/rules.py", "severity.py", "units.py", "rulefiles.py", "rulebook.py", "rulecache.py")
"""The source files (below the package) that shape compiled rules: part of the key."""
_SYMBOLS = {id(function): symbol for symbol, function in COMPARISONS.items()}

Compiled = tuple[LoadedRules, EscalationRuleSet]


def cached_rules(paths: Sequence[Path], directory: Path | None, compile_rules: Callable[[], Compiled]) -> Compiled:
    """The rules under `paths`: from `directory`'s cache when it holds them for these exact files, else from
    `compile_rules()` (whose RuleError passes through), then stored there. No directory (or none yet): no cache."""
    if directory is None or not directory.is_dir():
        return compile_rules()
    key = _key(paths)
    if key is None:
        return compile_rules()  # a missing rule path: the compiler names it
    path = directory / FILE_NAME
    found = _read(path, key)
    if found is not None:
        return found
    compiled = compile_rules()
    _write(path, key, compiled)
    return compiled


def _key(paths: Sequence[Path]) -> str | None:
    files, problems = rule_files(paths)
    if problems:
        return None
    digest = hashlib.sha256()
    for part in (str(FORMAT), __version__, str(Path.cwd())):
        digest.update(part.encode() + b"\0")
    code = sorted(file for pattern in _CODE for file in _PACKAGE.glob(pattern))
    try:
        for file in [*code, *files]:
            digest.update(str(file).encode() + b"\0" + hashlib.sha256(file.read_bytes()).digest())
    except OSError:
        return None
    return digest.hexdigest()


def _read(path: Path, key: str) -> Compiled | None:
    try:
        with path.open("rb") as stream:
            header = json.loads(stream.readline())
            payload = stream.read()
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.info("rule cache %s unreadable (%s); compiling the rules", path, exc)
        return None
    if not isinstance(header, dict) or header.get("format") != FORMAT or header.get("key") != key:
        return None
    if header.get("digest") != hashlib.sha256(payload).hexdigest():
        log.info("rule cache %s damaged (digest differs); compiling the rules", path)
        return None
    try:
        loaded, escalation = json.loads(payload, object_hook=_Decoder().object)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        log.info("rule cache %s unusable (%s); compiling the rules", path, exc)
        return None
    if not isinstance(loaded, LoadedRules) or not isinstance(escalation, EscalationRuleSet):
        log.info("rule cache %s holds something else; compiling the rules", path)
        return None
    return loaded, escalation


def _write(path: Path, key: str, compiled: Compiled) -> None:
    try:
        payload = json.dumps(_Encoder().value(list(compiled)), ensure_ascii=False, separators=(",", ":")).encode()
    except TypeError as exc:
        log.warning("rules not cached: %s", exc)  # a class the encoder does not know: a bug, not the operator's
        return
    header = {"format": FORMAT, "key": key, "digest": hashlib.sha256(payload).hexdigest()}
    try:
        # A whole file or none: a reader never sees half of one, and concurrent writers replace each other.
        descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{FILE_NAME}.")
    except OSError as exc:
        log.debug("rules not cached in %s: %s", path.parent, exc)  # a read-only state directory, say
        return
    temporary = Path(name)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(json.dumps(header).encode() + b"\n" + payload)
        temporary.replace(path)
    except OSError as exc:
        log.debug("rules not cached in %s: %s", path.parent, exc)
        with contextlib.suppress(OSError):
            temporary.unlink()


def _class_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _attributes(value: object) -> dict[str, Any]:
    state = dict(getattr(value, "__dict__", {}))
    for cls in type(value).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(value, name):
                state[name] = getattr(value, name)
    return state


class _Encoder:
    def __init__(self) -> None:
        self._ids: dict[int, int] = {}

    def value(self, value: Any) -> Any:
        if isinstance(value, Enum):
            return {"~e": _class_name(type(value)), "~v": value.value}
        if value is None or isinstance(value, bool | int | float | str):
            return value
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, tuple):
            return {"~t": [self.value(item) for item in value]}
        if isinstance(value, frozenset):
            return {"~f": [self.value(item) for item in value]}
        if isinstance(value, dict):
            return {"~d": [[self.value(key), self.value(item)] for key, item in value.items()]}
        if isinstance(value, PurePath):
            return {"~p": str(value)}
        if isinstance(value, timedelta):
            return {"~td": [value.days, value.seconds, value.microseconds]}
        if isinstance(value, datetime):
            return {"~dt": value.isoformat()}
        if id(value) in _SYMBOLS:
            return {"~fn": _SYMBOLS[id(value)]}
        return self._object(value)

    def _object(self, value: object) -> dict[str, Any]:
        name = _class_name(type(value))
        try:
            _rule_class(name)
        except KeyError:
            raise TypeError(f"cannot cache a {name}") from None
        if id(value) in self._ids:
            return {"~r": self._ids[id(value)]}
        self._ids[id(value)] = len(self._ids)
        state = {attribute: self.value(item) for attribute, item in _attributes(value).items()}
        return {"~o": name, "~i": self._ids[id(value)], "~s": state}


class _Decoder:
    """json's object_hook: each object of the payload, innermost first. An object is defined before any reference
    to it (the encoder numbers objects in the order it writes them), so every `~r` finds it made."""

    def __init__(self) -> None:
        self._objects: dict[int, object] = {}

    def object(self, encoded: dict[str, Any]) -> Any:
        if "~t" in encoded:
            return tuple(encoded["~t"])
        if "~f" in encoded:
            return frozenset(encoded["~f"])
        if "~o" in encoded:
            cls = _rule_class(encoded["~o"])
            made: object = object.__new__(cls)
            for attribute, item in encoded["~s"].items():
                object.__setattr__(made, attribute, item)
            self._objects[encoded["~i"]] = made
            return made
        if "~r" in encoded:
            return self._objects[encoded["~r"]]
        if "~d" in encoded:
            return {key: item for key, item in encoded["~d"]}
        if "~e" in encoded:
            return _rule_class(encoded["~e"])(encoded["~v"])
        if "~p" in encoded:
            return Path(encoded["~p"])
        if "~td" in encoded:
            days, seconds, microseconds = encoded["~td"]
            return timedelta(days=days, seconds=seconds, microseconds=microseconds)
        if "~dt" in encoded:
            return datetime.fromisoformat(encoded["~dt"])
        if "~fn" in encoded:
            return COMPARISONS[encoded["~fn"]]
        return encoded  # an object's attributes, taken by the object around them


@functools.cache
def _rule_class(name: str) -> type:
    """A class defined in one of tocsin's rule modules; anything else is refused (KeyError)."""
    module_name, _, class_name = name.rpartition(".")
    if not module_name.startswith(_RULE_MODULES):
        raise KeyError(f"not a rule class: {name}")
    found = getattr(importlib.import_module(module_name), class_name, None)
    if not isinstance(found, type) or found.__module__ != module_name:
        raise KeyError(f"not a rule class: {name}")
    return found
