#!/usr/bin/env python3
"""pollnotify-bench from outside: --json - on stdout, the open loop, .hgrm files, the plot (parsed
as XML: legend inside the frame, readable ticks, one styled line per mechanism, single-sample
series visible), exit codes for bad paths and SIGINT. Usage: bench_cli_test.py PATH_TO_BENCH"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

BENCH = sys.argv[1]
SVG = "{http://www.w3.org/2000/svg}"
QUICK = ["--no-progress", "--warmup", "0", "--floor-time", "0.02"]
failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("FAIL:", message)


def run(*args, timeout=120):
    return subprocess.run([BENCH, *args], capture_output=True, text=True, timeout=timeout)


def number(attribute):
    return float(attribute)


def check_svg(path, expect_series):
    root = ET.parse(path).getroot()
    panels = root.findall(f"{SVG}g[@class='panel']")
    check(len(panels) >= 1, f"{path}: no panel")
    for panel in panels:
        model = panel.get("data-device")
        frame = panel.find(f"{SVG}rect[@class='frame']")
        fx, fy = number(frame.get("x")), number(frame.get("y"))
        fw, fh = number(frame.get("width")), number(frame.get("height"))
        inside = lambda x, y: fx - 0.5 <= x <= fx + fw + 0.5 and fy - 0.5 <= y <= fy + fh + 0.5
        legend = panel.find(f"{SVG}g[@class='legend']/{SVG}rect")
        lx, ly = number(legend.get("x")), number(legend.get("y"))
        lw, lh = number(legend.get("width")), number(legend.get("height"))
        check(inside(lx, ly) and inside(lx + lw, ly + lh), f"{model}: legend outside the frame")
        width = number(root.get("width"))
        for text in panel.iter(f"{SVG}text"):
            x = number(text.get("x"))
            check(0 <= x <= width, f"{model}: text outside the picture at x={x}")
        for tick in panel.findall(f"{SVG}text[@class='ytick']"):
            check(re.fullmatch(r"\d+ (ns|us|ms|s)", tick.text or "") is not None,
                  f"{model}: y tick '{tick.text}' is not a whole number with a unit")
        xticks = [t.text for t in panel.findall(f"{SVG}text[@class='xtick']")]
        check(xticks[:2] == ["0%", "90%"], f"{model}: x ticks {xticks}")
        series = panel.findall(f"{SVG}g[@class='series']")
        check(len(series) == expect_series, f"{model}: {len(series)} series, want {expect_series}")
        styles = set()
        for one in series:
            line = one.find(f"{SVG}polyline")
            styles.add((line.get("stroke"), line.get("stroke-dasharray")))
            points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
            check(points and all(inside(x, y) for x, y in points),
                  f"{model}/{one.get('data-mechanism')}: a point outside the frame")
            markers = [e for e in one if e.tag != f"{SVG}polyline"]
            check(len(markers) >= 1, f"{model}/{one.get('data-mechanism')}: no marker")
        check(len(styles) == len(series), f"{model}: two series share a style")


with tempfile.TemporaryDirectory() as scratch:
    # --json - : JSON alone on stdout, the tables on stderr; .hgrm per phase; the plot.
    plot = os.path.join(scratch, "plot.svg")
    hgrm = os.path.join(scratch, "hgrm")
    result = run(*QUICK, "--duration", "0.1", "--mechanisms", "busy,eventfd,condvar",
                 "--latency", "zero,fixed:2000", "--json", "-", "--plot", plot, "--hgrm", hgrm)
    check(result.returncode == 0, f"run: exit {result.returncode}: {result.stderr}")
    document = json.loads(result.stdout)
    check(document["schema_version"] == 2, "schema_version")
    check(document["floor"]["before"]["round_trip_ns"] > 0, "floor before")
    check(document["floor"]["after"]["round_trip_ns"] > 0, "floor after")
    check(len(document["runs"]) == 6, "6 runs")
    check("p50/floor" in result.stderr and "floor after the runs" in result.stderr,
          "tables and floor on stderr")
    check(len(os.listdir(hgrm)) == 12, f"hgrm files: {sorted(os.listdir(hgrm))}")
    check_svg(plot, 3)

    # One sample per series still draws a visible point.
    single = os.path.join(scratch, "single.svg")
    result = run(*QUICK, "--requests", "1", "--mechanisms", "busy,adaptive", "--latency", "zero",
                 "--plot", single)
    check(result.returncode == 0, f"single: exit {result.returncode}: {result.stderr}")
    check_svg(single, 2)

    # Open loop at a fixed rate: latency from the intended send time, the rate reported.
    result = run(*QUICK, "--duration", "0.3", "--mechanisms", "busy", "--latency", "zero",
                 "--rate", "5000", "--json", "-")
    check(result.returncode == 0, f"open loop: exit {result.returncode}: {result.stderr}")
    phase = json.loads(result.stdout)["runs"][0]["repetitions"][0]["latency_phase"]
    check(phase["loop"] == "open" and phase["rate_per_s"] == 5000, f"open loop phase: {phase}")
    check(500 <= phase["completions"] <= 2000, f"open loop at 5000/s for 0.3 s: {phase['completions']}")

    # io_uring: pollnotify's path and io_uring's own style side by side (skipped where the
    # kernel refuses io_uring, with the tool's reason).
    result = run(*QUICK, "--duration", "0.1", "--device", "uring:nop",
                 "--mechanisms", "busy,uring-wait,uring-eventfd", "--json", "-")
    if result.returncode == 2 and ("unavailable" in result.stderr or "without liburing" in result.stderr):
        print("skipped the io_uring run:", result.stderr.strip())
    else:
        check(result.returncode == 0, f"uring: exit {result.returncode}: {result.stderr}")
        runs = json.loads(result.stdout)["runs"]
        check([r["mechanism"] for r in runs] == ["callback-busy", "uring-wait-cqe", "uring-eventfd-epoll"],
              f"uring runs: {[r['mechanism'] for r in runs]}")
        check(all(r["device"] == "uring:nop" and r["lost"] == 0 and r["duplicated"] == 0 and
                  r["summary"]["throughput_per_s"]["median"] > 0 for r in runs), "uring: figures")
        # The loopback echo: every request's echo arrives, through each mechanism.
        result = run(*QUICK, "--duration", "0.1", "--device", "uring:echo",
                     "--mechanisms", "adaptive,uring-wait,uring-eventfd", "--json", "-")
        check(result.returncode == 0, f"uring echo: exit {result.returncode}: {result.stderr}")
        runs = json.loads(result.stdout)["runs"]
        check(len(runs) == 3 and all(r["device"] == "uring:echo" and r["lost"] == 0 and
                                     r["duplicated"] == 0 and
                                     r["summary"]["throughput_per_s"]["median"] > 0 for r in runs),
              f"uring echo: figures {[(r['mechanism'], r['lost']) for r in runs]}")
        result = run(*QUICK, "--device", "uring:echoes")
        check(result.returncode == 2 and "nop, read:PATH or echo" in result.stderr,
              f"a bad uring operation: exit {result.returncode}: {result.stderr}")

    # DPDK cryptodev: pollnotify's path and DPDK's own polling loop (skipped where EAL cannot
    # start or the tool was built without libdpdk, with the tool's reason).
    result = run(*QUICK, "--duration", "0.1", "--device", "cryptodev:crypto_aesni_mb:sha256:64",
                 "--mechanisms", "busy,cryptodev-poll", "--json", "-")
    if result.returncode != 0 and ("EAL" in result.stderr or "without libdpdk" in result.stderr):
        print("skipped the cryptodev run:", result.stderr.strip())
    else:
        check(result.returncode == 0, f"cryptodev: exit {result.returncode}: {result.stderr}")
        runs = json.loads(result.stdout)["runs"]
        check([r["mechanism"] for r in runs] == ["callback-busy", "cryptodev-poll"],
              f"cryptodev runs: {[r['mechanism'] for r in runs]}")
        check(all(r["lost"] == 0 and r["duplicated"] == 0 and
                  r["summary"]["throughput_per_s"]["median"] > 0 for r in runs), "cryptodev: figures")
    result = run("--device", "cryptodev:crypto_aesni_mb:md5:64")
    check(result.returncode == 2 and "unknown algorithm 'md5'" in result.stderr,
          f"cryptodev bad algorithm: {result.stderr}")

    # A bad output path is refused before any measurement.
    started = time.monotonic()
    result = run("--plot", "/nonexistent-dir/x.svg")
    check(result.returncode == 2 and "--plot" in result.stderr, f"bad plot path: {result.stderr}")
    check(time.monotonic() - started < 5, "bad plot path refused only after a run")

    result = run("--help")
    check(result.returncode == 0 and "Exit status" in result.stdout, "--help on stdout, exit 0")

    # Standard output that cannot be written is an error (exit 1), not a silent success.
    with open("/dev/full", "w") as full:
        for args in (["--help"], [*QUICK, "--duration", "0.05", "--mechanisms", "busy"]):
            result = subprocess.run([BENCH, *args], stdout=full, stderr=subprocess.PIPE,
                                    text=True, timeout=120)
            check(result.returncode == 1 and "cannot write standard output" in result.stderr,
                  f"{args} > /dev/full: exit {result.returncode}: {result.stderr}")

    # SIGINT: exit 130, and what was measured is printed and written.
    partial = os.path.join(scratch, "partial.json")
    process = subprocess.Popen([BENCH, *QUICK, "--duration", "2", "--json", partial],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The header is flushed after the handler is installed and before the first measurement.
    header = process.stdout.readline()
    check(header.startswith("pollnotify-bench"), f"SIGINT: the header comes first: {header!r}")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    out = header + out
    check(process.returncode == 130, f"SIGINT: exit {process.returncode}: {err}")
    check("interrupted" in out, "SIGINT: the tables say interrupted")
    with open(partial) as file:
        check(json.load(file)["interrupted"] is True, "SIGINT: the JSON says interrupted")

print(f"bench_cli_test: {len(failures)} failure(s)")
sys.exit(1 if failures else 0)
