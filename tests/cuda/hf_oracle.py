#!/usr/bin/env python3
"""Independent logits oracle for trit's BitNet b1.58 2B-4T path (HF folder -> i2_s GGUF -> CPU / CUDA).

What it checks: a small random model with the 2B-4T shape (BitNetForCausalLM, GQA, ReLU^2, sub-norms,
tied embeddings, bf16 masters with quantization_config {"quant_method": "bitnet", "linear_class":
"autobitlinear", "quantization_mode": "online"} exactly as microsoft/bitnet-b1.58-2B-4T-bf16) is
  1. written as a Hugging Face folder (config.json, model.safetensors in bf16, a byte-level BPE tokenizer),
  2. run by transformers itself (AutoModelForCausalLM + the BitNet quantizer's AutoBitLinear), in float32
     and bfloat16, and by a float64 NumPy forward pass written here from the HF model definition,
  3. converted with `trit convert --type i2_s` and run with `trit eval` on each --device, as one prompt
     batch and fed one token at a time (--decode), always with an F32 KV cache,
and the logits of every position are compared (relative L2, max |diff|, argmax agreement).

Run (from the repository root, on a machine with torch + CUDA + transformers + safetensors + numpy):
    python3 tests/cuda/hf_oracle.py --trit build/cuda/trit

--cpu-only needs NumPy alone (CTest runs it as `hf_reference_cpu`, so CI does on every build): the same
weights are rounded to bf16 by hand (round-to-nearest-even on the float32 bits, as torch does) and written
as model.safetensors by hand; transformers is left out, and trit on the CPU (as one batch and with --decode)
is compared with the float64 reference, which uses exactly those bf16 values, and decode with batch:
    python3 tests/cuda/hf_oracle.py --cpu-only --trit build/release/trit
Exit codes: 0 PASS, 1 FAIL, 2 usage error, 77 SKIP (numpy missing; without --cpu-only also torch/transformers/
safetensors missing, or no CUDA for the transformers side and no --allow-cpu-torch), so a harness can tell a
skip from a pass. A temporary working folder is removed on PASS and kept on FAIL.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

try:
    import numpy as np
except ImportError:  # main() reports a skip
    np = None

# transformers decorates WeightQuant/ActQuant with @torch.compile; compiling needs a working Triton/C
# compiler and changes nothing numerically, so run them eagerly unless the caller asks otherwise.
os.environ.setdefault("TORCHDYNAMO_DISABLE", "1")

EXIT_SKIP = 77
N_LAYER, N_EMBD, N_FF, N_HEAD, N_HEAD_KV, N_VOCAB = 4, 256, 640, 8, 2, 512
HEAD_DIM = N_EMBD // N_HEAD  # 32; not written to config.json (the real one has no head_dim either)
EPS, THETA = 1e-5, 500000.0
BOS, EOS = N_VOCAB - 2, N_VOCAB - 1
QUANT = {"quant_method": "bitnet", "linear_class": "autobitlinear", "quantization_mode": "online"}
# Std of each projection's masters (ternarisation keeps only their scale). Q/K well above an init's 0.02
# so that attention is peaked (RoPE and the causal mask matter); O/down so that the blocks outweigh the
# std-1 embeddings: with tied embeddings the logits would otherwise be ~ E . norm(embedding), every argmax
# the input token, and errors inside the blocks diluted.
LINEARS = {"self_attn.q_proj": (N_HEAD * HEAD_DIM, N_EMBD, 0.2),
           "self_attn.k_proj": (N_HEAD_KV * HEAD_DIM, N_EMBD, 0.2),
           "self_attn.v_proj": (N_HEAD_KV * HEAD_DIM, N_EMBD, 0.05),
           "self_attn.o_proj": (N_EMBD, N_HEAD * HEAD_DIM, 0.5),
           "mlp.gate_proj": (N_FF, N_EMBD, 0.05), "mlp.up_proj": (N_FF, N_EMBD, 0.05),
           "mlp.down_proj": (N_EMBD, N_FF, 0.3)}
NORMS = {"input_layernorm": N_EMBD, "post_attention_layernorm": N_EMBD, "self_attn.attn_sub_norm": N_EMBD,
         "mlp.ffn_sub_norm": N_FF}
# The LLaMA-3 pre-tokenizer regex, spelled exactly as tokenizer.json has it (trit matches it verbatim).
LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
                r"\s*[\r\n]+|\s+(?!\S)|\s+")


def draw_masters(rng):
    """The float64 masters of every tensor, drawn in a fixed order (the same weights with or without torch)."""
    arrays = {"model.embed_tokens.weight": rng.standard_normal((N_VOCAB, N_EMBD)),
              "model.norm.weight": 1.0 + 0.1 * rng.standard_normal(N_EMBD)}
    for i in range(N_LAYER):
        for name, n in NORMS.items():
            arrays[f"model.layers.{i}.{name}.weight"] = 1.0 + 0.1 * rng.standard_normal(n)
        for name, (rows, cols, std) in LINEARS.items():
            arrays[f"model.layers.{i}.{name}.weight"] = std * rng.standard_normal((rows, cols))
    return arrays


def bf16_bits(a):
    """float -> float32 -> bfloat16 bit patterns as torch rounds: to nearest, ties to even, on the float32 bits
    (add 0x7FFF plus the lowest kept bit, keep the upper 16 bits). The masters are finite, so no NaN case."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)
    return ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype(np.uint16)


