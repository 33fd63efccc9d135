#!/usr/bin/env bash
# The sbatch templates on a real (local, one-node) Slurm cluster:
#  1. single-node.sbatch: `brain version` as 2 tasks with srun --mpi=pmix; both ranks report via slurm
#     and `brain version` run straight from the batch shell (no job step) is a 1-rank job
#  2. mpirun.sbatch: the same under mpirun inside the allocation; ranks report via openmpi
#  3. single-node.sbatch: `brain create-model` then `brain tokenize` (stdin from sbatch --input)
#  4. preemption (srun and mpirun templates), a real `brain sft`: SIGUSR1 to the batch shell -> forwarded
#     -> checkpoint, exit 75 -> requeued under the same job id -> resumes from the checkpoint in
#     runs/<name>-<id>, logs every step exactly once and exports the model.
#  5. a real time limit (--time=1): Slurm's own --signal warning from the template triggers the requeue.
# usage: slurm_test.sh BRAIN_BINARY SOURCE_DIR
set -uo pipefail
brain="$(realpath "$1")"; src="$(realpath "$2")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${BRAIN_VENV:-$HOME/.cache/brain/venv}/bin/python"
# The job the preemption tests run: a real `brain sft` of a tiny GPT-2 (GPT-2's tokenizer) on a few
# demonstrations, written below; the template adds --set output_dir=runs/<name>-<job id>.
RESUME_STEPS=300

source "$here/local_slurm.sh"
trap 'slurm_stop' EXIT
fails=0 passes=0
pass() { echo "PASS: $*"; passes=$((passes + 1)); }
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
show() { echo "---- $1"; cat "$1" 2>/dev/null; echo "----"; }

slurm_start || { echo "FAIL: could not start a local Slurm cluster"; exit 1; }
submit="$LOCAL_SLURM_DIR/submit"
mkdir -p "$submit" && cd "$submit" || exit 1
export BRAIN="$brain" BRAIN_HOME="$src"
for i in $(seq 1 32); do
  printf '{"prompt": "Question %d:", "response": " The answer is %d."}\n' "$i" "$((i * 7))"
done >"$submit/demos.jsonl"
write_sft_config() {  # FILE MAX_STEPS
  cat >"$1" <<EOF
models { policy { preset: "gpt2-tiny" } tokenizer: "$src/../shared/data/gpt2" max_seq_len: 64 }
data { train_path: "$submit/demos.jsonl" max_prompt_tokens: 16 max_response_tokens: 16 }
sft {}
optimizer { learning_rate: 1e-3 max_steps: $2 micro_batch_size: 2 }
checkpoint { every_steps: 0 keep_last: 2 }
logging { every_steps: 1 progress: false tensorboard: false }
EOF
}
write_sft_config "$submit/sft.textproto" "$RESUME_STEPS"
write_sft_config "$submit/sft-long.textproto" 1000000  # longer than the 1-minute time limit
RESUME_ARGS=(sft --config "$submit/sft.textproto")
TIMELIMIT_ARGS=(sft --config "$submit/sft-long.textproto")

# Runs one template to completion; sets job, out (its log) and state.
run_job() {  # TIMEOUT sbatch-args...
  local timeout="$1"; shift
  job="$(sbatch --parsable "$@")" || { fail "sbatch $*"; job=""; out=""; state=""; return 1; }
  state="$(slurm_wait_state "$job" 'COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY' "$timeout")"
  out="$submit/$(slurm_job_field "$job" JobName)-$job.out"
}

# ---- 1. srun --mpi=pmix, 2 tasks
run_job 60 --ntasks-per-node=2 --job-name=version "$src/launch/slurm/single-node.sbatch" version
if [[ "$state" == COMPLETED && "$(slurm_job_field "$job" ExitCode)" == 0:0 ]] &&
   grep -q '^rank 0/2 (local 0/2 via slurm)' "$out" && grep -q '^rank 1/2 (local 1/2 via slurm)' "$out" &&
   [[ "$(grep -c '^  LibTorch' "$out")" == 1 ]] && grep -q 'srun --mpi=pmix' "$out" &&
   [[ -d "$submit/runs/version-$job" ]]; then
  pass "srun --mpi=pmix: 2 ranks via slurm, run directory runs/version-$job"
