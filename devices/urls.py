from devices.views import unit, vendor

app_name = "devices"

# Each side keeps its own routes: vendors' inventory and fulfilment, units' devices.
urlpatterns = vendor.urlpatterns + unit.urlpatterns
