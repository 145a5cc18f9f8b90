"""SeparableConv2D: a depthwise convolution, then a 1x1 convolution that mixes the channels."""

from __future__ import annotations

import numpy as np

from .. import constraints, regularizers
from .blocks import channel_sums
from .conv import positive_integer
from .depthwise_conv import DepthwiseConv2D

__all__ = ["SeparableConv2D"]


class SeparableConv2D(DepthwiseConv2D):
    """y = activation(pointwise(depthwise(x)) + bias), Keras's SeparableConv2D.

    Shapes: x (N, H, W, C) -> d (N, Ho, Wo, C M) -> y (N, Ho, Wo, F); depthwise_kernel (kh, kw, C, M),
    pointwise_kernel (1, 1, C M, F), bias (F,). The depthwise map d, its strides, padding and gradients
    are DepthwiseConv2D's (see its docstring); the pointwise map is a matrix product per pixel:
        z = D P                      D = d as (N Ho Wo, C M), P = pointwise_kernel as (C M, F)
    Backward, with G = dL/dz as (N Ho Wo, F):
        dL/dpointwise_kernel = D^T G       dL/dbias = sum of G's rows
        dL/dd = G P^T, then DepthwiseConv2D's backward for dL/ddepthwise_kernel and dL/dx
    """

    depthwise_weight = "depthwise_kernel"

    def __init__(
        self,
        filters: int,
        kernel_size,
        strides=1,
        padding: str = "valid",
        depth_multiplier: int = 1,
        dilation_rate=1,
        activation=None,
        use_bias: bool = True,
        depthwise_initializer="glorot_uniform",
        pointwise_initializer="glorot_uniform",
        bias_initializer="zeros",
        depthwise_regularizer=None,
        pointwise_regularizer=None,
        depthwise_constraint=None,
        pointwise_constraint=None,
        **kwargs,
    ):
        super().__init__(
            kernel_size,
            strides,
            padding,
            depth_multiplier,
            dilation_rate,
            activation=activation,
            use_bias=use_bias,
            depthwise_initializer=depthwise_initializer,
            bias_initializer=bias_initializer,
            depthwise_regularizer=depthwise_regularizer,
            depthwise_constraint=depthwise_constraint,
            **kwargs,
        )
        self.filters = positive_integer(filters, f"SeparableConv2D '{self.name}'", "filters")
        self.pointwise_initializer = pointwise_initializer
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def build(self, input_shape):
        channels = self.check_input(input_shape)
        depth = channels * self.depth_multiplier
        self.add_weight(
            (*self.kernel_size, channels, self.depth_multiplier),
            self.depthwise_initializer,
            regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint,
            name="depthwise_kernel",
        )
        self.add_weight(
            (1, 1, depth, self.filters),
            self.pointwise_initializer,
            regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint,
            name="pointwise_kernel",
        )
        if self.use_bias:
            self.add_bias_weight(self.filters)
        if self.activation is not None:
            self.activation.build_for(self.compute_output_shape(input_shape))

    def compute_output_shape(self, input_shape):
        return (*self.windows_shape(input_shape), self.filters)

    def linear(self, x):
        self.input = x
        self.depthwise_output = self.depthwise(x)
        return self.pointwise(self.depthwise_output)

    def linear_inference(self, x):
        return self.pointwise(self.depthwise(x))

    def pointwise(self, d: np.ndarray) -> np.ndarray:
        pointwise = self.params["pointwise_kernel"].reshape(-1, self.filters)
        return (d.reshape(-1, d.shape[-1]) @ pointwise).reshape(*d.shape[:-1], self.filters)

    def linear_backward(self, g: np.ndarray) -> np.ndarray | None:
        d = self.depthwise_output
        pointwise, g_rows = self.params["pointwise_kernel"].reshape(-1, self.filters), g.reshape(-1, self.filters)
        d_rows = d.reshape(-1, d.shape[-1])
        np.matmul(d_rows.T, g_rows, out=self.grad_buffer("pointwise_kernel").reshape(pointwise.shape))
        if self.use_bias:
            np.copyto(self.grad_buffer("bias"), channel_sums(g))
        depthwise_grad, dx = self.depthwise_backward(self.input, (g_rows @ pointwise.T).reshape(d.shape))
        np.copyto(self.grad_buffer("depthwise_kernel"), depthwise_grad)
        return dx
