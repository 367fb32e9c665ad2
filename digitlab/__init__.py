"""digitlab: handwritten digit recognition, from MNIST to a drawing app and a camera server."""

__version__ = "0.1.0"
