"""Training of the demo VQGAN as a VQ autoencoder, starting from the constructed VQGAN (construct.py).

Two ways. decoder_only (what train.py runs): the encoder and the k-means codebook stay as constructed — k-means
is already the minimum of the VQ objective for that encoder — so every image keeps its codes, and the decoder
learns to draw them: its residual branches see each cell's colour and its neighbours' (the thermometer channels
of construct.py) and learn the edges a flat painted cell cannot draw. End to end (decoder_only=False):
encoder → quantizer → decoder, trained together: an L1 + L2 reconstruction loss, VQ-VAE's codebook
loss ‖sg(z) − e‖² plus β·‖z − sg(e)‖² (commitment, β = 0.25), the straight-through estimator (the
decoder's gradient passes to the encoder as if quantizing were the identity), and dead-code restarts
(a code no image used over the last RESTART_EVERY steps moves onto a random encoder output of the
batch). The constructed VQGAN averages each 16×16 patch and paints each code's colour flat over its
patch (about 23 dB on held-out scenes); training starts there.

Cheap because exact at 64 px. The constructed encoder's first convs (conv_in, a per-pixel map, and
the 2×2-mean downsamplings to 128 and 64 px) stay fixed, so its state at 64 px is a function of the
image's 4×4-pixel cell means; the decoder's 128 px and 256 px levels keep their constructed identity,
so its output is its 64 px output upsampled 4×. Training runs only between those (about 20× cheaper
per image than the whole VQGAN) and compares with the cell means (28.7 dB on held-out scenes at best,
for a decoder drawing exact 4×4 cells). train.py checks both shortcuts against the whole graph.

Trained end to end: the encoder's downsampling convs to 32 and 16 px, its mid block, norm_out, conv_out,
quant_conv, the codebook; in both ways the decoder's post_quant_conv, conv_in, mid block, the residual blocks of
its 16, 32 and 64 px levels and its upsampling convs to 32 and 64 px. The residual branches start as
the identity (first conv re-initialised at random, last conv at zero). Parts that carry the
constructed signal at SIGNAL_SCALE (the encoder from 16 px on: GroupNorm stays linear only for such
small signals) train at learning rate × SIGNAL_SCALE: with Adam, that is training w / SIGNAL_SCALE.
"""
import math

import torch
import torch.nn.functional as F

from construct import SIGNAL_SCALE

FACTOR = 4  # the trained decoder draws 4×4-pixel cells
BETA = 0.25  # commitment weight (VQ-VAE)
RESTART_EVERY = 25
# The decoder's residual branches start their first conv at this scale and train it at learning rate × this: its
# outputs stay near √eps, where the two-channel GroupNorm after it is a smooth squashing rather than a sign (a
# unit-scale conv1 leaves it saturated, with no gradient). Held-out PSNR after 300 decoder-only steps at learning
# rate 1e-3: 23.4 dB at scale 1, 23.8 at 3e-3 (1e-3 at rate 2e-3: 23.6; constructed: 23.1); 1000 steps: 26.8.
BRANCH_SCALE = 3e-3


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


def encode_small(model, cells):
    """Cell means [B, 3, 64, 64] in [0, 1] → latents z [B, D, 16, 16]: what VQGAN.encode computes from the images."""
    enc = model.encoder
    x = enc.conv_in(cells * 2 - 1)  # a per-pixel map (centre taps): the same on cell means as on pixels
    for level in enc.down[2:]:  # down_0 and down_1 are the 2×2 means that made the cells
        x = level(x)
    return model.quant_conv(enc.conv_out(F.silu(enc.norm_out(enc.mid(x)))))


def quantize(model, z):
    """z [B, D, h, w] → (codes [B, h, w], quantized vectors [B, D, h, w])."""
    flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
    book = model.quantize.embedding.weight
    dist = (flat**2).sum(1, keepdim=True) + (book**2).sum(1) - 2 * flat @ book.t()
    codes = dist.argmin(1).reshape(z.shape[0], z.shape[2], z.shape[3])
    return codes, model.lookup(codes)


def upsample(small):
    """The decoder's 128 px and 256 px levels, which the training leaves as constructed: nearest 4×."""
    return F.interpolate(small, scale_factor=FACTOR, mode="nearest")


def cell_means(images):
    """uint8 [N, 256, 256, 3] → [N, 3, 64, 64] in [0, 1]: the encoder's input at 64 px, the decoder's best target."""
    chunks = (images[i : i + 256] for i in range(0, len(images), 256))
    return torch.cat([F.avg_pool2d(torch.from_numpy(c).permute(0, 3, 1, 2).float() / 255, FACTOR) for c in chunks])


@torch.no_grad()
def encode_codes(model, cells, batch=256):
    """Cell means [N, 3, 64, 64] → codes [N, 256]."""
    return torch.cat([quantize(model, encode_small(model, c))[0].reshape(len(c), -1) for c in cells.split(batch)])


