"""Masking secrets: every occurrence that stands alone is hidden, the project's own names stay readable."""

from __future__ import annotations

import logging
import secrets

import pytest

from flows import redact
from flows.public_names import public_names

DBT_ERROR = "Database Error in model stg_umami__rejected_rows (models/staging/umami/stg_umami__rejected_rows.sql)"


@pytest.fixture(autouse=True)
def no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with nothing registered and no warning given (the state is per process)."""
    monkeypatch.setattr(redact, "_secrets", {})
    monkeypatch.setattr(redact, "_warned", set())


@pytest.mark.parametrize(
    "text",
    [
        DBT_ERROR,
        "Failure in test source_not_null_umami_events_event_id (models/staging/umami/_umami__sources.yml)",
        "select count(*) from umami_raw.events",
        'File "/srv/app/loader/umami/client.py", line 306, in loader.umami.client',
        "umami_sim.app serves umami_reconciliation for course_analytics_demo",
    ],
)
def test_a_secret_inside_a_project_name_stays_readable(text: str) -> None:
    redact.register(UMAMI_PASSWORD="umami")
    assert redact.mask(text) == text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:umami@h/db", "postgresql://u:***@h/db"),
        ("password=umami host=h", "password=*** host=h"),
        ('{"username": "admin", "password": "umami"}', '{"username": "admin", "password": "***"}'),
        (
            f"could not connect to postgresql://u:umami@h/db in {DBT_ERROR}",
            f"could not connect to postgresql://u:***@h/db in {DBT_ERROR}",
        ),
        ("umamiumami", "******"),
    ],
)
def test_the_same_secret_standing_alone_is_masked(text: str, masked: str) -> None:
    redact.register(UMAMI_PASSWORD="umami")
    assert redact.mask(text) == masked


def test_a_secret_equal_to_a_project_name_is_masked_even_as_that_name() -> None:
    redact.register(WAREHOUSE_DSN="umami_raw")
    assert redact.mask("postgresql://u:umami_raw@h/db") == "postgresql://u:***@h/db"
    assert redact.mask("select * from umami_raw.events") == "select * from ***.events"
    assert redact.mask(DBT_ERROR) == DBT_ERROR  # not a part of these names


def test_a_long_random_secret_is_masked_everywhere() -> None:
    secret = secrets.token_urlsafe(24)
    redact.register(UMAMI_API_KEY=secret, WAREHOUSE_DSN="umami")
    text = f"stg_{secret}__events models/{secret}/x.sql key={secret}{secret} stg_umami__events"
    masked = redact.mask(text)
    assert secret not in masked
    assert masked == "stg_***__events models/***/x.sql key=****** stg_umami__events"


def test_log_records_are_masked_whatever_the_logger(caplog: pytest.LogCaptureFixture) -> None:
    redact.install_log_masking()
    redact.register(UMAMI_PASSWORD="umami")
    with caplog.at_level(logging.INFO):
        logging.getLogger("dbt").error("%s; retry postgresql://u:%s@h/db", DBT_ERROR, "umami")
    assert caplog.records[-1].getMessage() == f"{DBT_ERROR}; retry postgresql://u:***@h/db"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("ab", "shorter than 3 characters: it is not masked"),
        ("umami", "shorter than 8 characters"),
        ("analytics_build", "part of the project's own names"),
        ("sessions", "part of the project's own names"),
        ("Password", "a common word"),
        ("changeme", "a common word"),
    ],
)
def test_a_weak_secret_gives_one_warning_naming_the_setting_not_the_value(
    caplog: pytest.LogCaptureFixture, value: str, reason: str
) -> None:
    redact.install_log_masking()
    with caplog.at_level(logging.WARNING, logger="flows.redact"):
        redact.register(UMAMI_PASSWORD=value)
        redact.register(UMAMI_PASSWORD=value)  # every step registers the settings again
    warnings = [r.getMessage() for r in caplog.records if r.name == "flows.redact"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"UMAMI_PASSWORD is {reason}")
    assert value not in warnings[0]
    assert "choose a longer" in warnings[0]


@pytest.mark.parametrize(
    "value", [secrets.token_urlsafe(12), "correct-horse-battery-staple", "Kp9-planted-secret-7731"]
)
def test_a_strong_secret_gives_no_warning(caplog: pytest.LogCaptureFixture, value: str) -> None:
    with caplog.at_level(logging.WARNING, logger="flows.redact"):
        redact.register(UMAMI_API_KEY=value, WAREHOUSE_DSN=None)
    assert not [r for r in caplog.records if r.name == "flows.redact"]


def test_public_names_come_from_the_dbt_project_and_the_code() -> None:
    names = public_names()
    assert {"stg_umami__events", "models/staging/umami/stg_umami__events.sql", "umami_events"} <= names
    assert {"umami_raw", "analytics", "analytics_build", "rejected_rows", "UMAMI_PASSWORD"} <= names
    assert {"loader.umami.client", "loader/umami/client.py", "operator_course_metrics"} <= names


def test_a_logged_traceback_is_masked(caplog: pytest.LogCaptureFixture) -> None:
    redact.install_log_masking()
    secret = secrets.token_urlsafe(24)
    redact.register(WAREHOUSE_DSN=secret)
    try:
        raise RuntimeError(f"could not connect to postgresql://u:{secret}@h/db")
    except RuntimeError:
        logging.getLogger("flows.steps").exception("Task run failed")
    assert "RuntimeError: could not connect to postgresql://u:***@h/db" in caplog.text
    assert secret not in caplog.text
