"""The alert's JSON form: versioned, described by docs/alert.schema.json, and round-trips."""

from __future__ import annotations

import json
from datetime import timedelta

import jsonschema
import pytest

from tests.alert_factory import SCHEMA_PATH, T0, make_alert, schema
from tocsin.alerts import Alert
from tocsin.deliver.group import digest_alert
from tocsin.severity import Severity


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize(
    "alert",
    [
        make_alert(1),
        Alert.test("ops", T0),
        digest_alert("morning", [make_alert(1), make_alert(2, severity=Severity.LOW)], T0 + timedelta(hours=1)),
    ],
    ids=["match", "test", "digest"],
)
def test_every_kind_validates_and_round_trips(alert: Alert) -> None:
    body = alert.to_json()
    jsonschema.validate(body, schema(), cls=jsonschema.Draft202012Validator)
    assert body["version"] == 1
    assert Alert.from_json(body) == alert


def test_the_schema_rejects_what_is_not_an_alert() -> None:
    body = make_alert(1).to_json()
    for broken in ({**body, "version": 2}, {**body, "severity": "urgent"}, {**body, "id": "x"},
                   {k: v for k, v in body.items() if k != "title"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema(), cls=jsonschema.Draft202012Validator)


def test_ids_are_stable_and_distinct() -> None:
    assert make_alert(1).id == make_alert(1).id
    assert make_alert(1).id != make_alert(2).id
    digest = digest_alert("morning", [make_alert(1)], T0)
    assert digest.members == (make_alert(1),)


def test_the_documented_example_is_valid() -> None:
    text = (SCHEMA_PATH.parent / "delivery.md").read_text()
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    jsonschema.validate(example, schema(), cls=jsonschema.Draft202012Validator)
    assert Alert.from_json(example).to_json() == example
