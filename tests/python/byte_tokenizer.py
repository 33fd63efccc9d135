"""A byte-level tokenizer directory for tests: one token per byte (id = byte value) plus <|endoftext|> = 256,
in GPT-2's vocab.json + merges.txt format, which brain's tokenizer and transformers' GPT2Tokenizer load."""
import json
import os


def bytes_to_unicode():
    """GPT-2's byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


def write_tokenizer(tok, merges="#version: 0.2\n"):
    os.makedirs(tok, exist_ok=True)
    table = bytes_to_unicode()
    vocab = {table[b]: b for b in range(256)}
    vocab["<|endoftext|>"] = 256
    json.dump(vocab, open(os.path.join(tok, "vocab.json"), "w"))
    open(os.path.join(tok, "merges.txt"), "w").write(merges)
    json.dump({"eos_token": "<|endoftext|>", "bos_token": "<|endoftext|>", "tokenizer_class": "GPT2Tokenizer"},
              open(os.path.join(tok, "tokenizer_config.json"), "w"))
