"""producer/course-visit.js in headless Chromium, over a recording ``window.umami``.

Each test has its own tab, so its own sessionStorage. ``page.calls()`` are the tracker calls
the page made, in order (``window.__umamiCalls``); ``page.errors()`` whatever reached
``window.onerror`` or was an unhandled promise rejection.
"""

from __future__ import annotations

import pytest

from tests.producer.conftest import LearnerPage

COURSE = {"isLearnerCourseRoute": True}
A1 = {**COURSE, "shifuBid": "shifu-a", "userBid": "u-alice"}


def identify(user: str) -> tuple:
    return ("identify", [user])


def track(data: dict) -> tuple:
    return ("track", ["course_visit", data])


def sent(page: LearnerPage) -> list[tuple]:
    return [(call["name"], call["args"]) for call in page.calls()]


def assert_page_unharmed(page: LearnerPage) -> None:
    assert page.ready(), "the page's own script did not run to its end"
    assert page.errors() == []


def test_first_visit_identifies_then_emits_once(page: LearnerPage) -> None:
    page.open("/learn/shifu-a")
    assert page.visit(**A1) == {"sent": True, "reason": "sent"}
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"})]
    assert page.calls()[1]["dataKeys"] == ["shifu_bid"]  # no preview_mode, not even undefined
    assert page.storage() == {"course_visit:shifu-a": "u-alice"}
    assert_page_unharmed(page)


def test_rerenders_and_in_page_navigation_do_not_emit_again(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit={**A1, "entryType": "catalog"})
    assert page.visit(**A1) == {"sent": False, "reason": "already_sent"}
    assert page.visit(**A1, entryType="resume") == {"sent": False, "reason": "already_sent"}
    outcome = page.navigate("/learn/shifu-a/outline/o-2", **A1, outlineItemBid="o-2")
    assert outcome == {"sent": False, "reason": "already_sent"}
    assert page.js("return location.pathname") == "/learn/shifu-a/outline/o-2"  # navigated, no reload
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a", "entry_type": "catalog"})]
    assert_page_unharmed(page)


def test_a_reload_keeps_the_tab_session_and_identifies_anew_before_the_next_course(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit=A1)
    assert len(page.events()) == 1
    page.reload()  # the same tab: sessionStorage survives, the tracker (and its identity) does not
    assert page.js("return window.__results") == [{"sent": False, "reason": "already_sent"}]
    assert page.calls() == []  # nothing to send, so nothing to identify either
    page.navigate("/learn/shifu-b", **(A1 | {"shifuBid": "shifu-b"}))
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-b"})]
    assert_page_unharmed(page)


def test_another_course_emits_without_identifying_again(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit=A1)
    page.navigate("/learn/shifu-b", **(A1 | {"shifuBid": "shifu-b"}), entryType="deep_link")
    page.navigate("/learn/shifu-a", **A1)
    assert sent(page) == [
        identify("u-alice"),
        track({"shifu_bid": "shifu-a"}),
        track({"shifu_bid": "shifu-b", "entry_type": "deep_link"}),
    ]
    assert page.storage() == {"course_visit:shifu-a": "u-alice", "course_visit:shifu-b": "u-alice"}


def test_a_new_tab_is_a_new_tab_session(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit=A1)
    first_tab = page.driver.current_window_handle
    page.new_tab().open("/learn/shifu-a", visit=A1)
    assert page.js("return window.__results") == [{"sent": True, "reason": "sent"}]
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"})]
    page.driver.switch_to.window(first_tab)  # the first tab still remembers its visit
    assert page.visit(**A1) == {"sent": False, "reason": "already_sent"}
    assert len(page.events()) == 1


def test_another_user_in_the_same_tab_is_another_visitor(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit=A1)
    page.visit(**(A1 | {"userBid": "u-bob"}))  # alice logged out, bob logged in, no reload
    page.visit(**(A1 | {"userBid": "u-bob"}))
    assert sent(page) == [
        identify("u-alice"),
        track({"shifu_bid": "shifu-a"}),
        identify("u-bob"),
        track({"shifu_bid": "shifu-a"}),
    ]
    assert page.storage() == {"course_visit:shifu-a": "u-bob"}


