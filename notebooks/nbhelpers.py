"""Drawing helpers for the teaching notebooks: the long matplotlib code lives here, so that a notebook cell
says what is drawn in one call and the lesson stays readable. The notebooks run with notebooks/ as their
working directory and import this module as `nbhelpers`. Nothing here computes a result: every number a
figure shows is passed in by the notebook, which asserts it against the library first.

- `draw_bert_vs_albert(...)`: BERT's V×H table and L separate layers next to ALBERT's V×E table, its E→H
  projection and one layer applied L times (notebook 01).
- `draw_shapes(stages)`: the shape of the data at each step from (B, T) ids to (B, T, V) logits (notebook 01).
- `draw_sop_vs_nsp(a, b, other)`: how a sentence-order (SOP) and a next-sentence (NSP) example are built
  from the same document (notebook 06).
- `plot_group_grid`, `plot_layer_transitions`, `plot_unrolled_steps`: which group each layer position runs,
  and how far each layer moves its input (notebook 02).
- `plot_qkv_layout`, `attention_heatmaps`, `plot_padding_leak`, `plot_entropy_vs_head_size`: the fused QKV
  columns, attention maps, what the padding mask changes, and the 1/√HS scaling (notebook 03).
- `draw_masked_paragraph`, `plot_ngram_shares`, `plot_loss_curves`, `show_image`: n-gram masking, its
  statistics, and loss curves with baselines (notebook 06).
"""
from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.ticker import NullFormatter

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


# ---------------------------------------------------------------------------------------------------------
# Shared pieces of the data plots
# ---------------------------------------------------------------------------------------------------------

def _log_axis(ax, axis="y"):
    """Put a log scale on `axis` whose tick labels are plain numbers (0.5, 1, 2, 5, 10, ...), not powers of
    ten, so that a curve spanning one or two decades still reads off directly."""
    getattr(ax, f"set_{axis}scale")("log")
    lo, hi = getattr(ax, f"get_{axis}lim")()
    steps = (1, 2, 5) if hi / lo > 100 else (1, 2, 3, 5, 7)          # finer ticks on a short log axis
    ticks = [m * 10.0 ** e for e in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1)
             for m in steps if lo <= m * 10.0 ** e <= hi]
    if len(ticks) >= 2:
        getattr(ax, f"set_{axis}ticks")(ticks, [f"{t:g}" for t in ticks])
        getattr(ax, f"{axis}axis").set_minor_formatter(NullFormatter())


def _heatmap(ax, A, title, labels, ylabel=True, cmap="viridis", vmin=0.0, vmax=None):
    """One (query × key) map with token labels on both axes; returns the image for a colourbar."""
    im = ax.imshow(A, cmap=cmap, vmin=vmin, vmax=A.max() if vmax is None else vmax)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("key (token attended to)")
    if ylabel:
        ax.set_ylabel("query (token attending)")
    ax.set_title(title, fontsize=10)
    return im


# ---------------------------------------------------------------------------------------------------------
# Notebook 02: cross-layer sharing
# ---------------------------------------------------------------------------------------------------------

def plot_group_grid(choices, grid):
    """Which group each layer position runs: one row per (L, G) in `choices`, one cell per position with
    the group index written in it and coloured by it. grid: (len(choices), max L), NaN past a row's L.
    Returns the figure."""
    n_rows, n_cols = grid.shape
    fig, ax = plt.subplots(figsize=(10, 0.4 * n_rows + 1.0))
    ax.imshow(grid, cmap=ListedColormap(plt.cm.tab20.colors[:12]), vmin=-0.5, vmax=11.5, aspect="auto")
    for r in range(n_rows):
        for i in range(n_cols):
            if not np.isnan(grid[r, i]):
                ax.text(i, r, int(grid[r, i]), ha="center", va="center", fontsize=9)
    ax.set_xticks(range(n_cols))
    ax.set_yticks(range(n_rows), [f"L={L}, G={G} (L/G={L / G:.3g})" for L, G in choices])
    ax.set(title="Group run by each layer position: int(i / (L / G))  (cell text = group index)",
           xlabel="layer position i (0-based)")
    ax.set_xticks(np.arange(-0.5, n_cols), minor=True)
    ax.set_yticks(np.arange(-0.5, n_rows), minor=True)
    ax.grid(which="minor", color="white", lw=2)
    ax.tick_params(which="minor", length=0)
    fig.tight_layout()
    return fig


