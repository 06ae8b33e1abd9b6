"""The REST API, version 1. Every object comes through a `visible_to(user)`
queryset: what another owner owns answers 404."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alertcenter.api import serializers as s
from alertcenter.api.auth import BearerTokenAuthentication
from alertcenter.api.intake import store_failures
from alertcenter.api.schema import ApiSchema
from alertcenter.api.throttling import WriteRateThrottle
from alerts.filters import AlertFilterSet
from alerts.models import Alert, SyncPrompt
from mailboxes.models import Mailbox
from serverprofiles.models import ServerProfile

ERRORS = OpenApiResponse(
    response=OpenApiTypes.OBJECT,
    description="Field errors; for a batch, keyed by the index of each bad item.",
)


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "payload_too_large"


class ApiMixin:
    """What every endpoint shares: auth, JSON only, throttled writes."""

    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    throttle_classes = [WriteRateThrottle]
    schema = ApiSchema()

    def handle_exception(self, exc: Exception) -> Response:
        # Reading a body over DATA_UPLOAD_MAX_MEMORY_SIZE raises this Django
        # error, which DRF would let through as a 500.
        if isinstance(exc, RequestDataTooBig):
            exc = PayloadTooLarge()
        return super().handle_exception(exc)  # type: ignore[misc]


class NewestFirst(CursorPagination):
    # The id never changes, unlike last_seen: pages neither skip nor repeat.
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


def _as_batch(data: Any) -> tuple[list[Any], bool]:
    """Return the items of a body and whether it was a batch."""
    if isinstance(data, list):
        return data, True
    if isinstance(data, dict) and "failures" in data:
        return data["failures"], True
    if isinstance(data, dict):
        return [data], False
    raise ValidationError(
        {"non_field_errors": ["Send a failure object, a list, or {'failures': [...]}"]}
    )


class FailuresView(ApiMixin, APIView):
    @extend_schema(
        operation_id="failures_create",
        summary="Report failures",
        description=(
            'One failure, a JSON list of them, or {"failures": [...]} with up '
            "to 1,000. All are validated first; none is stored unless all are "
            "valid. Stored failures are processed in the background."
        ),
        request=s.FailureBatchSerializer,
        responses={202: s.FailuresAcceptedSerializer, 400: ERRORS},
    )
    def post(self, request: Request) -> Response:
        items, is_batch = _as_batch(request.data)
        batch = s.FailureBatchSerializer(
            data={"failures": items},
            context={"lookups": s.FailureLookups(request.user, _listed(items))},
        )
        if not batch.is_valid():
            errors = batch.errors if is_batch else _single_errors(batch.errors)
            return Response(errors, status=status.HTTP_400_BAD_REQUEST)

        stored = store_failures(batch.validated_data["failures"], request.user)
        body = s.FailuresAcceptedSerializer(stored).data
        return Response(body, status=status.HTTP_202_ACCEPTED)


def _listed(items: Any) -> list[Any]:
    return items if isinstance(items, list) else []


def _single_errors(errors: Any) -> Any:
    """Unwrap the errors of a lone failure from the batch form."""
    by_index = errors.get("failures")
    if isinstance(by_index, dict) and set(by_index) == {0}:
        return by_index[0]
    return errors


class SyncPromptsView(ApiMixin, generics.ListCreateAPIView[SyncPrompt]):
    queryset = SyncPrompt.objects.none()
    serializer_class = s.SyncPromptSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[SyncPrompt]:
        mailboxes = Mailbox.objects.visible_to(self.request.user)
        prompts = SyncPrompt.objects.filter(alert__mailbox__in=mailboxes)
        prompts = prompts.select_related("alert__mailbox", "decided_by")
        decided = self.request.query_params.get("decided")
        if decided is not None:
            if decided not in ("true", "false"):
                raise ValidationError({"decided": ["Use true or false."]})
            prompts = prompts.filter(decided_at__isnull=decided == "false")
        return prompts

    @extend_schema(
        summary="List sync prompts",
        description="With decided=true: the decisions for the engine to apply.",
        parameters=[OpenApiParameter("decided", OpenApiTypes.BOOL)],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Ask the owner of a mailbox to decide",
        request=s.SyncPromptCreateSerializer,
        responses={201: s.SyncPromptSerializer, 400: ERRORS},
    )
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from alerts.funnel import open_sync_prompt

        incoming = s.SyncPromptCreateSerializer(
            data=request.data, context={"request": request}
        )
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        prompt = open_sync_prompt(
            data["mailbox"],
            data["kind"],
            data["item"],
            data["choices"],
            data["external_id"],
            request.user,
        )
        body = s.SyncPromptSerializer(prompt).data
        return Response(body, status=status.HTTP_201_CREATED)


def visible_alerts(request: Request) -> QuerySet[Alert]:
    alerts = Alert.objects.visible_to(request.user)
    return alerts.select_related("prompt__decided_by", "prompt__alert__mailbox")


def filtered_alerts(request: Request) -> QuerySet[Alert]:
    """Return the visible alerts that match the wall's filters in the query."""
    filters = AlertFilterSet(
        request.query_params, queryset=visible_alerts(request), request=request
    )
    if not filters.is_valid():
        raise ValidationError(filters.errors)
    return filters.qs


