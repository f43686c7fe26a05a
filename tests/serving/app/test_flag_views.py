"""The flag-view event: opening a flag's page or the API's flag detail records which flag was
shown, to whom and for which programme (on SQLite and PostgreSQL); a list, a decision history,
a 403 or a 404 records none."""

from __future__ import annotations

from tests.serving.app.conftest import FLAGS, Served
from vru_risk.store.flag_views import ViewInfo, views_of
from vru_risk.store.users import get_user_by_name

A, B, C, D = FLAGS["A"], FLAGS["B"], FLAGS["C"], FLAGS["D"]


def views(served: Served) -> list[ViewInfo]:
    with served.state.sessions() as s:
        return views_of(s, [f.flag_id for f in FLAGS.values()])


def user_id(served: Served, username: str) -> int:
    with served.state.sessions() as s:
        user = get_user_by_name(s, username)
    assert user is not None
    return user.id


def test_a_flag_shown_on_its_page_or_by_the_api_is_recorded_as_viewed(served_on: Served) -> None:
    served = served_on
    pat, ed = served.browser("pat"), served.api("ed")
    assert pat.get(f"/flags/{A.flag_id}").status_code == 200
    assert ed.get(f"/api/v1/flags/{B.flag_id}").status_code == 200
    amy = served.api("amy")
    assert (
        amy.get(f"/api/v1/flags/{A.flag_id}", params={"programme": "admit_ae"}).status_code == 200
    )
    seen = [(v.flag_id, v.programme_id, v.user_id) for v in views(served)]
    assert seen == [
        (A.flag_id, "jump_start", user_id(served, "pat")),
        (B.flag_id, "early_intervention", user_id(served, "ed")),
        (A.flag_id, "admit_ae", user_id(served, "amy")),
    ]
    assert all(v.viewed_at.tzinfo is not None for v in views(served))
    rows = served.audit_rows()  # each view was audited first
    assert [r.purpose for r in rows] == [
        "view flag: jump_start",
        "view flag: early_intervention",
        "view flag: admit_ae",
    ]


def test_nothing_is_recorded_when_the_flag_was_not_shown_or_only_listed(
    served_on: Served,
) -> None:
    served = served_on
    pat = served.browser("pat")
    assert pat.get(f"/flags/{B.flag_id}").status_code == 404  # another programme's
    assert pat.get(f"/flags/{D.flag_id}").status_code == 404  # past its display period
    assert pat.get(f"/flags/{A.flag_id}", params={"programme": "admit_ae"}).status_code == 403
    assert pat.get("/flags").status_code == 200  # the list shows A, but A was not opened
    api = served.api("pat")
    assert api.get(f"/api/v1/flags/{C.flag_id}").status_code == 404  # already supported only
    assert api.get("/api/v1/flags").status_code == 200
    assert api.get(f"/api/v1/flags/{A.flag_id}/decisions").status_code == 200
    assert served.api("eve").get(f"/api/v1/flags/{A.flag_id}").status_code == 403
    assert views(served) == []
