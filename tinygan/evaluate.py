"""How well the categorical code recovers the classes: Q's arg-max category on labelled
images, matched one-to-one to the classes by the Hungarian algorithm."""
import numpy as np


def confusion(pred, labels, n_cat, n_classes):
    """counts[y, k] = number of images of class y put in category k.  (n_classes, n_cat)"""
    flat = np.asarray(labels, np.int64) * n_cat + np.asarray(pred, np.int64)
    return np.bincount(flat, minlength=n_classes * n_cat).reshape(n_classes, n_cat)


def cluster_accuracy(pred, labels, n_cat, n_classes=10):
    """Best one-to-one assignment of categories to classes (Hungarian, maximising the
    matches); images in unmatched categories count as errors.

    Returns dict with accuracy, the mapping category -> class (-1 if unmatched),
    the many-to-one accuracy (each category to its majority class) and the counts.
    """
    from scipy.optimize import linear_sum_assignment
    pred, labels = np.asarray(pred), np.asarray(labels)
    if pred.shape != labels.shape or pred.ndim != 1:
        raise ValueError(f"pred and labels must be 1-D and the same length, got {pred.shape}, {labels.shape}")
    if len(pred) == 0:
        raise ValueError("no images to evaluate")
    counts = confusion(pred, labels, n_cat, n_classes)
    rows, cols = linear_sum_assignment(counts, maximize=True)      # classes rows, categories cols
    mapping = np.full(n_cat, -1, np.int64)
    mapping[cols] = rows
    return {"accuracy": float(counts[rows, cols].sum() / len(pred)),
            "mapping": mapping.tolist(),
            "majority_accuracy": float(counts.max(axis=0).sum() / len(pred)),
            "counts": counts.tolist()}


def confusion_figure(result, path, title=""):
    """Counts with the categories ordered by the class they were matched to."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    counts = np.array(result["counts"])
    mapping = np.array(result["mapping"])
    order = sorted(range(len(mapping)), key=lambda k: (mapping[k] < 0, mapping[k]))
    m = counts[:, order]
    fig, ax = plt.subplots(figsize=(1 + 0.5 * m.shape[1], 1 + 0.5 * m.shape[0]))
    ax.imshow(m, cmap="Blues")
    for (y, k), v in np.ndenumerate(m):
        ax.text(k, y, str(v), ha="center", va="center", fontsize=6,
                color="white" if v > m.max() / 2 else "black")
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels([f"c{k}\u2192{mapping[k]}" if mapping[k] >= 0 else f"c{k}" for k in order],
                       rotation=90, fontsize=7)
    ax.set_yticks(range(m.shape[0]))
    ax.set_xlabel("discovered category (matched class)")
    ax.set_ylabel("true class")
    ax.set_title(title or f"accuracy {result['accuracy']:.4f}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def evaluate_mnist(model, images, labels, out=None):
    """Q's categories on MNIST images (n, 28, 28) uint8 against the labels; writes
    eval.json and confusion.png into `out` when given. Returns cluster_accuracy's dict."""
    import json
    from pathlib import Path
    x = (np.asarray(images, np.float32) / 255.0)[:, None]  # (n, 1, 28, 28)
    if model.cfg.output == "tanh":
        x = x * 2 - 1
    pred = model.classify(x)
    result = cluster_accuracy(pred, labels, model.cfg.n_cat, 10)
    result["n_images"] = int(len(labels))
    if out is not None:
        out = Path(out)
        (out / "eval.json").write_text(json.dumps(result, indent=1))
        confusion_figure(result, out / "confusion.png")
    return result


def nearest_distances(queries, reference, batch=256):
    """Euclidean pixel distance from each query image to its nearest reference image.

    queries (q, ...), reference (r, ...) float arrays on the host -> (q,) distances, using
    |a - b|^2 = |a|^2 - 2 a.b + |b|^2 with the products as one matrix product per block.
    """
    Q = np.asarray(queries, np.float64).reshape(len(queries), -1)
    R = np.asarray(reference, np.float64).reshape(len(reference), -1)
    r2 = (R * R).sum(axis=1)
    out = np.empty(len(Q))
    for i in range(0, len(Q), batch):
        q = Q[i:i + batch]
        d2 = (q * q).sum(axis=1)[:, None] - 2 * q @ R.T + r2[None, :]   # (b, r)
        out[i:i + batch] = np.sqrt(np.maximum(d2.min(axis=1), 0))
    return out
