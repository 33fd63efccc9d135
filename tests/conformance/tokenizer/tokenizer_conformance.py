#!/usr/bin/env python3
"""Conformance of `brain tokenize` against the Hugging Face `tokenizers` library.

usage: tokenizer_conformance.py BRAIN_BINARY GPT2_DIR

Builds reference tokenizers (GPT-2's vocab.json + merges.txt, and small byte-level BPEs trained here with
`tokenizers`: GPT-2-style ByteLevel and Llama-3-style Split+ByteLevel pre-tokenizers), encodes a varied
corpus plus seeded random strings with both `tokenizers` and `brain tokenize`, and requires identical ids
and exact decode round trips. Exits non-zero with a diff on the first mismatches.
"""
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
                  r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]

CORPUS = [
    "Hello world! This is a simple sentence.",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.",
    "It's what we're doing: they've said I'm sure you'll see he'd go. "
    "IT'S WE'RE THEY'VE I'M YOU'LL HE'D",
    "Don't won't can't shouldn't y'all 'tis rock'n'roll '' 's 'x",
    "def add(a, b):\n    return a + b  # sum\n\n\nclass Foo(object):\n\tpass\n",
    "for (int i = 0; i < n; ++i) { x[i] = y[i] * 2.5f; }  // loop\r\n",
    "if __name__ == '__main__':\n    main()\n",
    "   leading spaces", "trailing spaces   ", "multiple     spaces   between", "   ",
    "\n", "\n\n\n", " \n \n ", "tabs\tand\t\tmore\ttabs", "line one\nline two\r\nline three\r\n\r\n",
    "mixed \t \n whitespace \u00a0 nbsp \u3000 ideographic\u2003em space",
    "Numbers: 0 1 12 123 1234 12345 3.14159 1,000,000 2024-01-01 +42 -7 1e10",
    "Phone 555-1234, ZIP 90210, version 1.2.3, 100%",
    "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 fa\u00e7ade co\u00f6perate \u00c5ngstr\u00f6m "
    "Stra\u00dfe",
    "\u00bfQu\u00e9 tal? \u00a1Muy bien! Espa\u00f1a, S\u00e3o Paulo, \u0141\u00f3d\u017a, \u0130stanbul",
    "\u6f22\u5b57\u304b\u306a\u30ab\u30ca\u6df7\u3058\u308a\u6587\u3002"
    "\u4e2d\u6587\u5206\u8bcd\u6d4b\u8bd5\u3002",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5\uc785\ub2c8\ub2e4. "
    "\u0420\u0443\u0441\u0441\u043a\u0438\u0439 \u0442\u0435\u043a\u0441\u0442. "
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac. \u05e2\u05d1\u05e8\u05d9\u05ea "
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629",
    "Emoji \U0001F600\U0001F680 family \U0001F468\u200d\U0001F469\u200d\U0001F467 flag \U0001F1EB\U0001F1F7 "
    "thumbs \U0001F44D\U0001F3FD!",
    "Math: \u2211 x\u00b2 \u2264 \u221e, \u03c0 \u2248 3.14, \u00bd + \u00bc = \u00be, "
    "\u2460\u2461\u2462 \u0663\u0664\u0665",
    "<|endoftext|>", "Before<|endoftext|>after", "a <|endoftext|> b<|endoftext|><|endoftext|>",
    "<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n",
    "<|endoftext", "<|im_start|", "<<|endoftext|>>",
    "a <mask> b", "x<mask>  \n y", "<mask><mask>", " \u3000<mask>", "brainstorm my brain, Brain!",
    "URLs https://example.com/path?q=1&r=two#frag and emails a.b@c.de",
    "Punctuation!!! ??? ... --- *** ((())) [[]] {{}} \"quoted\" 'single' `back`",
    "long s: it'\u017f and '\u017f and K\u212a '\u017fx 'sx 'Sx",
    "x" * 300, "ab" * 150 + " " + "9" * 40,
    "",
    "a", " ", "'", "''", " '", "\t", "\r", "\u0085 next line",
]

ALPHABET = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") +
            list(" " * 12 + "\n" * 4 + "\t\r") + list("'\"!?.,;:-_()[]{}<>/\\@#$%^&*+=|~`") +
            ["'s", "'T", "'re", "'LL", "'ve", "'d", "'m", "\u017f", "\u00e9", "\u00df", "\u00a0", "\u3000",
             "\u2009", "\u4e2d", "\u6587", "\u3042", "\u0663", "\u00b2", "\u2460", "\U0001F600", "\u200d",
             "\U0001F3FD", "\u0301", "<|endoftext|>", "<|im_end|>", "<mask>", "brain", "\u0627", "\u0928\u093f"])


def random_corpus(n, seed=1234):
    rng = random.Random(seed)
    return ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 40))) for _ in range(n)]


def train(pre_tokenizer, training_text, ignore_merges=False):
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=1, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training_text, trainer=trainer)
    return tok


