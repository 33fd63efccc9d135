#!/usr/bin/env bash
# `brain sample` and `brain score` end to end: output layout, same samples on 1 and 2 MPI ranks and for
# other batch sizes, logq against transformers' own temperature/top-k/top-p warpers on the same model
# (no cache), reward and prior log-probs against transformers, `brain score` on 2 ranks byte-equal to 1
# rank, and input errors.
# usage: sample_score_test.sh BRAIN_BINARY SOURCE_DIR PYTHON MPIEXEC [mpiexec flags...]
set -u
brain="$1"; src="$2"; python="$3"; mpiexec="$4"; shift 4
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
tok="$src/../shared/data/gpt2"

"$brain" create-model --preset gpt2-tiny --seed 3 --out "$tmp/lm" >/dev/null || fail "create-model lm"
"$brain" create-model --preset gpt2-tiny --seed 4 --head score --out "$tmp/rm" >/dev/null || fail "create-model rm"
cat >"$tmp/prompts.jsonl" <<'JSONL'
{"prompt": "Hello world, this is", "id": 12}
{"prompt": "The quick brown fox"}

{"prompt": "Once upon a time", "id": 3}
JSONL
flags=(--model "$tmp/lm" --tokenizer "$tok" --prompts "$tmp/prompts.jsonl" --n 3 --temperature 0.8 --top-p 0.9
       --top-k 200 --max-new-tokens 12 --seed 77)
"$brain" sample "${flags[@]}" --out "$tmp/a.jsonl" --batch-size 4 2>"$tmp/a.log" || { cat "$tmp/a.log"; fail "sample"; }
grep -q "wrote 9 samples" "$tmp/a.log" || { cat "$tmp/a.log"; fail "no summary line"; }
"$brain" sample "${flags[@]}" --out "$tmp/b.jsonl" --batch-size 9 --refill-fraction 1 2>/dev/null || fail "sample b"
"$mpiexec" -n 2 "$@" "$brain" sample "${flags[@]}" --out "$tmp/c.jsonl" --batch-size 2 2>"$tmp/c.log" \
  || { cat "$tmp/c.log"; fail "mpirun -np 2 sample"; }

"$python" - "$tmp" <<'PY' || fail "python checks"
import json, sys, math
import torch
from transformers import GPT2LMHeadModel, GPT2ForSequenceClassification
from transformers.generation.logits_process import (TemperatureLogitsWarper, TopKLogitsWarper,
                                                    TopPLogitsWarper)
tmp = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(f"{tmp}/{name}")]
a, b, c = load("a.jsonl"), load("b.jsonl"), load("c.jsonl")
assert len(a) == 9, len(a)
keys = [(r["prompt_id"], r["sample_index"]) for r in a]
assert keys == sorted(keys) and {k[0] for k in keys} == {1, 3, 12}, keys
for other, name in ((b, "batch 9 static"), (c, "2 ranks")):
    for x, y in zip(a, other):
        assert x["token_ids"] == y["token_ids"], (name, x, y)
        assert abs(x["logq"] - y["logq"]) < 1e-4, name
lm = GPT2LMHeadModel.from_pretrained(f"{tmp}/lm").eval()
warpers = [TemperatureLogitsWarper(0.8), TopKLogitsWarper(200), TopPLogitsWarper(0.9)]
worst = 0.0
with torch.no_grad():
    for r in a:
        p, y = r["prompt_token_ids"], r["token_ids"]
        assert r["finish_reason"] in ("eos", "stop", "length")
        assert len(r["token_logq"]) == len(y) and (r["finish_reason"] != "length" or len(y) == 12)
        logits = lm(torch.tensor([p + y])).logits[0]
        total = 0.0
        for j, t in enumerate(y):
            scores = logits[len(p) - 1 + j].unsqueeze(0).double()
            ids = torch.tensor([p + y[:j]])
            for w in warpers:
                scores = w(ids, scores)
            lq = torch.log_softmax(scores, -1)[0, t].item()
            assert math.isfinite(lq), ("token outside the HF support", r)
            worst = max(worst, abs(lq - r["token_logq"][j]))
            total += lq
        assert abs(total - r["logq"]) < 1e-4, (total, r["logq"])
