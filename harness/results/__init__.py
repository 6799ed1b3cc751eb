"""Results of a drill: the raw records written while it runs and the report model built from them."""
