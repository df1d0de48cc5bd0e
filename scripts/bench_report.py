#!/usr/bin/env python3
"""Writes docs/benchmarks.md (to stdout) from the JSON files of scripts/run_benchmarks.sh.

Every figure comes from the JSON; targets are stated beside the measured ratios."""
import json
import statistics
import sys
from pathlib import Path


def load(directory, name):
    path = Path(directory) / name
    return json.loads(path.read_text()) if path.exists() else None


def gbench_index(data):
    """name -> benchmark entry (iteration rows only)."""
    if not data:
        return {}
    return {b["name"]: b for b in data["benchmarks"] if b.get("run_type", "iteration") == "iteration"}


def gbench_medians(data):
    """name -> the median of every numeric field over that benchmark's repetitions."""
    if not data:
        return {}
    runs = {}
    for b in data["benchmarks"]:
        if b.get("run_type", "iteration") == "iteration":
            runs.setdefault(b["name"], []).append(b)
    medians = {}
    for name, rows in runs.items():
        entry = dict(rows[0])
        for key, value in rows[0].items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                entry[key] = statistics.median(r[key] for r in rows if key in r)
        entry["repetitions"] = len(rows)
        medians[name] = entry
    return medians


def ns(entry):
    unit = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
    return entry["real_time"] * unit


def fmt_ns(value):
    if value < 10_000:
        return f"{value:.0f} ns" if value >= 100 else f"{value:.1f} ns"
    if value < 10_000_000:
        return f"{value / 1e3:.1f} us"
    return f"{value / 1e6:.1f} ms"


def verdict(ok):
    return "met" if ok else "**not met**"


def summary(run, figure):
    return run["summary"][figure]["median"]


def adjacent_floor(run, run_floor):
    """The median floor measured next to the run's latency phases, and whether one moved."""
    values, changed = [], False
    for repetition in run["repetitions"]:
        around = repetition.get("floor_around_latency")
        if around and around["round_trip_ns"] > 0:
            values.append(around["round_trip_ns"])
            changed = changed or around["changed"]
    if not values:
        return f"{run_floor:,.0f} (run)", False
    return f"{statistics.median(values):,.0f}", changed


def resolved(run, key):
    return run["summary"]["resolved"].get(key, False)


PERCENTILES = ("p50", "p90", "p99", "p99.9", "p99.99", "p99.999")


def column_unit(values):
    """One unit for a whole column, chosen by its largest value (as pollnotify-bench's tables)."""
    largest = max(values, default=0)
    if largest < 100_000:
        return 1, 0, "ns"
    if largest < 100_000_000:
        return 1e3, 1, "us"
    return 1e6, 2, "ms"


def in_unit(value, unit):
    divisor, decimals, _ = unit
    return f"{value / divisor:,.{decimals}f}"


