"""Build the bundled model's training corpus from the Python documentation.

Source: Debian's `python3.11-doc` package (the HTML documentation of Python 3.11),
licensed under the PSF License Agreement (see /usr/share/doc/python3.11-doc/copyright);
freely redistributable. Install it with `apt-get install python3.11-doc`.

Output (default data/pydocs.txt): one paragraph a line, a blank line between documents
(one HTML page = one document), prose only: <p>, <li> and <dd> text, code blocks
(<pre>) and navigation left out. Pages whose md5 of the path is below 1/20 of the range
go to data/pydocs-heldout.txt, so held-out evaluation never sees training text.

    python3 scripts/make_corpus.py [--html /usr/share/doc/python3.11/html] [--out data/pydocs.txt]
"""
import argparse
import hashlib
import html
import re
from html.parser import HTMLParser
from pathlib import Path

SKIP_PAGES = {"genindex", "search", "py-modindex", "contents", "copyright", "license", "bugs", "about"}
BLOCK = {"p", "li", "dd", "dt", "h1", "h2", "h3", "h4", "td"}


class Prose(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.paragraphs, self.buf, self.depth_pre, self.in_body, self.skip = [], [], 0, False, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "div" and a.get("role") == "main":
            self.in_body = True
        if tag in ("pre", "script", "style") or "headerlink" in (a.get("class") or ""):
            self.skip += 1
        if tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if tag in ("pre", "script", "style") or (tag == "a" and self.skip and False):
            self.skip = max(0, self.skip - 1)
        if tag == "a" and self.skip:
            self.skip -= 1
        if tag in BLOCK:
            self.flush()

    def handle_data(self, data):
        if self.in_body and not self.skip:
            self.buf.append(data)

    def flush(self):
        text = re.sub(r"\s+", " ", html.unescape("".join(self.buf))).strip().replace("\u00b6", "")
        self.buf = []
        footer = text.startswith("©") or text.endswith("»") or "Created using Sphinx" in text
        if len(text.split()) >= 5 and not footer:  # drop headings, labels, navigation, stray fragments
            self.paragraphs.append(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--html", default="/usr/share/doc/python3.11/html")
    ap.add_argument("--out", default="data/pydocs.txt")
    args = ap.parse_args()
    root = Path(args.html)
    if not root.exists():
        raise SystemExit(f"{root} not found: apt-get install python3.11-doc")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    held = out.with_name(out.stem + "-heldout" + out.suffix)
    n_docs = [0, 0]
    n_words = [0, 0]
    with open(out, "w", encoding="utf-8") as ftr, open(held, "w", encoding="utf-8") as fho:
        for page in sorted(root.rglob("*.html")):
            rel = page.relative_to(root)
            if rel.parts[0].startswith("_") or page.stem in SKIP_PAGES:
                continue
            p = Prose()
            p.feed(page.read_text(encoding="utf-8", errors="replace"))
            p.flush()
            if len(p.paragraphs) < 2:
                continue
            k = int(hashlib.md5(str(rel).encode()).hexdigest(), 16) % 20 == 0
            f = fho if k else ftr
            f.write("\n".join(p.paragraphs) + "\n\n")
            n_docs[k] += 1
            n_words[k] += sum(len(x.split()) for x in p.paragraphs)
    print(f"train: {n_docs[0]} documents, {n_words[0]:,} words -> {out}")
    print(f"held out: {n_docs[1]} documents, {n_words[1]:,} words -> {held}")


if __name__ == "__main__":
    main()
