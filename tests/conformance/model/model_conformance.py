#!/usr/bin/env python3
"""Model conformance against transformers / safetensors (the reference libraries, code no one here wrote).

usage: model_conformance.py MODEL_DRIVER

Builds small random GPT-2 and Llama models in transformers (GQA, untied head, tied head, sequence
classification), saves them (one sharded), and checks that the C++ driver gives the same logits/scores on
left- and right-padded batches (max abs error <= 1e-4, fp32), the same greedy tokens for 32 new tokens
with the KV cache, and that C++-created checkpoints (single file and sharded) load in transformers and
match. Also round-trips every safetensors dtype through the C++ reader/writer and Python's safetensors.
"""
import os
import subprocess
import sys
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file

transformers.logging.set_verbosity_error()
TOL = 1e-4
FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def run(driver, *args):
    proc = subprocess.run([driver, *map(str, args)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"model_driver {' '.join(map(str, args))} failed:\n{proc.stderr}")


def randomize(model, seed):
    """Non-trivial values everywhere (norm weights and biases included), so every parameter matters."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_" in name:
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
                continue
            p.copy_(0.08 * torch.randn(p.shape, generator=gen))
    return model.eval()


def batch(vocab, padding, seed, lengths=(10, 6, 3), t=10, pad_id=0):
    """Real tokens avoid 0 and vocab - 1 (the pad ids used here): HF's score head finds the last token by
    pad id, brain's by the attention mask; they agree when pads are exactly the pad-id tokens."""
    gen = torch.Generator().manual_seed(seed)
    ids = torch.full((len(lengths), t), pad_id, dtype=torch.long)
    mask = torch.zeros(len(lengths), t, dtype=torch.long)
    for row, n in enumerate(lengths):
        real = torch.randint(1, vocab - 1, (n,), generator=gen)
        span = slice(t - n, t) if padding == "left" else slice(0, n)
        ids[row, span] = real
        mask[row, span] = 1
    return ids, mask


def positions(mask):
    pos = mask.cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def hf_output(model, ids, mask):
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, position_ids=positions(mask))
    return out.logits


def cpp_forward(driver, tmp, model_dir, batches, key):
    """Runs the C++ forward on {tag: (ids, mask)} in one process; returns {tag: output}."""
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    tensors = {}
    for tag, (ids, mask) in batches.items():
        tensors[f"{tag}.input_ids"], tensors[f"{tag}.attention_mask"] = ids.contiguous(), mask.contiguous()
    save_file(tensors, inp)
    run(driver, "forward", model_dir, inp, out)
    result = load_file(out)
    return {tag: result[f"{tag}.{key}"] for tag in batches}


def compare_logits(driver, tmp, name, model, model_dir, vocab):
    batches = {padding: batch(vocab, padding, seed=7) for padding in ("left", "right")}
    got = cpp_forward(driver, tmp, model_dir, batches, "logits")
    for padding, (ids, mask) in batches.items():
        ref = hf_output(model, ids, mask)
        real = mask.bool()
        err = (ref[real] - got[padding][real]).abs().max().item()
        check(got[padding].shape == ref.shape and err <= TOL,
              f"{name}: {padding}-padded logits, max abs err {err:.2e}")


def compare_scores(driver, tmp, name, model, model_dir, vocab):
    batches = {padding: batch(vocab, padding, seed=11, pad_id=model.config.pad_token_id)
               for padding in ("left", "right")}
    got = cpp_forward(driver, tmp, model_dir, batches, "score")
    for padding, (ids, mask) in batches.items():
        with torch.no_grad():
            ref = model(input_ids=ids, attention_mask=mask, position_ids=positions(mask)).logits
        err = (ref - got[padding]).abs().max().item()
        check(got[padding].shape == ref.shape and err <= TOL,
              f"{name}: {padding}-padded scores, max abs err {err:.2e}")


def compare_generation(driver, tmp, name, model, model_dir, vocab, new_tokens=32):
    ids, mask = batch(vocab, "left", seed=3, lengths=(8, 5, 2), t=8)
    config = transformers.GenerationConfig(do_sample=False, max_new_tokens=new_tokens,
                                           min_new_tokens=new_tokens, eos_token_id=None, pad_token_id=0)
    with torch.no_grad():
        ref = model.generate(input_ids=ids, attention_mask=mask, generation_config=config)[:, ids.shape[1]:]
    inp, out = os.path.join(tmp, "in.safetensors"), os.path.join(tmp, "out.safetensors")
    save_file({"input_ids": ids, "attention_mask": mask}, inp)
    run(driver, "generate", model_dir, inp, out, new_tokens)
    got = load_file(out)["generated"]
    same = got.shape == ref.shape and torch.equal(got, ref)
    first = (got != ref).nonzero()[:1].tolist() if got.shape == ref.shape else "shape"
    check(same, f"{name}: greedy generation of {new_tokens} tokens with KV cache (first mismatch {first})")


