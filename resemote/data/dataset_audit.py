"""The duplicate audit of a dataset named in the registry: `decode_splits` decodes its splits through the cache,
`is_posed` reads its loader's `posed`, and `audit_dataset` runs `resemote.data.audit.audit_arrays` on them.

Apart from `resemote.data.audit` because these functions read datasets by name (`resemote.data.dataset_class`),
while a loader of that registry needs the audit on arrays: ExpW's split keeps the copies the audit finds on one
side (`resemote.data.expw`). In one module, the registry imported ExpW, ExpW the audit and the audit the registry:
a circle (tests/test_layers.py).
"""
from __future__ import annotations

import os

from resemote.data import dataset_class
from resemote.data.audit import audit_arrays
from resemote.data.cache import decode


def decode_splits(name: str, root: str | os.PathLike, strict: bool = False, size: int = 64,
                  progress: bool = True) -> tuple[str, dict, dict, list[dict], dict]:
    """Every split of a dataset decoded through the cache: (title, {split: images}, {split: refs}, skipped,
    {split: content fingerprint}); damaged images are skipped and listed (or, with strict, an error)."""
    cls = dataset_class(name)
    arrays, refs, fingerprints, skipped, seen = {}, {}, {}, [], set()
    for split in cls.splits:
        ds = cls(root, split, strict=strict)
        dec = decode(ds, size, progress=progress)
        arrays[split], refs[split], fingerprints[split] = dec.images, dec.refs, dec.fingerprint
        for s in dec.skipped:
            if (s["path"], s["reason"]) not in seen:
                seen.add((s["path"], s["reason"]))
                skipped.append(s)
        if getattr(ds, "kind", None) == "kaggle" and name == "fer2013":
            break  # the later Kaggle FER2013 release has labels for train only
    return cls.title, arrays, refs, skipped, fingerprints


def is_posed(name: str) -> bool:
    """Whether the dataset photographs one person many times in one pose (its loader says `posed = True`),
    so that its near pairs must pass the stricter step 5."""
    return bool(getattr(dataset_class(name), "posed", False))


def audit_dataset(name: str, root: str | os.PathLike, strict: bool = False, size: int = 64,
                  progress: bool = True) -> dict:
    """Decode every split of a dataset (through the cache) and audit it; damaged images are skipped and
    listed under "skipped" (or, with strict, the first one is an error)."""
    title, arrays, refs, skipped, _ = decode_splits(name, root, strict, size, progress)
    result = audit_arrays(arrays, refs, progress=progress, posed=is_posed(name))
    return {"dataset": title, **result, "skipped": skipped}
