"""What decides dependencies and images: lock files read, wheel tags judged, the system
packages each distribution needs, and the Dockerfile lines that install them."""
