#!/usr/bin/env python3
"""The lab's scenario matrix (lab/README.md, "The scenario matrix").

  matrix.py cases (--all | --sample N --seed S) [--shard K/N] [--only ID]
      the cases to run, one per line, tab-separated for lab/lib/matrix.sh:
      ID  PROTECTION  ALLOWLIST(0|1)  GUARD(0|1)  ADDR,ROUTE;...  TRUSTED;...
  matrix.py finish CASE_DIR RESOLVER_LOG_DIR AUTHORITY_CAPTURE OFFSETS SPEC_JSON RESULTS
      after leaktest, run in dfl-vpn: log barriers (a marker query to every resolver involved and
      to the authority, waited for in each log and in the authority's capture: everything that
      reached them before is recorded), the case's slice of each log, then the oracle; appends one
      JSON line per resolver to RESULTS and prints the case's line
  matrix.py judge CASE_DIR SPEC_JSON
      the oracle alone on a finished case directory; one JSON line per resolver on stdout
  matrix.py report RESULTS.jsonl
      the confusion matrix (truth x verdict) and the failures; exit 1 on any false OK, false leak,
      missed STEALTH, other mismatch or unexplained INCONCLUSIVE

The oracle is written independently of leaktest's classifier (src/detector): the truth comes only
from what the resolvers logged (which probe name each received, from which address, and what it
answered) and from the authority's own capture (which names reached it at all). leaktest's report
is read only for the verdicts under judgement.
"""

import ipaddress
import itertools
import json
import os
import random
import re
import socket
import struct
import sys
import time
from collections import Counter, defaultdict

# The resolver kinds a client's list is made of, in the order a list puts them (as DHCP would,
# then the VPN client's own resolver last), with their lab addresses and the log that is their truth.
KINDS = ["shop", "shopfwd", "isp", "refuser", "public", "forger", "vpn"]
ADDR = {
    "shop": {4: "203.0.113.53", 6: "2001:db8:113::53"},      # unbound, recursive
    "shopfwd": {4: "203.0.113.54", 6: "2001:db8:113::54"},   # dnsmasq forwarding to the ISP
    "isp": {4: "100.64.53.53", 6: "2001:db8:64::53"},        # unbound, Stealth for non-customers
    "refuser": {4: "100.64.53.54", 6: "2001:db8:64::54"},    # unbound, REFUSED for non-customers
    "public": {4: "198.51.100.53", 6: "2001:db8:53::53"},    # unbound, the user's choice (--trusted)
    "forger": {4: "198.51.100.77", 6: "2001:db8:53::77"},    # dnsmasq, forges the probe zone
    "vpn": {4: "10.8.0.1", 6: "fd00:8::1"},                  # dnsfence serve -> the provider
}
LOG = {"shop": "shop", "shopfwd": "shopfwd", "isp": "isp", "refuser": "refuser", "public": "public",
       "forger": "forger", "attacker": "attacker", "vpn": "provider"}
VPN_RESOLVER = "10.8.0.1"        # leaktest --vpn-resolver (the operator guide's recipe)
THIRD_PARTY = "198.51.100.66"    # leaktest --public: the attacker's resolver, used by nobody
PROTECTIONS = ["none", "block", "redirect", "tproxy"]
WITNESS_ANSWER = "192.0.2.80"
# Where a query a resolver logged came from: the client through the tunnel (the VPN server's NAT),
# or the client outside it (its LAN address, or the shop router's NAT of the LAN).
INSIDE = {"192.0.2.2", "2001:db8:2::2"}
OUTSIDE_NETS = [ipaddress.ip_network("10.10.0.0/24"), ipaddress.ip_network("203.0.113.2/32")]
MARKERS = ("barrier-", "ready-", "health-", "marker-", "mx-")
LEAKS = ["LEAK-TYPE1", "LEAK-TYPE2", "STEALTH", "TAMPERED", "UNPROTECTED"]
ORDER = ["OK", "INTERCEPTED", "PROTECTED", "UNPROTECTED", "INCONCLUSIVE", "LEAK-TYPE1", "LEAK-TYPE2",
         "STEALTH", "TAMPERED", "NONE"]


