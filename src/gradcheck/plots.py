"""Figures: learning curves, a confusion matrix, hidden units' weights as images.

matplotlib is imported inside each function (it is an optional dependency) and used
through ``matplotlib.figure.Figure`` alone, never pyplot, so no global backend is
switched and no window opens.  Every function writes its file atomically and returns
the path.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np

from gradcheck._files import atomic_path
from gradcheck.errors import ConfigError

__all__ = ["learning_curves", "confusion_matrix", "weight_grid", "plot_report"]

_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg", ".jpg": "jpg", ".jpeg": "jpg"}


def _figure(width: float, height: float):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ConfigError("plots need matplotlib; install it with pip install 'gradcheck[plot]'.") from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def check_format(path) -> str:
    """The image format a plot path asks for, by its suffix; ConfigError if there is none."""
    path = Path(path)
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the image format of {path}; end the name in "
                          f"{', '.join(_FORMATS)}.")
    return fmt


def _text(text, width_inches: float | None = None, size: float = 12) -> str:
    """User text (file names, class labels, block names) for a figure: a ``$`` is a dollar
    sign, not the start of TeX math (which fails to parse and would lose the finished work),
    and a long title is wrapped to ``width_inches`` instead of being cut at the edge.

    Only these texts are escaped: tick labels keep matplotlib's math (``10^{-1}`` on a log
    axis), which switching math off everywhere printed as ``$\\mathdefault{10^{-1}}$``.
    """
    text = str(text).replace("$", r"\$")
    if width_inches is None:
        return text
    columns = max(20, int(width_inches * 72 / (0.62 * size)))  # a character is ~0.6 em wide
    return "\n".join(textwrap.wrap(text, columns, break_long_words=True, break_on_hyphens=False))


def _save(fig, path) -> Path:
    path = Path(path)
    fmt = check_format(path)
    try:
        with atomic_path(path) as tmp:  # the name of tmp ends in .tmp, so say the format
            fig.savefig(tmp, format=fmt)
    except OSError as exc:
        raise ConfigError(f"cannot write the plot {path} ({exc.strerror or exc}); give a path in "
                          f"a writable directory.") from exc
    return path


def learning_curves(history, path, title: str = "") -> Path:
    """Loss and accuracy per epoch, training and validation; the best epoch marked.

    Parameters
    ----------
    history : History
    path : str or path-like
        Image file; the format follows the suffix (.png, .pdf, .svg).
    """
    if not len(history):
        raise ConfigError("the history has no epochs to plot; train for at least one epoch.")
    fig = _figure(10, 4)
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs = history["epoch"]
    for ax, column, name in ((loss_ax, "loss", "cost J"), (acc_ax, "accuracy", "accuracy")):
        for part, style in (("train", "-"), ("val", "--")):
            values = history[f"{part}_{column}"]
            if any(v is not None for v in values):
                ax.plot(epochs, [np.nan if v is None else v for v in values], style,
                        marker="o", markersize=3, label="training" if part == "train" else "validation")
        if history.best_epoch is not None:
            ax.axvline(history.best_epoch, color="grey", linestyle=":", label=f"best epoch ({history.best_epoch})")
        ax.set(xlabel="epoch", ylabel=name, title=name)
        ax.grid(alpha=0.3)
        ax.legend()
    loss_ax.set_yscale("log")  # costs fall over orders of magnitude; a log axis shows the tail
    if title:
        fig.suptitle(_text(title, fig.get_figwidth()))
    return _save(fig, path)


def confusion_matrix(confusion, path, labels=None, title: str = "") -> Path:
    """A heat map of ``confusion[true, predicted]`` with the counts written in.

    Parameters
    ----------
    confusion : array-like of int, shape (k, k)
    path : str or path-like
    labels : sequence of str, optional
    """
    confusion = np.asarray(confusion)
    k = len(confusion)
    labels = list(labels) if labels is not None else [str(i) for i in range(k)]
    fig = _figure(max(4.0, 1.0 + 0.6 * k), max(3.4, 0.6 + 0.6 * k))
    ax = fig.subplots()
    # rows normalised: a class with few samples shows its errors as clearly as a big one
    rates = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for i, j in np.ndindex(confusion.shape):
        if confusion[i, j]:
            ax.text(j, i, str(confusion[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    names = [_text(label) for label in labels]
    ax.set(xticks=range(k), yticks=range(k), xticklabels=names, yticklabels=names,
           xlabel="predicted", ylabel="true")
    # the figure's title, centred on the figure: the axes' one sits off-centre beside the colour bar
    fig.suptitle(_text(title or "confusion matrix", 0.95 * fig.get_figwidth()))
    if max((len(str(label)) for label in labels), default=0) > 3:
        ax.tick_params(axis="x", labelrotation=90)  # long class names side by side would overlap
    fig.colorbar(image, ax=ax, label="share of the true class", shrink=0.8)
    return _save(fig, path)


def weight_grid(W, image_shape, path, max_units: int = 100, order: str = "C", title: str = "") -> Path:
    """Each hidden unit's incoming weights drawn as an image, in a grid (the course's displayData).

    Parameters
    ----------
    W : array-like, shape (n_units, n_features)
        The first layer's weights ``W1``.
    image_shape : (int, int)
        ``(height, width)`` with ``height * width == n_features``.
    max_units : int
        Draw at most this many units (the first ones).
    order : {"C", "F"}
        How a row of pixels is laid out (``"F"`` for MATLAB data).
    """
    W = np.asarray(W, dtype=float)[:max_units]
    h, w = image_shape
    if h * w != W.shape[1]:
        raise ConfigError(f"image_shape {tuple(image_shape)} does not hold the {W.shape[1]} "
                          f"input weights of a unit; give (height, width) with that product.")
    cols = math.ceil(math.sqrt(len(W)))
    rows = math.ceil(len(W) / cols)
    fig = _figure(cols * 0.8 + 0.4, rows * 0.8 + 0.6)
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, unit in zip(axes, range(len(axes))):
        ax.set_axis_off()
        if unit < len(W):
            # each unit on its own symmetric scale: what matters is its pattern, not its norm
            limit = np.abs(W[unit]).max() or 1.0
            ax.imshow(W[unit].reshape((h, w), order=order), cmap="gray", vmin=-limit, vmax=limit)
    fig.suptitle(_text(title, fig.get_figwidth()) if title else f"input weights of {len(W)} hidden units")
    return _save(fig, path)


# --- the gradient doctor's picture ------------------------------------------------------

def _linthresh(values: np.ndarray) -> float:
    """The linear zone of a symlog axis: around the small end of the nonzero magnitudes."""
    mags = np.abs(values[np.isfinite(values) & (values != 0)])
    # a whole decade, so the tick labels at +-linthresh sit on round numbers
    return float(10.0 ** np.floor(np.log10(np.percentile(mags, 5)))) if mags.size else 1.0


def _scatter_block(ax, report, block) -> None:
    a, n = report.analytic[block.slice], report.numerical[block.slice]
    keep = np.isfinite(a) & np.isfinite(n)
    lim = float(np.max(np.abs(np.r_[a[keep], n[keep]]), initial=1e-12)) * 1.1
    ax.plot([-lim, lim], [-lim, lim], color="green", lw=0.8, label="y = x (agree)")
    ax.plot([-lim, lim], [lim, -lim], color="red", lw=0.8, ls="--", label="y = -x (sign flip)")
    excluded = report.excluded[block.slice]
    ax.scatter(n[keep & ~excluded], a[keep & ~excluded], s=12, label="coordinates")
    if np.any(excluded & keep):
        ax.scatter(n[excluded & keep], a[excluded & keep], s=20, marker="x", label="excluded (kink)")
    thresh = _linthresh(np.r_[a[keep], n[keep]])
    ax.set_xscale("symlog", linthresh=thresh, linscale=1.5)  # room for the labels around 0
    ax.set_yscale("symlog", linthresh=thresh, linscale=1.5)
    # a decade per tick over both signs is a dozen labels: upright, they run into each other
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.set(xlabel="numerical", ylabel="analytic")
    ax.set_title(_text(f"{block.name} {'x'.join(map(str, block.shape))}", 3.2, 10), fontsize=10)
    ax.grid(alpha=0.3)


def plot_report(report, path=None):
    """Analytic vs numerical per block on symlog axes, and each block's relative error.

    The y = x line is agreement and y = -x a sign flip; a straight line of another slope
    is a scale factor.  Returns the path written, or the Figure when ``path`` is None.

    Parameters
    ----------
    report : GradientReport
    path : str or path-like, optional
    """
    blocks = report.blocks
    cols = min(len(blocks), 3) + 1
    rows = math.ceil(len(blocks) / (cols - 1))
    fig = _figure(3.6 * cols, 3.4 * rows)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, block in enumerate(blocks):
        _scatter_block(axes[k // (cols - 1), k % (cols - 1)], report, block)
    axes[0, 0].legend(fontsize=7)
    errors = report.block_errors
    bars = axes[0, -1]
    heights = [errors[b.name] if np.isfinite(errors[b.name]) and errors[b.name] > 0 else np.nan
               for b in blocks]
    bars.bar(range(len(blocks)), heights, color=["tab:green" if h <= report.tolerance else "tab:red"
                                                       for h in np.nan_to_num(heights, nan=np.inf)])
    bars.axhline(report.tolerance, color="grey", ls=":", label=f"tolerance {report.tolerance:g}")
    bars.set_xticks(range(len(blocks)), [_text(b.name) for b in blocks], rotation=90, fontsize=8)
    bars.set_yscale("log")
    bars.set(title="relative error per block", ylabel="||a - n|| / max(||a||, ||n||)")
    bars.legend(fontsize=7)
    used = {id(bars)} | {id(axes[k // (cols - 1), k % (cols - 1)]) for k in range(len(blocks))}
    for ax in axes.ravel():
        if id(ax) not in used:
            ax.set_axis_off()
    codes = ", ".join(dict.fromkeys(d.code for d in report.diagnoses)) or "none"
    fig.suptitle(_text(f"gradient check: {report.verdict} (relative error {report.relative_error:.2e}); "
                       f"findings: {codes}", fig.get_figwidth()))
    return fig if path is None else _save(fig, path)
