"""Top-k training of G (Sinha et al. 2020, "Top-k training of GANs: improving GAN
performance by throwing away bad samples"), beyond the InfoGAN papers: G's adversarial term
counts only the k fakes of its batch that D finds most real, the rest of the batch giving G
no adversarial gradient. A fake that D already rejects pulls G's weights towards wherever D
happens to score higher nearby; the fakes D nearly accepts point the way to the data.
Only the adversarial term is cut: the information term still counts every fake, so every
category and code keeps its pay. Used for G's loss when InfoGANConfig.g_top_k < 1
(docs/06-infogan.md derives it; docs/08-cryptopunks.md measures it).

For D's logits z (N, 1) on the fakes and T the indices of the k largest,

    L = (1/k) sum_{i in T} softplus(-z_i)          (G's non-saturating BCE with target 1)

T depends on z only through the order of the logits, which is constant except where two of
them tie, so away from ties L is the mean BCE of a fixed subset and

    dL/dz_i = (sigma(z_i) - 1) / k    for i in T,      0 otherwise.

With k = N it is bce_with_logits(z, 1). The mean over k rather than N keeps the size of the
gradient each kept fake gets, so the term's weight against the information term does not
change with k.
"""
from .backend import get_array_module
from .losses import bce_with_logits


def top_k_count(fraction, n):
    """How many of a batch of n the fraction keeps: round(fraction * n), at least 1."""
    return max(1, min(n, int(round(fraction * n))))


def top_k_real_bce(logits, k):
    """G's adversarial loss on its k most real fakes.
    logits (N, 1), 1 <= k <= N  ->  (loss, dlogits (N, 1)), dlogits 0 outside the k kept."""
    xp = get_array_module(logits)
    n = logits.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"k must be in [1, {n}] for a batch of {n}, got {k}")
    z = logits.reshape(n)                                             # (N,)
    kept = xp.argpartition(-z, k - 1)[:k]                             # (k,) indices of the k largest
    loss, dkept = bce_with_logits(z[kept], 1.0)                       # mean over the k: (1/k) sum softplus(-z)
    dz = xp.zeros_like(z)
    dz[kept] = dkept
    return loss, dz.reshape(logits.shape)