# ----------------------------------------------------------------------------------------------
# The space


def variants(kind, family):
    """(family, route) of one resolver in a network of that family: the LAN is IPv4 only, and the
    VPN's resolver is reachable only through the tunnel."""
    if family == 6 or kind == "vpn":
        return [(family, "tun")]
    return [(4, "tun"), (4, "lan")]


def space():
    """Every case, in a stable order. A case: the client's list of one to three resolver kinds,
    all IPv4 or all IPv6 (the network's family), each IPv4 one reached through the tunnel or on the
    LAN (a route outside the tunnel); the server's protection (none, block, redirect, tproxy), with
    or without the allowlist where it can matter (the user's public resolver is in the list); the
    client guard off, or on. With the guard on, every query to anything but the VPN's resolvers is
    rejected on the client whatever its route, and the allowlist cannot matter: those cases vary the
    list and the protection only (routes through the tunnel, no allowlist)."""
    for size in (1, 2, 3):
        for kinds in itertools.combinations(KINDS, size):
            for family in (4, 6):
                for routes in itertools.product(*[variants(k, family) for k in kinds]):
                    on_lan = any(r == "lan" for _, r in routes)
                    allow = (0, 1) if "public" in kinds else (0,)
                    for prot, al, guard in itertools.product(PROTECTIONS, allow, (0, 1)):
                        if (prot == "none" and al) or (guard and (al or on_lan)):
                            continue  # no protection variant
                        yield {
                            "resolvers": [{"kind": k, "family": f, "route": r}
                                          for k, (f, r) in zip(kinds, routes)],
                            "protection": prot, "allowlist": al, "guard": guard,
                        }


def case_id(c):
    res = "+".join(f"{r['kind']}{r['family']}{'l' if r['route'] == 'lan' else ''}" for r in c["resolvers"])
    return f"{res}/{c['protection']}{'+al' if c['allowlist'] else ''}{'/guard' if c['guard'] else ''}"


def logs_of(c):
    """The lab resolvers whose logs a case's truth needs (its list's, the unused third party's, the
    provider's; the ISP's too when the shop's forwarder is in the list)."""
    names = {"attacker", "provider"} | {LOG[r["kind"]] for r in c["resolvers"] if r["kind"] != "vpn"}
    if "shopfwd" in names:
        names.add("isp")
    return sorted(names)


def case_line(c):
    res = ";".join(f"{ADDR[r['kind']][r['family']]},{r['route']}" for r in c["resolvers"])
    trusted = ";".join(ADDR["public"][r["family"]] for r in c["resolvers"] if r["kind"] == "public")
    spec = dict(c, id=case_id(c))
    return "\t".join([case_id(c), c["protection"], str(c["allowlist"]), str(c["guard"]), res, trusted or "-",
                      ",".join(logs_of(c)), json.dumps(spec, separators=(",", ":"))])


def cmd_cases(args):
    cases = list(space())
    if "--only" in args:
        want = args[args.index("--only") + 1].split(",")
        cases = [c for c in cases if case_id(c) in want]
    elif "--sample" in args:
        n = int(args[args.index("--sample") + 1])
        seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 13
        cases = random.Random(seed).sample(cases, n)
    elif "--all" not in args:
        sys.exit("cases: --all, --sample N [--seed S] or --only ID[,ID]")
    if "--shard" in args:
        k, n = map(int, args[args.index("--shard") + 1].split("/"))
        cases = [c for i, c in enumerate(cases) if i % n == k - 1]
    # Run in an order that changes the server's configuration least often.
    cases.sort(key=lambda c: (PROTECTIONS.index(c["protection"]), c["allowlist"], c["guard"], case_id(c)))
    for c in cases:
        print(case_line(c))
    print(f"{len(cases)} cases", file=sys.stderr)


# ----------------------------------------------------------------------------------------------
# Ground truth


def probe_name(name):
    """A leaktest probe name (a witness token under the zone), or None for the lab's own markers."""
    name = name.rstrip(".").lower()
    if not name.endswith("leak.test") or name.startswith(MARKERS) or name.count(".") < 2:
        return None
    return name


