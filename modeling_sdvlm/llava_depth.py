"""What the LLaVA families (LLaVA-1.5, LLaVA-OneVision) share for depth on the model side.

Both add the depth encoding to the output of the plain `get_image_features` (`plain_image_features`),
in their own `get_image_features(..., depth_values=...)`; and both encode the images with their depth
ahead of the plain forward through it, handing the plain forward the depth-encoded features as
`mm_encoder_outputs["image"]` in place of the pixels (`encode_images_with_depth`).
"""


class LlavaDepthModelMixin:
    """`plain_image_features` and `encode_images_with_depth` (see `depth_plumbing.depth_model_forward`) for a
    LLaVA family's base model.

    Subclasses put it before the transformers class: `class SDVLMModel(LlavaDepthModelMixin, LlavaModel)`,
    set `forward = depth_model_forward(LlavaModel.forward)`, and name in `image_feature_arguments` the
    forward's arguments that `get_image_features` takes too.
    """

    image_feature_arguments: tuple[str, ...] = ()
    # Depth given to a `use_depth=False` model: still checked to come with images (LLaVA-1.5), or
    # dropped unchecked (False, OneVision); either way the features are the plain model's.
    checks_unused_depth = True

    def plain_image_features(self, **arguments):
        """The plain `get_image_features(**arguments)` as an output object (`return_dict` is forced on:
        the family's own `get_image_features` turns it into a tuple where asked, `@can_return_tuple`)."""
        arguments.pop("return_dict", None)
        return super().get_image_features(**arguments, return_dict=True)

    def encode_images_with_depth(self, arguments: dict, depth_values) -> dict:
        """The plain forward's arguments with the pixels consumed (None) and their depth-encoded
        features in `mm_encoder_outputs["image"]`.

        Args:
            arguments: the forward's arguments as passed, extra keywords under `"kwargs"`.
            depth_values: as the family's `get_image_features` takes it.
        """
        arguments = dict(arguments)
        arguments.update(arguments.pop("kwargs", {}))
        if not (self.config.use_depth or self.checks_unused_depth):
            return arguments
        pixel_values = arguments.get("pixel_values")
        if pixel_values is None:
            raise ValueError(
                "depth_values were given without pixel_values: depth is encoded into the image tokens at "
                "prefill only, so pass it together with the images"
            )
        mm_encoder_outputs = arguments.get("mm_encoder_outputs")
        if mm_encoder_outputs is not None and mm_encoder_outputs.get("image") is not None:
            raise ValueError("pass either pixel_values with depth_values or precomputed mm_encoder_outputs, not both")
        image_outputs = self.get_image_features(
            pixel_values=pixel_values,
            depth_values=depth_values,
            return_dict=True,
            **{name: arguments.get(name) for name in self.image_feature_arguments},
        )
        image_outputs = {**(mm_encoder_outputs or {}), "image": image_outputs}
        return {**arguments, "pixel_values": None, "mm_encoder_outputs": image_outputs}


__all__ = ["LlavaDepthModelMixin"]
