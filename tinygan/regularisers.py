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
from .losses import log_softmax, softmax_cross_entropy


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


def from_config(cfg):
    """The terms that cfg's weights turn on, in the order the step runs them."""
    terms = []
    if cfg.lambda_aug:
        terms.append(Consistency(cfg.lambda_aug))
    return terms