def client_path(src):
    """'inside' (through the tunnel), 'outside' (the client's own LAN path), or None (not the
    client: another resolver forwarding, the lab's markers)."""
    if src in INSIDE:
        return "inside"
    try:
        a = ipaddress.ip_address(src)
    except ValueError:
        return None
    return "outside" if any(a in n for n in OUTSIDE_NETS) else None


UNBOUND_Q = re.compile(r"info: (\S+) (\S+)\. (\S+) IN$")
UNBOUND_R = re.compile(r"info: (\S+) (\S+)\. (\S+) IN (\S+) [0-9.]+ \d+ \d+$")
DNSMASQ_Q = re.compile(r": (\d+) (\S+)/\d+ query\[(\S+)\] (\S+) from (\S+)$")
DNSMASQ_A = re.compile(r": (\d+) \S+ (reply|config|cached) (\S+) is (.+)$")


def read_log(path):
    """What one resolver's log slice says: {name: {"from": {path...}, "answered": bool,
    "forged": [addr...]}} for the probe names the client sent it."""
    seen = defaultdict(lambda: {"from": set(), "answered": False, "forged": []})
    serials = {}
    try:
        lines = open(path, encoding="utf-8", errors="replace").read().splitlines()
    except FileNotFoundError:
        return {}
    for line in lines:
        if m := UNBOUND_Q.search(line):
            src, name = m.group(1), probe_name(m.group(2))
            if name and client_path(src):
                seen[name]["from"].add(client_path(src))
        elif m := UNBOUND_R.search(line):
            name = probe_name(m.group(2))
            if name in seen and client_path(m.group(1)):
                seen[name]["answered"] = True
        elif m := DNSMASQ_Q.search(line):
            serial, src, name = m.group(1), m.group(5), probe_name(m.group(4))
            if name and client_path(src):
                seen[name]["from"].add(client_path(src))
                serials[serial] = name
        elif m := DNSMASQ_A.search(line):
            name = serials.get(m.group(1))
            if name:
                seen[name]["answered"] = True
                value = m.group(4).strip()
                try:
                    if str(ipaddress.ip_address(value)) != WITNESS_ANSWER:
                        seen[name]["forged"].append(value)
                except ValueError:
                    pass  # NXDOMAIN, NODATA, a CNAME: answered, no address
    return {n: v for n, v in seen.items() if v["from"]}


AUTH_Q = re.compile(r"IP6? (\S+)\.\d+ > \S+: .* \S+\? (\S+) ")


def authority_names(path):
    """The probe names that reached the authority, from anyone."""
    names = set()
    try:
        for line in open(path, encoding="utf-8", errors="replace"):
            if m := AUTH_Q.search(line):
                if n := probe_name(m.group(2)):
                    names.add(n)
    except FileNotFoundError:
        pass
    return names


def provider_answered(path):
    """Probe names the VPN's resolver path (the provider's unbound, asked by dnsfence serve from the
    VPN server) answered."""
    answered = set()
    try:
        for line in open(path, encoding="utf-8", errors="replace"):
            if (m := UNBOUND_R.search(line)) and (n := probe_name(m.group(2))) and m.group(4) == "NOERROR":
                answered.add(n)
    except FileNotFoundError:
        pass
    return answered


def truth_of(kind, trusted, log, at_authority, third_party=False):
    """The set of things that really happened to one resolver (empty: nothing reached it)."""
    t = set()
    for name, v in log.items():
        if "outside" in v["from"]:
            t.add("LEAK-TYPE1")
        if "inside" in v["from"]:
            t.add("UNPROTECTED" if third_party else ("OK" if trusted else "LEAK-TYPE2"))
        if not v["answered"] and name not in at_authority and not trusted and not third_party:
            t.add("STEALTH")  # received, never answered, and never reached the authority from anyone
        if v["forged"]:
            t.add("TAMPERED")
    return t


def worst(labels):
    return max(labels, key=ORDER.index) if labels else None


def verdicts_for(report, address):
    found = [f for f in report.get("findings", []) if f.get("resolver") == address]
    return {f["verdict"] for f in found}, [f["explanation"] for f in found if f["verdict"] == "INCONCLUSIVE"]


