#!/usr/bin/env python3
"""The provider's handshake crypto against the default provider, in one run: `openssl speed` on
RSA-2048, ECDSA P-256 and X25519 (async overhead, latency hiding), and HAProxy (one thread,
TLS 1.3, new connections and keep-alive, h2load over loopback). Prints Markdown tables of medians
of interleaved repetitions and their ratios. Usage: provider_handshake_bench.py PROVIDER_DIR [REPS]
"""
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PROVIDER_DIR = os.path.abspath(sys.argv[1])
REPS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
CPUS = sorted(os.sched_getaffinity(0))
CLIENT_CPU = CPUS[-1]  # h2load's CPU; HAProxy and the provider's threads float on the others
LATENCY_100US = {"PN_PROVIDER_RSA_LATENCY": "fixed:100000", "PN_PROVIDER_EC_LATENCY": "fixed:100000"}
OURS = ["-provider-path", PROVIDER_DIR, "-provider", "pollnotify", "-provider", "default",
        "-propquery", "provider=pollnotify"]


def median(values):
    return statistics.median(values) if values else float("nan")


# --- openssl speed ---

def speed(algorithm, env=None, extra=()):
    """Operations/s of the first column (sign, or derive) of `openssl speed ALGORITHM`."""
    command = ["openssl", "speed", "-elapsed", "-seconds", "1", *extra, algorithm]
    out = subprocess.run(command, env={**os.environ, **(env or {})}, capture_output=True,
                         text=True, timeout=120).stdout
    for line in out.splitlines():
        if algorithm == "rsa2048" and line.startswith("rsa 2048 bits"):
            return float(line.split()[-2])  # sign/s
        if algorithm == "ecdsap256" and "ecdsa (nistp256)" in line:
            return float(line.split()[-2])
        if algorithm == "ecdhx25519" and "ecdh (X25519)" in line:
            return float(line.split()[-1])
    raise RuntimeError(f"no rate for {algorithm} in: {out[-400:]}")


def speed_section():
    """Ratios: async overhead = 16 jobs at zero latency / the default provider's synchronous rate;
    latency hidden = 64 jobs at 100 us / 16 jobs at zero latency; the synchronous rate at 100 us
    against 1/(compute + 100 us); the synchronous rate at zero latency against the default's."""
    algorithms = {"rsa2048": "RSA-2048 sign", "ecdsap256": "ECDSA P-256 sign",
                  "ecdhx25519": "X25519 derive"}
    variants = {
        "default, synchronous": (None, ()),
        "pollnotify, 16 async jobs, zero latency": ({"PN_PROVIDER_LATENCY": "zero"},
                                                    (*OURS, "-async_jobs", "16")),
        "pollnotify, 64 async jobs, 100 us": (LATENCY_100US, (*OURS, "-async_jobs", "64")),
        "pollnotify, synchronous, 100 us": (LATENCY_100US, tuple(OURS)),
        "pollnotify, synchronous, zero latency": ({"PN_PROVIDER_LATENCY": "zero"}, tuple(OURS)),
        "pollnotify, 64 async jobs, 100 us, spin 64": ({**LATENCY_100US, "PN_PROVIDER_SPIN": "64"},
                                                      (*OURS, "-async_jobs", "64")),
    }
    rates = {(a, v): [] for a in algorithms for v in variants}
    for _ in range(REPS):
        for algorithm in algorithms:
            for name, (env, extra) in variants.items():
                rates[(algorithm, name)].append(speed(algorithm, env, extra))
    print("| operation | " + " | ".join(variants) + " | async overhead | latency hidden | "
          "synchronous at 100 us vs 1/(compute + 100 us) | synchronous, zero latency | "
          "latency hidden, spin 64 |")
    print("|---|" + "---:|" * (len(variants) + 5))
    for algorithm, label in algorithms.items():
        m = {v: median(rates[(algorithm, v)]) for v in variants}
        names = list(variants)
        compute = 1 / m[names[0]]
        expected_sync = 1 / (compute + 100e-6)
        cells = " | ".join(f"{m[v]:,.0f}/s" for v in names)
        print(f"| {label} | {cells} | {m[names[1]] / m[names[0]]:.2f}x | "
              f"{m[names[2]] / m[names[1]]:.2f}x | {m[names[3]] / expected_sync:.2f}x | "
              f"{m[names[4]] / m[names[0]]:.2f}x | {m[names[5]] / m[names[1]]:.2f}x |")


