"""Images without a registry: a debootstrapped Debian base, the app image, the link-proxy image.

In a nutshell: every tag is a content hash (recipe → base; base id + wheels → app/proxy), so
``ensure_images()`` is a few tag lookups when nothing changed and a targeted rebuild when
something did; ``require_images()`` is the no-build preflight that names ``make images``.
Nothing is ever pulled: the base is ``docker import``ed, the others build ``FROM`` it offline.

    tags = ensure_images()      # ~45 s the first time on a fresh machine, ~1-2 s afterwards
    tags.app, tags.proxy        # "chaosplane-app:<sha12>", "chaosplane-linkproxy:<sha12>"
"""

from harness.images.ensure import ImageTags, ensure_images, require_images
from harness.images.recipe import BaseRecipe
from harness.images.steps import Steps

__all__ = ["BaseRecipe", "ImageTags", "Steps", "ensure_images", "require_images"]