def hf_models():
    V = 101
    gpt2 = transformers.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, vocab_size=V,
                                   bos_token_id=V - 1, eos_token_id=V - 1, pad_token_id=0)
    llama_gqa = transformers.LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                         num_key_value_heads=2, intermediate_size=48, vocab_size=V,
                                         max_position_embeddings=64, tie_word_embeddings=False,
                                         rope_theta=5000.0, rms_norm_eps=1e-5, bos_token_id=1, eos_token_id=2,
                                         pad_token_id=0)
    llama_tied = transformers.LlamaConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                          num_key_value_heads=2, intermediate_size=40, vocab_size=V,
                                          tie_word_embeddings=True, bos_token_id=1, eos_token_id=2,
                                          pad_token_id=0)
    models = [
        ("gpt2", transformers.GPT2LMHeadModel(gpt2), "lm", None),
        ("llama-gqa-untied", transformers.LlamaForCausalLM(llama_gqa), "lm", "20KB"),
        ("llama-mha-tied", transformers.LlamaForCausalLM(llama_tied), "lm", None),
        ("gpt2-reward", transformers.GPT2ForSequenceClassification(
            transformers.GPT2Config(**{**gpt2.to_dict(), "num_labels": 1})), "score", None),
        ("llama-reward", transformers.LlamaForSequenceClassification(
            transformers.LlamaConfig(**{**llama_gqa.to_dict(), "num_labels": 1})), "score", None),
    ]
    return V, models


def dtype_roundtrip(driver, tmp):
    gen = torch.Generator().manual_seed(5)
    tensors = {
        "f64": torch.randn(3, 4, dtype=torch.float64, generator=gen),
        "f32": torch.randn(2, 3, 5, generator=gen),
        "f16": torch.randn(7, generator=gen).half(),
        "bf16": torch.randn(4, 4, generator=gen).bfloat16(),
        "i64": torch.randint(-2**40, 2**40, (6,), generator=gen),
        "i32": torch.randint(-2**30, 2**30, (2, 2), generator=gen, dtype=torch.int32),
        "i8": torch.randint(-128, 128, (9,), generator=gen, dtype=torch.int8),
        "u8": torch.randint(0, 256, (3, 3), generator=gen, dtype=torch.uint8),
        "bool": torch.rand(5, generator=gen) > 0.5,
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    src, dst = os.path.join(tmp, "dtypes.safetensors"), os.path.join(tmp, "dtypes_copy.safetensors")
    save_file(tensors, src)
    run(driver, "copy", src, dst)
    back = load_file(dst)
    ok = set(back) == set(tensors) and all(
        back[k].dtype == v.dtype and back[k].shape == v.shape and torch.equal(back[k], v)
        for k, v in tensors.items())
    check(ok, "safetensors: every dtype read by C++ and written back loads bit-exact in Python safetensors")


def main():
    driver = sys.argv[1]
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        dtype_roundtrip(driver, tmp)
        V, models = hf_models()
        for i, (name, model, kind, shard) in enumerate(models):
            randomize(model, seed=100 + i)
            model_dir = os.path.join(tmp, name)
            kwargs = {"max_shard_size": shard} if shard else {}
            model.save_pretrained(model_dir, **kwargs)
            if shard:
                check(os.path.exists(os.path.join(model_dir, "model.safetensors.index.json")),
                      f"{name}: transformers wrote a sharded checkpoint")
            if kind == "lm":
                compare_logits(driver, tmp, name, model, model_dir, V)
                compare_generation(driver, tmp, name, model, model_dir, V)
            else:
                compare_scores(driver, tmp, name, model, model_dir, V)

        # Reverse direction: C++-created checkpoints load in transformers and match the C++ forward.
        for preset, head, shard in (("gpt2-tiny", "lm", 0), ("llama-tiny", "lm", 60000),
                                    ("llama-tiny", "score", 0), ("gpt2-tiny", "score", 0)):
            name = f"brain {preset} ({head}{', sharded' if shard else ''})"
            model_dir = os.path.join(tmp, f"brain-{preset}-{head}-{shard}")
            run(driver, "create", preset, model_dir, 42, 128, head, shard)
            if shard:
                check(os.path.exists(os.path.join(model_dir, "model.safetensors.index.json")),
                      f"{name}: index written")
            auto = transformers.AutoModelForSequenceClassification if head == "score" else \
                transformers.AutoModelForCausalLM
            model = auto.from_pretrained(model_dir).eval()
            if head == "score":
                compare_scores(driver, tmp, name, model, model_dir, 128)
            else:
                compare_logits(driver, tmp, name, model, model_dir, 128)
    if FAILURES:
        print(f"{len(FAILURES)} check(s) failed", flush=True)
        return 1
    print("all model conformance checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
