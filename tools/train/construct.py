"""VQGAN weights for flat-coloured scenes, set rather than learned by gradient descent.

On a shared 2-core CPU, gradient training of even a 32-channel VQGAN from scratch reached ~10 dB PSNR
in the time budget. These scenes need far less: the encoder below averages each 16×16 patch (the
stride-2 downsampling convs each take a 2×2 mean), the decoder paints each code's colour back over
its patch (nearest upsampling with identity convs), every residual branch is zero (each ResnetBlock and
AttnBlock is the identity), and the codebook — the only learned part — is fitted by k-means, which
minimises the VQ objective (distance from encoder outputs to their codes) for this fixed encoder.

GroupNorm (32 groups) would normally erase a flat image's colour; here each signal travels as a pair
(+s·x, −s·x) in one group of two channels: the group mean is exactly 0 and, with s small, its variance
is far below the epsilon, so GroupNorm(x) ≈ x·s/√eps, undone by its scale. The swish after norm_out
is made linear by a large offset (swish(20 + x) = 20 + x to 1e-8), removed by conv_out's bias. The
encoder carries its pairs at s = 1 down to 32 px and its last downsampling (to 16 px) scales them to
s = 1e-4 for its mid block and norm_out; the decoder carries them at s = 1 up to its last upsampling
conv, which scales them to s = 1e-4: what trains (vq_autoencoder.py) sees colours of ordinary size.
"""
import torch
import torch.nn.functional as F

from vqgan import GN_EPS, VQGAN

SIGNAL_SCALE = 1e-4  # s: s²·x² ≪ eps = 1e-6, and still a normal float16 number
OFFSET = 20.0


def _centre_tap(conv, pairs):
    """conv ← zeros, then out[o] += w·in[i] at the kernel centre for each (o, i, w)."""
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        k = conv.weight.shape[-1] // 2
        for o, i, w in pairs:
            conv.weight[o, i, k, k] = w


def _pass_through_norm(norm, signals):
    """GroupNorm of (+s·x, −s·x) pairs → x + OFFSET on the even channels, 0 elsewhere."""
    with torch.no_grad():
        norm.weight.zero_()
        norm.bias.zero_()
        for i in range(signals):
            norm.weight[2 * i] = GN_EPS**0.5 / SIGNAL_SCALE
            norm.bias[2 * i] = OFFSET


def _zero_residuals(model):
    for module in model.modules():
        for name in ("conv1", "conv2", "q", "k", "v", "proj_out", "nin_shortcut"):
            conv = getattr(module, name, None)
            if isinstance(conv, torch.nn.Conv2d):
                _centre_tap(conv, [])


def _thermometer(conv, channels):
    """conv_in also writes, in the spare groups, the pairs ±(colour − t) for thresholds t. The painting path
    ignores them (norm_out drops them); a residual branch's GroupNorm turns each pair into the sign of
    colour − t, so the branches that training grows (vq_autoencoder.py) see every cell's colour, not only
    the signs of its three channels (which is all a pair (+x, −x) leaves after a two-channel GroupNorm)."""
    spare = channels // 2 - 3
    per_colour = spare // 3
    thresholds = torch.linspace(-0.8, 0.8, per_colour)
    with torch.no_grad():
        for c in range(3):
            for k, t in enumerate(thresholds):
                ch = 6 + 2 * (c * per_colour + k)
                conv.weight[ch, c, 1, 1] = 1.0
                conv.weight[ch + 1, c, 1, 1] = -1.0
                conv.bias[ch] = -t
                conv.bias[ch + 1] = t


def construct(config, codebook):
    """A VQGAN (vqgan.VQGAN) with the pooling encoder, painting decoder and `codebook` [n, 3] in [−1, 1]."""
    assert config["ch"] == 64 and set(config["ch_mult"]) == {1}, "pairs need 2 channels per group"
    assert config["num_res_blocks"] == 0 and not config["attn_resolutions"]
    model = VQGAN(config)
    _zero_residuals(model)
    rgb = range(3)
    enc, dec = model.encoder, model.decoder
    _centre_tap(enc.conv_in, [(2 * c, c, 1.0) for c in rgb] + [(2 * c + 1, c, -1.0) for c in rgb])
    downs = [level for level in enc.down if level.resample == "down"]
    for level in downs:
        conv = level.downsample.conv
        gain = SIGNAL_SCALE if level is downs[-1] else 1.0
        with torch.no_grad():
            conv.weight.zero_()
            conv.bias.zero_()
            for ch in range(conv.weight.shape[0]):
                conv.weight[ch, ch, :2, :2] = 0.25 * gain  # the 2×2 mean of the right/bottom-padded input
    _pass_through_norm(enc.norm_out, 3)
    _centre_tap(enc.conv_out, [(c, 2 * c, 1.0) for c in rgb])
    with torch.no_grad():
        enc.conv_out.bias[:3] = -OFFSET
    _centre_tap(model.quant_conv, [(c, c, 1.0) for c in rgb])

    _centre_tap(model.post_quant_conv, [(c, c, 1.0) for c in rgb])
    # The decoder carries colours at unit size (what gradient training needs: vq_autoencoder.py) until the
    # last upsampling (up_1, to 256 px), which scales them to SIGNAL_SCALE for norm_out.
    _centre_tap(dec.conv_in, [(2 * c, c, 1.0) for c in rgb] + [(2 * c + 1, c, -1.0) for c in rgb])
    _thermometer(dec.conv_in, config["ch"])
    for i, level in enumerate(dec.up):
        if level.resample == "up":
            gain = SIGNAL_SCALE if i == 1 else 1.0
            _centre_tap(level.upsample.conv, [(ch, ch, gain) for ch in range(config["ch"])])
    _pass_through_norm(dec.norm_out, 3)
    # pixels = (x + 1) / 2: the decoder outputs [0, 1] from colours in [−1, 1]
    _centre_tap(dec.conv_out, [(c, 2 * c, 0.5) for c in rgb])
    with torch.no_grad():
        dec.conv_out.bias[:] = 0.5 - 0.5 * OFFSET
        model.quantize.embedding.weight.zero_()
        model.quantize.embedding.weight[:, :3] = codebook
    return model


def patch_means(images):
    """uint8 [N, 256, 256, 3] → [N, 16, 16, 3] patch means in [−1, 1]: what the encoder computes."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0 * 2 - 1
    return F.avg_pool2d(x, 16).permute(0, 2, 3, 1)


def kmeans(points, k, iterations, generator):
    """Lloyd's algorithm from k-means++ seeds; points [N, D] → centroids [k, D]."""
    centroids = points[torch.randint(len(points), (1,), generator=generator)]
    for _ in range(k - 1):
        d = torch.cdist(points, centroids).min(1).values ** 2
        centroids = torch.cat([centroids, points[torch.multinomial(d / d.sum(), 1, generator=generator)]])
    for _ in range(iterations):
        assign = torch.cdist(points, centroids).argmin(1)
        for j in range(k):
            members = points[assign == j]
            if len(members):
                centroids[j] = members.mean(0)
    return centroids
