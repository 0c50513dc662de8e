"""Indexing throughput of each encoder, end to end against its bare forward pass, in one run.

    .venv/bin/python -m bench.encoder_throughput [--images 512] [--catalogue PATH]

End to end = JPEG bytes -> decode, EXIF, RGB, pad to square -> model -> unit vectors, through
``ImageEncoder.encode_stream`` (decoding overlapped with inference). Bare = the same model on
batches decoded beforehand. ResNet50 runs with random weights when the ImageNet file is not on
this machine: speed does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from recommender.encoders import load_encoder, resnet50
from recommender.encoders.encoder import ImageEncoder

ROOT = Path(__file__).resolve().parents[1]


def photos(catalogue: Path, count: int) -> list[bytes]:
    files = sorted((catalogue / "images").glob("*.jpg"))[:count]
    if len(files) < count:
        raise SystemExit(f"need {count} photos in {catalogue}/images, found {len(files)}")
    return [path.read_bytes() for path in files]


def rate(count: int, seconds: float) -> float:
    return count / seconds


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def end_to_end(encoder: ImageEncoder, data: list[bytes]) -> float:
    def run():
        for _ in encoder.encode_stream(enumerate(data)):
            pass

    timed(run)  # warm-up: graph tracing, TFLite tensor allocation
    return rate(len(data), timed(run))


def bare(encoder: ImageEncoder, decoded: np.ndarray) -> float:
    encoder.encode(decoded[: encoder.batch_size])
    return rate(len(decoded), timed(encoder.encode, decoded))


def keras_predict(model, normalise, decoded: np.ndarray, batch_size: int = 32) -> float:
    inputs = normalise(decoded)
    model.predict(inputs[:batch_size], batch_size=batch_size, verbose=0)
    return rate(
        len(decoded), timed(lambda: model.predict(inputs, batch_size=batch_size, verbose=0))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--catalogue", type=Path, default=ROOT.parent / "shared/data/fashion-dev")
    args = parser.parse_args()

    data = photos(args.catalogue, args.images)
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"{len(data)} fashion-dev photos; batch 8 for TFLite, 32 otherwise"
    )
    rows = []

    lite = load_encoder("efficientnet_lite0", runtime="tflite", cache_dir=ROOT / "var/cache")
    decoded = np.stack([lite.decode(d) for d in data])
    decode_rate = rate(len(data), timed(lambda: [lite.decode(d) for d in data]))
    rows.append(("decode + pad only (1 thread)", decode_rate, ""))
    lite_graph = load_encoder("efficientnet_lite0", runtime="graph")
    from recommender.encoders import efficientnet_lite

    rows.append(
        (
            "efficientnet_lite0 bare, keras predict",
            keras_predict(
                efficientnet_lite.build_model(), efficientnet_lite.normalise, decoded, 32
            ),
            "",
        )
    )
    rows.append(("efficientnet_lite0 bare, TF graph", bare(lite_graph, decoded), ""))
    lite_bare = bare(lite, decoded)
    rows.append(("efficientnet_lite0 bare, TFLite", lite_bare, ""))
    lite_e2e = end_to_end(lite, data)
    rows.append(
        (
            "efficientnet_lite0 END TO END (TFLite)",
            lite_e2e,
            f"{lite_e2e / lite_bare:.0%} of bare TFLite; target >= 120 img/s",
        )
    )

    int8 = load_encoder("efficientnet_lite0_int8", cache_dir=ROOT / "var/cache")
    int8_bare = bare(int8, decoded)
    rows.append(
        ("efficientnet_lite0_int8 bare, TFLite", int8_bare, f"{int8_bare / lite_bare:.2f}x Lite0")
    )
    int8_e2e = end_to_end(int8, data)
    rows.append(
        (
            "efficientnet_lite0_int8 END TO END (TFLite)",
            int8_e2e,
            f"{int8_e2e / lite_e2e:.2f}x Lite0",
        )
    )

    lite2 = load_encoder("efficientnet_lite2", runtime="tflite", cache_dir=ROOT / "var/cache")
    lite2_bare = bare(lite2, np.stack([lite2.decode(d) for d in data]))
    rows.append(
        ("efficientnet_lite2 bare, TFLite", lite2_bare, f"{lite2_bare / lite_bare:.2f}x Lite0")
    )
    lite2_e2e = end_to_end(lite2, data)
    rows.append(
        ("efficientnet_lite2 END TO END (TFLite)", lite2_e2e, f"{lite2_e2e / lite_e2e:.2f}x Lite0")
    )

    try:
        weights = resnet50.find_weights()
        note = "ImageNet weights"
    except resnet50.WeightsUnavailable:
        weights, note = None, "random weights"
    model = resnet50.build_model(weights)
    predict_rate = keras_predict(model, resnet50.normalise, decoded, 32)
    rows.append((f"resnet50 bare, keras predict ({note})", predict_rate, "the reference"))
    encoder = ImageEncoder(
        name="resnet50", version="bench", model=model, normalise=resnet50.normalise, runtime="graph"
    )
    resnet_e2e = end_to_end(encoder, data)
    rows.append(
        (
            "resnet50 END TO END (TF graph)",
            resnet_e2e,
            f"{resnet_e2e / predict_rate:.0%} of bare predict; target >= 80%",
        )
    )

    print("\n| what | images/s | note |\n|---|---:|---|")
    for what, images_per_second, comment in rows:
        print(f"| {what} | {images_per_second:.1f} | {comment} |")


if __name__ == "__main__":
    main()
