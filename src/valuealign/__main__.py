from valuealign.cli import entry

entry()
