"""A docs page rendered on the server from the OpenAPI schema.

The stock Swagger and Redoc pages load scripts from a CDN, which the
Content-Security-Policy and a closed network both forbid.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated

from alertcenter.api.auth import BearerTokenAuthentication

METHODS = ("get", "post", "put", "patch", "delete")


def _component(schema: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        name = ref.rsplit("/", 1)[-1]
        found: dict[str, Any] = schema["components"]["schemas"].get(name, {})
        return found
    return ref_or_schema


def _fields(schema: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """Return the top-level fields of a request or response body."""
    content = body.get("content", {}).get("application/json", {})
    shape = _component(schema, content.get("schema", {}))
    required = set(shape.get("required", []))
    fields = []
    for name, prop in shape.get("properties", {}).items():
        prop = _component(schema, prop)
        kind = prop.get("type") or ("object" if "properties" in prop else "")
        if kind == "array":
            item = _component(schema, prop.get("items", {}))
            kind = f"list of {item.get('type', 'object')}"
        fields.append(
            {
                "name": name,
                "type": kind or "value",
                "required": name in required,
                "description": prop.get("description", ""),
                "choices": prop.get("enum", []),
            }
        )
    return fields


def operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """Return one entry per operation of the schema, in path order."""
    found = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {
                            "name": p["name"],
                            "where": p.get("in", ""),
                            "type": p.get("schema", {}).get("type", ""),
                            "description": p.get("description", ""),
                            "choices": p.get("schema", {}).get("enum", []),
                        }
                        for p in op.get("parameters", [])
                    ],
                    "body": _fields(schema, op.get("requestBody", {})),
                    "responses": sorted(op.get("responses", {})),
                }
            )
    return found


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    context = {"operations": operations(schema), "info": schema.get("info", {})}
    return render(request, "api/docs.html", context)


@extend_schema(exclude=True)
class SchemaView(SpectacularAPIView):
    """The OpenAPI schema, for signed-in users and token holders."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
