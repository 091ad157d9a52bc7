"""How real generated punks are, in numbers (docs/08-cryptopunks.md):

- the Fréchet distance between generated and real punks on the features of an attribute
  classifier (tinygan/classifier.py), beside its floor: two disjoint halves of the real punks;
- palette fidelity: the punks are drawn from a small set of flat colours, so how many
  generated pixels lie within a small RGB distance of a colour that real punks use;
- edges: how often two neighbouring pixels differ by more than that distance; flat pixel
  art has few such pairs and speckle many, in palette colours or not (so it still measures
  the speckle of a generator whose every pixel is a palette colour);
- coverage: each attribute's and type's rate among generated punks beside its real rate;
- codes: for each continuous code, how much its sweep changes the pixels and which
  attributes it turns on or off (its measured name);
- categories: what each category draws (the attribute whose rate it raises most), and how
  many different attributes name the categories;
- variety: how much the noise, the category and the continuous codes each change the punk;
- code readout: how well Q recovers the codes from the drawn punks, and from the same punks
  with every pixel snapped to the nearest real colour: what survives snapping is drawn in
  the pixel art; what does not was hidden in off-palette speckle.

The classifier is trained once on the training punks (the held-out ones score it) and
cached next to the punks, keyed by its settings, the image size and the background.
"""
import json
from pathlib import Path

import numpy as np

from .classifier import AttributeClassifier, fit
from .data import DataError, cache_dir
from .evaluate import frechet_distance, gaussian_stats, nearest_distances
from .figures import render
from .infogan import sample_latent
from .io import check_in_file, load_keyed, run_checkpoint, save_keyed
from .pixels import to_model, to_uint8, to_unit
from .punks import DEFAULT_BACKGROUND, find_or_download, holdout_split, load_attributes, load_punks
from .train import load_model

TYPES = ["alien", "ape", "zombie", "female", "male"]
MIN_COUNT = 100                     # accessories on at least 1% of the 10,000 punks get an output
CLASSIFIER = {"version": 1, "steps": 1500, "batch": 64, "seed": 0}
PALETTE_TOLERANCE = 16              # RGB distance (of 255) within which a pixel is a palette colour
# what the default recipe should reach (docs/08-cryptopunks.md): palette fidelity, and a live
# continuous code: a sweep that changes the pixels and moves some attribute's rate
TARGET_PALETTE = 0.95
LIVE_PIXEL_CHANGE = 15.0            # of 255, between the ends of the sweep
LIVE_RATE_CHANGE = 0.20             # an attribute's rate, between the ends of the sweep


# ----------------------------------------------------------------------------- labels
def attribute_names(accessories, min_count=None):
    """The accessories worn by at least min_count punks (default MIN_COUNT), most common first."""
    min_count = MIN_COUNT if min_count is None else min_count
    counts = {}
    for acc in accessories:
        for a in acc:
            counts[a] = counts.get(a, 0) + 1
    return sorted((a for a, c in counts.items() if c >= min_count), key=lambda a: (-counts[a], a))


def labels(types, accessories, names):
    """(n, len(names)) 0/1 float32 accessory matrix and (n,) type indices."""
    y = np.array([[a in acc for a in names] for acc in accessories], np.float32).reshape(len(types), len(names))
    t = np.array([TYPES.index(ty) for ty in types], np.int64)
    return y, t


# ----------------------------------------------------------------------------- palette
def palette(images_u8):
    """The distinct RGB colours of uint8 images (..., 3) -> (P, 3) uint8."""
    return np.unique(np.asarray(images_u8).reshape(-1, 3), axis=0)


