#!/usr/bin/env python3
"""Reachability probe for the firewall e2e tests: sends one plain DNS query for probe.test. A to
ADDRESS:PORT over udp or tcp and prints what happened, with the elapsed time:
  answered  a DNS reply came back (the plain DNS servers on 853/443 stand in for DoT/DoQ/DoH:
            this is about the firewall letting the port through, not about TLS or QUIC)
  refused   ICMP port unreachable (udp) or a TCP reset: the firewall's reject
  timeout   nothing within the timeout: a drop
Usage: probe.py udp|tcp ADDRESS PORT [TIMEOUT_SECONDS]"""
import socket
import struct
import sys
import time

QUERY = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x05probe\x04test\x00" + struct.pack(">HH", 1, 1)


def probe(proto: str, address: str, port: int, timeout: float) -> str:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as s:
        s.settimeout(timeout)
        try:
            s.connect((address, port))
            if proto == "udp":
                s.send(QUERY)
                reply = s.recv(4096)
            else:
                s.sendall(struct.pack(">H", len(QUERY)) + QUERY)
                reply = s.recv(4096)
        except (ConnectionRefusedError, ConnectionResetError):
            return "refused"
        except socket.timeout:
            return "timeout"
        return "answered" if reply else "refused"


def main() -> None:
    proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 1.0
    start = time.monotonic()
    outcome = probe(proto, address, port, timeout)
    print(f"{outcome} {time.monotonic() - start:.3f}")


if __name__ == "__main__":
    main()
