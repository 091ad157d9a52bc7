"""InfoGAN: the generator G, the shared D/Q trunk, the D and Q heads, the latent codes,
the losses with their gradients, and one training step. Derivations and the exact
wiring (which loss updates which parameters): docs/06-infogan.md.

Networks (Table I of the paper; Table II for RGB images, with img_size 24 or 32):
    G:     FC 1024, BN, ReLU; FC S*S*128, BN, ReLU; 4x4 convT 64 s2, BN, ReLU;
           4x4 convT C s2; sigmoid (data in [0, 1]) or tanh (data in [-1, 1]).  S = img_size / 4
    trunk: 4x4 conv 64 s2, lReLU; 4x4 conv 128 s2, BN, lReLU; FC 1024, BN, lReLU
    D:     FC 1                                       (a logit)
    Q:     FC 128, BN, lReLU, FC n_cat + n_cont (+ n_cont log-stds when the std is learned)
The 64 and 128 are width and 2 * width. Beyond the paper, d_norm "spectral" builds the trunk
and the D head without BatchNorm, each weight divided by its largest singular value
(tinygan/spectral.py; the CryptoPunks script's default; docs/06-infogan.md).
"""
import contextlib
import math
from dataclasses import asdict, dataclass, fields

import numpy as np

from . import backend
from .layers import (BatchNorm, Conv2d, ConvTranspose2d, FlatParams, Flatten, LeakyReLU, Linear, ReLU,
                     Reshape, Sequential, Sigmoid, SpectralConv2d, SpectralLinear, Tanh, evaluation)
from . import losses, regularisers
from .losses import bce_with_logits
from .fast import adam
from .modulation import ModulatedSequential, Modulation
from .topk import top_k_count, top_k_real_bce
from .average import WeightAverage, batchnorm_state, recompute_batchnorm, set_batchnorm_state


AVERAGE_STATS_SEED = 4321   # the latents the averaged G measures its BatchNorm statistics on


