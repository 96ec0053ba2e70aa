from django.urls import path

from alerts import link_views, ops_views, policy_views, views

app_name = "alerts"

urlpatterns = [
    # The duty desk's console and a member's channels.
    path("console/", views.console, name="console"),
    path("alerts/preferences/", views.preferences, name="preferences"),
    # One alert and its buttons (each also a plain form POST).
    path("alerts/<uuid:public_id>/", views.detail, name="detail"),
    path("alerts/<uuid:public_id>/acknowledge/", views.acknowledge, name="acknowledge"),
    path("alerts/<uuid:public_id>/dispatch/", views.dispatch, name="dispatch"),
    path("alerts/<uuid:public_id>/resolve/", views.resolve, name="resolve"),
    path("alerts/<uuid:public_id>/notes/", views.note, name="note"),
    # A unit's alert history, linked from the unit's page.
    path("units/<uuid:public_id>/alerts/", views.unit_history, name="unit_history"),
]
# The signed single-use link in messages (/a/<token>/), the staff's undelivered list and an
# authority's escalation policies.
urlpatterns += link_views.urlpatterns + ops_views.urlpatterns + policy_views.urlpatterns
