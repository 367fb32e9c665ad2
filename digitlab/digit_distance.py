"""How far an image is from every digit class, in the digit model's own features (Mahalanobis).

A mark unlike every digit lands far from all ten class means of the digit model's penultimate
features, even where the model's softmax is sure (Lee et al. 2018). The distance is built from
standard Keras layers, so the rejector that carries it saves as .keras and converts to LiteRT:
with the precision matrix P = L Lᵀ, the squared distance to class c is ‖z‖² − 2 z·m_c + ‖m_c‖²
with z = f L and m_c = μ_c L, and the score is the smallest of the ten.
"""

from __future__ import annotations

import numpy as np

SHRINKAGE = 1e-3  # added to the covariance's diagonal, so it is always invertible


def feature_model(digit_model):
    """The digit model up to the input of its last (softmax) layer."""
    import keras

    return keras.Model(digit_model.input, digit_model.layers[-1].input, name="digit_features")


def class_statistics(features: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class means (10, D) and the shared precision matrix (D, D) of the features."""
    features = np.asarray(features, np.float64)
    means = np.stack([features[labels == digit].mean(axis=0) for digit in range(10)])
    centred = features - means[labels]
    covariance = centred.T @ centred / len(features) + SHRINKAGE * np.eye(features.shape[1])
    return means, np.linalg.inv(covariance)


def distance_head(features, means: np.ndarray, precision: np.ndarray):
    """Keras layers: features (N, D) -> (N, 1), the squared distance to the nearest class."""
    from keras import layers

    root = np.linalg.cholesky(precision)  # precision = root @ root.T
    projected_means = means @ root
    dimension, classes = root.shape[0], len(means)
    z = layers.Dense(dimension, use_bias=False, trainable=False, name="whiten")(features)
    cross = layers.Dense(classes, trainable=False, name="to_means")(z)  # ||m||^2 - 2 z.m
    squares = layers.Multiply(name="squares")([z, z])
    length = layers.Dense(classes, use_bias=False, trainable=False, name="length")(squares)
    distances = layers.Add(name="distances")([cross, length])
    negated = layers.Dense(classes, use_bias=False, trainable=False, name="negate")(distances)
    nearest = layers.GlobalMaxPooling1D(name="nearest")(layers.Reshape((classes, 1))(negated))
    score = layers.Dense(1, use_bias=False, trainable=False, name="distance")(nearest)
    weights = {"whiten": [root], "to_means": [-2 * projected_means.T,
                                              (projected_means ** 2).sum(axis=1)],
               "length": [np.ones((dimension, classes))], "negate": [-np.eye(classes)],
               "distance": [-np.ones((1, 1))]}
    return score, weights


def set_weights(model, weights: dict) -> None:
    """Load the fixed weights of distance_head's layers into the built model."""
    for name, values in weights.items():
        model.get_layer(name).set_weights([np.asarray(value, np.float32) for value in values])
