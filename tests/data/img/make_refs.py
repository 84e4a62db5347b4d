#!/usr/bin/env python3
"""Writes the image test inputs and their PIL/numpy reference outputs (tests/unit/test_img.c).

    python3 -m venv /tmp/pilv && /tmp/pilv/bin/pip install pillow numpy
    /tmp/pilv/bin/python tests/data/img/make_refs.py      # rewrites tests/data/img/

Every file is small (images of a few dozen pixels). PNG variants PIL cannot write (16-bit
RGB, interlaced, 1/2/4-bit gray, eXIf) come from the tiny encoder below, written from the
PNG specification; their expected pixels come from the arrays they were made from (and are
checked against PIL's decoding where PIL supports the variant). JPEG references are PIL's
own decoding. Preprocessing references are PIL's Image.resize and torchvision's documented
Resize/CenterCrop/ToTensor/Normalize arithmetic, emulated in numpy.
"""
import io
import os
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = os.path.dirname(os.path.abspath(__file__))


def save_npy(name, arr):
    np.save(os.path.join(OUT, name + ".npy"), np.ascontiguousarray(arr))


def save_bytes(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


# ---- a minimal PNG encoder ------------------------------------------------------------------

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def pack_rows(samples, depth):
    """samples: (h, w, spp) ints → scanlines with filter byte 0."""
    out = bytearray()
    for row in samples:
        out.append(0)
        flat = row.reshape(-1)
        if depth == 16:
            out += flat.astype(">u2").tobytes()
        elif depth == 8:
            out += flat.astype(np.uint8).tobytes()
        else:
            per = 8 // depth
            for i in range(0, len(flat), per):
                b = 0
                for k in range(per):
                    v = int(flat[i + k]) if i + k < len(flat) else 0
                    b |= v << (8 - depth * (k + 1))
                out.append(b)
    return bytes(out)


def encode_png(samples, depth, color, palette=None, trns=None, interlace=False, exif=None):
    h, w = samples.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 1 if interlace else 0)
    if interlace:
        raw = b""
        for x0, y0, dx, dy in ADAM7:
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += pack_rows(sub, depth)
    else:
        raw = pack_rows(samples, depth)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if palette is not None:
        png += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        png += chunk(b"tRNS", trns)
    if exif is not None:
        png += chunk(b"eXIf", exif)
    return png + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


# ---- PNG variants ---------------------------------------------------------------------------

rng = np.random.RandomState(20240611)
VW, VH = 13, 9  # odd sizes exercise every Adam7 pass and partial bytes