def judge(case_dir, spec):
    try:
        report = json.load(open(f"{case_dir}/leaktest.json"))
    except (OSError, ValueError):
        report = {}
    at_authority = authority_names(f"{case_dir}/authority.txt")
    vpn_ok = bool(provider_answered(f"{case_dir}/provider.log"))
    rows = []
    listed = [(r["kind"], r["family"], r["route"], ADDR[r["kind"]][r["family"]]) for r in spec["resolvers"]]
    if VPN_RESOLVER not in [a for _, _, _, a in listed]:
        listed.append(("vpn", 4, "tun", VPN_RESOLVER))  # --vpn-resolver: probed, judged too
    listed.append(("attacker", 4, "tun", THIRD_PARTY))   # --public
    for kind, family, route, addr in listed:
        if kind == "vpn":
            truth = {"OK"} if vpn_ok else {"FAILED"}
        else:
            log = read_log(f"{case_dir}/{LOG[kind]}.log")
            truth = truth_of(kind, kind == "public", log, at_authority, third_party=kind == "attacker")
        primary = worst(truth) or "PROTECTED"
        got, why = verdicts_for(report, addr)
        verdict = worst(got) or "NONE"
        rows.append({"case": spec["id"], "kind": kind, "family": family, "route": route, "address": addr,
                     "truth": primary, "truth_set": sorted(truth), "verdict": verdict, "verdict_set": sorted(got),
                     "class": classify_row(primary, truth, verdict, got), "inconclusive_why": why,
                     "protection": spec["protection"], "allowlist": spec["allowlist"], "guard": spec["guard"]})
    return rows


def classify_row(primary, truth, verdict, got):
    """How a verdict compares with the truth: ok, inconclusive, false-ok, false-leak, missed-stealth,
    wrong (another mismatch)."""
    if "STEALTH" in truth and "STEALTH" not in got and verdict != "INCONCLUSIVE":
        return "missed-stealth"
    if verdict == "INCONCLUSIVE":
        return "inconclusive"
    harmless = primary in ("PROTECTED", "OK")
    if primary == "PROTECTED" and verdict in ("OK", "INTERCEPTED"):
        return "ok"
    if primary == "OK" and verdict == "OK":
        return "ok"  # the VPN's or a trusted resolver, used: never "intercepted"
    if harmless and verdict in LEAKS:
        return "false-leak"
    if primary in LEAKS and verdict in ("OK", "INTERCEPTED"):
        return "false-ok"
    if primary == "FAILED":
        return "wrong"
    leak_truth = {x for x in truth if x in LEAKS}
    leak_got = {x for x in got if x in LEAKS}
    return "ok" if verdict == primary and leak_got == leak_truth else "wrong"


# Where the barrier markers go: each log's resolver, and the authority.
BARRIER_ADDR = {"shop": "203.0.113.53", "shopfwd": "203.0.113.54", "isp": "100.64.53.53",
                "refuser": "100.64.53.54", "public": "198.51.100.53", "forger": "198.51.100.77",
                "attacker": "198.51.100.66", "provider": "10.64.0.53", "authority": "192.0.2.53"}


