"""Request parsing and prompt rendering of `fastapply serve`, without a server.

Properties: a chat that ends with the pre-filled assistant marker renders to exactly the prompt the
local engine builds (with the real default tokenizer's template, and without any template), so
remote chat mode and the local engine read the same tokens; greedy-only decoding is enforced with
a message that says so; OpenAI's content-part lists are accepted.
"""

from __future__ import annotations

from typing import Any

import pytest

from fastapply.engine.prompt import OPEN_OUTPUT, SYSTEM, prompt_text, user_message
from fastapply.serve.errors import ApiError
from fastapply.serve.protocol import Message, parse_chat, parse_completion
from fastapply.serve.render import chat_prompt, cut_at_stop

CODE = "def add(a, b):\n    return a + b\n"


class Plain:
    """A tokenizer without a chat template."""

    chat_template = None


def _messages(instruction: str = "Rename add to plus.") -> list[Message]:
    return [Message("system", SYSTEM), Message("user", user_message(instruction, CODE, "calc.py")),
            Message("assistant", f"{OPEN_OUTPUT}\n")]


def test_a_continued_chat_renders_to_the_local_prompt_with_and_without_a_template() -> None:
    from fastapply.engine.assets import DEFAULT_MODEL_DIR
    from fastapply.engine.load import load_tokenizer

    for tokenizer in (load_tokenizer(DEFAULT_MODEL_DIR), Plain()):
        assert chat_prompt(tokenizer, _messages()) == prompt_text(tokenizer, "Rename add to plus.", CODE, "calc.py")


def test_a_chat_ending_with_the_user_gets_the_generation_prompt() -> None:
    from fastapply.engine.assets import DEFAULT_MODEL_DIR
    from fastapply.engine.load import load_tokenizer

    text = chat_prompt(load_tokenizer(DEFAULT_MODEL_DIR), _messages()[:2])
    assert text.endswith("<|im_start|>assistant\n") and OPEN_OUTPUT not in text.split("assistant\n")[-1]


def chat_body(**extra: Any) -> dict[str, Any]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}], **extra}


@pytest.mark.parametrize("extra, param", [
    ({"temperature": 0.2}, "temperature"), ({"temperature": "0"}, "temperature"), ({"n": 3}, "n"),
    ({"tools": [{"type": "function"}]}, "tools"), ({"logprobs": True}, "logprobs"),
    ({"presence_penalty": 0.5}, "presence_penalty"), ({"stop": [""]}, "stop"), ({"max_tokens": 0}, "max_tokens"),
    ({"prediction": {"type": "text", "content": "x"}}, "prediction"), ({"stream": "yes"}, "stream"),
    ({"messages": []}, "messages"), ({"model": None}, "model"),
])
def test_requests_the_server_cannot_honour_are_refused_naming_the_parameter(extra: dict[str, Any], param: str) -> None:
    with pytest.raises(ApiError) as caught:
        parse_chat(chat_body(**extra))
    assert caught.value.status == 400 and caught.value.param == param


def test_what_changes_nothing_is_accepted_and_parts_are_joined() -> None:
    parsed = parse_chat(chat_body(
        temperature=0, top_p=0.9, seed=7, user="me", n=1, max_completion_tokens=50, max_tokens=80, stop="END",
        stream=True, stream_options={"include_usage": True},
        messages=[{"role": "developer", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}],
        prediction={"type": "content", "content": [{"type": "text", "text": "pre"}]},
    ))
    assert parsed.messages == [Message("system", "ab")] and parsed.prediction == "pre"
    assert (parsed.decoding.max_tokens, parsed.decoding.stop, parsed.decoding.include_usage) == (50, ("END",), True)
    assert parse_completion({"model": "m", "prompt": ["only one"]}).prompt == "only one"
    with pytest.raises(ApiError):
        parse_completion({"model": "m", "prompt": [1, 2, 3]})
    assert cut_at_stop("abcENDdef", ("END", "c")) == "ab"


def test_streamed_text_never_shows_a_stop_string_even_split_across_pieces() -> None:
    from fastapply.serve.render import StopFilter

    stops = StopFilter(("</updated-code>",))
    sent = "".join(stops.push(p) for p in ["x = 1\n</upd", "ated-code>", "junk"])
    assert sent == "x = 1\n" and stops.finish("x = 1\n") == ""
    late = StopFilter(("END",))
    assert late.push("abcEN") == "abc" and late.push("x") == "ENx" and late.finish("abcENxyz") == "yz"
