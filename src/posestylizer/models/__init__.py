"""Networks: the APS generator (appearance encoder + pose stylizer) and the two ResNet discriminators."""

from posestylizer.models.discriminator import ResnetDiscriminator, build_discriminators
from posestylizer.models.generator import AppearanceEncoder, APSDecoder, Generator, init_generator_weights
from posestylizer.models.geometry import GeneratorGeometry, plan_geometry

__all__ = [
    "APSDecoder",
    "AppearanceEncoder",
    "Generator",
    "GeneratorGeometry",
    "ResnetDiscriminator",
    "build_discriminators",
    "init_generator_weights",
    "plan_geometry",
]
