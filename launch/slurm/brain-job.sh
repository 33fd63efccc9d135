#!/usr/bin/env bash
# The body of every brain sbatch template: runs one `brain` job step inside a Slurm allocation with a
# per-job run directory, forwards the preemption/time-limit signal to the step, and requeues the job
# when the step checkpointed (exit 75). The templates in this folder `exec` it, so it stays the batch
# shell that `#SBATCH --signal=B:USR1@N` signals.
#
# usage (from a template):  brain-job.sh [SUBCOMMAND [ARGS...]]     default: align --config $BRAIN_CONFIG
#
# Environment (all optional; sbatch exports the submitting shell's environment by default):
#   BRAIN              the brain executable                  default $BRAIN_HOME/build/bin/brain
#   BRAIN_HOME         the brain checkout                    default $SLURM_SUBMIT_DIR
#   BRAIN_CONFIG       config for the default `align` run    default $BRAIN_HOME/configs/brain-gpt2.textproto
#   BRAIN_LAUNCHER     srun | mpirun                         default srun
#   BRAIN_SRUN_MPI     srun's --mpi plugin                   default pmix
#   BRAIN_RUNS         parent of run directories             default $SLURM_SUBMIT_DIR/runs
#   BRAIN_MAX_REQUEUES stop requeueing after this many restarts   default 20
#   BRAIN_RUN_DIR_SUBCOMMANDS  subcommands that get `--set output_dir=$BRAIN_RUN_DIR`
#                                                            default "sft rm dpo align ava demo"
# Exported to the step: BRAIN_RUN_DIR (runs/<job name>-<job id>, the same across requeues of one job),
# BRAIN_THREADS_PER_RANK and OMP_NUM_THREADS (from --cpus-per-task when given).
set -uo pipefail

log() { printf '[brain-job %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { log "error: $*"; exit 1; }

[[ -n "${SLURM_JOB_ID:-}" ]] || die "not inside a Slurm job (submit a template with sbatch)"
home="${BRAIN_HOME:-${SLURM_SUBMIT_DIR:-$PWD}}"
brain="${BRAIN:-$home/build/bin/brain}"
launcher="${BRAIN_LAUNCHER:-srun}"
restarts="${SLURM_RESTART_COUNT:-0}"
max_requeues="${BRAIN_MAX_REQUEUES:-20}"
[[ -x "$brain" ]] || die "BRAIN=$brain is not an executable (set BRAIN or BRAIN_HOME)"

if (($# == 0)); then
  set -- align --config "${BRAIN_CONFIG:-$home/configs/brain-gpt2.textproto}"
fi

# One run directory per job id: a requeued job keeps its id, so it finds its own checkpoints.
export BRAIN_RUN_DIR="${BRAIN_RUNS:-${SLURM_SUBMIT_DIR:-$PWD}/runs}/${SLURM_JOB_NAME:-brain}-${SLURM_JOB_ID}"
mkdir -p "$BRAIN_RUN_DIR" || die "cannot create run directory $BRAIN_RUN_DIR"
args=("$@")
for sub in ${BRAIN_RUN_DIR_SUBCOMMANDS:-sft rm dpo align ava demo}; do
  if [[ "$1" == "$sub" ]]; then args+=(--set "output_dir=$BRAIN_RUN_DIR"); break; fi
done

if [[ -n "${SLURM_CPUS_PER_TASK:-}" ]]; then
  export BRAIN_THREADS_PER_RANK="$SLURM_CPUS_PER_TASK" OMP_NUM_THREADS="$SLURM_CPUS_PER_TASK"
fi

case "$launcher" in
  srun)
    # srun places one task per requested slot; with --gpus-per-task Slurm gives each task its own
    # CUDA_VISIBLE_DEVICES, otherwise World picks GPU local_rank % visible GPUs.
    step=(srun --mpi="${BRAIN_SRUN_MPI:-pmix}" --kill-on-bad-exit=0 "$brain" "${args[@]}")
    ;;
  mpirun)
    # Open MPI reads the allocation from Slurm (its ras/plm slurm components) and starts its daemons
    # with srun; ranks see OMPI_COMM_WORLD_* and World prefers those over SLURM_*.
    step=(mpirun -np "${SLURM_NTASKS:-1}" --bind-to none)
    [[ $(id -u) == 0 ]] && step+=(--allow-run-as-root)
    step+=(-x BRAIN_RUN_DIR)
    [[ -n "${BRAIN_THREADS_PER_RANK:-}" ]] && step+=(-x BRAIN_THREADS_PER_RANK -x OMP_NUM_THREADS)
    step+=("$brain" "${args[@]}")
    ;;
  *) die "BRAIN_LAUNCHER must be srun or mpirun (got '$launcher')" ;;
esac

log "job $SLURM_JOB_ID (${SLURM_JOB_NAME:-}) restart $restarts on ${SLURM_JOB_NODELIST:-?}: ${SLURM_NTASKS:-1} tasks"
log "run directory $BRAIN_RUN_DIR"
log "running: ${step[*]}"

# Forward the warning signal to the step. `wait` returns early (status > 128) when a trapped signal
# arrives, so keep waiting until the step has really exited, then read its saved exit status.
signalled=""
forward() {
  signalled="$1"
  log "received SIG$1: forwarding to the job step (checkpoint and exit 75)"
  kill -s "$1" "$step_pid" 2>/dev/null || true
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
"${step[@]}" <&0 &   # explicit: a background command's stdin would otherwise be /dev/null
step_pid=$!
while kill -0 "$step_pid" 2>/dev/null; do wait "$step_pid"; done
wait "$step_pid"
status=$?
trap - USR1 TERM
log "step exited with status $status${signalled:+ after SIG$signalled}"

requeue=""
if ((status == 75)); then
  requeue="the step checkpointed (exit 75)"
elif [[ -n "$signalled" ]] && ((status > 128)); then
  requeue="the step was killed after SIG$signalled; resuming from its newest complete checkpoint"
fi
if [[ -n "$requeue" ]]; then
  if ((restarts >= max_requeues)); then
    log "not requeueing: restart $restarts reached BRAIN_MAX_REQUEUES=$max_requeues"
    exit "$status"
  fi
  log "requeueing job $SLURM_JOB_ID: $requeue"
  # Slurm ends this script (state REQUEUED) and runs it again later under the same job id.
  scontrol requeue "$SLURM_JOB_ID" || die "scontrol requeue $SLURM_JOB_ID failed"
  sleep 60  # the controller kills us here; never fall through to a misleading exit status
  exit 75
fi
exit "$status"
