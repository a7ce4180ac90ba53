"""deploy/ and docs/deploy.md name only commands, flags and settings that exist.

No container runtime or systemd runs here, so the deployment files are checked against
the code they drive: every `widget-monitor` command line in them against the real CLI
parser, every `WIDGET_MONITOR_*` variable against `Settings` (or the code that reads it),
and the Dockerfile's commands and COPY sources against the repository.

Commands are read from code only: Markdown code spans and blocks, the lines of a config
file that are not comments, and `backticked` spans inside its comments. Prose such as
"in front of widget-monitor on loopback" is not a command line.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest

from ingest_api.settings import Settings
from widget_monitor.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
DOC = REPO / "docs" / "deploy.md"
DOCKERFILE = DEPLOY / "Dockerfile"
UNITS = sorted(DEPLOY.glob("*.service"))
FILES = [*sorted(path for path in DEPLOY.iterdir() if path.is_file()), DOC]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PACKAGES = [pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]]

# Variables that are not Settings fields, and the package that must read each.
READ_ELSEWHERE = {
    "WIDGET_MONITOR_API_URL": "streamlit_app",  # the dashboard's API (launcher passes it on)
    "WIDGET_MONITOR_API_TOKEN": "streamlit_app",  # the token the dashboard sends
}

# `widget-monitor` as a program (at the start, after a space, quote, `=` or a path), then a
# plain word: `systemctl restart widget-monitor widget-monitor-dashboard` names two units.
COMMAND = re.compile(r"(?:^|(?<=[\s`\"'(=/]))widget-monitor[ \t]+(?=[a-z]+(?:\s|$))(?P<rest>[^`\n]*)")
VARIABLE = re.compile(r"\bWIDGET_MONITOR_[A-Z0-9_]*[A-Z0-9]")
SHELL_STOP = {"&&", "||", "|", ";", ")"}


def _label(path: Path) -> str:
    return str(path.relative_to(REPO))


def _join_continuations(text: str) -> str:
    return re.sub(r"\\\n", " ", text)


def code_of_markdown(text: str) -> list[str]:
    """The code in a Markdown text: fenced blocks, then inline spans of the rest."""
    fences = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
    blocks = [_join_continuations(block) for block in fences.findall(text)]
    prose = fences.sub("", text)
    return blocks + re.findall(r"`([^`\n]+)`", prose)


def code_of_config(text: str) -> list[str]:
    """The code in a config file: the lines that are not comments, and backticked spans in comments."""
    code = []
    for line in _join_continuations(text).splitlines():
        if line.lstrip().startswith("#"):
            code += re.findall(r"`([^`\n]+)`", line)
        else:
            code.append(line)
    return code


def command_lines(text: str, *, markdown: bool) -> list[list[str]]:
    """The arguments after `widget-monitor` in every command line of `text`."""
    found = []
    for code in code_of_markdown(text) if markdown else code_of_config(text):
        for line in code.splitlines():
            for match in COMMAND.finditer(line):
                try:
                    words = shlex.split(match["rest"], comments=True)
                except ValueError:  # an unbalanced quote: plain words will do
                    words = match["rest"].split()
                stop = next((i for i, word in enumerate(words) if word in SHELL_STOP), len(words))
                found.append(words[:stop])
    return found


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # argparse has no public way to walk its subparsers
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def problems_with(words: list[str]) -> list[str]:
    """What in `widget-monitor <words>` the CLI does not have: a subcommand, or a --flag."""
    parser, path = build_parser(), ["widget-monitor"]
    words = list(words)
    while (commands := _subcommands(parser)) and words and not words[0].startswith("-"):
        name = words.pop(0)
        if name not in commands:
            return [f"`{' '.join(path)} {name}`: no such command"]
        parser = commands[name]
        path.append(name)
    flags = []
    for word in words:
        if word == "--":
            break
        if word.startswith("--"):
            flags.append(word.split("=", 1)[0])
    known = parser._option_string_actions
    return [f"`{' '.join(path)} {flag}`: no such option" for flag in flags if flag not in known]


def _source_modules() -> list[Path]:
    return [module for package in PACKAGES for module in sorted((REPO / package).rglob("*.py"))]


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of each Dockerfile instruction, continuations joined."""
    lines = _join_continuations(DOCKERFILE.read_text()).splitlines()
    split = (
        line.strip().split(None, 1) for line in lines if line.strip() and not line.lstrip().startswith("#")
    )
    return [(parts[0].upper(), parts[1] if len(parts) > 1 else "") for parts in split]


def unit_settings(unit: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in unit.read_text().splitlines() if re.match(r"^[A-Za-z]+=", line))
    return dict(pairs)


# -- the checker itself, on a hand-written text ------------------------------------------
def test_command_lines_are_read_from_code_not_prose() -> None:
    text = (
        "Put a proxy in front of widget-monitor on loopback, then run\n"
        "`systemctl restart widget-monitor widget-monitor-dashboard` and\n"
        "`widget-monitor serve --port 1`.\n\n```bash\nsudo -u widget-monitor /opt/x/bin/widget-monitor \\\n"
        "  keys create --data-dir /var/lib/widget-monitor  # per customer\n```\n"
    )
    found = command_lines(text, markdown=True)
    assert found == [["keys", "create", "--data-dir", "/var/lib/widget-monitor"], ["serve", "--port", "1"]]


