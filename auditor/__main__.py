"""`python -m auditor` runs the command line."""

from auditor.cli import main

if __name__ == "__main__":  # a worker process started by `spawn` imports this module
    main()
