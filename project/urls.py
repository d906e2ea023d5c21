from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", include("apps.core.urls")),
    path("", include("apps.pages.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("", include("apps.files.urls")),
    # Everyone signs in through Cognito, the admin included (staff come from a group).
    path(
        "admin/login/",
        RedirectView.as_view(pattern_name="accounts:login", query_string=True),
        name="admin-login",
    ),
    path("admin/", admin.site.urls),
]
