"""An image encoder: a Keras model run fast on the CPU, plus the preprocessing it needs.

No Django here. ``encode`` turns ``(n, 224, 224, 3)`` uint8 RGB arrays into ``(n, dim)``
float32 vectors of unit length, so that cosine similarity is a dot product.
``encode_stream`` does the same for photo bytes, decoding the next batch on another thread
while the current one runs through the model.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Literal

import numpy as np

from recommender.encoders.calibration import calibration_photos
from recommender.encoders.colour import photo_colours
from recommender.encoders.localisation import product_cutouts
from recommender.encoders.preprocessing import (
    INPUT_SIZE,
    Box,
    Fit,
    UnreadableImage,
    decode,
    model_input,
    upright,
)

Runtime = Literal["graph", "tflite"]


WHOLE_PHOTO: Box = (0.0, 0.0, 1.0, 1.0)


@dataclass
class Candidates:
    """Row ``i`` of ``vectors`` is the photo's region ``boxes[i]`` (fractions of the whole
    photo); row 0 is the photo, or the shopper's box, as it is; the rest are products found in
    it, largest first."""

    vectors: np.ndarray
    boxes: list[Box]
    images: np.ndarray  # the model's input for each region

    def colour(self, i: int) -> np.ndarray:
        """Region ``i``'s dominant colour, CIELAB (read only for the region searched)."""
        return photo_colours(self.images[i : i + 1])[0]


def _within(region: Box, inner: Box) -> Box:
    """``inner`` (fractions of ``region``) as fractions of the whole photo."""
    left, top, width, height = region
    return (
        left + inner[0] * width,
        top + inner[1] * height,
        inner[2] * width,
        inner[3] * height,
    )


@dataclass
class EncodedBatch:
    keys: list[Hashable]
    vectors: np.ndarray  # (len(keys), dim) float32, unit length
    failures: list[tuple[Hashable, str]] = field(default_factory=list)
    # (len(keys), 3) each photo's dominant colour, CIELAB (``colour.photo_colours``)
    colours: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.float32))


class ImageEncoder:
    """Photos to unit vectors. ``model``: a Keras model, or a function that builds one when it
    is needed (the TFLite runtime with a cached conversion never needs it)."""

    def __init__(
        self,
        *,
        name: str,
        version: str,
        model,
        normalise: Callable[[np.ndarray], np.ndarray],
        fit: Fit = "pad",
        runtime: Runtime = "graph",
        cache_dir: Path | None = None,
        batch_size: int = 32,
        input_size: int = INPUT_SIZE,
        threads: int | None = None,
        int8: bool = False,
    ):
        self.name = name
        self.input_size = input_size
        self.version = version
        self.fit = fit
        self.runtime = runtime
        self.batch_size = batch_size
        self._normalise = normalise
        if runtime == "tflite":

            def calibration():
                for photo in calibration_photos(input_size):
                    yield np.asarray(normalise(photo[None]), np.float32)

            self._forward, self.dim = _tflite_forward(
                model,
                cache_dir,
                f"{name}-{version}",
                input_size,
                threads or os.cpu_count() or 1,
                calibration if int8 else None,
            )
        else:
            model = _built(model)
            self._forward = _graph_forward(model, input_size)
            self.dim = int(model.output_shape[-1])

    def __repr__(self) -> str:
        return f"<ImageEncoder {self.name} {self.version} {self.dim}-d {self.runtime}>"

    def encode(self, images: np.ndarray) -> np.ndarray:
        """``(n, input_size, input_size, 3)`` uint8 RGB -> ``(n, dim)`` float32 unit vectors."""
        if len(images) == 0:
            return np.zeros((0, self.dim), np.float32)
        outputs = [
            self._forward(self._normalise(images[start : start + self.batch_size]))
            for start in range(0, len(images), self.batch_size)
        ]
        return unit_length(np.concatenate(outputs).astype(np.float32, copy=False))

    def decode(self, data: bytes, box: Box | None = None) -> np.ndarray:
        return decode(data, size=self.input_size, fit=self.fit, box=box)

    def encode_bytes(self, data: bytes, box: Box | None = None) -> np.ndarray:
        """One photo's bytes (``box``: only that region) -> its ``(dim,)`` vector.

        Raises ``UnreadableImage``.
        """
        return self.encode(self.decode(data, box)[None])[0]

    def encode_candidates(
        self, data: bytes, box: Box | None = None, *, find_products: bool = True
    ) -> Candidates:
        """A shopper's photo as candidate products, one forward pass for all: the photo (or
        its ``box``) as it is, then (``find_products``) each product found in it cut out onto
        white (``localisation``). Raises ``UnreadableImage``."""
        image = upright(data, size=self.input_size, box=box)
        cutouts = product_cutouts(image) if find_products else []
        region = box or WHOLE_PHOTO
        inputs = np.stack(
            [
                model_input(c, size=self.input_size, fit=self.fit)
                for c in [image, *(c.image for c in cutouts)]
            ]
        )
        return Candidates(
            vectors=self.encode(inputs),
            boxes=[region, *(_within(region, cutout.box) for cutout in cutouts)],
            images=inputs,
        )

    def encode_stream(
        self,
        items: Iterable[tuple[Hashable, bytes]],
        *,
        decode_threads: int = 1,
        colours: bool = True,
    ) -> Iterator[EncodedBatch]:
        """Encode ``(key, photo bytes)`` pairs in batches; a bad photo is reported, never fatal.
        ``colours=False`` leaves out the photos' dominant colours (zeros), which cost about as
        much as the model on small photos.

        Decoding (Pillow releases the GIL) runs one batch ahead of inference.
        """
        batches = _chunks(iter(items), self.batch_size)
        with ThreadPoolExecutor(max_workers=decode_threads) as pool:
            pending = None
            for batch in batches:
                decoding = pool.submit(self._decode_batch, batch)
                if pending is not None:
                    yield self._encode_decoded(pending.result(), colours)
                pending = decoding
            if pending is not None:
                yield self._encode_decoded(pending.result(), colours)

    def _decode_batch(self, batch):
        keys, arrays, failures = [], [], []
        for key, data in batch:
            try:
                arrays.append(self.decode(data))
                keys.append(key)
            except UnreadableImage as error:
                failures.append((key, f"unreadable image: {error}"))
        return keys, arrays, failures

    def _encode_decoded(self, decoded, colours: bool = True) -> EncodedBatch:
        keys, arrays, failures = decoded
        if not arrays:
            return EncodedBatch(keys, np.zeros((0, self.dim), np.float32), failures)
        images = np.stack(arrays)
        found = photo_colours(images) if colours else np.zeros((len(images), 3), np.float32)
        return EncodedBatch(keys, self.encode(images), failures, found)