def dns_query(name):
    q = struct.pack(">HHHHHH", random.getrandbits(16), 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    return q + struct.pack(">HH", 1, 1)


def barrier(files, offsets, deadline=8.0):
    """Sends a marker query to each resolver (and the authority) and waits until each file shows
    its marker after the case's offset; a resolver logs in arrival order, so every query that
    reached it before is then in its log. Returns the names whose marker never showed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    markers = {n: f"mx-{os.getpid()}-{random.getrandbits(32):08x}.leak.test" for n in files}
    pending, end, next_send = set(files), time.monotonic() + deadline, 0.0
    while pending and time.monotonic() < end:
        if time.monotonic() >= next_send:  # UDP: send again until seen
            for n in pending:
                sock.sendto(dns_query(markers[n]), (BARRIER_ADDR[n], 53))
            next_send = time.monotonic() + 0.5
        time.sleep(0.02)
        for n in list(pending):
            with open(files[n], "rb") as f:
                f.seek(offsets.get(n, 0))
                if markers[n].encode() in f.read():
                    pending.discard(n)
    return sorted(pending)


def cmd_finish(args):
    case_dir, log_dir, auth_file, offsets_text, spec_text, results = args
    spec = json.loads(spec_text)
    offsets = {k: int(v) for k, v in (x.split("=") for x in offsets_text.split(",") if x)}
    files = {n: f"{log_dir}/{n}.log" for n in logs_of(spec)}
    files["authority"] = auth_file
    missing = barrier(files, offsets)
    for n, path in list(files.items()) + [(n, f"{log_dir}/{n}.log") for n in ("serve", "serve-tproxy")]:
        with open(path, "rb") as f:
            f.seek(offsets.get(n, 0))
            data = f.read()
        with open(f"{case_dir}/{n}.log" if n != "authority" else f"{case_dir}/authority.txt", "wb") as out:
            out.write(data)
    rows = judge(case_dir, spec)
    if missing:
        for r in rows:
            r["class"], r["barrier_missing"] = "wrong", missing  # absence would not be proven
    with open(f"{case_dir}/rows.jsonl", "w") as out, open(results, "a") as res:
        for r in rows:
            out.write(json.dumps(r) + "\n")
            res.write(json.dumps(r) + "\n")
    print(" ".join(f"{r['kind']}:{r['truth']}->{r['verdict']}" + ("" if r["class"] == "ok" else "!" + r["class"])
                   for r in rows) + (f" BARRIER-MISSING:{','.join(missing)}" if missing else ""))


def cmd_judge(args):
    case_dir, spec = args[0], json.loads(args[1])
    for row in judge(case_dir, spec):
        print(json.dumps(row))


# ----------------------------------------------------------------------------------------------
# Report

COLS = ["OK", "INTERCEPTED", "UNPROTECTED", "INCONCLUSIVE", "LEAK-TYPE1", "LEAK-TYPE2", "STEALTH", "TAMPERED", "NONE"]
ROWS = ["OK", "PROTECTED", "UNPROTECTED", "LEAK-TYPE1", "LEAK-TYPE2", "STEALTH", "TAMPERED", "FAILED"]


def cmd_report(args):
    rows = [json.loads(line) for line in open(args[0]) if line.strip()]
    cases = {r["case"] for r in rows}
    m = Counter((r["truth"], r["verdict"]) for r in rows)
    out = [f"confusion matrix: truth (rows, from the resolvers' logs and the authority's capture) x leaktest's "
           f"verdict (columns), per resolver; {len(rows)} resolvers in {len(cases)} cases",
           "| truth \\ verdict | " + " | ".join(COLS) + " |", "|---" * (len(COLS) + 1) + "|"]
    for t in ROWS:
        if any(m[(t, c)] for c in COLS):
            out.append(f"| {t} | " + " | ".join(str(m[(t, c)]) if m[(t, c)] else "." for c in COLS) + " |")
    classes = Counter(r["class"] for r in rows)
    out.append("classes: " + ", ".join(f"{k} {classes[k]}" for k in
                                       ["ok", "inconclusive", "false-ok", "false-leak", "missed-stealth", "wrong"]))
    bad = [r for r in rows if r["class"] in ("false-ok", "false-leak", "missed-stealth", "wrong")
           or (r["class"] == "inconclusive" and not any(w.strip() for w in r["inconclusive_why"]))]
    for r in bad[:40]:
        out.append(f"FAIL {r['case']} {r['kind']} {r['address']}: truth {','.join(r['truth_set']) or 'PROTECTED'}"
                   f" verdict {','.join(r['verdict_set']) or 'none'} ({r['class']})")
    reasons = Counter(w.split(":")[0][:90] for r in rows if r["class"] == "inconclusive" for w in r["inconclusive_why"])
    for why, n in reasons.most_common(8):
        out.append(f"inconclusive x{n}: {why}")
    print("\n".join(out))
    return 1 if bad else 0


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "cases":
        cmd_cases(args)
    elif cmd == "judge":
        cmd_judge(args)
    elif cmd == "finish":
        cmd_finish(args)
    elif cmd == "report":
        sys.exit(cmd_report(args))
    elif cmd == "size":
        print(sum(1 for _ in space()))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
