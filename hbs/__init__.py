"""The `hbs` command: the school's working group's entry point.

It sits above the flows (hbs -> flows -> tasks -> hocbaso/validation): it
parses options, makes sure a Prefect API is there, runs one flow per verb and
turns project errors into Vietnamese messages at one boundary.
"""
