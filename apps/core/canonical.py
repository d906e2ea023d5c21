"""The canonical URL of a request: scheme, host, language prefix and trailing slash at once.

Django's SecurityMiddleware (https), CommonMiddleware (slash) and LocaleMiddleware
(language) each redirect on their own, so a request can take three hops. This computes
the final URL in one step; ``CanonicalURLMiddleware`` answers with at most one redirect.
"""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, get_resolver, get_script_prefix, translate_url
from django.utils import translation
from django.utils.encoding import escape_uri_path, iri_to_uri


def effective_host(request):
    """The host the visitor asked for, checked before it goes anywhere near a redirect.

    Behind CloudFront the origin sees its own host; the distribution can send the viewer's
    host in a custom header (CANONICAL_HOST_HEADER), and a trusted proxy in
    X-Forwarded-Host (Django's USE_X_FORWARDED_HOST). A malformed host, or one that
    ALLOWED_HOSTS does not allow when there is no CANONICAL_HOST to send it to, raises
    DisallowedHost: Django answers 400, and no Location ever names it.
    """
    raw = _raw_host(request)
    domain, port = split_domain_port(raw)
    if not domain:
        raise DisallowedHost(f"Invalid host header {raw[:100]!r}.")
    if not settings.CANONICAL_HOST and not validate_host(domain, allowed_hosts()):
        raise DisallowedHost(f"Host {raw[:100]!r} is not in ALLOWED_HOSTS.")
    return f"{domain}:{port}" if port else domain  # lower case, no trailing dot


def allowed_hosts():
    """ALLOWED_HOSTS as Django's request.get_host() applies it (DEBUG allows loopback)."""
    if settings.DEBUG and not settings.ALLOWED_HOSTS:
        return [".localhost", "127.0.0.1", "[::1]"]
    return settings.ALLOWED_HOSTS


def _raw_host(request):
    meta = request.META
    if settings.CANONICAL_HOST_HEADER:
        key = "HTTP_" + settings.CANONICAL_HOST_HEADER.upper().replace("-", "_")
        if meta.get(key):
            return meta[key].strip()
    # As Django's get_host(): the whole header, so a list (a proxy that appends) is refused.
    if settings.USE_X_FORWARDED_HOST and meta.get("HTTP_X_FORWARDED_HOST"):
        return meta["HTTP_X_FORWARDED_HOST"].strip()
    if meta.get("HTTP_HOST"):
        return meta["HTTP_HOST"].strip()
    # HTTP/1.0 without Host: the server's own name, which the server's configuration sets.
    name, port = meta.get("SERVER_NAME", ""), str(meta.get("SERVER_PORT", ""))
    default_port = "443" if request.is_secure() else "80"
    return name if not port or port == default_port else f"{name}:{port}"


def _resolves(request, path, language):
    # Language prefixes (and translated paths) only match with their language active.
    with translation.override(language):
        try:
            get_resolver(getattr(request, "urlconf", None)).resolve(path)
        except Resolver404:
            return False
    return True


def canonical_path(request):
    """``(path, by_language)``: the path to redirect to, or None if this one is canonical.

    An unprefixed page path (``/about/``) may be any language's slug; it goes to the
    visitor's language version of that page (``/de/ueber-uns/``).
    """
    path = request.path_info
    language = translation.get_language_from_request(request)
    in_path = translation.get_language_from_path(path)
    if request.method not in ("GET", "HEAD") or _resolves(request, path, in_path or language):
        return None, False
    if not in_path:
        others = [code for code, _ in settings.LANGUAGES if code != language]
        slug_languages = [language, *others]
        for slug_language in slug_languages:
            for candidate in _with_slash(f"/{slug_language}{path}"):
                if _resolves(request, candidate, slug_language):
                    with translation.override(slug_language):
                        return _inside_script(translate_url(candidate, language)), True
    for candidate in _with_slash(path)[1:]:
        if _resolves(request, candidate, in_path or language):
            return escape_uri_path(candidate), False
    return None, False


def _inside_script(path):
    """``path`` as reversed (under the script prefix: API Gateway's ``/dev/``) relative to
    it, like ``path_info``: the redirect adds SCRIPT_NAME once itself."""
    prefix = get_script_prefix()
    return "/" + path[len(prefix) :] if path.startswith(prefix) else path


def language_of(url):
    """The language a URL of this site is written in (``/fr/...``, under the script prefix
    or not), or None for a path no language prefixes."""
    return translation.get_language_from_path(_inside_script(urlsplit(url).path)) or None


def _with_slash(path):
    """``path`` itself, then with a trailing slash (CommonMiddleware's APPEND_SLASH)."""
    return [path] if path.endswith("/") else [path, path + "/"]


def _exempt(path):
    path = path.lstrip("/")
    return any(re.search(pattern, path) for pattern in settings.SECURE_REDIRECT_EXEMPT)


def canonical_redirect(request):
    """``(url, permanent, by_language)`` if the request is not at its canonical URL."""
    secure = request.is_secure()
    wants_https = settings.SECURE_SSL_REDIRECT and not _exempt(request.path_info)
    host = effective_host(request)
    canonical_host = (settings.CANONICAL_HOST or "").lower()
    wrong_host = bool(canonical_host) and host != canonical_host
    path, by_language = canonical_path(request)
    if not ((wants_https and not secure) or wrong_host or path):
        return None
    scheme = "https" if (secure or wants_https) else "http"
    url = f"{scheme}://{canonical_host or host}{request.META.get('SCRIPT_NAME', '')}"
    # Quoted: a decoded CR/LF or space in the path must not reach the Location header.
    url += path or escape_uri_path(request.path_info)
    if request.META.get("QUERY_STRING"):
        url += "?" + iri_to_uri(request.META["QUERY_STRING"])
    # Language redirects depend on the visitor (cookie, header): never cache them as permanent.
    return url, not by_language, by_language


def language_for(request):
    """The URL's language for prefixed pages, else the visitor's (Django's negotiation: the
    language cookie, then Accept-Language with q-values and ``*``, then LANGUAGE_CODE)."""
    return translation.get_language_from_path(
        request.path_info
    ) or translation.get_language_from_request(request)
