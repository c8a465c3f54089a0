"""The stored map format's name and version, and the version's history.

Every checkpoint records both (attributes ``format`` and ``schema_version``); loading refuses another
format with ``StoreError`` and another version with ``SchemaMismatchError`` (there is no migration
yet: a new version must add one, or say why old stores need none). The wire protocol has its own
version (``mem3d.protocol.wire.SCHEMA_VERSION``).

History:

1. A checkpoint is a zarr v3 group: one array per voxel column (``voxels/<column>``, live rows only),
   the codebook arrays (``codebook/<part>``), and attributes with the map config, the voxel count,
   a CRC32 per array and the caller's extra attributes.
2. The attributes a load trusts (config, voxel count, checksums, extra) carry their own CRC32
   (``metadata_crc``), so altered metadata is reported instead of loaded.
"""

FORMAT = "mem3d-voxel-map"
SCHEMA_VERSION = 2
