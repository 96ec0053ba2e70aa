"""The escalation policies API: the policies of my authorities and the platform's defaults;
an authority's owners and managers create, change and delete their own.

Policies are looked up through alerts.selectors, so another authority's policy answers 404.
Writes call one alerts.services.policies function: a member who is not an owner or manager,
or a write to a platform default, gets 403; a bad step 400 keyed by `steps`, a second policy
for the same scenario and unit kind 400 keyed by `scenario`. Errors are answered by
accounts.exceptions.
"""

from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from accounts.api import FORBIDDEN, NOT_FOUND, write_responses
from alerts import selectors
from alerts.models import EscalationPolicy
from alerts.serializers import (
    PolicyCreateInputSerializer,
    PolicySerializer,
    PolicyUpdateInputSerializer,
)
from alerts.services import policies
from units.models import Authority

HOW_CHOSEN = gettext_lazy(
    "An alert follows the most specific policy: an authority's over the unit's region before "
    "the platform's default (a smaller region's before a larger one's), then one for both the "
    "scenario and the unit kind, then the scenario, then the unit kind, then any. Minor alerts "
    "(battery, fault, offline, test) reach only the unit's side at step 0, whatever the policy."
)


class _Policies(GenericAPIView):
    serializer_class = PolicySerializer
    pagination_class = None

    def respond(self, policy: EscalationPolicy, *, status_code=status.HTTP_200_OK) -> Response:
        """The policy as read back through the selector (its steps as saved)."""
        policy = selectors.policy_visible_get_for(
            user=self.request.user, public_id=policy.public_id
        )
        data = PolicySerializer(policy, context=self.serializer_context()).data
        return Response(data, status=status_code)

    def serializer_context(self) -> dict:
        managed = selectors.policy_authority_list_for(user=self.request.user, manage=True)
        return {"request": self.request, "managed": set(managed.values_list("pk", flat=True))}

    def get_policy(self, policy_id) -> EscalationPolicy:
        """Any policy the asker can see (theirs and the defaults): writing one is the
        service's to allow (a default, or a viewer's write, is 403)."""
        return selectors.policy_visible_get_for(user=self.request.user, public_id=policy_id)


class PolicyListApi(_Policies):
    @extend_schema(
        operation_id="alert_policies_list",
        summary=gettext_lazy("My authorities' escalation policies, then the platform's defaults"),
        description=HOW_CHOSEN,
        responses={200: PolicySerializer(many=True)},
    )
    def get(self, request):
        policies_seen = selectors.policy_list_for(user=request.user)
        context = self.serializer_context()
        return Response(PolicySerializer(policies_seen, many=True, context=context).data)

    @extend_schema(
        operation_id="alert_policies_create",
        summary=gettext_lazy("Create a policy for my authority's region (owners and managers)"),
        description=HOW_CHOSEN,
        request=PolicyCreateInputSerializer,
        responses=write_responses({201: PolicySerializer}),
    )
    def post(self, request):
        serializer = PolicyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        policy = policies.policy_create(
            authority=self._authority(data.get("authority")),
            by=request.user,
            name=data["name"],
            scenario=data["scenario"],
            unit_kind=data["unit_kind"],
            steps=data["steps"],
        )
        return self.respond(policy, status_code=status.HTTP_201_CREATED)

    def _authority(self, organisation_id) -> Authority:
        """The authority named (one of mine, else 404), or my only one."""
        authorities = list(selectors.policy_authority_list_for(user=self.request.user))
        if organisation_id is not None:
            for authority in authorities:
                if authority.organisation.public_id == organisation_id:
                    return authority
            raise Http404("Not one of your authorities")
        if not authorities:
            raise Http404("Not a member of any authority")
        if len(authorities) > 1:
            raise ValidationError(
                {"authority": _("You belong to several authorities: say which one this is for.")}
            )
        return authorities[0]


class PolicyDetailApi(_Policies):
    @extend_schema(
        operation_id="alert_policies_retrieve",
        summary=gettext_lazy("One escalation policy and its steps"),
        responses={200: PolicySerializer, 404: NOT_FOUND},
    )
    def get(self, request, policy_id):
        return self.respond(self.get_policy(policy_id))

    @extend_schema(
        operation_id="alert_policies_update",
        summary=gettext_lazy("Rename a policy and replace its steps (owners and managers)"),
        description=gettext_lazy(
            "What it covers (scenario, unit kind) stays: for other alerts, create another."
        ),
        request=PolicyUpdateInputSerializer,
        responses=write_responses({200: PolicySerializer}),
    )
    def put(self, request, policy_id):
        policy = self.get_policy(policy_id)
        serializer = PolicyUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        policy = policies.policy_update(
            policy=policy, by=request.user, name=data["name"], steps=data["steps"]
        )
        return self.respond(policy)

    @extend_schema(
        operation_id="alert_policies_destroy",
        summary=gettext_lazy("Delete a policy (owners and managers)"),
        description=gettext_lazy("Its alerts follow the next most specific policy."),
        responses={
            204: OpenApiResponse(description=gettext_lazy("Deleted.")),
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    def delete(self, request, policy_id):
        policies.policy_delete(policy=self.get_policy(policy_id), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    path("alerts/policies/", PolicyListApi.as_view(), name="policies"),
    path("alerts/policies/<uuid:policy_id>/", PolicyDetailApi.as_view(), name="policy"),
]
