"""Build the bundled model's training corpus: English from three freely redistributable sources.

Sources (Debian packages; `apt-get install wordnet-base python3.11-doc debian-handbook`):

  wordnet   WordNet 3.0 (`wordnet-base`, the WordNet 3.0 licence: use, copy, modify and distribute
            with the copyright notice): every synset's gloss and its example sentences, the part that
            teaches everyday English ("Paris: the capital and largest city of France").
  pydocs    The Python 3.11 documentation (`python3.11-doc`, PSF License Agreement): prose only
            (<p>, <li>, <dd>, ... text; code blocks and navigation left out).
  handbook  The Debian Administrator's Handbook, English (`debian-handbook`, GPL-2+ or CC-BY-SA-3.0):
            prose only.

Format (what `minialbert pretrain` reads): one sentence or paragraph a line, a blank line between
documents. WordNet: one synset = its lemmas and gloss on one line, each example sentence on a line of
its own; a document = 12 consecutive synsets of one lexicographer file (neighbours in the file share a
topic, so sentence order inside a document means something). Documents of all sources are shuffled
together (seeded) so that the training stream mixes them.

Held out: a document goes to the held-out files when the md5 of its identifier (page path, or
lexicographer file + first offset) falls in 1/20 of the range, so held-out evaluation never sees training
text. Written: OUT (training), OUT's stem + "-heldout" (all held-out documents) and + "-heldout-SOURCE"
(each source alone), and OUT's stem + "-sources.json" (documents and words per source, and licences).

    python3 scripts/make_corpus.py [--out data/corpus.txt] [--sources wordnet,pydocs,handbook]
"""
import argparse
import hashlib
import html
import json
import random
import re
from html.parser import HTMLParser
from pathlib import Path

PYDOCS = Path("/usr/share/doc/python3.11/html")
HANDBOOK = Path("/usr/share/doc/debian-handbook/html/en-US")
WORDNET = Path("/usr/share/wordnet")
LICENCES = {
    "wordnet": "WordNet 3.0 licence (Princeton University; Debian package wordnet-base)",
    "pydocs": "PSF License Agreement (Debian package python3.11-doc)",
    "handbook": "GPL-2.0+ or CC-BY-SA-3.0 (Debian package debian-handbook)",
}
SKIP_PAGES = {"genindex", "search", "py-modindex", "contents", "copyright", "license", "bugs", "about"}
BLOCK = {"p", "li", "dd", "dt", "h1", "h2", "h3", "h4", "td"}
SYNSETS_PER_DOC = 12


class Prose(HTMLParser):
    """Paragraph text of an HTML page. `body` says where the page's content starts: Sphinx's
    <div role="main"> (pydocs) or DocBook's chapter/section divs (handbook)."""

    def __init__(self, body):
        super().__init__(convert_charrefs=True)
        self.body = body
        self.paragraphs, self.buf, self.in_body, self.skip = [], [], False, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class") or ""
        if tag == "div" and self.body(a):
            self.in_body = True
        # skipped elements as a stack of tag names: an element nested in one of its own kind stays skipped
        if tag in ("pre", "script", "style") or "headerlink" in cls or "docnav" in cls or \
                (self.skip and tag == self.skip[-1]):
            self.skip.append(tag)
        if tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if self.skip and tag == self.skip[-1]:
            self.skip.pop()
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


def html_documents(root, body, skip=lambda rel: False):
    for page in sorted(root.rglob("*.html")):
        rel = page.relative_to(root)
        if rel.parts[0].startswith("_") or rel.parts[0] == "Common_Content" or skip(rel):
            continue
        p = Prose(body)
        p.feed(page.read_text(encoding="utf-8", errors="replace"))
        p.flush()
        if len(p.paragraphs) >= 2:
            yield str(rel), p.paragraphs


def pydocs_documents():
    return html_documents(PYDOCS, lambda a: a.get("role") == "main", lambda rel: rel.stem in SKIP_PAGES)


def handbook_documents():
    def body(a):
        return any(c in (a.get("class") or "").split() for c in ("chapter", "section", "preface", "appendix"))
    return html_documents(HANDBOOK, body, lambda rel: rel.stem in ("index", "foreword") or "images" in rel.parts)


