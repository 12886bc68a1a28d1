"""The VQGAN of taming-transformers / vqgan-jax (the layout dalle-mini's VQGAN checkpoint uses), in PyTorch.

Module names mirror the Flax param tree (encoder/down_0/block_0/norm1, decoder/up_3/upsample/conv, …)
so that `flax_params` is a rename plus the kernel transposes. The decoder is what the exporter turns
into the vqgan.onnx graph; the encoder turns training images into codes.
"""
import torch
from torch import nn
import torch.nn.functional as F

GROUPS = 32
GN_EPS = 1e-6


def norm(channels):
    return nn.GroupNorm(GROUPS, channels, eps=GN_EPS)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1 = norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2 = norm(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.nin_shortcut is not None else x) + h


class AttnBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.norm = norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.k = nn.Conv2d(channels, channels, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x):
        b, c, hh, ww = x.shape
        h = self.norm(x)
        q = self.q(h).reshape(b, c, hh * ww).transpose(1, 2)
        k = self.k(h).reshape(b, c, hh * ww)
        v = self.v(h).reshape(b, c, hh * ww)
        w = torch.softmax(torch.bmm(q, k) * c**-0.5, dim=-1)
        out = torch.bmm(v, w.transpose(1, 2)).reshape(b, c, hh, ww)
        return x + self.proj_out(out)


class Mid(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.block_1 = ResnetBlock(channels, channels)
        self.attn_1 = AttnBlock(channels)
        self.block_2 = ResnetBlock(channels, channels)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Level(nn.Module):
    """down_i / up_i: res blocks (+ attention), then the resampling conv."""

    def __init__(self, cin, cout, blocks, attention, resample):
        super().__init__()
        self.block = nn.ModuleList()
        self.attn = nn.ModuleList()
        for _ in range(blocks):
            self.block.append(ResnetBlock(cin, cout))
            cin = cout
            if attention:
                self.attn.append(AttnBlock(cout))
        self.resample = resample
        if resample == "down":
            self.downsample = nn.Module()
            self.downsample.conv = nn.Conv2d(cin, cin, 3, stride=2)
        elif resample == "up":
            self.upsample = nn.Module()
            self.upsample.conv = nn.Conv2d(cin, cin, 3, padding=1)
        self.out_channels = cin

    def forward(self, x):
        for i, block in enumerate(self.block):
            x = block(x)
            if len(self.attn) > 0:
                x = self.attn[i](x)
        if self.resample == "down":
            # taming pads right and bottom by one before a VALID stride-2 conv
            x = self.downsample.conv(F.pad(x, (0, 1, 0, 1)))
        elif self.resample == "up":
            x = self.upsample.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return x


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult, levels = c["ch"], c["ch_mult"], len(c["ch_mult"])
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        in_mult = [1] + list(mult)
        res = c["resolution"]
        self.down = nn.ModuleList()
        for i in range(levels):
            level = Level(
                ch * in_mult[i],
                ch * mult[i],
                c["num_res_blocks"],
                res in c["attn_resolutions"],
                "down" if i != levels - 1 else None,
            )
            self.down.append(level)
            if i != levels - 1:
                res //= 2
        top = ch * mult[-1]
        assert self.down[-1].out_channels == top, "num_res_blocks 0 needs a constant ch_mult"
        self.mid = Mid(top)
        self.norm_out = norm(top)
        self.conv_out = nn.Conv2d(top, c["z_channels"], 3, padding=1)

    def forward(self, x):
        x = self.conv_in(x)
        for level in self.down:
            x = level(x)
        return self.conv_out(F.silu(self.norm_out(self.mid(x))))


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult, levels = c["ch"], c["ch_mult"], len(c["ch_mult"])
        top = ch * mult[-1]
        res = c["resolution"] // 2 ** (levels - 1)
        self.conv_in = nn.Conv2d(c["z_channels"], top, 3, padding=1)
        self.mid = Mid(top)
        ups = {}
        cin = top
        for i in reversed(range(levels)):
            ups[i] = Level(cin, ch * mult[i], c["num_res_blocks"] + 1, res in c["attn_resolutions"], "up" if i else None)
            cin = ch * mult[i]
            if i:
                res *= 2
        self.up = nn.ModuleList([ups[i] for i in range(levels)])
        self.norm_out = norm(ch * mult[0])
        self.conv_out = nn.Conv2d(ch * mult[0], 3, 3, padding=1)

    def forward(self, z):
        x = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            x = level(x)
        return self.conv_out(F.silu(self.norm_out(x)))


class VQGAN(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        self.quant_conv = nn.Conv2d(config["z_channels"], config["embed_dim"], 1)
        self.post_quant_conv = nn.Conv2d(config["embed_dim"], config["z_channels"], 1)
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(config["n_embed"], config["embed_dim"])
        nn.init.uniform_(self.quantize.embedding.weight, -1 / config["n_embed"], 1 / config["n_embed"])
        # Residual branches start at zero (each block is the identity), which trains far faster from scratch.
        for module in self.modules():
            last = module.conv2 if isinstance(module, ResnetBlock) else module.proj_out if isinstance(module, AttnBlock) else None
            if last is not None:
                nn.init.zeros_(last.weight)
                nn.init.zeros_(last.bias)

    def encode(self, images):
        """images [B, 3, H, W] in [0, 1] → (latents [B, D, h, w], codes [B, h, w])."""
        z = self.quant_conv(self.encoder(images * 2 - 1))
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        book = self.quantize.embedding.weight
        dist = (flat**2).sum(1, keepdim=True) + (book**2).sum(1) - 2 * flat @ book.t()
        codes = dist.argmin(1).reshape(z.shape[0], z.shape[2], z.shape[3])
        return z, codes

    def lookup(self, codes):
        return self.quantize.embedding(codes).permute(0, 3, 1, 2)

    def decode_codes(self, codes):
        """codes [B, h, w] → pixels [B, 3, H, W], nominally [0, 1] (what vqgan.onnx computes)."""
        return self.decoder(self.post_quant_conv(self.lookup(codes)))


def _flax_name(name):
    # torch "decoder.up.3.block.0.conv1.weight" → flax "decoder/up_3/block_0/conv1/kernel"
    parts = name.split(".")
    out = []
    i = 0
    while i < len(parts):
        if parts[i] in ("down", "up", "block", "attn") and i + 1 < len(parts) and parts[i + 1].isdigit():
            out.append(f"{parts[i]}_{parts[i + 1]}")
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out


def flax_params(model):
    """The Flax param tree of vqgan-jax: conv kernels [kh, kw, in, out], GroupNorm scale/bias, codebook."""
    tree = {}
    for name, tensor in model.state_dict().items():
        parts = _flax_name(name)
        leaf = parts[-1]
        t = tensor.detach().float().numpy()
        if name == "quantize.embedding.weight":
            parts, t = ["quantize", "embedding", "embedding"], t
        elif leaf == "weight" and t.ndim == 4:
            parts[-1], t = "kernel", t.transpose(2, 3, 1, 0)
        elif leaf == "weight":
            parts[-1] = "scale"
        node = tree
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = t.copy()
    return tree
