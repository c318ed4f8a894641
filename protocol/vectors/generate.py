"""Writes the golden vectors from an independent Python implementation of the contract.

Run `python3 protocol/vectors/generate.py` to regenerate. Every runtime (Node, browsers, and any
future implementation) must reproduce these files' expectations exactly or within the stated
tolerance. Nothing here imports the TypeScript code: the numbers are computed from the definitions.
"""
import hashlib, json, math, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))

def dump(name, obj):
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")

# --- RNG: mulberry32 -------------------------------------------------------------------------
def mulberry32(seed):
    a = seed & 0xFFFFFFFF
    def imul(x, y):
        return (x * y) & 0xFFFFFFFF
    def nxt():
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296
    return nxt

rng = {"description": "mulberry32(seed): first outputs, exact", "cases": []}
for seed in [0, 1, 42, 123456789, 4294967295]:
    r = mulberry32(seed)
    rng["cases"].append({"seed": seed, "outputs": [r() for _ in range(8)]})
dump("rng.json", rng)

# --- Scores ----------------------------------------------------------------------------------
def least_confidence(p):
    k = len(p)
    return min(1.0, max(0.0, (1 - max(p)) * k / (k - 1)))

def margin(p):
    s = sorted(p, reverse=True)
    return min(1.0, max(0.0, 1 - (s[0] - s[1])))

def entropy(p):
    h = -sum(x * math.log(x) for x in p if x > 0)
    return min(1.0, max(0.0, h / math.log(len(p))))

probs = [
    [0.7, 0.2, 0.1],
    [0.5, 0.5],
    [1.0, 0.0, 0.0, 0.0],
    [0.25, 0.25, 0.25, 0.25],
    [0.4, 0.35, 0.25],
    [0.05, 0.9, 0.05],
    [0.1] * 10,
    [0.91, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01],
]
configs = [
    {"strategy": {"strategy": "least_confidence", "threshold": 0.5, "floor": 0.02}, "auditRate": 0.01},
    {"strategy": {"strategy": "margin", "threshold": 0.6, "floor": 0.0}, "auditRate": 0.05},
    {"strategy": {"strategy": "entropy", "threshold": 0.5, "floor": 0.1}, "auditRate": 0.0},
    {"strategy": {"strategy": "threshold_band", "low": 0.4, "high": 0.75, "floor": 0.01}, "auditRate": 0.02},
    {"strategy": {"strategy": "random", "rate": 0.1}, "auditRate": 0.01},
]

def strategy_probability(p, s):
    name = s["strategy"]
    if name in ("least_confidence", "margin", "entropy"):
        score = {"least_confidence": least_confidence, "margin": margin, "entropy": entropy}[name](p)
        return (1.0 if score >= s["threshold"] else s["floor"]), score
    if name == "threshold_band":
        top = max(p)
        return (1.0 if s["low"] <= top <= s["high"] else s["floor"]), 1 - top
    return s["rate"], least_confidence(p)

sampling = {
    "description": "Uncertainty scores (tolerance 1e-12) and inclusion probabilities 1-(1-pi)(1-audit)",
    "scores": [],
    "decisions": [],
}
for p in probs:
    sampling["scores"].append({"probabilities": p, "least_confidence": least_confidence(p), "margin": margin(p), "entropy": entropy(p)})
    for c in configs:
        pi, score = strategy_probability(p, c["strategy"])
        sampling["decisions"].append({
            "probabilities": p,
            "config": c,
            "score": score,
            "inclusionProbability": 1 - (1 - pi) * (1 - c["auditRate"]),
        })
dump("sampling.json", sampling)

# --- Frames ----------------------------------------------------------------------------------
PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c636000000002000154a224f40000000049454e44ae426082"
)

def header_for(image, sample_id, **over):
    h = {
        "v": 1,
        "sampleId": sample_id,
        "deviceId": "pi-kitchen-01",
        "model": {"name": "mnist-cnn", "version": 3},
        "capturedAt": "2026-11-22T15:40:38.123Z",
        "image": {"mime": "image/png", "width": 1, "height": 1, "byteLength": len(image)},
        "prediction": {"label": "7", "confidence": 0.55, "probabilities": [0.55, 0.45], "latencyMs": 3.5},
        "sampling": {"strategy": "margin", "score": 0.9, "inclusionProbability": 1, "audit": False, "reason": "uncertain"},
    }
    h.update(over)
    return h

def frame(header, image, magic=b"ELS", version=1, declared_len=None):
    hb = json.dumps(header, separators=(",", ":")).encode()
    n = len(hb) if declared_len is None else declared_len
    return magic + bytes([version]) + struct.pack(">I", n) + hb + image