def tool_section(tool, context, poller, w):
    """pollnotify-bench's JSON (schema 2, docs/bench-json.md)."""
    if tool.get("schema_version") != 2:
        w("pollnotify-bench JSON of another schema version: regenerate it.\n")
        return
    m, o, floor = tool["machine"], tool["options"], tool["floor"]
    w("## Machine\n")
    w(f"- CPU: {m['cpu_model']} ({m['cpus']} CPUs), {m['kernel']}")
    w(f"- Compiler: {m['compiler']}; clock: {m['clock']}; pollnotify {tool['tool_version']}")
    if context:
        w(f"- Google Benchmark context: {context.get('num_cpus')} CPUs at {context.get('mhz_per_cpu')} MHz, "
          f"library built as {context.get('library_build_type')}")
    after = floor["after"]["round_trip_ns"] if floor["after"] else None
    w(f"- Cross-core state: pollnotify-bench's floor, a cache-line ping-pong between CPUs {floor['cpus'][0]} and "
      f"{floor['cpus'][1]}, took {fmt_ns(floor['before']['round_trip_ns'])} before its runs and "
      f"{fmt_ns(after) if after else 'was not measured'} after them"
      + (" (**the machine changed state during the run**)." if floor["changed"] else "."))
    if poller and poller.get("BM_Handoff_RoundTrip/pingpong/real_time"):
        w(f"  The Google Benchmark suites ran after it; their ping-pong took "
          f"{fmt_ns(ns(poller['BM_Handoff_RoundTrip/pingpong/real_time']))}. On this virtual machine it has "
          f"ranged from about 108 ns to 630 ns between runs, and every cross-core figure moves with it.")
    w("")
    w("## pollnotify-bench (the main job)\n")
    loop = (f"open loop at {o['rate_per_s']:.0f} requests/s" if o["rate_per_s"] > 0
            else f"closed loop with {o['unloaded_jobs']} job")
    w(f"Command: `pollnotify-bench` with defaults: mechanisms {', '.join(o['mechanisms'])}; device latency "
      f"models {', '.join(o['devices'])}; latency phase {loop}, throughput phase {o['jobs']} jobs "
      f"(device depth {o['depth']}); {o['duration_s']} s per phase after {o['warmup_s']} s warm-up; "
      f"{o['repetitions']} repetition(s); application on CPU {o['app_cpu']}, poller on CPU {o['poller_cpu']}; "
      f"seed {o['seed']}.\n")
    w("Latency is submit to job resumed (the application thread holds the result), in the latency phase; "
      "completions/s and CPU are from the throughput phase; lost and duplicated are counted from per-request "
      "stamps in both: the callback mechanisms use the completion callback, whose user data is the "
      "request's submit time, so the callback reads nothing the application thread writes. "
      "eventfd-epoll and condvar use the busy-poll poller, so the difference is the "
      "notification to the application. A percentile marked * rests on fewer than 10 samples beyond it "
      "(it is near the maximum, not a tail estimate) and gets no verdict.\n")
    for model in o["devices"]:
        runs = [r for r in tool["runs"] if r["device"] == model]
        w(f"**Device model {model}**\n")
        figures = [f"latency_{p}_ns" for p in PERCENTILES] + ["latency_max_ns"]
        units = {f: column_unit([summary(r, f) for r in runs]) for f in figures}
        labels = [f"{p} ({units[f][2]})" for p, f in zip(PERCENTILES + ("max",), figures)]
        w("| mechanism | samples | " + " | ".join(labels) + " | floor next to it (ns) | p50 / floor |")
        w("|---|---:|" + "---:|" * len(labels) + "---:|---:|")
        moved = False
        for r in runs:
            samples = r["repetitions"][0]["latency_phase"]["latency_ns"]["count"]
            cells = [in_unit(summary(r, f), units[f]) + ("" if p == "max" or resolved(r, p) else "*")
                     for p, f in zip(PERCENTILES + ("max",), figures)]
            floor_cell, changed = adjacent_floor(r, floor["round_trip_ns"])
            moved = moved or changed
            w(f"| {r['mechanism']} | {samples:,} | " + " | ".join(cells) +
              f" | {floor_cell}{' †' if changed else ''} | {summary(r, 'p50_over_floor'):.2f}x |")
        if moved:
            w("\n† the floor before and after this latency phase differ by more than 25 %: the machine "
              "changed state during it, and its ratio is not reliable.")
        w("")
    w("| mechanism | device | completions/s | poller CPU | app CPU | lost | dup |")
    w("|---|---|---:|---:|---:|---:|---:|")
    for r in tool["runs"]:
        w(f"| {r['mechanism']} | {r['device']} | {summary(r, 'throughput_per_s'):,.0f} | "
          f"{summary(r, 'poller_cpu_percent'):.1f}% | {summary(r, 'app_cpu_percent'):.1f}% | {r['lost']} | "
          f"{r['duplicated']} |")
    w("\n![latency by percentile per mechanism](img/latency_percentiles.svg)\n")
    w("### Targets, per device model\n")
    w("A ratio of two p50s gets a verdict only when both rest on enough samples.\n")
    w("| device | busy vs eventfd p50 (>= 50x) | busy vs eventfd throughput (>= 10x) | "
      "adaptive p50 / busy p50 (<= 2x) | busy p50 / floor (<= 2x) | lost + dup (0) |")
    w("|---|---:|---:|---:|---:|---:|")
    for model in o["devices"]:
        runs = {r["mechanism"]: r for r in tool["runs"] if r["device"] == model}
        busy, fd, adaptive = runs.get("callback-busy"), runs.get("eventfd-epoll"), runs.get("callback-adaptive")
        if not (busy and fd and adaptive):
            continue

        def ratio(a, b, target_ok, fmt="{:.1f}x"):
            if not (resolved(a, "p50") and resolved(b, "p50")):
                return "no verdict (too few samples)"
            value = summary(a, "latency_p50_ns") / max(1, summary(b, "latency_p50_ns"))
            return f"{fmt.format(value)} ({verdict(target_ok(value))})"

        tput = summary(busy, "throughput_per_s") / max(1, summary(fd, "throughput_per_s"))
        to_floor = summary(busy, "p50_over_floor")
        bad = sum(r["lost"] + r["duplicated"] for r in runs.values())
        w(f"| {model} | {ratio(fd, busy, lambda v: v >= 50)} | {tput:.1f}x ({verdict(tput >= 10)}) | "
          f"{ratio(adaptive, busy, lambda v: v <= 2, '{:.2f}x')} | "
          f"{to_floor:.2f}x ({verdict(to_floor <= 2) if model == 'zero' else 'zero-latency model only'}) | "
          f"{bad} ({verdict(bad == 0)}) |")
    w("")



