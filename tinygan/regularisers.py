"""Terms added to D/Q's loss that are not the InfoGAN papers': each measured in
docs/07-mnist.md or docs/08-cryptopunks.md, and each chosen by a weight in InfoGANConfig (0: off).

The interface is one method. After D's step has run the real batch through the trunk
and back (its gradients in place), the step calls, for each term on,

    loss = term.loss_and_grads(model, real, h)

with the real images (N, C, H, W) and the trunk's output on them h (N, fc). The term may
run its own forward and backward passes through model.trunk and model.q_head / d_head,
must leave `weight * d(its loss)/d(param)` added to their grads, and returns its
unweighted loss (a scalar on the device), which the step logs under `term.name` and adds,
times the weight, to L_D. A new term is a class here and a line in `from_config`; the
training step does not change.
"""
from . import backend
from .augment import restyle
from .fast import conv2d_backward, conv2d_forward, leaky_relu_backward, spectral_linear_backward, spectral_linear_forward
from .layers import Flatten, LeakyReLU, SpectralConv2d, SpectralLinear, leaves
from .losses import log_softmax, softmax_cross_entropy
from .spectral import spectral_normalise_backward


class Consistency:
    """Q must give a real digit and a restyled copy of it (slanted, rotated, scaled,
    shifted, its stroke thickened or thinned: tinygan/augment.py) the same category:

        L_cons = CE(p, Q(restyle(x))) = -(1/N) sum_n sum_k p_nk log q_k(restyle(x_n)),

    with p = softmax(Q's categorical logits on the originals), held fixed (no gradient
    flows into the target). The gradient on the restyled images' logits is CE's own,
    (softmax(logits) - p) / N (docs/04-losses.md); it reaches the Q head and the trunk.
    Derivation and what it did to the accuracy: docs/06-infogan.md, docs/07-mnist.md."""

    name = "cons"

    def __init__(self, weight):
        self.weight = weight

    def loss_and_grads(self, model, real, h):
        xp = backend.get_array_module(h)
        K = model.cfg.n_cat
        target = xp.exp(log_softmax(model.q_head.forward(h)[:, :K]))     # (N, K), held fixed
        restyled = restyle(real, model.rng)                               # on real's device
        return self.restyled_loss_and_grads(model, restyled, target)

    def restyled_loss_and_grads(self, model, restyled, target):
        """CE(target, Q's categories of `restyled`); adds weight * its gradient to the trunk's
        and the Q head's grads. Returns the CE."""
        h = model.trunk.forward(restyled)                                 # (N, fc)
        logits = model.q_head.forward(h)[:, :model.cfg.n_cat]             # (N, K)
        loss, dlogits = softmax_cross_entropy(logits, target)
        dq = backend.get_array_module(h).zeros((h.shape[0], model.cfg.q_dim), dtype=h.dtype)
        dq[:, :model.cfg.n_cat] = self.weight * dlogits                  # the codes' outputs get none
        model.trunk.backward(model.q_head.backward(dq), need_input_grad=False)
        return loss