def _nearest_colours(images_u8, colours):
    """For each distinct pixel colour of uint8 images (..., 3): the index of the nearest of
    `colours` (P, 3) and the RGB distance to it, computed in blocks of (b, P) distances.
    Returns (index (D,), distance (D,), counts (D,), inverse: each pixel's distinct colour)."""
    px, inverse, counts = np.unique(np.asarray(images_u8).reshape(-1, 3), axis=0, return_inverse=True,
                                    return_counts=True)
    pal = np.asarray(colours, np.float64)
    nearest, d2 = np.empty(len(px), np.int64), np.empty(len(px))
    for i in range(0, len(px), 4096):
        d = px[i:i + 4096, None, :].astype(np.float64) - pal[None, :, :]
        sq = (d * d).sum(axis=2)                                          # (b, P)
        nearest[i:i + 4096] = sq.argmin(axis=1)
        d2[i:i + 4096] = sq.min(axis=1)
    return nearest, np.sqrt(d2), counts, inverse.reshape(-1)


def palette_distances(images_u8, colours):
    """For every pixel of uint8 images (..., 3), the RGB distance to the nearest of `colours`
    (P, 3). Computed once per distinct pixel colour. Returns (distinct colours' distances,
    their pixel counts)."""
    _, dist, counts, _ = _nearest_colours(images_u8, colours)
    return dist, counts


def nearest_per_pixel(images_u8, colours):
    """For every pixel of uint8 images (..., 3): the index of the nearest of `colours` (P, 3)
    and the RGB distance to it, each shaped like the images without their last axis."""
    nearest, dist, _, inverse = _nearest_colours(images_u8, colours)
    shape = np.asarray(images_u8).shape[:-1]
    return nearest[inverse].reshape(shape), dist[inverse].reshape(shape)


def palette_fidelity(images_u8, colours, tolerance=PALETTE_TOLERANCE):
    """{"within": fraction of pixels within `tolerance` of a palette colour, "median_distance":
    the median over pixels of the distance to the nearest palette colour}."""
    d, counts = palette_distances(images_u8, colours)
    order = np.argsort(d)
    cum = np.cumsum(counts[order])
    median = float(d[order][np.searchsorted(cum, cum[-1] / 2)])
    return {"within": float(counts[d <= tolerance].sum() / counts.sum()), "median_distance": median,
            "tolerance": tolerance}


