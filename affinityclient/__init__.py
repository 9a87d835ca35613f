"""Audit and repair the store affinity of images already in Glance.

The Glance, Nova and Cinder series place *new* snapshots and volume
uploads next to their base image. A cloud that adopts them still holds
the images made before, most of them in the default store. This package
answers the two questions an operator has then, as an OpenStackClient
plugin:

``openstack image affinity audit``
    Every image that names a base image (Nova's ``base_image_ref`` on
    snapshots and backups; a Cinder upload's source image where Cinder
    recorded it) and is not in all the writable stores of that base.

``openstack image affinity repair``
    Copies those images into the stores they miss with Glance's own
    ``copy-image`` import, resumably.

The layers, one idea per module:

- :mod:`.stores` reads ``/v2/info/stores`` (and ``/detail`` when the
  caller may) and says which stores are writable.
- :mod:`.images` pages through the image list and reads what an image
  says about its base; :mod:`.basecache` keeps a bounded number of base
  images.
- :mod:`.audit` turns images into :class:`~.audit.Finding` rows, one at
  a time; :mod:`.summary` adds them up per store pair.
- :mod:`.state`, :mod:`.progress` and :mod:`.repair` carry out a repair.
- :mod:`.osc` is the OpenStackClient side: option parsing and output
  only.

Everything goes through openstacksdk's image proxy on the session that
OpenStackClient built from ``clouds.yaml`` / ``OS_*``: no second auth
path and no HTTP of our own.
"""
