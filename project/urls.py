from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.pages.urls")),
    path("admin/", admin.site.urls),
]