def drivers_section(drivers, w):
    w("## Real drivers against their own polling loops (devices_benchmark)\n")
    w("Bursts of 32 through pollnotify's path (submit into the thread's channel, the driver, the completion "
      "ring, the poller's drain, a callback per request) against the driver's own loop on one thread. "
      "Run to completion: the benchmark thread submits and polls an external-policy poller itself, so the "
      "figure is the path's work with no cross-core hand-off. Poller thread: the benchmark thread on CPU 0 "
      "submits a burst and waits for its 32 callbacks, which a busy poller thread on CPU 1 runs (one "
      "submitting thread: the hand-offs both ways are in the figure). io_uring: NOPs; cryptodev: SHA-256 and "
      "AES-128-GCM of 64 B on crypto_aesni_mb (the raw loop on a second instance of the driver, taking ops and "
      "mbufs through mempool caches of its own as an lcore's loop does; neither raw loop calls anything per "
      "request). Medians of "
      f"{drivers_repetitions(drivers)} interleaved repetitions. See [devices.md](devices.md).\n")
    w("| driver | raw loop, per request | run to completion | / raw | poller thread | / raw |")
    w("|---|---:|---:|---:|---:|---:|")
    for label, raw_name, ours_name, thread_name in (
            ("uring NOP", "BM_Uring/raw", "BM_Uring/pollnotify", "BM_Uring/pollnotify_poller_thread/real_time"),
            ("cryptodev SHA-256 64 B", "BM_Cryptodev/raw", "BM_Cryptodev/pollnotify",
             "BM_Cryptodev/pollnotify_poller_thread/real_time"),
            ("cryptodev AES-GCM 64 B", "BM_CryptodevGcm/raw/64", "BM_CryptodevGcm/pollnotify/64",
             "BM_CryptodevGcm/pollnotify_poller_thread/64/real_time"),
            ("cryptodev AES-GCM 16 KiB", "BM_CryptodevGcm/raw/16384", "BM_CryptodevGcm/pollnotify/16384", None)):
        raw, ours = drivers.get(raw_name), drivers.get(ours_name)
        thread = drivers.get(thread_name) if thread_name else None
        if raw and ours:
            per_raw, per_ours = 1e9 / raw["items_per_second"], 1e9 / ours["items_per_second"]
            cells = f"| {fmt_ns(per_ours)} | {per_ours / per_raw:.2f}x |"
            if thread:
                per_thread = 1e9 / thread["items_per_second"]
                cells += f" {fmt_ns(per_thread)} | {per_thread / per_raw:.2f}x |"
            else:
                cells += " | |"
            w(f"| {label} | {fmt_ns(per_raw)} {cells}")
    w("\nTargets (NOP, SHA-256 and AES-GCM at 64 B): at most 1.05x run to completion, at most 1.10x with one "
      "submitting thread.\n")
    w("What the path adds to the raw loop, per request: the request written into the thread's channel and "
      "taken from it into the device's slot (96 bytes for cryptodev), the wait context armed, a completion "
      "pushed into the completion ring and drained, the ticket checked and a callback called (the raw loops "
      "call nothing per request). With a poller thread the request's lines and the channel's tail also move "
      "from the submitting core to the poller's, and the submitter waits for the burst's last callback: "
      "`perf record` of these benchmarks shows where the time goes.\n")
    styles = (("wait_cqe", "io_uring_wait_cqe on the application thread"),
              ("eventfd_epoll", "registered eventfd + epoll on the application thread"),
              ("pollnotify", "UringDevice, busy poller on CPU 1, callbacks start the next operation"),
              ("pollnotify_rtc", "run to completion: single-issuer UringDevice polled by the application thread"))
    if drivers.get("BM_UringIo/wait_cqe/echo:0/real_time"):
        w("### io_uring on real I/O\n")
        w("Queue depth 32, loaded throughput: 4 KiB reads of a 16 MiB file in the page cache at rotating "
          "offsets, and round trips of 64 B over 32 loopback TCP connections (send, recv, send, recv). "
          "Medians of the repetitions.\n")
        w("| style | 4 KiB reads/s | vs wait_cqe | echo round trips/s | vs wait_cqe |")
        w("|---|---:|---:|---:|---:|")
        base = {io: drivers.get(f"BM_UringIo/wait_cqe/echo:{io}/real_time") for io in (0, 1)}
        for style, what in styles:
            row = [drivers.get(f"BM_UringIo/{style}/echo:{io}/real_time") for io in (0, 1)]
            if all(row) and all(base.values()):
                w(f"| {style}: {what} | {row[0]['items_per_second']:,.0f} | "
                  f"{row[0]['items_per_second'] / base[0]['items_per_second']:.2f}x | "
                  f"{row[1]['items_per_second']:,.0f} | "
                  f"{row[1]['items_per_second'] / base[1]['items_per_second']:.2f}x |")
        w("\nTarget: pollnotify's loaded throughput at least wait_cqe's.\n")



