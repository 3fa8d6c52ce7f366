"""The workbench (线索核查工作台): where a team works the clues together, from assignment to
closure, over the casework database (`crosscheck.casework`). FastAPI lives here and nowhere
else. See docs/workbench.md and `crosscheck.workbench.api` for the JSON contract."""