def _built(model):
    """A Keras model given as itself or as a function that builds it (a model is callable too)."""
    return model() if inspect.isfunction(model) or isinstance(model, functools.partial) else model


def unit_length(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _chunks(iterator: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(iterator, size)):
        yield chunk


def _graph_forward(model, size: int) -> Callable[[np.ndarray], np.ndarray]:
    """The model as one compiled TensorFlow graph: 2-7x faster than calling it eagerly."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, size, size, 3], tf.float32)
    forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return lambda batch: forward(tf.constant(batch, tf.float32)).numpy()


def _tflite_forward(
    model,
    cache_dir: Path | None,
    cache_name: str,
    size: int,
    threads: int,
    calibration: Callable[[], Iterator[np.ndarray]] | None = None,
) -> tuple[Callable, int]:
    """The model converted to TensorFlow Lite, run by LiteRT with XNNPACK kernels.

    About 3x the TF graph for EfficientNet-Lite0 on this CPU (bench/encoder_throughput.py).
    ``from_keras_model`` freezes the weights and folds batch norm into the convolutions; a
    converted concrete function keeps them as variables and runs 4x slower. Conversion takes
    seconds, so the flatbuffer is cached on disk under the encoder's name and weights version;
    with it, ``model`` (a function that builds it) is never called and TensorFlow never loaded
    (a web worker stays hundreds of MiB smaller). An interpreter serves one thread at a time,
    like the encoder that owns it.

    With ``calibration`` (inputs to measure activation ranges on), weights and activations are
    converted to 8-bit integers: half the time per photo (bench/README.md).

    On one thread, photos go through one at a time: there the interpreter is fastest per photo
    and is never resized (resizing re-plans XNNPACK, about 3.5 ms per photo of the new batch).
    """
    from ai_edge_litert.interpreter import Interpreter

    cache_file = Path(cache_dir) / f"{cache_name}.tflite" if cache_dir is not None else None
    if cache_file is not None and cache_file.is_file():
        flatbuffer = cache_file.read_bytes()
    else:
        import tensorflow as tf

        # The converter narrates on stdout; a worker's or a command's stdout is not for that.
        converter = tf.lite.TFLiteConverter.from_keras_model(_built(model))
        if calibration is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([batch] for batch in calibration())
        with contextlib.redirect_stdout(sys.stderr):
            flatbuffer = converter.convert()
        if cache_file is not None:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache_file.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(flatbuffer)
            temporary.replace(cache_file)  # atomic: concurrent workers never read half a file
    interpreter = Interpreter(model_content=flatbuffer, num_threads=threads)
    input_index = interpreter.get_input_details()[0]["index"]
    output = interpreter.get_output_details()[0]
    output_index = output["index"]
    allocated_batch = [0]

    def forward(batch: np.ndarray) -> np.ndarray:
        if threads == 1 and len(batch) > 1:
            return np.concatenate([forward(batch[i : i + 1]) for i in range(len(batch))])
        if allocated_batch[0] != len(batch):
            interpreter.resize_tensor_input(input_index, [len(batch), size, size, 3])
            interpreter.allocate_tensors()
            allocated_batch[0] = len(batch)
        interpreter.set_tensor(input_index, np.ascontiguousarray(batch, np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(output_index).copy()

    return forward, int(output["shape"][-1])