def uring_tool_section(tool, w, what, command, why):
    w(f"### io_uring {what} through the main job (pollnotify-bench)\n")
    w(f"`{command}` (application on CPU 0, the poller on CPU 1): latency of one job (submit to job "
      "resumed) and throughput of 64 jobs, medians of 3 repetitions.\n")
    w("| mechanism | p50 | p99 | eventfd + epoll p50 / this p50 | completions/s (64 jobs) | vs wait_cqe |")
    w("|---|---:|---:|---:|---:|---:|")
    runs = {run["mechanism"]: run["summary"] for run in tool.get("runs", [])}
    eventfd = runs.get("uring-eventfd-epoll")
    wait = runs.get("uring-wait-cqe")
    for name in ("callback-busy", "callback-adaptive", "uring-wait-cqe", "uring-eventfd-epoll"):
        summary = runs.get(name)
        if not summary or not eventfd or not wait:
            continue
        p50 = summary["latency_p50_ns"]["median"]
        rate = summary["throughput_per_s"]["median"]
        w(f"| {name} | {fmt_ns(p50)} | {fmt_ns(summary['latency_p99_ns']['median'])} | "
          f"{eventfd['latency_p50_ns']['median'] / p50:.2f}x | {rate:,.0f} | "
          f"{rate / wait['throughput_per_s']['median']:.2f}x |")
    w(f"\nTarget: callback-busy p50 at least 3x lower than eventfd + epoll; throughput at least wait_cqe's. {why}\n")


def drivers_repetitions(drivers):
    counts = {entry.get("repetitions", 1) for entry in drivers.values()}
    return max(counts) if counts else 1


