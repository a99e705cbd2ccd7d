"""Generated results: the authors' result-file protocol (:mod:`.protocol`) and the pictures of pairs (:mod:`.panels`)."""