def test_a_replaced_tracker_is_identified_again(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", visit=A1)
    page.js("window.__installTracker('recording')")  # the tracker script loaded once more
    page.visit(**(A1 | {"shifuBid": "shifu-b"}))
    assert sent(page) == [
        identify("u-alice"),
        track({"shifu_bid": "shifu-a"}),
        identify("u-alice"),
        track({"shifu_bid": "shifu-b"}),
    ]


@pytest.mark.parametrize("entry_type", ["catalog", "deep_link", "pay_redirect", "resume"])
def test_optional_fields_are_sent_when_valid(page: LearnerPage, entry_type: str) -> None:
    page.open("/learn/shifu-a")
    page.visit(**A1, outlineItemBid="o-7", entryType=entry_type, previewMode=False)
    (event,) = [call for call in page.calls() if call["name"] == "track"]
    assert event["args"] == [
        "course_visit",
        {"shifu_bid": "shifu-a", "outline_item_bid": "o-7", "entry_type": entry_type},
    ]
    assert sorted(event["dataKeys"]) == ["entry_type", "outline_item_bid", "shifu_bid"]
    assert event["url"] == "/learn/shifu-a"


@pytest.mark.parametrize(
    ("outline_item_bid", "entry_type"),
    [("", "CATALOG"), ("   ", "search"), (42, 3), (None, None), (["o-1"], True), ("o" * 501, "")],
)
def test_invalid_optional_fields_are_left_out(page: LearnerPage, outline_item_bid: object, entry_type: object) -> None:
    page.open("/learn/shifu-a")
    assert page.visit(**A1, outlineItemBid=outline_item_bid, entryType=entry_type)["sent"]
    assert page.events() == [["course_visit", {"shifu_bid": "shifu-a"}]]
    assert page.calls()[-1]["dataKeys"] == ["shifu_bid"]


NOTHING_TO_SEND = [
    pytest.param({"userBid": None}, "guest", id="guest-null"),
    pytest.param({"userBid": ""}, "guest", id="guest-empty"),
    pytest.param({"userBid": "__omit__"}, "guest", id="guest-missing"),
    pytest.param({"previewMode": True}, "preview", id="preview"),
    pytest.param({"previewMode": "true"}, "preview", id="preview-string"),
    pytest.param({"previewMode": 1}, "preview", id="preview-number"),
    pytest.param({"shifuBid": ""}, "invalid_shifu_bid", id="shifu-empty"),
    pytest.param({"shifuBid": "   "}, "invalid_shifu_bid", id="shifu-blank"),
    pytest.param({"shifuBid": 123}, "invalid_shifu_bid", id="shifu-number"),
    pytest.param({"shifuBid": None}, "invalid_shifu_bid", id="shifu-null"),
    pytest.param({"shifuBid": True}, "invalid_shifu_bid", id="shifu-boolean"),
    pytest.param({"shifuBid": ["shifu-a"]}, "invalid_shifu_bid", id="shifu-array"),
    pytest.param({"shifuBid": {"id": "shifu-a"}}, "invalid_shifu_bid", id="shifu-object"),
    pytest.param({"shifuBid": "s" * 501}, "invalid_shifu_bid", id="shifu-too-long"),
    pytest.param({"shifuBid": "__omit__"}, "invalid_shifu_bid", id="shifu-missing"),
    pytest.param({"isLearnerCourseRoute": False}, "not_course_route", id="not-course-route"),
    pytest.param({"isLearnerCourseRoute": "true"}, "not_course_route", id="route-flag-string"),
    pytest.param({"isLearnerCourseRoute": "__omit__"}, "not_course_route", id="route-flag-missing"),
]


@pytest.mark.parametrize(("change", "reason"), NOTHING_TO_SEND)
def test_nothing_is_sent_when_a_rule_forbids_it(page: LearnerPage, change: dict, reason: str) -> None:
    props = {**A1, **change}
    props = {k: v for k, v in props.items() if v != "__omit__"}
    page.open("/learn/shifu-a")
    assert page.visit(**props) == {"sent": False, "reason": reason}
    assert page.visit(**props) == {"sent": False, "reason": reason}
    assert page.calls() == []
    assert page.storage() == {}  # nothing marked: a real visit later in this tab still counts
    assert page.visit(**A1)["sent"]
    assert_page_unharmed(page)


@pytest.mark.parametrize(
    "user_bid",
    [
        "alice@example.com",
        "13812345678",
        "+8613812345678",
        "+86 138 1234 5678",
        "138-1234-5678",
        "010-12345678",
        "+1 (415) 555-0100",
        "415.555.0100",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        "Bearer abcdefghijklmnop",
        "Li Wei",
        " u-alice",
        "u" * 51,
        123,
        True,
        ["u-alice"],
    ],
)
def test_a_user_bid_that_is_not_an_opaque_id_sends_nothing(page: LearnerPage, user_bid: object) -> None:
    page.open("/learn/shifu-a")
    assert page.visit(**(A1 | {"userBid": user_bid})) == {"sent": False, "reason": "invalid_user_bid"}
    assert page.calls() == []
    assert page.storage() == {}


@pytest.mark.parametrize(
    "user_bid",
    ["u-alice", "7f3a9c0e12b44d5e9a1b2c3d4e5f6a7b", "550e8400-e29b-41d4-a716-446655440000", "10000023", "u" * 50],
)
def test_opaque_user_bids_are_accepted(page: LearnerPage, user_bid: str) -> None:
    page.open("/learn/shifu-a")
    assert page.visit(**(A1 | {"userBid": user_bid}))["sent"]
    assert sent(page) == [identify(user_bid), track({"shifu_bid": "shifu-a"})]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("undefined", "invalid_arguments"),
        ("null", "invalid_arguments"),
        ("'shifu-a'", "invalid_arguments"),
        ("{ isLearnerCourseRoute: true, userBid: 'u-alice', shifuBid: Symbol('shifu-a') }", "invalid_shifu_bid"),
        ("{ isLearnerCourseRoute: true, userBid: 'u-alice', shifuBid: new String('shifu-a') }", "invalid_shifu_bid"),
        ("{ isLearnerCourseRoute: true, userBid: new String('u-alice'), shifuBid: 'shifu-a' }", "invalid_user_bid"),
        ("{ get isLearnerCourseRoute() { throw new Error('a hostile getter'); } }", "tracker_error"),
    ],
)
def test_odd_arguments_never_throw(page: LearnerPage, expression: str, reason: str) -> None:
    page.open("/learn/shifu-a")
    assert page.js(f"return window.app.visit({expression})") == {"sent": False, "reason": reason}
    assert page.calls() == []
    assert_page_unharmed(page)


