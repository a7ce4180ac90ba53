"""The outbound target guard: internal addresses are refused unless an operator listed them."""

from __future__ import annotations

import pytest

from analytics.errors import InvalidConfig
from analytics.outbound import OutboundPolicy, is_masked_url, masked_url

STRICT = OutboundPolicy()
EXAMPLE = OutboundPolicy(["127.0.0.1", "10.0.0.0/8", "alertmanager.internal"])


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        pytest.param("127.0.0.1", "loopback", id="loopback"),
        pytest.param("127.8.9.10", "loopback", id="loopback-range"),
        pytest.param("::1", "loopback", id="ipv6-loopback"),
        pytest.param("::ffff:127.0.0.1", "loopback", id="ipv4-mapped-loopback"),
        pytest.param("2002:7f00:1::", "loopback", id="6to4-loopback"),
        pytest.param("10.1.2.3", "private", id="rfc1918-10"),
        pytest.param("172.16.0.1", "private", id="rfc1918-172"),
        pytest.param("192.168.1.1", "private", id="rfc1918-192"),
        pytest.param("fc00::1", "private", id="ipv6-unique-local"),
        pytest.param("169.254.169.254", "link-local", id="cloud-metadata"),
        pytest.param("::ffff:169.254.169.254", "link-local", id="ipv4-mapped-metadata"),
        pytest.param("64:ff9b::a9fe:a9fe", "link-local", id="nat64-metadata"),
        pytest.param("fe80::1", "link-local", id="ipv6-link-local"),
        pytest.param("0.0.0.0", "unspecified", id="unspecified"),
        pytest.param("::", "unspecified", id="ipv6-unspecified"),
        pytest.param("224.0.0.1", "multicast", id="multicast"),
        pytest.param("240.0.0.1", "reserved", id="reserved"),
        pytest.param("100.64.0.1", "not globally routable", id="carrier-grade-nat"),
    ],
)
def test_internal_addresses_are_refused_by_default(host: str, kind: str) -> None:
    with pytest.raises(InvalidConfig, match=f"is a {kind} address") as refused:
        STRICT.check_host(host, 443)
    assert refused.value.status == 422


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("93.184.215.14", id="public-ipv4"),
        pytest.param("2606:4700::1111", id="public-ipv6"),
        pytest.param("[2606:4700::1111]", id="bracketed-ipv6"),
    ],
)
def test_public_addresses_are_allowed(host: str) -> None:
    STRICT.check_host(host, 443)


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        pytest.param("127.0.0.1", True, id="listed-address"),
        pytest.param("127.0.0.2", False, id="next-address-not-listed"),
        pytest.param("10.200.3.4", True, id="inside-listed-range"),
        pytest.param("::ffff:10.0.0.5", True, id="mapped-inside-listed-range"),
        pytest.param("192.168.0.1", False, id="other-private-range"),
        pytest.param("alertmanager.internal", True, id="listed-name-not-resolved"),
        pytest.param("ALERTMANAGER.internal.", True, id="listed-name-any-case-final-dot"),
        pytest.param("169.254.169.254", False, id="metadata-still-refused"),
    ],
)
def test_the_allow_list_admits_only_what_it_lists(host: str, allowed: bool) -> None:
    if allowed:
        EXAMPLE.check_host(host, 80)
    else:
        with pytest.raises(InvalidConfig, match="allowed only when listed"):
            EXAMPLE.check_host(host, 80)


def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    # `localhost` resolves (through /etc/hosts, no network) to loopback addresses only
    with pytest.raises(InvalidConfig, match=r"host 'localhost' resolves to .*, a loopback address"):
        STRICT.check_host("localhost", 80)
    OutboundPolicy(["localhost"]).check_host("localhost", 80)
    OutboundPolicy(["127.0.0.0/8", "::1"]).check_host("localhost", 80)


def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(InvalidConfig, match=r"'no-such-host\.invalid' cannot be resolved"):
        STRICT.check_host("no-such-host.invalid", 80)  # .invalid never resolves (RFC 6761)


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("http://alertmanager.internal", id="url"),
        pytest.param("10.0.0.0/33", id="bad-prefix"),
        pytest.param("host name", id="space"),
    ],
)
def test_a_malformed_allow_entry_is_refused(entry: str) -> None:
    with pytest.raises(InvalidConfig, match="neither a host name, an IP address nor a CIDR range"):
        OutboundPolicy([entry])


def test_check_url_names_the_host_but_never_the_path_or_query() -> None:
    with pytest.raises(InvalidConfig) as refused:
        STRICT.check_url("http://169.254.169.254/latest/meta-data/iam?token=s3cr3t")
    assert "'169.254.169.254' is a link-local address" in refused.value.message
    assert "meta-data" not in refused.value.message and "s3cr3t" not in refused.value.message
    with pytest.raises(InvalidConfig, match=r"URL ftp://files.example.com/… must be http"):
        STRICT.check_url("ftp://files.example.com/drop")
    with pytest.raises(InvalidConfig, match="is a loopback address"):
        STRICT.check_url("http://[::1]:9093/api")
    EXAMPLE.check_url("http://127.0.0.1:9093/api/v2/alerts")


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        pytest.param(
            "https://hooks.example.com/services/T0/B0/XyZ", "https://hooks.example.com/…", id="path"
        ),
        pytest.param("https://hooks.example.com?token=abc#x", "https://hooks.example.com/…", id="query"),
        pytest.param("https://u:pw@hooks.example.com/", "https://hooks.example.com/…", id="user-info"),
        pytest.param("http://127.0.0.1:9093/hook", "http://127.0.0.1:9093/…", id="port"),
        pytest.param("http://[fd00::5]:8080/x", "http://[fd00::5]:8080/…", id="ipv6"),
    ],
)
def test_masked_url_keeps_scheme_host_and_port_only(url: str, masked: str) -> None:
    assert masked_url(url) == masked
    assert is_masked_url(masked) and not is_masked_url(url)
