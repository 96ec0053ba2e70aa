from django.urls import path

from units import views

app_name = "units"

urlpatterns = [
    path("units/", views.unit_list, name="list"),
    path("units/new/", views.unit_create, name="create"),
    path("units/<uuid:public_id>/", views.unit_detail, name="detail"),
    path("units/<uuid:public_id>/edit/", views.unit_edit, name="edit"),
    path("units/<uuid:public_id>/contacts/new/", views.contact_create, name="contact_create"),
    path(
        "units/<uuid:public_id>/contacts/<int:contact_id>/edit/",
        views.contact_edit,
        name="contact_edit",
    ),
    path(
        "units/<uuid:public_id>/contacts/<int:contact_id>/delete/",
        views.contact_delete,
        name="contact_delete",
    ),
    path(
        "units/<uuid:public_id>/contacts/<int:contact_id>/move/",
        views.contact_move,
        name="contact_move",
    ),
    path("regions/", views.region_home, name="regions"),
    path("regions/<str:code>/", views.region_detail, name="region"),
    path("responders/", views.responder_list, name="responders"),
    path("responders/<uuid:public_id>/roster/", views.roster, name="roster"),
    path("responders/<uuid:public_id>/roster/new/", views.shift_create, name="shift_create"),
    path(
        "responders/<uuid:public_id>/roster/<int:shift_id>/edit/",
        views.shift_edit,
        name="shift_edit",
    ),
    path(
        "responders/<uuid:public_id>/roster/<int:shift_id>/delete/",
        views.shift_delete,
        name="shift_delete",
    ),
]