def bf16_to_f64(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32).astype(np.float64)


def make_weights(rng, use_torch):
    """float32 masters -> bf16 (torch tensors, or uint16 bit patterns without torch: what is saved), plus their
    exact float64 values."""
    arrays = draw_masters(rng)
    if not use_torch:
        bits = {k: bf16_bits(v) for k, v in arrays.items()}
        return bits, {k: bf16_to_f64(b) for k, b in bits.items()}
    import torch
    bf16 = {k: torch.from_numpy(v.astype(np.float32)).to(torch.bfloat16).contiguous() for k, v in arrays.items()}
    return bf16, {k: t.to(torch.float64).numpy() for k, t in bf16.items()}


def save_bf16_safetensors(path, tensors):
    """Writes {name: uint16 bf16 bits} as safetensors: an 8-byte little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets: [begin, end] within the data}} padded with spaces to a multiple of 8,
    then the tensors' raw little-endian bytes one after another."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, bits in tensors.items():
        header[name] = {"dtype": "BF16", "shape": list(bits.shape), "data_offsets": [offset, offset + bits.nbytes]}
        offset += bits.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for bits in tensors.values():
            f.write(bits.astype("<u2").tobytes())


def write_hf_folder(d, tensors, use_torch):
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "model.safetensors")  # no lm_head: tied
    if use_torch:
        from safetensors.torch import save_file
        save_file(tensors, path, metadata={"format": "pt"})
    else:
        save_bf16_safetensors(path, tensors)
    config = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "vocab_size": N_VOCAB,
              "hidden_size": N_EMBD, "intermediate_size": N_FF, "num_hidden_layers": N_LAYER,
              "num_attention_heads": N_HEAD, "num_key_value_heads": N_HEAD_KV, "hidden_act": "relu2",
              "rms_norm_eps": EPS, "rope_theta": THETA, "max_position_embeddings": 512, "tie_word_embeddings": True,
              "attention_bias": False, "attention_dropout": 0.0, "initializer_range": 0.02, "use_cache": True,
              "bos_token_id": BOS, "eos_token_id": EOS, "torch_dtype": "bfloat16", "quantization_config": QUANT}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    # Byte-level BPE: GPT-2's 256 byte characters, a few merges, filler tokens up to the specials at the end.
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, extra = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + extra)
            extra += 1
    vocab = {chr(c): i for i, c in enumerate(cs)}  # id = position in GPT-2's table, as in real vocabularies
    merges = ["Ġ t", "h e", "Ġt he", "i n", "e r", "a n", "o n", "Ġ a"]
    for m in merges:
        vocab[m.replace(" ", "")] = len(vocab)
    while len(vocab) < BOS:
        vocab[f"<x{len(vocab)}>"] = len(vocab)
    specials = [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
                 "special": True} for i, t in ((BOS, "<|begin_of_text|>"), (EOS, "<|end_of_text|>"))]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": specials, "normalizer": None,
                 "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                     {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
                     byte_level]},
                 "post_processor": None, "decoder": dict(byte_level, use_regex=True),
                 "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                           "ignore_merges": True, "vocab": vocab, "merges": merges}}
    with open(os.path.join(d, "tokenizer.json"), "w") as f:
        json.dump(tokenizer, f, ensure_ascii=False)
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump({"bos_token": "<|begin_of_text|>", "eos_token": "<|end_of_text|>", "add_bos_token": True,
                   "model_max_length": 512, "tokenizer_class": "PreTrainedTokenizerFast"}, f, indent=2)


# ---- float64 reference, from transformers' models/bitnet/modeling_bitnet.py + integrations/bitnet.py ----
def ternary(w):
    """AutoBitLinear online WeightQuant: s = mean|W| (>= 1e-5) per tensor, W_t = clamp(round(W / s), -1, 1)."""
    s = max(np.abs(w).mean(), 1e-5)
    return np.clip(np.round(w / s), -1, 1), s


def bitlinear(x, wt):
    """ActQuant: per token, q = clamp(round(x * 127 / max|x|), -128, 127); y = (q . W_t) * s_w / (127 / max|x|)."""
    w, s_w = wt
    x_scale = 127.0 / np.maximum(np.abs(x).max(-1, keepdims=True), 1e-5)
    q = np.clip(np.round(x * x_scale), -128, 127)
    return (q @ w.T) * s_w / x_scale


def rms_norm(x, w):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + EPS) * w


def rope(x, pos):
    """NEOX pairing (HF rotate_half): dimension i rotates with i + d/2, angle pos * theta^(-2i/d)."""
    inv_freq = 1.0 / THETA ** (np.arange(0, HEAD_DIM, 2, dtype=np.float64) / HEAD_DIM)
    ang = np.concatenate([pos[:, None] * inv_freq[None]] * 2, -1)[:, None, :]  # [T, 1, d]
    half = HEAD_DIM // 2
    rot = np.concatenate([-x[..., half:], x[..., :half]], -1)
    return x * np.cos(ang) + rot * np.sin(ang)


def reference_logits(w, ids):
    t = len(ids)
    pos = np.arange(t, dtype=np.float64)
    x = w["model.embed_tokens.weight"][ids]
    mask = np.triu(np.full((t, t), -np.inf), 1)
    for i in range(N_LAYER):
        p = f"model.layers.{i}."
        lin = {n: ternary(w[p + n + ".weight"]) for n in LINEARS}
        h = rms_norm(x, w[p + "input_layernorm.weight"])
        q = rope(bitlinear(h, lin["self_attn.q_proj"]).reshape(t, N_HEAD, HEAD_DIM), pos)
        k = rope(bitlinear(h, lin["self_attn.k_proj"]).reshape(t, N_HEAD_KV, HEAD_DIM), pos)
        v = bitlinear(h, lin["self_attn.v_proj"]).reshape(t, N_HEAD_KV, HEAD_DIM)
        k, v = np.repeat(k, N_HEAD // N_HEAD_KV, 1), np.repeat(v, N_HEAD // N_HEAD_KV, 1)  # = repeat_kv (GQA)
        s = np.einsum("thd,shd->hts", q, k) / np.sqrt(HEAD_DIM) + mask
        s = np.exp(s - s.max(-1, keepdims=True))
        a = np.einsum("hts,shd->thd", s / s.sum(-1, keepdims=True), v).reshape(t, N_HEAD * HEAD_DIM)
        x = x + bitlinear(rms_norm(a, w[p + "self_attn.attn_sub_norm.weight"]), lin["self_attn.o_proj"])
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"])
        g = np.maximum(bitlinear(h, lin["mlp.gate_proj"]), 0.0) ** 2  # ACT2FN["relu2"]
        f = rms_norm(g * bitlinear(h, lin["mlp.up_proj"]), w[p + "mlp.ffn_sub_norm.weight"])
        x = x + bitlinear(f, lin["mlp.down_proj"])
    return rms_norm(x, w["model.norm.weight"]) @ w["model.embed_tokens.weight"].T  # tied lm_head, float


# ---- transformers ----
def check_bitnet_model(model):
    """The quantizer must have made every projection an online AutoBitLinear, left lm_head a tied Linear."""
    import torch
    quantized = [n for n, m in model.named_modules() if type(m).__name__ == "AutoBitLinear" and m.online_quant]
    if len(quantized) != len(LINEARS) * N_LAYER or "lm_head" in quantized:
        raise RuntimeError(f"expected {len(LINEARS) * N_LAYER} online AutoBitLinear (not lm_head), got {quantized}")
    if not torch.equal(model.lm_head.weight, model.model.embed_tokens.weight):
        raise RuntimeError("lm_head is not tied to embed_tokens")


def load_transformers(hf_dir, dtype, device):
    """The BitNet quantizer swaps every nn.Linear but lm_head for AutoBitLinear(online_quant=True), whose forward is
    F.linear(ActQuant(x), WeightQuant(W)): both quantise-dequantise in float32 and cast back to the model dtype
    (so the dequantised values are rounded to bf16 in a bf16 run; float32 is near-exact)."""
    import torch
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(hf_dir, dtype=dtype, attn_implementation="eager")
        model, how = model.to(device), "from_pretrained"  # dtype set by from_pretrained (quantized .to() is picky)
        check_bitnet_model(model)
    except Exception as e:  # e.g. the quantizer wants accelerate: build the same modules by hand
        print(f"  NOTE: from_pretrained({dtype}) failed: {e!r}; replacing the Linears with AutoBitLinear by hand")
        from safetensors.torch import load_file
        from transformers import AutoConfig, BitNetForCausalLM
        from transformers.integrations.bitnet import AutoBitLinear
        cfg = AutoConfig.from_pretrained(hf_dir)
        if hasattr(cfg, "quantization_config"):
            delattr(cfg, "quantization_config")
        model, how = BitNetForCausalLM(cfg), "manual AutoBitLinear"
        for name, mod in list(model.named_modules()):
            if isinstance(mod, torch.nn.Linear) and name != "lm_head":
                model.set_submodule(name, AutoBitLinear(mod.in_features, mod.out_features, bias=False,
                                                        online_quant=True))
        missing, unexpected = model.load_state_dict(load_file(os.path.join(hf_dir, "model.safetensors")), strict=False)
        if unexpected or [m for m in missing if m != "lm_head.weight"]:
            raise RuntimeError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
        model.lm_head.weight = model.model.embed_tokens.weight
        model = model.to(device=device, dtype=dtype)
        check_bitnet_model(model)
    print(f"  transformers {dtype}: {how}, rope "
          f"{getattr(model.config, 'rope_parameters', None) or getattr(model.config, 'rope_theta', None)}")
    return model.eval()


def transformers_logits(hf_dir, ids, dtype_name, device):
    import torch
    model = load_transformers(hf_dir, getattr(torch, dtype_name), device)
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids], device=device), use_cache=False)
    return out.logits[0].float().cpu().numpy()


# ---- trit ----
def run(cmd):
    print("  $ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(r.stdout + r.stderr)
        raise RuntimeError(f"{cmd[0]} {cmd[1]} exited {r.returncode}")


def trit_logits(trit, gguf, ids, device, decode, out):
    cmd = [trit, "eval", "-m", gguf, "--tokens", ",".join(map(str, ids)), "--device", device, "--cache-type", "f32",
           "-q", "-o", out]
    run(cmd + (["--decode"] if decode else []))
    a = np.fromfile(out, dtype="<f4")
    if a.size != len(ids) * N_VOCAB:
        raise RuntimeError(f"{out}: {a.size} floats, expected {len(ids)} x {N_VOCAB}")
    return a.reshape(len(ids), N_VOCAB)


def compare(a, b):
    """Relative L2 of a against b over all logits, max |a - b|, fraction of positions with the same argmax."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return (np.linalg.norm(a - b) / np.linalg.norm(b), np.abs(a - b).max(),
            float((a.argmax(-1) == b.argmax(-1)).mean()))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trit", default="build/release/trit", help="the trit binary")
    ap.add_argument("--device", action="append", help="trit device(s): cpu, cuda (repeat or comma-separate)")
    ap.add_argument("--work", help="working folder (default: a fresh temporary one)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tokens", type=int, default=24, help="prompt length (<= 512)")
    ap.add_argument("--allow-cpu-torch", action="store_true", help="run transformers on the CPU when CUDA is absent")
    ap.add_argument("--no-hf", action="store_true", help="skip transformers (float64 reference only)")
    ap.add_argument("--cpu-only", action="store_true", help="NumPy only: no torch, safetensors or transformers "
                    "(implies --no-hf; --device defaults to cpu)")
    args = ap.parse_args()
    use_torch, no_hf = not args.cpu_only, args.no_hf or args.cpu_only
    devices = [d for v in (args.device or ["cpu" if args.cpu_only else "cpu,cuda"]) for d in v.split(",") if d]
    if not 1 <= args.tokens <= 512 or any(d not in ("cpu", "cuda") for d in devices):
        ap.error("--tokens must be in 1..512 and --device cpu or cuda")
    if np is None:
        print("SKIP: No module named 'numpy' (the oracle needs numpy)")
        return EXIT_SKIP
    versions = f"numpy {np.__version__}"
    if use_torch:
        try:
            import safetensors  # noqa: F401
            import torch
            if not no_hf:
                import transformers
        except ImportError as e:
            print(f"SKIP: {e} (the oracle needs torch, safetensors and transformers; --cpu-only needs numpy alone)")
            return EXIT_SKIP
        torch_device = "cuda" if torch.cuda.is_available() else "cpu"
        if torch_device == "cpu" and not no_hf and not args.allow_cpu_torch:
            print("SKIP: torch.cuda.is_available() is false (pass --allow-cpu-torch to run transformers on the CPU)")
            return EXIT_SKIP
        versions += f", torch {torch.__version__}, transformers {'-' if no_hf else transformers.__version__}"
    if not os.access(args.trit, os.X_OK):
        print(f"ERROR: trit binary {args.trit} not found or not executable (pass --trit)")
        return 2
    work = args.work or tempfile.mkdtemp(prefix="trit_hf_oracle_")
    hf_dir, gguf = os.path.join(work, "hf"), os.path.join(work, "m.gguf")
    print(f"{versions}, work {work}")

    rng = np.random.default_rng(args.seed)
    tensors, w64 = make_weights(rng, use_torch)
    ids = [int(i) for i in rng.integers(0, N_VOCAB, args.tokens)]
    write_hf_folder(hf_dir, tensors, use_torch)
    results = {"ref-f64": reference_logits(w64, ids)}
    failures = []
    for dt in ([] if no_hf else ["float32", "bfloat16"]):
        try:
            results[f"hf-{dt}"] = transformers_logits(hf_dir, ids, dt, torch_device)
        except Exception as e:  # only the float32 run is a gate (the oracle's self-check); bf16 is for show
            (failures.append if dt == "float32" else print)(f"transformers {dt} did not run: {e!r}")
    try:
        run([args.trit, "convert", hf_dir, "-o", gguf, "--type", "i2_s", "-q"])
        for d in devices:
            for decode in (False, True):
                name = f"trit-{d}" + ("-decode" if decode else "")
                try:
                    results[name] = trit_logits(args.trit, gguf, ids, d, decode, os.path.join(work, f"logits_{d}"
                                                f"{'_decode' if decode else ''}.bin"))
                except Exception as e:
                    failures.append(f"{name} did not run: {e}")
    except Exception as e:
        failures.append(f"trit convert: {e}")

    # Gates. The float64 reference does the same int8 activation and absmean ternary quantisation as
    # transformers and trit, so they differ only by float32 rounding (~1e-4..1e-3 relative); now and then that
    # rounding moves an activation across a .5 boundary (one int8 step), and a near-tie can flip an argmax.
    gates = [("hf-float32", "ref-f64", 2e-2, 0.9)]  # the oracle's self-check: transformers agrees with it
    gates += [(f"trit-{d}{m}", "ref-f64", 2e-2, 0.9) for d in devices for m in ("", "-decode")]
    gates += [(f"trit-{d}-decode", f"trit-{d}", 1e-2, 0.0) for d in devices]  # one token at a time = one batch
    gates += [(f"trit-cuda{m}", f"trit-cpu{m}", 1e-2, 0.0) for m in ("", "-decode")]
    pairs = [(a, b) for a in results for b in ("ref-f64", "hf-float32") if a != b and not a.startswith("ref")]
    pairs += [(f"trit-{d}-decode", f"trit-{d}") for d in devices] + [("trit-cuda", "trit-cpu"),
                                                                      ("trit-cuda-decode", "trit-cpu-decode")]
    print(f"\ntokens: {ids}\n{'a':>18} vs {'b':<16} {'rel L2':>10} {'max |diff|':>11} {'argmax':>7}")
    for a, b in pairs:
        if a in results and b in results:
            rel, mx, agree = compare(results[a], results[b])
            print(f"{a:>18} vs {b:<16} {rel:10.3e} {mx:11.4e} {agree:7.3f}")
    for name, against, max_rel, min_agree in gates:
        if name not in results or against not in results:
            continue  # not asked for, or a run that failed and is already in failures
        rel, _, agree = compare(results[name], results[against])
        ok = rel <= max_rel and agree >= min_agree
        print(f"{'PASS' if ok else 'FAIL'}: {name} vs {against}: rel L2 {rel:.3e} (<= {max_rel:g}), argmax "
              f"{agree:.3f} (>= {min_agree:g})")
        if not ok:
            failures.append(f"{name} vs {against}")
    for f in failures:
        print(f"FAIL: {f}")
    print("FAIL" if failures else "PASS")
    if not failures and not args.work:
        shutil.rmtree(work, ignore_errors=True)  # a temporary folder; kept on FAIL to look into
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
