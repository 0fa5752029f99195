"""Deployment artefacts: the container entry point (run for real with a fake `madoguchi`),
compose.yaml, the Dockerfile, the systemd unit and its environment file.

The image itself is not built here (no Docker daemon on the test machines); what can be
checked without one is checked: the entry point's behaviour as a non-root user, and the
files' contents against the settings and scripts/setup.sh.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from config.settings import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
UNIT = ROOT / "deploy" / "madoguchi.service"
ENV_EXAMPLE = ROOT / "deploy" / "madoguchi.env.example"
IS_ROOT = os.geteuid() == 0
NOBODY = 65534
# the uid the entry point runs as in these tests: nobody when we are root (CI), else ourselves
RUN_UID = NOBODY if IS_ROOT else os.getuid()
SETTING_NAMES = {"MADOGUCHI_" + key.upper() for key in DEFAULTS} | {"MADOGUCHI_CONFIG"}
SECRET_NAMES = re.compile(r"(PASSWORD|SECRET|STORE_KEY)$")

FAKE_MADOGUCHI = """#!/bin/sh
# fake madoguchi: records its arguments and pid; `db upgrade` exits $FAKE_UPGRADE_RC
printf '%s|%s\\n' "$$" "$*" >> "$FAKE_LOG"
if [ "$1" = db ] && [ "$2" = upgrade ]; then exit "${FAKE_UPGRADE_RC:-0}"; fi
exit 0
"""


# --------------------------------------------------------------------------- entry point


@dataclass
class Sandbox:
    root: Path
    log: Path

    def own(self, path: Path) -> Path:
        if IS_ROOT:
            os.chown(path, RUN_UID, RUN_UID)
        return path

    def calls(self) -> list[tuple[int, str]]:
        if not self.log.exists():
            return []
        return [(int(pid), args) for pid, args in
                (line.split("|", 1) for line in self.log.read_text().splitlines())]

    def env(self, data_dir: Path, **extra: str) -> dict[str, str]:
        return {"PATH": f"{self.root / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin", "FAKE_LOG": str(self.log),
                "MADOGUCHI_DATA_DIR": str(data_dir), "LC_ALL": "C", **extra}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    # not under tmp_path: pytest's folders are 0700 root, which the non-root user cannot enter
    root = Path(tempfile.mkdtemp(prefix="madoguchi-deploy-"))
    try:
        root.chmod(0o755)
        (root / "bin").mkdir(mode=0o755)
        fake = root / "bin" / "madoguchi"
        fake.write_text(FAKE_MADOGUCHI)
        fake.chmod(0o755)
        shutil.copy2(ENTRYPOINT, root / "entrypoint.sh")
        log = root / "calls.log"
        log.touch()
        log.chmod(0o666)
        yield Sandbox(root, log)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as_user(cmd: list[str]) -> tuple[list[str], bool]:
    """The command run as RUN_UID; and whether it keeps its pid (setpriv execs, runuser forks)."""
    if not IS_ROOT:
        return cmd, True
    if shutil.which("setpriv"):
        return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", *cmd], True
    if shutil.which("runuser"):
        return ["runuser", "-u", "nobody", "--", *cmd], False
    pytest.skip("neither setpriv nor runuser is installed: cannot run the entry point as a non-root user")


def run_entrypoint(box: Sandbox, args: list[str], env: dict[str, str], *,
                   as_root: bool = False) -> tuple[subprocess.CompletedProcess[str], bool]:
    cmd = [str(box.root / "entrypoint.sh"), *args]
    same_pid = True
    if not as_root:
        cmd, same_pid = _as_user(cmd)
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=30)
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    result.pid = proc.pid  # type: ignore[attr-defined]
    return result, same_pid


def test_entrypoint_is_posix_sh_and_executable() -> None:
    assert ENTRYPOINT.read_text().startswith("#!/bin/sh\n")
    assert ENTRYPOINT.stat().st_mode & stat.S_IXUSR, "deploy/entrypoint.sh must be executable"
    subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=True)
    if shutil.which("dash"):
        subprocess.run(["dash", "-n", str(ENTRYPOINT)], check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-s", "sh", str(ENTRYPOINT)], check=True)


def test_upgrades_the_database_then_execs_madoguchi_with_the_arguments(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir(mode=0o700)
    sandbox.own(data)
    result, same_pid = run_entrypoint(sandbox, ["cases", "list", "--overdue"], sandbox.env(data))
    assert result.returncode == 0, result.stderr
    calls = sandbox.calls()
    assert [args for _, args in calls] == ["db upgrade", "cases list --overdue"]
    if same_pid:  # exec: the service is the container's main process and gets SIGTERM itself
        assert calls[1][0] == result.pid  # type: ignore[attr-defined]
        assert calls[0][0] != result.pid  # type: ignore[attr-defined]


def test_without_arguments_it_runs_the_service(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir(mode=0o700)
    sandbox.own(data)
    result, _ = run_entrypoint(sandbox, [], sandbox.env(data))
    assert result.returncode == 0, result.stderr
    assert [args for _, args in sandbox.calls()] == ["db upgrade", "run"]


def test_a_failed_migration_stops_the_start_with_its_exit_code(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir(mode=0o700)
    sandbox.own(data)
    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data, FAKE_UPGRADE_RC="2"))
    assert result.returncode == 2
    assert "`madoguchi db upgrade` failed (exit 2)" in result.stderr
    assert [args for _, args in sandbox.calls()] == ["db upgrade"]


@pytest.mark.skipif(not IS_ROOT, reason="needs root to show that root is refused")
def test_refuses_to_run_as_root_unless_allowed(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir(mode=0o700)
    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data), as_root=True)
    assert result.returncode == 1
    assert "refusing to run as root" in result.stderr
    assert "MADOGUCHI_ALLOW_ROOT=1" in result.stderr
    assert sandbox.calls() == []

    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data, MADOGUCHI_ALLOW_ROOT="1"), as_root=True)
    assert result.returncode == 0, result.stderr
    assert [args for _, args in sandbox.calls()] == ["db upgrade", "run"]


def test_data_dir_of_the_user_is_set_to_0700(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir()
    data.chmod(0o755)
    sandbox.own(data)
    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data))
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert "was mode 755, set to 0700" in result.stderr


def test_missing_data_dir_is_created_0700(sandbox: Sandbox) -> None:
    parent = sandbox.root / "srv"
    parent.mkdir(mode=0o700)
    sandbox.own(parent)
    data = parent / "data"
    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data))
    assert result.returncode == 0, result.stderr
    assert data.is_dir() and stat.S_IMODE(data.stat().st_mode) == 0o700
    assert data.stat().st_uid == RUN_UID


def test_data_dir_not_writable_is_a_clear_error(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir()
    if IS_ROOT:
        data.chmod(0o755)  # root's, like a volume mounted with the wrong owner
    else:
        data.chmod(0o500)
    try:
        result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data))
    finally:
        data.chmod(0o700)
    assert result.returncode == 1
    assert f"data dir {data} is not writable by uid {RUN_UID}" in result.stderr
    assert "chown it to uid" in result.stderr
    assert sandbox.calls() == []  # nothing started, not even the migration


@pytest.mark.skipif(not IS_ROOT, reason="needs root to make a folder owned by someone else")
def test_open_data_dir_owned_by_someone_else_is_refused(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir()
    data.chmod(0o777)  # writable, but anyone can read the stores' folder names
    result, _ = run_entrypoint(sandbox, ["run"], sandbox.env(data))
    assert result.returncode == 1
    assert "it must be 0700" in result.stderr
    assert sandbox.calls() == []


def test_secret_files_must_be_readable_but_the_key_file_may_not_exist_yet(sandbox: Sandbox) -> None:
    data = sandbox.root / "data"
    data.mkdir(mode=0o700)
    sandbox.own(data)
    secret = sandbox.root / "mailbox_password"
    secret.write_text("pw\n")
    secret.chmod(0o600 if IS_ROOT else 0o000)  # root's 0600 file, or one we cannot read
    env = sandbox.env(data, MADOGUCHI_MAILBOX_PASSWORD_FILE=str(secret),
                      MADOGUCHI_STORE_KEY_FILE=str(data / "keys" / "store.key"))
    result, _ = run_entrypoint(sandbox, ["run"], env)
    assert result.returncode == 1
    assert f"MADOGUCHI_MAILBOX_PASSWORD_FILE: {secret} cannot be read" in result.stderr
    assert sandbox.calls() == []

    sandbox.own(secret)
    secret.chmod(0o400)
    result, _ = run_entrypoint(sandbox, ["run"], env)
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- compose.yaml


@pytest.fixture(scope="module")
def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load(COMPOSE.read_text())


def _env(service: dict) -> dict[str, str]:  # type: ignore[type-arg]
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def test_compose_has_the_three_services_with_healthchecks(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    assert {"madoguchi", "postgres", "dovecot"} <= set(services)
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    assert services["madoguchi"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["postgres"]["image"].startswith("postgres:16")


def test_compose_binds_ports_to_loopback_only(compose: dict) -> None:  # type: ignore[type-arg]
    for name, service in compose["services"].items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name}: {port} is not bound to 127.0.0.1"
            assert "0.0.0.0" not in str(port)
    assert not compose["services"]["madoguchi"].get("ports"), "madoguchi serves nothing"
    assert not compose["services"]["postgres"].get("ports"), "PostgreSQL stays on the internal network"


def test_compose_keeps_madoguchi_and_postgres_on_an_internal_network(compose: dict) -> None:  # type: ignore[type-arg]
    networks = compose["networks"]
    for name in ("madoguchi", "postgres"):
        for net in compose["services"][name]["networks"]:
            assert networks[net].get("internal") is True, f"{name} is on non-internal network {net}"


def test_compose_gives_key_and_passwords_as_secrets(compose: dict) -> None:  # type: ignore[type-arg]
    services = compose["services"]
    declared = compose["secrets"]
    for name, var in (("madoguchi", "MADOGUCHI_STORE_KEY_FILE"), ("madoguchi", "MADOGUCHI_MAILBOX_PASSWORD_FILE"),
                      ("madoguchi", "PGPASSFILE"), ("postgres", "POSTGRES_PASSWORD_FILE")):
        path = _env(services[name])[var]
        assert path.startswith("/run/secrets/"), f"{name} {var}={path}"
        secret = path.removeprefix("/run/secrets/")
        assert secret in services[name]["secrets"] and secret in declared
    for secret in declared.values():  # files the operator makes, kept out of git and out of the image
        assert secret["file"].startswith("./deploy/trial/secrets/")
    assert "secrets/" in (ROOT / "deploy" / "trial" / ".gitignore").read_text().split()
    for name, service in services.items():
        for var, value in _env(service).items():
            assert not SECRET_NAMES.search(var), f"{name}: {var} puts a secret in the environment"
            assert not re.search(r"://[^/@:]+:[^/@]+@", value), f"{name}: {var} has a password in a URL"


def test_compose_madoguchi_environment_names_are_real_settings(compose: dict) -> None:  # type: ignore[type-arg]
    service = compose["services"]["madoguchi"]
    env = _env(service)
    unknown = {var for var in env if var.startswith("MADOGUCHI_")} - SETTING_NAMES
    assert not unknown, f"not settings (config.settings.DEFAULTS): {sorted(unknown)}"
    # the database is switched to SQLite by one variable, with PostgreSQL as the default
    assert env["MADOGUCHI_DATABASE_URL"] == \
        "${MADOGUCHI_DATABASE_URL:-postgresql+psycopg://madoguchi@postgres:5432/madoguchi}"
    assert env["MADOGUCHI_DATA_DIR"].startswith("/srv/madoguchi/")
    assert "madoguchi-data:/srv/madoguchi" in service["volumes"]
    assert set(compose["volumes"]) >= {"madoguchi-data", "postgres-data", "mail"}
    assert service.get("build") and service.get("read_only") is True


def test_compose_dovecot_files_exist_and_parse(compose: dict) -> None:  # type: ignore[type-arg]
    for volume in compose["services"]["dovecot"]["volumes"]:
        source = volume.split(":", 1)[0]
        if source.startswith("./"):
            assert (ROOT / source).is_file(), source
    subprocess.run(["sh", "-n", str(ROOT / "deploy" / "trial" / "dovecot-start.sh")], check=True)
    if shutil.which("doveconf"):
        result = subprocess.run(["doveconf", "-n", "-c", str(ROOT / "deploy" / "trial" / "dovecot.conf")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- Dockerfile


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    last = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last:]


def _setup_packages() -> set[str]:
    text = (ROOT / "scripts" / "setup.sh").read_text()
    match = re.search(r"DEBIAN_PACKAGES=\(([^)]*)\)", text)
    assert match, "scripts/setup.sh has no DEBIAN_PACKAGES=( … )"
    return set(match.group(1).split())


def test_dockerfile_runs_as_non_root_with_a_healthcheck() -> None:
    instructions = _instructions(DOCKERFILE.read_text())
    final = _final_stage(instructions)
    users = [rest for word, rest in final if word == "USER"]
    assert users, "no USER in the final stage"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    checks = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert checks and "NONE" not in checks[-1].upper()
    assert '"madoguchi", "health"' in checks[-1]  # checks without migrating or writing
    assert any(word == "ENTRYPOINT" and "madoguchi-entrypoint" in rest for word, rest in final)
    assert any(word == "VOLUME" and "/srv/madoguchi" in rest for word, rest in final)
    assert ("ARG", "PYTHON_IMAGE=python:3.11-slim-bookworm") in instructions


def test_dockerfile_holds_no_secrets() -> None:
    instructions = _instructions(DOCKERFILE.read_text())
    assert not [rest for word, rest in instructions if word == "ADD"], "use COPY; nothing is fetched or unpacked"
    for word, rest in instructions:
        if word in ("COPY", "ENV", "ARG"):
            assert not re.search(r"secret|\.key\b|\.pem\b|PASSWORD|STORE_KEY(?!_FILE)", rest, re.I), (word, rest)
    ignore = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
              if line.strip() and not line.startswith("#")]
    assert ignore[0] == "*", ".dockerignore must exclude everything first"
    assert "**/secrets/" in ignore and "**/*.key" in ignore


def test_dockerfile_installs_the_runtime_packages_of_setup_sh() -> None:
    final = _final_stage(_instructions(DOCKERFILE.read_text()))
    installed: set[str] = set()
    for word, rest in final:
        if word == "RUN" and "apt-get install" in rest:
            for command in rest.split("&&"):
                if "apt-get install" in command:
                    installed |= {w for w in command.split()[2:] if not w.startswith("-") and w != "install"}
    assert installed == _setup_packages()


# --------------------------------------------------------------------------- systemd


def _unit(text: str) -> dict[str, dict[str, list[str]]]:
    """Section → key → values (repeated keys such as LoadCredential= kept in order)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        assert current is not None, line
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_systemd_unit_settings() -> None:
    service = _unit(UNIT.read_text())["Service"]

    def one(key: str) -> str:
        assert key in service, f"{key}= missing"
        return service[key][-1]

    assert one("User") == "madoguchi"
    assert one("EnvironmentFile") == "/etc/madoguchi/madoguchi.env"
    assert one("ExecStart") == "/usr/local/bin/madoguchi run"
    assert one("ExecStartPre") == "/usr/local/bin/madoguchi db upgrade"
    assert one("KillSignal") == "SIGTERM"
    assert one("Restart") == "on-failure"
    credentials = {value.split(":", 1)[0] for value in service["LoadCredential"]}
    assert {"store_key", "mailbox_password"} <= credentials
    env = dict(value.split("=", 1) for value in service["Environment"])
    assert env["MADOGUCHI_STORE_KEY_FILE"] == "%d/store_key"
    assert env["MADOGUCHI_MAILBOX_PASSWORD_FILE"] == "%d/mailbox_password"
    assert set(env) <= SETTING_NAMES
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ReadWritePaths": "/var/lib/madoguchi",
                       "PrivateTmp": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "",
                       "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "UMask": "0077"}.items():
        assert one(key) == value, f"{key}={one(key)}"
    assert "@system-service" in service["SystemCallFilter"]


def test_systemd_unit_verifies(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    # verify wants the binaries to exist: the same unit with /bin/true standing in for madoguchi
    unit = tmp_path / "madoguchi.service"
    unit.write_text(UNIT.read_text().replace("/usr/local/bin/madoguchi", shutil.which("true") or "/bin/true"))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not [line for line in output.splitlines() if "madoguchi.service" in line], output


def test_env_example_names_only_settings_and_no_secrets() -> None:
    names = re.findall(r"^#?\s*(MADOGUCHI_[A-Z_]+)=", ENV_EXAMPLE.read_text(), re.M)
    assert names and set(names) <= SETTING_NAMES, sorted(set(names) - SETTING_NAMES)
    assert not [name for name in names if SECRET_NAMES.search(name)]


def test_deploy_doc_exists_and_says_what_is_not_tested() -> None:
    doc = (ROOT / "docs" / "deploy.md").read_text()
    for needle in ("docker build", "compose", "systemd", "madoguchi db upgrade", "pg_dump", ".backup",
                   "security.md", "not tested"):
        assert needle in doc, needle
