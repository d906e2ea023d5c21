from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from apps.accounts import admin as accounts_admin
from apps.accounts import views as accounts_views
from apps.core import views as core_views
from apps.pages.sitemaps import PageSitemap

# Not translated: operations, APIs, auth callbacks (registered with Cognito), the admin.
urlpatterns = [
    path("", include("apps.core.urls")),
    path("accounts/", include("apps.accounts.urls")),
    path("api/", include("apps.files.api_urls")),
    path("i18n/setlang/", core_views.set_language, name="set_language"),
    path(
        "sitemap.xml",
        sitemap,
        {"sitemaps": {"pages": PageSitemap}},
        name="django.contrib.sitemaps.views.sitemap",
    ),
    # Everyone signs in and out through Cognito, the admin included (staff come from a
    # group): these two come before admin.site.urls and stand in for Django's own.
    path("admin/login/", accounts_admin.login, name="admin-login"),
    path("admin/logout/", accounts_views.logout, name="admin-logout"),
    path("admin/", admin.site.urls),
]

# Pages, under /<language>/.
urlpatterns += i18n_patterns(
    path("", include("apps.pages.urls")),
    path("files/", include("apps.files.urls")),
)
