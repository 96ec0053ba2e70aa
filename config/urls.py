from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from accounts import views as account_views
from oversight import views as oversight_views

api_v1 = [
    path("", include("accounts.api_urls")),
    path("", include("units.api_urls")),
    path("", include("marketplace.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("devices.api_urls")),
    path("", include("alerts.api_urls")),
    path("", include("oversight.api_urls")),
]

urlpatterns = [
    # Devices' ingest first: the hottest path resolves in a step (DESIGN §7, §9).
    path("api/v1/", include("devices.urls_ingest")),
    path("", oversight_views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("units.urls")),
    path("", include("marketplace.urls")),
    path("", include("billing.urls")),
    path("", include("devices.urls")),
    path("", include("alerts.urls")),
    path("", include("oversight.urls")),
    # Django's language switcher, which also remembers the choice on the signed-in account.
    path("i18n/setlang/", account_views.language_set, name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