sid = hashlib.sha256(PNG_1x1).hexdigest()
valid_header = header_for(PNG_1x1, sid)
frames = {
    "description": "Sample frames: ELS, version 1, u32 BE header length, JSON header, image bytes",
    "sha256": [
        {"hex": "", "sha256": hashlib.sha256(b"").hexdigest()},
        {"hex": "616263", "sha256": hashlib.sha256(b"abc").hexdigest()},
        {"hex": PNG_1x1.hex(), "sha256": sid},
    ],
    "valid": [
        {"name": "png 1x1", "hex": frame(valid_header, PNG_1x1).hex(), "sampleId": sid, "imageHex": PNG_1x1.hex()},
        {
            "name": "user correction",
            "hex": frame(header_for(PNG_1x1, sid, annotation={"label": "1", "source": "user"}), PNG_1x1).hex(),
            "sampleId": sid,
            "imageHex": PNG_1x1.hex(),
        },
    ],
    "invalid": [
        {"name": "empty", "hex": "", "code": "BAD_FRAME"},
        {"name": "wrong magic", "hex": frame(valid_header, PNG_1x1, magic=b"ELX").hex(), "code": "BAD_FRAME"},
        {"name": "version 2", "hex": frame(valid_header, PNG_1x1, version=2).hex(), "code": "BAD_FRAME"},
        {"name": "header length past end", "hex": frame(valid_header, PNG_1x1, declared_len=9000).hex(), "code": "BAD_FRAME"},
        {"name": "header length over cap", "hex": frame(valid_header, PNG_1x1, declared_len=1 << 20).hex(), "code": "TOO_LARGE"},
        {"name": "image shorter than declared", "hex": frame(valid_header, PNG_1x1[:-1]).hex(), "code": "BAD_FRAME", "path": "image.byteLength"},
        {"name": "bad device id", "hex": frame(header_for(PNG_1x1, sid, deviceId="a/+/#"), PNG_1x1).hex(), "code": "SCHEMA", "path": "deviceId"},
        {"name": "upper-case id", "hex": frame(header_for(PNG_1x1, sid.upper()), PNG_1x1).hex(), "code": "SCHEMA", "path": "sampleId"},
        {"name": "unknown field", "hex": frame(header_for(PNG_1x1, sid, extra=1), PNG_1x1).hex(), "code": "SCHEMA"},
    ],
    "idMismatch": [
        {"name": "id of other bytes", "hex": frame(header_for(PNG_1x1, hashlib.sha256(b"x").hexdigest()), PNG_1x1).hex(), "code": "ID_MISMATCH"},
    ],
}
dump("frames.json", frames)

# --- Topics ----------------------------------------------------------------------------------
topics = {
    "validDeviceIds": ["pi-kitchen-01", "a", "A.b_c-9", "x" * 64],
    "invalidDeviceIds": ["", "a/b", "a+b", "a#", "$SYS", "-lead", ".lead", "x" * 65, "sp ace", "ümlaut"],
    "deviceTopics": [
        {"deviceId": "pi-1", "channel": "samples", "topic": "edgeloop/v1/devices/pi-1/samples"},
        {"deviceId": "pi-1", "channel": "acks", "topic": "edgeloop/v1/devices/pi-1/acks"},
        {"deviceId": "pi-1", "channel": "status", "topic": "edgeloop/v1/devices/pi-1/status"},
    ],
    "announce": [{"model": "mnist-cnn", "topic": "edgeloop/v1/models/mnist-cnn/announce"}],
    "acl": [
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/pi-1/samples", "allow": True},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/pi-1/telemetry", "allow": True},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/pi-1/status", "allow": True},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/pi-1/acks", "allow": False},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/pi-2/samples", "allow": False},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/models/mnist-cnn/announce", "allow": False},
        {"deviceId": "pi-1", "op": "publish", "topic": "edgeloop/v1/devices/+/samples", "allow": False},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/devices/pi-1/acks", "allow": True},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/devices/pi-1/config", "allow": True},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/models/+/announce", "allow": True},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/models/mnist-cnn/announce", "allow": True},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/devices/+/acks", "allow": False},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/devices/pi-2/acks", "allow": False},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/#", "allow": False},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "#", "allow": False},
        {"deviceId": "pi-1", "op": "subscribe", "topic": "edgeloop/v1/devices/pi-1/samples", "allow": False},
    ],
}
dump("topics.json", topics)

# --- Telemetry buckets -----------------------------------------------------------------------
telemetry = {
    "description": "confidence c goes to bucket min(19, floor(20c))",
    "buckets": [{"confidence": c, "bucket": min(19, math.floor(c * 20))} for c in [0, 0.04999, 0.05, 0.5, 0.949, 0.95, 0.999, 1.0]],
}
dump("telemetry.json", telemetry)
