"""Generator checkpoints: the native folder format, the input contract a checkpoint carries, conversion of the authors' files, and the pretrained weights of the evaluation networks."""