def test_problems_name_the_missing_command_and_flag() -> None:
    assert problems_with(["serve", "--port", "1", "--data-dir=x"]) == []
    assert problems_with(["serve", "--colour"]) == ["`widget-monitor serve --colour`: no such option"]
    assert problems_with(["teleport"]) == ["`widget-monitor teleport`: no such command"]


def test_the_doc_shows_every_command_a_deployment_needs() -> None:
    shown = {tuple(words[:2]) for words in command_lines(DOC.read_text(), markdown=True)}
    assert {("keys", "create"), ("tokens", "create")} <= shown
    assert any(words[:1] == ("serve",) for words in shown)


# -- commands and variables ---------------------------------------------------------------
@pytest.mark.parametrize("path", [pytest.param(path, id=_label(path)) for path in FILES])
def test_every_command_and_flag_exists_in_the_cli(path: Path) -> None:
    lines = command_lines(path.read_text(), markdown=path.suffix == ".md")
    problems = sorted({problem for words in lines for problem in problems_with(words)})
    assert not problems, f"{_label(path)} names what the CLI does not have: " + "; ".join(problems)


@pytest.mark.parametrize("path", [pytest.param(path, id=_label(path)) for path in FILES])
def test_every_variable_is_a_setting_or_read_elsewhere(path: Path) -> None:
    prefix = Settings.model_config["env_prefix"]
    fields = {prefix + name.upper() for name in Settings.model_fields}
    unknown = sorted(set(VARIABLE.findall(path.read_text())) - fields - READ_ELSEWHERE.keys())
    assert not unknown, f"{_label(path)} names variables nothing reads: " + ", ".join(unknown)


@pytest.mark.parametrize("name", [pytest.param(name, id=name) for name in READ_ELSEWHERE])
def test_variables_outside_settings_are_read_by_their_package(name: str) -> None:
    package = READ_ELSEWHERE[name]
    readers = [module for module in _source_modules() if f'"{name}"' in module.read_text()]
    assert any(module.relative_to(REPO).parts[0] == package for module in readers), (
        f"no module of {package}/ reads {name}"
    )


@pytest.mark.parametrize("path", [pytest.param(path, id=_label(path)) for path in FILES[:-1]])
def test_no_deploy_file_holds_a_token(path: Path) -> None:
    assert not re.search(r"WIDGET_MONITOR_(ADMIN|API)_TOKEN\s*[=:]\s*[^\s#$]", path.read_text())


# -- the Dockerfile -----------------------------------------------------------------------
def test_dockerfile_commands_parse() -> None:
    commands = [
        json.loads(args) for keyword, args in dockerfile_instructions() if keyword in ("CMD", "ENTRYPOINT")
    ]
    ours = [argv for argv in commands if argv[0] == "widget-monitor"]
    assert [argv[1] for argv in ours] == ["dashboard", "serve"]
    for argv in ours:
        build_parser().parse_args(argv[1:])  # exits (SystemExit) on an unknown command or flag


def test_the_api_image_serves_its_volume_on_every_interface() -> None:
    instructions = dockerfile_instructions()
    assert instructions[-1][0] == "CMD", "the last stage (the default target) is the API"
    args = build_parser().parse_args(json.loads(instructions[-1][1])[1:])
    (volume,) = [json.loads(args_) for keyword, args_ in instructions if keyword == "VOLUME"]
    assert (args.command, args.host, args.data_dir) == ("serve", "0.0.0.0", Path(volume[0]))


def test_dockerfile_copies_files_that_exist_and_everything_the_package_needs() -> None:
    sources = []
    for keyword, args in dockerfile_instructions():
        words = args.split()
        if keyword == "COPY" and not any(word.startswith("--from") for word in words):
            sources += [word for word in words[:-1] if not word.startswith("--")]
    assert [source for source in sources if not (REPO / source).exists()] == []
    needed = [*PACKAGES, PYPROJECT["project"]["readme"], "pyproject.toml", "uv.lock"]
    assert [name for name in needed if name not in sources] == []
    allowed = {
        line[1:]
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.startswith("!")
    }
    assert sorted(set(sources) - allowed) == [], "the dockerignore leaves out what the Dockerfile copies"


# -- the systemd units ----------------------------------------------------------------------
@pytest.mark.parametrize("unit", [pytest.param(unit, id=unit.name) for unit in UNITS])
def test_unit_runs_a_command_the_cli_parses_on_loopback(unit: Path) -> None:
    settings = unit_settings(unit)
    program, *argv = shlex.split(settings["ExecStart"])
    assert program.endswith("/widget-monitor")
    args = build_parser().parse_args(argv)
    assert args.host == "127.0.0.1", "behind the proxy, on loopback only"
    assert settings["EnvironmentFile"].startswith("/etc/widget-monitor/")
    if args.command == "serve":
        assert args.data_dir == Path("/var/lib") / settings["StateDirectory"]
        assert settings["ReadWritePaths"] == str(args.data_dir)