def plot_layer_transitions(results):
    """The paper's Figure 1 measurement, one curve per model: left, the mean L2 distance between each
    layer's input and output (log scale: trained and random models differ by more than a factor of ten);
    right, the mean cosine similarity, with the same values as angles on a second axis.
    results: {name: (L, 3) array of L2 distance, cosine, angle per layer}. Returns the figure."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.3))
    styles = [dict(marker="o", ls="-", ms=7), dict(marker="s", ls="-", ms=9, alpha=0.7),
              dict(marker="D", ls="--", ms=4), dict(marker="^", ls=":", ms=6)]
    for (name, r), st in zip(results.items(), styles):
        x = np.arange(len(r))
        ax1.plot(x, r[:, 0], label=name, **st)
        ax2.plot(x, r[:, 1], label=name, **st)
    _log_axis(ax1)
    ax1.set(title="L2 distance between a layer's input and output", xlabel="layer index (0-based)",
            ylabel="mean L2 distance per token (log scale)")
    ax2.set(title="Cosine similarity between a layer's input and output", xlabel="layer index (0-based)",
            ylabel="mean cosine similarity per token")
    sec = ax2.secondary_yaxis("right", functions=(lambda c: np.degrees(np.arccos(np.clip(c, -1, 1))),
                                                  lambda d: np.cos(np.radians(d))))
    sec.set_ylabel("the same axis as an angle (degrees)")
    lo, hi = ax2.get_ylim()
    ticks, last = [], -np.inf
    for deg in (90, 60, 50, 40, 30, 20, 10, 5, 2, 1, 0):     # bottom to top; keep ticks apart
        c = np.cos(np.radians(deg))
        if lo <= c <= hi and c - last >= 0.07 * (hi - lo):
            ticks.append(deg)
            last = c
    sec.set_yticks(ticks)
    for ax in (ax1, ax2):
        ax.set_xticks(range(max(len(r) for r in results.values())))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_unrolled_steps(runs, trained_depth):
    """One shared layer applied more often than it was trained for: per application, the mean L2 step
    (log scale) and the mean angle step, one curve per run, the trained depth shaded.
    runs: {name: (n, 3) array of L2 distance, cosine, angle per application}. Returns the figure."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.0))
    n = max(len(r) for r in runs.values())
    for (name, r), mk in zip(runs.items(), "osD^"):
        ax1.plot(r[:, 0], marker=mk, ms=4, label=name)
        ax2.plot(r[:, 2], marker=mk, ms=4, label=name)
    _log_axis(ax1)
    for ax in (ax1, ax2):
        ax.axvspan(-0.5, trained_depth - 0.5, color="0.9", zorder=0, label="trained depth")
        ax.set_xlabel("application of the shared layer (0-based)")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    ax1.set(title=f"One shared layer applied {n} times: L2 step", ylabel="mean L2 distance per token (log scale)")
    ax2.set(title=f"One shared layer applied {n} times: angle step", ylabel="mean angle per token (degrees)")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------
# Notebook 03: attention
# ---------------------------------------------------------------------------------------------------------

def plot_qkv_layout(H, NH, HS):
    """Where each column of the fused (B, T, 3H) projection output goes: [Q | K | V], each split into NH
    heads of HS columns, one cell per column labelled q/k/v and head index. Returns the figure."""
    part = np.repeat(np.arange(3), H)                       # 0 q, 1 k, 2 v
    head = np.tile(np.repeat(np.arange(NH), HS), 3)         # head of each column
    fig, ax = plt.subplots(figsize=(10, 1.9))
    ax.imshow((part * NH + head)[None, :], cmap="tab10", aspect="auto", vmin=0, vmax=9)
    for c in range(3 * H):
        ax.text(c, 0, f"{'qkv'[part[c]]}{head[c]}", ha="center", va="center", fontsize=8)
    ax.set_yticks([])
    ax.set_xticks(np.arange(0, 3 * H, HS))
    ax.set_xlabel(f"column of the fused projection output (3H = {3 * H}); label = q/k/v and head index")
    ax.set_title(f"Fused QKV layout: [Q | K | V], each split into NH = {NH} heads of HS = {HS} columns")
    fig.tight_layout()
    return fig


