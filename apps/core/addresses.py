"""The client's address: the one place that decides it, from what the proxy chain guarantees.

Each target says what stands in front of the app, in settings:

- nothing, or API Gateway (the Lambda handler puts ``requestContext`` ``sourceIp`` in
  REMOTE_ADDR): REMOTE_ADDR, and every forwarding header is the client's own claim;
- ``TRUSTED_PROXY_COUNT`` proxies that each append the address they saw to
  ``X-Forwarded-For`` (nginx's ``$proxy_add_x_forwarded_for``, an ALB; EC2 behind an ALB
  and nginx is 2): the entry that many places from the right. Entries further left were
  written by the client and are ignored;
- ``CLIENT_ADDRESS_HEADER``, a header an edge in front sets itself and overwrites
  (``CloudFront-Viewer-Address``, ``X-Real-IP`` from nginx): that header. Only when nothing
  can reach the app without passing through that edge.

Every limit, and the address stored with a contact message, comes from here.
"""

import ipaddress

from django.conf import settings

# Headers whose value is always "address:port" (an IPv6 address then has no brackets).
WITH_PORT = {"cloudfront-viewer-address"}


def client_address(request):
    """The client's IP address as a normalised string, or None if the chain gives none."""
    meta = request.META
    header = settings.CLIENT_ADDRESS_HEADER
    if header:
        value = meta.get("HTTP_" + header.upper().replace("-", "_"), "")
        if header.lower() in WITH_PORT:
            value = value.rsplit(":", 1)[0]
        found = _address(value)
        if found:
            return found
    hops = settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= hops:
            return _address(forwarded[-hops])
    return _address(meta.get("REMOTE_ADDR", ""))


def _address(value):
    """``value`` as an IP address (plain, ``v4:port`` or ``[v6]:port``), else None."""
    value = value.strip()
    if not value or len(value) > 64:  # an IPv6 address with zone and port fits in 64
        return None
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)