def _sentence(s):
    s = s.strip().strip(";").strip()
    if not s:
        return ""
    s = s[0].upper() + s[1:]
    return s if s[-1] in ".!?" else s + "."


def wordnet_documents():
    """One line per synset ("lemma, lemma: gloss.") and one per example sentence, grouped into documents
    of SYNSETS_PER_DOC neighbouring synsets of one lexicographer file (data.* field 2)."""
    pos_name = {"noun": "noun", "verb": "verb", "adj": "adjective", "adv": "adverb"}
    for pos in ("noun", "verb", "adj", "adv"):
        groups = {}
        with open(WORDNET / f"data.{pos}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  "):     # the licence header
                    continue
                head, _, gloss = line.partition(" | ")
                fields = head.split()
                offset, lexfile, n_words = fields[0], fields[1], int(fields[3], 16)
                lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(n_words)]
                lemmas = [re.sub(r"\([a-z]+\)$", "", w) for w in lemmas]   # adjective markers (a), (p), (ip)
                # gloss: definitions; "quoted examples" after them, separated by ';'
                examples = re.findall(r'"([^"]+)"', gloss)
                definition = re.sub(r'[;\s]+$', "", re.sub(r'"[^"]*"', "", gloss).strip())
                lines = []
                if definition:
                    lines.append(f"{', '.join(dict.fromkeys(lemmas))} ({pos_name[pos]}): {definition}.")
                lines += [_sentence(e) for e in examples if len(e.split()) >= 3]
                if lines:
                    groups.setdefault(lexfile, []).append((offset, lines))
        for lexfile, synsets in groups.items():
            for i in range(0, len(synsets), SYNSETS_PER_DOC):
                chunk = synsets[i:i + SYNSETS_PER_DOC]
                yield f"wordnet/{pos}/{lexfile}/{chunk[0][0]}", [l for _, ls in chunk for l in ls]


SOURCES = {"wordnet": (WORDNET, wordnet_documents), "pydocs": (PYDOCS, pydocs_documents),
           "handbook": (HANDBOOK, handbook_documents)}


def held_out(ident):
    return int(hashlib.md5(ident.encode()).hexdigest(), 16) % 20 == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="data/corpus.txt")
    ap.add_argument("--sources", default="wordnet,pydocs,handbook")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    train, held, stats = [], {}, {}
    for name in args.sources.split(","):
        root, documents = SOURCES[name]
        if not root.exists():
            raise SystemExit(f"{root} not found: apt-get install wordnet-base python3.11-doc debian-handbook")
        s = stats[name] = {"licence": LICENCES[name], "train_documents": 0, "train_words": 0,
                           "heldout_documents": 0, "heldout_words": 0}
        for ident, lines in documents():
            k = "heldout" if held_out(ident) else "train"
            (held.setdefault(name, []) if k == "heldout" else train).append("\n".join(lines))
            s[f"{k}_documents"] += 1
            s[f"{k}_words"] += sum(len(x.split()) for x in lines)
    random.Random(args.seed).shuffle(train)
    stem = out.with_suffix("")

    def write(path, docs):
        tmp = Path(str(path) + ".tmp")
        tmp.write_text("".join(d + "\n\n" for d in docs), encoding="utf-8")
        tmp.replace(path)

    write(out, train)
    every = [d for name in held for d in held[name]]
    random.Random(args.seed + 1).shuffle(every)
    write(Path(f"{stem}-heldout{out.suffix}"), every)
    for name, docs in held.items():
        write(Path(f"{stem}-heldout-{name}{out.suffix}"), docs)
    Path(f"{stem}-sources.json").write_text(json.dumps(stats, indent=1) + "\n")
    for name, s in stats.items():
        print(f"{name:9s} train {s['train_documents']:6d} documents {s['train_words']:10,d} words;"
              f" held out {s['heldout_documents']:5d} documents {s['heldout_words']:8,d} words  ({s['licence']})")


if __name__ == "__main__":
    main()
