"""Library errors speak the library's language; the command line adds its flags when it maps them."""
import ast
import re
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from gradcheck import Network, check_gradient
from gradcheck.cli.common import OPTION_FLAGS, error_sentence
from gradcheck.cli.main import main
from gradcheck.errors import ConfigError, ExitStatus, ModelFileError, UserCodeError

PACKAGE = Path(gradcheck.__file__).parent
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")


def _raised_strings(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            for sub in ast.walk(node.exc):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    yield node.lineno, sub.value


LIBRARY = sorted(p for p in PACKAGE.rglob("*.py") if "cli" not in p.relative_to(PACKAGE).parts)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_library_error_messages_name_no_command_line_flag(path):
    flags = [(line, FLAG.findall(text)) for line, text in _raised_strings(path) if FLAG.search(text)]
    assert not flags, f"{path.name} raises messages with CLI flags (the CLI adds those): {flags}"


def test_the_cli_adds_the_flag_of_the_option_a_remedy_names():
    with pytest.raises(ConfigError) as info:
        Network([3, 4, 2], output="relu", loss="binary_cross_entropy")
    assert info.value.option == "allow_unsafe" and "--" not in str(info.value)
    assert error_sentence(info.value, debug=False).endswith("(on the command line: --allow-unsafe).")


def test_user_code_errors_get_the_debug_advice_only_without_debug():
    def cost(theta):
        raise KeyError("W3")

    with pytest.raises(UserCodeError) as info:
        check_gradient(cost, None, np.ones(3))
    assert "raised KeyError" in str(info.value) and "--debug" not in str(info.value)
    assert error_sentence(info.value, debug=False).endswith("Run with --debug for the traceback.")
    assert "--debug" not in error_sentence(info.value, debug=True)


COMMAND_OF = {"--allow-unsafe": "train", "--workers": "doctor", "--resume": "train", "--constants": "doctor",
              "--data DIR": "train", "--blocks": "doctor", "--reference": "doctor"}


@pytest.mark.parametrize("flag", sorted(OPTION_FLAGS.values()))
def test_every_option_flag_is_a_real_option(flag, capsys):
    assert main([COMMAND_OF[flag], "--help"]) == 0
    option = flag.split()[0]  # "--data DIR": the option, then what it takes
    assert option in capsys.readouterr().out, f"{option} is not an option of {COMMAND_OF[flag]}"


def test_a_checkpoint_given_as_a_model_points_to_resume(tmp_path, capsys):
    net = Network([4, 3, 2], seed=0)
    from gradcheck.nn.persist import CHECKPOINT_FORMAT, model_header, write_archive

    path = write_archive(tmp_path / "ck.npz", {**model_header(net), "format": CHECKPOINT_FORMAT},
                         {"theta": net.theta})
    with pytest.raises(ModelFileError) as info:
        Network.load(path)
    assert info.value.option == "resume"
    assert main(["show", str(path)]) == ExitStatus.MODEL
    assert "resume training from it (on the command line: --resume)." in capsys.readouterr().err
