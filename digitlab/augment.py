"""Batch augmentation for digits: a random affine warp, and changes toward how people write.

The default config is the recipe ``digits@1`` was trained with (rotate, zoom, shift, stroke
width). ``AugmentConfig.handwriting()`` adds what separates other writers and scanners from
MNIST: slant, elastic wobble, pen width, broken strokes, low-resolution blur and faint ink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf

SIZE = 28


@dataclass(frozen=True)
class AugmentConfig:
    """How far each random change may go; a probability of 0 turns a change off."""

    rotation_degrees: float = 10.0
    zoom_fraction: float = 0.10
    shift_fraction: float = 0.10
    stroke_change_probability: float = 0.3
    shear_degrees: float = 0.0  # slant: x moves by tan(shear) * y
    elastic_probability: float = 0.0
    elastic_pixels: float = 1.5  # largest smooth displacement of the elastic wobble
    broken_stroke_probability: float = 0.0  # a thin gap cut across the ink
    low_resolution_probability: float = 0.0  # down to 10-18 px and back up (a coarse scan)
    faint_ink_probability: float = 0.0  # ink peak lowered to 45-100 %, with a gamma change

    @classmethod
    def handwriting(cls) -> AugmentConfig:
        """The recipe toward real handwriting, chosen on held-out writers and canvas drawings."""
        return cls(rotation_degrees=10.0, zoom_fraction=0.12, shift_fraction=0.10,
                   stroke_change_probability=0.35, shear_degrees=18.0, elastic_probability=0.5,
                   elastic_pixels=1.6, broken_stroke_probability=0.12,
                   low_resolution_probability=0.15, faint_ink_probability=0.2)


RECIPES = {"standard": AugmentConfig, "handwriting": AugmentConfig.handwriting}


def uniform(shape, seed, salt: int, low: float = -1.0, high: float = 1.0):
    """Stateless uniform numbers: the same seed and salt always give the same values."""
    return tf.random.stateless_uniform(shape, seed=seed + tf.constant([0, salt], tf.int64),
                                       minval=low, maxval=high)


def chosen(images, probability: float, seed, salt: int):
    """A (N, 1, 1, 1) mask that is True for a random share of the batch."""
    return uniform([tf.shape(images)[0], 1, 1, 1], seed, salt, low=0.0) < probability


def random_affine_matrices(batch_size, config: AugmentConfig, seed):
    """Per-image 8-number projective transforms (output -> input coordinates) about the centre."""
    centre = (SIZE - 1.0) / 2.0
    angle = uniform([batch_size], seed, 1) * (config.rotation_degrees * math.pi / 180.0)
    zoom = 1.0 + uniform([batch_size], seed, 2) * config.zoom_fraction
    shift_x = uniform([batch_size], seed, 3) * config.shift_fraction * SIZE
    shift_y = uniform([batch_size], seed, 4) * config.shift_fraction * SIZE
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    # input = R/zoom * (output - centre - shift) + centre
    offset_x = centre - cos * (centre + shift_x) + sin * (centre + shift_y)
    offset_y = centre - sin * (centre + shift_x) - cos * (centre + shift_y)
    xx, xy = cos, -sin
    if config.shear_degrees > 0:
        # then slant: input x also moves by shear * (output y - centre)
        shear = tf.tan(uniform([batch_size], seed, 6) * (config.shear_degrees * math.pi / 180.0))
        xy, offset_x = xy + shear, offset_x - shear * centre
    zeros = tf.zeros_like(angle)
    return tf.stack([xx, xy, offset_x, sin, cos, offset_y, zeros, zeros], axis=1)


def change_stroke_width(images, probability: float, seed):
    """Thicken (2x2 max) or thin (2x2 min) a random share of the images."""
    thicker = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    choice = uniform([tf.shape(images)[0], 1, 1, 1], seed, 5, low=0.0)
    half = probability / 2.0
    return tf.where(choice < half, thicker, tf.where(choice < probability, thinner, images))


def sample_bilinear(images, x, y):
    """Read images (N, 28, 28, 1) at float pixel coordinates x, y (N, 28, 28); outside is 0."""
    batch_size = tf.shape(images)[0]
    padded = tf.reshape(tf.pad(images[..., 0], [[0, 0], [1, 1], [1, 1]]), [-1])
    x = tf.clip_by_value(x, -1.0, SIZE) + 1.0  # padded coordinates, 0 .. SIZE + 1
    y = tf.clip_by_value(y, -1.0, SIZE) + 1.0
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = x - x0, y - y0
    base = tf.reshape(tf.range(batch_size) * (SIZE + 2) ** 2, [-1, 1, 1])

    def at(column, row):
        column = tf.clip_by_value(tf.cast(column, tf.int32), 0, SIZE + 1)
        row = tf.clip_by_value(tf.cast(row, tf.int32), 0, SIZE + 1)
        return tf.gather(padded, base + row * (SIZE + 2) + column)

    top = at(x0, y0) * (1 - wx) + at(x0 + 1, y0) * wx
    bottom = at(x0, y0 + 1) * (1 - wx) + at(x0 + 1, y0 + 1) * wx
    return (top * (1 - wy) + bottom * wy)[..., None]


def elastic_warp(images, config: AugmentConfig, seed):
    """Move pixels along a smooth random field (a 4x4 grid of offsets, upsampled)."""
    batch_size = tf.shape(images)[0]
    grid = uniform([batch_size, 4, 4, 2], seed, 7) * config.elastic_pixels
    field = tf.image.resize(grid, [SIZE, SIZE], method="bicubic")
    rows, columns = tf.meshgrid(tf.range(SIZE, dtype=tf.float32), tf.range(SIZE, dtype=tf.float32),
                                indexing="ij")
    warped = sample_bilinear(images, columns + field[..., 0], rows + field[..., 1])
    return tf.where(chosen(images, config.elastic_probability, seed, 8), warped, images)


def break_strokes(images, probability: float, seed):
    """Cut a 1-2 px gap along a random line through the middle of a share of the images."""
    batch_size = tf.shape(images)[0]
    angle = uniform([batch_size, 1, 1], seed, 9) * math.pi
    offset = uniform([batch_size, 1, 1], seed, 10) * 6.0
    width = uniform([batch_size, 1, 1], seed, 11, low=0.5, high=1.1)
    rows, columns = tf.meshgrid(tf.range(SIZE, dtype=tf.float32), tf.range(SIZE, dtype=tf.float32),
                                indexing="ij")
    centre = (SIZE - 1.0) / 2.0
    distance = tf.abs((columns - centre) * tf.cos(angle) + (rows - centre) * tf.sin(angle) - offset)
    keep = tf.clip_by_value(distance - width + 0.5, 0.0, 1.0)[..., None]
    return tf.where(chosen(images, probability, seed, 12), images * keep, images)


def lower_resolution(images, probability: float, seed):
    """Down-sample to a random 10-18 px and back up, as a coarse scan or webcam would."""
    size = tf.cast(uniform([], seed, 13, low=10.0, high=18.99), tf.int32)
    coarse = tf.image.resize(tf.image.resize(images, [size, size], method="area"), [SIZE, SIZE],
                             method="bilinear")
    return tf.where(chosen(images, probability, seed, 14), coarse, images)


def fade_ink(images, probability: float, seed):
    """Lower the ink's peak and bend its tones (a pale pencil or a light scan)."""
    batch_size = tf.shape(images)[0]
    peak = uniform([batch_size, 1, 1, 1], seed, 15, low=0.45, high=1.0)
    gamma = tf.exp(uniform([batch_size, 1, 1, 1], seed, 16) * 0.5)
    faded = peak * tf.pow(tf.clip_by_value(images, 0.0, 1.0), gamma)
    return tf.where(chosen(images, probability, seed, 17), faded, images)


def augment_batch(images, config: AugmentConfig = AugmentConfig(), seed=(0, 0)):
    """Apply the configured random changes to a float32 batch (N, 28, 28, 1) in [0, 1].

    The seed is a pair of integers; the training pipeline passes (run seed, batch number) so
    a run is reproducible however many threads the pipeline uses.
    """
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    batch_size = tf.shape(images)[0]
    transforms = random_affine_matrices(batch_size, config, seed)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([SIZE, SIZE]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    if config.elastic_probability > 0:
        warped = elastic_warp(warped, config, seed)
    if config.stroke_change_probability > 0:
        warped = change_stroke_width(warped, config.stroke_change_probability, seed)
    if config.broken_stroke_probability > 0:
        warped = break_strokes(warped, config.broken_stroke_probability, seed)
    if config.low_resolution_probability > 0:
        warped = lower_resolution(warped, config.low_resolution_probability, seed)
    if config.faint_ink_probability > 0:
        warped = fade_ink(warped, config.faint_ink_probability, seed)
    return tf.clip_by_value(warped, 0.0, 1.0)
