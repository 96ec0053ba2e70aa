from marketplace.views import catalog, review, vendor

app_name = "marketplace"

urlpatterns = vendor.urlpatterns + review.urlpatterns + catalog.urlpatterns
