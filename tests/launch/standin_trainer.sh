#!/usr/bin/env bash
# TEMPORARY stand-in for `brain sft` until the trainer lands: follows the same preemption contract so
# the Slurm requeue test can run today. Each rank counts steps; on SIGUSR1 or SIGTERM it finishes the
# current step, writes a complete checkpoint into the run directory and exits 75; started again with the
# same run directory it resumes from that checkpoint.
# usage: standin_trainer.sh SUBCOMMAND [--steps N] [--step-seconds S] --set output_dir=DIR
set -u
steps=40 step_seconds=0.25 run_dir=""
shift  # the subcommand
while (($#)); do
  case "$1" in
    --steps) steps="$2"; shift 2 ;;
    --step-seconds) step_seconds="$2"; shift 2 ;;
    --set) [[ "$2" == output_dir=* ]] && run_dir="${2#output_dir=}"; shift 2 ;;
    *) echo "standin: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$run_dir" ]] || { echo "standin: no --set output_dir=DIR" >&2; exit 2; }
rank="${OMPI_COMM_WORLD_RANK:-${SLURM_PROCID:-0}}"  # Open MPI first, as World does
size="${OMPI_COMM_WORLD_SIZE:-${SLURM_NTASKS:-1}}"
restart="${SLURM_RESTART_COUNT:-0}"
ckpt="$run_dir/checkpoint.rank$rank"    # the newest complete checkpoint: the last finished step
journal="$run_dir/steps.rank$rank"      # every step executed, one per line (what the test checks)

step=0
if [[ -f "$ckpt" ]]; then
  step="$(cat "$ckpt")"
  echo "standin rank $rank: resumed from step $step"
fi
stop=""
trap 'stop=1' USR1 TERM
while ((step < steps)); do
  sleep "$step_seconds" &   # the current step: finishes even when a signal interrupts `wait`
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
  step=$((step + 1))
  echo "$step" >>"$journal"
  if [[ -n "$stop" ]]; then
    echo "$step" >"$ckpt.tmp" && mv "$ckpt.tmp" "$ckpt"   # atomic: complete or absent
    echo "$step" >"$run_dir/done.$restart.rank$rank"
    # Like the trainer's barrier after a checkpoint: no rank exits before every rank has written, since
    # mpirun ends the other ranks as soon as one exits non-zero.
    for _ in $(seq 100); do
      (($(find "$run_dir" -maxdepth 1 -name "done.$restart.rank*" | wc -l) >= size)) && break
      sleep 0.1
    done
    echo "standin rank $rank: checkpointed at step $step, exiting 75"
    exit 75
  fi
done
echo "$step" >"$ckpt.tmp" && mv "$ckpt.tmp" "$ckpt"
echo "standin rank $rank: finished $step steps"
