from django.urls import path

from apps.sessions.tests import views

urlpatterns = [
    path("read", views.read),
    path("write", views.write),
    path("write-without-reading", views.write_without_reading),
    path("sign-in", views.sign_in),
    path("sign-out", views.sign_out),
    path("whoami", views.whoami),
    path("write-after-logout-elsewhere", views.write_after_logout_elsewhere),
    path("read-or-shrug", views.read_or_shrug),
]
