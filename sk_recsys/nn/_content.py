"""Content encoders: text (CNN or GRU), images (CNN), numeric (MLP), fused.

A :class:`ContentEncoder` holds the encoded side information of every item
(or user) as buffers, so it moves with the module between devices and is
saved with it, and maps entity indices to vectors.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ContentEncoder", "ImageCNN", "TextCNN", "TextGRU"]


# The convolutions below keep nn.Conv1d/nn.Conv2d for their parameters but
# compute as windows times a matrix product: oneDNN's convolution kernels sum
# in an order that depends on the number of threads, so a seeded fit would
# differ between a process with two threads and a worker with one, while the
# matrix products give the same bits whatever the thread count.


def _conv1d(conv: nn.Conv1d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` for a stride-1 Conv1d with symmetric padding, via matmul."""
    (k,), (pad,) = conv.kernel_size, conv.padding
    windows = F.pad(x, (pad, pad)).unfold(2, k, 1)  # (n, c, positions, k)
    windows = windows.permute(0, 2, 1, 3).flatten(2)  # (n, positions, c * k)
    out = windows @ conv.weight.flatten(1).T + conv.bias
    return out.transpose(1, 2)


def _conv2d(conv: nn.Conv2d, x: torch.Tensor) -> torch.Tensor:
    """``conv(x)`` for a stride-1 Conv2d, via im2col and a matrix product."""
    n, _, height, width = x.shape
    columns = F.unfold(x, conv.kernel_size, padding=conv.padding)  # (n, c*k*k, h*w)
    out = conv.weight.flatten(1) @ columns + conv.bias[:, None]
    return out.view(n, -1, height, width)


class _MatmulConv2d(nn.Conv2d):
    """A 3x3, stride-1, same-padding Conv2d computed by :func:`_conv2d`."""

    def forward(self, x):
        return _conv2d(self, x)


