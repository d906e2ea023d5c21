"""The file API (no language prefix): JSON for the uploader and for Bearer clients."""

from django.urls import path

from apps.files import views

app_name = "files-api"
urlpatterns = [
    path("files/", views.api_files, name="files"),
    path("files/<uuid:file_id>/complete", views.api_complete, name="complete"),
    path("files/<uuid:file_id>", views.api_delete, name="file"),
]
