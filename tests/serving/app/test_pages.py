"""The pages: what a flag page shows, the decision form's errors, and what every page needs to
be usable (labelled fields, a skip link, local assets only, neutral language)."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

from tests.serving.app.conftest import FLAGS, Browser, Served

A = FLAGS["A"]


class Fields(HTMLParser):
    """Form controls, labels, links and scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.refs: list[str] = []
        self.scripts = 0
        self.lang: str | None = None
        self.skip = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag in ("input", "select", "textarea") and a.get("type") not in ("hidden", "submit"):
            self.controls.append(a)
        if tag == "label" and a.get("for"):
            self.labels.add(str(a["for"]))
        if tag in ("a", "link") and a.get("href"):
            self.refs.append(str(a["href"]))
            if a.get("href") == "#main" and a.get("class") == "skip-link":
                self.skip = True
        if tag in ("img", "script") and a.get("src"):
            self.refs.append(str(a["src"]))
        if tag == "script":
            self.scripts += 1


def pages_of(served: Served) -> dict[str, str]:
    out = {}
    anonymous = Browser(served.api(None))
    out["login"] = anonymous.get("/login").text
    pat = served.browser("pat")
    out["flags"] = pat.get("/flags").text
    out["flag"] = pat.get(f"/flags/{A.flag_id}").text
    eve = served.browser("eve")
    out["models"] = eve.get("/models").text
    out["aggregates"] = eve.get("/aggregates").text
    out["docs"] = eve.get("/docs").text
    out["users"] = served.browser("ada").get("/users").text
    out["forbidden"] = eve.get("/flags").text
    return out


def test_every_page_is_labelled_local_and_skippable(served: Served) -> None:
    for name, html in pages_of(served).items():
        page = Fields()
        page.feed(html)
        assert page.lang == "en-GB", name
        assert page.skip, f"{name}: no skip link"
        assert 'id="main"' in html, name
        unlabelled = [c for c in page.controls if c.get("id") not in page.labels]
        assert not unlabelled, f"{name}: controls without a label: {unlabelled}"
        external = [r for r in page.refs if r.startswith(("http:", "https:", "//"))]
        assert not external, f"{name}: assets from elsewhere: {external}"
        assert page.scripts == 0, f"{name}: needs JavaScript"
        lowered = html.lower()
        for phrase in ("risk of offending", "offender", "criminal", "high-risk"):
            assert phrase not in lowered, f"{name} says {phrase!r}"


def test_the_flag_page_explains_and_offers_the_decision_form(served: Served) -> None:
    html = unescape(served.browser("ed").get(f"/flags/{A.flag_id}").text)
    for text in (
        "Decision support, not a decision",
        "What raises the model's score",
        "What lowers it",
        "What the model cannot see",
        "What could change the model's score",
        "Programmes",
        "highest 5%",
        "3 police contacts as a suspect in the last year",  # shared with the EIT
        "records from services your programme does not see",  # the A&E reason, redacted
        "If these records were like those of most young people at such moments",
        "Early Intervention Team",
        "Record your decision",
        "No decision has been recorded yet.",
    ):
        assert text in html, text
    assert "Musgrove Park" not in html


def test_a_decision_form_with_a_problem_comes_back_with_the_answers_kept(served: Served) -> None:
    browser = served.browser("pat")
    browser.get(f"/flags/{A.flag_id}")
    url = f"/flags/{A.flag_id}/decisions"
    missing = browser.post(url, {"decision": "referred", "reason_code": "practitioner_concern"})
    assert missing.status_code == 422
    assert "Choose the programme you referred the young person to." in missing.text
    assert 'value="referred" checked' in missing.text
    wrong = browser.post(url, {"decision": "no_action", "reason_code": "practitioner_concern"})
    assert wrong.status_code == 422 and "listed under 'No action'" in unescape(wrong.text)
    nothing = browser.post(url, {})
    assert nothing.status_code == 422 and "Choose a decision" in nothing.text
    store = browser.post(
        url, {"decision": "disagree", "reason_code": "information_wrong", "text": "  "}
    )
    assert store.status_code == 422 and "free text" in store.text
    ok = browser.post(
        url,
        {
            "decision": "referred",
            "reason_code": "practitioner_concern",
            "referred_to": "jump_start",
            "text": "club coach will call",
        },
    )
    assert ok.status_code == 303
    shown = browser.get(ok.headers["location"].split("#")[0]).text
    assert "Your decision was recorded" in shown and "club coach will call" in shown
    decisions = served.api("pat").get(f"/api/v1/flags/{A.flag_id}/decisions").json()
    assert [d["referred_to"] for d in decisions["decisions"]] == ["jump_start"]


def test_the_flags_page_shows_capacity_and_only_this_programmes_list(served: Served) -> None:
    html = served.browser("amy").get("/flags").text
    assert "1 of 10 places offered this week</strong>" in html and "9 left" in html
    # the one offered this week is the one row marked so; C was offered ten days earlier
    assert html.count("Offered this week</td>") == 1
    c_as_of = FLAGS["C"].as_of.isoformat()
    assert f"Offered on {c_as_of} (an earlier week)" in html
    assert "flagged 10 days ago" in html and "flagged today" in html
    assert "How offers are chosen: places are spread across the week" in html  # paced
    assert "2 support opportunities for Admit A&amp;E" in html
    assert A.person_id not in html  # the list shows flag ids and reasons, not who
    assert FLAGS["B"].flag_id not in html and FLAGS["C"].flag_id in html


def test_the_users_page_lists_accounts_for_administrators(served: Served) -> None:
    html = served.browser("ada").get("/users").text
    for name in ("pat", "ed", "amy", "dana", "eve", "ada"):
        assert f"<td>{name}</td>" in html
    assert "Admit A&amp;E" in html and "ethics panel" in html
