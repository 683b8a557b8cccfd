#!/usr/bin/env python3
"""promtext_check.py - a strict reader of the Prometheus text exposition
format, version 0.0.4, for integration.gateway.live.

    promtext_check.py FILE

Reads FILE (a /metrics page), checks it against the format's rules and
exits 1 with one line per problem, or prints every sample in a normal
form, one per line, for the test to look values up with grep:

    name{label="value",...} value        (labels sorted by name)

Checked: line syntax (names, label names, escapes in label values and
HELP text, values, optional timestamps), the final line feed, HELP and
TYPE at most once per family and TYPE before the family's samples, each
family's lines in one group, no series twice, counters not negative,
histograms (only _bucket/_sum/_count; le on every bucket, bounds rising,
counts cumulative, +Inf present and equal to _count, _sum present).

When Python finds the prometheus_client package (Debian's
python3-prometheus-client, the reference client), its parser must accept
the page too; the test says which parsers ran.
"""
import math
import re
import sys

NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


def parse_value(s):
    if s in ("+Inf", "Inf"):
        return math.inf
    if s == "-Inf":
        return -math.inf
    if s == "NaN":
        return math.nan
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError("bad value %r" % s)
    return float(s)


def parse_labels(s, i, errs, ln):
    """Labels from s[i] == '{'; returns (dict, index after '}')."""
    labels = {}
    i += 1
    while True:
        if i < len(s) and s[i] == "}":
            return labels, i + 1
        m = LABEL.match(s, i)
        if not m:
            raise ValueError("bad label name at column %d" % (i + 1))
        name = m.group(0)
        i = m.end()
        if s[i:i + 2] != '="':
            raise ValueError("expected =\" after label %s" % name)
        i += 2
        val = []
        while True:
            if i >= len(s):
                raise ValueError("unterminated label value")
            c = s[i]
            if c == "\\":
                nxt = s[i + 1:i + 2]
                if nxt == "\\":
                    val.append("\\")
                elif nxt == '"':
                    val.append('"')
                elif nxt == "n":
                    val.append("\n")
                else:
                    raise ValueError("bad escape \\%s in label value" % nxt)
                i += 2
                continue
            if c == '"':
                i += 1
                break
            val.append(c)
            i += 1
        if name in labels:
            raise ValueError("label %s twice" % name)
        if name.startswith("__"):
            raise ValueError("reserved label name %s" % name)
        labels[name] = "".join(val)
        if i < len(s) and s[i] == ",":
            i += 1
        elif i < len(s) and s[i] == "}":
            continue
        else:
            raise ValueError("expected , or } after label %s" % name)


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if types.get(base) in ("histogram", "summary"):
                return base
    return name


