"""`hameau-fleet notify outbox|retry` on both engines: counts per state, webhook URLs shown without their path,
a failed message queued again; mistakes are one line and exit 2."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from fleet.cli import main
from fleet.notify.compose import Message
from fleet.notify.outbox import enqueue, mark_failed
from fleet.store.db import Database
from tests.fleet_notify_helpers import T0, fleet_db, outbox_rows, settings


@pytest.fixture
def db(store_url: str) -> Iterator[Database]:
    with fleet_db(store_url) as database:
        yield database


def test_notify_cli_outbox_and_retry(db: Database, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    s = settings(max_attempts=1, smtp={}, webhook={"urls": ["https://hooks.village.test/h/s3cr3t-token"]})
    with db.transaction():
        enqueue(db, s, Message("alarm", ("a1",), "[Hameau] CRITICAL leak on box-07", "text", {}), T0)
    email = next(r for r in outbox_rows(db) if r["channel"] == "email")
    mark_failed(db, email["id"], 1, "SMTP 554 rejected", T0 + 1, s)

    assert main(["notify", "outbox", "--db", store_url, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["counts"] == {"pending": 1, "sent": 0, "failed": 1}
    assert sorted((m["channel"], m["target"], m["state"], m["last_error"]) for m in shown["messages"]) == [
        ("email", "ops@village.test", "failed", "SMTP 554 rejected"),
        ("webhook", "https://hooks.village.test/...", "pending", None)]
    assert main(["notify", "outbox", "--db", store_url, "--state", "failed"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("1 pending, 0 sent, 1 failed\n") and email["id"] in text and "s3cr3t" not in text

    assert main(["notify", "retry", "--db", store_url, email["id"][:-1] + "x"]) == 2
    assert capsys.readouterr().err.strip().endswith("no message '" + email["id"][:-1] + "x' in the outbox")
    assert main(["notify", "retry", "--db", store_url]) == 2
    capsys.readouterr()
    assert main(["notify", "retry", "--db", store_url, "--failed", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"retried": [email["id"]]}
    again = next(r for r in outbox_rows(db) if r["id"] == email["id"])
    assert (again["state"], again["attempts"]) == ("pending", 0)
