"""Figure 5: t-SNE of real and generated MNIST digits, and the number it only suggests.

    python examples/tsne.py --checkpoint runs/mnist/checkpoint.npz --out runs/mnist/tsne

500 real test digits (circles, coloured by their true digit) and 500 generated digits
(plus signs, coloured by their categorical code, mapped to digits by the evaluation's
Hungarian assignment so that colours mean the same thing) are embedded together in 2-D
with scikit-learn's t-SNE. Then a k-nearest-neighbour classifier fitted on the real
points' embeddings labels the generated points; its agreement with their mapped
categories is printed and saved (tsne.json). Needs the `analysis` extra (scikit-learn).
"""
import sys
from pathlib import Path

import numpy as np

from tinygan.io import write_json
from tinygan.cli import checkpoint_parser, open_checkpoint
from tinygan.data import DataError, load_mnist
from tinygan.evaluate import evaluate_mnist
from tinygan.figures import render
from tinygan.infogan import sample_latent


def knn_agreement(real_xy, real_labels, fake_xy, fake_labels, k=5):
    """Fraction of generated points whose k-nearest real neighbours' majority label is their own."""
    from sklearn.neighbors import KNeighborsClassifier
    clf = KNeighborsClassifier(n_neighbors=k).fit(real_xy, real_labels)
    return float((clf.predict(fake_xy) == fake_labels).mean())


def main(argv=None):
    p = checkpoint_parser(__doc__, "tsne_out", "an MNIST checkpoint.npz")
    p.add_argument("--data-dir", default=None, help="MNIST folder (as for train_mnist.py)")
    p.add_argument("--n", type=int, default=500, help="real and generated points each")
    p.add_argument("--k", type=int, default=5, help="neighbours of the kNN classifier")
    p.add_argument("--perplexity", type=float, default=30.0, help="t-SNE perplexity")
    p.add_argument("--seed", type=int, default=0, help="seed of the samples and of t-SNE")
    args = p.parse_args(argv)
    if args.n < 2 or args.k < 1 or not args.perplexity > 0:
        p.error("--n must be >= 2, --k >= 1, --perplexity > 0")
    try:
        from sklearn.manifold import TSNE
    except ImportError:
        p.error("t-SNE needs scikit-learn: pip install -e '.[analysis]'")
    model, _ = open_checkpoint(p, args)
    try:
        images, labels = load_mnist("test", args.data_dir)
    except DataError as e:
        p.error(str(e))
    cfg = model.cfg
    if (cfg.img_channels, cfg.img_size) != (1, 28):
        p.error("this checkpoint is not an MNIST model (t-SNE compares with MNIST digits)")
    n = min(args.n, len(images))
    mapping = np.array(evaluate_mnist(model, images, labels)["mapping"])   # category -> digit (-1: none)
    rng = np.random.default_rng(args.seed)
    idx = rng.choice(len(images), n, replace=False)
    real = images[idx].reshape(n, -1) / 255.0
    latent, cat, _ = sample_latent(cfg, n, rng)
    fake = render(model, latent).reshape(n, -1) / 255.0
    xy = TSNE(n_components=2, perplexity=min(args.perplexity, (2 * n - 1) / 3), init="pca",
              random_state=args.seed).fit_transform(np.concatenate([real, fake]))
    real_xy, fake_xy = xy[:n], xy[n:]
    fake_digit = mapping[cat]
    agree = knn_agreement(real_xy, labels[idx], fake_xy, fake_digit, min(args.k, n))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 7))
    cmap = plt.get_cmap("tab10")
    for d in range(10):
        m = labels[idx] == d
        ax.scatter(real_xy[m, 0], real_xy[m, 1], s=14, facecolors="none", edgecolors=[cmap(d)], label=f"{d}")
    for k in range(cfg.n_cat):
        m = cat == k
        col = cmap(mapping[k] % 10) if mapping[k] >= 0 else "black"
        ax.scatter(fake_xy[m, 0], fake_xy[m, 1], s=22, marker="+", c=[col])
    ax.set_title(f"t-SNE: real (o, true digit) and generated (+, category mapped to digit)\n"
                 f"kNN(k={args.k}) on real embeddings agrees with generated categories: {agree:.3f}")
    ax.legend(title="digit", fontsize=7, loc="best", markerscale=1.2)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    fig.savefig(out / "figure5_tsne.png", dpi=110)
    plt.close(fig)
    result = {"n_real": n, "n_generated": n, "k": args.k, "knn_agreement": agree,
              "mapping": mapping.tolist(), "seed": args.seed}
    write_json(out / "tsne.json", result)
    print(f"kNN agreement of generated categories with real digits in the t-SNE map: {agree:.3f}; "
          f"wrote {out / 'figure5_tsne.png'} and {out / 'tsne.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