def make_references(tmp, training_text, gpt2_dir):
    refs = {}
    # GPT-2 vocab.json + merges.txt, as GPT2TokenizerFast builds it.
    d = os.path.join(tmp, "gpt2")
    os.makedirs(d)
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(gpt2_dir, name), d)
    gpt2 = Tokenizer(models.BPE.from_file(os.path.join(d, "vocab.json"),
                                          os.path.join(d, "merges.txt")))
    gpt2.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    gpt2.decoder = decoders.ByteLevel()
    gpt2.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    refs["gpt2 (vocab.json+merges.txt)"] = (d, gpt2)

    # Trained GPT-2-style ByteLevel tokenizer; its tokenizer.json rewritten with "a b" string merges.
    bl = train(pre_tokenizers.ByteLevel(add_prefix_space=False), training_text)
    d = os.path.join(tmp, "bytelevel")
    os.makedirs(d)
    bl.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    spec["model"]["merges"] = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False)
    refs["trained ByteLevel (string merges)"] = (d, bl)

    # Same with add_prefix_space.
    bp = train(pre_tokenizers.ByteLevel(add_prefix_space=True), training_text)
    d = os.path.join(tmp, "bytelevel_prefix")
    os.makedirs(d)
    bp.save(os.path.join(d, "tokenizer.json"))
    refs["trained ByteLevel add_prefix_space"] = (d, bp)

    # Llama-3 style: Split(regex, isolated) + ByteLevel without regex, ignore_merges, pair-form merges.
    ll = train(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]), training_text,
        ignore_merges=True)
    d = os.path.join(tmp, "llama3")
    os.makedirs(d)
    ll.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer.json"), encoding="utf-8") as f:
        spec = json.load(f)
    model = spec["model"]
    assert model["ignore_merges"] and isinstance(model["merges"][0], list), "expected pair-form merges"
    # Added tokens after training: a stripping special token and a plain (non-special) one.
    ll.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, rstrip=True)])
    ll.add_tokens([AddedToken("brain", special=False, normalized=False)])
    ll.save(os.path.join(d, "tokenizer.json"))
    refs["trained Llama-3 Split+ByteLevel"] = (d, ll)
    return refs


def run_brain(brain, directory, lines, decode=False):
    args = [brain, "tokenize", "--tokenizer", directory] + (["--decode"] if decode else [])
    proc = subprocess.run(args, input="".join(l + "\n" for l in lines).encode(), capture_output=True)
    if proc.returncode != 0:
        stderr = proc.stderr.decode(errors="replace")
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {stderr}")
    # split("\n"), not splitlines(): decoded strings may hold U+0085 or U+2028 unescaped.
    return [json.loads(l) for l in proc.stdout.decode().split("\n") if l]


def check(name, directory, ref, texts, brain, exact_round_trip):
    failures = []
    want = [ref.encode(t, add_special_tokens=False).ids for t in texts]
    got = run_brain(brain, directory, [json.dumps(t) for t in texts])
    if len(got) != len(texts):
        return [f"{name}: {len(got)} output lines for {len(texts)} inputs"]
    for text, w, g in zip(texts, want, got):
        if w != g:
            failures.append(f"{name}: ids differ for {text!r}\n  tokenizers: {w}\n  brain:      {g}\n"
                            f"  tokens:     {[ref.id_to_token(i) for i in w]}")
    decoded = run_brain(brain, directory, [json.dumps(ids) for ids in got], decode=True)
    for text, ids, d in zip(texts, got, decoded):
        ref_text = ref.decode(ids, skip_special_tokens=False)
        # add_prefix_space keeps its added space in the decoded text, and lstrip/rstrip tokens (<mask>)
        # swallow whitespace, in both libraries: there brain must match tokenizers' decode only.
        exact = exact_round_trip and "<mask>" not in text
        if d != ref_text or (exact and d != text):
            failures.append(f"{name}: round trip of {text!r}: brain {d!r}, tokenizers {ref_text!r}")
    return failures


def check_errors(brain, directory):
    failures = []
    proc = subprocess.run([brain, "tokenize", "--tokenizer", directory], input=b'"ok"\n[1, 2]\n',
                          capture_output=True)
    if proc.returncode == 0 or b"stdin:2" not in proc.stderr:
        failures.append(f"bad encode line: exit {proc.returncode}, stderr {proc.stderr!r}")
    proc = subprocess.run([brain, "tokenize", "--tokenizer", directory, "--decode"],
                          input=b"[1]\n[99999999]\n", capture_output=True)
    if proc.returncode == 0 or b"stdin:2" not in proc.stderr:
        failures.append(f"bad decode line: exit {proc.returncode}, stderr {proc.stderr!r}")
    proc = subprocess.run([brain, "tokenize", "--tokenizer", os.path.join(directory, "nope")],
                          input=b'"x"\n', capture_output=True)
    if proc.returncode != 1 or b"no tokenizer found" not in proc.stderr:
        failures.append(f"missing directory: exit {proc.returncode}, stderr {proc.stderr!r}")
    return failures


def main():
    brain, gpt2_dir = sys.argv[1], sys.argv[2]
    randoms = random_corpus(1500)
    texts = CORPUS + randoms
    tmp = tempfile.mkdtemp(prefix="brain_tok_conf_")
    try:
        refs = make_references(tmp, CORPUS * 3 + random_corpus(3000, seed=99), gpt2_dir)
        failures = []
        for name, (directory, ref) in refs.items():
            f = check(name, directory, ref, texts, brain, exact_round_trip="add_prefix_space" not in name)
            print(f"{name}: {len(texts)} texts, {len(f)} mismatches")
            failures += f
        failures += check_errors(brain, refs["gpt2 (vocab.json+merges.txt)"][0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures[:20]:
        print("MISMATCH", f)
    if failures:
        print(f"FAILED: {len(failures)} mismatches")
        return 1
    print("all tokenizers match")
    return 0


if __name__ == "__main__":
    sys.exit(main())
