"""DalleBart (dalle-mini's BART variant, as released: NormFormer LayerNorms, GLU feed-forward, no biases,
learned positions with offset 0, exact GELU) in PyTorch, with the Flax param tree of a `use_scan`
checkpoint (every per-layer tensor stacked on a leading layer axis; Dense kernels [in, out])."""
import math
import torch
from torch import nn
import torch.nn.functional as F

LN_EPS = 1e-5


class BiasNorm(nn.Module):
    """LayerNorm with bias only (force_ln_scale=false): dalle-mini's norms that feed a Dense."""

    def __init__(self, dim):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], None, self.bias, LN_EPS)


class ScaleNorm(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.scale, self.bias, LN_EPS)


class Dense(nn.Module):
    """No bias; the weight is stored as Flax stores it, [in, out]."""

    def __init__(self, din, dout, std):
        super().__init__()
        self.kernel = nn.Parameter(torch.randn(din, dout) * std)

    def forward(self, x):
        return x @ self.kernel


class Attention(nn.Module):
    def __init__(self, d, heads, std):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (Dense(d, d, std) for _ in range(4))

    def forward(self, x, context, bias):
        b, t, d = x.shape
        h = self.heads

        def split(y):
            return y.reshape(b, -1, h, d // h).transpose(1, 2)

        q, k, v = split(self.q_proj(x)), split(self.k_proj(context)), split(self.v_proj(context))
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h) + bias, dim=-1)
        return self.out_proj((w @ v).transpose(1, 2).reshape(b, t, d))


class GLU(nn.Module):
    def __init__(self, d, ffn, std):
        super().__init__()
        self.LayerNorm_0 = BiasNorm(d)
        self.Dense_0 = Dense(d, ffn, std)
        self.Dense_1 = Dense(d, ffn, std)
        self.LayerNorm_1 = BiasNorm(ffn)
        self.Dense_2 = Dense(ffn, d, std)

    def forward(self, x):
        g = self.LayerNorm_0(x)
        u = F.gelu(self.Dense_0(g)) * self.Dense_1(g)
        return self.Dense_2(self.LayerNorm_1(u))


class EncoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, std):
        super().__init__()
        self.LayerNorm_0 = BiasNorm(d)
        self.FlaxBartAttention_0 = Attention(d, heads, std)
        self.LayerNorm_1 = ScaleNorm(d)
        self.GLU_0 = GLU(d, ffn, std)

    def forward(self, h, bias):
        a = self.LayerNorm_0(h)
        h = h + self.LayerNorm_1(self.FlaxBartAttention_0(a, a, bias))
        return h + self.GLU_0(h)


class DecoderLayer(nn.Module):
    def __init__(self, d, heads, ffn, std):
        super().__init__()
        self.LayerNorm_0 = BiasNorm(d)
        self.FlaxBartAttention_0 = Attention(d, heads, std)
        self.LayerNorm_1 = ScaleNorm(d)
        self.LayerNorm_2 = BiasNorm(d)
        self.FlaxBartAttention_1 = Attention(d, heads, std)
        self.LayerNorm_3 = ScaleNorm(d)
        self.GLU_0 = GLU(d, ffn, std)

    def forward(self, h, enc, self_bias, cross_bias):
        a = self.LayerNorm_0(h)
        h = h + self.LayerNorm_1(self.FlaxBartAttention_0(a, a, self_bias))
        c = self.LayerNorm_2(h)
        h = h + self.LayerNorm_3(self.FlaxBartAttention_1(c, enc, cross_bias))
        return h + self.GLU_0(h)


class Stack(nn.Module):
    def __init__(self, vocab, positions, layers):
        super().__init__()
        d = layers[0].LayerNorm_0.bias.shape[0]
        self.embed_tokens = nn.Embedding(vocab, d)
        self.embed_positions = nn.Embedding(positions, d)
        self.layernorm_embedding = ScaleNorm(d)
        self.layers = nn.ModuleList(layers)
        self.final_ln = BiasNorm(d)


