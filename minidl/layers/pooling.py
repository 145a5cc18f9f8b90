"""MaxPooling2D: the maximum of each (ph, pw) window, channels-last, Keras's semantics."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..parallel import blockwise, scratch
from .base import Layer
from .conv import check_rank4, conv_output_length, normalize_padding, normalize_tuple, same_padding, window_slices


def first_max(views: list[np.ndarray], out: np.ndarray, arg: np.ndarray | None = None) -> None:
    """out = the element-wise maximum of the views; arg (unsigned, if given) = the index of the first view
    holding it. A later view takes over only by being larger, and has a larger index, so arg is a running
    maximum of better * k. The first two views are combined straight into out (a copy of the first would
    be one more pass over memory)."""
    if len(views) == 1:
        np.copyto(out, views[0])
    else:
        np.maximum(views[0], views[1], out=out)
    if arg is None:
        for view in views[2:]:
            np.maximum(out, view, out=out)
        return
    if len(views) == 1:
        arg.fill(0)
        return
    np.greater(views[1], views[0], out=arg.view(bool) if arg.itemsize == 1 else arg)
    for k, view in enumerate(views[2:], 2):
        better = np.greater(view, out)
        np.maximum(arg, better * arg.dtype.type(k), out=arg)
        np.maximum(out, view, out=out)


class Pooling2D(Layer):
    """What the 2D poolings share: their window arguments (strides default to pool_size) and the output
    shape, Ho = conv_output_length(H, ph, sh, padding) (see MaxPooling2D)."""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", **kwargs):
        super().__init__(**kwargs)
        owner = f"{type(self).__name__} '{self.name}'"
        self.pool_size = normalize_tuple(pool_size, owner, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, owner, "strides")
        self.padding = normalize_padding(padding, owner)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        ho = None if h is None else conv_output_length(h, ph, sh, self.padding)
        wo = None if w is None else conv_output_length(w, pw, sw, self.padding)
        return (n, ho, wo, c)


class Stage(NamedTuple):
    """One step of MaxPooling2D's training forward: the slices of its input that hold one candidate of every
    window, compared in that order; its output's (height, width); whether each input cell is in at most
    one window (disjoint), and in exactly one (tiled)."""

    candidates: list[tuple]
    out_hw: tuple[int, int]
    disjoint: bool
    tiled: bool


class MaxPooling2D(Pooling2D):
    """y[n, i, j, c] = max_{a < ph, b < pw} xp[n, i sh + a, j sw + b, c].

    Shapes: x (N, H, W, C) -> y (N, Ho, Wo, C);  strides default to pool_size (non-overlapping).
        "valid": Ho = floor((H - ph) / sh) + 1 (odd leftovers are cropped, as Keras);
        "same":  Ho = ceil(H / sh), x padded with -inf as TF's "same" padding (extra row after).

    Backward: each window's gradient goes to ONE input, its arg-max, as TF does; on ties the first
    maximum in row-major window order (a, then b) wins. Overlapping windows add up, in the windows'
    row-major order (i, then j) as TF sums them (pools in two steps, see _stages: a column's first):
        dL/dxp[n, i sh + a*, j sw + b*, c] += dL/dy[n, i, j, c],   (a*, b*) = first arg-max of window (i, j)
    and dL/dx is dL/dxp with the padding cropped.   No parameters.
    """

    def build(self, input_shape):
        check_rank4(self, input_shape)
        _, h, w, _ = input_shape
        if self.padding == "valid" and (
            (h is not None and h < self.pool_size[0]) or (w is not None and w < self.pool_size[1])
        ):
            raise ValueError(
                f"Layer '{self.name}': pool_size {self.pool_size} is larger than the input {h}x{w} with padding 'valid'"
            )

    def forward(self, x, training=False):
        self.input = x
        x, self.pads = self._padded(x)
        self.padded_shape = x.shape
        n, _, _, c = x.shape
        _, ho, wo, _ = Pooling2D.compute_output_shape(self, self.input.shape)  # 4-D, also under OnTimeAxis
        out = np.empty((n, ho, wo, c), dtype=x.dtype)
        self.places_of_max: list[np.ndarray] | None = None  # each stage's: the index of its first maximum
        if not training:
            blockwise(self._pool_rows_first, x, out, block=None)
            return out
        stages = self._stages(ho, wo)
        self.places_of_max = [
            np.empty((n, *stage.out_hw, c), np.uint8 if len(stage.candidates) <= 256 else np.uint32) for stage in stages
        ]

        def pool_and_keep_places(x_block, out_block, *places):
            for k, (stage, place) in enumerate(zip(stages, places)):
                last = k == len(stages) - 1
                pooled = out_block if last else scratch("pooled stage", place.shape, x_block.dtype)
                first_max([x_block[cells] for cells in stage.candidates], pooled, place)
                x_block = pooled

        blockwise(pool_and_keep_places, x, out, *self.places_of_max, block=None)
        return out

    def inference_map(self):
        def pool(x: np.ndarray) -> np.ndarray:
            xp, _ = self._padded(x)
            out = np.empty(Pooling2D.compute_output_shape(self, x.shape), dtype=x.dtype)
            self._pool_rows_first(xp, out)
            return out

        return pool

    def _padded(self, x: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        """x with "same"'s padding of -inf (a padded cell never wins a window: each holds >= 1 real cell),
        and the (top, bottom, left, right) pads."""
        if self.padding == "valid":
            return x, (0, 0, 0, 0)
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        pads = (*same_padding(x.shape[1], ph, sh), *same_padding(x.shape[2], pw, sw))
        if not any(pads):
            return x, (0, 0, 0, 0)
        top, bottom, left, right = pads
        return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)), constant_values=-np.inf), pads

    def _pool_rows_first(self, xp: np.ndarray, out: np.ndarray) -> None:
        """out (n, Ho, Wo, C) <- the maxima of padded xp's windows. The max over a window is a max over its
        rows, then over its columns: (ph - 1) + (pw - 1) vectorised steps on strided views, no loop over
        pixels; rows first, as full rows of Wp C contiguous values are faster to compare."""
        _, ho, wo, c = out.shape
        (ph, pw), strides = self.pool_size, self.strides
        rows = [xp[:, window_slices(a, 0, (ho, wo), strides)[1]] for a in range(ph)]
        row_max = rows[0]  # (n, Ho, Wp, C); for one-row windows, the rows themselves
        if ph > 1:
            row_max = scratch("pooled rows", (len(xp), ho, xp.shape[2], c), xp.dtype)
            first_max(rows, row_max)
        first_max([row_max[:, :, window_slices(0, b, (ho, wo), strides)[2]] for b in range(pw)], out)

    def _stages(self, ho: int, wo: int) -> list[Stage]:
        """The training forward's steps, each finding the first maximum among its candidates (so the
        window's first in row-major order): one step over the window's ph pw cells in row-major order; or,
        where that compares more values (stride-1 windows of 3 x 3 and up), two: the columns b of every row
        into (N, Hp, Wo, C), then the rows a of those (ph + pw candidates instead of ph pw)."""
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        _, hp, wp, _ = self.padded_shape
        rows_tiled, columns_tiled = (sh, ho * ph) == (ph, hp), (sw, wo * pw) == (pw, wp)
        if ph * pw * ho <= pw * hp + ph * ho:
            cells = [window_slices(a, b, (ho, wo), (sh, sw)) for a in range(ph) for b in range(pw)]
            return [Stage(cells, (ho, wo), sh >= ph and sw >= pw, rows_tiled and columns_tiled)]
        columns = [window_slices(0, b, (hp, wo), (1, sw)) for b in range(pw)]
        rows = [window_slices(a, 0, (ho, wo), (sh, 1)) for a in range(ph)]
        return [Stage(columns, (hp, wo), sw >= pw, columns_tiled), Stage(rows, (ho, wo), sh >= ph, rows_tiled)]

    def backward(self, grad_output):
        n, ho, wo, c = grad_output.shape
        if self.places_of_max is None:  # an inference forward: find the places now
            self.forward(self.input, training=True)
        assert self.places_of_max is not None
        stages = self._stages(ho, wo)
        dxp = np.empty(self.padded_shape, dtype=grad_output.dtype)

        def route(dxp_block, g, *places):  # on a block of samples, the stages backwards: each candidate's
            for k in reversed(range(len(stages))):  # gradient to the first maximum among the candidates
                stage, place = stages[k], places[k]
                gradient = dxp_block if k == 0 else scratch("pooled gradient", places[k - 1].shape, g.dtype)
                if not stage.tiled:  # cells outside every window (or shared between windows) start at 0
                    gradient.fill(0)
                is_max = scratch("is max", place.shape, bool)
                # the candidates last to first: overlapping windows add up in row-major window order, as TF
                for index in reversed(range(len(stage.candidates))):
                    np.equal(place, index, out=is_max)
                    cells = gradient[stage.candidates[index]]
                    if stage.disjoint:  # each cell in one window: write
                        np.multiply(g, is_max, out=cells)
                    else:
                        np.add(cells, np.multiply(g, is_max, out=scratch("share", g.shape, g.dtype)), out=cells)
                g = gradient

        # samples split between the cores (faster than one thread: benchmarks/README.md)
        blockwise(route, dxp, grad_output, *self.places_of_max, block=None)
        top, bottom, left, right = self.pads
        return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]


class OnTimeAxis:
    """Mixin: a 2-D pooling run on the (N, 1, T, C) view of (N, T, C) inputs, (1, p) windows, for the 1-D
    poolings (their maths are the 2-D layer's; see its docstring)."""

    name: str

    def __init__(self, pool_size=2, strides=None, padding: str = "valid", **kwargs):
        owner = type(self).__name__
        pool = normalize_tuple(pool_size, owner, "pool_size", 1)
        stride = pool if strides is None else normalize_tuple(strides, owner, "strides", 1)
        super().__init__((1, *pool), strides=(1, *stride), padding=padding, **kwargs)  # type: ignore[call-arg]

    def get_config(self):
        config = super().get_config()  # type: ignore[misc]
        return {**config, "pool_size": config["pool_size"][1:], "strides": config["strides"][1:]}

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                f"Input 0 of layer '{self.name}' is incompatible with the layer: expected ndim=3 "
                f"(batch, steps, channels), found ndim={len(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        n, _, steps, c = super().compute_output_shape(  # type: ignore[misc]
            (input_shape[0], 1, input_shape[1], input_shape[2])
        )
        return (n, steps, c)

    def forward(self, x, training=False):
        return super().forward(x[:, None], training)[:, 0]  # type: ignore[misc]

    def backward(self, grad_output):
        return super().backward(grad_output[:, None])[:, 0]  # type: ignore[misc]


class MaxPooling1D(OnTimeAxis, MaxPooling2D):
    """Keras's MaxPooling1D: x (N, T, C) -> y (N, To, C), the maxima over windows of `pool_size` steps."""