def scaling_section(scaling, w):
    w("## Scaling grid (scaling_benchmark)\n")
    w("Submitting threads x pollers x devices, every point that fits the CPUs this process may use "
      "(`scripts/scaling.sh` runs the same grid, plots it, and on a larger machine covers more points). "
      "Simulated device instances at 0 ns through their poll source, 32 requests in flight per submitting "
      "thread; pollers busy on CPUs 0..P-1, submitters on the next CPUs. Medians of the repetitions.\n")
    points = {}
    for entry in scaling["benchmarks"]:
        if entry.get("run_type", "iteration") != "iteration":
            continue
        key = (int(entry["threads"]), int(entry["pollers"]), int(entry["devices"]))
        points.setdefault(key, []).append(entry["items_per_second"])
    w("| submitting threads | pollers | devices | requests/s |")
    w("|---:|---:|---:|---:|")
    for (threads, pollers, devices), rates in sorted(points.items()):
        w(f"| {threads} | {pollers} | {devices} | {statistics.median(rates):,.0f} |")
    w("\nWhat should scale, and why: a submitting thread writes only its own channel (slots, tail, "
      "statistics) and its own completion counter; a poller writes only its own rings and its sources' "
      "consumer state; no line is written by two submitters or two pollers. The lines that cross cores are "
      "a channel's tail (submitter to poller), its credits (poller to submitter) and the completion itself "
      "(poller to the callback's data), one of each per request in bursts. Requests/s should therefore grow "
      "with pollers x devices until the submitters or the memory system saturate; one poller serving many "
      "submitting threads is bounded by that poller's core.\n")


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "build/bench-results"
    tool = load(directory, "pollnotify-bench.json")
    wait_ctx = gbench_index(load(directory, "wait_ctx_benchmark.json"))
    runtime = gbench_index(load(directory, "runtime_benchmark.json"))
    poller = gbench_index(load(directory, "poller_benchmark.json"))
    poller.update(gbench_medians(load(directory, "poller_dispatch.json")))
    tbb = gbench_medians(load(directory, "tbb_benchmark.json"))
    drivers = gbench_medians(load(directory, "devices_benchmark.json"))
    context = (load(directory, "poller_benchmark.json") or {}).get("context", {})
    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Generated by `scripts/bench_report.py` from the JSON files that `scripts/run_benchmarks.sh` writes;")
    w("no figure here is typed by hand. Absolute times on this shared 2-core virtual machine are noisy:")
    w("compare the ratios, which are measured side by side in one run.\n")
    w("## How to run\n")
    w("```sh\nscripts/run_benchmarks.sh            # everything below, then regenerates this page")
    w("./build/release/benchmarks/pollnotify-bench --help   # the main job's options")
    w("./build/release/benchmarks/poller_benchmark --benchmark_filter=Ring --benchmark_format=json\n```\n")
    if tool:
        tool_section(tool, context, poller, w)
    if poller:
        w("## Completion ring throughput (poller_benchmark)\n")
        w("One producer (CPU 1) and one consumer (CPU 0), bursts on both sides; items/s. The item is the data "
          "path's 32-byte completion; pollnotify is the completion ring's storage (what devices push into and "
          "the poller drains), SpscRing the general ring pollnotify offers for a driver's own queues.\n")
        w("| burst | pollnotify | SpscRing | moodycamel ReaderWriterQueue | boost spsc_queue | "
          "moodycamel ConcurrentQueue (multi-producer) | tbb concurrent_bounded_queue (multi-producer) | "
          "vs ReaderWriterQueue | vs boost | vs tbb |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for burst in (1, 8, 32, 256):
            row = {}
            for peer, name in (("pollnotify", "pollnotify"), ("general", "pollnotify_spsc_ring"),
                               ("spsc", "moodycamel_spsc"), ("boost", "boost"),
                               ("moodycamel", "moodycamel_mpmc"), ("tbb", "tbb_mpmc")):
                entry = poller.get(f"BM_Ring_Throughput/{name}/burst:{burst}/real_time")
                row[peer] = entry["items_per_second"] if entry else 0
            w(f"| {burst} | {row['pollnotify'] / 1e6:,.0f} M | {row['general'] / 1e6:,.0f} M | "
              f"{row['spsc'] / 1e6:,.0f} M | "
              f"{row['boost'] / 1e6:,.0f} M | {row['moodycamel'] / 1e6:,.0f} M | {row['tbb'] / 1e6:,.1f} M | "
              f"{row['pollnotify'] / max(1, row['spsc']):.2f}x | {row['pollnotify'] / max(1, row['boost']):.2f}x | "
              f"{row['pollnotify'] / max(1, row['tbb']):.0f}x |")
        w("\nTargets: at burst 1 at least 1.5x ReaderWriterQueue, at burst 32 at least 2x boost.\n")
        w("## Handoff round trip (poller_benchmark)\n")
        w("Thread A publishes, thread B is notified and answers through an atomic A spins on; mean round trip.\n")
        w("| mechanism | round trip | vs cache-line ping-pong |")
        w("|---|---:|---:|")
        base = poller.get("BM_Handoff_RoundTrip/pingpong/real_time")
        for name in ("pingpong", "pollnotify_busy", "pollnotify_adaptive", "pollnotify_timed", "futex", "eventfd",
                     "condvar"):
            entry = poller.get(f"BM_Handoff_RoundTrip/{name}/real_time")
            if entry and base:
                w(f"| {name} | {fmt_ns(ns(entry))} | {ns(entry) / ns(base):.2f}x |")
        w("\nTargets: busy within 1.2x of ping-pong, adaptive within 2x.\n")
        w("## Callback dispatch and idle cost (poller_benchmark)\n")
        w(f"Dispatch: medians of {drivers_repetitions({k: v for k, v in poller.items() if 'Dispatch' in k})} "
          "interleaved repetitions, one thread.\n")
        w("| benchmark | figure |")
        w("|---|---:|")
        for burst in (1, 8, 32, 256):
            entry = poller.get(f"BM_Poller_Dispatch/pollnotify/burst:{burst}")
            bare = poller.get(f"BM_Poller_Dispatch/bare/burst:{burst}")
            peer = poller.get(f"BM_Poller_Dispatch/boost_spsc/burst:{burst}")
            if entry:
                versus = (f" ({bare['items_per_second'] / entry['items_per_second']:.2f}x the bare loop's "
                          f"{bare['items_per_second'] / 1e6:.1f} M/s" if bare else " (")
                versus += (f"; {entry['items_per_second'] / peer['items_per_second']:.2f}x the boost spsc_queue "
                           f"peer's {peer['items_per_second'] / 1e6:.1f} M/s)" if peer else ")")
                w(f"| arm + push + poll_once + callback, burst {burst} | "
                  f"{entry['items_per_second'] / 1e6:.1f} M callbacks/s{versus} |")
        for policy in ("busy", "adaptive", "timed"):
            entry = poller.get(f"BM_Poller_IdleCpu/{policy}/iterations:1/real_time")
            if entry:
                w(f"| idle poller CPU, {policy} | {entry['poller_cpu_percent']:.2f}% of a core |")
        w("\nThe bare loop: an SPSC ring of {function, argument} entries, popped and called (no wait context, "
          "ticket or status). The peer: a boost::lockfree::spsc_queue of completions, each popped and handed "
          "to its handler's callback (what a driver author would otherwise write), in the same run. Targets at "
          "bursts of 32: at least 100 M callbacks/s, at most 2x the bare loop and at least the peer, with no "
          "locked read-modify-write in arm or deliver; idle adaptive and timed below 1%. What pollnotify does "
          "per callback beyond the peer is the lifetime protocol: arm() counts the request and reads the "
          "context's generation, the drain checks the ticket against it, stores the status only when it "
          "changes, reads the callback pair without tearing and counts the delivery; per poll it takes the "
          "consumer role (one exchange) and opens a delivery section.\n")
    if wait_ctx or runtime:
        w("## Wait context and jobs against OpenSSL (wait_ctx_benchmark, runtime_benchmark)\n")
        w("| operation | OpenSSL 3 | pollnotify | pollnotify / OpenSSL |")
        w("|---|---:|---:|---:|")
        for suite, names in ((wait_ctx, ("SetStatus", "GetStatus", "GetCallback", "SetCallback")),
                             (runtime, ("PauseResume", "StartFinish"))):
            prefix = "BM_WaitCtx_" if suite is wait_ctx else "BM_Job_"
            for name in names:
                a, b = suite.get(f"{prefix}{name}/openssl"), suite.get(f"{prefix}{name}/pollnotify")
                if a and b:
                    w(f"| {prefix[3:]}{name} | {fmt_ns(ns(a))} | {fmt_ns(ns(b))} | {ns(b) / ns(a):.2f}x |")
        w("\nTargets: status and callback reads within 1.5x of OpenSSL; pause+resume at least 4x faster "
          "(ratio <= 0.25).\n")
    switch = load(directory, "job_switch.json")
    if switch:
        w("## Job pause + resume from a C program (job_switch)\n")
        w(f"`benchmarks/job_switch.c` (-O2, public C headers only, both libraries in one process): a job pauses "
          f"{switch['pauses_per_round']:,} times and is resumed as often, OpenSSL then pollnotify, per round.\n")
        w("| round | OpenSSL | pollnotify | OpenSSL / pollnotify |")
        w("|---:|---:|---:|---:|")
        for i, r in enumerate(switch["rounds"], 1):
            w(f"| {i} | {fmt_ns(r['openssl_ns'])} | {fmt_ns(r['pollnotify_ns'])} | {r['ratio']:.2f}x |")
        w(f"\nMedian: pollnotify {switch['median_ratio']:.2f}x faster. Target: at least 7x.\n")
    if tbb:
        w("## Offload from oneTBB tasks (tbb_benchmark)\n")
        reps = max((e.get("repetitions", 1) for e in tbb.values()), default=1)
        w("20 000 offloads, 2 arena threads, device exp:5000 with at most 64 requests in flight; medians of "
          f"{reps} interleaved repetitions. continuation: `pn::tbb::parallel_offload` (64 lanes; each completion "
          "enqueues its continuation as a deferred task, which submits the lane's next item); async_node: a flow "
          "graph through `pn::tbb::offload_node`; suspend: `pn::tbb::offload` in `parallel_window` (64 tasks) in "
          "an `offload_arena`; suspend_poll_in_arena: the same with no poller thread, a task of the arena polls "
          "(`poll_until`); blocking: the task sleeps on a futex until the callback; busy_wait: it spins. All but "
          "suspend_poll_in_arena have an adaptive poller thread. CPU/offload is every thread's CPU time per "
          "offload. The +fillers runs keep two chains of 1 us tasks enqueued in the same arena: fillers/s is "
          "thread time the waiting style left to other work. See [tbb.md](tbb.md).\n")
        w("| waiting style | offloads/s | vs blocking | CPU/offload | offloads/s with fillers | fillers/s |")
        w("|---|---:|---:|---:|---:|---:|")
        base = tbb.get("BM_TbbOffload/blocking/min_time:0.500/real_time")
        for name in ("continuation", "async_node", "suspend", "suspend_poll_in_arena", "blocking", "busy_wait"):
            entry = tbb.get(f"BM_TbbOffload/{name}/min_time:0.500/real_time")
            filled = tbb.get(f"BM_TbbOffload/{name}+fillers/min_time:0.500/real_time")
            if entry and base and filled:
                w(f"| {name} | {entry['items_per_second']:,.0f} | "
                  f"{entry['items_per_second'] / base['items_per_second']:.1f}x | "
                  f"{fmt_ns(entry.get('cpu_ns_per_offload', 0))} | "
                  f"{filled['items_per_second']:,.0f} | {filled.get('fillers_per_s', 0):,.0f} |")
        raw = tbb.get("BM_TbbSuspendResume")
        if raw and base:
            ceiling = 2 / (ns(raw) * 1e-9)
            w(f"\noneTBB's own suspend + resume of one task took {fmt_ns(ns(raw))} in this run: with every CPU "
              f"cycle of the 2 arena threads spent on it and nothing else, the suspend styles' ceiling is "
              f"{ceiling:,.0f} offloads/s, {ceiling / base['items_per_second']:.1f}x blocking; the continuation "
              "styles do not pay it.")
        w("\nTarget: continuation and async_node at least 10x blocking.\n")
    if drivers:
        drivers_section(drivers, w)
    uring_tool = load(directory, "pollnotify-bench-uring.json")
    if uring_tool:
        uring_tool_section(
            uring_tool, w, "4 KiB page-cache reads",
            "pollnotify-bench --device uring:read:FILE --mechanisms busy,uring-wait,uring-eventfd "
            "--duration 0.5 --warmup 0.1 --repetitions 3",
            "A page-cache read completes inside `io_uring_submit`, so the eventfd is already signalled when "
            "the submit returns and epoll never sleeps: there is no wake-up for the callback path to save.")
    echo_tool = load(directory, "pollnotify-bench-echo.json")
    if echo_tool:
        uring_tool_section(
            echo_tool, w, "loopback echo",
            "pollnotify-bench --device uring:echo --mechanisms busy,adaptive,uring-wait,uring-eventfd "
            "--duration 0.5 --warmup 0.1 --repetitions 3",
            "Each request sends 64 bytes to an echo thread of the same process over loopback TCP and "
            "receives the echo through io_uring; the echo thread's own wake-up is in every mechanism's "
            "latency, and on 2 CPUs it shares a core with the application or a busy poller.")
    scaling = load(directory, "scaling_benchmark.json")
    if scaling:
        scaling_section(scaling, w)
    print("\n".join(out))


if __name__ == "__main__":
    main()