class DalleBart(nn.Module):
    def __init__(self, config, std=0.02):
        super().__init__()
        c = self.config = config
        d = c["d_model"]
        self.encoder = Stack(
            c["encoder_vocab_size"],
            c["max_text_length"],
            [EncoderLayer(d, c["encoder_attention_heads"], c["encoder_ffn_dim"], std) for _ in range(c["encoder_layers"])],
        )
        self.decoder = Stack(
            c["image_vocab_size"] + 1,
            c["image_length"],
            [DecoderLayer(d, c["decoder_attention_heads"], c["decoder_ffn_dim"], std) for _ in range(c["decoder_layers"])],
        )
        for stack in (self.encoder, self.decoder):
            nn.init.normal_(stack.embed_tokens.weight, std=std)
            nn.init.normal_(stack.embed_positions.weight, std=std)
        self.lm_head = Dense(d, c["image_vocab_size"] + 1, std)

    def encode(self, ids, mask):
        e = self.encoder
        pos = torch.arange(ids.shape[1])
        h = e.layernorm_embedding(e.embed_tokens(ids) + e.embed_positions(pos))
        bias = torch.where(mask[:, None, None, :] > 0, 0.0, -1e9)
        for layer in e.layers:
            h = layer(h, bias)
        return e.final_ln(h), bias

    def decode(self, enc, cross_bias, image_inputs):
        """Logits [B, S, V+1] for decoder inputs [start, c0, …, c_{S-2}] given the encoder's output."""
        dd = self.decoder
        s = image_inputs.shape[1]
        h = dd.layernorm_embedding(dd.embed_tokens(image_inputs) + dd.embed_positions(torch.arange(s)))
        causal = torch.triu(torch.full((s, s), -1e9), diagonal=1)
        for layer in dd.layers:
            h = layer(h, enc, causal, cross_bias)
        return self.lm_head(dd.final_ln(h))

    def forward(self, ids, mask, image_inputs):
        """Teacher-forced logits [B, S, V+1] for decoder inputs [start, c0, …, c_{S-2}]."""
        return self.decode(*self.encode(ids, mask), image_inputs)


def _leaf(t):
    return t.detach().float().numpy().copy()


def _module_tree(module):
    """Nested dict of a module's params by attribute name; Embedding weight → embedding."""
    tree = {}
    for name, p in module.named_parameters():
        parts = name.split(".")
        if parts[-1] == "weight":
            parts[-1] = "embedding"
        node = tree
        for q in parts[:-1]:
            node = node.setdefault(q, {})
        node[parts[-1]] = _leaf(p)
    return tree


def _stacked(layers):
    trees = [_module_tree(layer) for layer in layers]

    def merge(nodes):
        if isinstance(nodes[0], dict):
            return {k: merge([n[k] for n in nodes]) for k in nodes[0]}
        import numpy as np

        return np.stack(nodes)

    return merge(trees)


def flax_params(model):
    """The param tree of dalle-mini's flax_model.msgpack (use_scan=true)."""
    out = {"model": {}, "lm_head": {"kernel": _leaf(model.lm_head.kernel)}}
    for side, name in (("encoder", "FlaxBartEncoderLayers"), ("decoder", "FlaxBartDecoderLayers")):
        stack = getattr(model, side)
        out["model"][side] = {
            "embed_tokens": {"embedding": _leaf(stack.embed_tokens.weight)},
            "embed_positions": {"embedding": _leaf(stack.embed_positions.weight)},
            "layernorm_embedding": {
                "scale": _leaf(stack.layernorm_embedding.scale),
                "bias": _leaf(stack.layernorm_embedding.bias),
            },
            "layers": {name: _stacked(stack.layers)},
            "final_ln": {"bias": _leaf(stack.final_ln.bias)},
        }
    return out