class TextCNN(nn.Module):
    """Token embeddings, 1-D convolutions, max-pooling over positions.

    Parameters
    ----------
    vocab_size : int
        Number of token ids (0 is padding).
    dim : int, default=32
        Token embedding size.
    n_filters : int, default=32
        Filters per kernel size.
    kernel_sizes : tuple of int, default=(1, 3)
        Odd widths, padded to keep the sequence length.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import TextCNN
    >>> TextCNN(10, dim=4, n_filters=3)(torch.tensor([[2, 3, 0], [0, 0, 0]])).shape
    torch.Size([2, 6])
    """

    def __init__(self, vocab_size, dim=32, n_filters=32, kernel_sizes=(1, 3)):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.convs = nn.ModuleList(
            nn.Conv1d(dim, n_filters, k, padding=k // 2) for k in kernel_sizes
        )
        self.out_dim = n_filters * len(kernel_sizes)

    def forward(self, tokens, embedded=None) -> torch.Tensor:
        """Encode token ids (n, length); ``embedded`` replaces their embeddings."""
        x = self.embedding(tokens) if embedded is None else embedded
        x = x.transpose(1, 2)
        padding = (tokens == 0)[:, None, :]
        pooled = []
        for conv in self.convs:
            features = torch.relu(_conv1d(conv, x)).masked_fill(padding, float("-inf"))
            pooled.append(features.max(dim=2).values)
        out = torch.cat(pooled, dim=1)
        return torch.where(torch.isinf(out), torch.zeros_like(out), out)


class TextGRU(nn.Module):
    """Token embeddings read by a GRU; the last state of each sequence.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import TextGRU
    >>> TextGRU(10, dim=4, hidden=5)(torch.tensor([[2, 3, 0], [0, 0, 0]])).shape
    torch.Size([2, 5])
    """

    def __init__(self, vocab_size, dim=32, hidden=32):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.gru = nn.GRU(dim, hidden, batch_first=True)
        self.out_dim = hidden

    def forward(self, tokens, embedded=None) -> torch.Tensor:
        x = self.embedding(tokens) if embedded is None else embedded
        lengths = (tokens != 0).sum(1)
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, state = self.gru(packed)
        return state[-1] * (lengths > 0)[:, None]


class ImageCNN(nn.Module):
    """Two 3x3 convolution blocks and global average pooling.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import ImageCNN
    >>> ImageCNN(3, channels=(4, 8))(torch.zeros(2, 3, 8, 8)).shape
    torch.Size([2, 8])
    """

    def __init__(self, in_channels, channels=(16, 32)):
        super().__init__()
        layers, previous = [], in_channels
        for width in channels:
            layers += [
                _MatmulConv2d(previous, width, 3, padding=1),
                nn.ReLU(),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            previous = width
        self.layers = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.out_dim = previous

    def forward(self, images) -> torch.Tensor:
        return self.layers(images)


class ContentEncoder(nn.Module):
    """One vector per entity from its numeric, text and image features.

    Each available modality is encoded (numeric: a ReLU layer; text: a
    :class:`TextCNN` or :class:`TextGRU`; images: an :class:`ImageCNN`); the
    encodings are concatenated and mapped to ``out_dim`` by a linear layer
    (fusion by concatenation: every modality keeps its own weights, and a
    missing one simply has no block).

    With ``word_dropout=p``, training deletes each word of an entity's text
    with probability ``p`` (word dropout, Iyyer et al., 2015), the words left
    closing up, so a new subset at every step. The text encoder then cannot
    learn which exact combination of words names which training entity (and
    fit, e.g., their popularity, which does not carry over to new items)
    and leans on what words share; and a text that fits the training
    entities fast no longer stops the other modalities from learning. In
    eval mode every word is read and the output is deterministic.

    Parameters
    ----------
    numeric : array-like of shape (n, d) or None
    text : array-like of int of shape (n, length) or None
    images : array-like of shape (n, C, H, W) or None
        The encoded features of all ``n`` entities (see
        :class:`~sk_recsys.data.FeatureEncoder`), kept as buffers.
    out_dim : int
    vocab_size : int, default=2
        Token ids in ``text`` are below it.
    text_encoder : {"cnn", "rnn"}, default="cnn"
    hidden : int, default=64
        Width of each modality's encoding.
    word_dropout : float in [0, 1), default=0.0
        Probability of deleting each word of ``text`` during training.

    Examples
    --------
    >>> import torch
    >>> from sk_recsys.nn import ContentEncoder
    >>> encoder = ContentEncoder(numeric=torch.randn(4, 3),
    ...                          text=torch.tensor([[2, 3], [3, 0], [0, 0], [2, 2]]),
    ...                          out_dim=5, vocab_size=4, hidden=8)
    >>> encoder(torch.tensor([0, 3])).shape
    torch.Size([2, 5])
    """

    def __init__(
        self,
        numeric=None,
        text=None,
        images=None,
        *,
        out_dim,
        vocab_size=2,
        text_encoder="cnn",
        hidden=64,
        word_dropout=0.0,
    ):
        super().__init__()
        if not 0.0 <= word_dropout < 1.0:
            raise ValueError(f"word_dropout must be in [0, 1), got {word_dropout!r}.")
        self.word_dropout = float(word_dropout)
        sizes = [len(x) for x in (numeric, text, images) if x is not None]
        if not sizes:
            raise ValueError(
                "ContentEncoder needs at least one of numeric, text and images."
            )
        self.n_entities = sizes[0]
        width = 0
        self.numeric_block = self.text_block = self.image_block = None
        if numeric is not None:
            numeric = torch.as_tensor(numeric, dtype=torch.float32)
            self.register_buffer("numeric", numeric)
            self.numeric_block = nn.Sequential(
                nn.Linear(self.numeric.shape[1], hidden), nn.ReLU()
            )
            width += hidden
        if text is not None:
            self.register_buffer("text", torch.as_tensor(text, dtype=torch.long))
            if text_encoder == "cnn":
                self.text_block = TextCNN(vocab_size, n_filters=max(hidden // 2, 1))
            elif text_encoder == "rnn":
                self.text_block = TextGRU(vocab_size, hidden=hidden)
            else:
                raise ValueError(
                    f"text_encoder={text_encoder!r} is not one of 'cnn', 'rnn'."
                )
            width += self.text_block.out_dim
        if images is not None:
            self.register_buffer("images", torch.as_tensor(images, dtype=torch.float32))
            self.image_block = ImageCNN(self.images.shape[1])
            width += self.image_block.out_dim
        self.fuse = nn.Linear(width, out_dim)

    def inputs(self, index):
        """The raw features of entities ``index``: (numeric, text, images)."""
        return (
            None if self.numeric_block is None else self.numeric[index],
            None if self.text_block is None else self.text[index],
            None if self.image_block is None else self.images[index],
        )

    def encode(self, numeric=None, text=None, images=None, text_embedded=None):
        """Vectors from explicit features (gradients flow to all inputs)."""
        parts = []
        if self.numeric_block is not None:
            parts.append(self.numeric_block(numeric))
        if self.text_block is not None:
            if self.training and self.word_dropout and text_embedded is None:
                text = self._drop_words(text)
            parts.append(self.text_block(text, text_embedded))
        if self.image_block is not None:
            parts.append(self.image_block(images))
        return self.fuse(torch.cat(parts, dim=-1))

    def _drop_words(self, text):
        """Delete each word with probability ``word_dropout``, the rest moved
        to the front (in order), so every encoder sees a shorter text."""
        keep = (text != 0) & (
            torch.rand(text.shape, device=text.device) >= self.word_dropout
        )
        order = torch.argsort((~keep).to(torch.int8), dim=1, stable=True)
        return (text * keep).gather(1, order)

    def forward(self, index) -> torch.Tensor:
        flat = index.reshape(-1)
        distinct, inverse = torch.unique(flat, return_inverse=True)
        vectors = self.encode(*self.inputs(distinct))[inverse]
        return vectors.reshape(*index.shape, -1)
