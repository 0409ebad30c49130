#!/usr/bin/env bash
# The ProsQA COCONUT comparison at CPU scale, in order (docs/sweeps/prosqa-coconut/report.md):
# data, COCONUT teacher, the two SFT baselines, the COCONUT-thought students, the CoT-teacher
# students (each built from every other teacher block, and with all blocks), then the table.
# One thread each, one job at a time. Every job is killed at
# $DEADLINE (a `date -d` time, default: no deadline) so a cut-off leaves the earlier ones.
#   DATA=/work/coconut-data RUNS=/work/coconut-runs bash bench/prosqa_coconut.sh
set -u
DATA=${DATA:-/work/coconut-data}
RUNS=${RUNS:-/work/coconut-runs}
PY=${PY:-python}
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
step() {  # step NAME CMD...: run CMD, stopped at the deadline; log start, end, exit status
  local name=$1 left=86400; shift
  if [ -n "${DEADLINE:-}" ]; then left=$(( $(date -d "$DEADLINE" +%s) - $(date +%s) )); fi
  if [ "$left" -le 60 ]; then echo "$(date +%T) SKIP $name (deadline)"; return 1; fi
  echo "$(date +%T) START $name"
  timeout "$left" "$@"; local rc=$?
  echo "$(date +%T) END $name rc=$rc"; return $rc
}
[ -f "$DATA/prosqa_test.json" ] || step data $PY bench/prosqa_data.py --out-dir "$DATA" --train 800 --test 500 \
  --nodes 10-12 --path 3 --extra 0:3,1:1
step coconut $PY -m rdistill train configs/coconut/prosqa-small-smollm2.yaml --data-dir "$DATA" --output-dir "$RUNS/coconut"
step sft $PY -m rdistill sweep configs/sweeps/prosqa-coconut.yaml --data-dir "$DATA" --output-dir "$RUNS/sft"
both_depths() {  # both_depths NAME OUT CMD...: the student of every other teacher block (NAME, OUT),
  # then the same with all blocks (NAME-full, OUT-full: the recipe's own student + LoRA)
  local name=$1 out=$2; shift 2
  step "$name" "$@" --output-dir "$out"
  step "$name-full" "$@" --set latent.student_from_teacher=null --output-dir "$out-full"
}
both_depths coconut-distill "$RUNS/coconut-distill" $PY -m rdistill train configs/coconut/prosqa-small-distill.yaml \
  --data-dir "$DATA" --set latent.teacher="$RUNS/coconut" --set latent.cache_dir="$DATA/latent_cache/coconut-prosqa-small"
[ -d "$DATA/models/prosqa-cot-teacher" ] || step export $PY -m rdistill export "$RUNS/sft/runs/cot-sft" \
  --output "$DATA/models/prosqa-cot-teacher"
both_depths cot-distill "$RUNS/cot-distill" $PY -m rdistill sweep configs/sweeps/prosqa-cot-distill.yaml \
  --data-dir "$DATA" --set latent.teacher="$DATA/models/prosqa-cot-teacher" \
  --set latent.cache_dir="$DATA/latent_cache/prosqa-cot-teacher"
step report $PY bench/prosqa_coconut_report.py --runs "$RUNS" --out docs/sweeps/prosqa-coconut --test-file "$DATA/prosqa_test.json"
