#!/usr/bin/env bash
# The course on one accelerator, in one go (under 8 minutes on one recent GPU), with one JSON of figures:
#   1. benchmarks/bench_train.py: the plain PyTorch loop beside gancourse.train and its speed options;
#   2. the dcgan preset at the full budget for a fixed number of steps, then its FCD against the floor;
#   3. the ring benchmark (best-ring, one seed) at the full budget;
#   4. the dcgan preset under torchrun with one process (the DistributedDataParallel path);
#   5. chapters 5 and 7 executed at the full budget.
# Without CUDA it runs its CPU fallback: the same five parts, each cut to a size this machine finishes in
# minutes (smoke budget, few steps), so that the script itself is known to work.
#
#   benchmarks/device_check.sh                    # writes device_check.json
#   OUT=/tmp/check benchmarks/device_check.sh     # and keeps the runs' folders there
set -u
cd "$(dirname "$0")/.."
PY=${PY:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/device-check.XXXXXX")}
JSON=${JSON:-device_check.json}
mkdir -p "$OUT"

if $PY -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  MODE=cuda; DEVICE=cuda; BUDGET=full
  BENCH="--device cuda --batch 128 --steps 50 --rounds 5"
  DCGAN_STEPS=3000; SCORE="--n 5000 --classifier-steps 2000"; RING="--budget full"; DDP_STEPS=300
else
  MODE=cpu-fallback; DEVICE=cpu; BUDGET=smoke
  BENCH="--device cpu --steps 5 --rounds 2 --images 2000"
  DCGAN_STEPS=20; SCORE="--n 500 --classifier-steps 120"; RING="--budget smoke"; DDP_STEPS=10
fi
echo "device check: $MODE, figures into $JSON, runs in $OUT"

status() { [ "$1" = 0 ] && echo ok || echo "failed (exit $1)"; }
timed() {  # timed NAME COMMAND...: run, log, and record the seconds and the outcome
  local name=$1; shift
  local start=$(date +%s%N)
  "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  local ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf '{"seconds": %d.%03d, "outcome": "%s"}\n' $((ms / 1000)) $((ms % 1000)) "$(status $rc)" > "$OUT/$name.time.json"
  echo "  $name: $(status $rc) in $((ms / 1000)) s"
  [ $rc = 0 ] || tail -n 5 "$OUT/$name.log"
}

timed bench_train $PY benchmarks/bench_train.py $BENCH --json "$OUT/bench_train.json"
timed dcgan_full $PY -m gancourse train --preset dcgan --budget full --steps $DCGAN_STEPS --device $DEVICE \
  --out "$OUT/dcgan" --no-progress
timed dcgan_score $PY benchmarks/score_run.py "$OUT/dcgan/checkpoint.pt" $SCORE --device $DEVICE --json "$OUT/dcgan_score.json"
timed ring_benchmark env GANCOURSE_DEVICE=$DEVICE $PY benchmarks/bench_modes.py --preset best-ring --seeds 1 $RING \
  --workers 1 --json "$OUT/ring_benchmark.json"
timed torchrun_dcgan $PY -m torch.distributed.run --standalone --nproc_per_node=1 -m gancourse train --preset dcgan \
  --budget full --steps $DDP_STEPS --device $DEVICE --out "$OUT/dcgan_torchrun" --no-progress
for chapter in 05_dcgan 07_wgan; do
  timed "chapter_$chapter" env GANCOURSE_BUDGET=$BUDGET GANCOURSE_DEVICE=$DEVICE $PY -c "
import nbformat, sys
from nbclient import NotebookClient
nb = nbformat.read('chapters/$chapter.ipynb', as_version=4)
NotebookClient(nb, timeout=1200, kernel_name='python3', resources={'metadata': {'path': 'chapters'}}).execute()
nbformat.write(nb, '$OUT/$chapter.ipynb')"
done

MODE=$MODE OUT=$OUT JSON=$JSON $PY - <<'EOF'
import glob, json, os, platform
import torch
out = os.environ["OUT"]
figures = {"mode": os.environ["MODE"], "torch": torch.__version__, "python": platform.python_version(),
           "device": torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or "cpu"}
for path in sorted(glob.glob(f"{out}/*.time.json")):
    name = os.path.basename(path)[: -len(".time.json")]
    figures[name] = json.load(open(path))
    result = f"{out}/{name}.json"
    if os.path.exists(result):
        figures[name]["result"] = json.load(open(result))
for name, folder in (("dcgan_full", "dcgan"), ("torchrun_dcgan", "dcgan_torchrun")):
    history = f"{out}/{folder}/history.json"
    if os.path.exists(history) and name in figures:
        h = json.load(open(history))
        figures[name]["steps"] = len(h["step"])
        figures[name]["last_loss_D"], figures[name]["last_loss_G"] = h["loss_D"][-1], h["loss_G"][-1]
with open(os.environ["JSON"], "w") as f:
    json.dump(figures, f, indent=2)
print(f"figures in {os.environ['JSON']}")
EOF
