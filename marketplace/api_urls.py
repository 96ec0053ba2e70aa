from marketplace.api import catalog, review, vendor

urlpatterns = vendor.urlpatterns + review.urlpatterns + catalog.urlpatterns
