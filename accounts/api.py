"""The accounts API: my account, my organisations, their members and invitations, my API
tokens.

Views parse input with a serializer, then call one service (writes) or selectors (reads).
They catch nothing: accounts.exceptions.api_exception_handler turns a service's
ValidationError into 400 (keyed by field), PermissionDenied into 403 and Http404 into 404.
"""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from accounts import selectors, services
from accounts.serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    MemberRoleSerializer,
    MemberSerializer,
    MeSerializer,
    MyOrganisationSerializer,
)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Tells the schema (and Swagger UI's "Authorize" button) about personal API tokens."""

    target_class = "accounts.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": str(_("A personal API token: `Authorization: Bearer su_…`.")),
        }


class PagePagination(PageNumberPagination):
    """Page numbers for lists that people page through in a known order (names, times)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


# Documented answers shared by the endpoints. 404 means "missing" and "not yours" alike.
NOT_FOUND = OpenApiResponse(description=_("Not found, or not visible to you."))
FORBIDDEN = OpenApiResponse(description=_("Your role does not allow this change."))
BAD_INPUT = OpenApiResponse(description=_("Bad input: errors keyed by the field they concern."))


def write_responses(success: dict) -> dict:
    return {**success, 400: BAD_INPUT, 403: FORBIDDEN, 404: NOT_FOUND}


class MeApi(GenericAPIView):
    serializer_class = MeSerializer

    @extend_schema(operation_id="me_retrieve", summary=_("My account"))
    def get(self, request):
        return Response(MeSerializer(request.user).data)

    @extend_schema(
        operation_id="me_update",
        summary=_(
            "Change my name, mobile phone (for alert SMS) or language (of my e-mails and SMS)"
        ),
        responses={200: MeSerializer, 400: BAD_INPUT},
    )
    def patch(self, request):
        serializer = MeSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = request.user
        changes = {"full_name": user.full_name, "phone": user.phone, "language": user.language}
        user = services.user_profile_update(user=user, **{**changes, **serializer.validated_data})
        return Response(MeSerializer(user).data)


class OrganisationListApi(GenericAPIView):
    serializer_class = MyOrganisationSerializer
    pagination_class = None

    @extend_schema(
        operation_id="organisations_list",
        summary=_("My organisations and my role in each"),
        responses=MyOrganisationSerializer(many=True),
    )
    def get(self, request):
        memberships = selectors.membership_list_for(user=request.user)
        return Response(MyOrganisationSerializer(memberships, many=True).data)


class _InOrganisation(GenericAPIView):
    # Every object endpoint below an organisation starts from my membership in it (404 if
    # I have none), so outsiders learn nothing about its members or invitations.

    def my_membership(self, organisation_id):
        return selectors.organisation_membership_get(
            user=self.request.user, organisation_public_id=organisation_id
        )


class MemberListApi(_InOrganisation):
    serializer_class = MemberSerializer
    pagination_class = PagePagination

    @extend_schema(
        operation_id="organisations_members_list",
        summary=_("Members of an organisation"),
        responses={200: MemberSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, organisation_id):
        organisation = self.my_membership(organisation_id).organisation
        page = self.paginate_queryset(selectors.member_list(organisation=organisation))
        return self.get_paginated_response(MemberSerializer(page, many=True).data)


class MemberDetailApi(_InOrganisation):
    serializer_class = MemberSerializer

    def get_member(self, organisation_id, member_id):
        organisation = self.my_membership(organisation_id).organisation
        return selectors.member_get(organisation=organisation, membership_id=member_id)

    @extend_schema(
        operation_id="organisations_members_partial_update",
        summary=_("Change a member's role (owners and managers)"),
        request=MemberRoleSerializer,
        responses=write_responses({200: MemberSerializer}),
    )
    def patch(self, request, organisation_id, member_id):
        member = self.get_member(organisation_id, member_id)
        serializer = MemberRoleSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        role = serializer.validated_data.get("role", member.role)
        member = services.membership_change_role(membership=member, role=role, by=request.user)
        return Response(MemberSerializer(member).data)

    @extend_schema(
        operation_id="organisations_members_destroy",
        summary=_("Remove a member (owners and managers), or leave"),
        responses=write_responses({204: None}),
    )
    def delete(self, request, organisation_id, member_id):
        member = self.get_member(organisation_id, member_id)
        services.membership_remove(membership=member, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationListApi(_InOrganisation):
    serializer_class = InvitationSerializer
    pagination_class = PagePagination

    @extend_schema(
        operation_id="organisations_invitations_list",
        summary=_("Pending invitations"),
        responses={200: InvitationSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, organisation_id):
        organisation = self.my_membership(organisation_id).organisation
        invitations = selectors.invitation_pending_list(organisation=organisation)
        page = self.paginate_queryset(invitations.order_by("-created_at", "-pk"))
        return self.get_paginated_response(InvitationSerializer(page, many=True).data)

    @extend_schema(
        operation_id="organisations_invitations_create",
        summary=_("Invite someone by e-mail (owners and managers)"),
        request=InvitationCreateSerializer,
        responses=write_responses({201: InvitationSerializer}),
    )
    def post(self, request, organisation_id):
        organisation = self.my_membership(organisation_id).organisation
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = services.invitation_create(
            organisation=organisation,
            by=request.user,
            language=get_language(),
            **serializer.validated_data,
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationDetailApi(_InOrganisation):
    serializer_class = InvitationSerializer

    @extend_schema(
        operation_id="organisations_invitations_destroy",
        summary=_("Revoke an invitation (owners and managers)"),
        responses=write_responses({204: None}),
    )
    def delete(self, request, organisation_id, invitation_id):
        organisation = self.my_membership(organisation_id).organisation
        invitation = selectors.invitation_get(organisation=organisation, public_id=invitation_id)
        services.invitation_revoke(invitation=invitation, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApiTokenListApi(GenericAPIView):
    serializer_class = ApiTokenSerializer
    pagination_class = None

    @extend_schema(
        operation_id="tokens_list",
        summary=_("My API tokens (never their secrets)"),
        responses=ApiTokenSerializer(many=True),
    )
    def get(self, request):
        tokens = selectors.api_token_list_for(user=request.user)
        return Response(ApiTokenSerializer(tokens, many=True).data)

    @extend_schema(
        operation_id="tokens_create",
        summary=_("Create an API token; its secret is in this answer only"),
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, 400: BAD_INPUT},
    )
    def post(self, request):
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = services.api_token_create(
            user=request.user, name=serializer.validated_data["name"]
        )
        token.secret = secret
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)


class ApiTokenDetailApi(GenericAPIView):
    serializer_class = ApiTokenSerializer

    @extend_schema(
        operation_id="tokens_destroy",
        summary=_("Revoke one of my API tokens"),
        responses={204: None, 404: NOT_FOUND},
    )
    def delete(self, request, token_id):
        token = selectors.api_token_get_for(user=request.user, token_id=token_id)
        services.api_token_revoke(token=token, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
