#!/usr/bin/env python3
"""Checks that alert and dashboard expressions use only metrics the binaries expose.

  metric_names.py --scrape NAME=FILE [--scrape ...] [--exprs FILE] [--dashboard FILE ...]

Each --scrape is a real /metrics text of one binary. --exprs holds PromQL expressions separated
by lines of "---" (the PrometheusRule's); --dashboard a Grafana dashboard JSON (its panels'
targets and its label_values() variables). Every metric name an expression uses must be in a
scrape (or be one of EXTERNAL, which must not be), every label matcher on such a metric must
name a label it has (or one Prometheus adds to every target), "=" values must occur, and every
grouping label must exist. Exits 1 with one FAIL line a problem. Standard library only.
"""
import argparse
import json
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--scrape", action="append", required=True, metavar="NAME=FILE")
parser.add_argument("--exprs")
parser.add_argument("--dashboard", action="append", default=[])
args = parser.parse_args()
scrapes = dict(s.split("=", 1) for s in args.scrape)
binaries = " + ".join(scrapes)
# Metrics that come from elsewhere: Prometheus itself and kube-state-metrics (documented in
# config/prometheus/alerts.yaml and config/README.md).
EXTERNAL = {"up",
            "kube_horizontalpodautoscaler_status_current_replicas",
            "kube_horizontalpodautoscaler_spec_max_replicas"}
# Labels Prometheus adds to every scraped series (ServiceMonitor targets), and the Services'
# labels the VA's ServiceMonitor copies onto them (targetLabels).
TARGET_LABELS = {"job", "instance", "namespace", "pod", "service", "endpoint", "container",
                 "app_kubernetes_io_instance", "app_kubernetes_io_component"}
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset", "inf", "nan"}

series = {}  # metric -> {label: {values}}
for binary, metrics_file in scrapes.items():
    count = 0
    for line in open(metrics_file):
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s', line)
        if not m:
            continue
        count += 1
        labels = series.setdefault(m.group(1), {})
        for name, value in re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(3) or ""):
            labels.setdefault(name, set()).add(value)
    if count == 0:
        print(f"FAIL the scrape of {binary} ({metrics_file}) holds no series")
        sys.exit(1)
print(f"ok   scraped {len(series)} series names from {binaries}")

exprs = []
if args.exprs:
    exprs += [("alert", e.strip()) for e in open(args.exprs).read().split("\n---\n") if e.strip()]
for dashboard_file in args.dashboard:
    dash = json.load(open(dashboard_file))
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            exprs.append((f'{dash["uid"]} panel "{panel["title"]}"', t["expr"]))
    for var in dash["templating"]["list"]:
        q = var.get("query")
        if isinstance(q, dict):
            m = re.match(r'label_values\((.*),\s*([a-zA-Z_]\w*)\)$', q["query"])
            if m:
                exprs.append((f'{dash["uid"]} variable {var["name"]}', m.group(1)))
if not exprs:
    print("FAIL no expressions to check")
    sys.exit(1)

problems = []
used = set()
for where, expr in exprs:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    selectors = re.findall(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}', expr)
    grouping = re.findall(r'\b(?:by|without|on|ignoring)\s*\(([^)]*)\)', text)
    bare = re.sub(r'\{[^}]*\}|\[[^\]]*\]', ' ', text)
    bare = re.sub(r'\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)', ' ', bare)
    names = {n for n in re.findall(r'(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()', bare)
             if n not in KEYWORDS and not re.fullmatch(r'\d+[smhdwy]', n)}
    for name in sorted(names):
        used.add(name)
        if name in EXTERNAL:
            if name in series and name != "up":
                problems.append(f"{where}: {name} is listed as external but {binaries} exports it")
            continue
        if name not in series:
            problems.append(f"{where}: {name} is not in the /metrics of {binaries}")
    available = set(TARGET_LABELS) | {"le"}
    for name in names:
        available |= set(series.get(name, {}))
    for name, matchers in selectors:
        if name in EXTERNAL or name not in series:
            continue
        for label, op, value in re.findall(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"', matchers):
            if label in TARGET_LABELS:
                continue
            if label not in series[name]:
                problems.append(f"{where}: {name} has no label {label}")
            elif op == "=" and value not in series[name][label]:
                problems.append(f'{where}: {name}{{{label}="{value}"}} matches nothing '
                                f'(values: {sorted(series[name][label])})')
    if not any(n in EXTERNAL for n in names):
        for group in grouping:
            for label in re.findall(r'[a-zA-Z_]\w*', group):
                if label not in available:
                    problems.append(f"{where}: grouping label {label} is on none of {sorted(names)}")
for p in problems:
    print("FAIL " + p)
own = sorted(n for n in used if n not in EXTERNAL)
if problems:
    print(f"FAIL {len(problems)} problem(s) in {len(exprs)} alert and dashboard expressions")
else:
    print(f"ok   {len(exprs)} alert and dashboard expressions use {len(own)} metrics of {binaries}, "
          f"all in the scrape with their labels and values: {', '.join(own)}")
sys.exit(1 if problems else 0)
