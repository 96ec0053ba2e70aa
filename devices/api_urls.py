from devices.api import unit, vendor

urlpatterns = vendor.urlpatterns + unit.urlpatterns
