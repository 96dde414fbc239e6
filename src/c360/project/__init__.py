"""A c360 project: `c360.yaml`, the systems it connects, and the store it keeps."""
