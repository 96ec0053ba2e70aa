from django.urls import path

from oversight import api, dashboard_api

app_name = "oversight_api"

urlpatterns = [
    path("programmes/", api.ProgrammeListApi.as_view(), name="programmes"),
    path("programmes/<uuid:programme_id>/", api.ProgrammeDetailApi.as_view(), name="programme"),
    path(
        "programmes/<uuid:programme_id>/progress/",
        api.ProgrammeProgressApi.as_view(),
        name="progress",
    ),
    path(
        "programmes/<uuid:programme_id>/uncovered/",
        api.ProgrammeUncoveredApi.as_view(),
        name="uncovered",
    ),
]

# The jurisdiction dashboards (/api/v1/oversight/regions/…).
urlpatterns += dashboard_api.urlpatterns
