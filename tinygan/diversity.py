"""A term added to G's loss that is not the InfoGAN papers': the mode-seeking term (Mao et
al., "Mode Seeking Generative Adversarial Networks", 2019). An option of InfoGANConfig
(lambda_ms; 0: off), measured in docs/08-cryptopunks.md; derived in docs/06-infogan.md.

Why. InfoGAN's information term pays G for codes that Q can read back from the image, and
nothing pays G for using its noise z: variation that z causes only makes Q's job harder.
On the punks G learns to all but ignore z (evaluate_punks' "variety"), so every punk of a
category lies on the few dimensions of the continuous codes. The mode-seeking term asks
that two latents that differ only in z give images that differ.

The batch of G's step comes in pairs: latent P + p has the codes of latent p and noise of
its own (pair_up), p = 0 .. P-1, P = N // 2. With x_p = G(z_p, c_p) (C, H, W),

    d_img = (1/(P*D)) sum_p ||x_p - x_{P+p}||_1          mean absolute pixel difference, D = C*H*W
    d_z   = (1/(P*n_noise)) sum_p ||z_p - z_{P+p}||_1    the same for the noise (a constant for G)
    r     = d_img / d_z
    L_ms  = 1 / (r + eps)

The reciprocal pays most where G ignores z (r near 0) and less and less as the images
differ: its gradient in r is -1/(r + eps)^2, so the term cannot be farmed without end by
adding ever more pixel noise. Backward: d d_img / d x_p = sign(x_p - x_{P+p}) / (P*D)
(the derivative of |u| is sign(u); at u = 0 we take 0), and the opposite for x_{P+p}:

    dL_ms/dx_p     = -1/(r + eps)^2 * sign(x_p - x_{P+p}) / (P * D * d_z)
    dL_ms/dx_{P+p} = -dL_ms/dx_p,

and 0 for the last image of an odd batch. G's loss is L_G + lambda_ms * L_ms; the gradient
reaches G's parameters through G's own backward pass. D, the trunk and Q are not involved.
"""
from . import backend

EPS = 1e-5


def pair_up(latent, cat, cont, n_noise):
    """A batch of sample_latent's (latent (n, latent_dim), cat (n,), cont (n, n_cont)) made
    into pairs, in place: latent P + p gets the codes (category and continuous) of latent p,
    p < P = n // 2, and keeps its own noise (the first n_noise values). Returns them."""
    P = len(latent) // 2
    latent[P:2 * P, n_noise:] = latent[:P, n_noise:]
    cat[P:2 * P], cont[P:2 * P] = cat[:P], cont[:P]
    return latent, cat, cont


def mode_seeking_forward(x, z):
    """x (N, C, H, W) images, z (N, n_noise) their noise, in pairs (p, P + p). Returns
    (L_ms (a scalar on x's device), cache)."""
    xp = backend.get_array_module(x)
    P = x.shape[0] // 2
    diff = x[:P] - x[P:2 * P]                                      # (P, C, H, W)
    d_img = xp.abs(diff).mean()
    d_z = float(abs(z[:P] - z[P:2 * P]).mean())                    # z is the host's
    r = d_img / d_z
    return 1 / (r + EPS), (diff, r, d_z, x.shape)


def mode_seeking_backward(cache):
    """dL_ms/dx (N, C, H, W)."""
    diff, r, d_z, shape = cache
    xp = backend.get_array_module(diff)
    P = diff.shape[0]
    g = (-1 / (r + EPS) ** 2 / (diff.size * d_z)) * xp.sign(diff)    # (P, C, H, W); diff.size = P * D
    dx = xp.zeros(shape, dtype=diff.dtype)
    dx[:P] = g
    dx[P:2 * P] = -g
    return dx
