"""Whether a host or URL can only be this machine: for what must never leave it (the local
AWS stack, whose Cognito signs with a public key). Standard library only, so the settings
modules can use it before Django is set up."""

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host):
    """Whether ``host`` (a name or an address, as a URL spells it) can only be this machine.

    Names are not resolved: ``localhost`` and ``*.localhost`` are loopback by definition
    (RFC 6761); any other name could point anywhere.
    """
    host = (host or "").strip().strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def is_loopback_url(url):
    """Whether ``url`` names a loopback host (a malformed URL does not)."""
    try:
        return is_loopback_host(urlsplit(url).hostname)
    except ValueError:
        return False
