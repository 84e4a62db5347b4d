"""Writes data/imagenet_labels.txt: the 1000 ImageNet-1k class names, one per line, line k
holding class k (the order every ImageNet classifier's output uses).

The names are taken from torchvision's weight metadata (the torch venv, .cache/torch-venv):
    .cache/torch-venv/bin/python data/make_imagenet_labels.py
`onyx classify` reads the file; it is committed so that building onyx needs no torch."""
import os
import sys

from torchvision.models import ResNet50_Weights


def main():
    names = ResNet50_Weights.DEFAULT.meta["categories"]
    if len(names) != 1000 or any("\n" in n or not n.strip() for n in names):
        sys.exit("unexpected category list from torchvision")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_labels.txt")
    with open(out, "w", encoding="utf-8") as f:
        f.write("".join(n + "\n" for n in names))
    print(f"wrote {out}: {len(names)} labels")


if __name__ == "__main__":
    main()
