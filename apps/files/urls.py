from django.urls import path

from apps.files import views

app_name = "files"
urlpatterns = [
    path("api/files/", views.api_files, name="api-files"),
    path("api/files/<uuid:file_id>/complete", views.api_complete, name="api-complete"),
    path("api/files/<uuid:file_id>", views.api_delete, name="api-delete"),
    path("files/", views.file_list, name="list"),
    path("files/upload", views.fallback_upload, name="upload"),
    path("files/<uuid:file_id>/download", views.download, name="download"),
    path("files/<uuid:file_id>/thumbnail", views.thumbnail, name="thumbnail"),
    path("files/<uuid:file_id>/delete", views.delete, name="delete"),
]
