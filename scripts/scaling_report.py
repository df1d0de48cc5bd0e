#!/usr/bin/env python3
"""Table and SVG plot of scaling_benchmark's JSON (scripts/scaling.sh).

Usage: scaling_report.py SCALING.json OUT.svg   (the Markdown table goes to standard output)
"""
import json
import statistics
import sys


def medians(data):
    """requests/s per (threads, pollers, devices): the median of the repetitions."""
    runs = {}
    for entry in data["benchmarks"]:
        if entry.get("run_type") != "iteration":
            continue
        key = (int(entry["threads"]), int(entry["pollers"]), int(entry["devices"]))
        runs.setdefault(key, []).append(entry["items_per_second"])
    return {key: statistics.median(values) for key, values in runs.items()}


def table(points, cpus):
    lines = [f"Machine: {cpus} CPUs usable; medians of the repetitions.\n",
             "| submitting threads | pollers | devices | requests/s | per submitting thread |",
             "|---:|---:|---:|---:|---:|"]
    for (threads, pollers, devices), rate in sorted(points.items()):
        lines.append(f"| {threads} | {pollers} | {devices} | {rate:,.0f} | {rate / threads:,.0f} |")
    return "\n".join(lines)


def svg(points):
    width, height, margin = 640, 400, 60
    lines = {}
    for (threads, pollers, devices), rate in points.items():
        lines.setdefault((pollers, devices), []).append((threads, rate))
    max_threads = max(t for t, _, _ in points) or 1
    max_rate = max(points.values()) or 1
    def x(t):
        return margin + (width - 2 * margin) * (t / max_threads)
    def y(r):
        return height - margin - (height - 2 * margin) * (r / max_rate)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<line x1="{margin}" y1="{height - margin}" x2="{width - margin}" '
             f'y2="{height - margin}" stroke="black"/>',
             f'<line x1="{margin}" y1="{margin}" x2="{margin}" y2="{height - margin}" stroke="black"/>',
             f'<text x="{width / 2}" y="{height - 15}" text-anchor="middle">submitting threads</text>',
             f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" '
             f'text-anchor="middle">requests/s (max {max_rate:,.0f})</text>']
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    for i, ((pollers, devices), series) in enumerate(sorted(lines.items())):
        series.sort()
        colour = colours[i % len(colours)]
        path = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in series)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for t, r in series:
            parts.append(f'<circle cx="{x(t):.1f}" cy="{y(r):.1f}" r="3" fill="{colour}"/>')
        parts.append(f'<text x="{width - margin - 150}" y="{margin + 15 * i}" fill="{colour}">'
                     f'{pollers} poller(s), {devices} device(s)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as handle:
        data = json.load(handle)
    points = medians(data)
    if not points:
        sys.exit("scaling_report.py: no grid point in " + sys.argv[1])
    print(table(points, data["context"].get("num_cpus", "?")))
    with open(sys.argv[2], "w") as handle:
        handle.write(svg(points))


if __name__ == "__main__":
    main()
