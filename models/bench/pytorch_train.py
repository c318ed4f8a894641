"""PyTorch-CPU reference for `npm run bench:train`: the MNIST CNN of `models/src/architectures.ts`,
trained for a fixed number of steps on random 28x28 inputs, reporting images per second as JSON
(best of three rounds after a warm-up).

Usage: python3 pytorch_train.py STEPS BATCH THREADS
"""
import json, sys, time

import torch
from torch import nn

steps, batch, threads = (int(a) for a in sys.argv[1:4])
torch.manual_seed(1)
torch.set_num_threads(threads)

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
)
opt = torch.optim.Adam(model.parameters(), lr=0.002)
loss_fn = nn.CrossEntropyLoss()
x = torch.rand(batch, 1, 28, 28)
y = torch.randint(0, 10, (batch,))

def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()

# A fresh process is slow at first (libraries paged in, oneDNN kernels generated): warm up, then
# report the best of three timed rounds, as the tfjs worker does.
for _ in range(10):
    step()
seconds = float("inf")
for _ in range(3):
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = min(seconds, time.perf_counter() - start)
print(json.dumps({
    "backend": "pytorch-cpu",
    "torch": torch.__version__,
    "threads": threads,
    "steps": steps,
    "batch": batch,
    "seconds": seconds,
    "images_per_second": steps * batch / seconds,
}))
