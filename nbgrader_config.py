"""nbgrader course configuration (see README, "Classroom use").

solutions/NN_topic/*.ipynb are the instructor's source notebooks; `make release` generates the
student copies in chapters/NN_topic/ with nbgrader's generate_assignment.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader/traitlets

# traitlets defines __file__ while it executes a config file: the course root is this folder.
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "chapters"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
# Solutions, hidden tests and build leftovers never travel into a release.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".*"]
# Stored notebooks carry no outputs.
c.ClearOutput.enabled = True
# The grader (genlab grade) sets its own timeouts; these are nbgrader's defaults for `nbgrader autograde`.
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300
