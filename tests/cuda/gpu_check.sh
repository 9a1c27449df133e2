#!/usr/bin/env bash
# Every check that needs an NVIDIA GPU, in one run (CI has no GPU; see tests/cuda/README.md):
#   1. test_cuda: each CUDA kernel against the CPU reference, the backend against the CPU engine;
#   2. trit bench on a generated model of the 2B-4T shape: prompt, decode, roofline, the GEMV alone, and
#      prompts with and without flash attention; decode with the persistent kernel (speed, same greedy
#      text); sampled decoding with top-k on the GPU and without;
#   3. greedy text and a 4-slot server on the GPU against the CPU, on the committed default model;
#      embeddings (trit embed and /v1/embeddings) on the GPU against the CPU, and their speed;
#   4. hf_oracle.py: transformers' BitNetForCausalLM and a float64 reference against trit on CPU and CUDA.
# Each step has its own time limit, so one that hangs does not cost the others.
# Usage: tests/cuda/gpu_check.sh BUILD_DIR [OUT_DIR]   (from the repository root; a CUDA build of trit)
set -uo pipefail
build=${1:?usage: gpu_check.sh BUILD_DIR [OUT_DIR]}
out=${2:-/tmp/trit-gpu-check}
trit=$build/trit
mkdir -p "$out"
status=0
step() { echo; echo "== $*"; }

step "device"
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
"$trit" --version

step "test_cuda"
timeout 180 "$build/tests/test_cuda" --gtest_brief=1 >"$out/test_cuda.log" 2>&1 || status=1
tail -n 30 "$out/test_cuda.log"

step "bench: 2B-4T shape"
timeout 120 "$trit" gen-dummy --shape 2B-4T --type i2_s -o /tmp/trit-2b.gguf -q || status=1
timeout 150 "$trit" bench -m /tmp/trit-2b.gguf -d cuda -p 128,512,2048 -n 128 -r 3 --roofline --gemv 2>&1 | tee "$out/bench.md" || status=1
step "bench: prompts' attention by the row kernel only (TRIT_CUDA_FLASH_MIN=0)"
TRIT_CUDA_FLASH_MIN=0 timeout 90 "$trit" bench -m /tmp/trit-2b.gguf -d cuda -p 128,512,2048 -n 0 -r 3 2>&1 |
  tee "$out/bench_rows.md" || status=1

step "persistent decode kernel (TRIT_CUDA_PERSISTENT=1): decode speed, and greedy text vs the per-kernel path"
TRIT_CUDA_PERSISTENT=1 timeout 90 "$trit" bench -m /tmp/trit-2b.gguf -d cuda -p 0 -n 128 -r 3 --roofline 2>&1 |
  tee "$out/bench_persistent.md" || status=1
for p in 0 1; do
  TRIT_CUDA_PERSISTENT=$p timeout 60 "$trit" run -m /tmp/trit-2b.gguf -d cuda -p "The" -n 256 --ignore-eos --temp 0 \
    >"$out/persistent_$p.txt" 2>"$out/persistent_$p.err" || status=1
  echo "TRIT_CUDA_PERSISTENT=$p: $(grep -o 'generation: .*' "$out/persistent_$p.err")"
done
if cmp -s "$out/persistent_0.txt" "$out/persistent_1.txt"; then echo "greedy: same text with and without"
else echo "greedy: TEXT DIFFERS with the persistent kernel"; status=1; fi

step "sampled decoding: top-k 40 on the GPU, top-k 40 on the host (TRIT_CUDA_TOP_K=0), whole vocabulary (top-k 0)"
for mode in gpu:40:1 host:40:0 all:0:1; do
  IFS=: read -r name k on <<<"$mode"
  TRIT_CUDA_TOP_K=$on timeout 60 "$trit" run -m /tmp/trit-2b.gguf -d cuda -p "The" -n 256 --ignore-eos --temp 0.8 \
    --top-k "$k" --seed 7 >"$out/sample_$name.txt" 2>"$out/sample_$name.err" || status=1
  echo "$name: $(grep -o 'generation: .*' "$out/sample_$name.err")"
done
if cmp -s "$out/sample_gpu.txt" "$out/sample_host.txt"; then echo "top-k 40: same text on the GPU and the host"
else echo "top-k 40: TEXT DIFFERS between the GPU and the host"; status=1; fi

step "greedy text: cuda vs cpu (default model)"
model=models/default/shakespeare-i2_s.gguf
for d in cpu cuda; do
  "$trit" run -m "$model" -d $d -p "ROMEO:" -n 64 --temp 0 -q >"$out/run_$d.txt" 2>"$out/run_$d.err" || status=1
done
if cmp -s "$out/run_cpu.txt" "$out/run_cuda.txt"; then echo "same text"; else echo "TEXT DIFFERS"; status=1; fi
head -c 300 "$out/run_cuda.txt"; echo