@torch.no_grad()
def code_colours(model):
    """The RGB (0–255) each code paints when it fills the whole grid: [n_embed, 3]."""
    n = model.quantize.embedding.weight.shape[0]
    grids = torch.arange(n)[:, None, None].expand(n, 16, 16)
    pixels = torch.cat([decode_small(model, model.lookup(g)) for g in grids.split(32)])
    return pixels.clamp(0, 1).mean((2, 3)) * 255


def _residual_branches(model):
    enc, dec = model.encoder, model.decoder
    return [enc.mid.block_1, enc.mid.block_2, dec.mid.block_1, dec.mid.block_2] + [
        b for lvl in (dec.up[4], dec.up[3], dec.up[2]) for b in lvl.block
    ]


def prepare(model, lr, decoder_only=False):
    """Re-initialises the residual branches' inputs, marks what trains; returns Adam's parameter groups.
    decoder_only: the encoder and codebook stay as they are (so do the codes), only the decoder trains."""
    enc, dec = model.encoder, model.decoder
    for p in model.parameters():
        p.requires_grad_(False)
    unit, small, soft = [], [], []  # parameters at ordinary scale, at SIGNAL_SCALE, at BRANCH_SCALE
    for block in _residual_branches(model):
        if decoder_only and block in (enc.mid.block_1, enc.mid.block_2):
            continue
        block.conv1.reset_parameters()
        in_encoder = block in (enc.mid.block_1, enc.mid.block_2)
        unit += [*block.norm1.parameters(), *block.norm2.parameters()]
        if in_encoder:
            unit += list(block.conv1.parameters())
        else:
            with torch.no_grad():
                block.conv1.weight.mul_(BRANCH_SCALE)
                block.conv1.bias.mul_(BRANCH_SCALE)
            soft += list(block.conv1.parameters())
        (small if in_encoder else unit).extend(block.conv2.parameters())
    for attn, in_encoder in ((enc.mid.attn_1, True), (dec.mid.attn_1, False)):
        if decoder_only and in_encoder:
            continue
        for conv in (attn.q, attn.k, attn.v):
            conv.reset_parameters()
        unit += [*attn.norm.parameters(), *attn.q.parameters(), *attn.k.parameters(), *attn.v.parameters()]
        (small if in_encoder else unit).extend(attn.proj_out.parameters())
    if not decoder_only:
        unit += [*enc.down[2].downsample.conv.parameters(), *enc.norm_out.parameters(), *enc.conv_out.parameters()]
        small += list(enc.down[3].downsample.conv.parameters())
        unit += [*model.quant_conv.parameters(), *model.quantize.parameters()]
    unit += list(model.post_quant_conv.parameters())
    unit += list(dec.conv_in.parameters())
    for lvl in (dec.up[4], dec.up[3]):
        unit += list(lvl.upsample.conv.parameters())
    for p in unit + small + soft:
        p.requires_grad_(True)
    return [
        {"params": unit, "base_lr": lr},
        {"params": small, "base_lr": lr * SIGNAL_SCALE},
        {"params": soft, "base_lr": lr * BRANCH_SCALE},
    ]


def train(model, images, steps, batch, rng, log, lr=2e-4, decoder_only=False):
    """Trains `model` as a VQ autoencoder on `images` (uint8 [N, 256, 256, 3]); returns the restarts made.
    decoder_only: the codes stay fixed (no codebook loss, no restarts); the decoder learns to draw them."""
    groups = prepare(model, lr, decoder_only)
    cells = cell_means(images)
    opt = torch.optim.Adam(groups, lr=lr)
    book = model.quantize.embedding.weight
    usage = torch.zeros(len(book))
    restarts = 0
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = g["base_lr"] * min(1, (step + 1) / 20) * (0.05 + 0.95 * (1 + math.cos(math.pi * step / steps)) / 2)
        target = cells[torch.from_numpy(rng.integers(len(cells), size=batch))]
        z = encode_small(model, target)
        codes, q = quantize(model, z)
        vq_loss = F.mse_loss(q, z.detach()) + BETA * F.mse_loss(z, q.detach())
        out = decode_small(model, z + (q - z).detach())  # straight-through
        recon = (out - target).abs().mean() + ((out - target) ** 2).mean()
        loss = recon + vq_loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        usage += torch.bincount(codes.reshape(-1), minlength=len(book))
        if not decoder_only and step % RESTART_EVERY == RESTART_EVERY - 1 and step < steps - RESTART_EVERY:
            dead = (usage == 0).nonzero().reshape(-1)
            if len(dead):
                flat = z.detach().permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                pick = torch.from_numpy(rng.integers(len(flat), size=len(dead)))
                with torch.no_grad():
                    book[dead] = flat[pick]
                restarts += len(dead)
            usage.zero_()
        if step % 25 == 0 or step == steps - 1:
            log(f"vqgan step {step}/{steps} reconstruction {recon.item():.4f} vq {vq_loss.item():.5f}")
    for p in model.parameters():
        p.requires_grad_(True)
    return restarts