class R1:
    """The R1 penalty (Mescheder et al. 2018): the squared norm of D's gradient with respect
    to its input, on real images,

        R1 = (1/N) sum_n ||g_n||^2,     g_n = d logit(x_n) / d x_n   (C, H, W),

    added to L_D as lambda_r1 * R1 (Mescheder's gamma / 2 is lambda_r1). It flattens D around
    the real images, which damps the back-and-forth of D and G there. Derivation:
    docs/06-infogan.md, "The R1 penalty"; needs D without BatchNorm (d_norm "spectral"),
    so that each image's logit depends on that image alone.

    The gradient of R1 is a backward pass through a backward pass, written with the layers'
    own ops. D's layers from the input are linear maps y = A x + b (the convolutions and the
    FC layers, A their normalised weight) and leaky ReLUs y = m * x (m = 1 or the slope).
    Backpropagating the logit gives each layer's output gradient d_l and the input gradient

        g = A_1^T m_1 A_2^T m_2 ... A_L^T 1,

    which is linear in each A_l (the masks m do not change under a small change of the
    weights, almost everywhere). For one layer, g depends on A through d_in = A^T d_out, and
    with e_in = dR1/d d_in,
        dR1/dA = d_out e_in^T           (the layer's weight gradient at input e_in, output gradient d_out)
        dR1/d d_out = A e_in           (the layer's forward of e_in, without its bias)
    So e starts at dR1/dg = 2 g / N and runs forward through D, as an image would, with the
    leaky ReLUs' masks of the real pass; at each linear layer the weight gradient is the
    ordinary one for input e and output gradient d. No bias appears in g, so R1 has no
    bias gradient; spectral normalisation's backward (tinygan/spectral.py) carries dR1/dA to
    the raw weight, its u held as in the real pass."""

    name = "r1"

    def __init__(self, weight):
        self.weight = weight

    def loss_and_grads(self, model, real, h):
        """After the real pass (the layers' caches hold it): adds weight * dR1/dparam to the
        trunk's and D head's grads and returns R1."""
        return self.penalty_and_grads(leaves(model.trunk) + leaves(model.d_head), real.shape[0])

    def penalty_and_grads(self, layers, N):
        """R1 for the last forward through `layers` (from the image to the logit (N, 1))."""
        xp = backend.get_array_module(*layers[0].params.values())
        # 1. the logit's backward pass to the image, keeping each layer's output gradient d_l
        d = xp.ones((N, 1), dtype=layers[0].params["w"].dtype)
        outgrads = []
        for layer in reversed(layers):
            outgrads.append(d)
            d = layer.backward(d, need_param_grads=False)
        outgrads.reverse()
        g = d                                                            # (N, C, H, W)
        penalty = (g * g).sum() / N
        # 2. the backward pass of that backward pass: e = dR1/d(the layer's input gradient),
        #    run forward through the layers
        e = (2.0 * self.weight / N) * g                                  # weight * dR1/dg
        for layer, d_out in zip(layers, outgrads):
            e = _second_pass(layer, e, d_out)
        return penalty


def _second_pass(layer, e, d_out):
    """One layer of R1's second pass: accumulate dR1/dw = (weight gradient at input e, output
    gradient d_out) into the layer's grads and return A e (the forward without its bias)."""
    if isinstance(layer, LeakyReLU):
        return leaky_relu_backward(e, layer._take_cache())               # m * e, the real pass's mask
    if isinstance(layer, Flatten):
        return e.reshape(e.shape[0], -1)
    w = layer.params["w"]
    xp = backend.get_array_module(w)
    if isinstance(layer, SpectralConv2d):
        F = w.shape[0]
        _, sn = layer._take_cache()                                       # the real pass's w_bar, u and sigma
        y, cache = conv2d_forward(e, sn.a_bar.reshape(w.shape), xp.zeros(F, w.dtype), layer.stride, layer.padding)
        _, dw_bar, _ = conv2d_backward(d_out, cache, need_dx=False)
        layer._accumulate(w=spectral_normalise_backward(dw_bar.reshape(F, -1), sn).reshape(w.shape))
        return y
    if isinstance(layer, SpectralLinear):                                # u: the one the real pass used
        y, cache = spectral_linear_forward(e, w, xp.zeros(w.shape[1], w.dtype), layer.buffers["u"])  # w (in, out)
        _, dw, _ = spectral_linear_backward(d_out, cache, need_dx=False)
        layer._accumulate(w=dw)
        return y
    raise TypeError(f"R1: no second pass for {layer!r} (R1 needs D without BatchNorm: d_norm 'spectral')")


def from_config(cfg):
    """The terms that cfg's weights turn on, in the order the step runs them."""
    terms = []
    if cfg.lambda_aug:
        terms.append(Consistency(cfg.lambda_aug))
    if cfg.lambda_r1:
        terms.append(R1(cfg.lambda_r1))
    return terms
