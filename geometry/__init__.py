"""What the Belle II detector is: figures, meshes, cell maps and projection outlines (pure numpy)."""