else
  fail "srun --mpi=pmix version job $job: state $state"; show "$out"
fi

# ---- 1b. World inside Slurm without a job step
run_job 60 --ntasks=2 --job-name=batchshell --output=%x-%j.out --wrap "'$brain' version"
if [[ "$state" == COMPLETED ]] && grep -q '^rank 0/1 (local 0/1 via mpi)' "$out"; then
  pass "brain run from the batch shell is a 1-rank job (Slurm variables of the job ignored)"
else
  fail "brain version in the batch shell, job $job: state $state"; show "$out"
fi
# (`srun --mpi=none` is refused by Open MPI itself in MPI_Init, before World sees it; World's own
# check for launchers that disagree with MPI is covered by tests/mpi/world_test.cc.)

# ---- 2. mpirun inside the allocation, 2 tasks
run_job 90 --ntasks-per-node=2 --job-name=mpirun "$src/launch/slurm/mpirun.sbatch" version
if [[ "$state" == COMPLETED && "$(slurm_job_field "$job" ExitCode)" == 0:0 ]] &&
   grep -q '^rank 0/2 (local 0/2 via openmpi)' "$out" && grep -q '^rank 1/2 (local 1/2 via openmpi)' "$out"; then
  pass "mpirun in the allocation: 2 ranks via openmpi"
else
  fail "mpirun version job $job: state $state"; show "$out"
fi

# ---- 3. create-model and tokenize as 1-task jobs
model="$submit/tiny-model"
run_job 90 --ntasks-per-node=1 --job-name=create "$src/launch/slurm/single-node.sbatch" \
  create-model --preset gpt2-tiny --out "$model"
if [[ "$state" == COMPLETED && -f "$model/config.json" ]] &&
   "$python" -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(c.get("model_type") != "gpt2")' \
     "$model/config.json"; then
  if [[ -x "$python" ]] && "$python" -c 'import safetensors' 2>/dev/null; then
    if "$python" - "$model" <<'PY'
import glob, sys
from safetensors.numpy import load_file
files = glob.glob(sys.argv[1] + "/*.safetensors")
assert files, "no safetensors file"
tensors = {k: v for f in files for k, v in load_file(f).items()}
assert any("wte" in k for k in tensors), sorted(tensors)[:5]
PY
    then pass "create-model job: HF config.json (gpt2) and a safetensors file that safetensors loads"
    else fail "create-model job: safetensors could not read the weights"; fi
  else
    pass "create-model job: HF config.json (gpt2) (safetensors check skipped: no venv)"
  fi
else
  fail "create-model job $job: state $state"; show "$out"
fi
printf '"Hello world"\n' >"$submit/hello.jsonl"
run_job 60 --ntasks-per-node=1 --job-name=tokenize --input="$submit/hello.jsonl" \
  "$src/launch/slurm/single-node.sbatch" tokenize --tokenizer "$src/../shared/data/gpt2"
# GPT-2's published ids for "Hello world" (the tokenizer README / tiktoken): 15496, 995.
if [[ "$state" == COMPLETED ]] && grep -q '^\[15496, *995\]$' "$out"; then
  pass "tokenize job: \"Hello world\" -> [15496,995]"
else
  fail "tokenize job $job: state $state"; show "$out"
fi

