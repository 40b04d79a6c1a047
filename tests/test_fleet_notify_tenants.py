"""Notifications per commune, on both engines, through a local SMTP server: an alarm of a box of commune A is
mailed to the service's `[notify]` recipients and to A's own recipients, never to another commune's; a power cut
over two communes makes one grouped message per commune, each to its own people; each commune with recipients
gets the daily digest of its own boxes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fleet.notify.planner import plan
from fleet.notify.sender import deliver_due
from fleet.notify.settings import NotifySettings
from fleet.registry.devices import add_device
from fleet.store.db import Database
from fleet.tenants.communes import create_commune, new_commune, update_commune
from hil_tests.smtp_receiver import SmtpReceiver
from tests.fleet_notify_helpers import T0, clear_alarm, fleet_db, raise_alarm, settings

SERVICE = "ops@village.test"
RECIPIENTS = {"alpha": ("mairie@alpha.test",), "bravo": ("mairie@bravo.test", "elu@bravo.test")}
#: Past the group window (120 s by default) and a planner period.
LATER = 125.0


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


def _communes(db: Database, boxes: dict[str | None, list[str]]) -> None:
    for name, recipients in RECIPIENTS.items():
        create_commune(db, new_commune(name, name.title(), now=T0))
        update_commune(db, name, recipients=recipients)
    for commune, devices in boxes.items():
        for device in devices:
            add_device(db, device, f"Site {device}", now=T0, commune=commune)


def _run(db: Database, s: NotifySettings, at: float) -> None:
    plan(db, s, at)
    deliver_due(db, s, at)


def _mailbox(smtp: SmtpReceiver) -> dict[str, list[str]]:
    """Per recipient, the texts (subject and body) they received."""
    box: dict[str, list[str]] = {}
    for mail in smtp.messages:
        (to,) = mail.rcpt_tos
        box.setdefault(to, []).append(f"{mail.message['Subject']}\n{mail.message.get_content()}")
    return box


def test_notify_tenants_an_alarm_goes_to_the_service_and_its_commune_only(db: Database, smtp: SmtpReceiver) -> None:
    _communes(db, {"alpha": ["alpha-box"], "bravo": ["bravo-box"], None: ["svc-box"]})
    s = settings(smtp={"port": smtp.port, "recipients": [SERVICE]}, digest_time="")
    leak = raise_alarm(db, "alpha-box", "leak", T0, severity="critical", message="water running at night")
    _run(db, s, T0)
    _run(db, s, T0 + LATER)
    box = _mailbox(smtp)
    assert sorted(box) == sorted([SERVICE, "mairie@alpha.test"])  # never bravo's people
    for to in box:
        (text,) = box[to]
        assert "alpha-box" in text and leak in text and "water running at night" in text
    offline = raise_alarm(db, "svc-box", "offline", T0 + 200, severity="warning")
    _run(db, s, T0 + 200)
    _run(db, s, T0 + 200 + LATER)
    box = _mailbox(smtp)
    assert len(box[SERVICE]) == 2 and offline in box[SERVICE][1]  # the service's own box: the service only
    assert len(box["mairie@alpha.test"]) == 1 and not any(to.endswith("bravo.test") for to in box)


def test_notify_tenants_a_power_cut_over_two_communes_is_one_group_per_commune(
    db: Database, smtp: SmtpReceiver
) -> None:
    alpha = [f"alpha-{i}" for i in range(5)]
    bravo = [f"bravo-{i}" for i in range(4)]
    _communes(db, {"alpha": alpha, "bravo": bravo, None: ["svc-box"]})
    s = settings(smtp={"port": smtp.port, "recipients": [SERVICE, "elu@bravo.test"]}, digest_time="",
                 group_threshold=3)
    for device in [*alpha, *bravo, "svc-box"]:
        raise_alarm(db, device, "offline", T0, severity="warning")
    _run(db, s, T0)
    _run(db, s, T0 + LATER)
    box = _mailbox(smtp)
    # The service: alpha's group, bravo's group, svc-box alone; elu@bravo.test is both the service's and
    # bravo's recipient: each message once.
    assert sorted(len(texts) for texts in box.values()) == [1, 1, 3, 3]
    assert sorted(box) == sorted([SERVICE, "elu@bravo.test", "mairie@alpha.test", "mairie@bravo.test"])
    (alpha_mail,) = box["mairie@alpha.test"]
    assert "offline on 5 boxes" in alpha_mail and all(d in alpha_mail for d in alpha)
    assert not any(d in alpha_mail for d in [*bravo, "svc-box"])
    (bravo_mail,) = box["mairie@bravo.test"]
    assert "offline on 4 boxes" in bravo_mail and all(d in bravo_mail for d in bravo)
    assert not any(d in bravo_mail for d in [*alpha, "svc-box"])
    before = len(smtp.messages)
    for device in [*alpha, *bravo]:
        clear_alarm(db, device, "offline", T0 + 600)
    _run(db, s, T0 + 600)
    _run(db, s, T0 + 600 + LATER)
    box = _mailbox(smtp)
    assert len(smtp.messages) == before + 6  # alpha's return to 2 people, bravo's to 2 + the service
    (_, back) = box["mairie@alpha.test"]
    assert back.startswith("[Hameau] cleared: offline on 5 boxes") and not any(d in back for d in bravo)
    assert all(not any(d in t for d in alpha) for t in box["mairie@bravo.test"])


def test_notify_tenants_each_commune_gets_the_digest_of_its_own_boxes(db: Database, smtp: SmtpReceiver) -> None:
    _communes(db, {"alpha": ["alpha-box"], "bravo": ["bravo-box"], None: ["svc-box"]})
    s = settings(smtp={"port": smtp.port, "recipients": [SERVICE]}, digest_time="08:00", min_severity="critical")
    for device in ("alpha-box", "bravo-box", "svc-box"):
        raise_alarm(db, device, "offline", T0 - 3600, severity="warning")  # below min_severity: digest only
    raise_alarm(db, "bravo-box", "leak", T0 - 1800, severity="warning")
    _run(db, s, T0)  # 11:00 in Paris: the day's digest is due
    _run(db, s, T0 + 60)  # planned once a day
    box = _mailbox(smtp)
    assert {to: len(texts) for to, texts in box.items()} == {
        SERVICE: 1, "elu@bravo.test": 1, "mairie@alpha.test": 1, "mairie@bravo.test": 1}
    (everything,) = box[SERVICE]
    assert "4 open alarms" in everything and all(d in everything for d in ("alpha-box", "bravo-box", "svc-box"))
    (alpha_digest,) = box["mairie@alpha.test"]
    assert "1 open alarm " in alpha_digest and "alpha-box" in alpha_digest
    assert "bravo-box" not in alpha_digest and "svc-box" not in alpha_digest
    (bravo_digest,) = box["mairie@bravo.test"]
    assert "2 open alarms" in bravo_digest and "bravo-box" in bravo_digest
    assert "alpha-box" not in bravo_digest and "svc-box" not in bravo_digest
