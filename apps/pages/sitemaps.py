from django.contrib.sitemaps import Sitemap
from django.urls import reverse


class PageSitemap(Sitemap):
    """Every public page in every language, with hreflang alternates and x-default."""

    i18n = True
    alternates = True
    x_default = True
    changefreq = "monthly"

    def items(self):
        return ["pages:home", "pages:how-it-works", "pages:about", "pages:contact"]

    def location(self, item):
        return reverse(item)
