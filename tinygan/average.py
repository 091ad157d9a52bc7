"""A running average of G's weights, used for sampling. Not part of the InfoGAN papers: a
stabiliser, measured in docs/07-mnist.md (what it does to the Fréchet distance).

With a high learning rate, G's weights jitter from step to step around where training is
heading, and each step's G draws with that step's jitter. The exponential moving average

    w_avg <- beta_t * w_avg + (1 - beta_t) * w,      beta_t = min(beta, (1 + t) / (10 + t))

after each of G's updates t = 1, 2, ... averages the jitter out over about 1 / (1 - beta)
steps (beta_t is smaller at first, so that the average forgets the initial weights
quickly). Nothing is differentiated through it: training never reads w_avg, so it needs
no backward pass and changes no gradient. Sampling swaps w_avg into G.

G's BatchNorm layers normalise with running statistics at sampling time, and those were
collected for the trained weights, not for the average. So the averaged G gets statistics
of its own: `recompute_batchnorm` runs it in training mode over a few batches and sets
each running mean and variance to the plain average of the batches' statistics
(momentum 1/k at the k-th batch). docs/07-mnist.md measures both choices.
"""
from contextlib import contextmanager

from . import fast
from .layers import BatchNorm, leaves


def average_update(avg, w, beta_t):
    """avg <- beta_t * avg + (1 - beta_t) * w, in place: one step of the running average.
    (fast.average_update is the form that runs: the same arithmetic, block by block.)"""
    avg *= beta_t
    avg += (1 - beta_t) * w


def batchnorms(module):
    """The BatchNorm layers inside `module`, in order."""
    return [layer for layer in leaves(module) if isinstance(layer, BatchNorm)]


def recompute_batchnorm(module, batches):
    """Set the running statistics of every BatchNorm inside `module` to the average of its
    batch statistics over `batches` (inputs of `module`), computed in training mode. The
    layers' momentum and the module's mode are restored afterwards."""
    bns = batchnorms(module)
    momenta, was_training = [b.momentum for b in bns], module.training
    module.train()
    try:
        for k, x in enumerate(batches, start=1):
            for b in bns:
                b.momentum = 1.0 / k          # running = (1 - 1/k) running + (1/k) batch: the mean of k batches
            module.forward(x)
    finally:
        for b, m in zip(bns, momenta):
            b.momentum = m
        if not was_training:
            module.eval()


def batchnorm_state(module):
    """Copies of the running statistics of every BatchNorm inside `module`."""
    return [{k: v.copy() for k, v in b.buffers.items()} for b in batchnorms(module)]


def set_batchnorm_state(module, state):
    for b, saved in zip(batchnorms(module), state):
        for k, v in saved.items():
            b.buffers[k][...] = v


class WeightAverage:
    """The running average of the parameters held by a layers.FlatParams (one flat buffer)."""

    def __init__(self, flat, beta):
        if not 0 < beta < 1:
            raise ValueError(f"the average's beta must be in (0, 1), got {beta}")
        self.flat, self.beta, self.t = flat, beta, 0
        self.avg = flat.params.copy()                                  # (P,)

    def update(self):
        """Fold the current weights into the average (after an optimiser step)."""
        self.t += 1
        b = min(self.beta, (1 + self.t) / (10 + self.t))
        fast.average_update(self.avg, self.flat.params, b)

    @contextmanager
    def swapped_in(self):
        """Inside the block the layers compute with the averaged weights; the trained ones
        are put back afterwards (also on an exception)."""
        trained = self.flat.params.copy()
        self.flat.params[...] = self.avg
        try:
            yield
        finally:
            self.flat.params[...] = trained
