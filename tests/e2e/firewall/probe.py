#!/usr/bin/env python3
"""Reachability probe for the firewall e2e tests: sends one plain DNS query for probe.test. A to
ADDRESS:PORT over udp or tcp and prints what happened, with the elapsed time:
  answered  a DNS reply came back (the plain DNS servers on 853/443 stand in for DoT/DoQ/DoH:
            this is about the firewall letting the port through, not about TLS or QUIC)
  refused   ICMP port unreachable (udp) or a TCP reset: the firewall's reject
  timeout   nothing within the timeout: a drop
Usage: probe.py udp|tcp ADDRESS PORT [TIMEOUT_SECONDS]
       probe.py --batch TIMEOUT_SECONDS udp|tcp ADDRESS PORT [udp|tcp ADDRESS PORT ...]
The batch form probes every target at once (one line each, in order): one interpreter start and at
most one timeout for the lot, however busy the machine. Each probe ends at its event (a reply, an
ICMP error, a reset); the timeout only bounds the wait for an event that never comes."""
import concurrent.futures
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


def timed(proto: str, address: str, port: int, timeout: float) -> str:
    start = time.monotonic()
    outcome = probe(proto, address, port, timeout)
    return f"{outcome} {time.monotonic() - start:.3f}"


def main() -> None:
    if sys.argv[1] == "--batch":
        timeout = float(sys.argv[2])
        args = sys.argv[3:]
        targets = [(args[i], args[i + 1], int(args[i + 2])) for i in range(0, len(args), 3)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(targets)) as pool:
            for line in pool.map(lambda t: timed(*t, timeout), targets):
                print(line)
        return
    proto, address, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(timed(proto, address, port, float(sys.argv[4]) if len(sys.argv) > 4 else 1.0))


if __name__ == "__main__":
    main()
