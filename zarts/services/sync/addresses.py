"""Where a sync may connect: public addresses only, unless SYNC_ALLOW_PRIVATE_ADDRESSES is set.

A sync connector GETs a URL an admin typed, with the client's credential, from inside our
network: pointed at 127.0.0.1, a private range or a cloud metadata address it would read (or
poke) internal services. So an endpoint's host is resolved once, every address it resolves to
must be public, and the connection goes to the address that was checked: a second DNS answer
cannot move it elsewhere (rebinding). Addresses are judged after unwrapping the IPv4 address an
IPv6 one may carry (IPv4-mapped, 6to4, NAT64), so ::ffff:127.0.0.1 is loopback too.
"""
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from .. import DomainError

SETTING = "SYNC_ALLOW_PRIVATE_ADDRESSES"
METADATA = frozenset(map(ipaddress.ip_address, (
    "169.254.169.254", "fd00:ec2::254",  # AWS, GCP, Azure (and their IPv6 form on AWS)
    "100.100.100.200", "192.0.0.192",  # Alibaba Cloud, Oracle Cloud
)))
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are the IPv4 address
LOCAL_NAT64 = ipaddress.ip_network("64:ff9b:1::/48")  # a site's own translator: internal by definition
DEFAULT_PORTS = {"http": 80, "https": 443}


class PrivateAddress(DomainError):
    """The endpoint is, or resolves to, an address a sync may not reach."""


class Unresolvable(Exception):
    """The endpoint's host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    """Where to connect for an endpoint: the checked address, and the host name it stands for."""

    scheme: str
    host: str  # as in the URL: the Host header, SNI and the certificate are checked against it
    port: int
    address: str  # the resolved address that was checked: the only one connected to
    host_header: str


def private_allowed():
    """True when this deployment allows sync endpoints on internal addresses (tests, on-premises)."""
    return bool(current_app.config.get(SETTING, False))


def refusal(address):
    """Why a sync may not connect to `address` (e.g. "loopback"), or None when it is public."""
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip in LOCAL_NAT64:
        return "private"
    if ip.version == 6 and (embedded := _embedded_ipv4(ip)) is not None:
        return refusal(embedded)
    for kind, hit in (("cloud metadata", ip in METADATA), ("unspecified", ip.is_unspecified),
                      ("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                      ("multicast", ip.is_multicast), ("reserved", ip.is_reserved),
                      ("private", ip.is_private), ("not public", not ip.is_global)):
        if hit:
            return kind
    return None


def _embedded_ipv4(ip):
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, well-known NAT64), or None."""
    if ip.ipv4_mapped or ip.sixtofour:
        return ip.ipv4_mapped or ip.sixtofour
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF) if ip in NAT64 else None


def resolve(host, port):
    """Every address `host` resolves to (numeric spellings like 127.1 or 0x7f000001 included)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise Unresolvable(f"the endpoint's host {host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not addresses:
        raise Unresolvable(f"the endpoint's host {host} does not resolve")
    return addresses


def check(endpoint, allow_private=False):
    """The Target to connect to for `endpoint`, after resolving its host once.

    PrivateAddress when any address it resolves to is internal (unless allow_private);
    Unresolvable when it does not resolve.
    """
    parts = urlsplit(endpoint.strip())
    host, port = parts.hostname, parts.port or DEFAULT_PORTS.get(parts.scheme)
    addresses = resolve(host, port)
    if not allow_private:
        for address in addresses:
            if (kind := refusal(address)) is not None:
                shown = host if host == address else f"{host} ({address})"
                raise PrivateAddress(f"the endpoint resolves to a private address: {shown} is {kind}; syncs only "
                                     f"reach public addresses unless {SETTING} is set")
    return Target(parts.scheme, host, port, addresses[0], parts.netloc.rpartition("@")[2])


def endpoint_problem(endpoint):
    """Why an endpoint may not be saved (it resolves to a private address), else None.

    A name that does not resolve now is accepted: every run checks it again before connecting.
    """
    try:
        check(endpoint, private_allowed())
    except PrivateAddress as exc:
        return f"endpoint: {exc}"
    except Unresolvable:
        pass
    return None
