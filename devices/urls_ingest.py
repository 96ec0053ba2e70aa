from django.urls import path

from devices import ingest_views

# Included under /api/v1/ (DESIGN §7).
urlpatterns = [
    path("ingest", ingest_views.batch, name="ingest"),
    path("<str:token>/telemetry", ingest_views.thingsboard_telemetry, name="ingest-tb-telemetry"),
    path(
        "<str:token>/attributes", ingest_views.thingsboard_attributes, name="ingest-tb-attributes"
    ),
]
