"""One module per receiver kind: each turns a group of alerts into its service's request and reads the answer."""