class AlertListView(ApiMixin, generics.ListAPIView[Alert]):
    queryset = Alert.objects.none()
    serializer_class = s.AlertSerializer
    pagination_class = NewestFirst
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertFilterSet

    def get_queryset(self) -> QuerySet[Alert]:
        return visible_alerts(self.request)

    @extend_schema(summary="List alerts, with the filters of the wall")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AlertDetailView(ApiMixin, generics.RetrieveDestroyAPIView[Alert]):
    queryset = Alert.objects.none()
    serializer_class = s.AlertSerializer

    def get_queryset(self) -> QuerySet[Alert]:
        return visible_alerts(self.request)

    def perform_destroy(self, instance: Alert) -> None:
        from alerts.funnel import delete_alert

        delete_alert(instance, self.request.user)


class AlertDeleteAllView(ApiMixin, APIView):
    @extend_schema(
        operation_id="alerts_delete_all",
        summary="Delete every alert that matches the filters",
        description="Takes the filters of GET /api/v1/alerts in the query.",
        request=s.DeleteAllSerializer,
        responses={200: s.DeletedSerializer, 400: ERRORS},
    )
    def post(self, request: Request) -> Response:
        from alerts.funnel import delete_alerts

        s.DeleteAllSerializer(data=request.data).is_valid(raise_exception=True)
        deleted = delete_alerts(filtered_alerts(request), request.user)
        return Response({"deleted": deleted})


def visible_mailboxes(request: Request) -> QuerySet[Mailbox]:
    mailboxes = Mailbox.objects.visible_to(request.user)
    return mailboxes.select_related("owner", "profile")


def visible_profiles(request: Request) -> QuerySet[ServerProfile]:
    return ServerProfile.objects.visible_to(request.user).select_related("owner")


class MailboxListView(ApiMixin, generics.ListAPIView[Mailbox]):
    queryset = Mailbox.objects.none()
    serializer_class = s.MailboxSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[Mailbox]:
        return visible_mailboxes(self.request)


class MailboxDetailView(ApiMixin, generics.RetrieveAPIView[Mailbox]):
    queryset = Mailbox.objects.none()
    serializer_class = s.MailboxSerializer

    def get_queryset(self) -> QuerySet[Mailbox]:
        return visible_mailboxes(self.request)


class ProfileListView(ApiMixin, generics.ListAPIView[ServerProfile]):
    queryset = ServerProfile.objects.none()
    serializer_class = s.ProfileSerializer
    pagination_class = NewestFirst

    def get_queryset(self) -> QuerySet[ServerProfile]:
        return visible_profiles(self.request)


class ProfileDetailView(ApiMixin, generics.RetrieveAPIView[ServerProfile]):
    queryset = ServerProfile.objects.none()
    serializer_class = s.ProfileSerializer

    def get_queryset(self) -> QuerySet[ServerProfile]:
        return visible_profiles(self.request)


class TestAndEnableView(ApiMixin, APIView):
    @extend_schema(
        operation_id="mailboxes_test_and_enable",
        summary="Run Test & Enable on a mailbox",
        description="Connects in the background; success resumes processing.",
        request=None,
        responses={
            202: s.TestQueuedSerializer,
            404: OpenApiResponse(description="No such mailbox visible to you."),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        from mailboxes.processing import request_test_and_enable

        mailbox = get_object_or_404(Mailbox.objects.managed_by(request.user), pk=pk)
        request_test_and_enable(mailbox, request.user)
        return Response(
            {"queued": True, "mailbox": mailbox.pk}, status=status.HTTP_202_ACCEPTED
        )


@csrf_exempt
def not_found(request: HttpRequest) -> JsonResponse:
    """Answer a path the API does not have."""
    return JsonResponse({"detail": "Not found."}, status=status.HTTP_404_NOT_FOUND)
