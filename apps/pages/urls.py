from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from apps.pages import views

app_name = "pages"
urlpatterns = [
    path("", TemplateView.as_view(template_name="pages/home.html"), name="home"),
    path(_("about/"), TemplateView.as_view(template_name="pages/about.html"), name="about"),
    path(
        _("how-it-works/"),
        TemplateView.as_view(template_name="pages/how_it_works.html"),
        name="how-it-works",
    ),
    path(_("contact/"), views.contact, name="contact"),
    path(_("contact/thanks/"), views.contact_thanks, name="contact-thanks"),
]
