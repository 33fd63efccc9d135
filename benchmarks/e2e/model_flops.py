"""Model FLOPs of the phases of a training step, from an HF config.json (gpt2 or llama).

Convention (the one core/train/progress.h uses, refined to count only the work a phase needs):
  - a forward pass over one token costs 2 FLOPs per weight of every matrix it multiplies by
    (attention projections and MLP of every layer: `body_params`), plus the language-model head
    (2·vocab·hidden) only at positions whose logits the phase needs (response positions for
    log-probs; one per generated token when sampling; none for a reward model's scalar head);
  - causal attention of the token at 1-based position t costs 4·layers·(heads·head_dim)·t
    (QKᵀ and AV), so a sequence of S tokens costs 2·layers·(heads·head_dim)·S·(S+1);
  - training (forward + backward) costs 3× the forward pass;
  - embedding lookups, norms, activations, softmax and the optimiser are not counted.
"""
import json
import os


class ModelShape:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        self.family = c["model_type"]
        if self.family == "gpt2":
            self.hidden = c["n_embd"]
            self.layers = c["n_layer"]
            self.heads = c["n_head"]
            self.kv_heads = self.heads
            self.head_dim = self.hidden // self.heads
            self.ffn = c.get("n_inner") or 4 * self.hidden
            per_layer = 4 * self.hidden ** 2 + 2 * self.hidden * self.ffn
        elif self.family == "llama":
            self.hidden = c["hidden_size"]
            self.layers = c["num_hidden_layers"]
            self.heads = c["num_attention_heads"]
            self.kv_heads = c.get("num_key_value_heads") or self.heads
            self.head_dim = c.get("head_dim") or self.hidden // self.heads
            self.ffn = c["intermediate_size"]
            q = self.heads * self.head_dim
            kv = self.kv_heads * self.head_dim
            per_layer = self.hidden * (2 * q + 2 * kv) + 3 * self.hidden * self.ffn
        else:
            raise ValueError(f"{model_dir}/config.json: model_type '{self.family}' is not gpt2 or llama")
        self.vocab = c["vocab_size"]
        self.body_params = self.layers * per_layer
        self.attn_width = self.heads * self.head_dim

    def describe(self):
        return (f"{self.family} L{self.layers} d{self.hidden} h{self.heads}/kv{self.kv_heads} ffn{self.ffn} "
                f"vocab {self.vocab}: {self.body_params / 1e6:.1f}M matmul params + head "
                f"{self.vocab * self.hidden / 1e6:.1f}M")

    def gemm_shapes(self, rows):
        """(m, k, n) of the model's largest matrix products over `rows` token rows."""
        q = self.heads * self.head_dim
        qkv = q + 2 * self.kv_heads * self.head_dim
        return [(rows, self.hidden, qkv), (rows, self.hidden, self.ffn), (rows, self.ffn, self.hidden),
                (rows, self.hidden, self.vocab)]

    # ---- forward FLOPs
    def attention(self, first, last):
        """Causal attention of positions first..last (1-based, inclusive)."""
        if last < first:
            return 0.0
        positions = (first + last) * (last - first + 1) / 2
        return 4.0 * self.layers * self.attn_width * positions

    def forward(self, seq_len, head_positions):
        return (2.0 * self.body_params * seq_len + 2.0 * self.vocab * self.hidden * head_positions +
                self.attention(1, seq_len))

    def training(self, seq_len, head_positions):
        return 3.0 * self.forward(seq_len, head_positions)

    def sampling(self, prompt_len, new_tokens, num_samples):
        """One prompt prefilled once, then `num_samples` continuations of `new_tokens` tokens each."""
        prefill = 2.0 * self.body_params * prompt_len + 2.0 * self.vocab * self.hidden + self.attention(1, prompt_len)
        steps = max(0.0, new_tokens - 1)  # the first new token comes from the prefill's logits
        decode = (2.0 * self.body_params * steps + 2.0 * self.vocab * self.hidden * steps +
                  self.attention(prompt_len + 1, prompt_len + steps))
        return prefill + num_samples * decode
