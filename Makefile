# The two commands of the README. Both install what is missing and start what they need.
.PHONY: dev test bench setup lint format messages

dev:  ## set up, start PostgreSQL + Redis, migrate, load demo data, run web + worker + beat
	@scripts/dev.sh

test:  ## set up without demo data, run the whole suite, then the browser tests
	@scripts/test.sh

bench:  ## load a million customers once (database crm_bench), then measure pages and jobs
	@scripts/bench.sh

setup:  ## only install what is missing (system packages as root, .venv, npm packages)
	@scripts/setup.sh test

lint:
	@.venv/bin/ruff check .

format:
	@.venv/bin/ruff format .

messages:  ## refresh the translation catalogues after changing user-facing text
	@.venv/bin/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=node_modules --ignore=.data
	@.venv/bin/python manage.py compilemessages --ignore=.venv --ignore=node_modules
