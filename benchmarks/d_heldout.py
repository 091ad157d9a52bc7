"""Does D memorise its training punks? D's mean output on n training punks, n held-out real
punks it never trained on, and n punks generated with G's own weights, from a CryptoPunks
run's checkpoint. D and G compute as in training (BatchNorm on each batch's own statistics).

    python benchmarks/d_heldout.py --run runs/pk_avg_s0 --data-dir ../shared/data/cryptopunks

A memorising D scores the training punks far higher than the held-out ones; a D that only
wins on the fakes scores both real sets alike and the generated ones low.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

from tinygan import backend
from tinygan.infogan import sample_latent
from tinygan.ops import sigmoid
from tinygan.punk_quality import run_data
from tinygan.punks import holdout_split, load_punks
from tinygan.train import load_model


def mean_d(model, images, batch=100):
    """Mean sigmoid(D(x)) over images (n, C, H, W), in batches of `batch` in training mode."""
    logits = [backend.to_numpy(model.d_head.forward(model.trunk.forward(backend.asarray(images[i:i + batch]))))
              for i in range(0, len(images), batch)]
    return float(sigmoid(np.concatenate(logits).ravel().astype(np.float64)).mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run", required=True, help="run folder with checkpoint.npz (and the data.json the training wrote)")
    p.add_argument("--data-dir", default=None, help="CryptoPunks folder (punks.png)")
    p.add_argument("--n", type=int, default=500, help="punks in each set (at most the held-out count)")
    args = p.parse_args(argv)
    run = Path(args.run)
    model, meta = load_model(run / "checkpoint.npz")
    background, holdout = run_data(run)
    punks = load_punks(args.data_dir, size=model.cfg.img_size, background=background)
    held, train_idx = holdout_split(len(punks), holdout)
    if not 0 < args.n <= len(held):
        p.error(f"--n must be in 1..{len(held)} (the run held out {len(held)} punks)")
    rng = np.random.default_rng(0)
    latent = sample_latent(model.cfg, args.n, rng)[0]
    with model.sampling_weights(averaged=False):
        fake = np.concatenate([backend.to_numpy(model.generate(latent[i:i + 100]))
                               for i in range(0, args.n, 100)])
    result = {"training": mean_d(model, punks[rng.choice(train_idx, args.n, replace=False)]),
              "held_out": mean_d(model, punks[held[:args.n]]),
              "generated": mean_d(model, fake), "n": args.n, "step": meta["step"]}
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
