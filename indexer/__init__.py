"""Turn corpus files into kb Documents: discover, extract, describe, split, write."""
