"""How well the categorical code recovers the classes: Q's arg-max category on labelled
images, matched one-to-one to the classes by the Hungarian algorithm; and how real the
generated images look: the Fréchet distance on a classifier's features."""
import numpy as np

from .pixels import to_model


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
    from .io import save_figure
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
    save_figure(fig, path, dpi=110)
    plt.close(fig)


def evaluate_mnist(model, images, labels, out=None):
    """Q's categories on MNIST images (n, 28, 28) uint8 against the labels; writes
    eval.json and confusion.png into `out` when given. Returns cluster_accuracy's dict."""
    from pathlib import Path
    from .io import write_json
    x = to_model(images, model.cfg.output)                   # (n, 1, 28, 28)
    pred = model.classify(x)
    result = cluster_accuracy(pred, labels, model.cfg.n_cat, 10)
    result["n_images"] = int(len(labels))
    if out is not None:
        out = Path(out)
        write_json(out / "eval.json", result)
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


# ----------------------------------------------------------------------------- sample fidelity
def gaussian_stats(features):
    """Mean (d,) and covariance (d, d) of features (n, d), float64 (n - 1 in the denominator)."""
    f = np.asarray(features, np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise ValueError(f"need features (n, d) with n >= 2, got shape {f.shape}")
    mu = f.mean(axis=0)
    c = f - mu
    return mu, c.T @ c / (len(f) - 1)


def frechet_distance(a, b):
    """The Fréchet (2-Wasserstein) distance between the Gaussians fitted to two feature sets:

        d^2 = |mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a C_b)^(1/2))

    a, b: features (n, d) or (mu, C) pairs. The last trace without a general matrix square
    root: with S = C_a^(1/2) (symmetric, from C_a's eigendecomposition), C_a C_b = S (S C_b)
    has the same eigenvalues as S C_b S, which is symmetric and positive semi-definite, so
    tr((C_a C_b)^(1/2)) = sum_i sqrt(lambda_i(S C_b S)). Returns d^2 (the number reported as
    the Fréchet distance in the GAN literature), a float.
    """
    mu_a, c_a = a if isinstance(a, tuple) else gaussian_stats(a)
    mu_b, c_b = b if isinstance(b, tuple) else gaussian_stats(b)
    if mu_a.shape != mu_b.shape:
        raise ValueError(f"feature sizes differ: {mu_a.shape[0]} and {mu_b.shape[0]}")
    w, V = np.linalg.eigh(c_a)
    S = (V * np.sqrt(np.clip(w, 0, None))) @ V.T                     # C_a^(1/2)
    lam = np.linalg.eigvalsh(S @ c_b @ S)
    tr_sqrt = np.sqrt(np.clip(lam, 0, None)).sum()
    d = mu_a - mu_b
    return float(d @ d + np.trace(c_a) + np.trace(c_b) - 2 * tr_sqrt)


DIGIT_CLASSIFIER = {"version": 1, "steps": 1500, "batch": 64, "seed": 0}   # the cache's key
FLOOR_SEED = 12345   # which training digits form the floor's sample


def _pixels(images_u8):
    """uint8 digits (n, 28, 28) -> float32 (n, 1, 28, 28) in [0, 1]."""
    return to_model(images_u8, "sigmoid")


def digit_classifier(train, test, cache_dirs=(), progress=True, log=print):
    """The digit classifier whose features measure MNIST fidelity, and the real statistics.

    train, test: (images uint8 (n, 28, 28), labels (n,)). Trained once (DIGIT_CLASSIFIER's
    settings) and cached as digit_classifier.npz in the first writable folder of cache_dirs,
    with the test digits' feature statistics and the floor: the Fréchet distance of as many
    training digits as there are test digits (at most 10,000) against the test digits.
    Returns (classifier, info) with info = {"test_accuracy", "floor", "test_stats", "path"}.
    """
    from .classifier import DigitClassifier, fit_digits
    from .io import load_keyed, save_keyed
    (xtr, ytr), (xte, yte) = train, test
    key = dict(DIGIT_CLASSIFIER, n_train=int(len(xtr)), n_test=int(len(xte)))
    name = "digit_classifier.npz"
    found = load_keyed(cache_dirs, name, key)
    if found is not None:
        arrays, meta, path = found
        clf = DigitClassifier(seed=key["seed"])
        clf.load_arrays(arrays)
        return clf, {"test_accuracy": meta["test_accuracy"], "floor": meta["floor"],
                     "test_stats": (arrays["test_mu"], arrays["test_cov"]), "path": str(path)}
    clf = fit_digits(_pixels(xtr), ytr, steps=key["steps"], batch=key["batch"], seed=key["seed"],
                     progress="digit classifier (once, then cached)" if progress else None)
    acc = float((clf.predict(_pixels(xte)) == np.asarray(yte)).mean())
    test_stats = gaussian_stats(clf.features(_pixels(xte)))
    pick = np.random.default_rng(FLOOR_SEED).choice(len(xtr), min(len(xte), len(xtr)), replace=False)
    floor = frechet_distance(clf.features(_pixels(xtr[pick])), test_stats)
    info = {"test_accuracy": acc, "floor": floor, "test_stats": test_stats, "path": None}
    path = save_keyed(cache_dirs, name, key, dict(clf.arrays(), test_mu=test_stats[0], test_cov=test_stats[1]),
                      test_accuracy=acc, floor=floor)
    info["path"] = None if path is None else str(path)
    if path is None and log is not None:
        log("note: no writable folder to cache the digit classifier in; it will be trained again next time")
    return clf, info


def mnist_fidelity_report(model, train, test, data_dir=None, n=10000, seed=0, progress=True, classifier=None):
    """mnist_fidelity with the cached classifier (next to the MNIST files, else in
    ~/.cache/tinygan/mnist) and a one-line summary. `classifier`: the (classifier, info)
    of digit_classifier, when the caller already holds it (a run measured every N steps
    loads it once). Returns (result dict, line)."""
    from .data import cache_dir, mnist_dir
    clf, info = classifier or digit_classifier(train, test, [mnist_dir(data_dir), cache_dir() / "mnist"], progress)
    r = mnist_fidelity(model, clf, info, n, seed)
    line = (f"Fréchet distance of {n} generated digits to the {len(test[0])} test digits (features of a "
            f"digit classifier with test accuracy {info['test_accuracy']:.4f}): {r['frechet_distance']:.3f}; "
            f"floor (training digits against test digits) {r['floor']:.3f}; ratio {r['ratio_to_floor']:.2f}")
    return r, line


def generated_digits(model, n=10000, seed=0, batch=500, averaged=True):
    """n digits from the prior (categories uniform, codes uniform, noise as in training),
    rendered as the figures render them (BatchNorm in evaluation mode, G's averaged weights
    when kept and `averaged`), uint8 (n, 28, 28)."""
    from .figures import render
    from .infogan import sample_latent
    latent, _, _ = sample_latent(model.cfg, n, np.random.default_rng([seed, 7]))
    return render(model, latent, batch, averaged)[..., 0]


def mnist_fidelity(model, clf, info, n=10000, seed=0):
    """Fréchet distance of n generated digits to the test digits on the classifier's
    features, beside the floor. Returns {"frechet_distance", "floor", "ratio_to_floor",
    "classifier_test_accuracy", "n_generated"}, and "frechet_distance_trained_weights"
    (G's own weights) when the model samples with averaged ones."""
    def fd(averaged):
        feats = clf.features(_pixels(generated_digits(model, n, seed, averaged=averaged)))
        return frechet_distance(feats, info["test_stats"])
    d = fd(True)
    r = {"frechet_distance": d, "floor": info["floor"], "ratio_to_floor": d / info["floor"],
         "classifier_test_accuracy": info["test_accuracy"], "n_generated": int(n)}
    if model.g_average is not None:
        r["frechet_distance_trained_weights"] = fd(False)
    return r

