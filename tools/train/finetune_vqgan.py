"""Gradient training of the demo VQGAN's decoder, starting from the constructed VQGAN (construct.py).

The constructed VQGAN paints each code's colour flat over its 16×16 patch, so every error is at a
shape's edge. Here its decoder learns, by gradient descent (Adam) on an L1 + L2 reconstruction loss,
to draw those edges from the neighbouring codes. The encoder (each patch's mean) and the codebook
(k-means of patch means: the fixed point of VQ-VAE's codebook loss, or of an EMA codebook, for that
encoder) stay as constructed, so encoding stays exact and cheap (train.py's patch-mean shortcut) and
the codes the DalleBart learns do not depend on this stage.

Trained: the decoder's residual branches (mid block and the up levels at 16, 32 and 64 px; their
inputs re-initialised at random, their last convs at zero so that training starts from the
constructed decoder), conv_in, post_quant_conv and the upsampling convs up to 64 px. The 128 px and
256 px levels keep their constructed identity, so the decoder's output is its 64 px output
upsampled 4×: training computes only up to 64 px (about 20× cheaper per image than the whole
decoder) and compares with the image's 4×4 cell means (28.7 dB on held-out scenes at best, against
22-23 dB for flat 16×16 patches). train.py checks the shortcut against the whole graph.
"""
import math

import torch
import torch.nn.functional as F

from construct import SIGNAL_SCALE

FACTOR = 4  # the trained decoder draws 4×4-pixel cells


def trainable_levels(model):
    dec = model.decoder
    return [dec.up[4], dec.up[3], dec.up[2]]


def prepare(model):
    """Re-initialises the residual branches' inputs and marks what trains; returns the parameters to train."""
    dec = model.decoder
    for p in model.parameters():
        p.requires_grad_(False)
    branches = [dec.mid.block_1, dec.mid.block_2] + [b for lvl in trainable_levels(model) for b in lvl.block]
    params = []
    for block in branches:
        block.conv1.reset_parameters()
        params += list(block.parameters())
    attn = dec.mid.attn_1
    for conv in (attn.q, attn.k, attn.v):
        conv.reset_parameters()
    params += list(attn.parameters())
    params += list(dec.conv_in.parameters()) + list(model.post_quant_conv.parameters())
    for lvl in (dec.up[4], dec.up[3]):
        params += list(lvl.upsample.conv.parameters())
    for p in params:
        p.requires_grad_(True)
    return params


def finish(model):
    for p in model.parameters():
        p.requires_grad_(True)


def decode_small(model, vectors):
    """Codebook vectors [B, D, 16, 16] → pixels [B, 3, 64, 64]: decode_codes' output at 1/4 resolution."""
    dec = model.decoder
    x = dec.mid(dec.conv_in(model.post_quant_conv(vectors)))
    x = dec.up[4](x)
    x = dec.up[3](x)
    for block in dec.up[2].block:
        x = block(x)
    # up_2's upsampling, up_1 and up_0 are identities but for up_1's upsampling, which scales by SIGNAL_SCALE
    return dec.conv_out(F.silu(dec.norm_out(x * SIGNAL_SCALE)))


def upsample(small):
    """The decoder's 128 px and 256 px levels, which the training leaves as constructed: nearest 4×."""
    return F.interpolate(small, scale_factor=FACTOR, mode="nearest")


def cell_means(images):
    """uint8 [N, 256, 256, 3] → [N, 3, 64, 64] in [0, 1]: the best a decoder drawing 4×4 cells can do."""
    chunks = (images[i : i + 256] for i in range(0, len(images), 256))
    return torch.cat([F.avg_pool2d(torch.from_numpy(c).permute(0, 3, 1, 2).float() / 255, FACTOR) for c in chunks])


def train(model, codes, images, steps, batch, rng, log, lr=2e-4):
    """Trains `model`'s decoder to draw `images` (uint8 [N, 256, 256, 3]) from their `codes` [N, 16, 16]."""
    params = prepare(model)
    target = cell_means(images)
    opt = torch.optim.Adam(params, lr=lr)
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1, (step + 1) / 20) * (0.05 + 0.95 * (1 + math.cos(math.pi * step / steps)) / 2)
        idx = torch.from_numpy(rng.integers(len(codes), size=batch))
        out = decode_small(model, model.lookup(codes[idx]))
        loss = (out - target[idx]).abs().mean() + ((out - target[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            log(f"vqgan step {step}/{steps} loss {loss.item():.4f}")
    finish(model)
