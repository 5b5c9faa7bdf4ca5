"""PyTorch reference for bench/train.ts: the same VAE / Environment VAE (seed L1000 sizes) and the
same loss, step and optimiser as src-main/ml (createModule + Trainer), timed in samples/s.

  python3 bench/torch_train.py --family vae --batch 256 --seconds 10 [--threads 2] [--warmup-seconds 2] [--profile-steps N]
prints one JSON line: {"family", "batch", "threads", "samples_per_s", "cpu_us_per_sample", "steps", "loss",
"warmup_steps", "config"}; "config" says how this process ran (allocator thresholds, OpenBLAS
variables, the BLAS library and kernel in use), so the reference's configuration is printed with
its number.

At its best, PyTorch needs glibc's allocator told not to give memory back after every step
(MALLOC_TRIM_THRESHOLD_/MALLOC_MMAP_THRESHOLD_ raised; bench/train.ts sets both for this script):
otherwise each step page-faults its activations in again and runs at less than half speed. The
warm-up runs for --warmup-seconds (and at least 10 steps) so the allocator's heap and OpenBLAS's
threads have reached steady state before the timing starts.

Mirrors of the TypeScript pieces: Dense = x @ W + b (Glorot-uniform W, zero b); OneHiddenLayer =
Dense -> ReLU -> Dense; boundLog(raw, B) = B·tanh(raw/B); sparsify(v, T) = v ⊙ softmax(|v|/T);
gaussianNll = ½Σ(x−x̂)²; KL terms as in math.ts; global-norm clipping at 10 (with a host sync,
as the trainer does); Adam(lr 1e-3, β 0.9/0.999, ε 1e-7 = tfjs's float32 epsilon).
"""

import argparse
import json
import math
import os
import time

import torch

GENES, ENV_WIDTH, HIDDEN, LATENT = 978, 1024, 500, 200
LOG_VAR_BOUND, TEMPERATURE, CLIP = 8.0, 1.0, 10.0


class Dense(torch.nn.Module):
    def __init__(self, inputs, outputs):
        super().__init__()
        limit = math.sqrt(6 / (inputs + outputs))
        self.weight = torch.nn.Parameter(torch.empty(inputs, outputs).uniform_(-limit, limit))
        self.bias = torch.nn.Parameter(torch.zeros(outputs))

    def forward(self, x):
        return torch.addmm(self.bias, x, self.weight)


class OneHiddenLayer(torch.nn.Module):
    def __init__(self, inputs, hidden, outputs):
        super().__init__()
        self.hidden = Dense(inputs, hidden)
        self.out = Dense(hidden, outputs)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))


def bound_log(raw, bound):
    return torch.tanh(raw / bound) * bound


def sparsify(v, temperature):
    return v * torch.softmax(v.abs() / temperature, dim=-1)


def gaussian_nll(x, rec):
    return 0.5 * ((x - rec) ** 2).sum(-1)


def kl_standard_normal(mean, log_var):
    return 0.5 * (log_var.exp() + mean**2 - (log_var + 1)).sum(-1)


def kl_diagonal(mean, log_var, prior_mean, prior_log_var):
    ratio = (log_var.exp() + (mean - prior_mean) ** 2) / prior_log_var.exp()
    return 0.5 * (prior_log_var - log_var + ratio - 1).sum(-1)


class Vae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = OneHiddenLayer(GENES, HIDDEN, 2 * LATENT)
        self.decoder = OneHiddenLayer(LATENT, HIDDEN, GENES)

    def loss(self, x, e, noise, kl_weight):
        mean, raw = self.encoder(x).chunk(2, dim=1)
        log_var = bound_log(raw, LOG_VAR_BOUND)
        z = mean + torch.exp(0.5 * log_var) * noise
        rec = gaussian_nll(x, self.decoder(z)).mean()
        kl = kl_standard_normal(mean, log_var).mean()
        return rec + kl_weight * kl