# --- HAProxy ---

def make_certificates(work):
    commands = {
        "rsa": ["-newkey", "rsa:2048"],
        "ecdsa": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
    }
    for name, key in commands.items():
        subprocess.run(["openssl", "req", "-x509", *key, "-nodes", "-keyout", f"{work}/{name}.key",
                        "-out", f"{work}/{name}.crt", "-days", "1", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
        with open(f"{work}/{name}.pem", "w") as pem:
            for part in ("crt", "key"):
                with open(f"{work}/{name}.{part}") as f:
                    pem.write(f.read())


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Haproxy:
    def __init__(self, work, cert, provider, asynchronous, env):
        self.port = free_port()
        lines = ["global", "    nbthread 1"]
        if asynchronous:
            lines.append("    ssl-mode-async")
        if provider:
            lines += [f"    ssl-provider-path {PROVIDER_DIR}", "    ssl-provider pollnotify",
                      "    ssl-provider default", "    ssl-propquery ?provider=pollnotify"]
        lines += ["defaults", "    mode http", "    timeout connect 5s", "    timeout client 30s",
                  "    timeout server 30s", "frontend tls",
                  f"    bind 127.0.0.1:{self.port} ssl crt {work}/{cert}.pem alpn http/1.1 "
                  "ssl-min-ver TLSv1.3",
                  '    http-request return status 200 content-type text/plain string "ok"']
        config = f"{work}/haproxy-{self.port}.cfg"
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.process = subprocess.Popen(["haproxy", "-db", "-f", config],
                                        env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        self.h2load(20, 20)  # warm: the provider's runtime starts with the first operation

    def h2load(self, connections, requests, extra=()):
        command = ["taskset", "-c", str(CLIENT_CPU), "h2load", "--h1", "-c", str(connections),
                   "-n", str(requests), *extra, f"https://127.0.0.1:{self.port}/"]
        out = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
        if f"{requests} succeeded, 0 failed" not in out:
            raise RuntimeError(f"h2load: not every request succeeded: {out[-600:]}")
        return out

    def handshakes_per_second(self):
        out = self.h2load(2000, 2000)  # one request per connection: a handshake each
        return float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))

    def keepalive_per_second(self):
        out = self.h2load(10, 40000)
        return float(re.search(r"finished in [\d.]+m?s, ([\d.]+) req/s", out).group(1))

    def handshake_latency_under_load(self):
        """Mean time to the first byte of 50 new connections while 10 keep-alive ones load it."""
        background = subprocess.Popen(
            ["taskset", "-c", str(CLIENT_CPU), "h2load", "--h1", "-c", "10", "-D", "3",
             f"https://127.0.0.1:{self.port}/"], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        out = self.h2load(50, 50, ("-r", "25", "-t", "1"))  # 25 new connections/s, 2 s
        background.wait(timeout=30)
        match = re.search(r"time to 1st byte:\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def haproxy_section():
    work = tempfile.mkdtemp()
    try:
        make_certificates(work)
        zero = {"PN_PROVIDER_LATENCY": "zero"}
        variants = {
            "default provider": (False, False, {}),
            "pollnotify async, zero latency": (True, True, zero),
            "pollnotify async, default configuration": (True, True, {}),
            "pollnotify async, 100 us": (True, True, LATENCY_100US),
            "pollnotify synchronous, 100 us": (True, False, LATENCY_100US),
        }
        # HAProxy's own pause cost: the job notifies itself and pauses once, no device, no
        # poller (PN_PROVIDER_TEST_SELF_NOTIFY, dasync's way): the most async mode can give here.
        variants["pollnotify async, zero latency, self-notify (no device)"] = (
            True, True, {**zero, "PN_PROVIDER_TEST_SELF_NOTIFY": "1"})
        # Where the pauses cost: one class at once, the other through the device.
        at_once = "100000"  # bytes: above any key, so the class computes without pausing
        variants["pollnotify async, zero latency, rsa at once"] = (
            True, True, {**zero, "PN_PROVIDER_RSA_THRESHOLD": at_once})
        variants["pollnotify async, zero latency, ec at once"] = (
            True, True, {**zero, "PN_PROVIDER_EC_THRESHOLD": at_once})
        variants["pollnotify async, zero latency, both at once"] = (
            True, True, {**zero, "PN_PROVIDER_RSA_THRESHOLD": at_once,
                         "PN_PROVIDER_EC_THRESHOLD": at_once})
        workers = max(1, len(CPUS) - 2)
        for count in range(1, workers + 1):
            variants[f"pollnotify async, 100 us, {count} worker(s)"] = (True, True, {
                **LATENCY_100US, "PN_PROVIDER_RSA_COMPUTE": "workers",
                "PN_PROVIDER_EC_COMPUTE": "workers", "PN_PROVIDER_WORKERS": str(count)})
        measured = ("handshakes/s", "keep-alive requests/s", "new handshake under load (ms)")
        results = {}
        for _ in range(REPS):
            for cert in ("ecdsa", "rsa"):
                for name, (provider, asynchronous, env) in variants.items():
                    server = Haproxy(work, cert, provider, asynchronous, env)
                    try:
                        values = [server.handshakes_per_second()]
                        if name in list(variants)[:3]:
                            values += [server.keepalive_per_second(),
                                       server.handshake_latency_under_load()]
                    finally:
                        server.stop()
                    for what, value in zip(measured, values):
                        results.setdefault((cert, name, what), []).append(value)
        for cert, label in (("ecdsa", "ECDSA P-256"), ("rsa", "RSA-2048")):
            print(f"\n{label} certificate:\n")
            print("| variant | " + " | ".join(measured) + " | handshakes vs default |")
            print("|---|---:|---:|---:|---:|")
            base = median(results[(cert, "default provider", measured[0])])
            for name in variants:
                cells = []
                for what in measured:
                    values = results.get((cert, name, what))
                    cells.append(f"{median(values):,.1f}" if values else "")
                ratio = median(results[(cert, name, measured[0])]) / base
                print(f"| {name} | " + " | ".join(cells) + f" | {ratio:.2f}x |")
            on = median(results[(cert, "pollnotify async, 100 us", measured[0])])
            off = median(results[(cert, "pollnotify synchronous, 100 us", measured[0])])
            print(f"\nWith a 100 us device latency, async mode on against off: {on:,.1f} against "
                  f"{off:,.1f} handshakes/s, {on / off:.2f}x.")
            default_latency = median(results[(cert, "default provider", measured[2])])
            for name in list(variants)[1:3]:
                keepalive = (median(results[(cert, name, measured[1])]) /
                             median(results[(cert, "default provider", measured[1])]))
                latency = median(results[(cert, name, measured[2])]) / default_latency
                print(f"\n{name}: keep-alive requests/s {keepalive:.2f}x the default provider's; "
                      f"a new handshake under keep-alive load takes {latency:.2f}x its time.",
                      end="")
            print()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def floor_ns():
    """The machine's cross-core state: pollnotify-bench's cache-line ping-pong round trip."""
    bench = os.path.join(os.path.dirname(PROVIDER_DIR), "benchmarks", "pollnotify-bench")
    if not os.access(bench, os.X_OK):
        return None
    out = subprocess.run([bench, "--mechanisms", "busy", "--repetitions", "1", "--duration", "0.1",
                          "--json", "-"], capture_output=True, text=True, timeout=120).stdout
    floor = json.loads(out)["floor"]
    return median([floor["before"]["round_trip_ns"], floor["after"]["round_trip_ns"]])


def main():
    before = floor_ns()
    print(f"Medians of {REPS} interleaved repetitions; h2load pinned to CPU {CLIENT_CPU}, HAProxy "
          "(one thread) and the provider's poller on the other CPUs.\n")
    print("### openssl speed (-elapsed; ops/s)\n")
    speed_section()
    if shutil.which("haproxy") and shutil.which("h2load"):
        print("\n### HAProxy 1 thread, TLS 1.3, h2load over loopback\n")
        haproxy_section()
    else:
        print("\nHAProxy or h2load missing: run scripts/setup.sh")
    after = floor_ns()
    if before is not None and after is not None:
        print(f"\nCross-core state: a cache-line ping-pong round trip (pollnotify-bench's floor) "
              f"took {before:.0f} ns before these runs and {after:.0f} ns after.")


if __name__ == "__main__":
    main()