@dataclass
class InfoGANConfig:
    img_channels: int = 1        # 1 for MNIST, 3 for RGB
    img_size: int = 28           # square images; a multiple of 4
    output: str = "sigmoid"      # G's last activation: "sigmoid" (data in [0, 1]) or "tanh" ([-1, 1])
    n_noise: int = 62            # incompressible noise z
    noise: str = "uniform"       # distribution of z: "uniform" on [-1, 1] or "normal"
    n_cat: int = 10              # categories of the one categorical code
    n_cont: int = 2              # continuous codes, uniform on [-1, 1]
    fixed_std: bool = True       # Q's continuous posterior: N(mean, 1) (True) or N(mean, exp(log_std)^2)
    lambda_cat: float = 1.0      # weight of the categorical information term
    lambda_cont: float = 1.0     # weight of the continuous information term
    lr_d: float = 2e-4           # Adam learning rate of D, the trunk and Q
    lr_g: float = 1e-3           # Adam learning rate of G
    beta1: float = 0.5           # Adam beta1 (both optimisers)
    slope: float = 0.1           # leaky ReLU negative slope
    width: int = 64              # channels of the first conv (the second has 2 * width)
    fc: int = 1024               # width of the fully connected layers
    # beyond the papers (docs/07-mnist.md and docs/08-cryptopunks.md measure each):
    lambda_aug: float = 0.0      # weight of the consistency term (tinygan/regularisers.py; 0: off)
    g_average: float = 0.0       # beta of a running average of G's weights for sampling (tinygan/average.py; 0: off)
    cat_warmup: int = 0          # steps at the start with the categorical term's weight at 0 (0: none)
    real_target: float = 1.0     # D's target on real images (0.9: one-sided label smoothing; 1: the paper's)
    lr_g_late: float = 0.0       # G's learning rate from step lr_g_late_from on (0: lr_g throughout)
    lr_g_late_from: int = 0      # the step at which G's learning rate drops to lr_g_late
    d_norm: str = "batch"        # D's trunk: "batch" (Table II's BatchNorm) or "spectral" (tinygan/spectral.py)
    g_modulation: bool = False   # each of G's BatchNorm layers scaled and shifted by the latent (tinygan/modulation.py)
    g_top_k: float = 1.0         # fraction of G's fakes, the most real to D, in its adversarial term (tinygan/topk.py; 1: all)

    # options of earlier versions, measured no better and removed (docs/07-mnist.md,
    # docs/08-cryptopunks.md), with the value that meant "off": a checkpoint that used one
    # of them cannot be rebuilt
    REMOVED = {"noise_scale": 1.0, "cont_warmup": 0, "lambda_bal": 0.0, "lambda_ent": 0.0, "lambda_ms": 0.0,
               "lr_decay_start": 0, "lr_decay_end": 0, "mbstd_group": 0,
               "palette_snap": False, "palette_head": 0, "palette_size": 0,
               "d_shift": 0, "g_width": 0, "g_refine": 0, "separate_q": False,
               "g_upsample": "deconv", "gan_loss": "bce", "q_norm": "batch", "d_palette": 0,
               "lr_d_late": 0.0, "lr_d_late_from": 0, "lambda_r1": 0.0, "cont_margin": 0.0}

    @classmethod
    def from_dict(cls, d):
        names = {f.name for f in fields(cls)}
        used = {k: d[k] for k in cls.REMOVED if k in d and d[k] != cls.REMOVED[k]}
        if used:
            raise ValueError(f"made with options this version no longer has: {used} (docs/07-mnist.md, "
                             "docs/08-cryptopunks.md)")
        d = {k: v for k, v in d.items() if k not in cls.REMOVED}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown InfoGAN config keys: {sorted(unknown)}")
        return cls(**d)

    def validate(self):
        """Raise ValueError naming the first bad field."""
        if self.img_size % 4 or self.img_size < 8:
            raise ValueError(f"img_size must be a multiple of 4 and at least 8, got {self.img_size}")
        if self.output not in ("sigmoid", "tanh"):
            raise ValueError(f"output must be 'sigmoid' or 'tanh', got {self.output!r}")
        if self.d_norm not in ("batch", "spectral"):
            raise ValueError(f"d_norm must be 'batch' or 'spectral', got {self.d_norm!r}")
        if self.noise not in ("uniform", "normal"):
            raise ValueError(f"noise must be 'uniform' or 'normal', got {self.noise!r}")
        for name in ("img_channels", "n_cat", "width", "fc"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_noise", "n_cont"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        for name in ("lambda_cat", "lambda_cont", "lambda_aug"):
            if not (getattr(self, name) >= 0 and math.isfinite(getattr(self, name))):
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not (self.g_average == 0 or 0 < self.g_average < 1):
            raise ValueError(f"g_average must be 0 (off) or in (0, 1), got {self.g_average}")
        if self.cat_warmup < 0:
            raise ValueError(f"cat_warmup must be >= 0, got {self.cat_warmup}")
        if not 0.5 < self.real_target <= 1:
            raise ValueError(f"real_target must be in (0.5, 1], got {self.real_target}")
        for name in ("lr_d", "lr_g"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not (self.lr_g_late >= 0 and math.isfinite(self.lr_g_late)):
            raise ValueError(f"lr_g_late must be 0 (off) or > 0, got {self.lr_g_late}")
        if self.lr_g_late_from < 0 or (self.lr_g_late_from > 0) != (self.lr_g_late > 0):
            raise ValueError("lr_g_late and lr_g_late_from go together: both 0 (off) or both > 0, got "
                             f"{self.lr_g_late} and {self.lr_g_late_from}")
        if not 0 < self.g_top_k <= 1:
            raise ValueError(f"g_top_k must be in (0, 1] (1: every fake), got {self.g_top_k}")
        if not 0 <= self.beta1 < 1:
            raise ValueError(f"beta1 must be in [0, 1), got {self.beta1}")
        return self

    @property
    def latent_dim(self):
        return self.n_noise + self.n_cat + self.n_cont

    @property
    def q_dim(self):
        return self.n_cat + self.n_cont * (1 if self.fixed_std else 2)

    def to_dict(self):
        return asdict(self)


def build_generator(cfg):
    S, W = cfg.img_size // 4, cfg.width
    if cfg.g_modulation:   # beyond the paper: the latent scales and shifts every BatchNorm's output
        L = cfg.latent_dim
        return ModulatedSequential(
            Linear(L, cfg.fc), BatchNorm(cfg.fc), Modulation(L, cfg.fc), ReLU(),
            Linear(cfg.fc, 2 * W * S * S), BatchNorm(2 * W * S * S), Modulation(L, 2 * W * S * S), ReLU(),
            Reshape(2 * W, S, S),                                                   # (N, 2W, S, S)
            ConvTranspose2d(2 * W, W, 4, stride=2, padding=1), BatchNorm(W), Modulation(L, W), ReLU(),
            ConvTranspose2d(W, cfg.img_channels, 4, stride=2, padding=1),           # (N, C, 4S, 4S)
            Sigmoid() if cfg.output == "sigmoid" else Tanh())
    return Sequential(
        Linear(cfg.latent_dim, cfg.fc), BatchNorm(cfg.fc), ReLU(),
        Linear(cfg.fc, 2 * W * S * S), BatchNorm(2 * W * S * S), ReLU(),
        Reshape(2 * W, S, S),                                                   # (N, 2W, S, S)
        ConvTranspose2d(2 * W, W, 4, stride=2, padding=1), BatchNorm(W), ReLU(),  # (N, W, 2S, 2S)
        ConvTranspose2d(W, cfg.img_channels, 4, stride=2, padding=1),           # (N, C, 4S, 4S)
        Sigmoid() if cfg.output == "sigmoid" else Tanh())


def build_trunk(cfg):
    S, W = cfg.img_size // 4, cfg.width
    if cfg.d_norm == "spectral":   # beyond the paper: every weight spectrally normalised, no BatchNorm
        return Sequential(
            SpectralConv2d(cfg.img_channels, W, 4, stride=2, padding=1), LeakyReLU(cfg.slope),  # (N, W, 2S, 2S)
            SpectralConv2d(W, 2 * W, 4, stride=2, padding=1), LeakyReLU(cfg.slope),            # (N, 2W, S, S)
            Flatten(),                                                                          # (N, 2W*S*S)
            SpectralLinear(2 * W * S * S, cfg.fc), LeakyReLU(cfg.slope))                        # (N, fc)
    return Sequential(
        Conv2d(cfg.img_channels, W, 4, stride=2, padding=1), LeakyReLU(cfg.slope),    # (N, W, 2S, 2S)
        Conv2d(W, 2 * W, 4, stride=2, padding=1), BatchNorm(2 * W), LeakyReLU(cfg.slope),  # (N, 2W, S, S)
        Flatten(),                                                                    # (N, 2W*S*S)
        Linear(2 * W * S * S, cfg.fc), BatchNorm(cfg.fc), LeakyReLU(cfg.slope))       # (N, fc)


def build_d_head(cfg):
    return Sequential(SpectralLinear(cfg.fc, 1) if cfg.d_norm == "spectral" else Linear(cfg.fc, 1))


def build_q_head(cfg):
    return Sequential(Linear(cfg.fc, 128), BatchNorm(128), LeakyReLU(cfg.slope), Linear(128, cfg.q_dim))


# ----------------------------------------------------------------------------- latent codes
def sample_noise(cfg, n, rng):
    """n noise vectors z (n, n_noise), float64: uniform on [-1, 1] or standard normal."""
    if cfg.noise == "uniform":
        return rng.uniform(-1, 1, (n, cfg.n_noise))
    return rng.standard_normal((n, cfg.n_noise))


def sample_latent(cfg, n, rng, cat=None, cont=None):
    """Draw n latent vectors on the host: [z (n_noise) | one-hot c (n_cat) | c' (n_cont)].

    cat (n,) ints and cont (n, n_cont) may be given to fix the codes (for figures).
    Returns (latent (n, latent_dim) float32, cat (n,) int64, cont (n, n_cont) float32).
    """
    z = sample_noise(cfg, n, rng)
    cat = rng.integers(0, cfg.n_cat, n) if cat is None else np.asarray(cat, dtype=np.int64)
    cont = rng.uniform(-1, 1, (n, cfg.n_cont)) if cont is None else np.asarray(cont, dtype=np.float64)
    onehot = np.eye(cfg.n_cat)[cat]                                              # (n, n_cat)
    latent = np.concatenate([z, onehot, cont], axis=1).astype(np.float32)       # (n, latent_dim)
    return latent, cat, cont.astype(np.float32)


def info_loss(q_out, cat, cont, cfg, lambda_cat=None):
    """The information terms for Q's output on generated images: losses.info_loss with the
    config's sizes and weights (lambda_cat, when given, instead of the config's).
    Returns (loss, dq_out (N, q_dim), {"cat": CE, "cont": NLL})."""
    lambda_cat = cfg.lambda_cat if lambda_cat is None else lambda_cat
    return losses.info_loss(q_out, cat, cont, cfg.n_cat, cfg.n_cont, lambda_cat, cfg.lambda_cont, cfg.fixed_std)


# ----------------------------------------------------------------------------- the model
class InfoGAN:
    """G, the D/Q trunk and the two heads, their optimisers, and the training step.

    The wiring (docs/06-infogan.md): D, the trunk and Q are updated by Adam(lr_d) on
        L_D = BCE(D(x), 1) + BCE(D(G(z, c)), 0) + info(Q(G(z, c)), c),
    then G is updated by Adam(lr_g) on a fresh latent batch with
        L_G = BCE(D(G(z, c)), 1) + info(Q(G(z, c)), c),
    whose gradient reaches G through the (unchanged) D head, Q head and trunk.
    """

    def __init__(self, cfg, seed=0):
        self.cfg = cfg.validate()
        backend.seed(seed)
        self.G = build_generator(cfg)
        self.trunk = build_trunk(cfg)
        self.d_head = build_d_head(cfg)
        self.q_head = build_q_head(cfg)
        # each optimiser's parameters and gradients as views of one buffer: Adam and
        # zero_grad() make a few whole-buffer passes (kernel launches) instead of a few per array
        self.d_flat = FlatParams(self.trunk, self.d_head, self.q_head)
        self.g_flat = FlatParams(self.G)
        self.d_params = {**_prefixed("trunk", self.trunk.params), **_prefixed("d_head", self.d_head.params),
                         **_prefixed("q_head", self.q_head.params)}
        self.d_grads = {**_prefixed("trunk", self.trunk.grads), **_prefixed("d_head", self.d_head.grads),
                        **_prefixed("q_head", self.q_head.grads)}
        self.opt_d = adam(self.d_params, self.d_grads, lr=cfg.lr_d, betas=(cfg.beta1, 0.999), flat=self.d_flat)
        self.opt_g = adam(self.G.params, self.G.grads, lr=cfg.lr_g, betas=(cfg.beta1, 0.999), flat=self.g_flat)
        self.rng = np.random.default_rng(seed)  # latent samples and batch order, on the host
        # beyond the paper: a running average of G's weights for sampling (updated by the training loop)
        self.g_average = WeightAverage(self.g_flat, cfg.g_average) if cfg.g_average else None
        self._average_stats_t = None   # the average's step that the cached BatchNorm statistics belong to
        # beyond the paper: extra terms of L_D on the real batch (tinygan/regularisers.py)
        self.regularisers = regularisers.from_config(cfg)

    def modules(self):
        return {"G": self.G, "trunk": self.trunk, "d_head": self.d_head, "q_head": self.q_head}

    def train(self):
        for m in self.modules().values():
            m.train()

    def eval(self):
        for m in self.modules().values():
            m.eval()

    def generate(self, latent):
        """Images from host latent vectors (n, latent_dim), on the active backend."""
        return self.G.forward(self.generate_input(latent))

    def _heads_backward(self, dlogit, dq, need_param_grads=True):
        """Both heads read the trunk's output h, so dL/dh is the sum of what they send back."""
        return (self.d_head.backward(dlogit, need_param_grads)
                + self.q_head.backward(dq, need_param_grads))

    def lambda_cat_at(self, t):
        """The categorical term's weight after t updates: 0 during the first cat_warmup steps
        (beyond the paper: G first learns to draw varied images, then to split them into
        categories; docs/08-cryptopunks.md), then lambda_cat."""
        return 0.0 if t < self.cfg.cat_warmup else self.cfg.lambda_cat

    def lr_g_at(self, t):
        """G's learning rate for the update after t updates: lr_g, and lr_g_late from step
        lr_g_late_from on when it is set (beyond the paper: smaller late steps leave less
        jitter in G's weights; docs/08-cryptopunks.md)."""
        late = self.cfg.lr_g_late and t >= self.cfg.lr_g_late_from
        return self.cfg.lr_g_late if late else self.cfg.lr_g

    def d_loss_and_grads(self, real, latent, cat, cont):
        """L_D for a real batch and the latents of a fake batch; leaves dL_D/dparam in the
        grads of the trunk and both heads (zeroed first). Returns the loss terms."""
        cfg = self.cfg
        self.d_flat.zero_grad()
        # real half: BCE(D(x), 1); its own forward/backward so BatchNorm sees a real-only batch
        # (beyond the paper, a real_target below 1 in place of the 1 is one-sided label
        # smoothing: D is never pushed to be surer than that; docs/06-infogan.md)
        h = self.trunk.forward(real)                                  # (N, fc)
        loss_real, dlogit = bce_with_logits(self.d_head.forward(h), cfg.real_target)
        self.trunk.backward(self.d_head.backward(dlogit), need_input_grad=False)   # no d(image) needed
        extra = {r.name: r.loss_and_grads(self, real, h) for r in self.regularisers}
        # fake half: BCE(D(G(z, c)), 0) + info(Q(G(z, c)), c); G gets no gradient from L_D
        fake = self.generate(latent)                                  # (N, C, H, W)
        h = self.trunk.forward(fake)
        loss_fake, dlogit = bce_with_logits(self.d_head.forward(h), 0.0)
        info, dq, parts = info_loss(self.q_head.forward(h), backend.asarray(cat), backend.asarray(cont), cfg,
                                    self.lambda_cat_at(self.opt_d.t))
        self.trunk.backward(self._heads_backward(dlogit, dq), need_input_grad=False)
        loss_d = loss_real + loss_fake + info
        for r in self.regularisers:
            loss_d = loss_d + r.weight * extra[r.name]
        return {"loss_d": loss_d, "d_real": loss_real, "d_fake": loss_fake, "info_d": info,
                "ce_d": parts["cat"], "nll_d": parts["cont"], **extra}

    def g_loss_and_grads(self, latent, cat, cont):
        """L_G for a batch of latents; leaves dL_G/dparam in G's grads (zeroed first).
        The trunk and heads pass the gradient through without accumulating their own."""
        cfg = self.cfg
        self.g_flat.zero_grad()
        fake = self.generate(latent)
        h = self.trunk.forward(fake)
        logit = self.d_head.forward(h)                                 # (N, 1)
        if cfg.g_top_k < 1:   # beyond the paper: only the fakes D finds most real (tinygan/topk.py)
            loss_gan, dlogit = top_k_real_bce(logit, top_k_count(cfg.g_top_k, logit.shape[0]))
        else:
            loss_gan, dlogit = bce_with_logits(logit, 1.0)            # non-saturating
        info, dq, parts = info_loss(self.q_head.forward(h), backend.asarray(cat), backend.asarray(cont), cfg,
                                    self.lambda_cat_at(self.opt_g.t))
        # D's, the trunk's and Q's own gradients are not wanted here: only dL_G/d fake
        dfake = self.trunk.backward(self._heads_backward(dlogit, dq, False), need_param_grads=False)
        self.G.backward(dfake, need_input_grad=False)                 # no d(latent) needed
        return {"loss_g": loss_gan + info, "g_gan": loss_gan, "info_g": info,
                "ce_g": parts["cat"], "nll_g": parts["cont"]}

    def d_step(self, real):
        """One Adam update of D, the trunk and Q. real: (N, C, H, W) on the active backend."""
        out = self.d_loss_and_grads(real, *sample_latent(self.cfg, real.shape[0], self.rng))
        self.opt_d.step()
        return out

    def g_step(self, N):
        """One Adam update of G on a fresh batch of N latent vectors."""
        out = self.g_loss_and_grads(*sample_latent(self.cfg, N, self.rng))
        self.opt_g.lr = self.lr_g_at(self.opt_g.t)
        self.opt_g.step()
        return out

    def step(self, real):
        """One training iteration: a D/Q update on real + fake, then a G update.
        Returns the losses as Python floats, fetched from the device in one copy."""
        out = self.d_step(real)
        out.update(self.g_step(real.shape[0]))
        return losses_to_host(out)

    @contextlib.contextmanager
    def sampling_weights(self, averaged=True):
        """A context in which G computes with the weights used for sampling: the running
        average when the model keeps one (and `averaged`), with BatchNorm statistics measured
        for it (average.recompute_batchnorm over fixed latent batches, once per average);
        else the trained weights. Everything is put back afterwards."""
        if not averaged or self.g_average is None:
            yield
            return
        raw = batchnorm_state(self.G)
        with self.g_average.swapped_in():
            try:
                if self._average_stats_t != self.g_average.t:
                    self.measure_batchnorm_stats()
                    self._average_stats, self._average_stats_t = batchnorm_state(self.G), self.g_average.t
                else:
                    set_batchnorm_state(self.G, self._average_stats)
                yield
            finally:
                set_batchnorm_state(self.G, raw)

    def measure_batchnorm_stats(self, batches=20, batch_size=64):
        """Set G's BatchNorm running statistics to those of its current weights, measured over
        `batches` fixed latent batches (average.recompute_batchnorm)."""
        rng = np.random.default_rng(AVERAGE_STATS_SEED)
        recompute_batchnorm(self.G, (self.generate_input(sample_latent(self.cfg, batch_size, rng)[0])
                                     for _ in range(batches)))

    def generate_input(self, latent):
        """Host latents (n, latent_dim) as G's input on the active backend."""
        return backend.asarray(latent, dtype=self.G.params["0.w"].dtype)

    def classify(self, images, batch_size=500):
        """Q's arg-max category for images (n, C, H, W) (host or device), evaluation mode."""
        return self.read_codes(images, batch_size)[0]

    def read_codes(self, images, batch_size=500):
        """What Q reads from images (n, C, H, W) (host or device), evaluation mode, on the host:
        (arg-max category (n,), the means of the continuous codes (n, n_cont))."""
        cats, means = [np.zeros(0, np.int64)], [np.zeros((0, self.cfg.n_cont), np.float32)]
        with evaluation(self.trunk, self.q_head):
            for i in range(0, len(images), batch_size):
                x = backend.asarray(images[i:i + batch_size], dtype=self.G.params["0.w"].dtype)
                q = backend.to_numpy(self.q_head.forward(self.trunk.forward(x)))     # (b, q_dim)
                cats.append(q[:, :self.cfg.n_cat].argmax(axis=1))
                means.append(q[:, self.cfg.n_cat:self.cfg.n_cat + self.cfg.n_cont])
        return np.concatenate(cats), np.concatenate(means)

    def is_finite(self):
        """True when every parameter and buffer is finite."""
        for m in self.modules().values():
            for v in list(m.params.values()) + list(m.buffers.values()):
                if not bool(backend.get_array_module(v).isfinite(v).all()):
                    return False
        return True

    # ------------------------------------------------------------------------- state
    def state_dict(self):
        """Every array and counter needed to resume exactly, as host NumPy values."""
        arrays = {}
        for name, m in self.modules().items():
            for k, v in m.params.items():
                arrays[f"{name}.params.{k}"] = backend.to_numpy(v)
            for k, v in m.buffers.items():
                arrays[f"{name}.buffers.{k}"] = backend.to_numpy(v)
        for opt_name, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
            for part, per_param in opt.state_dict().items():   # FastAdam: g_sum, g2_sum; Adam: m, v
                if part != "t":
                    arrays.update((f"{opt_name}.{part}.{k}", a) for k, a in per_param.items())
        meta = {"config": self.cfg.to_dict(), "opt_d_t": self.opt_d.t, "opt_g_t": self.opt_g.t,
                "rng": self.rng.bit_generator.state}
        if self.g_average is not None:
            arrays["G_average"] = backend.to_numpy(self.g_average.avg)
            meta["g_average_t"] = self.g_average.t
        return arrays, meta

    def load_state_dict(self, arrays, meta):
        if InfoGANConfig.from_dict(meta["config"]) != self.cfg:  # fields added later take their defaults
            raise ValueError("checkpoint was made with a different configuration")
        try:
            for name, m in self.modules().items():
                for d, kind in ((m.params, "params"), (m.buffers, "buffers")):
                    for k, v in d.items():
                        src = arrays[f"{name}.{kind}.{k}"]
                        if src.shape != v.shape:
                            raise ValueError(f"{name}.{kind}.{k}: checkpoint shape {src.shape}, model {v.shape}")
                        v[...] = backend.asarray(src, dtype=v.dtype)
            for opt_name, opt in (("opt_d", self.opt_d), ("opt_g", self.opt_g)):
                # FastAdam stores the sums, the plain Adam (and older checkpoints) m and v: each loads both
                a, b = ("g_sum", "g2_sum") if any(".g_sum." in k for k in arrays) else ("m", "v")
                opt.load_state_dict({"t": meta[f"{opt_name}_t"],
                                     a: {k: arrays[f"{opt_name}.{a}.{k}"] for k in opt.params},
                                     b: {k: arrays[f"{opt_name}.{b}.{k}"] for k in opt.params}})
            if self.g_average is not None:
                if arrays["G_average"].shape != self.g_average.avg.shape:
                    raise ValueError("G_average: checkpoint shape differs from the model's")
                self.g_average.avg[...] = backend.asarray(arrays["G_average"], dtype=self.g_average.avg.dtype)
                self.g_average.t = meta["g_average_t"]
                self._average_stats_t = None
        except KeyError as e:
            raise ValueError(f"checkpoint is missing the array {e.args[0]!r}") from None
        self.rng.bit_generator.state = meta["rng"]


def losses_to_host(losses):
    """{name: scalar on the device, or a Python number} -> {name: float}, with a single
    device-to-host copy (each float() of a GPU scalar would wait for the GPU on its own)."""
    on_device = [k for k, v in losses.items() if not isinstance(v, (int, float))]
    out = {k: float(v) for k, v in losses.items() if k not in on_device}
    if on_device:
        xp = backend.get_array_module(losses[on_device[0]])
        values = backend.to_numpy(xp.stack([xp.asarray(losses[k], dtype=np.float64) for k in on_device]))
        out.update((k, float(v)) for k, v in zip(on_device, values))
    return {k: out[k] for k in losses}


def _prefixed(prefix, d):
    return {f"{prefix}.{k}": v for k, v in d.items()}

