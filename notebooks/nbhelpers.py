"""Drawing helpers for the teaching notebooks: the long matplotlib code lives here, so that a notebook cell
says what is drawn in one call and the lesson stays readable. The notebooks run with notebooks/ as their
working directory and import this module as `nbhelpers`. Nothing here computes a result: every number a
figure shows is passed in by the notebook, which asserts it against the library first.

- `draw_bert_vs_albert(...)`: BERT's V×H table and L separate layers next to ALBERT's V×E table, its E→H
  projection and one layer applied L times (notebook 01).
- `draw_shapes(stages)`: the shape of the data at each step from (B, T) ids to (B, T, V) logits (notebook 01).
- `draw_sop_vs_nsp(a, b, other)`: how a sentence-order (SOP) and a next-sentence (NSP) example are built
  from the same document (notebook 06).
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

EMB, PROJ, LAYER, HEAD, IO, GREY = "#f1ce63", "#f28e2b", "#4e79a7", "#59a14f", "#d7d7d7", "#9d9d9d"
LAYER_COLOURS = ["#4e79a7", "#59a14f", "#b07aa1", "#9c755f", "#e15759", "#76b7b2", "#ff9da7", "#bab0ac"]


def _box(ax, x, y, w, h, text, colour, fontsize=9, text_colour="black", alpha=1.0, lw=1.0):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.01,rounding_size=0.06",
                                facecolor=colour, edgecolor="black", lw=lw, alpha=alpha))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=fontsize, color=text_colour)


def _arrow(ax, x0, y0, x1, y1, colour="black", style="-|>", lw=1.2, rad=0.0, ls="-"):
    ax.add_patch(FancyArrowPatch((x0, y0), (x1, y1), arrowstyle=style, mutation_scale=12, color=colour,
                                 lw=lw, connectionstyle=f"arc3,rad={rad}", linestyle=ls))


def draw_bert_vs_albert(V=30000, E=128, H=768, L=12, bert_params=None, albert_params=None):
    """Two block diagrams side by side. Left, BERT: a V×H word table and L layers, each with its own
    weights (one colour each). Right, ALBERT: a narrow V×E table, one E×H projection, and one stored
    layer whose weights every one of the L positions reuses (one colour, drawn unrolled). The parameter
    counts, when given, go under the titles. Returns the figure."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 6.2))
    shown = [0, 1, 2, None, L - 1]                      # layer positions drawn (None: the dots)
    for ax, albert in zip(axes, (False, True)):
        ax.set_xlim(0, 10)
        ax.set_ylim(-0.6, 11.4)
        ax.axis("off")
        title = "ALBERT: factorised embedding, one shared layer" if albert else "BERT: V×H table, L separate layers"
        n = albert_params if albert else bert_params
        ax.set_title(title + (f"\n{n / 1e6:.0f}M parameters" if n else ""), fontsize=11)
        _box(ax, 3.0, -0.3, 4.0, 0.8, "ids (B, T)", IO)
        if albert:
            _box(ax, 3.9, 0.9, 2.2, 1.2, f"word table\nV×E = {V:,}×{E}", EMB, fontsize=8.5)
            _box(ax, 2.8, 2.5, 4.4, 0.75, f"E→H projection  E×H = {E}×{H}", PROJ, fontsize=8.5)
            _arrow(ax, 5, 0.5, 5, 0.9)
            _arrow(ax, 5, 2.1, 5, 2.5)
            top = 3.25
        else:
            _box(ax, 1.5, 0.9, 7.0, 2.35, f"word table\nV×H = {V:,}×{H}", EMB, fontsize=9)
            _arrow(ax, 5, 0.5, 5, 0.9)
            top = 3.25
        y = top + 0.45
        for k, i in enumerate(shown):
            if i is None:
                ax.text(5, y + 0.3, "⋮", ha="center", va="center", fontsize=16)
                y += 0.9
                continue
            colour = LAYER if albert else LAYER_COLOURS[i % len(LAYER_COLOURS)]
            label = (f"layer position {i + 1}: shared weights" if albert else f"layer {i + 1}: its own weights")
            _box(ax, 2.8, y, 4.4, 0.75, label, colour, fontsize=8.5, text_colour="white")
            _arrow(ax, 5, y - 0.45, 5, y)
            y += 1.2
        _box(ax, 3.0, y - 0.05, 4.0, 0.75, "hidden states (B, T, H)", IO)
        _arrow(ax, 5, y - 0.5, 5, y - 0.05)
        if albert:                                       # one stored layer, looped L times
            _box(ax, 8.0, 5.6, 1.9, 1.3, f"1 stored\nlayer\n(used {L}×)", LAYER, fontsize=8.5, text_colour="white")
            for yy in (top + 0.82, top + 2.02, top + 3.22, y - 0.83):
                _arrow(ax, 8.0, 6.25, 7.2, yy, colour=GREY, lw=0.9, ls="--")
        else:
            ax.text(8.6, 6.2, f"{L} stored\nlayers", ha="center", va="center", fontsize=9)
    fig.tight_layout()
    return fig


