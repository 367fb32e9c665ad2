"""The line reader's network: a small CRNN (convolutions, then a 1-D convolutional sequence, CTC).

Input: a line normalised by `digitlab.lineimage` to 32 px high and any width. The 2-D part
brings the height to 1 and the width down by four (one time step per 4 input columns, about
six per digit); two dilated 1-D convolutions let each step see a digit and a half either side.
The output is a softmax over the ten digits and the CTC blank (last) at each step. Only
convolutions, so the exported LiteRT model takes any width; no recurrent layer to unroll.
"""

from __future__ import annotations

import keras
from keras import layers

from digitlab.lineimage import LINE_HEIGHT
from digitlab.models import conv_block
from digitlab.reader import NUM_CLASSES


def build_reader(width: int = 32, sequence_units: int = 128, dropout_rate: float = 0.2) -> keras.Model:
    """The CRNN: (batch, 32, width, 1) in [0, 1] -> (batch, width / 4, 11) probabilities."""
    inputs = keras.Input(shape=(LINE_HEIGHT, None, 1), name="line")
    x = conv_block(inputs, width // 2, 5, strides=2, padding="same")  # 16 x W/2
    x = conv_block(x, width, 3, strides=2, padding="same")  # 8 x W/4
    x = conv_block(x, width * 2, 3, padding="same")
    x = conv_block(x, width * 2, 3, padding="same")
    x = conv_block(x, width * 3, 3, strides=(2, 1), padding="same")  # 4 x W/4
    x = conv_block(x, width * 3, 3, strides=(2, 1), padding="same")  # 2 x W/4
    x = conv_block(x, sequence_units, (2, 1))  # 1 x W/4
    x = layers.Reshape((-1, sequence_units))(x)
    for dilation in (1, 2):
        step = layers.Conv1D(sequence_units, 5, padding="same", dilation_rate=dilation,
                             activation="relu")(x)
        x = layers.Add()([x, layers.Dropout(dropout_rate)(step)])
    outputs = layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="reader")