def check(text):
    errs = []
    samples = []
    types, helps = {}, {}
    seen_series = set()
    done_families = set()
    current = None

    if text and not text.endswith("\n"):
        errs.append("the last line does not end with a line feed")

    def enter(fam, ln):
        nonlocal current
        if fam != current:
            if fam in done_families:
                errs.append("line %d: family %s appears in two groups" % (ln, fam))
            if current is not None:
                done_families.add(current)
            current = fam

    for ln, line in enumerate(text.split("\n"), 1):
        if line.strip() == "":
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 2 and parts[1] in ("HELP", "TYPE"):
                if len(parts) < 3 or not NAME.fullmatch(parts[2]):
                    errs.append("line %d: bad %s line" % (ln, parts[1]))
                    continue
                name = parts[2]
                rest = parts[3] if len(parts) > 3 else ""
                if parts[1] == "HELP":
                    if name in helps:
                        errs.append("line %d: second HELP for %s" % (ln, name))
                    if re.search(r"\\[^\\n]", rest):
                        errs.append("line %d: bad escape in HELP" % ln)
                    helps[name] = rest
                else:
                    if name in types:
                        errs.append("line %d: second TYPE for %s" % (ln, name))
                    if rest not in TYPES:
                        errs.append("line %d: unknown type %r" % (ln, rest))
                    if any(family_of(s[0], {name: rest}) == name for s in samples):
                        errs.append("line %d: TYPE for %s after its samples" % (ln, name))
                    types[name] = rest
                enter(name, ln)
            continue
        try:
            m = NAME.match(line)
            if not m:
                raise ValueError("bad metric name")
            name = m.group(0)
            i = m.end()
            labels = {}
            if i < len(line) and line[i] == "{":
                labels, i = parse_labels(line, i, errs, ln)
            if i >= len(line) or line[i] not in " \t":
                raise ValueError("expected a blank before the value")
            fields = line[i:].split()
            if len(fields) not in (1, 2):
                raise ValueError("expected a value and an optional timestamp")
            value = parse_value(fields[0])
            if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
                raise ValueError("bad timestamp %r" % fields[1])
        except ValueError as e:
            errs.append("line %d: %s: %s" % (ln, e, line))
            continue
        fam = family_of(name, types)
        enter(fam, ln)
        key = (name, tuple(sorted(labels.items())))
        if key in seen_series:
            errs.append("line %d: series twice: %s" % (ln, line))
        seen_series.add(key)
        t = types.get(fam, "untyped")
        if t == "counter" and not value >= 0:
            errs.append("line %d: negative counter: %s" % (ln, line))
        if t in ("counter", "gauge", "untyped") and name != fam:
            errs.append("line %d: %s is not the family's name" % (ln, name))
        samples.append((name, labels, value, ln))

    # Histograms: per series (labels without le).
    for fam, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for name, labels, value, ln in samples:
            if family_of(name, types) != fam:
                continue
            if name not in (fam + "_bucket", fam + "_sum", fam + "_count"):
                errs.append("line %d: %s in histogram %s" % (ln, name, fam))
                continue
            rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            s = series.setdefault(rest, {"buckets": [], "sum": None, "count": None})
            if name.endswith("_bucket"):
                if "le" not in labels:
                    errs.append("line %d: bucket without le" % ln)
                    continue
                try:
                    s["buckets"].append((parse_value(labels["le"]), value, ln))
                except ValueError:
                    errs.append("line %d: bad le %r" % (ln, labels["le"]))
            elif name.endswith("_sum"):
                s["sum"] = value
            else:
                s["count"] = value
        for rest, s in series.items():
            what = "%s%s" % (fam, dict(rest))
            b = s["buckets"]
            if not b or b[-1][0] != math.inf:
                errs.append("%s: no +Inf bucket last" % what)
            for (le1, v1, _), (le2, v2, ln2) in zip(b, b[1:]):
                if not le2 > le1:
                    errs.append("line %d: %s: le not rising" % (ln2, what))
                if v2 < v1:
                    errs.append("line %d: %s: buckets not cumulative" % (ln2, what))
            if s["count"] is None or s["sum"] is None:
                errs.append("%s: _count or _sum missing" % what)
            elif b and b[-1][1] != s["count"]:
                errs.append("%s: +Inf bucket %s != _count %s" % (what, b[-1][1], s["count"]))
    return errs, samples


def fmt_value(v):
    if v == math.inf:
        return "+Inf"
    if v == int(v):
        return str(int(v))
    return repr(v)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errs, samples = check(text)
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError:
        official = None
    else:
        official = "prometheus_client"
        try:
            for fam in text_string_to_metric_families(text):
                for _ in fam.samples:
                    pass
        except Exception as e:  # any refusal is a failure
            errs.append("prometheus_client's parser refused the page: %s" % e)
    if errs:
        for e in errs:
            print(e)
        sys.exit(1)
    print("# parsers: strict%s" % (" + " + official if official else ""))
    for name, labels, value, _ in samples:
        lbl = ",".join(
            '%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
            for k, v in sorted(labels.items()))
        print("%s{%s} %s" % (name, lbl, fmt_value(value)))


if __name__ == "__main__":
    main()
