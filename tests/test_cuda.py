"""The CUDA path against the CPU: what ``make gpu-check`` runs on a GPU machine. Without a
CUDA device every test here is skipped, with that reason.

- Training and evaluation on CUDA (compile and bf16 autocast on, as a GPU run takes them)
  against the plain CPU path, to a stated tolerance.
- The corruption engine on CUDA within one grey level of the CPU, every corruption.
- Codecs of both families: bitstreams written on one device are read on the other to the
  same latents, exactly (CompressAI's issue #279 is a hyperprior whose scales, computed in
  float on two devices, pick different coding tables and desynchronise the decoder; here
  both sides take the tables from a float64 CPU copy of the hyper-synthesis, see
  ``ScaleHyperprior``, and ``test_codecs`` shows the hazard and the cure on the CPU).
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import corruptions as C
from benchmark.codecs.zoo import LAMBDAS, load_zoo_codec
from benchmark.datasets import load_dataset
from benchmark.pipeline.accel import Acceleration
from benchmark.pipeline.evaluate import correct_mask
from benchmark.pipeline.train import TrainConfig, build_classifier, train_classifier

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(),
                                reason="no CUDA device here: make gpu-check runs these on a GPU")
CUDA = "cuda"


@pytest.fixture(scope="module")
def data():
    return (load_dataset("fashion-mnist", "train").head(2048),
            load_dataset("fashion-mnist", "test").head(1000))


def _train(data, device: str, accel: Acceleration):
    train, _ = data
    torch.manual_seed(0)
    model = build_classifier("small_cnn", train.images, 10, False, None)
    model, history = train_classifier(model, train.images, train.labels,
                                      TrainConfig(epochs=2, batch_size=128), seed=0,
                                      device=device, progress=False, accel=accel)
    return model, history


def test_training_and_evaluation_on_cuda_agree_with_the_cpu(data):
    """The same seed draws the same batches on both (CPU generators); the GPU run compiles
    and computes in bf16, so agreement is statistical: the loss within 5%, the predictions
    on 97% of the test images, the accuracy within 2 points."""
    _, test = data
    cpu_model, cpu_hist = _train(data, "cpu", Acceleration())
    gpu_model, gpu_hist = _train(data, CUDA, Acceleration.for_device(CUDA))
    assert gpu_hist[-1]["loss"] == pytest.approx(cpu_hist[-1]["loss"], rel=0.05)
    on_cpu = correct_mask(cpu_model, test.images, test.labels, "cpu")
    on_gpu = correct_mask(gpu_model, test.images, test.labels, CUDA)
    assert (on_cpu == on_gpu).mean() >= 0.97
    assert abs(on_cpu.mean() - on_gpu.mean()) <= 0.02
    # one model, two devices: evaluation alone
    same = correct_mask(cpu_model.to(CUDA), test.images, test.labels, CUDA)
    assert (same == on_cpu).mean() >= 0.99


@pytest.mark.parametrize("name", C.names("all"))
def test_the_engine_on_cuda_is_within_one_grey_level_of_the_cpu(name):
    images = load_dataset("fashion-mnist", "test").head(16).images
    for severity in C.SEVERITIES:
        cpu = C.corrupt(images, name, severity, scale="cifar", seed=0, indices=range(16))
        gpu = C.corrupt(images, name, severity, scale="cifar", seed=0, indices=range(16),
                        device=CUDA)
        diff = np.abs(cpu.astype(np.int16) - gpu.astype(np.int16))
        assert diff.max() <= 1, (name, severity, int(diff.max()), float((diff > 1).mean()))


@pytest.mark.parametrize("family", ["bls", "bmshj"])
def test_bitstreams_cross_devices_exactly(family):
    images = load_dataset("fashion-mnist", "test").head(64).images
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)
    lmbda = LAMBDAS[len(LAMBDAS) // 2]
    on_cpu = load_zoo_codec("fashion-mnist", family, lmbda, "cpu")
    on_gpu = load_zoo_codec("fashion-mnist", family, lmbda, CUDA)
    shape = tuple(images.shape[1:3])
    from_gpu, from_cpu = on_gpu.compress(x.to(CUDA)), on_cpu.compress(x)
    # written on CUDA, read on the CPU; written on the CPU, read on CUDA: the same latents
    # as the writer quantised
    written_gpu = on_gpu.decode_latents(from_gpu, shape).cpu()
    assert torch.equal(on_cpu.decode_latents(from_gpu, shape).cpu(), written_gpu)
    assert torch.equal(on_gpu.decode_latents(from_cpu, shape).cpu(),
                       on_cpu.decode_latents(from_cpu, shape).cpu())
    # the devices' reconstructions differ only in float rounding
    a = on_cpu.decompress(from_gpu, shape)
    b = on_gpu.decompress(from_gpu, shape).cpu()
    assert float((a - b).abs().max()) < 1e-3


def test_the_online_stage_draws_the_same_on_cuda_and_applies_alike(data):
    """The draws are made on the CPU (numpy), so both devices apply the same programs; the
    operations' float arithmetic may round apart (a grey level, or nearest-neighbour
    resampling taking the next pixel at an edge) on a few pixels."""
    from benchmark.augment import get_family
    from benchmark.augment.online import epoch_generator, recipe_of, to_nchw

    train, _ = data
    x = to_nchw(train.images[:256])
    for family, value in (("augmix", 3), ("trivialaugment", 31), ("autoaugment", "cifar10")):
        recipe = recipe_of(get_family(family), value)
        draws = recipe.draw(epoch_generator(0, 0), len(x), tuple(x.shape[-2:]))
        on_cpu = recipe.apply(x, draws)
        on_gpu = recipe.apply(x.to(CUDA), draws).cpu()
        diff = (on_cpu.int() - on_gpu.int()).abs()
        assert (diff > 0).float().mean() < 0.01 and diff.float().mean() < 0.5, family
