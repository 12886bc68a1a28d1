"""CLIP (transformers' CLIPModel: a ViT image tower and a causal text transformer, pre-LN, quick_gelu,
bias-free projections) in PyTorch, with the Flax param tree of FlaxCLIPModel (Dense kernels [in, out],
the patch convolution [p, p, 3, d], LayerNorm scale/bias), and CLIP's byte-level BPE tokenizer files
(vocab.json + merges.txt in the order of openai's vocab: 256 byte characters, the same with </w>, the
merges, then <|startoftext|> and <|endoftext|>, so end-of-text has the largest id) built on the
caption grammar: one merge chain per word."""
import json

import torch
from torch import nn
import torch.nn.functional as F

LN_EPS = 1e-5
START, END = "<|startoftext|>", "<|endoftext|>"
# CLIPImageProcessor's normalisation (openai/clip-vit-base-patch32).
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def bytes_to_unicode():
    """GPT-2's table: printable bytes map to themselves, the rest to U+0100 onwards, in byte order."""
    printable = lambda b: 0x21 <= b <= 0x7E or 0xA1 <= b <= 0xAC or 0xAE <= b <= 0xFF  # noqa: E731
    table, extra = [], 0
    for b in range(256):
        if printable(b):
            table.append(chr(b))
        else:
            table.append(chr(256 + extra))
            extra += 1
    return table


class Tokenizer:
    """CLIP's BPE over words of the grammar (lowercase letters only: CLIP's word split is then `split()`)."""

    def __init__(self, words):
        base = bytes_to_unicode()
        tokens = base + [c + "</w>" for c in base]
        known, self.merges = set(tokens), []
        for word in words:
            symbols = list(word[:-1]) + [word[-1] + "</w>"]
            while len(symbols) > 1:
                merged = symbols[0] + symbols[1]
                if merged not in known:
                    known.add(merged)
                    tokens.append(merged)
                    self.merges.append(f"{symbols[0]} {symbols[1]}")
                symbols = [merged] + symbols[2:]
        tokens += [START, END]
        self.vocab = {t: i for i, t in enumerate(tokens)}
        self.ranks = {tuple(m.split(" ")): i for i, m in enumerate(self.merges)}

    def bpe(self, word):
        symbols = list(word[:-1]) + [word[-1] + "</w>"]
        while len(symbols) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(symbols, symbols[1:]))]
            rank, _ = min(pairs)
            if rank == 1 << 30:
                break
            a, b = self.merges[rank].split(" ")
            out, i = [], 0
            while i < len(symbols):
                if i + 1 < len(symbols) and symbols[i] == a and symbols[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            symbols = out
        return symbols

    def encode(self, caption):
        ids = [self.vocab[START]]
        for word in caption.lower().split():
            assert word.isalpha() and word.isascii(), f"the grammar has only letter words: {word!r}"
            ids += [self.vocab[t] for t in self.bpe(word)]
        return ids + [self.vocab[END]]

    def write(self, folder):
        entries = sorted(self.vocab.items(), key=lambda kv: kv[1])
        with open(f"{folder}/vocab.json", "w") as f:
            f.write("{" + ",".join(f"{json.dumps(t)}:{i}" for t, i in entries) + "}")
        with open(f"{folder}/merges.txt", "w") as f:
            f.write("\n".join(["#version: 0.2 - built from the demo caption grammar (tools/train)"] + self.merges) + "\n")


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, mask):
        b, t, d = x.shape
        split = lambda y: y.reshape(b, t, self.heads, d // self.heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q_proj(x)), split(self.k_proj(x)), split(self.v_proj(x))
        scores = q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5
        y = torch.softmax(scores if mask is None else scores + mask, -1) @ v
        return self.out_proj(y.transpose(1, 2).reshape(b, t, d))


class Mlp(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(d, inner), nn.Linear(inner, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer_norm1, self.layer_norm2 = nn.LayerNorm(c["hidden_size"], eps=LN_EPS), nn.LayerNorm(c["hidden_size"], eps=LN_EPS)
        self.self_attn = Attention(c["hidden_size"], c["num_attention_heads"])
        self.mlp = Mlp(c["hidden_size"], c["intermediate_size"])

    def forward(self, x, mask=None):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return x


class TextEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])


class TextModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = TextEmbeddings(c)
        self.encoder = Encoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)

    def forward(self, ids, eos_positions):
        t = ids.shape[1]
        x = self.embeddings.token_embedding(ids) + self.embeddings.position_embedding.weight[:t]
        causal = torch.full((t, t), float("-inf")).triu(1)
        h = self.final_layer_norm(self.encoder(x, causal))
        return h[torch.arange(len(ids)), eos_positions]


class VisionEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.class_embedding = nn.Parameter(torch.randn(d) * d**-0.5)
        self.patch_embedding = nn.Conv2d(3, d, p, p, bias=False)
        self.position_embedding = nn.Embedding((c["image_size"] // p) ** 2 + 1, d)


class VisionModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = VisionEmbeddings(c)
        self.pre_layrnorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)
        self.encoder = Encoder(c)
        self.post_layernorm = nn.LayerNorm(c["hidden_size"], eps=LN_EPS)

    def forward(self, pixels):
        e = self.embeddings
        patches = e.patch_embedding(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([e.class_embedding.expand(len(pixels), 1, -1), patches], 1) + e.position_embedding.weight
        h = self.encoder(self.pre_layrnorm(x))
        return self.post_layernorm(h[:, 0])


class Clip(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        t, v, p = config["text_config"], config["vision_config"], config["projection_dim"]
        self.text_model, self.vision_model = TextModel(t), VisionModel(v)
        self.text_projection = nn.Linear(t["hidden_size"], p, bias=False)
        self.visual_projection = nn.Linear(v["hidden_size"], p, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(float(config["logit_scale_init_value"])))

    def embed_text(self, ids, eos_positions):
        return F.normalize(self.text_projection(self.text_model(ids, eos_positions)), dim=-1)

    def embed_images(self, pixels):
        return F.normalize(self.visual_projection(self.vision_model(pixels)), dim=-1)


def flax_params(model):
    """FlaxCLIPModel's param tree: nested dicts of numpy float32 arrays."""
    tree = {}

    def put(path, tensor):
        node = tree
        *parents, leaf = path.split("/")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = tensor.detach().float().numpy()

    for name, tensor in model.state_dict().items():
        parts = name.split(".")
        leaf = parts[-1]
        path = "/".join(parts[:-1])
        if name.endswith("patch_embedding.weight"):
            put(f"{path}/kernel", tensor.permute(2, 3, 1, 0))  # [d, 3, p, p] → [p, p, 3, d]
        elif leaf == "weight" and "embedding" in parts[-2]:
            put(f"{path}/embedding", tensor)
        elif leaf == "weight" and "norm" in parts[-2]:
            put(f"{path}/scale", tensor)
        elif leaf == "weight":
            put(f"{path}/kernel", tensor.t())
        else:
            put("/".join(parts), tensor)
    return tree
