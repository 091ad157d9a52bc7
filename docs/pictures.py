"""Draw the explanatory pictures of docs/02, 03 and 06 into docs/img (matplotlib only).

    python docs/pictures.py            # writes docs/img/{im2col,conv_as_matrix,batchnorm_graph,infogan_wiring}.png
    python docs/pictures.py --out OUT  # the same into OUT
    python docs/pictures.py --mnist-dir DIR    # also img/restyle_examples.png, from 12 MNIST test digits

The numbers in the pictures come from tinygan itself (im2col and the convolution matrices
are computed with tinygan.conv), so a picture cannot drift from the code.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from tinygan.conv import conv2d_forward, conv_transpose2d_forward, im2col, pad  # noqa: E402

IMG = Path(__file__).resolve().parent / "img"
COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]


def im2col_picture(path):
    """A 4x4 input (entries numbered 1..16), padding 1, a 3x3 kernel, stride 2: four output
    positions, each a 3x3 window of the padded input and one row of cols."""
    x = np.arange(1, 17, dtype=float).reshape(1, 4, 4, 1)              # (N, H, W, C) channels-last
    xpad = pad(x, 1)[0, :, :, 0]                                       # (6, 6), zeros around
    cols = im2col(pad(x, 1), 3, 3, 2, 2, 2).reshape(4, 9)              # (OH*OW, KH*KW) = (4, 9)
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [1, 1.6]})
    for (r, c), v in np.ndenumerate(xpad):
        a.add_patch(Rectangle((c, 5 - r), 1, 1, fill=v == 0, color="#eeeeee", ec="grey"))
        a.text(c + 0.5, 5.5 - r, f"{v:.0f}", ha="center", va="center", fontsize=9,
               color="grey" if v == 0 else "black")
    for k, (oh, ow) in enumerate([(0, 0), (0, 1), (1, 0), (1, 1)]):
        off = 0.06 * (k + 1)
        a.add_patch(Rectangle((2 * ow + off, 6 - 2 * oh - 3 + off), 3 - 2 * off, 3 - 2 * off, fill=False,
                              ec=COLOURS[k], lw=2.5))
    a.set_xlim(0, 6), a.set_ylim(0, 6), a.set_aspect("equal"), a.axis("off")
    a.set_title("padded input (p = 1) and the 3x3 windows\nof the 2x2 outputs (stride 2)", fontsize=10)
    for (r, c), v in np.ndenumerate(cols):
        b.add_patch(Rectangle((c, 3 - r), 1, 1, color=COLOURS[r], alpha=0.18 if v else 0.06, ec="grey"))
        b.text(c + 0.5, 3.5 - r, f"{v:.0f}", ha="center", va="center", fontsize=9)
    for r in range(4):
        b.text(-0.3, 3.5 - r, f"output ({r // 2}, {r % 2})", ha="right", va="center", color=COLOURS[r], fontsize=9)
    b.set_xlim(-2.6, 9), b.set_ylim(0, 4), b.set_aspect("equal"), b.axis("off")
    b.set_title("cols (M, KH*KW*C): one row per output position", fontsize=10)
    fig.tight_layout()
    fig.subplots_adjust(top=0.86)                 # room for the two-line title above the square grid
    fig.savefig(path, dpi=110)
    plt.close(fig)


def conv_matrix(H, W, K, s, p):
    """The matrix C of conv2d on a one-channel H x W input (columns: input pixels), found by
    convolving each basis image; and C.T from the transposed convolution of each output basis."""
    w = np.arange(1, K * K + 1, dtype=float).reshape(1, 1, K, K)
    cols = [conv2d_forward(e.reshape(1, 1, H, W), w, np.zeros(1), s, p)[0].ravel() for e in np.eye(H * W)]
    C = np.stack(cols, axis=1)                                           # (outputs, inputs)
    OH = (H + 2 * p - K) // s + 1
    rows = [conv_transpose2d_forward(e.reshape(1, 1, OH, OH), w, np.zeros(1), s, p)[0].ravel()
            for e in np.eye(C.shape[0])]
    CT = np.stack(rows, axis=1)                                          # (inputs, outputs)
    assert np.allclose(CT, C.T)                                          # the transposed conv is C.T
    return C, CT


def conv_as_matrix_picture(path):
    C, CT = conv_matrix(3, 3, 2, 1, 0)                                   # 3x3 input, 2x2 kernel [1 2; 3 4]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [9, 4]})
    for ax, M, title in ((a, C, "conv2d as C (4 outputs x 9 inputs)"),
                         (b, CT, "conv_transpose2d as C.T (9 x 4)")):
        ax.imshow(M != 0, cmap="Blues", vmin=0, vmax=1.6)
        for (r, c), v in np.ndenumerate(M):
            if v:
                ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=10)
        ax.set_xticks(range(M.shape[1])), ax.set_yticks(range(M.shape[0]))
        ax.set_title(title, fontsize=10)
    a.set_xlabel("input pixel (row-major)"), a.set_ylabel("output pixel")
    b.set_xlabel("input pixel of the transposed conv"), b.set_ylabel("output pixel")
    fig.suptitle("kernel [[1, 2], [3, 4]], stride 1, no padding: the same numbers, transposed", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def box(ax, xy, text, colour="#dddddd"):
    """A label in a rounded box that fits its text; returns the text artist."""
    return ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=10,
                   bbox=dict(boxstyle="round,pad=0.5", fc=colour, ec="black", lw=1))


def arrow(ax, a, b, colour="black", rad=0.0):
    """An arrow from box a to box b (text artists), clipped at both boxes' edges."""
    ax.figure.canvas.draw()                      # the boxes need their final size to clip against
    ax.annotate("", xy=(0.5, 0.5), xycoords=b, xytext=(0.5, 0.5), textcoords=a,
                arrowprops=dict(arrowstyle="-|>", color=colour, lw=1.4, shrinkA=2, shrinkB=2,
                                patchA=a.get_bbox_patch(), patchB=b.get_bbox_patch(),
                                connectionstyle=f"arc3,rad={rad}"))


