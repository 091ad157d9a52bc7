"""A running average of G's weights, used for sampling. Not part of the InfoGAN papers: a
stabiliser, measured in docs/07-mnist.md (what it does to the Fréchet distance).

With a high learning rate, G's weights jitter from step to step around where training is
heading, and each step's G draws with that step's jitter. The exponential moving average

    w_avg <- beta_t * w_avg + (1 - beta_t) * w,      beta_t = min(beta, (1 + t) / (10 + t))

after each of G's updates t = 1, 2, ... averages the jitter out over about 1 / (1 - beta)
steps (beta_t is smaller at first, so that the average forgets the initial weights
quickly). Nothing is differentiated through it: training never reads w_avg, so it needs
no backward pass and changes no gradient. Sampling swaps w_avg into G; BatchNorm's running
statistics are G's own (measured to be close enough: docs/07-mnist.md).
"""
from contextlib import contextmanager


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
        self.avg *= b
        self.avg += (1 - b) * self.flat.params

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