@pytest.mark.parametrize("tracker", ["none", "stub"])
def test_an_absent_or_blocked_tracker_is_a_silent_no_op(page: LearnerPage, tracker: str) -> None:
    page.open("/learn/shifu-a", tracker=tracker, visit=A1)
    assert page.js("return window.__results") == [{"sent": False, "reason": "no_tracker"}]
    assert_page_unharmed(page)
    assert page.storage() == {}
    page.js("window.__installTracker('recording')")  # the tracker script arrives late
    assert page.visit(**A1)["sent"]  # the next render sends it
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"})]


def test_a_throwing_tracker_does_not_break_the_page(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", tracker="throwing", visit=A1)
    assert page.js("return window.__results") == [{"sent": False, "reason": "tracker_error"}]
    assert [call["name"] for call in page.calls()] == ["identify"]  # no track after a failed identify
    assert_page_unharmed(page)
    assert page.storage() == {}  # not marked as visited
    page.js("window.__installTracker('recording'); window.__umamiCalls.length = 0")
    assert page.visit(**A1)["sent"]
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"})]


def test_a_track_that_throws_leaves_the_course_unmarked(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", tracker="throwing-track", visit=A1)
    assert page.js("return window.__results") == [{"sent": False, "reason": "tracker_error"}]
    assert page.storage() == {}
    assert page.visit(**A1) == {"sent": False, "reason": "tracker_error"}  # tried again, not identified again
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"}), track({"shifu_bid": "shifu-a"})]
    assert_page_unharmed(page)


def test_a_rejected_send_is_swallowed_and_unmarks_the_course(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", tracker="rejecting")
    twice = page.js("return [window.app.visit(arguments[0]), window.app.visit(arguments[0])]", A1)
    assert twice == [{"sent": True, "reason": "sent"}, {"sent": False, "reason": "already_sent"}]  # pending
    page.settle()
    assert page.storage() == {}
    assert page.visit(**A1)["sent"]  # the failed send did not count; this one tries again
    page.settle()
    assert [call["name"] for call in page.calls()] == ["identify", "track", "track"]
    assert_page_unharmed(page)


def test_a_hostile_tracker_getter_does_not_break_the_page(page: LearnerPage) -> None:
    page.open("/learn/shifu-a")
    page.js("Object.defineProperty(window, 'umami', { configurable: true, get() { throw new Error('nope'); } })")
    assert page.visit(**A1) == {"sent": False, "reason": "tracker_error"}
    assert_page_unharmed(page)


def test_refused_session_storage_still_sends_once_per_page(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", storage="refused", visit=A1)
    assert "SecurityError" in page.js("try { window.sessionStorage; return 'readable'; } catch (e) { return e.name; }")
    page.visit(**A1)
    page.navigate("/learn/shifu-a/outline/o-2", **A1, outlineItemBid="o-2")
    page.navigate("/learn/shifu-b", **(A1 | {"shifuBid": "shifu-b"}))
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"}), track({"shifu_bid": "shifu-b"})]
    assert_page_unharmed(page)
    # Without storage the mark lives as long as the page: a reload is a new page and sends again.
    page.reload()
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"})]


def test_a_full_session_storage_still_sends_once_per_page(page: LearnerPage) -> None:
    page.open("/learn/shifu-a", storage="full", visit=A1)
    page.visit(**A1)
    page.navigate("/learn/shifu-b", **(A1 | {"shifuBid": "shifu-b"}))
    page.visit(**(A1 | {"shifuBid": "shifu-b"}))
    assert sent(page) == [identify("u-alice"), track({"shifu_bid": "shifu-a"}), track({"shifu_bid": "shifu-b"})]
    assert page.storage() == {}
    assert_page_unharmed(page)
