from django.urls import path

from accounts import api

app_name = "accounts_api"

urlpatterns = [
    path("me/", api.MeApi.as_view(), name="me"),
    path("organisations/", api.OrganisationListApi.as_view(), name="organisations"),
    path(
        "organisations/<uuid:organisation_id>/members/",
        api.MemberListApi.as_view(),
        name="members",
    ),
    path(
        "organisations/<uuid:organisation_id>/members/<int:member_id>/",
        api.MemberDetailApi.as_view(),
        name="member",
    ),
    path(
        "organisations/<uuid:organisation_id>/invitations/",
        api.InvitationListApi.as_view(),
        name="invitations",
    ),
    path(
        "organisations/<uuid:organisation_id>/invitations/<uuid:invitation_id>/",
        api.InvitationDetailApi.as_view(),
        name="invitation",
    ),
    path("tokens/", api.ApiTokenListApi.as_view(), name="tokens"),
    path("tokens/<int:token_id>/", api.ApiTokenDetailApi.as_view(), name="token"),
]