step "server on the GPU: 4 concurrent requests vs the CPU's lone answers"
timeout 45 "$trit" serve -m "$model" -d cuda -np 4 --port 18181 -q >"$out/serve.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf localhost:18181/health >/dev/null && break; sleep 0.2; done
clients=()
for i in 1 2 3 4; do
  (curl -s localhost:18181/completion -d "{\"prompt\": \"KING $i:\", \"n_predict\": 40, \"temperature\": 0}" |
    python3 -c "import json,sys; print('KING $i:' + json.load(sys.stdin)['content'])" >"$out/serve_$i.txt") &
  clients+=($!)
done
wait "${clients[@]}"
kill $server
wait $server 2>/dev/null
for i in 1 2 3 4; do
  "$trit" run -m "$model" -p "KING $i:" -n 40 --temp 0 -q >"$out/alone_$i.txt" 2>/dev/null
  if cmp -s "$out/serve_$i.txt" "$out/alone_$i.txt"; then echo "request $i: same as alone on cpu"
  else echo "request $i DIFFERS: $(head -c 80 "$out/serve_$i.txt") | $(head -c 80 "$out/alone_$i.txt")"; status=1; fi
done

step "embeddings on the GPU: trit embed -d cuda vs -d cpu (qwen3, gemma3 tiny shapes), /v1/embeddings"
printf 'hello world\nThe quick brown fox jumps over the lazy dog.\nx\n%s\n' "$(printf 'word %.0s' $(seq 150))" \
  >"$out/embed_inputs.txt"
for shape in embed-qwen3-tiny embed-gemma3-tiny; do
  "$trit" gen-dummy --shape $shape -o /tmp/trit-$shape.gguf -q || status=1
  for d in cpu cuda; do
    timeout 60 "$trit" embed -m /tmp/trit-$shape.gguf -d $d -f "$out/embed_inputs.txt" -q >"$out/embed_${shape}_$d.jsonl" ||
      status=1
  done
  python3 - "$out/embed_${shape}_cpu.jsonl" "$out/embed_${shape}_cuda.jsonl" $shape <<'PY' || status=1
import json, math, sys
cpu = [json.loads(l)["embedding"] for l in open(sys.argv[1])]
gpu = [json.loads(l)["embedding"] for l in open(sys.argv[2])]
assert len(cpu) == len(gpu) == 4, (len(cpu), len(gpu))
worst = min(sum(a * b for a, b in zip(c, g)) for c, g in zip(cpu, gpu))
print(f"{sys.argv[3]}: lowest cosine cpu vs cuda {worst:.7f}")
sys.exit(0 if worst > 0.9999 else 1)
PY
done
timeout 45 "$trit" serve -m /tmp/trit-embed-qwen3-tiny.gguf -d cuda --port 18182 -q >"$out/serve_embed.log" 2>&1 &
server=$!
for _ in $(seq 50); do curl -sf localhost:18182/health >/dev/null && break; sleep 0.2; done
curl -s localhost:18182/v1/embeddings -d '{"input": ["hello world", "x"]}' >"$out/serve_embed.json"
kill $server
wait $server 2>/dev/null
python3 - "$out/serve_embed.json" "$out/embed_embed-qwen3-tiny_cpu.jsonl" <<'PY' || status=1
import json, sys
served = [d["embedding"] for d in json.load(open(sys.argv[1]))["data"]]
cpu = [json.loads(l)["embedding"] for l in open(sys.argv[2])]
cos = [sum(a * b for a, b in zip(s, c)) for s, c in zip(served, (cpu[0], cpu[2]))]
print(f"/v1/embeddings on the GPU vs trit embed on the CPU: cosines {cos[0]:.7f} {cos[1]:.7f}")
sys.exit(0 if min(cos) > 0.9999 else 1)
PY
"$trit" gen-dummy --shape embed-0.6B -o /tmp/trit-embed-0.6B.gguf -q || status=1
for _ in $(seq 64); do cat "$out/embed_inputs.txt"; done >"$out/embed_many.txt"
for d in cuda cpu; do
  echo "embed-0.6B shape, 256 inputs, -d $d:"
  timeout 120 "$trit" embed -m /tmp/trit-embed-0.6B.gguf -d $d -f "$out/embed_many.txt" --batch 64 2>&1 >/dev/null |
    grep "tok/s" || status=1
done

step "transformers oracle"
timeout 150 python3 tests/cuda/hf_oracle.py --trit "$trit" --work /tmp/trit-oracle >"$out/oracle.log" 2>&1 || status=1
grep -E "vs|PASS|FAIL|SKIP|NOTE|Error|error" "$out/oracle.log" | tail -n 40

echo
if [ $status -eq 0 ]; then echo "GPU CHECK: PASS"; else echo "GPU CHECK: FAIL"; fi
exit $status
