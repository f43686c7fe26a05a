"""The OpenAPI document (``/openapi.json``, API token) and a server-rendered API reference
(``/docs``, signed-in users; ``VRU_DOCS_ENABLED=false`` switches it off).

FastAPI's own ``/docs`` loads Swagger UI from a CDN, which cannot load offline or in a locked-down
deployment, so the reference is rendered here from the same document: plain HTML, local CSS,
no JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response

from vru_risk.serving.deps import AnyPageUser, api_roles
from vru_risk.serving.routes.common import render
from vru_risk.store.users import UserInfo

router = APIRouter(include_in_schema=False)
pages = APIRouter(include_in_schema=False)

AnyRole = Annotated[
    UserInfo, Depends(api_roles("practitioner", "data_scientist", "ethics_panel", "admin"))
]
METHODS = ("get", "post", "put", "patch", "delete")


@router.get("/openapi.json")
def openapi(request: Request, _user: AnyRole) -> JSONResponse:
    """The API's OpenAPI document (for clients and contract tests)."""
    return JSONResponse(request.app.openapi())


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return f"map to {_type(schema['additionalProperties'])}"
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    kind = str(schema.get("type", "any"))
    return f"{kind} ({schema['format']})" if "format" in schema else kind


def reference(spec: dict[str, Any]) -> dict[str, Any]:
    """Operations and schemas of an OpenAPI document in a template-friendly shape."""
    operations = []
    for path, item in spec.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            operations.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p["in"],
                            "required": p.get("required", False),
                            "type": _type(p.get("schema", {})),
                            "description": p.get("description", ""),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _type(body["schema"]) if "schema" in body else None,
                    "responses": [
                        {
                            "status": status,
                            "description": r.get("description", ""),
                            "type": _type(
                                r.get("content", {}).get("application/json", {}).get("schema", {})
                            )
                            if r.get("content")
                            else "",
                        }
                        for status, r in op.get("responses", {}).items()
                    ],
                }
            )
    schemas = []
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        required = set(schema.get("required", []))
        schemas.append(
            {
                "name": name,
                "description": schema.get("description", ""),
                "fields": [
                    {
                        "name": field,
                        "type": _type(prop),
                        "required": field in required,
                        "description": prop.get("description", ""),
                    }
                    for field, prop in schema.get("properties", {}).items()
                ],
            }
        )
    return {"info": spec.get("info", {}), "operations": operations, "schemas": schemas}


@pages.get("/docs")
def docs(request: Request, _user: AnyPageUser) -> Response:
    """The API reference, rendered from the OpenAPI document."""
    return render(
        request, "docs.html.j2", {"title": "API reference", **reference(request.app.openapi())}
    )