class EnvVae(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = OneHiddenLayer(GENES + ENV_WIDTH, HIDDEN, 2 * LATENT)
        self.decoder = OneHiddenLayer(LATENT, HIDDEN, GENES)
        self.prior = OneHiddenLayer(ENV_WIDTH, HIDDEN, 2 * LATENT)

    def loss(self, x, e, noise, kl_weight):
        mean, raw = self.encoder(torch.cat([x, e], 1)).chunk(2, dim=1)
        log_var = bound_log(raw, LOG_VAR_BOUND)
        raw_mean, raw_log_std = self.prior(e).chunk(2, dim=1)
        prior_mean = sparsify(raw_mean, TEMPERATURE)
        prior_log_std = sparsify(bound_log(raw_log_std, LOG_VAR_BOUND / 2), TEMPERATURE)
        z = mean + torch.exp(0.5 * log_var) * noise
        rec = gaussian_nll(x, self.decoder(z)).mean()
        kl = kl_diagonal(mean, log_var, prior_mean, 2 * prior_log_std).mean()
        return rec + kl_weight * kl


def configuration():
    """How this run was set up, in words: what makes or breaks the reference's speed."""
    env = {k: os.environ.get(k) for k in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")}
    blas = "unknown BLAS"
    try:
        from threadpoolctl import threadpool_info

        pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
        if pools:
            p = pools[0]
            blas = f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture')}, {p.get('threading_layer')}, {p.get('num_threads')} threads)"
    except ImportError:
        blas = "threadpoolctl not installed"
    parts = [f"torch {torch.__version__}", f"{torch.get_num_threads()} threads", blas]
    parts += [f"{k}={v}" if v is not None else f"{k} unset" for k, v in env.items()]
    return ", ".join(parts)


def profile(run_step, steps, batch):
    """Per-op self CPU time of `steps` steps, per step, to stderr (stdout keeps its one JSON line)."""
    import sys

    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    started = time.perf_counter()
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            run_step()
    wall = (time.perf_counter() - started) / steps * 1000
    print(f"torch.profiler, batch {batch}: {wall:.1f} ms/step over {steps} profiled steps (profiler overhead included)", file=sys.stderr)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30), file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--family", choices=["vae", "env-vae"], default="vae")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--samples", type=int, default=15000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    # After the warm-up: N steps under torch.profiler, per-op self CPU times printed to stderr (to set
    # beside bench/profile-step.ts's per-kernel times for the same step), then the timed run as usual.
    parser.add_argument("--profile-steps", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n_env = 64
    x_all = torch.randn(args.samples, GENES)
    fingerprints = (torch.rand(n_env, ENV_WIDTH) < 0.04).float()
    env_of_sample = torch.arange(args.samples) % n_env
    model = Vae() if args.family == "vae" else EnvVae()
    params = list(model.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-7)

    def step(indices):
        x = x_all[indices]
        e = fingerprints[env_of_sample[indices]]
        noise = torch.randn(x.shape[0], LATENT)
        optimizer.zero_grad(set_to_none=True)
        loss = model.loss(x, e, noise, 0.5)
        loss.backward()
        norm = torch.sqrt(sum((p.grad**2).sum() for p in params)).item()
        if norm > CLIP:
            for p in params:
                p.grad.mul_(CLIP / norm)
        optimizer.step()
        return loss.item()

    order = torch.randperm(args.samples)
    position = 0

    def next_indices():
        nonlocal order, position
        if position + args.batch > args.samples:
            order, position = torch.randperm(args.samples), 0
        idx = order[position : position + args.batch]
        position += args.batch
        return idx

    warmup_steps = 0
    warmup_started = time.perf_counter()
    while warmup_steps < 10 or time.perf_counter() - warmup_started < args.warmup_seconds:
        step(next_indices())
        warmup_steps += 1
    if args.profile_steps > 0:
        profile(lambda: step(next_indices()), args.profile_steps, args.batch)
    steps, loss = 0, float("nan")
    started = time.perf_counter()
    cpu_started = time.process_time()
    while True:
        loss = step(next_indices())
        steps += 1
        elapsed = time.perf_counter() - started
        if elapsed >= args.seconds and steps >= 3:
            break
    cpu_seconds = time.process_time() - cpu_started
    print(
        json.dumps(
            {
                "family": args.family,
                "batch": args.batch,
                "threads": torch.get_num_threads(),
                "samples_per_s": steps * args.batch / elapsed,
                # CPU time of all threads per sample (spinning OpenMP threads count too): the work
                # done, which the machine's load moves far less than samples/s.
                "cpu_us_per_sample": cpu_seconds * 1e6 / (steps * args.batch),
                "steps": steps,
                "loss": loss,
                "warmup_steps": warmup_steps,
                "config": configuration(),
            }
        )
    )


if __name__ == "__main__":
    main()
