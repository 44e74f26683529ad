"""Routes select receivers; groups wait, batch and do not repeat (Alertmanager semantics), digests go out on
schedule. Driven by a simulated clock through the real router, store and worker (console receivers)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.alert_factory import T0, Setup, make_alert, setup
from tests.conftest import StoreOpener
from tocsin.config import load_config
from tocsin.config.delivery import DeliveryConfig, DigestSchedule
from tocsin.deliver.group import next_digest_time
from tocsin.deliver.route import destinations
from tocsin.errors import ConfigError
from tocsin.severity import Severity


def console(*names: str) -> list[dict[str, Any]]:
    return [{"name": name, "kind": "console"} for name in names]


def sent(s: Setup, receiver: str | None = None) -> list[tuple[str, ...]]:
    """Alert ids of every delivery created so far, oldest first."""
    deliveries = reversed(s.worker.store.listing(None, 1000))
    return [d.alert_ids for d in deliveries if receiver is None or d.receiver == receiver]


def test_routes_first_match_continue_and_default() -> None:
    config = DeliveryConfig.model_validate({
        "receivers": console("pager", "desk", "archive", "fallback"),
        "routes": [
            {"severity": "high", "tags": ["shootdown", "strike"], "receivers": ["pager"], "continue": True},
            {"places": ["idlib"], "receivers": ["desk"]},
            {"rules": ["buildup-troops"], "receivers": ["archive"]},
        ],
        "default": {"receivers": ["fallback"], "group_wait": "2m"},
    })

    def names(**kwargs: Any) -> list[str]:
        return [name for name, _ in destinations(config, make_alert(1, **kwargs))]

    assert names() == ["pager", "desk"]
    assert names(severity=Severity.MEDIUM) == ["desk"]
    assert names(places=("Aleppo",)) == ["pager"]  # matched with continue, so the default does not apply
    assert names(places=("Aleppo",), tags=("buildup",), rule="buildup-troops") == ["archive"]
    assert names(places=("Kyiv",), tags=("casualties",), rule="x") == ["fallback"]
    ((_, grouping),) = destinations(config, make_alert(1, places=("Kyiv",), tags=(), rule="x"))
    assert grouping.group_wait == timedelta(minutes=2)
    assert grouping.group_interval == timedelta(minutes=5)


def test_config_errors_are_precise(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.toml"
    path.write_text("""
[[delivery.receivers]]
name = "ops"
kind = "console"
[[delivery.receivers]]
name = "ops"
kind = "console"
[[delivery.routes]]
receivers = ["pager"]
[delivery.default]
receivers = ["ops", "nobody"]
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert 'receivers[1].name: "ops" is used twice' in text
    assert 'routes[0].receivers: unknown receiver "pager" (known: ops)' in text
    assert 'default.receivers: unknown receiver "nobody"' in text
    path.write_text("""
[[delivery.receivers]]
name = "m"
kind = "email"
host = "smtp.example.org"
from = "tocsin@example.org"
to = ["a@example.org\\r\\nBcc: x@example.org"]
digest = { at = "7am", timezone = "Mars/Olympus" }
[[delivery.receivers]]
name = "w"
kind = "pager"
""")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = "\n".join(caught.value.problems)
    assert "is not a plain e-mail address" in text
    assert '"7am" is not a time of day' in text
    assert '"Mars/Olympus" is not a known time zone' in text
    assert "delivery.receivers[1]" in text and "pager" in text


async def test_alerts_of_one_group_wait_and_go_together(open_store: StoreOpener) -> None:
    config = DeliveryConfig.model_validate({
        "receivers": console("desk"), "default": {"receivers": ["desk"]},
        "grouping": {"group_by": ["rule"], "group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"},
    })
    s = setup(open_store(), config)
    s.enqueue(make_alert(1))
    s.clock.advance(timedelta(seconds=10))
    s.enqueue(make_alert(2), make_alert(3, rule="other-rule"))
    await s.worker._cycle(ignore_wait=False)
    assert sent(s) == []
    s.clock.advance(timedelta(seconds=20))  # 30s after the first alert of the group
    await s.worker._cycle(ignore_wait=False)
    assert sent(s) == [(make_alert(1).id, make_alert(2).id)]
    s.clock.advance(timedelta(seconds=10))  # the other group started 10s later
    await s.worker._cycle(ignore_wait=False)
    assert sent(s)[1:] == [(make_alert(3, rule="other-rule").id,)]

    # A group that went out waits group_interval before it goes out again.
    s.clock.advance(timedelta(minutes=1))
    s.enqueue(make_alert(4))
    s.clock.advance(timedelta(minutes=3, seconds=49))  # the group last went out at T0+30s; now T0+5m29s
    await s.worker._cycle(ignore_wait=False)
    assert len(sent(s)) == 2
    s.clock.advance(timedelta(seconds=1))  # 5m after the group's last flush
    await s.worker._cycle(ignore_wait=False)
    assert sent(s)[2:] == [(make_alert(4).id,)]
    await s.worker.drain(timeout_s=10)
    await s.worker.close()


