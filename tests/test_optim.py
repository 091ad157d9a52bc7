"""Adam and SGD against hand-computed updates; state save/restore. `Adam` here is FastAdam,
the form tinygan trains with; the plain optim.Adam is checked against the same reference."""
import numpy as np
import pytest

from tinygan.fast import FastAdam as Adam
from tinygan.optim import SGD
from tinygan.optim import Adam as PlainAdam


def adam_reference(p, grads, lr, b1, b2, eps):
    """Adam written out per step, scalar-formula style. Returns p and the moments m, v."""
    m = v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        mhat, vhat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p, m, v


# (betas, eps, gradient scale): eps that matters (large against tiny gradients) and beta1 = 0
@pytest.mark.parametrize("cls", [PlainAdam, Adam])
@pytest.mark.parametrize("betas,eps,scale", [((0.5, 0.999), 1e-8, 1.0), ((0.9, 0.99), 0.3, 1e-2),
                                             ((0.0, 0.9), 1e-3, 1e-3)])
def test_adam_matches_reference(rng, betas, eps, scale, cls):
    p0 = rng.standard_normal((3, 4))
    gs = [scale * rng.standard_normal((3, 4)) for _ in range(5)]
    params, grads = {"w": p0.copy()}, {"w": np.zeros_like(p0)}
    opt = cls(params, grads, lr=1e-2, betas=betas, eps=eps)
    for g in gs:
        grads["w"][...] = g
        opt.step()
    np.testing.assert_allclose(params["w"], adam_reference(p0, gs, 1e-2, *betas, eps)[0], rtol=1e-12)


def test_adam_resumes_from_pytorch_style_moments(rng):
    p0 = rng.standard_normal(5)
    gs = [rng.standard_normal(5) for _ in range(6)]
    p3, m, v = adam_reference(p0, gs[:3], 0.1, 0.5, 0.999, 1e-8)
    params, grads = {"w": p3.copy()}, {"w": np.zeros(5)}
    opt = Adam(params, grads, lr=0.1)
    opt.load_state_dict({"t": 3, "m": {"w": m}, "v": {"w": v}})
    for g in gs[3:]:
        grads["w"][...] = g
        opt.step()
    np.testing.assert_allclose(params["w"], adam_reference(p0, gs, 0.1, 0.5, 0.999, 1e-8)[0], rtol=1e-12)


def test_adam_state_roundtrip(rng):
    p0 = rng.standard_normal(4)
    gs = [rng.standard_normal(4) for _ in range(6)]

    def run(steps, opt, params, grads):
        for g in steps:
            grads["w"][...] = g
            opt.step()

    params, grads = {"w": p0.copy()}, {"w": np.zeros(4)}
    full = Adam(params, grads, lr=0.1)
    run(gs, full, params, grads)

    p2, g2 = {"w": p0.copy()}, {"w": np.zeros(4)}
    first = Adam(p2, g2, lr=0.1)
    run(gs[:3], first, p2, g2)
    state = first.state_dict()
    p3, g3 = {"w": p2["w"].copy()}, {"w": np.zeros(4)}
    second = Adam(p3, g3, lr=0.1)
    second.load_state_dict(state)
    run(gs[3:], second, p3, g3)
    np.testing.assert_array_equal(p3["w"], params["w"])


def test_sgd_with_momentum(rng):
    p0 = rng.standard_normal(3)
    g1, g2 = rng.standard_normal(3), rng.standard_normal(3)
    params, grads = {"w": p0.copy()}, {"w": g1.copy()}
    opt = SGD(params, grads, lr=0.1, momentum=0.9)
    opt.step()
    grads["w"][...] = g2
    opt.step()
    np.testing.assert_allclose(params["w"], p0 - 0.1 * g1 - 0.1 * (0.9 * g1 + g2), rtol=1e-12)


def test_adam_keeps_float32(rng):
    params = {"w": rng.standard_normal(5).astype(np.float32)}
    grads = {"w": rng.standard_normal(5).astype(np.float32)}
    opt = Adam(params, grads)
    opt.step()
    assert params["w"].dtype == np.float32 and opt.g_sum["w"].dtype == np.float32


