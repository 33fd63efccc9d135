#!/usr/bin/env bash
# End-to-end checks of the `brain` executable: help, exit codes, config errors, version.
# usage: cli_test.sh BRAIN_BINARY SOURCE_DIR
set -u
brain="$1"
src="$2"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0
passes=0

# expect NAME EXPECTED_EXIT PATTERN -- COMMAND...: runs COMMAND, checks its exit code and that
# stdout+stderr match the extended regex PATTERN.
expect() {
  local name="$1" want_rc="$2" pattern="$3"
  shift 4
  local out rc
  out="$("$@" 2>&1)"
  rc=$?
  if [[ "$rc" != "$want_rc" ]]; then
    echo "FAIL $name: exit $rc, expected $want_rc"; echo "$out" | head -20; failures=$((failures + 1)); return
  fi
  if ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL $name: output does not match /$pattern/"; echo "$out" | head -20; failures=$((failures + 1)); return
  fi
  passes=$((passes + 1))
}

subcommands="demo sft rm dpo align ava sample score eval export tokenize create-model config version"

expect "no arguments is a usage error" 2 "usage: brain SUBCOMMAND" -- "$brain"
expect "unknown subcommand" 2 "unknown subcommand 'frobnicate'" -- "$brain" frobnicate
"$brain" --help >"$tmp/help.txt" 2>&1 || { echo "FAIL: brain --help exited non-zero"; failures=$((failures + 1)); }
for sub in $subcommands; do
  expect "--help lists $sub" 0 "^  $sub " -- cat "$tmp/help.txt"
  expect "$sub --help" 0 "usage: .*$sub" -- "$brain" "$sub" --help
done
expect "unknown option names it" 2 "unknown option --bogus" -- "$brain" config --bogus 1
expect "missing required option" 2 "missing required option --config" -- "$brain" config

# Training subcommands check that the config selects their algorithm, and name missing inputs.
expect "sft refuses a dpo config" 1 "selects algorithm 'dpo', but .brain sft. trains 'sft'" -- \
  "$brain" sft --config "$src/configs/dpo-gpt2.textproto"
echo '{"prompt": "Hello"}' >"$tmp/prompts.jsonl"
expect "align names a missing model directory" 1 "models.policy.path: .*$tmp/nowhere" -- \
  "$brain" align --config "$src/configs/demo.textproto" --set "output_dir=$tmp/run" \
  --set "models.policy.path=$tmp/nowhere" --set "models.tokenizer=$src/../shared/data/gpt2" \
  --set "data.train_path=$tmp/prompts.jsonl"
expect "stop-after-steps must be positive" 2 "--stop-after-steps: expected a positive integer" -- \
  "$brain" sft --config "$src/configs/sft-gpt2.textproto" --stop-after-steps 0

expect "config prints the resolved config" 0 "num_samples: 8" -- "$brain" config --config "$src/configs/demo.textproto"
expect "config prints defaults" 0 "collective_timeout_s: 600" -- "$brain" config --config "$src/configs/demo.textproto"
expect "config applies --set" 0 "tau: 0.25" -- "$brain" config --config "$src/configs/demo.textproto" --set brain.tau=0.25

printf 'models { policy { path: "m" } reward { path: "r" } }\ndata { train_path: "p" }\nbrain {\n  num_sampels: 4\n}\n' >"$tmp/typo.textproto"
expect "typo names file:line and field" 1 "typo.textproto:4:[0-9]+: .*num_sampels" -- "$brain" config --config "$tmp/typo.textproto"
printf 'models { policy { path: "m" } reward { path: "r" } }\ndata { train_path: "p" }\nbrain {\n  tau: -1\n}\n' >"$tmp/range.textproto"
expect "out of range names field and reason" 1 "range.textproto:4:3: brain.tau: must be > 0 \(got -1\)" -- "$brain" config --config "$tmp/range.textproto"
expect "missing file" 1 "does-not-exist.textproto: cannot open" -- "$brain" config --config "$tmp/does-not-exist.textproto"
expect "bad override" 1 "--set brain.taus=1: .*no field 'taus'" -- "$brain" config --config "$src/configs/demo.textproto" --set brain.taus=1

expect "version" 0 "LibTorch +2\." -- "$brain" version
expect "version shows MPI" 0 "MPI +Open MPI" -- "$brain" version
expect "--version alias" 0 "^brain [0-9]+\.[0-9]+" -- "$brain" --version

echo "$passes passed, $failures failed"
[[ $failures == 0 ]]
