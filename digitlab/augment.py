"""Batch augmentation for digits: one random affine warp (rotate, zoom, shift) and stroke width."""

from __future__ import annotations

import math
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class AugmentConfig:
    """How far each random change may go."""

    rotation_degrees: float = 10.0
    zoom_fraction: float = 0.10
    shift_fraction: float = 0.10
    stroke_change_probability: float = 0.3


def uniform(shape, seed, salt: int, low: float = -1.0, high: float = 1.0):
    """Stateless uniform numbers: the same seed and salt always give the same values."""
    return tf.random.stateless_uniform(shape, seed=seed + tf.constant([0, salt], tf.int64),
                                       minval=low, maxval=high)


def random_affine_matrices(batch_size, config: AugmentConfig, seed):
    """Per-image 8-number projective transforms (output -> input coordinates) about the centre."""
    size = 28.0
    centre = (size - 1.0) / 2.0
    angle = uniform([batch_size], seed, 1) * (config.rotation_degrees * math.pi / 180.0)
    zoom = 1.0 + uniform([batch_size], seed, 2) * config.zoom_fraction
    shift_x = uniform([batch_size], seed, 3) * config.shift_fraction * size
    shift_y = uniform([batch_size], seed, 4) * config.shift_fraction * size
    cos, sin = tf.cos(angle) / zoom, tf.sin(angle) / zoom
    # input = R/zoom * (output - centre - shift) + centre
    offset_x = centre - cos * (centre + shift_x) + sin * (centre + shift_y)
    offset_y = centre - sin * (centre + shift_x) - cos * (centre + shift_y)
    zeros = tf.zeros_like(angle)
    return tf.stack([cos, -sin, offset_x, sin, cos, offset_y, zeros, zeros], axis=1)


def change_stroke_width(images, probability: float, seed):
    """Thicken (2x2 max) or thin (2x2 min) a random share of the images."""
    thicker = tf.nn.max_pool2d(images, ksize=2, strides=1, padding="SAME")
    thinner = -tf.nn.max_pool2d(-images, ksize=2, strides=1, padding="SAME")
    choice = uniform([tf.shape(images)[0], 1, 1, 1], seed, 5, low=0.0)
    half = probability / 2.0
    return tf.where(choice < half, thicker, tf.where(choice < probability, thinner, images))


def augment_batch(images, config: AugmentConfig = AugmentConfig(), seed=(0, 0)):
    """Apply a random warp and stroke change to a float32 batch (N, 28, 28, 1) in [0, 1].

    The seed is a pair of integers; the training pipeline passes (run seed, batch number) so
    a run is reproducible however many threads the pipeline uses.
    """
    seed = tf.cast(tf.convert_to_tensor(seed), tf.int64)
    batch_size = tf.shape(images)[0]
    transforms = random_affine_matrices(batch_size, config, seed)
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.constant([28, 28]),
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT",
    )
    if config.stroke_change_probability > 0:
        warped = change_stroke_width(warped, config.stroke_change_probability, seed)
    return tf.clip_by_value(warped, 0.0, 1.0)
