"""Schemathesis in-process against the app's own OpenAPI document, authenticated with an API
token: no server error, and every status code, content type and body as documented.

Cases come from schemathesis' strategies for each operation; they are sent through the test's
own ``TestClient`` (the app's lifespan entered once, with its users and flags) and validated
with ``case.validate_response``. (schemathesis' pytest plugin cannot load a schema from a fixture
under pytest 9.2: it writes the node's private ``_nodeid``.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.serving.app.conftest import (
    Served,
    approve,
    materialise_moments,
    register_candidate,
    serve,
)
from vru_risk.models.risk_model import RiskModel
from vru_risk.settings import Settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 40


def send(served: Served, case: Any, headers: dict[str, str]) -> Any:
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers)
    body: dict[str, Any] = {}
    if "json" in kwargs:
        body["json"] = kwargs["json"]
    elif kwargs.get("data") is not None:
        data = kwargs["data"]
        body["content"] = data if isinstance(data, bytes | str) else str(data)
    return served.client.request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=kwargs.get("headers"),
        cookies=kwargs.get("cookies") or None,
        **body,
    )


def exercise(served: Served, operation: Any, headers: dict[str, str]) -> set[int]:
    """Send ``EXAMPLES`` generated cases of one operation, valid and invalid ones; return the
    statuses seen."""
    seen: set[int] = set()
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    def check(case: Any) -> None:
        response = send(served, case, headers)
        seen.add(response.status_code)
        case.validate_response(response, checks=CHECKS, headers=headers)

    check()
    return seen


@pytest.fixture
def in_service(settings: Settings, risk_model: RiskModel) -> Iterator[Served]:
    """The app with an approved champion and the daily job's moments materialised."""
    approve(register_candidate(settings, risk_model))
    materialise_moments(settings, risk_model)
    # generated cases come faster than any practitioner: the request limit stays out of the way
    limits = {"identifier_requests_per_minute": 100_000, "identifier_requests_per_hour": 100_000}
    with serve(settings.model_copy(update=limits)) as served:
        yield served


@pytest.mark.parametrize("user", ["ed", "dana"])
def test_the_api_behaves_as_its_openapi_document_says(in_service: Served, user: str) -> None:
    """A practitioner (flags, decisions, scoring) and a data scientist (aggregates)."""
    served = in_service
    headers = {"Authorization": f"Bearer {served.tokens[user]}"}
    document = served.api(user).get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 8
    statuses = {
        f"{op.method.upper()} {op.path}": exercise(served, op, headers) for op in operations
    }
    # the examples reached the routes' own logic, not only the validation layer
    assert 200 in statuses["GET /api/v1/model"] and 200 in statuses["GET /health"]
    assert not [op for op, seen in statuses.items() if 429 in seen]  # not stopped by the limit
    if user == "ed":
        assert {200, 403} <= statuses["GET /api/v1/flags"]  # own programme / another one
        assert 404 in statuses["GET /api/v1/flags/{flag_id}"]
        assert {404, 422} <= statuses["POST /api/v1/flags/{flag_id}/decisions"]
        assert {404, 422} <= statuses["POST /api/v1/score"]
    else:
        assert 200 in statuses["GET /api/v1/aggregates"]
        assert 403 in statuses["GET /api/v1/flags"] and 200 not in statuses["GET /api/v1/flags"]