def attention_heatmaps(maps, titles, labels, suptitle="", ncols=2):
    """A grid of attention maps (rows: queries, columns: keys), each panel with its own colour scale from
    0 to its largest probability and its own colourbar, so that a head spreading its attention thinly is
    as readable as a sharp one. maps: sequence of (T, T) arrays; labels: the T token strings.
    Returns the figure."""
    n = len(maps)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    side = 2.2 + 0.24 * len(labels)                         # inches per panel: room for the token labels
    fig, axes = plt.subplots(nrows, ncols, figsize=((side + 1.0) * ncols, side * nrows + 0.6),
                             squeeze=False, constrained_layout=True)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        im = _heatmap(ax, maps[k], titles[k], labels, ylabel=k % ncols == 0)
        fig.colorbar(im, ax=ax, shrink=0.8, label="attention probability")
    if suptitle:
        fig.suptitle(suptitle + "\n(colour scale per panel: 0 to the panel's largest probability)")
    return fig


def plot_padding_leak(with_mask, without_mask, labels, n_real, hs_with, hs_without, layer, head=0,
                      bound=1e-12, floor=1e-17, suptitle=""):
    """What the padding mask does, for one sentence padded to T positions: its attention map with the
    mask, without it, and the difference (without − with; orange: probability that moved onto a key,
    purple: probability taken away), each with its own colour scale, the real/pad boundaries drawn in
    as red lines; and, per
    layer output, the largest change at the real positions against the sentence run alone (log scale,
    an exact 0 drawn at `floor`). Returns the figure."""
    fig, axes = plt.subplots(2, 2, figsize=(14, 13.5), constrained_layout=True)
    (a_with, a_without), (a_diff, a_line) = axes
    im = _heatmap(a_with, with_mask, f"with the mask: layer {layer}, head {head}", labels)
    fig.colorbar(im, ax=a_with, shrink=0.8, label="attention probability")
    im = _heatmap(a_without, without_mask, f"without the mask: layer {layer}, head {head}", labels, ylabel=False)
    fig.colorbar(im, ax=a_without, shrink=0.8, label="attention probability")
    diff = without_mask - with_mask
    m = float(np.abs(diff).max()) or 1.0
    im = _heatmap(a_diff, diff, f"difference, without − with the mask: layer {layer}, head {head}", labels,
                  cmap="PuOr_r", vmin=-m, vmax=m)
    fig.colorbar(im, ax=a_diff, shrink=0.8, label="change in probability (orange: gained)")
    for ax in (a_with, a_without, a_diff):
        ax.axvline(n_real - 0.5, color="red", lw=1.5)
        ax.axhline(n_real - 0.5, color="red", lw=1.5, ls=":")
    ks = np.arange(1, len(hs_with))
    a_line.semilogy(ks, np.maximum(hs_with[1:], floor), "o-", label="with the mask")
    a_line.semilogy(ks, np.maximum(hs_without[1:], floor), "s-", label="without the mask")
    a_line.axhline(bound, color="gray", ls="--", lw=1, label=f"assert bound {bound:g}")
    a_line.set_xticks(ks)
    a_line.set_xlabel("layer output (hidden_states[k])")
    a_line.set_ylabel("max |h(padded batch) - h(alone)|, real positions")
    a_line.set_title("Does padding change the real tokens?")
    a_line.grid(alpha=0.3)
    a_line.legend()
    a_line.set_box_aspect(1)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_entropy_vs_head_size(sizes, entropies, T):
    """Mean attention entropy against the head size HS (log axis), one curve per variant in
    `entropies` ({name: values per size}), with log T, the entropy of attending evenly, dashed.
    Returns the figure."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    for name, vals in entropies.items():
        ax.plot(sizes, vals, "o-", label=name)
    ax.axhline(np.log(T), color="gray", ls="--", lw=1, label=f"uniform over T = {T}: log T")
    ax.set(xscale="log", xlabel="head size HS", ylabel="mean attention entropy (nats)", ylim=(0, np.log(T) * 1.1),
           title="Random q, k: the 1/√HS scaling keeps the softmax from saturating")
    ax.set_xticks(sizes, [str(h) for h in sizes])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------------
# Notebook 06: pretraining
# ---------------------------------------------------------------------------------------------------------

MASK_BOX = {"mask": ("#e45756", "→ [MASK] (80 %)"), "random": ("#f2a541", "→ random piece (10 %)"),
            "kept": ("#59a14f", "kept as is (10 %)")}
NGRAM_COLOURS = {1: "#4e79a7", 2: "#b07aa1", 3: "#222222"}


def _flow_pieces(original, shown, special, width):
    """Flow the pieces the model sees into rows of `width` character cells: [(text, x0, x1, row)].
    Spaces come from the ORIGINAL pieces ("▁" = a new word), so a replaced piece keeps its place."""
    texts = [s.lstrip("▁") or "▁" for s in shown]                   # a lone "▁" piece is shown as itself
    starts_word = [o.startswith("▁") or i == 0 or special[i] or special[i - 1] for i, o in enumerate(original)]
    x, row, cells = 0, 0, []
    for i, s in enumerate(texts):
        if starts_word[i]:
            j = i + 1
            while j < len(texts) and not starts_word[j]:
                j += 1
            word_len = sum(len(t) for t in texts[i:j])
            if x > 0 and x + 1 + word_len > width:                 # wrap before a word, never inside one
                x, row = 0, row + 1
            elif x > 0:
                x += 1                                              # the space between two words
        cells.append((s, x, x + len(s), row))
        x += len(s)
    return cells


def draw_masked_paragraph(original, shown, special, outcome, spans, title, width=110):
    """A paragraph as the model sees it after n-gram masking, in monospace rows: each chosen piece boxed
    in the colour of what became of it ([MASK], a random piece, kept), each n-gram span underlined in the
    colour of its n. original / shown: the piece strings before / after masking; special: a bool per
    piece; outcome: per piece "mask", "random", "kept" or "" (not chosen); spans: [(first piece, last
    piece, n)]. Returns the figure."""
    ROW = 2.4                                                        # vertical distance between rows
    cells = _flow_pieces(original, shown, special, width)
    n_rows = cells[-1][3] + 1
    fig, ax = plt.subplots(figsize=(13, 0.62 * n_rows + 1.3))
    ax.set_xlim(-1, width + 1)
    ax.set_ylim(-(n_rows - 1) * ROW - 1.6, 1.2)
    ax.axis("off")
    fig.tight_layout()
    # font size whose monospace advance (0.6 em) is exactly one character cell of the axes
    cell_pt = ax.get_position().width * fig.get_figwidth() * 72 / (width + 2)
    for i, (s, x0, x1, row) in enumerate(cells):
        style = (dict(boxstyle="square,pad=0.1", fc=MASK_BOX[outcome[i]][0], ec="none", alpha=0.85)
                 if outcome[i] else None)
        ax.text(x0, -row * ROW, s, family="DejaVu Sans Mono", fontsize=cell_pt / 0.602, va="center", ha="left",
                bbox=style)
    for first, last, n in spans:                                     # underline each span, row by row
        for r in sorted({cells[i][3] for i in range(first, last + 1)}):
            on_row = [cells[i] for i in range(first, last + 1) if cells[i][3] == r]
            ax.plot([on_row[0][1], on_row[-1][2]], [-r * ROW - 0.9] * 2, color=NGRAM_COLOURS[n], lw=2.4,
                    solid_capstyle="butt")
    ax.legend(handles=[Patch(color=c, label=lab) for c, lab in MASK_BOX.values()] +
                      [Line2D([], [], color=c, lw=2.4, label=f"{n}-gram span") for n, c in NGRAM_COLOURS.items()],
              loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=6, frameon=False, fontsize=10)
    ax.set_title(title, fontsize=12)
    return fig


def plot_ngram_shares(recipe, first, all_spans, n_first, n_all, tolerance):
    """Bars per n-gram length n = 1, 2, ...: the recipe's p(n), the measured share of the first span of
    each sequence (its tolerance drawn as an error bar around p(n)) and the share among all spans.
    Returns the figure."""
    fig, ax = plt.subplots(figsize=(7, 4))
    xs = np.arange(1, len(recipe) + 1)
    ax.bar(xs - 0.27, recipe, width=0.26, color="#bbbbbb", label="recipe p(n) ∝ 1/n")
    ax.bar(xs, first, width=0.26, color="#4e79a7", label=f"first span per sequence (N = {n_first:,})")
    ax.bar(xs + 0.27, all_spans, width=0.26, color="#f28e2b", label=f"all spans (N = {n_all:,})")
    ax.errorbar(xs, recipe, yerr=tolerance, fmt="none", ecolor="black", capsize=5,
                label="tolerance for the blue bars: p(n) ± 4 s.e.")
    ax.set_xticks(xs, [f"n = {n}" for n in xs])
    ax.set_xlabel("n-gram length (whole words)")
    ax.set_ylabel("share of masked spans")
    ax.set_title("Masked span lengths on the held-out text vs p(n) ∝ 1/n")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_loss_curves(loss, smooth=8, baselines=None, title="", label="train loss per step"):
    """A training loss per optimizer step (thin), its moving average over `smooth` steps (thick), and the
    reference levels in `baselines` ({label: loss}, e.g. a uniform or a unigram guess) as labelled
    horizontal lines. Returns the figure."""
    loss = np.asarray(loss, dtype=float)
    steps = np.arange(1, len(loss) + 1)
    fig, ax = plt.subplots(figsize=(8, 4.8), layout="constrained")
    ax.plot(steps, loss, lw=1, color="#4e79a7", alpha=0.6, label=label)
    if smooth and len(loss) >= smooth:
        ax.plot(steps[smooth - 1:], np.convolve(loss, np.ones(smooth) / smooth, "valid"), lw=2.2,
                color="#e15759", label=f"moving average over {smooth} steps")
    for (name, value), ls in zip((baselines or {}).items(), ("--", ":", "-.", (0, (5, 1, 1, 1)))):
        ax.axhline(value, ls=ls, lw=1.4, color="0.35", label=f"{name} = {value:.2f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncol=2, fontsize=9, frameon=False)   # below: the curves stay clear
    return fig


def plot_bundled_run(loss, median, evals, dips, mlm_baseline, title=""):
    """The bundled model's run: (left) training loss per step, its running median (`median`: one value per
    full window, centred, as the notebook computes it) and the held-out loss,
    the steps found as dips marked; (right) held-out MLM and SOP accuracy with their no-context baselines
    (always the commonest piece; a coin flip for SOP). Returns the figure."""
    loss = np.asarray(loss, dtype=float)
    steps = np.arange(1, len(loss) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.2))
    ax1.plot(steps, loss, lw=0.5, color="#4e79a7", alpha=0.5, label="train loss per step (MLM + SOP)")
    k = len(loss) - len(median) + 1                                 # the window the median was taken over
    ax1.plot(steps[k // 2:k // 2 + len(median)], median, lw=2, color="#e15759", label=f"running median over {k} steps")
    ax1.plot([e["step"] for e in evals], [e["eval_loss"] for e in evals], "o", ms=3, color="black",
             label="held-out loss")
    if len(dips):
        ax1.plot(dips, loss[np.asarray(dips) - 1], "v", ms=6, color="#f28e2b", label="dips: 1.5 nats under the median")
    ax1.set(xlabel="optimizer step", ylabel="loss (nats)", title="Training and held-out loss")
    ax1.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ev_steps = [e["step"] for e in evals]
    ax2.plot(ev_steps, [e["mlm_accuracy"] for e in evals], "o-", ms=3, label="held-out MLM accuracy")
    ax2.plot(ev_steps, [e["sop_accuracy"] for e in evals], "s-", ms=3, label="held-out SOP accuracy")
    ax2.axhline(mlm_baseline, ls="--", color="C0", alpha=0.7, label=f"MLM: always the commonest piece ({mlm_baseline:.2f})")
    ax2.axhline(0.5, ls=":", color="C1", alpha=0.9, label="SOP: a coin flip (0.50)")
    ax2.set(xlabel="optimizer step", ylabel="accuracy", ylim=(0, 1), title="Held-out accuracy")
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8, loc="upper left")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_image(path, title, width=11):
    """A saved PNG (e.g. the loss plot a trainer wrote) shown as is, without axes, under `title`.
    Returns the figure."""
    img = plt.imread(path)
    fig, ax = plt.subplots(figsize=(width, width * img.shape[0] / img.shape[1]))
    ax.imshow(img)
    ax.axis("off")
    ax.set_title(title)
    fig.tight_layout()
    return fig
