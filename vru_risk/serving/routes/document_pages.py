"""A version's model card and UK algorithmic transparency record, and a candidate beside the
champion, for data scientists and the ethics panel (aggregates only):

- ``/models/{version}/card`` and ``/models/{version}/transparency``: the documents
  ``vru models card`` wrote (:func:`vru_risk.jobs.card.read_document`), printable; when they
  have not been made, a 404 page with the command that makes them;
- ``/models/compare?candidate=N``: the comparison of :func:`vru_risk.jobs.compare.compare`
  (default: the version with the ``candidate`` alias), with a chooser.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from vru_risk.jobs.card import DOCUMENTS, card_command, read_document
from vru_risk.jobs.common import JobError
from vru_risk.jobs.compare import (
    NothingToCompareError,
    SameVersionError,
    UnknownVersionError,
    choices,
    compare,
)
from vru_risk.serving.deps import State
from vru_risk.serving.routes.common import render
from vru_risk.serving.routes.monitoring_pages import MAX_VERSION, Reader, Version

router = APIRouter(tags=["pages"], include_in_schema=False)

TITLES: Final = {"card": "Model card", "transparency": "Algorithmic transparency record"}


def _document(request: Request, state: State, version: int, stem: str) -> Response:
    try:
        document = read_document(state.settings, version, stem)
    except JobError as exc:
        raise HTTPException(404, str(exc)) from None
    if document is None:
        raise HTTPException(
            404,
            f"version {version} has no {DOCUMENTS[stem]} yet: a data scientist makes the model "
            f"card and the transparency record with {card_command(version)} (they are written "
            f"to VRU_HOME/cards/vru-risk-v{version}/)",
        )
    other = "transparency" if stem == "card" else "card"
    context: dict[str, Any] = {
        "title": f"{TITLES[stem]}: version {version}",
        "nav": "models",
        "doc": document,
        "version": version,
        "kind": stem,
        "other": {"url": f"/models/{version}/{other}", "name": TITLES[other]},
        "remake": card_command(version),
    }
    return render(request, "document.html.j2", context)


@router.get("/models/{version}/card")
def model_card(request: Request, state: State, _user: Reader, version: Version) -> Response:
    """The version's model card, as `vru models card` wrote it."""
    return _document(request, state, version, "card")


@router.get("/models/{version}/transparency")
def transparency(request: Request, state: State, _user: Reader, version: Version) -> Response:
    """The version's UK Algorithmic Transparency Recording Standard record."""
    return _document(request, state, version, "transparency")


@router.get("/models/compare")
def comparison(
    request: Request,
    state: State,
    _user: Reader,
    candidate: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
) -> Response:
    """A candidate beside the champion (metrics, gates, group ratios, reference, monitoring,
    what differs)."""
    context: dict[str, Any] = {
        "title": "Candidate beside the champion",
        "nav": "models",
        "doc": None,
        "message": "",
        "chosen": candidate,
        "champion": None,
        "versions": [],
    }
    status = 200
    try:
        context["champion"], context["versions"] = choices(state.settings)
        found = compare(state.settings, candidate)
        context["doc"], context["chosen"] = found.document, found.candidate
    except UnknownVersionError as exc:
        context["message"], status = str(exc), 404
    except SameVersionError as exc:
        context["message"], status = str(exc), 422
    except NothingToCompareError as exc:
        context["message"] = str(exc)
    except JobError as exc:
        context["message"], status = f"the comparison cannot be made: {exc}", 409
    return render(request, "compare.html.j2", context, status_code=status)