@pytest.mark.parametrize("kwargs", [{"lr": 0}, {"betas": (1.0, 0.9)}, {"eps": -1}])
def test_adam_rejects_bad_hyperparameters(kwargs):
    with pytest.raises(ValueError, match="Adam"):
        Adam({"w": np.zeros(2)}, {"w": np.zeros(2)}, **kwargs)


def test_mismatched_params_and_grads():
    with pytest.raises(ValueError, match="keys"):
        Adam({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match="shape"):
        SGD({"w": np.zeros(2)}, {"w": np.zeros(3)})


def test_adam_on_a_parameter_of_several_blocks(rng):
    """Above one block the update runs block by block over threads, moments updated in place."""
    from tinygan import threads
    n = 3 * threads.BLOCK + 5
    p0 = rng.standard_normal(n)
    gs = [rng.standard_normal(n) for _ in range(3)]
    params, grads = {"w": p0.copy()}, {"w": np.zeros(n)}
    opt = Adam(params, grads, lr=1e-2, betas=(0.9, 0.99), eps=1e-3)
    for g in gs:
        grads["w"][...] = g
        opt.step()
    p, m, v = adam_reference(p0, gs, 1e-2, 0.9, 0.99, 1e-3)
    np.testing.assert_allclose(params["w"], p, rtol=1e-12)
    np.testing.assert_allclose(opt.state_dict()["g_sum"]["w"] * 0.1, m, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls", [PlainAdam, Adam])
def test_adam_updates_a_fortran_ordered_parameter_in_place(rng, cls):
    """A parameter that is not C-contiguous (here Fortran order) is updated where it lives,
    exactly as a C-ordered copy of it is."""
    p0 = rng.standard_normal((4, 6))
    gs = [rng.standard_normal((4, 6)) for _ in range(3)]
    pf = np.asfortranarray(p0.copy())
    params, grads = {"w": pf}, {"w": np.zeros((4, 6))}
    opt = cls(params, grads, lr=1e-2)
    for g in gs:
        grads["w"][...] = g
        opt.step()
    assert params["w"] is pf and not pf.flags.c_contiguous
    np.testing.assert_allclose(pf, adam_reference(p0, gs, 1e-2, 0.5, 0.999, 1e-8)[0], rtol=1e-12)


def test_adam_over_flat_params_equals_adam_per_parameter(rng):
    """layers.FlatParams: the same Adam steps on the flat buffers as parameter by parameter,
    the layers' params and grads are views of those buffers, and the state saves per key."""
    from tinygan import backend
    from tinygan.layers import BatchNorm, FlatParams, Linear, Sequential
    old = backend.default_dtype()
    backend.set_default_dtype(np.float64)
    try:
        backend.seed(0)
        a = Sequential(Linear(3, 5), BatchNorm(5), Linear(5, 2))
        backend.seed(0)
        b = Sequential(Linear(3, 5), BatchNorm(5), Linear(5, 2))
    finally:
        backend.set_default_dtype(old)
    flat = FlatParams(b)
    assert flat.params.size == sum(v.size for v in a.params.values())
    assert all(np.shares_memory(v, flat.params) for v in b.params.values())
    assert all(np.shares_memory(v, flat.grads) for v in b.grads.values())
    opt_a = Adam(a.params, a.grads, lr=1e-2)
    opt_b = Adam(b.params, b.grads, lr=1e-2, flat=flat)
    x = rng.standard_normal((8, 3))
    for _ in range(3):
        for net, zero in ((a, a.zero_grad), (b, flat.zero_grad)):
            zero()
            y = net.forward(x)
            net.backward(y - 1.0)
        opt_a.step()
        opt_b.step()
    for k in a.params:
        np.testing.assert_allclose(b.params[k], a.params[k], rtol=1e-12, atol=1e-15)
    sa, sb = opt_a.state_dict(), opt_b.state_dict()
    for k in a.params:
        np.testing.assert_allclose(sb["g_sum"][k], sa["g_sum"][k], rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError, match="flat must hold exactly"):
        Adam(a.params, a.grads, flat=flat)