def edge_fraction(images_u8, tolerance=PALETTE_TOLERANCE):
    """The fraction of horizontally or vertically neighbouring pixel pairs of uint8 images
    (n, H, W, 3) whose RGB distance exceeds `tolerance`: low for flat colours, high for speckle."""
    x = np.asarray(images_u8, np.int32)
    across = ((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum(axis=-1)                 # (n, H, W-1) squared distances
    down = ((x[:, 1:] - x[:, :-1]) ** 2).sum(axis=-1)                         # (n, H-1, W)
    t2 = tolerance ** 2
    return float(((across > t2).sum() + (down > t2).sum()) / (across.size + down.size))


def snap_to_palette(images_u8, colours):
    """Every pixel of uint8 images (..., 3) replaced by the nearest of `colours` (P, 3)."""
    nearest, _, _, inverse = _nearest_colours(images_u8, colours)
    return np.asarray(colours, np.uint8)[nearest[inverse]].reshape(np.shape(images_u8))


# ----------------------------------------------------------------------------- the classifier
def attribute_classifier(punks, y, t, train_idx, held_idx, key_extra, cache_dirs=(), progress=True):
    """An AttributeClassifier for punks (n, 3, S, S) in [-1, 1]: loaded from the cache when
    one with the same key is there, else trained on train_idx and cached. Returns
    (classifier, info) with its held-out accuracy per output."""
    key = dict(CLASSIFIER, n_attributes=int(y.shape[1]), **key_extra)
    name = "punk_classifier.npz"
    found = load_keyed(cache_dirs, name, key)
    if found is not None:
        arrays, meta, path = found
        clf = AttributeClassifier(punks.shape[-1], y.shape[1], len(TYPES), seed=key["seed"])
        clf.load_arrays(arrays)
        return clf, dict(meta["info"], path=str(path))
    clf = fit(punks[train_idx], y[train_idx], t[train_idx], len(TYPES), key["steps"], key["batch"], key["seed"],
              progress="punk attribute classifier (once, then cached)" if progress else None)
    info = {"n_held_out": int(len(held_idx))}
    if len(held_idx):
        pb, pt = clf.predict(punks[held_idx])
        yh = y[held_idx] > 0.5
        info["type_accuracy"] = float((pt == t[held_idx]).mean())
        info["attribute_accuracy"] = float(((pb > 0.5) == yh).mean())
        # accuracy flatters rare attributes: the recall over the held-out punks that have each
        info["attribute_recall"] = float(((pb > 0.5) & yh).sum() / max(yh.sum(), 1))
    path = save_keyed(cache_dirs, name, key, clf.arrays(), info=info)
    if path is not None:
        info["path"] = str(path)
    return clf, info


def classify(clf, images_u8):
    """(binary probabilities (n, B), type indices (n,)) of uint8 punks (n, S, S, 3)."""
    return clf.predict(to_model(images_u8, "tanh"))


def direction_latents(cfg, n, seed):
    """The n latents (n, D) whose generated punks examples/vector_addition.py --auto labels
    to find its directions, and the generator that drew them, for further draws: one place,
    so benchmarks that study those directions see the same punks."""
    rng = np.random.default_rng([seed, 7])
    latent, _, _ = sample_latent(cfg, n, rng)
    return latent, rng


# ----------------------------------------------------------------------------- a run's real punks
def labelled_punks(data_dir, attributes, size, background, holdout, progress=True):
    """The real punks (composited on `background`), their labels from attributes.csv, the
    training script's hold-out split and the attribute classifier (cached), as
    examples/evaluate_punks.py and vector_addition.py --auto use them. Returns a dict;
    raises DataError."""
    punks_png = find_or_download(data_dir)
    punks = load_punks(data_dir, size=size, background=background)
    attr = Path(attributes) if attributes else punks_png.parent / "attributes.csv"
    if not attr.is_file():
        raise DataError(f"{attr}: attributes.csv not found beside punks.png; pass --attributes")
    types, accessories = load_attributes(attr)
    if len(types) != len(punks):
        raise DataError(f"{attr} describes {len(types)} punks, punks.png holds {len(punks)}")
    names = attribute_names(accessories)
    y, t = labels(types, accessories, names)
    held_idx, train_idx = holdout_split(len(punks), holdout)
    clf, info = attribute_classifier(
        punks, y, t, train_idx, held_idx, {"size": size, "background": list(background), "holdout": holdout},
        [punks_png.parent, cache_dir() / "cryptopunks"], progress)
    return {"punks": punks, "y": y, "t": t, "names": names, "train_idx": train_idx, "held_idx": held_idx,
            "clf": clf, "info": info}


def run_data(run_dir, background=None, holdout=None):
    """The background and hold-out a run used (its data.json), unless given."""
    data = json.loads((run_dir / "data.json").read_text()) if (run_dir / "data.json").is_file() else {}
    return (background or tuple(data.get("background", DEFAULT_BACKGROUND)),
            holdout if holdout is not None else data.get("holdout", 500))


def open_run(run, data_dir):
    """A run folder (its checkpoint.npz) or a checkpoint file -> (checkpoint path, model, the
    labelled punks of labelled_punks on the run's background and hold-out). Raises PathError,
    DataError or ValueError with a message for the user."""
    ckpt = check_in_file(run_checkpoint(run), "checkpoint")
    model, _ = load_model(ckpt)
    background, holdout = run_data(ckpt.parent)
    return ckpt, model, labelled_punks(data_dir, None, model.cfg.img_size, background, holdout)


# ----------------------------------------------------------------------------- the measures
def rates(probs, types, names):
    """{name: fraction of punks with it} for the accessories (probability > 0.5) and types."""
    out = {n: float((probs[:, j] > 0.5).mean()) for j, n in enumerate(names)}
    out.update((ty, float((types == k).mean())) for k, ty in enumerate(TYPES))
    return out


def coverage(gen_rates, real_rates, min_rate=0.01):
    """Each attribute's generated and real rate; how many of those with a real rate >= min_rate
    are generated within a factor of 2 of it (between half and twice)."""
    table = {n: {"generated": gen_rates[n], "real": real_rates[n]} for n in real_rates}
    common = [n for n, r in real_rates.items() if r >= min_rate]
    ok = [n for n in common if real_rates[n] / 2 <= gen_rates[n] <= 2 * real_rates[n]]
    return {"rates": table, "n_common": len(common), "n_within_2x": len(ok),
            "outside_2x": sorted(set(common) - set(ok))}


def code_effects(model, clf, names, n=500, ends=(-1.5, 1.5), seed=0, batch=250, averaged=True):
    """For each continuous code: the mean |pixel| change (0..255) between the two ends of its
    sweep, over n latents (the other codes and the noise as drawn), and every attribute's and
    type's rate at each end; the attribute whose rate moves most names the code."""
    cfg = model.cfg
    rng = np.random.default_rng([seed, 11])
    base, _, _ = sample_latent(cfg, n, rng)
    K = cfg.n_noise + cfg.n_cat
    out = []
    for i in range(cfg.n_cont):
        imgs = []
        for v in ends:
            lat = base.copy()
            lat[:, K + i] = v
            imgs.append(render(model, lat, batch, averaged))
        change = float(np.abs(imgs[0].astype(np.int16) - imgs[1].astype(np.int16)).mean())
        lo, hi = (rates(*classify(clf, im), names) for im in imgs)
        moves = {a: hi[a] - lo[a] for a in lo}
        top = max(moves, key=lambda a: abs(moves[a]))
        out.append({"code": i, "pixel_change": change, "ends": list(ends), "rate_low": lo, "rate_high": hi,
                    "name": top, "name_change": moves[top],
                    "label": f"code {i}: {top} {lo[top]:.2f} -> {hi[top]:.2f}"})
    return out


def category_profiles(model, clf, names, n=300, seed=0, batch=250, averaged=True):
    """What each category draws: every attribute's rate among n punks of that category (the
    noise and the continuous codes as drawn), and the attribute whose rate rises most above
    its rate over all categories, which names the category ("category 3: mohawk 0.04 ->
    0.61"). Returns {"categories": [...], "n_distinct_names": how many different names the
    categories got}."""
    cfg = model.cfg
    rng = np.random.default_rng([seed, 13])
    per_cat = []
    for k in range(cfg.n_cat):
        latent, _, _ = sample_latent(cfg, n, rng, cat=np.full(n, k))
        per_cat.append(rates(*classify(clf, render(model, latent, batch, averaged)), names))
    overall = {a: float(np.mean([r[a] for r in per_cat])) for a in per_cat[0]}
    out = []
    for k, r in enumerate(per_cat):
        top = max(r, key=lambda a: r[a] - overall[a])
        out.append({"category": k, "rates": r, "name": top, "rate": r[top], "rate_overall": overall[top],
                    "label": f"category {k}: {top} {overall[top]:.2f} -> {r[top]:.2f}"})
    return {"categories": out, "n_distinct_names": len({e["name"] for e in out}), "n_per_category": int(n)}


def latent_variety(model, n=100, draws=8, seed=0, batch=250, averaged=True):
    """How much each part of the latent changes what G draws: for n latents, the part
    (the noise z, the category, the continuous codes) is drawn afresh `draws` times with
    the rest held; the per-pixel standard deviation (0..255) over the draws, averaged over
    pixels and latents. A part that G ignores scores near 0: a G whose variety comes from
    the codes alone draws at most a few dimensions' worth of different punks, however large
    its noise vector. "all" redraws the whole latent, for comparison with real punks
    (real_variety). Returns {"noise": ..., "category": ..., "continuous": ..., "all": ...}."""
    cfg = model.cfg
    rng = np.random.default_rng([seed, 17])
    base, _, _ = sample_latent(cfg, n, rng)
    parts = {"noise": slice(0, cfg.n_noise), "category": slice(cfg.n_noise, cfg.n_noise + cfg.n_cat),
             "continuous": slice(cfg.n_noise + cfg.n_cat, cfg.latent_dim), "all": slice(0, cfg.latent_dim)}
    out = {}
    for name, cols in parts.items():
        if cols.stop == cols.start:
            out[name] = 0.0
            continue
        images = []
        for _ in range(draws):
            fresh, _, _ = sample_latent(cfg, n, rng)
            latent = base.copy()
            latent[:, cols] = fresh[:, cols]
            images.append(render(model, latent, batch, averaged).astype(np.float64))    # (n, S, S, 3)
        out[name] = float(np.stack(images).std(axis=0).mean())
    return out


def real_variety(real_u8, draws=8, rng=None):
    """latent_variety's "all" for real punks: the per-pixel std (0..255) over groups of
    `draws` different punks, averaged over pixels and groups."""
    rng = np.random.default_rng(0) if rng is None else rng
    groups = len(real_u8) // draws
    pick = rng.permutation(len(real_u8))[:groups * draws]
    x = real_u8[pick].astype(np.float64).reshape(groups, draws, -1)
    return float(x.std(axis=1).mean())


def code_readout(model, images_u8, cat, cont):
    """How well Q reads the codes the punks were drawn with: the fraction of punks whose
    category it recovers, and per continuous code R^2 = 1 - mean((mean_Q - c)^2) / var(c)
    (1: read exactly; 0: no better than guessing the mean)."""
    got_cat, got_cont = model.read_codes(to_model(images_u8, model.cfg.output))
    var = np.maximum(cont.var(axis=0), 1e-12)
    r2 = 1 - ((got_cont - cont) ** 2).mean(axis=0) / var
    return {"category_accuracy": float((got_cat == cat).mean()), "continuous_r2": [float(v) for v in r2]}


def live_codes(codes):
    """The continuous codes (entries of code_effects) that are alive: pixel change >=
    LIVE_PIXEL_CHANGE and some attribute's rate moved by >= LIVE_RATE_CHANGE."""
    return [e["code"] for e in codes
            if e["pixel_change"] >= LIVE_PIXEL_CHANGE and abs(e["name_change"]) >= LIVE_RATE_CHANGE]


def targets(r):
    """Which targets of docs/08-cryptopunks.md an evaluation (evaluate_punks' dict) meets."""
    m = r["memorisation"]
    return {"palette": r["palette"]["within"] >= TARGET_PALETTE,
            "coverage": r["coverage"]["n_within_2x"] == r["coverage"]["n_common"],
            "codes": len(live_codes(r["codes"])) == len(r["codes"]),
            "memorisation": m["n"] == 0 or m["generated_median"] >= m["held_out_median"]}


def memorisation(generated_u8, train, held):
    """Generated punks (uint8 (n, S, S, 3)) and held-out real ones ((m, 3, S, S) in [-1, 1]),
    each to its nearest training punk ((N, 3, S, S) in [-1, 1]): Euclidean distance of pixels
    in [0, 1]. If G memorised its training set, generated punks would sit much closer to it
    than unseen real punks do. Returns counts and {median, mean, min, frac_below_1} of each."""
    train01 = to_unit(train, "tanh")
    d_fake = nearest_distances(to_model(generated_u8, "sigmoid"), train01)   # uint8 -> [0, 1]
    d_held = nearest_distances(to_unit(held, "tanh"), train01)

    def summary(d):
        return ({"median": float(np.median(d)), "mean": float(d.mean()), "min": float(d.min()),
                 "frac_below_1": float((d < 1).mean())} if len(d) else None)
    return {"n_generated": int(len(d_fake)), "n_held_out": int(len(d_held)),
            "generated_to_nearest_train": summary(d_fake), "held_out_to_nearest_train": summary(d_held)}


def features_of(clf, images_u8):
    return clf.features(to_model(images_u8, "tanh"))


def fd_reference(clf, real_u8, rng, n_fd):
    """The real punks a Fréchet distance is measured against: a permutation of them drawn
    from rng, half = min(n_fd, N // 2), and the Gaussian statistics of the features of the
    permutation's second half (perm[half:2 half]; evaluate_punks' floor is its first half).
    Returns (perm, half, stats)."""
    perm = rng.permutation(len(real_u8))
    half = min(n_fd, len(real_u8) // 2)
    return perm, half, gaussian_stats(features_of(clf, real_u8[perm[half:2 * half]]))


def evaluation_rng(seed):
    """The random stream of evaluate_punks: its n latents are drawn first (sample_latent),
    so another measure that draws n latents from it first sees the same punks."""
    return np.random.default_rng([seed, 6])


def evaluate_punks(model, punks, y, t, names, train_idx, held_idx, clf, n=10000, n_fd=5000, seed=0,
                   averaged=True):
    """Every measure of the module docstring for a punk model. punks: all real punks (n, 3, S, S)
    in [-1, 1], composited on the run's background. Drawn with G's averaged weights when the
    model keeps them (and `averaged`); then "trained_weights" also holds the Fréchet distance
    and palette fidelity of G's own weights, on the same latents. Returns a dict (JSON-ready)."""
    rng = evaluation_rng(seed)
    latent, cat, cont = sample_latent(model.cfg, n, rng)
    gen = render(model, latent, averaged=averaged)                         # (n, S, S, 3) uint8
    real_u8 = to_uint8(punks, "tanh")                                      # (N, S, S, 3)
    # Fréchet distance: n_fd generated against n_fd real; the floor, two disjoint real halves
    perm, half, stats_b = fd_reference(clf, real_u8, rng, n_fd)
    real_a = real_u8[perm[:half]]
    fd = frechet_distance(features_of(clf, gen[:half]), stats_b)
    floor = frechet_distance(features_of(clf, real_a), stats_b)
    # palette
    pal = palette(real_u8)
    fidelity = palette_fidelity(gen, pal)
    real_check = real_u8[perm[:1000]]                                      # real punks for comparison
    fidelity["real"] = palette_fidelity(real_check, pal)["within"]                 # 1.0 by construction
    fidelity["n_palette_colours"] = int(len(pal))
    edges = {"generated": edge_fraction(gen), "real": edge_fraction(real_check), "tolerance": PALETTE_TOLERANCE}
    # where Q reads the codes: in the drawn punks, and in the same punks snapped to the palette
    # (if the codes live in off-palette speckle, snapping wipes them out)
    k = min(2000, n)
    readout = {"generated": code_readout(model, gen[:k], cat[:k], cont[:k]),
               "snapped_to_palette": code_readout(model, snap_to_palette(gen[:k], pal), cat[:k], cont[:k]),
               "n": int(k)}
    # coverage
    gp, gt = classify(clf, gen)
    real_rates = rates(y, t, names)                                       # the labels, not the classifier
    cov = coverage(rates(gp, gt, names), real_rates)
    # memorisation, as train_cryptopunks.py measures it
    n_mem = min(300, len(held_idx))
    mem = {"generated_median": None, "held_out_median": None, "n": int(n_mem)}
    if n_mem:
        m = memorisation(gen[:n_mem], punks[train_idx], punks[held_idx[:n_mem]])
        mem["generated_median"] = m["generated_to_nearest_train"]["median"]
        mem["held_out_median"] = m["held_out_to_nearest_train"]["median"]
    r = {"frechet_distance": fd, "floor": floor, "ratio_to_floor": fd / floor if floor > 0 else None,
         "n_fd": int(half), "palette": fidelity, "edges": edges, "coverage": cov,
         "codes": code_effects(model, clf, names, seed=seed, averaged=averaged), "code_readout": readout,
         "categories": category_profiles(model, clf, names, seed=seed, averaged=averaged),
         "variety": {**latent_variety(model, seed=seed, averaged=averaged),
                     "real": real_variety(real_u8, rng=np.random.default_rng([seed, 17]))},
         "memorisation": mem,
         "n_generated": int(n), "averaged_weights": bool(averaged and model.g_average is not None)}
    r["live_codes"] = live_codes(r["codes"])
    r["targets"] = targets(r)
    if r["averaged_weights"]:
        own = render(model, latent[:half], averaged=False)
        r["trained_weights"] = {"frechet_distance": frechet_distance(features_of(clf, own), stats_b),
                                "palette": palette_fidelity(own, pal)}
    return r
