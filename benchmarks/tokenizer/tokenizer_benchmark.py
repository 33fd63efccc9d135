#!/usr/bin/env python3
"""Tokenizer throughput of brain vs the Hugging Face `tokenizers` library on the same text, single-threaded.

usage: tokenizer_benchmark.py BRAIN_THROUGHPUT_BINARY GPT2_DIR [MEGABYTES]

Builds a few MB of mixed text (Python standard-library sources: code, comments and docstrings, plus
seeded multilingual prose with numbers, CJK, emoji and whitespace runs), encodes it line by line with
GPT-2's tokenizer (vocab.json + merges.txt) in both libraries (tokenizers: encode_batch on one Rayon
thread), takes the best CPU time (process time, robust on a shared machine) of 3 passes each, checks
that both produce the same number of tokens, and prints MB/s and the ratio brain / tokenizers
(goal >= 1.0).
"""
import json
import os
import random
import subprocess
import sys
import sysconfig
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers  # noqa: E402


def mixed_text(megabytes):
    target = int(megabytes * 1e6)
    parts, size = [], 0
    stdlib = sysconfig.get_paths()["stdlib"]
    for root, _, files in sorted(os.walk(stdlib)):
        for name in sorted(files):
            if name.endswith(".py") and size < target * 0.6:
                try:
                    with open(os.path.join(root, name), encoding="utf-8") as f:
                        chunk = f.read()
                except (UnicodeDecodeError, OSError):
                    continue
                parts.append(chunk)
                size += len(chunk.encode())
    rng = random.Random(0)
    words = ("the of and to in is was for on that with as by at from it's we're they'll don't "
             "café naïve résumé Straße façade São Paulo Łódź 中文 分词 测试 日本語 テキスト 한국어 "
             "Русский Ελληνικά العربية 😀 🚀 👍🏽 1 12 123 2024 3.14 1,000 100% (x) [y] {z} -- ... !!"
             ).split(" ")
    while size < target:
        line = " ".join(rng.choice(words) for _ in range(rng.randint(5, 40)))
        line += rng.choice(["", "  ", "\t", "   ", " \n"])
        parts.append(line + "\n")
        size += len(line.encode()) + 1
    return "".join(parts)


def main():
    binary, gpt2_dir = sys.argv[1], sys.argv[2]
    megabytes = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    text = mixed_text(megabytes)
    lines = text.split("\n")
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write(text)
        path = f.name
    try:
        out = subprocess.run([binary, gpt2_dir, path, "3"], check=True, capture_output=True, text=True).stdout
        brain = json.loads(out)
    finally:
        os.unlink(path)
    tok = Tokenizer(models.BPE.from_file(os.path.join(gpt2_dir, "vocab.json"),
                                         os.path.join(gpt2_dir, "merges.txt")))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    best, ref_tokens = 1e30, 0
    for _ in range(3):
        start = time.process_time()
        encodings = tok.encode_batch(lines, add_special_tokens=False)
        best = min(best, time.process_time() - start)
        ref_tokens = sum(len(e.ids) for e in encodings)
    nbytes = len(text.encode())
    brain_mbs = brain["bytes"] / brain["seconds"] / 1e6
    ref_mbs = nbytes / best / 1e6
    print(f"text: {nbytes / 1e6:.2f} MB, {len(lines)} lines; "
          f"tokens: brain {brain['tokens']}, tokenizers {ref_tokens}")
    print(f"brain      {brain_mbs:8.2f} MB/s  (best of 3, CPU time: {brain['seconds']:.3f} s)")
    print(f"tokenizers {ref_mbs:8.2f} MB/s  (best of 3, CPU time: {best:.3f} s, "
          "encode_batch, RAYON_NUM_THREADS=1)")
    print(f"ratio brain/tokenizers: {brain_mbs / ref_mbs:.2f}  (goal >= 1.0)")
    if brain["tokens"] != ref_tokens or brain["bytes"] != nbytes:
        print("ERROR: brain and tokenizers disagree on the token count")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
