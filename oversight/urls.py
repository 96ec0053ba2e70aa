"""Oversight pages: coverage programmes and the reviewer's home (this file); the jurisdiction
dashboards add theirs from oversight.dashboard_views."""

from django.urls import path

from oversight import dashboard_views, views

app_name = "oversight"

urlpatterns = [
    path("oversight/", views.reviewer_home, name="reviewer_home"),
    path("programmes/", views.programme_list, name="programmes"),
    path("programmes/<uuid:public_id>/", views.programme_detail, name="programme"),
    path("programmes/<uuid:public_id>/edit/", views.programme_edit, name="programme_edit"),
    path("programmes/<uuid:public_id>/delete/", views.programme_delete, name="programme_delete"),
    path(
        "programmes/<uuid:public_id>/uncovered.csv",
        views.programme_uncovered_csv,
        name="programme_uncovered_csv",
    ),
]

# The jurisdiction dashboards (/oversight/regions/…).
urlpatterns += dashboard_views.urlpatterns