async def test_the_same_alert_is_not_repeated_within_repeat_interval(open_store: StoreOpener) -> None:
    config = DeliveryConfig.model_validate({
        "receivers": console("desk"), "default": {"receivers": ["desk"]},
        "grouping": {"group_wait": "0s", "group_interval": "0s", "repeat_interval": "4h"},
    })
    s = setup(open_store(), config)
    s.enqueue(make_alert(1))
    s.clock.advance(timedelta(hours=3, minutes=59))
    s.enqueue(make_alert(1))
    assert len(sent(s)) == 1
    s.clock.advance(timedelta(minutes=1))
    s.enqueue(make_alert(1))
    assert sent(s) == [(make_alert(1).id,)] * 2
    await s.worker.drain(timeout_s=10)
    assert s.worker.store.counts()["delivered"] == 2
    await s.worker.close()


async def test_grouping_survives_a_restart(open_store: StoreOpener) -> None:
    config = DeliveryConfig.model_validate({
        "receivers": console("desk"), "default": {"receivers": ["desk"]}, "grouping": {"group_wait": "30s"},
    })
    s = setup(open_store(), config)
    s.enqueue(make_alert(1))
    s.db.close()
    again = setup(open_store(), config, start=T0 + timedelta(seconds=31))
    await again.worker._cycle(ignore_wait=False)
    assert sent(again) == [(make_alert(1).id,)]
    await again.worker.drain(timeout_s=10)
    await again.worker.close()


def test_next_digest_time_in_a_time_zone() -> None:
    berlin = DigestSchedule(at="07:00", timezone="Europe/Berlin")
    # 2020-02-17 is winter time (UTC+1): 07:00 Berlin is 06:00 UTC.
    assert next_digest_time(berlin, datetime(2020, 2, 17, 5, 59, tzinfo=UTC)) == datetime(2020, 2, 17, 6, 0, tzinfo=UTC)
    assert next_digest_time(berlin, datetime(2020, 2, 17, 6, 0, tzinfo=UTC)) == datetime(2020, 2, 18, 6, 0, tzinfo=UTC)
    # Summer time (UTC+2), across the spring change on 2020-03-29.
    assert next_digest_time(berlin, datetime(2020, 3, 28, 12, 0, tzinfo=UTC)) == datetime(2020, 3, 29, 5, 0, tzinfo=UTC)


async def test_a_digest_collects_and_goes_out_on_schedule(
    open_store: StoreOpener, capsys: pytest.CaptureFixture[str]
) -> None:
    config = DeliveryConfig.model_validate({
        "receivers": [*console("pager"), {"name": "morning", "kind": "console",
                                          "digest": {"at": "07:00", "timezone": "Europe/Berlin"}}],
        "routes": [{"severity": "high", "receivers": ["pager"]}],
        "default": {"receivers": ["morning"]},
        "grouping": {"group_wait": "0s"},
    })
    s = setup(open_store(), config)  # T0 is 09:00 UTC = 10:00 in Berlin
    s.enqueue(make_alert(1, severity=Severity.LOW), make_alert(2, severity=Severity.MEDIUM),
              make_alert(3, severity=Severity.HIGH))
    await s.worker.drain(timeout_s=10)
    assert sent(s, "morning") == [] and len(sent(s, "pager")) == 1
    s.clock.advance_to(datetime(2020, 2, 18, 5, 59, tzinfo=UTC))
    await s.worker.drain(timeout_s=10)
    assert sent(s, "morning") == []
    s.clock.advance_to(datetime(2020, 2, 18, 6, 0, tzinfo=UTC))
    capsys.readouterr()
    await s.worker.drain(timeout_s=10)
    ((digest_id,),) = sent(s, "morning")
    (digest,) = s.worker.store.alerts([digest_id])
    assert digest.kind == "digest" and digest.severity == Severity.MEDIUM
    assert [member.id for member in digest.members] == [make_alert(2).id, make_alert(1).id]
    out = capsys.readouterr().out
    assert "Digest: 2 alerts (1 medium, 1 low)" in out
    # Nothing new: no empty digest the next morning.
    s.clock.advance(timedelta(days=1))
    await s.worker.drain(timeout_s=10)
    assert len(sent(s, "morning")) == 1
    await s.worker.close()
