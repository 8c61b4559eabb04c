"""Reliability (issue 14), first use: every plot renders its tick labels (log axes printed raw
TeX), none overlapping, and its titles inside the figure.
"""
from __future__ import annotations

import numpy as np
import pytest

from cli_run import cli
from gradcheck.errors import ExitStatus


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    X = rng.integers(0, 256, (60, 16))
    np.savetxt(tmp_path / "small.csv", np.hstack([y[:, None], X]), fmt="%d", delimiter=",")
    return tmp_path / "small.csv"


@pytest.fixture
def saved_figures(monkeypatch):
    """Every matplotlib Figure saved during the test, drawn, with its renderer."""
    from matplotlib.figure import Figure

    saved = []
    real = Figure.savefig

    def savefig(self, *args, **kwargs):
        real(self, *args, **kwargs)  # draws the figure: ticks and texts are final
        saved.append(self)

    monkeypatch.setattr(Figure, "savefig", savefig)
    return saved


def _overlaps(boxes) -> list:
    return [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1]


def _check_texts(fig):
    """Tick labels rendered as math (never raw TeX), none overlapping on an axis, and every
    title inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    figure_box = fig.bbox
    problems = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_visible() and t.get_text()]
            for t in labels:
                if "$" in t.get_text() and not t.get_parse_math():
                    problems.append(f"raw tick label {t.get_text()!r}")
            boxes = [t.get_window_extent(renderer) for t in labels]
            if _overlaps(boxes):
                problems.append(f"overlapping tick labels {[t.get_text() for t in labels]}")
        title = ax.title
        if title.get_text():
            box = title.get_window_extent(renderer)
            if box.x0 < figure_box.x0 - 1 or box.x1 > figure_box.x1 + 1:
                problems.append(f"title cut: {title.get_text()!r}")
    if fig._suptitle is not None:
        box = fig._suptitle.get_window_extent(renderer)
        if box.x0 < figure_box.x0 - 1 or box.x1 > figure_box.x1 + 1:
            problems.append(f"suptitle cut: {fig._suptitle.get_text()!r}")
    return problems


def _doctor_report():
    from gradcheck import check_arrays

    rng = np.random.default_rng(0)
    numerical = rng.standard_normal(38) * np.logspace(-6, 1, 38)
    analytic = numerical.copy()
    analytic[20:] *= -1  # a sign flip in the last two blocks
    blocks = {"Theta1": (5, 4), "Theta1_bias$": (3, 1), "Theta2": (3, 5)}
    return check_arrays(numerical, analytic, blocks)


def test_every_plot_renders_its_tick_labels_and_titles(tmp_path, saved_figures, small_csv):
    """Before: log axes printed ``$\\mathdefault{10^{-1}}$``; the doctor plot's x ticks
    overlapped and its title was cut."""
    from gradcheck import plots

    code, _, err = cli(["train", "--data", small_csv, "--hidden", "4", "--epochs", "5",
                        "--out", tmp_path / "m.npz", "--plot", tmp_path / "curves.png"])
    assert code == ExitStatus.OK, err
    assert cli(["evaluate", tmp_path / "m.npz", "--plot", tmp_path / "confusion.png"])[0] == 0
    plots.weight_grid(np.random.default_rng(0).standard_normal((9, 16)), (4, 4), tmp_path / "w.png")
    _doctor_report().plot(tmp_path / "doctor.png")
    assert len(saved_figures) == 4
    problems = {i: _check_texts(fig) for i, fig in enumerate(saved_figures)}
    assert not any(problems.values()), "\n".join(f"{i}: {p}" for i, ps in problems.items() for p in ps)
    log_labels = [t.get_text() for t in saved_figures[0].axes[0].yaxis.get_ticklabels()]
    assert any("10^{" in text for text in log_labels), log_labels  # the loss axis is logarithmic

