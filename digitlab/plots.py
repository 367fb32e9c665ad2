"""Plots for notebooks and model folders; each function returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A Figure not registered with pyplot, so scripts and servers never leak windows."""
    return Figure(figsize=(width, height), layout="constrained")


def close(figure: Figure) -> None:
    """Release a figure's memory."""
    figure.clear()


def plot_confusion_matrix(evaluation, normalise: bool = False) -> Figure:
    """Confusion matrix heat map with counts written in the cells."""
    matrix = evaluation.confusion_matrix().astype(float)
    if normalise:
        matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = new_figure(6, 5.2)
    axes = figure.add_subplot()
    shown = np.log1p(matrix) if not normalise else matrix
    image = axes.imshow(shown, cmap="Blues")
    for row in range(10):
        for column in range(10):
            value = matrix[row, column]
            if value:
                text = f"{value:.2f}" if normalise else f"{int(value)}"
                colour = "white" if shown[row, column] > shown.max() * 0.6 else "black"
                axes.text(column, row, text, ha="center", va="center", fontsize=7, color=colour)
    axes.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
             title=f"Confusion matrix (accuracy {evaluation.accuracy:.2%})")
    figure.colorbar(image, ax=axes, shrink=0.8, label="log(1 + count)" if not normalise else "share")
    return figure


def plot_per_class(evaluation) -> Figure:
    """Precision and recall per digit as grouped bars."""
    rows = evaluation.per_class()
    digits = np.arange(10)
    figure = new_figure(7, 3.2)
    axes = figure.add_subplot()
    axes.bar(digits - 0.2, [r["precision"] for r in rows], width=0.4, label="precision")
    axes.bar(digits + 0.2, [r["recall"] for r in rows], width=0.4, label="recall")
    low = min(min(r["precision"], r["recall"]) for r in rows)
    axes.set(xticks=digits, xlabel="digit", ylim=(max(0.0, low - 0.01), 1.0005),
             title="Per-class precision and recall")
    axes.legend(loc="lower right")
    return figure


def plot_reliability(evaluation, bins: int = 15) -> Figure:
    """Reliability diagram: accuracy against confidence per bin, with the ECE."""
    rows = [row for row in evaluation.reliability(bins) if row["count"]]
    figure = new_figure(4.5, 4.5)
    axes = figure.add_subplot()
    axes.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    axes.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], "o-", label="model")
    for row in rows:
        axes.annotate(str(row["count"]), (row["confidence"], row["accuracy"]), fontsize=6,
                      textcoords="offset points", xytext=(3, -8))
    axes.set(xlabel="confidence", ylabel="accuracy", xlim=(0, 1.01), ylim=(0, 1.01),
             title=f"Reliability (ECE {evaluation.expected_calibration_error(bins):.4f})")
    axes.legend(loc="upper left")
    return figure


def plot_mistakes(evaluation, limit: int = 24, columns: int = 8) -> Figure:
    """Gallery of the most confident mistakes with true / predicted / confidence."""
    mistakes = evaluation.mistakes(limit)
    rows = max(1, int(np.ceil(len(mistakes) / columns)))
    figure = new_figure(columns * 1.1, rows * 1.3)
    figure.suptitle(f"{len(mistakes)} most confident mistakes")
    for position, mistake in enumerate(mistakes):
        axes = figure.add_subplot(rows, columns, position + 1)
        axes.imshow(evaluation.images[mistake["index"]], cmap="gray_r")
        axes.set_title(f"{mistake['true']}→{mistake['predicted']} {mistake['confidence']:.0%}", fontsize=8)
        axes.axis("off")
    return figure


def plot_training_curves(history: dict) -> Figure:
    """Loss and accuracy per epoch for training and validation."""
    figure = new_figure(9, 3.2)
    for position, metric in enumerate(("loss", "accuracy")):
        axes = figure.add_subplot(1, 2, position + 1)
        for key, style in ((metric, "-"), (f"val_{metric}", "--")):
            if key in history:
                epochs = np.arange(1, len(history[key]) + 1)
                axes.plot(epochs, history[key], style, marker="o", markersize=3, label=key)
        axes.set(xlabel="epoch", title=metric)
        axes.legend()
    return figure


def plot_digits(images, labels=None, columns: int = 10, title: str | None = None) -> Figure:
    """A grid of 28x28 digits with optional captions."""
    images = list(images)
    rows = max(1, int(np.ceil(len(images) / columns)))
    figure = new_figure(columns * 0.9, rows * 1.0 + (0.3 if title else 0))
    if title:
        figure.suptitle(title)
    for position, image in enumerate(images):
        axes = figure.add_subplot(rows, columns, position + 1)
        axes.imshow(np.asarray(image).reshape(np.asarray(image).shape[:2]), cmap="gray_r")
        if labels is not None:
            axes.set_title(str(labels[position]), fontsize=8)
        axes.axis("off")
    return figure


def plot_seed_summary(results: dict[str, list[float]], metric: str = "MNIST test accuracy",
                      title: str = "Accuracy over seeds (mean ± std)") -> Figure:
    """Per-setting accuracy over seeds (test, or validation for sweeps): mean ± std bars with
    the individual runs."""
    figure = new_figure(5, 3.2)
    axes = figure.add_subplot()
    for position, values in enumerate(results.values()):
        values = np.asarray(values)
        std = values.std(ddof=1) if len(values) > 1 else 0.0
        axes.bar(position, values.mean(), yerr=std, capsize=6, alpha=0.6)
        axes.scatter(np.full(len(values), position), values, color="black", s=12, zorder=3)
        axes.annotate(f"{values.mean():.2%}±{std:.2%}", (position, values.mean()),
                      textcoords="offset points", xytext=(0, 10), ha="center", fontsize=8)
    low = min(min(v) for v in results.values())
    axes.set(xticks=range(len(results)), xticklabels=list(results), ylabel=metric,
             ylim=(low - 0.005, 1.0), title=title)
    return figure


def plot_saliency(probabilities, images, titles=None, columns: int = 6) -> Figure:
    """Each image beside its occlusion map (red: covering it costs the predicted digit most)."""
    from digitlab.saliency import occlusion_map

    images = list(images)
    rows = max(1, int(np.ceil(len(images) / columns)))
    figure = new_figure(columns * 2.2, rows * 1.3)
    figure.suptitle("What the model looks at (occlusion: probability lost when covered)")
    for position, image in enumerate(images):
        saliency, digit = occlusion_map(probabilities, image)
        for offset, (shown, colours) in enumerate(((image, "gray_r"), (saliency, "RdBu_r"))):
            axes = figure.add_subplot(rows, 2 * columns, 2 * position + offset + 1)
            limit = max(float(np.abs(saliency).max()), 1e-6)
            axes.imshow(shown, cmap=colours, **({"vmin": -limit, "vmax": limit} if offset else {}))
            axes.axis("off")
        axes.set_title(titles[position] if titles else f"as {digit}", fontsize=8)
    return figure
