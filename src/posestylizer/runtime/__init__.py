"""Runtime helpers with no knowledge of the model: atomic files, image files, optional extras, progress bars, precision and thread choice."""