assert worst < 2e-5, worst
print(f"logq vs transformers warpers: max token error {worst:.2e}")
PY

"$brain" score --reward-model "$tmp/rm" --prior "$tmp/lm" --in "$tmp/a.jsonl" --out "$tmp/s.jsonl" --batch-size 4 \
  2>"$tmp/s.log" || { cat "$tmp/s.log"; fail "score"; }
grep -q "brain score: rank 0: 9/9 responses" "$tmp/s.log" || { cat "$tmp/s.log"; fail "no score progress line"; }
# Data-parallel scoring: 2 ranks (batches of 4 dealt round-robin) write the same bytes as 1 rank.
"$mpiexec" -n 2 "$@" "$brain" score --reward-model "$tmp/rm" --prior "$tmp/lm" --in "$tmp/a.jsonl" \
  --out "$tmp/s2.jsonl" --batch-size 4 2>"$tmp/s2.log" || { cat "$tmp/s2.log"; fail "mpirun -np 2 score"; }
grep -q "on 2 ranks" "$tmp/s2.log" || { cat "$tmp/s2.log"; fail "score did not run on 2 ranks"; }
cmp -s "$tmp/s.jsonl" "$tmp/s2.jsonl" || { diff "$tmp/s.jsonl" "$tmp/s2.jsonl" | head; fail "score np 2 != np 1"; }
"$python" - "$tmp" <<'PY' || fail "score checks"
import json, sys
import torch
from transformers import GPT2LMHeadModel, GPT2ForSequenceClassification
tmp = sys.argv[1]
s = [json.loads(l) for l in open(f"{tmp}/s.jsonl")]
assert len(s) == 9
lm = GPT2LMHeadModel.from_pretrained(f"{tmp}/lm").eval()
rm = GPT2ForSequenceClassification.from_pretrained(f"{tmp}/rm").eval()
with torch.no_grad():
    for r in s:
        p, y = r["prompt_token_ids"], r["token_ids"]
        ids = torch.tensor([p + y])
        reward = rm(ids).logits[0, 0].item()
        lp = torch.log_softmax(lm(ids).logits[0].double(), -1)
        prior = sum(lp[len(p) - 1 + j, t].item() for j, t in enumerate(y))
        assert abs(reward - r["reward"]) < 1e-4, (reward, r["reward"])
        assert abs(prior - r["prior_logprob"]) < 1e-3, (prior, r["prior_logprob"])
print("score vs transformers: ok")
PY

# Errors: a bad prompts line names file:line (exit 1); bad flags exit 2.
printf '{"prompt": "ok"}\nnot json\n' >"$tmp/bad.jsonl"
out="$("$brain" sample --model "$tmp/lm" --tokenizer "$tok" --prompts "$tmp/bad.jsonl" --out "$tmp/x.jsonl" 2>&1)"
[[ $? == 1 ]] && grep -q "bad.jsonl:2: expected a JSON object" <<<"$out" || fail "bad prompts line: $out"
"$brain" sample "${flags[@]}" --top-p 0 --out "$tmp/x.jsonl" >/dev/null 2>&1; [[ $? == 2 ]] || fail "--top-p 0 must exit 2"
"$brain" sample "${flags[@]}" --n x --out "$tmp/x.jsonl" >/dev/null 2>&1; [[ $? == 2 ]] || fail "--n x must exit 2"
out="$("$brain" score --reward-model "$tmp/lm" --in "$tmp/a.jsonl" --out "$tmp/x.jsonl" 2>&1)"
[[ $? == 1 ]] && grep -q "not a reward model" <<<"$out" || fail "score with an LM: $out"
echo "sample_score_test: all passed"
