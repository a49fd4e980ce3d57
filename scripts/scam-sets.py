#!/usr/bin/env python3
"""Writes intents.toml's [scam.model] lines back out as one labelled set per writer, for
`cargo run --release --example scam_cv`.

    scripts/scam-sets.py [intents.toml] [OUT_DIR]   (defaults: ./intents.toml, target/scam-sets)

Each writer's lines sit under a comment naming the set ("# set 7: ...", "# writer A: ...") in
each of the four lists; every group becomes OUT_DIR/NAME.jsonl of {"text", "scam", "kind"}.
"""
import collections, json, os, re, sys, tomllib

pack = sys.argv[1] if len(sys.argv) > 1 else "intents.toml"
out_dir = sys.argv[2] if len(sys.argv) > 2 else "target/scam-sets"
header = re.compile(r"# (scam-dev|scam-tune\d?|writer [A-D]|set \d+):")
groups = collections.defaultdict(list)
inside, lst, writer = False, None, None
for line in open(pack, encoding="utf-8").read().split("\n"):
    if line.startswith("["):
        inside, lst = line.strip() == "[scam.model]", None
        continue
    if not inside:
        continue
    m = re.match(r"^(impersonation|credentials|link|ordinary) = \[", line)
    if m:
        lst = m.group(1)
        continue
    s = line.strip()
    if lst is None or not s:
        continue
    if s == "]":
        lst = None
        continue
    if s.startswith("#"):
        h = header.match(s)
        if h:
            k = h.group(1)
            writer = {"scam-dev": "dev", "scam-tune": "tune"}.get(k, k.replace("scam-", "").replace("writer ", "").replace(" ", ""))
        continue
    text = tomllib.loads("x = " + s.rstrip(","))["x"]
    scam = lst != "ordinary"
    groups[writer].append({"text": text, "scam": scam, "kind": lst if scam else None})
os.makedirs(out_dir, exist_ok=True)
for name, rows in groups.items():
    with open(os.path.join(out_dir, f"{name}.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{out_dir}/{name}.jsonl: {len(rows)} lines, {sum(r['scam'] for r in rows)} scams")