def draw_shapes(stages, title="From ids to logits: the shape after each step"):
    """stages: [(what, shape tuple, letters)] in order, e.g. ("ids", (2, 7), "B, T"). Draws one box per
    stage, top to bottom, with the symbolic shape and the numeric one. Returns the figure."""
    n = len(stages)
    fig, ax = plt.subplots(figsize=(9, 0.78 * n + 0.8))
    ax.set_xlim(0, 10)
    ax.set_ylim(-0.2, n + 0.1)
    ax.axis("off")
    ax.set_title(title, fontsize=11)
    colours = {"ids": IO, "E": EMB, "H": LAYER, "V": HEAD}
    for k, (what, shape, letters) in enumerate(stages):
        y = n - 1 - k
        last = letters.replace(" ", "").split(",")[-1]
        colour = colours.get(last, IO) if k else IO
        _box(ax, 0.2, y + 0.12, 5.6, 0.62, what, colour, fontsize=9,
             text_colour="white" if colour == LAYER else "black")
        ax.text(6.1, y + 0.43, f"({letters})", ha="left", va="center", fontsize=10, family="monospace")
        ax.text(8.2, y + 0.43, "(" + ", ".join(str(d) for d in shape) + ")", ha="left", va="center",
                fontsize=10, family="monospace", color="#555555")
        if k:
            _arrow(ax, 3.0, y + 0.93, 3.0, y + 0.74)
    ax.text(6.1, n - 0.05, "symbolic", fontsize=8.5, color="#555555")
    ax.text(8.2, n - 0.05, "this example", fontsize=8.5, color="#555555")
    fig.tight_layout()
    return fig


def _segment_row(ax, y, parts, label, note):
    """One example: a row of boxes, parts = [(text, colour)], with its label on the left."""
    x = 1.6
    ax.text(0.05, y + 0.3, label, ha="left", va="center", fontsize=9.5, fontweight="bold")
    for text, colour in parts:
        w = 0.6 if text in ("[CLS]", "[SEP]") else 1.9
        _box(ax, x, y, w, 0.6, text, colour, fontsize=7 if w < 1 else 9)
        x += w + 0.08
    ax.text(x + 0.15, y + 0.3, note, ha="left", va="center", fontsize=8.5)


def draw_sop_vs_nsp(a, b, other, width=34):
    """How the two sentence-pair tasks build their examples from a document with consecutive segments a, b
    and a segment `other` from a different document. SOP (ALBERT): both segments from the same document, the
    negative swaps them. NSP (BERT): the negative replaces b with a segment of another document, so it can
    be told apart by topic alone. Returns the figure."""
    def wrap(text):
        return "\n".join(textwrap.wrap(textwrap.shorten(text, width=2 * width, placeholder=" …"), width))

    A, B, C = "#a0cbe8", "#ffbe7d", "#d4a6c8"
    fig, ax = plt.subplots(figsize=(12, 5.2))
    ax.set_xlim(0, 12)
    ax.set_ylim(-0.2, 6.2)
    ax.axis("off")
    ax.set_title("Building a sentence-pair example: SOP (ALBERT) against NSP (BERT)", fontsize=11)
    ax.text(0.05, 5.4, "document 1", fontsize=9.5, fontweight="bold", va="center")
    _box(ax, 1.6, 4.95, 3.2, 0.9, "A: " + wrap(a), A, fontsize=8)
    _box(ax, 4.9, 4.95, 3.2, 0.9, "B: " + wrap(b), B, fontsize=8)
    _box(ax, 8.7, 4.95, 3.2, 0.9, "C: " + wrap(other), C, fontsize=8)
    ax.text(10.3, 6.0, "another document", fontsize=9.5, fontweight="bold", ha="center", va="center")
    ax.text(4.85, 6.0, "consecutive segments of one document", fontsize=9, ha="center", va="center")
    ax.plot([0.05, 11.9], [4.65, 4.65], color=GREY, lw=0.8)
    S = lambda t: (t, IO)                                                    # noqa: E731
    rows = [("SOP positive", [S("[CLS]"), ("A", A), S("[SEP]"), ("B", B), S("[SEP]")],
             "label 0: in order"),
            ("SOP negative", [S("[CLS]"), ("B", B), S("[SEP]"), ("A", A), S("[SEP]")],
             "label 1: swapped\n(same topic: only the order tells)"),
            ("NSP positive", [S("[CLS]"), ("A", A), S("[SEP]"), ("B", B), S("[SEP]")],
             "IsNext"),
            ("NSP negative", [S("[CLS]"), ("A", A), S("[SEP]"), ("C", C), S("[SEP]")],
             "NotNext\n(the topic changes: easy to tell)")]
    for k, (label, parts, note) in enumerate(rows):
        _segment_row(ax, 3.75 - 1.0 * k - (0.35 if k >= 2 else 0), parts, label, note)
    ax.plot([0.05, 11.9], [2.2, 2.2], color=GREY, lw=0.8, ls=":")
    fig.tight_layout()
    return fig
