"""The client address per proxy chain: what each target's chain guarantees, nothing a client
can write itself (issue 16, finding 2)."""

import pytest
from django.test import RequestFactory

from apps.core.addresses import client_address


def request(remote="", forwarded=None, **headers):
    meta = {"REMOTE_ADDR": remote, **{f"HTTP_{k}": v for k, v in headers.items()}}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


@pytest.fixture
def chain(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    settings.CLIENT_ADDRESS_HEADER = None
    return settings


def test_nothing_in_front_trusts_no_header(chain):
    assert client_address(request("198.51.100.7", forwarded="203.0.113.1")) == "198.51.100.7"
    assert client_address(request("198.51.100.7", X_REAL_IP="203.0.113.1")) == "198.51.100.7"


def test_one_proxy_takes_the_entry_it_appended(chain):
    chain.TRUSTED_PROXY_COUNT = 1
    # nginx on a unix socket: REMOTE_ADDR is empty, X-Forwarded-For ends with what nginx saw.
    assert client_address(request("", forwarded="198.51.100.7")) == "198.51.100.7"
    spoofed = request("", forwarded="203.0.113.1, 10.9.9.9, 198.51.100.7")
    assert client_address(spoofed) == "198.51.100.7"


def test_two_proxies_take_the_second_entry_from_the_right(chain):
    chain.TRUSTED_PROXY_COUNT = 2  # an ALB, then nginx
    forwarded = "203.0.113.1, 198.51.100.7, 10.0.1.5"
    assert client_address(request("", forwarded=forwarded)) == "198.51.100.7"


def test_fewer_entries_than_proxies_falls_back_to_the_peer(chain):
    chain.TRUSTED_PROXY_COUNT = 2
    assert client_address(request("10.0.1.5", forwarded="203.0.113.1")) == "10.0.1.5"
    assert client_address(request("", forwarded="")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("198.51.100.7:46532", "198.51.100.7"),
        ("2001:db8::1:443", "2001:db8::1"),
        ("2001:DB8:0:0::7:8080", "2001:db8::7"),
        ("not-an-address:1", None),
    ],
)
def test_cloudfront_viewer_address_is_address_colon_port(chain, value, expected):
    chain.CLIENT_ADDRESS_HEADER = "CloudFront-Viewer-Address"
    found = client_address(request("130.176.0.1", CLOUDFRONT_VIEWER_ADDRESS=value))
    assert found == (expected or "130.176.0.1")  # an unusable header: the peer


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("::ffff:198.51.100.7", "198.51.100.7"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("198.51.100.7:443", "198.51.100.7"),
        ("999.1.1.1", None),
        ("1.2.3.4\x00", None),
        ("x" * 500, None),
        ("\ud800", None),
    ],
)
def test_addresses_are_normalised_or_refused(chain, value, expected):
    assert client_address(request(value)) == expected