def png_variants():
    def gray(depth):
        return rng.randint(0, 1 << depth, size=(VH, VW, 1))

    def scale8(v, depth):  # what an 8-bit reader shows for a low-depth gray sample
        return (v * 255 // ((1 << depth) - 1)).astype(np.uint8)

    cases = []  # (name, png bytes, expected array, is16)
    for d in (1, 2, 4):
        g = gray(d)
        cases.append((f"png_gray{d}", encode_png(g, d, 0), scale8(g, d), False))
    g = gray(8)
    cases.append(("png_gray8", encode_png(g, 8, 0), g.astype(np.uint8), False))
    g16 = gray(16)
    cases.append(("png_gray16", encode_png(g16, 16, 0), g16.astype(np.uint16), True))
    # gray + tRNS: the key value becomes alpha 0, everything else 255
    g = gray(8)
    key = int(g[2, 3, 0])
    a = np.where(g == key, 0, 255)
    cases.append(("png_gray8_trns", encode_png(g, 8, 0, trns=struct.pack(">H", key)),
                  np.concatenate([g, a], 2).astype(np.uint8), False))
    g16 = gray(16)
    key = int(g16[4, 5, 0])
    a = np.where(g16 == key, 65535, 65535)
    a[g16 == key] = 0
    cases.append(("png_gray16_trns", encode_png(g16, 16, 0, trns=struct.pack(">H", key)),
                  np.concatenate([g16, a], 2).astype(np.uint16), True))
    la = rng.randint(0, 256, size=(VH, VW, 2))
    cases.append(("png_graya8", encode_png(la, 8, 4), la.astype(np.uint8), False))
    la16 = rng.randint(0, 65536, size=(VH, VW, 2))
    cases.append(("png_graya16", encode_png(la16, 16, 4), la16.astype(np.uint16), True))
    rgb = rng.randint(0, 256, size=(VH, VW, 3))
    cases.append(("png_rgb8", encode_png(rgb, 8, 2), rgb.astype(np.uint8), False))
    rgb16 = rng.randint(0, 65536, size=(VH, VW, 3))
    cases.append(("png_rgb16", encode_png(rgb16, 16, 2), rgb16.astype(np.uint16), True))
    rgb = rng.randint(0, 4, size=(VH, VW, 3)) * 60  # few colours, so the key occurs
    key = rgb[1, 1]
    a = np.where((rgb == key).all(2, keepdims=True), 0, 255)
    cases.append(("png_rgb8_trns", encode_png(rgb, 8, 2, trns=struct.pack(">HHH", *map(int, key))),
                  np.concatenate([rgb, a], 2).astype(np.uint8), False))
    rgba = rng.randint(0, 256, size=(VH, VW, 4))
    cases.append(("png_rgba8", encode_png(rgba, 8, 6), rgba.astype(np.uint8), False))
    rgba16 = rng.randint(0, 65536, size=(VH, VW, 4))
    cases.append(("png_rgba16", encode_png(rgba16, 16, 6), rgba16.astype(np.uint16), True))
    for d in (1, 2, 4, 8):
        n = 1 << d
        pal = rng.randint(0, 256, size=(n, 3))
        idx = rng.randint(0, n, size=(VH, VW, 1))
        cases.append((f"png_palette{d}", encode_png(idx, d, 3, palette=pal), pal[idx[..., 0]].astype(np.uint8), False))
    pal = rng.randint(0, 256, size=(16, 3))
    alpha = rng.randint(0, 256, size=10)  # shorter than the palette: the rest are opaque
    idx = rng.randint(0, 16, size=(VH, VW, 1))
    full = np.concatenate([alpha, np.full(6, 255)])
    want = np.concatenate([pal[idx[..., 0]], full[idx]], 2)
    cases.append(("png_palette8_trns", encode_png(idx, 8, 3, palette=pal, trns=bytes(alpha.astype(np.uint8))),
                  want.astype(np.uint8), False))
    # interlaced
    rgb = rng.randint(0, 256, size=(VH, VW, 3))
    cases.append(("png_rgb8_adam7", encode_png(rgb, 8, 2, interlace=True), rgb.astype(np.uint8), False))
    g = gray(4)
    cases.append(("png_gray4_adam7", encode_png(g, 4, 0, interlace=True), scale8(g, 4), False))
    rgba16 = rng.randint(0, 65536, size=(VH, VW, 4))
    cases.append(("png_rgba16_adam7", encode_png(rgba16, 16, 6, interlace=True), rgba16.astype(np.uint16), True))
    pal = rng.randint(0, 256, size=(4, 3))
    idx = rng.randint(0, 4, size=(VH, VW, 1))
    cases.append(("png_palette2_adam7", encode_png(idx, 2, 3, palette=pal, interlace=True),
                  pal[idx[..., 0]].astype(np.uint8), False))

    names = []
    for name, data, want, is16 in cases:
        save_bytes(name + ".png", data)
        save_npy(name, want)
        names.append(name)
        # cross-check the encoder with PIL where PIL's modes carry the same samples
        im = Image.open(io.BytesIO(data))
        im.load()
        if not is16 and want.shape[2] in (3, 4) and im.mode in ("RGB", "RGBA", "P"):
            got = np.asarray(im.convert("RGBA" if want.shape[2] == 4 else "RGB"))
            assert (got == want).all(), name
        if not is16 and want.shape[2] in (1, 2) and im.mode in ("L", "LA", "1"):
            got = np.asarray(im.convert("LA" if want.shape[2] == 2 else "L"))
            assert (got.reshape(want.shape) == want).all(), name
    return names


# ---- images for the preprocessing references ------------------------------------------------

W, H = 37, 23


def base_rgb():
    y, x = np.mgrid[0:H, 0:W]
    r = 128 + 100 * np.sin(x / 4.0) * np.cos(y / 5.0)
    g = 255.0 * x / (W - 1)
    b = 255.0 * ((x // 5 + y // 4) % 2)  # hard edges
    img = np.stack([r, g, b], 2) + rng.randint(-20, 21, size=(H, W, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


FILTERS = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "box": Image.BOX, "bicubic": Image.BICUBIC}
SIZES = {"shrink": (16, 10), "grow": (53, 31), "mixed": (20, 40)}


def preprocessing_refs(rgb):
    pil = Image.fromarray(rgb, "RGB")
    pil.save(os.path.join(OUT, "rgb.png"))
    for fname, f in FILTERS.items():
        for sname, size in SIZES.items():
            save_npy(f"resize_{fname}_{sname}", np.asarray(pil.resize(size, f)))
    # RGBA: PIL resizes premultiplied
    y, x = np.mgrid[0:H, 0:W]
    alpha = np.clip(x * 9 - 40 + rng.randint(0, 30, size=(H, W)), 0, 255).astype(np.uint8)
    rgba = Image.fromarray(np.concatenate([rgb, alpha[..., None]], 2), "RGBA")
    rgba.save(os.path.join(OUT, "rgba.png"))
    save_npy("resize_rgba_bilinear_shrink", np.asarray(rgba.resize(SIZES["shrink"], Image.BILINEAR)))
    save_npy("resize_rgba_bicubic_grow", np.asarray(rgba.resize(SIZES["grow"], Image.BICUBIC)))
    gray = pil.convert("L")
    save_npy("gray_of_rgb", np.asarray(gray))
    save_npy("resize_gray_box_shrink", np.asarray(gray.resize(SIZES["shrink"], Image.BOX)))
    # float images: PIL mode "F" per channel, from value / 255
    def resize_f(size, f):
        chans = [Image.fromarray(rgb[..., c].astype(np.float32) / np.float32(255), "F").resize(size, f)
                 for c in range(3)]
        return np.stack([np.asarray(ch, np.float32) for ch in chans], 2)
    save_npy("resizef_bilinear_shrink", resize_f(SIZES["shrink"], Image.BILINEAR))
    save_npy("resizef_bicubic_grow", resize_f((41, 27), Image.BICUBIC))

    # torchvision: Resize(20) (shorter side; long = int(20 * long / short)), CenterCrop(16),
    # ToTensor (/255), Normalize(ImageNet) — NCHW float32
    short, long_ = min(W, H), max(W, H)
    nl = int(20 * long_ / short)
    rw, rh = (20, nl) if W <= H else (nl, 20)
    resized = np.asarray(pil.resize((rw, rh), Image.BILINEAR))
    save_npy("resize_shorter20", resized)

    def center_crop(img, ch, cw):  # torchvision.transforms.functional.center_crop
        ih, iw = img.shape[:2]
        if cw > iw or ch > ih:
            pl = (cw - iw) // 2 if cw > iw else 0
            pt = (ch - ih) // 2 if ch > ih else 0
            pr = (cw - iw + 1) // 2 if cw > iw else 0
            pb = (ch - ih + 1) // 2 if ch > ih else 0
            img = np.pad(img, ((pt, pb), (pl, pr), (0, 0)))
            ih, iw = img.shape[:2]
            if (ih, iw) == (ch, cw):
                return img
        top = int(round((ih - ch) / 2.0))
        left = int(round((iw - cw) / 2.0))
        return img[top:top + ch, left:left + cw]

    crop = center_crop(resized, 16, 16)
    t = crop.astype(np.float32).transpose(2, 0, 1) / np.float32(255)
    mean = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
    std = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]
    save_npy("classify_imagenet_16", ((t - mean) / std)[None])
    save_npy("crop_17x25", center_crop(resized, 17, 25))  # offsets round(1.5)=2, round(3.5)=4
    save_npy("crop_23x30", center_crop(resized, 23, 30))  # padded vertically
    save_npy("crop_26x40", center_crop(resized, 26, 40))  # padded both ways

    # letterbox (ultralytics): r = min(w/W, h/H), new = round(W*r), round(H*r), pad 114,
    # left = round(dw/2 - 0.1), top = round(dh/2 - 0.1)
    for lw, lh in ((32, 32), (40, 24)):
        r = min(lw / W, lh / H)
        nw, nh = int(round(W * r)), int(round(H * r))
        canvas = np.full((lh, lw, 3), 114, np.uint8)
        left, top = int(round((lw - nw) / 2 - 0.1)), int(round((lh - nh) / 2 - 0.1))
        canvas[top:top + nh, left:left + nw] = np.asarray(pil.resize((nw, nh), Image.BILINEAR))
        save_npy(f"letterbox_{lw}x{lh}", canvas)


# ---- JPEG -----------------------------------------------------------------------------------


def jpeg_refs(rgb):
    pil = Image.fromarray(rgb, "RGB")
    variants = {
        "jpeg_baseline": dict(img=pil, quality=90),
        "jpeg_444": dict(img=pil, quality=90, subsampling=0),
        "jpeg_progressive": dict(img=pil, quality=90, progressive=True),
        "jpeg_gray": dict(img=pil.convert("L"), quality=90),
        "jpeg_gray_progressive": dict(img=pil.convert("L"), quality=90, progressive=True),
        "jpeg_restart": dict(img=pil, quality=90, restart_marker_blocks=2),
    }
    for name, kw in variants.items():
        img = kw.pop("img")
        buf = io.BytesIO()
        img.save(buf, "JPEG", **kw)
        data = buf.getvalue()
        save_bytes(name + ".jpg", data)
        save_npy(name, np.asarray(Image.open(io.BytesIO(data))))
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").convert("CMYK").save(buf, "JPEG", quality=90)
    cmyk = buf.getvalue()
    save_bytes("jpeg_cmyk.jpg", cmyk)
    i = cmyk.find(b"Adobe")  # APP14: "Adobe", version, flags0, flags1, transform
    assert i > 0
    ycck = bytearray(cmyk)
    ycck[i + 11] = 2
    save_bytes("jpeg_ycck.jpg", bytes(ycck))


# ---- EXIF orientation -----------------------------------------------------------------------


def tiff_orientation(v, little):
    e = "<" if little else ">"
    head = (b"II" if little else b"MM") + struct.pack(e + "HI", 42, 8)
    ifd = struct.pack(e + "H", 2)
    ifd += struct.pack(e + "HHI", 0x010F, 2, 4) + b"ony\0"  # Make, inline ASCII: a tag before
    ifd += struct.pack(e + "HHIHH", 0x0112, 3, 1, v, 0)
    return head + ifd + struct.pack(e + "I", 0)


def exif_refs():
    y, x = np.mgrid[0:4, 0:6]
    small = np.stack([x * 50, y * 80, (x + y) % 2 * 255], 2).astype(np.uint8)  # no symmetry
    y, x = np.mgrid[0:16, 0:24]
    big = np.stack([(x // 8) * 120, (y // 8) * 250, np.full_like(x, 60)], 2).astype(np.uint8)
    expect_ops = {1: lambda a: a, 2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
                  5: lambda a: a.transpose(1, 0, 2), 6: lambda a: np.rot90(a, -1), 7: lambda a: np.rot90(a, -1)[::-1],
                  8: lambda a: np.rot90(a, 1)}
    for v in range(1, 9):
        tiff = tiff_orientation(v, little=v % 2 == 0)
        png = encode_png(small, 8, 2, exif=tiff)
        save_bytes(f"exif_png_{v}.png", png)
        got = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(png))))
        assert (got == expect_ops[v](small)).all(), v
        save_npy(f"exif_png_{v}", got)
        buf = io.BytesIO()
        Image.fromarray(big, "RGB").save(buf, "JPEG", quality=95, exif=b"Exif\0\0" + tiff)
        save_bytes(f"exif_jpeg_{v}.jpg", buf.getvalue())
        save_npy(f"exif_jpeg_{v}", np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(buf.getvalue())))))


def main():
    png_variants()
    rgb = base_rgb()
    preprocessing_refs(rgb)
    jpeg_refs(rgb)
    exif_refs()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{len(os.listdir(OUT))} files, {total} bytes")


if __name__ == "__main__":
    main()
