"""``{% alternate_links %}``: rel=canonical and hreflang alternates for the current page."""

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.html import format_html, format_html_join
from django.utils.translation import get_language_from_path

register = template.Library()


def page_urls(request):
    """``(canonical, {language: url, "x-default": url})`` for ``request``'s page."""
    origin = f"{request.scheme}://{settings.CANONICAL_HOST or request.get_host()}"
    prefix = request.META.get("SCRIPT_NAME", "")
    path = request.path_info
    canonical = origin + prefix + path
    if not get_language_from_path(path):
        return canonical, {}
    alternates = {
        code: origin + prefix + translate_url(path, code) for code, _ in settings.LANGUAGES
    }
    alternates["x-default"] = alternates[settings.LANGUAGE_CODE]
    return canonical, alternates


@register.simple_tag(takes_context=True)
def alternate_links(context):
    request = context.get("request")
    if request is None:  # error pages rendered without a request context
        return ""
    canonical, alternates = page_urls(request)
    links = format_html('<link rel="canonical" href="{}">', canonical)
    return links + format_html_join(
        "", '\n  <link rel="alternate" hreflang="{}" href="{}">', alternates.items()
    )