# ---- 4. preemption: SIGUSR1 -> checkpoint -> exit 75 -> requeue -> resume (srun, then mpirun)
check_resume() {  # TEMPLATE NAME
  job="$(sbatch --parsable --ntasks-per-node=2 --job-name="$2" \
    "$src/launch/slurm/$1" "${RESUME_ARGS[@]}")" || { fail "sbatch $1"; return; }
  run_dir="$submit/runs/$2-$job"
  out="$submit/$2-$job.out"
  state="$(slurm_wait_state "$job" RUNNING 30)" || { fail "resume job $job never ran: $state"; show "$out"; return; }
  # Let the run finish a few steps, then warn the batch shell exactly as --signal=B:USR1@N does.
  local deadline=$((SECONDS + 60))
  until [[ "$(cat "$run_dir/metrics.jsonl" 2>/dev/null | wc -l)" -ge 4 ]]; do
    ((SECONDS < deadline)) || { fail "resume job $job made no progress"; show "$out"; return; }
    sleep 0.2
  done
  scancel --batch --signal=USR1 "$job" || { fail "scancel --batch --signal=USR1 $job"; return; }
  # Requeued: the job goes back to PENDING with Restarts=1. Slurm holds a requeued job for ~2 minutes
  # (BeginTime); the test moves its start to now rather than waiting.
  deadline=$((SECONDS + 40))
  until [[ "$(slurm_job_field "$job" Restarts)" == 1 && "$(slurm_job_field "$job" JobState)" == PENDING ]]; do
    ((SECONDS < deadline)) || { fail "job $job was not requeued: $(slurm_job_field "$job" JobState)"; show "$out"; return; }
    sleep 0.3
  done
  # Slurm's delay also keeps the new launch out of the second in which slurmd revoked the old
  # incarnation's credential (a launch in that same second fails); keep that part of it.
  _slurm_wait_for 20 _slurm_node_idle
  sleep 2
  scontrol update JobId="$job" StartTime=now
  state="$(slurm_wait_state "$job" 'COMPLETED|FAILED|CANCELLED|TIMEOUT' 60)"
  [[ "$state" == COMPLETED && "$(slurm_job_field "$job" ExitCode)" == 0:0 ]] ||
    { fail "resumed job $job ended $state"; show "$out"; return; }
  grep -q 'received SIGUSR1: forwarding' "$out" && grep -q 'status 75 after SIGUSR1' "$out" &&
    grep -q 'preempted: checkpoint at step [0-9]* written' "$out" &&
    grep -q "requeueing job $job" "$out" ||
    { fail "job $job log lacks the forward/checkpoint/75/requeue sequence"; show "$out"; return; }
  local k
  k="$(sed -n 's/^\[train\] resumed from .* (step \([0-9]*\))$/\1/p' "$out" | head -1)"
  [[ -n "$k" ]] && ((k > 0 && k < RESUME_STEPS)) ||
    { fail "job $job did not resume from a mid-run checkpoint"; show "$out"; return; }
  # Every step is logged exactly once across both incarnations.
  if ! diff -q <(seq 1 "$RESUME_STEPS") <("$python" -c 'import json, sys
for line in open(sys.argv[1]): print(json.loads(line)["step"])' "$run_dir/metrics.jsonl") >/dev/null; then
    fail "job $job: metrics.jsonl steps are not 1..$RESUME_STEPS"; return
  fi
  [[ -f "$run_dir/export/model.safetensors" ]] || { fail "job $job: no export after the resumed run"; return; }
  pass "$1: brain sft: SIGUSR1 -> checkpoint at step $k -> exit 75 -> requeued job $job -> resumed, steps 1..$RESUME_STEPS logged once"
}
check_resume single-node.sbatch resume
check_resume mpirun.sbatch resume-mpirun

# ---- 5. a real time-limit warning: --time=1 with the template's own `--signal=B:USR1@300` line makes
# slurmctld warn the batch shell at its next periodic limit check (within ~30 s here).
job="$(sbatch --parsable --ntasks-per-node=2 --time=1 --job-name=timelimit \
  "$src/launch/slurm/single-node.sbatch" "${TIMELIMIT_ARGS[@]}")"
out="$submit/timelimit-$job.out"
deadline=$((SECONDS + 75))
until [[ "$(slurm_job_field "$job" Restarts)" == 1 ]] || ((SECONDS >= deadline)); do sleep 0.5; done
if [[ "$(slurm_job_field "$job" Restarts)" == 1 ]] && grep -q 'received SIGUSR1: forwarding' "$out" &&
   grep -q 'status 75 after SIGUSR1' "$out" && grep -q "requeueing job $job" "$out"; then
  pass "time limit: Slurm's --signal warning -> exit 75 -> requeued job $job"
else
  fail "time limit job $job: no warning/requeue within 75 s ($(slurm_job_field "$job" JobState))"; show "$out"
fi
scancel "$job" 2>/dev/null

echo "$passes passed, $fails failed"
((fails == 0))
