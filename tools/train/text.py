"""A byte-level BPE vocabulary (vocab.json + merges.txt in the layout of dalle-mini's tokenizer)
built on the caption grammar: dalle-mini's 5 special tokens and 50 base symbols, then one merge
chain per grammar word, so each word ("Ġred") is one token and anything else falls back to letters."""
import json

SPECIALS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
BASE = list("\"$%&'*,./") + list("0123456789") + list("<>@^") + list("abcdefghijklmnopqrstuvwxyz") + ["Ġ"]
BOS, PAD, EOS = 0, 1, 2
MAX_TEXT = 64


def build_vocab(words):
    vocab = {t: i for i, t in enumerate(SPECIALS + BASE)}
    merges = []
    for word in words:
        token = "Ġ"
        for ch in word:
            if token + ch not in vocab:
                merges.append(f"{token} {ch}")
                vocab[token + ch] = len(vocab)
            token += ch
    return vocab, merges


def write_vocab(folder, vocab, merges):
    entries = sorted(vocab.items(), key=lambda kv: kv[1])
    with open(f"{folder}/vocab.json", "w") as f:
        f.write("{" + ",".join(f"{json.dumps(t)}:{i}" for t, i in entries) + "}")
    with open(f"{folder}/merges.txt", "w") as f:
        f.write("\n".join(["#version: 0.2 - built from the demo caption grammar (tools/train)"] + merges) + "\n")


def encode(vocab, text):
    """Token ids [64] and mask for a caption already in normalised form ("" → the unconditional row)."""
    ids = [BOS] + [vocab["Ġ" + w] for w in text.split()] + [EOS]
    ids = ids[:MAX_TEXT]
    return ids + [PAD] * (MAX_TEXT - len(ids)), [1] * len(ids) + [0] * (MAX_TEXT - len(ids))
