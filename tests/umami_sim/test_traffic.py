"""The traffic generator: the contract's oracle and /api/send both accept its output, and the
simulator's own aggregates agree with the oracle's predictions of Umami's numbers."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from tests import oracle
from tests.umami_sim.helpers import Api
from umami_sim import TrafficSpec, UmamiSimulator, generate

SPEC = TrafficSpec(seed=21, users=40, courses=6, days=40, guests=5, late_arrivals=5, ties=8)


def test_generated_dataset_shape() -> None:
    dataset = generate(SPEC)
    assert dataset == generate(SPEC)  # deterministic for a seed
    payloads = dataset["payloads"]
    assert [p["seq"] for p in payloads] == list(range(1, len(payloads) + 1))
    kinds = Counter(p["body"]["payload"].get("name", p["body"]["type"]) for p in payloads)
    assert kinds["course_visit"] > 100 and kinds["daily_login"] and kinds["work_play_start"] and kinds["identify"]
    assert sum("late arrival" in p["note"] for p in payloads[-5:]) == 5
    times = [p["body"]["payload"]["timestamp"] for p in payloads if p["body"]["payload"].get("name") == "course_visit"]
    assert len(times) > len(set(times))  # timestamp ties
    ref = dataset["reference_epoch_s"]
    assert all(ref - 40 * 86400 - 120 <= p["body"]["payload"]["timestamp"] < ref for p in payloads)
    guests = [p for p in payloads if "ip" in p["body"]["payload"]]
    assert guests and all("id" not in p["body"]["payload"] for p in guests)


def test_oracle_and_send_accept_it_and_the_numbers_agree(sim: UmamiSimulator, api: Api) -> None:
    """Umami's aggregates over generated traffic equal what the independent oracle predicts."""
    dataset = generate(SPEC)
    reference = datetime.fromisoformat(dataset["reference_time"].replace("Z", "+00:00"))
    as_of = reference - timedelta(milliseconds=1)
    marts = oracle.course_marts(dataset, as_of)
    assert marts.classes["countable"] > 100
    assert {"guest", "preview"} <= set(marts.classes)
    website = sim.create_website()
    answers = sim.send_dataset(dataset, website)  # over HTTP, in seq order
    assert [a["status"] for a in answers] == [200] * len(answers)
    path = f"/websites/{website}"
    start = reference - timedelta(days=30)
    period = {"startAt": str(_ms(start)), "endAt": str(_ms(as_of)), "event": "course_visit"}
    predicted = oracle.umami_figures(dataset, start, as_of)
    stats = api.json(f"{path}/events/stats", **period)["data"]
    assert (stats["events"], stats["visitors"], stats["visits"]) == (
        predicted.events, predicted.visitors, predicted.visits,
    )  # fmt: skip
    identified = api.json(f"{path}/events/stats", **period, distinctId="re.^u-")["data"]
    assert (identified["events"], identified["visitors"]) == (
        predicted.identified_events, predicted.identified_visitors,
    )  # fmt: skip
    values = api.json(f"{path}/event-data/values", **period, propertyName="shifu_bid")
    assert Counter({v["value"]: v["total"] for v in values}) == oracle.umami_values(dataset, start, as_of)
    for day in range(40):
        day_start = reference - timedelta(days=40 - day)
        day_end = day_start + timedelta(days=1, milliseconds=-1)
        span = {"startAt": str(_ms(day_start)), "endAt": str(_ms(day_end)), "event": "course_visit"}
        got = api.json(f"{path}/events/stats", **span)["data"]
        want = oracle.umami_figures(dataset, day_start, day_end)
        assert (got["events"], got["visitors"], got["visits"]) == (want.events, want.visitors, want.visits), day_start


def test_in_process_sending_matches_http() -> None:
    dataset = generate(TrafficSpec(seed=5, users=10, days=10))
    totals = []
    for over_http in (True, False):
        with UmamiSimulator(seed=9) as sim:
            website = sim.create_website()
            answers = sim.send_dataset(dataset, website, over_http=over_http)
            api = Api(sim.base_url, token=sim.token())
            stats = api.json(f"/websites/{website}/events/stats", startAt="0", endAt="9999999999999")["data"]
            totals.append((len(answers), stats["events"], stats["visitors"], stats["visits"]))
    assert totals[0] == totals[1]


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
