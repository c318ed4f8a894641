"""An independent TUF client (python-tuf's ngclient) against the hub's release repository.

Refreshes the metadata from the repository (root chain, timestamp, snapshot, targets: every
signature, threshold, version, hash, length and expiry check python-tuf makes), picks the newest
release of a model from the signed target paths, downloads its model and manifest (hash and
length verified by python-tuf) and checks the manifest describes the model. Prints one JSON
object on stdout; exits 1 when anything is refused.

usage: python_tuf_client.py --url http://host/tuf/ --root 1.root.json --dir WORKDIR --model NAME

The client starts from the provisioned root (`--root`, python-tuf's `bootstrap`) and walks the
root chain from there; WORKDIR keeps its metadata cache between runs.
"""

import argparse
import hashlib
import json
import os
import re
import sys

from tuf.ngclient import Updater


def trusted_versions(metadata_dir):
    versions = {}
    for role in ("root", "timestamp", "snapshot", "targets"):
        path = os.path.join(metadata_dir, f"{role}.json")
        if os.path.exists(path):
            with open(path, "rb") as f:
                versions[role] = json.load(f)["signed"]["version"]
    return versions


def newest_release(metadata_dir, model):
    with open(os.path.join(metadata_dir, "targets.json"), "rb") as f:
        targets = json.load(f)["signed"]["targets"]
    pattern = re.compile(r"^" + re.escape(model) + r"/([1-9][0-9]{0,15})/model\.onnx$")
    versions = [int(m.group(1)) for m in (pattern.match(p) for p in targets) if m]
    return max(versions) if versions else None


def download(updater, path):
    info = updater.get_targetinfo(path)
    if info is None:
        raise LookupError(f"no target {path}")
    local = updater.download_target(info)  # python-tuf checks length and hashes
    with open(local, "rb") as f:
        data = f.read()
    return info, data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="repository base URL (ends with /)")
    parser.add_argument("--root", required=True, help="the trusted root to start from")
    parser.add_argument("--dir", required=True, help="working directory (kept between runs)")
    parser.add_argument("--model", required=True)
    args = parser.parse_args()

    metadata_dir = os.path.join(args.dir, "metadata")
    target_dir = os.path.join(args.dir, "targets")
    os.makedirs(metadata_dir, exist_ok=True)
    os.makedirs(target_dir, exist_ok=True)
    with open(args.root, "rb") as f:
        bootstrap = f.read()  # the provisioned root, as a device embeds it
    base = args.url if args.url.endswith("/") else args.url + "/"

    try:
        updater = Updater(
            metadata_dir=metadata_dir,
            metadata_base_url=base + "metadata/",
            target_dir=target_dir,
            target_base_url=base + "targets/",
            bootstrap=bootstrap,
        )
        updater.refresh()
        version = newest_release(metadata_dir, args.model)
        if version is None:
            raise LookupError(f"no release of {args.model}")
        model_info, model = download(updater, f"{args.model}/{version}/model.onnx")
        manifest_info, manifest_bytes = download(updater, f"{args.model}/{version}/manifest.json")
        manifest = json.loads(manifest_bytes)
        sha256 = hashlib.sha256(model).hexdigest()
        if (manifest["name"], manifest["version"]) != (args.model, version):
            raise ValueError("the manifest names another release")
        if manifest["model"]["sha256"] != sha256 or manifest["model"]["length"] != len(model):
            raise ValueError("the manifest does not describe the model")
    except Exception as error:  # report every refusal the same way
        print(json.dumps({"ok": False, "error": type(error).__name__, "message": str(error)}))
        return 1

    print(
        json.dumps(
            {
                "ok": True,
                "trusted": trusted_versions(metadata_dir),
                "release": {
                    "version": version,
                    "model": {"length": model_info.length, "sha256": sha256},
                    "manifest": {"length": manifest_info.length, "sha256": hashlib.sha256(manifest_bytes).hexdigest()},
                },
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
