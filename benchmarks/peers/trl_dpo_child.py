"""TRL DPOTrainer side of the DPO peer benchmark (run as its own process by run_peers.py, which measures its RSS).

usage: trl_dpo_child.py --model DIR --tokenizer DIR --data pairs.jsonl --steps N --batch B --threads T --out FILE
Trains N optimiser steps of B pairs (fp32, no gradient checkpointing, the reference model's log-probs computed
in each step as brain does in its first epoch, no logging / eval / saving) and writes
{"step_seconds": [...], "prompt_tokens": [...], "completion_tokens": [...]} to FILE.
"""
import argparse
import json
import os
import time


def main():
    p = argparse.ArgumentParser()
    for name in ("--model", "--tokenizer", "--data", "--out"):
        p.add_argument(name, required=True)
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--learning-rate", type=float, default=1e-5)
    args = p.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, GPT2TokenizerFast, TrainerCallback
    from trl import DPOConfig, DPOTrainer

    tokenizer = GPT2TokenizerFast.from_pretrained(args.tokenizer)
    tokenizer.pad_token = tokenizer.eos_token
    with open(args.data) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    dataset = Dataset.from_list(rows)
    model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    ref_model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)

    config = DPOConfig(
        output_dir=os.path.join(os.path.dirname(args.out), "trl_out"),
        per_device_train_batch_size=args.batch, gradient_accumulation_steps=1, max_steps=args.steps,
        learning_rate=args.learning_rate, lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0,
        adam_beta1=0.9, adam_beta2=0.999, adam_epsilon=1e-8, max_grad_norm=1.0, beta=0.1, loss_type=["sigmoid"],
        bf16=False, fp16=False, gradient_checkpointing=False, use_cpu=True, max_length=None,
        precompute_ref_log_probs=False, report_to="none", save_strategy="no", eval_strategy="no",
        logging_strategy="no", disable_tqdm=True, dataloader_num_workers=0, seed=1, data_seed=1,
        remove_unused_columns=False)

    class StepTimer(TrainerCallback):
        def __init__(self):
            self.seconds, self._start = [], None

        def on_step_begin(self, *unused, **kw):
            self._start = time.perf_counter()

        def on_step_end(self, *unused, **kw):
            self.seconds.append(time.perf_counter() - self._start)

    timer = StepTimer()
    trainer = DPOTrainer(model=model, ref_model=ref_model, args=config, train_dataset=dataset,
                         processing_class=tokenizer, callbacks=[timer])
    data = trainer.train_dataset
    prompt_tokens = [len(x) for x in data["prompt_ids"]]
    completion_tokens = [len(x) for x in data["chosen_ids"]] + [len(x) for x in data["rejected_ids"]]
    trainer.train()
    with open(args.out, "w") as f:
        json.dump({"step_seconds": timer.seconds, "prompt_tokens": prompt_tokens,
                   "completion_tokens": completion_tokens, "threads": torch.get_num_threads()}, f)


if __name__ == "__main__":
    main()
