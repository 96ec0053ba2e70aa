from django.urls import path

from alerts import api, policy_api

app_name = "alerts_api"

urlpatterns = [
    path("alerts/", api.AlertListApi.as_view(), name="alerts"),
    path("alerts/preferences/", api.PreferenceApi.as_view(), name="preferences"),
    path("alerts/<uuid:alert_id>/", api.AlertDetailApi.as_view(), name="alert"),
    path(
        "alerts/<uuid:alert_id>/acknowledge/",
        api.AlertAcknowledgeApi.as_view(),
        name="acknowledge",
    ),
    path("alerts/<uuid:alert_id>/dispatch/", api.AlertDispatchApi.as_view(), name="dispatch"),
    path("alerts/<uuid:alert_id>/resolve/", api.AlertResolveApi.as_view(), name="resolve"),
    path("alerts/<uuid:alert_id>/notes/", api.AlertNoteApi.as_view(), name="notes"),
    path("console/", api.ConsoleApi.as_view(), name="console"),
]
# An authority's escalation policies.
urlpatterns += policy_api.urlpatterns
