"""A place given by a programme's fair lottery says so on the flag page and in the API; a place
given by score does not."""

from __future__ import annotations

import datetime as dt
from html import unescape

from tests.serving.app.conftest import FLAGS, TODAY, Served, make_flag
from vru_risk.store.flag_store import load_flags

LOTTERY_TEXT = "place allocated by lottery among equally ranked young people"


def test_a_lottery_winners_page_says_the_place_was_drawn(served: Served) -> None:
    plain = make_flag(
        "PL-0005", TODAY - dt.timedelta(days=1), (("early_intervention", 3, "offered"),)
    )
    offer = plain.programmes[0].model_copy(update={"lottery": True})
    won = plain.model_copy(update={"programmes": (offer,)})
    with served.state.write_sessions.begin() as s:
        load_flags(s, [won])
    html = unescape(served.browser("ed").get(f"/flags/{won.flag_id}").text)
    assert f"Offered: {LOTTERY_TEXT}" in html
    other = unescape(served.browser("ed").get(f"/flags/{FLAGS['B'].flag_id}").text)
    assert "Offered" in other and "lottery" not in other
    api = served.api("ed").get(f"/api/v1/flags/{won.flag_id}")
    assert api.status_code == 200, api.text
    assert api.json()["programmes"][0]["lottery"] is True
    by_score = served.api("ed").get(f"/api/v1/flags/{FLAGS['B'].flag_id}").json()
    assert by_score["programmes"][0]["lottery"] is False
