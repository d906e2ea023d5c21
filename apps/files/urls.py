"""The file locker's pages (under the language prefix)."""

from django.urls import path

from apps.files import views

app_name = "files"
urlpatterns = [
    path("", views.file_list, name="list"),
    path("upload", views.fallback_upload, name="upload"),
    path("<uuid:file_id>/download", views.download, name="download"),
    path("<uuid:file_id>/thumbnail", views.thumbnail, name="thumbnail"),
    path("<uuid:file_id>/delete", views.delete, name="delete"),
]
