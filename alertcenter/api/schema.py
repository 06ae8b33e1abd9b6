"""Document the error answers every endpoint can give, so that the schema
tells clients (and schemathesis) the whole truth."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

ERROR_BODY = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": "Field name (or item index) to its errors.",
    "additionalProperties": True,
}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _answer(description: str, body: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": body}},
    }


class ApiSchema(AutoSchema):
    """Add 400, 401, 403, 404, 413, 415 and 429 where they can happen."""

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        method = self.method.upper()
        extra = {
            "401": _answer("No valid credentials.", ERROR_BODY),
            "403": _answer("Not allowed.", ERROR_BODY),
            "404": _answer("No such object visible to you.", ERROR_BODY),
        }
        if method in ("POST", "PUT", "PATCH") or self._is_list_view():
            extra["400"] = _answer("Invalid input.", FIELD_ERRORS)
        if method in ("POST", "PUT", "PATCH"):
            extra["413"] = _answer("Body over the size limit.", ERROR_BODY)
            extra["415"] = _answer("Body is not JSON.", ERROR_BODY)
        if method in WRITES:
            extra["429"] = _answer("Too many writes; retry later.", ERROR_BODY)
        for code, answer in extra.items():
            responses.setdefault(code, answer)
        return responses