def badge(ax, xy, label, colour="#990000"):
    ax.text(*xy, label, ha="center", va="center", fontsize=10, color="white",
            bbox=dict(boxstyle="circle,pad=0.2", fc=colour, ec="none"))


def batchnorm_picture(path):
    fig, ax = plt.subplots(figsize=(11, 4.2))
    ax.set_xlim(0, 14), ax.set_ylim(-0.1, 4.0), ax.axis("off")
    x = box(ax, (1.0, 1.7), "x  (m values)")
    mu = box(ax, (4.0, 3.4), "mu = mean(x)", "#cfe2f3")
    var = box(ax, (8.2, 3.4), "var = mean((x - mu)^2)", "#cfe2f3")
    xhat = box(ax, (8.2, 1.7), "xhat = (x - mu) / sigma", "#cfe2f3")
    y = box(ax, (12.4, 1.7), "y = gamma xhat + beta")
    arrow(ax, x, mu), arrow(ax, mu, var), arrow(ax, xhat, y), arrow(ax, x, var, rad=-0.25)
    red = "#990000"
    arrow(ax, x, xhat, red), arrow(ax, mu, xhat, red), arrow(ax, var, xhat, red)
    badge(ax, (4.6, 1.7), "1"), badge(ax, (6.1, 2.55), "2"), badge(ax, (8.2, 2.55), "3")
    ax.text(0.0, 0.55, "the three paths from x_k to xhat_j, each a term of  ∂xhat_j/∂x_k:   "
            "1 direct, [j = k] / sigma;   2 through mu, -1 / (m sigma);   3 through var, -xhat_j xhat_k / (m sigma)",
            fontsize=9)
    ax.text(0.0, 0.1, "their sum, times the upstream gamma g_j, summed over j:   "
            "dx_k = gamma / (m sigma) (m g_k - dbeta - xhat_k dgamma)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def infogan_picture(path):
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.set_xlim(-0.2, 12.6), ax.set_ylim(0, 5.4), ax.axis("off")
    D, G = "#f4cccc", "#d9ead3"      # the colours of the two optimisers' parameters
    z, c = box(ax, (0.8, 3.6), "noise z"), box(ax, (0.8, 2.4), "codes c, c'")
    g = box(ax, (3.0, 3.0), "   G   ", G)
    fake, real = box(ax, (5.0, 3.0), "G(z, c)"), box(ax, (5.0, 1.2), "real x")
    trunk = box(ax, (7.4, 2.1), " trunk ", D)
    dh, qh = box(ax, (9.8, 3.0), "D head", D), box(ax, (9.8, 1.2), "Q head", D)
    for a_, b_ in ((z, g), (c, g), (g, fake), (fake, trunk), (real, trunk), (trunk, dh), (trunk, qh)):
        arrow(ax, a_, b_)
    ax.text(10.7, 3.0, "BCE: real 1, fake 0 (L_D)\nfake 1 (L_G)", fontsize=8, va="center")
    ax.text(10.7, 1.2, "info(Q, c): in L_D\nand in L_G", fontsize=8, va="center")
    ax.plot([6.0, 6.0], [2.45, 3.2], color="#990000", lw=3)
    ax.text(6.0, 3.55, "L_D's gradient stops here: in D's step the fake batch is a constant",
            ha="center", fontsize=9, color="#990000")
    ax.text(6.0, 0.2, "L_G's gradient flows back through both heads and the trunk to G, "
            "without updating them (need_param_grads=False)", ha="center", fontsize=9, color="#38761d")
    ax.add_patch(Rectangle((0, 4.9), 0.4, 0.25, color=D))
    ax.text(0.5, 5.02, "Adam(lr_d): trunk, D head, Q head (L_D)", fontsize=9, va="center")
    ax.add_patch(Rectangle((6.2, 4.9), 0.4, 0.25, color=G))
    ax.text(6.7, 5.02, "Adam(lr_g): G (L_G)", fontsize=9, va="center")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def restyle_picture(path, mnist_dir, seed=0):
    """Top row: 12 real test digits; two rows below: each restyled twice, as the consistency
    term restyles them (tinygan/augment.py)."""
    from tinygan.augment import restyle
    from tinygan.data import load_mnist
    from tinygan.figures import grid, save_image
    from tinygan.pixels import to_model, to_uint8
    images, _ = load_mnist("test", mnist_dir)
    real = to_model(images[:12], "sigmoid")                               # (12, 1, 28, 28)
    rng = np.random.default_rng(seed)
    rows = [real, restyle(real, rng), restyle(real, rng)]
    save_image(grid(np.concatenate([to_uint8(r, "sigmoid") for r in rows]), 12), path, scale=2)


def main(argv=None):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(IMG), help="folder for the pictures (default: docs/img)")
    ap.add_argument("--mnist-dir", default=None, help="MNIST folder: also draw restyle_examples.png")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    for name, draw in (("im2col", im2col_picture), ("conv_as_matrix", conv_as_matrix_picture),
                       ("batchnorm_graph", batchnorm_picture), ("infogan_wiring", infogan_picture)):
        draw(out / f"{name}.png")
        print(f"wrote {out / name}.png")
    if args.mnist_dir:
        restyle_picture(out / "restyle_examples.png", args.mnist_dir)
        print(f"wrote {out / 'restyle_examples.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
