"""No secrets in the repository: every git-tracked file is scanned for credential patterns.

A hit fails naming the file, line and rule. Fake credentials that tests need (moto's
"testing", fakesnow's dummies, the Dockerfile's parse-time placeholder) are allowed one by
one, by file and exact value, and an allowance nobody uses any more fails too.
"""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# A secret-named variable (…SECRET…, …PASSWORD…, …TOKEN…, …ACCESS_KEY…) given a literal.
_SECRET_NAME = r"\w*(?:secret|password|passwd|token|api_key|access_key)\w*"
RULES: dict[str, re.Pattern[str]] = {
    "aws_access_key_id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "aws_secret_access_key": re.compile(
        r"(?i)aws_secret_access_key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{30,})"
    ),
    "private_key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "slack_token": re.compile(r"\bxox[baprs]-[0-9A-Za-z-]+"),
    "slack_webhook": re.compile(r"hooks\.slack\.com/services/T\w+/B\w+/\w+"),
    "github_token": re.compile(r"\b(?:gh[pousr]_[0-9A-Za-z]{30,}|github_pat_\w{30,})"),
    # `name = "literal"`, `"NAME": "literal"`, setenv("NAME", "literal"); not {{ }} or ${ }
    "secret_literal": re.compile(
        rf"(?i)(?<![/.])\b{_SECRET_NAME}[\"']?\s*[=:,]\s*[\"'](?!\{{\{{|\$\{{)([^\"'\s]+)[\"']"
    ),
    # shell / Dockerfile: NAME=literal (unquoted, not a $VARIABLE)
    "secret_env_assignment": re.compile(
        r"\b[A-Z0-9_]*(?:SECRET|PASSWORD|TOKEN|ACCESS_KEY)[A-Z0-9_]*=([^\s\"'$]+)"
    ),
}
YAML_RULES: dict[str, re.Pattern[str]] = {
    # profiles.yml and friends: a password must come from env_var(), never be written down
    "yaml_password_literal": re.compile(
        r"(?i)^\s*(?:password|private_key_passphrase|token)\s*:\s*(?![\"']?\{\{\s*env_var\()(\S.*)$"
    ),
}
SECRET_FILE_NAMES = re.compile(r"(^|/)(\.env(\..*)?|id_(rsa|dsa|ecdsa|ed25519)|.*\.(pem|p12|pfx))$")

# (file, exact value) -> why it is not a secret. Keep this list short and specific.
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/conftest.py", "testing"): "moto's documented fake AWS credentials",
    ("bench/files.py", "testing"): "moto's documented fake AWS credentials (the bench's S3)",
    ("tests/fakesnow_dbt.py", "fake"): "fakesnow accepts any password; nothing connects",
    ("tests/test_snowflake_dbt.py", "x"): "dbt parse needs the variable set, never uses it",
    ("tests/test_alerts.py", "xox" + "b-test"): "the Slack client is mocked in that test",
    ("tests/test_resources.py", "xox" + "b-configured"): "a resource's config, never sent",
    ("tests/test_snowflake_load.py", "fake"): "fakesnow accepts any password; nothing connects",
    ("Dockerfile", "parse-only"): "dbt parse needs the variable set; not kept in the image",
    ("pipeline_assets/lib/settings.py", "pipeline-assets-secrets"): "a Kubernetes secret's name",
    (
        "pipeline_assets/lib/connect.py",
        "DBT_ENV_SECRET_SNOWFLAKE_PASSWORD",
    ): "the name of the variable the password comes from, not a password",
    (
        "tests/helpers.py",
        "dummy",
    ): "deployed definitions load with dummy values; nothing connects",
}


def scan_text(path: str, text: str) -> list[tuple[str, int, str, str]]:
    """(path, line number, rule, matched value) for every credential-looking string."""
    rules = dict(RULES)
    if path.endswith((".yml", ".yaml")):
        rules.update(YAML_RULES)
    hits = []
    for number, line in enumerate(text.splitlines(), start=1):
        for name, rule in rules.items():
            for m in rule.finditer(line):
                hits.append((path, number, name, m.group(m.lastindex or 0)))
    return hits


def tracked_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    return [p for p in out.decode().split("\0") if p]


def test_no_credentials_in_tracked_files():
    files = tracked_files()
    assert "dbt/profiles.yml" in files and len(files) > 50  # the scan sees the real repo
    hits, used = [], set()
    for path in files:
        assert not SECRET_FILE_NAMES.search(path), f"{path}: a key or .env file is tracked"
        full = ROOT / path
        if not full.is_file():  # deleted in the working tree but still in the index
            continue
        text = full.read_bytes().decode("utf-8", errors="replace")
        for hit in scan_text(path, text):
            if (path, hit[3]) in ALLOWED:
                used.add((path, hit[3]))
            else:
                hits.append(hit)
    assert not hits, "credentials in tracked files:\n" + "\n".join(
        f"{p}:{n}: {rule}" for p, n, rule, _ in hits
    )
    assert used == set(ALLOWED), f"allowances no longer needed: {set(ALLOWED) - used}"


# Planted at run time, so the repository itself stays clean.
PLANTED = [  # (file, line, the rule that must find it)
    ("app.py", "key = '" + "AKIA" + "Q7" * 8 + "'", "aws_access_key_id"),
    ("creds.ini", "aws_secret_access_key = " + "wJalr/" + "K7" * 15, "aws_secret_access_key"),
    ("key.txt", "-----BEGIN " + "RSA PRIVATE KEY-----", "private_key"),
    ("key.txt", "-----BEGIN " + "OPENSSH PRIVATE KEY-----", "private_key"),
    ("notes.md", "token is " + "xox" + "b-1234567890-abcdEFGH", "slack_token"),
    ("a.py", "https://hooks." + "slack.com/services/T0001/B0002/abcDEF123", "slack_webhook"),
    ("ci.sh", "gh" + "p_" + "a1" * 18, "github_token"),
    ("settings.py", "SNOWFLAKE_PASSWORD = " + '"hunter2-' + 'but-longer"', "secret_literal"),
    ("t.py", 'monkeypatch.setenv("SLACK_BOT_TOKEN", "' + 'real-one")', "secret_literal"),
    ("Dockerfile", "RUN DBT_ENV_SECRET_X=" + "s3cr3t dbt run", "secret_env_assignment"),
    ("dbt/profiles.yml", "      password: " + "hunter2", "yaml_password_literal"),
    ("dbt/profiles.yml", "      password: '" + "hunter2'", "yaml_password_literal"),
]


@pytest.mark.parametrize(("path", "line", "rule"), PLANTED)
def test_the_scanner_finds_a_planted_secret(path, line, rule):
    hits = scan_text(path, "harmless first line\n" + line + "\n")
    assert (path, 2, rule) in [h[:3] for h in hits]


@pytest.mark.parametrize(
    "line",
    [
        "      password: \"{{ env_var('DBT_ENV_SECRET_SNOWFLAKE_PASSWORD') }}\"",
        'snowflake_password=dg.EnvVar("DBT_ENV_SECRET_SNOWFLAKE_PASSWORD"),',
        'if os.environ.get("SLACK_BOT_TOKEN"):',
        "| `AWS_SECRET_ACCESS_KEY` | boto3's | read by boto3 itself |",
        'export TOKEN="${SLACK_BOT_TOKEN}"',
        "AKIA is the prefix of an access key id",
    ],
)
def test_references_to_secrets_are_not_secrets(line):
    assert scan_text("dbt/profiles.yml", line) == []
