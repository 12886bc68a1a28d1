"""The two generation algorithms of bench/torch_baseline.py (see its docstring): `min-dalle`, min-dalle's decoder as
it computes it, and `cached-cross`, the same with the cross-attention keys/values computed once per generation."""
import math
import time

import torch

PAD_ID = 1


def split_heads(x, heads):
    b, t, d = x.shape
    return x.reshape(b, t, heads, d // heads).transpose(1, 2)


def attend(q, k, v, bias, heads):
    """q [B, 1, D] over keys/values [B, H, T, D/H] with an additive bias broadcast to [B, H, 1, T]."""
    b, t, d = q.shape
    w = torch.softmax(split_heads(q, heads) @ k.transpose(-1, -2) / math.sqrt(d // heads) + bias, dim=-1)
    return (w @ v).transpose(1, 2).reshape(b, t, d)


def attend_einsum(q, k, v, bias, heads):
    """min-dalle's attention: q [B, 1, D] over k, v [B, T, D] kept unsplit, heads as an einsum axis; bias [B, T]."""
    b, t, d = q.shape
    q = q.reshape(b, t, heads, -1) / math.sqrt(d // heads)
    k, v = k.reshape(b, -1, heads, d // heads), v.reshape(b, -1, heads, d // heads)
    w = torch.softmax(torch.einsum("bqhc,bkhc->bhqk", q, k) + bias[:, None, None, :], dim=-1)
    return torch.einsum("bhqk,bkhc->bqhc", w, v).reshape(b, t, d)


def sample_top_k(logits, top_k, generator):
    """Top-k sampling; top-k 1 is the argmax (what the parity test compares)."""
    if top_k == 1:
        return logits.argmax(-1)
    top = logits.topk(top_k, dim=-1).values
    probs = torch.exp(logits - top[:, :1]) * (logits >= top[:, -1:])
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def sample_sorted(logits, top_k, generator):
    """min-dalle's sampling: the logits sorted in full, those below the k-th kept at weight 0, one multinomial draw
    (with top-k 1 only the maximum has weight, so it draws the argmax)."""
    ranked = logits.sort(dim=-1, descending=True).values
    probs = torch.exp(logits - ranked[:, :1]) * (logits >= ranked[:, top_k - 1 : top_k])
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


ALGORITHMS = ("min-dalle", "cached-cross")


class Generator:
    def __init__(self, dalle, vqgan):
        self.dalle, self.vqgan = dalle, vqgan
        self.heads = dalle.config["decoder_attention_heads"]
        self.codes = dalle.config["image_vocab_size"]

    def encode(self, ids, images):
        """Encoder states and padding mask [2 * images, text]: rows 0..n-1 unconditional, n..2n-1 the prompt
        (min-dalle's layout); the text padded to max_text_length."""
        text = self.dalle.config["max_text_length"]
        rows = torch.stack(
            [torch.tensor([0, 2] + [PAD_ID] * (text - 2)), torch.tensor(ids + [PAD_ID] * (text - len(ids)))]
        )
        mask = rows != PAD_ID
        enc, _ = self.dalle.encode(rows, mask.long())
        return enc.repeat_interleave(images, 0), mask.repeat_interleave(images, 0)

    def embed(self, token, step):
        dd = self.dalle.decoder
        return dd.layernorm_embedding(dd.embed_tokens(token) + dd.embed_positions.weight[step])

    def logits(self, h, images, scale):
        logits = self.dalle.lm_head(self.dalle.decoder.final_ln(h))[:, -1, : self.codes]
        return (1 - scale) * logits[:images] + scale * logits[images:]

    @torch.no_grad()
    def tokens(self, ids, images, steps, top_k, scale, generator, algorithm="min-dalle", sync=None):
        """`sync` (a GPU's synchronize): the steps run queued, as min-dalle runs them, and are timed together; each
        step_seconds is their mean."""
        enc, mask = self.encode(ids, images)
        step_fn = (self.min_dalle_steps if algorithm == "min-dalle" else self.cached_cross_steps)(enc, mask)
        sample = sample_sorted if algorithm == "min-dalle" else sample_top_k
        token = torch.full((2 * images, 1), self.dalle.config["decoder_start_token_id"])
        out = []
        self.step_seconds = []
        if sync:
            sync()
        decoding = time.perf_counter()
        for step in range(steps):
            started = time.perf_counter()
            codes = sample(self.logits(step_fn(self.embed(token, step), step), images, scale), top_k, generator)
            out.append(codes)
            token = codes.repeat(2)[:, None]
            self.step_seconds.append(time.perf_counter() - started)
        if sync:
            sync()
            self.step_seconds = [(time.perf_counter() - decoding) / steps] * steps
        return torch.stack(out, 1)

    def min_dalle_steps(self, enc, mask):
        """min-dalle's decoder: per layer one state [keys of all rows; values of all rows] of 256 slots; every layer
        projects the encoder states to cross-attention keys/values again at every step."""
        layers, rows = self.dalle.decoder.layers, enc.shape[0]
        slots = self.dalle.config["image_length"]
        state = torch.zeros(len(layers), 2 * rows, slots, enc.shape[-1])
        cross_bias = torch.where(mask, 0.0, -math.inf)
        written = torch.arange(slots)

        def step_fn(h, step):
            self_bias = torch.where(written <= step, 0.0, -math.inf)[None].expand(rows, slots)
            for i, layer in enumerate(layers):
                att, cross = layer.FlaxBartAttention_0, layer.FlaxBartAttention_1
                a = layer.LayerNorm_0(h)
                state[i][:, step] = torch.cat([att.k_proj(a), att.v_proj(a)])[:, 0]
                ctx = attend_einsum(att.q_proj(a), state[i][:rows], state[i][rows:], self_bias, self.heads)
                h = h + layer.LayerNorm_1(att.out_proj(ctx))
                c = layer.LayerNorm_2(h)
                ctx = attend_einsum(cross.q_proj(c), cross.k_proj(enc), cross.v_proj(enc), cross_bias, self.heads)
                h = h + layer.LayerNorm_3(cross.out_proj(ctx))
                h = h + layer.GLU_0(h)
            return h

        return step_fn

    def cached_cross_steps(self, enc, mask):
        """The cross-attention keys/values once per generation, split by head; self-attention caches split too."""
        heads, layers = self.heads, self.dalle.decoder.layers
        cross = [
            (split_heads(l.FlaxBartAttention_1.k_proj(enc), heads), split_heads(l.FlaxBartAttention_1.v_proj(enc), heads))
            for l in layers
        ]
        cross_bias = torch.where(mask, 0.0, -math.inf)[:, None, None, :]
        slots = self.dalle.config["image_length"]
        k_cache = torch.zeros(len(layers), enc.shape[0], heads, slots, enc.shape[-1] // heads)
        v_cache = torch.zeros_like(k_cache)

        def step_fn(h, step):
            self_bias = torch.where(torch.arange(slots) <= step, 0.0, -math.inf)
            for i, layer in enumerate(layers):
                att = layer.FlaxBartAttention_0
                a = layer.LayerNorm_0(h)
                k_cache[i, :, :, step] = split_heads(att.k_proj(a), heads)[:, :, 0]
                v_cache[i, :, :, step] = split_heads(att.v_proj(a), heads)[:, :, 0]
                h = h + layer.LayerNorm_1(att.out_proj(attend(att.q_proj(a), k_cache[i], v_cache[i], self_bias, heads)))
                c = layer.LayerNorm_2(h)
                cross_att = layer.FlaxBartAttention_1
                ctx = attend(cross_att.q_proj(c), cross[i][0], cross[i][1], cross_bias, heads)
                h = h + layer.LayerNorm_3(cross_att.out_proj(ctx))
                h = h + layer.GLU_0(h)
            return h

        return step_fn

    @torch.no_grad()
    def pixels(self, codes):
        side = int(math.isqrt(codes.shape[1]))
        return self.vqgan.decode_codes(codes.reshape(-1, side, side)).clamp(0, 1)
