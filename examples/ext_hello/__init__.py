"""Hello: an example extension that implements every hook of the host."""
