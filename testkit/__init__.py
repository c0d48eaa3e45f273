"""What the tests and the scripts both use to make inputs (not tests themselves): the fuzz strategies."""
