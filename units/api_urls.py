from django.urls import path

from units import api

app_name = "units_api"

urlpatterns = [
    path("units/", api.UnitListApi.as_view(), name="units"),
    path("units/<uuid:unit_id>/", api.UnitDetailApi.as_view(), name="unit"),
    path("units/<uuid:unit_id>/contacts/", api.ContactListApi.as_view(), name="contacts"),
    path(
        "units/<uuid:unit_id>/contacts/<int:contact_id>/",
        api.ContactDetailApi.as_view(),
        name="contact",
    ),
    path(
        "units/<uuid:unit_id>/contacts/<int:contact_id>/move/",
        api.ContactMoveApi.as_view(),
        name="contact_move",
    ),
    path("responders/", api.ResponderListApi.as_view(), name="responders"),
    path("responders/<uuid:responder_id>/", api.ResponderDetailApi.as_view(), name="responder"),
    path("responders/<uuid:responder_id>/shifts/", api.ShiftListApi.as_view(), name="shifts"),
    path(
        "responders/<uuid:responder_id>/shifts/<int:shift_id>/",
        api.ShiftDetailApi.as_view(),
        name="shift",
    ),
]
