"""Losses. Each returns (loss, grad): the loss, a mean over the batch, as a scalar on the
inputs' device (a 0-d array, or a NumPy scalar: float(loss) gives the number, and on a GPU
fetching it waits for the device, so a training step fetches all its losses once), and the
gradient of that loss with respect to its (first) input(s), same shapes.

Derivations: docs/04-losses.md.
"""
import math

from .backend import get_array_module
from .ops import sigmoid

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def bce_with_logits(logits, targets):
    """Binary cross-entropy on logits z with targets t in [0, 1], mean over all elements.

    l(z, t) = -t log sigma(z) - (1 - t) log(1 - sigma(z))
            = max(z, 0) - z t + log(1 + exp(-|z|))     (stable for any |z|)
    dl/dz = sigma(z) - t.
    logits (N, ...) and targets broadcastable to it  ->  (loss, dlogits (N, ...)).
    """
    xp = get_array_module(logits)
    z = logits
    t = xp.broadcast_to(xp.asarray(targets, dtype=z.dtype), z.shape)
    count = z.size
    loss = (xp.maximum(z, 0) - z * t + xp.log1p(xp.exp(-xp.abs(z)))).sum() / count
    dz = (sigmoid(z) - t) / count
    return loss, dz


def log_softmax(logits):
    """log softmax over the last axis via log-sum-exp: z - max - log(sum(exp(z - max)))."""
    xp = get_array_module(logits)
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """Cross-entropy of a categorical distribution given by logits, mean over the batch.

    logits (N, K); labels (N,) integer classes, or (N, K) probabilities (e.g. one-hot).
    l = -sum_k t_k log softmax(z)_k,   dl/dz = softmax(z) - t   (since sum_k t_k = 1).
    Returns (loss, dlogits (N, K)).
    """
    xp = get_array_module(logits)
    N, K = logits.shape
    logp = log_softmax(logits)                                    # (N, K)
    labels = xp.asarray(labels)
    if labels.ndim == 1:
        if labels.shape[0] != N:
            raise ValueError(f"softmax_cross_entropy: {N} logits but {labels.shape[0]} labels")
        t = xp.zeros_like(logits)
        t[xp.arange(N), labels] = 1
    else:
        if labels.shape != logits.shape:
            raise ValueError(f"softmax_cross_entropy: logits {logits.shape} but targets {labels.shape}")
        t = labels.astype(logits.dtype)
    loss = -(t * logp).sum() / N
    dz = (xp.exp(logp) - t) / N
    return loss, dz


def gaussian_nll(x, mean, log_std):
    """Negative log-likelihood of x under N(mean, exp(log_std)^2), per dimension,
    summed over dimensions and averaged over the batch.

    x, mean, log_std (N, D).  With u = (x - mean) / sigma, sigma = exp(log_std):
    l = sum_d [ log_std + 0.5 log(2 pi) + 0.5 u^2 ]
    dl/dmean    = -(x - mean) / sigma^2 = -u / sigma
    dl/dlog_std = 1 - u^2
    dl/dx       = u / sigma
    Returns (loss, dx, dmean, dlog_std).
    """
    xp = get_array_module(x)
    N = x.shape[0]
    inv_sigma = xp.exp(-log_std)
    u = (x - mean) * inv_sigma
    loss = (log_std + _HALF_LOG_2PI + 0.5 * u * u).sum() / N
    dx = u * inv_sigma / N
    return loss, dx, -dx, (1 - u * u) / N


def gaussian_nll_fixed_std(x, mean, std=1.0):
    """gaussian_nll with a fixed sigma = std: 0.5 ((x - mean)/std)^2 summed over D, mean over N,
    plus the constant D (log std + 0.5 log(2 pi)). With std = 1 that is MSE/2 + constant,
    the form of the original InfoGAN code.
    x, mean (N, D).  dl/dmean = -(x - mean) / std^2,  dl/dx = (x - mean) / std^2.
    Returns (loss, dx, dmean).
    """
    N, D = x.shape
    diff = x - mean
    loss = 0.5 * (diff * diff).sum() / (std * std * N) + D * (math.log(std) + _HALF_LOG_2PI)
    dx = diff / (std * std * N)
    return loss, dx, -dx


def info_loss(q_out, cat, cont, n_cat, n_cont, lambda_cat=1.0, lambda_cont=1.0, fixed_std=True):
    """InfoGAN's information terms: lambda_cat * CE(Q's categorical, c) + lambda_cont * NLL(c' | Q).

    q_out (N, n_cat + n_cont [+ n_cont]) = [cat logits | means | log-stds, when not fixed_std];
    cat (N,) the categories drawn; cont (N, n_cont) the continuous codes drawn.
    Minimising CE is maximising E[log Q(c|x)], InfoGAN's lower bound on I(c; G(z, c)) minus
    H(c) (docs/06-infogan.md). The gradient is each term's own (softmax - onehot for the
    logits; -(c' - mean) for the means with std 1; -u / sigma and 1 - u^2 with a learned
    std), times its weight, in the columns it came from.
    Returns (loss, dq_out (N, q_dim), {"cat": CE, "cont": NLL}).
    """
    xp = get_array_module(q_out)
    K, M = n_cat, n_cont
    ce, dlogits = softmax_cross_entropy(q_out[:, :K], cat)
    dq = xp.zeros_like(q_out)
    dq[:, :K] = lambda_cat * dlogits
    nll = 0.0
    if M:
        mean = q_out[:, K:K + M]                                           # (N, M)
        if fixed_std:
            nll, _, dmean = gaussian_nll_fixed_std(cont, mean)
        else:
            nll, _, dmean, dlog_std = gaussian_nll(cont, mean, q_out[:, K + M:])
            dq[:, K + M:] = lambda_cont * dlog_std
        dq[:, K:K + M] = lambda_cont * dmean
    return lambda_cat * ce + lambda_cont * nll, dq, {"cat": ce, "cont": nll}
