"""``{% site_navigation as links %}``: the navigation the installed apps declare
(apps.core.navigation), for the page being rendered."""

from django import template

from apps.core import navigation

register = template.Library()


@register.simple_tag(takes_context=True)
def site_navigation(context):
    # Error pages may render without a request or a user: then only the public entries.
    return navigation.links(context.get("request"), context.get("user"))
